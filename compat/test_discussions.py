"""Discussions with the official client (issue 19, first part): create, list with filters and
pages, details with events, comment, rename, open/close, edit and hide a comment; who may do
what; bounds and rendering. Pull requests are in `test_pull_requests.py`."""

import json

import pytest
from huggingface_hub.errors import HfHubHTTPError
from support import http, unique


def status_of(call) -> int:
    with pytest.raises(HfHubHTTPError) as error:
        call()
    return error.value.response.status_code


def test_a_discussion_from_open_to_closed(alice, bob, repo_id):
    opened = bob.api.create_discussion(repo_id, title="  Does it run on CPU?  ", description="Asking for a **friend**.")
    assert (opened.num, opened.title, opened.author, opened.status) == (1, "Does it run on CPU?", "bob", "open")
    assert not opened.is_pull_request and opened.repo_id == repo_id and opened.repo_type == "model"
    [first] = opened.events
    assert (first.type, first.author, first.content, first.edited, first.hidden) == (
        "comment", "bob", "Asking for a **friend**.", False, False)

    reply = alice.api.comment_discussion(repo_id, 1, "Yes, slowly.")
    assert (reply.author, reply.content) == ("alice", "Yes, slowly.")
    renamed = bob.api.rename_discussion(repo_id, 1, "Runs on CPU?")
    assert (renamed.old_title, renamed.new_title, renamed.author) == ("Does it run on CPU?", "Runs on CPU?", "bob")
    closed = alice.api.change_discussion_status(repo_id, 1, "closed", comment="Answered.")
    assert (closed.new_status, closed.author) == ("closed", "alice")
    edited = alice.api.edit_discussion_comment(repo_id, 1, reply.id, "Yes, slowly (about 2 tokens/s).")
    assert edited.edited and edited.content == "Yes, slowly (about 2 tokens/s)."

    details = bob.read_api.get_discussion_details(repo_id, 1)
    assert (details.title, details.status) == ("Runs on CPU?", "closed")
    kinds = [(e.type, e.author) for e in details.events]
    assert kinds == [("comment", "bob"), ("comment", "alice"), ("title-change", "bob"),
                     ("comment", "alice"), ("status-change", "alice")]
    assert details.events[1].content == "Yes, slowly (about 2 tokens/s)."
    assert details.events[1].edit_history and details.events[1].number_of_edits == 1
    reopened = bob.api.change_discussion_status(repo_id, 1, "open")
    assert reopened.new_status == "open", "the author reopens their own discussion"


def test_listing_filters_and_pages(alice, bob, hub):
    repo_id = f"alice/{unique('listing')}"
    alice.api.create_repo(repo_id)
    for n in range(53):
        who = bob if n % 2 else alice
        who.api.create_discussion(repo_id, title=f"topic {n}", description=f"body {n}")
    alice.api.change_discussion_status(repo_id, 3, "closed")
    everything = list(hub.anon.get_repo_discussions(repo_id))
    assert [d.num for d in everything] == list(range(53, 0, -1)), "newest first, across two pages"
    by_bob = list(hub.anon.get_repo_discussions(repo_id, author="bob"))
    assert {d.author for d in by_bob} == {"bob"} and len(by_bob) == 26
    closed = list(hub.anon.get_repo_discussions(repo_id, discussion_status="closed"))
    assert [d.num for d in closed] == [3]
    assert len(list(hub.anon.get_repo_discussions(repo_id, discussion_status="open"))) == 52
    assert list(hub.anon.get_repo_discussions(repo_id, discussion_type="pull_request")) == []
    assert len(list(hub.anon.get_repo_discussions(repo_id, discussion_type="discussion"))) == 53
    assert list(hub.anon.get_repo_discussions(repo_id, author="nobody-at-all")) == []
    status, _, body = http("GET", f"{hub.endpoint}/api/models/{repo_id}/discussions?p=1")
    page = json.loads(body)
    assert status == 200 and (page["start"], page["count"], len(page["discussions"])) == (50, 53, 3)


def test_who_may_do_what(alice, bob, hub, repo_id):
    d = alice.api.create_discussion(repo_id, title="Maintainer thread", description="x")
    # Anonymous and read-only callers read, never post.
    assert status_of(lambda: hub.anon.create_discussion(repo_id, title="t", description="d")) == 401
    assert status_of(lambda: bob.read_api.comment_discussion(repo_id, d.num, "hi")) == 403
    assert hub.anon.get_discussion_details(repo_id, d.num).title == "Maintainer thread"
    # Someone else's discussion: bob comments, but neither renames, closes nor edits others' words.
    bob_comment = bob.api.comment_discussion(repo_id, d.num, "mine")
    assert status_of(lambda: bob.api.rename_discussion(repo_id, d.num, "taken over")) == 403
    assert status_of(lambda: bob.api.change_discussion_status(repo_id, d.num, "closed")) == 403
    first = d.events[0].id
    assert status_of(lambda: bob.api.edit_discussion_comment(repo_id, d.num, first, "rewritten")) == 403
    assert status_of(lambda: alice.api.edit_discussion_comment(repo_id, d.num, bob_comment.id, "x")) == 403
    # Only maintainers hide; a hidden comment's text is gone from every view; hiding is audited.
    assert status_of(lambda: bob.api.hide_discussion_comment(repo_id, d.num, first)) == 403
    hidden = alice.api.hide_discussion_comment(repo_id, d.num, bob_comment.id)
    assert hidden.hidden
    status, _, body = http("GET", f"{hub.endpoint}/api/models/{repo_id}/discussions/{d.num}")
    assert status == 200 and b"mine" not in body, body
    assert status_of(lambda: bob.api.edit_discussion_comment(repo_id, d.num, bob_comment.id, "back")) == 400
    audit = hub.admin_cli("audit", "list", "--limit", "1000")
    assert "discussion.hide_comment" in audit and repo_id in audit
    # A fine-grained token posts only with write on the repo (a download token is read-only).
    from huggingface_hub import HfApi

    def scoped(permission: str) -> HfApi:
        token = hub.admin_cli("token", "create", "bob", "--name", unique("fg"), "--scope", f"model:{repo_id}={permission}")
        return HfApi(endpoint=hub.endpoint, token=token.strip())

    assert status_of(lambda: scoped("repo.content.read").comment_discussion(repo_id, d.num, "ci")) == 403
    assert scoped("repo.write").comment_discussion(repo_id, d.num, "ci").author == "bob"
    # A private repo's discussions are as hidden as the repo.
    private = f"alice/{unique('private')}"
    alice.api.create_repo(private, private=True)
    alice.api.create_discussion(private, title="internal", description="x")
    assert status_of(lambda: bob.api.get_discussion_details(private, 1)) == 404
    assert status_of(lambda: list(bob.api.get_repo_discussions(private))) == 404
    assert status_of(lambda: bob.api.comment_discussion(private, 1, "let me in")) == 404


def test_bad_input_gets_clear_errors(alice, hub, repo_id):
    d = alice.api.create_discussion(repo_id, title="bounds", description="x")
    assert status_of(lambda: alice.api.create_discussion(repo_id, title="t" * 201, description="d")) == 400
    assert status_of(lambda: alice.api.comment_discussion(repo_id, d.num, "x" * (64 * 1024 + 1))) == 400
    assert status_of(lambda: alice.api.comment_discussion(repo_id, d.num, "   ")) == 400
    assert status_of(lambda: alice.api.comment_discussion(repo_id, 999, "nobody here")) == 404
    assert status_of(lambda: alice.api.edit_discussion_comment(repo_id, d.num, "0" * 24, "x")) == 404
    for path, body in [
        (f"/api/models/{repo_id}/discussions", b"not json"),
        (f"/api/models/{repo_id}/discussions/{d.num}/status", b'{"status": "sideways"}'),
        (f"/api/models/{repo_id}/discussions/{d.num}/title", b'{"title": "a\\u0000b"}'),
    ]:
        status, headers, answer = http("POST", hub.endpoint + path, token=alice.write_token,
                                       headers={"Content-Type": "application/json"}, data=body)
        assert status == 400 and "error" in json.loads(answer), (path, status, answer)
    assert status_of(lambda: alice.api.create_discussion(repo_id, title="evil\u202eoc.exe", description="d")) == 400
    assert status_of(lambda: alice.api.edit_discussion_comment(repo_id, d.num, d.events[0].id, "  ")) == 400
    status, _, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}/discussions?p=2001")
    assert status == 400
    # A discussion holds at most 2 MiB of events: past it, posts are refused and nothing is kept.
    # (A fresh user: the suite's users spent part of their post rate already.)
    poster = unique("poster")
    hub.admin_cli("user", "create", poster)
    token = hub.admin_cli("token", "create", poster, "--role", "write").strip()
    big = alice.api.create_discussion(repo_id, title="big", description="x")
    answers = [http("POST", f"{hub.endpoint}/api/models/{repo_id}/discussions/{big.num}/comment",
                    token=token, headers={"Content-Type": "application/json"},
                    data=json.dumps({"comment": "y" * 60_000}).encode())[0] for _ in range(40)]
    assert 30 <= answers.index(400) <= 35 and set(answers[answers.index(400):]) == {400}, answers
    assert len(alice.api.get_discussion_details(repo_id, big.num).events) == 1 + answers.index(400)
    for path in ["/discussions/0", "/discussions/abc", "/discussions/99999999999999999999"]:
        status, _, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}{path}")
        assert status == 404, path


def test_comment_html_never_runs_script(alice, bob, repo_id):
    d = bob.api.create_discussion(repo_id, title="xss", description='<script>alert(1)</script><img src=x onerror="alert(2)">')
    html = d.events[0]._event["data"]["latest"]["html"]
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html, html


def test_posting_is_rate_limited_per_user(hub, alice, repo_id):
    name = unique("spammer")
    hub.admin_cli("user", "create", name)
    token = hub.admin_cli("token", "create", name, "--role", "write").strip()
    d = alice.api.create_discussion(repo_id, title="popular", description="x")
    statuses = []
    for n in range(300):  # each replica of a two-replica run has its own limiter
        status, headers, _ = http("POST", f"{hub.endpoint}/api/models/{repo_id}/discussions/{d.num}/comment",
                                  token=token, headers={"Content-Type": "application/json"},
                                  data=json.dumps({"comment": f"spam {n}"}).encode())
        statuses.append(status)
        if status == 429:
            assert int(headers["Retry-After"]) >= 1
            break
    assert statuses[-1] == 429 and statuses[:-1] == [200] * (len(statuses) - 1), statuses
    assert alice.api.comment_discussion(repo_id, d.num, "others still post").author == "alice"


def test_the_hf_discussions_commands(alice, bob, repo_id):
    from support import run_cli

    def hf(args, token=alice.write_token):
        return run_cli(args, token=token).stdout

    hf(["discussions", "create", repo_id, "--title", "From the CLI", "--body", "first words"], token=bob.write_token)
    listed = json.loads(hf(["discussions", "list", repo_id, "--format", "json"]))
    assert [(d["num"], d["title"]) for d in listed] == [(1, "From the CLI")], listed
    hf(["discussions", "comment", repo_id, "1", "--body", "a reply"])
    hf(["discussions", "rename", repo_id, "1", "Renamed on the CLI"])
    hf(["discussions", "close", repo_id, "1", "--yes", "--comment", "done"])
    assert alice.api.get_discussion_details(repo_id, 1).status == "closed"
    hf(["discussions", "reopen", repo_id, "1", "--yes"])
    reply = [e for e in alice.api.get_discussion_details(repo_id, 1).events if e.type == "comment"][1]
    hf(["discussions", "edit", repo_id, "1", reply.id, "--body", "an edited reply"])
    info = json.loads(hf(["discussions", "info", repo_id, "1", "--format", "json"]))
    assert info["title"] == "Renamed on the CLI" and info["status"] == "open", info
    assert alice.api.get_discussion_details(repo_id, 1).events[1].content == "an edited reply"
