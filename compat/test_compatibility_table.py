"""docs/compatibility.md against the installed client and this suite. Needs no server: it reads
the document and the test sources, and introspects huggingface_hub and its `hf` app."""

import collections
import re

import huggingface_hub
from compat_table import DOC, STATUS_RE, callers, hf_commands, hfapi_methods, mentions_command, read_table, source_of

KINDS = ["works", "partial", "untested", "not yet", "not applicable"]


def _kind(status: str) -> str:
    return "not yet" if status.startswith("not yet") else status


def _problems_with_rows(rows, expected: set[str], what: str) -> list[str]:
    problems = []
    names = collections.Counter(r.name for r in rows)
    problems += [f"{what} `{n}` is listed {k} times" for n, k in names.items() if k > 1]
    problems += [f"{what} `{n}` is missing from {DOC.name}" for n in sorted(expected - set(names))]
    problems += [f"{what} `{n}` (line {r.line}) does not exist in the pinned client" for r in rows for n in [r.name] if n not in expected]
    for r in rows:
        if not STATUS_RE.match(r.status):
            problems.append(f"line {r.line}: `{r.name}` has status {r.status!r}; use one of {KINDS} (`not yet (#N)`)")
        elif r.status in ("works", "partial") and not r.tests:
            problems.append(f"line {r.line}: `{r.name}` is {r.status} but names no `test_file.py::test_name`")
    return problems


def test_the_pinned_version_is_the_one_documented():
    assert f"`huggingface_hub` {huggingface_hub.__version__}" in DOC.read_text(), (
        f"{DOC.name} describes another huggingface_hub than the installed {huggingface_hub.__version__}: "
        "regenerate the rows with scripts/compat_table.py"
    )


def test_every_hfapi_method_is_listed_once():
    problems = _problems_with_rows(read_table("methods"), set(hfapi_methods()), "HfApi method")
    assert not problems, "\n".join(problems)


def test_every_hf_command_is_listed_once():
    problems = _problems_with_rows(read_table("commands"), {c.name for c in hf_commands()}, "command")
    assert not problems, "\n".join(problems)


def test_named_tests_exist_and_call_the_method():
    problems = []
    for r in read_table("methods"):
        for file, name in r.tests:
            source = source_of(f"{file}::{name}")
            if source is None:
                problems.append(f"`{r.name}` names `{file}::{name}`, which does not exist")
            elif not re.search(rf"\b{re.escape(r.name)}\b", source):
                problems.append(f"`{r.name}` names `{file}::{name}`, which never calls it")
    assert not problems, "\n".join(problems)


def test_named_tests_exist_and_run_the_command():
    commands = {c.name: c for c in hf_commands()}
    problems = []
    for r in read_table("commands"):
        for file, name in r.tests:
            source = source_of(f"{file}::{name}")
            if source is None:
                problems.append(f"`{r.name}` names `{file}::{name}`, which does not exist")
            elif r.name in commands and not mentions_command(source, commands[r.name]):
                problems.append(f"`{r.name}` names `{file}::{name}`, which never runs it")
    assert not problems, "\n".join(problems)


def test_not_yet_names_an_issue():
    rows = read_table("methods") + read_table("commands")
    bad = [f"line {r.line}: `{r.name}`" for r in rows if r.status.startswith("not yet") and r.issue is None]
    assert not bad, "a `not yet` row must name the issue that brings it, as `not yet (#N)`:\n" + "\n".join(bad)


def test_untested_methods_are_not_called_by_any_test():
    untested = {r.name for r in read_table("methods") if r.status == "untested"}
    called = {name: refs for name, refs in callers(untested).items() if refs}
    assert not called, "these methods are marked untested but a compat test calls them; mark them works:\n" + "\n".join(
        f"`{name}`: {', '.join(refs)}" for name, refs in sorted(called.items())
    )


def test_summary_counts_match_the_tables():
    counts = {
        section: collections.Counter(_kind(r.status) for r in read_table(section)) for section in ("methods", "commands")
    }
    text = DOC.read_text()
    summary = text[text.index("<!-- summary:begin -->") : text.index("<!-- summary:end -->")]
    for kind in KINDS:
        row = f"| {kind} | {counts['methods'][kind]} | {counts['commands'][kind]} |"
        assert row in summary, f"the summary's `{kind}` row should read {row!r}"
    total = f"| total | {sum(counts['methods'].values())} | {sum(counts['commands'].values())} |"
    assert total in summary, f"the summary's total row should read {total!r}"


def test_the_gap_lists_exactly_the_untested_rows():
    text = DOC.read_text()
    gap = text[text.index("<!-- gap:begin -->") : text.index("<!-- gap:end -->")]
    listed = re.findall(r"^- `([^`]+)`", gap, flags=re.M)
    untested = [r.name for section in ("methods", "commands") for r in read_table(section) if r.status == "untested"]
    assert listed == untested, f"the gap list should be, in table order: {untested}"
