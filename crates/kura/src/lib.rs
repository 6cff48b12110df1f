//! The `kura` binary's library half: configuration, wiring of concrete backends, and the
//! server loop. `main.rs` only parses the command line.

pub mod config;
pub mod upstream;

use std::sync::Arc;

use anyhow::Context;
use kura_core::{Hub, HubConfig};
use kura_storage::{BlobStore, MetadataStore};
use kura_storage_blob::{LocalBlobStore, S3BlobStore};
use kura_storage_sql::SqlStore;
use tokio::net::TcpListener;

use crate::config::{Config, Storage};

/// Opens the configured stores (applying migrations) and builds the hub.
pub async fn open_hub(config: &Config) -> anyhow::Result<Hub> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let meta = SqlStore::connect(&config.database_url).await.context("opening the metadata database")?;
    let blobs: Arc<dyn BlobStore> = match &config.storage {
        Storage::Local(root) => {
            Arc::new(LocalBlobStore::open(root).await.context("opening the blob directory")?)
        }
        Storage::S3 { bucket, prefix } => Arc::new(
            S3BlobStore::new(&config.s3_settings(bucket, prefix)?).context("configuring S3 storage")?,
        ),
    };
    // Shared by every replica through the database: URLs signed by one verify on all.
    let candidate = hex_key(rand::random::<[u8; 32]>());
    let key =
        meta.server_secret("url-signing-key", &candidate).await.context("reading the URL signing key")?;
    let mut hub_config = HubConfig::with_key(key.into_bytes());
    hub_config.lfs_multipart_threshold_bytes = config.lfs_multipart_threshold_bytes;
    hub_config.lfs_part_bytes = config.lfs_part_bytes;
    hub_config.limits = config.limits.clone();
    hub_config.mirror = config.upstream.as_ref().map(|u| u.mirror.clone());
    hub_config.spaces = config.spaces.clone();
    let hub = Hub::new(Arc::new(meta), blobs, hub_config);
    Ok(match &config.upstream {
        Some(upstream) => hub.with_upstream(Arc::new(
            upstream::HttpUpstream::new(&upstream.url).context("configuring the upstream client")?,
        )),
        None => hub,
    })
}

/// How long a blob temp file may go unwritten before `serve` takes it for a leftover (of a
/// crash, or an upload that stalled). Uploads in flight write at least every few MiB; an
/// hour leaves room for a slow client and a second server sharing the directory.
pub const TEMP_FILE_GRACE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes the local blob store's temp files idle for [`TEMP_FILE_GRACE`]. Only `serve` calls
/// this: admin commands run beside a live server and must not break its uploads. A failed
/// sweep is logged, not fatal: the leftovers only cost disk space.
pub async fn sweep_stale_temp_files(config: &Config) {
    let Storage::Local(root) = &config.storage else { return };
    let swept = match LocalBlobStore::open(root).await {
        Ok(store) => store.sweep_temp(TEMP_FILE_GRACE).await,
        Err(error) => Err(error),
    };
    match swept {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "swept stale temp files from the blob directory"),
        Err(error) => tracing::warn!(%error, "could not sweep stale temp files from the blob directory"),
    }
}

fn hex_key(bytes: [u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Settings of the HTTP edge taken from the configuration.
#[derive(Debug, Clone, Default)]
pub struct EdgeOptions {
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<kura_http::IpNet>,
    /// A bearer token that may read `/metrics` (server admins always may).
    pub metrics_token: Option<String>,
    /// Background job workers to run beside the server.
    pub job_workers: u64,
}

impl From<&Config> for EdgeOptions {
    fn from(config: &Config) -> Self {
        Self {
            trusted_proxies: config.trusted_proxies.clone(),
            metrics_token: config.metrics_token.clone(),
            job_workers: config.job_workers,
        }
    }
}

/// Serves on an already bound listener until `shutdown` resolves, trusting no proxy.
pub async fn serve(
    listener: TcpListener,
    hub: Hub,
    public_url: String,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    serve_with(listener, hub, public_url, EdgeOptions { job_workers: 1, ..EdgeOptions::default() }, shutdown)
        .await
}

/// `serve` with the edge settings of the configuration (trusted proxies, metrics token).
pub async fn serve_with(
    listener: TcpListener,
    hub: Hub,
    public_url: String,
    options: EdgeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let limits = hub.config().limits.clone();
    let state = kura_http::AppState {
        body_budget: kura_http::BodyBudget::new(&limits),
        hub: Arc::new(hub),
        public_url,
        metrics: Arc::default(),
        trusted_proxies: options.trusted_proxies.clone().into(),
        metrics_token: options.metrics_token.map(Into::into),
    };
    let web = kura_web::WebState {
        hub: state.hub.clone(),
        public_url: state.public_url.clone(),
        body_budget: state.body_budget.clone(),
    };
    let pages = kura_web::router(web);
    let state_hub = state.hub.clone();
    let app = kura_http::router_beside(state, pages, kura_web::claims);
    let max_connections = connection_cap(limits.max_connections);
    let config_limits = limits.clone();
    let limits = kura_http::serve::ServeLimits::from_limits(&limits, max_connections);
    let per_address = usize::try_from(config_limits.max_connections_per_address).unwrap_or(usize::MAX);
    let peers = kura_http::peer_slots::PeerSlots::new(per_address, options.trusted_proxies);
    // The background workers (indexing), stopped with the server; a job one leaves half done
    // is retried once its lease ends.
    let workers: Vec<AbortOnDrop> = (0..options.job_workers)
        .map(|_| {
            let hub = (*state_hub).clone();
            AbortOnDrop(tokio::spawn(async move { hub.jobs().work().await }))
        })
        .collect();
    // Download counts gathered in memory are written every few seconds, and once more at
    // the end: the task is asked to stop between two writes (never aborted inside one), then
    // the last batch is written.
    let (stop_flusher, mut stopped) = tokio::sync::watch::channel(false);
    let flusher = {
        let hub = (*state_hub).clone();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(DOWNLOAD_FLUSH) => {}
                    _ = stopped.changed() => return,
                }
                if let Err(error) = hub.repos().flush_downloads().await {
                    tracing::warn!(%error, "could not write download counts");
                }
            }
        })
    };
    let served =
        kura_http::serve::serve(listener, app, limits, peers, shutdown).await.context("serving HTTP");
    drop(workers);
    let _ = stop_flusher.send(true);
    let _ = flusher.await;
    if let Err(error) = state_hub.repos().flush_downloads().await {
        tracing::warn!(%error, "could not write the last download counts");
    }
    served
}

/// How often download counts are written.
const DOWNLOAD_FLUSH: std::time::Duration = std::time::Duration::from_secs(5);

/// Aborts a task when dropped (the worker ends with the server, however serving ends).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// File descriptors kept for the server itself: the database pool, the listener, logs.
const RESERVED_FDS: u64 = 128;

/// The connection cap that fits the process's file-descriptor limit, raised first from its
/// soft to its hard value (the usual soft default, 1024, is a relic). Each connection may
/// hold a second descriptor (a blob being read or spooled), hence two per connection.
fn connection_cap(configured: u64) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        limit.current = Some(hard);
        if let Err(error) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(%error, "could not raise the open-file limit to its hard value");
        }
    }
    let soft = getrlimit(Resource::Nofile).current;
    let fits = soft.map_or(u64::MAX, |soft| soft.saturating_sub(RESERVED_FDS) / 2).max(1);
    if configured > fits {
        tracing::warn!(
            configured,
            fits,
            "max_connections is above what the open-file limit allows; using {fits} (raise `ulimit -n`)"
        );
    }
    usize::try_from(configured.min(fits).max(1)).unwrap_or(usize::MAX)
}
