"""Likes with the official client (issue 20, first part): the browser's `POST …/like` (the
client deliberately has no `like`), `unlike`, `list_liked_repos`, `list_repo_likers`, `likes`
in repo info and listings, and listings sorted by likes. Private repos stay hidden in every
listing of likes."""

import pytest
from huggingface_hub.errors import HfHubHTTPError
from support import http, unique


def like(hub, token, repo_id, repo_type="model", method="POST"):
    status, _, body = http(method, f"{hub.endpoint}/api/{repo_type}s/{repo_id}/like", token=token)
    return status


def test_like_unlike_and_the_listings(hub, alice, bob):
    repo_id = f"alice/{unique('liked')}"
    alice.api.create_repo(repo_id)
    assert alice.api.model_info(repo_id).likes == 0
    assert like(hub, bob.write_token, repo_id) == 200
    assert like(hub, bob.write_token, repo_id) == 200, "liking twice is fine"
    assert like(hub, alice.write_token, repo_id) == 200
    assert hub.anon.model_info(repo_id).likes == 2, "liking twice counts once"
    assert [u.username for u in hub.anon.list_repo_likers(repo_id)] == ["alice", "bob"], "latest first"
    assert repo_id in bob.api.list_liked_repos().models
    assert repo_id in hub.anon.list_liked_repos("bob").models
    bob.api.unlike(repo_id)
    assert hub.anon.model_info(repo_id).likes == 1
    assert repo_id not in hub.anon.list_liked_repos("bob").models
    # Other repo types and the user listing's shape.
    space = f"alice/{unique('app')}"
    alice.api.create_repo(space, repo_type="space", space_sdk="static")
    assert like(hub, bob.write_token, space, "space") == 200
    liked = hub.anon.list_liked_repos("bob")
    # Other tests' likes may be there too: this test's repos decide.
    assert space in liked.spaces and repo_id not in liked.models and space not in liked.models
    assert liked.total == len(liked.models) + len(liked.datasets) + len(liked.spaces)


def test_who_may_like_and_what_listings_show(hub, alice, bob):
    private = f"alice/{unique('secret')}"
    alice.api.create_repo(private, private=True)
    assert like(hub, None, private) in (401, 404)
    assert like(hub, bob.write_token, private) == 404, "a private repo is hidden"
    public = f"alice/{unique('open')}"
    alice.api.create_repo(public)
    assert like(hub, None, public) == 401
    assert like(hub, bob.read_token, public) == 403, "liking needs a token that writes"
    assert like(hub, alice.write_token, private) == 200
    assert private in alice.api.list_liked_repos().models, "alice sees her own private like"
    assert private not in hub.anon.list_liked_repos("alice").models
    assert private not in bob.api.list_liked_repos("alice").models
    with pytest.raises(HfHubHTTPError) as missing:
        hub.anon.list_liked_repos("nobody-at-all")
    assert missing.value.response.status_code == 404
    with pytest.raises(HfHubHTTPError):
        list(bob.api.list_repo_likers(private))


def test_listings_carry_likes_and_sort_by_them(hub, alice, bob):
    prefix = unique("ranked")
    ids = [f"alice/{prefix}-{n}" for n in range(3)]
    for repo_id in ids:
        alice.api.create_repo(repo_id)
    for who in (alice, bob):
        assert like(hub, who.write_token, ids[1]) == 200
    assert like(hub, bob.write_token, ids[2]) == 200
    ranked = list(hub.anon.list_models(search=prefix, sort="likes"))
    assert [m.id for m in ranked] == [ids[1], ids[2], ids[0]]
    assert [m.likes for m in ranked] == [2, 1, 0]


def test_datasets_and_spaces_sort_by_likes_too(hub, alice, bob):
    prefix = unique("ranked-kinds")
    for repo_type, listing in (("dataset", hub.anon.list_datasets), ("space", hub.anon.list_spaces)):
        ids = [f"alice/{prefix}-{repo_type}-{n}" for n in range(2)]
        for repo_id in ids:
            alice.api.create_repo(repo_id, repo_type=repo_type, space_sdk="static" if repo_type == "space" else None)
        assert like(hub, bob.write_token, ids[1], repo_type) == 200
        ranked = list(listing(search=f"{prefix}-{repo_type}", sort="likes"))
        assert [(r.id, r.likes) for r in ranked] == [(ids[1], 1), (ids[0], 0)], repo_type
