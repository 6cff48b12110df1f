//! What the indexer stores per commit, and the pure rules that fold file facts into it: the
//! safetensors parameter count (one `model.safetensors`, else the shards its index names), the
//! GGUF summary (a sharded model counted once), the files the pickle scan flagged, and each
//! file's security status as `securityFileStatus` shows it.

use std::collections::BTreeMap;

use kura_formats::derive::Derived;
use kura_formats::inspect::FileFacts;
use kura_formats::pickle_policy::Safety;
use serde::{Deserialize, Serialize};

/// Parameters per dtype and their sum (`safetensors` of `model_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParameterCount {
    pub parameters: BTreeMap<String, u64>,
    pub total: u64,
}

impl ParameterCount {
    fn add(&mut self, parameters: &BTreeMap<String, u64>) {
        for (dtype, n) in parameters {
            let slot = self.parameters.entry(dtype.clone()).or_default();
            *slot = slot.saturating_add(*n);
            self.total = self.total.saturating_add(*n);
        }
    }
}

/// `gguf` of `model_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GgufSummary {
    pub total: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_length: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bos_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eos_token: Option<String>,
}

/// How a file's scan came out, as the Hub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScanLevel {
    Safe,
    Caution,
    Unsafe,
}

impl ScanLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            ScanLevel::Safe => "safe",
            ScanLevel::Caution => "caution",
            ScanLevel::Unsafe => "unsafe",
        }
    }
}

/// A file the pickle scan flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIssue {
    pub path: String,
    pub level: ScanLevel,
}

/// Most flagged files a commit's facts list (a repo of a million bad pickles says so in the
/// first thousand).
pub(crate) const MAX_ISSUES: usize = 1000;

/// Everything the indexer learned about one commit.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CommitFacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safetensors: Option<ParameterCount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gguf: Option<GgufSummary>,
    #[serde(default)]
    pub files_with_issues: Vec<FileIssue>,
    /// Files whose facts were read (or found stored).
    #[serde(default)]
    pub files_inspected: u64,
    /// Candidate files past the per-commit budget, left unscanned.
    #[serde(default)]
    pub files_skipped: u64,
    #[serde(default)]
    pub derived: Derived,
}

/// Whether the file could not be read to its end (a pickle broken off after imports, a budget
/// reached, an archive kura does not read): what it holds past that point is unknown.
pub fn incomplete(facts: &FileFacts) -> bool {
    facts.error.is_some() || facts.pickle.as_ref().is_some_and(|pickle| pickle.error.is_some())
}

/// A file's level: any dangerous import makes it unsafe; a suspicious one, or a file that could
/// not be read to its end, a caution; anything else is safe.
pub fn file_level(facts: &FileFacts) -> ScanLevel {
    match facts.pickle.as_ref().and_then(|pickle| pickle.highest) {
        Some(Safety::Dangerous) => ScanLevel::Unsafe,
        Some(Safety::Suspicious) => ScanLevel::Caution,
        _ if incomplete(facts) => ScanLevel::Caution,
        _ => ScanLevel::Safe,
    }
}

/// Parameters of a revision: `model.safetensors` alone, else the shards the index names
/// (each counted once), else none. `files` holds the facts of inspected files by path.
pub fn safetensors_count(
    files: &BTreeMap<String, FileFacts>,
    index_shards: Option<&[String]>,
) -> Option<ParameterCount> {
    let of = |path: &str| files.get(path).and_then(|facts| facts.safetensors.as_ref());
    let mut count = ParameterCount::default();
    if let Some(single) = of("model.safetensors") {
        count.add(&single.parameters);
        return Some(count);
    }
    let shards = index_shards?;
    let mut found = false;
    for shard in shards {
        if let Some(facts) = of(shard) {
            count.add(&facts.parameters);
            found = true;
        }
    }
    found.then_some(count)
}

/// The series a GGUF file belongs to: its path without a `-00001-of-00003` shard suffix.
fn gguf_series(path: &str) -> &str {
    let stem = path.strip_suffix(".gguf").unwrap_or(path);
    let bytes = stem.as_bytes();
    // `-NNNNN-of-NNNNN` is 15 bytes.
    if bytes.len() > 15 {
        let tail = &stem[stem.len() - 15..];
        let shape = tail.as_bytes();
        let digits = |range: std::ops::Range<usize>| shape[range].iter().all(u8::is_ascii_digit);
        if shape[0] == b'-' && digits(1..6) && &tail[6..10] == "-of-" && digits(10..15) {
            return &stem[..stem.len() - 15];
        }
    }
    stem
}

/// The GGUF summary: the first series by path (a repo of quantizations describes one model),
/// its shards' parameters summed, the rest from its first shard that has them.
pub fn gguf_summary(files: &BTreeMap<String, FileFacts>) -> Option<GgufSummary> {
    let mut ggufs = files.iter().filter_map(|(path, facts)| Some((path.as_str(), facts.gguf.as_ref()?)));
    let (first_path, _) = ggufs.clone().next()?;
    let series = gguf_series(first_path);
    let mut summary = GgufSummary::default();
    for (_, gguf) in ggufs.by_ref().filter(|(path, _)| gguf_series(path) == series) {
        summary.total = summary.total.saturating_add(gguf.total);
        summary.architecture = summary.architecture.take().or_else(|| gguf.architecture.clone());
        summary.context_length = summary.context_length.or(gguf.context_length);
        summary.chat_template = summary.chat_template.take().or_else(|| gguf.chat_template.clone());
        summary.bos_token = summary.bos_token.take().or_else(|| gguf.bos_token.clone());
        summary.eos_token = summary.eos_token.take().or_else(|| gguf.eos_token.clone());
    }
    Some(summary)
}

/// The flagged files, unsafe ones first, each level in path order, at most [`MAX_ISSUES`]
/// (so a thousand decoys of a lesser level never push an unsafe file out of the list).
pub fn issues(files: &BTreeMap<String, FileFacts>) -> Vec<FileIssue> {
    let mut flagged: Vec<FileIssue> = files
        .iter()
        .filter_map(|(path, facts)| match file_level(facts) {
            ScanLevel::Safe => None,
            level => Some(FileIssue { path: path.clone(), level }),
        })
        .collect();
    flagged.sort_by_key(|issue| issue.level != ScanLevel::Unsafe);
    flagged.truncate(MAX_ISSUES);
    flagged
}

#[cfg(test)]
mod tests {
    use kura_formats::inspect::{PickleFacts, ScannedImport};

    use super::*;

    fn pickle(highest: Safety) -> FileFacts {
        let import = ScannedImport { module: "m".into(), name: "n".into(), safety: highest };
        let pickle = PickleFacts { imports: vec![import], highest: Some(highest), ..Default::default() };
        FileFacts { pickle: Some(pickle), ..Default::default() }
    }

    #[test]
    fn unsafe_files_lead_the_issues_whatever_the_decoys() {
        let mut files: BTreeMap<String, FileFacts> =
            (0..MAX_ISSUES + 5).map(|n| (format!("a/{n:05}.pkl"), pickle(Safety::Suspicious))).collect();
        files.insert("z/evil.bin".into(), pickle(Safety::Dangerous));
        let found = issues(&files);
        assert_eq!(found.len(), MAX_ISSUES);
        assert_eq!(found[0], FileIssue { path: "z/evil.bin".into(), level: ScanLevel::Unsafe });
        assert!(found[1..].iter().all(|issue| issue.level == ScanLevel::Caution));
        assert_eq!(found[1].path, "a/00000.pkl", "then in path order");
    }

    #[test]
    fn a_file_not_read_to_its_end_is_never_safe() {
        let broken = FileFacts { error: Some("a tar archive is not read".into()), ..Default::default() };
        assert_eq!(file_level(&broken), ScanLevel::Caution);
        let mut cut = pickle(Safety::Innocuous);
        if let Some(pickle) = cut.pickle.as_mut() {
            pickle.error = Some("only the first 64 MiB were scanned".into());
        }
        assert_eq!(file_level(&cut), ScanLevel::Caution);
        assert_eq!(file_level(&pickle(Safety::Innocuous)), ScanLevel::Safe);
        assert_eq!(file_level(&pickle(Safety::Dangerous)), ScanLevel::Unsafe);
        assert_eq!(file_level(&FileFacts::default()), ScanLevel::Safe, "nothing pickled");
    }
}
