//! Bugs a review found (issue 13, point 6) and the reserved top-level names, against the real
//! `kura` binary: admin commands beside a live server keep its temp files, `serve` sweeps
//! only stale ones, the default log has one line per request, and no user or organization
//! can take a name the routes need.

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, SystemTime};

/// `kura` with `args` on `data_dir`, ignoring any `KURA_*` settings around us (the log level
/// included: these tests see the default).
fn kura(data_dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kura"));
    command.args(args).arg("--data-dir").arg(data_dir);
    for var in
        ["KURA_CONFIG", "KURA_DATABASE_URL", "KURA_STORAGE", "KURA_LISTEN", "KURA_PUBLIC_URL", "KURA_LOG"]
    {
        command.env_remove(var);
    }
    command
}

fn run(data_dir: &Path, args: &[&str]) -> Output {
    kura(data_dir, args).output().expect("running kura")
}

/// `kura serve` on a free port, its stderr (the log) in `log`; killed on drop.
struct Served {
    child: Child,
    base: String,
}

impl Served {
    fn start(data_dir: &Path, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut child =
            kura(data_dir, &["serve", "--listen", &format!("127.0.0.1:{port}"), "--public-url", &base])
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(log).unwrap())
                .spawn()
                .expect("spawning kura serve");
        let mut banner = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        assert!(banner.starts_with("kura serving"), "unexpected banner {banner:?}");
        Self { child, base }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temp file in the blob store last written `age` ago.
fn temp_file(data_dir: &Path, name: &str, age: Duration) -> std::path::PathBuf {
    let path = data_dir.join("blobs/.tmp").join(name);
    let file = std::fs::File::create(&path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
    path
}

#[tokio::test]
async fn admin_commands_keep_temp_files_and_serve_sweeps_only_stale_ones() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["user", "create", "alice"]).status.success());
    // An upload in flight (written a minute ago) and a crash's leftover (idle for two hours).
    let in_flight = temp_file(dir.path(), "in-flight", Duration::from_secs(60));
    let leftover = temp_file(dir.path(), "leftover", Duration::from_secs(2 * 3600));

    let created = run(dir.path(), &["token", "create", "alice", "--role", "read"]);
    assert!(created.status.success());
    assert!(in_flight.exists() && leftover.exists(), "an admin command deletes no temp file");

    let log = dir.path().join("serve.log");
    let server = Served::start(dir.path(), &log);
    assert!(in_flight.exists(), "serve keeps a temp file written within the grace period");
    assert!(!leftover.exists(), "serve sweeps a temp file idle past the grace period");
    drop(server);
}

#[tokio::test]
async fn the_default_log_has_one_line_per_request_with_a_fresh_id_and_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let server = Served::start(dir.path(), &log);
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for (path, status) in [
        ("/health", 200),
        ("/api/models/alice/m/tree/main/secret-dir", 401),
        ("/_kura/lfs/Zm9v.forgedsecret", 403),
    ] {
        let response = client
            .get(format!("{}{path}", server.base))
            .header("x-request-id", "client-chosen-id")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        let id = response.headers()["x-request-id"].to_str().unwrap().to_owned();
        assert_ne!(id, "client-chosen-id", "the server makes its own request id");
        assert_eq!(id.len(), 32);
        ids.push(id);
    }
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("forgedsecret") && !text.contains("client-chosen-id"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("request.id=")).collect();
    assert_eq!(lines.len(), 3, "one line per request at the default level:\n{text}");
    for (line, (id, (route, status))) in lines.iter().zip(ids.iter().zip([
        ("/health", 200),
        ("/api/{type}/{namespace}/{name}/tree/{revision}/{path}", 401),
        ("/_kura/lfs/{token}", 403),
    ])) {
        assert!(line.contains(" INFO "), "{line}");
        for field in [
            format!("request.id={id}"),
            "method=GET".to_owned(),
            format!("route={route}"),
            format!("status={status}"),
            "bytes_in=0".to_owned(),
            "bytes_out=".to_owned(),
            "duration_ms=".to_owned(),
        ] {
            assert!(line.contains(&field), "{field} missing in {line}");
        }
    }
    assert!(lines[2].contains("path=/_kura/lfs/<redacted>"), "{}", lines[2]);
}

#[tokio::test]
async fn no_user_or_organization_takes_a_reserved_name() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["user", "create", "alice"]).status.success());
    for name in ["collections", "datasets-server", "buckets", "settings", "login", "metrics", "cas", "static"]
    {
        let user = run(dir.path(), &["user", "create", name]);
        assert!(!user.status.success(), "user {name} was created");
        assert!(String::from_utf8_lossy(&user.stderr).contains("reserved"), "user {name}");
        let org = run(dir.path(), &["org", "create", &name.to_uppercase(), "--owner", "alice"]);
        assert!(!org.status.success(), "org {name} was created");
        assert!(String::from_utf8_lossy(&org.stderr).contains("reserved"), "org {name}");
    }
    assert!(run(dir.path(), &["org", "create", "metrics-team", "--owner", "alice"]).status.success());
}
