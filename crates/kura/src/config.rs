//! Configuration: built-in defaults < TOML file < `KURA_*` environment < command-line flags.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The `[lfs]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LfsFile {
    /// LFS uploads above this many bytes use multipart.
    pub multipart_threshold_bytes: Option<u64>,
    /// Part size of multipart uploads.
    pub multipart_part_bytes: Option<u64>,
}

/// The `[s3]` table (also `KURA_S3_*` variables).
#[derive(Default, Deserialize, Clone, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    /// Custom endpoint, e.g. `http://127.0.0.1:9000`; empty for AWS.
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Virtual-hosted-style requests instead of path-style (default: path-style).
    pub virtual_hosted: Option<bool>,
}

impl std::fmt::Debug for S3File {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3File")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "<redacted>"))
            .field("virtual_hosted", &self.virtual_hosted)
            .finish()
    }
}

/// The `[upstream]` table: pull-through mirror mode.
#[derive(Default, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct UpstreamFile {
    /// Base URL of the upstream hub (`https://huggingface.co`).
    pub url: Option<String>,
    /// The mirror's own upstream token (for public repos and rate limits).
    pub token: Option<String>,
    /// Forward bearer tokens kura does not know upstream as the caller's own.
    pub forward_unknown_tokens: Option<bool>,
    /// How long a branch or tag keeps its commit: seconds, or `30s`, `5m`, `1h`.
    pub ref_ttl: Option<toml::Value>,
    /// Repo id patterns that may be mirrored (`*` wildcards); empty: all.
    pub allow: Option<Vec<String>>,
    /// Repo id patterns that may not.
    pub deny: Option<Vec<String>>,
    /// Never call the upstream; serve what is cached.
    pub offline: Option<bool>,
    /// Fetch through the upstream's Xet reconstruction when it offers one (default true).
    pub xet: Option<bool>,
}

impl std::fmt::Debug for UpstreamFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamFile")
            .field("url", &self.url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// Pull-through mirror mode: the upstream's URL and how to mirror it.
#[derive(Debug, Clone)]
pub struct UpstreamConfig {
    pub url: String,
    pub mirror: kura_core::MirrorConfig,
}

impl PartialEq for UpstreamConfig {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}") && self.mirror.token == other.mirror.token
    }
}

impl Eq for UpstreamConfig {}

/// What a TOML config file may contain.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Directory for the SQLite database and local content.
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    pub listen: Option<String>,
    /// Base URL clients reach this server at.
    pub public_url: Option<String>,
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST/DB`.
    pub database_url: Option<String>,
    /// `file://PATH` or `s3://BUCKET[/PREFIX]`.
    pub storage: Option<String>,
    /// Reverse proxies (addresses or CIDR blocks) whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// A bearer token (at least 16 characters) that may read `/metrics`, for a scraper that
    /// should not hold a server admin's token. Server admins' tokens always may.
    pub metrics_token: Option<String>,
    #[serde(default)]
    pub lfs: LfsFile,
    #[serde(default)]
    pub s3: S3File,
    /// The `[limits]` table: fields of `kura_core::Limits`.
    pub limits: Option<toml::Table>,
    /// Background workers of this replica.
    pub job_workers: Option<u64>,
    #[serde(default)]
    pub upstream: UpstreamFile,
    /// Host name Spaces are served under, as `{subdomain}.{spaces_domain}` (`""` serves none).
    /// It must not share a site with the hub's host. Default: `localhost` for a hub on a
    /// loopback address, else none.
    pub spaces_domain: Option<String>,
}

/// Values given on the command line or through the environment (clap merges both; flags win).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
    pub database_url: Option<String>,
    pub storage: Option<String>,
    /// Comma-separated addresses or CIDR blocks (`KURA_TRUSTED_PROXIES`).
    pub trusted_proxies: Option<String>,
    /// `KURA_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// `KURA_JOB_WORKERS`.
    pub job_workers: Option<u64>,
    /// `[s3]` values from the environment (each wins over the file's).
    pub s3: S3File,
    /// `KURA_LIMIT_<FIELD>` variables as (field in lower case, value); each wins over the file's.
    pub limits: Vec<(String, String)>,
    /// `--upstream` / `KURA_UPSTREAM`.
    pub upstream: Option<String>,
    /// `KURA_UPSTREAM_TOKEN`.
    pub upstream_token: Option<String>,
    /// `--offline` / `KURA_OFFLINE`.
    pub offline: bool,
    /// `KURA_SPACES_DOMAIN`.
    pub spaces_domain: Option<String>,
}

/// Where content lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Storage {
    Local(PathBuf),
    S3 { bucket: String, prefix: String },
}

/// The effective configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    pub public_url: String,
    pub database_url: String,
    pub storage: Storage,
    pub s3: S3File,
    pub lfs_multipart_threshold_bytes: u64,
    pub lfs_part_bytes: u64,
    pub trusted_proxies: Vec<kura_http::IpNet>,
    /// The token that may read `/metrics` (besides server admins).
    pub metrics_token: Option<String>,
    /// Budgets of requests, connections and expansions.
    pub limits: kura_core::Limits,
    /// Background workers this replica runs (indexing): 1 by default; 0 for a replica that
    /// only serves requests while others work the shared queue.
    pub job_workers: u64,
    /// Pull-through mirror mode, when an upstream hub is configured.
    pub upstream: Option<UpstreamConfig>,
    /// Where static Spaces are served, if anywhere.
    pub spaces: Option<kura_core::SpacesHost>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The database URL may carry a password.
        let database = match self.database_url.split_once('@') {
            Some((_, host)) => format!("<credentials>@{host}"),
            None => self.database_url.clone(),
        };
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("public_url", &self.public_url)
            .field("database_url", &database)
            .field("storage", &self.storage)
            .field("s3", &self.s3)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_DATA_DIR: &str = "./kura-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Shortest accepted `metrics_token`.
const MIN_METRICS_TOKEN: usize = 16;

impl Config {
    /// Layers the file (if any) under the overrides, over the defaults.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Self::layer(file, overrides)
    }

    fn layer(file: FileConfig, overrides: &Overrides) -> anyhow::Result<Self> {
        let data_dir =
            overrides.data_dir.clone().or(file.data_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let listen = overrides.listen.clone().or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let public_url = overrides
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        let defaults = kura_core::HubConfig::with_key(Vec::new());
        let database_url = overrides
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("kura.db").display()));
        let storage = match overrides.storage.clone().or(file.storage) {
            None => Storage::Local(data_dir.join("blobs")),
            Some(url) => parse_storage(&url)?,
        };
        let proxies = match &overrides.trusted_proxies {
            Some(text) => text.split(',').map(str::to_owned).filter(|t| !t.trim().is_empty()).collect(),
            None => file.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = proxies
            .iter()
            .map(|p| p.parse().map_err(|e: String| anyhow::anyhow!("trusted_proxies: {e}")))
            .collect::<anyhow::Result<_>>()?;
        let metrics_token = overrides.metrics_token.clone().or(file.metrics_token).filter(|t| !t.is_empty());
        if metrics_token.as_ref().is_some_and(|t| t.len() < MIN_METRICS_TOKEN) {
            anyhow::bail!("metrics_token must be at least {MIN_METRICS_TOKEN} characters");
        }
        let limits = layer_limits(file.limits.unwrap_or_default(), &overrides.limits)?;
        let env = &overrides.s3;
        let s3 = S3File {
            endpoint: env.endpoint.clone().or(file.s3.endpoint),
            region: env.region.clone().or(file.s3.region),
            access_key_id: env.access_key_id.clone().or(file.s3.access_key_id),
            secret_access_key: env.secret_access_key.clone().or(file.s3.secret_access_key),
            virtual_hosted: env.virtual_hosted.or(file.s3.virtual_hosted),
        };
        Ok(Self {
            data_dir,
            listen,
            database_url,
            storage,
            s3,
            lfs_multipart_threshold_bytes: file
                .lfs
                .multipart_threshold_bytes
                .unwrap_or(defaults.lfs_multipart_threshold_bytes),
            lfs_part_bytes: file.lfs.multipart_part_bytes.unwrap_or(defaults.lfs_part_bytes).max(1 << 20),
            trusted_proxies,
            metrics_token,
            limits,
            job_workers: overrides.job_workers.or(file.job_workers).unwrap_or(1).min(64),
            upstream: layer_upstream(file.upstream, overrides)?,
            spaces: layer_spaces(overrides.spaces_domain.clone().or(file.spaces_domain), &public_url)?,
            public_url,
        })
    }

    /// The S3 settings for `Storage::S3`.
    pub fn s3_settings(&self, bucket: &str, prefix: &str) -> anyhow::Result<kura_storage_blob::S3Settings> {
        let required = |value: &Option<String>, name: &str| {
            value.clone().with_context(|| {
                format!("s3 storage needs {name} (config [s3] or KURA_S3_{})", name.to_uppercase())
            })
        };
        Ok(kura_storage_blob::S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.to_owned(),
            endpoint: self.s3.endpoint.clone().filter(|e| !e.is_empty()),
            region: self.s3.region.clone().unwrap_or_else(|| "us-east-1".to_owned()),
            access_key_id: required(&self.s3.access_key_id, "access_key_id")?,
            secret_access_key: required(&self.s3.secret_access_key, "secret_access_key")?,
            virtual_hosted: self.s3.virtual_hosted.unwrap_or(false),
        })
    }
}

/// The scheme, host and port of a base URL (`http://[::1]:8080/x` → `http`, `::1`, 8080).
fn url_parts(url: &str) -> anyhow::Result<(String, String, Option<u16>)> {
    let (scheme, rest) = url.split_once("://").context("public_url must start with http:// or https://")?;
    let authority = rest.split('/').next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            (host, Some(port.parse::<u16>().context("public_url has an invalid port")?))
        }
        _ => (authority, None),
    };
    Ok((scheme.to_ascii_lowercase(), host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
}

/// Where Spaces are served: `spaces_domain[:port]`, on the hub's scheme and (unless named)
/// port; `localhost` by default for a hub on a loopback address, so the two-command start
/// serves Spaces too.
fn layer_spaces(asked: Option<String>, public_url: &str) -> anyhow::Result<Option<kura_core::SpacesHost>> {
    let (scheme, hub_host, hub_port) = url_parts(public_url)?;
    let value = match asked.map(|v| v.trim().to_ascii_lowercase()) {
        Some(value) if value.is_empty() => return Ok(None),
        Some(value) => value,
        None => match hub_host.parse::<std::net::IpAddr>() {
            Ok(address) if address.is_loopback() => "localhost".to_owned(),
            _ => return Ok(None),
        },
    };
    let (domain, port) = match value.rsplit_once(':') {
        Some((domain, port)) => {
            (domain.to_owned(), Some(port.parse::<u16>().context("spaces_domain has an invalid port")?))
        }
        None => (value, hub_port),
    };
    kura_core::check_spaces_domain(&domain, &hub_host).map_err(|e| anyhow::anyhow!(e))?;
    Ok(Some(kura_core::SpacesHost { domain, scheme, port }))
}

fn layer_upstream(file: UpstreamFile, overrides: &Overrides) -> anyhow::Result<Option<UpstreamConfig>> {
    let Some(url) = overrides.upstream.clone().or(file.url).filter(|u| !u.trim().is_empty()) else {
        return Ok(None);
    };
    let url = url.trim().trim_end_matches('/').to_owned();
    anyhow::ensure!(
        url.starts_with("http://") || url.starts_with("https://"),
        "upstream url must start with http:// or https://"
    );
    let defaults = kura_core::MirrorConfig::default();
    let ref_ttl_secs = match file.ref_ttl {
        None => defaults.ref_ttl_secs,
        Some(toml::Value::Integer(secs)) if secs >= 0 => secs as u64,
        Some(toml::Value::String(text)) => parse_duration(&text)?,
        Some(other) => {
            anyhow::bail!("upstream ref_ttl must be seconds or a duration like \"5m\", not {other}")
        }
    };
    let mirror = kura_core::MirrorConfig {
        url: url.clone(),
        ref_ttl_secs,
        allow: file.allow.unwrap_or_default(),
        deny: file.deny.unwrap_or_default(),
        token: overrides.upstream_token.clone().or(file.token).filter(|t| !t.is_empty()),
        forward_unknown_tokens: file.forward_unknown_tokens.unwrap_or(false),
        offline: overrides.offline || file.offline.unwrap_or(false),
        xet: file.xet.unwrap_or(true),
    };
    Ok(Some(UpstreamConfig { url, mirror }))
}

/// `90`, `90s`, `5m`, `2h`, `1d` as seconds.
pub fn parse_duration(text: &str) -> anyhow::Result<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let number: u64 = number.parse().with_context(|| format!("invalid duration '{text}'"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => anyhow::bail!("invalid duration unit '{other}' in '{text}' (s, m, h or d)"),
    };
    Ok(number.saturating_mul(scale))
}

fn parse_storage(url: &str) -> anyhow::Result<Storage> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Storage::Local(PathBuf::from(path)));
    }
    if let Some(rest) = url.strip_prefix("s3://") {
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        anyhow::ensure!(!bucket.is_empty(), "s3 storage URL needs a bucket: s3://BUCKET[/PREFIX]");
        return Ok(Storage::S3 { bucket: bucket.to_owned(), prefix: prefix.trim_matches('/').to_owned() });
    }
    anyhow::bail!("unsupported storage URL (expected file://PATH or s3://BUCKET[/PREFIX])")
}

/// The `[limits]` table with the environment's values over it (numbers and booleans are
/// written as such in variables), checked against the fields of `kura_core::Limits`.
fn layer_limits(mut table: toml::Table, env: &[(String, String)]) -> anyhow::Result<kura_core::Limits> {
    for (key, text) in env {
        let value = match (text.parse::<i64>(), text.parse::<bool>()) {
            (Ok(number), _) => toml::Value::Integer(number),
            (_, Ok(flag)) => toml::Value::Boolean(flag),
            _ => toml::Value::String(text.clone()),
        };
        table.insert(key.clone(), value);
    }
    kura_core::Limits::deserialize(toml::Value::Table(table)).context("[limits] (or KURA_LIMIT_*)")
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_defaults_file_then_overrides() {
        let none = Config::layer(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(none.database_url, "sqlite://./kura-data/kura.db");
        assert_eq!(none.storage, Storage::Local(PathBuf::from("./kura-data/blobs")));
        assert_eq!(none.listen, DEFAULT_LISTEN);
        assert_eq!(none.public_url, "http://127.0.0.1:8080");
        assert_eq!(none.data_dir, PathBuf::from(DEFAULT_DATA_DIR));

        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9\"\ndata_dir = \"/f\"\n[lfs]\nmultipart_part_bytes = 8388608\n",
        )
        .unwrap();
        let overrides = Overrides { listen: Some("127.0.0.1:7".into()), ..Default::default() };
        let config = Config::layer(file, &overrides).unwrap();
        assert_eq!(config.listen, "127.0.0.1:7", "flag/env beats file");
        assert_eq!(config.data_dir, PathBuf::from("/f"), "file beats default");
        assert_eq!(config.public_url, "http://127.0.0.1:7");
        assert_eq!(config.lfs_part_bytes, 8 << 20);
    }

    #[test]
    fn storage_urls() {
        assert_eq!(
            parse_storage("s3://bucket/a/b/").unwrap(),
            Storage::S3 { bucket: "bucket".into(), prefix: "a/b".into() }
        );
        assert_eq!(parse_storage("file:///x").unwrap(), Storage::Local(PathBuf::from("/x")));
        assert!(parse_storage("ftp://x").is_err());
        assert!(parse_storage("s3://").is_err());
    }

    #[test]
    fn trusted_proxies_come_from_the_file_or_the_environment() {
        let file: FileConfig = toml::from_str("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]").unwrap();
        let config = Config::layer(file, &Overrides::default()).unwrap();
        assert_eq!(config.trusted_proxies, vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]);
        let file: FileConfig = toml::from_str("trusted_proxies = [\"10.0.0.0/8\"]").unwrap();
        let env =
            Overrides { trusted_proxies: Some("127.0.0.1, 192.168.0.0/16".into()), ..Default::default() };
        let config = Config::layer(file, &env).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2, "the environment wins");
        let bad = Overrides { trusted_proxies: Some("10.0.0.0/40".into()), ..Default::default() };
        assert!(Config::layer(FileConfig::default(), &bad).is_err());
    }

    #[test]
    fn metrics_token_comes_from_the_file_or_the_environment() {
        let file = || toml::from_str::<FileConfig>("metrics_token = \"from-the-file-0123\"").unwrap();
        let config = Config::layer(file(), &Overrides::default()).unwrap();
        assert_eq!(config.metrics_token.as_deref(), Some("from-the-file-0123"));
        assert!(!format!("{config:?}").contains("from-the-file"), "Debug hides the token");
        let env = Overrides { metrics_token: Some("from-the-environment".into()), ..Default::default() };
        let config = Config::layer(file(), &env).unwrap();
        assert_eq!(config.metrics_token.as_deref(), Some("from-the-environment"), "the environment wins");
        let unset = Overrides { metrics_token: Some(String::new()), ..Default::default() };
        assert_eq!(Config::layer(FileConfig::default(), &unset).unwrap().metrics_token, None);
        let short = Overrides { metrics_token: Some("short".into()), ..Default::default() };
        assert!(Config::layer(FileConfig::default(), &short).is_err());
    }

    #[test]
    fn the_upstream_comes_from_the_file_or_the_flags() {
        let none = Config::layer(FileConfig::default(), &Overrides::default()).unwrap();
        assert!(none.upstream.is_none());
        let file = || {
            toml::from_str::<FileConfig>(
                "[upstream]\nurl = \"https://hub.example/\"\ntoken = \"secret-token\"\nref_ttl = \"2m\"\n\
                 allow = [\"org/*\"]\ndeny = [\"org/private-*\"]\nforward_unknown_tokens = true\nxet = false\n",
            )
            .unwrap()
        };
        let config = Config::layer(file(), &Overrides::default()).unwrap();
        let upstream = config.upstream.as_ref().unwrap();
        assert_eq!(upstream.url, "https://hub.example");
        assert_eq!(upstream.mirror.ref_ttl_secs, 120);
        assert!(upstream.mirror.forward_unknown_tokens && !upstream.mirror.offline);
        assert!(!upstream.mirror.xet, "xet = false fetches through resolve only");
        assert!(upstream.mirror.admits("org/model") && !upstream.mirror.admits("org/private-x"));
        assert!(!format!("{config:?}").contains("secret-token"), "Debug hides the upstream token");
        let flags =
            Overrides { upstream: Some("http://127.0.0.1:9".into()), offline: true, ..Default::default() };
        let config = Config::layer(file(), &flags).unwrap();
        let upstream = config.upstream.unwrap();
        assert_eq!(upstream.url, "http://127.0.0.1:9", "the flag wins");
        assert!(upstream.mirror.offline);
        let plain = toml::from_str::<FileConfig>("[upstream]\nurl = \"http://x\"\n").unwrap();
        assert!(Config::layer(plain, &Overrides::default()).unwrap().upstream.unwrap().mirror.xet);
        let bad = toml::from_str::<FileConfig>("[upstream]\nurl = \"ftp://x\"\n").unwrap();
        assert!(Config::layer(bad, &Overrides::default()).is_err());
        let bad =
            toml::from_str::<FileConfig>("[upstream]\nurl = \"http://x\"\nref_ttl = \"5 weeks\"\n").unwrap();
        assert!(Config::layer(bad, &Overrides::default()).is_err());
        assert_eq!(parse_duration("90").unwrap(), 90);
        assert_eq!(parse_duration("1d").unwrap(), 86_400);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
        let file: FileConfig = toml::from_str("[limits]\nno_such_limit = 3\n").unwrap();
        assert!(Config::layer(file, &Overrides::default()).is_err());
    }

    #[test]
    fn limits_come_from_the_file_or_the_environment() {
        let none = Config::layer(FileConfig::default(), &Overrides::default()).unwrap();
        assert_eq!(none.limits, kura_core::Limits::default());
        let file = || toml::from_str::<FileConfig>("[limits]\nlfs_max_parts_per_batch = 500\n").unwrap();
        assert_eq!(Config::layer(file(), &Overrides::default()).unwrap().limits.lfs_max_parts_per_batch, 500);
        let env =
            Overrides { limits: vec![("lfs_max_parts_per_batch".into(), "20".into())], ..Default::default() };
        let config = Config::layer(file(), &env).unwrap();
        assert_eq!(config.limits.lfs_max_parts_per_batch, 20, "the environment wins");
        let bad = Overrides {
            limits: vec![("lfs_max_parts_per_batch".into(), "many".into())],
            ..Default::default()
        };
        assert!(Config::layer(FileConfig::default(), &bad).is_err());
    }
}
