//! JSON Lines writer: one line per frame; telemetry events decoded into their fields.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::{FrameRef, Sink};
use crate::error::{EngineError, Result};
use crate::source::TelemetryEvent;

/// Writes one JSON object per frame.
pub struct JsonlSink {
    path: String,
    out: BufWriter<File>,
    telemetry: bool,
    lines: u64,
}

impl JsonlSink {
    /// Creates `path`; `telemetry` decodes payloads as [`TelemetryEvent`]s.
    pub fn create(path: &str, telemetry: bool) -> Result<Self> {
        let file = File::create(path).map_err(|source| EngineError::Io {
            path: path.into(),
            source,
        })?;
        Ok(JsonlSink {
            path: path.into(),
            out: BufWriter::new(file),
            telemetry,
            lines: 0,
        })
    }
}

impl Sink for JsonlSink {
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()> {
        let size = std::mem::size_of::<TelemetryEvent>();
        let line = if self.telemetry && frame.payload.len() >= size {
            let event: TelemetryEvent = bytemuck::pod_read_unaligned(&frame.payload[..size]);
            serde_json::json!({"seq": frame.seq, "timestamp_ns": frame.timestamp_ns, "event": event})
        } else {
            serde_json::json!({"seq": frame.seq, "timestamp_ns": frame.timestamp_ns, "len": frame.payload.len()})
        };
        writeln!(self.out, "{line}").map_err(|source| EngineError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.lines += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<String>> {
        self.out.flush().map_err(|source| EngineError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(Some(format!("wrote {} ({} lines)", self.path, self.lines)))
    }
}
