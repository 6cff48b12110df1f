"""Xet with the stock hf_xet client: dedup measured in bytes stored on the server, concurrent
identical uploads, LFS-then-Xet re-uploads, and downloads with and without hf_xet.

Each client runs in its own Python process with its own HF_HOME (so no client-side cache can
hide what the server stores), with Xet on or off explicitly, whatever mode the suite runs in.
"""

import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from support import random_bytes, sha256_bytes, sha256_file, unique

CLIENT = textwrap.dedent(
    """
    import sys
    from huggingface_hub import HfApi, hf_hub_download
    action, repo, path, local = sys.argv[1:5]
    api = HfApi()
    if action == "upload":
        api.upload_file(path_or_fileobj=local, path_in_repo=path, repo_id=repo)
    else:
        print(hf_hub_download(repo, path))
    """
)


def client(hub, token, action, repo, path, local="-", *, xet=True, home):
    env = dict(os.environ, HF_ENDPOINT=hub.endpoint, HF_HOME=str(home), HF_TOKEN=token)
    if xet:
        env.pop("HF_HUB_DISABLE_XET", None)
    else:
        env["HF_HUB_DISABLE_XET"] = "1"
    result = subprocess.run([sys.executable, "-c", CLIENT, action, repo, path, str(local)], env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"{action} {repo}/{path} (xet={xet}) failed:\n{result.stderr[-3000:]}"
    return result.stdout.strip().splitlines()[-1] if action == "download" else None


_METRICS_TOKENS: dict[str, str] = {}


def metrics_token(hub):
    """A read token of a server admin, made once per server: /metrics is for server admins."""
    if hub.endpoint not in _METRICS_TOKENS:
        hub.admin_cli("user", "create", "metrics-reader", "--admin")
        token = hub.admin_cli("token", "create", "metrics-reader", "--role", "read").strip()
        _METRICS_TOKENS[hub.endpoint] = token
    return _METRICS_TOKENS[hub.endpoint]


def get_metrics(hub, token):
    request = urllib.request.Request(f"{hub.endpoint}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read().decode()


def stored_bytes(hub):
    for line in get_metrics(hub, metrics_token(hub)).splitlines():
        if line.startswith("kura_xet_stored_bytes "):
            return int(line.split()[1])
    raise AssertionError("kura_xet_stored_bytes missing from /metrics")


def test_metrics_are_for_server_admins(hub, alice):
    for token, status in ((None, 401), (alice.write_token, 403)):
        try:
            get_metrics(hub, token)
        except urllib.error.HTTPError as error:
            assert error.code == status, (token is None, error.code)
            assert "error" in json.loads(error.read())
        else:
            raise AssertionError(f"/metrics answered {'anonymous' if token is None else 'alice'}")
    assert stored_bytes(hub) >= 0


def new_repo(alice):
    repo = f"{alice.name}/{unique('xet')}"
    alice.api.create_repo(repo)
    return repo


def test_xet_upload_then_download_with_and_without_hf_xet(hub, alice, tmp_path):
    repo = new_repo(alice)
    data = random_bytes(12_000_000, 31)
    local = tmp_path / "weights.bin"
    local.write_bytes(data)
    client(hub, alice.write_token, "upload", repo, "weights.bin", local, xet=True, home=tmp_path / "up")
    entry = next(e for e in alice.api.list_repo_tree(repo) if e.path == "weights.bin")
    assert entry.xet_hash is not None and entry.lfs.sha256 == sha256_bytes(data)
    for xet in (True, False):
        path = client(hub, alice.write_token, "download", repo, "weights.bin", xet=xet, home=tmp_path / f"down-{xet}")
        assert sha256_file(path) == sha256_bytes(data), f"xet={xet}"


def test_an_edit_in_the_middle_of_a_large_file_stores_only_what_changed(hub, alice, tmp_path):
    repo = new_repo(alice)
    size = 200 * 1000 * 1000
    data = bytearray(random_bytes(size, 32))
    first = tmp_path / "v1.bin"
    first.write_bytes(data)
    before = stored_bytes(hub)
    client(hub, alice.write_token, "upload", repo, "model.bin", first, home=tmp_path / "c1")
    after_first = stored_bytes(hub)
    assert after_first - before >= size, "the first version is stored whole"
    middle = size // 2
    data[middle : middle + 1_000_000] = random_bytes(1_000_000, 33)
    second = tmp_path / "v2.bin"
    second.write_bytes(data)
    first.unlink()
    # A different client cache: the server's dedup index must find the shared chunks.
    client(hub, alice.write_token, "upload", repo, "model.bin", second, home=tmp_path / "c2")
    added = stored_bytes(hub) - after_first
    print(f"second version of a {size} B file added {added} B ({100 * added / size:.2f}%)")
    assert added < 0.05 * size
    path = client(hub, alice.write_token, "download", repo, "model.bin", xet=False, home=tmp_path / "d")
    assert sha256_file(path) == sha256_bytes(bytes(data))


def test_the_same_content_uploaded_concurrently_by_two_clients(hub, alice, tmp_path):
    repos = [new_repo(alice), new_repo(alice)]
    data = random_bytes(30_000_000, 34)
    local = tmp_path / "same.bin"
    local.write_bytes(data)
    before = stored_bytes(hub)
    with ThreadPoolExecutor(2) as pool:
        jobs = [pool.submit(client, hub, alice.write_token, "upload", repo, "same.bin", local, home=tmp_path / f"c{i}") for i, repo in enumerate(repos)]
        for job in jobs:
            job.result()
    added = stored_bytes(hub) - before
    assert added <= 2 * len(data), added
    for i, repo in enumerate(repos):
        path = client(hub, alice.write_token, "download", repo, "same.bin", xet=i == 0, home=tmp_path / f"d{i}")
        assert sha256_file(path) == sha256_bytes(data)


def test_a_file_uploaded_through_lfs_then_through_xet_adds_nothing(hub, alice, tmp_path):
    data = random_bytes(15_000_000, 35)
    local = tmp_path / "both.bin"
    local.write_bytes(data)
    client(hub, alice.write_token, "upload", new_repo(alice), "both.bin", local, xet=False, home=tmp_path / "lfs")
    after_lfs = stored_bytes(hub)
    repo = new_repo(alice)
    client(hub, alice.write_token, "upload", repo, "both.bin", local, xet=True, home=tmp_path / "xet")
    assert stored_bytes(hub) - after_lfs <= 0.01 * len(data)
    path = client(hub, alice.write_token, "download", repo, "both.bin", xet=True, home=tmp_path / "down")
    assert sha256_file(path) == sha256_bytes(data)
