//! `kura`: serve the hub, and administer it from the same data directory.

mod access_cli;
mod fsck_cli;
mod mirror_cli;
mod org_cli;
mod password_cli;
mod reindex_cli;
mod scan_cli;
mod token_cli;

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kura::config::{Config, Overrides, S3File};

#[derive(Parser)]
#[command(name = "kura", version, about = "A self-hostable hub for models, datasets and spaces")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// TOML configuration file.
    #[arg(long, env = "KURA_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Directory for the database and content [default: ./kura-data].
    #[arg(long, env = "KURA_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Metadata database: sqlite://PATH or postgres://... [default: sqlite://DATA_DIR/kura.db].
    #[arg(long, env = "KURA_DATABASE_URL", global = true, hide_env_values = true)]
    database_url: Option<String>,
    /// Content storage: file://PATH or s3://BUCKET[/PREFIX] [default: file://DATA_DIR/blobs].
    #[arg(long, env = "KURA_STORAGE", global = true)]
    storage: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Start the hub.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "KURA_LISTEN")]
        listen: Option<String>,
        /// Base URL clients use to reach this server [default: http://LISTEN].
        #[arg(long, env = "KURA_PUBLIC_URL")]
        public_url: Option<String>,
        /// Pull-through mirror: answer for repos this server does not host from this hub
        /// (e.g. https://huggingface.co); `[upstream]` in the config file says more.
        #[arg(long, env = "KURA_UPSTREAM")]
        upstream: Option<String>,
        /// Mirror mode without the upstream: serve only what is cached.
        #[arg(long, env = "KURA_OFFLINE")]
        offline: bool,
    },
    /// Apply pending database migrations and exit (serve also applies them at start-up).
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        action: org_cli::OrgAction,
    },
    /// Manage access tokens.
    Token {
        #[command(subcommand)]
        action: token_cli::TokenAction,
    },
    /// Manage access to gated repos.
    Access {
        #[command(subcommand)]
        action: access_cli::AccessAction,
    },
    /// Read the security audit log.
    Audit {
        #[command(subcommand)]
        action: access_cli::AuditAction,
    },
    /// Check that the content index and the stored blobs agree; exit 1 when they do not.
    Fsck(fsck_cli::FsckArgs),
    /// Index every branch head now: model metadata and the pickle scan (repos from before the
    /// indexer, or after an upgrade of it), with a progress bar.
    Reindex(reindex_cli::ReindexArgs),
    /// Pull-through mirror: prefetch, list and evict what is cached from the upstream hub.
    Mirror {
        #[command(subcommand)]
        action: mirror_cli::MirrorAction,
    },
    /// Inspect local files as the indexer does (safetensors and GGUF headers, the pickle
    /// import scan); one JSON line per file.
    Scan(scan_cli::ScanArgs),
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user.
    Create {
        name: String,
        /// Site administrator (can read and write every repo).
        #[arg(long)]
        admin: bool,
        /// Also set a password for web login, read from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Set a user's password for web login (first line of standard input, at least 8
    /// characters); ends the user's sessions.
    SetPassword {
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

fn load(common: &Common, listen: Option<String>, public_url: Option<String>) -> anyhow::Result<Config> {
    load_with(common, listen, public_url, None, false)
}

fn load_with(
    common: &Common,
    listen: Option<String>,
    public_url: Option<String>,
    upstream: Option<String>,
    offline: bool,
) -> anyhow::Result<Config> {
    Config::load(&Overrides {
        upstream,
        upstream_token: std::env::var("KURA_UPSTREAM_TOKEN").ok(),
        offline,
        config: common.config.clone(),
        data_dir: common.data_dir.clone(),
        listen,
        public_url,
        database_url: common.database_url.clone(),
        storage: common.storage.clone(),
        trusted_proxies: std::env::var("KURA_TRUSTED_PROXIES").ok(),
        metrics_token: std::env::var("KURA_METRICS_TOKEN").ok(),
        job_workers: match std::env::var("KURA_JOB_WORKERS") {
            Ok(text) => Some(text.trim().parse().context("KURA_JOB_WORKERS must be a number")?),
            Err(_) => None,
        },
        s3: s3_from_env(),
        limits: limits_from_env(),
        spaces_domain: std::env::var("KURA_SPACES_DOMAIN").ok(),
    })
}

/// `KURA_LIMIT_<FIELD>` variables, as (field, value).
fn limits_from_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter_map(|(key, value)| Some((key.strip_prefix("KURA_LIMIT_")?.to_lowercase(), value)))
        .collect()
}

/// `KURA_S3_*` variables, falling back to the usual `AWS_*` ones.
fn s3_from_env() -> S3File {
    let var = |kura: &str, aws: &str| std::env::var(kura).or_else(|_| std::env::var(aws)).ok();
    S3File {
        endpoint: var("KURA_S3_ENDPOINT", "AWS_ENDPOINT_URL"),
        region: var("KURA_S3_REGION", "AWS_REGION"),
        access_key_id: var("KURA_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        secret_access_key: var("KURA_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
        virtual_hosted: std::env::var("KURA_S3_VIRTUAL_HOSTED").ok().map(|v| v == "true" || v == "1"),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KURA_LOG").unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, not in a file or journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match Cli::parse().command {
        Command::Serve { common, listen, public_url, upstream, offline } => {
            let config = load_with(&common, listen, public_url, upstream, offline)?;
            let hub = kura::open_hub(&config).await?;
            kura::sweep_stale_temp_files(&config).await;
            let listener = tokio::net::TcpListener::bind(&config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            println!(
                "kura serving {} (listening on {}, data in {})",
                config.public_url,
                listener.local_addr()?,
                config.data_dir.display()
            );
            let options = kura::EdgeOptions::from(&config);
            kura::serve_with(listener, hub, config.public_url, options, shutdown_signal()).await
        }
        Command::Mirror { action } => mirror_cli::run(action).await,
        Command::Migrate { common } => {
            kura::open_hub(&load(&common, None, None)?).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::User { action: UserAction::Create { name, admin, password_stdin, common } } => {
            let password = if password_stdin { Some(password_cli::read_password_stdin()?) } else { None };
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.accounts()
                .create_user(&name, admin)
                .await
                .with_context(|| format!("creating user {name}"))?;
            if let Some(password) = password {
                hub.accounts()
                    .set_password(&name, &password)
                    .await
                    .with_context(|| format!("setting the password of {name}"))?;
            }
            eprintln!("created user {name}");
            Ok(())
        }
        Command::User { action: UserAction::SetPassword { name, common } } => {
            let password = password_cli::read_password_stdin()?;
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.accounts()
                .set_password(&name, &password)
                .await
                .with_context(|| format!("setting the password of {name}"))?;
            eprintln!("password of {name} set");
            Ok(())
        }
        Command::Org { action } => org_cli::run_org(action).await,
        Command::Token { action } => token_cli::run_token(action).await,
        Command::Access { action } => access_cli::run_access(action).await,
        Command::Audit { action } => access_cli::run_audit(action).await,
        Command::Fsck(args) => fsck_cli::run_fsck(args).await,
        Command::Reindex(args) => reindex_cli::run_reindex(args).await,
        Command::Scan(args) => scan_cli::run_scan(args),
    }
}
