"""The server flag that refuses commits adding dangerous pickles
(`KURA_LIMIT_REFUSE_UNSAFE_PICKLES=true`, `[limits] refuse_unsafe_pickles`), through the
official client.

The suite's server runs without the flag, so this module starts a second kura of its own: a
fresh data directory on SQLite and local storage (whatever database and storage the suite's
server uses), one user made with the admin CLI. Files go through the client's real upload
paths: inline, and LFS or Xet for the `.bin` checkpoint."""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

import pytest
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError
from model_files import evil_pickle, safetensors, suspicious_pickle, torch_data_pkl, torch_zip
from support import unique


@dataclass
class GuardedHub:
    endpoint: str
    api: HfApi  # carol's, with a write token


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def guarded(hub, tmp_path_factory):
    work = tmp_path_factory.mktemp("guarded")
    data_dir = work / "data"
    data_dir.mkdir()
    port = _free_port()
    endpoint = f"http://127.0.0.1:{port}"
    # Only the log filter carries over from the suite's server settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") or k == "KURA_LOG"}
    env |= {"KURA_LIMIT_REFUSE_UNSAFE_PICKLES": "true", "NO_COLOR": "1"}
    binary = str(hub.server.binary)

    def admin(*args: str) -> str:
        proc = subprocess.run(
            [binary, *args, "--data-dir", str(data_dir)], env=env, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, f"kura {' '.join(args)}: {proc.stdout}\n{proc.stderr}"
        return proc.stdout

    log = open(work / "kura.log", "wb")
    server = subprocess.Popen(
        [binary, "serve", "--data-dir", str(data_dir), "--listen", f"127.0.0.1:{port}", "--public-url", endpoint],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=str(work),
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (work / "kura.log").read_text(errors="replace")
            try:
                with urllib.request.urlopen(f"{endpoint}/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, "the guarded kura did not answer /health"
            time.sleep(0.1)
        admin("user", "create", "carol")
        token = admin("token", "create", "carol", "--role", "write").strip()
        yield GuardedHub(endpoint=endpoint, api=HfApi(endpoint=endpoint, token=token))
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        log.close()


def refused(error: pytest.ExceptionInfo, path: str) -> str:
    message = str(error.value)
    assert error.value.response.status_code == 403, message
    assert path in message and "os.system" in message, message
    return message


def test_a_commit_adding_a_dangerous_pickle_is_refused(guarded):
    api = guarded.api
    repo = f"carol/{unique('guarded')}"
    api.create_repo(repo)
    head = api.model_info(repo).sha

    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=evil_pickle(), path_in_repo="weights/evil.pkl", repo_id=repo)
    refused(error, "weights/evil.pkl")
    assert api.model_info(repo).sha == head, "nothing landed"

    # A checkpoint travels as a large file (LFS or Xet); the commit that names it is refused.
    ops = [
        CommitOperationAdd("model.safetensors", safetensors([("w", "F32", [4])])),
        CommitOperationAdd("pytorch_model.bin", torch_zip(evil_pickle())),
    ]
    with pytest.raises(HfHubHTTPError) as error:
        api.create_commit(repo, ops, commit_message="add a model")
    refused(error, "pytorch_model.bin")
    assert api.model_info(repo).sha == head
    assert api.list_repo_files(repo) == [".gitattributes"]

    # Safe and merely suspicious pickles pass.
    ok = [
        CommitOperationAdd("pytorch_model.bin", torch_zip(torch_data_pkl())),
        CommitOperationAdd("odd.pkl", suspicious_pickle()),
    ]
    sha = api.create_commit(repo, ok, commit_message="a safe model").oid
    assert api.model_info(repo).sha == sha
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "odd.pkl", "pytorch_model.bin"]
