//! The bridge's wire format on NATS JetStream (`docs/BRIDGE.md` is the reference a client in
//! another language follows): one message per ring frame, the frame's payload as the message
//! body, its facts in headers, and the ring's schema in the stream's description.

use async_nats::{HeaderMap, HeaderValue};
use ringflow::{AudioFormat, Ring, SampleFormat, Schema};
use serde::{Deserialize, Serialize};

/// `Nats-Msg-Id`: the ring's identity and the frame's sequence, so a republish is de-duplicated
/// by the server within its duplicate window.
pub const MSG_ID: &str = "Nats-Msg-Id";
/// The id of the message that must be the stream's last before this one (the bridge's previous
/// frame); the server refuses the message otherwise (JetStream's optimistic concurrency).
pub const EXPECTED_LAST_MSG_ID: &str = "Nats-Expected-Last-Msg-Id";
/// The frame's sequence in its ring (decimal).
pub const SEQ: &str = "Ringflow-Seq";
/// The frame's user kind, 0 ..= 65535 (decimal).
pub const KIND: &str = "Ringflow-Kind";
/// The producer's `CLOCK_MONOTONIC` timestamp in nanoseconds, 0 if none (decimal).
pub const TIMESTAMP: &str = "Ringflow-Timestamp-Ns";
/// Frames the bridge lost just before this one (a lossy bridge lapped by the ring; decimal).
pub const LOST_BEFORE: &str = "Ringflow-Lost-Before";
/// The ring's identity: its header's `epoch`, 16 lower-case hex digits.
pub const RING: &str = "Ringflow-Ring";

/// The prefix of a ringflow stream's description; the JSON [`StreamSchema`] follows it.
pub const DESCRIPTION_PREFIX: &str = "ringflow-bridge/1 ";

/// A ring's identity in message ids: its epoch in hex.
pub fn ring_id(ring: &Ring) -> String {
    format!("{:016x}", ring.header().epoch)
}

/// The `Nats-Msg-Id` of frame `seq` of ring `ring_id`.
pub fn msg_id(ring_id: &str, seq: u64) -> HeaderValue {
    HeaderValue::from(format!("{ring_id}-{seq}"))
}

/// The facts of one frame, as the headers carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeaders {
    /// Sequence in the origin ring.
    pub seq: u64,
    /// User kind.
    pub kind: u16,
    /// Producer's timestamp.
    pub timestamp_ns: u64,
    /// Frames lost just before it.
    pub lost_before: u64,
}

impl FrameHeaders {
    /// The headers of this frame from ring `ring_id`; `prev`, the sequence of the frame
    /// published before it, becomes its expected last message id.
    pub fn to_map(&self, ring_id: &str, prev: Option<u64>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(MSG_ID, msg_id(ring_id, self.seq));
        if let Some(prev) = prev {
            h.insert(EXPECTED_LAST_MSG_ID, msg_id(ring_id, prev));
        }
        h.insert(RING, ring_id);
        h.insert(SEQ, HeaderValue::from(self.seq));
        h.insert(KIND, HeaderValue::from(self.kind));
        h.insert(TIMESTAMP, HeaderValue::from(self.timestamp_ns));
        h.insert(LOST_BEFORE, HeaderValue::from(self.lost_before));
        h
    }

    /// Reads the headers back; names the first missing or malformed one.
    pub fn from_map(h: Option<&HeaderMap>) -> Result<Self, String> {
        fn get<T: std::str::FromStr>(h: Option<&HeaderMap>, name: &str) -> Result<T, String> {
            let v = h
                .and_then(|h| h.get(name))
                .ok_or_else(|| format!("message has no {name} header"))?;
            v.as_str()
                .parse()
                .map_err(|_| format!("header {name} is {:?}, not a number", v.as_str()))
        }
        Ok(FrameHeaders {
            seq: get(h, SEQ)?,
            kind: get(h, KIND)?,
            timestamp_ns: get(h, TIMESTAMP)?,
            lost_before: get(h, LOST_BEFORE)?,
        })
    }
}

/// What the stream's description records about the ring it carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSchema {
    /// `raw`, `audio` or `telemetry`.
    pub schema: String,
    /// Payload bytes of the origin ring's slots: no message is longer.
    pub slot_size: u32,
    /// Slots of the origin ring (a far ring created from the stream gets as many).
    pub slots: u32,
    /// Audio: sample rate, channels, `f32`/`i16`/`i32`, samples per channel per frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioSchema>,
    /// Telemetry: the event schema version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry_version: Option<u32>,
}

/// The audio part of [`StreamSchema`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AudioSchema {
    /// Frames per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u32,
    /// `f32`, `i16` or `i32`.
    pub format: String,
    /// Samples per channel in one ring frame.
    pub samples_per_frame: u32,
}

impl StreamSchema {
    /// The schema of `ring`.
    pub fn of(ring: &Ring) -> Self {
        let (schema, audio, telemetry_version) = match ring.schema() {
            Schema::Raw => ("raw", None, None),
            Schema::Audio(a) => (
                "audio",
                Some(AudioSchema {
                    sample_rate: a.sample_rate,
                    channels: a.channels,
                    format: match a.format {
                        SampleFormat::F32 => "f32",
                        SampleFormat::I16 => "i16",
                        SampleFormat::I32 => "i32",
                        SampleFormat::I24 => "i24",
                    }
                    .into(),
                    samples_per_frame: a.samples_per_frame,
                }),
                None,
            ),
            Schema::Telemetry { version } => ("telemetry", None, Some(version)),
        };
        StreamSchema {
            schema: schema.into(),
            slot_size: ring.slot_size() as u32,
            slots: ring.capacity() as u32,
            audio,
            telemetry_version,
        }
    }

    /// The ring schema it describes, or why it describes none.
    pub fn ring_schema(&self) -> Result<Schema, String> {
        match (self.schema.as_str(), &self.audio) {
            ("raw", _) => Ok(Schema::Raw),
            ("telemetry", _) => Ok(Schema::Telemetry {
                version: self.telemetry_version.unwrap_or(0),
            }),
            ("audio", Some(a)) => Ok(Schema::Audio(AudioFormat {
                sample_rate: a.sample_rate,
                channels: a.channels,
                format: match a.format.as_str() {
                    "f32" => SampleFormat::F32,
                    "i16" => SampleFormat::I16,
                    "i32" => SampleFormat::I32,
                    "i24" => SampleFormat::I24,
                    other => return Err(format!("unknown sample format {other:?}")),
                },
                samples_per_frame: a.samples_per_frame,
            })),
            (other, _) => Err(format!("unknown schema {other:?}")),
        }
    }

    /// The stream description that records it.
    pub fn description(&self) -> String {
        format!(
            "{DESCRIPTION_PREFIX}{}",
            serde_json::to_string(self).expect("plain data")
        )
    }

    /// Reads a stream description; `None` if it is not a ringflow stream's.
    pub fn from_description(description: Option<&str>) -> Option<Result<Self, String>> {
        let json = description?.strip_prefix(DESCRIPTION_PREFIX)?;
        Some(serde_json::from_str(json).map_err(|e| format!("bad ringflow description: {e}")))
    }

    /// What makes frames of this schema unfit for `ring` (a different schema, or slots too
    /// small), if anything.
    pub fn mismatch(&self, ring: &Ring) -> Option<String> {
        let want = match self.ring_schema() {
            Ok(s) => s,
            Err(e) => return Some(e),
        };
        if ring.schema() != want {
            return Some(format!(
                "the stream carries {want:?} frames but the ring holds {:?}",
                ring.schema()
            ));
        }
        if (ring.slot_size() as u64) < u64::from(self.slot_size) {
            return Some(format!(
                "the stream's frames take up to {} bytes but the ring's slots hold {}",
                self.slot_size,
                ring.slot_size()
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringflow::RingConfig;

    #[test]
    fn headers_round_trip() {
        let f = FrameHeaders {
            seq: 7,
            kind: 3,
            timestamp_ns: 99,
            lost_before: 2,
        };
        let map = f.to_map("00000000000000ab", None);
        assert_eq!(map.get(MSG_ID).unwrap().as_str(), "00000000000000ab-7");
        assert!(map.get(EXPECTED_LAST_MSG_ID).is_none());
        let next = FrameHeaders { seq: 8, ..f }.to_map("00000000000000ab", Some(7));
        assert_eq!(
            next.get(EXPECTED_LAST_MSG_ID).unwrap().as_str(),
            "00000000000000ab-7"
        );
        assert_eq!(FrameHeaders::from_map(Some(&map)), Ok(f));
        assert!(FrameHeaders::from_map(None)
            .unwrap_err()
            .contains("Ringflow-Seq"));
    }

    #[test]
    fn an_audio_schema_round_trips_through_the_description() {
        let format = AudioFormat {
            sample_rate: 48_000,
            channels: 2,
            format: SampleFormat::F32,
            samples_per_frame: 480,
        };
        let ring =
            Ring::anonymous(&RingConfig::new(8, 3840).schema(Schema::Audio(format))).unwrap();
        let s = StreamSchema::of(&ring);
        let back = StreamSchema::from_description(Some(&s.description()))
            .unwrap()
            .unwrap();
        assert_eq!(back, s);
        assert_eq!(back.ring_schema(), Ok(Schema::Audio(format)));
        assert_eq!(back.mismatch(&ring), None);
        let raw = Ring::anonymous(&RingConfig::new(8, 3840)).unwrap();
        assert!(back.mismatch(&raw).unwrap().contains("Audio"));
        assert!(StreamSchema::from_description(Some("something else")).is_none());
    }
}
