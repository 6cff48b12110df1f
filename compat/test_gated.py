"""Gated repos with the official client: `GatedRepoError` until access is accepted, the
access-request methods of `HfApi` (their listings are lazy iterators), and byte-exact downloads
afterwards.

Users ask for access through kura's own `POST /api/{type}s/{repo}/ask-access` (the Hub does
this in its web UI, so the client has no method for it)."""

import json

import pytest
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError
from support import http, random_bytes, read, unique

# Binary, so preupload routes it through LFS (or Xet with KURA_COMPAT_XET=1), not inline.
WEIGHTS = random_bytes(300_000, seed=61)


def gated_repo(alice, gated: str) -> str:
    repo_id = f"alice/{unique('gated')}"
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=WEIGHTS, path_in_repo="weights.bin", repo_id=repo_id)
    alice.api.update_repo_settings(repo_id, gated=gated)
    return repo_id


def ask_access(hub, user, repo_id: str, fields: dict | None = None) -> dict:
    body = json.dumps({"fields": fields} if fields is not None else {}).encode()
    status, _, answer = http(
        "POST",
        f"{hub.endpoint}/api/models/{repo_id}/ask-access",
        token=user.read_token,
        headers={"Content-Type": "application/json"},
        data=body,
    )
    assert status == 200, answer
    return json.loads(answer)


def download(user, repo_id: str, cache_dir) -> bytes:
    return read(hf_hub_download(repo_id, "weights.bin", token=user.read_token, cache_dir=cache_dir))


def test_manual_gating_until_the_owner_accepts(hub, alice, bob, tmp_path):
    repo_id = gated_repo(alice, "manual")
    assert alice.api.model_info(repo_id).gated == "manual"
    with pytest.raises(GatedRepoError) as error:
        download(bob, repo_id, tmp_path / "c1")
    assert "ask-access" in str(error.value)
    with pytest.raises(GatedRepoError):
        hub.anon.hf_hub_download(repo_id, "weights.bin", cache_dir=tmp_path / "c2")
    # Metadata stays readable for everyone, as on the Hub.
    assert "weights.bin" in bob.api.list_repo_files(repo_id)

    assert ask_access(hub, bob, repo_id, {"affiliation": "kura tests"})["status"] == "pending"
    with pytest.raises(GatedRepoError) as error:
        download(bob, repo_id, tmp_path / "c3")
    assert "awaiting approval" in str(error.value)
    with pytest.raises(HfHubHTTPError) as error:
        list(bob.api.list_pending_access_requests(repo_id))
    assert error.value.response.status_code == 403

    pending = list(alice.api.list_pending_access_requests(repo_id))
    assert [r.username for r in pending] == ["bob"]
    assert pending[0].status == "pending"
    assert pending[0].fields == {"affiliation": "kura tests"}
    assert pending[0].timestamp.year >= 2024
    alice.api.accept_access_request(repo_id, "bob")
    assert [r.username for r in list(alice.api.list_accepted_access_requests(repo_id))] == ["bob"]
    assert list(alice.api.list_pending_access_requests(repo_id)) == []
    assert download(bob, repo_id, tmp_path / "c4") == WEIGHTS

    alice.api.reject_access_request(repo_id, "bob", rejection_reason="audit")
    assert [r.username for r in list(alice.api.list_rejected_access_requests(repo_id))] == ["bob"]
    with pytest.raises(GatedRepoError) as error:
        download(bob, repo_id, tmp_path / "c5")
    assert "rejected" in str(error.value)
    alice.api.cancel_access_request(repo_id, "bob")
    assert [r.username for r in list(alice.api.list_pending_access_requests(repo_id))] == ["bob"]
    with pytest.raises(HfHubHTTPError) as error:
        alice.api.cancel_access_request(repo_id, "bob")
    assert error.value.response.status_code == 404, "already pending"


def test_grant_access_without_a_request(hub, alice, bob, tmp_path):
    repo_id = gated_repo(alice, "manual")
    alice.api.grant_access(repo_id, "bob")
    accepted = list(alice.api.list_accepted_access_requests(repo_id))
    assert [r.username for r in accepted] == ["bob"]
    assert download(bob, repo_id, tmp_path / "c") == WEIGHTS
    with pytest.raises(HfHubHTTPError) as error:
        alice.api.grant_access(repo_id, "bob")
    assert error.value.response.status_code == 400
    with pytest.raises(HfHubHTTPError) as error:
        alice.api.grant_access(repo_id, f"nobody-{unique()}")
    assert error.value.response.status_code == 404


def test_auto_gating_accepts_at_once(hub, alice, bob, tmp_path):
    repo_id = gated_repo(alice, "auto")
    with pytest.raises(GatedRepoError):
        download(bob, repo_id, tmp_path / "c1")
    assert ask_access(hub, bob, repo_id)["status"] == "accepted"
    assert download(bob, repo_id, tmp_path / "c2") == WEIGHTS
    assert [r.username for r in list(alice.api.list_accepted_access_requests(repo_id))] == ["bob"]
    # The owner never needed a request.
    assert download(alice, repo_id, tmp_path / "c3") == WEIGHTS


def test_audit_log_via_the_admin_cli(hub, alice, bob):
    repo_id = gated_repo(alice, "manual")
    ask_access(hub, bob, repo_id)
    alice.api.accept_access_request(repo_id, "bob")
    lines = hub.admin_cli("audit", "list", "--limit", "1000").splitlines()
    target = f"model:{repo_id}"
    actions = {line.split("\t")[2] for line in lines if f"\t{target}\t" in line}
    assert {"repo.gating", "access.request", "access.handle"} <= actions, lines[:10]
    listed = hub.admin_cli("access", "list", repo_id, "--status", "accepted")
    assert "\tbob\taccepted\t" in listed
