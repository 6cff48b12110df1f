"""Repo lifecycle through HfApi: create (exist_ok, types, orgs, private), settings, move, delete,
existence checks and the repo listings."""

import json
import time

import pytest
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from huggingface_hub.utils import paginate
from support import git_blob_sha1, http, random_bytes, read, sha256_bytes, unique


def test_create_repo_url_exist_ok_and_conflict(hub, api):
    repo = f"alice/{unique()}"
    url = api.create_repo(repo)
    assert url == f"{hub.endpoint}/{repo}"
    assert url.repo_id == repo
    assert url.repo_type == "model"
    assert url.endpoint == hub.endpoint

    # The new repo has `main` with an initial commit holding a .gitattributes.
    info = api.model_info(repo)
    assert info.id == repo
    assert len(info.sha) == 40 and all(c in "0123456789abcdef" for c in info.sha)
    assert info.private is False
    assert [s.rfilename for s in info.siblings] == [".gitattributes"]
    assert [b.name for b in api.list_repo_refs(repo).branches] == ["main"]

    # exist_ok swallows the 409 and reads `url` from its body.
    again = api.create_repo(repo, exist_ok=True)
    assert again.repo_id == repo
    assert again == url
    assert api.model_info(repo).sha == info.sha, "exist_ok must not touch the existing repo"

    with pytest.raises(HfHubHTTPError) as error:
        api.create_repo(repo)
    assert error.value.response.status_code == 409


@pytest.mark.parametrize("repo_type", ["dataset", "space"])
def test_dataset_and_space_repos(hub, api, repo_type):
    repo = f"alice/{unique(repo_type)}"
    kwargs = {"space_sdk": "gradio"} if repo_type == "space" else {}
    url = api.create_repo(repo, repo_type=repo_type, **kwargs)
    assert url.repo_type == repo_type
    assert url == f"{hub.endpoint}/{repo_type}s/{repo}"
    api.upload_file(path_or_fileobj=b"x,y\n1,2\n", path_in_repo="data.csv", repo_id=repo, repo_type=repo_type)

    info = api.repo_info(repo, repo_type=repo_type)
    assert info.id == repo
    # A Space starts with a README naming its SDK, as on the Hub.
    readme = ["README.md"] if repo_type == "space" else []
    assert sorted(s.rfilename for s in info.siblings) == sorted([".gitattributes", "data.csv", *readme])
    assert api.repo_exists(repo, repo_type=repo_type)
    assert not api.repo_exists(repo)  # same id, model type: a different repo
    assert api.file_exists(repo, "data.csv", repo_type=repo_type)
    assert read(api.hf_hub_download(repo, "data.csv", repo_type=repo_type)) == b"x,y\n1,2\n"
    # The same name may exist once per type.
    api.create_repo(repo)
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_org_namespace_needs_membership(api, bob):
    repo = f"acme/{unique('org')}"
    url = api.create_repo(repo)
    assert url.namespace == "acme"
    info = api.model_info(repo)
    assert info.id == repo
    assert info.author == "acme"
    api.upload_file(path_or_fileobj=b"by alice", path_in_repo="a.txt", repo_id=repo)
    assert "a.txt" in api.list_repo_files(repo)

    # bob is not in acme: no repo creation there, no writes to its repos, but public reads work.
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.create_repo(f"acme/{unique('org')}")
    assert error.value.response.status_code == 403
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.upload_file(path_or_fileobj=b"by bob", path_in_repo="b.txt", repo_id=repo)
    assert error.value.response.status_code == 403
    assert sorted(bob.api.list_repo_files(repo)) == [".gitattributes", "a.txt"]
    # nor in alice's own namespace
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.create_repo(f"alice/{unique('nope')}")
    assert error.value.response.status_code == 403


def test_private_repo_created_private(hub, api, alice, bob):
    repo = f"alice/{unique('private')}"
    api.create_repo(repo, private=True)
    assert api.model_info(repo).private is True
    assert alice.read_api.model_info(repo).private is True
    assert api.repo_exists(repo)
    assert not hub.anon.repo_exists(repo)
    assert not bob.api.repo_exists(repo)
    # Private repos answer like missing ones: same exception as for a repo that never existed.
    for client in (hub.anon, bob.api):
        with pytest.raises(RepositoryNotFoundError):
            client.model_info(repo)
        with pytest.raises(RepositoryNotFoundError):
            client.list_repo_files(repo)


def test_update_repo_settings_private_toggle(hub, api):
    repo = f"alice/{unique('toggle')}"
    api.create_repo(repo)
    api.upload_file(path_or_fileobj=b"content", path_in_repo="f.txt", repo_id=repo)
    assert hub.anon.model_info(repo).private is False

    api.update_repo_settings(repo, private=True)
    assert api.model_info(repo).private is True
    with pytest.raises(RepositoryNotFoundError):
        hub.anon.model_info(repo)
    assert not hub.anon.file_exists(repo, "f.txt")

    api.update_repo_settings(repo, visibility="public")
    assert hub.anon.model_info(repo).private is False
    assert hub.anon.file_exists(repo, "f.txt")


def test_update_settings_needs_write_access(api, bob):
    repo = f"alice/{unique('settings')}"
    api.create_repo(repo)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.update_repo_settings(repo, private=True)
    assert error.value.response.status_code == 403
    assert api.model_info(repo).private is False


def _gone_or_redirected(api, old: str, new: str) -> None:
    """After a move the old id is either gone or redirects to the new one (HF keeps a 307)."""
    try:
        info = api.model_info(old)
    except RepositoryNotFoundError:
        return
    assert info.id == new, f"old id {old} still answers as itself after the move"


def test_move_repo_within_namespace_and_to_org(api):
    repo = f"alice/{unique('move')}"
    api.create_repo(repo)
    commit = api.upload_file(path_or_fileobj=b"kept", path_in_repo="f.txt", repo_id=repo)

    renamed = f"alice/{unique('renamed')}"
    api.move_repo(from_id=repo, to_id=renamed)
    assert api.list_repo_files(renamed) == [".gitattributes", "f.txt"]
    assert api.model_info(renamed).sha == commit.oid, "moving must keep the history"
    _gone_or_redirected(api, repo, renamed)

    to_org = f"acme/{unique('moved')}"
    api.move_repo(from_id=renamed, to_id=to_org)
    assert api.model_info(to_org).id == to_org
    assert read(api.hf_hub_download(to_org, "f.txt")) == b"kept"
    _gone_or_redirected(api, renamed, to_org)

    # The old name is free again.
    api.create_repo(repo)
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_move_dataset_repo(api):
    repo = f"alice/{unique('dsmove')}"
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=b"a\n1\n", path_in_repo="d.csv", repo_id=repo, repo_type="dataset")
    target = f"alice/{unique('dsmoved')}"
    api.move_repo(from_id=repo, to_id=target, repo_type="dataset")
    assert sorted(api.list_repo_files(target, repo_type="dataset")) == [".gitattributes", "d.csv"]


def test_move_needs_rights_on_both_sides(api, bob):
    repo = f"alice/{unique('nomove')}"
    api.create_repo(repo)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.move_repo(from_id=repo, to_id=f"bob/{unique('stolen')}")
    assert error.value.response.status_code in (403, 404)
    assert api.repo_exists(repo)
    mine = f"bob/{unique('mine')}"
    bob.api.create_repo(mine)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.move_repo(from_id=mine, to_id=f"acme/{unique('intrude')}")
    assert error.value.response.status_code == 403
    assert bob.api.repo_exists(mine)


def test_delete_repo(api, bob):
    repo = f"alice/{unique('delete')}"
    api.create_repo(repo)
    with pytest.raises(HfHubHTTPError) as error:
        bob.api.delete_repo(repo)
    assert error.value.response.status_code == 403
    assert api.repo_exists(repo)

    api.delete_repo(repo)
    assert not api.repo_exists(repo)
    with pytest.raises(RepositoryNotFoundError):
        api.delete_repo(repo)
    api.delete_repo(repo, missing_ok=True)  # needs X-Error-Code: RepoNotFound on the 404
    # The name can be reused and starts from scratch.
    api.create_repo(repo)
    assert api.list_repo_files(repo) == [".gitattributes"]


def test_repo_exists_and_file_exists(hub, api, repo_id):
    api.upload_file(path_or_fileobj=b"{}", path_in_repo="dir/config.json", repo_id=repo_id)
    assert api.repo_exists(repo_id)
    assert hub.anon.repo_exists(repo_id)
    assert not api.repo_exists(f"alice/{unique('never')}")
    assert not api.repo_exists(f"nobody-{unique()}/x")
    assert api.file_exists(repo_id, "dir/config.json")
    assert hub.anon.file_exists(repo_id, "dir/config.json")
    assert not api.file_exists(repo_id, "dir/missing.json")
    assert not api.file_exists(repo_id, "dir/config.json", revision="no-such-branch")
    assert not api.file_exists(f"alice/{unique('never')}", "config.json")
    assert api.revision_exists(repo_id, "main")
    assert not api.revision_exists(repo_id, "no-such-branch")


def test_list_models_search_author_limit(hub, api, alice):
    marker = unique("listing")
    public = [f"alice/{marker}-{i}" for i in range(3)]
    for rid in public:
        api.create_repo(rid)
    in_org = f"acme/{marker}-org"
    api.create_repo(in_org)
    private = f"alice/{marker}-private"
    api.create_repo(private, private=True)
    api.create_repo(f"alice/{marker}-dataset", repo_type="dataset")

    anon_ids = sorted(m.id for m in hub.anon.list_models(search=marker))
    assert anon_ids == sorted(public + [in_org]), "search must match ids, hide private repos and other types"
    assert sorted(m.id for m in hub.anon.list_models(search=marker, author="alice")) == sorted(public)
    assert [m.id for m in hub.anon.list_models(search=marker, author="acme")] == [in_org]
    assert list(hub.anon.list_models(search=marker, author="bob")) == []
    limited = list(hub.anon.list_models(search=marker, limit=2))
    assert len(limited) == 2
    assert {m.id for m in limited} <= set(anon_ids)
    # The owner sees her private repo in listings too.
    assert private in {m.id for m in api.list_models(search=marker, author="alice")}
    assert [d.id for d in hub.anon.list_datasets(search=marker)] == [f"alice/{marker}-dataset"]
    # Each listed model carries what the client reads.
    m = next(iter(hub.anon.list_models(search=f"{marker}-0")))
    assert m.id == public[0]
    assert m.author == "alice"
    assert m.private is False
    assert m.last_modified is not None


def test_list_models_cursor_pagination(hub, api):
    """`limit` is the page size; further pages come through an absolute `Link: <...>; rel="next"`."""
    marker = unique("pages")
    ids = [f"alice/{marker}-{i}" for i in range(5)]
    for rid in ids:
        api.create_repo(rid)
    from huggingface_hub.utils._pagination import _paginate_pages

    pages = list(_paginate_pages(f"{hub.endpoint}/api/models", params={"search": marker, "limit": 2}, headers={}))
    sizes = [len(page) for page, _ in pages]
    assert sizes == [2, 2, 1], f"expected pages of 2 through Link headers, got page sizes {sizes}"
    seen = [m["id"] for page, _ in pages for m in page]
    assert sorted(seen) == sorted(ids), "pagination lost or repeated entries"
    # The high-level helper agrees.
    assert sorted(m["id"] for m in paginate(f"{hub.endpoint}/api/models", {"search": marker}, {})) == sorted(ids)


def test_list_models_filter_sort_full(hub, api):
    marker = unique("filters")
    ids = [f"alice/{marker}-{i}" for i in range(3)]
    for rid in ids:
        api.create_repo(rid)
    tagged = [ids[0], ids[2]]  # README commits after all three were created
    for rid in tagged:
        time.sleep(1.1)  # lastModified may come from git commit dates, which have 1 s resolution
        readme = f"---\ntags:\n- {marker}-tag\nlibrary_name: transformers\n---\n# {rid}\n"
        api.upload_file(path_or_fileobj=readme.encode(), path_in_repo="README.md", repo_id=rid)
    assert sorted(m.id for m in hub.anon.list_models(filter=f"{marker}-tag")) == sorted(tagged)
    assert sorted(m.id for m in hub.anon.list_models(filter=[f"{marker}-tag", "transformers"])) == sorted(tagged)
    assert list(hub.anon.list_models(filter=[f"{marker}-tag", "no-such-tag"])) == []

    # Descending: creation order 2, 1, 0; modification order 2, 0 (README commits), then 1.
    by_created = [m.id for m in hub.anon.list_models(search=marker, sort="created_at")]
    assert by_created == [f"alice/{marker}-{i}" for i in (2, 1, 0)]
    by_modified = [m.id for m in hub.anon.list_models(search=marker, sort="last_modified")]
    assert by_modified == [f"alice/{marker}-{i}" for i in (2, 0, 1)]

    # Older clients still send direction=-1; it must be accepted.
    status, _, body = http("GET", f"{hub.endpoint}/api/models?search={marker}&sort=createdAt&direction=-1")
    assert status == 200
    assert [m["id"] for m in json.loads(body)] == by_created

    full = {m.id: m for m in hub.anon.list_models(search=marker, full=True)}
    assert {s.rfilename for s in full[f"alice/{marker}-0"].siblings} == {".gitattributes", "README.md"}


def test_repo_info_blobs_and_expand(hub, api, repo_id):
    big = random_bytes(10_600_000, seed=404)
    api.upload_file(path_or_fileobj=b"small", path_in_repo="small.txt", repo_id=repo_id)
    api.upload_file(path_or_fileobj=big, path_in_repo="big.bin", repo_id=repo_id)
    info = hub.anon.model_info(repo_id, files_metadata=True)
    siblings = {s.rfilename: s for s in info.siblings}
    assert siblings["small.txt"].size == 5
    assert siblings["small.txt"].blob_id == git_blob_sha1(b"small")
    assert siblings["small.txt"].lfs is None
    assert siblings["big.bin"].size == len(big)
    assert siblings["big.bin"].lfs is not None
    assert siblings["big.bin"].lfs.sha256 == sha256_bytes(big)
    assert siblings["big.bin"].lfs.size == len(big)
    assert siblings["big.bin"].lfs.pointer_size > 100

    expanded = hub.anon.model_info(repo_id, expand=["sha", "lastModified", "private"])
    assert expanded.id == repo_id
    assert expanded.sha == info.sha
    assert expanded.private is False
    assert expanded.last_modified is not None
    assert expanded.siblings is None, "expand returns only the listed properties"
    # At a revision.
    first = api.list_repo_commits(repo_id)[-1].commit_id
    old = hub.anon.model_info(repo_id, revision=first)
    assert old.sha == first
    assert [s.rfilename for s in old.siblings] == [".gitattributes"]
