#!/usr/bin/env python3
"""kura thundering herd (issue 21, item 2); run through bench/herd. Standard library only
(the recording also needs a Python with torch and transformers).

  herd_helpers.py run             replay bench/herd_sequence.json with 256 connections against
                                  kura and against nginx serving the same answers
  herd_helpers.py record PYTHON   record the sequence anew: PYTHON (with torch, transformers and
                                  huggingface_hub) loads the fixture model from a fresh kura through
                                  a recording proxy; writes bench/herd_sequence.json

The fixture is a real tiny model of 5 files (a 1-layer GPT-2: config.json, generation_config.json,
model.safetensors, tokenizer.json, tokenizer_config.json), built here byte for byte the same each
time (seeded), so the recorded sequence replays against a fresh kura.
"""

import hashlib
import http.client
import json
import os
import random
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import meta_helpers as m  # noqa: E402

REPO = "alice/tiny"
SEQUENCE = os.path.join(m.ROOT, "bench", "herd_sequence.json")
CONNS = int(os.environ.get("BENCH_HERD_CONNS", "256"))
SECS = int(os.environ.get("BENCH_HERD_SECS", "10"))
RUNS = int(os.environ.get("BENCH_HERD_RUNS", "3"))
BEGIN, END = "<!-- bench:herd:begin -->", "<!-- bench:herd:end -->"

# ------------------------------------------------------------------ the fixture model
E, P, V, LAYERS = 32, 64, 1000, 1


def _weights():
    rnd = random.Random(2121)
    shapes = [("transformer.wte.weight", [V, E]), ("transformer.wpe.weight", [P, E])]
    for i in range(LAYERS):
        h = f"transformer.h.{i}"
        shapes += [(f"{h}.ln_1.weight", [E]), (f"{h}.ln_1.bias", [E]),
                   (f"{h}.attn.c_attn.weight", [E, 3 * E]), (f"{h}.attn.c_attn.bias", [3 * E]),
                   (f"{h}.attn.c_proj.weight", [E, E]), (f"{h}.attn.c_proj.bias", [E]),
                   (f"{h}.ln_2.weight", [E]), (f"{h}.ln_2.bias", [E]),
                   (f"{h}.mlp.c_fc.weight", [E, 4 * E]), (f"{h}.mlp.c_fc.bias", [4 * E]),
                   (f"{h}.mlp.c_proj.weight", [4 * E, E]), (f"{h}.mlp.c_proj.bias", [E])]
    shapes += [("transformer.ln_f.weight", [E]), ("transformer.ln_f.bias", [E])]
    tensors = []
    for name, shape in sorted(shapes):
        n = 1
        for d in shape:
            n *= d
        if name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
            values = [1.0] * n
        elif name.endswith(".bias"):
            values = [0.0] * n
        else:
            values = [rnd.gauss(0.0, 0.02) for _ in range(n)]
        tensors.append((name, shape, struct.pack(f"<{n}f", *values)))
    return m.safetensors_bytes(tensors)


def model_files():
    """The 5 files of the tiny model: [(path, bytes)]."""
    config = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "bos_token_id": 0,
              "dtype": "float32", "eos_token_id": 0, "initializer_range": 0.02, "layer_norm_epsilon": 1e-05,
              "model_type": "gpt2", "n_embd": E, "n_head": 2, "n_inner": None, "n_layer": LAYERS,
              "n_positions": P, "tie_word_embeddings": True, "transformers_version": "5.24.0", "use_cache": True,
              "vocab_size": V}
    generation = {"_from_model_config": True, "bos_token_id": 0, "eos_token_id": 0,
                  "transformers_version": "5.24.0", "use_cache": True}
    tokenizer = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
                 "pre_tokenizer": {"type": "Whitespace"}, "post_processor": None, "decoder": None,
                 "model": {"type": "WordLevel", "vocab": {f"w{i}": i for i in range(V)}, "unk_token": "w0"}}
    tokenizer_config = {"model_max_length": P, "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "w0"}
    dump = lambda x: (json.dumps(x, indent=2) + "\n").encode()  # noqa: E731
    return [("config.json", dump(config)), ("generation_config.json", dump(generation)),
            ("tokenizer.json", dump(tokenizer)), ("tokenizer_config.json", dump(tokenizer_config)),
            ("model.safetensors", _weights())]


def fill_model(base, token):
    """The public repo alice/tiny with the 5 files in one commit, model.safetensors through LFS
    (kura stores it as Xet, as the stock client's upload would). Returns the substitutions."""
    auth = {"Authorization": f"Bearer {token}"}
    st, _, body = m.http("POST", f"{base}/api/repos/create", json.dumps(
        {"name": REPO.split("/")[1], "organization": REPO.split("/")[0], "type": "model"}).encode(),
        {**auth, "Content-Type": "application/json"})
    m.check(st, "create repo", body)
    files = model_files()
    small = [(p, d) for p, d in files if p != "model.safetensors"]
    weights = dict(files)["model.safetensors"]
    oid = hashlib.sha256(weights).hexdigest()
    lfs_headers = {**auth, "Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"}
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(weights)}]}
    st, _, body = m.http("POST", f"{base}/{REPO}.git/info/lfs/objects/batch", json.dumps(batch).encode(), lfs_headers)
    m.check(st, "LFS batch", body)
    upload = json.loads(body)["objects"][0].get("actions", {}).get("upload")
    if upload:
        st, _, body = m.http("PUT", upload["href"], weights, {**upload.get("header", {}),
                                                               "Content-Type": "application/octet-stream"}, 120)
        m.check(st, "LFS PUT", body)
    lines = [{"key": "header", "value": {"summary": "tiny model", "description": ""}}]
    lines += [m._file(p, d) for p, d in small]
    lines.append({"key": "lfsFile", "value": {"path": "model.safetensors", "algo": "sha256", "oid": oid,
                                              "size": len(weights)}})
    st, _, body = m.http("POST", f"{base}/api/models/{REPO}/commit/main",
                         "\n".join(json.dumps(x) for x in lines).encode() + b"\n",
                         {**auth, "Content-Type": "application/x-ndjson"}, 120)
    m.check(st, "commit", body)
    m.wait_indexed(base, REPO)
    st, _, body = m.http("GET", f"{base}/api/models/{REPO}/revision/main")
    m.check(st, "revision", body)
    commit = json.loads(body)["sha"]
    st, _, body = m.http("POST", f"{base}/api/models/{REPO}/paths-info/main", b"paths=model.safetensors",
                         {"Content-Type": "application/x-www-form-urlencoded"})
    m.check(st, "paths-info", body)
    xet_hash = json.loads(body)[0].get("xetHash") or ""
    return {"commit": commit, "oid": oid, "xet_hash": xet_hash}


def xet_token(base, revision="main"):
    st, _, body = m.http("GET", f"{base}/api/models/{REPO}/xet-read-token/{revision}")
    m.check(st, "xet-read-token", body)
    return json.loads(body)["accessToken"]


def fetch_token(base, values):
    """The signed part of the `/cas/fetch/` URL kura hands out for the weights (valid an hour)."""
    st, _, body = m.http("GET", f"{base}/cas/v1/reconstructions/{values['xet_hash']}", None,
                         {"Authorization": f"Bearer {values['xet_token']}"})
    m.check(st, "reconstruction", body)
    found = re.search(r"/cas/fetch/([^\"?]+)", body.decode())
    if not found:
        raise RuntimeError(f"no /cas/fetch/ URL in the reconstruction answer: {body[:300]!r}")
    return found.group(1)


# ------------------------------------------------------------------ recording
KEEP_REQUEST_HEADERS = ("accept", "accept-encoding", "range", "content-type", "authorization", "user-agent")
KEEP_RESPONSE_HEADERS = ("content-type", "content-length", "location", "x-repo-commit", "x-xet-hash",
                         "x-linked-size", "x-linked-etag", "etag", "link", "x-error-code", "transfer-encoding")


class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None
    entries = []
    lock = threading.Lock()

    def log_message(self, *args):
        pass

    def _forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        started = time.time()
        conn = http.client.HTTPConnection(*self.upstream, timeout=120)
        conn.request(self.command, self.path, body or None, headers)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        length = resp.getheader("Content-Length")
        self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        entry = {"t": started, "method": self.command, "path": self.path,
                 "request_headers": {k.lower(): v for k, v in self.headers.items()
                                     if k.lower() in KEEP_REQUEST_HEADERS},
                 "body": body.decode("utf-8", "replace") if body else None,
                 "status": resp.status,
                 "response_headers": {k.lower(): v for k, v in resp.getheaders()
                                      if k.lower() in KEEP_RESPONSE_HEADERS},
                 "response_bytes": len(data)}
        with self.lock:
            self.entries.append(entry)

    do_GET = do_HEAD = do_POST = do_PUT = _forward


LOADER = r"""
import os, sys, time
t = time.perf_counter()
from transformers import AutoModelForCausalLM, AutoTokenizer
repo = sys.argv[1]
model = AutoModelForCausalLM.from_pretrained(repo)
tokenizer = AutoTokenizer.from_pretrained(repo)
print(type(model).__name__, sum(p.numel() for p in model.parameters()), type(tokenizer).__name__,
      tokenizer("w1 w2 w3")["input_ids"], f"{time.perf_counter() - t:.2f}s")
"""


def record(python):
    m.setup_run("herd-record.")
    try:
        versions = subprocess.run([python, "-c", "from importlib.metadata import version as v; "
                                   "print(' '.join(f'{p} {v(p)}' for p in ['torch', 'transformers', "
                                   "'huggingface_hub', 'hf_xet', 'tokenizers', 'safetensors']))"],
                                  capture_output=True, text=True, check=True).stdout.strip()
        kura = m.Kura("kura")
        kura.setup_user()
        proxy_port = m.free_port()
        proxy_url = f"http://127.0.0.1:{proxy_port}"
        kura.serve(public_url=proxy_url)  # absolute URLs kura hands out lead back through the proxy
        Recorder.upstream = ("127.0.0.1", kura.port)
        server = ThreadingHTTPServer(("127.0.0.1", proxy_port), Recorder)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        subs = fill_model(kura.url, kura.token)  # the LFS PUT goes to the public URL: the proxy
        Recorder.entries.clear()
        home = tempfile.mkdtemp(dir=m.RUN, prefix="hf_home.")
        env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
        env.update(HF_ENDPOINT=proxy_url, HF_HOME=home, HF_HUB_DISABLE_TELEMETRY="1",
                   HF_HUB_DISABLE_PROGRESS_BARS="1", TRANSFORMERS_VERBOSITY="error")
        m.log(f"loading {REPO} with {python} through the recording proxy")
        r = subprocess.run([python, "-c", LOADER, REPO], capture_output=True, text=True, env=env, timeout=600)
        server.shutdown()
        if r.returncode != 0:
            raise RuntimeError(f"loader failed: {r.stderr[-3000:]}")
        m.log(f"loader: {r.stdout.strip()}")
        token = xet_token(kura.url)
        entries = sorted(Recorder.entries, key=lambda e: e["t"])
        reqs = []
        for e in entries:
            e.pop("t")
            text = json.dumps(e)
            text = text.replace(proxy_url, "{base}").replace(kura.token, "{hub_token}")
            for key in ("commit", "oid", "xet_hash"):
                if subs[key]:
                    text = text.replace(subs[key], "{" + key + "}")
            e = json.loads(text)
            if e["path"].startswith("/cas/fetch/"):  # a URL kura signed for this run: fetched again at replay
                e["path"] = "/cas/fetch/{fetch_token}"
            auth = e["request_headers"].get("authorization")
            if auth:  # a Xet token (hf_xet's CAS calls): never stored, fetched again at replay
                e["request_headers"]["authorization"] = "Bearer {xet_token}"
            reqs.append(e)
        doc = {
            "recorded": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "how": (f"bench/herd_helpers.py record: {versions}; a fresh HF_HOME, anonymous, "
                    "AutoModelForCausalLM.from_pretrained then AutoTokenizer.from_pretrained of the 5-file tiny "
                    "GPT-2 fixture, through a recording proxy in front of kura"),
            "loader_output": r.stdout.strip(),
            "placeholders": {"{base}": "the server's URL", "{commit}": "main's commit id",
                             "{oid}": "SHA-256 of model.safetensors", "{xet_hash}": "its Xet file hash",
                             "{xet_token}": "a Xet read token, fetched at replay",
                             "{fetch_token}": "the signed part of the /cas/fetch/ URL in the reconstruction "
                                              "answer, fetched at replay"},
            "requests": reqs,
        }
        with open(SEQUENCE, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        m.log(f"{len(reqs)} requests written to {os.path.relpath(SEQUENCE, m.ROOT)}")
        for e in reqs:
            print(e["method"], e["path"], e["status"], e["response_bytes"])
    finally:
        m.cleanup()


# ------------------------------------------------------------------ replay
def _fill(text, values):
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def replay_plan(seq, values, base):
    """The requests to replay, with placeholders filled: [(method, path, headers dict, body bytes, status)]."""
    plan = []
    for e in seq["requests"]:
        path = _fill(e["path"], values)
        if path.startswith(base):
            path = path[len(base):]
        headers = {k: _fill(v, values) for k, v in e["request_headers"].items()}
        body = _fill(e["body"], values).encode() if e.get("body") else b""
        plan.append((e["method"], path, headers, body, e["status"]))
    return plan


def _header_lines(headers):
    return [f"{k.title()}: {v}" for k, v in headers.items()]


def nginx_reference(kura_url, plan):
    """Captures kura's answer to each request; returns nginx locations (one URI per request) and
    the nginx request list. 2xx answers become static files (served by GET or HEAD as recorded;
    POSTs become GETs, ranges are dropped and their 206 body served whole); others `return`."""
    www = os.path.join(m.RUN, "www")
    os.makedirs(www, exist_ok=True)
    static, returned, nginx_reqs = [], [], []
    for i, (method, path, headers, body, status) in enumerate(plan):
        get_method = "GET" if method == "HEAD" else method
        st, hdrs, data = m.http(get_method, kura_url + path, body or None, headers)
        if method != "HEAD" and st != status:
            raise RuntimeError(f"{method} {path}: kura answered {st}, the recording {status}")
        if method == "HEAD":
            hst, _, _ = m.http("HEAD", kura_url + path, None, headers)
            if hst != status:
                raise RuntimeError(f"HEAD {path}: kura answered {hst}, the recording {status}")
        uri = f"/h/{i}"
        ctype = hdrs.get("content-type", "application/octet-stream")
        extra = [(k, v.replace('"', '\\"')) for k, v in hdrs.items()
                 if (k.startswith("x-") or k in ("etag", "link")) and "$" not in v and "\\" not in v]
        if 200 <= status < 300:
            file = os.path.join(www, str(i))
            with open(file, "wb") as f:
                f.write(data)
            static.append((uri, file, ctype, extra))
            nginx_reqs.append(("HEAD" if method == "HEAD" else "GET", uri, {}, b"", 200))
        else:
            text = data.decode("utf-8", "replace").replace("\\", "\\\\").replace('"', '\\"').replace("$", "")
            target = hdrs.get("location", "") if 300 <= status < 400 else text
            returned.append((uri, status, ctype, target, extra))
            nginx_reqs.append((method if method in ("GET", "HEAD") else "GET", uri, {}, b"", status))
    return static, returned, nginx_reqs


def start_reference_nginx(static, returned):
    proc, url = m.start_nginx(static)
    m.stop(proc)
    # add the non-2xx locations to the same config and start it again
    conf = [p for p in os.listdir(m.RUN) if p.startswith("nginx.")]
    path = os.path.join(m.RUN, sorted(conf, key=lambda p: os.path.getmtime(os.path.join(m.RUN, p)))[-1],
                        "nginx.conf")
    lines = open(path).read().rstrip().splitlines()
    assert lines[-2].strip() == "}" and lines[-1] == "}"
    extra = []
    for uri, status, ctype, target, headers in returned:
        extra.append(f"    location = {uri} {{ default_type \"{ctype}\";")
        for k, v in headers:
            extra.append(f"      add_header {k} \"{v}\" always;")
        extra.append(f"      return {status} \"{target}\"; }}")
    with open(path, "w") as f:
        f.write("\n".join(lines[:-2] + extra + lines[-2:]) + "\n")
    port = url.rsplit(":", 1)[1]
    proc = m.start(["nginx", "-c", path, "-p", os.path.dirname(path)], "nginx-ref.log")
    if not m.wait_port(int(port), 20, proc):
        raise RuntimeError("reference nginx did not start")
    return proc, url


def reqfile(base, reqs, name):
    path = os.path.join(m.RUN, name)
    m.write_reqfile(path, [(m.raw_request(method, base, p, _header_lines(h), body), method == "HEAD", st)
                           for method, p, h, body, st in reqs])
    return path


def clear_peak(pid):
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def run():
    m.ensure_tools("nginx", "curl")
    if m.shutil.which("cc") is None:
        m.ensure_tools("gcc")
    m.ensure_kura()
    with open(SEQUENCE) as f:
        seq = json.load(f)
    m.setup_run("herd.")
    try:
        env = m.environment()
        exe = m.build_seqload()
        kura = m.Kura("kura")
        kura.setup_user()
        kura.serve()
        values = fill_model(kura.url, kura.token)
        values["xet_token"] = xet_token(kura.url)
        values["base"] = kura.url
        values["fetch_token"] = fetch_token(kura.url, values)
        plan = replay_plan(seq, values, kura.url)
        m.log(f"{len(plan)} requests recorded; capturing kura's answers for nginx")
        static, returned, nginx_plan = nginx_reference(kura.url, plan)
        nginx, nurl = start_reference_nginx(static, returned)
        kfile = reqfile(kura.url, plan, "kura.req")
        nfile = reqfile(nurl, nginx_plan, "nginx.req")
        # nginx answers every request as recorded
        for method, p, h, body, st in nginx_plan:
            got, _, _ = m.http(method, nurl + p, None, h)
            if got != st:
                raise RuntimeError(f"nginx answered {got} to {method} {p}, expected {st}")
        spread = os.environ.get("BENCH_HERD_ONE_ADDRESS") != "1"
        rss_start = m._status_kb(kura.proc.pid, "VmRSS")
        m.log(f"herd: {CONNS} connections, each replaying the {len(plan)} requests in a loop; 3 s warm-up, then "
              f"{RUNS} runs of {SECS} s, kura and nginx alternating")
        m.seqload(exe, kura.url, kfile, 3, CONNS, 2, spread)
        m.seqload(exe, nurl, nfile, 3, CONNS, 2, spread)
        res = {"kura": [], "nginx": []}
        peaks, resets = [], True
        for rnd in range(RUNS):
            resets = clear_peak(kura.proc.pid) and resets
            r = m.seqload(exe, kura.url, kfile, SECS, CONNS, 2, spread)
            peaks.append(m._status_kb(kura.proc.pid, "VmHWM"))
            res["kura"].append(r)
            n = m.seqload(exe, nurl, nfile, SECS, CONNS, 2, spread)
            res["nginx"].append(n)
            for side, x in (("kura", r), ("nginx", n)):
                m.log(f"  round {rnd + 1} {side}: {x['rps']:.0f} req/s, mean {x['mean_ms']:.1f} ms, p99 "
                      f"{x['p99_ms']:.1f} ms, 5xx {x['s5xx']:.0f}, unexpected status {x['unexpected']:.0f}, "
                      f"errors {x['errors']}")
        rss_end = m._status_kb(kura.proc.pid, "VmRSS")
        m.stop(nginx)
        text = render(env, seq, plan, res, peaks, resets, rss_start, rss_end, spread)
        print(text, flush=True)
        m.write_section(text, BEGIN, END, "### Results: herd")
    finally:
        m.cleanup()


def render(env, seq, plan, res, peaks, resets, rss_start, rss_end, spread):
    kinds = {}
    for method, path, _h, _b, st in plan:
        kind = ("HEAD " if method == "HEAD" else method + " ") + (
            "resolve" if "/resolve/" in path else "xet-read-token" if "xet-read-token" in path else
            "CAS" if path.startswith("/cas/") else "api" if path.startswith("/api/") else path)
        kinds.setdefault(f"{kind} → {st}", 0)
        kinds[f"{kind} → {st}"] += 1
    k, n = res["kura"], res["nginx"]
    col = m._col
    lines = [
        f"Run of {env['date']} — kura commit `{env['commit']}`, binary {env['binary']}; {env['nproc']} CPUs; "
        f"{env['tools']}; load average before: {env['load_before']}, after: {m.load_now()} (a shared machine).",
        "",
        f"The sequence (`bench/herd_sequence.json`, recorded {seq['recorded']}): {len(plan)} requests — "
        + ", ".join(f"{v}× {kk}" for kk, v in kinds.items()) + ". "
        f"{CONNS} keep-alive connections"
        + (" (each from its own loopback address)" if spread else " (all from 127.0.0.1)")
        + f" each replay it from the start, in a loop (bench/seqload.c, 2 threads); 3 s warm-up, then {RUNS} runs "
        f"of {SECS} s, kura and nginx alternating. nginx answers the same requests with kura's bodies and statuses "
        "(2xx as static files, others with `return`).",
        "",
        "| server | req/s min / median | model loads/s (median) | mean latency, ms (median) "
        "| p99 latency, ms (median; worst run) | 5xx | status other than recorded | socket errors / timeouts |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for side, runs in (("kura", k), ("nginx", n)):
        lines.append(
            f"| {side} | {m.fmt(col(runs, 'rps'))} | {statistics.median(col(runs, 'rps')) / len(plan):.0f} "
            f"| {statistics.median(col(runs, 'mean_ms')):.1f} | {statistics.median(col(runs, 'p99_ms')):.1f}; "
            f"{max(col(runs, 'p99_ms')):.1f} | {sum(col(runs, 's5xx')):.0f} | {sum(col(runs, 'unexpected')):.0f} "
            f"| {sum(r['err_connect'] + r['err_read'] for r in runs):.0f} / {sum(col(runs, 'err_timeout')):.0f} |")
    med, mn = m.ratio(col(k, "rps"), col(n, "rps"))
    p99 = statistics.median(col(k, "p99_ms")) / max(statistics.median(col(n, "p99_ms")), 0.001)
    lines += [
        "",
        f"kura ÷ nginx, req/s: {med} (median; {mn} min); p99 latency: {p99:.1f}× nginx's. kura's memory: RSS "
        f"{rss_start / 1000:.0f} MB before the herd, {rss_end / 1000:.0f} MB after; peak (VmHWM) per run "
        + ", ".join(f"{p / 1000:.0f}" for p in peaks) + " MB"
        + (" (reset before each run through /proc/PID/clear_refs)." if resets else " (since start: no reset)."),
        "",
        "Mean latency of each request of the sequence, ms (median over the runs) — kura; nginx:",
        "",
        "| # | request | status | kura | nginx |",
        "|---|---|---|---|---|",
    ]
    for i, e in enumerate(seq["requests"]):
        path = e["path"].replace("{base}", "")
        if len(path) > 70:
            path = path[:67] + "…"
        km = statistics.median(r.get(f"mean_us_{i}", 0) for r in k) / 1000
        nm = statistics.median(r.get(f"mean_us_{i}", 0) for r in n) / 1000
        lines.append(f"| {i + 1} | `{e['method']} {path}` | {e['status']} | {km:.1f} | {nm:.1f} |")
    lines += [
        "",
        "Runs — kura: " + "; ".join(f"{r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms" for r in k)
        + ". nginx: " + "; ".join(f"{r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms" for r in n) + ".",
    ]
    return "\n".join(lines) + "\n"


def main(argv):
    if argv[:1] == ["record"] and len(argv) == 2:
        record(argv[1])
    elif argv in ([], ["run"]):
        run()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
