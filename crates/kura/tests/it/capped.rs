//! A real `kura serve` process under a memory cap, for the tests of request budgets: an attack
//! that regresses fails the test (the cap or the peak-memory check) instead of taking the
//! machine down. After each attack, `assert_healthy` checks that the server is still running,
//! that its peak resident memory (VmHWM) stayed under 512 MiB and that `/health` answers
//! within a second.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Address-space cap of the server process: far above what kura needs (thread stacks and
/// allocator arenas are reserved, not used), far below what would hurt the machine.
const ADDRESS_SPACE_CAP: u64 = 6 << 30;
/// Peak resident memory a budgeted server stays under, whatever one request asks.
pub(crate) const PEAK_RSS_LIMIT_MB: u64 = 512;

/// `kura` with `args` on `data_dir`, ignoring any `KURA_*` settings around us.
fn kura(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kura"));
    command.args(args).arg("--data-dir").arg(data_dir).env("KURA_LOG", "warn");
    for var in ["KURA_CONFIG", "KURA_DATABASE_URL", "KURA_STORAGE", "KURA_LISTEN", "KURA_PUBLIC_URL"] {
        command.env_remove(var);
    }
    command
}

fn admin(data_dir: &Path, args: &[&str]) -> String {
    let output = kura(data_dir, args).stderr(Stdio::inherit()).output().expect("running kura");
    assert!(output.status.success(), "kura {args:?} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A capped `kura serve` with users `alice` and `bob` (write tokens); killed when dropped.
pub(crate) struct CappedServer {
    child: Child,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) alice: String,
    pub(crate) bob: String,
    _dir: tempfile::TempDir,
}

impl CappedServer {
    pub(crate) async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts the server with extra `KURA_*` environment settings.
    pub(crate) async fn start_with(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tokens: Vec<String> = ["alice", "bob"]
            .iter()
            .map(|user| {
                admin(dir.path(), &["user", "create", user]);
                admin(dir.path(), &["token", "create", user, "--role", "write"])
            })
            .collect();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut command = Command::new("prlimit");
        command.arg(format!("--as={ADDRESS_SPACE_CAP}")).arg("--");
        let inner =
            kura(dir.path(), &["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &base]);
        command.arg(inner.get_program()).args(inner.get_args());
        for (key, value) in inner.get_envs() {
            match value {
                Some(value) => command.env(key, value),
                None => command.env_remove(key),
            };
        }
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawning kura");
        let mut banner = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        assert!(banner.starts_with("kura serving"), "unexpected banner {banner:?}");
        let [alice, bob] = <[String; 2]>::try_from(tokens).unwrap();
        Self { child, base, client: reqwest::Client::new(), alice, bob, _dir: dir }
    }

    /// Sends SIGTERM (the graceful shutdown a service manager asks for).
    pub(crate) fn terminate(&self) {
        let status = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// Whether the server process has exited within `within`.
    pub(crate) fn exited_within(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.child.try_wait().unwrap().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// Open file descriptors of the server process.
    pub(crate) fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).map_or(0, Iterator::count)
    }

    /// The server's data directory (its blob store is under `blobs/`).
    pub(crate) fn data_dir(&self) -> &Path {
        self._dir.path()
    }

    /// Peak resident memory of the server so far, in MiB.
    pub(crate) fn peak_rss_mb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0);
        kb / 1024
    }

    /// The server survived: still running, peak memory under the limit, `/health` within 1 s.
    pub(crate) async fn assert_healthy(&mut self) {
        assert!(self.child.try_wait().unwrap().is_none(), "the server died");
        let peak = self.peak_rss_mb();
        assert!(peak < PEAK_RSS_LIMIT_MB, "peak resident memory {peak} MiB");
        let start = Instant::now();
        let health =
            self.client.get(format!("{}/health", self.base)).timeout(Duration::from_secs(5)).send().await;
        let took = start.elapsed();
        assert!(health.is_ok_and(|r| r.status() == 200), "/health failed");
        assert!(took < Duration::from_secs(1), "/health took {took:?}");
    }

    /// A Xet write token of alice's for the model `repo`, and the CAS URL.
    pub(crate) async fn xet_write_token(&self, repo: &str) -> (String, String) {
        let url = format!("{}/api/models/{repo}/xet-write-token/main", self.base);
        let response = self.client.get(url).bearer_auth(&self.alice).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        (body["accessToken"].as_str().unwrap().to_owned(), body["casUrl"].as_str().unwrap().to_owned())
    }

    /// Creates a model repo with `token`.
    pub(crate) async fn create_repo(&self, token: &str, name: &str, private: bool) {
        let (namespace, name) = name.split_once('/').unwrap();
        let response = self
            .client
            .post(format!("{}/api/repos/create", self.base))
            .bearer_auth(token)
            .json(&serde_json::json!({"name": name, "organization": namespace, "private": private}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
}

impl Drop for CappedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The harness itself: a plain server is healthy, and the peak-memory reading is real.
#[tokio::test]
async fn a_capped_server_reports_its_peak_memory() {
    let mut server = CappedServer::start().await;
    server.create_repo(&server.alice.clone(), "alice/m", false).await;
    let peak = server.peak_rss_mb();
    assert!(peak > 1 && peak < PEAK_RSS_LIMIT_MB, "peak {peak} MiB");
    server.assert_healthy().await;
}
