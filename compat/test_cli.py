"""The `hf` command line (subprocesses with the suite's environment plus HF_TOKEN)."""

import os
import subprocess
from pathlib import Path

from support import hf_cli, random_bytes, read, run_cli, sha256_bytes, sha256_file, snapshot_files, unique, write_tree


def test_hf_repos_create(api, alice):
    model = f"alice/{unique('cli')}"
    run_cli(["repos", "create", model], token=alice.write_token)
    info = api.model_info(model)
    assert info.id == model and info.private is False
    # --exist-ok on an existing repo succeeds (kura's 409 carries the url).
    run_cli(["repos", "create", model, "--exist-ok"], token=alice.write_token)

    dataset = f"acme/{unique('cli-ds')}"
    run_cli(["repos", "create", dataset, "--type", "dataset", "--private"], token=alice.write_token)
    ds = api.dataset_info(dataset)
    assert ds.id == dataset and ds.private is True

    space = f"alice/{unique('cli-space')}"
    run_cli(["repos", "create", space, "--type", "space", "--space-sdk", "gradio"], token=alice.write_token)
    assert api.repo_exists(space, repo_type="space")


def test_hf_upload_file_and_folder(api, alice, tmp_path, cache_dir):
    repo = f"alice/{unique('cli-up')}"
    # `hf upload` creates the repo itself (create_repo with exist_ok).
    one = tmp_path / "config.json"
    one.write_bytes(b'{"model_type": "bert"}')
    run_cli(["upload", repo, str(one), "config.json", "--commit-message", "from the cli"], token=alice.write_token)
    assert api.list_repo_files(repo) == [".gitattributes", "config.json"]
    assert api.list_repo_commits(repo)[0].title == "from the cli"

    big = random_bytes(10_800_000, seed=55)
    folder = write_tree(tmp_path / "folder", {"a.txt": b"A", "nested/b.txt": b"B", "nested/weights.bin": big})
    run_cli(["upload", repo, str(folder), "sub"], token=alice.write_token)
    assert sorted(api.list_repo_files(repo)) == [
        ".gitattributes",
        "config.json",
        "sub/a.txt",
        "sub/nested/b.txt",
        "sub/nested/weights.bin",
    ]
    path = api.hf_hub_download(repo, "sub/nested/weights.bin", cache_dir=cache_dir)
    assert sha256_file(path) == sha256_bytes(big)

    # --revision on a branch that does not exist yet: the CLI creates it.
    run_cli(["upload", repo, str(one), "on-branch.json", "--revision", "cli-branch"], token=alice.write_token)
    assert "cli-branch" in {b.name for b in api.list_repo_refs(repo).branches}
    assert api.file_exists(repo, "on-branch.json", revision="cli-branch")
    assert not api.file_exists(repo, "on-branch.json")

    # Dataset repos.
    ds = f"alice/{unique('cli-ds-up')}"
    csv = tmp_path / "rows.csv"
    csv.write_text("a,b\n1,2\n")
    run_cli(["upload", ds, str(csv), "data/rows.csv", "--repo-type", "dataset"], token=alice.write_token)
    assert "data/rows.csv" in api.list_repo_files(ds, repo_type="dataset")


def test_hf_download(api, alice, tmp_path):
    repo = f"alice/{unique('cli-down')}"
    api.create_repo(repo)
    big = random_bytes(10_700_000, seed=66)
    files = {"config.json": b'{"v": 1}', "dir/notes.txt": b"notes", "dir/model.bin": big}
    first = api.upload_folder(folder_path=write_tree(tmp_path / "src", files), repo_id=repo).oid
    api.create_tag(repo, tag="v1")
    api.upload_file(path_or_fileobj=b'{"v": 2}', path_in_repo="config.json", repo_id=repo)

    # One file into a local dir: the CLI prints the path.
    out = run_cli(["download", repo, "config.json", "--local-dir", str(tmp_path / "one"), "--quiet"], token=None).stdout
    printed = Path(out.strip().splitlines()[-1])
    assert read(printed) == b'{"v": 2}'
    assert read(tmp_path / "one" / "config.json") == b'{"v": 2}'

    # A whole snapshot at a tag, and one at a commit id, into the cache.
    out = run_cli(
        ["download", repo, "--revision", "v1", "--cache-dir", str(tmp_path / "cache"), "--quiet"],
        token=alice.read_token,
    ).stdout
    snapshot = Path(out.strip().splitlines()[-1])
    assert snapshot.name == first
    expected = {name: sha256_bytes(data) for name, data in files.items()}
    got = snapshot_files(snapshot)
    got.pop(".gitattributes")
    assert got == expected

    run_cli(["download", repo, "--revision", first, "--local-dir", str(tmp_path / "at-commit")], token=None)
    got = snapshot_files(tmp_path / "at-commit")
    got.pop(".gitattributes")
    assert got == expected

    # With --include.
    run_cli(["download", repo, "--include", "dir/*.txt", "--local-dir", str(tmp_path / "some")], token=None)
    assert snapshot_files(tmp_path / "some") == {"dir/notes.txt": sha256_bytes(b"notes")}


def test_hf_download_private_needs_token(api, alice, tmp_path):
    repo = f"alice/{unique('cli-priv')}"
    api.create_repo(repo, private=True)
    api.upload_file(path_or_fileobj=b"secret", path_in_repo="s.txt", repo_id=repo)
    out = run_cli(
        ["download", repo, "s.txt", "--local-dir", str(tmp_path / "ok"), "--quiet"], token=alice.read_token
    ).stdout
    assert read(Path(out.strip().splitlines()[-1])) == b"secret"

    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    proc = subprocess.run(
        [hf_cli(), "download", repo, "s.txt", "--local-dir", str(tmp_path / "no")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0
    assert not (tmp_path / "no" / "s.txt").exists()


def test_hf_auth_whoami(alice):
    out = run_cli(["auth", "whoami"], token=alice.write_token).stdout
    assert "alice" in out
    assert "acme" in out
