//! The bridge's errors, one line each, and the connection both bridges open.

use std::time::Duration;

/// Why a bridge stopped.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// No NATS server answered at the URL.
    #[error("NATS server unreachable at {url}: {why}")]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// What the client said.
        why: String,
    },
    /// `pull` was given a stream that does not exist.
    #[error("stream {0} does not exist")]
    StreamMissing(String),
    /// The stream and the ring do not carry the same frames.
    #[error("schema mismatch: {0}")]
    SchemaMismatch(String),
    /// A ring operation failed.
    #[error(transparent)]
    Ring(#[from] ringflow::Error),
    /// A JetStream request failed for good.
    #[error("{0}")]
    Nats(String),
    /// A file of the bridge (pull's state file) could not be read or written.
    #[error("{0}")]
    Io(String),
    /// A message is not a ringflow frame.
    #[error("bad message: {0}")]
    BadMessage(String),
    /// Stopped by a signal before what was in flight was settled.
    #[error("cancelled")]
    Cancelled,
}

impl BridgeError {
    /// The CLI's exit status: 2 for bad input (no such stream, schema mismatch, a bad or foreign
    /// ring file, a message that is not a frame), 1 for a failed job (server unreachable, a
    /// request that failed for good, a ring that went away).
    pub fn exit_code(&self) -> u8 {
        match self {
            BridgeError::StreamMissing(_)
            | BridgeError::SchemaMismatch(_)
            | BridgeError::BadMessage(_) => 2,
            BridgeError::Ring(
                ringflow::Error::Layout(_)
                | ringflow::Error::Io { .. }
                | ringflow::Error::InvalidArgument(_)
                | ringflow::Error::NameTaken { .. },
            ) => 2,
            _ => 1,
        }
    }
}

/// Connects to `url` (several servers comma separated): fails at once if none answers, and
/// afterwards reconnects for ever with backoff (the client's own), while the bridges hold the
/// ring back (lossless) or count what they lose (lossy).
pub async fn connect(url: &str) -> Result<async_nats::Client, BridgeError> {
    let servers: Vec<async_nats::ServerAddr> = url
        .split(',')
        .map(|u| u.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|e| BridgeError::Unreachable {
            url: url.into(),
            why: format!("bad URL: {e}"),
        })?;
    async_nats::ConnectOptions::new()
        .connection_timeout(Duration::from_secs(3))
        .max_reconnects(None)
        .reconnect_delay_callback(reconnect_delay)
        .connect(servers)
        .await
        .map_err(|e| BridgeError::Unreachable {
            url: url.into(),
            why: e.to_string(),
        })
}

/// How long the client waits before its `attempts`-th try (1 the first) to reach a server: at
/// once, then 50 ms doubling to 2 s. The client calls this before every try, the very first
/// connection's included (async-nats 0.51 `Connector::try_connect` counts that one as attempt
/// 1; its own default waits 0 there too): a delay at 1 cost every bridge 100 ms to start
/// (docs/BRIDGE.md "Speed and latency").
fn reconnect_delay(attempts: usize) -> Duration {
    match attempts {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis((50u64 << (n - 2).min(6)).min(2000)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_try_waits_nothing_then_50_ms_doubling_to_2_s() {
        let ms: Vec<u128> = (1..=9).map(|a| reconnect_delay(a).as_millis()).collect();
        assert_eq!(ms, [0, 50, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(reconnect_delay(usize::MAX), Duration::from_secs(2));
    }
}
