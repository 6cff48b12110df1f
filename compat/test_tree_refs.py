"""Listing files, trees, paths-info, refs and commits; creating and deleting branches and tags."""

from datetime import timezone

import pytest
from huggingface_hub import CommitOperationAdd
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, RevisionNotFoundError
from support import XET, git_blob_sha1, http, random_bytes, read, sha256_bytes, unique

FILES = {
    "README.md": b"# tree\n",
    "config.json": b'{"a": 1}',
    "a/b/c.txt": b"c",
    "a/d.txt": b"dd",
    "a/b/e/f.txt": b"ffff",
    "x y/with space.txt": b"spaces",
}
LFS_DATA = random_bytes(10_600_000, seed=77)


@pytest.fixture(scope="module")
def tree_repo(hub):
    api = hub.alice.api
    repo = f"alice/{unique('tree')}"
    api.create_repo(repo)
    ops = [CommitOperationAdd(p, d) for p, d in FILES.items()]
    ops.append(CommitOperationAdd("a/big.bin", LFS_DATA))
    commit = api.create_commit(repo, ops, commit_message="tree").oid
    return repo, commit


def test_list_repo_files(hub, tree_repo):
    repo, commit = tree_repo
    expected = sorted([".gitattributes", "a/big.bin", *FILES])
    assert sorted(hub.anon.list_repo_files(repo)) == expected
    assert sorted(hub.anon.list_repo_files(repo, revision=commit)) == expected


def test_list_repo_tree_top_level_and_subpaths(hub, tree_repo):
    repo, commit = tree_repo
    api = hub.anon
    top = {e.path: e for e in api.list_repo_tree(repo)}
    assert set(top) == {".gitattributes", "README.md", "config.json", "a", "x y"}
    assert type(top["a"]).__name__ == "RepoFolder"
    assert len(top["a"].tree_id) == 40
    assert type(top["config.json"]).__name__ == "RepoFile"
    assert top["config.json"].size == len(FILES["config.json"])
    assert top["config.json"].blob_id == git_blob_sha1(FILES["config.json"])

    # Non-recursive listing of a sub-folder: paths stay relative to the repo root.
    sub = {e.path for e in api.list_repo_tree(repo, path_in_repo="a")}
    assert sub == {"a/b", "a/d.txt", "a/big.bin"}
    deeper = {e.path for e in api.list_repo_tree(repo, path_in_repo="a/b", revision=commit)}
    assert deeper == {"a/b/c.txt", "a/b/e"}
    assert {e.path for e in api.list_repo_tree(repo, path_in_repo="x y")} == {"x y/with space.txt"}

    # Recursive listing includes the directories.
    everything = {e.path: e for e in api.list_repo_tree(repo, recursive=True)}
    assert set(everything) == {
        ".gitattributes", "README.md", "config.json", "a", "a/b", "a/b/e", "x y",
        "a/b/c.txt", "a/d.txt", "a/b/e/f.txt", "a/big.bin", "x y/with space.txt",
    }  # fmt: skip
    sub_recursive = {e.path for e in api.list_repo_tree(repo, path_in_repo="a/b", recursive=True)}
    assert sub_recursive == {"a/b/c.txt", "a/b/e", "a/b/e/f.txt"}

    big = everything["a/big.bin"]
    assert big.size == len(LFS_DATA)
    assert big.lfs is not None and big.lfs.sha256 == sha256_bytes(LFS_DATA) and big.lfs.size == len(LFS_DATA)
    # kura may store LFS uploads in its Xet store too; a xetHash, when given, must be well formed
    # (a malformed one makes the client drop its tree cache).
    if XET or big.xet_hash is not None:
        assert big.xet_hash is not None and len(big.xet_hash) == 64
        assert all(c in "0123456789abcdef" for c in big.xet_hash)

    # Listing a file returns that file; listing a missing path is EntryNotFound.
    (single,) = list(api.list_repo_tree(repo, path_in_repo="a/d.txt"))
    assert single.path == "a/d.txt" and single.size == 2
    with pytest.raises(EntryNotFoundError):
        list(api.list_repo_tree(repo, path_in_repo="no/such/dir"))
    with pytest.raises(RevisionNotFoundError):
        list(api.list_repo_tree(repo, revision="no-such-branch"))


def test_list_repo_tree_expand(hub, tree_repo):
    repo, commit = tree_repo
    entries = {e.path: e for e in hub.anon.list_repo_tree(repo, recursive=True, expand=True)}
    for path in ("config.json", "a/b/c.txt", "a/big.bin", "a"):
        last = entries[path].last_commit
        assert last is not None, f"expand=True must give lastCommit for {path}"
        assert last.oid == commit
        assert last.title == "tree"
        assert last.date.tzinfo is not None
    assert entries[".gitattributes"].last_commit.oid != commit  # from the initial commit


def test_get_paths_info(hub, tree_repo):
    repo, commit = tree_repo
    infos = {
        i.path: i
        for i in hub.anon.get_paths_info(repo, ["a/d.txt", "a/b", "a/big.bin", "nope.txt", "x y/with space.txt"])
    }
    assert set(infos) == {"a/d.txt", "a/b", "a/big.bin", "x y/with space.txt"}, "missing paths are omitted"
    assert infos["a/d.txt"].size == 2
    assert infos["a/d.txt"].blob_id == git_blob_sha1(b"dd")
    assert infos["a/d.txt"].lfs is None
    assert type(infos["a/b"]).__name__ == "RepoFolder"
    assert infos["a/big.bin"].lfs.sha256 == sha256_bytes(LFS_DATA)
    assert infos["a/big.bin"].lfs.pointer_size > 100
    expanded = hub.anon.get_paths_info(repo, ["config.json"], expand=True, revision=commit)
    assert expanded[0].last_commit is not None and expanded[0].last_commit.oid == commit


def test_tree_lists_many_files_across_pages(hub, api, repo_id):
    count = 1100
    ops = [CommitOperationAdd(f"many/f{i:05d}.txt", f"{i}".encode()) for i in range(count)]
    api.create_commit(repo_id, ops, commit_message="many files")
    files = hub.anon.list_repo_files(repo_id)
    assert len(files) == count + 1
    assert len(set(files)) == len(files), "pagination repeated entries"
    listed = list(hub.anon.list_repo_tree(repo_id, path_in_repo="many"))
    assert len(listed) == count
    status, headers, _ = http("GET", f"{hub.endpoint}/api/models/{repo_id}/tree/main/many?recursive=false&expand=false")
    assert status == 200
    link = headers.get("Link")
    if link:  # pagination is optional at this size, but when used the next URL must be absolute
        assert f"<{hub.endpoint}/" in link and 'rel="next"' in link, link


def test_list_repo_refs_and_branches(api, bob, repo_id, cache_dir):
    initial = api.model_info(repo_id).sha
    refs = api.list_repo_refs(repo_id)
    assert [(b.name, b.ref, b.target_commit) for b in refs.branches] == [("main", "refs/heads/main", initial)]
    assert refs.tags == [] and refs.converts == []
    assert api.list_repo_refs(repo_id, include_pull_requests=True).pull_requests == []

    v1 = api.upload_file(path_or_fileobj=b"one", path_in_repo="f.txt", repo_id=repo_id).oid
    api.create_branch(repo_id, branch="dev")
    api.create_branch(repo_id, branch="dev", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as error:
        api.create_branch(repo_id, branch="dev")
    assert error.value.response.status_code == 409
    api.create_branch(repo_id, branch="old", revision=initial)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.create_branch(repo_id, branch="bobs")
    assert error.value.response.status_code == 403

    dev_commit = api.upload_file(path_or_fileobj=b"dev", path_in_repo="f.txt", repo_id=repo_id, revision="dev").oid
    branches = {b.name: b.target_commit for b in api.list_repo_refs(repo_id).branches}
    assert branches == {"main": v1, "dev": dev_commit, "old": initial}
    assert read(api.hf_hub_download(repo_id, "f.txt", revision="dev", cache_dir=cache_dir)) == b"dev"
    assert read(api.hf_hub_download(repo_id, "f.txt", revision="main", cache_dir=cache_dir)) == b"one"
    assert api.list_repo_files(repo_id, revision="old") == [".gitattributes"]

    api.delete_branch(repo_id, branch="dev")
    api.delete_branch(repo_id, branch="old")
    assert [b.name for b in api.list_repo_refs(repo_id).branches] == ["main"]
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="dev")
    with pytest.raises(HfHubHTTPError):
        api.delete_branch(repo_id, branch="dev")
    # The commit of a deleted branch stays readable by id.
    assert api.model_info(repo_id, revision=dev_commit).sha == dev_commit


def test_tags(api, bob, repo_id, cache_dir):
    v1 = api.upload_file(path_or_fileobj=b"one", path_in_repo="f.txt", repo_id=repo_id).oid
    api.create_tag(repo_id, tag="v1", tag_message="release 1")
    api.create_tag(repo_id, tag="v1", exist_ok=True)
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(repo_id, tag="v1")
    assert error.value.response.status_code == 409
    v2 = api.upload_file(path_or_fileobj=b"two", path_in_repo="f.txt", repo_id=repo_id).oid
    api.create_tag(repo_id, tag="v2", revision=v2)
    api.create_tag(repo_id, tag="first", revision=v1)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.create_tag(repo_id, tag="bobs")
    assert error.value.response.status_code == 403

    tags = {t.name: (t.ref, t.target_commit) for t in api.list_repo_refs(repo_id).tags}
    assert tags == {"v1": ("refs/tags/v1", v1), "v2": ("refs/tags/v2", v2), "first": ("refs/tags/first", v1)}
    assert read(api.hf_hub_download(repo_id, "f.txt", revision="v1", cache_dir=cache_dir)) == b"one"
    assert api.model_info(repo_id, revision="v2").sha == v2

    api.delete_tag(repo_id, tag="v1")
    assert {t.name for t in api.list_repo_refs(repo_id).tags} == {"v2", "first"}
    with pytest.raises(RevisionNotFoundError):
        api.model_info(repo_id, revision="v1")
    with pytest.raises(HfHubHTTPError):
        api.delete_tag(repo_id, tag="v1")


def test_list_repo_commits(hub, api, repo_id):
    made = []
    for i in range(3):
        made.append(
            api.upload_file(
                path_or_fileobj=f"{i}".encode(),
                path_in_repo=f"f{i}.txt",
                repo_id=repo_id,
                commit_message=f"commit {i}",
                commit_description=f"description {i}",
            ).oid
        )
    commits = hub.anon.list_repo_commits(repo_id)
    assert len(commits) == 4  # + the initial commit
    assert [c.commit_id for c in commits[:3]] == made[::-1], "newest first"
    assert [c.title for c in commits[:3]] == ["commit 2", "commit 1", "commit 0"]
    assert "description 2" in commits[0].message
    for c in commits:
        assert len(c.commit_id) == 40
        assert c.created_at.tzinfo is not None and c.created_at.utcoffset() == timezone.utc.utcoffset(None)
        assert c.authors, "every commit has an author"
    assert commits[0].authors == ["alice"]
    older = hub.anon.list_repo_commits(repo_id, revision=made[1])
    assert [c.commit_id for c in older] == [made[1], made[0], commits[-1].commit_id]
    formatted = hub.anon.list_repo_commits(repo_id, formatted=True)
    assert [c.commit_id for c in formatted] == [c.commit_id for c in commits]
    with pytest.raises(RevisionNotFoundError):
        hub.anon.list_repo_commits(repo_id, revision="no-such-branch")


def test_tree_and_paths_info_wire_variants(hub, tree_repo):
    """Variants other clients (huggingface.js) send: literal slashes in the tree sub-path and a
    JSON paths-info body; the Python client's %2F form is covered above."""
    import json

    repo, commit = tree_repo
    base = f"{hub.endpoint}/api/models/{repo}"
    for path in ("a/b", "a%2Fb"):
        status, headers, body = http("GET", f"{base}/tree/main/{path}?recursive=false&expand=false")
        assert status == 200, (path, body)
        assert {e["path"] for e in json.loads(body)} == {"a/b/c.txt", "a/b/e"}, path
        for e in json.loads(body):
            assert e["type"] in ("file", "directory") and len(e["oid"]) == 40 and "size" in e
    status, _, body = http(
        "POST",
        f"{base}/paths-info/{commit}",
        headers={"Content-Type": "application/json"},
        data=json.dumps({"paths": ["a/d.txt", "nope"], "expand": False}).encode(),
    )
    assert status == 200, body
    assert [e["path"] for e in json.loads(body)] == ["a/d.txt"]
    # Commit listings accept both expand and expand[].
    for key in ("expand", "expand%5B%5D"):
        status, _, body = http("GET", f"{base}/commits/main?{key}=formatted")
        assert status == 200
        assert json.loads(body)[0]["id"] == commit
