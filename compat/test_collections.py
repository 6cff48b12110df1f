"""Collections with the official client (issue 20): `create_collection` (with `exists_ok`),
`get_collection`, `update_collection_metadata`, `delete_collection`, `add_collection_item`,
`update_collection_item`, `delete_collection_item` and `list_collections`. A private collection
is hidden from everyone else as a private repo is; an item pointing at something a caller may
not see is left out of what that caller gets; only the namespace's managers change anything."""

import json

import pytest
from huggingface_hub.errors import HfHubHTTPError
from support import run_cli, unique

THEMES = {"orange", "blue", "green", "purple", "pink", "indigo"}


def status_of(call, *args, **kwargs) -> int:
    with pytest.raises(HfHubHTTPError) as failed:
        call(*args, **kwargs)
    return failed.value.response.status_code


def public_repos(api, owner: str, prefix: str) -> dict[str, str]:
    """A model, a dataset and a Space of `owner`, by type."""
    repos = {"model": f"{owner}/{unique(prefix)}", "dataset": f"{owner}/{unique(prefix)}", "space": f"{owner}/{unique(prefix)}"}
    for kind, repo_id in repos.items():
        api.create_repo(repo_id, repo_type=kind, space_sdk="static" if kind == "space" else None)
    return repos


def test_create_get_update_and_delete_a_collection(hub, alice):
    title = unique("Recent models")
    created = alice.api.create_collection(title, description="What I use")
    assert created.slug.startswith(f"alice/{title.lower().replace(' ', '-')}-") and len(created.slug.rsplit("-", 1)[1]) == 24
    assert (created.title, created.description, created.private, created.items) == (title, "What I use", False, [])
    assert created.owner["name"] == "alice" and created.theme in THEMES and created.upvotes == 0
    assert created.url == f"{hub.endpoint}/collections/{created.slug}"
    fetched = hub.anon.get_collection(created.slug)
    assert (fetched.slug, fetched.title, fetched.position) == (created.slug, title, created.position)
    # The title is taken: a 409 naming the existing collection, which `exists_ok` returns.
    assert status_of(alice.api.create_collection, title) == 409
    assert alice.api.create_collection(title, exists_ok=True).slug == created.slug

    renamed = alice.api.update_collection_metadata(
        created.slug, title=f"{title} v2", description="Now different", theme="pink"
    )
    assert renamed.slug != created.slug and renamed.slug.endswith(created.slug.rsplit("-", 1)[1]), "same id"
    assert (renamed.title, renamed.description, renamed.theme) == (f"{title} v2", "Now different", "pink")
    assert hub.anon.get_collection(created.slug).title == f"{title} v2", "an old slug answers by its id"

    alice.api.delete_collection(renamed.slug)
    assert status_of(hub.anon.get_collection, renamed.slug) == 404
    assert status_of(alice.api.delete_collection, renamed.slug) == 404
    alice.api.delete_collection(renamed.slug, missing_ok=True)


def test_items_are_added_moved_noted_and_removed(hub, alice):
    repos = public_repos(alice.api, "alice", "item")
    inner = alice.api.create_collection(unique("Inner"))
    outer = alice.api.create_collection(unique("Outer"))
    for kind, repo_id in repos.items():
        alice.api.add_collection_item(outer.slug, repo_id, kind, note=f"<b>{kind}</b>")
    added = alice.api.add_collection_item(outer.slug, inner.slug, "collection")
    assert [(i.item_type, i.item_id, i.position) for i in added.items] == [
        ("model", repos["model"], 0),
        ("dataset", repos["dataset"], 1),
        ("space", repos["space"], 2),
        ("collection", inner.slug, 3),
    ]
    assert added.items[0].note == "<b>model</b>", "notes are stored as given, never rendered"
    assert status_of(alice.api.add_collection_item, outer.slug, repos["model"], "model") == 409
    again = alice.api.add_collection_item(outer.slug, repos["model"], "model", exists_ok=True)
    assert len(again.items) == 4

    space = added.items[2]
    alice.api.update_collection_item(outer.slug, space.item_object_id, note="moved first", position=0)
    items = hub.anon.get_collection(outer.slug).items
    assert [i.item_id for i in items] == [repos["space"], repos["model"], repos["dataset"], inner.slug]
    assert items[0].note == "moved first" and items[0].item_object_id == space.item_object_id

    alice.api.delete_collection_item(outer.slug, space.item_object_id)
    assert status_of(alice.api.delete_collection_item, outer.slug, space.item_object_id) == 404
    alice.api.delete_collection_item(outer.slug, space.item_object_id, missing_ok=True)
    # Deleting what an item points at takes the item with it.
    alice.api.delete_repo(repos["dataset"], repo_type="dataset")
    alice.api.delete_collection(inner.slug)
    assert [i.item_id for i in hub.anon.get_collection(outer.slug).items] == [repos["model"]]


def test_list_collections_by_owner_item_and_sort(hub, alice, bob):
    repos = public_repos(alice.api, "alice", "listed")
    older = alice.api.create_collection(unique("Older"))
    newer = alice.api.create_collection(unique("Newer"))
    for kind in ("model", "dataset", "space"):
        alice.api.add_collection_item(newer.slug, repos[kind], kind)
    for _ in range(2):
        alice.api.add_collection_item(newer.slug, alice.api.create_collection(unique("Nested")).slug, "collection")
    alice.api.add_collection_item(older.slug, repos["model"], "model")
    bobs = bob.api.create_collection(unique("Bob's"))

    holding = list(hub.anon.list_collections(item=f"models/{repos['model']}", sort="lastModified"))
    assert [c.slug for c in holding] == [older.slug, newer.slug], "the latest change first"
    assert [c.position for c in holding] == [0, 1]
    assert len(holding[1].items) == 4, "a listing shows the first 4 items"
    assert [c.slug for c in hub.anon.list_collections(item=f"spaces/{repos['space']}")] == [newer.slug]
    assert list(hub.anon.list_collections(item="papers/2311.12983")) == []
    mine = [c.slug for c in hub.anon.list_collections(owner="alice", limit=200)]
    assert older.slug in mine and newer.slug in mine and bobs.slug not in mine
    assert len(list(hub.anon.list_collections(owner="alice", limit=2))) == 2
    assert [c.slug for c in hub.anon.list_collections(owner="bob", sort="upvotes")][0] == bobs.slug
    everything = [c.slug for c in hub.anon.list_collections(sort="trending")]
    assert bobs.slug in everything and older.slug in everything, "pages are followed"


def test_a_private_collection_is_hidden_from_everyone_else(hub, alice, bob):
    secret = alice.api.create_collection(unique("Secret"), private=True)
    assert secret.private
    assert alice.api.get_collection(secret.slug).private
    for api in (hub.anon, bob.api):
        assert status_of(api.get_collection, secret.slug) == 404
        assert secret.slug not in [c.slug for c in api.list_collections(owner="alice", limit=500)]
    assert secret.slug in [c.slug for c in alice.api.list_collections(owner="alice", limit=500)]
    assert status_of(bob.api.add_collection_item, bob.api.create_collection(unique("Mine")).slug, secret.slug, "collection") == 404
    alice.api.update_collection_metadata(secret.slug, private=False)
    assert hub.anon.get_collection(secret.slug).private is False


def test_items_pointing_at_private_repos_are_hidden_from_others(hub, alice, bob):
    public = f"alice/{unique('shown')}"
    private = f"alice/{unique('hidden')}"
    alice.api.create_repo(public)
    alice.api.create_repo(private, private=True)
    shelf = alice.api.create_collection(unique("Shelf"))
    alice.api.add_collection_item(shelf.slug, private, "model")
    alice.api.add_collection_item(shelf.slug, public, "model")
    assert [i.item_id for i in alice.api.get_collection(shelf.slug).items] == [private, public]
    for api in (hub.anon, bob.api):
        seen = api.get_collection(shelf.slug).items
        assert [(i.item_id, i.position) for i in seen] == [(public, 0)], "no gap says something is hidden"
        assert list(api.list_collections(item=f"models/{private}")) == []
    assert [c.slug for c in alice.api.list_collections(item=f"models/{private}")] == [shelf.slug]
    # Naming a repo one may not see is a 404, like a missing one.
    bobs = bob.api.create_collection(unique("Bob's shelf"))
    assert status_of(bob.api.add_collection_item, bobs.slug, private, "model") == 404
    assert status_of(bob.api.add_collection_item, bobs.slug, f"alice/{unique('nothing')}", "model") == 404


def test_only_the_namespace_managers_write(hub, alice, bob):
    model = f"alice/{unique('owned')}"
    alice.api.create_repo(model)
    theirs = alice.api.create_collection(unique("Alice's"))
    item = alice.api.add_collection_item(theirs.slug, model, "model").items[0].item_object_id
    assert status_of(bob.api.update_collection_metadata, theirs.slug, title="Bob's now") == 403
    assert status_of(bob.api.delete_collection, theirs.slug) == 403
    assert status_of(bob.api.add_collection_item, theirs.slug, model, "model") == 403
    assert status_of(bob.api.update_collection_item, theirs.slug, item, note="mine") == 403
    assert status_of(bob.api.delete_collection_item, theirs.slug, item) == 403
    assert status_of(bob.api.create_collection, unique("In alice's name"), namespace="alice") == 403
    assert status_of(bob.api.create_collection, unique("In acme's name"), namespace=hub.org) == 403
    assert status_of(bob.read_api.create_collection, unique("Read token"), namespace="bob") == 403
    assert status_of(hub.anon.create_collection, unique("Nobody"), namespace="bob") == 401
    assert [i.item_object_id for i in hub.anon.get_collection(theirs.slug).items] == [item], "nothing changed"
    # An org's admins manage its collections.
    org_collection = alice.api.create_collection(unique("Team picks"), namespace=hub.org)
    assert org_collection.slug.startswith(f"{hub.org}/") and org_collection.owner["type"] == "org"
    alice.api.delete_collection(org_collection.slug)


def test_bad_input_is_refused(hub, alice):
    assert status_of(alice.api.create_collection, "   ") == 400
    assert status_of(alice.api.create_collection, "t" * 61) == 400
    assert status_of(alice.api.create_collection, unique("Long"), description="d" * 151) == 400
    shelf = alice.api.create_collection(unique("Checked"))
    assert status_of(alice.api.update_collection_metadata, shelf.slug, theme="red") == 400
    assert status_of(alice.api.add_collection_item, shelf.slug, "2307.09288", "paper") == 400
    assert status_of(alice.api.add_collection_item, shelf.slug, shelf.slug, "collection") == 400
    model = f"alice/{unique('noted')}"
    alice.api.create_repo(model)
    assert status_of(alice.api.add_collection_item, shelf.slug, model, "model", note="n" * 501) == 400
    assert status_of(alice.api.add_collection_item, shelf.slug, model, "bucket") == 400
    assert status_of(alice.api.get_collection, "alice/not-a-slug") == 404
    assert status_of(alice.api.get_collection, shelf.slug.replace("alice/", "bob/")) == 404
    assert status_of(alice.api.update_collection_item, shelf.slug, "f" * 24, note="x") == 404
    with pytest.raises(HfHubHTTPError) as bad_sort:
        list(hub.anon.list_collections(sort="bogus"))
    assert bad_sort.value.response.status_code == 400


def as_json(proc) -> object:
    return json.loads(proc.stdout or "null")


def test_the_hf_collections_commands(hub, alice):
    model = f"alice/{unique('cli')}"
    alice.api.create_repo(model)
    title = unique("From the CLI")
    token, out = alice.write_token, ["--format", "json"]
    slug = as_json(run_cli(["collections", "create", title, "--description", "made by hf", *out], token))["slug"]
    run_cli(["collections", "add-item", slug, model, "model", "--note", "first", *out], token)
    info = as_json(run_cli(["collections", "info", slug, *out], None))
    item = info["items"][0]["item_object_id"]
    assert (info["description"], info["items"][0]["note"]) == ("made by hf", "first")
    run_cli(["collections", "update-item", slug, item, "--note", "changed", "--position", "0", *out], token)
    updated = run_cli(["collections", "update", slug, "--title", f"{title} v2", "--theme", "blue", *out], token)
    renamed = as_json(updated)["slug"]
    listed = as_json(run_cli(["collections", "ls", "--owner", "alice", "--limit", "100", *out], None))
    assert renamed in [c["slug"] for c in listed]
    assert hub.anon.get_collection(renamed).items[0].note == "changed"
    run_cli(["collections", "delete-item", renamed, item, *out], token)
    assert hub.anon.get_collection(renamed).items == []
    run_cli(["collections", "delete", renamed, *out], token)
    assert status_of(hub.anon.get_collection, renamed) == 404
