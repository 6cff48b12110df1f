//! `GET /metrics`: Prometheus text for server admins and the configured metrics token only
//! (the counters and the stored-bytes gauge reveal activity in private repos).

use axum::http::header;
use axum::response::IntoResponse;
use kura_core::CoreError;

use crate::AppState;
use crate::context::Ctx;
use crate::error::ApiResult;

/// Whether `bearer` is the configured metrics token (compared in constant time).
pub(crate) fn is_metrics_token(state: &AppState, bearer: Option<&str>) -> bool {
    match (state.metrics_token.as_deref(), bearer) {
        (Some(expected), Some(given)) => {
            expected.len() == given.len()
                && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
        }
        _ => false,
    }
}

pub(crate) async fn get_metrics(ctx: &Ctx) -> ApiResult {
    let allowed = is_metrics_token(&ctx.state, ctx.bearer.as_deref())
        || ctx.identity.principal().is_some_and(|p| p.user.is_admin);
    if !allowed {
        let message = "Metrics need a server administrator's token or the metrics token";
        let error = match ctx.anonymous() {
            true => CoreError::Unauthorized(message.to_owned()),
            false => CoreError::Forbidden(message.to_owned()),
        };
        return Err(error.into());
    }
    let mut text = ctx.state.metrics.render();
    let stored = ctx.hub().xet().stored_xorb_bytes().await?;
    text.push_str(&format!(
        "# HELP kura_xet_stored_bytes Bytes stored in xorbs after deduplication.\n# TYPE kura_xet_stored_bytes gauge\nkura_xet_stored_bytes {stored}\n"
    ));
    let jobs = ctx.hub().jobs().counts().await?;
    text.push_str(
        "# HELP kura_jobs Jobs in the durable queue (all replicas), by state.\n# TYPE kura_jobs gauge\n",
    );
    for (state, count) in [("queued", jobs.queued), ("running", jobs.running), ("failed", jobs.failed)] {
        text.push_str(&format!("kura_jobs{{state=\"{state}\"}} {count}\n"));
    }
    if ctx.hub().mirror_enabled() {
        let counters = ctx.hub().mirror_counters();
        let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
        for (name, help, value) in [
            ("hits", "Mirror answers served from what was cached.", load(&counters.hits)),
            ("misses", "Mirror answers that asked the upstream.", load(&counters.misses)),
            (
                "coalesced_waits",
                "Mirror callers that waited on another caller's upstream request.",
                load(&counters.coalesced_waits),
            ),
            (
                "upstream_bytes",
                "Bytes the mirror received from the upstream.",
                load(&counters.upstream_bytes),
            ),
            (
                "reused_bytes",
                "Bytes of upstream Xet chunks the mirror rebuilt from files it already held.",
                load(&counters.reused_bytes),
            ),
        ] {
            text.push_str(&format!(
                "# HELP kura_mirror_{name}_total {help}\n# TYPE kura_mirror_{name}_total counter\nkura_mirror_{name}_total {value}\n"
            ));
        }
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}
