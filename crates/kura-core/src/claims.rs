//! The one encoding of every self-authorising token (LFS capabilities, Xet CAS tokens, xorb
//! fetch URLs): a typed claim, serialized, inside an HMAC signature envelope.
//!
//! Token text: `base64url(VERSION, kind, json).hex(hmac)`. The version byte lets the format
//! change later (a token of another version stops verifying); the kind byte ties the bytes to
//! one claim type, so a token of one kind never opens as another, even where the JSON would fit.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::signing::Signer;

/// Version of the token encoding; bumped when it changes.
const VERSION: u8 = 1;

/// What a token grants; each kind is one claim type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Kind {
    /// An LFS upload, verify or download URL ([`crate::Capability`]).
    LfsCapability = 1,
    /// A Xet CAS bearer token ([`crate::XetGrant`]).
    XetToken = 2,
    /// A signed URL for a byte range of one xorb.
    XorbFetch = 3,
}

/// A claim type carried by a signed token.
pub(crate) trait Claim: Serialize + DeserializeOwned {
    const KIND: Kind;
}

/// Signs `claim` into token text.
pub(crate) fn seal<C: Claim>(signer: &Signer, claim: &C) -> String {
    let mut bytes = vec![VERSION, C::KIND as u8];
    // Serializing a claim (strings, integers, bools) cannot fail; an empty body would fail
    // to open, never grant anything.
    if let Err(error) = serde_json::to_writer(&mut bytes, claim) {
        tracing::error!(%error, "serializing a token claim");
    }
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&bytes), signer.sign(&bytes))
}

/// The claim of a token signed by `signer`, of this version and kind; `None` for anything
/// else (forged, truncated, another kind, an older encoding). Expiry is the caller's check.
pub(crate) fn open<C: Claim>(signer: &Signer, token: &str) -> Option<C> {
    let (encoded, signature) = token.split_once('.')?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    if !signer.verify(&bytes, signature) {
        return None;
    }
    match bytes.as_slice() {
        [VERSION, kind, body @ ..] if *kind == C::KIND as u8 => serde_json::from_slice(body).ok(),
        _ => None,
    }
}

/// Serde forms of the model types inside claims, as their usual text.
pub(crate) mod text {
    use kura_model::{RepoId, RepoType, Sha256};
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) mod repo_type {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(value: &RepoType, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(value.as_str())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RepoType, D::Error> {
            let text = String::deserialize(d)?;
            RepoType::from_singular(&text).ok_or_else(|| D::Error::custom("unknown repo type"))
        }
    }

    pub(crate) mod repo_id {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(value: &RepoId, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(value)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<RepoId, D::Error> {
            RepoId::parse(&String::deserialize(d)?).map_err(D::Error::custom)
        }
    }

    pub(crate) mod sha256 {
        use super::*;

        pub(crate) fn serialize<S: Serializer>(value: &Sha256, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_str(&value.to_hex())
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Sha256, D::Error> {
            Sha256::from_hex(&String::deserialize(d)?).map_err(D::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct A {
        n: u32,
    }
    impl Claim for A {
        const KIND: Kind = Kind::XetToken;
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct B {
        n: u32,
    }
    impl Claim for B {
        const KIND: Kind = Kind::XorbFetch;
    }

    #[test]
    fn claims_round_trip_and_bind_kind_key_and_bytes() {
        let signer = Signer::new(b"k".to_vec());
        let token = seal(&signer, &A { n: 7 });
        assert_eq!(open::<A>(&signer, &token), Some(A { n: 7 }));
        // Same JSON shape, other kind: refused.
        assert_eq!(open::<B>(&signer, &token), None);
        assert_eq!(open::<A>(&Signer::new(b"other".to_vec()), &token), None);
        let (body, signature) = token.split_once('.').unwrap();
        let mut bytes = URL_SAFE_NO_PAD.decode(body).unwrap();
        // Flip the kind byte, the version byte, then the claim, each re-encoded with the old
        // signature: none verify.
        for at in [1, 0, bytes.len() - 2] {
            bytes[at] ^= 1;
            let forged = format!("{}.{signature}", URL_SAFE_NO_PAD.encode(&bytes));
            assert_eq!(open::<A>(&signer, &forged), None, "byte {at}");
            assert_eq!(open::<B>(&signer, &forged), None, "byte {at}");
            bytes[at] ^= 1;
        }
        for bad in ["", ".", "x.y", &token[..token.len() - 1], &token.replace('.', "")] {
            assert_eq!(open::<A>(&signer, bad), None, "{bad}");
        }
    }

    #[test]
    fn other_versions_and_the_old_pipe_format_do_not_open() {
        let signer = Signer::new(b"k".to_vec());
        let sealed = |bytes: &[u8]| format!("{}.{}", URL_SAFE_NO_PAD.encode(bytes), signer.sign(bytes));
        let mut next = vec![VERSION + 1, Kind::XetToken as u8];
        next.extend_from_slice(br#"{"n":7}"#);
        assert_eq!(open::<A>(&signer, &sealed(&next)), None);
        // A correctly signed token of the encoding before this one.
        let old = b"xet|read|model|alice/m|99999999999|t1";
        assert_eq!(open::<A>(&signer, &sealed(old)), None);
    }
}
