//! Object framing (`<kind> <size>\0<content>`) and SHA-1 object ids.

use kura_model::ObjectId;
use sha1::{Digest, Sha1};

use crate::GitError;

/// The four git object kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Blob,
    Tree,
    Commit,
    Tag,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Blob => "blob",
            ObjectKind::Tree => "tree",
            ObjectKind::Commit => "commit",
            ObjectKind::Tag => "tag",
        }
    }

    pub fn parse(text: &[u8]) -> Option<Self> {
        match text {
            b"blob" => Some(ObjectKind::Blob),
            b"tree" => Some(ObjectKind::Tree),
            b"commit" => Some(ObjectKind::Commit),
            b"tag" => Some(ObjectKind::Tag),
            _ => None,
        }
    }
}

/// The header git hashes in front of an object's content.
pub fn object_header(kind: ObjectKind, size: u64) -> Vec<u8> {
    format!("{} {size}\0", kind.as_str()).into_bytes()
}

/// The id git gives an object with this content.
pub fn hash_object(kind: ObjectKind, content: &[u8]) -> ObjectId {
    let mut hasher = Sha1::new();
    hasher.update(object_header(kind, content.len() as u64));
    hasher.update(content);
    ObjectId(hasher.finalize().into())
}

/// Splits a framed object (`header + content`) into its kind and content.
pub fn split_object(framed: &[u8]) -> Result<(ObjectKind, &[u8]), GitError> {
    let nul = framed
        .iter()
        .position(|&b| b == 0)
        .filter(|&p| p <= 32)
        .ok_or_else(|| GitError::malformed("framed", "missing header"))?;
    let header = &framed[..nul];
    let space = header
        .iter()
        .position(|&b| b == b' ')
        .ok_or_else(|| GitError::malformed("framed", "header without size"))?;
    let kind = ObjectKind::parse(&header[..space])
        .ok_or_else(|| GitError::malformed("framed", "unknown object kind"))?;
    let size: usize = std::str::from_utf8(&header[space + 1..])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| GitError::malformed("framed", "bad size"))?;
    let content = &framed[nul + 1..];
    if content.len() != size {
        return Err(GitError::malformed("framed", "size does not match content"));
    }
    Ok((kind, content))
}

/// Incremental git blob id over content whose size is known up front.
pub struct BlobHasher {
    hasher: Sha1,
    expected: u64,
    seen: u64,
}

impl BlobHasher {
    pub fn new(size: u64) -> Self {
        let mut hasher = Sha1::new();
        hasher.update(object_header(ObjectKind::Blob, size));
        Self { hasher, expected: size, seen: 0 }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.seen += data.len() as u64;
        self.hasher.update(data);
    }

    /// The blob id, or `None` when the content length differed from the declared size.
    pub fn finish(self) -> Option<ObjectId> {
        (self.seen == self.expected).then(|| ObjectId(self.hasher.finalize().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_git_hash_object() {
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            hash_object(ObjectKind::Blob, b"hello\n").to_hex(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        // The empty tree.
        assert_eq!(hash_object(ObjectKind::Tree, b"").to_hex(), "4b825dc642cb6eb9a060e54bf8d69288fbee4904");
    }

    #[test]
    fn streaming_blob_hash_matches() {
        let mut h = BlobHasher::new(6);
        h.update(b"hel");
        h.update(b"lo\n");
        assert_eq!(h.finish(), Some(hash_object(ObjectKind::Blob, b"hello\n")));
        let mut short = BlobHasher::new(7);
        short.update(b"hello\n");
        assert_eq!(short.finish(), None);
    }

    #[test]
    fn split_checks_framing() {
        let mut framed = object_header(ObjectKind::Blob, 2);
        framed.extend_from_slice(b"hi");
        assert_eq!(split_object(&framed).unwrap(), (ObjectKind::Blob, &b"hi"[..]));
        assert!(split_object(b"blob 3\0hi").is_err());
        assert!(split_object(b"nope 2\0hi").is_err());
        assert!(split_object(b"blob 2hi").is_err());
    }
}
