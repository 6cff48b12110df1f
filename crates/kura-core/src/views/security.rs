//! The pickle scan as the Hub reports it: `securityRepoStatus` of repo info
//! (`?securityStatus=true`) and `securityFileStatus` of tree and paths-info entries (with
//! `expand`), which `huggingface_hub` reads into `BlobSecurityInfo`.

use kura_formats::inspect::FileFacts;
use serde::Serialize;

use crate::index_facts::{CommitFacts, ScanLevel, file_level};

/// `securityRepoStatus`: whether every file was scanned, and the files with findings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityRepoStatusView {
    #[serde(rename = "filesWithIssues")]
    pub files_with_issues: Vec<FileIssueView>,
    #[serde(rename = "scansDone")]
    pub scans_done: bool,
}

/// One flagged file: `level` is `unsafe` (a dangerous import) or `caution`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileIssueView {
    pub level: &'static str,
    pub path: String,
}

impl SecurityRepoStatusView {
    /// From a commit's facts; `None` (not indexed yet) is "scans not done, nothing found".
    pub fn new(facts: Option<&CommitFacts>) -> Self {
        match facts {
            Some(facts) => Self {
                files_with_issues: facts
                    .files_with_issues
                    .iter()
                    .map(|issue| FileIssueView { level: issue.level.as_str(), path: issue.path.clone() })
                    .collect(),
                scans_done: facts.files_skipped == 0,
            },
            None => Self { files_with_issues: Vec::new(), scans_done: false },
        }
    }
}

/// `securityFileStatus` of one file. kura runs no antivirus, so `avScan` is always null (the
/// client reads the key, so it is always written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityFileStatusView {
    #[serde(rename = "avScan")]
    pub av_scan: Option<()>,
    #[serde(rename = "pickleImportScan")]
    pub pickle_import_scan: Option<PickleImportScanView>,
    pub status: &'static str,
}

/// `pickleImportScan`: every import the walk found, each with its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickleImportScanView {
    #[serde(rename = "highestSafetyLevel")]
    pub highest_safety_level: Option<&'static str>,
    pub imports: Vec<PickleImportView>,
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PickleImportView {
    pub module: String,
    pub name: String,
    pub safety: &'static str,
}

impl SecurityFileStatusView {
    /// A file of a revision not indexed yet (or past the indexer's budget).
    pub fn unscanned() -> Self {
        Self { av_scan: None, pickle_import_scan: None, status: "unscanned" }
    }

    /// A file of an indexed revision: its facts, or `None` when the inspector does not read
    /// files of its kind (nothing in it can run: safe).
    pub fn of(facts: Option<&FileFacts>) -> Self {
        let Some(facts) = facts else {
            return Self { av_scan: None, pickle_import_scan: None, status: ScanLevel::Safe.as_str() };
        };
        let level = file_level(facts).as_str();
        let pickle_import_scan = facts.pickle.as_ref().map(|pickle| PickleImportScanView {
            highest_safety_level: pickle.highest.map(|safety| safety.as_str()),
            imports: pickle
                .imports
                .iter()
                .map(|import| PickleImportView {
                    module: import.module.clone(),
                    name: import.name.clone(),
                    safety: import.safety.as_str(),
                })
                .collect(),
            status: level,
        });
        Self { av_scan: None, pickle_import_scan, status: level }
    }
}
