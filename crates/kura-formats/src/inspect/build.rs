//! Builders of the files the inspector reads, for tests here and in the crates that index
//! them (and for fuzz seeds): torch-like zip archives (stored, deflated, zip64), legacy torch
//! streams, numpy arrays and safetensors files.

use std::io::Write;

/// What `torch.save` pickles (protocol 2): an OrderedDict of one tensor rebuilt from a
/// FloatStorage named by a persistent id.
pub fn torch_pickle() -> Vec<u8> {
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01X\x06\x00\x00\x00weightq\x02".to_vec();
    p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\nq\x03((X\x07\x00\x00\x00storageq\x04");
    p.extend_from_slice(
        b"ctorch\nFloatStorage\nq\x05X\x01\x00\x00\x000q\x06X\x03\x00\x00\x00cpuq\x07K\x04tq\x08Q",
    );
    p.extend_from_slice(b"K\x00K\x04\x85q\x09K\x01\x85q\x0a\x89h\x00)Rq\x0btq\x0cRq\x0ds.");
    p
}

fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to memory does not fail.
    let _ = encoder.write_all(data);
    encoder.finish().unwrap_or_default()
}

/// One member of an archive to build.
pub struct Entry<'a> {
    pub name: &'a str,
    pub data: &'a [u8],
    pub deflated: bool,
}

/// A stored member.
pub fn entry<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry { name, data, deflated: false }
}

fn u16le(out: &mut Vec<u8>, n: u16) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn u32le(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn u64le(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

/// A zip archive as torch writes one: local extra fields padded (longer than the
/// directory's), zip64 records and extra fields when `zip64`.
pub fn zip(entries: &[Entry<'_>], zip64: bool) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for e in entries {
        let stored = if e.deflated { deflate(e.data) } else { e.data.to_vec() };
        let method = if e.deflated { 8 } else { 0 };
        let offset = out.len() as u64;
        out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00");
        u16le(&mut out, method);
        out.extend_from_slice(&[0; 8]);
        u32le(&mut out, stored.len() as u32);
        u32le(&mut out, e.data.len() as u32);
        u16le(&mut out, e.name.len() as u16);
        u16le(&mut out, 24);
        out.extend_from_slice(e.name.as_bytes());
        out.extend_from_slice(b"FB\x14\x00");
        out.extend_from_slice(&[b'Z'; 20]);
        out.extend_from_slice(&stored);
        central.extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00");
        u16le(&mut central, method);
        central.extend_from_slice(&[0; 8]);
        let small = |n: u64| if zip64 { u32::MAX } else { n as u32 };
        u32le(&mut central, small(stored.len() as u64));
        u32le(&mut central, small(e.data.len() as u64));
        u16le(&mut central, e.name.len() as u16);
        u16le(&mut central, if zip64 { 28 } else { 0 });
        central.extend_from_slice(&[0; 10]);
        u32le(&mut central, small(offset));
        central.extend_from_slice(e.name.as_bytes());
        if zip64 {
            central.extend_from_slice(b"\x01\x00\x18\x00");
            for n in [e.data.len() as u64, stored.len() as u64, offset] {
                u64le(&mut central, n);
            }
        }
    }
    let (cd_offset, cd_size, count) = (out.len() as u64, central.len() as u64, entries.len() as u64);
    out.extend_from_slice(&central);
    if zip64 {
        let record = out.len() as u64;
        out.extend_from_slice(b"PK\x06\x06");
        u64le(&mut out, 44);
        out.extend_from_slice(&[0x2d, 0, 0x2d, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        for n in [count, count, cd_size, cd_offset] {
            u64le(&mut out, n);
        }
        out.extend_from_slice(b"PK\x06\x07\x00\x00\x00\x00");
        u64le(&mut out, record);
        u32le(&mut out, 1);
    }
    out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
    let (count16, size32, offset32) =
        if zip64 { (u16::MAX, u32::MAX, u32::MAX) } else { (count as u16, cd_size as u32, cd_offset as u32) };
    u16le(&mut out, count16);
    u16le(&mut out, count16);
    u32le(&mut out, size32);
    u32le(&mut out, offset32);
    u16le(&mut out, 0);
    out
}

/// What `torch.save` writes: data.pkl, a format version, one tensor, the version.
pub fn torch_zip(zip64: bool, tensor: &[u8]) -> Vec<u8> {
    let pickle = torch_pickle();
    let entries = [
        entry("archive/data.pkl", &pickle),
        entry("archive/.format_version", b"1"),
        entry("archive/data/0", tensor),
        entry("archive/version", b"3\n"),
    ];
    zip(&entries, zip64)
}

/// A version 1.0 `.npy` file of the dtype `descr` (a Python literal), then `body`.
pub fn npy(descr: &str, body: &[u8]) -> Vec<u8> {
    let mut text = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (1,), }}");
    while (10 + text.len() + 1) % 64 != 0 {
        text.push(' ');
    }
    text.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    u16le(&mut out, text.len() as u16);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(body);
    out
}

/// A safetensors file: the length, the JSON header, `data_len` zero bytes.
pub fn safetensors(json: &str, data_len: usize) -> Vec<u8> {
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.resize(out.len() + data_len, 0);
    out
}

/// A legacy (pre-zip) torch file around the pickled object `main`: the magic number, the
/// protocol version and system info pickles before it, the storage keys after it, then `data`
/// (raw storage bytes, which are not pickle).
pub fn legacy_torch(main: &[u8], data: &[u8]) -> Vec<u8> {
    let mut file = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.".to_vec();
    file.extend_from_slice(b"\x80\x02M\xe9\x03.\x80\x02}q\x00(X\x0d\x00\x00\x00little_endianq\x01\x88u.");
    file.extend_from_slice(main);
    file.extend_from_slice(b"\x80\x02]q\x00X\x01\x00\x00\x000q\x01a.");
    file.extend_from_slice(data);
    file
}
