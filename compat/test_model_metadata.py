"""What the hub computes about a repo, read through the official client: every `expand=` value
of huggingface_hub for models, datasets and Spaces (parsed into the right types), parameter
counts from safetensors headers (`model_info().safetensors`, `get_safetensors_metadata` on a
single file and on shards, `get_sharded_safetensors_metadata`, `parse_safetensors_file_metadata`
with a header past the client's first 100 kB range), GGUF facts, `list_models(num_parameters=)`,
and the pickle scan (`model_info(securityStatus=True)`, `RepoFile.security` from
`list_repo_tree` and `get_paths_info` with `expand=True`).

Files are uploaded through the client (create_commit), so they travel the real upload paths
(LFS or Xet). kura indexes each commit in a background job: tests wait for it by polling
`securityRepoStatus.scansDone`. The policy that refuses unsafe pickles is in
test_pickle_policy.py (it needs a server of its own)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import get_args

import pytest
from huggingface_hub import CommitOperationAdd, ModelCardData, SpaceRuntime
from huggingface_hub.errors import BadRequestError, HfHubHTTPError, NotASafetensorsRepoError
from huggingface_hub.hf_api import (
    BlobSecurityInfo,
    ExpandDatasetProperty_T,
    ExpandModelProperty_T,
    ExpandSpaceProperty_T,
    RepoFile,
    RepoFolder,
    RepoSibling,
    SafeTensorsInfo,
    TransformersInfo,
)
from huggingface_hub.repocard_data import DatasetCardData, SpaceCardData
from huggingface_hub.utils import get_session
from model_files import (
    TORCH_IMPORTS,
    evil_pickle,
    gguf,
    parameters,
    safetensors,
    suspicious_pickle,
    torch_data_pkl,
    torch_zip,
)
from support import unique

INDEX_TIMEOUT_S = 90.0
NONE = type(None)


def wait_indexed(api, repo: str, revision: str | None = None):
    """model_info(securityStatus=True) once kura's indexing job for the revision has run."""
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    while True:
        info = api.model_info(repo, revision=revision, securityStatus=True)
        status = info.security_repo_status
        assert isinstance(status, dict) and isinstance(status.get("scansDone"), bool), status
        if status["scansDone"]:
            return info
        # Until then: nothing found yet, in the shape the client reads.
        assert status["filesWithIssues"] == [], status
        assert time.monotonic() < deadline, f"{repo}@{revision or 'main'} was not indexed in {INDEX_TIMEOUT_S}s"
        time.sleep(0.1)


def commit(api, repo: str, files: dict[str, bytes], repo_type: str | None = None) -> str:
    ops = [CommitOperationAdd(path, data) for path, data in files.items()]
    return api.create_commit(repo, ops, commit_message="add files", repo_type=repo_type).oid


def raw_info(hub, token: str, kind: str, repo: str, query: str) -> dict:
    response = get_session().get(
        f"{hub.endpoint}/api/{kind}/{repo}?{query}", headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def is_a(value, kinds) -> bool:
    """isinstance, where a bool is not an int (JSON true is not a count)."""
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if isinstance(value, bool) and bool not in kinds:
        return False
    return isinstance(value, kinds)


# --- a BERT-like transformers model -----------------------------------------------------------

BERT_README = b"""---
library_name: transformers
license: mit
language: en
tags:
- exbert
base_model: google-bert/bert-base-uncased
model-index:
- name: tiny-bert
  results:
  - task:
      type: fill-mask
    dataset:
      name: wiki
      type: wikitext
    metrics:
    - type: accuracy
      value: 0.5
      name: Accuracy
---
# tiny bert
"""
BERT_CONFIG = {"architectures": ["BertForMaskedLM"], "model_type": "bert", "hidden_size": 8, "vocab_size": 30}
BERT_TENSORS = [
    ("bert.embeddings.word_embeddings.weight", "F32", [30, 8]),
    ("bert.pooler.dense.bias", "F16", [8]),
    ("cls.predictions.bias", "BF16", [30]),
    ("bert.embeddings.position_ids", "I64", [1, 16]),
    ("scale", "F32", []),
]
BERT_FILES = {
    "README.md": BERT_README,
    "config.json": json.dumps(BERT_CONFIG).encode(),
    "tokenizer_config.json": json.dumps({"mask_token": "[MASK]", "model_max_length": 16}).encode(),
    "model.safetensors": safetensors(BERT_TENSORS),
}

# Every model expand value: (ModelInfo attribute, accepted types once parsed).
MODEL_EXPAND = {
    "author": ("author", str),
    "baseModels": ("base_models", list),
    "cardData": ("card_data", ModelCardData),
    "childrenModelCount": ("children_model_count", int),
    "config": ("config", dict),
    "createdAt": ("created_at", datetime),
    "disabled": ("disabled", bool),
    "downloads": ("downloads", int),
    "downloadsAllTime": ("downloads_all_time", int),
    "evalResults": ("eval_results", (list, NONE)),  # the client turns [] into None
    "gated": ("gated", (bool, str)),
    "gguf": ("gguf", (dict, NONE)),  # null: this repo has no GGUF file
    "inference": ("inference", (str, NONE)),
    "inferenceProviderMapping": ("inference_provider_mapping", list),
    "lastModified": ("last_modified", datetime),
    "library_name": ("library_name", str),
    "likes": ("likes", int),
    "mask_token": ("mask_token", str),
    "model-index": ("model_index", list),
    "pipeline_tag": ("pipeline_tag", str),
    "private": ("private", bool),
    "resourceGroup": ("resource_group", (dict, NONE)),
    "safetensors": ("safetensors", SafeTensorsInfo),
    "sha": ("sha", str),
    "siblings": ("siblings", list),
    "spaces": ("spaces", list),
    "tags": ("tags", list),
    "transformersInfo": ("transformers_info", TransformersInfo),
    "trendingScore": ("trending_score", int),
    "usedStorage": ("used_storage", int),
    "widgetData": ("widget_data", list),
}


@pytest.fixture(scope="module")
def bert(hub):
    api = hub.alice.api
    repo = f"alice/{unique('bert')}"
    api.create_repo(repo)
    sha = commit(api, repo, BERT_FILES)
    wait_indexed(api, repo)
    return repo, sha


def test_the_expand_tables_cover_the_client(hub):
    assert set(MODEL_EXPAND) == set(get_args(ExpandModelProperty_T))
    assert set(DATASET_EXPAND) == set(get_args(ExpandDatasetProperty_T))
    assert set(SPACE_EXPAND) == set(get_args(ExpandSpaceProperty_T))


def test_model_info_computed_fields(hub, bert):
    repo, sha = bert
    info = hub.anon.model_info(repo)
    assert info.sha == sha
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "fill-mask"
    assert info.mask_token == "[MASK]"
    assert isinstance(info.safetensors, SafeTensorsInfo)
    expected = parameters(BERT_TENSORS)
    assert info.safetensors.parameters == expected
    assert info.safetensors.total == sum(expected.values())
    assert isinstance(info.transformers_info, TransformersInfo)
    assert info.transformers_info.auto_model == "AutoModelForMaskedLM"
    assert info.transformers_info.pipeline_tag == "fill-mask"
    assert info.config["architectures"] == ["BertForMaskedLM"]
    assert info.config["model_type"] == "bert"
    assert isinstance(info.config.get("tokenizer_config"), dict)
    for tag in ("transformers", "safetensors", "bert", "fill-mask", "exbert", "en", "license:mit"):
        assert tag in info.tags, (tag, info.tags)
    assert "base_model:google-bert/bert-base-uncased" in info.tags, info.tags
    assert info.base_models == ["google-bert/bert-base-uncased"]
    assert info.model_index and info.model_index[0]["name"] == "tiny-bert"
    assert info.card_data.license == "mit"
    # The default fill-mask examples, written with this model's mask token.
    assert isinstance(info.widget_data, list) and info.widget_data
    assert all("[MASK]" in example["text"] for example in info.widget_data), info.widget_data
    # usedStorage: the distinct large files of every revision (the Hub counts LFS content).
    files = [e for e in hub.anon.list_repo_tree(repo, recursive=True) if isinstance(e, RepoFile)]
    lfs_bytes = sum({e.lfs.sha256: e.lfs.size for e in files if e.lfs}.values())
    all_bytes = sum(e.size for e in files)
    assert lfs_bytes > 0, "model.safetensors is stored as a large file"
    assert lfs_bytes <= info.used_storage <= all_bytes, (info.used_storage, lfs_bytes, all_bytes)


@pytest.mark.parametrize("value", sorted(MODEL_EXPAND))
def test_model_info_expand_each_value(hub, bert, value):
    repo, sha = bert
    attribute, kinds = MODEL_EXPAND[value]
    body = raw_info(hub, hub.alice.read_token, "models", repo, f"expand={value}")
    assert value in body, f"expand={value} is not answered: {body}"
    info = hub.alice.api.model_info(repo, expand=[value])
    assert info.id == repo
    got = getattr(info, attribute)
    assert is_a(got, kinds), f"{value} parsed into {attribute}={got!r}, expected {kinds}"
    if value != "sha":
        assert info.sha is None, "expand returns only what was asked"
    if value != "siblings":
        assert info.siblings is None, "expand returns only what was asked"


def test_model_info_expand_everything_at_once(hub, bert):
    repo, sha = bert
    info = hub.alice.api.model_info(repo, expand=list(get_args(ExpandModelProperty_T)))
    for value, (attribute, kinds) in MODEL_EXPAND.items():
        got = getattr(info, attribute)
        assert is_a(got, kinds), f"{value} parsed into {attribute}={got!r}, expected {kinds}"
    assert info.author == "alice"
    assert info.sha == sha
    assert info.private is False and info.gated is False and info.disabled is False
    assert info.safetensors.total == sum(parameters(BERT_TENSORS).values())
    assert info.library_name == "transformers" and info.pipeline_tag == "fill-mask"
    assert info.mask_token == "[MASK]"
    assert info.base_models == ["google-bert/bert-base-uncased"]
    assert info.gguf is None
    assert all(isinstance(s, RepoSibling) for s in info.siblings)
    assert sorted(s.rfilename for s in info.siblings) == sorted([".gitattributes", *BERT_FILES])
    assert all(isinstance(t, str) for t in info.tags)
    assert info.spaces == [] or all(isinstance(s, str) for s in info.spaces)


def test_models_listing_with_expand(hub, bert):
    """The listing answers `expand` as repo info does, and lists the task and library by
    default, as the Hub does."""
    repo, _ = bert
    name = repo.split("/")[1]
    (default,) = hub.anon.list_models(search=name)
    assert default.id == repo
    assert default.pipeline_tag == "fill-mask" and default.library_name == "transformers"
    (listed,) = hub.anon.list_models(search=name, expand=["safetensors", "pipeline_tag", "gguf", "sha"])
    assert listed.id == repo
    assert listed.pipeline_tag == "fill-mask"
    assert isinstance(listed.safetensors, SafeTensorsInfo)
    assert listed.safetensors.total == sum(parameters(BERT_TENSORS).values())
    assert listed.sha == hub.anon.model_info(repo).sha
    assert listed.tags is None, "expand returns only what was asked"


def test_list_models_pipeline_tag(hub, bert):
    repo, _ = bert
    name = repo.split("/")[1]
    assert [m.id for m in hub.anon.list_models(search=name, pipeline_tag="fill-mask")] == [repo]
    assert [m.id for m in hub.anon.list_models(search=name, pipeline_tag="text-generation")] == []


# --- datasets and Spaces ----------------------------------------------------------------------

DATASET_EXPAND = {
    "author": ("author", str),
    "cardData": ("card_data", DatasetCardData),
    "citation": ("citation", (str, NONE)),
    "createdAt": ("created_at", datetime),
    "description": ("description", (str, NONE)),
    "disabled": ("disabled", bool),
    "downloads": ("downloads", int),
    "downloadsAllTime": ("downloads_all_time", int),
    "gated": ("gated", (bool, str)),
    "lastModified": ("last_modified", datetime),
    "likes": ("likes", int),
    "mainSize": ("main_size", (int, NONE)),
    "paperswithcode_id": ("paperswithcode_id", (str, NONE)),
    "private": ("private", bool),
    "resourceGroup": ("resource_group", (dict, NONE)),
    "sha": ("sha", str),
    "siblings": ("siblings", list),
    "tags": ("tags", list),
    "trendingScore": ("trending_score", int),
    "usedStorage": ("used_storage", int),
}

SPACE_EXPAND = {
    "author": ("author", str),
    "cardData": ("card_data", SpaceCardData),
    "createdAt": ("created_at", datetime),
    "datasets": ("datasets", list),
    "disabled": ("disabled", bool),
    "lastModified": ("last_modified", datetime),
    "likes": ("likes", int),
    "models": ("models", list),
    "private": ("private", bool),
    "region": ("region", (str, NONE)),
    "resourceGroup": ("resource_group", (dict, NONE)),
    "runtime": ("runtime", (SpaceRuntime, NONE)),  # null while kura runs no Spaces
    "sdk": ("sdk", str),
    "sha": ("sha", str),
    "siblings": ("siblings", list),
    "subdomain": ("subdomain", (str, NONE)),
    "tags": ("tags", list),
    "trendingScore": ("trending_score", int),
    "usedStorage": ("used_storage", int),
}


@pytest.mark.parametrize("repo_type", ["dataset", "space"])
def test_dataset_and_space_info_expand_every_value(hub, repo_type):
    api = hub.alice.api
    repo = f"alice/{unique(repo_type)}"
    if repo_type == "space":
        api.create_repo(repo, repo_type="space", space_sdk="static")
        readme = b"---\nsdk: static\nlicense: mit\nmodels:\n- alice/some-model\n---\n# a space\n"
        files = {"README.md": readme, "index.html": b"<p>hi</p>"}
        table, values, kind = SPACE_EXPAND, get_args(ExpandSpaceProperty_T), "spaces"
        read = api.space_info
    else:
        api.create_repo(repo, repo_type="dataset")
        files = {"README.md": b"---\nlicense: mit\n---\n# data\n", "data.csv": b"x,y\n1,2\n"}
        table, values, kind = DATASET_EXPAND, get_args(ExpandDatasetProperty_T), "datasets"
        read = api.dataset_info
    sha = commit(api, repo, files, repo_type=repo_type)
    for value in values:
        body = raw_info(hub, hub.alice.read_token, kind, repo, f"expand={value}")
        assert value in body, f"{repo_type} expand={value} is not answered: {body}"
        attribute, kinds = table[value]
        got = getattr(read(repo, expand=[value]), attribute)
        assert is_a(got, kinds), f"{repo_type} {value} parsed into {attribute}={got!r}, expected {kinds}"
    info = read(repo, expand=list(values))
    assert info.sha == sha and info.author == "alice" and info.private is False
    assert info.card_data.license == "mit"
    assert sorted(s.rfilename for s in info.siblings) == sorted([".gitattributes", *files])
    if repo_type == "space":
        assert info.sdk == "static"


def test_spaces_that_name_a_model(hub, bert):
    """A Space whose card lists a model under `models:` appears in that model's `spaces`, and
    in its own `models` (issue 16: "`spaces` that name the model")."""
    repo, _ = bert
    api = hub.alice.api
    space = f"alice/{unique('uses-bert')}"
    api.create_repo(space, repo_type="space", space_sdk="static")
    readme = f"---\nsdk: static\nmodels:\n- {repo}\n---\n# demo\n".encode()
    commit(api, space, {"README.md": readme}, repo_type="space")
    assert api.space_info(space, expand=["models"]).models == [repo]
    deadline = time.monotonic() + INDEX_TIMEOUT_S
    while space not in (api.model_info(repo, expand=["spaces"]).spaces or []):
        assert time.monotonic() < deadline, f"{space} never appeared in the spaces of {repo}"
        time.sleep(0.2)


# --- safetensors ------------------------------------------------------------------------------


def test_get_safetensors_metadata_single_file(hub, api, repo_id):
    tensors = [("w", "F32", [2, 3]), ("b", "BF16", [4]), ("s", "F32", []), ("ids", "I64", [5, 1])]
    # A header past the client's first 100 kB range: the client asks for the rest.
    big_meta = {"format": "pt", "notes": "n" * 150_000}
    sha = commit(
        api,
        repo_id,
        {
            "model.safetensors": safetensors(tensors, {"format": "pt", "source": "kura"}),
            "other/big.safetensors": safetensors([("x", "U8", [7])], big_meta),
        },
    )
    meta = hub.anon.get_safetensors_metadata(repo_id)
    assert meta.sharded is False and meta.metadata is None
    assert meta.weight_map == {name: "model.safetensors" for name, _, _ in tensors}
    assert set(meta.files_metadata) == {"model.safetensors"}
    single = meta.files_metadata["model.safetensors"]
    assert single.metadata == {"format": "pt", "source": "kura"}
    assert single.parameter_count == {"F32": 7, "BF16": 4, "I64": 5}
    assert meta.parameter_count == {"F32": 7, "BF16": 4, "I64": 5}
    assert single.tensors["w"].shape == [2, 3] and single.tensors["w"].data_offsets == (0, 24)
    assert single.tensors["s"].parameter_count == 1
    # At a revision.
    assert hub.anon.get_safetensors_metadata(repo_id, revision=sha).parameter_count == meta.parameter_count

    big = hub.anon.parse_safetensors_file_metadata(repo_id, "other/big.safetensors")
    assert big.metadata == big_meta
    assert big.parameter_count == {"U8": 7}

    # kura's own count agrees with the client's.
    info = wait_indexed(hub.alice.api, repo_id)
    assert info.safetensors.parameters == meta.parameter_count
    assert info.safetensors.total == 16

    # No index here: the shards' route says so.
    with pytest.raises(HfHubHTTPError) as error:
        hub.anon.get_sharded_safetensors_metadata(repo_id)
    assert error.value.response.status_code in (400, 404)


def test_a_repo_without_safetensors(hub, api, repo_id):
    commit(api, repo_id, {"weights.bin": torch_zip(torch_data_pkl())})
    with pytest.raises(NotASafetensorsRepoError):
        hub.anon.get_safetensors_metadata(repo_id)
    info = wait_indexed(api, repo_id)
    assert info.safetensors is None
    assert api.model_info(repo_id, expand=["safetensors"]).safetensors is None


SHARD_1 = [("embed", "F16", [10, 10]), ("norm", "F32", [10])]
SHARD_2 = [("head", "F16", [5]), ("bias", "I8", [3, 3]), ("scale", "BF16", [])]


def sharded_files(prefix: str = "") -> dict[str, bytes]:
    one, two = safetensors(SHARD_1), safetensors(SHARD_2)
    names = ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors")
    weight_map = {t[0]: names[0] for t in SHARD_1} | {t[0]: names[1] for t in SHARD_2}
    index = {"metadata": {"total_size": 247, "format": "pt"}, "weight_map": weight_map}
    return {
        f"{prefix}{names[0]}": one,
        f"{prefix}{names[1]}": two,
        f"{prefix}model.safetensors.index.json": json.dumps(index).encode(),
    }


def test_sharded_safetensors_metadata(hub, api, repo_id):
    files = sharded_files()
    # Not named by the index: not part of the model.
    files["extra.safetensors"] = safetensors([("z", "F32", [1000])])
    files |= sharded_files("text_encoder/")
    commit(api, repo_id, files)
    expected = parameters(SHARD_1 + SHARD_2)
    index = json.loads(files["model.safetensors.index.json"])

    meta = hub.anon.get_safetensors_metadata(repo_id)
    assert meta.sharded is True
    assert meta.metadata == {"total_size": 247, "format": "pt"}
    assert meta.weight_map == index["weight_map"]
    assert set(meta.files_metadata) == set(index["weight_map"].values())
    assert meta.parameter_count == expected
    assert meta.files_metadata["model-00002-of-00002.safetensors"].parameter_count == parameters(SHARD_2)

    # The same, in one request to kura's shards' headers route.
    one_request = hub.anon.get_sharded_safetensors_metadata(repo_id)
    assert one_request.sharded is True
    assert one_request.metadata == meta.metadata
    assert one_request.weight_map == meta.weight_map
    assert one_request.parameter_count == expected
    assert set(one_request.files_metadata) == set(meta.files_metadata)
    for shard, file_meta in meta.files_metadata.items():
        assert one_request.files_metadata[shard].tensors == file_meta.tensors, shard
        assert one_request.files_metadata[shard].metadata == {"format": "pt"}
    # An index in a folder names shards next to it.
    nested = hub.anon.get_sharded_safetensors_metadata(
        repo_id, filename="text_encoder/model.safetensors.index.json"
    )
    assert nested.parameter_count == expected
    assert set(nested.files_metadata) == set(meta.files_metadata)

    info = wait_indexed(api, repo_id)
    assert info.safetensors.parameters == expected
    assert info.safetensors.total == sum(expected.values())

    with pytest.raises(HfHubHTTPError) as error:
        hub.anon.get_sharded_safetensors_metadata(repo_id, filename="model-00001-of-00002.safetensors")
    assert error.value.response.status_code == 400, "a weights file is not an index"


def test_list_models_num_parameters(hub, api):
    tag = unique("params")
    small, large, none = (f"alice/{tag}-{n}" for n in ("small", "large", "none"))
    uploads = {
        small: {"model.safetensors": safetensors([("w", "U8", [30_017])])},
        large: {"model.safetensors": safetensors([("w", "U8", [30_029])])},
        none: {"README.md": b"---\nlicense: mit\n---\n# no weights\n"},
    }
    for repo, files in uploads.items():
        api.create_repo(repo)
        commit(api, repo, files)
        wait_indexed(api, repo)

    def listed(range_: str) -> list[str]:
        return sorted(m.id for m in hub.anon.list_models(search=tag, num_parameters=range_))

    assert sorted(m.id for m in hub.anon.list_models(search=tag)) == sorted(uploads)
    assert listed("min:0") == sorted([small, large]), "a repo without a count is not in range"
    assert listed("min:30K,max:30.02K") == [small]
    assert listed("min:30.02K") == [large]
    assert listed("min:30017,max:30029") == sorted([small, large])
    assert listed("max:29.9K") == []
    assert listed("min:1B") == []
    with pytest.raises(BadRequestError):
        list(hub.anon.list_models(search=tag, num_parameters="lots"))


# --- GGUF -------------------------------------------------------------------------------------

GGUF_KV = {
    "general.architecture": "llama",
    "llama.context_length": 4096,
    "tokenizer.ggml.tokens": ["<unk>", "<s>", "</s>"],
    "tokenizer.ggml.bos_token_id": 1,
    "tokenizer.ggml.eos_token_id": 2,
    "tokenizer.chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}",
}


def test_gguf_facts(hub, api, repo_id):
    files = {
        # A model in two shards: one model, its parameters summed.
        "tiny-00001-of-00002.gguf": gguf(GGUF_KV, [("token_embd.weight", [8, 3])]),
        "tiny-00002-of-00002.gguf": gguf({"general.architecture": "llama"}, [("output.weight", [4])]),
        "README.md": b"---\nlicense: apache-2.0\n---\n# tiny\n",
    }
    commit(api, repo_id, files)
    info = wait_indexed(api, repo_id)
    assert info.gguf == {
        "total": 28,
        "architecture": "llama",
        "context_length": 4096,
        "chat_template": GGUF_KV["tokenizer.chat_template"],
        "bos_token": "<s>",
        "eos_token": "</s>",
    }
    assert info.library_name == "gguf"
    assert "gguf" in info.tags and "license:apache-2.0" in info.tags
    assert info.safetensors is None
    assert api.model_info(repo_id, expand=["gguf"]).gguf == info.gguf


# --- the pickle scan --------------------------------------------------------------------------

SCANNED = {
    "evil.pkl": evil_pickle(),
    "odd/thing.pkl": suspicious_pickle(),
    "pytorch_model.bin": torch_zip(torch_data_pkl()),
    "bad/pytorch_model.bin": torch_zip(evil_pickle()),
    "README.md": b"---\nlicense: mit\n---\n# scanned\n",
    "model.safetensors": safetensors([("w", "F32", [4])]),
}


@pytest.fixture(scope="module")
def scanned(hub):
    api = hub.alice.api
    repo = f"alice/{unique('scanned')}"
    api.create_repo(repo)
    sha = commit(api, repo, SCANNED)
    # Before the scan is done every file may be unscanned: the client parses that too.
    for entry in api.list_repo_tree(repo, recursive=True, expand=True):
        if isinstance(entry, RepoFile):
            assert isinstance(entry.security, BlobSecurityInfo), entry
    info = wait_indexed(api, repo)
    return repo, sha, info


def imports(security: BlobSecurityInfo) -> set[tuple[str, str, str]]:
    scan = security.pickle_import_scan
    return {(i["module"], i["name"], i["safety"]) for i in scan["imports"]}


def test_security_repo_status_names_the_unsafe_files(hub, scanned):
    repo, sha, info = scanned
    status = info.security_repo_status
    assert status["scansDone"] is True
    issues = sorted((f["path"], f["level"]) for f in status["filesWithIssues"])
    assert issues == [("bad/pytorch_model.bin", "unsafe"), ("evil.pkl", "unsafe"), ("odd/thing.pkl", "caution")]
    # The same at the commit, and for a reader of the repo.
    at_commit = hub.anon.model_info(repo, revision=sha, securityStatus=True).security_repo_status
    assert at_commit == status
    # Only when asked for.
    assert hub.anon.model_info(repo).security_repo_status is None


def check_file_security(entries: dict[str, RepoFile | RepoFolder]):
    for entry in entries.values():
        if isinstance(entry, RepoFolder):
            assert not hasattr(entry, "security") or entry.security is None
            continue
        assert isinstance(entry.security, BlobSecurityInfo), entry.path
        assert entry.security.av_scan is None, "kura runs no antivirus"
        assert entry.security["status"] == entry.security.status  # a dict, too

    evil = entries["evil.pkl"].security
    assert evil.safe is False and evil.status == "unsafe"
    assert evil.pickle_import_scan["highestSafetyLevel"] == "dangerous"
    assert imports(evil) == {("os", "system", "dangerous")}
    assert evil.pickle_import_scan["status"] == "unsafe"

    bad_zip = entries["bad/pytorch_model.bin"].security
    assert bad_zip.safe is False and bad_zip.status == "unsafe"
    assert ("os", "system", "dangerous") in imports(bad_zip)

    odd = entries["odd/thing.pkl"].security
    assert odd.safe is False and odd.status == "caution"
    assert odd.pickle_import_scan["highestSafetyLevel"] == "suspicious"
    assert imports(odd) == {("mymodule", "Thing", "suspicious")}

    torch = entries["pytorch_model.bin"].security
    assert torch.safe is True and torch.status == "safe"
    assert imports(torch) == TORCH_IMPORTS
    assert torch.pickle_import_scan["highestSafetyLevel"] == "innocuous"

    for plain in ("README.md", "model.safetensors"):
        security = entries[plain].security
        assert security.safe is True and security.status == "safe", plain
        assert security.pickle_import_scan is None, plain


def test_list_repo_tree_expand_security(hub, scanned):
    repo, sha, _ = scanned
    entries = {e.path: e for e in hub.anon.list_repo_tree(repo, recursive=True, expand=True)}
    assert set(SCANNED) <= set(entries)
    check_file_security(entries)
    # Without expand there is no security field.
    plain = {e.path: e for e in hub.anon.list_repo_tree(repo, recursive=True)}
    assert plain["evil.pkl"].security is None
    # A sub-folder, at the commit.
    (inner,) = hub.anon.list_repo_tree(repo, path_in_repo="bad", revision=sha, expand=True)
    assert inner.path == "bad/pytorch_model.bin" and inner.security.status == "unsafe"


def test_get_paths_info_expand_security(hub, scanned):
    repo, sha, _ = scanned
    paths = [*SCANNED, "odd", "missing.pkl"]
    entries = {e.path: e for e in hub.anon.get_paths_info(repo, paths, expand=True)}
    assert set(entries) == set(SCANNED) | {"odd"}
    check_file_security(entries)
    plain = hub.anon.get_paths_info(repo, ["evil.pkl"], revision=sha)
    assert plain[0].security is None


def test_a_new_commit_is_scanned_again(hub, api, repo_id):
    """Facts belong to a revision: the head's status follows the files it holds, while the
    earlier commit keeps its own."""
    first = commit(api, repo_id, {"evil.pkl": evil_pickle()})
    assert wait_indexed(api, repo_id).security_repo_status["filesWithIssues"] == [
        {"path": "evil.pkl", "level": "unsafe"}
    ]
    second = api.delete_file("evil.pkl", repo_id).oid
    info = wait_indexed(api, repo_id, revision=second)
    assert info.security_repo_status == {"scansDone": True, "filesWithIssues": []}
    old = api.model_info(repo_id, revision=first, securityStatus=True).security_repo_status
    assert old["filesWithIssues"] == [{"path": "evil.pkl", "level": "unsafe"}]
