//! Self-authorising URLs: an HMAC-SHA256 over what the URL allows and until when. Every
//! replica must share the key.

use hmac::{Hmac, KeyInit, Mac};

type HmacSha256 = Hmac<sha2::Sha256>;

/// Signs and checks capability payloads.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(payload);
        mac
    }

    /// A key for another purpose, derived from the signing key and `label` (so it is the same
    /// on every replica, and knowing one derived key reveals neither the others nor this one).
    pub(crate) fn derive_key(&self, label: &str) -> [u8; 32] {
        self.mac(label.as_bytes()).finalize().into_bytes().into()
    }

    /// Hex signature of `payload`.
    pub fn sign(&self, payload: impl AsRef<[u8]>) -> String {
        hex::encode(self.mac(payload.as_ref()).finalize().into_bytes())
    }

    /// Constant-time check of a hex signature.
    pub fn verify(&self, payload: impl AsRef<[u8]>, signature: &str) -> bool {
        match hex::decode(signature) {
            Ok(bytes) => self.mac(payload.as_ref()).verify_slice(&bytes).is_ok(),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_payload_and_key() {
        let signer = Signer::new(b"k1".to_vec());
        let sig = signer.sign("put:abc:100");
        assert!(signer.verify("put:abc:100", &sig));
        assert!(!signer.verify("put:abc:101", &sig));
        assert!(!Signer::new(b"k2".to_vec()).verify("put:abc:100", &sig));
        assert!(!signer.verify("put:abc:100", "zz"));
    }
}
