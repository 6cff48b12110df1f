#!/usr/bin/env python3
"""Glue for bench/run (standard library only).

Subcommands:
  free-port                      print a free TCP port on 127.0.0.1
  sha256 FILE                    print the hex SHA-256 of FILE
  json-get PATH [DEFAULT]        read JSON on stdin, print the value at a dotted PATH
  lfs-batch OID SIZE             print the LFS batch request body for one upload
  commit-body PATH OID SIZE      print the NDJSON commit body adding one LFS file
  cpu-ticks PID...               print the CPU time (s) used so far by each PID and its children
  download URL MAXTIME PID...    curl URL to /dev/null; print MiB/s, bytes, and the CPU % (of one
                                 core) used by the server PIDs, by curl, and by everything else
  report RESULTS DOC             print the markdown results and rewrite DOC's results section
"""

import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time

BEGIN = "<!-- bench:results:begin -->"
END = "<!-- bench:results:end -->"
MIB = 1024 * 1024


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def sha256(path):
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MIB):
            digest.update(chunk)
    print(digest.hexdigest())


def json_get(path, *default):
    value = json.load(sys.stdin)
    try:
        for part in path.split("."):
            value = value[int(part)] if isinstance(value, list) else value[part]
    except (KeyError, IndexError, ValueError, TypeError):
        if default:
            print(default[0])
            return
        sys.exit(f"json-get: no {path} in the answer")
    print(value if isinstance(value, str) else json.dumps(value))


def lfs_batch(oid, size):
    body = {
        "operation": "upload",
        "transfers": ["basic", "multipart"],
        "objects": [{"oid": oid, "size": int(size)}],
    }
    print(json.dumps(body))


def commit_body(path, oid, size):
    print(json.dumps({"key": "header", "value": {"summary": f"add {path}", "description": ""}}))
    print(json.dumps({"key": "lfsFile", "value": {"path": path, "algo": "sha256", "oid": oid, "size": int(size)}}))


def _ticks(pid):
    """utime + stime of a process (all its threads), in clock ticks; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid):
    """Direct children of pid, found by scanning /proc (no CONFIG_PROC_CHILDREN needed)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            kids.append(int(entry))
    return kids


def _tree_seconds(pids):
    ticks = 0
    for pid in pids:
        ticks += _ticks(pid) + sum(_ticks(k) for k in _children(pid))
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids):
    print(f"{_tree_seconds(pids):.2f}")


def _busy_seconds():
    """CPU time all CPUs spent busy (not idle or waiting for I/O) since boot, in seconds."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def download(url, max_time, pids):
    before_busy = _busy_seconds()
    before_server = _tree_seconds(pids)
    before_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    out = subprocess.run(
        ["curl", "-sS", "--fail", "-o", "/dev/null", "--max-time", max_time,
         "-w", "%{speed_download} %{size_download}", url],
        capture_output=True, text=True, check=False,
    )
    wall = time.monotonic() - start
    after_client = resource.getrusage(resource.RUSAGE_CHILDREN)
    server = _tree_seconds(pids) - before_server
    client = (after_client.ru_utime - before_client.ru_utime) + (after_client.ru_stime - before_client.ru_stime)
    other = max(0.0, _busy_seconds() - before_busy - server - client)
    if out.returncode != 0:
        sys.exit(f"download of {url} failed: {out.stderr.strip()}")
    speed, size = out.stdout.split()
    print(f"{float(speed) / MIB:.1f} {size} {100 * server / wall:.0f} {100 * client / wall:.0f} "
          f"{100 * other / wall:.0f}")


# ---------------------------------------------------------------- report


def _load(path):
    """RESULTS is lines of `key value...`; repeated keys accumulate."""
    values = {}
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            key, _, rest = line.rstrip("\n").partition(" ")
            values.setdefault(key, []).append(rest)
    return values


def _nums(values, key):
    return [float(v) for v in values.get(key, [])]


def _one(values, key, default="?"):
    return values.get(key, [default])[-1]


def _minmed(xs, fmt="{:.0f}"):
    if not xs:
        return "–", "–"
    return fmt.format(min(xs)), fmt.format(statistics.median(xs))


def _ratio(a, b):
    if not a or not b:
        return "–"
    return f"{statistics.median(a) / statistics.median(b):.2f}"


def _ratio_min(a, b):
    if not a or not b:
        return "–"
    return f"{min(a) / min(b):.2f}"


def _runs(n):
    return f"{n} run" if n == 1 else f"{n} runs"


def _verdict(ok):
    return "**met**" if ok else "**missed**"


def render(values):
    kura_dl, nginx_dl = _nums(values, "kura_dl"), _nums(values, "nginx_dl")
    kura_rps, nginx_rps = _nums(values, "kura_rps"), _nums(values, "nginx_rps")
    kura_cpu, nginx_cpu = _nums(values, "kura_dl_cpu"), _nums(values, "nginx_dl_cpu")
    kura_ccpu, nginx_ccpu = _nums(values, "kura_dl_client_cpu"), _nums(values, "nginx_dl_client_cpu")
    other_cpu = _nums(values, "kura_dl_other_cpu") + _nums(values, "nginx_dl_other_cpu")
    peak = _nums(values, "mem_peak_mb")
    dl_ratio = statistics.median(kura_dl) / statistics.median(nginx_dl) if kura_dl and nginx_dl else 0
    lines = []
    lines.append(f"Run of {_one(values, 'date')} — kura commit `{_one(values, 'commit')}`"
                 f"{_one(values, 'binary_note', '')}; {_one(values, 'nproc')} CPUs ({_one(values, 'cpu')}), "
                 f"{_one(values, 'mem')} RAM, kernel {_one(values, 'kernel')}; "
                 f"{_one(values, 'tools')}.")
    lines.append("")
    lines.append(f"Load average (1, 5, 15 min) before the run: {_one(values, 'load_before')}; before the downloads: "
                 f"{_one(values, 'load_downloads')}; after the run: {_one(values, 'load_after')}. The machine is shared with other builds and tests, so "
                 "figures move between runs; the ratios, measured side by side in one run, are what to compare.")
    lines.append("")
    lines.append("| measurement | kura min / median | nginx min / median | kura / nginx (median; min) | target |")
    lines.append("|---|---|---|---|---|")
    km, kmed = _minmed(kura_dl)
    nm, nmed = _minmed(nginx_dl)
    lines.append(f"| download {_one(values, 'dl_size_mib')} MiB via `resolve`, MiB/s ({_runs(len(kura_dl))} each) "
                 f"| {km} / {kmed} | {nm} / {nmed} | {_ratio(kura_dl, nginx_dl)}; {_ratio_min(kura_dl, nginx_dl)} "
                 f"| ≥ 0.9: {_verdict(dl_ratio >= 0.9)} |")
    km, kmed = _minmed(kura_rps)
    nm, nmed = _minmed(nginx_rps)
    lines.append(f"| repo info `GET /api/models/alice/bench`, req/s ({_runs(len(kura_rps))} each; nginx: same JSON "
                 f"as a static file, {_one(values, 'info_bytes')} B) "
                 f"| {km} / {kmed} | {nm} / {nmed} | {_ratio(kura_rps, nginx_rps)}; {_ratio_min(kura_rps, nginx_rps)} "
                 f"| – |")
    peak_mb = max(peak) if peak else 0
    lines.append(f"| kura peak RSS (VmHWM) while a {_one(values, 'mem_size_mib')} MiB file streams in and out, MB "
                 f"| {peak_mb:.0f} | – | – | < 200: {_verdict(0 < peak_mb < 200)} |")
    lines.append("")
    lines.append("Details:")
    lines.append("")
    lines.append(f"- Download runs, MiB/s, in order — kura: {', '.join(f'{x:.0f}' for x in kura_dl)}; "
                 f"nginx: {', '.join(f'{x:.0f}' for x in nginx_dl)}.")
    if kura_cpu and nginx_cpu:
        lines.append(f"- CPU during the downloads (median, % of one core): kura server {statistics.median(kura_cpu):.0f} %, "
                     f"its curl client {statistics.median(kura_ccpu):.0f} %; nginx workers "
                     f"{statistics.median(nginx_cpu):.0f} %, its curl client {statistics.median(nginx_ccpu):.0f} %. "
                     f"Other processes on the machine used {min(other_cpu):.0f}–{max(other_cpu):.0f} % "
                     f"(median {statistics.median(other_cpu):.0f} %) of the {_one(values, 'nproc')} cores' "
                     f"{100 * int(_one(values, 'nproc', '1'))} % meanwhile.")
    lines.append(f"- Repo-info runs, req/s — kura: {', '.join(f'{x:.0f}' for x in kura_rps)}; "
                 f"nginx: {', '.join(f'{x:.0f}' for x in nginx_rps)}. "
                 f"Mean latency per run — kura: {', '.join(values.get('kura_lat', []))}; "
                 f"nginx: {', '.join(values.get('nginx_lat', []))}. "
                 f"Non-2xx answers: kura {_one(values, 'kura_non2xx', '0')}, nginx {_one(values, 'nginx_non2xx', '0')}.")
    lines.append(f"- Memory run (fresh kura): RSS after start {_one(values, 'mem_start_mb')} MB; peak during the "
                 f"{_one(values, 'mem_size_mib')} MiB LFS PUT {_one(values, 'mem_up_mb')} MB "
                 f"(upload {_one(values, 'mem_up_speed')}, sha256 checked by kura); peak during the GET "
                 f"{_one(values, 'mem_down_mb')} MB (download {_one(values, 'mem_down_speed')} MiB/s); "
                 f"{_one(values, 'mem_note', '')}")
    return "\n".join(lines) + "\n"


def write_section(doc, text, begin, end):
    """Puts `text` between the `begin` and `end` markers of `doc` (appended when absent)."""
    try:
        with open(doc) as f:
            current = f.read()
    except FileNotFoundError:
        current = "# Benchmarks\n\n## Results\n\n"
    section = f"{begin}\n{text}{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        updated = head + section + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    with open(doc, "w") as f:
        f.write(updated)


def report(results, doc):
    text = render(_load(results))
    print(text)
    write_section(doc, text, BEGIN, END)


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, args = argv[0], argv[1:]
    if cmd == "free-port":
        free_port()
    elif cmd == "sha256":
        sha256(*args)
    elif cmd == "json-get":
        json_get(*args)
    elif cmd == "lfs-batch":
        lfs_batch(*args)
    elif cmd == "commit-body":
        commit_body(*args)
    elif cmd == "cpu-ticks":
        cpu_ticks([int(p) for p in args])
    elif cmd == "download":
        download(args[0], args[1], [int(p) for p in args[2:]])
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
