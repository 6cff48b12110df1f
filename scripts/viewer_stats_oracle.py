"""Expected /statistics entries for kura-formats' viewer::stats tests, computed with numpy and
polars following dataset-viewer's statistics_utils.py procedure (min/max/mean/median/std by
polars, np.round to 5 decimals, np.arange bin edges, polars' hist over negated values).

Run: python scripts/viewer_stats_oracle.py > crates/kura-formats/tests/data/viewer/stats_cases.json
(needs numpy and polars; generated with numpy 2.4.6, polars 2.1.0)
"""

import json
import math
import random

import numpy as np
import polars as pl

DECIMALS = 5
NUM_BINS = 10


def proportion(count, n):
    return round_(count / n) if count else 0.0


def round_(x):
    return np.round(x, DECIMALS).item()


def edges_for(lo, hi, is_int):
    if lo == hi:
        edges = [lo, hi]
    elif is_int:
        step = np.ceil((hi - lo + 1) / NUM_BINS)
        edges = np.arange(lo, hi, step).astype(int).tolist()
    else:
        edges = np.arange(lo, hi, (hi - lo) / NUM_BINS).astype(float).tolist()
    if edges[-1] != hi:
        edges.append(hi)
    return edges


def hist_for(series, edges):
    if len(edges) == 2:
        return [int(series.is_not_null().sum())]
    rev = [-e for e in edges[::-1]]
    rev[0] -= 1
    rev[-1] += 1
    counts = (series * -1).hist(bins=rev)["count"].to_list()
    return counts[::-1]


def numeric(values, is_int):
    n = len(values)
    s = pl.Series("v", values, dtype=pl.Int64 if is_int else pl.Float64)
    nulls = s.null_count()
    if nulls == n:
        return {"nan_count": n, "nan_proportion": 1.0, "min": None, "max": None, "mean": None,
                "median": None, "std": None, "histogram": None}
    raw = [s.min(), s.max(), s.mean(), s.median(), s.std()]
    std = None if raw[4] is None else round_(raw[4])
    lo, hi, mean, median = (round_(x) for x in raw[:4])
    if is_int:
        lo, hi = int(lo), int(hi)
    edges = edges_for(lo, hi, is_int)
    hist = hist_for(s, edges)
    assert sum(hist) == n - nulls
    if not is_int:
        edges = np.round(edges, DECIMALS).tolist()
    return {"nan_count": nulls, "nan_proportion": proportion(nulls, n), "min": lo, "max": hi,
            "mean": mean, "median": median, "std": std,
            "histogram": {"hist": hist, "bin_edges": edges}}


def strings(values):
    n = len(values)
    s = pl.Series("v", values, dtype=pl.String)
    nulls = s.null_count()
    n_unique = s.n_unique()
    if (n_unique / n <= 0.2 and n_unique <= 1000) or n_unique <= NUM_BINS:
        freq = {k: c for k, c in s.value_counts().rows() if k is not None}
        return "string_label", {"nan_count": nulls, "nan_proportion": proportion(nulls, n),
                                "no_label_count": 0, "no_label_proportion": 0.0,
                                "n_unique": len(freq), "frequencies": freq}
    lengths = [None if v is None else len(v) for v in values]
    return "string_text", numeric(lengths, True)


def case(name, feature, cells, column_type, stats):
    return {"name": name, "feature": feature, "cells": cells,
            "expected": {"column_name": name, "column_type": column_type, "column_statistics": stats}}


def main():
    rng = random.Random(17)
    int_f = {"_type": "Value", "dtype": "int64"}
    float_f = {"_type": "Value", "dtype": "float64"}
    str_f = {"_type": "Value", "dtype": "string"}
    cases = []
    for name, cells in [
        ("int_small", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        ("int_nulls", [3, None, 7, 7, -2, None, 100, 41, 0]),
        ("int_const", [4, 4, 4, None]),
        ("int_wide", [rng.randint(-10**9, 10**9) for _ in range(500)]),
        ("int_narrow", [rng.randint(0, 12) for _ in range(300)]),
        ("int_all_null", [None, None]),
    ]:
        cases.append(case(name, int_f, cells, "int", numeric(cells, True)))
    for name, cells in [
        ("float_simple", [0.5, 1.5, 2.25, None, 10.0, -3.125]),
        ("float_gauss", [rng.gauss(0, 1) for _ in range(1000)]),
        ("float_tiny", [rng.uniform(1e-7, 3e-7) for _ in range(50)]),
        ("float_const", [2.5, 2.5]),
        ("float_ints", [1, 2, 3, 4]),
        ("float_third", [x / 3 for x in range(31)]),
    ]:
        cases.append(case(name, float_f, cells, "float", numeric(cells, False)))
    for name, cells in [
        ("str_label", [rng.choice(["cat", "dog", "émeu"]) for _ in range(40)] + [None]),
        ("str_text", ["w" * rng.randint(0, 60) + "é" * rng.randint(0, 3) for _ in range(60)] + [None]),
        ("str_share", [f"v{i % 20}" for i in range(100)]),
        ("str_share_over", [f"v{i % 21}" for i in range(100)]),
        ("str_all_null", [None, None, None]),
    ]:
        column_type, stats = strings(cells)
        cases.append(case(name, str_f, cells, column_type, stats))
    lists = [[1] * rng.randint(0, 25) if rng.random() > 0.1 else None for _ in range(80)]
    lengths = [None if v is None else len(v) for v in lists]
    cases.append(case("list_lengths", {"_type": "List", "feature": int_f}, lists, "list", numeric(lengths, True)))
    print(json.dumps(cases, ensure_ascii=False, indent=1))
    assert not any(isinstance(x, float) and math.isnan(x) for x in [])


if __name__ == "__main__":
    main()
