//! The inspector driven as the indexer drives it: ranges of an in-memory file served on
//! request. Inputs are built by hand here (zips stored, deflated and zip64, legacy torch
//! streams, numpy arrays, safetensors and GGUF headers), then broken in every way that
//! matters: truncated, lying offsets, over budget.

use super::build::{
    Entry, entry, legacy_torch, npy, safetensors as safetensors_file, torch_pickle, torch_zip,
    zip as build_zip,
};
use super::*;
use crate::gguf::build::{Kv, header};

/// Runs an inspector over `data` named `path`: the facts and the ranges it read.
pub(super) fn run(path: &str, data: &[u8]) -> (FileFacts, Vec<(u64, u64)>) {
    let mut inspector = Inspector::for_path(path, data.len() as u64).expect("a name the hub reads");
    let mut reads = Vec::new();
    for _ in 0..100_000 {
        match inspector.step() {
            Step::Read { offset, len } => {
                assert!(offset + len <= data.len() as u64, "{path}: a read past the end");
                reads.push((offset, len));
                inspector.feed(&data[offset as usize..(offset + len) as usize]);
            }
            Step::Done(facts) => return (facts, reads),
        }
    }
    panic!("{path}: the inspector never finished");
}

fn scan(path: &str, data: &[u8]) -> FileFacts {
    run(path, data).0
}

/// The (module, name, safety) of every import listed.
pub(super) fn imports(facts: &FileFacts) -> Vec<(String, String, Safety)> {
    let pickle = facts.pickle.as_ref().expect("pickle facts");
    pickle.imports.iter().map(|i| (i.module.clone(), i.name.clone(), i.safety)).collect()
}

pub(super) fn import(module: &str, name: &str, safety: Safety) -> (String, String, Safety) {
    (module.to_owned(), name.to_owned(), safety)
}

pub(super) const OS_SYSTEM: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";

pub(super) fn torch_imports() -> Vec<(String, String, Safety)> {
    vec![
        import("collections", "OrderedDict", Safety::Innocuous),
        import("torch", "FloatStorage", Safety::Innocuous),
        import("torch._utils", "_rebuild_tensor_v2", Safety::Innocuous),
    ]
}

#[test]
fn a_torch_zip_is_read_through_its_pickle_member_only() {
    let tensor = vec![0x80u8; 1 << 20];
    for zip64 in [false, true] {
        let file = torch_zip(zip64, &tensor);
        let (facts, reads) = run("pytorch_model.bin", &file);
        assert_eq!(imports(&facts), torch_imports(), "zip64 {zip64}");
        assert_eq!(facts.error, None);
        let pickle = facts.pickle.unwrap();
        assert_eq!((pickle.highest, pickle.error), (Some(Safety::Innocuous), None));
        let read: u64 = reads.iter().map(|(_, len)| len).sum();
        assert!(read < 200 << 10, "{read} bytes read of {}", file.len());
    }
}

#[test]
fn a_pickle_in_any_member_is_found_by_its_magic_and_deflated_members_are_inflated() {
    let mut hidden = b"\x80\x02".to_vec();
    hidden.extend_from_slice(OS_SYSTEM);
    let pickle = torch_pickle();
    let entries = [
        Entry { name: "archive/data.pkl", data: &pickle, deflated: true },
        entry("archive/data/1", &hidden),
        Entry { name: "payload", data: b"cbuiltins\neval\n.", deflated: true },
        Entry { name: "extra.pkl", data: b"csubprocess\nPopen\n.", deflated: true },
    ];
    let facts = scan("model.pt", &build_zip(&entries, false));
    let mut expected = torch_imports();
    expected.insert(1, import("os", "system", Safety::Dangerous));
    expected.insert(2, import("subprocess", "Popen", Safety::Dangerous));
    assert_eq!(imports(&facts), expected, "a member without pickle name or magic is not scanned");
    assert_eq!(facts.pickle.unwrap().highest, Some(Safety::Dangerous));
    assert_eq!(facts.error, None);
}

#[test]
fn a_legacy_torch_file_is_scanned_up_to_its_tensor_data() {
    // Raw storage bytes follow; they are not pickle even when they look like one.
    let file = legacy_torch(&torch_pickle(), b"\x04\x00\x00\x00\x00\x00\x00\x00cos\nsystem\n.");
    let facts = scan("old.pth", &file);
    assert_eq!(imports(&facts), torch_imports());
    assert_eq!((facts.error, facts.pickle.unwrap().error), (None, None));
}

#[test]
fn a_pytorch_name_on_a_plain_pickle_is_scanned_as_one() {
    let facts = scan("model.bin", OS_SYSTEM);
    assert_eq!(imports(&facts), vec![import("os", "system", Safety::Dangerous)]);
    // Not a pickle at all (a raw GGML file, say): nothing runs, nothing reported.
    let raw = facts_of_raw();
    assert_eq!(raw.error, None);
    assert_eq!(raw.pickle, Some(PickleFacts::default()));
}

fn facts_of_raw() -> FileFacts {
    scan("ggml-model.bin", b"lmgg\x01\x00\x00\x00\xff\xfe\xfd")
}

#[test]
fn numpy_arrays_of_objects_are_scanned_and_plain_ones_are_not() {
    let objects = scan("a.npy", &npy("'|O'", OS_SYSTEM));
    assert_eq!(imports(&objects), vec![import("os", "system", Safety::Dangerous)]);
    let fields = scan("a.npy", &npy("[('Other', '<f4'), ('x', 'object')]", OS_SYSTEM));
    assert_eq!(imports(&fields), vec![import("os", "system", Safety::Dangerous)]);
    let plain = scan("a.npy", &npy("[('Other', '<f4')]", OS_SYSTEM));
    assert_eq!(plain, FileFacts::default());
    let pickled = scan("b.npy", OS_SYSTEM);
    assert_eq!(imports(&pickled), vec![import("os", "system", Safety::Dangerous)]);
    let long = scan("a.npy", &npy(&format!("'<f4', 'x': '{}'", "y".repeat(20_000)), b""));
    assert!(long.error.unwrap().contains("over numpy's limit"));
    let zip = scan("c.npy", &build_zip(&[entry("a", b"")], false));
    assert!(zip.error.unwrap().contains("zip archive"));
    let array = npy("'|O'", OS_SYSTEM);
    let npz = scan("arrays.npz", &build_zip(&[Entry { name: "x.npy", data: &array, deflated: true }], false));
    assert_eq!(imports(&npz), vec![import("os", "system", Safety::Dangerous)]);
}

#[test]
fn pickle_files_are_scanned_whole_and_broken_ones_say_so() {
    let mut two = b"\x80\x02K\x01.".to_vec();
    two.extend_from_slice(b"cbuiltins\nexec\n.");
    assert_eq!(imports(&scan("two.pkl", &two)), vec![import("builtins", "exec", Safety::Dangerous)]);
    let cut = scan("cut.joblib", &OS_SYSTEM[..OS_SYSTEM.len() - 3]);
    assert_eq!(imports(&cut), vec![import("os", "system", Safety::Dangerous)]);
    assert!(cut.pickle.unwrap().error.is_some(), "a pickle cut after an import");
    let odd = scan("x.pickle", b"cnumpy\nsome_function\n.");
    assert_eq!(odd.pickle.unwrap().highest, Some(Safety::Suspicious));
    let text = scan("notes.dat", b"hello world");
    assert_eq!(text.pickle, Some(PickleFacts::default()), "not a pickle: nothing would run");
}

#[test]
fn a_pickle_prepended_to_a_zip_is_scanned_too() {
    let mut file = OS_SYSTEM.to_vec();
    file.extend_from_slice(&torch_zip(false, b"data"));
    // The offsets the archive records are shifted by the bytes before it, as Python reads them.
    let facts = scan("model.pkl", &file);
    let mut expected = torch_imports();
    expected.insert(1, import("os", "system", Safety::Dangerous));
    assert_eq!(imports(&facts), expected);
}

#[test]
fn lying_archives_are_errors_not_panics() {
    let good = torch_zip(false, b"tensor");
    let cd_offset = good.len() - 22 - (4 * 46 + "archive/data.pkl.format_versiondata/0version".len() + 3 * 8);
    // A member's local header offset past the end of the file.
    let mut far = good.clone();
    far[cd_offset + 42..cd_offset + 46].copy_from_slice(&u32::MAX.to_le_bytes());
    let facts = scan("far.bin", &far);
    assert!(facts.error.unwrap().contains("outside the file"), "the other members are still read");
    // A compressed size past the end of the file.
    let mut big = good.clone();
    big[cd_offset + 20..cd_offset + 24].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    assert!(facts_error("big.bin", &big).contains("past the end"));
    // A central directory larger than the file.
    let mut cd = good.clone();
    let at = good.len() - 10;
    cd[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(facts_error("cd.bin", &cd).contains("larger than the file"));
    // A directory entry with a broken signature.
    let mut sig = good.clone();
    sig[cd_offset + 46 + 16] ^= 0xff;
    assert!(facts_error("sig.bin", &sig).contains("central directory entry"));
    // A deflated member claiming 4 GiB that inflates to a few bytes.
    let mut claim = build_zip(&[Entry { name: "a.pkl", data: OS_SYSTEM, deflated: true }], false);
    let at = claim.len() - 22 - 46 - 5 + 24;
    claim[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let facts = scan("claim.zip", &claim);
    assert!(facts.error.as_deref().unwrap_or_default().contains("not the 4294967295 claimed"));
    assert_eq!(imports(&facts), vec![import("os", "system", Safety::Dangerous)]);
    let torn = facts_error("torn.bin", &good[..good.len() - 30]);
    assert!(torn.contains("end record"), "{torn}");
}

fn facts_error(path: &str, data: &[u8]) -> String {
    scan(path, data).error.unwrap_or_default()
}

#[test]
fn streams_over_the_budget_are_reported_incomplete() {
    let mut file = b"\x80\x04cos\nsystem\n\x8d".to_vec();
    file.extend_from_slice(&(MAX_STREAM_BYTES + 10).to_le_bytes());
    file.resize(file.len() + MAX_STREAM_BYTES as usize + 10, b'a');
    file.push(b'.');
    let facts = scan("huge.pkl", &file);
    let pickle = facts.pickle.unwrap();
    assert_eq!(pickle.highest, Some(Safety::Dangerous));
    assert!(pickle.error.unwrap().contains("only the first"));
}

#[test]
fn safetensors_headers_give_parameters_and_lies_are_errors() {
    let json = r#"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"BF16","shape":[],"data_offsets":[24,26]}}"#;
    let (facts, reads) = run("model.safetensors", &safetensors_file(json, 26));
    let st = facts.safetensors.unwrap();
    assert_eq!(
        (st.total, st.header_len, st.parameters["F32"], st.parameters["BF16"]),
        (7, json.len() as u64, 6, 1)
    );
    assert_eq!(reads, vec![(0, 8 + json.len() as u64 + 26)], "one read: the whole small file");
    let short = scan("s.safetensors", &safetensors_file(json, 25));
    assert!(short.error.unwrap().contains("past the 25 bytes"));
    assert_eq!(short.safetensors, None);
    let sized = json.replace("[2,3]", "[2,4]");
    assert!(scan("s.safetensors", &safetensors_file(&sized, 26)).error.unwrap().contains("for its shape"));
    let mut long = safetensors_file(json, 26);
    long[..8].copy_from_slice(&1000u64.to_le_bytes());
    assert!(scan("s.safetensors", &long).error.unwrap().contains("in a file of"));
    assert!(scan("s.safetensors", b"\x02\x00").error.is_some());
}

#[test]
fn gguf_headers_are_read_in_growing_prefixes() {
    let template = "x".repeat(3 << 20);
    let mut file = header(
        &[("general.architecture", Kv::Str("llama")), ("tokenizer.chat_template", Kv::Str(&template))],
        &[("t", &[4, 4])],
    );
    let header_len = file.len();
    file.resize(header_len + (4 << 20), 0);
    let (facts, reads) = run("m.gguf", &file);
    let gguf = facts.gguf.unwrap();
    assert_eq!((gguf.total, gguf.architecture.as_deref()), (16, Some("llama")));
    assert_eq!(gguf.chat_template, None, "a template over the limit is not kept");
    assert!(reads.len() > 1 && reads.iter().map(|r| r.1).sum::<u64>() < file.len() as u64);
    let torn = scan("m.gguf", &file[..header_len - 1]);
    assert!(torn.error.unwrap().contains("ends inside"));
    assert!(scan("m.gguf", b"GGML").error.unwrap().contains("not a GGUF"));
}

#[test]
fn names_pick_what_is_read() {
    assert!(Inspector::for_path("README.md", 10).is_none());
    assert!(Inspector::for_path("dir.bin/file", 10).is_none());
    assert!(Inspector::for_path(".pkl", 10).is_none(), "a dot file has no extension");
    assert!(Inspector::for_path("MODEL.BIN", 10).is_some());
    assert!(scan("a.7z", b"7z\xbc\xaf\x27\x1c\x00\x04").error.unwrap().contains("7z"));
    for name in ["a.safetensors", "a.gguf", "a.bin", "a.npy", "a.pkl", "a.npz"] {
        let empty = scan(name, b"");
        assert!(empty.pickle.as_ref().is_none_or(|p| p.imports.is_empty()), "{name}");
    }
}

#[test]
fn facts_serialize_small_and_round_trip() {
    let facts = scan("model.bin", OS_SYSTEM);
    let json = serde_json::to_string(&facts).unwrap();
    assert_eq!(
        json,
        r#"{"pickle":{"imports":[{"module":"os","name":"system","safety":"dangerous"}],"highest":"dangerous"}}"#
    );
    assert_eq!(serde_json::from_str::<FileFacts>(&json).unwrap(), facts);
    assert_eq!(serde_json::from_str::<FileFacts>("{}").unwrap(), FileFacts::default());
}

#[test]
fn many_imports_are_capped_with_the_worst_kept() {
    let mut file = Vec::new();
    for i in 0..MAX_LISTED_IMPORTS + 5 {
        file.extend_from_slice(format!("cmod{i:05}\nf\n0").as_bytes());
    }
    file.extend_from_slice(b"cos\nsystem\n.");
    let pickle = scan("many.pkl", &file).pickle.unwrap();
    assert_eq!((pickle.imports.len(), pickle.unlisted), (MAX_LISTED_IMPORTS, 6));
    assert!(pickle.imports.iter().any(|i| i.module == "os"));
    assert_eq!(pickle.highest, Some(Safety::Dangerous));
}

/// Every truncation and many single-byte changes of valid files end in facts, never a panic
/// or a read past the end (a small fuzz run at test time).
#[test]
fn mangled_inputs_never_panic() {
    let array = npy("'|O'", OS_SYSTEM);
    let samples: Vec<(&str, Vec<u8>)> = vec![
        ("a.bin", torch_zip(true, b"0123456789")),
        ("a.zip", build_zip(&[Entry { name: "p.pkl", data: OS_SYSTEM, deflated: true }], false)),
        ("a.npy", array),
        ("a.gguf", header(&[("general.architecture", Kv::Str("x"))], &[("t", &[2])])),
        ("a.safetensors", safetensors_file(r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, 4)),
    ];
    for (name, data) in samples {
        for cut in 0..data.len() {
            scan(name, &data[..cut]);
        }
        for at in 0..data.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut mangled = data.clone();
                mangled[at] ^= flip;
                scan(name, &mangled);
            }
        }
    }
}

/// A pickle of `len` bytes in all (protocol 2, one string).
fn pickle_of_len(len: usize) -> Vec<u8> {
    let mut p = b"\x80\x02X".to_vec();
    p.extend_from_slice(&((len - 8) as u32).to_le_bytes());
    p.resize(len - 1, b'a');
    p.push(b'.');
    p
}

#[test]
fn pickles_are_read_in_growing_prefixes_and_raw_data_is_not_read_on() {
    // The first pickle ends exactly where the first prefix does: the next one is still read.
    let mut file = pickle_of_len(1 << 20);
    file.extend_from_slice(OS_SYSTEM);
    assert_eq!(imports(&scan("two.pkl", &file)), vec![import("os", "system", Safety::Dangerous)]);
    let mut later = pickle_of_len(3 << 20);
    later.extend_from_slice(OS_SYSTEM);
    assert_eq!(imports(&scan("late.pkl", &later)), vec![import("os", "system", Safety::Dangerous)]);
    // Eight MiB of weights named .bin: not a pickle, found out in the first bytes.
    let mut raw = b"lmgg".to_vec();
    raw.resize(8 << 20, 0xff);
    let (facts, reads) = run("ggml-model.bin", &raw);
    assert_eq!((facts.error, facts.pickle), (None, Some(PickleFacts::default())));
    let read: u64 = reads.iter().map(|r| r.1).sum();
    assert!(read < 2 << 20, "{read} bytes read");
}

#[test]
fn errors_quoting_huge_names_are_cut() {
    let name = "n".repeat(100_000);
    let json =
        format!(r#"{{"{name}":{{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}}}}"#);
    let error = scan("big.safetensors", &safetensors_file(&json, 0)).error.unwrap();
    assert!(error.len() < 1_010 && error.ends_with('…'), "{} bytes", error.len());
}

#[test]
fn a_legacy_pickle_ending_where_the_first_read_does_is_not_the_last() {
    let keys = b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a.";
    let three = legacy_torch(b"", b"");
    assert!(three.ends_with(keys));
    let mut file = three[..three.len() - keys.len()].to_vec();
    file.extend_from_slice(&pickle_of_len((HEAD_AHEAD as usize) - file.len()));
    assert_eq!(file.len() as u64, HEAD_AHEAD);
    file.extend_from_slice(OS_SYSTEM);
    file.resize(file.len() + (1 << 20), 0);
    assert_eq!(imports(&scan("old.pt", &file)), vec![import("os", "system", Safety::Dangerous)]);
}
