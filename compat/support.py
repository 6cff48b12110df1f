"""Helpers shared by the compatibility tests. Imports nothing from the Hugging Face libraries,
so that conftest.py stays in control of the environment they read at import time."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

# KURA_COMPAT_XET=1 runs the suite with the client's default Xet transfers instead of
# HF_HUB_DISABLE_XET=1 (the default, and what CI runs until kura's Xet support is complete).
XET = os.environ.get("KURA_COMPAT_XET") == "1"

# The server fixture configures LFS multipart uploads above this size, in parts of this size.
MULTIPART_THRESHOLD_BYTES = 16 * 1024 * 1024
MULTIPART_PART_BYTES = 8 * 1024 * 1024


def unique(prefix: str = "t") -> str:
    """A repo name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def git_blob_sha1(data: bytes) -> str:
    """The id git gives a blob with this content (what the Hub reports for regular files)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def random_bytes(n: int, seed: int) -> bytes:
    """Deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(n)


def read(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    """Write {relative path: content} under root and return root."""
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return root


def snapshot_files(root: str | os.PathLike) -> dict[str, str]:
    """{relative path: sha256} of every file under a downloaded snapshot (metadata dirs excluded)."""
    root = Path(root)
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if rel.startswith(".cache/") or not p.is_file():
            continue
        out[rel] = sha256_file(p)
    return out


def hf_cli() -> str:
    """The `hf` executable that belongs to the interpreter running the tests."""
    exe = Path(sys.executable).parent / "hf"
    if exe.exists():
        return str(exe)
    found = shutil.which("hf")
    assert found, "the `hf` CLI is not installed next to this Python"
    return found


def run_cli(args: list[str], token: str | None, cwd=None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run `hf ARGS...` with the suite's environment plus HF_TOKEN; fail with its output."""
    env = dict(os.environ)
    env.pop("HF_TOKEN", None)
    if token is not None:
        env["HF_TOKEN"] = token
    proc = subprocess.run([hf_cli(), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, (
        f"`hf {' '.join(args)}` exited with {proc.returncode}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )
    return proc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http(method: str, url: str, *, token: str | None = None, headers: dict | None = None, data: bytes | None = None):
    """A raw HTTP request that does not follow redirects: (status, headers, body)."""
    req = urllib.request.Request(url, method=method, data=data)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=60) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()
