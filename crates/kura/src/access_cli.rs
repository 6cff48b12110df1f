//! `kura access …` and `kura audit …`: gated-repo access and the audit log, administered from
//! the data directory (the operator is trusted like the database itself).

use anyhow::Context;
use clap::Subcommand;
use kura_core::{AccessStatus, Authority, Hub, RequestSelector, request_id};
use kura_model::{RepoId, RepoType, format_timestamp};

use crate::{Common, load};

#[derive(Subcommand)]
pub(crate) enum AccessAction {
    /// List the access requests of a gated repo.
    List {
        /// The repo, `namespace/name`.
        repo: String,
        #[arg(long = "type", default_value = "model", value_parser = ["model", "dataset", "space"])]
        repo_type: String,
        #[arg(long, default_value = "pending", value_parser = ["pending", "accepted", "rejected"])]
        status: String,
        #[arg(long, default_value_t = 100)]
        limit: u64,
        #[command(flatten)]
        common: Common,
    },
    /// Give a user access to a gated repo.
    Grant {
        repo: String,
        user: String,
        #[arg(long = "type", default_value = "model", value_parser = ["model", "dataset", "space"])]
        repo_type: String,
        #[command(flatten)]
        common: Common,
    },
    /// Accept, reject or re-pend (cancel) a user's request.
    Handle {
        repo: String,
        user: String,
        #[arg(long, value_parser = ["accepted", "rejected", "pending"])]
        status: String,
        /// Shown to the user when rejecting.
        #[arg(long)]
        reason: Option<String>,
        #[arg(long = "type", default_value = "model", value_parser = ["model", "dataset", "space"])]
        repo_type: String,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Subcommand)]
pub(crate) enum AuditAction {
    /// Print audit-log entries, newest first (time, actor, action, target, details).
    List {
        #[arg(long, default_value_t = 50)]
        limit: u64,
        #[arg(long, default_value_t = 0)]
        offset: u64,
        #[command(flatten)]
        common: Common,
    },
}

async fn open(common: &Common) -> anyhow::Result<Hub> {
    kura::open_hub(&load(common, None, None)?).await
}

async fn find_repo(hub: &Hub, repo_type: &str, repo: &str) -> anyhow::Result<kura_core::RepoRecord> {
    let repo_type =
        RepoType::from_singular(repo_type).context("repo type must be model, dataset or space")?;
    let repo_id = RepoId::parse(repo).map_err(|e| anyhow::anyhow!(e.0)).context("invalid repo id")?;
    hub.accounts().operator_repo(repo_type, &repo_id).await.with_context(|| format!("finding {repo}"))
}

fn status_of(text: &str) -> anyhow::Result<AccessStatus> {
    AccessStatus::parse(text).context("status must be pending, accepted or rejected")
}

pub(crate) async fn run_access(action: AccessAction) -> anyhow::Result<()> {
    match action {
        AccessAction::List { repo, repo_type, status, limit, common } => {
            let hub = open(&common).await?;
            let record = find_repo(&hub, &repo_type, &repo).await?;
            let requests = hub
                .accounts()
                .list_access_requests(Authority::Operator, &record, status_of(&status)?, 0, limit)
                .await
                .with_context(|| format!("listing access requests of {repo}"))?;
            for request in requests {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    request_id(&request),
                    request.user_name,
                    request.status.as_str(),
                    format_timestamp(request.created_at),
                    request.fields.as_deref().unwrap_or("-")
                );
            }
        }
        AccessAction::Grant { repo, user, repo_type, common } => {
            let hub = open(&common).await?;
            let record = find_repo(&hub, &repo_type, &repo).await?;
            hub.accounts()
                .grant_access(Authority::Operator, &record, &user)
                .await
                .with_context(|| format!("granting {user} access to {repo}"))?;
            eprintln!("granted {user} access to {repo}");
        }
        AccessAction::Handle { repo, user, status, reason, repo_type, common } => {
            let hub = open(&common).await?;
            let record = find_repo(&hub, &repo_type, &repo).await?;
            let selector = RequestSelector::User(user.clone());
            hub.accounts()
                .handle_access_request(
                    Authority::Operator,
                    &record,
                    selector,
                    status_of(&status)?,
                    reason.as_deref(),
                )
                .await
                .with_context(|| format!("handling the request of {user} for {repo}"))?;
            eprintln!("request of {user} for {repo} is now {status}");
        }
    }
    Ok(())
}

pub(crate) async fn run_audit(action: AuditAction) -> anyhow::Result<()> {
    let AuditAction::List { limit, offset, common } = action;
    let hub = open(&common).await?;
    let entries = hub
        .accounts()
        .audit_log(Authority::Operator, offset, limit)
        .await
        .context("reading the audit log")?;
    for record in entries {
        let entry = record.entry;
        println!(
            "{}\t{}\t{}\t{}\t{}",
            format_timestamp(entry.at),
            entry.actor.as_deref().unwrap_or("(operator)"),
            entry.action,
            entry.target,
            entry.details
        );
    }
    Ok(())
}
