//! `kura scan FILE...`: inspects local files as the indexer inspects stored ones (safetensors
//! and GGUF headers, the pickle import scan) and prints one JSON line per file:
//! `{"path": "<as given>", "facts": <facts, or null when the name says there is nothing to read>}`.
//! For operators checking a file before they publish it, and for the differential test
//! against picklescan (compat/test_pickle_scan.py).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use kura_formats::inspect::{FileFacts, Inspector, Step};

#[derive(Args)]
pub(crate) struct ScanArgs {
    /// Files to inspect.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// Drives an inspector over a local file, reading only the ranges it asks for.
fn inspect(path: &std::path::Path) -> std::io::Result<Option<FileFacts>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let Some(mut inspector) = Inspector::for_path(&path.to_string_lossy(), size) else { return Ok(None) };
    let mut buffer = Vec::new();
    loop {
        match inspector.step() {
            Step::Read { offset, len } => {
                file.seek(SeekFrom::Start(offset))?;
                buffer.clear();
                (&mut file).take(len).read_to_end(&mut buffer)?;
                inspector.feed(&buffer);
            }
            Step::Done(facts) => return Ok(Some(facts)),
        }
    }
}

#[derive(serde::Serialize)]
struct Line<'a> {
    path: &'a str,
    facts: Option<FileFacts>,
}

pub(crate) fn run_scan(args: ScanArgs) -> anyhow::Result<()> {
    for path in &args.files {
        let facts = inspect(path).with_context(|| format!("reading {}", path.display()))?;
        let shown = path.to_string_lossy();
        println!("{}", serde_json::to_string(&Line { path: &shown, facts })?);
    }
    Ok(())
}
