"""Expected matches and orderings for kura-formats' viewer::filter tests, computed by DuckDB.

Random `where` clauses of the supported grammar run against a small fixed table; the rows each
clause selects (by row index) and, per column and direction, the order DuckDB's default
`ORDER BY` gives (ties by row index) are written as JSON.

Run: python scripts/viewer_filter_oracle.py > crates/kura-formats/tests/data/viewer/filter_cases.json
(needs duckdb; generated with duckdb 2.0.1)
"""

import json
import random

import duckdb

ROWS = [
    {"i": 3, "f": 2.5, "s": "apple", "b": True},
    {"i": None, "f": -1.0, "s": "Apple", "b": False},
    {"i": -7, "f": None, "s": "it's", "b": None},
    {"i": 0, "f": 0.0, "s": None, "b": True},
    {"i": 3, "f": 3.0, "s": "élan", "b": False},
    {"i": 12, "f": 1e3, "s": "", "b": True},
    {"i": None, "f": None, "s": None, "b": None},
    {"i": 2, "f": 2.0000001, "s": "apples", "b": False},
]

LITERALS = {
    "i": ["3", "-7", "0", "2.5", "12", "100", "-1e1"],
    "f": ["2.5", "3", "-1", "0", "1e3", "2.0000001", "-0.5"],
    "s": ["'apple'", "'Apple'", "'it''s'", "''", "'élan'", "'b'", "'apples'"],
    "b": ["TRUE", "FALSE", "true", "false"],
}
OPS = ["=", "<>", "!=", ">", ">=", "<", "<="]


def kw(rng, word):
    return rng.choice([word, word.lower(), word.capitalize()])


def clause(rng, depth):
    roll = rng.random()
    if depth <= 0 or roll < 0.4:
        col = rng.choice(list(LITERALS))
        r = rng.random()
        if r < 0.15:
            return f'"{col}" {kw(rng, "IS")} {kw(rng, "NULL")}'
        if r < 0.25:
            return f'"{col}" {kw(rng, "IS")} {kw(rng, "NOT")} {kw(rng, "NULL")}'
        if r < 0.3:
            return f'"{col}" {rng.choice(OPS)} {kw(rng, "NULL")}'
        return f'"{col}" {rng.choice(OPS)} {rng.choice(LITERALS[col])}'
    if roll < 0.55:
        return f"{kw(rng, 'NOT')} ({clause(rng, depth - 1)})"
    op = kw(rng, rng.choice(["AND", "OR"]))
    left, right = clause(rng, depth - 1), clause(rng, depth - 1)
    if rng.random() < 0.5:
        return f"({left}) {op} ({right})"
    return f"{left} {op} {right}"


def main():
    con = duckdb.connect()
    con.execute('CREATE TABLE t (row_idx INTEGER, i BIGINT, f DOUBLE, s VARCHAR, b BOOLEAN)')
    for idx, row in enumerate(ROWS):
        con.execute("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [idx, row["i"], row["f"], row["s"], row["b"]])
    rng = random.Random(17)
    where = []
    for _ in range(300):
        text = clause(rng, rng.randint(0, 4))
        got = con.execute(f"SELECT row_idx FROM t WHERE {text} ORDER BY row_idx").fetchall()
        where.append({"where": text, "rows": [r[0] for r in got]})
    orderby = []
    for col in LITERALS:
        for direction in ["", " ASC", " DESC", " desc"]:
            text = f'"{col}"{direction}'
            got = con.execute(f"SELECT row_idx FROM t ORDER BY {text}, row_idx").fetchall()
            orderby.append({"orderby": text, "rows": [r[0] for r in got]})
    print(json.dumps({"rows": ROWS, "where": where, "orderby": orderby}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
