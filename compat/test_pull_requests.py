"""Pull requests with the official client and real git (issue 19): opened by
`create_commit(create_pr=True)`, by `create_pull_request` and then `git push origin
HEAD:refs/pr/N`; commits added with `revision="refs/pr/N"`; `refs/pr/N` read through the API
and `HfFileSystem`; merged by the owner as a fast-forward or a merge commit; conflicts refused.
The contributor (bob) has no write access to alice's repos: he can never move `main`."""

import functools
import json

import pytest
from huggingface_hub import CommitOperationAdd, HfFileSystem, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError
from support import http, random_bytes, run_cli, sha256_bytes, sha256_file, unique
from test_git_push import authed_url, run_git


def status_of(call) -> int:
    with pytest.raises(HfHubHTTPError) as error:
        call()
    return error.value.response.status_code


def test_a_reader_opens_a_pull_request_with_create_pr_and_the_owner_merges_it(alice, bob, hub, repo_id, cache_dir):
    api = alice.api
    api.upload_file(path_or_fileobj=b"v1\n", path_in_repo="notes.txt", repo_id=repo_id)
    main_before = api.model_info(repo_id).sha
    weights = random_bytes(3 * 1024 * 1024, seed=19)
    opened = bob.api.create_commit(
        repo_id,
        operations=[CommitOperationAdd("notes.txt", b"v2 from bob\n"), CommitOperationAdd("weights.bin", weights)],
        commit_message="Better notes and weights",
        commit_description="Please have a look.",
        create_pr=True,
    )
    assert opened.pr_num == 1 and opened.pr_revision == "refs/pr/1", opened
    assert opened.pr_url.endswith(f"/{repo_id}/discussions/1")
    assert api.model_info(repo_id).sha == main_before, "a pull request never moves main"

    details = api.get_discussion_details(repo_id, 1)
    assert (details.is_pull_request, details.status, details.author, details.title) == (
        True, "open", "bob", "Better notes and weights")
    assert details.target_branch == "refs/heads/main" and details.conflicting_files == []
    assert details.merge_commit_oid is None
    assert [e.type for e in details.events] == ["comment", "commit"]
    assert details.events[0].content == "Please have a look."
    assert details.events[1].oid == opened.oid and details.events[1].summary == "Better notes and weights"
    assert "-v1\n+v2 from bob\n" in details.diff and "Binary files a/weights.bin" in details.diff, details.diff
    cli_diff = run_cli(["discussions", "diff", repo_id, "1"], token=alice.write_token).stdout
    assert "+v2 from bob" in cli_diff, cli_diff

    # bob adds a commit to his own pull request; it shows in the refs and as an event.
    second = bob.api.upload_file(path_or_fileobj=b"more\n", path_in_repo="more.txt", repo_id=repo_id,
                                 revision="refs/pr/1", commit_message="One more file")
    refs = api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", second.oid)]
    assert [b.target_commit for b in refs.branches] == [main_before]
    assert api.get_discussion_details(repo_id, 1).events[-1].oid == second.oid

    # The pull request's files read like any revision, through the API and HfFileSystem.
    fs = HfFileSystem(endpoint=hub.endpoint, token=alice.write_token)
    assert fs.read_text(f"{repo_id}@refs/pr/1/notes.txt") == "v2 from bob\n"
    assert sorted(api.list_repo_files(repo_id, revision="refs/pr/1")) == [
        ".gitattributes", "more.txt", "notes.txt", "weights.bin"]
    path = hf_hub_download(repo_id, "weights.bin", revision="refs/pr/1", cache_dir=cache_dir, token=bob.write_token)
    assert sha256_file(path) == sha256_bytes(weights)
    assert not api.file_exists(repo_id, "more.txt"), "main is untouched"

    # Only the owner merges; main fast-forwards to the pull request's head.
    assert status_of(lambda: bob.api.merge_pull_request(repo_id, 1)) == 403
    api.merge_pull_request(repo_id, 1, comment="Thanks!")
    merged = api.get_discussion_details(repo_id, 1)
    assert merged.status == "merged" and merged.merge_commit_oid == second.oid
    assert [e.type for e in merged.events][-2:] == ["comment", "status-change"]
    assert api.model_info(repo_id).sha == second.oid, "a fast-forward"
    # Merged, it still shows what it changed (its own commits are no merge base).
    merged_diff = api.get_discussion_details(repo_id, 1).diff
    assert "+v2 from bob" in merged_diff and "more.txt" in merged_diff, merged_diff
    assert hf_hub_download(repo_id, "notes.txt", cache_dir=cache_dir, token=alice.write_token,
                           force_download=True) and api.file_exists(repo_id, "weights.bin")
    # A merged pull request takes no more commits and cannot be merged or reopened again.
    assert status_of(lambda: bob.api.upload_file(path_or_fileobj=b"x", path_in_repo="late.txt", repo_id=repo_id,
                                                 revision="refs/pr/1")) == 400
    assert status_of(lambda: api.merge_pull_request(repo_id, 1)) == 400
    assert status_of(lambda: api.change_discussion_status(repo_id, 1, "open")) == 400


def test_a_merge_commit_when_main_moved_and_conflicts_refused(alice, bob, repo_id):
    api = alice.api
    api.upload_file(path_or_fileobj=b"base\n", path_in_repo="shared.txt", repo_id=repo_id)
    pr = bob.api.create_commit(repo_id, operations=[CommitOperationAdd("bob.txt", b"from bob\n")],
                               commit_message="Add bob.txt", create_pr=True)
    moved = api.upload_file(path_or_fileobj=b"from alice\n", path_in_repo="alice.txt", repo_id=repo_id)
    api.merge_pull_request(repo_id, pr.pr_num)
    merge = api.get_discussion_details(repo_id, pr.pr_num).merge_commit_oid
    head = api.list_repo_commits(repo_id)[0]
    assert head.commit_id == merge and merge not in (pr.oid, moved.oid), "a merge commit"
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "alice.txt", "bob.txt", "shared.txt"]
    status, _, body = http("GET", f"{api.endpoint}/api/models/{repo_id}/revision/main", token=alice.write_token)
    assert status == 200 and json.loads(body)["sha"] == merge

    # The same file changed on both sides: the merge is refused and main stays where it is.
    clash = bob.api.create_commit(repo_id, operations=[CommitOperationAdd("shared.txt", b"bob's\n")],
                                  commit_message="Change shared.txt", create_pr=True)
    api.upload_file(path_or_fileobj=b"alice's\n", path_in_repo="shared.txt", repo_id=repo_id)
    main_now = api.model_info(repo_id).sha
    assert api.get_discussion_details(repo_id, clash.pr_num).conflicting_files == ["shared.txt"]
    assert status_of(lambda: api.merge_pull_request(repo_id, clash.pr_num)) == 409
    assert api.model_info(repo_id).sha == main_now
    assert api.get_discussion_details(repo_id, clash.pr_num).status == "open"
    # bob resolves it on his pull request; then it merges.
    bob.api.upload_file(path_or_fileobj=b"alice's\n", path_in_repo="shared.txt", repo_id=repo_id,
                        revision=clash.pr_revision, commit_message="Take alice's version")
    assert api.get_discussion_details(repo_id, clash.pr_num).conflicting_files == []
    api.merge_pull_request(repo_id, clash.pr_num)
    assert api.get_discussion_details(repo_id, clash.pr_num).status == "merged"


def test_create_pull_request_then_git_push_to_refs_pr(alice, bob, hub, tmp_path):
    repo_id = f"alice/{unique('gitpr')}"
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b"# card\n", path_in_repo="README.md", repo_id=repo_id)
    main = alice.api.model_info(repo_id).sha
    draft = bob.api.create_pull_request(repo_id, title="Fix the card", description="Pushed with git.")
    assert (draft.num, draft.status, draft.is_pull_request) == (1, "draft", True)
    refs = alice.api.list_repo_refs(repo_id, include_pull_requests=True)
    assert [(r.ref, r.target_commit) for r in refs.pull_requests] == [("refs/pr/1", main)]

    git = functools.partial(run_git, home=tmp_path)
    git(tmp_path, "clone", "-q", authed_url(hub, bob.write_token, repo_id), "work")
    work = tmp_path / "work"
    (work / "README.md").write_text("# card\n\nFixed.\n")
    git(work, "commit", "-q", "-am", "Fix the card with git")
    head = git(work, "rev-parse", "HEAD").stdout.strip()
    git(work, "push", "-q", "origin", "HEAD:refs/pr/1")

    details = alice.api.get_discussion_details(repo_id, 1)
    assert details.status == "open", "a draft opens with its first commit"
    assert [(e.type, getattr(e, "oid", None)) for e in details.events][-1] == ("commit", head)
    assert alice.api.model_info(repo_id).sha == main

    # What bob's push may not do: move main, make a pull request ref, delete one.
    for refspec in ["HEAD:main", "HEAD:refs/pr/7", ":refs/pr/1", "HEAD:refs/tags/v1"]:
        with pytest.raises(AssertionError, match="failed"):
            git(work, "push", "origin", refspec)
    assert alice.api.model_info(repo_id).sha == main
    assert [r.ref for r in alice.api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests] == [
        "refs/pr/1"]

    run_cli(["discussions", "merge", repo_id, "1", "--yes", "--comment", "merged on the CLI"], token=alice.write_token)
    assert alice.api.model_info(repo_id).sha == head, "a fast-forward to the pushed commit"
    assert alice.api.get_discussion_details(repo_id, 1).events[-2].content == "merged on the CLI"


def test_who_may_add_to_a_pull_request(alice, bob, hub, repo_id):
    api = alice.api
    api.upload_file(path_or_fileobj=b"x\n", path_in_repo="x.txt", repo_id=repo_id)
    mine = api.create_pull_request(repo_id, title="alice's own")
    theirs = bob.api.create_pull_request(repo_id, title="bob's")
    made = iter(range(1000))

    def commit(who_api, revision, **kw):
        # New content each time: the client skips a commit that changes nothing.
        add = CommitOperationAdd("y.txt", f"y{next(made)}\n".encode())
        return who_api.create_commit(repo_id, operations=[add], commit_message="y", revision=revision, **kw)

    # Someone else's pull request, a read token, no token, a branch: all refused.
    assert status_of(lambda: commit(bob.api, mine.git_reference)) == 403
    assert status_of(lambda: commit(bob.read_api, theirs.git_reference)) == 403
    assert status_of(lambda: commit(hub.anon, theirs.git_reference)) == 401
    assert status_of(lambda: commit(bob.api, "main")) == 403
    assert status_of(lambda: commit(bob.api, "refs/pr/99")) == 404
    assert status_of(lambda: bob.read_api.create_pull_request(repo_id, title="read token")) == 403
    # The owner may add to bob's pull request (maintainers fix up contributions).
    commit(api, theirs.git_reference)
    # A closed pull request takes no commits until it is reopened.
    bob.api.change_discussion_status(repo_id, theirs.num, "closed")
    assert status_of(lambda: commit(bob.api, theirs.git_reference)) == 400
    bob.api.change_discussion_status(repo_id, theirs.num, "open")
    commit(bob.api, theirs.git_reference)
    # A discussion is not a pull request: no ref, nothing to merge.
    talk = bob.api.create_discussion(repo_id, title="just talk")
    assert status_of(lambda: api.merge_pull_request(repo_id, talk.num)) == 400
    assert status_of(lambda: commit(bob.api, f"refs/pr/{talk.num}")) == 404
    status, _, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}/revision/refs%2Fpr%2F{talk.num}")
    assert status == 404


def test_upload_folder_with_create_pr(alice, bob, repo_id, tmp_path):
    folder = tmp_path / "contribution"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "b.bin").write_bytes(random_bytes(200_000, seed=7))
    info = bob.api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message="A folder", create_pr=True)
    assert info.pr_revision == f"refs/pr/{info.pr_num}"
    assert sorted(alice.api.list_repo_files(repo_id, revision=info.pr_revision)) == [
        ".gitattributes", "a.txt", "sub/b.bin"]
    assert sorted(alice.api.list_repo_files(repo_id)) == [".gitattributes"]
