//! Git LFS pointer files.

use kura_model::Sha256;

use crate::GitError;

/// Pointer files are tiny; anything bigger is real content.
pub const MAX_POINTER_SIZE: usize = 1024;

const VERSION_LINE: &str = "version https://git-lfs.github.com/spec/v1";

/// The content of a pointer file: the object's SHA-256 and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LfsPointer {
    pub oid: Sha256,
    pub size: u64,
}

impl LfsPointer {
    /// The canonical pointer text, as `git lfs` writes it.
    pub fn encode(&self) -> Vec<u8> {
        format!("{VERSION_LINE}\noid sha256:{}\nsize {}\n", self.oid, self.size).into_bytes()
    }

    /// Parses pointer text; returns `Ok(None)` when `data` is not a pointer at all.
    pub fn parse(data: &[u8]) -> Result<Option<Self>, GitError> {
        if data.len() > MAX_POINTER_SIZE || !data.starts_with(b"version https://git-lfs") {
            return Ok(None);
        }
        let text = std::str::from_utf8(data).map_err(|_| GitError::malformed("lfs pointer", "not UTF-8"))?;
        let mut oid = None;
        let mut size = None;
        for line in text.lines().skip(1) {
            if let Some(hex) = line.strip_prefix("oid sha256:") {
                oid = Some(Sha256::from_hex(hex).map_err(|_| GitError::malformed("lfs pointer", "bad oid"))?);
            } else if let Some(n) = line.strip_prefix("size ") {
                size = Some(n.parse().map_err(|_| GitError::malformed("lfs pointer", "bad size"))?);
            }
        }
        match (oid, size) {
            (Some(oid), Some(size)) => Ok(Some(Self { oid, size })),
            _ => Err(GitError::malformed("lfs pointer", "missing oid or size")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_non_pointers() {
        let pointer = LfsPointer { oid: Sha256::digest(b"x"), size: 1 };
        let text = pointer.encode();
        assert!(text.starts_with(b"version https://git-lfs.github.com/spec/v1\noid sha256:"));
        assert_eq!(LfsPointer::parse(&text).unwrap(), Some(pointer));
        assert_eq!(LfsPointer::parse(b"hello").unwrap(), None);
        assert!(LfsPointer::parse(b"version https://git-lfs.github.com/spec/v1\nsize 3\n").is_err());
    }
}
