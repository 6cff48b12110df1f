"""upload_file / upload_folder with small files and LFS files (HF_HUB_DISABLE_XET=1): the LFS batch
API with basic and multipart transfers, checked byte-exact on the way back."""

import huggingface_hub.lfs
import pytest
from huggingface_hub import get_hf_file_metadata, hf_hub_url
from support import (
    MULTIPART_PART_BYTES,
    MULTIPART_THRESHOLD_BYTES,
    XET,
    git_blob_sha1,
    random_bytes,
    read,
    sha256_bytes,
    sha256_file,
    snapshot_files,
    write_tree,
)

LARGE_MULTIPART = 20_000_000  # > 16 MiB threshold -> multipart, 3 parts of 8 MiB
LARGE_BASIC = 12_000_000  # > 10 MB (preupload says lfs) but < threshold -> single PUT


def lfs_pointer(data: bytes) -> bytes:
    return f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256_bytes(data)}\nsize {len(data)}\n".encode()


@pytest.fixture
def lfs_transfers(monkeypatch):
    """Record which LFS transfer the client used for each file (wrapping the real functions)."""
    calls = {"basic": [], "multipart": []}
    single, multi = huggingface_hub.lfs._upload_single_part, huggingface_hub.lfs._upload_multi_part

    def spy_single(operation, upload_url):
        calls["basic"].append(operation.path_in_repo)
        return single(operation=operation, upload_url=upload_url)

    def spy_multi(operation, header, chunk_size, upload_url):
        calls["multipart"].append((operation.path_in_repo, int(chunk_size), len([k for k in header if k.isdigit()])))
        return multi(operation=operation, header=header, chunk_size=chunk_size, upload_url=upload_url)

    monkeypatch.setattr(huggingface_hub.lfs, "_upload_single_part", spy_single)
    monkeypatch.setattr(huggingface_hub.lfs, "_upload_multi_part", spy_multi)
    return calls


def test_upload_file_small(hub, api, repo_id, cache_dir, lfs_transfers):
    data = b"hello kura\n"
    info = api.upload_file(path_or_fileobj=data, path_in_repo="hello.txt", repo_id=repo_id, commit_message="say hi")
    assert len(info.oid) == 40
    assert info.commit_message == "say hi"
    assert info.commit_url.startswith(f"{hub.endpoint}/{repo_id}/commit/")
    assert info.repo_url.repo_id == repo_id
    assert lfs_transfers == {"basic": [], "multipart": []}, "a small text file must travel inline"
    assert api.model_info(repo_id).sha == info.oid

    path = api.hf_hub_download(repo_id, "hello.txt", cache_dir=cache_dir)
    assert read(path) == data
    (entry,) = api.get_paths_info(repo_id, ["hello.txt"])
    assert entry.lfs is None
    assert entry.size == len(data)
    assert entry.blob_id == git_blob_sha1(data), "regular files are identified by their git blob id"

    # From a file on disk, into a nested path, on top of the previous commit.
    src = cache_dir / "local.json"
    src.write_bytes(b'{"a": 1}')
    api.upload_file(path_or_fileobj=str(src), path_in_repo="nested/dir/local.json", repo_id=repo_id)
    assert sorted(api.list_repo_files(repo_id)) == [".gitattributes", "hello.txt", "nested/dir/local.json"]
    assert read(api.hf_hub_download(repo_id, "nested/dir/local.json", cache_dir=cache_dir)) == b'{"a": 1}'


def test_upload_file_large_multipart(hub, api, repo_id, tmp_path, cache_dir, lfs_transfers):
    assert LARGE_MULTIPART > MULTIPART_THRESHOLD_BYTES
    data = random_bytes(LARGE_MULTIPART, seed=20)
    src = tmp_path / "model.safetensors"
    src.write_bytes(data)

    info = api.upload_file(path_or_fileobj=str(src), path_in_repo="weights/model.safetensors", repo_id=repo_id)
    parts = -(-LARGE_MULTIPART // MULTIPART_PART_BYTES)
    if XET:
        assert lfs_transfers == {"basic": [], "multipart": []}, "with Xet enabled, no Git LFS transfer is used"
    else:
        assert lfs_transfers["multipart"] == [("weights/model.safetensors", MULTIPART_PART_BYTES, parts)], (
            f"expected one multipart upload with {parts} parts of {MULTIPART_PART_BYTES} bytes, got {lfs_transfers}"
        )
        assert lfs_transfers["basic"] == []

    (entry,) = api.get_paths_info(repo_id, ["weights/model.safetensors"])
    assert entry.size == LARGE_MULTIPART
    assert entry.lfs is not None, "a 20 MB file must be stored as an LFS object"
    assert entry.lfs.sha256 == sha256_bytes(data)
    assert entry.lfs.size == LARGE_MULTIPART
    pointer = lfs_pointer(data)
    assert entry.lfs.pointer_size == len(pointer)
    assert entry.blob_id == git_blob_sha1(pointer), "the tree holds the git-lfs pointer file"
    if XET:
        assert entry.xet_hash is not None and len(entry.xet_hash) == 64

    url = hf_hub_url(repo_id, "weights/model.safetensors", revision=info.oid, endpoint=hub.endpoint)
    meta = get_hf_file_metadata(url, token=hub.alice.write_token)
    assert meta.commit_hash == info.oid
    assert meta.etag == sha256_bytes(data), "LFS files are identified by their sha256 (X-Linked-Etag)"
    assert meta.size == LARGE_MULTIPART

    path = api.hf_hub_download(repo_id, "weights/model.safetensors", cache_dir=cache_dir)
    assert sha256_file(path) == sha256_bytes(data)


def test_upload_folder_small_and_large(hub, api, repo_id, tmp_path, cache_dir, lfs_transfers):
    files = {
        "config.json": b'{"model_type": "bert"}',
        "README.md": b"---\nlicense: mit\ntags:\n- kura-test\n---\n# folder upload\n",
        "sub/notes.txt": b"some notes\n" * 10,
        "sub/deeper/empty.txt": b"",
        "sub/deeper/pytorch_model.bin": random_bytes(LARGE_BASIC, seed=12),
        "ignored/skip.log": b"not uploaded",
    }
    folder = write_tree(tmp_path / "folder", files)
    info = api.upload_folder(
        folder_path=folder, repo_id=repo_id, commit_message="folder", ignore_patterns=["ignored/*", "*.log"]
    )
    assert len(info.oid) == 40
    if XET:
        assert lfs_transfers == {"basic": [], "multipart": []}, "with Xet enabled, no Git LFS transfer is used"
    else:
        assert lfs_transfers["basic"] == ["sub/deeper/pytorch_model.bin"], lfs_transfers
        assert lfs_transfers["multipart"] == []

    uploaded = {k: v for k, v in files.items() if not k.startswith("ignored/")}
    assert sorted(api.list_repo_files(repo_id)) == sorted([".gitattributes", *uploaded])
    model = api.model_info(repo_id)
    assert model.sha == info.oid
    assert "kura-test" in model.tags
    assert model.card_data is not None and model.card_data["license"] == "mit"

    local = api.snapshot_download(repo_id, cache_dir=cache_dir)
    got = snapshot_files(local)
    for name, data in uploaded.items():
        assert got.get(name) == sha256_bytes(data), name
    assert "ignored/skip.log" not in got

    # A second upload into a sub-path.
    more = write_tree(tmp_path / "more", {"a.txt": b"A", "b/c.txt": b"C"})
    api.upload_folder(folder_path=more, path_in_repo="extra", repo_id=repo_id)
    assert {"extra/a.txt", "extra/b/c.txt"} <= set(api.list_repo_files(repo_id))
    assert read(api.hf_hub_download(repo_id, "extra/b/c.txt", cache_dir=cache_dir)) == b"C"

    # delete_patterns (relative to path_in_repo) remove remote files in the same commit.
    again = write_tree(tmp_path / "again", {"new.txt": b"N"})
    api.upload_folder(folder_path=again, repo_id=repo_id, delete_patterns=["sub/*.txt", "extra/b/*"])
    files_now = set(api.list_repo_files(repo_id))
    assert "new.txt" in files_now
    # (fnmatch: "*" also matches "/", so sub/deeper/empty.txt goes too)
    assert not {"sub/notes.txt", "sub/deeper/empty.txt", "extra/b/c.txt"} & files_now
    assert {"sub/deeper/pytorch_model.bin", "extra/a.txt", "config.json", "README.md"} <= files_now


def test_reupload_same_content_is_harmless(api, repo_id, cache_dir):
    data = random_bytes(LARGE_BASIC, seed=7)
    first = api.upload_file(path_or_fileobj=data, path_in_repo="a.bin", repo_id=repo_id)
    second = api.upload_file(path_or_fileobj=data, path_in_repo="copy-of-a.bin", repo_id=repo_id)
    assert second.oid != first.oid
    # Uploading identical content to the same path changes nothing: no new commit.
    third = api.upload_file(path_or_fileobj=data, path_in_repo="a.bin", repo_id=repo_id)
    assert third.oid == second.oid
    assert api.model_info(repo_id).sha == second.oid
    for name in ("a.bin", "copy-of-a.bin"):
        assert sha256_file(api.hf_hub_download(repo_id, name, cache_dir=cache_dir)) == sha256_bytes(data)
