#!/usr/bin/env python3
"""Oracle for kura-formats' viewer::splits: config/split inference of a dataset repo.

For each hand-designed repo (a list of file paths and an optional README.md), this creates the
files in a temporary directory and asks the real `datasets` library (pinned in
compat/requirements.txt, 5.2.0) which configs and splits it sees, exactly as it does for a Hub repo
without a loading script: `LocalDatasetModuleFactory` (the same steps as `HubDatasetModuleFactory`:
README YAML `configs:`, `get_data_patterns`, `DataFilesDict.from_patterns`, module inference), then
each builder config's data files are resolved as the builder does (`_resolve_data_files`).

Output: crates/kura-formats/tests/data/splits/cases.json, read by tests/viewer_splits.rs.

Run: /work/venv-splits/bin/python scripts/gen_split_cases.py
"""

import dataclasses
import json
import os
import sys
import tempfile

import datasets
import yaml
from datasets.download import DownloadConfig
from datasets.load import LocalDatasetModuleFactory, import_main_class

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "crates", "kura-formats", "tests", "data", "splits", "cases.json"
)


def yaml_readme(body):
    return "---\n" + body.strip("\n") + "\n---\n\n# A dataset\n"


CASES = [
    ("flat_csv", ["data.csv", "README.md"], None),
    ("flat_two_csv", ["b.csv", "a.csv", "sub/c.csv"], None),
    (
        "sharded_parquet",
        [
            "README.md",
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "data/test-00000-of-00001.parquet",
            "data/validation-00000-of-00001.parquet",
        ],
        None,
    ),
    (
        "sharded_custom_splits",
        [
            "data/train-00000-of-00001.parquet",
            "data/extra-00000-of-00001.parquet",
            "data/aaa-00000-of-00002.parquet",
            "data/aaa-00001-of-00002.parquet",
            "other/test.csv",
        ],
        None,
    ),
    ("sharded_bad_split_name", ["data/tr-ain-00000-of-00001.csv"], None),
    ("sharded_not_at_root", ["sub/data/train-00000-of-00001.parquet", "sub/data/test-00000-of-00001.parquet"], None),
    ("keyword_dirs", ["train/a.csv", "train/b.csv", "dev/a.csv", "test/x.csv", "README.md"], None),
    ("keyword_dirs_nested", ["data/en/train/x.parquet", "data/fr/train/y.parquet", "data/en/test/z.parquet"], None),
    ("keyword_dir_suffix", ["my_train/a.jsonl", "eval-2/b.jsonl", "validation1/c.jsonl"], None),
    ("keyword_files", ["my_test.csv", "train.csv", "val1.csv"], None),
    ("keyword_files_words", ["testing-set.jsonl", "training.jsonl", "evaluation.json", "valid.jsonl"], None),
    ("keyword_contained_only", ["contest.csv", "latest.csv", "trainer.csv"], None),
    ("keyword_space_digit", ["test 2.csv", "train01.csv", "x.csv"], None),
    ("keyword_file_in_two_splits", ["train_test.csv", "train.csv"], None),
    ("keyword_file_duplicate_in_split", ["train_x_train.csv", "test.csv"], None),
    ("dir_wins_over_filename", ["train/test_a.csv", "train/b.csv", "test/c.csv", "val_notes.csv"], None),
    ("mixed_ext_majority", ["a.csv", "b.csv", "c.json"], None),
    ("mixed_ext_tie_parquet", ["a.csv", "b.parquet"], None),
    ("mixed_ext_tie_txt_tsv", ["a.txt", "b.tsv"], None),
    ("mixed_formats_across_splits", ["train.csv", "test.jsonl"], None),
    ("non_data_file_makes_split", ["train.csv", "test_script.py"], None),
    ("tsv_files", ["train.tsv", "test.tsv"], None),
    ("compressed", ["train.csv.gz", "test.csv.gz", "notes.txt"], None),
    ("uppercase_ext", ["DATA.CSV", "b.csv", "c.Json"], None),
    ("markdown_docs_win", ["a.csv", "guide.md", "faq.md"], None),
    ("eval_logs", ["logs/run1.eval", "logs/run2.eval", "train.csv"], None),
    (
        "hidden_and_special",
        [".hidden.csv", ".git/x.csv", "__pycache__/y.csv", "data.csv", "sub/.cache/z.csv", "__init__.csv", "sub/w.csv"],
        None,
    ),
    ("images_with_metadata", ["train/a.png", "train/b.png", "train/metadata.csv", "test/c.png"], None),
    ("ignored_names", ["config.json", "dataset_info.json", "data/x.jsonl"], None),
    ("readme_only", ["README.md"], None),
    ("only_non_data", ["LICENSE", "script.py"], None),
    (
        "yaml_configs_globs_default",
        ["en/train.csv", "en/test.csv", "fr/train-1.csv", "fr/train-2.csv", "fr/dev.csv", "x/y.csv"],
        yaml_readme(
            """
configs:
- config_name: en
  data_files:
  - split: train
    path: en/train.csv
  - split: test
    path: "en/*test*.csv"
- config_name: fr
  default: true
  data_files:
  - split: train
    path: ["fr/train-*.csv"]
  - split: validation
    path: fr/dev.csv
- config_name: all
  data_files: "**/*.csv"
"""
        ),
    ),
    (
        "yaml_default_named_default",
        ["a.csv", "b.csv"],
        yaml_readme(
            """
configs:
- config_name: first
  data_files: a.csv
- config_name: default
  data_files: b.csv
"""
        ),
    ),
    (
        "yaml_list_of_strings",
        ["p1/a.jsonl", "p2/b.jsonl", "p2/c.jsonl", "p3/d.jsonl"],
        yaml_readme(
            """
configs:
- config_name: main
  data_files:
  - p2/*
  - p1/*.jsonl
"""
        ),
    ),
    (
        "yaml_data_dir",
        ["en/train.csv", "en/test.csv", "fr/data.csv", "root.csv"],
        yaml_readme(
            """
configs:
- config_name: en
  data_dir: en
- config_name: fr
  data_dir: fr
"""
        ),
    ),
    (
        "yaml_data_dir_and_files",
        ["en/train.parquet", "en/extra/x.parquet", "train.parquet"],
        yaml_readme(
            """
configs:
- config_name: en
  data_dir: en
  data_files:
  - split: train
    path: "*.parquet"
"""
        ),
    ),
    (
        "yaml_csv_sep",
        ["data/a.csv", "data/b.csv"],
        yaml_readme(
            """
configs:
- config_name: default
  data_files: data/*.csv
  sep: "\\t"
  unknown_param: 3
"""
        ),
    ),
    (
        "yaml_first_config_decides_builder",
        ["j/a.jsonl", "c/b.csv"],
        yaml_readme(
            """
configs:
- config_name: j
  data_files: j/*.jsonl
- config_name: c
  data_files: c/*.csv
"""
        ),
    ),
    (
        "yaml_tsv_default_kwargs",
        ["a.tsv", "b.tsv"],
        yaml_readme(
            """
configs:
- config_name: one
  data_files: a.tsv
- config_name: two
  data_files: b.tsv
"""
        ),
    ),
    (
        "yaml_missing_plain_path",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: one
  data_files: missing.csv
"""
        ),
    ),
    (
        "yaml_missing_glob_empty_split",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: one
  data_files:
  - split: train
    path: a.csv
  - split: test
    path: "nothing/*.csv"
"""
        ),
    ),
    (
        "yaml_several_defaults",
        ["a.csv", "b.csv"],
        yaml_readme(
            """
configs:
- config_name: one
  data_files: a.csv
  default: true
- config_name: two
  data_files: b.csv
  default: true
"""
        ),
    ),
    (
        "yaml_bad_config_name",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: "a/b"
  data_files: a.csv
"""
        ),
    ),
    (
        "yaml_missing_config_name",
        ["a.csv"],
        yaml_readme(
            """
configs:
- data_files: a.csv
"""
        ),
    ),
    (
        "yaml_double_star_in_part",
        ["data/a.csv"],
        yaml_readme(
            """
configs:
- config_name: x
  data_files: "data/**.csv"
"""
        ),
    ),
    (
        "yaml_bad_split_name",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: x
  data_files:
  - split: my-split
    path: a.csv
"""
        ),
    ),
    (
        "yaml_hidden_requested",
        [".cfg/a.csv", ".cfg/.b.csv", "__data__/c.csv", "d.csv"],
        yaml_readme(
            """
configs:
- config_name: hidden
  data_files: ".cfg/*"
- config_name: special
  data_files: "__data__/*"
- config_name: star
  data_files: "**"
"""
        ),
    ),
    (
        "yaml_empty_configs_list",
        ["train.csv", "test.csv"],
        yaml_readme(
            """
pretty_name: x
configs: []
"""
        ),
    ),
    (
        "yaml_no_configs_key",
        ["train.csv"],
        yaml_readme(
            """
license: mit
"""
        ),
    ),
    (
        "yaml_char_classes",
        ["part1.csv", "part2.csv", "part3.csv", "partx.csv", "p?.csv"],
        yaml_readme(
            """
configs:
- config_name: digits
  data_files: "part[1-2].csv"
- config_name: negated
  data_files: "part[!1-2].csv"
- config_name: qmark
  data_files: "part?.csv"
"""
        ),
    ),
    (
        "yaml_crlf_leading_space",
        ["a.csv", "b.csv"],
        "  ---\r\nconfigs:\r\n- config_name: b\r\n  data_files: b.csv\r\n---\r\nbody\r\n",
    ),
    ("harbor_tasks", ["tasks/a/task.toml", "tasks/a/instruction.md", "tasks/b/task.toml", "x.csv"], None),
    ("conllu_kwargs", ["train.conllu", "test.conllu"], None),
    ("csv_and_tsv_across_splits", ["train.csv", "test.tsv"], None),
    ("json_jsonl_tie", ["a.json", "b.jsonl"], None),
    ("keyword_files_in_plain_dir", ["data/train.csv", "data/test.csv", "data/other.csv"], None),
    ("only_dev_dir", ["dev/x.csv", "dev/y.csv"], None),
    ("val_and_validation_dirs", ["val/a.csv", "validation/b.csv", "valid-x/c.csv", "train/d.csv"], None),
    ("unicode_and_spaces", ["données/train é.csv", "données/test-ü.csv", "z.csv"], None),
    ("hidden_keyword_dir", [".github/train/x.csv", "train/y.csv", "a/__tmp__/test/z.csv"], None),
    ("ignored_names_nested", ["sub/README.md", "sub/config.json", "sub/data.jsonl", "sub/dataset_dict.json"], None),
    ("file_named_train_no_ext", ["train", "notes"], None),
    ("sharded_with_extra_suffix", ["data/train-00000-of-00001.parquet.lock", "data/train-00000-of-00001.parquet"], None),
    ("sharded_non_data_split", ["data/train-00000-of-00001.parquet", "data/test-00000-of-00001.md5"], None),
    ("sharded_many_digits", ["data/train-00000-of-000010.parquet", "data/test-00000-of-00001x.y.parquet"], None),
    ("images_uppercase", ["train/A.PNG", "train/b.png", "test/c.JPG"], None),
    (
        "yaml_readme_explicit",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: x
  data_files: ["a.csv", "README.md"]
"""
        ),
    ),
    (
        "yaml_first_data_dir_whole_repo_inference",
        ["en/a.parquet", "fr/b.parquet", "c.csv", "d.csv", "e.csv"],
        yaml_readme(
            """
configs:
- config_name: en
  data_dir: en
- config_name: fr
  data_files: fr/*
"""
        ),
    ),
    (
        "yaml_null_data_files_second",
        ["train.csv", "test.csv"],
        yaml_readme(
            """
configs:
- config_name: a
  data_files: train.csv
- config_name: b
  data_files: null
"""
        ),
    ),
    (
        "yaml_int_config_name",
        ["a.csv"],
        yaml_readme(
            """
configs:
- config_name: 2020
  data_files: a.csv
"""
        ),
    ),
    (
        "yaml_configs_not_list",
        ["a.csv"],
        yaml_readme(
            """
configs:
  config_name: a
"""
        ),
    ),
    ("yaml_syntax_error", ["a.csv"], "---\nconfigs: [\n---\n"),
    (
        "yaml_json_field_param",
        ["a.json"],
        yaml_readme(
            """
configs:
- config_name: a
  data_files: a.json
  field: data
  sep: ","
"""
        ),
    ),
    (
        "yaml_duplicate_split",
        ["a.csv", "b.csv"],
        yaml_readme(
            """
configs:
- config_name: a
  data_files:
  - split: train
    path: a.csv
  - split: train
    path: b.csv
"""
        ),
    ),
    (
        "yaml_split_dotted_and_order",
        ["a.csv", "b.csv", "c.csv"],
        yaml_readme(
            """
configs:
- config_name: a
  data_files:
  - split: test
    path: c.csv
  - split: zz.part_1
    path: [b.csv, a.csv]
  - split: train
    path: a.csv
"""
        ),
    ),
]


def module_name(module_path):
    return module_path.split(".")[-1]


def builder_kwargs(cfg, builder_cls):
    default = builder_cls.BUILDER_CONFIG_CLASS()
    out = {}
    for f in dataclasses.fields(cfg):
        if f.name in ("name", "data_files", "data_dir", "features", "version", "description"):
            continue
        value = getattr(cfg, f.name)
        if value != getattr(default, f.name):
            out[f.name] = value
    return out


def run_case(root, files, readme):
    for path in files:
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8") as f:
            f.write(readme if (path == "README.md" and readme is not None) else "x\n")
    if readme is not None and "README.md" not in files:
        with open(os.path.join(root, "README.md"), "w", encoding="utf-8", newline="") as f:
            f.write(readme)
    module = LocalDatasetModuleFactory(root).get_module()
    builder_cls = import_main_class(module.module_path)
    params = module.builder_configs_parameters
    default_name = params.default_config_name
    configs = []
    for cfg in params.builder_configs:
        cfg._resolve_data_files(root, DownloadConfig())
        splits = [
            {"name": str(split), "files": [os.path.relpath(p, root) for p in data_files]}
            for split, data_files in cfg.data_files.items()
        ]
        configs.append(
            {
                "name": cfg.name,
                "default": cfg.name == default_name if params.metadata_configs else True,
                "builder": module_name(module.module_path),
                "builder_kwargs": builder_kwargs(cfg, builder_cls),
                "splits": splits,
            }
        )
    return configs


def main():
    assert datasets.__version__ == "5.2.0", datasets.__version__
    out = []
    for name, files, readme in CASES:
        with tempfile.TemporaryDirectory() as tmp:
            root = os.path.realpath(tmp)
            case = {"name": name, "files": files, "readme": readme}
            try:
                case["configs"] = run_case(root, files, readme)
            except Exception as e:  # the oracle's answer is the error class
                # PyYAML's errors (ScannerError, ParserError, ...) share one base class.
                case["error"] = "YAMLError" if isinstance(e, yaml.YAMLError) else type(e).__name__
                case["error_message"] = str(e).replace(root, "<repo>")[:300]
            out.append(case)
            print(name, "->", case.get("error") or [(c["name"], [s["name"] for s in c["splits"]]) for c in case["configs"]])
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"datasets_version": datasets.__version__, "cases": out}, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())
