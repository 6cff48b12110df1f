"""hf_hub_download / snapshot_download by branch, tag and commit id, byte-exact; the cache layout
the client builds from kura's headers; range reads through HfFileSystem and raw HTTP."""

import os
from pathlib import Path

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfFileSystem
from huggingface_hub.errors import EntryNotFoundError
from support import http, random_bytes, read, sha256_bytes, sha256_file, snapshot_files, unique

LFS_SIZE = 11_000_000


@pytest.fixture(scope="module")
def revisions(hub):
    """A repo with two commits on main, a tag on the first and a branch that diverges from it."""
    api = hub.alice.api
    repo = f"alice/{unique('revisions')}"
    api.create_repo(repo)
    v1 = {
        "config.json": b'{"version": 1}',
        "README.md": b"# revisions\n",
        "sub/dir/a.txt": b"a" * 1000,
        "data/weights.bin": random_bytes(LFS_SIZE, seed=101),
    }
    c1 = api.create_commit(repo, [CommitOperationAdd(p, d) for p, d in v1.items()], commit_message="v1").oid
    api.create_tag(repo, tag="v1.0", revision=c1, tag_message="first release")
    api.create_branch(repo, branch="dev", revision=c1)
    dev = dict(v1, **{"config.json": b'{"version": "dev"}', "dev-only.txt": b"dev"})
    c_dev = api.create_commit(
        repo,
        [CommitOperationAdd("config.json", dev["config.json"]), CommitOperationAdd("dev-only.txt", b"dev")],
        commit_message="dev work",
        revision="dev",
    ).oid
    v2 = {
        "config.json": b'{"version": 2}',
        "README.md": v1["README.md"],
        "data/weights.bin": random_bytes(LFS_SIZE, seed=102),
        "new.txt": b"new in v2\n",
    }
    c2 = api.create_commit(
        repo,
        [
            CommitOperationAdd("config.json", v2["config.json"]),
            CommitOperationAdd("data/weights.bin", v2["data/weights.bin"]),
            CommitOperationAdd("new.txt", v2["new.txt"]),
            CommitOperationDelete("sub/"),
        ],
        commit_message="v2",
    ).oid
    gitattributes = read(api.hf_hub_download(repo, ".gitattributes", revision=c1))
    for files in (v1, dev, v2):
        files[".gitattributes"] = gitattributes
    return {
        "repo": repo,
        "commits": {"main": c2, "v1.0": c1, c1: c1, "dev": c_dev, c2: c2},
        "files": {"main": v2, "v1.0": v1, c1: v1, "dev": dev, c2: v2},
    }


REVISIONS = ["main", "v1.0", "dev", "commit-v1", "commit-v2"]


def _rev(revisions, name):
    if name == "commit-v1":
        return revisions["commits"]["v1.0"]
    if name == "commit-v2":
        return revisions["commits"]["main"]
    return name


@pytest.mark.parametrize("which", REVISIONS)
def test_hf_hub_download_by_revision(hub, revisions, which, cache_dir):
    rev = _rev(revisions, which)
    repo = revisions["repo"]
    expected_commit = revisions["commits"][rev]
    for name, data in revisions["files"][rev].items():
        path = hub.anon.hf_hub_download(repo, name, revision=rev, cache_dir=cache_dir)
        assert sha256_file(path) == sha256_bytes(data), f"{name} at {which}"
        # The snapshot folder is named after X-Repo-Commit: the commit the revision resolved to.
        assert f"/snapshots/{expected_commit}/" in str(path), path
    repo_cache = cache_dir / f"models--{repo.replace('/', '--')}"
    if len(rev) != 40:
        assert (repo_cache / "refs" / rev).read_text() == expected_commit
    assert {p.name for p in (repo_cache / "snapshots").iterdir()} == {expected_commit}


@pytest.mark.parametrize("which", REVISIONS)
def test_snapshot_download_by_revision(hub, revisions, which, cache_dir):
    rev = _rev(revisions, which)
    expected_commit = revisions["commits"][rev]
    local = hub.anon.snapshot_download(revisions["repo"], revision=rev, cache_dir=cache_dir)
    assert Path(local).name == expected_commit
    expected = {name: sha256_bytes(data) for name, data in revisions["files"][rev].items()}
    assert snapshot_files(local) == expected


def test_snapshot_download_to_local_dir_with_patterns(hub, revisions, tmp_path):
    target = tmp_path / "local"
    out = hub.anon.snapshot_download(
        revisions["repo"], revision="v1.0", local_dir=target, allow_patterns=["*.json", "sub/**"]
    )
    assert Path(out) == target
    got = snapshot_files(target)
    v1 = revisions["files"]["v1.0"]
    assert got == {n: sha256_bytes(v1[n]) for n in ("config.json", "sub/dir/a.txt")}


def test_missing_file_at_revision_is_cached_as_absent(hub, revisions, cache_dir):
    repo = revisions["repo"]
    with pytest.raises(EntryNotFoundError):
        hub.anon.hf_hub_download(repo, "new.txt", revision="v1.0", cache_dir=cache_dir)
    # The client records the absence under the commit it learned from X-Repo-Commit on the 404.
    c1 = revisions["commits"]["v1.0"]
    marker = cache_dir / f"models--{repo.replace('/', '--')}" / ".no_exist" / c1 / "new.txt"
    assert marker.exists(), "404 EntryNotFound must carry X-Repo-Commit"


def test_hffilesystem_range_reads(hub, revisions):
    repo = revisions["repo"]
    data = revisions["files"]["main"]["data/weights.bin"]
    fs = HfFileSystem(endpoint=hub.endpoint, token=False, skip_instance_cache=True)
    path = f"{repo}/data/weights.bin"
    info = fs.info(path)
    assert info["size"] == LFS_SIZE
    assert info["type"] == "file"
    assert info["lfs"]["sha256"] == sha256_bytes(data)
    with fs.open(path, "rb", block_size=64 * 1024) as f:
        f.seek(5_000_000)
        assert f.read(1000) == data[5_000_000:5_001_000]
        f.seek(-100, os.SEEK_END)
        assert f.read() == data[-100:]
        f.seek(123)
        assert f.read(10) == data[123:133]
    assert fs.cat_file(path, start=1_000_000, end=1_000_016) == data[1_000_000:1_000_016]
    # At a tag and on a regular (non-LFS) file.
    v1 = revisions["files"]["v1.0"]
    with fs.open(f"{repo}@v1.0/sub/dir/a.txt", "rb", block_size=16) as f:
        f.seek(990)
        assert f.read() == v1["sub/dir/a.txt"][990:]
    assert fs.cat_file(f"{repo}@v1.0/config.json") == v1["config.json"]
    listing = fs.ls(f"{repo}@v1.0/sub", detail=True)
    assert [(e["name"].split("/sub/", 1)[1], e["type"]) for e in listing] == [("dir", "directory")]
    assert sorted(fs.glob(f"{repo}/**/*.bin")) == [path]


def test_resolve_headers_and_ranges_over_raw_http(hub, revisions):
    repo = revisions["repo"]
    head_commit = revisions["commits"]["main"]
    config = revisions["files"]["main"]["config.json"]
    base = f"{hub.endpoint}/{repo}/resolve"

    status, headers, _ = http("HEAD", f"{base}/main/config.json", headers={"Accept-Encoding": "identity"})
    assert status == 200
    assert headers["X-Repo-Commit"] == head_commit
    assert headers.get("ETag") or headers.get("X-Linked-Etag")
    assert int(headers["Content-Length"]) == len(config)
    assert headers.get("Accept-Ranges") == "bytes"

    status, headers, body = http("GET", f"{base}/main/config.json", headers={"Range": "bytes=2-8"})
    assert status == 206
    assert body == config[2:9]
    assert headers["Content-Range"] == f"bytes 2-8/{len(config)}"

    big = revisions["files"]["main"]["data/weights.bin"]
    status, headers, body = http("GET", f"{base}/{head_commit}/data/weights.bin", headers={"Range": "bytes=10000000-"})
    assert status == 206
    assert body == big[10_000_000:]
    assert headers["Content-Range"] == f"bytes 10000000-{LFS_SIZE - 1}/{LFS_SIZE}"
    assert headers["X-Repo-Commit"] == head_commit

    status, headers, _ = http("GET", f"{base}/main/config.json", headers={"Range": f"bytes={len(config) + 10}-"})
    assert status == 416

    status, headers, _ = http("HEAD", f"{base}/main/no-such-file.txt")
    assert status == 404
    assert headers["X-Error-Code"] == "EntryNotFound"
    assert headers["X-Repo-Commit"] == head_commit

    status, headers, _ = http("HEAD", f"{base}/no-such-branch/config.json")
    assert status == 404
    assert headers["X-Error-Code"] == "RevisionNotFound"

    # Percent-encoded revision: refs/heads/dev and the tag through its full ref name.
    status, headers, body = http("GET", f"{base}/refs%2Fheads%2Fdev/config.json")
    assert status == 200, "refs/heads/<branch> must resolve"
    assert body == revisions["files"]["dev"]["config.json"]
    status, headers, body = http("GET", f"{base}/v1.0/config.json")
    assert status == 200
    assert headers["X-Repo-Commit"] == revisions["commits"]["v1.0"]


def test_cache_works_offline_afterwards(hub, revisions, cache_dir):
    """What the client stored from kura's answers (refs, etags, trees) suffices in offline mode."""
    import subprocess
    import sys

    repo = revisions["repo"]
    online = hub.anon.snapshot_download(repo, revision="v1.0", cache_dir=cache_dir)
    hub.anon.hf_hub_download(repo, "config.json", cache_dir=cache_dir)  # main
    with pytest.raises(EntryNotFoundError):
        hub.anon.hf_hub_download(repo, "missing.txt", cache_dir=cache_dir)
    script = f"""
import sys
from huggingface_hub import hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError
repo, cache = {repo!r}, {str(cache_dir)!r}
assert snapshot_download(repo, revision="v1.0", cache_dir=cache) == {online!r}
expected = {revisions["files"]["main"]["config.json"]!r}
assert open(hf_hub_download(repo, "config.json", cache_dir=cache), "rb").read() == expected
try:
    hf_hub_download(repo, "missing.txt", cache_dir=cache)
    raise SystemExit("missing.txt was found offline")
except EntryNotFoundError:
    pass  # known absent at that commit (.no_exist), or simply not cached: both raise this
print("offline ok")
"""
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "offline ok" in proc.stdout, proc.stdout + proc.stderr
