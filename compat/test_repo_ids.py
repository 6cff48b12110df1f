"""Repo ids through the official client as on the Hub: an id in another case finds the repo and
answers with its stored spelling, creating the same id in another case is a conflict, and a
moved repo's earlier id keeps working (API, downloads, git clone) for whoever may see the repo;
for anyone else it is missing, so guessing old ids of private repos reveals nothing."""

import os
import subprocess
from pathlib import Path

import pytest
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from support import http, read, unique


def clone(hub, token: str | None, repo: str, dest: Path) -> subprocess.CompletedProcess:
    url = f"{hub.endpoint}/{repo}"
    if token:
        url = url.replace("http://", f"http://user:{token}@")
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", HOME=str(dest.parent))
    return subprocess.run(["git", "clone", "-q", url, str(dest)], env=env, capture_output=True, text=True, timeout=300)


def test_ids_are_found_in_any_case_under_their_stored_spelling(hub, api, cache_dir, tmp_path):
    name = unique("Demo")
    repo = f"alice/{name}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"cased", path_in_repo="a.txt", repo_id=repo)
    lower = repo.lower()
    assert api.model_info(lower).id == repo
    assert api.repo_info(repo.upper().replace("ALICE", "alice"), repo_type="model").id == repo
    assert api.repo_exists(lower)
    assert api.file_exists(lower, "a.txt")
    assert read(hf_hub_download(lower, "a.txt", cache_dir=cache_dir)) == b"cased"
    assert [m.id for m in api.list_models(author="alice", search=name)] == [repo]
    commit = api.upload_file(path_or_fileobj=b"b", path_in_repo="b.txt", repo_id=lower)
    assert f"/{repo}/commit/" in commit.commit_url

    # The same id in another case is the same repo: a conflict, or that repo with exist_ok.
    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo(lower)
    assert error.value.response.status_code == 409
    assert api.create_repo(lower, exist_ok=True).repo_id == repo

    result = clone(hub, None, lower, tmp_path / "c")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c" / "a.txt").read_bytes() == b"cased"


def test_a_moved_repo_answers_at_its_earlier_id(hub, api, cache_dir, tmp_path):
    old = f"alice/{unique('old')}"
    new = f"{hub.org}/{unique('new')}"
    api.create_repo(old)
    api.upload_file(path_or_fileobj=b"moved", path_in_repo="a.txt", repo_id=old)
    api.move_repo(old, new)

    # A relative 307 to the same path with the current id, as the Hub answers.
    status, headers, _ = http("GET", f"{hub.endpoint}/api/models/{old}", token=api.token)
    assert (status, headers["location"]) == (307, f"/api/models/{new}")
    assert api.model_info(old).id == new
    assert api.repo_exists(old)
    assert read(hf_hub_download(old, "a.txt", cache_dir=cache_dir)) == b"moved"
    result = clone(hub, None, old, tmp_path / "c")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "c" / "a.txt").read_bytes() == b"moved"

    # A new repo at the earlier id takes it over.
    api.create_repo(old)
    assert api.model_info(old).id == old
    assert api.list_repo_files(old) == [".gitattributes"]


def test_earlier_ids_of_private_repos_look_missing_to_others(hub, api, bob):
    old = f"alice/{unique('secret')}"
    new = f"alice/{unique('renamed')}"
    api.create_repo(old, private=True)
    api.move_repo(old, new)
    assert api.model_info(old).id == new
    # Bob guesses the old id: answered as a missing repo, no Location naming the new one.
    with pytest.raises(RepositoryNotFoundError):
        bob.api.model_info(old)
    assert not bob.api.repo_exists(old)
    status, headers, _ = http("GET", f"{hub.endpoint}/api/models/{old}", token=bob.write_token)
    assert status == 404 and headers.get("location") is None
    status, headers, _ = http("GET", f"{hub.endpoint}/{old}/resolve/main/.gitattributes")
    assert status == 401 and headers.get("location") is None
