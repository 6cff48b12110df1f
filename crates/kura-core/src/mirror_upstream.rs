//! The mirror's port to the upstream hub (`Upstream`), implemented outside the core (the
//! binary's reqwest adapter; tests point it at a second kura), and the mirror's settings.

use bytes::Bytes;

use crate::ByteStream;

/// How a request reaches the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamMethod {
    Get,
    /// A form-encoded body (`paths-info`).
    PostForm,
}

/// One API request to the upstream hub.
#[derive(Debug, Clone)]
pub struct UpstreamRequest {
    pub method: UpstreamMethod,
    /// Path and query, starting with `/`, already percent-encoded.
    pub path: String,
    pub body: Option<String>,
    /// The bearer token sent upstream, if any.
    pub token: Option<String>,
}

/// An upstream answer, its body decoded (no `Content-Encoding` left) and bounded.
#[derive(Debug, Clone)]
pub struct UpstreamReply {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl UpstreamReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A file download from the upstream: status (200 whole, 206 from the offset asked), headers
/// and the body as it arrives.
pub struct UpstreamBody {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: ByteStream,
}

impl UpstreamBody {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Why the upstream gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// Not reachable (connection refused, timeout, TLS, offline mode).
    #[error("the upstream hub is unreachable: {0}")]
    Unreachable(String),
    /// The answer was larger than the caller's budget.
    #[error("the upstream answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// The upstream hub, as the mirror sees it.
#[async_trait::async_trait]
pub trait Upstream: Send + Sync + 'static {
    /// An API call; the body is read whole, up to `max_body` bytes (more is `TooLarge`).
    async fn call(&self, request: UpstreamRequest, max_body: usize) -> Result<UpstreamReply, UpstreamError>;
    /// A file's bytes from `offset` (`GET path` with `Range: bytes={offset}-` past 0).
    async fn open(&self, path: &str, offset: u64, token: Option<&str>)
    -> Result<UpstreamBody, UpstreamError>;
    /// A GET of an absolute `http(s)` URL the upstream named (its Xet CAS), with `token` as
    /// bearer and `Range: bytes={start}-{end}` when given; never redirected; the body is read
    /// whole, up to `max_body` bytes.
    async fn call_url(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        token: &str,
        max_body: usize,
    ) -> Result<UpstreamReply, UpstreamError>;
    /// Bytes `start..=end` of an absolute `http(s)` URL the upstream named (a xorb range),
    /// without credentials (the URL carries its own signature).
    async fn open_url(&self, url: &str, start: u64, end: u64) -> Result<UpstreamBody, UpstreamError>;
}

/// How the mirror behaves (`[upstream]` in the configuration).
#[derive(Clone)]
pub struct MirrorConfig {
    /// The upstream hub's base URL (shown to users; the port holds its own copy).
    pub url: String,
    /// How long a branch or tag keeps the commit it resolved to before it is asked again.
    pub ref_ttl_secs: u64,
    /// Repo id patterns (`*` matches any run of characters) that may be mirrored; empty: all.
    pub allow: Vec<String>,
    /// Patterns that may not, whatever `allow` says.
    pub deny: Vec<String>,
    /// The mirror's own upstream token, for public repos.
    pub token: Option<String>,
    /// Send a bearer token kura does not know upstream as the caller's own (only for a
    /// mirror-only deployment without local accounts).
    pub forward_unknown_tokens: bool,
    /// Never call the upstream: serve what is cached.
    pub offline: bool,
    /// Fetch files through the upstream's Xet reconstruction when it offers one (a new version
    /// then costs only its new chunks); `false`: always through `resolve`.
    pub xet: bool,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            ref_ttl_secs: 300,
            allow: Vec::new(),
            deny: Vec::new(),
            token: None,
            forward_unknown_tokens: false,
            offline: false,
            xet: true,
        }
    }
}

impl std::fmt::Debug for MirrorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MirrorConfig")
            .field("url", &self.url)
            .field("ref_ttl_secs", &self.ref_ttl_secs)
            .field("allow", &self.allow)
            .field("deny", &self.deny)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("forward_unknown_tokens", &self.forward_unknown_tokens)
            .field("offline", &self.offline)
            .field("xet", &self.xet)
            .finish()
    }
}

impl MirrorConfig {
    /// Whether `repo_id` ("ns/name") may be mirrored: allowed (or no allow list) and not denied.
    pub fn admits(&self, repo_id: &str) -> bool {
        let repo_id = repo_id.to_ascii_lowercase();
        let allowed =
            self.allow.is_empty() || self.allow.iter().any(|p| glob(&p.to_ascii_lowercase(), &repo_id));
        allowed && !self.deny.iter().any(|p| glob(&p.to_ascii_lowercase(), &repo_id))
    }
}

/// `*` matches any run of characters (slashes too); everything else matches itself.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_runs_of_any_characters() {
        assert!(glob("*", "a/b"));
        assert!(glob("meta-llama/*", "meta-llama/llama-3"));
        assert!(!glob("meta-llama/*", "meta/llama"));
        assert!(glob("*/bert-*", "google/bert-base"));
        assert!(glob("a*b*c", "aXbYbZc"));
        assert!(!glob("a*b*c", "aXbYbZ"));
        assert!(glob("exact/name", "exact/name"));
        assert!(!glob("exact/name", "exact/name2"));
    }

    #[test]
    fn deny_wins_over_allow_and_ids_match_in_any_case() {
        let config = MirrorConfig {
            allow: vec!["Org/*".into(), "other/one".into()],
            deny: vec!["org/secret-*".into()],
            ..MirrorConfig::default()
        };
        assert!(config.admits("org/model"));
        assert!(config.admits("ORG/Model"));
        assert!(config.admits("other/one"));
        assert!(!config.admits("other/two"));
        assert!(!config.admits("org/secret-weights"));
        assert!(MirrorConfig::default().admits("anyone/anything"));
    }
}
