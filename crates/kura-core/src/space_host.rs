//! Static Space hosting, the parts that do no I/O: the subdomain a Space is served on, which
//! host names are Space hosts, the Space's configuration from its card, its runtime as the
//! Hub reports it, which file a request path means, content types, the headers every Space
//! answer carries, and the `window.huggingface.variables` script put into its page.

use kura_model::RepoId;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The sandbox every Space answer runs in: scripts, forms and popups, never the same origin
/// (the page gets an opaque origin, so it can read no cookie and no storage of any site).
pub const SPACE_CSP: &str = "sandbox allow-scripts allow-forms allow-popups";

/// Subdomains no Space gets: names of the hub's own hosts and services.
const RESERVED: &[&str] =
    &["www", "api", "hub", "static", "cdn", "cas", "datasets-server", "spaces", "admin"];

/// Longest DNS label.
const MAX_LABEL: usize = 63;

/// The headers a Space's README may set (`custom_headers`), with the values each accepts.
const CUSTOM_HEADERS: &[(&str, &[&str])] = &[
    ("cross-origin-embedder-policy", &["require-corp", "credentialless", "unsafe-none"]),
    ("cross-origin-opener-policy", &["same-origin", "same-origin-allow-popups", "unsafe-none"]),
    ("cross-origin-resource-policy", &["same-site", "same-origin", "cross-origin"]),
];

/// The subdomains a Space may get, best first: `{owner}-{name}` in lower case with every run
/// of characters other than letters and digits made one `-` (the Hub's `_` → `-`), then the
/// same with a short hash of the exact id, so ids that fold together still get distinct names.
pub fn subdomain_candidates(repo_id: &RepoId) -> Vec<String> {
    let mut base = String::new();
    for c in format!("{}-{}", repo_id.namespace(), repo_id.name()).chars() {
        if c.is_ascii_alphanumeric() {
            base.push(c.to_ascii_lowercase());
        } else if !base.ends_with('-') && !base.is_empty() {
            base.push('-');
        }
    }
    let digest = hex::encode(Sha256::digest(repo_id.to_string().as_bytes()));
    let mut candidates = Vec::new();
    for suffix in ["", &digest[..6], &digest[..12], &digest[..20]] {
        let room = if suffix.is_empty() { MAX_LABEL } else { MAX_LABEL - suffix.len() - 1 };
        let mut label: String = base.chars().take(room).collect();
        while label.ends_with('-') {
            label.pop();
        }
        if !suffix.is_empty() {
            if !label.is_empty() {
                label.push('-');
            }
            label.push_str(suffix);
        }
        // `xn--` labels are IDNA's; reserved names are the hub's.
        if label.is_empty() || label.get(2..4) == Some("--") || RESERVED.contains(&label.as_str()) {
            continue;
        }
        candidates.push(label);
    }
    // Last, a name no fold makes (folds never hold `--`), so no other Space can take every
    // candidate of this one.
    candidates.push(format!("space--{}", &digest[..24]));
    candidates
}

/// Where Spaces are served: `{subdomain}.{domain}` on the same scheme and port as the hub,
/// unless the domain names its own port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpacesHost {
    /// Lower-case host name, without a port.
    pub domain: String,
    /// `http` or `https`.
    pub scheme: String,
    /// The port the origin names, if not the scheme's default.
    pub port: Option<u16>,
}

/// The host name of a `Host` header: without its port and a trailing dot.
fn host_name(host: &str) -> &str {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    name.strip_suffix('.').unwrap_or(name)
}

impl SpacesHost {
    /// The origin of the Space with `subdomain`.
    pub fn origin(&self, subdomain: &str) -> String {
        match self.port {
            Some(port) => format!("{}://{subdomain}.{}:{port}", self.scheme, self.domain),
            None => format!("{}://{subdomain}.{}", self.scheme, self.domain),
        }
    }

    /// The subdomain a request's `Host` header names, when it is a Space host: one label under
    /// the domain (any port, since a proxy may listen elsewhere) that is not one of the hub's own
    /// names (`datasets-server.{domain}` stays the dataset viewer's).
    pub fn subdomain_of<'a>(&self, host: &'a str) -> Option<&'a str> {
        let name = host_name(host);
        let label = name.get(..name.len().checked_sub(self.domain.len() + 1)?)?;
        let rest = &name[label.len()..];
        let is_label = !label.is_empty()
            && label.len() <= MAX_LABEL
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        (rest.len() == self.domain.len() + 1
            && rest.starts_with('.')
            && rest[1..].eq_ignore_ascii_case(&self.domain)
            && is_label
            && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(label)))
        .then_some(label)
    }

    /// Whether `host` (a `Host` header, any port) names a host below the domain: a Space host
    /// or not, nothing there may reach the hub unsandboxed.
    pub fn is_below(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        name.strip_suffix(&self.domain).is_some_and(|rest| rest.ends_with('.') && rest.len() > 1)
    }
}

/// The last labels that make a host's registrable domain, roughly: two, or three under the
/// common two-level public suffixes (`co.uk`, `com.au`...). Good enough to refuse a Spaces
/// domain that would share the hub's site; not a public suffix list.
fn site_of(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let second_level = ["co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go"];
    let country = labels.last().is_some_and(|tld| tld.len() == 2);
    let keep =
        if labels.len() >= 3 && country && second_level.contains(&labels[labels.len() - 2]) { 3 } else { 2 };
    labels[labels.len().saturating_sub(keep)..].join(".")
}

/// Checks a Spaces domain against the hub's host: it must be a host name, and must not share
/// the hub's site (cookies scoped to that site would reach the Spaces, and a Space host could
/// set cookies the hub reads). An IP address hub may use any name (`localhost` in tests).
pub fn check_spaces_domain(domain: &str, hub_host: &str) -> std::result::Result<(), String> {
    let valid = !domain.is_empty()
        && domain.len() <= 200
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
        })
        && !domain.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !valid {
        return Err(format!("spaces_domain '{domain}' is not a host name"));
    }
    let hub_host =
        hub_host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    if hub_host.parse::<std::net::IpAddr>().is_ok() {
        return Ok(());
    }
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    if domain == hub_host
        || hub_host.ends_with(&format!(".{domain}"))
        || domain.ends_with(&format!(".{hub_host}"))
        || (hub_host.contains('.') && site_of(&domain) == site_of(&hub_host))
    {
        return Err(format!(
            "spaces_domain '{domain}' shares a site with the hub's host '{hub_host}': Spaces must be served \
             under a domain of their own, so their pages can never read or set the hub's cookies"
        ));
    }
    Ok(())
}

/// What a Space's card says about serving it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceConfig {
    pub sdk: Option<String>,
    /// The entry page (`app_file`), `index.html` for static Spaces that name none.
    pub app_file: String,
    /// `custom_headers` that passed the allow-list, lower-case.
    pub headers: Vec<(String, String)>,
}

impl SpaceConfig {
    pub fn from_card(card: Option<&Value>) -> Self {
        let field = |name: &str| card.and_then(|c| c.get(name)).and_then(Value::as_str).map(str::to_owned);
        let app_file = field("app_file")
            .map(|f| f.trim_start_matches("./").trim_start_matches('/').to_owned())
            .filter(|f| !f.is_empty())
            .unwrap_or_else(|| "index.html".to_owned());
        let mut headers = Vec::new();
        if let Some(Value::Object(asked)) = card.and_then(|c| c.get("custom_headers")) {
            for (name, allowed) in CUSTOM_HEADERS {
                if let Some(value) = asked.get(*name).and_then(Value::as_str)
                    && allowed.contains(&value)
                {
                    headers.push(((*name).to_owned(), value.to_owned()));
                }
            }
        }
        Self { sdk: field("sdk"), app_file, headers }
    }

    pub fn is_static(&self) -> bool {
        self.sdk.as_deref() == Some("static")
    }

    /// The folder the app file is in (`""` at the root): request paths are taken under it.
    pub fn base_dir(&self) -> &str {
        self.app_file.rsplit_once('/').map_or("", |(dir, _)| dir)
    }
}

/// The runtime the Hub reports for a Space on a hub that runs no compute: a static Space with
/// its app file is `RUNNING` when this hub serves Spaces; everything else says why not.
pub fn runtime(config: &SpaceConfig, has_app_file: bool, served: bool) -> Value {
    let (stage, message) = match (config.sdk.as_deref(), has_app_file, served) {
        (Some("static"), true, true) => ("RUNNING", None),
        (Some("static"), true, false) => (
            "STOPPED",
            Some("This hub serves no Spaces: its administrator has not set spaces_domain".to_owned()),
        ),
        (Some("static"), false, _) => ("NO_APP_FILE", None),
        (Some(sdk), _, _) => (
            "STOPPED",
            Some(format!(
                "This hub runs no compute: only static Spaces are served, and this Space's SDK is '{sdk}'"
            )),
        ),
        (None, _, _) => ("CONFIG_ERROR", Some("The Space's README names no sdk".to_owned())),
    };
    json!({
        "stage": stage,
        "hardware": {"current": null, "requested": null},
        "gcTimeout": null,
        "errorMessage": message,
        "replicas": {"current": null, "requested": null},
        "devMode": false,
        "domains": [],
        "storage": null,
    })
}

/// The repo path a request path names in a Space whose files are under `base`: the app file
/// for `/`, `index.html` for a folder, the file itself otherwise. `None` for a path that
/// leaves the base (`..`), is not valid UTF-8 once decoded, or names a hidden file.
pub fn file_for(config: &SpaceConfig, request_path: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(request_path).decode_utf8().ok()?;
    let trimmed = decoded.trim_start_matches('/');
    if trimmed.is_empty() {
        return Some(config.app_file.clone());
    }
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            hidden if hidden.starts_with('.') => return None,
            part => parts.push(part),
        }
    }
    let mut path = parts.join("/");
    if decoded.ends_with('/') {
        path = if path.is_empty() { "index.html".to_owned() } else { format!("{path}/index.html") };
    }
    let base = config.base_dir();
    Some(if base.is_empty() { path } else { format!("{base}/{path}") })
}

/// The content type of a file by its extension; unknown types are served as bytes (and the
/// answer says `nosniff`, so a browser never guesses a script or a page from them).
pub fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "xml" => "application/xml",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "mp4" => "video/mp4",
        "webm" => "video/webm",
        "glb" => "model/gltf-binary",
        "gltf" => "model/gltf+json",
        "pdf" => "application/pdf",
        _ => "application/octet-stream",
    }
}

/// The script that gives the page its variables (`window.huggingface.variables`), safe inside
/// HTML: nothing in a value can end the script element.
pub fn variables_script(variables: &[(String, String)]) -> String {
    let map: serde_json::Map<String, Value> =
        variables.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    let data = json!({ "variables": map }).to_string();
    let mut safe = String::with_capacity(data.len());
    for c in data.chars() {
        match c {
            '<' => safe.push_str("\\u003c"),
            '>' => safe.push_str("\\u003e"),
            '&' => safe.push_str("\\u0026"),
            '\u{2028}' => safe.push_str("\\u2028"),
            '\u{2029}' => safe.push_str("\\u2029"),
            c => safe.push(c),
        }
    }
    format!("<script>window.huggingface = {safe};</script>")
}

/// Where the variables script goes in a page that starts with `head` (its first bytes): just
/// after the `<head>` tag, else after the `<html>` tag, else after the doctype, else at the
/// start.
pub fn script_position(head: &[u8]) -> usize {
    let lower: Vec<u8> = head.iter().map(u8::to_ascii_lowercase).collect();
    let after_tag = |tag: &[u8]| -> Option<usize> {
        // The first occurrence that is the tag itself (`<head`, not `<header`).
        let start = (0..lower.len().saturating_sub(tag.len())).find(|&at| {
            lower[at..].starts_with(tag)
                && lower.get(at + tag.len()).is_some_and(|&next| next == b'>' || next.is_ascii_whitespace())
        })?;
        let end = lower[start..].iter().position(|&b| b == b'>')?;
        Some(start + end + 1)
    };
    after_tag(b"<head").or_else(|| after_tag(b"<html")).or_else(|| after_tag(b"<!doctype")).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> RepoId {
        RepoId::parse(text).unwrap()
    }

    #[test]
    fn subdomains_fold_like_the_hub_and_stay_distinct() {
        assert_eq!(subdomain_candidates(&id("wzshiming/hello_world"))[0], "wzshiming-hello-world");
        let (a, b) = (subdomain_candidates(&id("alice/my_app")), subdomain_candidates(&id("alice/my-app")));
        assert_eq!(a[0], b[0]);
        assert_ne!(a[1], b[1], "the hashed fallback tells them apart");
        let long = subdomain_candidates(&id(&format!("someone/{}", "x".repeat(60))));
        assert!(long.iter().all(|c| c.len() <= 63 && !c.ends_with('-')));
        let last = a.last().unwrap();
        assert!(last.starts_with("space--") && last.len() == 31, "a candidate no fold makes: {last}");
        assert_ne!(last, b.last().unwrap());
    }

    #[test]
    fn space_hosts_are_one_label_under_the_domain() {
        let host = SpacesHost { domain: "localhost".into(), scheme: "http".into(), port: Some(8080) };
        assert_eq!(host.subdomain_of("alice-app.localhost:8080"), Some("alice-app"));
        assert_eq!(host.subdomain_of("Alice-App.LOCALHOST"), Some("Alice-App"));
        assert_eq!(host.subdomain_of("localhost:8080"), None);
        assert_eq!(host.subdomain_of("a.b.localhost"), None);
        assert_eq!(host.subdomain_of("alicelocalhost"), None);
        assert_eq!(host.subdomain_of("127.0.0.1:8080"), None);
        assert_eq!(host.subdomain_of("x_y.localhost"), None);
        assert_eq!(host.subdomain_of("datasets-server.localhost"), None, "the viewer's host");
        assert_eq!(host.origin("alice-app"), "http://alice-app.localhost:8080");
        assert!(host.is_below("www.localhost:8080") && host.is_below("a.b.LOCALHOST."));
        assert!(
            !host.is_below("localhost:8080") && !host.is_below("127.0.0.1") && !host.is_below("xlocalhost")
        );
    }

    #[test]
    fn a_spaces_domain_never_shares_the_hubs_site() {
        assert!(check_spaces_domain("localhost", "127.0.0.1").is_ok());
        assert!(check_spaces_domain("spaces-example.net", "hub.example.com").is_ok());
        assert!(check_spaces_domain("spaces.example.com", "hub.example.com").is_err());
        assert!(check_spaces_domain("example.com", "hub.example.com").is_err());
        assert!(check_spaces_domain("hub.example.com", "hub.example.com").is_err());
        assert!(check_spaces_domain("s.hub.example.com", "hub.example.com").is_err());
        assert!(check_spaces_domain("a.example.co.uk", "hub.example.co.uk").is_err());
        assert!(check_spaces_domain("other.co.uk", "hub.example.co.uk").is_ok());
        assert!(check_spaces_domain("spaces.go.dev", "hub.go.dev").is_err(), "go.dev is a site");
        assert!(check_spaces_domain("spaces.example.com", "hub.example.com.").is_err(), "a trailing dot");
        assert!(check_spaces_domain("10.0.0.1", "hub.example.com").is_err());
        assert!(check_spaces_domain("bad_name", "hub.example.com").is_err());
    }

    #[test]
    fn configuration_comes_from_the_card_with_headers_allow_listed() {
        let card = json!({"sdk": "static", "app_file": "dist/index.html", "custom_headers": {
            "cross-origin-opener-policy": "same-origin",
            "cross-origin-embedder-policy": "evil",
            "set-cookie": "a=b",
        }});
        let config = SpaceConfig::from_card(Some(&card));
        assert!(config.is_static());
        assert_eq!(config.app_file, "dist/index.html");
        assert_eq!(config.headers, vec![("cross-origin-opener-policy".into(), "same-origin".into())]);
        assert_eq!(SpaceConfig::from_card(None).app_file, "index.html");
    }

    #[test]
    fn runtime_stages() {
        let stat = SpaceConfig { sdk: Some("static".into()), ..SpaceConfig::default() };
        assert_eq!(runtime(&stat, true, true)["stage"], "RUNNING");
        assert_eq!(runtime(&stat, false, true)["stage"], "NO_APP_FILE");
        assert_eq!(runtime(&stat, true, false)["stage"], "STOPPED");
        let gradio = SpaceConfig { sdk: Some("gradio".into()), ..SpaceConfig::default() };
        let stopped = runtime(&gradio, true, true);
        assert_eq!(stopped["stage"], "STOPPED");
        assert!(stopped["errorMessage"].as_str().unwrap().contains("gradio"));
        assert!(stopped["hardware"]["current"].is_null());
    }

    #[test]
    fn request_paths_stay_in_the_space() {
        let root = SpaceConfig { app_file: "index.html".into(), ..SpaceConfig::default() };
        assert_eq!(file_for(&root, "/").as_deref(), Some("index.html"));
        assert_eq!(file_for(&root, "/style.css").as_deref(), Some("style.css"));
        assert_eq!(file_for(&root, "/docs/").as_deref(), Some("docs/index.html"));
        assert_eq!(file_for(&root, "/a%20b.js").as_deref(), Some("a b.js"));
        assert_eq!(file_for(&root, "/../secret"), None);
        assert_eq!(file_for(&root, "/%2e%2e/secret"), None);
        assert_eq!(file_for(&root, "/.git/config"), None);
        assert_eq!(file_for(&root, "/%ff"), None);
        let dist = SpaceConfig { app_file: "dist/app.html".into(), ..SpaceConfig::default() };
        assert_eq!(file_for(&dist, "/").as_deref(), Some("dist/app.html"));
        assert_eq!(file_for(&dist, "/main.js").as_deref(), Some("dist/main.js"));
    }

    #[test]
    fn content_types_and_the_variables_script() {
        assert_eq!(content_type("a/INDEX.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("x.wasm"), "application/wasm");
        assert_eq!(content_type("noext"), "application/octet-stream");
        let script = variables_script(&[("A".into(), "</script><script>alert(1)</script>".into())]);
        assert!(!script[8..script.len() - 9].contains('<'), "{script}");
        assert!(script.contains("\\u003c/script\\u003e"));
        assert_eq!(script_position(b"<!DOCTYPE html><html lang=en><HEAD><title>"), 35);
        assert_eq!(script_position(b"<!doctype html><header>x"), 15);
        assert_eq!(script_position(b"<html><body>"), 6);
        assert_eq!(script_position(b"<html><header></header><head>"), 29);
        assert_eq!(script_position(b"hello"), 0);
    }
}
