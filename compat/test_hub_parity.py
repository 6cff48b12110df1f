"""Behaviours where kura once differed from the Hub (issue 14), each through the official client:
the Hub's error wording for common mistakes, `.gitignore` in uploads, backslashes in paths,
folder deletion without a trailing slash, and the order of checks in `create_tag`.

The wording comes from huggingface_hub's own test suite, which runs against the Hub
(tests/test_hf_api.py: branch, tag and move tests), and from the Hub's 412 message for a stale
`parentCommit`."""

import json

import pytest
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.errors import HfHubHTTPError, RevisionNotFoundError
from support import http, unique, write_tree


def test_error_wording_matches_the_hub(api):
    repo = f"alice/{unique()}"
    other = f"alice/{unique()}"
    api.create_repo(repo)
    api.create_repo(other)

    api.create_branch(repo, branch="cool-branch")
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/cool-branch already exists") as error:
        api.create_branch(repo, branch="cool-branch")
    assert error.value.response.status_code == 409
    with pytest.raises(HfHubHTTPError, match=r"Reference refs/heads/main already exists"):
        api.create_branch(repo, branch="main")
    api.create_branch(repo, branch="cool-branch", exist_ok=True)

    with pytest.raises(HfHubHTTPError, match="Cannot delete refs/heads/main"):
        api.delete_branch(repo, branch="main")
    with pytest.raises(HfHubHTTPError, match="Invalid rev id"):
        api.delete_branch(repo, branch="no-such-branch")

    with pytest.raises(HfHubHTTPError, match=r"A model repository called .* already exists") as error:
        api.move_repo(from_id=repo, to_id=other)
    assert error.value.response.status_code == 409

    with pytest.raises(HfHubHTTPError, match="You already created this model repo"):
        api.create_repo(repo)


def test_a_stale_parent_commit_gets_the_hubs_412(api):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    first = api.model_info(repo).sha
    api.upload_file(path_or_fileobj=b"one", path_in_repo="a.txt", repo_id=repo)
    for parent in (first, first[:7]):
        with pytest.raises(HfHubHTTPError, match=r"A commit has happened since\. Please refresh and try again\.") as error:
            api.upload_file(path_or_fileobj=b"two", path_in_repo="b.txt", repo_id=repo, parent_commit=parent)
        assert error.value.response.status_code == 412
    assert api.list_repo_files(repo) == [".gitattributes", "a.txt"]


def test_create_tag_checks_the_revision_before_the_tag_name(api):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    with pytest.raises(RevisionNotFoundError):
        api.create_tag(repo, tag="invalid tag", revision="foobar")
    with pytest.raises(HfHubHTTPError):
        api.create_tag(repo, tag="invalid tag")
    api.create_tag(repo, tag="v1")
    with pytest.raises(HfHubHTTPError) as error:
        api.create_tag(repo, tag="v1")
    assert error.value.response.status_code == 409
    api.create_tag(repo, tag="v1", exist_ok=True)


def test_upload_folder_skips_what_the_gitignore_excludes(api, tmp_path):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    # The repo's own .gitignore applies to later uploads.
    api.upload_file(path_or_fileobj=b"*.log\nbuild/\n!keep.log\n", path_in_repo=".gitignore", repo_id=repo)
    folder = write_tree(
        tmp_path / "up",
        {
            "model.txt": b"weights",
            "train.log": b"noise",
            "keep.log": b"kept",
            "build/out.o": b"object",
            "sub/deep.log": b"noise",
        },
    )
    api.upload_folder(folder_path=folder, repo_id=repo)
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", ".gitignore", "keep.log", "model.txt"]

    # A .gitignore that travels with the upload applies to that same upload.
    fresh = f"alice/{unique()}"
    api.create_repo(fresh)
    folder = write_tree(tmp_path / "fresh", {".gitignore": b"secret.txt\n", "secret.txt": b"x", "a.txt": b"y"})
    api.upload_folder(folder_path=folder, repo_id=fresh)
    assert sorted(api.list_repo_files(fresh)) == [".gitattributes", ".gitignore", "a.txt"]


def test_a_backslash_is_an_ordinary_path_character(api):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"odd", path_in_repo="dir\\name.txt", repo_id=repo)
    assert "dir\\name.txt" in api.list_repo_files(repo)
    assert api.file_exists(repo, "dir\\name.txt")
    # What a Windows checkout would read as the .git directory stays refused.
    with pytest.raises(HfHubHTTPError) as error:
        api.upload_file(path_or_fileobj=b"x", path_in_repo=".git\\config", repo_id=repo)
    assert error.value.response.status_code in (400, 422)


def test_deleting_a_folder_named_without_its_slash(api):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    api.create_commit(
        repo,
        operations=[
            CommitOperationAdd(path_in_repo="nested/a.txt", path_or_fileobj=b"a"),
            CommitOperationAdd(path_in_repo="nested/sub/b.txt", path_or_fileobj=b"b"),
            CommitOperationAdd(path_in_repo="top.txt", path_or_fileobj=b"t"),
        ],
        commit_message="tree",
    )
    api.delete_file("nested", repo_id=repo)
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "top.txt"]
    api.create_commit(
        repo, operations=[CommitOperationAdd(path_in_repo="again/x.txt", path_or_fileobj=b"x")], commit_message="x"
    )
    api.create_commit(repo, operations=[CommitOperationDelete(path_in_repo="again")], commit_message="rm")
    assert sorted(api.list_repo_files(repo)) == [".gitattributes", "top.txt"]
    with pytest.raises(HfHubHTTPError) as error:
        api.delete_file("missing", repo_id=repo)
    assert error.value.response.status_code == 404


def test_a_short_commit_id_is_a_revision(api):
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="f.txt", repo_id=repo).oid
    api.upload_file(path_or_fileobj=b"v2", path_in_repo="f.txt", repo_id=repo)
    short = first[:7]
    assert api.model_info(repo, revision=short).sha == first
    assert [f.path for f in api.list_repo_tree(repo, revision=short)] == [".gitattributes", "f.txt"]
    with open(api.hf_hub_download(repo, "f.txt", revision=short), "rb") as f:
        assert f.read() == b"v1"
    api.create_tag(repo, tag="first", revision=short)
    assert api.model_info(repo, revision="first").sha == first
    assert not api.revision_exists(repo, "0000000")


def test_a_path_a_repo_cannot_hold_is_422(hub, api, alice):
    # The client refuses such paths itself, so this goes on the wire as the client would send it.
    repo = f"alice/{unique()}"
    api.create_repo(repo)
    for path in ("../escape.txt", "/abs.txt", "a/.git/config"):
        header = json.dumps({"key": "header", "value": {"summary": "x", "description": ""}})
        line = json.dumps({"key": "file", "value": {"path": path, "content": "eA==", "encoding": "base64"}})
        status, headers, _ = http(
            "POST",
            f"{hub.endpoint}/api/models/{repo}/commit/main",
            token=alice.write_token,
            headers={"Content-Type": "application/x-ndjson"},
            data=f"{header}\n{line}\n".encode(),
        )
        assert status == 422, path
        assert "Invalid path" in headers["X-Error-Message"]
    assert api.list_repo_files(repo) == [".gitattributes"]


@pytest.mark.parametrize("repo_type", [None, "dataset", "space"])
def test_a_repo_id_without_namespace_does_not_exist(api, repo_type):
    # The Hub's canonical repos (`gpt2`) have such ids; kura has none, and says so the way the
    # client understands: RepoNotFound, so these answer False instead of raising.
    assert api.repo_exists("gpt2", repo_type=repo_type) is False
    assert api.revision_exists("gpt2", "main", repo_type=repo_type) is False
    assert api.file_exists("gpt2", "config.json", repo_type=repo_type) is False


def test_readme_metadata_is_checked_as_on_the_hub(api):
    from huggingface_hub import ModelCard

    repo = f"alice/{unique()}"
    api.create_repo(repo)
    # An unknown license stops the upload with the client's ValueError, before anything is sent.
    with pytest.raises(ValueError, match=r'"license" must be one of \[apache-2.0, mit'):
        api.upload_file(path_or_fileobj=b"---\nlicense: my-own\n---\n# m\n", path_in_repo="README.md", repo_id=repo)
    bad_index = b"---\nmodel-index:\n- name: m\n  results:\n  - task: {}\n    metrics: []\n---\n"
    with pytest.raises(ValueError, match=r"model-index\[0\]\.results\[0\]\.task\.type"):
        api.upload_file(path_or_fileobj=bad_index, path_in_repo="README.md", repo_id=repo)
    assert api.list_repo_files(repo) == [".gitattributes"]
    # Empty metadata is a warning the client shows, and the upload goes through.
    with pytest.warns(UserWarning, match="Empty or missing yaml metadata in repo card"):
        api.upload_file(path_or_fileobj=b"# Just a title\n", path_in_repo="README.md", repo_id=repo)
    good = ModelCard("---\nlicense: [mit, other]\nmodel-index:\n- name: m\n  results:\n  - task: {type: text-classification}\n    dataset: {type: imdb, name: IMDB}\n    metrics:\n    - {type: accuracy, value: 0.9}\n---\n# m\n")
    good.validate()
    good.push_to_hub(repo, token=api.token)
    assert ModelCard.load(repo, token=api.token).data.license == ["mit", "other"]
    with pytest.raises(ValueError, match="license"):
        ModelCard("---\nlicense: nope\n---\n# m\n").validate()


@pytest.mark.parametrize("sdk", ["static", "gradio", "docker"])
def test_a_new_space_gets_a_readme_with_its_sdk(api, sdk):
    from huggingface_hub import SpaceCard

    repo = f"alice/{unique()}"
    api.create_repo(repo, repo_type="space", space_sdk=sdk)
    assert sorted(api.list_repo_files(repo, repo_type="space")) == [".gitattributes", "README.md"]
    card = SpaceCard.load(repo, repo_type="space", token=api.token)
    assert card.data.sdk == sdk
    assert card.data.title == repo.split("/")[1]
    assert card.data.colorFrom and card.data.colorTo and card.data.emoji
    assert api.space_info(repo).sdk == sdk
