"""Organizations with the official client: members listed by `list_organization_members`, the
contributor role (creates repos, writes only to its own), and members managed over the API
and with the admin CLI."""

import json

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from support import http, unique


def _add(hub, token: str, org: str, user: str, role: str) -> int:
    status, _, _ = http(
        "POST",
        f"{hub.endpoint}/api/organizations/{org}/members",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps({"user": user, "role": role}).encode(),
    )
    return status


def test_contributors_write_only_to_repos_they_created(hub, alice, bob, tmp_path):
    org = unique("org")
    hub.admin_cli("org", "create", org, "--owner", alice.name)
    assert _add(hub, bob.write_token, org, bob.name, "admin") == 403, "only admins add members"
    assert _add(hub, alice.write_token, org, bob.name, "contributor") == 200
    assert {"name": org, "roleInOrg": "contributor"}.items() <= next(
        o for o in bob.api.whoami()["orgs"] if o["name"] == org
    ).items()

    members = {m.username for m in alice.api.list_organization_members(org)}
    assert members == {alice.name, bob.name}
    cli = hub.admin_cli("org", "members", org).splitlines()
    assert sorted(cli) == sorted([f"{alice.name}\tadmin", f"{bob.name}\tcontributor"])

    own = f"{org}/{unique('bobs')}"
    bob.api.create_repo(own, private=True)
    bob.api.upload_file(path_or_fileobj=b"mine", path_in_repo="a.txt", repo_id=own)
    theirs = f"{org}/{unique('alices')}"
    alice.api.create_repo(theirs, private=True)
    assert bob.api.model_info(theirs).id == theirs, "members read the org's private repos"
    with pytest.raises(HfHubHTTPError) as refused:
        bob.api.upload_file(path_or_fileobj=b"not mine", path_in_repo="b.txt", repo_id=theirs)
    assert refused.value.response.status_code == 403

    hub.admin_cli("org", "remove-member", org, bob.name)
    with pytest.raises(HfHubHTTPError) as gone:
        list(bob.api.list_organization_members(org))
    assert gone.value.response.status_code == 403
    assert org not in {o["name"] for o in bob.api.whoami()["orgs"]}
    anonymous = HfApi(endpoint=hub.endpoint, token=False)
    with pytest.raises(HfHubHTTPError):
        list(anonymous.list_organization_members(org))
