//! Prometheus metrics kept with atomics: requests by method and status class, latency
//! histogram, bytes in and out (from `Content-Length`), storage errors.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];
const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "DELETE", "OTHER"];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Process-wide counters (one per replica; Prometheus sums across replicas).
#[derive(Default)]
pub struct Metrics {
    requests: [[AtomicU64; 5]; 6],
    buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_micros: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    storage_errors: AtomicU64,
}

impl Metrics {
    pub(crate) fn record(&self, method: &str, status: u16, seconds: f64, bytes_in: u64, bytes_out: u64) {
        let m = METHODS.iter().position(|x| *x == method).unwrap_or(METHODS.len() - 1);
        let c = usize::from(status / 100).clamp(1, 5) - 1;
        self.requests[m][c].fetch_add(1, Ordering::Relaxed);
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.buckets[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.bytes_in.fetch_add(bytes_in, Ordering::Relaxed);
        self.bytes_out.fetch_add(bytes_out, Ordering::Relaxed);
    }

    pub(crate) fn storage_error(&self) {
        self.storage_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        out.push_str("# HELP kura_http_requests_total HTTP requests by method and status class.\n# TYPE kura_http_requests_total counter\n");
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = load(&self.requests[m][c]);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "kura_http_requests_total{{method=\"{method}\",status=\"{class}\"}} {n}"
                    );
                }
            }
        }
        out.push_str("# HELP kura_http_request_duration_seconds Time to response headers.\n# TYPE kura_http_request_duration_seconds histogram\n");
        for (i, bound) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "kura_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {}",
                load(&self.buckets[i])
            );
        }
        let count = load(&self.latency_count);
        let _ = writeln!(out, "kura_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "kura_http_request_duration_seconds_sum {}",
            load(&self.latency_micros) as f64 / 1e6
        );
        let _ = writeln!(out, "kura_http_request_duration_seconds_count {count}");
        for (name, help, value) in [
            (
                "kura_http_request_bytes_total",
                "Request body bytes declared by Content-Length.",
                &self.bytes_in,
            ),
            (
                "kura_http_response_bytes_total",
                "Response body bytes declared by Content-Length.",
                &self.bytes_out,
            ),
            ("kura_storage_errors_total", "Requests that failed on a storage backend.", &self.storage_errors),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}", load(value));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let metrics = Metrics::default();
        metrics.record("GET", 200, 0.003, 0, 100);
        metrics.record("PUT", 503, 2.0, 50, 0);
        metrics.storage_error();
        let text = metrics.render();
        assert!(text.contains("kura_http_requests_total{method=\"GET\",status=\"2xx\"} 1"));
        assert!(text.contains("kura_http_requests_total{method=\"PUT\",status=\"5xx\"} 1"));
        assert!(text.contains("kura_http_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("kura_http_request_duration_seconds_bucket{le=\"+Inf\"} 2"));
        assert!(text.contains("kura_http_response_bytes_total 100"));
        assert!(text.contains("kura_storage_errors_total 1"));
    }
}
