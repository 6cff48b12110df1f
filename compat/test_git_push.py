"""git push with the real git and git-lfs, read back with the official client: a 50 MB LFS
file pushed with git then fetched byte-exact with hf_hub_download, and a small Python package
pushed to a space repo then installed with `pip install git+http://…`.
"""

import functools
import os
import subprocess
import sys
from pathlib import Path

from huggingface_hub import hf_hub_download

from support import random_bytes, sha256_bytes, sha256_file, unique


def run_git(cwd: Path, *args: str, home: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(
        os.environ,
        GIT_TERMINAL_PROMPT="0",
        GIT_CONFIG_NOSYSTEM="1",
        HOME=str(home or cwd),
        GIT_AUTHOR_NAME="Pusher",
        GIT_AUTHOR_EMAIL="p@example.com",
        GIT_COMMITTER_NAME="Pusher",
        GIT_COMMITTER_EMAIL="p@example.com",
    )
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"git {args} failed:\n{result.stderr[-3000:]}"
    return result


def authed_url(hub, token: str, path: str) -> str:
    return hub.endpoint.replace("http://", f"http://user:{token}@") + "/" + path


def test_lfs_file_pushed_with_git_downloads_byte_exact(hub, alice, tmp_path, cache_dir):
    repo_id = f"alice/{unique('push')}"
    alice.api.create_repo(repo_id)
    # Every git call uses tmp_path as HOME, so the LFS filters installed here apply to all.
    git = functools.partial(run_git, home=tmp_path)
    git(tmp_path, "lfs", "install")
    git(tmp_path, "clone", "-q", authed_url(hub, alice.write_token, repo_id), "work")
    work = tmp_path / "work"
    git(work, "config", "lfs.locksverify", "false")
    git(work, "lfs", "track", "*.bin")
    data = random_bytes(50 * 1024 * 1024, seed=50)
    (work / "weights.bin").write_bytes(data)
    (work / "README.md").write_text("# pushed with git\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Add weights with git-lfs")
    git(work, "push", "-q", "origin", "main")
    head = git(work, "rev-parse", "HEAD").stdout.strip()

    assert alice.api.model_info(repo_id).sha == head, "the API reports the pushed commit"
    path = hf_hub_download(repo_id, "weights.bin", cache_dir=cache_dir, token=alice.write_token)
    assert sha256_file(path) == sha256_bytes(data)
    readme = hf_hub_download(repo_id, "README.md", cache_dir=cache_dir, token=alice.write_token)
    assert Path(readme).read_text() == "# pushed with git\n"
    # A fresh clone smudges the LFS file back to the same bytes.
    git(tmp_path, "clone", "-q", authed_url(hub, alice.read_token, repo_id), "again")
    assert sha256_file(tmp_path / "again" / "weights.bin") == sha256_bytes(data)


PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "kura-demo-pkg"
version = "0.1.0"
"""


def test_pip_installs_a_package_kept_in_a_space(hub, alice, tmp_path):
    space = f"alice/{unique('space')}"
    alice.api.create_repo(space, repo_type="space", space_sdk="static")
    git = run_git
    git(tmp_path, "clone", "-q", authed_url(hub, alice.write_token, f"spaces/{space}"), "pkg")
    pkg = tmp_path / "pkg"
    (pkg / "pyproject.toml").write_text(PYPROJECT)
    (pkg / "kura_demo_pkg").mkdir()
    (pkg / "kura_demo_pkg" / "__init__.py").write_text("GREETING = 'hello from a space'\n")
    git(pkg, "add", "-A")
    git(pkg, "commit", "-q", "-m", "A tiny package")
    git(pkg, "push", "-q", "origin", "main")

    target = tmp_path / "site"
    url = f"git+{hub.endpoint}/spaces/{space}"
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--no-index",
         "--target", str(target), url],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, f"pip install {url} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    check = subprocess.run(
        [sys.executable, "-c", "import kura_demo_pkg; print(kura_demo_pkg.GREETING)"],
        env=dict(os.environ, PYTHONPATH=str(target)), capture_output=True, text=True, timeout=60,
    )
    assert check.stdout.strip() == "hello from a space", check.stderr
