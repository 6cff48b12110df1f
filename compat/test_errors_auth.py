"""Error classes the client maps from kura's answers, private repos, tokens and permissions."""

import json

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import (
    BadRequestError,
    EntryNotFoundError,
    HfHubHTTPError,
    RemoteEntryNotFoundError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)
from huggingface_hub.utils import get_session, hf_raise_for_status
from support import http, read, unique


def test_repository_not_found(hub, api):
    missing = f"alice/{unique('missing')}"
    with pytest.raises(RepositoryNotFoundError) as error:
        api.model_info(missing)
    assert error.value.response.status_code in (401, 404)
    with pytest.raises(RepositoryNotFoundError):
        hub.anon.hf_hub_download(missing, "config.json")
    with pytest.raises(RepositoryNotFoundError):
        api.list_repo_files(missing, repo_type="dataset")
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=missing)
    status, headers, body = http("GET", f"{hub.endpoint}/api/models/{missing}")
    assert headers["X-Error-Code"] == "RepoNotFound"
    assert "error" in json.loads(body)
    assert headers.get("X-Request-Id") or headers.get("X-Amzn-Trace-Id"), "every answer carries a request id"


def test_revision_not_found(hub, api, repo_id):
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hub.anon.hf_hub_download(repo_id, ".gitattributes", revision="no-such-branch")
    with pytest.raises(RevisionNotFoundError):
        hub.anon.hf_hub_download(repo_id, ".gitattributes", revision="0" * 40)
    with pytest.raises(RevisionNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id, revision="no-such-branch")


def test_entry_not_found(hub, api, repo_id):
    with pytest.raises(EntryNotFoundError) as error:
        hub.anon.hf_hub_download(repo_id, "missing.json")
    assert isinstance(error.value, RemoteEntryNotFoundError)
    assert not hub.anon.file_exists(repo_id, "missing.json")
    assert hub.anon.file_exists(repo_id, ".gitattributes")
    with pytest.raises(EntryNotFoundError):
        api.delete_file("missing.json", repo_id)


def test_write_without_rights_is_403(hub, api, alice, bob, repo_id):
    head = api.model_info(repo_id).sha
    for client, who in ((bob.api, "another user"), (alice.read_api, "a read token")):
        with pytest.raises(HfHubHTTPError) as error:
            client.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
        assert error.value.response.status_code == 403, who
        with pytest.raises(HfHubHTTPError) as error:
            client.delete_repo(repo_id)
        assert error.value.response.status_code == 403, who
    with pytest.raises(HfHubHTTPError) as error:
        alice.read_api.create_repo(f"alice/{unique('readonly')}")
    assert error.value.response.status_code == 403
    # Anonymous writes are refused too (401 or 403), never accepted.
    with pytest.raises(HfHubHTTPError) as error:
        hub.anon.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo_id)
    assert error.value.response.status_code in (401, 403)
    assert api.model_info(repo_id).sha == head, "refused writes change nothing"


def test_private_repo_reads(hub, api, alice, bob, cache_dir):
    repo = f"alice/{unique('private')}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="s.txt", repo_id=repo)
    # The owner reads, with a write or a read token.
    assert read(api.hf_hub_download(repo, "s.txt", cache_dir=cache_dir)) == b"secret"
    assert read(alice.read_api.hf_hub_download(repo, "s.txt", cache_dir=cache_dir / "r")) == b"secret"
    assert "s.txt" in alice.read_api.list_repo_files(repo)
    # Anyone else gets exactly what a missing repo gives.
    for client in (hub.anon, bob.api):
        with pytest.raises(RepositoryNotFoundError):
            client.hf_hub_download(repo, "s.txt", cache_dir=cache_dir / "other")
        with pytest.raises(RepositoryNotFoundError):
            client.model_info(repo)
        with pytest.raises(RepositoryNotFoundError):
            list(client.list_repo_tree(repo))
        with pytest.raises(RepositoryNotFoundError):
            client.list_repo_refs(repo)
        with pytest.raises(RepositoryNotFoundError):
            client.list_repo_commits(repo)
        assert not client.file_exists(repo, "s.txt")
    with pytest.raises(RepositoryNotFoundError):
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    _, private_headers, _ = http("HEAD", f"{hub.endpoint}/{repo}/resolve/main/s.txt", token=bob.write_token)
    _, missing_headers, _ = http(
        "HEAD", f"{hub.endpoint}/alice/{unique('nope')}/resolve/main/s.txt", token=bob.write_token
    )
    assert private_headers["X-Error-Code"] == missing_headers["X-Error-Code"] == "RepoNotFound"


def test_private_org_repo_readable_by_members_only(hub, api, bob):
    repo = f"acme/{unique('private')}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"org secret", path_in_repo="o.txt", repo_id=repo)
    assert api.file_exists(repo, "o.txt")
    with pytest.raises(RepositoryNotFoundError):
        bob.api.model_info(repo)


def _post_commit(hub, token, repo, body: bytes):
    return get_session().post(
        f"{hub.endpoint}/api/models/{repo}/commit/main",
        content=body,
        headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
    )


def test_malformed_input_is_a_bad_request(hub, api, alice, repo_id):
    head = api.model_info(repo_id).sha
    token = alice.write_token
    header = json.dumps({"key": "header", "value": {"summary": "bad", "description": ""}})
    bad_bodies = {
        "invalid NDJSON": b"{this is not json\n",
        "bad base64": (
            header
            + "\n"
            + json.dumps(
                {"key": "file", "value": {"path": "a.txt", "content": "%%%not base64%%%", "encoding": "base64"}}
            )
        ).encode(),
        "dot-dot path": (
            header
            + "\n"
            + json.dumps(
                {"key": "file", "value": {"path": "a/../../etc/passwd", "content": "eA==", "encoding": "base64"}}
            )
        ).encode(),
        "absolute path": (
            header
            + "\n"
            + json.dumps({"key": "file", "value": {"path": "/abs.txt", "content": "eA==", "encoding": "base64"}})
        ).encode(),
        "unknown LFS object": (
            header
            + "\n"
            + json.dumps({"key": "lfsFile", "value": {"path": "x.bin", "algo": "sha256", "oid": "ab" * 32, "size": 5}})
        ).encode(),
    }
    for what, body in bad_bodies.items():
        response = _post_commit(hub, token, repo_id, body)
        assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
        if what.endswith(" path"):
            # A path a repo cannot hold is 422 on the Hub.
            assert response.status_code == 422, what
        elif what != "unknown LFS object":
            with pytest.raises(BadRequestError):
                hf_raise_for_status(response)
        assert api.model_info(repo_id).sha == head, f"{what} must change nothing"

    # Malformed repo names on creation.
    for name in ("-bad-", "bad--name", "a" * 97, "bad..name", "ends.git"):
        response = get_session().post(
            f"{hub.endpoint}/api/repos/create", json={"name": name}, headers={"authorization": f"Bearer {token}"}
        )
        with pytest.raises(BadRequestError):
            hf_raise_for_status(response)
    # Reserved namespaces cannot be used.
    response = get_session().post(
        f"{hub.endpoint}/api/repos/create",
        json={"name": "x", "organization": "datasets"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert 400 <= response.status_code < 500
    # Invalid branch names go through the official client as BadRequestError.
    with pytest.raises(BadRequestError):
        api.create_branch(repo_id, branch="bad..branch")
    with pytest.raises(BadRequestError):
        api.create_tag(repo_id, tag="bad tag")
    # A path with a .git segment is refused by the client already; the server refuses it too.
    body = (
        header
        + "\n"
        + json.dumps({"key": "file", "value": {"path": ".git/config", "content": "eA==", "encoding": "base64"}})
    ).encode()
    response = _post_commit(hub, token, repo_id, body)
    assert 400 <= response.status_code < 500
    assert api.model_info(repo_id).sha == head


def test_whoami(hub, alice, bob):
    me = alice.api.whoami()
    assert me["name"] == "alice"
    assert me["type"] == "user"
    assert [org["name"] for org in me["orgs"]] == ["acme"]
    assert me["auth"]["accessToken"]["role"] == "write"
    assert alice.read_api.whoami()["auth"]["accessToken"]["role"] == "read"
    bob_me = bob.api.whoami()
    assert bob_me["name"] == "bob" and bob_me["orgs"] == []
    from huggingface_hub import HfApi

    with pytest.raises(HfHubHTTPError) as error:
        HfApi(endpoint=hub.endpoint, token="hf_thisisnotarealtokenatall").whoami()
    assert error.value.response.status_code == 401
    status, _, _ = http("GET", f"{hub.endpoint}/api/whoami-v2")
    assert status == 401


def test_auth_check(hub, api, alice, bob):
    public = f"alice/{unique('public')}"
    private = f"alice/{unique('private')}"
    api.create_repo(public)
    api.create_repo(private, private=True)
    api.auth_check(private)
    api.auth_check(private, write=True)
    alice.read_api.auth_check(private)
    with pytest.raises(HfHubHTTPError) as error:
        alice.read_api.auth_check(private, write=True)
    assert error.value.response.status_code == 403
    with pytest.raises(RepositoryNotFoundError):
        bob.api.auth_check(private)
    with pytest.raises(RepositoryNotFoundError):
        hub.anon.auth_check(private)
    with pytest.raises(RepositoryNotFoundError):
        api.auth_check(f"alice/{unique('missing')}")
    hub.anon.auth_check(public)
    bob.api.auth_check(public)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.auth_check(public, write=True)
    assert error.value.response.status_code == 403


def test_validate_yaml(hub, api, repo_id):
    from huggingface_hub import ModelCard

    # Valid front matter goes through; kura answers JSON.
    good = "---\nlicense: apache-2.0\nlanguage: en\n---\n# card\n"
    api.create_commit(repo_id, [CommitOperationAdd("README.md", good.encode())], commit_message="card")
    card = ModelCard.load(repo_id)
    assert card.data.license == "apache-2.0"
    status, headers, body = http(
        "POST",
        f"{hub.endpoint}/api/validate-yaml",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"content": good, "repoType": "model"}).encode(),
    )
    assert status == 200
    assert "errors" in json.loads(body) or json.loads(body) == {}


def test_admin_cli_while_serving(hub, api, bob):
    """Users, orgs and tokens created with the admin CLI while the server runs work at once."""
    from huggingface_hub import HfApi

    name = unique("user").replace("-", "")
    hub.admin_cli("user", "create", name)
    token = hub.admin_cli("token", "create", name, "--role", "write").strip()
    assert token.startswith("hf_")
    newcomer = HfApi(endpoint=hub.endpoint, token=token)
    assert newcomer.whoami()["name"] == name
    org = unique("org").replace("-", "")
    hub.admin_cli("org", "create", org, "--owner", name)
    assert [o["name"] for o in newcomer.whoami()["orgs"]] == [org]
    repo = f"{org}/{unique('r')}"
    newcomer.create_repo(repo)
    newcomer.upload_file(path_or_fileobj=b"mine", path_in_repo="m.txt", repo_id=repo)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=repo)
    assert error.value.response.status_code == 403

    # A site administrator reads and writes every repo, private ones included.
    root = unique("root").replace("-", "")
    hub.admin_cli("user", "create", root, "--admin")
    admin = HfApi(endpoint=hub.endpoint, token=hub.admin_cli("token", "create", root, "--role", "write").strip())
    private = f"alice/{unique('private')}"
    api.create_repo(private, private=True)
    assert admin.model_info(private).private is True
    admin.upload_file(path_or_fileobj=b"by admin", path_in_repo="a.txt", repo_id=private)
    assert "a.txt" in api.list_repo_files(private)


def test_tokens_are_not_stored_in_clear(hub, alice, bob):
    import os
    import shutil
    import subprocess

    tokens = [alice.write_token, alice.read_token, bob.write_token, bob.read_token]
    stores = {}
    for path in hub.data_dir.rglob("*"):
        if path.is_file() and "blobs" not in path.parts and path.stat().st_size < 200 * 1024 * 1024:
            stores[str(path)] = path.read_bytes()
    database_url = os.environ.get("KURA_DATABASE_URL", "")
    if database_url.startswith("postgres"):
        assert shutil.which("pg_dump"), "pg_dump is needed to inspect the PostgreSQL metadata store"
        dump = subprocess.run(["pg_dump", "--data-only", database_url], capture_output=True, timeout=120, check=True)
        stores["PostgreSQL dump"] = dump.stdout
        assert b"tokens" in dump.stdout
    assert stores, f"found no metadata store to inspect under {hub.data_dir}"
    for where, content in stores.items():
        for token in tokens:
            assert token.encode() not in content, f"a token is stored in clear in {where}"


def test_oversized_and_garbage_bodies_are_client_errors(hub, alice):
    headers = {"authorization": f"Bearer {alice.write_token}", "content-type": "application/json"}
    session = get_session()
    huge_name = session.post(
        f"{hub.endpoint}/api/repos/create", content=b'{"name": "' + b"x" * (8 << 20) + b'"}', headers=headers
    )
    assert 400 <= huge_name.status_code < 500, huge_name.status_code
    garbage = session.post(f"{hub.endpoint}/api/repos/create", content=b"\x00\xff" * 1000, headers=headers)
    assert 400 <= garbage.status_code < 500, garbage.status_code
    not_json = session.post(
        f"{hub.endpoint}/api/validate-yaml", content=b"not json", headers={"content-type": "application/json"}
    )
    assert 400 <= not_json.status_code < 500, not_json.status_code
