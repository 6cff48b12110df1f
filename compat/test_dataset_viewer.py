"""The dataset viewer (issue 17) against the real `datasets` and `huggingface_hub` clients.

Three small datasets go in through `HfApi` (`create_repo(repo_type="dataset")`,
`create_commit`, `upload_file`): a CSV dataset with a train and a test split (quoted fields,
unicode, a missing float, booleans), a JSONL dataset with nested lists and structs, and a parquet
file written by `datasets` itself (`Dataset.to_parquet`, several row groups) with a
`ClassLabel` column and no README, so that the label names can only travel in the parquet
file's `huggingface` metadata key. The module waits until `/datasets-server/is-valid` says
`viewer` and the export is of the current `main` commit, then checks:

* the export ref: `list_repo_refs(...).converts` holds `refs/convert/parquet`, and
  `dataset_info(revision="refs/convert/parquet")` lists `{config}/{split}/0000.parquet`;
* `load_dataset(repo, revision="refs/convert/parquet")` gives the same splits, rows, values and
  features as `load_dataset(repo)` from `main` (which `datasets` computes itself), ClassLabel
  names included; every export file carries the features in its `huggingface` key;
* `/info` meets every condition `datasets` puts on it (`X-Revision` = the main commit,
  `partial` false, `pending` and `failed` present and empty, `dataset_info` keyed by config),
  and its features, and those of `/rows` and `/first-rows`, equal `ds.features.to_dict()`
  (one allowed difference: text read from CSV on `main` is `large_string`, because `datasets`
  reads CSV with pandas 3, where the export says `string`; see `_plain`);
* `/rows` (several offsets, across row groups and to the end of a split) and `/first-rows`
  hold the loaded dataset's values at the same indices, columns (and struct fields) in the
  dataset's order; `/filter` selects what `Dataset.filter` selects;
* `/parquet` and the Hub's `/api/datasets/{id}/parquet`, whose per-file URL redirects (307) to
  `resolve/refs%2Fconvert%2Fparquet/...`: the bytes behind both are the export, which
  `load_dataset("parquet", data_files=...)` reads (from a local copy: fsspec's HTTP filesystem
  needs aiohttp, not in requirements.txt; and through `hf://...@refs%2Fconvert%2Fparquet/...`);
* a private dataset: viewer answers 401 / 404 without access, `datasets` passes the token to
  the viewer's host and loads the export with it;
* a new commit to `main` is exported again (new `X-Revision`, new row count, new target of the
  convert ref).

The viewer's own host. `datasets` derives it by replacing `://` with `://datasets-server.` in
`HF_ENDPOINT`; the suite's endpoint is `http://127.0.0.1:PORT`, and on the machine this module
was written on neither `datasets-server.127.0.0.1` nor `datasets-server.localhost` resolves
(`getent hosts datasets-server.localhost` fails: /etc/hosts and nsswitch have no `*.localhost`
rule). So the host routing is tested twice without DNS: a raw request to 127.0.0.1:PORT with
`Host: datasets-server.localhost`; and the library's own code paths
(`datasets.utils._dataset_viewer.get_exported_dataset_infos` / `get_exported_parquet_files`, and
`load_dataset_builder`, which fills `info.splits` and `info.features` from `/info` before any
data is read) with `socket.getaddrinfo` patched for the test so that `datasets-server.<host>`
resolves as `<host>`. Nothing else is patched: the request, its `Host` header and every check
`datasets` applies to the answer are the library's.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse
import urllib.request

import pytest
from huggingface_hub import CommitOperationAdd
from support import http, unique

EXPORT_TIMEOUT_S = 120.0
CONVERT_REF = "refs/convert/parquet"
CSV_TRAIN_ROWS, CSV_TEST_ROWS = 300, 40
JSONL_ROWS = 120
LABEL_ROWS = 300
LABEL_NAMES = ["neg", "neutral", "pos"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------


def _viewer(hub, path: str, token: str | None = None):
    """GET {endpoint}/datasets-server/{path}: (status, headers, parsed JSON or raw bytes)."""
    status, headers, body = http("GET", f"{hub.endpoint}/datasets-server/{path}", token=token)
    try:
        return status, headers, json.loads(body)
    except ValueError:
        return status, headers, body


def _viewer_ok(hub, path: str):
    status, headers, body = _viewer(hub, path)
    assert status == 200, f"{path}: {status} {headers.get('X-Error-Code')} {body!r}"
    return headers, body


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def wait_for_export(hub, repo: str, sha: str, timeout: float = EXPORT_TIMEOUT_S) -> None:
    """Poll `/is-valid` until `viewer` is true and the answers are about commit `sha` of main."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        status, headers, body = _viewer(hub, f"is-valid?dataset={repo}")
        last = (status, dict(headers), body)
        if status == 200 and isinstance(body, dict) and body.get("viewer") is True:
            s_status, s_headers, _ = _viewer(hub, f"splits?dataset={repo}")
            last = (status, body, "splits", s_status, s_headers.get("X-Revision"))
            if s_status == 200 and s_headers.get("X-Revision") == sha:
                return
        time.sleep(0.5)
    pytest.fail(f"the export of {repo}@{sha} was not ready within {timeout:.0f} s; last answer: {last}")


def _csv(start: int, stop: int) -> bytes:
    lines = ["id,name,score,flag"]
    for i in range(start, stop):
        name = f'"say ""hi"", {i}"' if i % 10 == 3 else f"café {i}"
        score = "" if i % 50 == 7 else f"{i % 7}.25"
        flag = "true" if i % 3 == 0 else "false"
        lines.append(f"{i},{name},{score},{flag}")
    return ("\n".join(lines) + "\n").encode()


def _jsonl(n: int) -> bytes:
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": i,
                "text": f"line {i}",
                "tags": [f"t{j}" for j in range(i % 4)],
                "meta": {"source": "web" if i % 2 else "book", "weight": i / 8},
                "matrix": [[i, i + 1], [i + 2]],
                "spans": [{"start": i, "end": i + 3}, {"start": i + 5, "end": i + 9}][: 1 + i % 2],
            }
        )
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def _label_features():
    from datasets import ClassLabel, Features, Value

    return Features({"text": Value("string"), "label": ClassLabel(names=LABEL_NAMES), "score": Value("float32")})


def _plain(features) -> dict:
    """A features dict with `large_string` read as `string`. `datasets` reads CSV through pandas,
    and pandas 3 gives text columns its Arrow-backed string dtype, which arrives as
    `large_string`; the export (like the Hub's) says `string`, the type every other loader gives.
    When `/info` is reachable, `load_dataset` casts to the exported `string` (see
    test_load_dataset_builder_takes_splits_and_features_from_the_viewer)."""
    if hasattr(features, "to_dict"):
        features = features.to_dict()
    if isinstance(features, dict):
        if features.get("_type") == "Value" and features.get("dtype") == "large_string":
            return {**features, "dtype": "string"}
        return {k: _plain(v) for k, v in features.items()}
    if isinstance(features, list):
        return [_plain(v) for v in features]
    return features


def _main_sha(hub, repo: str) -> str:
    return hub.anon.dataset_info(repo).sha


@pytest.fixture(scope="module")
def datasets_on_kura(hub, tmp_path_factory):
    """The three datasets, committed to main and exported: {kind: (repo, main sha)}."""
    import datasets

    api = hub.alice.api
    out = {}

    csv_repo = f"alice/{unique('viewer-csv')}"
    api.create_repo(csv_repo, repo_type="dataset")
    api.create_commit(
        csv_repo,
        [
            CommitOperationAdd("train.csv", _csv(0, CSV_TRAIN_ROWS)),
            CommitOperationAdd("test.csv", _csv(1000, 1000 + CSV_TEST_ROWS)),
        ],
        commit_message="a csv dataset",
        repo_type="dataset",
    )
    out["csv"] = csv_repo

    jsonl_repo = f"alice/{unique('viewer-jsonl')}"
    api.create_repo(jsonl_repo, repo_type="dataset")
    api.upload_file(
        path_or_fileobj=_jsonl(JSONL_ROWS), path_in_repo="data/train.jsonl", repo_id=jsonl_repo, repo_type="dataset"
    )
    out["jsonl"] = jsonl_repo

    label_repo = f"alice/{unique('viewer-labels')}"
    api.create_repo(label_repo, repo_type="dataset")
    ds = datasets.Dataset.from_dict(
        {
            "text": [f"review {i}" for i in range(LABEL_ROWS)],
            "label": [i % 3 for i in range(LABEL_ROWS)],
            "score": [i * 0.5 for i in range(LABEL_ROWS)],
        },
        features=_label_features(),
    )
    path = tmp_path_factory.mktemp("labels") / "train.parquet"
    ds.to_parquet(str(path), batch_size=64)  # 5 row groups
    import pyarrow.parquet as pq

    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups >= 4, meta
    assert b"huggingface" in (meta.metadata or {}), "datasets no longer writes its features into the parquet file"
    api.upload_file(path_or_fileobj=str(path), path_in_repo="data/train.parquet", repo_id=label_repo, repo_type="dataset")
    out["labels"] = label_repo

    shas = {kind: _main_sha(hub, repo) for kind, repo in out.items()}
    for kind, repo in out.items():
        wait_for_export(hub, repo, shas[kind])
    return {kind: (repo, shas[kind]) for kind, repo in out.items()}


@pytest.fixture(scope="module")
def loaded(datasets_on_kura, tmp_path_factory):
    """Each dataset loaded twice with `datasets`: from main and from the export ref."""
    import datasets

    cache = tmp_path_factory.mktemp("datasets-cache")
    out = {}
    for kind, (repo, _) in datasets_on_kura.items():
        main = datasets.load_dataset(repo, cache_dir=str(cache / kind / "main"))
        export = datasets.load_dataset(repo, revision=CONVERT_REF, cache_dir=str(cache / kind / "export"))
        out[kind] = (main, export)
    return out


EXPECTED_SPLITS = {
    "csv": {"train": CSV_TRAIN_ROWS, "test": CSV_TEST_ROWS},
    "jsonl": {"train": JSONL_ROWS},
    "labels": {"train": LABEL_ROWS},
}


# --------------------------------------------------------------------------------------------
# the export ref, through huggingface_hub
# --------------------------------------------------------------------------------------------


def test_the_export_ref_is_listed_with_the_converts(hub, datasets_on_kura):
    for kind, (repo, _) in datasets_on_kura.items():
        refs = hub.anon.list_repo_refs(repo, repo_type="dataset")
        converts = {ref.ref: ref for ref in refs.converts}
        assert CONVERT_REF in converts, f"{kind}: {refs}"
        assert converts[CONVERT_REF].name == "parquet"
        assert [b.name for b in refs.branches] == ["main"], f"{kind}: the export is not a branch: {refs}"
        target = converts[CONVERT_REF].target_commit
        assert len(target) == 40 and target != _main_sha(hub, repo)


def test_dataset_info_of_the_export_revision_lists_the_parquet_files(hub, datasets_on_kura):
    for kind, (repo, _) in datasets_on_kura.items():
        info = hub.anon.dataset_info(repo, revision=CONVERT_REF, files_metadata=True)
        refs = hub.anon.list_repo_refs(repo, repo_type="dataset")
        assert info.sha == refs.converts[0].target_commit
        parquet = {s.rfilename: s for s in info.siblings if s.rfilename.endswith(".parquet")}
        assert set(parquet) == {f"default/{split}/0000.parquet" for split in EXPECTED_SPLITS[kind]}, (
            f"{kind}: {[s.rfilename for s in info.siblings]}"
        )
        for name, sibling in parquet.items():
            assert sibling.size and sibling.size > 0, f"{kind}: {name} has no size"
        # No source data on the export ref, only the export.
        assert not [s.rfilename for s in info.siblings if s.rfilename.endswith((".csv", ".jsonl"))]


def test_the_exported_files_carry_the_features_in_their_huggingface_key(hub, datasets_on_kura, tmp_path):
    """Every export file, the ones kura writes (CSV, JSONL) and the one it links (parquet),
    holds the features in the parquet key-value metadata `huggingface`, as `datasets` writes
    it; that key is what `load_dataset` reads ClassLabel names and nested types from."""
    import pyarrow.parquet as pq
    from huggingface_hub import hf_hub_download

    for kind, (repo, _) in datasets_on_kura.items():
        _, info = _viewer_ok(hub, f"info?dataset={repo}")
        for split in EXPECTED_SPLITS[kind]:
            path = hf_hub_download(
                repo, f"default/{split}/0000.parquet", repo_type="dataset", revision=CONVERT_REF,
                cache_dir=str(tmp_path / "c"),
            )
            meta = pq.ParquetFile(path).metadata
            assert meta.num_rows == EXPECTED_SPLITS[kind][split], f"{kind}/{split}"
            key = (meta.metadata or {}).get(b"huggingface")
            assert key, f"{kind}/{split}: no huggingface key in {list(meta.metadata or {})}"
            features = json.loads(key)["info"]["features"]
            assert features == info["dataset_info"]["default"]["features"], f"{kind}/{split}"
            assert list(features) == meta.schema.to_arrow_schema().names, f"{kind}/{split}: key and schema disagree"


# --------------------------------------------------------------------------------------------
# load_dataset from the export and from main
# --------------------------------------------------------------------------------------------


def test_load_dataset_from_the_export_gives_the_rows_of_main(loaded):
    for kind, (main, export) in loaded.items():
        assert {name: d.num_rows for name, d in main.items()} == EXPECTED_SPLITS[kind], kind
        assert {name: d.num_rows for name, d in export.items()} == EXPECTED_SPLITS[kind], kind
        for split in EXPECTED_SPLITS[kind]:
            assert export[split].features.to_dict() == _plain(main[split].features), (
                f"{kind}/{split}: export {export[split].features} vs main {main[split].features}"
            )
            assert export[split].to_list() == main[split].to_list(), f"{kind}/{split}: values differ"


def test_csv_values_as_datasets_reads_them(loaded):
    main, export = loaded["csv"]
    assert export["train"][3] == {"id": 3, "name": 'say "hi", 3', "score": 3.25, "flag": True}
    assert export["train"][7] == {"id": 7, "name": "café 7", "score": None, "flag": False}
    assert export["test"][CSV_TEST_ROWS - 1]["id"] == 1000 + CSV_TEST_ROWS - 1
    assert _plain(main["train"].features) == {
        "id": {"dtype": "int64", "_type": "Value"},
        "name": {"dtype": "string", "_type": "Value"},
        "score": {"dtype": "float64", "_type": "Value"},
        "flag": {"dtype": "bool", "_type": "Value"},
    }


def test_jsonl_nested_values_survive_the_export(loaded):
    main, export = loaded["jsonl"]
    row = export["train"][5]
    assert row == {
        "id": 5,
        "text": "line 5",
        "tags": ["t0"],
        "meta": {"source": "web", "weight": 0.625},
        "matrix": [[5, 6], [7]],
        "spans": [{"start": 5, "end": 8}, {"start": 10, "end": 14}],
    }
    assert export["train"][4]["tags"] == []
    features = main["train"].features.to_dict()
    assert features["tags"] == {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"}
    assert features["meta"] == {"source": {"dtype": "string", "_type": "Value"}, "weight": {"dtype": "float64", "_type": "Value"}}


def test_class_labels_round_trip_through_the_parquet_metadata(loaded, datasets_on_kura, hub):
    from datasets import ClassLabel

    main, export = loaded["labels"]
    for ds in (main["train"], export["train"]):
        assert isinstance(ds.features["label"], ClassLabel), ds.features
        assert ds.features["label"].names == LABEL_NAMES
        assert ds.features == _label_features()
    assert export["train"][4] == {"text": "review 4", "label": 1, "score": 2.0}
    repo, _ = datasets_on_kura["labels"]
    _, info = _viewer_ok(hub, f"info?dataset={repo}")
    assert info["dataset_info"]["default"]["features"]["label"] == {"names": LABEL_NAMES, "_type": "ClassLabel"}


# --------------------------------------------------------------------------------------------
# /info as datasets reads it; /rows and /first-rows against the loaded data
# --------------------------------------------------------------------------------------------


def test_info_meets_every_condition_datasets_checks(hub, datasets_on_kura, loaded):
    for kind, (repo, sha) in datasets_on_kura.items():
        headers, info = _viewer_ok(hub, f"info?dataset={repo}")
        assert headers.get("X-Revision") == sha, f"{kind}: X-Revision {headers.get('X-Revision')} != main {sha}"
        assert info.get("partial") is False, f"{kind}: {info}"
        assert "pending" in info and info["pending"] == [], f"{kind}: {info}"
        assert "failed" in info and info["failed"] == [], f"{kind}: {info}"
        assert list(info["dataset_info"]) == ["default"], f"{kind}: {info}"
        config = info["dataset_info"]["default"]
        assert config["config_name"] == "default"
        main, export = loaded[kind]
        first = next(iter(EXPECTED_SPLITS[kind]))
        assert config["features"] == _plain(main[first].features), (
            f"{kind}: kura's features {config['features']} vs datasets' {main[first].features.to_dict()}"
        )
        assert config["features"] == export[first].features.to_dict()
        assert {name: s["num_examples"] for name, s in config["splits"].items()} == EXPECTED_SPLITS[kind]
        # What datasets does with it: DatasetInfo.from_dict must accept the answer as it is.
        from datasets import DatasetInfo

        parsed = DatasetInfo.from_dict(config)
        assert parsed.features == export[first].features
        assert parsed.splits[first].num_examples == EXPECTED_SPLITS[kind][first]
        # The per-config form.
        headers, one = _viewer_ok(hub, f"info?dataset={repo}&config=default")
        assert one["dataset_info"] == config and one["partial"] is False


ROW_WINDOWS = {
    "csv": [("train", 0, 10), ("train", 55, 20), ("train", CSV_TRAIN_ROWS - 5, 100), ("test", 30, 100)],
    "jsonl": [("train", 0, 100), ("train", 100, 100)],
    "labels": [("train", 60, 10), ("train", 120, 100), ("train", LABEL_ROWS - 1, 1)],
}


def test_rows_hold_the_values_of_the_loaded_dataset(hub, datasets_on_kura, loaded):
    for kind, (repo, sha) in datasets_on_kura.items():
        main, _ = loaded[kind]
        for split, offset, length in ROW_WINDOWS[kind]:
            path = f"rows?dataset={repo}&config=default&split={split}&offset={offset}&length={length}"
            headers, page = _viewer_ok(hub, path)
            assert headers.get("X-Revision") == sha
            ds = main[split]
            want = range(offset, min(offset + length, ds.num_rows))
            assert page["num_rows_total"] == ds.num_rows, f"{kind} {path}"
            assert page["num_rows_per_page"] == 100 and page["partial"] is False
            assert [r["row_idx"] for r in page["rows"]] == list(want), f"{kind} {path}"
            for item in page["rows"]:
                assert item["row"] == ds[item["row_idx"]], f"{kind} {path} row {item['row_idx']}"
                assert item["truncated_cells"] == []
            features = {f["name"]: f["type"] for f in page["features"]}
            assert features == _plain(ds.features), f"{kind} {path}"
            assert [f["feature_idx"] for f in page["features"]] == list(range(len(ds.features)))


def test_answers_keep_the_column_order(hub, datasets_on_kura, loaded):
    """Columns come in the dataset's order, as on the Hub: `datasets` builds `Features` from
    `/info` in the JSON's key order and casts the table to it, so a sorted `/info` reorders the
    columns of every `load_dataset` that reads it; `/rows` cells are objects a UI renders in
    key order."""
    wrong = []
    for kind, (repo, _) in datasets_on_kura.items():
        main, export = loaded[kind]
        first = next(iter(EXPECTED_SPLITS[kind]))
        order = list(main[first].features)
        _, info = _viewer_ok(hub, f"info?dataset={repo}")
        _, page = _viewer_ok(hub, f"rows?dataset={repo}&config=default&split={first}&length=5")
        _, head = _viewer_ok(hub, f"first-rows?dataset={repo}&config=default&split={first}")
        for what, got in (
            ("/info features", list(info["dataset_info"]["default"]["features"])),
            ("/rows features", [f["name"] for f in page["features"]]),
            ("/rows row keys", list(page["rows"][0]["row"])),
            ("/first-rows row keys", list(head["rows"][0]["row"])),
            ("the export's parquet schema", list(export[first].features)),
        ):
            if got != order:
                wrong.append(f"{kind} {what}: {got}, expected {order}")
    main, _ = loaded["jsonl"]
    repo, _ = datasets_on_kura["jsonl"]
    _, page = _viewer_ok(hub, f"rows?dataset={repo}&config=default&split=train&offset=1&length=1")
    got, want = list(page["rows"][0]["row"]["spans"][0]), list(main["train"][1]["spans"][0])
    if got != want:
        wrong.append(f"jsonl /rows struct cell keys: {got}, expected {want}")
    got, want = list(loaded["jsonl"][1]["train"].features["spans"].feature), list(main["train"].features["spans"].feature)
    if got != want:
        wrong.append(f"jsonl the export's struct fields: {got}, expected {want}")
    assert not wrong, "\n".join(wrong)


def test_first_rows_hold_the_first_rows_of_the_loaded_dataset(hub, datasets_on_kura, loaded):
    for kind, (repo, sha) in datasets_on_kura.items():
        main, _ = loaded[kind]
        for split in EXPECTED_SPLITS[kind]:
            headers, first = _viewer_ok(hub, f"first-rows?dataset={repo}&config=default&split={split}")
            assert headers.get("X-Revision") == sha
            ds = main[split]
            assert (first["dataset"], first["config"], first["split"]) == (repo, "default", split)
            n = min(100, ds.num_rows)
            assert [r["row_idx"] for r in first["rows"]] == list(range(n)), f"{kind}/{split}"
            assert [r["row"] for r in first["rows"]] == ds.select(range(n)).to_list(), f"{kind}/{split}"
            assert first["truncated"] is (ds.num_rows > 100), f"{kind}/{split}"
            assert {f["name"]: f["type"] for f in first["features"]} == _plain(ds.features)


def test_filter_selects_what_datasets_selects(hub, datasets_on_kura, loaded):
    """`/filter` with SQL semantics (a null score matches no comparison) against `Dataset.filter`."""
    repo, _ = datasets_on_kura["csv"]
    main, _ = loaded["csv"]
    ds = main["train"]
    where = _q('"score" >= 5.25 AND "id" < 200 OR "name" = \'say "hi", 13\'')
    headers, page = _viewer_ok(
        hub, f"filter?dataset={repo}&config=default&split=train&where={where}&orderby={_q(chr(34) + 'id' + chr(34) + ' DESC')}"
    )
    want = ds.filter(lambda r: (r["score"] is not None and r["score"] >= 5.25 and r["id"] < 200) or r["name"] == 'say "hi", 13')
    want_ids = sorted(want["id"], reverse=True)
    assert page["num_rows_total"] == len(want_ids), page["num_rows_total"]
    assert [r["row"]["id"] for r in page["rows"]] == want_ids[:100]
    for item in page["rows"]:
        assert item["row"] == ds[item["row_idx"]]


def test_parquet_listings_point_at_files_datasets_can_load(hub, datasets_on_kura, tmp_path):
    import datasets

    repo, sha = datasets_on_kura["csv"]
    headers, listing = _viewer_ok(hub, f"parquet?dataset={repo}")
    assert headers.get("X-Revision") == sha
    assert listing["partial"] is False and listing["pending"] == [] and listing["failed"] == []
    files = {(f["config"], f["split"]): f for f in listing["parquet_files"]}
    assert set(files) == {("default", "train"), ("default", "test")}
    assert files[("default", "train")]["url"] == (
        f"{hub.endpoint}/datasets/{repo}/resolve/refs%2Fconvert%2Fparquet/default/train/0000.parquet"
    )
    assert files[("default", "train")]["filename"] == "0000.parquet"

    status, _, body = http("GET", f"{hub.endpoint}/api/datasets/{repo}/parquet")
    assert status == 200, body
    hub_listing = json.loads(body)
    assert set(hub_listing) == {"default"} and set(hub_listing["default"]) == {"train", "test"}
    url = hub_listing["default"]["train"][0]
    assert url == f"{hub.endpoint}/api/datasets/{repo}/parquet/default/train/0.parquet"
    status, headers, _ = http("GET", url)
    assert status == 307 and headers["Location"] == files[("default", "train")]["url"]
    status, _, body = http("GET", f"{hub.endpoint}/api/datasets/{repo}/parquet/default/test")
    assert status == 200 and json.loads(body) == hub_listing["default"]["test"]

    # The Hub's per-file URL, followed as any HTTP client would, is the exported file, and
    # datasets reads that file from the ref through HfFileSystem (`hf://...@refs%2Fconvert%2Fparquet`).
    size = files[("default", "train")]["size"]
    via_api = urllib.request.urlopen(url, timeout=60).read()
    status, _, via_resolve = http("GET", files[("default", "train")]["url"])
    assert status == 200 and len(via_resolve) == size and via_resolve[:4] == b"PAR1"
    assert via_api == via_resolve
    local = tmp_path / "0000.parquet"
    local.write_bytes(via_api)
    for data_files in (str(local), f"hf://datasets/{repo}@{_q(CONVERT_REF)}/default/train/0000.parquet"):
        ds = datasets.load_dataset("parquet", data_files=data_files, split="train", cache_dir=str(tmp_path / "c"))
        assert ds.num_rows == CSV_TRAIN_ROWS and ds[3]["name"] == 'say "hi", 3', data_files
        assert ds.features["flag"].dtype == "bool"


# --------------------------------------------------------------------------------------------
# the viewer's host, as datasets derives it
# --------------------------------------------------------------------------------------------


def test_the_viewer_answers_at_the_root_of_a_datasets_server_host(hub, datasets_on_kura):
    repo, sha = datasets_on_kura["labels"]
    _, direct = _viewer_ok(hub, f"info?dataset={repo}")
    port = urllib.parse.urlsplit(hub.endpoint).port
    for host in ("datasets-server.localhost", f"datasets-server.127.0.0.1:{port}"):
        status, headers, body = http("GET", f"{hub.endpoint}/info?dataset={repo}", headers={"Host": host})
        assert status == 200, f"Host: {host}: {status} {body[:300]!r}"
        assert headers.get("X-Revision") == sha
        assert json.loads(body) == direct
    # Without that host name, /info at the root is not the viewer's.
    status, _, _ = http("GET", f"{hub.endpoint}/info?dataset={repo}")
    assert status == 404


@pytest.fixture
def viewer_host_resolves(monkeypatch):
    """`datasets-server.<host>` resolves as `<host>` for the duration of the test (see the
    module docstring: no such name resolves on the machines this suite runs on). The shared
    HTTP client of huggingface_hub (which `datasets` uses) is closed before and after, so that
    no kept-alive connection to that name outlives the test."""
    from huggingface_hub.utils import close_session

    real = socket.getaddrinfo
    asked = []

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.startswith("datasets-server."):
            asked.append(host)
            host = host[len("datasets-server.") :]
        return real(host, *args, **kwargs)

    close_session()
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield asked
    close_session()


def test_datasets_accepts_the_viewers_info_and_parquet_answers(hub, datasets_on_kura, loaded, viewer_host_resolves):
    from datasets import DatasetInfo
    from datasets.utils import _dataset_viewer

    for kind, (repo, sha) in datasets_on_kura.items():
        # The library's own checks; each raises DatasetViewerError when any condition fails.
        infos = _dataset_viewer.get_exported_dataset_infos(dataset=repo, commit_hash=sha, token=None)
        assert list(infos) == ["default"], kind
        first = next(iter(EXPECTED_SPLITS[kind]))
        assert DatasetInfo.from_dict(infos["default"]).features == loaded[kind][1][first].features
        files = _dataset_viewer.get_exported_parquet_files(dataset=repo, commit_hash=sha, token=None)
        assert sorted(f["split"] for f in files) == sorted(EXPECTED_SPLITS[kind]), kind
        # An answer about another commit is refused by the library: the check is real.
        with pytest.raises(_dataset_viewer.DatasetViewerError):
            _dataset_viewer.get_exported_dataset_infos(dataset=repo, commit_hash="0" * 40, token=None)
    assert viewer_host_resolves and all(h == "datasets-server.127.0.0.1" for h in viewer_host_resolves)


def test_load_dataset_builder_takes_splits_and_features_from_the_viewer(hub, datasets_on_kura, viewer_host_resolves, tmp_path):
    import datasets

    repo, _ = datasets_on_kura["csv"]
    builder = datasets.load_dataset_builder(repo, cache_dir=str(tmp_path / "with"))
    assert viewer_host_resolves, "datasets did not ask the viewer's host"
    # Before any data is read, the split sizes and features can only come from /info.
    assert builder.info.splits is not None, "the /info answer was not used"
    assert {name: s.num_examples for name, s in builder.info.splits.items()} == EXPECTED_SPLITS["csv"]
    assert builder.info.features is not None and builder.info.features["flag"].dtype == "bool"
    # load_dataset verifies the data it reads against those recorded split sizes, and casts
    # to the exported features: text is `string` here, `large_string` without the viewer.
    ds = datasets.load_dataset(repo, cache_dir=str(tmp_path / "with"))
    assert ds["train"].num_rows == CSV_TRAIN_ROWS
    assert ds["train"].features["name"].dtype == "string"
    assert ds["train"][3] == {"id": 3, "name": 'say "hi", 3', "score": 3.25, "flag": True}
    # The columns keep the file's order (datasets casts to /info's features in their order).
    assert ds["train"].column_names == ["id", "name", "score", "flag"]


def test_without_the_viewer_host_datasets_infers_alone(datasets_on_kura, tmp_path):
    """The control for the test above: the same call when the name does not resolve."""
    import datasets

    repo, _ = datasets_on_kura["csv"]
    builder = datasets.load_dataset_builder(repo, cache_dir=str(tmp_path / "without"))
    assert builder.info.splits is None and builder.info.features is None


def test_a_private_dataset_is_viewed_and_loaded_with_a_token_only(hub, tmp_path, viewer_host_resolves):
    import datasets
    from datasets.utils import _dataset_viewer

    api = hub.alice.api
    repo = f"alice/{unique('viewer-private')}"
    api.create_repo(repo, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=_csv(0, 30), path_in_repo="train.csv", repo_id=repo, repo_type="dataset")
    sha = api.dataset_info(repo).sha
    deadline = time.monotonic() + EXPORT_TIMEOUT_S
    while True:
        status, headers, body = _viewer(hub, f"splits?dataset={repo}", token=hub.alice.read_token)
        if status == 200 and headers.get("X-Revision") == sha:
            break
        assert time.monotonic() < deadline, f"no export of the private dataset: {status} {body!r}"
        time.sleep(0.5)
    path = f"rows?dataset={repo}&config=default&split=train&length=3"
    status, headers, _ = _viewer(hub, path)
    assert status == 401 and headers.get("X-Error-Code") == "ExternalUnauthenticatedError"
    status, headers, _ = _viewer(hub, path, token=hub.bob.read_token)
    assert status == 404 and headers.get("X-Error-Code") == "ExternalAuthenticatedError"
    status, _, page = _viewer(hub, path, token=hub.alice.read_token)
    assert status == 200 and [r["row"]["id"] for r in page["rows"]] == [0, 1, 2]
    # datasets sends the token to the viewer's host too, and loads the export with it.
    infos = _dataset_viewer.get_exported_dataset_infos(dataset=repo, commit_hash=sha, token=hub.alice.read_token)
    assert infos["default"]["splits"]["train"]["num_examples"] == 30
    with pytest.raises(_dataset_viewer.DatasetViewerError):
        _dataset_viewer.get_exported_dataset_infos(dataset=repo, commit_hash=sha, token=False)
    ds = datasets.load_dataset(
        repo, revision=CONVERT_REF, split="train", token=hub.alice.read_token, cache_dir=str(tmp_path / "c")
    )
    assert ds.num_rows == 30 and ds[3]["name"] == 'say "hi", 3'
    with pytest.raises(Exception) as refused:
        datasets.load_dataset(
            repo, revision=CONVERT_REF, split="train", token=hub.bob.read_token, cache_dir=str(tmp_path / "b")
        )
    assert type(refused.value).__name__ in {"DatasetNotFoundError", "RepositoryNotFoundError"}, refused.value


# --------------------------------------------------------------------------------------------
# a new commit is exported again
# --------------------------------------------------------------------------------------------


def test_a_new_commit_to_main_is_exported_again(hub, tmp_path):
    import datasets

    api = hub.alice.api
    repo = f"alice/{unique('viewer-again')}"
    api.create_repo(repo, repo_type="dataset")
    api.upload_file(path_or_fileobj=_csv(0, 50), path_in_repo="train.csv", repo_id=repo, repo_type="dataset")
    first = _main_sha(hub, repo)
    wait_for_export(hub, repo, first)
    target = hub.anon.list_repo_refs(repo, repo_type="dataset").converts[0].target_commit

    api.upload_file(path_or_fileobj=_csv(0, 80), path_in_repo="train.csv", repo_id=repo, repo_type="dataset")
    second = _main_sha(hub, repo)
    assert second != first
    wait_for_export(hub, repo, second)
    headers, info = _viewer_ok(hub, f"info?dataset={repo}")
    assert headers.get("X-Revision") == second
    assert info["dataset_info"]["default"]["splits"]["train"]["num_examples"] == 80
    _, page = _viewer_ok(hub, f"rows?dataset={repo}&config=default&split=train&offset=75&length=10")
    assert [r["row"]["id"] for r in page["rows"]] == [75, 76, 77, 78, 79]
    new_target = hub.anon.list_repo_refs(repo, repo_type="dataset").converts[0].target_commit
    assert new_target != target
    ds = datasets.load_dataset(repo, revision=CONVERT_REF, split="train", cache_dir=str(tmp_path / "c"))
    assert ds.num_rows == 80 and ds[79]["id"] == 79
