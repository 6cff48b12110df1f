"""The metadata caches (issue 21) never serve a stale answer: every change to what they hold is
seen by the very next request, on every replica (in the two-replica mode nginx sends
consecutive requests to alternate replicas, so each read below is repeated to reach both).
What is cached: each repo's refs, `usedStorage` and whether any Space's card names it, keyed
by the repo row's `state`, which database triggers change in the same transaction as those;
and, by content id, commits, trees, small files and the indexer's facts."""

import json

from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from support import http, unique

READS = 4  # enough to reach both replicas behind round-robin, twice


def file_text(hub, repo_id, revision, path):
    """Each replica's answer for one file: (status, body, x-repo-commit)."""
    url = f"{hub.endpoint}/{repo_id}/resolve/{revision}/{path}"
    answers = set()
    for _ in range(READS):
        status, headers, body = http("GET", url)
        answers.add((status, body if status == 200 else b"", headers.get("x-repo-commit")))
    return answers


def shas(api, repo_id, revision="main"):
    return {api.model_info(repo_id, revision=revision).sha for _ in range(READS)}


def test_a_moved_branch_is_seen_by_the_next_request(hub, alice):
    repo_id = f"alice/{unique('fresh')}"
    api = alice.api
    api.create_repo(repo_id)
    first = api.create_commit(
        repo_id, [CommitOperationAdd("a.txt", b"one")], commit_message="one"
    ).oid
    # Warm every cache on every replica: info, tree, paths-info, the file itself.
    assert shas(hub.anon, repo_id) == {first}
    assert file_text(hub, repo_id, "main", "a.txt") == {(200, b"one", first)}
    for _ in range(READS):
        assert [f.path for f in hub.anon.list_repo_tree(repo_id)] == [".gitattributes", "a.txt"]
    second = api.create_commit(
        repo_id,
        [CommitOperationAdd("a.txt", b"two"), CommitOperationAdd("b.txt", b"bee")],
        commit_message="two",
    ).oid
    assert shas(hub.anon, repo_id) == {second}
    assert file_text(hub, repo_id, "main", "a.txt") == {(200, b"two", second)}
    for _ in range(READS):
        paths = hub.anon.get_paths_info(repo_id, ["a.txt", "b.txt"])
        assert sorted(p.path for p in paths) == ["a.txt", "b.txt"]
        assert [f.path for f in hub.anon.list_repo_tree(repo_id)] == [".gitattributes", "a.txt", "b.txt"]
    # The old commit stays readable by its id (an immutable answer), the branch has moved on.
    assert file_text(hub, repo_id, first, "a.txt") == {(200, b"one", first)}
    third = api.create_commit(repo_id, [CommitOperationDelete("b.txt")], commit_message="three").oid
    assert file_text(hub, repo_id, "main", "b.txt") == {(404, b"", third)}


def test_tags_and_branches_appear_and_vanish_at_once(hub, alice):
    repo_id = f"alice/{unique('refs')}"
    api = alice.api
    api.create_repo(repo_id)
    head = api.create_commit(repo_id, [CommitOperationAdd("f.txt", b"x")], commit_message="f").oid
    for _ in range(READS):
        status, _, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}/revision/v1")
        assert status == 404
    api.create_tag(repo_id, tag="v1")
    assert shas(hub.anon, repo_id, "v1") == {head}
    api.create_branch(repo_id, branch="dev")
    assert shas(hub.anon, repo_id, "dev") == {head}
    for _ in range(READS):
        refs = hub.anon.list_repo_refs(repo_id)
        assert {b.name for b in refs.branches} == {"main", "dev"} and [t.name for t in refs.tags] == ["v1"]
    api.delete_tag(repo_id, tag="v1")
    api.delete_branch(repo_id, branch="dev")
    for revision in ("v1", "dev"):
        for _ in range(READS):
            status, _, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}/revision/{revision}")
            assert status == 404, revision


def test_used_storage_follows_large_uploads(hub, alice):
    repo_id = f"alice/{unique('stored')}"
    api = alice.api
    api.create_repo(repo_id)

    def used():
        return {api.model_info(repo_id, expand=["usedStorage"]).used_storage for _ in range(READS)}

    assert used() == {0}
    head = api.upload_file(path_or_fileobj=b"\x01" * 4096, path_in_repo="w.bin", repo_id=repo_id).oid
    assert used() == {4096}
    assert file_text(hub, repo_id, "main", "w.bin") == {(200, b"\x01" * 4096, head)}
    # Unlinking the object takes it out of the repo at once: its bytes are no longer readable
    # through the repo (the read proof asks again), and it no longer counts.
    api.permanently_delete_lfs_files(repo_id, list(api.list_lfs_files(repo_id)), rewrite_history=False)
    assert used() == {0}
    assert {status for status, _, _ in file_text(hub, repo_id, "main", "w.bin")} == {404}


def test_the_spaces_using_a_model_follow_their_cards(hub, alice, bob):
    model = f"alice/{unique('used')}"
    space = f"alice/{unique('user')}"
    alice.api.create_repo(model)

    def spaces(api):
        return [json.dumps(sorted(api.model_info(model).spaces or [])) for _ in range(READS)]

    assert set(spaces(hub.anon)) == {"[]"}
    alice.api.create_repo(space, repo_type="space", space_sdk="static")
    card = f"---\nsdk: static\nmodels:\n- {model.upper()}\n---\n# app\n".encode()
    alice.api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=space, repo_type="space")
    assert set(spaces(hub.anon)) == {json.dumps([space])}
    # Who may see the Space is asked on every request, whatever is cached.
    alice.api.update_repo_settings(space, private=True, repo_type="space")
    assert set(spaces(hub.anon)) == {"[]"}
    assert set(spaces(alice.api)) == {json.dumps([space])}
    alice.api.update_repo_settings(space, private=False, repo_type="space")
    card = b"---\nsdk: static\n---\n# app\n"
    alice.api.upload_file(path_or_fileobj=card, path_in_repo="README.md", repo_id=space, repo_type="space")
    assert set(spaces(hub.anon)) == {"[]"}


def test_a_renamed_repo_and_a_new_one_at_its_old_name(hub, alice):
    old = f"alice/{unique('before')}"
    new = f"alice/{unique('after')}"
    api = alice.api
    api.create_repo(old)
    first = api.create_commit(old, [CommitOperationAdd("a.txt", b"old")], commit_message="a").oid
    assert file_text(hub, old, "main", "a.txt") == {(200, b"old", first)}
    api.move_repo(old, new)
    assert file_text(hub, new, "main", "a.txt") == {(200, b"old", first)}
    api.create_repo(old)
    other = api.create_commit(old, [CommitOperationAdd("a.txt", b"new")], commit_message="b").oid
    assert file_text(hub, old, "main", "a.txt") == {(200, b"new", other)}
    assert shas(hub.anon, new) == {first}


def test_a_new_repo_never_sees_a_deleted_ones_answers(hub, alice):
    """Regression: SQLite gives a deleted repo's row id to the next new repo; the caches must
    not answer the new repo with what they kept for the old one."""
    api = alice.api
    for round_ in range(3):
        repo_id = f"alice/{unique('reborn')}"
        api.create_repo(repo_id)
        head = api.create_commit(
            repo_id, [CommitOperationAdd(f"round-{round_}.txt", b"r")], commit_message="r"
        ).oid
        for _ in range(READS):
            assert [f.path for f in hub.anon.list_repo_tree(repo_id)] == [".gitattributes", f"round-{round_}.txt"]
        assert shas(hub.anon, repo_id) == {head}
        api.delete_repo(repo_id)
