"""The pull-through mirror (issue 18) with two kura processes: the suite's server is the
upstream hub holding the repos, and a second kura started here with `serve --upstream` answers
for them. The official clients talk to the mirror only (explicit `endpoint=`, or a subprocess
whose HF_ENDPOINT names the mirror) and every download is checked byte for byte.

What is checked: `hf_hub_download` / `snapshot_download` with and without hf_xet (the Xet one
reads from the mirror's own CAS), a 2,500-file tree paged with the mirror's own `Link`, eight
concurrent cold clients causing one upstream fetch (the upstream's response bytes), a gated
upstream repo read with the caller's forwarded upstream token and refused to others even on a
cache hit, an upstream killed mid-stream and then gone (cached files keep downloading, the rest
is a 504; the same after a restart with `--offline`), and transformers / datasets loading
through the mirror.

The mirror (and, for the offline cases, a second upstream of its own) always runs on SQLite and
local files in a directory of its own, whatever the suite's server uses. Their logs are
appended to a failing test's report.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPException
from pathlib import Path
from types import SimpleNamespace

import pytest
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import GatedRepoError
from huggingface_hub.hf_api import RepoFile, RepoFolder
from support import git_blob_sha1, http, random_bytes, read, sha256_bytes, sha256_file, snapshot_files, unique

# Read by the mirror's and the offline upstream's /metrics (their config sets it).
METRICS_TOKEN = f"mirror-metrics-{uuid.uuid4().hex}"
HEALTH_TIMEOUT_S = 60.0
# Upstream response bytes that are not the file: redirects, the /metrics answers themselves.
METADATA_ALLOWANCE = 64 * 1024


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_metrics(text: str) -> dict[str, float]:
    """{metric name: sum over its label sets} of a Prometheus text answer."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_and_labels, _, value = line.rpartition(" ")
        name = name_and_labels.split("{", 1)[0]
        out[name] = out.get(name, 0.0) + float(value)
    return out


def _port(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def get_metrics(base: str, token: str) -> dict[str, float]:
    status, _, body = http("GET", f"{base}/metrics", token=token)
    assert status == 200, f"/metrics of {base}: {status} {body[:300]!r}"
    return parse_metrics(body.decode())


# --------------------------------------------------------------------------------------------
# kura processes of this module
# --------------------------------------------------------------------------------------------

_PROCESSES: list["KuraProcess"] = []


class KuraProcess:
    """A kura of this module: its own data dir (SQLite, local files), port, config and log."""

    def __init__(self, binary: Path, work: Path, name: str):
        self.binary = binary
        self.name = name
        self.work = work
        self.data_dir = work / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = work / "kura.toml"
        self.log_path = work / "kura.log"
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        _PROCESSES.append(self)

    def env(self) -> dict[str, str]:
        # Nothing of the suite server's settings (database, storage, S3) carries over.
        env = {k: v for k, v in os.environ.items() if not k.startswith("KURA_") or k == "KURA_LOG"}
        env.setdefault("KURA_LOG", "info,kura_http=debug,sqlx=warn")
        env["NO_COLOR"] = "1"
        return env

    @property
    def port(self) -> int:
        return _port(self.endpoint)

    def start(self, *args: str, config: str = "") -> "KuraProcess":
        port = _free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.config_path.write_text(f'metrics_token = "{METRICS_TOKEN}"\n{config}')
        cmd = [
            str(self.binary),
            "serve",
            "--config",
            str(self.config_path),
            "--data-dir",
            str(self.data_dir),
            "--listen",
            f"127.0.0.1:{port}",
            "--public-url",
            self.endpoint,
            *args,
        ]
        with open(self.log_path, "ab") as log:
            log.write(f"=== {' '.join(cmd[1:])}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env(), cwd=str(self.work))
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}\n{self.log_since(0)}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not answer /health\n{self.log_since(0)}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def kill(self) -> None:
        """SIGKILL: no goodbye to open connections (works on a stopped process too)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def freeze(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def admin(self, *args: str) -> str:
        cmd = [str(self.binary), *args, "--data-dir", str(self.data_dir)]
        proc = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"{' '.join(cmd)}: {proc.stdout}\n{proc.stderr}"
        return proc.stdout

    def metrics(self) -> dict[str, float]:
        return get_metrics(self.endpoint, METRICS_TOKEN)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int, limit: int = 12000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""
        if len(text) > limit:
            text = f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]
        return text


class _ModuleLogs:
    """A plugin for this module's run: a failing test's report gets the logs of the kura
    processes started here (what they wrote while the test ran)."""

    def __init__(self) -> None:
        self.offsets: dict[str, dict[int, int]] = {}

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item):
        self.offsets[item.nodeid] = {id(p): p.log_size() for p in _PROCESSES}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if not report.failed or getattr(item, "module", None) is None or item.module.__name__ != __name__:
            return
        offsets = self.offsets.get(item.nodeid, {})
        for p in _PROCESSES:
            text = p.log_since(offsets.get(id(p), 0))
            if text:
                report.sections.append((f"{p.name} log ({p.log_path}) during {report.when}", text))


@pytest.fixture(scope="module", autouse=True)
def _module_logs(request):
    plugin = _ModuleLogs()
    request.config.pluginmanager.register(plugin, f"kura-mirror-logs-{id(plugin)}")
    yield
    request.config.pluginmanager.unregister(plugin)


def start_mirror(binary: Path, work: Path, upstream: str, *args: str, ref_ttl: str = '"10m"', name="mirror"):
    mirror = KuraProcess(binary, work, name)
    config = f"[upstream]\nforward_unknown_tokens = true\nref_ttl = {ref_ttl}\n"
    return mirror.start("--upstream", upstream, *args, config=config)


@pytest.fixture(scope="module")
def mirror(hub, tmp_path_factory):
    """A kura mirroring the suite's server; the caller's unknown bearer tokens are forwarded."""
    m = start_mirror(hub.server.binary, tmp_path_factory.mktemp("mirror"), hub.endpoint)
    yield m
    m.stop()


def _hub_bases(hub) -> list[str]:
    """Where to read the suite server's /metrics: each replica behind the balancer, if any."""
    conf = hub.data_dir.parent / "nginx.conf"
    if int(os.environ.get("KURA_COMPAT_REPLICAS", "1")) > 1 and conf.exists():
        ports = re.findall(r"server 127\.0\.0\.1:(\d+);", conf.read_text())
        if ports:
            return [f"http://127.0.0.1:{p}" for p in ports]
    return [hub.endpoint]


@pytest.fixture(scope="module")
def hub_metric(hub):
    """metric name -> its value on the upstream (summed over replicas): an admin's read token."""
    name = unique("mirror-admin")
    hub.admin_cli("user", "create", name, "--admin")
    token = hub.admin_cli("token", "create", name, "--role", "read").strip()
    bases = _hub_bases(hub)

    def value(metric: str) -> float:
        return sum(get_metrics(base, token).get(metric, 0.0) for base in bases)

    return value


def log_lines(text: str, *needles: str) -> list[str]:
    """The request log lines that contain every needle (paths percent-decoded: the mirror
    asks the upstream for `weights%2Ebin`)."""
    lines = (urllib.parse.unquote(line) for line in text.splitlines())
    return [line for line in lines if " request " in f" {line} " and all(n in line for n in needles)]


def upstream_fetches(text: str, repo: str, name: str, xet_hash: str) -> list[str]:
    """The upstream's log lines of a file's downloads: GETs through `resolve`, and the
    mirror's reconstruction requests for its Xet hash (one per GiB: it fetches through the
    upstream's Xet CAS when it can, and through `resolve` otherwise). Only the mirror knows
    the upstream, so no client request can be among them."""
    gets = log_lines(text, "method=GET", f"/{repo}/resolve/", name)
    return gets + log_lines(text, "method=GET", f"/v1/reconstructions/{xet_hash}")


def run_python(script: str, *args: str, endpoint: str, home: Path, xet: bool | None = None, timeout=300):
    """Runs `script` in a fresh interpreter of this venv with HF_ENDPOINT=endpoint and its own
    HF_HOME; Xet on (True), off (False) or as the suite runs (None). Returns its last stdout
    line parsed as JSON. hf_xet gives up on a server error at once (it would retry a 504 for
    minutes): hf_xet reads its settings once per process, so this is only possible here."""
    env = dict(os.environ, HF_ENDPOINT=endpoint, HF_HOME=str(home), HF_XET_CLIENT_RETRY_MAX_ATTEMPTS="1")
    env.pop("HF_TOKEN", None)
    if xet is True:
        env.pop("HF_HUB_DISABLE_XET", None)
    elif xet is False:
        env["HF_HUB_DISABLE_XET"] = "1"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"client exited with {proc.returncode}\n--- stderr ---\n{proc.stderr[-6000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# Downloads one file per step, each into a fresh cache: {"sha256": ...} or {"error": [the
# exception and its causes]}. The client's backoff between retries of 5xx is skipped.
STEPS_CLIENT = """
    import hashlib, json, sys
    from pathlib import Path
    from types import SimpleNamespace
    import huggingface_hub.file_download as client_download
    import huggingface_hub.utils._http as client_http
    from huggingface_hub import hf_hub_download
    from huggingface_hub.utils._runtime import is_xet_available

    client_http.time = client_download.time = SimpleNamespace(sleep=lambda seconds: None)
    repo, cache, steps = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    results = []
    for i, (token, name) in enumerate(steps):
        try:
            path = hf_hub_download(repo, name, token=token or False, cache_dir=cache / str(i))
            results.append({"sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest()})
        except Exception as e:
            chain = []
            while e is not None and len(chain) < 10:
                status = getattr(getattr(e, "response", None), "status_code", None)
                chain.append({"type": type(e).__name__, "status": status, "message": str(e)[:600]})
                e = e.__cause__ or e.__context__
            results.append({"error": chain})
    print(json.dumps({"xet": is_xet_available(), "results": results}))
"""


def run_steps(endpoint: str, repo: str, steps: list, home: Path, *, xet: bool | None = None) -> list[dict]:
    """Runs STEPS_CLIENT: steps are (token or None, filename)."""
    got = run_python(STEPS_CLIENT, repo, str(home / "cache"), json.dumps(steps), endpoint=endpoint, home=home, xet=xet)
    if xet is not None:
        assert got["xet"] is xet
    return got["results"]


def outcome(result: dict, expected: bytes | None = None) -> str:
    """"ok", "wrong bytes", or the name of the exception the client raised."""
    if "sha256" in result:
        return "ok" if expected is None or result["sha256"] == sha256_bytes(expected) else "wrong bytes"
    return result["error"][0]["type"]


def resolve_headers(base: str, repo: str, path: str, token=None) -> dict:
    status, headers, body = http("HEAD", f"{base}/{repo}/resolve/main/{path}", token=token)
    assert status == 200, (status, body)
    return headers


def gitattributes(hub, repo: str) -> bytes:
    status, _, body = http("GET", f"{hub.endpoint}/{repo}/resolve/main/.gitattributes")
    assert status == 200
    return body


# --------------------------------------------------------------------------------------------
# 1. hf_hub_download and snapshot_download, with and without hf_xet
# --------------------------------------------------------------------------------------------

LARGE = 12_000_000  # > 10 MB: LFS (or Xet) upstream

DOWNLOAD_CLIENT = """
    import hashlib, json, sys
    from pathlib import Path
    from huggingface_hub import hf_hub_download, snapshot_download
    from huggingface_hub.utils._runtime import is_xet_available

    def sha(path):
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()

    repo, cache, names = sys.argv[1], Path(sys.argv[2]), json.loads(sys.argv[3])
    # The snapshot first: with hf_xet it takes the Xet path straight from the tree (no HEAD).
    local = Path(snapshot_download(repo, cache_dir=cache / "snapshot"))
    snapshot = {p.relative_to(local).as_posix(): sha(p) for p in local.rglob("*")
                if p.is_file() and not p.relative_to(local).as_posix().startswith(".cache/")}
    single = {name: sha(hf_hub_download(repo, name, cache_dir=cache / "single")) for name in names}
    print(json.dumps({"xet": is_xet_available(), "commit": local.name, "snapshot": snapshot, "single": single}))
"""


@pytest.mark.parametrize("xet", [False, True], ids=["http", "xet"])
def test_hf_hub_download_and_snapshot_download_through_the_mirror(hub, mirror, xet, tmp_path):
    api = hub.alice.api
    repo = f"alice/{unique('mirrored')}"
    api.create_repo(repo)
    files = {
        "config.json": json.dumps({"model_type": "mirror", "xet": xet}).encode(),
        "weights.bin": random_bytes(LARGE, seed=1801 + xet),
    }
    commit = api.create_commit(repo, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="m").oid
    files[".gitattributes"] = gitattributes(hub, repo)
    expected = {name: sha256_bytes(data) for name, data in files.items()}

    hub_log, mirror_log = hub.server.log_size(), mirror.log_size()
    before = mirror.metrics()
    got = run_python(
        DOWNLOAD_CLIENT, repo, str(tmp_path / "cache"), json.dumps(sorted(files)),
        endpoint=mirror.endpoint, home=tmp_path / "home", xet=xet,
    )
    after = mirror.metrics()
    assert got["xet"] is xet, "the client ran with hf_xet as asked"
    assert got["commit"] == commit
    assert got["snapshot"] == expected
    assert got["single"] == expected

    # The bytes came through the mirror: it fetched them upstream once, for both downloads.
    fetched = after["kura_mirror_upstream_bytes_total"] - before["kura_mirror_upstream_bytes_total"]
    total = sum(len(d) for d in files.values())
    assert LARGE <= fetched <= 1.05 * total, f"the mirror fetched {fetched} bytes upstream for {total}"
    assert after["kura_mirror_misses_total"] > before["kura_mirror_misses_total"]
    # What the client saw names the mirror only.
    head = resolve_headers(mirror.endpoint, repo, "weights.bin")
    xet_hash = head.get("X-Xet-Hash")
    assert xet_hash, "the mirror keeps the Xet hash"
    upstream_text = hub.server.log_since(hub_log, limit=10**7)
    fetches = upstream_fetches(upstream_text, repo, "weights.bin", xet_hash)
    assert len(fetches) == 1, f"{len(fetches)} upstream fetches of weights.bin:\n" + "\n".join(fetches)
    mirror_text = mirror.log_since(mirror_log, limit=10**7)
    # hf_xet (1.8) asks for the v2 plan first and falls back to v1 only on a 404 or 501.
    reconstructions = log_lines(mirror_text, f"/cas/v2/reconstructions/{xet_hash}", "status=200")
    plain_gets = log_lines(mirror_text, "method=GET", f"/{repo}/resolve/", "weights.bin")
    if xet:
        assert reconstructions, "hf_xet read no reconstruction from the mirror's CAS"
        assert not plain_gets, "with hf_xet the large file must not travel through resolve"
    else:
        assert not reconstructions
        assert not log_lines(mirror_text, f"/cas/v1/reconstructions/{xet_hash}")
        assert len(plain_gets) == 2, plain_gets
    assert head["X-Repo-Commit"] == commit
    assert head["X-Linked-Size"] == str(LARGE)
    links = head.get("Link", "")
    assert f"<{mirror.endpoint}/api/models/{repo}/xet-read-token/{commit}>" in links, links
    assert hub.endpoint not in links and f":{_port(hub.endpoint)}" not in links, links
    status, token_headers, body = http("GET", f"{mirror.endpoint}/api/models/{repo}/xet-read-token/{commit}")
    assert status == 200, body
    assert token_headers["X-Xet-Cas-Url"] == f"{mirror.endpoint}/cas", token_headers["X-Xet-Cas-Url"]
    assert json.loads(body)["casUrl"] == f"{mirror.endpoint}/cas"


# --------------------------------------------------------------------------------------------
# 2. a 2,500-file tree, paged with the mirror's own Link
# --------------------------------------------------------------------------------------------

TREE_FILES = 2500


def test_a_2500_file_tree_pages_through_the_mirror(hub, mirror):
    api = hub.alice.api
    repo = f"alice/{unique('big-tree')}"
    api.create_repo(repo)
    files = {f"d{i % 5}/f{i:04d}.txt": f"{i}\n".encode() for i in range(TREE_FILES)}
    api.create_commit(repo, [CommitOperationAdd(p, d) for p, d in files.items()], commit_message="many files")

    through = HfApi(endpoint=mirror.endpoint, token=False)
    entries = list(through.list_repo_tree(repo, recursive=True))
    listed = {e.path: (e.size, e.blob_id) for e in entries if isinstance(e, RepoFile)}
    listed.pop(".gitattributes", None)
    assert len(listed) == TREE_FILES
    assert listed == {p: (len(d), git_blob_sha1(d)) for p, d in files.items()}
    assert sorted(e.path for e in entries if isinstance(e, RepoFolder)) == [f"d{i}" for i in range(5)]
    upstream = [e.path for e in hub.anon.list_repo_tree(repo, recursive=True)]
    assert [e.path for e in entries] == upstream, "same entries in the same order as upstream"

    # Page by page: every Link names the mirror, never the upstream.
    url = f"{mirror.endpoint}/api/models/{repo}/tree/main?recursive=True"
    paths, links = [], []
    while url:
        status, headers, body = http("GET", url)
        assert status == 200, (url, body[:300])
        paths += [e["path"] for e in json.loads(body)]
        link = headers.get("Link")
        url = None
        if link:
            links.append(link)
            m = re.search(r'<([^>]+)>;\s*rel="next"', link)
            assert m, link
            url = m.group(1)
            assert url.startswith(f"{mirror.endpoint}/api/models/{repo}/tree/main"), link
            assert hub.endpoint not in link and f":{_port(hub.endpoint)}" not in link, link
        assert len(links) < 20, "pagination does not end"
    assert len(links) >= 2, f"{len(paths)} entries came in {len(links) + 1} page(s)"
    assert paths == upstream

    # A sub-directory and paths-info agree with the upstream too.
    sub = [e.path for e in through.list_repo_tree(repo, path_in_repo="d3")]
    assert sub == [p for p in upstream if p.startswith("d3/")]
    asked = ["d1/f0001.txt", "d2", "d4/f2499.txt", "missing.txt"]
    got = {e.path: type(e).__name__ for e in through.get_paths_info(repo, asked)}
    assert got == {"d1/f0001.txt": "RepoFile", "d2": "RepoFolder", "d4/f2499.txt": "RepoFile"}


# --------------------------------------------------------------------------------------------
# 3. eight concurrent cold clients, one upstream fetch
# --------------------------------------------------------------------------------------------

CONCURRENT_SIZE = 20_000_000
CLIENTS = 8


def test_concurrent_cold_clients_cause_one_upstream_fetch(hub, mirror, hub_metric, tmp_path):
    data = random_bytes(CONCURRENT_SIZE, seed=1803)
    digest = sha256_bytes(data)
    repo = f"alice/{unique('coalesced')}"
    hub.alice.api.create_repo(repo)
    hub.alice.api.upload_file(path_or_fileobj=data, path_in_repo="weights.bin", repo_id=repo)
    # Warm the metadata (ref, repo info, the file's entry): only the bytes are left to fetch.
    head = resolve_headers(mirror.endpoint, repo, "weights.bin")
    assert head["X-Linked-Size"] == str(CONCURRENT_SIZE)

    hub_log = hub.server.log_size()
    sent_before = hub_metric("kura_http_response_bytes_total")
    before = mirror.metrics()
    start = threading.Barrier(CLIENTS)

    def raw_get(_: int) -> str:
        start.wait(timeout=60)
        h, n = hashlib.sha256(), 0
        with urllib.request.urlopen(f"{mirror.endpoint}/{repo}/resolve/main/weights.bin", timeout=120) as resp:
            assert resp.status == 200
            while chunk := resp.read(1 << 20):
                h.update(chunk)
                n += len(chunk)
        assert n == CONCURRENT_SIZE, n
        return h.hexdigest()

    def client(i: int) -> str:
        start.wait(timeout=60)
        path = hf_hub_download(
            repo, "weights.bin", endpoint=mirror.endpoint, token=False, cache_dir=tmp_path / f"client-{i}"
        )
        return sha256_file(path)

    with ThreadPoolExecutor(CLIENTS) as pool:
        futures = [pool.submit(raw_get if i % 2 else client, i) for i in range(CLIENTS)]
        digests = [f.result(timeout=300) for f in futures]
    assert digests == [digest] * CLIENTS, "every client got the whole file, byte-exact"

    sent = hub_metric("kura_http_response_bytes_total") - sent_before
    after = mirror.metrics()
    fetched = after["kura_mirror_upstream_bytes_total"] - before["kura_mirror_upstream_bytes_total"]
    gets = upstream_fetches(hub.server.log_since(hub_log, limit=10**7), repo, "weights.bin", head["X-Xet-Hash"])
    assert len(gets) == 1, "one upstream fetch:\n" + "\n".join(gets)
    # What the upstream kura sent: the file once at most. (Through its Xet CAS, the xorb ranges
    # may come straight from the upstream's object store, by presigned URLs, as with S3, and
    # then not through the upstream's HTTP at all; what the mirror received is the file once.)
    assert sent <= 1.05 * CONCURRENT_SIZE + METADATA_ALLOWANCE, (
        f"the upstream sent {sent} bytes for {CLIENTS} clients of a {CONCURRENT_SIZE}-byte file"
    )
    assert CONCURRENT_SIZE <= fetched <= 1.05 * CONCURRENT_SIZE, fetched
    assert after["kura_mirror_coalesced_waits_total"] > before["kura_mirror_coalesced_waits_total"]
    # A later client is a hit and costs the upstream nothing.
    sent_before = hub_metric("kura_http_response_bytes_total")
    late = hf_hub_download(repo, "weights.bin", endpoint=mirror.endpoint, token=False, cache_dir=tmp_path / "late")
    assert sha256_file(late) == digest
    assert hub_metric("kura_http_response_bytes_total") - sent_before < METADATA_ALLOWANCE


VERSION_SIZE = 8_000_000


def test_a_new_version_through_the_mirror_costs_only_its_new_chunks(hub, mirror, tmp_path):
    """The mirror fetches through the upstream's Xet reconstruction: the chunks a second
    version shares with the first (which the mirror holds) are rebuilt locally."""
    api, repo = hub.alice.api, f"alice/{unique('versions')}"
    api.create_repo(repo)
    v1 = random_bytes(VERSION_SIZE, seed=1810)
    v2 = v1[:4_000_000] + random_bytes(50_000, seed=1811) + v1[4_050_000:]
    first = api.upload_file(path_or_fileobj=v1, path_in_repo="w.bin", repo_id=repo).oid
    path = hf_hub_download(repo, "w.bin", revision=first, endpoint=mirror.endpoint, token=False, cache_dir=tmp_path / "1")
    assert sha256_file(path) == sha256_bytes(v1)
    second = api.upload_file(path_or_fileobj=v2, path_in_repo="w.bin", repo_id=repo).oid

    before = mirror.metrics()
    path = hf_hub_download(repo, "w.bin", revision=second, endpoint=mirror.endpoint, token=False, cache_dir=tmp_path / "2")
    after = mirror.metrics()
    assert sha256_file(path) == sha256_bytes(v2), "the rebuilt version is byte-exact"
    fetched = after["kura_mirror_upstream_bytes_total"] - before["kura_mirror_upstream_bytes_total"]
    reused = after["kura_mirror_reused_bytes_total"] - before["kura_mirror_reused_bytes_total"]
    assert fetched < VERSION_SIZE / 4, f"version 2 cost {fetched} bytes upstream"
    assert reused > VERSION_SIZE / 2, f"only {reused} bytes of version 2 were rebuilt from version 1"


# --------------------------------------------------------------------------------------------
# 4. a gated upstream repo
# --------------------------------------------------------------------------------------------

GATED_WEIGHTS = random_bytes(300_000, seed=1804)  # binary: LFS or Xet upstream
GATED_CONFIG = b'{"gated": 1}'
GATED = GatedRepoError.__name__  # what the client raises, as STEPS_CLIENT reports it


@pytest.mark.parametrize("xet", [False, True], ids=["http", "xet"])
def test_gated_upstream_repo_needs_the_callers_own_upstream_access(hub, mirror, xet, tmp_path):
    """The callers' tokens are upstream tokens the mirror does not know: it forwards them
    (forward_unknown_tokens) and asks the upstream whether each caller may read the repo."""
    alice, bob = hub.alice, hub.bob
    repo = f"alice/{unique('gated')}"
    alice.api.create_repo(repo)
    alice.api.create_commit(
        repo,
        [CommitOperationAdd("weights.bin", GATED_WEIGHTS), CommitOperationAdd("config.json", GATED_CONFIG)],
        commit_message="gated model",
    )
    alice.api.update_repo_settings(repo, gated="auto")
    data = {"weights.bin": GATED_WEIGHTS, "config.json": GATED_CONFIG}
    # Cold (the mirror holds nothing of the repo), the owner, then warm (a cache hit).
    steps = [
        ("anonymous, cold", None, "weights.bin", GATED),
        ("bob, cold", bob.read_token, "weights.bin", GATED),
        ("alice, cold", alice.read_token, "weights.bin", "ok"),
        ("alice, small file", alice.read_token, "config.json", "ok"),
        ("bob, cache hit", bob.read_token, "weights.bin", GATED),
        ("bob, small file", bob.read_token, "config.json", GATED),
        ("anonymous, cache hit", None, "weights.bin", GATED),
    ]
    results = run_steps(mirror.endpoint, repo, [(t, n) for _, t, n, _ in steps], tmp_path / "before", xet=xet)
    got = {label: outcome(r, data[n]) for (label, _, n, _), r in zip(steps, results)}
    assert got == {label: want for label, _, _, want in steps}, json.dumps(results, indent=1)[:6000]

    # On the wire: neither the bytes nor a CAS token for who may not read the repo upstream.
    for token in (bob.read_token, None):
        status, headers, body = http("GET", f"{mirror.endpoint}/{repo}/resolve/main/weights.bin", token=token)
        assert status in (401, 403), status
        assert headers.get("X-Error-Code") == "GatedRepo", dict(headers)
        assert GATED_WEIGHTS[:4096] not in body
        status, headers, _ = http("GET", f"{mirror.endpoint}/api/models/{repo}/xet-read-token/main", token=token)
        assert status in (401, 403) and "X-Xet-Access-Token" not in headers, status

    # bob asks upstream (auto gating accepts at once) and then reads through the mirror.
    status, _, answer = http(
        "POST",
        f"{hub.endpoint}/api/models/{repo}/ask-access",
        token=bob.read_token,
        headers={"Content-Type": "application/json"},
        data=b"{}",
    )
    assert status == 200 and json.loads(answer)["status"] == "accepted", answer
    steps = [("bob, granted", bob.read_token, "weights.bin", "ok"), ("anonymous", None, "weights.bin", GATED)]
    results = run_steps(mirror.endpoint, repo, [(t, n) for _, t, n, _ in steps], tmp_path / "after", xet=xet)
    got = {label: outcome(r, data[n]) for (label, _, n, _), r in zip(steps, results)}
    assert got == {label: want for label, _, _, want in steps}, json.dumps(results, indent=1)[:6000]


# --------------------------------------------------------------------------------------------
# 5. the upstream killed mid-stream, then gone; then --offline
# --------------------------------------------------------------------------------------------

@functools.cache
def dying_files() -> dict[str, bytes]:
    return {
        "config.json": b'{"dying": true}',
        "a.bin": random_bytes(3_000_000, seed=1805),
        "b.bin": random_bytes(64_000_000, seed=1806),  # being fetched when the upstream dies
        "c.bin": random_bytes(2_000_000, seed=1807),  # its metadata seen (HEAD), never its bytes
        "d.bin": random_bytes(1_000_000, seed=1808),  # never asked for
    }


FETCHED = ["config.json", "a.bin"]
# Files the mirror never had whole when the upstream died, and why.
UNFETCHED = {"interrupted": "b.bin", "head-only": "c.bin", "never-asked": "d.bin"}


@pytest.fixture(scope="module")
def dying(hub, tmp_path_factory):
    """An upstream kura of its own (the session's must live on) with a mirror in front of it
    (ref_ttl 0: every call asks the upstream for the branch). `config.json` and `a.bin` are
    downloaded through the mirror; then the upstream is frozen while it sends `b.bin` to the
    mirror and killed."""
    work = tmp_path_factory.mktemp("dying")
    upstream = KuraProcess(hub.server.binary, work / "upstream", "dying upstream").start()
    mirror_ = None
    try:
        upstream.admin("user", "create", "carol")
        token = upstream.admin("token", "create", "carol", "--role", "write").strip()
        api = HfApi(endpoint=upstream.endpoint, token=token)
        repo = f"carol/{unique('dying')}"
        api.create_repo(repo)
        commit = api.create_commit(
            repo, [CommitOperationAdd(p, d) for p, d in dying_files().items()], commit_message="files"
        ).oid
        mirror_ = start_mirror(hub.server.binary, work / "mirror", upstream.endpoint, ref_ttl="0", name="dying mirror")

        # Online: fetched through the mirror (and the tree, by snapshot_download).
        for name in FETCHED:
            path = hf_hub_download(repo, name, endpoint=mirror_.endpoint, token=False, cache_dir=work / "online")
            assert read(path) == dying_files()[name]
        snap = snapshot_download(
            repo, endpoint=mirror_.endpoint, token=False, allow_patterns=FETCHED, cache_dir=work / "online-snap"
        )
        assert snapshot_files(snap) == {n: sha256_bytes(dying_files()[n]) for n in FETCHED}
        assert resolve_headers(mirror_.endpoint, repo, "c.bin")["X-Linked-Size"] == str(len(dying_files()["c.bin"]))

        # b.bin: the client has its first bytes, the upstream freezes, then dies.
        size = len(dying_files()["b.bin"])
        before = mirror_.metrics()["kura_mirror_upstream_bytes_total"]
        response = urllib.request.urlopen(f"{mirror_.endpoint}/{repo}/resolve/main/b.bin", timeout=120)
        status, declared = response.status, response.headers.get("Content-Length")
        received = response.read(64 * 1024)
        upstream.freeze()
        time.sleep(0.3)
        mirror_had = mirror_.metrics()["kura_mirror_upstream_bytes_total"] - before
        upstream.kill()
        error = None
        try:
            while chunk := response.read(1 << 20):
                received += chunk
        except (HTTPException, OSError) as e:
            error = e
        response.close()
        yield SimpleNamespace(
            upstream=upstream,
            mirror=mirror_,
            repo=repo,
            commit=commit,
            work=work,
            b_status=status,
            b_declared=declared,
            b_received=received,
            b_error=error,
            b_mirror_had=mirror_had,
            mid_stream=mirror_had < size,
        )
    finally:
        upstream.kill()
        upstream.stop()
        if mirror_ is not None:
            mirror_.stop()


def test_upstream_killed_mid_stream(dying):
    b = dying_files()["b.bin"]
    assert dying.upstream.proc.poll() is not None, "the upstream is dead"
    assert dying.b_status == 200
    assert dying.mid_stream, f"the mirror had all {dying.b_mirror_had} bytes before the upstream froze"
    got = dying.b_received
    # The client sees the break: fewer bytes than the Content-Length it was promised (a reset,
    # or an early end that http.client's read(n) reports as b"").
    assert dying.b_declared == str(len(b)), dying.b_declared
    assert len(got) < len(b), f"a download cut off upstream must not look complete ({dying.b_error!r})"
    assert got == b[: len(got)], "what did arrive is byte-exact"


def test_cached_files_download_after_the_upstream_died(dying, tmp_path):
    m, repo = dying.mirror, dying.repo
    for name in FETCHED:
        path = hf_hub_download(repo, name, endpoint=m.endpoint, token=False, cache_dir=tmp_path / "fresh")
        assert read(path) == dying_files()[name], name
        assert f"/snapshots/{dying.commit}/" in str(path), "main resolves to the last commit seen"
    snap = snapshot_download(repo, endpoint=m.endpoint, token=False, allow_patterns=FETCHED, cache_dir=tmp_path / "s")
    assert Path(snap).name == dying.commit
    assert snapshot_files(snap) == {n: sha256_bytes(dying_files()[n]) for n in FETCHED}
    # (At `main`, the ref seen online. The default branch without a revision, GET
    # /api/models/{id}, was never asked online and is a 504 now: kura keeps it apart from main.)
    info = HfApi(endpoint=m.endpoint, token=False).model_info(dying.repo, revision="main")
    assert info.sha == dying.commit


def _assert_unavailable(dying, name: str) -> None:
    """GET of a file the mirror does not hold: a 504 that says why (and not where from)."""
    m = dying.mirror
    try:
        status, headers, body = http("GET", f"{m.endpoint}/{dying.repo}/resolve/main/{name}")
    except HTTPException as e:
        pytest.fail(f"GET {name}: the mirror answered with a status line and then broke off ({e!r})")
    assert status == 504, f"GET {name}: {status} {headers.get('X-Error-Code')} ({len(body)} bytes)"
    assert headers.get("X-Error-Code") == "UpstreamUnavailable", dict(headers)
    assert headers.get("X-Repo-Commit") in (None, dying.commit)
    assert dying.upstream.endpoint.encode() not in body and f":{dying.upstream.port}".encode() not in body, body


def _assert_client_raises(dying, name: str, tmp_path) -> None:
    """hf_hub_download raises, naming the 504: wrapped in LocalEntryNotFoundError when the HEAD
    failed, as HfHubHTTPError from the download, hf_xet's error from the CAS."""
    [result] = run_steps(dying.mirror.endpoint, dying.repo, [(None, name)], tmp_path / f"client-{name}")
    assert "error" in result, f"{name} downloaded"
    chain = result["error"]
    assert any(e["status"] == 504 or "504" in e["message"] or "UpstreamUnavailable" in e["message"] for e in chain), (
        json.dumps(chain, indent=1)
    )


@pytest.mark.parametrize("why", list(UNFETCHED))
def test_unfetched_files_are_a_clear_504_once_the_upstream_is_gone(dying, why, tmp_path):
    name = UNFETCHED[why]
    if why == "interrupted" and not dying.mid_stream:
        pytest.skip("b.bin was whole in the mirror before the upstream froze")
    _assert_unavailable(dying, name)
    _assert_client_raises(dying, name, tmp_path)


def test_a_mirror_restarted_offline_serves_what_it_cached(dying, tmp_path):
    m = dying.mirror
    m.stop()
    m.start("--upstream", dying.upstream.endpoint, "--offline", config="[upstream]\nref_ttl = 0\n")
    for name in FETCHED:
        path = hf_hub_download(dying.repo, name, endpoint=m.endpoint, token=False, cache_dir=tmp_path / "offline")
        assert read(path) == dying_files()[name], name
    snap = snapshot_download(
        dying.repo, endpoint=m.endpoint, token=False, allow_patterns=FETCHED, cache_dir=tmp_path / "offline-snap"
    )
    assert snapshot_files(snap) == {n: sha256_bytes(dying_files()[n]) for n in FETCHED}
    for why, name in UNFETCHED.items():
        if why != "interrupted" or dying.mid_stream:
            _assert_unavailable(dying, name)
    _assert_client_raises(dying, "c.bin", tmp_path)


# --------------------------------------------------------------------------------------------
# 6. transformers and datasets through the mirror
# --------------------------------------------------------------------------------------------

TRANSFORMERS_CLIENT = """
    import json, sys
    from transformers import AutoConfig, AutoTokenizer
    repo, sha = sys.argv[1], sys.argv[2]
    config = AutoConfig.from_pretrained(repo)
    tok = AutoTokenizer.from_pretrained(repo)
    pinned = AutoConfig.from_pretrained(repo, revision=sha)
    print(json.dumps({
        "config": type(config).__name__,
        "hidden_size": config.hidden_size,
        "pinned": pinned.intermediate_size,
        "ids": tok.convert_tokens_to_ids(["hello", "kura", "world"]),
        "decoded": tok.decode([5, 6, 7]),
        "unk": tok("hello unknownword")["input_ids"].count(1),
    }))
"""

DATASETS_CLIENT = """
    import json, sys
    import datasets
    csv_repo, jsonl_repo = sys.argv[1], sys.argv[2]
    loaded = datasets.load_dataset(csv_repo)
    jsonl = datasets.load_dataset(jsonl_repo, split="train")
    stream = datasets.load_dataset(jsonl_repo, split="train", streaming=True)
    print(json.dumps({
        "splits": sorted(loaded),
        "rows": {split: loaded[split].num_rows for split in loaded},
        "train3": loaded["train"][3],
        "test9": loaded["test"][9],
        "jsonl": jsonl.to_list(),
        "stream": list(stream),
    }))
"""


def test_transformers_loads_through_the_mirror(hub, mirror, tmp_path):
    from test_libraries import VOCAB, _tiny_model_folder

    repo = f"alice/{unique('tiny-bert')}"
    hub.alice.api.create_repo(repo)
    hub.alice.api.upload_folder(folder_path=_tiny_model_folder(tmp_path / "tiny"), repo_id=repo)
    sha = hub.anon.model_info(repo).sha
    mirror_log = mirror.log_size()
    got = run_python(TRANSFORMERS_CLIENT, repo, sha, endpoint=mirror.endpoint, home=tmp_path / "home")
    assert got == {
        "config": "BertConfig",
        "hidden_size": 8,
        "pinned": 16,
        "ids": [VOCAB["hello"], VOCAB["kura"], VOCAB["world"]],
        "decoded": "hello kura world",
        "unk": 1,
    }
    served = log_lines(mirror.log_since(mirror_log, limit=10**7), f"/{repo}/resolve/", "status=200")
    assert any("tokenizer.json" in line for line in served), "the tokenizer came from the mirror"


def test_datasets_loads_through_the_mirror(hub, mirror, tmp_path):
    api = hub.alice.api
    csv_repo = f"alice/{unique('csv')}"
    api.create_repo(csv_repo, repo_type="dataset")
    train = "text,label\n" + "".join(f"row {i},{i % 2}\n" for i in range(50))
    test = "text,label\n" + "".join(f"test {i},{i % 3}\n" for i in range(10))
    api.create_commit(
        csv_repo,
        [
            CommitOperationAdd("data/train.csv", train.encode()),
            CommitOperationAdd("data/test.csv", test.encode()),
            CommitOperationAdd("README.md", b"---\nlicense: mit\n---\n# csv dataset\n"),
        ],
        commit_message="data",
        repo_type="dataset",
    )
    jsonl_repo = f"alice/{unique('jsonl')}"
    api.create_repo(jsonl_repo, repo_type="dataset")
    rows = [{"id": i, "text": f"line {i}", "tags": [f"t{i % 3}"]} for i in range(30)]
    api.upload_file(
        path_or_fileobj="".join(json.dumps(r) + "\n" for r in rows).encode(),
        path_in_repo="train.jsonl",
        repo_id=jsonl_repo,
        repo_type="dataset",
    )
    mirror_log = mirror.log_size()
    got = run_python(DATASETS_CLIENT, csv_repo, jsonl_repo, endpoint=mirror.endpoint, home=tmp_path / "home")
    assert got["splits"] == ["test", "train"]
    assert got["rows"] == {"train": 50, "test": 10}
    assert got["train3"] == {"text": "row 3", "label": 1}
    assert got["test9"] == {"text": "test 9", "label": 0}
    assert got["jsonl"] == rows
    assert got["stream"] == rows
    served = mirror.log_since(mirror_log, limit=10**7)
    assert log_lines(served, f"/datasets/{csv_repo}/resolve/", "train.csv", "status=20"), "the CSV came from the mirror"
    assert log_lines(served, f"/datasets/{jsonl_repo}/resolve/", "train.jsonl", "status=20")
