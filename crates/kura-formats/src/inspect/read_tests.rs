//! How many reads the inspector makes: each read of a stored file costs at least a whole
//! storage chunk, so the count matters more than the bytes. The shapes are those of the
//! indexing benchmark (safetensors shards, a torch zip of many tensors) and of archives of
//! many small members.

use super::build::{Entry, entry, safetensors as safetensors_file, torch_pickle, zip as build_zip};
use super::tests::{OS_SYSTEM, import, imports, run, torch_imports};
use super::*;

/// A safetensors header of `n` one-float tensors, and the data it describes.
fn safetensors_of(n: usize) -> (Vec<u8>, u64) {
    let tensors: Vec<String> = (0..n)
        .map(|i| format!(r#""t{i}":{{"dtype":"F32","shape":[1],"data_offsets":[{},{}]}}"#, 4 * i, 4 * i + 4))
        .collect();
    let json = format!("{{{}}}", tensors.join(","));
    (safetensors_file(&json, 4 * n), json.len() as u64)
}

#[test]
fn a_safetensors_header_is_read_with_its_length_in_one_read() {
    let (file, header_len) = safetensors_of(180);
    assert!(header_len > 10_000 && (file.len() as u64) < SAFETENSORS_FIRST);
    let (facts, reads) = run("model.safetensors", &file);
    assert_eq!(facts.safetensors.map(|s| (s.total, s.header_len)), Some((180, header_len)));
    assert_eq!(reads, vec![(0, file.len() as u64)]);
    // Data after the header is not read: the first read stops at 64 KiB.
    let mut large = file.clone();
    large.resize(file.len() + (1 << 20), 0);
    let (facts, reads) = run("model.safetensors", &large);
    assert_eq!(facts.safetensors.map(|s| s.header_len), Some(header_len));
    assert_eq!(reads, vec![(0, SAFETENSORS_FIRST)]);
}

#[test]
fn a_safetensors_header_longer_than_the_first_read_takes_one_more() {
    let (file, header_len) = safetensors_of(4_000);
    assert!(8 + header_len > SAFETENSORS_FIRST);
    let (facts, reads) = run("model.safetensors", &file);
    assert_eq!(facts.safetensors.map(|s| s.total), Some(4_000));
    assert_eq!(reads, vec![(0, SAFETENSORS_FIRST), (SAFETENSORS_FIRST, 8 + header_len - SAFETENSORS_FIRST)]);
}

/// What `torch.save` writes for a state dict of `n` tensors of `tensor` bytes each.
fn torch_file(n: usize, tensor: usize, zip64: bool) -> Vec<u8> {
    let pickle = torch_pickle();
    let data = vec![0u8; tensor];
    let names: Vec<String> = (0..n).map(|i| format!("archive/data/{i}")).collect();
    let mut entries = vec![
        entry("archive/data.pkl", &pickle),
        entry("archive/.format_version", b"1"),
        entry("archive/.storage_alignment", b"64"),
        entry("archive/byteorder", b"little"),
    ];
    entries.extend(names.iter().map(|name| entry(name, &data)));
    entries.push(entry("archive/version", b"3\n"));
    entries.push(entry("archive/.data/serialization_id", b"1234567890"));
    build_zip(&entries, zip64)
}

#[test]
fn a_torch_zip_takes_one_read_per_large_tensor_and_two_more() {
    for zip64 in [false, true] {
        let n = 40;
        let file = torch_file(n, 256 << 10, zip64);
        let (facts, reads) = run("pytorch_model.bin", &file);
        assert_eq!((imports(&facts), facts.error), (torch_imports(), None));
        // The opening (data.pkl, the small members and the first tensor's header), the tail
        // (the directory and the last members), one read per other tensor.
        assert_eq!(reads.len(), n + 1, "zip64 {zip64}: {reads:?}");
        let read: u64 = reads.iter().map(|r| r.1).sum();
        assert!(read < (200 << 10) + n as u64 * 1_024, "{read} bytes read");
    }
}

#[test]
fn small_members_side_by_side_are_read_together() {
    let names: Vec<String> = (0..1_000).map(|i| format!("m/{i:04}")).collect();
    let plain = [7u8; 150];
    let mut hidden = b"\x80\x02".to_vec();
    hidden.extend_from_slice(OS_SYSTEM);
    let entries: Vec<Entry<'_>> = names
        .iter()
        .enumerate()
        .map(|(i, name)| entry(name, if i == 600 { &hidden } else { &plain }))
        .collect();
    let file = build_zip(&entries, false);
    assert!(file.len() > 200 << 10);
    let (facts, reads) = run("archive.zip", &file);
    assert_eq!(imports(&facts), vec![import("os", "system", Safety::Dangerous)]);
    assert_eq!(facts.error, None);
    // Each member alone would be a read; 64 KiB windows bring ~240 headers at a time.
    assert!(reads.len() <= 6, "{} reads", reads.len());
}

#[test]
fn a_pickle_file_is_read_once_whole_when_small_and_never_twice_when_larger() {
    let (facts, reads) = run("model.pkl", OS_SYSTEM);
    assert_eq!(imports(&facts), vec![import("os", "system", Safety::Dangerous)]);
    assert_eq!(reads, vec![(0, OS_SYSTEM.len() as u64)]);
    // A 500 KB pickle: its opening and its tail were read to tell its form; the rest once.
    let mut file = b"\x80\x02X".to_vec();
    file.extend_from_slice(&500_000u32.to_le_bytes());
    file.resize(file.len() + 500_000, b'a');
    file.extend_from_slice(b"0.");
    file.extend_from_slice(OS_SYSTEM);
    let (facts, reads) = run("big.pkl", &file);
    assert_eq!(imports(&facts), vec![import("os", "system", Safety::Dangerous)]);
    assert_eq!(reads.len(), 3, "{reads:?}");
    assert_eq!(reads.iter().map(|r| r.1).sum::<u64>(), file.len() as u64);
}
