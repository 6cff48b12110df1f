//! The three-way merge of a pull request (`kura_core::merge_trees`) on small trees built from
//! the input: never a panic; a merge takes every entry from one of the two sides, keeps a
//! change made on only one side, drops a path only where a side deleted it and the other left
//! it as it was, and never holds a file where it also holds a folder; merging a tree with
//! itself gives it back.
#![no_main]

use kura_core::{FlatTree, merge_trees};
use kura_git::EntryMode;
use kura_model::ObjectId;
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 8] = ["a", "b", "a/b", "a/c", "c/d", "c", "d/e/f", "d"];

/// Three trees from triples of bytes: which tree, which path, which blob (0 removes it).
fn trees(data: &[u8]) -> [FlatTree; 3] {
    let mut out: [FlatTree; 3] = Default::default();
    for triple in data.chunks_exact(3) {
        let tree = &mut out[usize::from(triple[0] % 3)];
        let path = PATHS[usize::from(triple[1] % 8)].to_owned();
        match triple[2] % 4 {
            0 => tree.remove(&path),
            blob => tree.insert(path, (EntryMode::File, ObjectId([blob; 20]))),
        };
    }
    out
}

fn clash_free(tree: &FlatTree) -> bool {
    tree.keys().all(|path| {
        let mut parent = path.as_str();
        while let Some((up, _)) = parent.rsplit_once('/') {
            if tree.contains_key(up) {
                return false;
            }
            parent = up;
        }
        true
    })
}

fuzz_target!(|data: &[u8]| {
    let [base, ours, theirs] = trees(data);
    if let Ok(merged) = merge_trees(&base, &ours, &theirs) {
        assert!(clash_free(&merged));
        for (path, entry) in &merged {
            assert!(ours.get(path) == Some(entry) || theirs.get(path) == Some(entry), "{path}");
        }
        for path in base.keys().chain(ours.keys()).chain(theirs.keys()) {
            let (b, o, t) = (base.get(path), ours.get(path), theirs.get(path));
            let m = merged.get(path);
            if o == b {
                assert_eq!(m, t, "{path}: only theirs changed");
            } else if t == b {
                assert_eq!(m, o, "{path}: only ours changed");
            }
        }
    }
    if clash_free(&ours) {
        assert_eq!(merge_trees(&base, &ours, &ours).as_ref(), Ok(&ours));
    }
});
