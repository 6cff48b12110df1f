//! Resolving data-file patterns against a repo's file list (`resolve_pattern`,
//! `DataFilesList.from_patterns`) and finding the default split patterns (`get_data_patterns`,
//! `_get_data_files_patterns`) as `datasets` 5.2.0 does.

use std::cell::Cell;

use super::formats::{basename, has_allowed_extension};
use super::glob::{Glob, has_magic, inside_unrequested_special_dir, unrequested_hidden};
use super::yaml::valid_split_name;
use super::{SplitSpec, SplitsError};

/// One file of the repo at the revision: its path from the repo root and its size in bytes (the
/// size does not influence the inference; `datasets` ignores it too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoFile<'a> {
    pub path: &'a str,
    pub size: u64,
}

/// `FILES_TO_IGNORE`: never data, unless a pattern names them.
const FILES_TO_IGNORE: &[&str] = &[
    "README.md",
    "config.json",
    "dataset_info.json",
    "dataset_infos.json",
    "dummy_data.zip",
    "dataset_dict.json",
];

/// `SPLIT_PATTERN_SHARDED` with the split left open.
const SHARDED: &str = "data/{split}-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*";

const KEYWORDS: &[(&str, &[&str])] = &[
    ("train", &["train", "training"]),
    ("validation", &["validation", "valid", "dev", "val"]),
    ("test", &["test", "testing", "eval", "evaluation"]),
];
const SEP: &str = "[-._ 0-9]";
const DIR_PATTERNS: &[&str] = &["**/{k}/**", "**/{k}{s}*/**", "**/*{s}{k}/**", "**/*{s}{k}{s}*/**"];
const FILE_PATTERNS: &[&str] = &["**/{k}{s}*", "**/*{s}{k}{s}*"];

/// Split → patterns, in order.
pub(super) type Patterns = Vec<(String, Vec<String>)>;

/// Longest data-file pattern accepted.
pub(super) const MAX_PATTERN_LEN: usize = 1024;
/// Most glob-matching work in one inference: path characters × pattern tokens, summed over the
/// paths a pattern is tried on (those that contain its longest literal).
pub(super) const MAX_MATCH_WORK: u64 = 2_000_000_000;

/// Pattern resolution failed.
enum Miss {
    NotFound,
    Invalid,
    Budget(SplitsError),
}

impl Miss {
    fn into_error(self, pattern: &str, full: String) -> Option<SplitsError> {
        match self {
            Self::NotFound if has_magic(pattern) => None,
            Self::NotFound => Some(SplitsError::FileNotFound(full)),
            Self::Invalid => Some(SplitsError::InvalidPattern(pattern.to_owned())),
            Self::Budget(e) => Some(e),
        }
    }
}

/// The repo's files, sorted by path (fsspec's glob sorts its matches).
pub(super) struct Repo<'a> {
    paths: Vec<&'a str>,
    /// Matching work spent so far, against [`MAX_MATCH_WORK`].
    work: Cell<u64>,
}

impl<'a> Repo<'a> {
    pub(super) fn new(files: &[RepoFile<'a>]) -> Self {
        let mut paths: Vec<&str> = files.iter().map(|f| f.path).collect();
        paths.sort_unstable();
        paths.dedup();
        Self { paths, work: Cell::new(0) }
    }

    /// `resolve_pattern`: the files matching `pattern` (already joined to the base directory).
    fn resolve(&self, pattern: &str, allowed_only: bool, first_only: bool) -> Result<Vec<&'a str>, Miss> {
        if pattern.len() > MAX_PATTERN_LEN {
            return Err(Miss::Budget(SplitsError::PatternTooLong(pattern.len())));
        }
        if pattern.starts_with('/') || pattern.contains("://") || pattern.contains("::") {
            return Err(Miss::NotFound);
        }
        let ignored = |p: &str| FILES_TO_IGNORE.contains(&basename(p)) && basename(p) != basename(pattern);
        let keep = |p: &str| {
            !(ignored(p)
                || inside_unrequested_special_dir(p, pattern)
                || unrequested_hidden(p, pattern)
                || (allowed_only && !has_allowed_extension(p)))
        };
        let mut out = Vec::new();
        if !has_magic(pattern) {
            if let Ok(i) = self.paths.binary_search(&pattern) {
                out.extend(Some(self.paths[i]).filter(|p| keep(p)));
            }
        } else {
            let glob = Glob::new(pattern).map_err(|_| Miss::Invalid)?;
            for p in self.under(literal_root(pattern)) {
                if !glob.could_match(p) {
                    continue;
                }
                let work = self.work.get().saturating_add(glob.cost(p));
                if work > MAX_MATCH_WORK {
                    return Err(Miss::Budget(SplitsError::TooMuchWork));
                }
                self.work.set(work);
                if glob.matches(p) && keep(p) {
                    out.push(*p);
                    if first_only {
                        break;
                    }
                }
            }
        }
        if out.is_empty() { Err(Miss::NotFound) } else { Ok(out) }
    }

    /// The sorted paths starting with `root` (fsspec lists only below the pattern's root).
    fn under<'s>(&'s self, root: &'s str) -> impl Iterator<Item = &'s &'a str> {
        let start = self.paths.partition_point(|p| *p < root);
        self.paths[start..].iter().take_while(move |p| p.starts_with(root))
    }

    /// Whether the pattern finds any file (data or not), as `_get_data_files_patterns` asks.
    fn finds(&self, base: &str, pattern: &str) -> Result<bool, SplitsError> {
        let full = join(base, pattern);
        match self.resolve(&full, false, true) {
            Ok(_) => Ok(true),
            Err(miss) => miss.into_error(pattern, full).map_or(Ok(false), Err),
        }
    }

    /// `DataFilesDict.from_patterns` with `_ALL_ALLOWED_EXTENSIONS`, relative to `base`.
    pub(super) fn resolve_splits(
        &self,
        base: &str,
        patterns: &Patterns,
    ) -> Result<Vec<SplitSpec>, SplitsError> {
        let mut out = Vec::with_capacity(patterns.len());
        for (split, list) in patterns {
            let mut files = Vec::new();
            for pattern in list {
                let full = join(base, pattern);
                match self.resolve(&full, true, false) {
                    Ok(found) => files.extend(found.into_iter().map(str::to_owned)),
                    Err(miss) => {
                        if let Some(e) = miss.into_error(pattern, full) {
                            return Err(e);
                        }
                    }
                }
            }
            out.push(SplitSpec { name: split.clone(), files });
        }
        Ok(out)
    }

    /// `get_data_patterns(base)`: the first family of default patterns that finds files.
    pub(super) fn data_patterns(&self, base: &str) -> Result<Patterns, SplitsError> {
        if let Some(sharded) = self.sharded_splits(base)? {
            return Ok(sharded);
        }
        let families: [Patterns; 5] = [
            vec![("logs".into(), vec!["**/*.eval".into()])],
            vec![("test".into(), vec!["**/task.toml".into(), "**/instruction.md".into()])],
            keyword_patterns(DIR_PATTERNS),
            keyword_patterns(FILE_PATTERNS),
            vec![("train".into(), vec!["**".into()])],
        ];
        for family in families {
            let mut found: Patterns = Vec::new();
            for (split, list) in family {
                if any_finds(self, base, &list)? {
                    found.push((split, list));
                }
            }
            if !found.is_empty() {
                return Ok(found);
            }
        }
        Err(SplitsError::EmptyDataset(String::new()))
    }

    /// `data/{split}-NNNNN-of-NNNNN*.*`: splits train, validation, test first, then the others
    /// sorted.
    fn sharded_splits(&self, base: &str) -> Result<Option<Patterns>, SplitsError> {
        let found = match self.resolve(&join(base, &SHARDED.replace("{split}", "*")), false, false) {
            Ok(found) => found,
            Err(Miss::Budget(e)) => return Err(e),
            Err(_) => return Ok(None),
        };
        let mut splits: Vec<&str> = found.iter().filter_map(|p| shard_split(basename(p))).collect();
        splits.sort_unstable();
        splits.dedup();
        if let Some(bad) = splits.iter().find(|s| !valid_split_name(s)) {
            return Err(SplitsError::InvalidSplitName((*bad).to_owned()));
        }
        let known = ["train", "validation", "test"];
        let ordered = known
            .iter()
            .filter(|k| splits.contains(k))
            .copied()
            .chain(splits.iter().filter(|s| !known.contains(s)).copied());
        Ok(Some(ordered.map(|s| (s.to_owned(), vec![SHARDED.replace("{split}", s)])).collect()))
    }
}

fn any_finds(repo: &Repo<'_>, base: &str, patterns: &[String]) -> Result<bool, SplitsError> {
    for p in patterns {
        if repo.finds(base, p)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The literal directory prefix of a glob: up to the last `/` before its first magic character.
fn literal_root(pattern: &str) -> &str {
    let magic = pattern.find(['*', '?', '[']).unwrap_or(pattern.len());
    &pattern[..pattern[..magic].rfind('/').map_or(0, |i| i + 1)]
}

/// `string_to_dict(name, "{split}-[0-9]{5}-of-[0-9]{5}*.*")` as a regex search: the split is the
/// longest prefix followed by `-DDDDD-of-DDDD`.
fn shard_split(name: &str) -> Option<&str> {
    let bytes = name.as_bytes();
    let tail_ok = |i: usize| {
        let t = &bytes[i..];
        t.len() >= 14
            && t[0] == b'-'
            && t[1..6].iter().all(u8::is_ascii_digit)
            && &t[6..10] == b"-of-"
            && t[10..14].iter().all(u8::is_ascii_digit)
    };
    (1..bytes.len()).rev().find(|&i| tail_ok(i)).map(|i| &name[..i])
}

fn keyword_patterns(templates: &[&str]) -> Patterns {
    KEYWORDS
        .iter()
        .map(|(split, words)| {
            let list = words
                .iter()
                .flat_map(|k| templates.iter().map(move |t| t.replace("{k}", k).replace("{s}", SEP)))
                .collect();
            ((*split).to_owned(), list)
        })
        .collect()
}

/// `posixpath.join(base, pattern)` for relative paths.
fn join(base: &str, pattern: &str) -> String {
    if base.is_empty() || pattern.starts_with('/') {
        pattern.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{pattern}")
    } else {
        format!("{base}/{pattern}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_names() {
        assert_eq!(shard_split("train-00000-of-00002.parquet"), Some("train"));
        assert_eq!(shard_split("a-b-00001-of-00002.csv"), Some("a-b"));
        assert_eq!(shard_split("-00000-of-00001.csv"), None);
    }
}
