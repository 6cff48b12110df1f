//! Per-request context handed to handlers: the caller's identity, query pairs and body
//! helpers with size limits.

use axum::body::Body;
use axum::http::{HeaderMap, Method};
use bytes::{Bytes, BytesMut};
use futures_util::{StreamExt, TryStreamExt};
use kura_core::RepoRecord;
use kura_core::{ByteStream, Hub, Identity};
use kura_model::RepoId;

use crate::AppState;
use crate::budget::{Reservation, UNCOUNTED_BYTES};
use crate::error::{ApiError, ApiResult};
use crate::route::RepoRef;

/// Limit for JSON bodies and form bodies.
pub(crate) const JSON_LIMIT: usize = 16 << 20;

pub(crate) struct Ctx {
    pub(crate) state: AppState,
    pub(crate) method: Method,
    pub(crate) headers: HeaderMap,
    pub(crate) query: Vec<(String, String)>,
    /// Behind a mutex only so `&Ctx` is `Send` (a body is not `Sync`).
    pub(crate) body: std::sync::Mutex<Option<Body>>,
    pub(crate) identity: Identity,
    /// The raw bearer token (CAS routes authenticate with a Xet token instead of a hub token).
    pub(crate) bearer: Option<String>,
    /// The peer address, when the server knows it (login rate limits).
    pub(crate) client_ip: Option<std::net::IpAddr>,
    /// This request's share of the global body budget, held until the request ends.
    pub(crate) reservation: Reservation,
    /// The caller's own token for the mirror's upstream hub (a bearer token kura never
    /// issued, forwarded only where the operator allows it), never a kura token.
    pub(crate) upstream_token: Option<String>,
}

/// Decodes `a=1&b=x%20y&b=z` into pairs, keeping repeats.
pub(crate) fn query_pairs(raw: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(raw.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

impl Ctx {
    pub(crate) fn hub(&self) -> &Hub {
        &self.state.hub
    }

    pub(crate) fn anonymous(&self) -> bool {
        self.identity.is_anonymous()
    }

    pub(crate) fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// All values of a repeated key; `expand` and `expand[]` count as one.
    pub(crate) fn params(&self, key: &str) -> Vec<&str> {
        let bracketed = format!("{key}[]");
        self.query.iter().filter(|(k, _)| *k == key || *k == bracketed).map(|(_, v)| v.as_str()).collect()
    }

    pub(crate) fn flag(&self, key: &str) -> bool {
        self.param(key).is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
    }

    /// The `Content-Length` the client declared, if any.
    pub(crate) fn declared_length(&self) -> Option<u64> {
        self.headers.get(axum::http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
    }

    /// Reads the whole body up to `limit` bytes. A larger declared length is refused before
    /// anything is read; bodies over 1 MiB first take their size from the global body budget
    /// (all of a declared length at once, otherwise as they grow).
    pub(crate) async fn body_bytes(&mut self, limit: usize) -> ApiResult<Bytes> {
        let too_large = || {
            ApiError::new(
                axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                format!("Request body is larger than {limit} bytes"),
            )
        };
        let declared = self.declared_length();
        if declared.is_some_and(|length| length > limit as u64) {
            return Err(too_large());
        }
        if let Some(length) = declared.filter(|&length| length > UNCOUNTED_BYTES) {
            self.reservation.cover(length).await?;
        }
        let body = self.body.get_mut().map(Option::take).ok().flatten().unwrap_or_default();
        let mut stream = body.into_data_stream();
        // Sized once from the declared length (at most `limit`): no doubling copies.
        let mut buffer = BytesMut::with_capacity(declared.map_or(0, |length| length as usize));
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| ApiError::bad_request(format!("The request body was interrupted: {e}")))?;
            let length = buffer.len() + chunk.len();
            if length > limit {
                return Err(too_large());
            }
            if length as u64 > UNCOUNTED_BYTES {
                self.reservation.cover(length as u64).await?;
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(buffer.freeze())
    }

    pub(crate) async fn json<T: serde::de::DeserializeOwned>(&mut self) -> ApiResult<T> {
        self.json_limited(JSON_LIMIT).await
    }

    /// `json` with a smaller body limit.
    pub(crate) async fn json_limited<T: serde::de::DeserializeOwned>(
        &mut self,
        limit: usize,
    ) -> ApiResult<T> {
        let bytes = self.body_bytes(limit).await?;
        serde_json::from_slice(&bytes).map_err(|e| ApiError::bad_request(format!("Invalid JSON body: {e}")))
    }

    /// The body as a stream of bytes.
    pub(crate) fn body_stream(&mut self) -> ByteStream {
        let body = self.body.get_mut().map(Option::take).ok().flatten().unwrap_or_default();
        Box::pin(body.into_data_stream().map_err(std::io::Error::other))
    }

    /// Validates a URL repo reference.
    pub(crate) fn repo_id(&self, repo: &RepoRef) -> ApiResult<RepoId> {
        RepoId::new(&repo.namespace, &repo.name).map_err(|e| ApiError::bad_request(e.0))
    }

    /// Finds a repo the caller may see.
    pub(crate) async fn find_repo(&self, repo: &RepoRef) -> ApiResult<RepoRecord> {
        let repo_id = self.repo_id(repo)?;
        Ok(self.hub().repos().find_repo(&self.identity, repo.repo_type, &repo_id).await?)
    }

    /// Absolute URL of a repo page (`{E}/ns/name`, `{E}/datasets/ns/name`).
    pub(crate) fn repo_url(&self, repo_type: kura_model::RepoType, repo_id: &RepoId) -> String {
        format!("{}/{}{}", self.state.public_url, repo_type.url_prefix(), repo_id)
    }
}

#[cfg(test)]
mod tests {
    use super::query_pairs;

    #[test]
    fn query_pairs_decode_as_forms_do() {
        let pair = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(
            query_pairs("a=1&b=x+y%2B&&c&d=%E2%9C%93&e=%ff"),
            vec![pair("a", "1"), pair("b", "x y+"), pair("c", ""), pair("d", "✓"), pair("e", "\u{fffd}")]
        );
        assert!(query_pairs("").is_empty());
    }
}
