//! Statistics: end-to-end latency in an HDR histogram, and ring snapshots as JSON.

use hdrhistogram::Histogram;
use ringflow::{Header, Ring, RingStats, RingView, SampleFormat, Schema};
use serde::{Deserialize, Serialize};

/// Producer timestamp to consumer receipt, in nanoseconds.
#[derive(Debug, Clone)]
pub struct Latency {
    histogram: Histogram<u64>,
}

/// Percentiles of a [`Latency`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Samples.
    pub count: u64,
}

impl Default for Latency {
    fn default() -> Self {
        // 1 ns to 1 hour, 3 significant digits.
        Latency {
            histogram: Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid bounds"),
        }
    }
}

impl Latency {
    /// Records one frame received now that was stamped `timestamp_ns` (0: not stamped, ignored).
    pub fn record(&mut self, timestamp_ns: u64, now_ns: u64) {
        if timestamp_ns != 0 {
            self.histogram
                .saturating_record(now_ns.saturating_sub(timestamp_ns).max(1));
        }
    }

    /// The percentiles.
    pub fn summary(&self) -> LatencySummary {
        let h = &self.histogram;
        LatencySummary {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            count: h.len(),
        }
    }
}

/// A ring's header, cursors, lag and counters as JSON (what the JNI layer hands to Kotlin); the
/// same object as [`view_json`].
pub fn ring_json(ring: &Ring) -> serde_json::Value {
    snapshot_json(
        ring.path(),
        ring.header(),
        ring.schema(),
        ring.is_overwritable(),
        ring.replaced_by(),
        &ring.stats(),
    )
}

/// A ring opened read-only, as JSON (what `ringflow inspect --json` prints): `path`, `header`
/// (sizes, modes, `schema` as an object), `published`, `dropped` (claims the `fail` policy
/// refused), `abandoned`, `closed`, `replaced_by`, wake counters, and `producers` and
/// `consumers`, each with `pid`, `alive` and `heartbeat_age_s` (seconds since its last sign of
/// life). `s` is a snapshot of `view` ([`RingView::stats`]).
pub fn view_json(view: &RingView, s: &RingStats) -> serde_json::Value {
    snapshot_json(
        Some(view.path()),
        view.header(),
        view.schema(),
        view.is_overwritable(),
        view.replaced_by(),
        s,
    )
}

/// The schema as JSON: `{"kind": "raw"}`, `{"kind": "telemetry", "version": 1}` or
/// `{"kind": "audio", "sample_rate": 48000, "channels": 2, "format": "f32",
/// "samples_per_frame": 480}`.
pub fn schema_json(schema: Schema) -> serde_json::Value {
    match schema {
        Schema::Raw => serde_json::json!({"kind": "raw"}),
        Schema::Telemetry { version } => {
            serde_json::json!({"kind": "telemetry", "version": version})
        }
        Schema::Audio(a) => serde_json::json!({
            "kind": "audio",
            "sample_rate": a.sample_rate,
            "channels": a.channels,
            "format": sample_format_name(a.format),
            "samples_per_frame": a.samples_per_frame,
        }),
    }
}

/// `f32`, `i16`, ...: the names the `ringflow` command takes.
pub fn sample_format_name(f: SampleFormat) -> &'static str {
    match f {
        SampleFormat::F32 => "f32",
        SampleFormat::I16 => "i16",
        SampleFormat::I32 => "i32",
    }
}

/// Seconds since `heartbeat_ns` (`CLOCK_MONOTONIC`, as participants stamp it); `None` for a
/// participant that never stamped one.
fn age_s(heartbeat_ns: u64, now_ns: u64) -> Option<f64> {
    (heartbeat_ns != 0).then(|| now_ns.saturating_sub(heartbeat_ns) as f64 / 1e9)
}

fn snapshot_json(
    path: Option<&std::path::Path>,
    h: &Header,
    schema: Schema,
    overwritable: bool,
    replaced_by: Option<u32>,
    s: &RingStats,
) -> serde_json::Value {
    let now = ringflow::liveness::monotonic_ns();
    serde_json::json!({
        "path": path.map(|p| p.display().to_string()),
        "header": {
            "version": h.version,
            "total_len": h.total_len,
            "slot_count": h.slot_count,
            "slot_payload": h.slot_payload,
            "slot_stride": h.slot_stride,
            "desc_stride": h.desc_stride,
            "timestamps": h.flags & ringflow::layout::ring_flags::TIMESTAMPS != 0,
            "max_consumers": h.max_consumers,
            "producer_mode": if h.producer_mode == 1 { "multi" } else { "single" },
            "overwritable": overwritable,
            "schema": schema_json(schema),
            "owner_pid": h.owner_pid,
            "created_unix_ns": h.created_unix_ns,
            "epoch": h.epoch,
        },
        "published": s.published,
        "dropped": s.dropped,
        "abandoned": s.abandoned,
        "evicted": s.evicted,
        "closed": s.closed,
        "replaced_by": replaced_by,
        "data_wakes": s.data_wakes,
        "space_wakes": s.space_wakes,
        "data_sleepers": s.data_sleepers,
        "space_sleepers": s.space_sleepers,
        "producers": s.producers.iter().map(|p| serde_json::json!({
            "index": p.index, "pid": p.pid, "alive": p.alive, "heartbeat_ns": p.heartbeat_ns,
            "heartbeat_age_s": age_s(p.heartbeat_ns, now),
        })).collect::<Vec<_>>(),
        "consumers": s.consumers.iter().map(|c| serde_json::json!({
            "index": c.index, "name": c.name, "ownerless": c.ownerless, "pid": c.pid,
            "alive": c.alive, "policy": if c.lossy { "lossy" } else { "lossless" },
            "evicted": c.evicted, "read": c.read, "lag": c.lag, "delivered": c.delivered,
            "lost": c.lost, "lapped": c.lapped, "torn": c.torn, "wakes": c.wakes, "heartbeat_ns": c.heartbeat_ns,
            "heartbeat_age_s": age_s(c.heartbeat_ns, now),
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_samples() {
        let mut l = Latency::default();
        for i in 1..=1000 {
            l.record(1_000, 1_000 + i * 1000);
        }
        l.record(0, 5); // unstamped: ignored
        let s = l.summary();
        assert_eq!(s.count, 1000);
        assert!((499_000..=501_000).contains(&s.p50), "{s:?}");
        assert!((989_000..=991_000).contains(&s.p99), "{s:?}");
        assert!(s.max >= 999_000);
    }
}
