//! Preupload: which files of a coming commit travel inline in it and which through LFS, and
//! which of them the target revision already holds.

use kura_model::{ObjectId, RepoPath};
use kura_storage::RepoRecord;

use crate::browse::Entry;
use crate::error::Result;
use crate::gitattributes::{is_lfs_path, lfs_patterns};
use crate::gitignore::{GitIgnore, MAX_GITIGNORE_BYTES};
use crate::services::Repos;

/// Files at least this large go to LFS, as on the Hub.
pub const LFS_THRESHOLD: u64 = 10 * 1000 * 1000;

/// One file a client means to upload, as it describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadCandidate {
    pub path: RepoPath,
    pub size: u64,
    /// The first bytes of the file (the Hub's clients send up to 512).
    pub sample: Vec<u8>,
}

/// How a file travels to the repo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadMode {
    /// Inline in the commit.
    Regular,
    /// Uploaded through LFS first; the commit carries its pointer.
    Lfs,
}

/// The answer for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpload {
    pub mode: UploadMode,
    /// The root `.gitignore` excludes the file: the client skips it.
    pub should_ignore: bool,
    /// The id the revision already holds for this path in this mode (the git blob id of a
    /// regular file, the sha256 of an LFS file), so the client may skip the upload.
    pub existing: Option<String>,
}

/// The answer to a preupload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preupload {
    /// The commit the revision resolved to.
    pub commit: ObjectId,
    /// One answer per candidate, in order.
    pub files: Vec<PlannedUpload>,
}

/// The routing rule, one mode per file in order. A non-empty file goes to LFS when it is at
/// least [`LFS_THRESHOLD`] bytes, when `.gitattributes` routes its path there
/// (`lfs_patterns`), when its sample holds a NUL byte (binary), or when taking it inline would
/// push the inline total of the commit past `inline_budget` (the commit carries regular files
/// inline, at most that much, so an upload of many small text files still fits in one commit).
pub fn upload_modes(
    files: &[UploadCandidate],
    lfs_patterns: &[String],
    inline_budget: u64,
) -> Vec<UploadMode> {
    let mut inline_total = 0u64;
    files
        .iter()
        .map(|file| {
            let lfs = file.size > 0
                && (file.size >= LFS_THRESHOLD
                    || is_lfs_path(lfs_patterns, file.path.as_str())
                    || file.sample.contains(&0)
                    || inline_total.saturating_add(file.size) > inline_budget);
            if lfs {
                UploadMode::Lfs
            } else {
                inline_total += file.size;
                UploadMode::Regular
            }
        })
        .collect()
}

impl Repos<'_> {
    /// Plans the uploads of a commit to `revision` (the caller has checked the right to
    /// prepare it): the mode of each file under the revision's `.gitattributes` and the
    /// inline budget, and what the revision already holds at each path.
    pub async fn preupload(
        &self,
        repo: &RepoRecord,
        revision: &str,
        files: &[UploadCandidate],
    ) -> Result<Preupload> {
        let resolved = self.resolve_revision(repo, revision).await?;
        let root = self.commit_tree(&resolved.commit).await?;
        let patterns = lfs_patterns(&self.root_text(root, ".gitattributes", u64::MAX).await?);
        let modes = upload_modes(files, &patterns, self.config.limits.commit_max_inline_bytes);
        let ignore = match uploaded_gitignore(files) {
            Some(text) => GitIgnore::parse(&text),
            None => GitIgnore::parse(&self.root_text(root, ".gitignore", MAX_GITIGNORE_BYTES as u64).await?),
        };
        let mut planned = Vec::with_capacity(files.len());
        for (file, mode) in files.iter().zip(modes) {
            let existing = match self.lookup(root, &file.path).await? {
                Some(Entry::File { info, .. }) if mode == UploadMode::Lfs => info.lfs.map(|l| l.oid.to_hex()),
                Some(Entry::File { oid, info, .. }) if info.lfs.is_none() => Some(oid.to_hex()),
                _ => None,
            };
            planned.push(PlannedUpload { mode, should_ignore: ignore.ignores(file.path.as_str()), existing });
        }
        Ok(Preupload { commit: resolved.commit, files: planned })
    }
}

impl Repos<'_> {
    /// The text of the plain (not LFS) file `name` at the root of tree `root`, when it holds at
    /// most `max_bytes`; otherwise nothing, as when the file is missing.
    async fn root_text(&self, root: ObjectId, name: &str, max_bytes: u64) -> Result<String> {
        let path = RepoPath::parse(name)?;
        Ok(match self.lookup(root, &path).await? {
            Some(Entry::File { oid, info, .. }) if info.lfs.is_none() && info.size <= max_bytes => {
                String::from_utf8_lossy(&self.read_small_blob(&oid).await?).into_owned()
            }
            _ => String::new(),
        })
    }
}

/// A root `.gitignore` the upload itself brings, when its sample is the whole file (the
/// clients send the first 512 bytes): the Hub applies the uploaded rules to the same upload.
fn uploaded_gitignore(files: &[UploadCandidate]) -> Option<String> {
    files
        .iter()
        .find(|f| f.path.as_str() == ".gitignore" && f.size == f.sample.len() as u64)
        .map(|f| String::from_utf8_lossy(&f.sample).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, size: u64, sample: &[u8]) -> UploadCandidate {
        UploadCandidate { path: RepoPath::parse(path).unwrap(), size, sample: sample.to_vec() }
    }

    #[test]
    fn routes_large_binary_and_attributed_files_to_lfs() {
        let patterns = vec!["*.bin".to_owned()];
        let files = [
            file("a.txt", 10, b"hello"),
            file("b.bin", 10, b"hello"),
            file("c.txt", LFS_THRESHOLD, b"text"),
            file("d.txt", 10, b"ab\0cd"),
            file("e.bin", 0, b""),
        ];
        let modes = upload_modes(&files, &patterns, u64::MAX);
        use UploadMode::{Lfs, Regular};
        assert_eq!(modes, [Regular, Lfs, Lfs, Lfs, Regular], "empty files stay inline");
    }

    #[test]
    fn files_past_the_inline_budget_go_to_lfs() {
        let files = [file("a", 60, b""), file("b", 60, b""), file("c", 40, b""), file("d", 1, b"")];
        let modes = upload_modes(&files, &[], 100);
        use UploadMode::{Lfs, Regular};
        // The second file would pass the budget; the third still fits beside the first.
        assert_eq!(modes, [Regular, Lfs, Regular, Lfs]);
    }
}
