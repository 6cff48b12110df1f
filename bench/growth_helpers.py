#!/usr/bin/env python3
"""Glue for bench/growth (standard library only).

Subcommands:
  run BASE TOKEN METRICS_TOKEN LOG RESULTS   build the repos through kura's HTTP API and time
                                             each operation at each size (files axis, then
                                             commits axis); results appended to RESULTS
  disk BASE TOKEN METRICS_TOKEN LOG RESULTS  the same commits on a data dir on disk, at the
                                             smallest size only (the cost of its fsyncs)
  report RESULTS DOC SVG                     print the markdown results, write the plot to SVG
                                             and rewrite DOC's growth section (DOC /dev/null:
                                             print only)

Environment: BENCH_REPS (5), BENCH_GROWTH_FILES ("1000 10000 100000"), BENCH_GROWTH_COMMITS
("100 1000 10000"), BENCH_GROWTH_BATCH (10000 files per building commit), BENCH_DRAIN_SECS (600).
"""

import base64
import http.client
import json
import math
import os
import re
import statistics
import sys
import time
import urllib.parse

from helpers import _load, _one, write_section

BEGIN = "<!-- bench:growth:begin -->"
END = "<!-- bench:growth:end -->"

REPS = int(os.environ.get("BENCH_REPS", "5"))
WARMUP = 1
FILE_SIZES = [int(x) for x in os.environ.get("BENCH_GROWTH_FILES", "1000 10000 100000").split()]
COMMIT_SIZES = [int(x) for x in os.environ.get("BENCH_GROWTH_COMMITS", "100 1000 10000").split()]
BATCH = int(os.environ.get("BENCH_GROWTH_BATCH", "10000"))
DRAIN_SECS = float(os.environ.get("BENCH_DRAIN_SECS", "600"))
PER_DIR = 100  # files per leaf folder; 100 leaf folders per top folder
CHANGED_DIRS = 10  # folders the 1,000-file commit touches
HISTORY_FILES = 100  # files of the history repo, which its one-file commits edit in turn
HISTORY_PAGE = 100  # kura's commits page (crates/kura-http/src/api/info.rs)
FLAT_LIMIT = 2.0  # a cost is "flat" when its min grows at most this much over the size range

FILES_REPO = "alice/growth-files"
HISTORY_REPO = "alice/growth-history"
CONTROL_REPO = "alice/growth-control"

# (key, label) in table and plot order; `exempt` costs are reported but not judged.
FILE_OPS = [
    ("info", "repo info `GET /api/models/{repo}` (lists every file: exempt)"),
    ("tree_dir", "tree of one folder (100 entries)"),
    ("tree_first", "tree, first page (`recursive=true`, 1,000 entries)"),
    ("tree_deep", "tree, last page (`recursive=true`, 1,000 entries, `cursor`)"),
    ("paths", "paths-info of 100 paths"),
    ("tree_cold", "tree of a folder that commit rewrote (100 uncached entries)"),
    ("commit", "commit of 1,000 files in 10 folders"),
    ("index", "indexing job after that commit (background)"),
    ("commit1", "commit of 1 file"),
]
COMMIT_OPS = [
    ("hist_first", "history, first page (100 commits)"),
    ("hist_next", "history, page 2 (the first page's `Link`)"),
    ("hist_last", "history, last page (`cursor` = commits − 100)"),
    ("info", "repo info `GET /api/models/{repo}`"),
    ("control", "control: repo info of a 1-commit repo, same server"),
    ("commit", "commit of 1 file"),
    ("index", "indexing job after that commit (background)"),
]
EXEMPT = {("files", "info")}


def log(message):
    print(f"[growth {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def die(message):
    log(f"error: {message}")
    sys.exit(1)


# ---------------------------------------------------------------- HTTP


class Client:
    """One keep-alive connection, as a client library holds; every request carries the token."""

    def __init__(self, base, token):
        url = urllib.parse.urlsplit(base)
        self.base = base.rstrip("/")
        self.host, self.port = url.hostname, url.port
        self.token = token
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=600)

    def request(self, method, path, body=None, headers=None, token=None):
        """(status, headers with lower-case names, body, seconds); one retry on a dropped
        connection (a fresh connection, outside any timing the caller keeps)."""
        hdrs = {"Authorization": f"Bearer {token or self.token}"}
        hdrs.update(headers or {})
        for attempt in range(2):
            if self.conn is None:
                self._connect()
            try:
                start = time.perf_counter()
                self.conn.request(method, path, body=body, headers=hdrs)
                response = self.conn.getresponse()
                data = response.read()
                elapsed = time.perf_counter() - start
                return response.status, {k.lower(): v for k, v in response.getheaders()}, data, elapsed
            except (http.client.HTTPException, OSError) as error:
                self.conn.close()
                self.conn = None
                if attempt:
                    die(f"{method} {path}: {error}")
        raise AssertionError("unreachable")

    def ok(self, method, path, body=None, headers=None, token=None):
        status, hdrs, data, elapsed = self.request(method, path, body, headers, token)
        if status != 200:
            die(f"{method} {path} answered {status}: {data[:300]!r}")
        return hdrs, data, elapsed

    def next_path(self, hdrs):
        """The path and query of the `Link: <...>; rel="next"` target, or None."""
        link = hdrs.get("link")
        if not link:
            return None
        match = re.search(r'<([^>]+)>\s*;\s*rel="next"', link)
        if not match:
            return None
        url = match.group(1)
        if not url.startswith(self.base):
            die(f"the Link {url} is not on {self.base}")
        return url[len(self.base):]


def drain(client, metrics_token):
    """Waits (bounded) until kura's job queue is empty; returns the seconds waited."""
    start = time.monotonic()
    while True:
        _, data, _ = client.ok("GET", "/metrics", token=metrics_token)
        text = data.decode()
        pending = sum(int(m) for m in re.findall(r'kura_jobs\{state="(?:queued|running)"\} (\d+)', text))
        if pending == 0:
            return time.monotonic() - start
        if time.monotonic() - start > DRAIN_SECS:
            die(f"the job queue did not drain in {DRAIN_SECS:.0f} s ({pending} jobs left)")
        time.sleep(0.05)


class IndexLog:
    """Reads kura's log as it grows: `indexed a commit commit=<oid> ... elapsed_ms=<n>`."""

    LINE = re.compile(r"indexed a commit.*?commit=([0-9a-f]{40}).*?elapsed_ms=(\d+)")

    def __init__(self, path):
        self.path, self.offset, self.ms = path, 0, {}

    def elapsed(self, oid):
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            chunk = f.read()
        # Only whole lines; a partial last line is read again next time.
        cut = chunk.rfind(b"\n") + 1
        self.offset += cut
        for line in chunk[:cut].decode("utf-8", "replace").splitlines():
            match = self.LINE.search(line)
            if match:
                self.ms[match.group(1)] = float(match.group(2))
        return self.ms.get(oid)


# ---------------------------------------------------------------- fixtures


def file_path(k):
    """File k of the files repo: 100 files per leaf folder, 100 leaf folders per top folder."""
    leaf = k // PER_DIR
    return f"d{leaf // 100:02d}/s{leaf % 100:02d}/f{k % PER_DIR:02d}.txt"


def leaf_dir(leaf):
    return f"d{leaf // 100:02d}/s{leaf % 100:02d}"


README = """---
license: apache-2.0
tags: [bench, growth]
---
# growth

A repo built by `bench/growth`: many small files in folders of 100.
"""


def header_line(summary):
    return json.dumps({"key": "header", "value": {"summary": summary, "description": ""}})


def file_line(path, text):
    data = base64.b64encode(text.encode()).decode()
    return json.dumps({"key": "file", "value": {"path": path, "content": data, "encoding": "base64"}})


def commit(client, repo, lines):
    """Sends one NDJSON commit; (commit oid, seconds)."""
    body = ("\n".join(lines) + "\n").encode()
    _, data, elapsed = client.ok(
        "POST", f"/api/models/{repo}/commit/main", body, {"Content-Type": "application/x-ndjson"}
    )
    return json.loads(data)["commitOid"], elapsed


def create_repo(client, repo):
    namespace, name = repo.split("/")
    body = json.dumps({"name": name, "organization": namespace, "type": "model"}).encode()
    client.ok("POST", "/api/repos/create", body, {"Content-Type": "application/json"})


def ms(seconds):
    return f"{seconds * 1000:.2f}"


class Recorder:
    def __init__(self, path):
        self.path = path

    def __call__(self, key, *values):
        with open(self.path, "a") as f:
            f.write(f"{key} {' '.join(str(v) for v in values)}\n")


def timed(client, method, path, body=None, headers=None, check=None):
    """WARMUP untimed then REPS timed requests; milliseconds."""
    out = []
    for i in range(WARMUP + REPS):
        hdrs, data, elapsed = client.ok(method, path, body, headers)
        if check:
            check(hdrs, data)
        if i >= WARMUP:
            out.append(elapsed)
    return [ms(x) for x in out]


def timed_commits(client, metrics_token, index_log, repo, make_lines, reps=None, after=None):
    """WARMUP + reps commits, each after the job queue drained; (commit ms, indexing ms, ms of
    `after(i)`, a request timed once each commit is indexed)."""
    reps = REPS if reps is None else reps
    times, indexing, afters = [], [], []
    for i in range(WARMUP + reps):
        drain(client, metrics_token)
        oid, elapsed = commit(client, repo, make_lines(i))
        drain(client, metrics_token)
        index_ms = index_log.elapsed(oid)
        then = after(i) if after else None
        if i >= WARMUP:
            times.append(ms(elapsed))
            if index_ms is not None:
                indexing.append(f"{index_ms:.0f}")
            if then is not None:
                afters.append(ms(then))
    return times, indexing, afters


# ---------------------------------------------------------------- files axis


def expect_entries(count):
    def check(_hdrs, data):
        got = len(json.loads(data))
        if got != count:
            die(f"expected {count} entries, got {got}")

    return check


def measure_files(client, metrics_token, index_log, record, size, revision):
    repo = FILES_REPO
    api = f"/api/models/{repo}"
    record(f"files:drain:{size}", f"{drain(client, metrics_token):.2f}")

    # The whole recursive listing, once, following every Link: the entries and the cursors.
    paths, pages = [], 0
    first = f"{api}/tree/main?recursive=true&expand=false"
    path, start = first, time.perf_counter()
    while path:
        hdrs, data, _ = client.ok("GET", path)
        paths.extend(entry["path"] for entry in json.loads(data))
        pages += 1
        path = client.next_path(hdrs)
        if pages == 1:
            link_of_first = path
    listing = time.perf_counter() - start
    record(f"files:entries:{size}", len(paths))
    record(f"files:pages:{size}", pages)
    record(f"files:listing_s:{size}", f"{listing:.2f}")
    if len(set(paths)) != len(paths):
        die("the recursive listing repeats entries")
    files = sum(1 for p in paths if p.endswith(".txt"))
    if files != size:
        die(f"the listing holds {files} files, not {size}")

    hdrs, data, _ = client.ok("GET", api)
    siblings = [s["rfilename"] for s in json.loads(data).get("siblings", [])]
    record(f"files:info_bytes:{size}", len(data))
    record(f"files:siblings:{size}", len(siblings))
    if sum(1 for name in siblings if name.endswith(".txt")) != size:
        die(f"repo info lists {len(siblings)} siblings, not the {size} files and the rest")
    log(f"  {size} files: {len(paths)} entries in {pages} pages ({listing:.1f} s); repo info {len(data)} B")

    record(f"files:info:{size}", *timed(client, "GET", api))
    record(f"files:tree_dir:{size}", *timed(client, "GET", f"{api}/tree/main/d00%2Fs00", check=expect_entries(100)))
    record(f"files:tree_first:{size}", *timed(client, "GET", first, check=expect_entries(1000)))
    # The last 1,000 entries: the page after the entry before them, with the cursor in the form
    # the Links carry (the path of the previous page's last entry).
    if link_of_first is None or "cursor=" not in link_of_first:
        die("the first tree page has no Link with a cursor")
    deep = re.sub(r"cursor=[^&]*", "cursor=" + urllib.parse.quote(paths[-1001], safe=""), link_of_first)

    def last_page(hdrs, data):
        entries = json.loads(data)
        if len(entries) != 1000 or entries[-1]["path"] != paths[-1] or client.next_path(hdrs):
            die("the deep tree page is not the last 1,000 entries")

    record(f"files:tree_deep:{size}", *timed(client, "GET", deep, check=last_page))
    step = size // 100
    wanted = [file_path(i * step + i % step) for i in range(100)]
    body = urllib.parse.urlencode([("paths", p) for p in wanted] + [("expand", "false")]).encode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    record(f"files:paths:{size}",
           *timed(client, "POST", f"{api}/paths-info/main", body, form, check=expect_entries(100)))

    leaves = size // PER_DIR
    chosen = sorted({leaves * j // CHANGED_DIRS for j in range(CHANGED_DIRS)})

    def change(i):
        lines = [header_line(f"edit 1,000 files ({size} in the repo)")]
        for leaf in chosen:
            for n in range(PER_DIR):
                k = leaf * PER_DIR + n
                lines.append(file_line(file_path(k), f"file {k}, revision {revision[0]}.{i}\n"))
        return lines

    def rewritten(i):
        """The first listing of a folder the commit rewrote: its 100 blobs are new to kura's
        caches (the indexing job reads only model files)."""
        folder = urllib.parse.quote(leaf_dir(chosen[i % len(chosen)]), safe="")
        hdrs, data, elapsed = client.ok("GET", f"{api}/tree/main/{folder}")
        expect_entries(100)(hdrs, data)
        return elapsed

    times, indexing, cold = timed_commits(client, metrics_token, index_log, repo, change, after=rewritten)
    record(f"files:commit:{size}", *times)
    record(f"files:index:{size}", *indexing)
    record(f"files:tree_cold:{size}", *cold)
    middle = file_path(size // 2)

    def one(i):
        return [header_line(f"edit 1 file ({size} in the repo)"),
                file_line(middle, f"file {size // 2}, revision {revision[0]}.{i}\n")]

    times1, _, _ = timed_commits(client, metrics_token, index_log, repo, one)
    record(f"files:commit1:{size}", *times1)
    revision[0] += 1
    log(f"  {size} files: commit of 1,000 files median {statistics.median(map(float, times)):.0f} ms, "
        f"of 1 file {statistics.median(map(float, times1)):.0f} ms")


def files_axis(client, metrics_token, index_log, record):
    create_repo(client, FILES_REPO)
    have, revision = 0, [0]
    for size in FILE_SIZES:
        start = time.perf_counter()
        commits = 0
        while have < size:
            upto = min(size, have + BATCH)
            lines = [header_line(f"add files {have}-{upto - 1}")]
            if have == 0:
                lines.append(file_line("README.md", README))
            lines += [file_line(file_path(k), f"file {k}\n") for k in range(have, upto)]
            commit(client, FILES_REPO, lines)
            commits += 1
            have = upto
        built = time.perf_counter() - start
        record(f"files:build_s:{size}", f"{built:.1f}", commits)
        log(f"{size} files built ({commits} commits, {built:.1f} s); measuring")
        measure_files(client, metrics_token, index_log, record, size, revision)


# ---------------------------------------------------------------- commits axis


def history_count(client, api, total_hint):
    """Commits reachable from main, checked through the last pages."""
    _, data, _ = client.ok("GET", f"{api}/commits/main?cursor={total_hint - 1}")
    hdrs, tail, _ = client.ok("GET", f"{api}/commits/main?cursor={total_hint}")
    if len(json.loads(data)) != 1 or json.loads(tail):
        die(f"the history does not hold {total_hint} commits")


def measure_history(client, metrics_token, index_log, record, size, counter):
    repo = HISTORY_REPO
    api = f"/api/models/{repo}"
    record(f"commits:drain:{size}", f"{drain(client, metrics_token):.2f}")
    history_count(client, api, size)
    first = f"{api}/commits/main"
    hdrs, _, _ = client.ok("GET", first)
    page = expect_entries(min(size, HISTORY_PAGE))
    record(f"commits:hist_first:{size}", *timed(client, "GET", first, check=page))
    following = client.next_path(hdrs)
    if size > HISTORY_PAGE:
        if following is None:
            die("the first history page has no Link")
        record(f"commits:hist_next:{size}",
               *timed(client, "GET", following, check=expect_entries(min(size - HISTORY_PAGE, HISTORY_PAGE))))
    last = f"{api}/commits/main?cursor={size - HISTORY_PAGE}"

    def last_page(hdrs, data):
        if len(json.loads(data)) != HISTORY_PAGE or client.next_path(hdrs):
            die("the deep history page is not the last 100 commits")

    record(f"commits:hist_last:{size}", *timed(client, "GET", last, check=last_page))
    record(f"commits:info:{size}", *timed(client, "GET", api))
    record(f"commits:control:{size}", *timed(client, "GET", f"/api/models/{CONTROL_REPO}"))

    def change(i):
        n = counter[0]
        counter[0] += 1
        return [header_line(f"commit {n}"), file_line(f"log/f{n % HISTORY_FILES:02d}.txt", f"commit {n}\n")]

    times, indexing, _ = timed_commits(client, metrics_token, index_log, repo, change)
    record(f"commits:commit:{size}", *times)
    record(f"commits:index:{size}", *indexing)
    log(f"  {size} commits: last history page median "
        f"{statistics.median(map(float, _last(record.path, f'commits:hist_last:{size}'))):.1f} ms")
    return WARMUP + REPS


def _last(path, key):
    with open(path) as f:
        lines = [line.split()[1:] for line in f if line.startswith(key + " ")]
    return lines[-1] if lines else ["0"]


def commits_axis(client, metrics_token, index_log, record):
    api = f"/api/models/{HISTORY_REPO}"
    create_repo(client, CONTROL_REPO)
    commit(client, CONTROL_REPO, [header_line("control"), file_line("README.md", README)])
    create_repo(client, HISTORY_REPO)
    _, data, _ = client.ok("GET", f"{api}/commits/main")
    have = len(json.loads(data))  # what creating the repo committed
    lines = [header_line("history fixture"), file_line("README.md", README)]
    lines += [file_line(f"log/f{n:02d}.txt", f"file {n}\n") for n in range(HISTORY_FILES)]
    commit(client, HISTORY_REPO, lines)
    have += 1
    counter = [0]
    for size in COMMIT_SIZES:
        start, made = time.perf_counter(), 0
        while have < size:
            n = counter[0]
            counter[0] += 1
            commit(client, HISTORY_REPO,
                   [header_line(f"commit {n}"), file_line(f"log/f{n % HISTORY_FILES:02d}.txt", f"commit {n}\n")])
            have += 1
            made += 1
        built = time.perf_counter() - start
        record(f"commits:build_s:{size}", f"{built:.1f}", made)
        log(f"{size} commits built ({made} new, {built:.1f} s); measuring")
        have += measure_history(client, metrics_token, index_log, record, size, counter)


def run(base, token, metrics_token, log_path, results):
    client = Client(base, token)
    record = Recorder(results)
    index_log = IndexLog(log_path)
    record("reps", REPS)
    record("batch", BATCH)
    record("file_sizes", *FILE_SIZES)
    record("commit_sizes", *COMMIT_SIZES)
    files_axis(client, metrics_token, index_log, record)
    commits_axis(client, metrics_token, index_log, record)


def disk(base, token, metrics_token, log_path, results):
    """The commits again, on a data dir on disk, at the smallest size: each new object is
    written with fsync (file and folder), a cost per changed file."""
    client = Client(base, token)
    record = Recorder(results)
    index_log = IndexLog(log_path)
    size = FILE_SIZES[0]
    create_repo(client, FILES_REPO)
    lines = [header_line("files"), file_line("README.md", README)]
    lines += [file_line(file_path(k), f"file {k}\n") for k in range(size)]
    _, elapsed = commit(client, FILES_REPO, lines)
    record("disk:build_s", f"{elapsed:.1f}", size)
    leaves = size // PER_DIR
    chosen = sorted({leaves * j // CHANGED_DIRS for j in range(CHANGED_DIRS)})

    def change(i):
        lines = [header_line("edit 1,000 files")]
        for leaf in chosen:
            for n in range(PER_DIR):
                k = leaf * PER_DIR + n
                lines.append(file_line(file_path(k), f"file {k}, disk revision {i}\n"))
        return lines

    reps = min(REPS, 3)
    times, _, _ = timed_commits(client, metrics_token, index_log, FILES_REPO, change, reps)
    record("disk:commit", *times)
    one = lambda i: [header_line(f"one {i}"), file_line("README.md", README + f"\nedit {i}\n")]  # noqa: E731
    times, _, _ = timed_commits(client, metrics_token, index_log, FILES_REPO, one, reps)
    record("disk:commit1", *times)
    log(f"disk: commit of 1,000 files {statistics.median(map(float, _last(results, 'disk:commit'))):.0f} ms")


# ---------------------------------------------------------------- report


def _series(values, axis, op, sizes):
    """{size: [ms...]} for the sizes measured."""
    out = {}
    for size in sizes:
        # Indexing times come from kura's log in whole milliseconds: 0 counts as 0.5.
        xs = [float(x) or 0.5 for x in values.get(f"{axis}:{op}:{size}", [""])[-1].split()]
        if xs:
            out[size] = xs
    return out


def _fmt(x):
    if x >= 100:
        return f"{x:.0f}"
    if x >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def _verdict(axis, op, series):
    """(growth of the min over the range, log-log slope, verdict text)."""
    if len(series) < 2:
        return "–", "–", "–"
    lo, hi = min(series), max(series)
    growth = min(series[hi]) / min(series[lo])
    slope = math.log(growth) / math.log(hi / lo)
    if (axis, op) in EXEMPT:
        verdict = "exempt"
    else:
        verdict = "flat" if growth <= FLAT_LIMIT else "**grows**"
    return f"{growth:.1f}×", f"{slope:.2f}", verdict


def _table(values, axis, ops, sizes, unit):
    head = " | ".join(f"{size:,} {unit}" for size in sizes)
    lines = [
        f"| operation (ms, min / median of {_one(values, 'reps')}) | {head} | min, largest ÷ smallest | log-log slope | verdict |",
        "|---|" + "---|" * len(sizes) + "---|---|---|",
    ]
    for op, label in ops:
        series = _series(values, axis, op, sizes)
        cells = []
        for size in sizes:
            xs = series.get(size)
            cells.append(f"{_fmt(min(xs))} / {_fmt(statistics.median(xs))}" if xs else "–")
        growth, slope, verdict = _verdict(axis, op, series)
        lines.append(f"| {label} | {' | '.join(cells)} | {growth} | {slope} | {verdict} |")
    return lines


def render(values):
    file_sizes = [int(x) for x in _one(values, "file_sizes", "").split()]
    commit_sizes = [int(x) for x in _one(values, "commit_sizes", "").split()]
    lines = [
        f"Run of {_one(values, 'date')} — kura commit `{_one(values, 'commit')}`{_one(values, 'binary_note', '')}; "
        f"{_one(values, 'nproc')} CPUs; kura data dir on {_one(values, 'data_on')}; load average before: "
        f"{_one(values, 'load_before')}, after: {_one(values, 'load_after')}; whole run {_one(values, 'total_s')} s.",
        "",
        f"Verdict: a cost is *flat* when its minimum grows at most {FLAT_LIMIT:.0f}× over the size range "
        "(log-log slope ≤ "
        f"{math.log(FLAT_LIMIT) / math.log(100):.2f} over 100×); slope 1 is linear growth.",
        "",
        "**Files axis** (repo `alice/growth-files`: README.md plus N files, 100 per folder):",
        "",
    ]
    lines += _table(values, "files", FILE_OPS, file_sizes, "files")
    lines += ["", "**Commits axis** (repo `alice/growth-history`: README.md plus 100 files, N commits):", ""]
    lines += _table(values, "commits", COMMIT_OPS, commit_sizes, "commits")
    lines += ["", "![Growth curves](growth.svg)", "", "Details:", ""]
    builds = "; ".join(
        f"{size:,} files in {_one(values, f'files:build_s:{size}').split()[0]} s "
        f"({_one(values, f'files:build_s:{size}', '? 0').split()[1]} commits)"
        for size in file_sizes
    )
    lines.append(f"- Building the files repo (NDJSON commits of up to {_one(values, 'batch')} files, cumulative): {builds}.")
    listing = "; ".join(
        f"{size:,} files: {_one(values, f'files:entries:{size}')} entries, {_one(values, f'files:pages:{size}')} pages, "
        f"{_one(values, f'files:listing_s:{size}')} s"
        for size in file_sizes
    )
    lines.append(f"- Whole recursive tree listing, following every `Link` once (exempt, like repo info): {listing}.")
    info = "; ".join(
        f"{size:,} files: {int(_one(values, f'files:info_bytes:{size}', '0')):,} B, "
        f"{_one(values, f'files:siblings:{size}')} siblings"
        for size in file_sizes
    )
    lines.append(f"- Repo info answer: {info}.")
    builds = "; ".join(
        f"{_one(values, f'commits:build_s:{size}', '? 0').split()[1]} commits up to {size:,} in "
        f"{_one(values, f'commits:build_s:{size}').split()[0]} s"
        for size in commit_sizes
    )
    lines.append(f"- Building the history (one-file NDJSON commits, one at a time): {builds}.")
    lines.append("- Indexing times are kura's own (`indexed a commit … elapsed_ms` in its log), in whole "
                 "milliseconds; 0 is counted and drawn as 0.5.")
    if "disk:commit" in values:
        disk = [float(x) for x in _one(values, "disk:commit").split()]
        disk1 = [float(x) for x in _one(values, "disk:commit1").split()]
        build, files = _one(values, "disk:build_s").split()
        lines.append(
            f"- Same commits with the data dir on disk ({_one(values, 'disk_on')}), {int(files):,}-file repo: "
            f"building it {build} s; commit of 1,000 files min / median {_fmt(min(disk))} / "
            f"{_fmt(statistics.median(disk))} ms, commit of 1 file {_fmt(min(disk1))} / "
            f"{_fmt(statistics.median(disk1))} ms ({len(disk)} runs each). Every new git object is written "
            "with an fsync of the file and of its folder: a cost per changed file, the same at any repo size."
        )
    return "\n".join(lines) + "\n"


COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#e377c2", "#7f7f7f", "#bcbd22"]


def _panel(values, axis, ops, sizes, unit, x0, title):
    """SVG elements of one log-log panel whose left edge is at x0."""
    w, h, left, top, bottom = 430, 300, 60, 40, 50
    series = [(op, label, _series(values, axis, op, sizes)) for op, label in ops]
    ys = [x for _, _, s in series for xs in s.values() for x in xs]
    if not ys or len(sizes) < 2:
        return []
    ylo = 10 ** math.floor(math.log10(min(ys)))
    yhi = 10 ** math.ceil(math.log10(max(ys)))
    xlo, xhi = math.log10(min(sizes)), math.log10(max(sizes))
    pad = 0.08 * (xhi - xlo)
    px = lambda s: x0 + left + (math.log10(s) - xlo + pad) / (xhi - xlo + 2 * pad) * w  # noqa: E731
    py = lambda v: top + (1 - (math.log10(v) - math.log10(ylo)) / (math.log10(yhi) - math.log10(ylo))) * h  # noqa: E731
    out = [
        f'<text x="{x0 + left + w / 2}" y="22" text-anchor="middle" font-weight="bold">{title}</text>',
        f'<rect x="{x0 + left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888"/>',
    ]
    decade = ylo
    while decade <= yhi * 1.001:
        y = py(decade)
        label = f"{decade:g}" if decade >= 1 else f"{decade:.3g}"
        out.append(f'<line x1="{x0 + left}" x2="{x0 + left + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{x0 + left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
        decade *= 10
    for size in sizes:
        x = px(size)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + h}" stroke="#eee"/>')
        out.append(f'<text x="{x:.1f}" y="{top + h + 16}" text-anchor="middle">{size:,}</text>')
    out.append(f'<text x="{x0 + left + w / 2}" y="{top + h + 36}" text-anchor="middle">{unit} in the repo (log)</text>')
    out.append(
        f'<text transform="translate({x0 + 16},{top + h / 2}) rotate(-90)" text-anchor="middle">'
        "ms per request (log; line: min, dot: median)</text>"
    )
    # A reference slope: what linear growth from the smallest size looks like.
    base = [s for _, _, s in series if sizes[0] in s and len(s) == len(sizes)]
    if base:
        start = min(base[0][sizes[0]])
        x1, x2 = px(sizes[0]), px(sizes[-1])
        y2v = start * sizes[-1] / sizes[0]
        out.append(
            f'<line x1="{x1:.1f}" y1="{py(start):.1f}" x2="{x2:.1f}" y2="{py(min(y2v, yhi)):.1f}" '
            'stroke="#bbb" stroke-dasharray="4 4"/>'
        )
    legend_y = top + h + 56
    for i, (op, label, s) in enumerate(series):
        color = COLORS[i % len(COLORS)]
        dash = ' stroke-dasharray="6 3"' if op == "index" else ""
        pts = [(px(size), py(min(xs))) for size, xs in sorted(s.items())]
        if pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
            for size, xs in sorted(s.items()):
                out.append(f'<circle cx="{px(size):.1f}" cy="{py(statistics.median(xs)):.1f}" r="3" fill="{color}"/>')
        y = legend_y + 16 * i
        out.append(f'<line x1="{x0 + left}" x2="{x0 + left + 24}" y1="{y - 4}" y2="{y - 4}" '
                   f'stroke="{color}" stroke-width="2"{dash}/>')
        text = re.sub(r"`", "", label).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        out.append(f'<text x="{x0 + left + 30}" y="{y}">{text}</text>')
    out.append(f'<line x1="{x0 + left}" x2="{x0 + left + 24}" y1="{legend_y + 16 * len(series) - 4}" '
               f'y2="{legend_y + 16 * len(series) - 4}" stroke="#bbb" stroke-dasharray="4 4"/>')
    out.append(f'<text x="{x0 + left + 30}" y="{legend_y + 16 * len(series)}">linear growth (for reference)</text>')
    return out


def svg(values):
    file_sizes = [int(x) for x in _one(values, "file_sizes", "").split()]
    commit_sizes = [int(x) for x in _one(values, "commit_sizes", "").split()]
    rows = max(len(FILE_OPS), len(COMMIT_OPS)) + 1
    width, height = 1040, 40 + 300 + 56 + 16 * rows + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    parts += _panel(values, "files", FILE_OPS, file_sizes, "files", 0, "Files axis")
    parts += _panel(values, "commits", COMMIT_OPS, commit_sizes, "commits", 520, "Commits axis")
    parts.append(
        f'<text x="{width / 2}" y="{height - 8}" text-anchor="middle" fill="#555">bench/growth, run of '
        f"{_one(values, 'date')}, kura {_one(values, 'commit')}, data dir on {_one(values, 'data_on')}</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def report(results, doc, svg_path):
    values = _load(results)
    text = render(values)
    print(text)
    with open(svg_path, "w") as f:
        f.write(svg(values))
    if doc != "/dev/null":
        write_section(doc, text, BEGIN, END)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "run":
        run(*args)
    elif cmd == "disk":
        disk(*args)
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
