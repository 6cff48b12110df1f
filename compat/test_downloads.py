"""Download counts with the official client (issue 20): a model counts requests for its query
file (`config.json`), a dataset requests for any file, each client (a user, else an address)
once per repo and day, so repeating a download never inflates a count; `downloads` (30 days)
and `downloadsAllTime`, and listings sorted by downloads. Counts are written in batches every
few seconds, so the checks wait for them."""

import time

from huggingface_hub import hf_hub_download
from support import http, unique


def wait_for(read, want, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_a_models_query_file_counts_once_per_client(hub, alice, bob, tmp_path):
    repo_id = f"alice/{unique('counted')}"
    alice.api.create_repo(repo_id)
    alice.api.upload_file(path_or_fileobj=b'{"model_type": "tiny"}', path_in_repo="config.json", repo_id=repo_id)
    alice.api.upload_file(path_or_fileobj=b"weights", path_in_repo="weights.bin", repo_id=repo_id)
    for n, who in enumerate([alice, alice, bob, None]):
        token = who.write_token if who else False
        hf_hub_download(repo_id, "config.json", cache_dir=tmp_path / f"c{n}", token=token)
        hf_hub_download(repo_id, "weights.bin", cache_dir=tmp_path / f"c{n}", token=token)
    # alice twice counts once; bob once; the anonymous client (its address) once.
    assert wait_for(lambda: hub.anon.model_info(repo_id).downloads, 3) == 3
    info = hub.anon.model_info(repo_id, expand=["downloads", "downloadsAllTime"])
    assert (info.downloads, info.downloads_all_time) == (3, 3)


def test_datasets_count_their_files_and_listings_sort_by_downloads(hub, alice, bob, tmp_path):
    prefix = unique("popular")
    quiet, busy = f"alice/{prefix}-quiet", f"alice/{prefix}-busy"
    for repo_id in (quiet, busy):
        alice.api.create_repo(repo_id, repo_type="dataset")
        alice.api.upload_file(path_or_fileobj=b"a,b\n1,2\n", path_in_repo="data.csv", repo_id=repo_id,
                              repo_type="dataset")
    for n, who in enumerate([alice, bob]):
        hf_hub_download(busy, "data.csv", repo_type="dataset", cache_dir=tmp_path / f"d{n}", token=who.write_token)
    assert wait_for(lambda: hub.anon.dataset_info(busy).downloads, 2) == 2
    ranked = [d.id for d in hub.anon.list_datasets(search=prefix, sort="downloads")]
    assert ranked == [busy, quiet]


def test_trending_weighs_recent_likes_and_downloads(hub, alice, bob, tmp_path):
    prefix = unique("trend")
    liked, fetched, idle = (f"alice/{prefix}-{kind}" for kind in ("liked", "fetched", "idle"))
    for repo_id in (liked, fetched, idle):
        alice.api.create_repo(repo_id)
        alice.api.upload_file(path_or_fileobj=b'{"model_type": "tiny"}', path_in_repo="config.json", repo_id=repo_id)
    for who in (alice, bob):
        status, _, body = http("POST", f"{hub.endpoint}/api/models/{liked}/like", token=who.write_token)
        assert status == 200, body
    for n, who in enumerate([alice, bob, None]):
        hf_hub_download(fetched, "config.json", cache_dir=tmp_path / f"t{n}", token=who.write_token if who else False)

    def score(repo_id):
        return hub.anon.model_info(repo_id, expand=["trendingScore"]).trending_score

    # A like weighs ten downloads: two likes, three downloads (three clients), nothing.
    assert wait_for(lambda: score(fetched), 3) == 3
    assert (score(liked), score(idle)) == (20, 0)
    ranked = [m.id for m in hub.anon.list_models(search=prefix, sort="trending_score")]
    assert ranked == [liked, fetched, idle]
    listed = {m.id: m.trending_score for m in hub.anon.list_models(search=prefix, expand=["trendingScore"])}
    assert listed == {liked: 20, fetched: 3, idle: 0}
    # Unliking takes the like's weight back at once.
    status, _, _ = http("DELETE", f"{hub.endpoint}/api/models/{liked}/like", token=bob.write_token)
    assert status == 200
    assert score(liked) == 10
