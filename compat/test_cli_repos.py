"""The `hf` CLI's repo management and browsing commands against kura, each checked through the
API afterwards, and the `HfApi` calls behind them that no other test makes."""

import json

import pytest
from huggingface_hub.errors import RepositoryNotFoundError
from support import run_cli, unique


def _repo_with_files(api, files: dict[str, bytes]) -> str:
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    from huggingface_hub import CommitOperationAdd

    operations = [CommitOperationAdd(path_in_repo=p, path_or_fileobj=b) for p, b in files.items()]
    api.create_commit(repo, operations=operations, commit_message="files")
    return repo


def test_hf_repos_branch_and_tag_commands(api, alice):
    repo = _repo_with_files(api, {"a.txt": b"a"})
    token = alice.write_token
    run_cli(["repos", "branch", "create", repo, "dev"], token=token)
    assert "dev" in [b.name for b in api.list_repo_refs(repo).branches]
    run_cli(["repos", "tag", "create", repo, "v1", "--revision", "dev"], token=token)
    listed = run_cli(["repos", "tag", "list", repo], token=token).stdout
    assert "v1" in listed
    assert [t.name for t in api.list_repo_refs(repo).tags] == ["v1"]
    run_cli(["repos", "tag", "delete", repo, "v1", "--yes"], token=token)
    assert api.list_repo_refs(repo).tags == []
    run_cli(["repos", "branch", "delete", repo, "dev"], token=token)
    assert [b.name for b in api.list_repo_refs(repo).branches] == ["main"]


def test_hf_repos_delete_files_settings_move_and_delete(api, alice):
    repo = _repo_with_files(api, {"keep.txt": b"k", "logs/a.log": b"1", "logs/b.log": b"2", "c.log": b"3"})
    token = alice.write_token
    run_cli(["repos", "delete-files", repo, "*.log", "logs/"], token=token)
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "keep.txt"]

    run_cli(["repos", "settings", repo, "--private"], token=token)
    assert api.model_info(repo).private is True

    moved = f"alice/{unique()}"
    run_cli(["repos", "move", repo, moved], token=token)
    assert api.model_info(moved).id == moved

    run_cli(["repos", "delete", moved, "--yes"], token=token)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(moved)


def test_delete_files_with_patterns(api):
    repo = _repo_with_files(api, {"x.bin": b"1", "dir/y.bin": b"2", "dir/keep.txt": b"3", "top.txt": b"4"})
    api.delete_files(repo_id=repo, delete_patterns=["*.bin"])
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "dir/keep.txt", "top.txt"]


def _check_info_and_lists(repo: str, info_out: str, list_out: str, files_out: str) -> None:
    assert json.loads(info_out)["id"] == repo
    assert repo in [item["id"] for item in json.loads(list_out)]
    assert ".gitattributes" in files_out


def test_hf_info_and_list_commands(api, alice):
    token = alice.write_token
    model, dataset, space = (f"alice/{unique()}" for _ in range(3))
    api.create_repo(model)
    api.create_repo(dataset, repo_type="dataset")
    api.create_repo(space, repo_type="space", space_sdk="static")
    listing = ["--author", "alice", "--limit", "1000", "--format", "json"]
    _check_info_and_lists(
        model,
        run_cli(["models", "info", model], token=token).stdout,
        run_cli(["models", "list", *listing], token=token).stdout,
        run_cli(["models", "list", model], token=token).stdout,
    )
    _check_info_and_lists(
        dataset,
        run_cli(["datasets", "info", dataset], token=token).stdout,
        run_cli(["datasets", "list", *listing], token=token).stdout,
        run_cli(["datasets", "list", dataset], token=token).stdout,
    )
    _check_info_and_lists(
        space,
        run_cli(["spaces", "info", space], token=token).stdout,
        run_cli(["spaces", "list", *listing], token=token).stdout,
        run_cli(["spaces", "list", space], token=token).stdout,
    )


def test_list_spaces_and_full_repo_name(api):
    space = f"alice/{unique()}"
    api.create_repo(space, repo_type="space", space_sdk="static")
    assert space in [s.id for s in api.list_spaces(author="alice")]
    assert api.get_full_repo_name("thing") == "alice/thing"
