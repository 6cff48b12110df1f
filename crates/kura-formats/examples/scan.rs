//! Inspects local files as the indexer inspects stored ones, one JSON line per file:
//! `{"path": "<as given>", "facts": <FileFacts, or null when the name says there is nothing
//! to read>}`. `cargo run -p kura-formats --example scan -- FILE...`

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use kura_formats::inspect::{FileFacts, Inspector, Step};

fn inspect(path: &str) -> std::io::Result<Option<FileFacts>> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    let Some(mut inspector) = Inspector::for_path(path, size) else { return Ok(None) };
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

fn main() {
    let mut failed = false;
    for path in std::env::args().skip(1) {
        match inspect(&path) {
            Ok(facts) => match serde_json::to_string(&Line { path: &path, facts }) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("{path}: {e}"),
            },
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
