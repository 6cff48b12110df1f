//! `kura reindex`: computes the model metadata and the pickle scan of every branch head now
//! (repos from before the indexer, or facts a newer inspector made stale), with a progress
//! bar on standard error. Safe beside a running server: both store the same facts.

use std::io::{IsTerminal, Write};

use clap::Args;
use kura_core::ReindexProgress;

use crate::{Common, load};

#[derive(Args)]
pub(crate) struct ReindexArgs {
    #[command(flatten)]
    common: Common,
}

/// Width of the bar, in characters.
const BAR: u64 = 30;

fn bar(progress: &ReindexProgress, repo: &str) -> String {
    let filled = (progress.done * BAR).checked_div(progress.total).unwrap_or(BAR).min(BAR);
    let filled = usize::try_from(filled).unwrap_or(0);
    let empty = usize::try_from(BAR).unwrap_or(0).saturating_sub(filled);
    format!("[{}{}] {}/{} {repo}", "#".repeat(filled), " ".repeat(empty), progress.done, progress.total)
}

pub(crate) async fn run_reindex(args: ReindexArgs) -> anyhow::Result<()> {
    let hub = kura::open_hub(&load(&args.common, None, None)?).await?;
    let terminal = std::io::stderr().is_terminal();
    let report = hub
        .index()
        .reindex_all(|progress, repo| {
            let line = bar(progress, &repo.repo_id.to_string());
            let mut err = std::io::stderr();
            // On a terminal the bar redraws in place; in a log, one line per head.
            let _ = if terminal { write!(err, "\r\x1b[2K{line}") } else { writeln!(err, "{line}") };
            let _ = err.flush();
        })
        .await?;
    if terminal {
        eprintln!();
    }
    eprintln!("indexed {} branch head(s), {} failed", report.done - report.failed, report.failed);
    if report.failed > 0 {
        anyhow::bail!("{} branch head(s) could not be indexed (see the warnings above)", report.failed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_with_progress() {
        let at = |done, total| bar(&ReindexProgress { done, total, failed: 0 }, "u/m");
        assert_eq!(at(0, 4), format!("[{}] 0/4 u/m", " ".repeat(30)));
        assert_eq!(at(2, 4), format!("[{}{}] 2/4 u/m", "#".repeat(15), " ".repeat(15)));
        assert_eq!(at(4, 4), format!("[{}] 4/4 u/m", "#".repeat(30)));
        assert_eq!(at(0, 0), format!("[{}] 0/0 u/m", "#".repeat(30)), "nothing to do is done");
    }
}
