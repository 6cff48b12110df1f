"""Repo maintenance with the official client (issue 14): `super_squash_history`, the repo's
large files (`list_lfs_files`, `permanently_delete_lfs_files`, cross-repo copies in
`create_commit`, which go through `lfs-files/duplicate`) and `list_user_repos` / `hf repos ls`."""

import json

import pytest
from huggingface_hub import CommitOperationCopy, hf_hub_download
from huggingface_hub.errors import BadRequestError, FileDuplicationError, HfHubHTTPError
from support import http, random_bytes, read, run_cli, sha256_bytes, unique


def _upload(api, repo: str, path: str, data: bytes, **kwargs) -> None:
    api.upload_file(path_or_fileobj=data, path_in_repo=path, repo_id=repo, **kwargs)


def test_super_squash_history_keeps_the_files(api, repo_id, cache_dir):
    big = random_bytes(200_000, seed=141)
    _upload(api, repo_id, "file.txt", b"content")
    _upload(api, repo_id, "lfs.bin", big)
    _upload(api, repo_id, "file.txt", b"another_content")
    assert len(api.list_repo_commits(repo_id)) == 4

    api.super_squash_history(repo_id, commit_message="one commit")

    commits = api.list_repo_commits(repo_id)
    assert [c.title for c in commits] == ["one commit"]
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "file.txt", "lfs.bin"]
    assert read(hf_hub_download(repo_id, "lfs.bin", cache_dir=cache_dir)) == big
    assert read(hf_hub_download(repo_id, "file.txt", cache_dir=cache_dir)) == b"another_content"


def test_super_squash_history_is_for_owners_only(hub, alice, bob):
    # bob is a `write` member of the org: he commits, but a squash rewrites history.
    org = unique("org")
    hub.admin_cli("org", "create", org, "--owner", alice.name)
    status, _, _ = http(
        "POST",
        f"{hub.endpoint}/api/organizations/{org}/members",
        headers={"Authorization": f"Bearer {alice.write_token}", "Content-Type": "application/json"},
        data=json.dumps({"user": bob.name, "role": "write"}).encode(),
    )
    assert status == 200
    repo = f"{org}/{unique('squash')}"
    alice.api.create_repo(repo)
    _upload(bob.api, repo, "a.txt", b"a")
    with pytest.raises(HfHubHTTPError, match="rewrites history") as refused:
        bob.api.super_squash_history(repo)
    assert refused.value.response.status_code == 403
    alice.api.create_tag(repo, tag="v1")
    with pytest.raises(BadRequestError):
        alice.api.super_squash_history(repo, branch="v1")
    assert len(alice.api.list_repo_commits(repo)) == 2


def test_list_and_permanently_delete_lfs_files(api, repo_id, cache_dir):
    one, two = random_bytes(150_000, seed=142), random_bytes(160_000, seed=143)
    _upload(api, repo_id, "weights/one.bin", one)
    _upload(api, repo_id, "two.bin", two)

    files = {f.file_oid: f for f in api.list_lfs_files(repo_id)}
    assert set(files) == {sha256_bytes(one), sha256_bytes(two)}
    first = files[sha256_bytes(one)]
    assert (first.filename, first.size, first.oid) == ("weights/one.bin", len(one), sha256_bytes(one))
    assert first.pushed_at.year >= 2024

    # Rewriting history is not supported yet: the default is refused with a clear message.
    with pytest.raises(BadRequestError, match="rewriteHistory"):
        api.permanently_delete_lfs_files(repo_id, [first])
    api.permanently_delete_lfs_files(repo_id, [first], rewrite_history=False)

    assert [f.file_oid for f in api.list_lfs_files(repo_id)] == [sha256_bytes(two)]
    assert read(hf_hub_download(repo_id, "two.bin", cache_dir=cache_dir)) == two
    with pytest.raises(HfHubHTTPError) as gone:
        hf_hub_download(repo_id, "weights/one.bin", cache_dir=cache_dir, force_download=True)
    assert gone.value.response.status_code == 404


def test_permanently_delete_lfs_files_needs_an_owner(hub, alice, bob):
    repo = f"{alice.name}/{unique('lfsdel')}"
    alice.api.create_repo(repo)
    _upload(alice.api, repo, "x.bin", random_bytes(120_000, seed=144))
    files = list(alice.api.list_lfs_files(repo))
    with pytest.raises(HfHubHTTPError) as refused:
        bob.api.permanently_delete_lfs_files(repo, files, rewrite_history=False)
    assert refused.value.response.status_code in (403, 404)
    assert len(list(alice.api.list_lfs_files(repo))) == 1


def test_create_commit_copies_large_files_across_repos(hub, alice, bob, cache_dir):
    big = random_bytes(180_000, seed=145)
    source = f"{hub.org}/{unique('src')}"
    alice.api.create_repo(source, private=True)
    _upload(alice.api, source, "model.bin", big)
    _upload(alice.api, source, "config.json", b'{"a": 1}')
    target = f"{alice.name}/{unique('dst')}"
    alice.api.create_repo(target)

    alice.api.create_commit(
        target,
        operations=[
            CommitOperationCopy("model.bin", "copied/model.bin", src_repo_id=source, src_repo_type="model"),
            CommitOperationCopy("config.json", "copied/config.json", src_repo_id=source, src_repo_type="model"),
        ],
        commit_message="copy from the private source",
    )
    assert read(hf_hub_download(target, "copied/model.bin", cache_dir=cache_dir)) == big
    assert read(hf_hub_download(target, "copied/config.json", cache_dir=cache_dir)) == b'{"a": 1}'

    # bob cannot read the private source: the copy fails before anything reaches his repo.
    theirs = f"{bob.name}/{unique('dst')}"
    bob.api.create_repo(theirs)
    with pytest.raises((HfHubHTTPError, FileDuplicationError)):
        bob.api.create_commit(
            theirs,
            operations=[CommitOperationCopy("model.bin", "x.bin", src_repo_id=source, src_repo_type="model")],
            commit_message="steal",
        )
    assert not bob.api.file_exists(theirs, "x.bin")


def test_list_user_repos_and_hf_repos_ls(hub, alice):
    private = f"{alice.name}/{unique('mine')}"
    alice.api.create_repo(private, private=True)
    dataset = f"{alice.name}/{unique('data')}"
    alice.api.create_repo(dataset, repo_type="dataset")

    # A large file counts in `storage` (the repo's usedStorage: its distinct large files).
    alice.api.upload_file(path_or_fileobj=b"w" * 1000, path_in_repo="w.bin", repo_id=private)
    repos = {r.id: r for r in alice.api.list_user_repos()}
    assert repos[private].visibility == "private" and repos[private].type == "model"
    assert repos[private].storage == 1000
    assert repos[dataset].type == "dataset" and repos[dataset].storage == 0
    assert all(r.id.startswith(f"{alice.name}/") for r in repos.values())
    org_repo = f"{hub.org}/{unique('orgrepo')}"
    alice.api.create_repo(org_repo)
    assert org_repo in {r.id for r in alice.api.list_user_repos(namespace=hub.org)}

    out = run_cli(["repos", "ls", "--format", "json", "--limit", "0"], token=alice.write_token).stdout
    listed = {r["id"]: r for r in json.loads(out)}
    assert listed[private]["visibility"] == "private"
    assert listed[dataset]["type"] == "dataset"
