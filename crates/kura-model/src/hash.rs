//! Fixed-size content hashes: git object ids (SHA-1) and SHA-256 content digests.

use std::fmt;
use std::str::FromStr;

/// Error returned when a string is not a valid hex hash of the expected length.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind}: expected {len} lowercase hex characters")]
pub struct HashParseError {
    kind: &'static str,
    len: usize,
}

macro_rules! hex_hash {
    ($name:ident, $bytes:expr, $kind:expr) => {
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub [u8; $bytes]);

        impl $name {
            /// Number of bytes in the hash.
            pub const LEN: usize = $bytes;

            /// Lowercase hex form.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses exactly `2 * LEN` hex characters (either case accepted, stored as bytes).
            pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
                let error = HashParseError { kind: $kind, len: $bytes * 2 };
                if text.len() != $bytes * 2 {
                    return Err(error);
                }
                let mut out = [0u8; $bytes];
                hex::decode_to_slice(text, &mut out).map_err(|_| error)?;
                Ok(Self(out))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = HashParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }
    };
}

hex_hash!(ObjectId, 20, "git object id");
hex_hash!(Sha256, 32, "sha256");

impl ObjectId {
    /// True when `text` is a full 40-hex commit id as the Hub client recognises it.
    pub fn looks_like_full(text: &str) -> bool {
        text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
    }
}

impl Sha256 {
    /// Digest of `data` in one call (small inputs; stream with `sha2` for large ones).
    pub fn digest(data: &[u8]) -> Self {
        use sha2::Digest;
        let out = sha2::Sha256::digest(data);
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&out);
        Self(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_hex() {
        let text = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
        let oid = ObjectId::from_hex(text).unwrap();
        assert_eq!(oid.to_hex(), text);
        assert!(ObjectId::from_hex("abc").is_err());
        assert!(ObjectId::from_hex(&"g".repeat(40)).is_err());
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            Sha256::digest(b"").to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
