//! The mirror's upstream hub over HTTP (reqwest): `kura_core::Upstream`. Answers are asked for
//! without content encoding and decoded if the upstream compresses anyway, so nothing
//! compressed is ever cached or served; redirects are followed (a renamed repo, a CDN for
//! large files; reqwest drops the `Authorization` header when a redirect leaves the host).

use std::io::Read;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use kura_core::{Upstream, UpstreamBody, UpstreamError, UpstreamMethod, UpstreamReply, UpstreamRequest};

/// How long connecting may take, and how long an API answer may take in all.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a download may go without a byte before it counts as broken (and resumes).
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// An upstream hub at a base URL (`https://huggingface.co`, or another kura).
pub struct HttpUpstream {
    base: String,
    /// The base URL parsed: what URLs the upstream names are held to.
    origin: reqwest::Url,
    /// API calls: redirects only within the upstream's own origin (a renamed repo).
    api: reqwest::Client,
    /// File downloads: redirects anywhere (a CDN); `Authorization` is dropped off-host.
    files: reqwest::Client,
    /// Calls to the upstream's Xet CAS and its xorb ranges (absolute URLs it named): never
    /// redirected.
    cas: reqwest::Client,
}

impl HttpUpstream {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let base = base.trim_end_matches('/').to_owned();
        let origin = reqwest::Url::parse(&base)?;
        let kept = origin.clone();
        let same_origin = reqwest::redirect::Policy::custom(move |attempt| {
            let url = attempt.url();
            let same = url.scheme() == origin.scheme()
                && url.host_str() == origin.host_str()
                && url.port_or_known_default() == origin.port_or_known_default();
            if attempt.previous().len() >= 5 || !same { attempt.stop() } else { attempt.follow() }
        });
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .read_timeout(READ_TIMEOUT)
                .user_agent(concat!("kura-mirror/", env!("CARGO_PKG_VERSION")))
        };
        let api = builder().redirect(same_origin).build()?;
        let files = builder().build()?;
        let cas = builder().redirect(reqwest::redirect::Policy::none()).build()?;
        Ok(Self { base, origin: kept, api, files, cas })
    }

    fn request(&self, method: reqwest::Method, path: &str, token: Option<&str>) -> reqwest::RequestBuilder {
        self.request_with(&self.api, method, path, token)
    }

    fn request_with(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        let mut request = client
            .request(method, format!("{}{path}", self.base))
            .header(reqwest::header::ACCEPT_ENCODING, "identity");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }
}

/// An absolute URL the upstream (at `origin`) named, if kura may fetch it: `http` or `https`
/// (`https` only when the upstream is), and not on a loopback, private or link-local address
/// unless the upstream itself is on one.
fn named_url(origin: &reqwest::Url, url: &str) -> Result<reqwest::Url, UpstreamError> {
    let refuse = |why: &str| UpstreamError::Unreachable(format!("the upstream named a URL {why}"));
    let parsed = reqwest::Url::parse(url).map_err(|_| refuse("that is malformed"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(refuse("that is not http(s)"));
    }
    if origin.scheme() == "https" && parsed.scheme() != "https" {
        return Err(refuse("without TLS"));
    }
    if is_internal(&parsed) && !is_internal(origin) {
        return Err(refuse("on an internal address"));
    }
    Ok(parsed)
}

/// Whether a URL names `localhost` or a loopback, private, link-local or unspecified address.
fn is_internal(url: &reqwest::Url) -> bool {
    use std::net::IpAddr;
    let Some(host) = url.host_str() else { return true };
    let ip = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        Ok(ip) => ip,
        Err(_) => {
            let name = host.trim_end_matches('.').to_ascii_lowercase();
            return name == "localhost" || name.ends_with(".localhost");
        }
    };
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
        }
    }
}

/// Reads a whole answer, up to `max` bytes, decoded if the upstream compressed it anyway.
async fn read_reply(response: reqwest::Response, max: usize) -> Result<UpstreamReply, UpstreamError> {
    let status = response.status().as_u16();
    let headers = headers_of(&response);
    if response.content_length().is_some_and(|len| len > max as u64) {
        return Err(UpstreamError::TooLarge(max));
    }
    let mut body = Vec::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreachable)?;
        if body.len() + chunk.len() > max {
            return Err(UpstreamError::TooLarge(max));
        }
        body.extend_from_slice(&chunk);
    }
    let encoding = headers.iter().find(|(n, _)| n == "content-encoding").map(|(_, v)| v.as_str());
    let body = decode(encoding, body.into(), max)?;
    let headers =
        headers.into_iter().filter(|(n, _)| n != "content-encoding" && n != "content-length").collect();
    Ok(UpstreamReply { status, headers, body })
}

/// A download's answer as a stream; a compressed one is refused (its bytes would not be the
/// file's).
fn body_of(response: reqwest::Response) -> Result<UpstreamBody, UpstreamError> {
    let status = response.status().as_u16();
    let headers = headers_of(&response);
    if headers.iter().any(|(n, v)| n == "content-encoding" && v != "identity") {
        return Err(UpstreamError::Unreachable("the upstream compressed a file download".to_owned()));
    }
    let body = response.bytes_stream().map_err(|e| std::io::Error::other(without_url(&e))).boxed();
    Ok(UpstreamBody { status, headers, body })
}

fn unreachable(error: reqwest::Error) -> UpstreamError {
    UpstreamError::Unreachable(without_url(&error))
}

/// The error's text without the URL (which could carry a signed CDN query).
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    kind.to_owned()
}

fn headers_of(response: &reqwest::Response) -> Vec<(String, String)> {
    response
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// Decodes a body the upstream compressed although asked not to, within `max` bytes.
fn decode(encoding: Option<&str>, body: Bytes, max: usize) -> Result<Bytes, UpstreamError> {
    let mut reader: Box<dyn Read> = match encoding.map(str::trim) {
        None | Some("") | Some("identity") => return Ok(body),
        Some("gzip") | Some("x-gzip") => Box::new(flate2::read::GzDecoder::new(&body[..])),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        Some(other) => {
            return Err(UpstreamError::Unreachable(format!(
                "the upstream answered in an unknown encoding '{other}'"
            )));
        }
    };
    let mut out = Vec::new();
    (&mut reader).take(max as u64 + 1).read_to_end(&mut out).map_err(|e| {
        UpstreamError::Unreachable(format!("the upstream's compressed answer is broken: {e}"))
    })?;
    if out.len() > max {
        return Err(UpstreamError::TooLarge(max));
    }
    Ok(out.into())
}

#[async_trait::async_trait]
impl Upstream for HttpUpstream {
    async fn call(&self, request: UpstreamRequest, max_body: usize) -> Result<UpstreamReply, UpstreamError> {
        let builder = match request.method {
            UpstreamMethod::Get => {
                self.request(reqwest::Method::GET, &request.path, request.token.as_deref())
            }
            UpstreamMethod::PostForm => self
                .request(reqwest::Method::POST, &request.path, request.token.as_deref())
                .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(request.body.unwrap_or_default()),
        };
        let response = builder.timeout(CALL_TIMEOUT).send().await.map_err(unreachable)?;
        read_reply(response, max_body).await
    }

    async fn open(
        &self,
        path: &str,
        offset: u64,
        token: Option<&str>,
    ) -> Result<UpstreamBody, UpstreamError> {
        let mut request = self.request_with(&self.files, reqwest::Method::GET, path, token);
        if offset > 0 {
            request = request.header(reqwest::header::RANGE, format!("bytes={offset}-"));
        }
        let response = request.send().await.map_err(unreachable)?;
        body_of(response)
    }

    async fn call_url(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
        token: &str,
        max_body: usize,
    ) -> Result<UpstreamReply, UpstreamError> {
        let mut request = self
            .cas
            .get(named_url(&self.origin, url)?)
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .bearer_auth(token)
            .timeout(CALL_TIMEOUT);
        if let Some((start, end)) = range {
            request = request.header(reqwest::header::RANGE, format!("bytes={start}-{end}"));
        }
        read_reply(request.send().await.map_err(unreachable)?, max_body).await
    }

    async fn open_url(&self, url: &str, start: u64, end: u64) -> Result<UpstreamBody, UpstreamError> {
        let response = self
            .cas
            .get(named_url(&self.origin, url)?)
            .header(reqwest::header::ACCEPT_ENCODING, "identity")
            .header(reqwest::header::RANGE, format!("bytes={start}-{end}"))
            .send()
            .await
            .map_err(unreachable)?;
        body_of(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap().into()
    }

    #[test]
    fn compressed_answers_are_decoded_within_the_budget() {
        let json = br#"{"sha": "abc"}"#;
        assert_eq!(decode(Some("gzip"), gzip(json), 1024).unwrap(), Bytes::from_static(json));
        assert_eq!(decode(None, Bytes::from_static(json), 1024).unwrap(), Bytes::from_static(json));
        let bomb = gzip(&vec![b'a'; 1 << 20]);
        assert!(matches!(decode(Some("gzip"), bomb, 4096), Err(UpstreamError::TooLarge(4096))));
        assert!(decode(Some("br"), Bytes::from_static(b"x"), 10).is_err());
        assert!(decode(Some("gzip"), Bytes::from_static(b"not gzip"), 10).is_err());
    }

    #[test]
    fn only_http_urls_the_upstream_names_are_fetched() {
        let public = reqwest::Url::parse("https://huggingface.co").unwrap();
        let local = reqwest::Url::parse("http://127.0.0.1:8080").unwrap();
        assert!(named_url(&public, "https://cas.example/v1/reconstructions/ab").is_ok());
        assert!(named_url(&local, "http://127.0.0.1:9/fetch/x").is_ok(), "a local upstream names itself");
        for bad in ["file:///etc/passwd", "ftp://x/y", "unix:/run/x.sock", "not a url", "data:,x"] {
            assert!(named_url(&public, bad).is_err(), "{bad}");
        }
        for internal in [
            "https://127.0.0.1/x",
            "https://localhost:9/x",
            "https://10.1.2.3/x",
            "https://169.254.169.254/latest/meta-data",
            "https://[::1]/x",
            "https://[fd00::1]/x",
            "https://[::ffff:192.168.0.1]/x",
            "https://0.0.0.0/x",
        ] {
            assert!(named_url(&public, internal).is_err(), "{internal}");
        }
        assert!(named_url(&public, "http://cas.example/x").is_err(), "no downgrade from https");
    }
}
