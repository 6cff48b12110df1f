"""What docs/compatibility.md is checked against: the public methods of `HfApi` and the `hf`
commands of the installed client, the rows of the document's two tables, and the compat tests
that call each method.

Used by test_compatibility_table.py and scripts/compat_table.py. Imports huggingface_hub only
inside functions, so that conftest.py stays in control of the environment it reads at import."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

COMPAT_DIR = Path(__file__).resolve().parent
DOC = COMPAT_DIR.parent / "docs" / "compatibility.md"

# A status cell: one of these, exactly.
STATUS_RE = re.compile(r"^(works|partial|untested|not applicable|not yet \(#(\d+)\))$")
# A compat test named in a notes cell: `test_file.py::test_name`.
TEST_REF_RE = re.compile(r"`(test_\w+\.py)::(test_\w+)`")
# A table row: | `name` | status | notes |
ROW_RE = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]+?)\s*\|(.*)\|\s*$")


@dataclass(frozen=True)
class Row:
    name: str
    status: str
    notes: str
    line: int

    @property
    def issue(self) -> int | None:
        m = STATUS_RE.match(self.status)
        return int(m.group(2)) if m and m.group(2) else None

    @property
    def tests(self) -> list[tuple[str, str]]:
        return TEST_REF_RE.findall(self.notes)


@dataclass(frozen=True)
class Command:
    name: str  # "hf repos create"
    hidden: bool
    aliases: tuple[str, ...]  # other spellings of the last word ("ls" for "list")


def hfapi_methods() -> list[str]:
    """Every public method of HfApi in the installed client."""
    from huggingface_hub import HfApi

    return sorted(n for n in dir(HfApi) if not n.startswith("_") and callable(getattr(HfApi, n)))


def hf_commands() -> list[Command]:
    """Every leaf command of the installed `hf` CLI (groups are not commands), hidden ones included."""
    import click
    from huggingface_hub.cli.hf import app

    found: list[Command] = []

    def walk(group: click.Group, ctx: click.Context, prefix: list[str]) -> None:
        real = group.materialize() if hasattr(group, "materialize") else group  # lazy groups
        alias_map = real._alias_map() if hasattr(real, "_alias_map") else {}
        for name in group.list_commands(ctx):
            cmd = group.get_command(ctx, name)
            assert cmd is not None, f"`{' '.join(prefix + [name])}` is listed but cannot be loaded"
            path = prefix + [name]
            if isinstance(cmd, click.Group):
                walk(cmd, click.Context(cmd, parent=ctx, info_name=name), path)
            else:
                aliases = tuple(a for a in alias_map.get(name, []) if a != name)
                found.append(Command(" ".join(path), bool(getattr(cmd, "hidden", False)), aliases))

    walk(app, click.Context(app, info_name="hf"), ["hf"])
    return sorted(found, key=lambda c: c.name)


def read_table(section: str, text: str | None = None) -> list[Row]:
    """The rows between `<!-- {section}:begin -->` and `<!-- {section}:end -->` in the document."""
    text = DOC.read_text() if text is None else text
    lines = text.splitlines()
    begin = lines.index(f"<!-- {section}:begin -->")
    end = lines.index(f"<!-- {section}:end -->")
    rows = []
    for i in range(begin + 1, end):
        m = ROW_RE.match(lines[i])
        if m and m.group(1) not in ("name",):
            rows.append(Row(m.group(1), m.group(2).strip(), m.group(3).strip(), i + 1))
    return rows


def suite_tests(compat_dir: Path = COMPAT_DIR) -> dict[str, ast.FunctionDef]:
    """`file::test` -> its AST node, for every test function of the compat suite."""
    out: dict[str, ast.FunctionDef] = {}
    for path in sorted(compat_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                out[f"{path.name}::{node.name}"] = node
    return out


def source_of(ref: str, compat_dir: Path = COMPAT_DIR) -> str | None:
    """The source text of the test function `file::test`, or None if there is no such test."""
    file, _, name = ref.partition("::")
    path = compat_dir / file
    if not path.is_file():
        return None
    text = path.read_text()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return ast.get_source_segment(text, node)
    return None


def callers(names: set[str], compat_dir: Path = COMPAT_DIR) -> dict[str, list[str]]:
    """For each name, the compat tests whose body uses it as an attribute or a bare name
    (`api.model_info(...)`, `hf_hub_download(...)`), as `file::test`."""
    found: dict[str, list[str]] = {n: [] for n in names}
    for ref, node in suite_tests(compat_dir).items():
        used = set()
        for sub in ast.walk(node):
            if isinstance(sub, ast.Attribute) and sub.attr in names:
                used.add(sub.attr)
            elif isinstance(sub, ast.Name) and sub.id in names:
                used.add(sub.id)
        for n in used:
            found[n].append(ref)
    return found


def mentions_command(source: str, command: Command) -> bool:
    """Whether a test's source runs `command`: as the text `hf a b` or as an argument list
    `["a", "b", ...]` (how support.run_cli is called); aliases count."""
    words = command.name.split()[1:]
    spellings = [words] + [words[:-1] + [a] for a in command.aliases]
    for w in spellings:
        if "hf " + " ".join(w) in source:
            return True
        quoted = r",\s*".join(rf"""["']{re.escape(x)}["']""" for x in w)
        if re.search(r"\[\s*" + quoted + r"\s*[,\]]", source):
            return True
    return False
