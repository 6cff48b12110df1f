//! Writing new objects past the page cache (`O_DIRECT`) where the filesystem allows it.
//!
//! An object is written once, fsynced, and usually not read again soon (a checkpoint, a
//! xorb). Through the page cache, every written byte is first copied into freshly allocated
//! cache pages: measured on the benchmark VM, 1.4-2.4 CPU-seconds of kernel time per GiB,
//! more than hashing the same bytes. With `O_DIRECT` the device reads from kura's own buffer
//! (0.1-0.4 s per GiB). The kernel wants the buffer, the file offset and the length aligned,
//! so bytes go through an aligned bounce buffer (one memcpy), the last block is padded with
//! zeros, and the file is truncated to its length before the fsync.
//!
//! Whether a directory takes `O_DIRECT` is probed once when the store opens (not every
//! filesystem does); where it does not, writes are plain buffered writes, as before.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

use bytes::Bytes;

/// Alignment of buffer addresses, file offsets and lengths for `O_DIRECT`: the page size,
/// a multiple of every logical block size kura is likely to meet.
const ALIGN: usize = 4096;
/// Bytes per direct write.
const BUFFER: usize = 4 << 20;

/// One new file being written, directly or through the page cache.
pub(crate) enum TempWriter {
    Direct(DirectWriter),
    Plain(File),
}

impl TempWriter {
    /// Creates `path` (which must not exist), for direct writes when `direct`; `size` is what
    /// will be written, if known (a small object gets a small bounce buffer).
    pub(crate) fn create(path: &Path, direct: bool, size: Option<usize>) -> io::Result<Self> {
        if direct {
            let file = open_direct(path)?;
            return Ok(Self::Direct(DirectWriter::new(file, size.unwrap_or(BUFFER))));
        }
        Ok(Self::Plain(OpenOptions::new().write(true).create_new(true).open(path)?))
    }

    pub(crate) fn write_all(&mut self, data: &[u8]) -> io::Result<()> {
        match self {
            Self::Direct(writer) => writer.write_all(data),
            Self::Plain(file) => file.write_all(data),
        }
    }

    /// Writes what is buffered and makes the file's bytes and length durable.
    pub(crate) fn finish(self) -> io::Result<()> {
        match self {
            Self::Direct(writer) => writer.finish(),
            Self::Plain(file) => file.sync_all(),
        }
    }
}

fn open_direct(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).custom_flags(libc::O_DIRECT).open(path)
}

/// Whether files created in `dir` take aligned direct writes: creates, writes and removes one
/// probe file. Any failure means no (plain writes always work where the store does).
pub(crate) fn probe(dir: &Path) -> bool {
    let path = dir.join(format!("direct-probe-{:016x}", rand::random::<u64>()));
    let outcome = (|| {
        let mut writer = DirectWriter::new(open_direct(&path)?, ALIGN + 1);
        writer.write_all(&[0x5a; ALIGN + 1])?;
        writer.finish()?;
        // Reads too, including one that ends inside the last block.
        let back = read_range(&path, 1, ALIGN as u64, true)?;
        Ok::<_, io::Error>(
            std::fs::metadata(&path)?.len() == ALIGN as u64 + 1 && back.iter().all(|&b| b == 0x5a),
        )
    })();
    let _ = std::fs::remove_file(&path);
    matches!(outcome, Ok(true))
}

/// Reads exactly `len` bytes at `offset` of `path`; past the page cache when `direct`, with
/// the aligned span around the range read into an aligned buffer (a plain read where the
/// file refuses `O_DIRECT`). A file shorter than the range is an `UnexpectedEof` error.
pub(crate) fn read_range(path: &Path, offset: u64, len: u64, direct: bool) -> io::Result<Bytes> {
    let file = if direct {
        match OpenOptions::new().read(true).custom_flags(libc::O_DIRECT).open(path) {
            Err(error) if error.raw_os_error() == Some(libc::EINVAL) => None,
            other => Some(other?),
        }
    } else {
        None
    };
    let Some(file) = file else {
        return read_plain(&File::open(path)?, offset, len);
    };
    let too_long = || io::Error::new(io::ErrorKind::InvalidInput, "range too long for one read");
    let first = offset - offset % ALIGN as u64;
    let end = offset.checked_add(len).ok_or_else(too_long)?;
    let aligned_end = end.div_ceil(ALIGN as u64).checked_mul(ALIGN as u64).ok_or_else(too_long)?;
    let span = usize::try_from(aligned_end - first).map_err(|_| too_long())?;
    let mut buffer = vec![0u8; span.checked_add(ALIGN).ok_or_else(too_long)?];
    let start = (ALIGN - buffer.as_ptr().addr() % ALIGN) % ALIGN;
    let mut got = 0usize;
    while got < span {
        let read = file.read_at(&mut buffer[start + got..start + span], first + got as u64)?;
        got += read;
        // A short read of a regular file is its end: reading on would be at an unaligned
        // offset, which some kernels refuse instead of answering 0.
        if read == 0 || !read.is_multiple_of(ALIGN) {
            break;
        }
    }
    let skip = (offset - first) as usize;
    if (got as u64) < (offset - first) + len {
        return Err(short_object());
    }
    Ok(Bytes::from(buffer).slice(start + skip..start + skip + len as usize))
}

fn read_plain(file: &File, offset: u64, len: u64) -> io::Result<Bytes> {
    let len = usize::try_from(len).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buffer = vec![0u8; len];
    file.read_exact_at(&mut buffer, offset).map_err(|error| match error.kind() {
        io::ErrorKind::UnexpectedEof => short_object(),
        _ => error,
    })?;
    Ok(Bytes::from(buffer))
}

fn short_object() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "object shorter than the requested range")
}

/// Direct writes through an aligned bounce buffer.
pub(crate) struct DirectWriter {
    file: File,
    /// Over-allocated by `ALIGN`, so an aligned window of `window` bytes fits at `start`.
    buffer: Vec<u8>,
    start: usize,
    window: usize,
    filled: usize,
    written: u64,
}

impl DirectWriter {
    /// A writer whose bounce buffer fits `size` bytes, up to `BUFFER`.
    fn new(file: File, size: usize) -> Self {
        let window = size.clamp(1, BUFFER).div_ceil(ALIGN) * ALIGN;
        let buffer = vec![0u8; window + ALIGN];
        let misalignment = buffer.as_ptr().addr() % ALIGN;
        let start = (ALIGN - misalignment) % ALIGN;
        Self { file, buffer, start, window, filled: 0, written: 0 }
    }

    fn write_all(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let take = data.len().min(self.window - self.filled);
            let at = self.start + self.filled;
            self.buffer[at..at + take].copy_from_slice(&data[..take]);
            self.filled += take;
            data = &data[take..];
            if self.filled == self.window {
                self.flush_window(self.window)?;
            }
        }
        Ok(())
    }

    /// Writes the first `len` bytes of the window (a multiple of `ALIGN`) and empties it.
    fn flush_window(&mut self, len: usize) -> io::Result<()> {
        self.file.write_all(&self.buffer[self.start..self.start + len])?;
        self.written += self.filled as u64;
        self.filled = 0;
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        if self.filled > 0 {
            let padded = self.filled.div_ceil(ALIGN) * ALIGN;
            let at = self.start + self.filled;
            self.buffer[at..self.start + padded].fill(0);
            self.flush_window(padded)?;
            // The padding is not the object's: cut the file back to what was written.
            self.file.set_len(self.written)?;
        }
        self.file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Writes `data` in pieces of `piece` bytes and reads the file back.
    fn round_trip(direct: bool, data: &[u8], piece: usize) -> Vec<u8> {
        let dir = disk_dir();
        let path = dir.path().join("object");
        // Pieces of a whole MiB stand for a stream of unknown size; the others say the size.
        let size = (piece != 1 << 20).then_some(data.len());
        let mut writer = TempWriter::create(&path, direct, size).unwrap();
        assert_eq!(matches!(writer, TempWriter::Direct(_)), direct);
        for part in data.chunks(piece.max(1)) {
            writer.write_all(part).unwrap();
        }
        writer.finish().unwrap();
        std::fs::read(&path).unwrap()
    }

    /// A directory on the disk that holds the build (the system temp dir may be a tmpfs).
    fn disk_dir() -> tempfile::TempDir {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&target).unwrap();
        tempfile::tempdir_in(target).unwrap()
    }

    #[test]
    fn a_disk_filesystem_takes_direct_writes() {
        assert!(probe(disk_dir().path()), "the build's disk refuses O_DIRECT: direct writes go untested");
    }

    #[test]
    fn writes_every_length_byte_exact() {
        let direct = probe(disk_dir().path());
        for len in [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, BUFFER - 1, BUFFER, BUFFER + 7, 2 * BUFFER + ALIGN] {
            let data = pattern(len);
            for piece in [1 << 20, 65_537, BUFFER] {
                assert_eq!(round_trip(direct, &data, piece), data, "len {len}, pieces of {piece}");
                assert_eq!(round_trip(false, &data, piece), data, "plain: len {len}, pieces of {piece}");
            }
        }
    }

    #[test]
    fn reads_any_range_byte_exact_and_refuses_one_past_the_end() {
        let dir = disk_dir();
        let direct = probe(dir.path());
        let len = 3 * ALIGN + 17;
        let data = pattern(len);
        let path = dir.path().join("object");
        std::fs::write(&path, &data).unwrap();
        for use_direct in [direct, false] {
            for (offset, n) in
                [(0, len), (1, 1), (ALIGN - 1, 2), (ALIGN, ALIGN), (5, len - 5), (len, 0), (len - 1, 1)]
            {
                let got = read_range(&path, offset as u64, n as u64, use_direct).unwrap();
                assert_eq!(&got[..], &data[offset..offset + n], "{offset}+{n}, direct {use_direct}");
            }
            for (offset, n) in [(0, len + 1), (len, 1), (len + ALIGN, 1)] {
                let error = read_range(&path, offset as u64, n as u64, use_direct).unwrap_err();
                assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof, "{offset}+{n}, direct {use_direct}");
            }
        }
        let missing = read_range(&dir.path().join("missing"), 0, 1, direct).unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn the_probe_leaves_nothing_behind_and_refuses_a_missing_directory() {
        let dir = tempfile::tempdir().unwrap();
        probe(dir.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        assert!(!probe(&dir.path().join("missing")));
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = disk_dir();
        let path = dir.path().join("taken");
        std::fs::write(&path, b"kept").unwrap();
        for direct in [true, false] {
            assert!(TempWriter::create(&path, direct, None).is_err());
        }
        assert_eq!(std::fs::read(&path).unwrap(), b"kept");
    }
}
