"""Spaces with the official client: `space_info` reports `subdomain`, `host` and `runtime`, the
runtime endpoint, variables, the compute endpoints (501 with `X-Error-Code`), listings by the
repos a Space uses, and static hosting: a Space host serves the Space's files at `main`, in the
sandbox, with its variables in the page, and nothing else (no private Space, no credentials,
no cookies, no paths out of the Space)."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse

from dataclasses import dataclass

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import HfHubHTTPError
from support import http, run_cli, unique

CSP = "sandbox allow-scripts allow-forms allow-popups"

PAGE = b"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>app</title><link rel="stylesheet" href="style.css"></head>
<body><h1>hello from a static Space</h1><script src="app.js"></script></body>
</html>
"""


def readme(sdk: str = "static", extra: str = "") -> bytes:
    return f"---\ntitle: t\nemoji: 🤖\ncolorFrom: red\ncolorTo: blue\nsdk: {sdk}\n{extra}---\n# app\n".encode()


def make_space(api, owner: str, name: str | None = None, *, private: bool = False, files=None, sdk="static"):
    repo = f"{owner}/{name or unique('space')}"
    api.create_repo(repo, repo_type="space", space_sdk=sdk, private=private)
    files = {"index.html": PAGE, "style.css": b"h1 { color: red }\n", "app.js": b"console.log(1)\n", **(files or {})}
    operations = [CommitOperationAdd(path, content) for path, content in files.items() if content is not None]
    api.create_commit(repo, operations, commit_message="app", repo_type="space")
    return repo


@dataclass
class Answer:
    status_code: int
    headers: dict
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


def raw(method: str, url: str, headers: dict | None = None, content: bytes | None = None) -> Answer:
    status, answer_headers, body = http(method, url, headers=headers, data=content)
    return Answer(status, {k.lower(): v for k, v in answer_headers.items()}, body)


def space_get(hub, info, path: str = "/", method: str = "GET", headers=None, content=None) -> Answer:
    """A request to the Space's host, sent to the hub's address with the Space's `Host`."""
    host = urllib.parse.urlsplit(info.host)
    return raw(method, f"{hub.endpoint}{path}", {"Host": host.netloc, **(headers or {})}, content)


def test_space_info_reports_where_and_how_a_static_space_runs(hub):
    api = hub.alice.api
    name = f"my_{unique('app')}"
    repo = make_space(api, "alice", name)
    info = api.space_info(repo)
    expected = f"alice-{name.replace('_', '-')}".lower()
    assert info.subdomain == expected
    port = urllib.parse.urlsplit(hub.endpoint).port
    assert info.host == f"http://{expected}.localhost:{port}"
    assert info.runtime is not None and info.runtime.stage == "RUNNING"
    assert info.runtime.hardware is None
    assert info.sdk == "static"
    runtime = api.get_space_runtime(repo)
    assert runtime.stage == "RUNNING"
    # The subdomain is kept: a second look gives the same one.
    assert api.space_info(repo).subdomain == expected


def test_names_that_fold_together_get_distinct_subdomains(hub):
    api = hub.alice.api
    base = unique("fold")
    first = make_space(api, "alice", f"{base}_x")
    second = make_space(api, "alice", f"{base}-x")
    one, two = api.space_info(first).subdomain, api.space_info(second).subdomain
    assert one != two
    assert {one, two} >= {f"alice-{base}-x"}
    assert all(re.fullmatch(r"[a-z0-9-]{1,63}", s) for s in (one, two))


def test_runtime_without_app_file_and_for_compute_sdks(hub):
    api = hub.alice.api
    bare = f"alice/{unique('bare')}"
    api.create_repo(bare, repo_type="space", space_sdk="static")
    assert api.get_space_runtime(bare).stage == "NO_APP_FILE"
    gradio = f"alice/{unique('gradio')}"
    api.create_repo(gradio, repo_type="space", space_sdk="gradio")
    runtime = api.get_space_runtime(gradio)
    assert runtime.stage == "STOPPED"
    assert "gradio" in runtime.raw["errorMessage"]
    # An app file named in the card is what counts.
    named = make_space(api, "alice", files={"README.md": readme(extra="app_file: site/main.html\n")})
    assert api.get_space_runtime(named).stage == "NO_APP_FILE"
    api.upload_file(path_or_fileobj=PAGE, path_in_repo="site/main.html", repo_id=named, repo_type="space")
    assert api.get_space_runtime(named).stage == "RUNNING"


def test_the_space_host_serves_the_files_in_the_sandbox(hub):
    api = hub.alice.api
    repo = make_space(api, "alice")
    api.add_space_variable(repo, "MODEL_REPO", "alice/</script><b>x", description="which model")
    info = api.space_info(repo)
    page = space_get(hub, info)
    assert page.status_code == 200, page.text
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["content-type"].startswith("text/html")
    assert "set-cookie" not in page.headers
    body = page.content
    assert PAGE.split(b"<head>")[1].split(b"</head>")[0] in body
    # The variables come right after <head>, escaped so no value can close the script.
    script = re.search(rb"<head><script>window\.huggingface = (.*?);</script>", body)
    assert script, body[:300]
    assert b"</script><b>" not in script.group(1)
    assert b'"MODEL_REPO":"alice/\\u003c/script\\u003e\\u003cb\\u003ex"' in script.group(1)
    assert int(page.headers["content-length"]) == len(body)
    css = space_get(hub, info, "/style.css")
    assert css.status_code == 200 and css.content == b"h1 { color: red }\n"
    assert css.headers["content-type"].startswith("text/css")
    assert css.headers["content-security-policy"] == CSP
    # Revalidation with the entity tag; a changed variable changes the page's tag.
    again = space_get(hub, info, "/", headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 304
    api.add_space_variable(repo, "MODEL_REPO", "alice/other")
    changed = space_get(hub, info, "/", headers={"If-None-Match": page.headers["etag"]})
    assert changed.status_code == 200 and b"alice/other" in changed.content
    head = space_get(hub, info, "/style.css", method="HEAD")
    assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == "18"


def test_the_space_host_refuses_everything_else(hub):
    api = hub.alice.api
    repo = make_space(api, "alice", files={".env": b"SECRET=1\n", "docs/index.html": b"<p>docs</p>"})
    info = api.space_info(repo)
    for path in ["/missing.js", "/../../etc/passwd", "/%2e%2e/README.md", "/.env", "/api/whoami-v2"]:
        answer = space_get(hub, info, path, headers={"Authorization": f"Bearer {hub.alice.write_token}"})
        if answer.status_code == 400 and answer.headers.get("server", "").startswith("nginx"):
            assert ".." in urllib.parse.unquote(path), path
            continue  # the proxy in front (the two-replica run's nginx) refused the climb first
        assert answer.status_code == 404, (path, answer.status_code, answer.text)
        assert answer.headers["content-security-policy"] == CSP
        assert "set-cookie" not in answer.headers
    # Every page gets the variables script (a page without <head> at its start).
    for folder in ["/docs/", "/docs"]:
        docs = space_get(hub, info, folder).content
        assert docs.startswith(b"<script>window.huggingface = ") and docs.endswith(b"</script><p>docs</p>")
    post = space_get(hub, info, "/", method="POST", content=b"x")
    assert post.status_code == 405 and post.headers["allow"] == "GET, HEAD"
    # A subdomain nobody holds.
    host = urllib.parse.urlsplit(info.host)
    nobody = raw("GET", f"{hub.endpoint}/", {"Host": f"nobody-{unique()}.localhost:{host.port}"})
    assert nobody.status_code == 404 and nobody.headers["content-security-policy"] == CSP


def test_private_and_non_static_spaces_are_not_served(hub):
    api = hub.alice.api
    private = make_space(api, "alice", private=True)
    info = api.space_info(private)
    assert info.host and info.subdomain
    auth = {"Authorization": f"Bearer {hub.alice.write_token}", "Cookie": "kura_session=x"}
    answer = space_get(hub, info, "/", headers=auth)
    assert answer.status_code == 404, answer.text
    assert b"hello" not in answer.content
    gradio = make_space(api, "alice", sdk="gradio", files={"README.md": readme("gradio")})
    assert space_get(hub, api.space_info(gradio)).status_code == 404
    # A Space made public is served from then on.
    api.update_repo_settings(private, private=False, repo_type="space")
    assert space_get(hub, info).status_code == 200


def test_custom_headers_are_allow_listed(hub):
    api = hub.alice.api
    card = readme(
        extra=(
            "custom_headers:\n"
            "  cross-origin-embedder-policy: require-corp\n"
            "  cross-origin-opener-policy: same-origin\n"
            "  cross-origin-resource-policy: anything-else\n"
            "  content-security-policy: none\n"
            "  set-cookie: a=b\n"
        )
    )
    repo = make_space(api, "alice", files={"README.md": card})
    page = space_get(hub, api.space_info(repo))
    assert page.headers["cross-origin-embedder-policy"] == "require-corp"
    assert page.headers["cross-origin-opener-policy"] == "same-origin"
    assert "cross-origin-resource-policy" not in page.headers
    assert page.headers["content-security-policy"] == CSP
    assert "set-cookie" not in page.headers


def test_variables_round_trip_and_only_writers_change_them(hub):
    api = hub.alice.api
    repo = make_space(api, "alice")
    added = api.add_space_variable(repo, "GREETING", "hello", description="shown on the page")
    assert added["GREETING"].value == "hello"
    assert added["GREETING"].description == "shown on the page"
    assert added["GREETING"].updated_at is not None
    assert set(hub.bob.api.get_space_variables(repo)) == {"GREETING"}
    with pytest.raises(HfHubHTTPError) as refused:
        hub.bob.api.add_space_variable(repo, "GREETING", "pwned")
    assert refused.value.response.status_code in (403, 404)
    for bad in ["", "1ABC", "A-B", "x" * 101]:
        with pytest.raises(HfHubHTTPError) as invalid:
            api.add_space_variable(repo, bad, "v")
        assert invalid.value.response.status_code == 400, bad
    with pytest.raises(HfHubHTTPError) as too_long:
        api.add_space_variable(repo, "BIG", "v" * (16 * 1024 + 1))
    assert too_long.value.response.status_code == 400
    assert api.delete_space_variable(repo, "GREETING") == {}
    # A model has no variables.
    model = f"alice/{unique('model')}"
    api.create_repo(model)
    answer = raw("GET", f"{hub.endpoint}/api/models/{model}/variables", {"Authorization": f"Bearer {hub.alice.write_token}"})
    assert answer.status_code == 404


def test_compute_endpoints_answer_501(hub):
    api = hub.alice.api
    repo = make_space(api, "alice")
    calls = [
        lambda: api.restart_space(repo),
        lambda: api.pause_space(repo),
        lambda: api.request_space_hardware(repo, "t4-small"),
        lambda: api.set_space_sleep_time(repo, 3600),
        lambda: api.add_space_secret(repo, "TOKEN", "x"),
        lambda: api.delete_space_secret(repo, "TOKEN"),
    ]
    for call in calls:
        with pytest.raises(HfHubHTTPError) as error:
            call()
        assert error.value.response.status_code == 501
        assert error.value.response.headers["x-error-code"] == "NotImplemented"
        assert "compute" in error.value.response.json()["error"]
    hardware = raw("GET", f"{hub.endpoint}/api/spaces/hardware")
    assert hardware.status_code == 501 and hardware.headers["x-error-code"] == "NotImplemented"


def test_spaces_listed_by_the_repos_they_use(hub):
    api = hub.alice.api
    model = f"alice/{unique('used')}"
    api.create_repo(model)
    user = make_space(api, "alice", files={"README.md": readme(extra=f"models:\n  - {model}\n")})
    make_space(api, "alice")
    listed = [s.id for s in api.list_spaces(models=model)]
    assert listed == [user]
    assert list(api.list_spaces(datasets=model)) == []
    answer = raw("GET", f"{hub.endpoint}/api/models?models={model}")
    assert answer.status_code == 400


def test_a_space_keeps_a_host_when_every_folded_name_is_taken(hub):
    api = hub.alice.api
    victim = f"alice/{unique('sq')}"
    digest = hashlib.sha256(victim.encode()).hexdigest()
    base = victim.replace("/", "-")
    # Squatters take the folded name and each hash-suffixed one before the victim exists.
    squatters = [victim.replace("-", "_"), *(f"{victim}-{digest[:n]}" for n in (6, 12, 20))]
    for squatter in squatters:
        api.create_repo(squatter, repo_type="space", space_sdk="static")
    assert api.space_info(squatters[0]).subdomain == base
    make_space(api, "alice", victim.split("/")[1])
    info = api.space_info(victim)
    assert info.subdomain == f"space--{digest[:24]}"
    assert info.runtime.stage == "RUNNING"
    assert space_get(hub, info).status_code == 200


def test_other_names_below_the_spaces_domain_serve_nothing(hub):
    port = urllib.parse.urlsplit(hub.endpoint).port
    for host in ["www", "api", "a.b"]:
        answer = raw("GET", f"{hub.endpoint}/api/whoami-v2", {"Host": f"{host}.localhost:{port}",
                                                              "Authorization": f"Bearer {hub.alice.write_token}"})
        assert answer.status_code == 404, (host, answer.status_code)
        assert answer.headers["content-security-policy"] == CSP
        assert b"alice" not in answer.content


def test_variables_have_a_budget_in_all(hub):
    api = hub.alice.api
    repo = make_space(api, "alice")
    for n in range(3):
        api.add_space_variable(repo, f"PART{n}", "v" * (16 * 1024))
    with pytest.raises(HfHubHTTPError) as full:
        api.add_space_variable(repo, "PART3", "v" * (16 * 1024))
    assert full.value.response.status_code == 400
    # Replacing a value within the budget is fine.
    api.add_space_variable(repo, "PART0", "short")
    api.add_space_variable(repo, "PART3", "v" * (16 * 1024))
    assert set(api.get_space_variables(repo)) == {"PART0", "PART1", "PART2", "PART3"}


def test_hf_spaces_commands(hub):
    api, token = hub.alice.api, hub.alice.write_token
    repo = make_space(api, "alice")
    info = json.loads(run_cli(["spaces", "info", repo, "--format", "json"], token=token).stdout)
    assert info["runtime"]["stage"] == "RUNNING" and info["host"] == api.space_info(repo).host
    run_cli(["spaces", "variables", "add", repo, "-e", "DEBUG=1", "-e", "MODEL=alice/m"], token=token)
    listed = run_cli(["spaces", "variables", "ls", repo], token=token).stdout
    assert "DEBUG" in listed and "alice/m" in listed, listed
    assert {k: v.value for k, v in api.get_space_variables(repo).items()} == {"DEBUG": "1", "MODEL": "alice/m"}
    run_cli(["spaces", "variables", "delete", repo, "DEBUG", "--yes"], token=token)
    assert set(api.get_space_variables(repo)) == {"MODEL"}
    # A static Space with its app file is running: waiting returns at once.
    run_cli(["spaces", "wait", repo, "--timeout", "30"], token=token)
    assert api.wait_for_space(repo, timeout=30).stage == "RUNNING"
