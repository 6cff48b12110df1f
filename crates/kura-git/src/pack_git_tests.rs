//! Reads packs written by the real `git pack-objects`: full packs with `OFS_DELTA` and with
//! `REF_DELTA` entries, and a thin pack. `git` must be on PATH; without it these tests fail.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::{Cursor, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::*;
use crate::pack_read::{EntryKind, PackLimits};

/// A throwaway repository in the system temp dir, removed on drop.
struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("kura-git-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the temp repo dir");
        let repo = Self { dir };
        repo.git(&["init", "-q", "-b", "main"], b"");
        repo
    }

    fn git(&self, args: &[&str], stdin: &[u8]) -> Vec<u8> {
        let mut child = Command::new("git")
            .args(args)
            .current_dir(&self.dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Kura Test")
            .env("GIT_AUTHOR_EMAIL", "test@kura.invalid")
            .env("GIT_COMMITTER_NAME", "Kura Test")
            .env("GIT_COMMITTER_EMAIL", "test@kura.invalid")
            .env("GIT_AUTHOR_DATE", "1700000000 +0000")
            .env("GIT_COMMITTER_DATE", "1700000000 +0000")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("git must be installed and on PATH for these tests");
        child.stdin.take().expect("stdin is piped").write_all(stdin).expect("write to git");
        let output = child.wait_with_output().expect("wait for git");
        assert!(output.status.success(), "git {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        output.stdout
    }

    fn write(&self, path: &str, content: &[u8]) {
        std::fs::write(self.dir.join(path), content).expect("write a work tree file");
    }

    /// Ids listed by `git rev-list --objects <revs>`.
    fn object_ids(&self, revs: &[&str]) -> BTreeSet<ObjectId> {
        let args = [&["rev-list", "--objects"][..], revs].concat();
        let listing = String::from_utf8(self.git(&args, b"")).expect("rev-list prints text");
        listing.lines().map(|line| ObjectId::from_hex(&line[..40]).expect("rev-list prints ids")).collect()
    }

    fn object(&self, id: &ObjectId) -> (ObjectKind, Vec<u8>) {
        let hex = id.to_hex();
        let kind_text = self.git(&["cat-file", "-t", &hex], b"");
        let kind = ObjectKind::parse(kind_text.trim_ascii()).expect("cat-file prints a kind");
        (kind, self.git(&["cat-file", kind.as_str(), &hex], b""))
    }

    /// Runs `git pack-objects` on `revs` and stores the pack as a file in the repo dir.
    fn pack(&self, flags: &[&str], revs: &str) -> PathBuf {
        let args = [&["pack-objects", "-q", "--revs", "--stdout"][..], flags].concat();
        let pack = self.git(&args, revs.as_bytes());
        let path = self.dir.join(format!("test-{}.pack", flags.join("")));
        std::fs::write(&path, pack).expect("store the pack");
        path
    }
}

impl Drop for Repo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn pseudo_random(len: usize, mut seed: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (seed >> 16) as u8
        })
        .collect()
}

/// History with a text file edited in every commit (so git deltas it), a large incompressible
/// blob, a nested tree and an annotated tag.
fn history(name: &str) -> Repo {
    let repo = Repo::new(name);
    let mut lines: Vec<String> = (0..2000).map(|i| format!("line {i}: {}\n", i * 7919 % 1000)).collect();
    std::fs::create_dir_all(repo.dir.join("nested")).expect("create a subdirectory");
    repo.write("random.bin", &pseudo_random(200_000, 7));
    for commit in 0..6 {
        lines[commit * 300] = format!("changed in commit {commit}\n");
        repo.write("big.txt", lines.concat().as_bytes());
        repo.write("nested/small.txt", format!("small {commit}\n").as_bytes());
        repo.git(&["add", "-A"], b"");
        repo.git(&["commit", "-q", "-m", &format!("commit {commit}")], b"");
    }
    repo.git(&["tag", "-a", "v1", "-m", "a tag"], b"");
    repo
}

/// Both passes over a pack file; the ids reported, plus the pass-1 index.
fn read_pack(repo: &Repo, path: &PathBuf) -> (PackIndex, Vec<ObjectId>) {
    let limits = PackLimits::default();
    let index = PackIndex::build(File::open(path).expect("open the pack"), &limits).expect("pass 1");
    let bases: HashMap<ObjectId, (ObjectKind, Vec<u8>)> =
        index.missing_bases().iter().map(|id| (*id, repo.object(id))).collect();
    let mut ids = Vec::new();
    index
        .resolve(
            File::open(path).expect("open the pack"),
            |id| Ok(bases.get(id).cloned()),
            |object| {
                ids.push(object.id);
                Ok::<_, GitError>(())
            },
        )
        .expect("pass 2");
    (index, ids)
}

fn count(index: &PackIndex, predicate: impl Fn(&EntryKind) -> bool) -> usize {
    index.entries.iter().filter(|entry| predicate(&entry.kind)).count()
}

#[test]
fn reads_a_git_pack_with_offset_deltas() {
    let repo = history("ofs");
    let path = repo.pack(&["--all", "--delta-base-offset"], "");
    let (index, ids) = read_pack(&repo, &path);
    assert!(count(&index, |kind| matches!(kind, EntryKind::OfsDelta { .. })) >= 5, "git wrote offset deltas");
    assert!(index.missing_bases().is_empty());
    assert_eq!(ids.len(), index.object_count() as usize);
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), repo.object_ids(&["--all"]));
}

#[test]
fn reads_a_git_pack_with_ref_deltas() {
    let repo = history("ref");
    let path = repo.pack(&["--all"], "");
    let (index, ids) = read_pack(&repo, &path);
    assert!(count(&index, |kind| matches!(kind, EntryKind::RefDelta { .. })) >= 5, "git wrote ref deltas");
    let all = repo.object_ids(&["--all"]);
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), all);
    // Bases that are deltas themselves are listed as missing, yet the pack resolves alone.
    assert!(index.missing_bases().iter().all(|base| all.contains(base)));
    let pack = std::fs::read(&path).expect("read the pack");
    let mut alone = BTreeSet::new();
    let result = index.resolve(
        Cursor::new(&pack),
        |_| Ok(None),
        |object| {
            alone.insert(object.id);
            Ok::<_, GitError>(())
        },
    );
    assert_eq!(result, Ok(()));
    assert_eq!(alone, all);
}

#[test]
fn reads_a_thin_git_pack_with_bases_from_the_repo() {
    let repo = history("thin");
    let path = repo.pack(&["--thin", "--delta-base-offset"], "HEAD\n^HEAD~1\n");
    let (index, ids) = read_pack(&repo, &path);
    assert!(!index.missing_bases().is_empty(), "git wrote a thin pack");
    assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), repo.object_ids(&["HEAD", "^HEAD~1"]));
    // Without its bases, the same pack cannot be resolved.
    let pack = std::fs::read(&path).expect("read the pack");
    let index = PackIndex::build(Cursor::new(&pack), &PackLimits::default()).expect("pass 1");
    let result = index.resolve(Cursor::new(&pack), |_| Ok(None), |_| Ok::<_, GitError>(()));
    assert!(matches!(result, Err(GitError::MissingDeltaBase { .. })));
}
