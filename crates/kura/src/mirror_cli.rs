//! `kura mirror`: prefetch repos of the upstream hub, list what the mirror holds, evict it.
//! Runs beside a serving mirror (same configuration): both record the same holdings.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand};
use kura_core::PullProgress;
use kura_model::{RepoId, RepoType};

use crate::{Common, load_with};

#[derive(Subcommand)]
pub(crate) enum MirrorAction {
    /// Fetch a repo of the upstream into the mirror: REPO[@REVISION].
    Pull {
        /// `namespace/name[@revision]`; datasets and spaces with `--type`.
        repo: String,
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Only the files whose path matches this glob (e.g. `*.safetensors`).
        #[arg(long)]
        include: Option<String>,
        #[command(flatten)]
        upstream: UpstreamArgs,
    },
    /// What the mirror holds, per repo.
    List {
        #[command(flatten)]
        upstream: UpstreamArgs,
    },
    /// Forget what the mirror holds: one repo, or by size budget and age. The chunks nothing
    /// else uses are freed by the garbage collector.
    Evict {
        /// `namespace/name` to evict (with `--type`); or use the budgets below.
        repo: Option<String>,
        #[arg(long = "type", default_value = "model")]
        repo_type: String,
        /// Keep at most this much (e.g. `500GB`), evicting the repos fetched least recently.
        #[arg(long)]
        max_size: Option<String>,
        /// Evict repos that fetched nothing for this long (e.g. `30d`).
        #[arg(long)]
        older_than: Option<String>,
        #[command(flatten)]
        upstream: UpstreamArgs,
    },
}

#[derive(Args)]
pub(crate) struct UpstreamArgs {
    #[command(flatten)]
    common: Common,
    /// The upstream hub (as for `serve`).
    #[arg(long, env = "KURA_UPSTREAM")]
    upstream: Option<String>,
}

fn parse_type(text: &str) -> anyhow::Result<RepoType> {
    match text {
        "model" => Ok(RepoType::Model),
        "dataset" => Ok(RepoType::Dataset),
        "space" => Ok(RepoType::Space),
        other => anyhow::bail!("unknown repo type '{other}' (model, dataset or space)"),
    }
}

/// `10GB`, `500MiB`, `1024` as bytes.
fn parse_size(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().with_context(|| format!("invalid size '{text}'"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        other => anyhow::bail!("invalid size unit '{other}' in '{text}'"),
    };
    Ok((number * scale) as u64)
}

fn human(bytes: u64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", units[unit]) }
}

fn progress_line(progress: &PullProgress, path: &str, elapsed: f64) -> String {
    let rate = progress.bytes_done as f64 / elapsed.max(0.001);
    let left = progress.bytes_total.saturating_sub(progress.bytes_done) as f64;
    let eta = if rate > 0.0 { format!("{:.0}s", left / rate) } else { "?".to_owned() };
    format!(
        "{}/{} files, {} of {} ({}/s, ETA {eta}) {path}",
        progress.files_done,
        progress.files_total,
        human(progress.bytes_done),
        human(progress.bytes_total),
        human(rate as u64)
    )
}

async fn hub(args: &UpstreamArgs) -> anyhow::Result<kura_core::Hub> {
    let config = load_with(&args.common, None, None, args.upstream.clone(), false)?;
    anyhow::ensure!(
        config.upstream.is_some(),
        "no upstream hub: give --upstream URL or [upstream] url in the config"
    );
    kura::open_hub(&config).await
}

pub(crate) async fn run(action: MirrorAction) -> anyhow::Result<()> {
    match action {
        MirrorAction::Pull { repo, repo_type, include, upstream } => {
            let (id, revision) = match repo.split_once('@') {
                Some((id, revision)) => (id.to_owned(), Some(revision.to_owned())),
                None => (repo.clone(), None),
            };
            let repo_id = RepoId::parse(&id).map_err(|e| anyhow::anyhow!("{id}: {}", e.0))?;
            let include = match include {
                Some(glob) => Some(globset::Glob::new(&glob).context("--include")?.compile_matcher()),
                None => None,
            };
            let hub = hub(&upstream).await?;
            let started = Instant::now();
            let terminal = std::io::stderr().is_terminal();
            let (commit, done) = hub
                .mirror()
                .pull(
                    parse_type(&repo_type)?,
                    &repo_id,
                    revision.as_deref(),
                    include.as_ref(),
                    |progress, path| {
                        let line = progress_line(progress, path, started.elapsed().as_secs_f64());
                        let mut err = std::io::stderr();
                        let _ =
                            if terminal { write!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
                        let _ = err.flush();
                    },
                )
                .await
                .with_context(|| format!("pulling {id}"))?;
            if terminal {
                eprintln!();
            }
            eprintln!(
                "{id} at {commit}: {} files ({}), {} already held",
                done.files_total,
                human(done.bytes_total),
                done.files_cached
            );
            Ok(())
        }
        MirrorAction::List { upstream } => {
            let hub = hub(&upstream).await?;
            let holdings = hub.mirror().holdings().await?;
            println!("{:<8} {:<50} {:>8} {:>12}", "TYPE", "REPO", "FILES", "SIZE");
            for holding in &holdings {
                println!(
                    "{:<8} {:<50} {:>8} {:>12}",
                    holding.repo.repo_type.as_str(),
                    holding.repo.repo_id.to_string(),
                    holding.objects,
                    human(holding.bytes)
                );
            }
            let total: u64 = holdings.iter().map(|h| h.bytes).sum();
            println!("{} repos, {} held", holdings.len(), human(total));
            Ok(())
        }
        MirrorAction::Evict { repo, repo_type, max_size, older_than, upstream } => {
            let hub = hub(&upstream).await?;
            if let Some(repo) = repo {
                let repo_id = RepoId::parse(&repo).map_err(|e| anyhow::anyhow!("{repo}: {}", e.0))?;
                let evicted = hub.mirror().evict(parse_type(&repo_type)?, &repo_id).await?;
                anyhow::ensure!(evicted, "{repo} is not mirrored here");
                eprintln!("evicted {repo}");
                return Ok(());
            }
            anyhow::ensure!(
                max_size.is_some() || older_than.is_some(),
                "name a repo, or give --max-size and/or --older-than"
            );
            let max = max_size.as_deref().map(parse_size).transpose()?;
            let age = older_than.as_deref().map(kura::config::parse_duration).transpose()?;
            let cutoff = age.map(|secs| kura_core::now_millis() - (secs as i64).saturating_mul(1000));
            for holding in hub.mirror().evict_by(max, cutoff).await? {
                eprintln!("evicted {} ({})", holding.repo.repo_id, human(holding.bytes));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_progress_read_as_people_write_them() {
        assert_eq!(parse_size("10GB").unwrap(), 10_000_000_000);
        assert_eq!(parse_size("1.5 MiB").unwrap(), 1_572_864);
        assert_eq!(parse_size("42").unwrap(), 42);
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5 parsecs").is_err());
        let progress = PullProgress {
            files_done: 1,
            files_total: 2,
            bytes_done: 500,
            bytes_total: 1000,
            files_cached: 0,
        };
        assert_eq!(
            progress_line(&progress, "a.bin", 1.0),
            "1/2 files, 500 B of 1.0 KB (500 B/s, ETA 1s) a.bin"
        );
    }
}
