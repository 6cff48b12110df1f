//! Bounds-checked little-endian reader over untrusted bytes; every short read is a `CasError`.

use crate::error::CasError;
use crate::hash::MerkleHash;

/// Reads fixed-width little-endian fields from a byte slice, never panicking.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`; `what` names the structure in errors.
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Self { bytes, position: 0, what }
    }

    /// Changes the structure name used in errors.
    pub(crate) fn set_what(&mut self, what: &'static str) {
        self.what = what;
    }

    pub(crate) fn position(&self) -> usize {
        self.position
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.position
    }

    /// The next byte without consuming it.
    pub(crate) fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], CasError> {
        if self.remaining() < len {
            return Err(CasError::truncated(self.what, self.position, len, self.remaining()));
        }
        let slice = &self.bytes[self.position..self.position + len];
        self.position += len;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], CasError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, CasError> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u32(&mut self) -> Result<u32, CasError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, CasError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub(crate) fn hash(&mut self) -> Result<MerkleHash, CasError> {
        Ok(MerkleHash::from_bytes(self.array()?))
    }
}
