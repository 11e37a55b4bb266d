//! WAV writer for audio frames (hound), so a user can listen to what arrived.

use std::fs::File;
use std::io::BufWriter;

use ringflow::AudioFormat;

use super::{FrameRef, Sink};
use crate::error::{EngineError, Result};

/// Writes f32 audio frames to a WAV file.
pub struct WavSink {
    path: String,
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    samples: u64,
    channels: u32,
}

impl WavSink {
    /// Creates `path` for frames of `format`.
    pub fn create(path: &str, format: AudioFormat) -> Result<Self> {
        let spec = hound::WavSpec {
            channels: format.channels as u16,
            sample_rate: format.sample_rate,
            bits_per_sample: 32,
            sample_format: hound::SampleFormat::Float,
        };
        let writer = hound::WavWriter::create(path, spec).map_err(|source| EngineError::Wav {
            path: path.into(),
            source,
        })?;
        Ok(WavSink {
            path: path.into(),
            writer: Some(writer),
            samples: 0,
            channels: format.channels,
        })
    }
}

impl Sink for WavSink {
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        for chunk in frame.payload.chunks_exact(4) {
            let sample = f32::from_ne_bytes(chunk.try_into().expect("4 bytes"));
            writer
                .write_sample(sample)
                .map_err(|source| EngineError::Wav {
                    path: self.path.clone(),
                    source,
                })?;
            self.samples += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<String>> {
        if let Some(writer) = self.writer.take() {
            writer.finalize().map_err(|source| EngineError::Wav {
                path: self.path.clone(),
                source,
            })?;
        }
        let seconds = self.samples as f64 / f64::from(self.channels.max(1));
        Ok(Some(format!(
            "wrote {} ({} sample frames)",
            self.path, seconds as u64
        )))
    }
}
