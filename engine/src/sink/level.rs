//! A level meter for audio frames: RMS and peak of the last frames, printed now and then.

use super::{FrameRef, Sink};
use crate::error::Result;

/// Measures f32 audio levels; prints one line every `every` frames if `print` is set.
#[derive(Debug)]
pub struct LevelMeter {
    every: u64,
    print: bool,
    frames: u64,
    sum_squares: f64,
    samples: u64,
    peak: f32,
    /// The last RMS level measured, in dBFS.
    pub last_rms_db: Option<f64>,
}

impl LevelMeter {
    /// A meter that reports every `every` frames.
    pub fn new(every: u64, print: bool) -> Self {
        LevelMeter {
            every: every.max(1),
            print,
            frames: 0,
            sum_squares: 0.0,
            samples: 0,
            peak: 0.0,
            last_rms_db: None,
        }
    }
}

impl Sink for LevelMeter {
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()> {
        for chunk in frame.payload.chunks_exact(4) {
            let s = f32::from_ne_bytes(chunk.try_into().expect("4 bytes"));
            self.sum_squares += f64::from(s) * f64::from(s);
            self.peak = self.peak.max(s.abs());
            self.samples += 1;
        }
        self.frames += 1;
        if self.frames % self.every == 0 && self.samples > 0 {
            let rms = (self.sum_squares / self.samples as f64).sqrt();
            let db = 20.0 * rms.max(1e-9).log10();
            self.last_rms_db = Some(db);
            if self.print {
                let bar = "#".repeat(((db + 60.0).max(0.0) / 2.0) as usize);
                eprintln!("level  rms {db:6.1} dBFS  peak {:.3}  {bar}", self.peak);
            }
            self.sum_squares = 0.0;
            self.samples = 0;
            self.peak = 0.0;
        }
        Ok(())
    }
}
