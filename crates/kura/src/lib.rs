//! The `kura` binary's library half: configuration, wiring of concrete backends, and the
//! server loop. `main.rs` only parses the command line.

pub mod config;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use kura_core::{Hub, HubConfig};
use kura_storage_blob::LocalBlobStore;
use kura_storage_sql::SqlStore;
use tokio::net::TcpListener;

use crate::config::Config;

/// Reads the signing key from the data dir, creating it on first start.
fn signing_key(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("signing.key");
    if let Some(key) = std::fs::read(&path).ok().filter(|k| k.len() >= 32) {
        return Ok(key);
    }
    let key: [u8; 32] = rand::random();
    let temp = data_dir.join("signing.key.tmp");
    std::fs::write(&temp, key).context("writing signing key")?;
    std::fs::rename(&temp, &path).context("installing signing key")?;
    Ok(key.to_vec())
}

/// Opens the embedded stores under the data dir and builds the hub.
pub async fn open_hub(config: &Config) -> anyhow::Result<Hub> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let meta = SqlStore::open_sqlite(&config.data_dir.join("kura.db"))
        .await
        .context("opening the SQLite database")?;
    let blobs = LocalBlobStore::open(config.data_dir.join("blobs"))
        .await
        .context("opening the blob directory")?;
    let mut hub_config = HubConfig::with_key(signing_key(&config.data_dir)?);
    hub_config.lfs_multipart_threshold_bytes = config.lfs_multipart_threshold_bytes;
    hub_config.lfs_part_bytes = config.lfs_part_bytes;
    Ok(Hub::new(Arc::new(meta), Arc::new(blobs), hub_config))
}

/// Serves on an already bound listener until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    public_url: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use axum::serve::ListenerExt;
    let state = kura_http::AppState {
        hub: Arc::new(hub),
        public_url,
    };
    let app = kura_http::router(state);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")
}
