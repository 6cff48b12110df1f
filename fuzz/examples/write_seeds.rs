//! Writes the seed corpora under `fuzz/seeds/<target>/` from kura's own writers (run by
//! `scripts/fuzz --write-seeds`; the files are committed). Seeds are small valid inputs, so the
//! fuzzer starts past the magic numbers and checksums instead of guessing them.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::ZlibEncoder;
use kura_cas::{
    CompressionScheme, FileEntry, FileTerm, Shard, XorbChunkEntry, XorbEntry, XorbWriter, chunk_hash,
    dedup_shard, encode_footer, verification_range_hash,
};
use kura_git::pktline::{delim, flush, parse_pkts, pkt_line};
use kura_git::{
    GitError, LfsPointer, ObjectKind, PackIndex, PackLimits, PackWriter, UploadLimits, UploadProtocol,
    apply_delta, hash_object, parse_receive_request, parse_upload_request,
};
use kura_model::Sha256;

// Written for the fuzz target `libfuzzer-sys` instruments: keep this in step with it.
use libfuzzer_sys as _;

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn lfs_pointer() -> Seeds {
    let pointer = LfsPointer { oid: Sha256::digest(b"hello"), size: 5 };
    let with_extension = format!(
        "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:{}\noid sha256:{}\nsize 12345\n",
        Sha256::digest(b"ext"),
        Sha256::digest(b"data")
    );
    vec![
        ("pointer", pointer.encode()),
        ("pointer_with_extension", with_extension.into_bytes()),
        ("not_a_pointer", b"hello world\n".to_vec()),
    ]
}

fn gitignore() -> Seeds {
    vec![
        ("python", b"pkg/__pycache__/m.pyc\n__pycache__/\n*.py[cod]\n!keep.pyc\n/build\n".to_vec()),
        ("nested", b"docs/sub/a.tmp\ndocs/**/*.tmp\n\\#literal\ntrailing\\ \n".to_vec()),
    ]
}

/// Triples of (tree, path, blob): a change on each side and one made on both.
fn merge_trees() -> Seeds {
    vec![
        ("both_sides", vec![0, 0, 1, 1, 0, 2, 2, 1, 3, 0, 2, 1, 1, 2, 1, 2, 2, 3]),
        ("file_and_folder", vec![1, 0, 1, 2, 2, 1, 0, 5, 2, 1, 5, 3]),
    ]
}

fn safetensors_header() -> Seeds {
    let json = br#"{"__metadata__":{"format":"pt"},"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#;
    let mut file = (json.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(json);
    vec![("two_by_three", file)]
}

fn gguf_header() -> Seeds {
    use kura_formats::gguf::build::{Kv, header};
    let kv = [
        ("general.architecture", Kv::Str("llama")),
        ("llama.context_length", Kv::U32(4096)),
        ("tokenizer.ggml.tokens", Kv::Strings(&["<unk>", "<s>", "</s>"])),
        ("tokenizer.ggml.bos_token_id", Kv::U32(1)),
    ];
    vec![("llama", header(&kv, &[("w", &[4, 4]), ("b", &[4])]))]
}

fn pickle_scan() -> Seeds {
    let mut torch = vec![0x80, 0x04, 0x95];
    torch.extend_from_slice(&30u64.to_le_bytes());
    torch.extend_from_slice(b"\x8c\x05torch\x94\x8c\x0cFloatStorage\x94\x93\x94h\x00h\x01\x93.");
    vec![("protocol0_global", b"cos\nsystem\n(S'echo hi'\ntR.".to_vec()), ("torch_stack_global", torch)]
}

/// Files for the inspector, each after the byte that picks its name in the target.
fn inspect_file() -> Seeds {
    use kura_formats::inspect::build::{Entry, entry, legacy_torch, npy, safetensors, torch_pickle, torch_zip, zip};
    let named = |pick: u8, file: Vec<u8>| [vec![pick], file].concat();
    let json = r#"{"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}}"#;
    let evil = b"cos\nsystem\n(S'echo hi'\ntR.";
    let array = npy("'|O'", evil);
    let npz = zip(&[Entry { name: "x.npy", data: &array, deflated: true }], false);
    let deflated = zip(&[Entry { name: "archive/data.pkl", data: &torch_pickle(), deflated: true }], false);
    vec![
        ("safetensors", named(0, safetensors(json, 24))),
        ("gguf", named(1, gguf_header().remove(0).1)),
        ("torch_zip", named(2, torch_zip(false, b"\0\0\x80\x3f"))),
        ("torch_zip64", named(2, torch_zip(true, b"\0\0\x80\x3f"))),
        ("torch_deflated", named(2, deflated)),
        ("npy_object", named(3, array.clone())),
        ("npy_plain", named(3, npy("'<f4'", b"\0\0\x80\x3f"))),
        ("pickle", named(4, evil.to_vec())),
        ("npz", named(5, npz)),
        ("zip_member", named(5, zip(&[entry("a/b.pkl", evil)], false))),
        ("legacy_torch", named(6, legacy_torch(&torch_pickle(), b"\x04\0\0\0\0\0\0\0"))),
    ]
}

fn xorb_chunks() -> Vec<Vec<u8>> {
    vec![b"abcd".repeat(40), (0u8..=200).collect(), b"xet chunk ".repeat(12)]
}

fn xorb_entry(chunks: &[Vec<u8>]) -> XorbEntry {
    let mut start = 0;
    let entries: Vec<XorbChunkEntry> = chunks
        .iter()
        .map(|data| {
            let entry = XorbChunkEntry {
                hash: chunk_hash(data),
                uncompressed_start: start,
                uncompressed_len: data.len() as u32,
                flags: 0,
            };
            start += data.len() as u32;
            entry
        })
        .collect();
    XorbEntry {
        xorb_hash: chunk_hash(b"xorb"),
        flags: 0,
        uncompressed_len: start,
        bytes_on_disk: 0,
        chunks: entries,
    }
}

fn shard() -> Seeds {
    let chunks = xorb_chunks();
    let xorb = xorb_entry(&chunks);
    let hashes: Vec<_> = xorb.chunks.iter().map(|chunk| chunk.hash).collect();
    let term = |start: u32, end: u32| FileTerm {
        xorb_hash: xorb.xorb_hash,
        xorb_flags: 0,
        unpacked_len: xorb.chunks[start as usize..end as usize].iter().map(|c| c.uncompressed_len).sum(),
        chunk_start: start,
        chunk_end: end,
    };
    let file = FileEntry {
        file_hash: chunk_hash(b"file"),
        terms: vec![term(0, 2), term(2, 3)],
        verification: Some(vec![
            verification_range_hash(&hashes[0..2]),
            verification_range_hash(&hashes[2..3]),
        ]),
        sha256: Some(Sha256::digest(b"file")),
    };
    let plain = FileEntry {
        file_hash: chunk_hash(b"plain"),
        terms: vec![term(0, 1)],
        verification: None,
        sha256: None,
    };
    let client = Shard { files: vec![file, plain], xorbs: vec![xorb.clone()], footer: None };
    vec![
        ("client", client.to_bytes()),
        ("dedup", dedup_shard(&[xorb], [7; 32], 1_700_000_000, 1_800_000_000)),
    ]
}

fn commit_lines() -> Seeds {
    let oid = Sha256::digest(b"big");
    let commit = [
        r#"{"key":"header","value":{"summary":"Upload","description":"d","parentCommit":"0123456789abcdef0123456789abcdef01234567"}}"#.to_owned(),
        r#"{"key":"file","value":{"path":"README.md","content":"aGVsbG8K","encoding":"base64"}}"#.to_owned(),
        r#"{"key":"file","value":{"path":"dir/a.txt","content":"plain text","encoding":"utf-8"}}"#.to_owned(),
        format!(r#"{{"key":"lfsFile","value":{{"path":"model.bin","algo":"sha256","oid":"{oid}","size":1048576}}}}"#),
        r#"{"key":"deletedFile","value":{"path":"old.txt"}}"#.to_owned(),
        r#"{"key":"deletedFolder","value":{"path":"old/"}}"#.to_owned(),
        r#"{"key":"copyFile","value":{"srcPath":"a","destPath":"b","srcRevision":"main"}}"#.to_owned(),
    ];
    vec![("commit", (commit.join("\n") + "\n").into_bytes()), ("header_only", commit[0].clone().into_bytes())]
}

fn xorb() -> Seeds {
    let mut writer = XorbWriter::new();
    let schemes = [CompressionScheme::Lz4, CompressionScheme::None, CompressionScheme::ByteGrouping4Lz4];
    for (data, scheme) in xorb_chunks().iter().zip(schemes) {
        writer.add_chunk(data, scheme).expect("seed chunks are within limits");
    }
    let (records, info) = writer.finish();
    let mut with_footer = records.clone();
    with_footer.extend(encode_footer(&info, [1, 2, 3, 4]));
    vec![("records", records), ("with_footer", with_footer)]
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to a Vec cannot fail");
    encoder.finish().expect("writing to a Vec cannot fail")
}

/// A pack entry header: type and size, git's little-endian varint.
fn entry_header(type_code: u8, mut size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut byte = (type_code << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
    out
}

/// Whole objects from `PackWriter` (trailer left off: the target appends it).
fn whole_objects_pack() -> Vec<u8> {
    let blob = b"hello world\n";
    let blob_id = hash_object(ObjectKind::Blob, blob);
    let mut tree = b"100644 hello.txt\0".to_vec();
    tree.extend_from_slice(&blob_id.0);
    let tree_id = hash_object(ObjectKind::Tree, &tree);
    let commit = format!(
        "tree {}\nauthor A <a@example.com> 0 +0000\ncommitter A <a@example.com> 0 +0000\n\nseed\n",
        tree_id.to_hex()
    );
    let (mut writer, mut pack) = PackWriter::new(3);
    pack.extend(writer.entry(ObjectKind::Blob, blob));
    pack.extend(writer.entry(ObjectKind::Tree, &tree));
    pack.extend(writer.entry(ObjectKind::Commit, commit.as_bytes()));
    pack
}

/// A blob, an `OFS_DELTA` on it and a `REF_DELTA` on that: "hello world\n" -> "hello kura\n"
/// -> "hello kura\nand git\n".
fn delta_pack() -> Vec<u8> {
    let base = b"hello world\n";
    // base size 12, result size 11, copy 6 bytes from offset 0, insert "kura\n".
    let first_delta = [&[12, 11, 0x90, 6][..], &[5], b"kura\n"].concat();
    let first_id = hash_object(ObjectKind::Blob, b"hello kura\n");
    // base size 11, result size 19, copy all 11, insert "and git\n".
    let second_delta = [&[11, 19, 0x90, 11][..], &[8], b"and git\n"].concat();
    let mut pack = b"PACK".to_vec();
    pack.extend_from_slice(&2u32.to_be_bytes());
    pack.extend_from_slice(&3u32.to_be_bytes());
    let base_offset = pack.len();
    pack.extend(entry_header(3, base.len()));
    pack.extend(zlib(base));
    let delta_offset = pack.len();
    pack.extend(entry_header(6, first_delta.len()));
    let distance = delta_offset - base_offset;
    assert!(distance < 128, "one-byte OFS_DELTA offset");
    pack.push(distance as u8);
    pack.extend(zlib(&first_delta));
    pack.extend(entry_header(7, second_delta.len()));
    pack.extend_from_slice(&first_id.0);
    pack.extend(zlib(&second_delta));
    pack
}

fn pack() -> Seeds {
    vec![("whole_objects", whole_objects_pack()), ("deltas", delta_pack())]
}

/// Delta target inputs: base length (2 bytes, little-endian), base, delta.
fn delta() -> Seeds {
    let seed = |base: &[u8], delta: &[u8]| {
        let mut out = (base.len() as u16).to_le_bytes().to_vec();
        out.extend_from_slice(base);
        out.extend_from_slice(delta);
        out
    };
    // "hello world\n" -> "hello kura\n": copy 6 bytes from offset 0, insert "kura\n".
    let copy_insert = seed(b"hello world\n", &[&[12, 11, 0x90, 6, 5][..], b"kura\n"].concat());
    // 256-byte base, 32-byte result: two copies of 16 bytes with one-byte offsets (0x10, 0x80),
    // the second spelling its size with two bytes (0x0010).
    let base: Vec<u8> = (0..=255).collect();
    let operands = seed(&base, &[0x80, 0x02, 0x20, 0x91, 0x10, 0x10, 0xb1, 0x80, 0x10, 0x00]);
    vec![("copy_insert", copy_insert), ("copy_operands", operands)]
}

/// pkt-line inputs: receive-pack requests (the pktline target parses both the framing and
/// the command section) and an upload-pack v2 request with a delimiter.
fn pktline() -> Seeds {
    let (old, new) = ("1".repeat(40), "2".repeat(40));
    let zero = "0".repeat(40);
    let mut push = Vec::new();
    pkt_line(&mut push, &format!("shallow {old}"));
    pkt_line(
        &mut push,
        &format!(
            "{old} {new} refs/heads/main\0report-status side-band-64k atomic push-options agent=git/2.43"
        ),
    );
    pkt_line(&mut push, &format!("{zero} {new} refs/tags/v1"));
    flush(&mut push);
    pkt_line(&mut push, "ci.skip");
    flush(&mut push);
    push.extend_from_slice(b"PACK\0\0\0\x02\0\0\0\0");
    let mut delete = Vec::new();
    pkt_line(&mut delete, &format!("{old} {zero} refs/heads/old\0report-status-v2 quiet"));
    flush(&mut delete);
    let mut fetch = Vec::new();
    pkt_line(&mut fetch, "command=fetch");
    pkt_line(&mut fetch, "agent=git/2.43");
    delim(&mut fetch);
    pkt_line(&mut fetch, &format!("want {new}"));
    pkt_line(&mut fetch, &format!("have {old}"));
    pkt_line(&mut fetch, "done");
    flush(&mut fetch);
    vec![("push", push), ("delete", delete), ("upload_pack_v2", fetch)]
}

/// upload-pack requests: a v0 clone, a v0 negotiation round with haves, a stateless v0 shallow
/// fetch's first request, a v2 fetch with a depth and a v2 ls-refs (the target parses each
/// input in both protocols).
fn upload_pack() -> Seeds {
    let (old, new) = ("1".repeat(40), "2".repeat(40));
    let lines = |lines: &[&str]| {
        let mut out = Vec::new();
        for line in lines {
            match *line {
                "|" => flush(&mut out),
                "-" => delim(&mut out),
                text => pkt_line(&mut out, text),
            }
        }
        out
    };
    let want_caps = format!("want {new} multi_ack_detailed side-band-64k thin-pack ofs-delta agent=git/2.43");
    let clone = lines(&[&want_caps, "|", "done"]);
    let round = lines(&[&want_caps, &format!("want {old}"), "|", &format!("have {old}"), "|"]);
    let shallow = lines(&[&want_caps, &format!("shallow {old}"), "deepen 1", "|"]);
    let fetch = lines(&[
        "command=fetch",
        "agent=git/2.43",
        "-",
        &format!("want {new}"),
        &format!("have {old}"),
        "deepen 2",
        "done",
        "|",
    ]);
    let ls_refs =
        lines(&["command=ls-refs", "agent=git/2.43", "-", "peel", "symrefs", "ref-prefix refs/heads/", "|"]);
    vec![
        ("v0_clone", clone),
        ("v0_round", round),
        ("v0_shallow", shallow),
        ("v2_fetch", fetch),
        ("v2_ls_refs", ls_refs),
    ]
}

/// Every seed but the deliberate non-pointer is accepted by the parser it seeds.
fn check_valid() {
    for (name, bytes) in safetensors_header() {
        let len = kura_formats::safetensors::header_len(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        kura_formats::safetensors::parse_header(&bytes[8..8 + len as usize]).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in gguf_header() {
        kura_formats::gguf::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for (name, bytes) in pickle_scan() {
        let walk = kura_formats::pickle::walk(&bytes, true);
        assert!(walk.error.is_none() && !walk.imports.is_empty(), "{name}: {walk:?}");
    }
    for (name, bytes) in inspect_file() {
        let facts = inspect(&bytes);
        assert!(facts.error.is_none(), "inspect_file/{name}: {facts:?}");
        let found = facts.safetensors.is_some() || facts.gguf.is_some() || facts.pickle.is_some();
        assert_eq!(found, name != "npy_plain", "inspect_file/{name}: {facts:?}");
    }
    for (name, bytes) in lfs_pointer() {
        let parsed = LfsPointer::parse(&bytes);
        assert_eq!(matches!(parsed, Ok(Some(_))), name != "not_a_pointer", "lfs_pointer/{name}: {parsed:?}");
    }
    for (name, bytes) in shard() {
        kura_cas::parse_shard(&bytes).unwrap_or_else(|e| panic!("shard/{name}: {e}"));
    }
    for (name, bytes) in commit_lines() {
        for (index, line) in bytes.split(|&b| b == b'\n').enumerate() {
            kura_http::fuzzing::parse_commit_line(line, index + 1, &mut 0)
                .unwrap_or_else(|e| panic!("commit_lines/{name}: {e}"));
        }
    }
    for (name, bytes) in xorb() {
        kura_cas::parse_xorb(&bytes).unwrap_or_else(|e| panic!("xorb/{name}: {e}"));
    }
    for (name, mut bytes) in pack() {
        bytes.extend_from_slice(&<sha1::Sha1 as sha1::Digest>::digest(&bytes));
        let index = PackIndex::build(bytes.as_slice(), &PackLimits::default())
            .unwrap_or_else(|e| panic!("pack/{name}: {e}"));
        let mut objects = 0;
        index
            .resolve(
                std::io::Cursor::new(&bytes),
                |_| Ok::<_, GitError>(None),
                |_| {
                    objects += 1;
                    Ok(())
                },
            )
            .unwrap_or_else(|e| panic!("pack/{name}: {e}"));
        assert_eq!(objects, 3, "pack/{name}");
    }
    for (name, bytes) in delta() {
        let base_len = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
        let (base, delta) = bytes[2..].split_at(base_len);
        apply_delta(base, delta, 1 << 16).unwrap_or_else(|e| panic!("delta/{name}: {e}"));
    }
    for (name, bytes) in pktline() {
        // Framing up to the pack (the push seed ends with one), commands for the push seeds.
        let mut framed = bytes.len();
        if name != "upload_pack_v2" {
            let request = parse_receive_request(&bytes).unwrap_or_else(|e| panic!("pktline/{name}: {e}"));
            framed = request.unwrap_or_else(|| panic!("pktline/{name}: incomplete")).pack_offset;
        }
        parse_pkts(&bytes[..framed]).unwrap_or_else(|e| panic!("pktline/{name}: {e}"));
    }
    let limits = UploadLimits { max_wants: 8, max_haves: 8 };
    for (name, bytes) in upload_pack() {
        let protocol = if name.starts_with("v2") { UploadProtocol::V2 } else { UploadProtocol::V0 };
        parse_upload_request(&bytes, protocol, limits).unwrap_or_else(|e| panic!("upload_pack/{name}: {e}"));
    }
}

/// The facts of an `inspect_file` seed, read as the target reads it.
fn inspect(seed: &[u8]) -> kura_formats::inspect::FileFacts {
    use kura_formats::inspect::{Inspector, Step};
    let names = ["model.safetensors", "model.gguf", "pytorch_model.bin", "array.npy", "data.pkl", "arrays.npz", "old.pt"];
    let file = &seed[1..];
    let mut inspector = Inspector::for_path(names[usize::from(seed[0])], file.len() as u64).expect("a read name");
    loop {
        match inspector.step() {
            Step::Read { offset, len } => inspector.feed(&file[offset as usize..(offset + len) as usize]),
            Step::Done(facts) => return facts,
        }
    }
}

/// Inputs of the export's converter, the format picked by the first byte (csv, tsv, JSON, text).
fn table_convert() -> Seeds {
    vec![
        ("csv", b"\x00id,name,score\n1,a,0.5\n2,\"b, c\",1.5\n".to_vec()),
        ("tsv", b"\x01id\tname\n1\tx\n".to_vec()),
        ("jsonl", b"\x02{\"a\": 1, \"b\": [1, 2], \"c\": {\"d\": \"x\"}}\n{\"a\": 2, \"b\": []}\n".to_vec()),
        ("json_array", b"\x02[{\"a\": 1}, {\"a\": null}]".to_vec()),
        ("text", b"\x03first line\nsecond line\n".to_vec()),
    ]
}

/// A parquet file as the export writes it (feature metadata, page index), read by the viewer.
fn parquet_table() -> Seeds {
    use kura_dataset::batches::Batches;
    use kura_dataset::convert::{Limits, SourceFormat, infer_schema};
    use kura_dataset::features::features_of;
    use kura_dataset::shards::ShardWriter;
    let input = b"{\"id\": 1, \"text\": \"hello\", \"tags\": [\"a\", \"b\"]}\n{\"id\": 2, \"text\": null, \"tags\": []}\n";
    let limits = Limits::default();
    let schema = infer_schema(SourceFormat::Json, input, true, &limits).expect("a schema");
    let features = features_of(&schema.schema);
    let mut writer: ShardWriter<Vec<u8>> =
        ShardWriter::new(schema.schema.clone(), &features, &limits, Box::new(|| Ok(Vec::new())));
    for batch in Batches::new(SourceFormat::Json, &schema, &input[..], &limits).expect("batches") {
        writer.write(&batch.expect("a batch")).expect("written");
    }
    let file = writer.finish().expect("a shard").remove(0).output;
    vec![("jsonl_export", file)]
}

fn write(root: &Path, target: &str, seeds: Seeds) -> std::io::Result<()> {
    let dir = root.join(target);
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in seeds {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    check_valid();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seeds");
    write(&root, "lfs_pointer", lfs_pointer())?;
    write(&root, "shard", shard())?;
    write(&root, "commit_lines", commit_lines())?;
    write(&root, "xorb", xorb())?;
    // A fetched range is records without a footer: the xorb seed's first one.
    write(&root, "xorb_range", xorb().into_iter().take(1).collect())?;
    write(&root, "pack", pack())?;
    write(&root, "delta", delta())?;
    write(&root, "pktline", pktline())?;
    write(&root, "upload_pack", upload_pack())?;
    write(&root, "gitignore", gitignore())?;
    write(&root, "merge_trees", merge_trees())?;
    write(&root, "safetensors_header", safetensors_header())?;
    write(&root, "gguf_header", gguf_header())?;
    write(&root, "pickle_scan", pickle_scan())?;
    write(&root, "inspect_file", inspect_file())?;
    write(&root, "table_convert", table_convert())?;
    write(&root, "parquet_table", parquet_table())?;
    println!("seeds written under {}", root.display());
    Ok(())
}
