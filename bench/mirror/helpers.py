#!/usr/bin/env python3
"""Glue for bench/mirror/run. `upload` and `meta-repo` need huggingface_hub (run them with
VENV_PY); the other subcommands use the standard library only.

Subcommands:
  metrics URL TOKEN NAME...       the value of each metric (summed over its label sets; 0 when
                                  absent), one per line, read once the mirror's counters stopped
                                  moving (two equal reads 0.2 s apart, at most 5 s)
  make-version PATH MIB EDIT_KIB SEED N
                                  version N of the family file: N = 1 writes MIB MiB of random
                                  bytes; N > 1 overwrites EDIT_KIB KiB at a random offset in place
                                  (the random generator is seeded with SEED and N); prints the
                                  bytes changed, the offset and the file's SHA-256
  upload URL TOKEN REPO FILE NAME create the model repo (exist_ok) and commit FILE as NAME with
                                  huggingface_hub (hf_xet when installed); prints the commit id,
                                  the seconds it took and whether Xet was used
  meta-repo URL TOKEN REPO        create REPO with the metadata fixture (config.json, README.md,
                                  tokenizer.json, a 12 MB model.safetensors) in one commit; prints
                                  the commit id
  fetch URL MAXTIME SHA256        GET URL (following redirects) and check its SHA-256; prints bytes
  report RESULTS DOC              print the markdown results and rewrite DOC's mirror section
"""

import hashlib
import json
import os
import random
import statistics
import sys
import time
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
_load, _nums, _one, _runs, _minmed = _shared._load, _shared._nums, _shared._one, _shared._runs, _shared._minmed
write_section = _shared.write_section

BEGIN = "<!-- bench:mirror:begin -->"
END = "<!-- bench:mirror:end -->"
MIB = 1024 * 1024
META_MODEL_BYTES = 12_000_000  # > 10 MB: an LFS / Xet file whatever the client decides


# ------------------------------------------------------------------ metrics


def _scrape(url, token):
    req = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        text = resp.read().decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_and_labels, _, value = line.rpartition(" ")
        name = name_and_labels.split("{", 1)[0]
        out[name] = out.get(name, 0.0) + float(value)
    return out


def metrics(url, token, *names):
    deadline = time.monotonic() + 5
    last = None
    while True:
        got = _scrape(url, token)
        values = [got.get(n, 0.0) for n in names if not n.startswith("kura_http_")]
        if not values or values == last or time.monotonic() > deadline:
            break
        last = values
        time.sleep(0.2)
    for n in names:
        print(f"{got.get(n, 0.0):.0f}")


# ------------------------------------------------------------------ fixtures


def make_version(path, mib, edit_kib, seed, n):
    n, size, edit = int(n), int(mib) * MIB, int(edit_kib) * 1024
    rng = random.Random(f"{seed}-{n}")
    if n == 1:
        with open(path, "wb") as f:
            left = size
            while left:
                step = min(left, 8 * MIB)
                f.write(os.urandom(step))
                left -= step
        changed, offset = size, 0
    else:
        size = os.path.getsize(path)
        edit = min(edit, size)
        offset = rng.randrange(0, size - edit + 1)
        with open(path, "r+b") as f:
            f.seek(offset)
            f.write(os.urandom(edit))
        changed = edit
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 * MIB):
            digest.update(chunk)
    print(changed, offset, digest.hexdigest())


def _api(url, token):
    from huggingface_hub import HfApi

    return HfApi(endpoint=url, token=token)


def upload(url, token, repo, file, name):
    from huggingface_hub.utils._runtime import is_xet_available

    api = _api(url, token)
    api.create_repo(repo, exist_ok=True)
    t0 = time.monotonic()
    info = api.upload_file(path_or_fileobj=file, path_in_repo=name, repo_id=repo, commit_message=f"bench: {name}")
    print(info.oid, f"{time.monotonic() - t0:.3f}", "xet" if is_xet_available() else "lfs")


def meta_repo(url, token, repo):
    from huggingface_hub import CommitOperationAdd

    api = _api(url, token)
    api.create_repo(repo, exist_ok=True)
    rng = random.Random(1818)
    config = {"model_type": "bench", "hidden_size": 768, "num_hidden_layers": 12, "vocab_size": 32000}
    tokenizer = {"version": "1.0", "model": {"type": "BPE", "vocab": {f"t{i}": i for i in range(2000)}}}
    files = {
        "config.json": json.dumps(config, indent=2).encode(),
        "README.md": b"---\nlicense: apache-2.0\n---\n# bench\n\nThe mirror benchmark's metadata fixture.\n",
        "tokenizer.json": json.dumps(tokenizer).encode(),
        "model.safetensors": rng.randbytes(META_MODEL_BYTES),
    }
    info = api.create_commit(repo, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="fixture")
    print(info.oid)


def fetch(url, max_time, want):
    digest, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=float(max_time)) as resp:
        while chunk := resp.read(4 * MIB):
            digest.update(chunk)
            size += len(chunk)
    if digest.hexdigest() != want:
        sys.exit(f"fetch: {url} gave {size} bytes with SHA-256 {digest.hexdigest()}, expected {want}")
    print(size)


# ------------------------------------------------------------------ report


def _mib(b):
    return f"{b / MIB:.1f} MiB"


def _list(xs, fmt="{:.0f}"):
    return ", ".join(fmt.format(x) for x in xs) if xs else "–"


def _ratio(a, b, pick):
    return f"{pick(a) / pick(b):.2f}" if a and b and pick(b) else "–"


def _dl_row(label, mine, ref):
    m_min, m_med = _minmed(mine)
    r_min, r_med = _minmed(ref)
    return (f"| {label} | {m_min} / {m_med} | {r_min} / {r_med} | "
            f"{_ratio(mine, ref, statistics.median)}; {_ratio(mine, ref, min)} |")


def render(v):
    size_mib = _one(v, "dl_size_mib")
    cold, cold_ref = _nums(v, "cold_dl"), _nums(v, "cold_direct_dl")
    warm, warm_ref = _nums(v, "warm_dl"), _nums(v, "warm_direct_dl")
    lines = [
        f"Run of {_one(v, 'date')} — kura commit `{_one(v, 'commit')}`{_one(v, 'binary_note', '')}; "
        f"{_one(v, 'nproc')} CPUs ({_one(v, 'cpu')}), {_one(v, 'mem')}; {_one(v, 'tools')}; load average "
        f"before: {_one(v, 'load_before')}, after: {_one(v, 'load_after')} (a shared machine: the ratios, "
        "measured side by side in one run, are the figures to compare).",
        "",
        f"**Downloads** of a {size_mib} MiB random file with `curl -o /dev/null` (`resolve/main/big.bin`), "
        "through the mirror against straight from the upstream kura (\"direct\"), MiB/s. Cold: a repo the "
        f"mirror has never seen, with fresh random bytes, {_runs(len(cold))}, each after a direct download of "
        f"the same file; warm: the last of those files once the mirror holds it, {_runs(len(warm))} each "
        "after a warm-up, alternating with direct.",
        "",
        "| download | mirror min / median | direct min / median | mirror ÷ direct (median; min) |",
        "|---|---|---|---|",
        _dl_row("cold (the mirror fetches from the upstream)", cold, cold_ref),
        _dl_row("warm (the mirror serves what it holds)", warm, warm_ref),
    ]
    cold_up = _nums(v, "cold_upstream_bytes")
    size_bytes = float(size_mib) * MIB if size_mib != "?" else 0
    warm_up = _one(v, "warm_upstream_bytes", "?")
    lines += [
        "",
        f"Upstream bytes per cold download (`kura_mirror_upstream_bytes_total`): {_list(cold_up)} "
        + (f"({min(cold_up) / size_bytes:.3f}–{max(cold_up) / size_bytes:.3f} × the file)" if cold_up and size_bytes else "")
        + f"; during all warm downloads together: {warm_up}.",
    ]
    mr, hr = _nums(v, "meta_mirror_rps"), _nums(v, "meta_hosted_rps")
    hm, hh = _nums(v, "head_mirror_rps"), _nums(v, "head_hosted_rps")
    lines += [
        "",
        f"**Warm metadata**, requests/s, anonymous: `GET` with `wrk -t2 -c32 -d{_one(v, 'wrk_secs')}s`, `HEAD` "
        f"with `ab -i -k -c32 -t{_one(v, 'wrk_secs')}` (one client thread; wrk cannot do `HEAD`), "
        f"{_runs(len(mr))} each after a 2 s warm-up, alternating: a repo the mirror answers for from its cache "
        "(fetched and within `ref_ttl`) against a repo with the same files that the same mirror process "
        "hosts itself.",
        "",
        "| request | mirrored min / median | hosted min / median | mirrored ÷ hosted (median; min) |",
        "|---|---|---|---|",
        _dl_row("`GET /api/models/{repo}/revision/main`", mr, hr),
    ]
    if hm:
        lines.append(_dl_row("`HEAD /{repo}/resolve/main/model.safetensors` (12 MB file, held; `ab -i -k -c32`)", hm, hh))
    lines += [
        "",
        f"Upstream requests while wrk ran on the mirrored repo (`kura_http_requests_total` of the upstream, "
        f"less the benchmark's own `/metrics` reads): revision {_one(v, 'meta_upstream_requests')}, "
        f"resolve HEAD {_one(v, 'head_upstream_requests', '–')}. Non-2xx answers: "
        f"{', '.join(f'{k} {_one(v, k)}' for k in sorted(v) if k.endswith('_non2xx')) or 'none'}.",
    ]
    vsize, vchanged, vup = _nums(v, "ver_size"), _nums(v, "ver_changed"), _nums(v, "ver_upstream_bytes")
    vstored, vreused = _nums(v, "ver_stored"), _nums(v, "ver_reused_bytes")
    if vup:
        total_size, total_up = sum(vsize), sum(vup)
        estimate = sum(vchanged)
        stored = sum(vstored)
        lines += [
            "",
            f"**Upstream bytes for {len(vup)} versions** of a {_mib(vsize[0])} file (`model.bin` of one upstream "
            f"repo; version 1 random, each later one the previous with {_one(v, 'ver_edit_kib')} KiB overwritten "
            f"at a random offset), each committed with `huggingface_hub.upload_file` "
            f"({'through hf_xet' if _one(v, 'ver_transport') == 'xet' else 'through Git LFS, hf_xet missing'}) "
            "and then downloaded through the mirror by its commit id (`resolve/{commit}/model.bin`, SHA-256 "
            "checked). Upstream bytes: the mirror's `kura_mirror_upstream_bytes_total` across the download. "
            "Unique bytes, estimated: version 1's size plus the bytes each later version changed (the chunker "
            "adds up to about one chunk, ~64 KiB, at each edge of an edit, so the real figure is a little "
            "higher); measured by the upstream: what each commit added to its `kura_xet_stored_bytes` "
            "(its Xet store after deduplication). Reused: the mirror's `kura_mirror_reused_bytes_total` across the "
            "download (bytes of upstream Xet chunks rebuilt from files it already held; 0 in builds without it).",
            "",
            "| version | file | changed (estimate of new unique bytes) | upstream stored | mirror fetched from "
            "upstream | mirror reused from held files |",
            "|---|---|---|---|---|---|",
        ]
        for i, (s, c, u) in enumerate(zip(vsize, vchanged, vup), 1):
            st = _mib(vstored[i - 1]) if i <= len(vstored) else "–"
            ru = _mib(vreused[i - 1]) if i <= len(vreused) else "–"
            lines.append(f"| {i} | {_mib(s)} | {_mib(c)} | {st} | {_mib(u)} | {ru} |")
        lines += [
            f"| **all** | {_mib(total_size)} | {_mib(estimate)} | {_mib(stored)} | {_mib(total_up)} | "
            f"{_mib(sum(vreused))} |",
            "",
            f"Mirror upstream bytes ÷ sum of file sizes: **{total_up / total_size:.3f}** (1.0: every version "
            f"fetched whole); ÷ estimated unique bytes: **{total_up / estimate:.2f}**; ÷ bytes the upstream stored: "
            f"**{total_up / stored if stored else float('nan'):.2f}** (1.0 would be a mirror fetching only new "
            f"chunks). Versions 2+ alone: {_mib(sum(vup[1:]))} fetched for {_mib(sum(vchanged[1:]))} changed.",
        ]
    lines += [
        "",
        "Runs, in order:",
        f"- cold MiB/s — mirror: {_list(cold)}; direct: {_list(cold_ref)}.",
        f"- warm MiB/s — mirror: {_list(warm)}; direct: {_list(warm_ref)}.",
        f"- CPU during the cold downloads (% of one core, per run) — mirror: {_list(_nums(v, 'cold_cpu'))}; "
        f"upstream: {_list(_nums(v, 'cold_cpu_upstream'))}; curl: {_list(_nums(v, 'cold_cpu_client'))}. During the "
        f"warm ones — mirror: {_list(_nums(v, 'warm_cpu'))}; upstream (direct): "
        f"{_list(_nums(v, 'warm_direct_cpu'))}.",
        f"- revision req/s — mirrored: {_list(mr)}; hosted: {_list(hr)}.",
    ]
    if hm:
        lines.append(f"- resolve HEAD req/s — mirrored: {_list(hm)}; hosted: {_list(hh)}.")
    if vup:
        lines.append(f"- version upload seconds: {', '.join(v.get('ver_upload_s', []))}; mirror download seconds: "
                     f"{', '.join(v.get('ver_fetch_s', []))}.")
    return "\n".join(lines) + "\n"


def report(results, doc):
    text = render(_load(results))
    print(text)
    if doc != "/dev/null":
        write_section(doc, text, BEGIN, END)


COMMANDS = {
    "metrics": metrics,
    "make-version": make_version,
    "upload": upload,
    "meta-repo": meta_repo,
    "fetch": fetch,
    "report": report,
}


def main(argv):
    if not argv or argv[0] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
