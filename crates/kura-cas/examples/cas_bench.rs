//! Throughput and dedup measurements for kura-cas, used by `bench/xet` (see docs/benchmarks.md).
//!
//! Not a test and not part of any default build: run it in release mode.
//!
//! ```text
//! cargo run --release -p kura-cas --example cas_bench -- throughput [MIB] [REPS] [FILTER]
//! cargo run --release -p kura-cas --example cas_bench -- dedup FILE...
//! ```
//!
//! `throughput` fills MIB (default 1024) MiB of memory with pseudo-random bytes, then times, one
//! warm-up plus REPS (default 5) rounds each, interleaved: single-thread BLAKE3 over the buffer,
//! keyed BLAKE3 over fixed 64 KiB pieces, a bare gear-hash scan (the naive per-byte loop with a
//! mask that never matches), kura's `Chunker` alone,
//! `Chunker` + `chunk_hash`, and `validate_xorb` over xorbs built from the same data.
//! It prints one line per measurement: `name min_mibs median_mibs runs...`. With FILTER, only the
//! measurements whose name contains it run (e.g. `chunk` or `gear`). With `CAS_BENCH_CLOCK=cpu`
//! the rates use the thread's on-CPU time (Linux `/proc/thread-self/schedstat`) instead of wall
//! time, which is steadier on a machine shared with other work.
//!
//! `dedup` chunks every file with kura's chunker, hashes the chunks, and prints (as
//! `key value` lines) the total bytes, the bytes of distinct files, the chunk count and the
//! bytes of distinct chunks: what an ideal chunk-level store would keep.

use std::collections::HashSet;
use std::hint::black_box;
use std::time::Instant;

use kura_cas::{
    Chunker, CompressionScheme, MerkleHash, XorbWriter, chunk_and_hash, chunk_hash, file_hash, validate_xorb,
};

const MIB: usize = 1024 * 1024;

/// splitmix64: a tiny, fast generator; its quality is irrelevant beyond "not compressible".
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn random_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = SplitMix(seed);
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        out.extend_from_slice(&rng.next().to_le_bytes());
    }
    out.truncate(len);
    out
}

/// The bare gear-hash loop over every byte, one shift and add per byte, with its own random
/// table (the values do not change the speed). The mask can never match, so the loop never
/// exits early. This is the naive loop: `Chunker` steps its hash four bytes at a time and can
/// beat it.
fn gear_scan(table: &[u64; 256], data: &[u8]) -> u64 {
    let mut hash = 0u64;
    let mut hits = 0u64;
    for &byte in data {
        hash = (hash << 1).wrapping_add(table[usize::from(byte)]);
        // The mask is hidden from the optimizer so the comparison stays in the loop.
        if hash & std::hint::black_box(0xFFFF_0000_0000_0000) == 0xFFFF_0000_0000_0001 {
            hits += 1;
        }
    }
    hash ^ hits
}

/// Streams `data` through a `Chunker` in 1 MiB pieces (as a server would) and returns the
/// chunk end offsets.
fn chunk_streaming(data: &[u8]) -> Vec<u64> {
    let mut chunker = Chunker::new();
    let mut boundaries = Vec::with_capacity(data.len() / 60_000 + 16);
    for piece in data.chunks(MIB) {
        chunker.push_into(piece, &mut boundaries);
    }
    boundaries.extend(chunker.finish());
    boundaries
}

/// Streams `data` through a `Chunker` in 1 MiB pieces and hashes every chunk as it completes.
fn chunk_and_hash_streaming(data: &[u8]) -> usize {
    let mut chunker = Chunker::new();
    let mut boundaries = Vec::new();
    let mut start = 0usize;
    let mut hashes = 0usize;
    for piece in data.chunks(MIB) {
        boundaries.clear();
        chunker.push_into(piece, &mut boundaries);
        for &end in &boundaries {
            let end = end as usize;
            black_box(chunk_hash(&data[start..end]));
            start = end;
            hashes += 1;
        }
    }
    if let Some(end) = chunker.finish() {
        black_box(chunk_hash(&data[start..end as usize]));
        hashes += 1;
    }
    hashes
}

/// Packs `data`, cut at `boundaries`, into xorbs the way a client does (scheme LZ4; random
/// chunks stay uncompressed because LZ4 does not make them smaller).
fn build_xorbs(data: &[u8], boundaries: &[u64]) -> Vec<(Vec<u8>, MerkleHash)> {
    let mut xorbs = Vec::new();
    let mut writer = XorbWriter::new();
    let mut start = 0usize;
    for &end in boundaries {
        let end = end as usize;
        let chunk = &data[start..end];
        if !writer.has_room_for(chunk.len()) {
            let (bytes, info) = std::mem::take(&mut writer).finish();
            xorbs.push((bytes, info.hash));
        }
        writer.add_chunk(chunk, CompressionScheme::Lz4).expect("chunk fits a xorb");
        start = end;
    }
    if writer.chunk_count() > 0 {
        let (bytes, info) = writer.finish();
        xorbs.push((bytes, info.hash));
    }
    xorbs
}

/// On-CPU time of the calling thread in seconds (`/proc/thread-self/schedstat`, Linux).
fn thread_cpu_secs() -> f64 {
    let text =
        std::fs::read_to_string("/proc/thread-self/schedstat").expect("read /proc/thread-self/schedstat");
    let nanos: u64 =
        text.split_whitespace().next().and_then(|field| field.parse().ok()).expect("schedstat field");
    nanos as f64 * 1e-9
}

fn stats(runs: &[f64]) -> (f64, f64) {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    (sorted[0], sorted[sorted.len() / 2])
}

fn throughput(mib: usize, reps: usize, filter: &str) {
    let data = random_bytes(mib * MIB, 0x6b75_7261);
    let mut table = [0u64; 256];
    let mut rng = SplitMix(42);
    for slot in &mut table {
        *slot = rng.next();
    }
    let boundaries = chunk_streaming(&data);
    let xorbs = build_xorbs(&data, &boundaries);
    let serialized: usize = xorbs.iter().map(|(bytes, _)| bytes.len()).sum();
    eprintln!(
        "data {} MiB, {} chunks (mean {} B), {} xorbs ({} serialized bytes)",
        mib,
        boundaries.len(),
        data.len() / boundaries.len().max(1),
        xorbs.len(),
        serialized
    );

    type Case<'a> = (&'a str, Box<dyn Fn() + 'a>);
    let mut cases: Vec<Case<'_>> = vec![
        (
            "blake3_1thread",
            Box::new(|| {
                let mut hasher = blake3::Hasher::new();
                hasher.update(&data);
                black_box(hasher.finalize());
            }),
        ),
        (
            "blake3_keyed_64k_pieces",
            Box::new(|| {
                let key = [7u8; 32];
                for piece in data.chunks(64 * 1024) {
                    black_box(blake3::keyed_hash(&key, piece));
                }
            }),
        ),
        (
            "gear_scan_every_byte",
            Box::new(|| {
                black_box(gear_scan(&table, &data));
            }),
        ),
        (
            "kura_chunker",
            Box::new(|| {
                black_box(chunk_streaming(&data));
            }),
        ),
        (
            "kura_chunker_plus_chunk_hash",
            Box::new(|| {
                black_box(chunk_and_hash_streaming(&data));
            }),
        ),
        (
            "kura_chunk_and_hash_whole_buffer",
            Box::new(|| {
                let nodes = chunk_and_hash(&data);
                black_box(file_hash(&nodes));
            }),
        ),
        (
            "kura_validate_xorb",
            Box::new(|| {
                for (bytes, hash) in &xorbs {
                    black_box(validate_xorb(bytes, hash).expect("valid xorb"));
                }
            }),
        ),
    ];

    cases.retain(|(name, _)| name.contains(filter));
    let cpu_clock = std::env::var("CAS_BENCH_CLOCK").is_ok_and(|clock| clock == "cpu");
    let mut runs: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..=reps {
        for (index, (_, run)) in cases.iter().enumerate() {
            let (started, cpu_started) = (Instant::now(), cpu_clock.then(thread_cpu_secs));
            run();
            let secs = match cpu_started {
                Some(cpu_started) => thread_cpu_secs() - cpu_started,
                None => started.elapsed().as_secs_f64(),
            };
            if round > 0 {
                runs[index].push(mib as f64 / secs);
            }
        }
    }
    for ((name, _), runs) in cases.iter().zip(&runs) {
        let (min, median) = stats(runs);
        let all: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
        println!("{name} {min:.0} {median:.0} {}", all.join(","));
    }
}

fn dedup(paths: &[String]) {
    let mut total = 0u64;
    let mut chunks = 0u64;
    let mut seen_chunks: HashSet<MerkleHash> = HashSet::new();
    let mut unique_chunk_bytes = 0u64;
    let mut seen_files: HashSet<MerkleHash> = HashSet::new();
    let mut distinct_file_bytes = 0u64;
    for path in paths {
        let data = std::fs::read(path).unwrap_or_else(|err| panic!("read {path}: {err}"));
        let nodes = chunk_and_hash(&data);
        total += data.len() as u64;
        chunks += nodes.len() as u64;
        for node in &nodes {
            if seen_chunks.insert(node.hash) {
                unique_chunk_bytes += node.size;
            }
        }
        if seen_files.insert(file_hash(&nodes)) {
            distinct_file_bytes += data.len() as u64;
        }
    }
    println!("files {}", paths.len());
    println!("total_bytes {total}");
    println!("distinct_file_bytes {distinct_file_bytes}");
    println!("chunks {chunks}");
    println!("unique_chunks {}", seen_chunks.len());
    println!("unique_chunk_bytes {unique_chunk_bytes}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("throughput") => {
            let mib = args.get(1).map_or(1024, |v| v.parse().expect("MIB is a number"));
            let reps = args.get(2).map_or(5, |v| v.parse().expect("REPS is a number"));
            let filter = args.get(3).map_or("", String::as_str);
            throughput(mib, reps.max(1), filter);
        }
        Some("dedup") if args.len() > 1 => dedup(&args[1..]),
        _ => {
            eprintln!("usage: cas_bench throughput [MIB] [REPS] [FILTER] | cas_bench dedup FILE...");
            std::process::exit(2);
        }
    }
}
