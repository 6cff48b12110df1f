//! Tests for pass 2 (delta resolution) of the pack reader, on packs built in memory.

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io::Cursor;

use super::*;
use crate::pack_read::PackLimits;
use crate::test_pack::{DeltaOp, TestPack, encode_delta, make_delta};

type Resolved = Vec<(ObjectId, ObjectKind, Vec<u8>)>;
type Bases = HashMap<ObjectId, (ObjectKind, Vec<u8>)>;
/// Objects as a comparable set of (id, content).
type ObjectSet = BTreeSet<(ObjectId, Vec<u8>)>;

fn limits() -> PackLimits {
    PackLimits { max_objects: 10_000, max_object_size: 1 << 20, ..PackLimits::default() }
}

/// Runs both passes; returns what was reported and how it ended.
fn run(pack: &[u8], limits: PackLimits, bases: &Bases) -> (Resolved, Result<(), GitError>) {
    let index = PackIndex::build(Cursor::new(pack), &limits).expect("pass 1 accepts the pack");
    let mut out = Vec::new();
    let result = index.resolve(
        Cursor::new(pack),
        |id| Ok(bases.get(id).cloned()),
        |object| {
            assert_eq!(hash_object(object.kind, object.content), object.id);
            out.push((object.id, object.kind, object.content.to_vec()));
            Ok::<_, GitError>(())
        },
    );
    (out, result)
}

fn resolve_all(pack: &[u8], limits: PackLimits, bases: &Bases) -> Resolved {
    let (out, result) = run(pack, limits, bases);
    result.expect("pass 2 resolves everything");
    out
}

fn expect(objects: &[(ObjectKind, &[u8])]) -> ObjectSet {
    objects.iter().map(|(kind, content)| (hash_object(*kind, content), content.to_vec())).collect()
}

fn as_set(resolved: &Resolved) -> ObjectSet {
    resolved.iter().map(|(id, _, content)| (*id, content.clone())).collect()
}

#[test]
fn resolves_all_kinds_and_both_delta_types() {
    let blob1 = b"line one\nline two\nline three\n".to_vec();
    let blob2 = b"line one\nline 2\nline three\n".to_vec();
    let blob3 = b"line one\nline 2\nline three\nline four\n".to_vec();
    let mut tree = b"100644 hello\0".to_vec();
    tree.extend_from_slice(&hash_object(ObjectKind::Blob, &blob1).0);
    let mut tree2 = tree.clone();
    tree2.extend_from_slice(b"100644 more\0");
    tree2.extend_from_slice(&hash_object(ObjectKind::Blob, &blob2).0);
    let commit = format!(
        "tree {}\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nfirst\n",
        hash_object(ObjectKind::Tree, &tree)
    );
    let tag = format!(
        "object {}\ntype commit\ntag v1\ntagger A <a@x> 1 +0000\n\nv1\n",
        hash_object(ObjectKind::Commit, commit.as_bytes())
    );
    let external = b"an object the server already has\n".to_vec();
    let external_id = hash_object(ObjectKind::Blob, &external);
    let thin = b"an object the server already has, edited\n".to_vec();

    let mut pack = TestPack::new();
    let b1 = pack.whole(ObjectKind::Blob, &blob1);
    let t1 = pack.whole(ObjectKind::Tree, &tree);
    pack.whole(ObjectKind::Commit, commit.as_bytes());
    pack.whole(ObjectKind::Tag, tag.as_bytes());
    let b2 = pack.ofs_delta(b1, &make_delta(&blob1, &blob2));
    pack.ofs_delta(b2, &make_delta(&blob2, &blob3));
    pack.ofs_delta(t1, &make_delta(&tree, &tree2));
    pack.ref_delta(hash_object(ObjectKind::Blob, &blob1), &make_delta(&blob1, b"short"));
    pack.ref_delta(external_id, &make_delta(&external, &thin));
    let pack = pack.finish();

    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    assert_eq!(index.missing_bases(), &[external_id]);
    let bases = Bases::from([(external_id, (ObjectKind::Blob, external.clone()))]);
    let resolved = resolve_all(&pack, limits(), &bases);
    assert_eq!(resolved.len(), 9);
    let expected = expect(&[
        (ObjectKind::Blob, &blob1),
        (ObjectKind::Tree, &tree),
        (ObjectKind::Commit, commit.as_bytes()),
        (ObjectKind::Tag, tag.as_bytes()),
        (ObjectKind::Blob, &blob2),
        (ObjectKind::Blob, &blob3),
        (ObjectKind::Tree, &tree2),
        (ObjectKind::Blob, b"short"),
        (ObjectKind::Blob, &thin),
    ]);
    assert_eq!(as_set(&resolved), expected);
    let tree2_kind = resolved.iter().find(|(_, _, content)| *content == tree2).map(|(_, kind, _)| *kind);
    assert_eq!(tree2_kind, Some(ObjectKind::Tree));
}

#[test]
fn ref_delta_may_build_on_a_later_delta_of_the_pack() {
    let (v1, v2, v3) = (b"first version".to_vec(), b"first version, then more".to_vec(), b"third".to_vec());
    let mut pack = TestPack::new();
    pack.ref_delta(hash_object(ObjectKind::Blob, &v2), &make_delta(&v2, &v3));
    let base = pack.whole(ObjectKind::Blob, &v1);
    pack.ofs_delta(base, &make_delta(&v1, &v2));
    let pack = pack.finish();
    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    assert_eq!(index.missing_bases(), &[hash_object(ObjectKind::Blob, &v2)]);
    let resolved = resolve_all(&pack, limits(), &Bases::new());
    let expected = expect(&[(ObjectKind::Blob, &v1), (ObjectKind::Blob, &v2), (ObjectKind::Blob, &v3)]);
    assert_eq!(as_set(&resolved), expected);
}

#[test]
fn missing_thin_base_is_reported_after_the_rest() {
    let absent = hash_object(ObjectKind::Blob, b"nowhere");
    let mut pack = TestPack::new();
    pack.whole(ObjectKind::Blob, b"present");
    let child = pack.ref_delta(absent, &make_delta(b"nowhere", b"somewhere"));
    pack.ofs_delta(child, &make_delta(b"somewhere", b"somewhere else"));
    let (out, result) = run(&pack.finish(), limits(), &Bases::new());
    assert_eq!(result, Err(GitError::MissingDeltaBase { base: absent }));
    assert_eq!(as_set(&out), expect(&[(ObjectKind::Blob, b"present")]));
}

#[test]
fn delta_cycles_are_unresolvable() {
    let (x, y) = (ObjectId([1; 20]), ObjectId([2; 20]));
    let mut pack = TestPack::new();
    pack.ref_delta(y, &[1, 1, 0x01, b'a']);
    pack.ref_delta(x, &[1, 1, 0x01, b'b']);
    let (out, result) = run(&pack.finish(), limits(), &Bases::new());
    assert!(out.is_empty());
    assert!(matches!(result, Err(GitError::MissingDeltaBase { base }) if base == y || base == x));
}

#[test]
fn provided_base_must_hash_to_its_id() {
    let base_id = hash_object(ObjectKind::Blob, b"real");
    let mut pack = TestPack::new();
    pack.ref_delta(base_id, &make_delta(b"real", b"derived"));
    let bases = Bases::from([(base_id, (ObjectKind::Blob, b"fake".to_vec()))]);
    let (_, result) = run(&pack.finish(), limits(), &bases);
    assert!(result.unwrap_err().to_string().contains("hashes to"));
}

#[test]
fn bad_deltas_fail_in_pass_two() {
    let mut out_of_bounds = TestPack::new();
    let base = out_of_bounds.whole(ObjectKind::Blob, b"0123456789");
    out_of_bounds.ofs_delta(base, &encode_delta(10, 5, &[DeltaOp::Copy { offset: 8, size: 5 }]));
    let (_, result) = run(&out_of_bounds.finish(), limits(), &Bases::new());
    assert!(result.unwrap_err().to_string().contains("copy outside the base"));
    let mut wrong_base = TestPack::new();
    let base = wrong_base.whole(ObjectKind::Blob, b"0123456789");
    wrong_base.ofs_delta(base, &encode_delta(11, 1, &[DeltaOp::Insert(b"x")]));
    let (_, result) = run(&wrong_base.finish(), limits(), &Bases::new());
    assert!(result.unwrap_err().to_string().contains("delta expects 11"));
}

/// A chain of `length` deltas on a base, optionally thin (base outside the pack).
fn chain(length: usize, thin: bool) -> (Vec<u8>, Bases, ObjectSet) {
    let mut versions = vec![b"start\n".to_vec()];
    for step in 0..length {
        let mut next = versions[step].clone();
        next.extend_from_slice(format!("line {step}\n").as_bytes());
        versions.push(next);
    }
    let mut pack = TestPack::new();
    let base_id = hash_object(ObjectKind::Blob, &versions[0]);
    let mut previous = if thin {
        pack.ref_delta(base_id, &make_delta(&versions[0], &versions[1]))
    } else {
        let base = pack.whole(ObjectKind::Blob, &versions[0]);
        pack.ofs_delta(base, &make_delta(&versions[0], &versions[1]))
    };
    for step in 1..length {
        previous = pack.ofs_delta(previous, &make_delta(&versions[step], &versions[step + 1]));
    }
    let reported = if thin { &versions[1..] } else { &versions[..] };
    let expected = reported.iter().map(|v| (hash_object(ObjectKind::Blob, v), v.clone())).collect();
    let bases = Bases::from([(base_id, (ObjectKind::Blob, versions[0].clone()))]);
    (pack.finish(), bases, expected)
}

#[test]
fn deep_chains_resolve_with_no_cache_at_all() {
    let (pack, bases, expected) = chain(300, false);
    let no_cache = PackLimits { delta_cache_bytes: 0, ..limits() };
    assert_eq!(as_set(&resolve_all(&pack, no_cache, &bases)), expected);
    let shallow = PackLimits { max_delta_depth: 100, ..limits() };
    let (_, result) = run(&pack, shallow, &bases);
    assert!(matches!(
        result,
        Err(GitError::LimitExceeded { what: "delta chain depth", value: 101, limit: 100 })
    ));
}

#[test]
fn a_linear_chain_holds_one_base_and_fetches_it_once() {
    let (pack, bases, expected) = chain(50, true);
    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    let index = PackIndex { limits: PackLimits { delta_cache_bytes: 0, ..limits() }, ..index };
    let fetches = Cell::new(0);
    let mut out = Resolved::new();
    index
        .resolve(
            Cursor::new(&pack),
            |id| {
                fetches.set(fetches.get() + 1);
                Ok(bases.get(id).cloned())
            },
            |object| {
                out.push((object.id, object.kind, object.content.to_vec()));
                Ok::<_, GitError>(())
            },
        )
        .unwrap();
    assert_eq!(fetches.get(), 1);
    assert_eq!(as_set(&out), expected);
}

/// Root with a leaf and a long chain (the leaf must go first), a branch point with two
/// chains, and a `REF_DELTA` on a delta in the middle.
fn branching_pack() -> (Vec<u8>, ObjectSet) {
    let mut pack = TestPack::new();
    let mut expected = BTreeSet::new();
    let mut add = |pack: &mut TestPack, base: Option<(u64, &[u8])>, content: Vec<u8>| {
        expected.insert((hash_object(ObjectKind::Blob, &content), content.clone()));
        let offset = match base {
            Some((offset, base)) => pack.ofs_delta(offset, &make_delta(base, &content)),
            None => pack.whole(ObjectKind::Blob, &content),
        };
        (offset, content)
    };
    let root = add(&mut pack, None, b"root content\n".repeat(4));
    add(&mut pack, Some((root.0, &root.1)), b"a leaf".to_vec());
    let mut spine = root.clone();
    let mut branch = None;
    for step in 0..20 {
        let content = [spine.1.clone(), format!("spine {step}\n").into_bytes()].concat();
        spine = add(&mut pack, Some((spine.0, &spine.1)), content);
        if step == 10 {
            branch = Some(spine.clone());
        }
    }
    let branch = branch.expect("set at step 10");
    for side in 0..2 {
        let mut tip = branch.clone();
        for step in 0..5 {
            let content = [tip.1.clone(), format!("side {side} {step}\n").into_bytes()].concat();
            tip = add(&mut pack, Some((tip.0, &tip.1)), content);
        }
    }
    let by_id = b"built by id on the branch point".to_vec();
    expected.insert((hash_object(ObjectKind::Blob, &by_id), by_id.clone()));
    pack.ref_delta(hash_object(ObjectKind::Blob, &branch.1), &make_delta(&branch.1, &by_id));
    (pack.finish(), expected)
}

#[test]
fn branching_trees_resolve_the_same_with_and_without_cache() {
    let (pack, expected) = branching_pack();
    for cache in [0, 100, 1 << 20] {
        let limits = PackLimits { delta_cache_bytes: cache, ..limits() };
        let resolved = resolve_all(&pack, limits, &Bases::new());
        assert_eq!(resolved.len(), expected.len(), "cache {cache}: each object exactly once");
        assert_eq!(as_set(&resolved), expected, "cache {cache}");
    }
}

#[derive(Debug, PartialEq)]
enum StoreError {
    Git(GitError),
    Full,
}

impl From<GitError> for StoreError {
    fn from(error: GitError) -> Self {
        StoreError::Git(error)
    }
}

#[test]
fn caller_errors_stop_resolution() {
    let (pack, _, _) = chain(5, false);
    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    let mut seen = 0;
    let result = index.resolve(
        Cursor::new(&pack),
        |_| Ok(None),
        |_| {
            seen += 1;
            if seen == 2 { Err(StoreError::Full) } else { Ok(()) }
        },
    );
    assert_eq!(result, Err(StoreError::Full));
    assert_eq!(seen, 2);
}

#[test]
fn duplicate_objects_are_reported_and_their_children_resolved_once() {
    let mut pack = TestPack::new();
    pack.whole(ObjectKind::Blob, b"same");
    pack.whole(ObjectKind::Blob, b"same");
    pack.ref_delta(hash_object(ObjectKind::Blob, b"same"), &make_delta(b"same", b"same plus"));
    let resolved = resolve_all(&pack.finish(), limits(), &Bases::new());
    assert_eq!(resolved.len(), 3);
    assert_eq!(as_set(&resolved), expect(&[(ObjectKind::Blob, b"same"), (ObjectKind::Blob, b"same plus")]));
}

#[test]
fn a_pack_changed_between_passes_is_detected() {
    let build = |content: &[u8]| {
        let mut pack = TestPack::new();
        pack.whole(ObjectKind::Blob, content);
        pack.finish()
    };
    let (first, second) = (build(b"hello\n"), build(b"jello\n"));
    let index = PackIndex::build(Cursor::new(&first), &limits()).unwrap();
    let result = index.resolve(Cursor::new(&second), |_| Ok(None), |_| Ok::<_, GitError>(()));
    assert!(result.unwrap_err().to_string().contains("changed between the two passes"));
}

#[test]
fn pass_two_stops_when_deltas_produce_more_than_twice_the_budget() {
    let (pack, _, expected) = chain(50, false);
    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    let total = index.inflated_bytes();
    let exact = PackIndex { limits: PackLimits { max_inflated_bytes: total, ..limits() }, ..index };
    assert_eq!(as_set(&collect(&exact, &pack).unwrap()), expected);
    let index = PackIndex::build(Cursor::new(&pack), &limits()).unwrap();
    let quarter = PackIndex { limits: PackLimits { max_inflated_bytes: total / 4, ..limits() }, ..index };
    let error = collect(&quarter, &pack).unwrap_err();
    assert!(matches!(error, GitError::LimitExceeded { what: "bytes produced by deltas", .. }), "{error}");
}

fn collect(index: &PackIndex, pack: &[u8]) -> Result<Resolved, GitError> {
    let mut out = Resolved::new();
    index.resolve(
        Cursor::new(pack),
        |_| Ok(None),
        |object| {
            out.push((object.id, object.kind, object.content.to_vec()));
            Ok::<_, GitError>(())
        },
    )?;
    Ok(out)
}
