//! Records audio frames into a WAV file ([`WavWriter`]): the ring's samples as they are (32-bit
//! float, 16-bit or 32-bit integer), with a header that counts them at least once a second.

use ringflow::AudioFormat;

use super::{FrameRef, Sink};
use crate::error::Result;
use crate::wav::WavWriter;

/// Writes audio frames to a WAV file.
#[derive(Debug)]
pub struct WavSink {
    writer: Option<WavWriter>,
    sample_rate: u32,
}

impl WavSink {
    /// Creates `path` for frames of `format`.
    pub fn create(path: &str, format: AudioFormat) -> Result<Self> {
        Ok(WavSink {
            writer: Some(WavWriter::create(path, format)?),
            sample_rate: format.sample_rate,
        })
    }
}

impl Sink for WavSink {
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.write(frame.payload),
            None => Ok(()),
        }
    }

    fn idle(&mut self) -> Result<()> {
        match self.writer.as_mut() {
            Some(w) => w.idle(),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<Option<String>> {
        let Some(writer) = self.writer.take() else {
            return Ok(None);
        };
        let path = writer.path().to_owned();
        let frames = writer.finish()?;
        Ok(Some(format!(
            "wrote {path} ({frames} sample frames, {:.3} s)",
            frames as f64 / f64::from(self.sample_rate.max(1))
        )))
    }
}
