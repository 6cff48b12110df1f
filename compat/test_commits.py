"""create_commit with every operation type, delete_file / delete_folder, commit metadata and the
parent_commit compare-and-swap."""

import io

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationCopy, CommitOperationDelete
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError
from support import git_blob_sha1, random_bytes, read, sha256_bytes, sha256_file

LFS_SIZE = 11_000_000  # above the 10 MB LFS cut-off of preupload


def test_every_operation_type(api, repo_id, tmp_path, cache_dir):
    lfs_data = random_bytes(LFS_SIZE, seed=31)
    on_disk = tmp_path / "from-disk.txt"
    on_disk.write_bytes(b"from a path on disk\n")
    first = api.create_commit(
        repo_id,
        [
            CommitOperationAdd("keep.txt", b"keep"),  # bytes
            CommitOperationAdd("folder/one.txt", io.BytesIO(b"1")),  # file object
            CommitOperationAdd("folder/sub/two.txt", b"2"),
            CommitOperationAdd("disk.txt", str(on_disk)),  # path
            CommitOperationAdd("gone.txt", b"gone"),
            CommitOperationAdd("other/stays.txt", b"stays"),
            CommitOperationAdd("big.bin", lfs_data),  # LFS
        ],
        commit_message="add everything",
    )
    assert sorted(api.list_repo_files(repo_id, revision=first.oid)) == [
        ".gitattributes",
        "big.bin",
        "disk.txt",
        "folder/one.txt",
        "folder/sub/two.txt",
        "gone.txt",
        "keep.txt",
        "other/stays.txt",
    ]

    second = api.create_commit(
        repo_id,
        [
            CommitOperationDelete("gone.txt"),  # a file
            CommitOperationDelete("folder/"),  # a folder, recursively
            CommitOperationCopy("keep.txt", "copies/keep.txt"),  # regular file copy
            CommitOperationCopy("big.bin", "copies/big.bin"),  # LFS copy: lfsFile line without size
            CommitOperationCopy("keep.txt", "copies/keep-v1.txt", src_revision=first.oid),
            CommitOperationAdd("keep.txt", b"keep, overwritten"),  # replace an existing file
        ],
        commit_message="delete, copy and replace",
        commit_description="second commit\n\nwith a body",
        parent_commit=first.oid,
    )
    assert second.oid != first.oid
    files = sorted(api.list_repo_files(repo_id))
    assert files == [
        ".gitattributes",
        "big.bin",
        "copies/big.bin",
        "copies/keep-v1.txt",
        "copies/keep.txt",
        "disk.txt",
        "keep.txt",
        "other/stays.txt",
    ]
    assert read(api.hf_hub_download(repo_id, "keep.txt", cache_dir=cache_dir)) == b"keep, overwritten"
    assert read(api.hf_hub_download(repo_id, "copies/keep.txt", cache_dir=cache_dir)) == b"keep"
    assert read(api.hf_hub_download(repo_id, "copies/keep-v1.txt", cache_dir=cache_dir)) == b"keep"
    assert read(api.hf_hub_download(repo_id, "disk.txt", cache_dir=cache_dir)) == b"from a path on disk\n"
    copied = api.hf_hub_download(repo_id, "copies/big.bin", cache_dir=cache_dir)
    assert sha256_file(copied) == sha256_bytes(lfs_data)

    infos = {e.path: e for e in api.get_paths_info(repo_id, ["big.bin", "copies/big.bin", "copies/keep.txt"])}
    assert infos["copies/big.bin"].lfs is not None
    assert infos["copies/big.bin"].lfs.sha256 == sha256_bytes(lfs_data)
    assert infos["copies/big.bin"].size == LFS_SIZE
    assert infos["copies/big.bin"].blob_id == infos["big.bin"].blob_id
    assert infos["copies/keep.txt"].blob_id == git_blob_sha1(b"keep")

    commits = api.list_repo_commits(repo_id)
    assert [c.commit_id for c in commits[:2]] == [second.oid, first.oid]
    assert commits[0].title == "delete, copy and replace"
    assert "second commit\n\nwith a body" in commits[0].message
    assert commits[1].title == "add everything"
    assert "alice" in commits[0].authors
    assert commits[-1].commit_id == api.list_repo_commits(repo_id, revision=first.oid)[-1].commit_id
    # The old revision is intact.
    assert read(api.hf_hub_download(repo_id, "gone.txt", revision=first.oid, cache_dir=cache_dir)) == b"gone"


def test_delete_file_and_delete_folder(api, repo_id, cache_dir):
    api.create_commit(
        repo_id,
        [
            CommitOperationAdd("d/x.txt", b"x"),
            CommitOperationAdd("d/e/y.txt", b"y"),
            CommitOperationAdd("dd/z.txt", b"z"),  # shares a prefix with "d" but is another folder
            CommitOperationAdd("top.txt", b"t"),
        ],
        commit_message="setup",
    )
    info = api.delete_file("top.txt", repo_id, commit_message="remove top")
    assert len(info.oid) == 40
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "d/e/y.txt", "d/x.txt", "dd/z.txt"]
    api.delete_folder("d", repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "dd/z.txt"]
    assert api.list_repo_commits(repo_id)[1].title == "remove top"
    assert read(api.hf_hub_download(repo_id, "dd/z.txt", cache_dir=cache_dir)) == b"z"

    head = api.model_info(repo_id).sha
    with pytest.raises(EntryNotFoundError):
        api.delete_file("not-there.txt", repo_id)
    assert api.model_info(repo_id).sha == head, "a failed commit must not move the branch"


def test_parent_commit_conflict(api, repo_id):
    head = api.model_info(repo_id).sha
    first = api.upload_file(path_or_fileobj=b"1", path_in_repo="one.txt", repo_id=repo_id, parent_commit=head)
    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_id, parent_commit=head)
    assert error.value.response.status_code == 412
    assert api.model_info(repo_id).sha == first.oid
    assert not api.file_exists(repo_id, "two.txt")
    # A short (7 hex) parent commit is accepted when it matches the head.
    second = api.upload_file(path_or_fileobj=b"2", path_in_repo="two.txt", repo_id=repo_id, parent_commit=first.oid[:7])
    assert api.model_info(repo_id).sha == second.oid


def test_commit_to_branch(api, repo_id, cache_dir):
    api.create_branch(repo_id, branch="feature/x")
    info = api.upload_file(path_or_fileobj=b"on a branch", path_in_repo="b.txt", repo_id=repo_id, revision="feature/x")
    refs = {b.name: b.target_commit for b in api.list_repo_refs(repo_id).branches}
    assert refs["feature/x"] == info.oid
    assert refs["main"] != info.oid
    assert not api.file_exists(repo_id, "b.txt")
    assert api.file_exists(repo_id, "b.txt", revision="feature/x")
    path = api.hf_hub_download(repo_id, "b.txt", revision="feature/x", cache_dir=cache_dir)
    assert read(path) == b"on a branch"


def test_paths_with_spaces_unicode_and_special_characters(hub, api, repo_id, cache_dir):
    from huggingface_hub import HfFileSystem

    files = {
        "dir with space/file #1 (copy).txt": b"hash and parens",
        "données/été.txt": "unicode ✓".encode(),
        "a+b/c%20d.txt": b"plus and percent",
        "semi;colon/q?.txt": b"question mark",
    }
    api.create_commit(repo_id, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="odd names")
    assert set(api.list_repo_files(repo_id)) == {".gitattributes", *files}
    for path, data in files.items():
        assert read(api.hf_hub_download(repo_id, path, cache_dir=cache_dir)) == data, path
        assert api.file_exists(repo_id, path)
    infos = {i.path for i in api.get_paths_info(repo_id, list(files))}
    assert infos == set(files)
    assert {e.path for e in api.list_repo_tree(repo_id, path_in_repo="dir with space")} == {
        "dir with space/file #1 (copy).txt"
    }
    assert {e.path for e in api.list_repo_tree(repo_id, path_in_repo="données")} == {"données/été.txt"}
    fs = HfFileSystem(endpoint=hub.endpoint, token=False, skip_instance_cache=True)
    assert fs.cat_file(f"{repo_id}/données/été.txt") == files["données/été.txt"]


def test_concurrent_commits_to_one_branch_all_land(api, repo_id):
    from concurrent.futures import ThreadPoolExecutor

    def commit(i):
        return api.upload_file(path_or_fileobj=f"{i}".encode(), path_in_repo=f"c/{i}.txt", repo_id=repo_id).oid

    with ThreadPoolExecutor(max_workers=6) as pool:
        oids = list(pool.map(commit, range(12)))
    assert len(set(oids)) == 12, "every commit gets its own id"
    assert sorted(api.list_repo_files(repo_id)) == sorted([".gitattributes"] + [f"c/{i}.txt" for i in range(12)])
    history = [c.commit_id for c in api.list_repo_commits(repo_id)]
    assert len(history) == 13 and set(oids) <= set(history), "no commit may be lost or overwrite another"


def test_create_pr_commits_to_a_new_pull_request_not_to_main(api, repo_id):
    head = api.model_info(repo_id).sha
    info = api.upload_file(path_or_fileobj=b"pr", path_in_repo="pr.txt", repo_id=repo_id, create_pr=True)
    assert info.pr_num is not None and info.pr_revision == f"refs/pr/{info.pr_num}"
    assert api.model_info(repo_id).sha == head, "a PR commit must not move main"
    assert api.file_exists(repo_id, "pr.txt", revision=info.pr_revision)
    assert not api.file_exists(repo_id, "pr.txt")
