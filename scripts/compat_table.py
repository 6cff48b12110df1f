#!/usr/bin/env python3
"""Skeleton rows for docs/compatibility.md after the pinned client moves.

Prints a row for every public `HfApi` method and `hf` command of the installed client that the
document does not list yet (status `works` with the compat tests that call a method, when some
do; `?` otherwise, to be decided by hand), and names the rows whose method or command no longer
exists. Paste the rows into the tables in name order, fix the status and notes, then update the
summary and the gap list; compat/test_compatibility_table.py says what is still wrong.

    .venv/bin/python scripts/compat_table.py            # rows to add and to remove
    .venv/bin/python scripts/compat_table.py --callers  # every method and the tests that call it
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "compat"))

from compat_table import callers, hf_commands, hfapi_methods, read_table  # noqa: E402


def main(argv: list[str]) -> int:
    methods = hfapi_methods()
    called = callers(set(methods))
    if "--callers" in argv:
        for name in methods:
            print(f"{name}: {', '.join(called[name]) or '-'}")
        return 0

    listed = {r.name for r in read_table("methods")}
    print("## HfApi methods to add")
    for name in methods:
        if name not in listed:
            refs = called[name][:3]
            status, notes = ("works", ", ".join(f"`{r}`" for r in refs)) if refs else ("?", "")
            print(f"| `{name}` | {status} | {notes} |")
    print("\n## HfApi rows to remove")
    for name in sorted(listed - set(methods)):
        print(f"- `{name}`")

    commands = hf_commands()
    listed = {r.name for r in read_table("commands")}
    print("\n## hf commands to add")
    for cmd in commands:
        if cmd.name not in listed:
            print(f"| `{cmd.name}` | ? | {'hidden' if cmd.hidden else ''} |")
    print("\n## hf command rows to remove")
    for name in sorted(listed - {c.name for c in commands}):
        print(f"- `{name}`")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
