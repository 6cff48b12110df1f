//! Buffered pack input for both reading passes: tracks the absolute offset, optionally hashes
//! every consumed byte (for the trailer check), and inflates zlib streams to an exact size
//! without reading past their end.

use std::io::{Read, Seek, SeekFrom};

use flate2::{Decompress, FlushDecompress, Status};
use sha1::{Digest, Sha1};

use crate::GitError;

const BUFFER_SIZE: usize = 64 << 10;
const INFLATE_CHUNK: usize = 32 << 10;

pub(crate) fn truncated() -> GitError {
    GitError::malformed("pack", "truncated")
}

/// A reader over pack bytes with our own buffer, so the zlib decoder's exact consumption is
/// known and the next entry starts right after it.
pub(crate) struct PackInput<R> {
    inner: R,
    buffer: Box<[u8]>,
    start: usize,
    end: usize,
    /// Absolute pack offset of `buffer[start]`.
    position: u64,
    /// Never read the underlying reader beyond this offset (an entry's end in pass 2).
    limit: u64,
    hasher: Option<Sha1>,
    zlib: Decompress,
    scratch: Box<[u8]>,
}

impl<R: Read> PackInput<R> {
    pub(crate) fn new(inner: R, hashing: bool) -> Self {
        Self {
            inner,
            buffer: vec![0; BUFFER_SIZE].into_boxed_slice(),
            start: 0,
            end: 0,
            position: 0,
            limit: u64::MAX,
            hasher: hashing.then(Sha1::new),
            zlib: Decompress::new(true),
            scratch: vec![0; INFLATE_CHUNK].into_boxed_slice(),
        }
    }

    /// Absolute offset of the next unread byte.
    pub(crate) fn position(&self) -> u64 {
        self.position
    }

    /// Reads more bytes into the buffer; returns how many (0 at end of input or limit).
    fn fill(&mut self) -> Result<usize, GitError> {
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let buffered_end = self.position + self.end as u64;
        let allowed = self.limit.saturating_sub(buffered_end);
        let room = (self.buffer.len() - self.end).min(usize::try_from(allowed).unwrap_or(usize::MAX));
        if room == 0 {
            return Ok(0);
        }
        let read = loop {
            match self.inner.read(&mut self.buffer[self.end..self.end + room]) {
                Ok(read) => break read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error.into()),
            }
        };
        self.end += read;
        Ok(read)
    }

    fn consume(&mut self, count: usize) {
        if let Some(hasher) = &mut self.hasher {
            hasher.update(&self.buffer[self.start..self.start + count]);
        }
        self.start += count;
        self.position += count as u64;
    }

    pub(crate) fn byte(&mut self) -> Result<u8, GitError> {
        if self.start == self.end && self.fill()? == 0 {
            return Err(truncated());
        }
        let byte = self.buffer[self.start];
        self.consume(1);
        Ok(byte)
    }

    pub(crate) fn exact(&mut self, out: &mut [u8]) -> Result<(), GitError> {
        for slot in out {
            *slot = self.byte()?;
        }
        Ok(())
    }

    /// True when no byte is left.
    pub(crate) fn at_end(&mut self) -> Result<bool, GitError> {
        Ok(self.start == self.end && self.fill()? == 0)
    }

    /// The SHA-1 of everything consumed so far; stops hashing.
    pub(crate) fn take_digest(&mut self) -> Option<[u8; 20]> {
        self.hasher.take().map(|hasher| hasher.finalize().into())
    }

    /// Inflates one zlib stream that must produce exactly `size` bytes, handing the output to
    /// `sink` in chunks of at most 32 KiB. Stops as soon as the output would exceed `size`.
    pub(crate) fn inflate(
        &mut self,
        size: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), GitError>,
    ) -> Result<(), GitError> {
        self.zlib.reset(true);
        loop {
            if self.start == self.end && self.fill()? == 0 {
                return Err(truncated());
            }
            let (before_in, before_out) = (self.zlib.total_in(), self.zlib.total_out());
            let status = self
                .zlib
                .decompress(&self.buffer[self.start..self.end], &mut self.scratch, FlushDecompress::None)
                .map_err(|error| GitError::malformed("pack", format!("bad zlib stream: {error}")))?;
            let consumed = (self.zlib.total_in() - before_in) as usize;
            let produced = (self.zlib.total_out() - before_out) as usize;
            self.consume(consumed);
            if self.zlib.total_out() > size {
                return Err(GitError::malformed(
                    "pack",
                    format!("entry inflates beyond its declared {size} bytes"),
                ));
            }
            if produced > 0 {
                sink(&self.scratch[..produced])?;
            }
            match status {
                Status::StreamEnd => break,
                Status::Ok | Status::BufError if consumed == 0 && produced == 0 => {
                    // No progress: the decoder needs more input than is buffered.
                    if self.end - self.start == self.buffer.len() || self.fill()? == 0 {
                        return Err(truncated());
                    }
                }
                Status::Ok | Status::BufError => {}
            }
        }
        if self.zlib.total_out() != size {
            return Err(GitError::malformed(
                "pack",
                format!("entry inflates to {} bytes, header declares {size}", self.zlib.total_out()),
            ));
        }
        Ok(())
    }

    /// Inflates into a new buffer (callers check `size` against their limits first).
    pub(crate) fn inflate_to_vec(&mut self, size: u64) -> Result<Vec<u8>, GitError> {
        let capacity =
            usize::try_from(size).map_err(|_| GitError::limit("object size", size, usize::MAX as u64))?;
        let mut out = Vec::with_capacity(capacity);
        self.inflate(size, &mut |chunk| {
            out.extend_from_slice(chunk);
            Ok(())
        })?;
        Ok(out)
    }
}

impl<R: Read + Seek> PackInput<R> {
    /// Moves to `offset`, reading no further than `limit` from then on.
    pub(crate) fn seek_to(&mut self, offset: u64, limit: u64) -> Result<(), GitError> {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.start = 0;
        self.end = 0;
        self.position = offset;
        self.limit = limit;
        Ok(())
    }
}
