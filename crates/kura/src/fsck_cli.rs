//! `kura fsck`: checks that the content index and the blob store agree, prints a report and
//! exits non-zero when an index row points at missing or mis-sized bytes. Orphan blobs (written
//! by an upload that crashed before indexing them) are garbage, not errors; they are deleted
//! with `--delete-orphans` once older than a grace period, since an upload still in flight
//! has unindexed blobs too.

use std::time::Duration;

use clap::Args;
use kura_core::{FsckOptions, FsckReport};
use kura_model::format_timestamp;

use crate::{Common, load};

/// How old an orphan must be before `--delete-orphans` removes it. A Git LFS upload is
/// converted to xorbs as it streams and indexed only at its end, so this must exceed the
/// longest upload.
const ORPHAN_GRACE: Duration = Duration::from_secs(24 * 3600);

#[derive(Args)]
pub(crate) struct FsckArgs {
    /// Delete orphan blobs older than 24 hours (younger ones may belong to an upload in
    /// flight).
    #[arg(long)]
    delete_orphans: bool,
    /// Delete orphan blobs whatever their age; only safe while no upload is running (for
    /// example with the server stopped).
    #[arg(long, conflicts_with = "delete_orphans")]
    delete_orphans_now: bool,
    #[command(flatten)]
    common: Common,
}

pub(crate) async fn run_fsck(args: FsckArgs) -> anyhow::Result<()> {
    let hub = kura::open_hub(&load(&args.common, None, None)?).await?;
    let options = FsckOptions {
        delete_orphans: args.delete_orphans || args.delete_orphans_now,
        orphan_grace: if args.delete_orphans_now { Duration::ZERO } else { ORPHAN_GRACE },
    };
    let report = hub.ops().fsck(&options).await?;
    print_report(&report);
    if report.is_consistent() {
        Ok(())
    } else {
        anyhow::bail!("the store is inconsistent: {} problem(s), listed above", report.problems.len())
    }
}

fn print_report(report: &FsckReport) {
    println!(
        "checked {} xorbs, {} Xet files, {} dedup entries, {} large objects; {} claimed SHA-256(s) confirmed",
        report.xorbs, report.files, report.dedup_entries, report.lfs_objects, report.verified
    );
    for orphan in &report.orphans {
        let fate = if orphan.deleted { "deleted" } else { "kept" };
        println!(
            "orphan {} ({} bytes, written {}): {fate}",
            orphan.key,
            orphan.size,
            format_timestamp(orphan.modified)
        );
    }
    for problem in &report.problems {
        println!("PROBLEM {problem}");
    }
    let orphan_bytes: u64 = report.orphans.iter().map(|o| o.size).sum();
    let deleted = report.orphans.iter().filter(|o| o.deleted).count();
    println!(
        "{} orphan blob(s) ({orphan_bytes} bytes, {deleted} deleted); {} problem(s)",
        report.orphans.len(),
        report.problems.len()
    );
}
