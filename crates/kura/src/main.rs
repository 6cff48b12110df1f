//! `kura`: serve the hub, and administer it from the same data directory.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use kura::config::{Config, Overrides};
use kura_model::Role;

#[derive(Parser)]
#[command(
    name = "kura",
    version,
    about = "A self-hostable hub for models, datasets and spaces"
)]
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
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Manage organizations.
    Org {
        #[command(subcommand)]
        action: OrgAction,
    },
    /// Manage access tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
}

#[derive(Subcommand)]
enum UserAction {
    /// Create a user.
    Create {
        name: String,
        /// Site administrator (can read and write every repo).
        #[arg(long)]
        admin: bool,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum OrgAction {
    /// Create an organization with an owner (its first admin).
    Create {
        name: String,
        #[arg(long)]
        owner: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
enum TokenAction {
    /// Create a token and print it (only the token, on stdout).
    Create {
        user: String,
        #[arg(long, value_parser = ["read", "write"])]
        role: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

fn load(
    common: &Common,
    listen: Option<String>,
    public_url: Option<String>,
) -> anyhow::Result<Config> {
    Config::load(&Overrides {
        config: common.config.clone(),
        data_dir: common.data_dir.clone(),
        listen,
        public_url,
    })
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
            tracing_subscriber::EnvFilter::try_from_env("KURA_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            common,
            listen,
            public_url,
        } => {
            let config = load(&common, listen, public_url)?;
            let hub = kura::open_hub(&config).await?;
            let listener = tokio::net::TcpListener::bind(&config.listen)
                .await
                .with_context(|| format!("binding {}", config.listen))?;
            println!(
                "kura serving {} (listening on {}, data in {})",
                config.public_url,
                listener.local_addr()?,
                config.data_dir.display()
            );
            kura::serve(listener, hub, config.public_url, shutdown_signal()).await
        }
        Command::User {
            action:
                UserAction::Create {
                    name,
                    admin,
                    common,
                },
        } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.create_user(&name, admin)
                .await
                .with_context(|| format!("creating user {name}"))?;
            eprintln!("created user {name}");
            Ok(())
        }
        Command::Org {
            action:
                OrgAction::Create {
                    name,
                    owner,
                    common,
                },
        } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            hub.create_org(&name, &owner)
                .await
                .with_context(|| format!("creating org {name}"))?;
            eprintln!("created organization {name} owned by {owner}");
            Ok(())
        }
        Command::Token {
            action:
                TokenAction::Create {
                    user,
                    role,
                    name,
                    common,
                },
        } => {
            let hub = kura::open_hub(&load(&common, None, None)?).await?;
            let role = Role::parse(&role).context("role must be read or write")?;
            let token = hub
                .create_token(&user, &name, role)
                .await
                .with_context(|| format!("creating a token for {user}"))?;
            println!("{token}");
            Ok(())
        }
    }
}
