"""Compatibility suite: the real `kura` binary driven by the official Hugging Face clients.

Everything that `huggingface_hub`, `transformers` and `datasets` read at import time is set
here, at module import, before any test module imports them: pytest imports this conftest
first. The `hub` session fixture starts the server on a fresh data directory, creates the
users, organization and tokens the tests use, and stops the server at the end.

Environment knobs:
  KURA_BIN    path to the kura executable (default: <repo>/target/release/kura)
  KURA_LOG    log filter handed to the server (default: info,kura_http=debug,sqlx=warn)
  KURA_COMPAT_KEEP=1  keep the temporary directory (data dir, HF_HOME, server log)
  KURA_COMPAT_XET=1   leave Xet enabled (large files then travel through Xet, not Git LFS)
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from support import MULTIPART_PART_BYTES, MULTIPART_THRESHOLD_BYTES, XET, unique

COMPAT_DIR = Path(__file__).resolve().parent
REPO_ROOT = COMPAT_DIR.parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


if "huggingface_hub" in sys.modules:  # pragma: no cover - guards the import-order contract
    raise RuntimeError("huggingface_hub was imported before compat/conftest.py could set HF_ENDPOINT")

PORT = _free_port()
ENDPOINT = f"http://127.0.0.1:{PORT}"
TMP_ROOT = Path(tempfile.mkdtemp(prefix="kura-compat-"))
HF_HOME = TMP_ROOT / "hf-home"
HF_HOME.mkdir()

os.environ.update(
    {
        "HF_ENDPOINT": ENDPOINT,
        "HF_HOME": str(HF_HOME),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
        "DISABLE_SAFETENSORS_CONVERSION": "1",
        "DO_NOT_TRACK": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
)
if XET:
    os.environ.pop("HF_HUB_DISABLE_XET", None)
else:
    os.environ["HF_HUB_DISABLE_XET"] = "1"
# Nothing from the caller's environment may leak a token, a cache or offline mode into the run.
for _var in (
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HF_TOKEN_PATH",
    "HF_HUB_CACHE",
    "HUGGINGFACE_HUB_CACHE",
    "HF_DATASETS_CACHE",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_DATASETS_OFFLINE",
    "HUGGINGFACE_CO_STAGING",
):
    os.environ.pop(_var, None)

import huggingface_hub  # noqa: E402  (must come after the environment is set)
from huggingface_hub import HfApi  # noqa: E402

assert huggingface_hub.constants.ENDPOINT == ENDPOINT, "HF_ENDPOINT was read before conftest set it"
assert huggingface_hub.constants.HF_HUB_DISABLE_XET != XET, "HF_HUB_DISABLE_XET was read before conftest set it"

HEALTH_TIMEOUT_S = 60.0


# --------------------------------------------------------------------------------------------
# the server
# --------------------------------------------------------------------------------------------


@dataclass
class User:
    name: str
    write_token: str
    read_token: str
    api: HfApi = field(repr=False)  # authenticated with the write token
    read_api: HfApi = field(repr=False)  # authenticated with the read token


@dataclass
class Hub:
    endpoint: str
    data_dir: Path
    log_path: Path
    alice: User
    bob: User
    org: str  # owned by alice; bob is not a member
    anon: HfApi = field(repr=False)
    server: "KuraServer" = field(repr=False)

    def admin_cli(self, *args: str) -> str:
        """Run `kura ARGS... --data-dir DIR` next to the running server; returns stdout."""
        return self.server.admin(*args)


class KuraServer:
    def __init__(self, binary: Path, workdir: Path):
        self.binary = binary
        self.data_dir = workdir / "data"
        self.config_path = workdir / "kura.toml"
        self.log_path = workdir / "kura.log"
        self.proc: subprocess.Popen | None = None
        self._log_file = None
        # KURA_COMPAT_REPLICAS=N (N > 1): N replicas sharing KURA_DATABASE_URL and KURA_STORAGE,
        # behind an nginx round-robin load balancer on ENDPOINT.
        self.extra: list[subprocess.Popen] = []

    def admin(self, *args: str) -> str:
        """Run an admin subcommand on the server's data dir and return its stdout."""
        cmd = [str(self.binary), *args, "--data-dir", str(self.data_dir)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(
                f"{' '.join(cmd)} exited with {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
            )
        return proc.stdout

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            f'data_dir = "{self.data_dir}"\n'
            f'listen = "127.0.0.1:{PORT}"\n'
            f'public_url = "{ENDPOINT}"\n'
            "\n[lfs]\n"
            f"multipart_threshold_bytes = {MULTIPART_THRESHOLD_BYTES}\n"
            f"multipart_part_bytes = {MULTIPART_PART_BYTES}\n"
        )
        env = dict(os.environ)
        env.setdefault("KURA_LOG", "info,kura_http=debug,sqlx=warn")
        env["NO_COLOR"] = "1"
        self._log_file = open(self.log_path, "wb")
        replicas = int(os.environ.get("KURA_COMPAT_REPLICAS", "1"))
        ports = [PORT] if replicas == 1 else [_free_port() for _ in range(replicas)]
        processes = []
        for port in ports:
            processes.append(
                subprocess.Popen(
                    [
                        str(self.binary),
                        "serve",
                        "--config",
                        str(self.config_path),
                        "--data-dir",
                        str(self.data_dir),
                        "--listen",
                        f"127.0.0.1:{port}",
                        "--public-url",
                        ENDPOINT,
                    ],
                    stdout=self._log_file,
                    stderr=subprocess.STDOUT,
                    env=env,
                    cwd=str(self.data_dir.parent),
                )
            )
        self.proc, self.extra = processes[0], processes[1:]
        if replicas > 1:
            for port in ports:
                self._wait_healthy(f"http://127.0.0.1:{port}")
            self.extra.append(self._start_balancer(ports))
        self._wait_healthy(ENDPOINT)

    def _start_balancer(self, ports: list[int]) -> subprocess.Popen:
        work = self.data_dir.parent
        servers = " ".join(f"server 127.0.0.1:{p};" for p in ports)
        conf = work / "nginx.conf"
        conf.write_text(
            f"daemon off; worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n"
            f"  upstream kura {{ {servers} keepalive 16; }}\n"
            f"  server {{\n    listen 127.0.0.1:{PORT};\n"
            "    client_max_body_size 0; proxy_request_buffering off; proxy_buffering off;\n"
            "    proxy_http_version 1.1; proxy_read_timeout 600s; proxy_send_timeout 600s;\n"
            "    location / { proxy_pass http://kura; proxy_set_header Host $http_host; proxy_set_header Connection \"\"; }\n"
            "  }\n}\n"
        )
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        return subprocess.Popen([nginx, "-c", str(conf), "-p", str(work)], stderr=subprocess.DEVNULL)

    def _wait_healthy(self, base: str) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_S
        last_error = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"kura exited with {self.proc.returncode} before answering /health\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last_error = f"status {resp.status}"
            except (urllib.error.URLError, ConnectionError, OSError) as e:
                last_error = repr(e)
            time.sleep(0.1)
        raise RuntimeError(f"kura did not answer /health within {HEALTH_TIMEOUT_S}s ({last_error})\n{self.log_tail()}")

    def stop(self) -> None:
        for extra in self.extra:
            if extra.poll() is None:
                extra.terminate()
                try:
                    extra.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    extra.kill()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int, limit: int = 12000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return ""
        text = data.decode("utf-8", "replace")
        if len(text) > limit:
            text = f"[... {len(text) - limit} characters cut ...]\n" + text[-limit:]
        return text

    def log_tail(self, limit: int = 20000) -> str:
        return "--- kura log ---\n" + self.log_since(0, limit)


_SERVER: KuraServer | None = None


def _binary() -> Path:
    raw = os.environ.get("KURA_BIN")
    path = Path(raw) if raw else REPO_ROOT / "target" / "release" / "kura"
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


@pytest.fixture(scope="session")
def hub(request) -> Hub:
    global _SERVER
    binary = _binary()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(
            f"kura binary not found at {binary}: build it with `cargo build --release -p kura` or set KURA_BIN",
            pytrace=False,
        )
    server = KuraServer(binary, TMP_ROOT)
    _SERVER = server
    try:
        server.start()
        # The admin CLI must work on the data dir while the server runs.
        server.admin("user", "create", "alice")
        server.admin("user", "create", "bob")
        server.admin("org", "create", "acme", "--owner", "alice")
        users = {}
        for name in ("alice", "bob"):
            write = server.admin("token", "create", name, "--role", "write").strip()
            read = server.admin("token", "create", name, "--role", "read").strip()
            for tok in (write, read):
                assert tok.startswith("hf_") and len(tok.split()) == 1, f"unexpected token output: {tok!r}"
            users[name] = User(
                name=name,
                write_token=write,
                read_token=read,
                api=HfApi(endpoint=ENDPOINT, token=write),
                read_api=HfApi(endpoint=ENDPOINT, token=read),
            )
    except Exception:
        server.stop()
        sys.stderr.write(server.log_tail() + "\n")
        raise

    yield Hub(
        endpoint=ENDPOINT,
        data_dir=server.data_dir,
        log_path=server.log_path,
        alice=users["alice"],
        bob=users["bob"],
        org="acme",
        anon=HfApi(endpoint=ENDPOINT, token=False),
        server=server,
    )

    server.stop()
    if request.session.testsfailed:
        sys.stderr.write(f"\n{request.session.testsfailed} test(s) failed; server log: {server.log_path}\n")
        sys.stderr.write(server.log_tail(4000) + "\n")


@pytest.fixture(scope="session")
def alice(hub: Hub) -> User:
    return hub.alice


@pytest.fixture(scope="session")
def bob(hub: Hub) -> User:
    return hub.bob


@pytest.fixture
def api(alice: User) -> HfApi:
    """alice's client, authenticated with her write token."""
    return alice.api


@pytest.fixture
def repo_id(alice: User) -> str:
    """A fresh public model repo owned by alice."""
    rid = f"alice/{unique('repo')}"
    alice.api.create_repo(rid)
    return rid


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    """A fresh download cache, so a download really goes to the server."""
    d = tmp_path / "hf-cache"
    d.mkdir()
    return d


@pytest.fixture(autouse=True)
def _server_log_offset(request):
    """Remember where the server log was when the test started (see the report hook below)."""
    request.node._kura_log_offset = _SERVER.log_size() if _SERVER is not None else 0
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and _SERVER is not None:
        offset = getattr(item, "_kura_log_offset", 0)
        report.sections.append((f"kura server log during {report.when}", _SERVER.log_since(offset)))


def pytest_sessionfinish(session, exitstatus):
    if _SERVER is not None:
        _SERVER.stop()
    if os.environ.get("KURA_COMPAT_KEEP") == "1":
        sys.stderr.write(f"\nkura compat: temporary files kept in {TMP_ROOT}\n")
    elif exitstatus != 0:
        # Keep the server log and config for diagnosis, drop the (large) data and caches.
        for sub in ("data", "hf-home"):
            shutil.rmtree(TMP_ROOT / sub, ignore_errors=True)
        sys.stderr.write(f"\nkura compat: server log kept in {TMP_ROOT / 'kura.log'}\n")
    else:
        shutil.rmtree(TMP_ROOT, ignore_errors=True)


def pytest_report_header(config):
    mode = "Xet transfers" if XET else "Git LFS transfers (HF_HUB_DISABLE_XET=1)"
    return [f"kura compat: {ENDPOINT}, huggingface_hub {huggingface_hub.__version__}, {mode}, binary {_binary()}"]
