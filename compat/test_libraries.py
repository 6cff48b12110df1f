"""transformers (AutoConfig, AutoTokenizer) and datasets (load_dataset: CSV, Parquet, streaming)
against repos the tests create."""

import io
import json

import pytest
from huggingface_hub import CommitOperationAdd
from support import unique

VOCAB = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4, "hello": 5, "kura": 6, "world": 7}


def _tiny_model_folder(path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    raw = Tokenizer(models.WordLevel(vocab=VOCAB, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    tokenizer.save_pretrained(path)
    config = {
        "model_type": "bert",
        "architectures": ["BertModel"],
        "vocab_size": len(VOCAB),
        "hidden_size": 8,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "max_position_embeddings": 32,
    }
    (path / "config.json").write_text(json.dumps(config))
    (path / "README.md").write_text(
        "---\nlibrary_name: transformers\nlicense: mit\npipeline_tag: feature-extraction\ntags:\n- tiny\n---\n# tiny\n"
    )
    return path


@pytest.fixture(scope="module")
def tiny_model(hub, tmp_path_factory):
    folder = _tiny_model_folder(tmp_path_factory.mktemp("tiny"))
    public = f"alice/{unique('tiny-bert')}"
    private = f"alice/{unique('tiny-private')}"
    for repo, private_flag in ((public, False), (private, True)):
        hub.alice.api.create_repo(repo, private=private_flag)
        hub.alice.api.upload_folder(folder_path=folder, repo_id=repo, commit_message="tiny model")
    return public, private


def test_autoconfig(hub, tiny_model):
    from transformers import AutoConfig

    public, private = tiny_model
    config = AutoConfig.from_pretrained(public)
    assert type(config).__name__ == "BertConfig"
    assert config.hidden_size == 8 and config.vocab_size == len(VOCAB)
    # Second load: served from the cache after a repo-info call.
    assert AutoConfig.from_pretrained(public).num_attention_heads == 2
    # Pinned to the commit id.
    sha = hub.anon.model_info(public).sha
    assert AutoConfig.from_pretrained(public, revision=sha).intermediate_size == 16
    # A private repo with the owner's read token.
    assert AutoConfig.from_pretrained(private, token=hub.alice.read_token).hidden_size == 8
    with pytest.raises(OSError):
        AutoConfig.from_pretrained(private, force_download=True)


def test_autotokenizer(hub, tiny_model):
    from transformers import AutoTokenizer

    public, private = tiny_model
    tok = AutoTokenizer.from_pretrained(public)
    assert tok.convert_tokens_to_ids(["hello", "kura", "world"]) == [5, 6, 7]
    ids = tok("hello kura world")["input_ids"]
    assert [i for i in ids if i not in (2, 3)] == [5, 6, 7]
    assert tok.decode([5, 6, 7]) == "hello kura world"
    assert tok("hello unknownword")["input_ids"].count(1) == 1
    assert tok.pad_token == "[PAD]"
    tok_private = AutoTokenizer.from_pretrained(private, token=hub.alice.write_token)
    assert tok_private.convert_tokens_to_ids("kura") == 6


def test_model_card_metadata_from_readme(hub, tiny_model):
    public, _ = tiny_model
    info = hub.anon.model_info(public)
    assert info.library_name == "transformers"
    assert info.pipeline_tag == "feature-extraction"
    assert "tiny" in info.tags
    assert info.card_data["license"] == "mit"
    assert {s.rfilename for s in info.siblings} >= {
        "config.json",
        "tokenizer.json",
        "tokenizer_config.json",
        "README.md",
    }


def test_datasets_csv_repo(hub, api):
    import datasets

    repo = f"alice/{unique('csv')}"
    api.create_repo(repo, repo_type="dataset")
    train = "text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(50))
    test = "text,label\n" + "".join(f"test {i},{i % 3}\n" for i in range(10))
    api.create_commit(
        repo,
        [
            CommitOperationAdd("data/train.csv", train.encode()),
            CommitOperationAdd("data/test.csv", test.encode()),
            CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# csv dataset\n"),
        ],
        commit_message="data",
        repo_type="dataset",
    )
    loaded = datasets.load_dataset(repo)
    assert set(loaded) == {"train", "test"}
    assert loaded["train"].num_rows == 50
    assert loaded["test"].num_rows == 10
    assert loaded["train"][3] == {"text": "row 3", "label": 1}
    assert loaded["test"][9] == {"text": "test 9", "label": 0}
    assert hub.anon.dataset_info(repo).card_data["license"] == "mit"


def _parquet_repo(hub, rows: int) -> str:
    import pyarrow as pa
    import pyarrow.parquet as pq

    repo = f"alice/{unique('parquet')}"
    hub.alice.api.create_repo(repo, repo_type="dataset")
    table = pa.table({"id": list(range(rows)), "name": [f"name-{i}" for i in range(rows)]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer, row_group_size=1000)
    hub.alice.api.upload_file(
        path_or_fileobj=buffer.getvalue(),
        path_in_repo="data/train-00000-of-00001.parquet",
        repo_id=repo,
        repo_type="dataset",
    )
    return repo


@pytest.fixture(scope="module")
def parquet_repo(hub):
    return _parquet_repo(hub, rows=20_000)


def test_datasets_parquet_repo(parquet_repo):
    import datasets

    loaded = datasets.load_dataset(parquet_repo, split="train")
    assert loaded.num_rows == 20_000
    assert loaded[0] == {"id": 0, "name": "name-0"}
    assert loaded[19_999] == {"id": 19_999, "name": "name-19999"}
    assert sum(loaded["id"]) == sum(range(20_000))


def test_datasets_parquet_streaming(parquet_repo):
    import datasets

    stream = datasets.load_dataset(parquet_repo, split="train", streaming=True)
    assert type(stream).__name__ == "IterableDataset"
    rows = list(stream)
    assert len(rows) == 20_000
    assert rows[12_345] == {"id": 12_345, "name": "name-12345"}
    assert [r["id"] for r in rows] == list(range(20_000))


def test_datasets_private_repo_with_token(hub, api, tmp_path):
    import os
    import subprocess
    import sys

    import datasets

    repo = f"alice/{unique('csv-private')}"
    api.create_repo(repo, repo_type="dataset", private=True)
    api.upload_file(path_or_fileobj=b"a,b\n1,x\n2,y\n", path_in_repo="train.csv", repo_id=repo, repo_type="dataset")
    loaded = datasets.load_dataset(repo, split="train", token=hub.alice.read_token)
    assert loaded.to_list() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    # Another user, in a fresh process and cache (datasets would otherwise fall back to its cache).
    env = dict(os.environ, HF_HOME=str(tmp_path / "bob-home"), HF_TOKEN=hub.bob.write_token)
    script = f"import datasets; datasets.load_dataset({repo!r}, split='train')"
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0, "bob must not be able to load alice's private dataset"
    assert "DatasetNotFoundError" in proc.stderr, proc.stderr[-2000:]


def test_datasets_push_to_hub_round_trip(hub):
    import datasets

    repo = f"alice/{unique('pushed')}"
    ds = datasets.Dataset.from_dict({"id": list(range(100)), "text": [f"t{i}" for i in range(100)]})
    ds.push_to_hub(repo, token=hub.alice.write_token)
    # A second push to a new branch (create_branch exist_ok, parentCommit on the final commit).
    ds.select(range(10)).push_to_hub(repo, token=hub.alice.write_token, revision="small")
    files = hub.anon.list_repo_files(repo, repo_type="dataset")
    assert any(f.startswith("data/train-") and f.endswith(".parquet") for f in files), files
    assert "README.md" in files
    assert datasets.load_dataset(repo, split="train")["id"] == list(range(100))
    assert datasets.load_dataset(repo, split="train", revision="small")["id"] == list(range(10))
