#!/usr/bin/env python3
"""Glue for bench/viewer/run. Needs pyarrow and huggingface_hub (run it with VENV_PY); the
`report`, `store-bytes` and `cpu` subcommands use the standard library only.

Subcommands:
  make-parquet PATH ROWS          write the rows fixture: ROWS rows (id, text, score, label) as
                                  `datasets` writes parquet (page index, content-defined chunking,
                                  row groups of ~100 MB of Arrow data); prints rows bytes groups
  make-csv PATH MIB [FIRST_ID]    write a CSV of ~MIB MiB with the same columns; prints rows bytes
  append-csv SRC DST PERCENT      DST = SRC plus PERCENT % more rows (ids continue); prints rows bytes
  upload URL TOKEN REPO FILE NAME create the dataset repo (exist_ok) and commit FILE as NAME with
                                  huggingface_hub; prints the commit sha and the seconds it took
  wait-export URL TOKEN REPO SHA TIMEOUT PID
                                  poll /datasets-server/is-valid (and /splits for X-Revision) until
                                  the export of SHA is ready; prints seconds (from the call) and the
                                  CPU seconds PID used meanwhile
  parquet-bytes URL TOKEN REPO    total size of the export's files per /datasets-server/parquet
  rows-warm URL TOKEN REPO SPLIT FILE TOTAL REPS
                                  /rows (100 rows) at offsets 0, middle, end against pyarrow
                                  reading the same rows of FILE, alternating; prints one
                                  `key value` line per measurement
  rows-cold URL TOKEN REPO SPLIT OFFSET
                                  one /rows request on a fresh connection (after a restart); ms
  pyarrow-cold FILE OFFSET WAY    pyarrow: open FILE and read 100 rows at OFFSET (WAY: iter|group); ms
  pyarrow-convert CSV OUT         pyarrow.csv.read_csv + pyarrow.parquet.write_table (the options
                                  `datasets` uses); prints seconds, CPU seconds, parquet bytes
  store-bytes DATA_DIR URL        bytes under DATA_DIR/blobs (du -sb) and kura_xet_stored_bytes
  report RESULTS DOC              print the markdown results and rewrite DOC's viewer section
"""

import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request


def _bench_helpers():
    """bench/helpers.py (the shared report helpers), loaded under its own name."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "helpers.py")
    spec = importlib.util.spec_from_file_location("bench_helpers", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_shared = _bench_helpers()
_load, _nums, _one, _runs, write_section = _shared._load, _shared._nums, _shared._one, _shared._runs, _shared.write_section

BEGIN = "<!-- bench:viewer:begin -->"
END = "<!-- bench:viewer:end -->"
MIB = 1024 * 1024
ROW_GROUP_BYTES = 100 * 1000 * 1000  # datasets' MAX_ROW_GROUP_SIZE "100MB"
CDC = {"min_chunk_size": 256 * 1024, "max_chunk_size": 1024 * 1024, "norm_level": 0}  # datasets' DEFAULT_CDC_OPTIONS
PAGE = 100
TARGET_WARM_P95_MS = 100
TARGET_COLD_P95_MS = 500
WORDS = (
    "the of and to in is was for on that with as by at from his her an were which are this be had "
    "not have one their has been also its new first after who two they but more other some time "
    "city year may into such most many world state film school music river team series game "
    "data model train test value image token layer dataset viewer export parquet column row"
).split()


# ------------------------------------------------------------------ fixtures


def _table(first, n, seed):
    """n rows with ids first..first+n: an int id, a short text of 5 words, a float, a label."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    rng = np.random.default_rng(seed)
    vocab = pa.array(WORDS)
    words = [vocab.take(pa.array(rng.integers(0, len(WORDS), n))) for _ in range(5)]
    ids = pa.array(np.arange(first, first + n, dtype=np.int64))
    text = pc.binary_join_element_wise(*words, " ")
    score = pa.array(np.round(rng.random(n) * 100, 3))
    label = pa.array(rng.integers(0, 5, n))
    return pa.table({"id": ids, "text": text, "score": score, "label": label})


def make_parquet(path, rows):
    import pyarrow.parquet as pq

    rows = int(rows)
    probe = _table(0, 100_000, 0)
    per_group = max(1, int(ROW_GROUP_BYTES / (probe.nbytes / probe.num_rows)))
    groups = 0
    with pq.ParquetWriter(path, probe.schema, write_page_index=True, use_content_defined_chunking=CDC) as writer:
        for first in range(0, rows, per_group):
            n = min(per_group, rows - first)
            writer.write_table(_table(first, n, first + 1), row_group_size=n)
            groups += 1
    print(rows, os.path.getsize(path), groups)


def _write_csv(path, first, rows, seed, header, mode):
    import pyarrow.csv as pcsv

    with open(path, mode) as f:
        done, chunk = 0, 500_000
        while done < rows:
            n = min(chunk, rows - done)
            pcsv.write_csv(_table(first + done, n, seed + done), f, pcsv.WriteOptions(include_header=header and done == 0))
            done += n


def make_csv(path, mib, first_id="0"):
    probe = _table(0, 100_000, 0)
    import io

    import pyarrow.csv as pcsv

    buf = io.BytesIO()
    pcsv.write_csv(probe, buf)
    per_row = len(buf.getvalue()) / probe.num_rows
    rows = int(float(mib) * MIB / per_row)
    _write_csv(path, int(first_id), rows, 7, True, "wb")
    print(rows, os.path.getsize(path))


def append_csv(src, dst, percent):
    import shutil

    with open(src, "rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(16 * MIB), b"")) - 1
    more = max(1, int(rows * float(percent) / 100))
    shutil.copyfile(src, dst)
    _write_csv(dst, rows, more, 99, False, "ab")
    print(rows + more, os.path.getsize(dst))


# ------------------------------------------------------------------ kura


def upload(url, token, repo, file, name):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=token)
    api.create_repo(repo, repo_type="dataset", exist_ok=True)
    t0 = time.monotonic()
    info = api.upload_file(path_or_fileobj=file, path_in_repo=name, repo_id=repo, repo_type="dataset",
                           commit_message=f"bench: {name}")
    print(info.oid, f"{time.monotonic() - t0:.3f}")


def _get(conn, path, token):
    conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
    resp = conn.getresponse()
    return resp.status, resp.headers, resp.read()


def _conn(url):
    parts = urllib.parse.urlsplit(url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)


def cpu_seconds(pid):
    """CPU seconds (user + system) PID has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_export(url, token, repo, sha, timeout, pid):
    t0, cpu0 = time.monotonic(), cpu_seconds(int(pid))
    deadline = t0 + float(timeout)
    conn = _conn(url)
    last = None
    while time.monotonic() < deadline:
        status, _, body = _get(conn, f"/datasets-server/is-valid?dataset={repo}", token)
        last = (status, body[:200])
        if status == 200 and json.loads(body).get("viewer") is True:
            status, headers, body = _get(conn, f"/datasets-server/splits?dataset={repo}", token)
            last = (status, headers.get("X-Revision"), body[:300])
            if status == 200 and headers.get("X-Revision") == sha:
                print(f"{time.monotonic() - t0:.3f}", f"{cpu_seconds(int(pid)) - cpu0:.2f}")
                return
        time.sleep(0.1)
    sys.exit(f"wait-export: {repo}@{sha} not exported within {timeout} s; last answer {last}")


def parquet_bytes(url, token, repo):
    status, _, body = _get(_conn(url), f"/datasets-server/parquet?dataset={repo}", token)
    if status != 200:
        sys.exit(f"parquet-bytes: {status} {body[:300]!r}")
    files = json.loads(body)["parquet_files"]
    print(sum(f["size"] for f in files), len(files))


def _rows_path(repo, split, offset):
    return f"/datasets-server/rows?dataset={repo}&config=default&split={split}&offset={offset}&length={PAGE}"


def _check_rows(body, offset, total):
    page = json.loads(body)
    rows = page["rows"]
    want = min(PAGE, total - offset)
    if len(rows) != want or page["num_rows_total"] != total:
        sys.exit(f"/rows at {offset}: {len(rows)} rows of {page['num_rows_total']}, expected {want} of {total}")
    for r in (rows[0], rows[-1]):
        if r["row"]["id"] != r["row_idx"]:
            sys.exit(f"/rows at {offset}: row {r['row_idx']} has id {r['row']['id']}")


class _Arrow:
    """pyarrow reading rows N..N+100 of one file, two ways (pyarrow has no page-index row
    selection in Python): "iter", `iter_batches` over the row group holding N, stopping at the
    batch that holds the last row; "group", `read_row_group` (threaded) then `slice`. The footer
    is read once per `_Arrow` (an open `ParquetFile`)."""

    def __init__(self, path):
        import pyarrow.parquet as pq

        self.file = pq.ParquetFile(path)
        meta = self.file.metadata
        self.starts, start = [], 0
        for g in range(meta.num_row_groups):
            self.starts.append(start)
            start += meta.row_group(g).num_rows
        self.total = start

    def rows(self, offset, way="iter", n=PAGE):
        import bisect

        import pyarrow as pa

        end = min(offset + n, self.total)
        g = bisect.bisect_right(self.starts, offset) - 1
        out = []
        while g < len(self.starts) and self.starts[g] < end:
            pos = self.starts[g]
            if way == "group":
                table = self.file.read_row_group(g)
                lo = max(offset, pos) - pos
                out.extend(table.slice(lo, min(end - pos, table.num_rows) - lo).to_batches())
            else:
                for batch in self.file.iter_batches(batch_size=8192, row_groups=[g]):
                    b_end = pos + batch.num_rows
                    if b_end > offset:
                        lo = max(offset, pos) - pos
                        out.append(batch.slice(lo, min(end, b_end) - pos - lo))
                    pos = b_end
                    if pos >= end:
                        break
            g += 1
        return pa.Table.from_batches(out)


def rows_warm(url, token, repo, split, path, total, reps):
    total, reps = int(total), int(reps)
    offsets = {"start": 0, "middle": total // 2, "end": total - PAGE}
    conn = _conn(url)
    arrow = _Arrow(path)
    ways = {}
    for name, offset in offsets.items():  # warm-up; pyarrow's faster way per offset is kept
        status, _, body = _get(conn, _rows_path(repo, split, offset), token)
        if status != 200:
            sys.exit(f"/rows at {offset}: {status} {body[:300]!r}")
        _check_rows(body, offset, total)
        best = {}
        for way in ("iter", "group", "iter", "group"):
            t0 = time.perf_counter()
            t = arrow.rows(offset, way)
            best[way] = min(best.get(way, 1e9), time.perf_counter() - t0)
            if t.num_rows != PAGE or t.column("id")[0].as_py() != offset or t.column("id")[-1].as_py() != offset + PAGE - 1:
                sys.exit(f"pyarrow ({way}) read the wrong rows at {offset}")
        ways[name] = min(best, key=best.get)
        print(f"arrow_way_{name} {ways[name]}")
    for _ in range(reps):
        for name, offset in offsets.items():
            t0 = time.perf_counter()
            status, _, body = _get(conn, _rows_path(repo, split, offset), token)
            t1 = time.perf_counter()
            if status != 200:
                sys.exit(f"/rows at {offset}: {status}")
            print(f"warm_kura_{name} {(t1 - t0) * 1000:.3f}")
            t0 = time.perf_counter()
            arrow.rows(offset, ways[name]).to_pylist()
            t1 = time.perf_counter()
            print(f"warm_arrow_{name} {(t1 - t0) * 1000:.3f}")
        _check_rows(body, offsets["end"], total)
    print(f"bytes_page {len(body)}")


def rows_cold(url, token, repo, split, offset):
    conn = _conn(url)
    t0 = time.perf_counter()
    status, _, body = _get(conn, _rows_path(repo, split, int(offset)), token)
    t1 = time.perf_counter()
    if status != 200:
        sys.exit(f"/rows at {offset}: {status} {body[:300]!r}")
    print(f"{(t1 - t0) * 1000:.3f}")


def pyarrow_cold(path, offset, way="iter"):
    import pyarrow.parquet  # noqa: F401  (the import is not part of the read)

    t0 = time.perf_counter()
    t = _Arrow(path).rows(int(offset), way)
    t.to_pylist()
    print(f"{(time.perf_counter() - t0) * 1000:.3f}")


def pyarrow_convert(csv_path, out):
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    table = pcsv.read_csv(csv_path)
    per_group = max(1, int(ROW_GROUP_BYTES / max(1, table.nbytes / max(1, table.num_rows))))
    pq.write_table(table, out, row_group_size=per_group, write_page_index=True, use_content_defined_chunking=CDC)
    t1, r1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"{t1 - t0:.3f}", f"{cpu:.2f}", os.path.getsize(out), table.num_rows)


def store_bytes(data_dir, url, metrics_token):
    r = subprocess.run(["du", "-sb", os.path.join(data_dir, "blobs")], capture_output=True, text=True)
    disk = int(r.stdout.split()[0]) if r.returncode == 0 and r.stdout else 0
    stored = 0
    try:
        req = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            for line in resp.read().decode().splitlines():
                if line.startswith("kura_xet_stored_bytes "):
                    stored = int(float(line.split()[1]))
    except OSError:
        pass
    print(disk, stored)


# ------------------------------------------------------------------ report


def _pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _ms(x):
    return f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _mib(b):
    return f"{b / MIB:.1f} MiB"


def render(v):
    total = int(_one(v, "rows_total", "0"))
    lines = [
        f"Run of {_one(v, 'date')} — kura commit `{_one(v, 'commit')}`{_one(v, 'binary_note', '')}; "
        f"{_one(v, 'nproc')} CPUs ({_one(v, 'cpu')}), {_one(v, 'mem')}; pyarrow {_one(v, 'pyarrow')}; "
        f"load average before: {_one(v, 'load_before')}, after: {_one(v, 'load_after')} (a shared machine).",
        "",
        f"**`/rows`, 100 rows**, of a split of {total:,} rows in one parquet file "
        f"({_mib(float(_one(v, 'rows_bytes', '0')))}, {_one(v, 'rows_groups')} row groups of ~100 MB of Arrow data, "
        "page index, columns id int64, text (5 words), score float64, label int64), against pyarrow reading the "
        f"same rows of the same local file. Warm: {_runs(len(_nums(v, 'warm_kura_start')))} per offset after a "
        "warm-up, kura and pyarrow alternating, one keep-alive connection (kura) and one open `ParquetFile` "
        f"(pyarrow). Cold: the first request after a restart of kura ({_runs(len(_nums(v, 'cold_kura_start')))} "
        "per offset, one restart each), against pyarrow opening the file anew (the OS page cache is warm for both).",
        "",
        "| offset | kura p50 / p95 / min, ms | pyarrow p50 / p95 / min, ms | kura ÷ pyarrow (p50; p95) | target p95 |",
        "|---|---|---|---|---|",
    ]
    for mode, target in (("warm", TARGET_WARM_P95_MS), ("cold", TARGET_COLD_P95_MS)):
        for name, offset in (("start", 0), ("middle", total // 2), ("end", total - PAGE)):
            k, a = _nums(v, f"{mode}_kura_{name}"), _nums(v, f"{mode}_arrow_{name}")
            if not k:
                continue
            kp50, kp95, ap50, ap95 = _pct(k, 50), _pct(k, 95), _pct(a, 50), _pct(a, 95)
            verdict = "**met**" if kp95 < target else "**missed**"
            lines.append(
                f"| {mode}, {name} ({offset:,}) | {_ms(kp50)} / {_ms(kp95)} / {_ms(min(k))} | "
                f"{_ms(ap50)} / {_ms(ap95)} / {_ms(min(a))} | {kp50 / ap50:.2f}; {kp95 / ap95:.2f} | "
                f"< {target} ms: {verdict} |"
            )
    csv_bytes = float(_one(v, "csv_bytes", "0"))
    ks, ka = _nums(v, "conv_kura_s"), _nums(v, "conv_arrow_s")
    kc, ac = _nums(v, "conv_kura_cpu"), _nums(v, "conv_arrow_cpu")
    lines += [
        "",
        f"**Conversion** of a {_mib(csv_bytes)} CSV ({int(_one(v, 'csv_rows', '0')):,} rows, same columns): kura's "
        "export job, timed from the commit's return until `/is-valid` says `viewer` for that commit (the poll "
        "runs every 0.1 s), each run a new dataset repo holding the same file; against `pyarrow.csv.read_csv` + "
        "`pyarrow.parquet.write_table` (page index, content-defined chunking and ~100 MB row groups, as "
        f"`datasets` writes), {_runs(len(ks))} each, alternating. CPU: kura's process during the export, "
        "pyarrow's own process.",
        "",
        "| | kura export best / median | pyarrow best / median | kura ÷ pyarrow (median; best) |",
        "|---|---|---|---|",
    ]
    if ks and ka:
        kr = [csv_bytes / MIB / s for s in ks]
        ar = [csv_bytes / MIB / s for s in ka]
        lines.append(
            f"| MiB/s (wall) | {max(kr):.1f} / {statistics.median(kr):.1f} | {max(ar):.1f} / "
            f"{statistics.median(ar):.1f} | {statistics.median(kr) / statistics.median(ar):.2f}; "
            f"{max(kr) / max(ar):.2f} |"
        )
        kpc = [csv_bytes / MIB / c for c in kc if c > 0]
        apc = [csv_bytes / MIB / c for c in ac if c > 0]
        if kpc and apc:
            lines.append(
                f"| MiB per CPU-second | {max(kpc):.1f} / {statistics.median(kpc):.1f} | {max(apc):.1f} / "
                f"{statistics.median(apc):.1f} | {statistics.median(kpc) / statistics.median(apc):.2f}; "
                f"{max(kpc) / max(apc):.2f} |"
            )
        lines.append(
            f"| parquet written | {_mib(float(_one(v, 'export_bytes', '0')))} in {_one(v, 'export_files')} file(s) "
            f"| {_mib(float(_one(v, 'arrow_parquet_bytes', '0')))} | – |"
        )
    s0, s1, s2 = (float(_one(v, k, "0")) for k in ("dedup_s0", "dedup_s1", "dedup_s2"))
    x0, x1, x2 = (float(_one(v, k, "0")) for k in ("dedup_x0", "dedup_x1", "dedup_x2"))
    new_parquet = float(_one(v, "dedup_parquet_bytes", "0"))
    if new_parquet:
        lines += [
            "",
            f"**Re-export after appending {_one(v, 'append_pct')} % rows** to that CSV "
            f"({int(_one(v, 'append_rows', '0')):,} rows, {_mib(float(_one(v, 'append_bytes', '0')))}), committed "
            "over it in the first repo: bytes added to kura's store (`du -sb blobs`; `kura_xet_stored_bytes` in "
            "brackets) by the upload of the new CSV, then by its export, against the size of the new export.",
            "",
            "| | bytes added to the store | ÷ new parquet export |",
            "|---|---|---|",
            f"| upload of the appended CSV | {_mib(s1 - s0)} ({_mib(x1 - x0)}) | – |",
            f"| re-export (new parquet: {_mib(new_parquet)}) | {_mib(s2 - s1)} ({_mib(x2 - x1)}) | "
            f"{(s2 - s1) / new_parquet:.3f} ({(x2 - x1) / new_parquet:.3f}) |",
        ]
        same = _nums(v, "conv_same_added")
        if same:
            lines.append(
                f"| each later export of the identical CSV in another repo (conversion runs 2+) | "
                f"{', '.join(_mib(b) for b in same)} | – |"
            )
    lines += ["", "Runs, ms (warm, kura then pyarrow, per offset):"]
    for name in ("start", "middle", "end"):
        k, a = _nums(v, f"warm_kura_{name}"), _nums(v, f"warm_arrow_{name}")
        lines.append(f"- {name}: kura {', '.join(_ms(x) for x in k)}; pyarrow {', '.join(_ms(x) for x in a)}.")
    for name in ("start", "middle", "end"):
        k, a = _nums(v, f"cold_kura_{name}"), _nums(v, f"cold_arrow_{name}")
        if k:
            lines.append(f"- cold {name}: kura {', '.join(_ms(x) for x in k)}; pyarrow {', '.join(_ms(x) for x in a)}.")
    if ks:
        lines.append(
            f"- conversion, s: kura {', '.join(f'{x:.2f}' for x in ks)} (CPU {', '.join(f'{x:.1f}' for x in kc)}); "
            f"pyarrow {', '.join(f'{x:.2f}' for x in ka)} (CPU {', '.join(f'{x:.1f}' for x in ac)}). "
            f"Upload of the rows fixture {_one(v, 'rows_upload_s')} s, its export (parquet linked) "
            f"{_one(v, 'rows_export_s')} s; first CSV upload {_one(v, 'csv_upload_s')} s."
        )
    ways = ", ".join(f"{n} {_one(v, f'arrow_way_{n}')}" for n in ("start", "middle", "end"))
    lines.append(f"- pyarrow's faster way per offset (picked in the warm-up; see `_Arrow`): {ways}.")
    lines.append(f"- One `/rows` page of 100 rows is {_one(v, 'bytes_page')} B of JSON.")
    return "\n".join(lines) + "\n"


def report(results, doc):
    text = render(_load(results))
    print(text)
    if doc != "/dev/null":
        write_section(doc, text, BEGIN, END)


COMMANDS = {
    "make-parquet": make_parquet,
    "make-csv": make_csv,
    "append-csv": append_csv,
    "upload": upload,
    "wait-export": wait_export,
    "parquet-bytes": parquet_bytes,
    "rows-warm": rows_warm,
    "rows-cold": rows_cold,
    "pyarrow-cold": pyarrow_cold,
    "pyarrow-convert": pyarrow_convert,
    "store-bytes": store_bytes,
    "cpu": lambda pid: print(f"{cpu_seconds(int(pid)):.2f}"),
    "report": report,
}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
