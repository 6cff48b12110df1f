//! `MerkleHash` and the keyed BLAKE3 hashes of Xet (chunk, verification, dedup keying).

use std::fmt;
use std::str::FromStr;

use crate::error::CasError;

/// Key for chunk hashes (`DATA_KEY` in xet-core); also used for shard file names.
pub const DATA_KEY: [u8; 32] = [
    102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28, 157, 228, 33, 16, 155, 235, 43,
    88, 180, 208, 176, 75, 147, 173, 242, 41,
];

/// Key for Merkle internal nodes (`INTERNAL_NODE_KEY`).
pub const INTERNAL_NODE_KEY: [u8; 32] = [
    1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230, 93, 221, 83, 111, 55, 199, 109,
    210, 248, 99, 82, 230, 74, 83, 113, 63,
];

/// Key for term verification (range) hashes (`VERIFICATION_KEY`).
pub const VERIFICATION_KEY: [u8; 32] = [
    127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243, 164, 205, 38, 213, 181, 219,
    73, 230, 65, 36, 152, 127, 40, 251, 148, 195,
];

/// Key of the final file-hash step: all zeros.
pub const FILE_KEY: [u8; 32] = [0; 32];

/// A 32-byte Xet hash (chunk, xorb, file, verification or shard hash).
///
/// Xet treats the bytes as four little-endian `u64` words. The hex form prints each word as
/// 16 hex digits, words in order, so bytes appear reversed within each 8-byte group compared
/// with plain hex of the bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MerkleHash([u8; 32]);

impl MerkleHash {
    /// The all-zero hash (also the file hash of an empty file).
    pub const ZERO: MerkleHash = MerkleHash([0; 32]);

    /// Wraps raw hash bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Raw bytes, as stored in xorbs and shards.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Xet hex form: four little-endian u64 words, each printed as 16 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        let mut text = String::with_capacity(64);
        for word in self.0.chunks_exact(8) {
            let mut reversed = [0u8; 8];
            reversed.copy_from_slice(word);
            reversed.reverse();
            text.push_str(&hex::encode(reversed));
        }
        text
    }

    /// Parses the Xet hex form (either case); the inverse of [`MerkleHash::to_hex`].
    pub fn from_hex(text: &str) -> Result<Self, CasError> {
        let invalid = || CasError::InvalidHashHex { text: text.chars().take(80).collect() };
        if text.len() != 64 {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|_| invalid())?;
        for word in bytes.chunks_exact_mut(8) {
            word.reverse();
        }
        Ok(Self(bytes))
    }

    /// Bytes 24..32 read as a little-endian u64: the value Xet takes "mod n" of.
    pub fn last_u64(&self) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[24..32]);
        u64::from_le_bytes(word)
    }

    /// Bytes 0..8 as a little-endian u64: the "truncated hash" of shard lookup tables.
    pub fn first_u64(&self) -> u64 {
        let mut word = [0u8; 8];
        word.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(word)
    }
}

impl fmt::Display for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerkleHash({})", self.to_hex())
    }
}

impl FromStr for MerkleHash {
    type Err = CasError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_hex(text)
    }
}

impl serde::Serialize for MerkleHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for MerkleHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// Keyed BLAKE3 of `data` under `key`.
pub fn keyed_hash(key: &[u8; 32], data: &[u8]) -> MerkleHash {
    MerkleHash(*blake3::keyed_hash(key, data).as_bytes())
}

/// Hash of one chunk's raw (uncompressed) bytes.
pub fn chunk_hash(data: &[u8]) -> MerkleHash {
    keyed_hash(&DATA_KEY, data)
}

/// [`chunk_hash`] of the concatenation of `parts` (a chunk that spans several buffers),
/// without joining them first: BLAKE3 hashes incrementally to the same value.
pub fn chunk_hash_parts<T: AsRef<[u8]>>(parts: &[T]) -> MerkleHash {
    let mut hasher = blake3::Hasher::new_keyed(&DATA_KEY);
    for part in parts {
        hasher.update(part.as_ref());
    }
    MerkleHash(*hasher.finalize().as_bytes())
}

/// Verification hash of a term: keyed BLAKE3 over the raw bytes of the chunk hashes of
/// chunks `[start, end)` of the term's xorb, in order.
pub fn verification_range_hash(chunk_hashes: &[MerkleHash]) -> MerkleHash {
    let mut hasher = blake3::Hasher::new_keyed(&VERIFICATION_KEY);
    for hash in chunk_hashes {
        hasher.update(hash.as_bytes());
    }
    MerkleHash(*hasher.finalize().as_bytes())
}

/// The "HMAC" that dedup shards put in place of chunk hashes: keyed BLAKE3 under a
/// per-response key over the raw chunk hash. A zero key means "raw hashes" and returns the
/// hash unchanged, as clients expect.
pub fn keyed_chunk_hash(key: &[u8; 32], hash: &MerkleHash) -> MerkleHash {
    if key == &[0u8; 32] {
        return *hash;
    }
    keyed_hash(key, hash.as_bytes())
}

/// Whether a chunk goes into the global dedup index: the first chunk of a file, or one
/// whose hash is 0 mod 1024.
pub fn is_global_dedup_eligible(hash: &MerkleHash, first_chunk_of_file: bool) -> bool {
    first_chunk_of_file || hash.last_u64().is_multiple_of(1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_reverses_bytes_within_each_word() {
        let mut bytes = [0u8; 32];
        for (index, byte) in bytes.iter_mut().enumerate() {
            *byte = index as u8;
        }
        let hash = MerkleHash::from_bytes(bytes);
        assert_eq!(hash.to_hex(), "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918");
        assert_eq!(MerkleHash::from_hex(&hash.to_hex()).unwrap(), hash);
        assert_eq!(MerkleHash::from_hex(&hash.to_hex().to_uppercase()).unwrap(), hash);
        assert_eq!(hash.last_u64(), 0x1f1e1d1c1b1a1918);
        assert_eq!(hash.first_u64(), 0x0706050403020100);
    }

    #[test]
    fn from_hex_rejects_bad_text() {
        assert!(MerkleHash::from_hex("abc").is_err());
        assert!(MerkleHash::from_hex(&"g".repeat(64)).is_err());
        assert!(MerkleHash::from_hex(&"a".repeat(65)).is_err());
        assert!(MerkleHash::from_hex(&"é".repeat(32)).is_err());
    }

    #[test]
    fn serde_uses_xet_hex() {
        let hash = chunk_hash(b"hello");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{}\"", hash.to_hex()));
        let back: MerkleHash = serde_json::from_str(&json).unwrap();
        assert_eq!(back, hash);
    }

    #[test]
    fn zero_key_dedup_hash_is_identity() {
        let hash = chunk_hash(b"x");
        assert_eq!(keyed_chunk_hash(&[0; 32], &hash), hash);
        assert_ne!(keyed_chunk_hash(&[1; 32], &hash), hash);
    }
}
