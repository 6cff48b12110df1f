"""The Git LFS batch API at the wire level, the way huggingface_hub 2.4 speaks it (hub-api.md §8):
self-authorising upload URLs, verification of the declared sha256 and size before an object can
be committed, and permissions."""

import json

from huggingface_hub.utils import get_session
from support import http, random_bytes, sha256_bytes, sha256_file, unique

LFS_HEADERS = {"Accept": "application/vnd.git-lfs+json", "Content-Type": "application/vnd.git-lfs+json"}


def batch(hub, token, repo, objects, prefix=""):
    body = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": objects,
        "hash_algo": "sha256",
        "ref": {"name": "main"},
    }
    return http(
        "POST",
        f"{hub.endpoint}/{prefix}{repo}.git/info/lfs/objects/batch",
        token=token,
        headers=LFS_HEADERS,
        data=json.dumps(body).encode(),
    )


def commit_lfs_line(hub, token, repo, path, oid, size):
    lines = [
        {"key": "header", "value": {"summary": f"add {path}", "description": ""}},
        {"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": size}},
    ]
    return get_session().post(
        f"{hub.endpoint}/api/models/{repo}/commit/main",
        content="\n".join(json.dumps(line) for line in lines).encode(),
        headers={"authorization": f"Bearer {token}", "content-type": "application/x-ndjson"},
    )


def test_upload_is_verified_before_it_can_be_committed(hub, api, alice, repo_id, cache_dir):
    token = alice.write_token
    data = random_bytes(2_000_000, seed=901)
    oid, size = sha256_bytes(data), len(data)

    status, _, body = batch(hub, token, repo_id, [{"oid": oid, "size": size}])
    assert status == 200, body
    (obj,) = json.loads(body)["objects"]
    assert obj["oid"] == oid and obj["size"] == size
    upload = obj["actions"]["upload"]
    href = upload["href"]
    assert href.startswith(hub.endpoint + "/"), "hrefs are built from the public URL"
    assert "chunk_size" not in (upload.get("header") or {}), "2 MB is below the multipart threshold"

    # Wrong bytes of the right size: refused, and the object does not become committable.
    wrong = bytearray(data)
    wrong[12345] ^= 0xFF
    status, _, body = http("PUT", href, data=bytes(wrong))
    assert 400 <= status < 500, f"a body whose sha256 differs from the oid must be refused, got {status} {body!r}"
    response = commit_lfs_line(hub, token, repo_id, "bad.bin", oid, size)
    assert 400 <= response.status_code < 500, response.text
    # Too short: refused as well.
    status, _, _ = http("PUT", href, data=data[:-1])
    assert 400 <= status < 500
    assert not api.file_exists(repo_id, "bad.bin")

    # A tampered signature is refused; the URL authorises itself, so no token is sent.
    tampered = href[:-1] + ("0" if href[-1] != "0" else "1")
    # (a small body: the server may answer before reading it, which breaks a large send)
    status, _, _ = http("PUT", tampered, data=b"tampered")
    assert status in (401, 403), f"a tampered upload URL must be refused, got {status}"

    # The right bytes, without any Authorization header, then verify (with it) and commit.
    status, _, _ = http("PUT", href, data=data)
    assert 200 <= status < 300
    verify = obj["actions"].get("verify")
    if verify:
        status, _, body = http(
            "POST",
            verify["href"],
            token=token,
            headers=LFS_HEADERS,
            data=json.dumps({"oid": oid, "size": size}).encode(),
        )
        assert 200 <= status < 300, body
    response = commit_lfs_line(hub, token, repo_id, "good.bin", oid, size)
    assert response.status_code == 200, response.text
    assert len(response.json()["commitOid"]) == 40
    assert response.json()["commitUrl"].startswith(f"{hub.endpoint}/{repo_id}/commit/")
    path = api.hf_hub_download(repo_id, "good.bin", cache_dir=cache_dir)
    assert sha256_file(path) == oid

    # Now stored: a second batch for the same object asks for no upload.
    status, _, body = batch(hub, token, repo_id, [{"oid": oid, "size": size}])
    assert status == 200
    assert "actions" not in json.loads(body)["objects"][0] or not json.loads(body)["objects"][0]["actions"].get(
        "upload"
    )


def test_batch_permissions(hub, alice, bob, repo_id):
    obj = [{"oid": "ab" * 32, "size": 10}]
    status, _, _ = batch(hub, bob.write_token, repo_id, obj)
    assert status in (401, 403, 404), f"bob must not get upload URLs for alice's repo, got {status}"
    status, _, _ = batch(hub, alice.read_token, repo_id, obj)
    assert status in (401, 403), f"a read token must not get upload URLs, got {status}"
    status, _, _ = batch(hub, None, repo_id, obj)
    assert status in (401, 403)
    status, _, _ = batch(hub, alice.write_token, f"alice/{unique('missing')}", obj)
    assert status == 404


def test_batch_for_dataset_repos(hub, api, alice):
    repo = f"alice/{unique('lfs-ds')}"
    api.create_repo(repo, repo_type="dataset")
    data = b"x" * 1000
    status, _, body = batch(hub, alice.write_token, repo, [{"oid": sha256_bytes(data), "size": len(data)}], "datasets/")
    assert status == 200, body
    assert json.loads(body)["objects"][0]["actions"]["upload"]["href"].startswith(hub.endpoint)


def test_unknown_lfs_object_cannot_be_committed(hub, api, alice, repo_id):
    head = api.model_info(repo_id).sha
    response = commit_lfs_line(hub, alice.write_token, repo_id, "ghost.bin", "cd" * 32, 123)
    assert 400 <= response.status_code < 500, response.text
    assert api.model_info(repo_id).sha == head


def test_lfs_object_of_another_repo_needs_its_own_upload(hub, api, bob, cache_dir):
    """Content is stored once, but a repo may only commit objects uploaded for it: knowing the
    sha256 of someone else's private file must not be enough to get a copy of it."""
    private = f"alice/{unique('lfs-private')}"
    api.create_repo(private, private=True)
    big = random_bytes(10_500_000, seed=903)
    oid, size = sha256_bytes(big), len(big)
    api.upload_file(path_or_fileobj=big, path_in_repo="weights.bin", repo_id=private)

    mine = f"bob/{unique('thief')}"
    bob.api.create_repo(mine)
    # The thief asks the batch API about the object and commits it without uploading anything.
    status, _, body = batch(hub, bob.write_token, mine, [{"oid": oid, "size": size}])
    assert status == 200, body
    (obj,) = json.loads(body)["objects"]
    assert obj.get("actions", {}).get("upload"), "an object not linked to this repo must be uploaded again"
    response = commit_lfs_line(hub, bob.write_token, mine, "stolen.bin", oid, size)
    assert 400 <= response.status_code < 500, "committing a private object by its hash alone must be refused"
    assert "stolen.bin" not in bob.api.list_repo_files(mine)

    # The honest path works: bob uploads the same bytes himself and commits them.
    bob.api.upload_file(path_or_fileobj=big, path_in_repo="mine.bin", repo_id=mine)
    assert sha256_file(bob.api.hf_hub_download(mine, "mine.bin", cache_dir=cache_dir)) == oid
