//! The gateway's counters, written in Prometheus' text format for `/metrics`:
//! requests by service and status code, a latency histogram, the requests in
//! flight and the idle broker connections.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The latency buckets' upper bounds, in seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// At most this many (service, status) series; the rest count under
/// `service="_other"`, so that random paths cannot grow memory.
const MAX_SERIES: usize = 1000;

/// Calls counted by service, then by status code.
#[derive(Debug, Default)]
struct Requests {
    by_service: BTreeMap<String, BTreeMap<u16, u64>>,
    /// How many (service, status) pairs are counted.
    series: usize,
}

impl Requests {
    fn count(&mut self, service: &str, status: u16) {
        if let Some(count) = self
            .by_service
            .get_mut(service)
            .and_then(|codes| codes.get_mut(&status))
        {
            *count += 1;
            return;
        }
        let service = if self.series < MAX_SERIES {
            service
        } else {
            "_other"
        };
        let codes = self.by_service.entry(service.to_owned()).or_default();
        let count = codes.entry(status).or_insert_with(|| {
            self.series += 1;
            0
        });
        *count += 1;
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<Requests>,
    /// How many took at most each bound (and more than the one before), so that
    /// a call touches one counter; summed up when written.
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts one answered request to `service`, and how long it took to answer
    /// (for a stream: to its first reply).
    pub fn record(&self, service: &str, status: u16, elapsed: Duration) {
        if let Ok(mut requests) = self.requests.lock() {
            requests.count(service, status);
        }
        let seconds = elapsed.as_secs_f64();
        if let Some(bucket) = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .and_then(|index| self.buckets.get(index))
        {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros.fetch_add(
            u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The text for `/metrics`.
    pub fn render(&self, in_flight: usize, idle_connections: usize) -> String {
        let mut out = String::new();
        out.push_str(
            "# HELP purezmq_http_requests_total Service calls answered, by service and HTTP status code.\n\
             # TYPE purezmq_http_requests_total counter\n",
        );
        if let Ok(requests) = self.requests.lock() {
            for (service, codes) in &requests.by_service {
                for (status, count) in codes {
                    let _ = writeln!(
                        out,
                        "purezmq_http_requests_total{{service=\"{}\",code=\"{status}\"}} {count}",
                        escape(service)
                    );
                }
            }
        }
        out.push_str(
            "# HELP purezmq_http_request_duration_seconds Time to answer a service call (a stream: to its first reply).\n\
             # TYPE purezmq_http_request_duration_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (bucket, bound) in self.buckets.iter().zip(BUCKETS) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "purezmq_http_request_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "purezmq_http_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "purezmq_http_request_duration_seconds_sum {sum}");
        let _ = writeln!(out, "purezmq_http_request_duration_seconds_count {count}");
        let _ = write!(
            out,
            "# HELP purezmq_http_requests_in_flight Service calls being answered now.\n\
             # TYPE purezmq_http_requests_in_flight gauge\n\
             purezmq_http_requests_in_flight {in_flight}\n\
             # HELP purezmq_http_idle_broker_connections Broker connections waiting for a request.\n\
             # TYPE purezmq_http_idle_broker_connections gauge\n\
             purezmq_http_idle_broker_connections {idle_connections}\n"
        );
        out
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_service_and_status_with_a_histogram() {
        let metrics = Metrics::default();
        metrics.record("echo", 200, Duration::from_millis(2));
        metrics.record("echo", 200, Duration::from_millis(3));
        metrics.record("a\"b", 503, Duration::from_millis(700));
        let text = metrics.render(1, 4);
        assert!(text.contains("purezmq_http_requests_total{service=\"echo\",code=\"200\"} 2\n"));
        assert!(text.contains("purezmq_http_requests_total{service=\"a\\\"b\",code=\"503\"} 1\n"));
        assert!(text.contains("purezmq_http_request_duration_seconds_bucket{le=\"0.001\"} 0\n"));
        assert!(text.contains("purezmq_http_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
        assert!(text.contains("purezmq_http_request_duration_seconds_bucket{le=\"1\"} 3\n"));
        assert!(text.contains("purezmq_http_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
        assert!(text.contains("purezmq_http_request_duration_seconds_count 3\n"));
        assert!(text.contains("purezmq_http_requests_in_flight 1\n"));
        assert!(text.contains("purezmq_http_idle_broker_connections 4\n"));
    }

    #[test]
    fn series_are_bounded() {
        let metrics = Metrics::default();
        for i in 0..MAX_SERIES + 10 {
            metrics.record(&format!("s{i}"), 503, Duration::ZERO);
        }
        let text = metrics.render(0, 0);
        assert!(text.contains("service=\"_other\",code=\"503\"} 10\n"));
    }
}
