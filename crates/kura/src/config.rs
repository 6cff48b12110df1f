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
    #[serde(default)]
    pub lfs: LfsFile,
}

/// Values given on the command line or through the environment (clap merges both; flags win).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub listen: Option<String>,
    pub public_url: Option<String>,
}

/// The effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    pub public_url: String,
    pub lfs_multipart_threshold_bytes: u64,
    pub lfs_part_bytes: u64,
}

pub const DEFAULT_DATA_DIR: &str = "./kura-data";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Config {
    /// Layers the file (if any) under the overrides, over the defaults.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Self> {
        let file = match &overrides.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        Ok(Self::layer(file, overrides))
    }

    fn layer(file: FileConfig, overrides: &Overrides) -> Self {
        let data_dir = overrides
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let listen = overrides
            .listen
            .clone()
            .or(file.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let public_url = overrides
            .public_url
            .clone()
            .or(file.public_url)
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        let defaults = kura_core::HubConfig::with_key(Vec::new());
        Self {
            data_dir,
            listen,
            public_url,
            lfs_multipart_threshold_bytes: file
                .lfs
                .multipart_threshold_bytes
                .unwrap_or(defaults.lfs_multipart_threshold_bytes),
            lfs_part_bytes: file
                .lfs
                .multipart_part_bytes
                .unwrap_or(defaults.lfs_part_bytes)
                .max(1 << 20),
        }
    }
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_defaults_file_then_overrides() {
        let none = Config::layer(FileConfig::default(), &Overrides::default());
        assert_eq!(none.listen, DEFAULT_LISTEN);
        assert_eq!(none.public_url, "http://127.0.0.1:8080");
        assert_eq!(none.data_dir, PathBuf::from(DEFAULT_DATA_DIR));

        let file: FileConfig = toml::from_str(
            "listen = \"0.0.0.0:9\"\ndata_dir = \"/f\"\n[lfs]\nmultipart_part_bytes = 8388608\n",
        )
        .unwrap();
        let overrides = Overrides {
            listen: Some("127.0.0.1:7".into()),
            ..Default::default()
        };
        let config = Config::layer(file, &overrides);
        assert_eq!(config.listen, "127.0.0.1:7", "flag/env beats file");
        assert_eq!(config.data_dir, PathBuf::from("/f"), "file beats default");
        assert_eq!(config.public_url, "http://127.0.0.1:7");
        assert_eq!(config.lfs_part_bytes, 8 << 20);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(toml::from_str::<FileConfig>("lisen = \"x\"").is_err());
    }
}
