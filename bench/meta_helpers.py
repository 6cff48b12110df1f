#!/usr/bin/env python3
"""kura metadata hot paths (issue 21, item 1); run through bench/meta. Standard library only.

  meta_helpers.py embedded     kura (embedded default) against nginx serving the same bodies
  meta_helpers.py replicas     two replicas on PostgreSQL + S3 behind nginx against the embedded
                               default (needs KURA_TEST_POSTGRES_URL and KURA_TEST_S3_*, which
                               bench/meta replicas sets up with scripts/services.sh)

Every route is measured with `wrk -t2 -c32` (POST routes through a Lua script), except the HEAD
of `resolve`, which wrk cannot measure (it waits for the body a HEAD answer's Content-Length
announces): that one goes through bench/seqload.c, against both servers. Warm-up, then
BENCH_WRK_RUNS runs of BENCH_WRK_SECS seconds per route and server, the two alternating.

Also the shared pieces of bench/herd: processes, kura, nginx, seqload, the results block.
"""

import base64
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KURA = os.environ.get("KURA_BIN", os.path.join(ROOT, "target/release/kura"))
DOC = os.environ.get("BENCH_DOC", os.path.join(ROOT, "docs/benchmarks.md"))
WRK_RUNS = int(os.environ.get("BENCH_WRK_RUNS", "3"))
WRK_SECS = int(os.environ.get("BENCH_WRK_SECS", "5"))
WARMUP_SECS = 2
TARGET = 0.5
REPO = "alice/r"

_procs = []  # Popen objects started here; only these are ever signalled
RUN = None


def log(msg):
    print(f"[{os.path.basename(sys.argv[0]).split('_')[0]} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr,
          flush=True)


# ------------------------------------------------------------------ processes and cleanup
def start(cmd, logname, env=None):
    logf = open(os.path.join(RUN, logname), "ab")
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    _procs.append(proc)
    return proc


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            log(f"pid {proc.pid} did not stop; killing it")
            proc.kill()
            proc.wait(10)
    if proc in _procs:
        _procs.remove(proc)


def _on_signal(signum, _frame):
    raise SystemExit(128 + signum)


def setup_run(prefix):
    """Temp dir under .bench/, signal handlers; call cleanup() in a finally."""
    global RUN
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    os.makedirs(os.path.join(ROOT, ".bench"), exist_ok=True)
    RUN = tempfile.mkdtemp(dir=os.path.join(ROOT, ".bench"), prefix=prefix)
    return RUN


def cleanup():
    for proc in list(_procs):
        try:
            stop(proc)
        except Exception as err:  # noqa: BLE001 - cleanup must go on
            log(f"stopping {proc.pid}: {err}")
    if RUN and os.path.isdir(RUN):
        if os.environ.get("BENCH_KEEP") == "1":
            log(f"kept {RUN}")
        else:
            shutil.rmtree(RUN, ignore_errors=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, secs, proc):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def wait_port(port, secs, proc):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if proc.poll() is not None:
                return False
            time.sleep(0.1)
    return False


def ensure_tools(*tools):
    missing = [t for t in tools if shutil.which(t) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"missing {' '.join(missing)}; apt-get install -y {' '.join(missing)}")
    log(f"installing {' '.join(missing)}")
    subprocess.run(["apt-get", "update", "-qq"], check=True, stdout=subprocess.DEVNULL, timeout=300)
    subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=True, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), timeout=600)


def ensure_kura():
    if not os.path.exists(KURA):
        log("building kura (cargo build --release -p kura)")
        subprocess.run(["cargo", "build", "--release", "-p", "kura"], cwd=ROOT, check=True)


def build_seqload():
    exe = os.path.join(RUN, "seqload")
    subprocess.run(["cc", "-O2", "-pthread", "-o", exe, os.path.join(ROOT, "bench", "seqload.c")], check=True,
                   timeout=120)
    return exe


def environment():
    # The commit of the work tree the binary was built in (KURA_BIN may come from another one).
    tree = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(KURA)), "rev-parse", "--show-toplevel"],
                          capture_output=True, text=True).stdout.strip() or ROOT
    commit = subprocess.run(["git", "-C", tree, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                            text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--", "crates", "Cargo.toml",
                            "Cargo.lock"], capture_output=True, text=True).stdout.strip()
    if dirty:
        commit += " + uncommitted changes"
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(KURA)))
    kbin = KURA if not KURA.startswith(ROOT + "/") else KURA[len(ROOT) + 1:]
    wrk_v = re.findall(r"\d+\.\d+\.\d+", subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout)
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "binary": f"`{kbin}` built {built}",
        "nproc": os.cpu_count(),
        "tools": f"nginx {nginx_v}, wrk {wrk_v[0] if wrk_v else '?'}",
        "load_before": " ".join(open("/proc/loadavg").read().split()[:3]),
    }


def load_now():
    return " ".join(open("/proc/loadavg").read().split()[:3])


# ------------------------------------------------------------------ kura
class Kura:
    """A kura (embedded default unless `args` say otherwise) with its own data dir."""

    def __init__(self, name, args=(), env=None, config=None):
        self.name = name
        self.dir = os.path.join(RUN, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.args = ["--data-dir", self.dir, *args]
        if config:
            path = os.path.join(self.dir, "kura.toml")
            with open(path, "w") as f:
                f.write(config)
            self.args += ["--config", path]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.token = None

    def cli(self, *args):
        r = subprocess.run([KURA, *args, *self.args], capture_output=True, text=True, env=self.env, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"kura {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout.strip()

    def setup_user(self):
        self.cli("user", "create", "alice")
        self.token = self.cli("token", "create", "alice", "--role", "write").splitlines()[-1].strip()

    def serve(self, port=None, public_url=None):
        port = port or self.port
        proc = start([KURA, "serve", *self.args, "--listen", f"127.0.0.1:{port}",
                      "--public-url", public_url or self.url], f"{self.name}-{port}.log", env=self.env)
        if not wait_http(f"http://127.0.0.1:{port}/health", 60, proc):
            raise RuntimeError(f"kura on {port} did not become healthy; see {self.name}-{port}.log")
        if self.proc is None:
            self.proc = proc
        return proc


def http(method, url, body=None, headers=None, timeout=60):
    """One request; returns (status, headers as a lower-case dict, body bytes). No redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def check(status, what, body=b""):
    if not 200 <= status < 300:
        raise RuntimeError(f"{what}: HTTP {status}: {body[:500]!r}")


# ------------------------------------------------------------------ nginx
def start_nginx(locations=None, upstreams=None):
    """nginx on a free port (2 workers, keep-alive, access log off, as in bench/run): either static
    `locations` [(uri, file, content_type, [(header, value)...])] served as exact matches, or a
    round-robin proxy to `upstreams` (host:port list) as in docs/deploy.md."""
    port = free_port()
    ndir = tempfile.mkdtemp(dir=RUN, prefix="nginx.")
    os.makedirs(os.path.join(ndir, "tmp"), exist_ok=True)
    lines = ["daemon off;", "worker_processes 2;"]
    if os.geteuid() == 0:
        lines.append("user root;")  # workers read files under the (0700) temp dir
    lines += [f"pid {ndir}/nginx.pid;", f"error_log {ndir}/error.log warn;",
              "events { worker_connections 4096; }", "http {", "  access_log off;",
              f"  client_body_temp_path {ndir}/tmp; proxy_temp_path {ndir}/tmp;",
              f"  fastcgi_temp_path {ndir}/tmp; uwsgi_temp_path {ndir}/tmp; scgi_temp_path {ndir}/tmp;",
              "  keepalive_timeout 65; keepalive_requests 1000000;"]
    if upstreams:
        lines += ["  upstream kura { " + " ".join(f"server {u};" for u in upstreams)
                  + " keepalive 64; keepalive_timeout 20s; }",
                  f"  server {{ listen 127.0.0.1:{port};",
                  "    client_max_body_size 0; proxy_request_buffering off; proxy_buffering off;",
                  "    proxy_http_version 1.1; proxy_read_timeout 600s; proxy_send_timeout 600s;",
                  "    location / { proxy_pass http://kura; proxy_set_header Host $host:$server_port;",
                  "      proxy_set_header Connection \"\"; } }"]
    else:
        lines += ["  sendfile on; tcp_nopush on; etag off;", "  types { }",
                  f"  server {{ listen 127.0.0.1:{port};"]
        for uri, path, ctype, headers in locations:
            lines.append(f"    location = {uri} {{ alias {path}; default_type \"{ctype}\";")
            for name, value in headers:
                lines.append(f"      add_header {name} \"{value}\";")
            lines.append("    }")
        lines.append("  }")
    lines.append("}")
    conf = os.path.join(ndir, "nginx.conf")
    with open(conf, "w") as f:
        f.write("\n".join(lines) + "\n")
    proc = start(["nginx", "-c", conf, "-p", ndir], "nginx.log")
    if not wait_port(port, 20, proc):
        raise RuntimeError("nginx did not start: " + open(os.path.join(ndir, "error.log")).read())
    return proc, f"http://127.0.0.1:{port}"


SKIP_HEADERS = {"date", "server", "content-length", "content-type", "connection", "keep-alive",
                "transfer-encoding", "last-modified", "accept-ranges"}


def copied_headers(headers):
    """The response headers nginx repeats, so both answers weigh about the same: kura's own ones."""
    return [(k, v.replace('"', '\\"')) for k, v in headers.items()
            if k not in SKIP_HEADERS and "$" not in v and "\\" not in v]


# ------------------------------------------------------------------ load generators
def _ms(text):
    for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0), ("m", 60000.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * scale
    return float(text)


def wrk(url, secs, method="GET", body=None, headers=(), conns=32, threads=2):
    """wrk run; returns dict rps, mean_ms, p99_ms, non2xx, errors."""
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{secs}s", "--timeout", "5s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if method != "GET" or body is not None:
        script = os.path.join(RUN, f"wrk-{hashlib.sha1((method + (body or '')).encode()).hexdigest()[:10]}.lua")
        with open(script, "w") as f:
            f.write(f"wrk.method = {json.dumps(method)}\n")
            if body is not None:
                f.write(f"wrk.body = {lua_string(body)}\n")
        cmd += ["-s", script]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
    res = {"rps": 0.0, "mean_ms": 0.0, "p99_ms": 0.0, "non2xx": 0, "errors": 0}
    for line in r.stdout.splitlines():
        parts = line.split()
        if line.startswith("Requests/sec:"):
            res["rps"] = float(parts[1])
        elif parts[:1] == ["Latency"] and parts[1] != "Distribution":
            res["mean_ms"] = _ms(parts[1])
        elif parts[:1] == ["99%"]:
            res["p99_ms"] = _ms(parts[1])
        elif line.strip().startswith("Non-2xx"):
            res["non2xx"] = int(parts[-1])
        elif line.strip().startswith("Socket errors:"):
            res["errors"] = sum(int(p.strip(",")) for p in parts[2:] if p.strip(",").isdigit())
    if not res["rps"]:
        raise RuntimeError(f"wrk gave no result for {url}: {r.stdout}{r.stderr}")
    return res


def lua_string(text):
    return "\"" + "".join(c if c.isalnum() or c in " -_./:=&{}[],%" else f"\\{ord(c):03d}" for c in text) + "\""


def write_reqfile(path, requests):
    """requests: [(raw bytes, is_head, expected status)] in seqload's format."""
    with open(path, "wb") as f:
        f.write(f"{len(requests)}\n".encode())
        for raw, head, expect in requests:
            f.write(f"{len(raw)} {1 if head else 0} {expect}\n".encode())
            f.write(raw)


def raw_request(method, base, path, headers=(), body=b""):
    host = base.split("//", 1)[1]
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: seqload"]
    lines += list(headers)
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def seqload(exe, base, reqfile, secs, conns=32, threads=2, spread=False, timeout=10):
    port = base.rsplit(":", 1)[1]
    cmd = [exe, "-c", str(conns), "-t", str(threads), "-d", str(secs), "-T", str(timeout)]
    if spread:
        cmd.append("-s")
    cmd += ["127.0.0.1", port, reqfile]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + timeout + 60)
    if r.returncode != 0:
        raise RuntimeError(f"seqload failed: {r.stderr}")
    out = dict(line.split("=", 1) for line in r.stdout.split())
    res = {k: float(v) for k, v in out.items()}
    res["mean_ms"] = res["lat_mean_us"] / 1000
    res["p99_ms"] = res["lat_p99_us"] / 1000
    res["non2xx"] = int(res["s3xx"] + res["s4xx"] + res["s5xx"] + res["sother"])
    res["errors"] = int(res["err_connect"] + res["err_read"] + res["err_timeout"])
    return res


# ------------------------------------------------------------------ doc
def write_section(text, begin, end, anchor):
    """Puts `text` between the markers in DOC; with no markers yet, after the line `anchor`."""
    if DOC == "none":
        return
    with open(DOC) as f:
        current = f.read()
    section = f"{begin}\n{text}{end}"
    if begin in current and end in current:
        head, rest = current.split(begin, 1)
        updated = head + section + rest.split(end, 1)[1]
    elif anchor in current:
        head, rest = current.split(anchor, 1)
        updated = head + anchor + "\n\n" + section + rest
    else:
        updated = current.rstrip("\n") + "\n\n" + section + "\n"
    with open(DOC, "w") as f:
        f.write(updated)
    log(f"results written to {os.path.relpath(DOC, ROOT)}")


def fmt(xs, digits=0):
    if not xs:
        return "–"
    return f"{min(xs):.{digits}f} / {statistics.median(xs):.{digits}f}"


def ratio(a, b):
    if not a or not b or not statistics.median(b):
        return "–", "–"
    return f"{statistics.median(a) / statistics.median(b):.2f}", f"{min(a) / min(b):.2f}"


def verdict(a, b):
    if not a or not b:
        return "–"
    return f"≥ {TARGET}: **{'met' if statistics.median(a) / statistics.median(b) >= TARGET else 'missed'}**"


# ------------------------------------------------------------------ the fixture
def _file(path, data):
    return {"key": "file", "value": {"path": path, "content": base64.b64encode(data).decode(), "encoding": "base64"}}


README = """---
license: apache-2.0
library_name: transformers
pipeline_tag: text-generation
language: [en]
tags: [bench, metadata]
datasets: [alice/corpus]
---
# r

A small model repo for the metadata benchmark: 196 files in four folders and one LFS file.

## Usage

```python
from transformers import AutoModel
model = AutoModel.from_pretrained("alice/r")
```
""" + "".join(f"\n- note {i}: the metadata routes answer from the repo's tables" for i in range(20)) + "\n"


def safetensors_bytes(tensors):
    """A safetensors file: tensors = [(name, shape, float32 bytes)]."""
    header, offset, blobs = {}, 0, []
    for name, shape, data in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    return struct.pack("<Q", len(head)) + head + b"".join(blobs)


def fixture_files():
    """(small files as [(path, bytes)], the LFS file (path, bytes)): 196 files, 4 folders."""
    rnd = random.Random(21)
    small = [
        ("README.md", README.encode()),
        ("config.json", json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "n_embd": 256,
                                    "n_head": 4, "n_layer": 1, "n_positions": 256, "vocab_size": 1024,
                                    "torch_dtype": "float32"}, indent=2).encode() + b"\n"),
        ("generation_config.json", b'{\n  "bos_token_id": 0,\n  "eos_token_id": 0,\n  "max_length": 64\n}\n'),
        ("tokenizer.json", json.dumps({"version": "1.0", "model": {"type": "WordLevel", "unk_token": "[UNK]",
                                       "vocab": {f"w{i}": i for i in range(300)}}}).encode()),
        ("tokenizer_config.json", b'{\n  "model_max_length": 256,\n  "tokenizer_class": "PreTrainedTokenizerFast"\n}\n'),
    ]
    for i in range(110):
        small.append((f"data/part-{i:04d}.jsonl",
                      "".join(json.dumps({"id": i * 10 + j, "text": f"row {j} " * rnd.randint(2, 20)}) + "\n"
                              for j in range(rnd.randint(3, 12))).encode()))
    for i in range(40):
        small.append((f"src/module_{i:02d}.py", ("".join(f"def f{j}(x):\n    return x * {j}\n\n" for j in range(
            rnd.randint(3, 30)))).encode()))
    for i in range(30):
        small.append((f"docs/page_{i:02d}.md", f"# Page {i}\n\n{'Some text. ' * rnd.randint(5, 80)}\n".encode()))
    for i in range(10):
        small.append((f"docs/img/figure_{i}.svg", f'<svg xmlns="http://www.w3.org/2000/svg"><text>{i}</text></svg>\n'.encode()))
    weights = safetensors_bytes([("transformer.wte.weight", [1024, 256], rnd.randbytes(1024 * 256 * 4))])
    return small, ("model.safetensors", weights)


def wait_indexed(base, repo, secs=60):
    """Waits until repo info carries the indexer's facts (`config`): the index job runs after a
    commit, and the answers to capture are the ones kura gives once it is done."""
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        st, _, body = http("GET", f"{base}/api/models/{repo}")
        if st == 200 and "config" in json.loads(body):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{repo} was not indexed within {secs} s")


def fill_repo(base, token, repo=REPO):
    """Creates the public model repo and commits the fixture in one NDJSON commit; the LFS file
    goes in through the batch API and a PUT first, as Git LFS clients send it."""
    auth = {"Authorization": f"Bearer {token}"}
    ns, name = repo.split("/")
    st, _, body = http("POST", f"{base}/api/repos/create", json.dumps(
        {"name": name, "organization": ns, "type": "model"}).encode(), {**auth, "Content-Type": "application/json"})
    check(st, "create repo", body)
    small, (lfs_path, lfs_data) = fixture_files()
    oid = hashlib.sha256(lfs_data).hexdigest()
    batch = {"operation": "upload", "transfers": ["basic"], "objects": [{"oid": oid, "size": len(lfs_data)}]}
    lfs_headers = {**auth, "Content-Type": "application/vnd.git-lfs+json", "Accept": "application/vnd.git-lfs+json"}
    st, _, body = http("POST", f"{base}/{repo}.git/info/lfs/objects/batch", json.dumps(batch).encode(), lfs_headers)
    check(st, "LFS batch (upload)", body)
    obj = json.loads(body)["objects"][0]
    upload = obj.get("actions", {}).get("upload")
    if upload:
        st, _, body = http("PUT", upload["href"], lfs_data, {**upload.get("header", {}),
                                                              "Content-Type": "application/octet-stream"}, 120)
        check(st, "LFS PUT", body)
    lines = [{"key": "header", "value": {"summary": "fixture", "description": ""}}]
    lines += [_file(p, d) for p, d in small]
    lines.append({"key": "lfsFile", "value": {"path": lfs_path, "algo": "sha256", "oid": oid, "size": len(lfs_data)}})
    st, _, body = http("POST", f"{base}/api/models/{repo}/commit/main",
                       "\n".join(json.dumps(x) for x in lines).encode() + b"\n",
                       {**auth, "Content-Type": "application/x-ndjson"}, 120)
    check(st, "commit", body)
    wait_indexed(base, repo)
    return len(small) + 1, oid, len(lfs_data)


# ------------------------------------------------------------------ routes
PATHS_INFO = ["config.json", "README.md", "model.safetensors", "tokenizer.json", "generation_config.json",
              "data/part-0007.jsonl", "src/module_03.py", "docs/page_11.md", "docs/img/figure_2.svg", "data"]
EXPAND = ["downloads", "likes", "siblings", "sha", "cardData", "lastModified", "tags"]


def routes(oid, size):
    """(key, label, method, path, body or None, content type of the body, authenticated)."""
    form = "&".join(f"paths={p.replace('/', '%2F')}" for p in PATHS_INFO)
    batch = json.dumps({"operation": "download", "transfers": ["basic"], "objects": [{"oid": oid, "size": size}]})
    return [
        ("info", "`GET /api/models/alice/r`", "GET", f"/api/models/{REPO}", None, None, False),
        ("info_expand", f"`GET /api/models/alice/r?expand[]=…` ({', '.join(EXPAND)})", "GET",
         f"/api/models/{REPO}?" + "&".join(f"expand[]={e}" for e in EXPAND), None, None, False),
        ("revision", "`GET /api/models/alice/r/revision/main`", "GET", f"/api/models/{REPO}/revision/main", None,
         None, False),
        ("tree", "`GET /api/models/alice/r/tree/main`", "GET", f"/api/models/{REPO}/tree/main", None, None, False),
        ("tree_dir", "`GET /api/models/alice/r/tree/main/data` (110 files)", "GET",
         f"/api/models/{REPO}/tree/main/data", None, None, False),
        ("paths_info", f"`POST /api/models/alice/r/paths-info/main` ({len(PATHS_INFO)} paths, form body)", "POST",
         f"/api/models/{REPO}/paths-info/main", form, "application/x-www-form-urlencoded", False),
        ("resolve_head", "`HEAD /alice/r/resolve/main/config.json` (seqload: wrk cannot HEAD)", "HEAD",
         f"/{REPO}/resolve/main/config.json", None, None, False),
        ("resolve_get", "`GET /alice/r/resolve/main/config.json`", "GET", f"/{REPO}/resolve/main/config.json", None,
         None, False),
        ("xet_token", "`GET /api/models/alice/r/xet-read-token/main` (token)", "GET",
         f"/api/models/{REPO}/xet-read-token/main", None, None, True),
        ("lfs_batch", "`POST /alice/r.git/info/lfs/objects/batch` (download, 1 object)", "POST",
         f"/{REPO}.git/info/lfs/objects/batch", batch, "application/vnd.git-lfs+json", False),
        ("whoami", "`GET /api/whoami-v2` (token)", "GET", "/api/whoami-v2", None, None, True),
    ]


class Target:
    """How to load one route on one server: wrk (GET/POST) or seqload (HEAD)."""

    def __init__(self, base, method, path, body, ctype, auth_header, seq_exe):
        self.base, self.method, self.path, self.body = base, method, path, body
        self.headers = []
        if ctype:
            self.headers.append(f"Content-Type: {ctype}")
            if "git-lfs" in ctype:
                self.headers.append(f"Accept: {ctype}")
        if auth_header:
            self.headers.append(auth_header)
        self.seq_exe = seq_exe
        self.reqfile = None
        if method == "HEAD":
            self.reqfile = os.path.join(RUN, f"head-{free_port()}.req")
            write_reqfile(self.reqfile, [(raw_request("HEAD", base, path, self.headers), True, 200)])

    def run(self, secs):
        if self.reqfile:
            return seqload(self.seq_exe, self.base, self.reqfile, secs)
        return wrk(self.base + self.path, secs, self.method, self.body, self.headers)


def capture(base, method, path, body, ctype, auth_header):
    headers = {}
    if ctype:
        headers["Content-Type"] = ctype
        if "git-lfs" in ctype:
            headers["Accept"] = ctype
    if auth_header:
        k, v = auth_header.split(": ", 1)
        headers[k] = v
    # HEAD: the reference serves the GET body; nginx answers HEAD of it with the same length.
    st, hdrs, data = http("GET" if method == "HEAD" else method, base + path,
                          body.encode() if body is not None else None, headers)
    check(st, f"{method} {path}", data)
    return hdrs, data


def measure(pairs, log_prefix=""):
    """pairs: {key: [(side, Target), (side, Target)]}. Warm-up, then WRK_RUNS rounds, sides alternating."""
    res = {key: {side: [] for side, _ in sides} for key, sides in pairs.items()}
    for key, sides in pairs.items():
        for side, target in sides:
            target.run(WARMUP_SECS)
        for rnd in range(WRK_RUNS):
            for side, target in sides:
                r = target.run(WRK_SECS)
                res[key][side].append(r)
                log(f"  {log_prefix}{key} round {rnd + 1} {side}: {r['rps']:.0f} req/s, mean {r['mean_ms']:.2f} ms, "
                    f"p99 {r['p99_ms']:.2f} ms, non-2xx {r['non2xx']}, errors {r['errors']}")
    return res


def _col(runs, k):
    return [r[k] for r in runs]


def _lat(runs):
    return f"{statistics.median(_col(runs, 'mean_ms')):.2f} / {statistics.median(_col(runs, 'p99_ms')):.2f}"


def _bad(runs):
    return f"{sum(_col(runs, 'non2xx'))}/{sum(_col(runs, 'errors'))}"


def part_embedded():
    env = environment()
    seq = build_seqload()
    kura = Kura("embedded")
    kura.setup_user()
    kura.serve()
    log(f"kura on {kura.url}; committing the fixture")
    nfiles, oid, size = fill_repo(kura.url, kura.token)
    auth = f"Authorization: Bearer {kura.token}"
    www = os.path.join(RUN, "www")
    os.makedirs(www)
    rts = routes(oid, size)
    locations, sizes = [], {}
    for key, _label, method, path, body, ctype, authed in rts:
        hdrs, data = capture(kura.url, method, path, body, ctype, auth if authed else None)
        with open(os.path.join(www, key), "wb") as f:
            f.write(data)
        sizes[key] = len(data)
        locations.append((f"/{key}", os.path.join(www, key), hdrs.get("content-type", "application/octet-stream"),
                          copied_headers(hdrs)))
    tree = json.loads(open(os.path.join(www, "tree"), "rb").read())
    siblings = len(json.loads(open(os.path.join(www, "info"), "rb").read()).get("siblings", []))
    nginx, nurl = start_nginx(locations)
    pairs = {}
    for key, _label, method, path, body, ctype, authed in rts:
        pairs[key] = [("kura", Target(kura.url, method, path, body, ctype, auth if authed else None, seq)),
                      ("nginx", Target(nurl, "HEAD" if method == "HEAD" else "GET", f"/{key}", None, None, None, seq))]
    log(f"{len(rts)} routes: {WARMUP_SECS} s warm-up, then {WRK_RUNS} runs of {WRK_SECS} s each, kura and nginx "
        "alternating")
    res = measure(pairs)
    rss = _status_kb(kura.proc.pid, "VmHWM")
    stop(nginx)
    lines = [
        f"Run of {env['date']} — kura commit `{env['commit']}`, binary {env['binary']}; {env['nproc']} CPUs; "
        f"{env['tools']}; load average before: {env['load_before']}, after: {load_now()} (a shared machine: "
        "the ratios, measured side by side in one run, are the figures to compare).",
        "",
        f"Public model repo `alice/r`: {nfiles} files committed ({siblings} siblings with the `.gitattributes` kura "
        f"adds; the root lists {len(tree)} entries), one of them LFS (`model.safetensors`, {size} B, stored as Xet). `wrk -t2 -c32 --latency`, {WARMUP_SECS} s "
        f"warm-up then {WRK_RUNS} runs of {WRK_SECS} s per route and server, alternating; nginx serves the body kura "
        "answered, saved as a static file with kura's content type and its own headers repeated (a `GET` for the POST "
        "routes). Mean and p99 latency: medians over the runs. kura's peak RSS over the run (VmHWM): "
        f"{rss / 1000:.0f} MB.",
        "",
        "| route | body, B | kura req/s min / median | nginx req/s min / median | kura mean / p99, ms "
        "| nginx mean / p99, ms | non-2xx / errors (kura; nginx) | kura ÷ nginx (median; min) | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, *_ in rts:
        k, n = res[key]["kura"], res[key]["nginx"]
        med, mn = ratio(_col(k, "rps"), _col(n, "rps"))
        lines.append(f"| {label} | {sizes[key]} | {fmt(_col(k, 'rps'))} | {fmt(_col(n, 'rps'))} | {_lat(k)} | {_lat(n)} "
                     f"| {_bad(k)}; {_bad(n)} | {med}; {mn} | {verdict(_col(k, 'rps'), _col(n, 'rps'))} |")
    lines += ["", "Runs, req/s — " + "; ".join(
        f"{key}: kura {', '.join(f'{x:.0f}' for x in _col(res[key]['kura'], 'rps'))}, nginx "
        f"{', '.join(f'{x:.0f}' for x in _col(res[key]['nginx'], 'rps'))}" for key, *_ in rts) + "."]
    return "\n".join(lines) + "\n"


def _status_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def part_replicas():
    pg = os.environ.get("KURA_TEST_POSTGRES_URL")
    if not pg:
        sys.exit("KURA_TEST_POSTGRES_URL is not set: run `bench/meta replicas`, which starts PostgreSQL and s3s-fs")
    env = environment()
    seq = build_seqload()
    s3_env = {"KURA_S3_ENDPOINT": os.environ["KURA_TEST_S3_ENDPOINT"], "KURA_S3_REGION": "us-east-1",
              "KURA_S3_ACCESS_KEY_ID": os.environ["KURA_TEST_S3_ACCESS_KEY_ID"],
              "KURA_S3_SECRET_ACCESS_KEY": os.environ["KURA_TEST_S3_SECRET_ACCESS_KEY"]}
    scale_args = ["--database-url", pg, "--storage", f"s3://{os.environ['KURA_TEST_S3_BUCKET']}/meta"]
    emb = Kura("embedded")
    emb.setup_user()
    emb.serve()
    rep = [Kura("replica1", scale_args, s3_env), Kura("replica2", scale_args, s3_env)]
    rep[0].setup_user()
    lb, lb_url = start_nginx(upstreams=[f"127.0.0.1:{r.port}" for r in rep])
    for r in rep:
        r.serve(public_url=lb_url)
    log(f"embedded kura on {emb.url}; two replicas behind nginx on {lb_url}; committing the fixture to both")
    nfiles, oid, size = fill_repo(emb.url, emb.token)
    fill_repo(lb_url, rep[0].token)
    rts = routes(oid, size)
    pairs, sizes = {}, {}
    for key, _label, method, path, body, ctype, authed in rts:
        e_auth = f"Authorization: Bearer {emb.token}" if authed else None
        r_auth = f"Authorization: Bearer {rep[0].token}" if authed else None
        _, data = capture(emb.url, method, path, body, ctype, e_auth)
        _, rdata = capture(lb_url, method, path, body, ctype, r_auth)
        sizes[key] = (len(data), len(rdata))
        pairs[key] = [("embedded", Target(emb.url, method, path, body, ctype, e_auth, seq)),
                      ("replicas", Target(lb_url, method, path, body, ctype, r_auth, seq))]
    log(f"{len(rts)} routes: {WARMUP_SECS} s warm-up, then {WRK_RUNS} runs of {WRK_SECS} s each, embedded and "
        "replicas alternating")
    res = measure(pairs)
    lines = [
        f"Run of {env['date']} — kura commit `{env['commit']}`, binary {env['binary']}; {env['nproc']} CPUs; "
        f"{env['tools']}; load average before: {env['load_before']}, after: {load_now()}.",
        "",
        "Two `kura serve` replicas sharing one PostgreSQL 15 (throwaway cluster, `fsync=off`) and one s3s-fs "
        "bucket (scripts/services.sh), behind nginx round-robin (2 workers, keep-alive to the upstreams, as in "
        "docs/deploy.md), against the embedded default (one process, SQLite + local directory, direct), each with "
        f"the same fixture ({nfiles} files), all on this machine. Same routes and load as above, the two "
        "configurations alternating.",
        "",
        "| route | body, B (embedded; replicas) | embedded req/s min / median | replicas req/s min / median "
        "| embedded mean / p99, ms | replicas mean / p99, ms | non-2xx / errors (embedded; replicas) "
        "| replicas ÷ embedded (median; min) | target |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label, *_ in rts:
        e, r = res[key]["embedded"], res[key]["replicas"]
        med, mn = ratio(_col(r, "rps"), _col(e, "rps"))
        lines.append(f"| {label} | {sizes[key][0]}; {sizes[key][1]} | {fmt(_col(e, 'rps'))} | {fmt(_col(r, 'rps'))} "
                     f"| {_lat(e)} | {_lat(r)} | {_bad(e)}; {_bad(r)} | {med}; {mn} "
                     f"| {verdict(_col(r, 'rps'), _col(e, 'rps'))} |")
    lines += ["", "Runs, req/s — " + "; ".join(
        f"{key}: embedded {', '.join(f'{x:.0f}' for x in _col(res[key]['embedded'], 'rps'))}, replicas "
        f"{', '.join(f'{x:.0f}' for x in _col(res[key]['replicas'], 'rps'))}" for key, *_ in rts) + "."]
    return "\n".join(lines) + "\n"


def main(argv):
    mode = argv[0] if argv else "embedded"
    if mode not in ("embedded", "replicas"):
        sys.exit(__doc__)
    ensure_tools("nginx", "wrk", "curl")
    if shutil.which("cc") is None:
        ensure_tools("gcc")
    ensure_kura()
    setup_run(f"meta-{mode}.")
    try:
        text = part_embedded() if mode == "embedded" else part_replicas()
        print(text, flush=True)
        if mode == "embedded":
            write_section(text, "<!-- bench:meta:begin -->", "<!-- bench:meta:end -->", "### Results: embedded")
        else:
            write_section(text, "<!-- bench:meta-replicas:begin -->", "<!-- bench:meta-replicas:end -->",
                          "### Results: replicas")
    finally:
        cleanup()


if __name__ == "__main__":
    main(sys.argv[1:])
