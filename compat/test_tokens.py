"""Access tokens with the official client: roles in `whoami()`, tokens created and revoked over
`/api/settings/tokens` and with the admin CLI, fine-grained scopes enforced on real calls."""

import json

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError
from support import http, unique


def _create(hub, token: str, body: dict) -> dict:
    status, _, raw = http(
        "POST",
        f"{hub.endpoint}/api/settings/tokens",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        data=json.dumps(body).encode(),
    )
    assert status == 201, raw
    return json.loads(raw)


def test_whoami_shows_the_role_and_a_revoked_token_raises(hub, alice):
    created = _create(hub, alice.write_token, {"name": unique("laptop"), "role": "read"})
    api = HfApi(endpoint=hub.endpoint, token=created["token"])
    me = api.whoami()
    assert me["name"] == alice.name
    assert me["auth"]["accessToken"]["role"] == "read"
    assert me["auth"]["accessToken"]["displayName"] == created["name"]
    assert HfApi(endpoint=hub.endpoint, token=alice.write_token).whoami()["auth"]["accessToken"]["role"] == "write"

    status, _, _ = http(
        "DELETE",
        f"{hub.endpoint}/api/settings/tokens/{created['id']}",
        headers={"Authorization": f"Bearer {alice.write_token}"},
    )
    assert status == 200
    with pytest.raises(HfHubHTTPError) as error:
        api.whoami()
    assert error.value.response.status_code == 401


def test_cli_tokens_expire_list_and_revoke(hub, alice):
    name = unique("cli")
    secret = hub.admin_cli("token", "create", alice.name, "--role", "write", "--name", name, "--expires-in-days", "3").strip()
    me = HfApi(endpoint=hub.endpoint, token=secret).whoami()
    assert me["auth"]["accessToken"]["role"] == "write"
    assert me["auth"]["accessToken"]["expiresAt"].endswith("Z")
    line = next(l for l in hub.admin_cli("token", "list", alice.name).splitlines() if f"\t{name}\t" in l)
    assert secret not in line
    hub.admin_cli("token", "revoke", line.split("\t")[0])
    with pytest.raises(HfHubHTTPError):
        HfApi(endpoint=hub.endpoint, token=secret).whoami()


def test_fine_grained_token_reads_and_writes_its_repo_only(hub, alice):
    scoped = f"{alice.name}/{unique('scoped')}"
    hidden = f"{alice.name}/{unique('hidden')}"
    alice.api.create_repo(scoped, private=True)
    alice.api.create_repo(hidden, private=True)
    secret = hub.admin_cli(
        "token", "create", alice.name, "--name", unique("ci"), "--scope", f"model:{scoped}=repo.write"
    ).strip()
    api = HfApi(endpoint=hub.endpoint, token=secret)
    assert api.whoami()["auth"]["accessToken"]["role"] == "fineGrained"
    api.upload_file(path_or_fileobj=b"hello", path_in_repo="a.txt", repo_id=scoped)
    assert "a.txt" in api.list_repo_files(scoped)
    with pytest.raises(RepositoryNotFoundError):
        api.model_info(hidden)
    with pytest.raises(RepositoryNotFoundError):
        api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id=hidden)
    listed = {m.id for m in api.list_models(author=alice.name)}
    assert scoped in listed and hidden not in listed
