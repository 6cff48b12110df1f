#!/usr/bin/env python3
"""Glue for bench/index (standard library only, but `upload`, which needs huggingface_hub).

Subcommands:
  shards DIR N MIB               write N safetensors shards of ~MIB MiB of BF16 data each (a 70B-class
                                 Llama layout scaled down) and model.safetensors.index.json; print
                                 `files bytes parameters tensors header_bytes`
  pytorch PATH MB                write a ~MB MB PyTorch zip checkpoint (torch's layout, no torch):
                                 print `bytes parameters tensors pkl_bytes directory_bytes`
  upload URL TOKEN REPO DIR      create the model repo and upload DIR in one commit (huggingface_hub)
  run-io LOG CMD...              run CMD with stderr to LOG; print `wall_s rchar read_bytes` of it
                                 (its I/O, counted from this process's /proc/self/io once it is reaped)
  proc-io PID                    print `rchar read_bytes` of a running process
  strace-io OUT CMD...            run CMD under strace -f; print the bytes its read calls returned per
                                 kind of file: `content chunk_tables git database other content_opens`
                                 (content: xorbs and raw LFS objects; git: objects of the git store)
  indexed LOG                    print `files skipped bytes_read elapsed_ms` of each "indexed a commit" line
  info URL REPO N                time N `GET /api/models/REPO` (after one warm-up); print the seconds of
                                 each, then `parameters TOTAL DTYPE=N...` from the last answer
  report RESULTS DOC             print the markdown results and rewrite DOC's indexing section
"""

import io
import json
import os
import pickle
import random
import re
import statistics
import struct
import subprocess
import sys
import time
import types
import urllib.request
import zipfile
from collections import OrderedDict

from helpers import _load, _nums, _one, _runs, write_section

BEGIN = "<!-- bench:index:begin -->"
END = "<!-- bench:index:end -->"
MIB = 1 << 20
TARGET_SECONDS = 1.0


# ---------------------------------------------------------------- the 72-shard safetensors repo


def _llama_tensors(hidden, kv, inter, vocab, layers):
    """(name, shape) of a Llama-style model, in the order transformers writes them."""
    out = [("model.embed_tokens.weight", [vocab, hidden])]
    for i in range(layers):
        p = f"model.layers.{i}."
        out += [
            (p + "self_attn.q_proj.weight", [hidden, hidden]),
            (p + "self_attn.k_proj.weight", [kv, hidden]),
            (p + "self_attn.v_proj.weight", [kv, hidden]),
            (p + "self_attn.o_proj.weight", [hidden, hidden]),
            (p + "mlp.gate_proj.weight", [inter, hidden]),
            (p + "mlp.up_proj.weight", [inter, hidden]),
            (p + "mlp.down_proj.weight", [hidden, inter]),
            (p + "input_layernorm.weight", [hidden]),
            (p + "post_attention_layernorm.weight", [hidden]),
        ]
    return out + [("model.norm.weight", [hidden]), ("lm_head.weight", [vocab, hidden])]


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _round8(x):
    return max(8, int(round(x / 8)) * 8)


def _split(tensors, n):
    """Contiguous groups of about equal bytes, n of them (as a max_shard_size split gives)."""
    total = sum(_numel(s) for _, s in tensors)
    groups, current, acc = [], [], 0
    for i, (name, shape) in enumerate(tensors):
        current.append((name, shape))
        acc += _numel(shape)
        left = n - len(groups) - 1
        if left > 0 and acc >= total * (len(groups) + 1) / n and len(tensors) - i - 1 >= left:
            groups.append(current)
            current = []
    groups.append(current)
    return groups


def _write_random(f, n):
    block = 8 * MIB
    while n > 0:
        k = min(block, n)
        f.write(os.urandom(k))  # fresh bytes: no chunk of one file dedups against another
        n -= k


def _safetensors_header(group):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in group:
        size = 2 * _numel(shape)
        header[name] = {"dtype": "BF16", "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # the safetensors library pads the header to 8 bytes
    return raw, offset


def shards(directory, n, mib):
    """Llama-2-70B's shapes (hidden 8192, 8 KV heads, MLP 28672, vocab 32000, 80 layers: ~69B
    parameters, 723 tensors, ~10 a shard over 72 shards) with the dimensions divided by one factor
    so that the shards hold about `mib` MiB of BF16 data each."""
    n, mib = int(n), float(mib)
    full = _llama_tensors(8192, 1024, 28672, 32000, 80)
    full_bytes = 2 * sum(_numel(s) for _, s in full)
    scale = (full_bytes / (n * mib * MIB)) ** 0.5
    tensors = _llama_tensors(_round8(8192 / scale), _round8(1024 / scale), _round8(28672 / scale),
                             _round8(32000 / scale), 80)
    os.makedirs(directory, exist_ok=True)
    weight_map, total_bytes, params, headers = {}, 0, 0, 0
    for i, group in enumerate(_split(tensors, n), start=1):
        name = f"model-{i:05d}-of-{n:05d}.safetensors"
        raw, data = _safetensors_header(group)
        with open(os.path.join(directory, name), "wb") as f:
            f.write(struct.pack("<Q", len(raw)) + raw)
            _write_random(f, data)
        total_bytes += 8 + len(raw) + data
        headers += 8 + len(raw)
        params += data // 2
        weight_map.update({t: name for t, _ in group})
    index = {"metadata": {"total_size": params * 2}, "weight_map": weight_map}
    with open(os.path.join(directory, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
    index_bytes = os.path.getsize(os.path.join(directory, "model.safetensors.index.json"))
    print(n + 1, total_bytes + index_bytes, params, len(tensors), headers)


# ---------------------------------------------------------------- the PyTorch .bin


def _fake_torch():
    """Just enough of a `torch` module for pickle to name its globals (nothing of it runs)."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only its name is pickled
        raise NotImplementedError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    storage = type("BFloat16Storage", (), {"__module__": "torch"})
    torch.BFloat16Storage = storage
    torch._utils = utils
    sys.modules.setdefault("torch", torch)
    sys.modules.setdefault("torch._utils", utils)
    return _rebuild_tensor_v2, storage


class _Storage:
    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _Tensor:
    def __init__(self, rebuild, storage, shape):
        self.rebuild, self.storage, self.shape = rebuild, storage, shape

    def __reduce__(self):
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.insert(0, acc)
            acc *= d
        return (self.rebuild, (self.storage, 0, tuple(self.shape), tuple(stride), False, OrderedDict()))


class _TorchPickler(pickle.Pickler):
    def __init__(self, f, storage_type):
        super().__init__(f, protocol=2)
        self.storage_type = storage_type

    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", self.storage_type, obj.key, "cpu", obj.numel)
        return None


def _aligned(zf, name):
    """A ZipInfo whose data starts on a 64-byte boundary, padded with torch's "FB" extra field."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    at = zf.fp.tell() + 30 + len(name.encode()) + 4
    pad = -at % 64
    info.extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad
    return info


def pytorch(path, mb):
    """A small Llama (hidden 1024, MLP 2816, vocab 32000) with as many layers as fill ~`mb` MB,
    saved as torch.save does: archive/data.pkl (protocol 2, persistent ids of BF16 storages),
    archive/byteorder, archive/data/0..N (ZIP_STORED, 64-byte aligned), archive/version."""
    target = float(mb) * 1e6 / 2
    per_layer = _numel([1024, 1024]) * 4 + 3 * 1024 * 2816 + 2 * 1024
    layers = max(1, round((target - 2 * 32000 * 1024) / per_layer))
    tensors = _llama_tensors(1024, 1024, 2816, 32000, layers)
    rebuild, storage_type = _fake_torch()
    state = OrderedDict()
    for key, (name, shape) in enumerate(tensors):
        state[name] = _Tensor(rebuild, _Storage(str(key), _numel(shape)), shape)
    buf = io.BytesIO()
    _TorchPickler(buf, storage_type).dump(state)
    pkl = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(_aligned(zf, "archive/data.pkl"), pkl)
        zf.writestr(_aligned(zf, "archive/byteorder"), b"little")
        for key, (_, shape) in enumerate(tensors):
            size = 2 * _numel(shape)
            with zf.open(_aligned(zf, f"archive/data/{key}"), "w", force_zip64=size > 0x7FFF0000) as f:
                _write_random(f, size)
        zf.writestr(_aligned(zf, "archive/version"), b"3\n")
        zf.writestr(_aligned(zf, "archive/.data/serialization_id"), b"%020d" % random.randrange(10**19))
        directory_start = zf.fp.tell()
    size = os.path.getsize(path)
    end_record = 22  # no archive comment
    params = sum(_numel(s) for _, s in tensors)
    print(size, params, len(tensors), len(pkl), size - directory_start - end_record)


# ---------------------------------------------------------------- kura


def upload(url, token, repo, directory):
    from huggingface_hub import HfApi

    api = HfApi(endpoint=url, token=token)
    api.create_repo(repo, exist_ok=True)
    api.upload_folder(repo_id=repo, folder_path=directory, commit_message=f"add {os.path.basename(directory)}")


def _self_io():
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["rchar"]), int(fields["read_bytes"])


def run_io(log, *cmd):
    """Wall time and the I/O of CMD: a reaped child's counters are added to its parent's
    (/proc/self/io counts them), so the difference around the run is the child's own."""
    r0, b0 = _self_io()
    with open(log, "ab") as err:
        t = time.perf_counter()
        code = subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=err)
        wall = time.perf_counter() - t
    r1, b1 = _self_io()
    if code != 0:
        sys.exit(f"run-io: {cmd[0]} exited with {code} (see {log})")
    print(f"{wall:.4f}", r1 - r0, b1 - b0)


def proc_io(pid):
    with open(f"/proc/{pid}/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    print(fields["rchar"], fields["read_bytes"])


def _kind(path):
    """What a file of kura's data dir is, from its path."""
    name = os.path.basename(path)
    if "/blobs/xet/xorbs/" in path:
        return "chunk_tables" if name.endswith(".chunks") else "content"
    if "/blobs/git/" in path:
        return "git"
    if "/blobs/" in path:
        return "content"
    if name.startswith("kura.db"):
        return "database"
    return "other"


def strace_io(out, *cmd):
    """Bytes returned by read calls per kind of file (fds followed through openat and close)."""
    code = subprocess.call(["strace", "-f", "-qq", "-o", out, "-e", "trace=openat,close,read,pread64,readv,preadv",
                            *cmd], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if code != 0:
        sys.exit(f"strace-io: {cmd[0]} exited with {code}")
    fds, totals, opens = {}, dict.fromkeys(("content", "chunk_tables", "git", "database", "other"), 0), 0
    opened = re.compile(r'^\d+\s+openat\([^"]*"([^"]+)".*= (\d+)$')
    closed = re.compile(r"^\d+\s+close\((\d+)\)")
    read = re.compile(r"^\d+\s+(?:read|pread64|readv|preadv)\((\d+),.*= (\d+)$")
    pending = {}  # a call another thread interrupted: strace prints its two halves apart
    with open(out, errors="replace") as f:
        for line in f:
            line = line.strip()
            pid, _, rest = line.partition(" ")
            if rest.endswith("<unfinished ...>"):
                pending[pid] = line[: -len("<unfinished ...>")]
                continue
            if rest.startswith("<... ") and pid in pending:
                line = pending.pop(pid) + rest.split(" resumed>", 1)[-1]
            if m := opened.match(line):
                fds[m.group(2)] = m.group(1)
                opens += _kind(m.group(1)) == "content"
            elif m := closed.match(line):
                fds.pop(m.group(1), None)
            elif m := read.match(line):
                kind = _kind(fds.get(m.group(1), ""))
                totals[kind] += int(m.group(2))
    print(*totals.values(), opens)


LINE = re.compile(r"indexed a commit.*?files=(\d+).*?skipped=(\d+).*?bytes_read=(\d+).*?elapsed_ms=(\d+)")


def indexed(log):
    with open(log, errors="replace") as f:
        for line in f:
            m = LINE.search(re.sub(r"\x1b\[[0-9;]*m", "", line))
            if m:
                print(*m.groups())


def info(url, repo, n):
    times, answer = [], None
    for i in range(int(n) + 1):
        t = time.perf_counter()
        with urllib.request.urlopen(f"{url}/api/models/{repo}", timeout=30) as r:
            answer = json.loads(r.read())
        if i:
            times.append(time.perf_counter() - t)
    print(*(f"{x:.4f}" for x in times))
    st = answer.get("safetensors") or {}
    print("parameters", st.get("total", 0), *(f"{k}={v}" for k, v in sorted(st.get("parameters", {}).items())))


# ---------------------------------------------------------------- report


def _mm(xs, fmt):
    if not xs:
        return "–"
    return f"{fmt(min(xs))} / {fmt(statistics.median(xs))}"


def _s(x):
    return f"{x:.3f} s"


def _bytes(n):
    n = float(n)
    for unit, size in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def _list(xs, fmt="{:.3f}"):
    return ", ".join(fmt.format(x) for x in xs)


def _row(values, key, label, least):
    total = float(_one(values, f"{key}_bytes", "0"))
    read = _nums(values, f"{key}_bytes_read")
    ms = [x / 1000 for x in _nums(values, f"{key}_elapsed_ms")]
    wall, whole = _nums(values, f"{key}_wall"), _nums(values, f"{key}_whole_wall")
    storage = _one(values, f"{key}_strace", "").split()
    stored, stored_ratio = "– (no strace)", "–"
    if len(storage) == 6 and total:
        content, tables, git, _, _, opens = (int(x) for x in storage)
        stored = (f"{_bytes(content + tables)}: {_bytes(content)} in {opens} reads of content + "
                  f"{_bytes(tables)} of chunk tables (and {_bytes(git)} of git objects)")
        stored_ratio = f"{(content + tables) / total:.2%}"
    logical = f"{_bytes(read[-1])} (least: {least})" if read else "–"
    ratio = "–"
    if ms and wall and whole and min(ms) > 0:
        med = statistics.median(whole)
        ratio = f"{med / statistics.median(ms):.0f}×; {med / statistics.median(wall):.1f}×"
    return (f"| {label} | {_one(values, f'{key}_files')}, {_bytes(total)} | {logical} | {stored} "
            f"| {stored_ratio} | {_mm(ms, _s)} | {_mm(wall, _s)} | {_mm(whole, _s)} | {ratio} |")


def _details(values, key):
    storage = _one(values, f"{key}_strace", "").split()
    db = f" Besides content, the traced indexing read {_bytes(storage[3])} of the SQLite database." \
        if len(storage) == 6 else ""
    rchar = [a - b for a, b in zip(_nums(values, f"{key}_rchar"), _nums(values, f"{key}_base_rchar"))]
    served = sorted({_bytes(x) for x in _nums(values, f"{key}_whole_rchar")})
    return (f"- Runs ({key}), s — `elapsed_ms`: {_list(x / 1000 for x in _nums(values, f'{key}_elapsed_ms'))}; "
            f"reindex wall: {_list(_nums(values, f'{key}_wall'))} (a second reindex of the indexed copy, which "
            f"reads no file: {_list(_nums(values, f'{key}_base_wall'))}); whole read: "
            f"{_list(_nums(values, f'{key}_whole_wall'))}. `bytes_read`: "
            f"{', '.join(sorted(set(values.get(f'{key}_bytes_read', []))))}.{db} rchar of the indexing process "
            f"(all files) above the second reindex's, per run: {', '.join(map(_bytes, rchar))}. The server read "
            f"{', '.join(served)} (rchar) per whole read.")


def render(values):
    st_ms = [x / 1000 for x in _nums(values, "st_elapsed_ms")]
    info_s = _nums(values, "info_s")
    shards = _one(values, "st_shards")
    lines = [
        f"Run of {_one(values, 'date')} — kura commit `{_one(values, 'commit')}`{_one(values, 'binary_note', '')}; "
        f"{_one(values, 'nproc')} CPUs; {_runs(len(st_ms))} of each measurement after a warm-up, the indexings "
        f"alternating with the whole reads; load average before: {_one(values, 'load_before')}, after: "
        f"{_one(values, 'load_after')} (a shared machine: other sessions' builds and tests ran meanwhile).",
        "",
        "| repo | files, bytes | indexer's reads (`bytes_read`) | bytes read from storage (one indexing, strace) "
        "| storage ÷ file bytes | indexing (`elapsed_ms`), min / median | `kura reindex` wall, min / median "
        "| whole read via `resolve`, min / median | whole read ÷ indexing (medians: `elapsed_ms`; wall) |",
        "|---|---|---|---|---|---|---|---|---|",
        _row(values, "st", f"{shards} safetensors shards + index",
             f"headers {_bytes(_one(values, 'st_headers', 0))}"),
        _row(values, "pt", "`pytorch_model.bin`", f"`data.pkl` {_one(values, 'pt_pkl', '?')} B"),
        "",
    ]
    st_total, got = _one(values, "st_params"), _one(values, "info_params")
    ok = st_ms and max(st_ms) < TARGET_SECONDS and got == st_total
    lines.append(
        f"- Parameters of the {shards}-shard repo from stored headers: indexing {_mm(st_ms, _s)}, target < 1 s: "
        f"{'**met**' if ok else '**missed**'}. Then `model_info` answers `safetensors.total` = {got} "
        f"({_one(values, 'info_dtypes')}; the fixture holds {st_total} in {_one(values, 'st_tensors')} tensors) "
        f"in {_mm(info_s, _s)} per `GET /api/models/alice/shards` ({_runs(len(info_s))} after a warm-up).")
    lines.append(
        f"- `pytorch_model.bin`: {_one(values, 'pt_tensors')} tensors, {_one(values, 'pt_params')} BF16 "
        f"parameters; `archive/data.pkl` {_one(values, 'pt_pkl')} B, central directory {_one(values, 'pt_dir')} B.")
    lines += [_details(values, "st"), _details(values, "pt")]
    return "\n".join(lines) + "\n"


def report(results, doc):
    text = render(_load(results))
    print(text)
    if doc == "/dev/null":
        return
    write_section(doc, text, BEGIN, END)


COMMANDS = {
    "shards": shards,
    "pytorch": pytorch,
    "upload": upload,
    "run-io": run_io,
    "proc-io": proc_io,
    "strace-io": strace_io,
    "indexed": indexed,
    "info": info,
    "report": report,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
