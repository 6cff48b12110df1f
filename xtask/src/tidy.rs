//! Tidy checks: the crate dependency rules (the edges drawn in ARCHITECTURE.md's code map; the
//! team's house style, kept outside this repository, states the same layering), module docs, file-size budget,
//! and no leftover debugging macros.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Internal crates each crate may depend on. A new edge is a reviewed change.
const ALLOWED_EDGES: &[(&str, &[&str])] = &[
    (
        "kura",
        &[
            // Dev-dependency only: the Xet integration tests build xorbs and shards.
            "kura-cas",
            "kura-http",
            "kura-web",
            "kura-core",
            // `kura scan` runs the inspector on local files.
            "kura-formats",
            // Dev-dependency only: the viewer tests write parquet files as `datasets` does.
            "kura-dataset",
            "kura-storage",
            "kura-storage-sql",
            "kura-storage-blob",
            "kura-model",
        ],
    ),
    // The web UI renders the core's typed views; it never goes through the HTTP API's crate.
    ("kura-web", &["kura-core", "kura-model"]),
    ("kura-http", &["kura-core", "kura-git", "kura-model"]),
    ("kura-core", &["kura-cas", "kura-dataset", "kura-formats", "kura-git", "kura-storage", "kura-model"]),
    ("kura-cas", &["kura-model"]),
    // Sans-IO readers of model formats: no kura crate, no I/O.
    ("kura-formats", &[]),
    // Arrow and Parquet tables for the dataset viewer: no kura crate, I/O behind a trait.
    ("kura-dataset", &[]),
    ("kura-git", &["kura-model"]),
    ("kura-storage-sql", &["kura-storage", "kura-model"]),
    ("kura-storage-blob", &["kura-storage", "kura-model"]),
    ("kura-storage", &["kura-model"]),
    ("kura-model", &[]),
    ("xtask", &[]),
];

/// External crates a crate must never depend on (protocol and I/O stay at the edges).
const FORBIDDEN_EXTERNAL: &[(&str, &[&str])] = &[
    ("kura-model", &["tokio", "axum", "hyper", "sqlx", "object_store"]),
    ("kura-git", &["axum", "hyper", "sqlx", "object_store"]),
    ("kura-cas", &["axum", "hyper", "sqlx", "object_store"]),
    ("kura-formats", &["tokio", "axum", "hyper", "sqlx", "object_store"]),
    ("kura-dataset", &["axum", "hyper", "sqlx", "object_store"]),
    ("kura-core", &["axum", "hyper", "sqlx", "object_store", "reqwest"]),
    ("kura-http", &["sqlx", "object_store"]),
    ("kura-web", &["sqlx", "object_store", "reqwest"]),
    ("kura-storage", &["axum", "hyper", "sqlx", "object_store"]),
];

/// Source files longer than this fail.
const MAX_LINES: usize = 1000;

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace root").to_owned()
}

/// Normal and dev dependencies of every workspace package, from `cargo metadata`.
fn dependencies() -> Result<BTreeMap<String, Vec<String>>, String> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("running cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)));
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for package in metadata["packages"].as_array().ok_or("no packages")? {
        let name = package["name"].as_str().ok_or("package without name")?.to_owned();
        let deps = package["dependencies"]
            .as_array()
            .ok_or("no dependencies")?
            .iter()
            .filter_map(|d| d["name"].as_str().map(str::to_owned))
            .collect();
        out.insert(name, deps);
    }
    Ok(out)
}

fn check_edges(deps: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let mut problems = Vec::new();
    for (package, list) in deps {
        let Some((_, allowed)) = ALLOWED_EDGES.iter().find(|(p, _)| p == package) else {
            problems.push(format!("crate {package} is not in the dependency allow-list"));
            continue;
        };
        for dep in list.iter().filter(|d| d.starts_with("kura")) {
            if dep != package && !allowed.contains(&dep.as_str()) {
                problems.push(format!("{package} may not depend on {dep}"));
            }
        }
        if let Some((_, forbidden)) = FORBIDDEN_EXTERNAL.iter().find(|(p, _)| p == package) {
            for dep in list.iter().filter(|d| forbidden.contains(&d.as_str())) {
                problems.push(format!("{package} may not depend on {dep}"));
            }
        }
    }
    problems
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn check_sources() -> Vec<String> {
    let root = workspace_root();
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    rust_files(&root.join("xtask"), &mut files);
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let shown = file.strip_prefix(&root).unwrap_or(&file).display().to_string();
        if !text.starts_with("//!") {
            problems.push(format!("{shown}: a module starts with a //! doc line"));
        }
        if text.lines().count() > MAX_LINES {
            problems.push(format!("{shown}: more than {MAX_LINES} lines; split it"));
        }
        let debug_macros = [concat!("dbg", "!("), concat!("todo", "!(")];
        if debug_macros.iter().any(|m| text.contains(m)) {
            problems.push(format!("{shown}: leftover debugging macro"));
        }
    }
    problems
}

/// Every tidy check; the list of problems on failure.
pub(crate) fn run_all() -> Result<(), Vec<String>> {
    let mut problems = match dependencies() {
        Ok(deps) => check_edges(&deps),
        Err(error) => vec![error],
    };
    problems.extend(check_sources());
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_is_tidy() {
        if let Err(problems) = run_all() {
            panic!("tidy problems:\n{}", problems.join("\n"));
        }
    }

    #[test]
    fn forbidden_edges_are_caught() {
        let mut deps = BTreeMap::new();
        deps.insert("kura-core".to_owned(), vec!["kura-http".to_owned(), "axum".to_owned()]);
        deps.insert("kura-mystery".to_owned(), vec![]);
        let problems = check_edges(&deps);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }
}
