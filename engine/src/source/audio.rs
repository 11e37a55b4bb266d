//! `audio`: PCM frames paced in real time (48 kHz stereo f32, 480 samples per frame = 10 ms by
//! default), from a sine, a chirp or a WAV file.

use std::f64::consts::TAU;
use std::time::Duration;

use ringflow::{AudioFormat, SampleFormat};

use super::Source;
use crate::error::{EngineError, Result};

/// What an audio source plays.
#[derive(Debug, Clone, PartialEq)]
pub enum Waveform {
    /// A sine at this frequency (Hz).
    Sine(f64),
    /// A sweep from `from` to `to` Hz over `seconds`, repeated.
    Chirp {
        /// Start frequency.
        from: f64,
        /// End frequency.
        to: f64,
        /// Sweep length.
        seconds: f64,
    },
}

enum Input {
    Wave {
        waveform: Waveform,
        phase: f64,
        t: f64,
    },
    Samples {
        samples: Vec<f32>,
        at: usize,
    },
}

/// Real-time paced PCM frames in `f32`.
pub struct AudioSource {
    format: AudioFormat,
    input: Input,
}

impl AudioSource {
    /// The default format: 48 kHz, stereo, f32, 480 samples per frame.
    pub fn default_format() -> AudioFormat {
        AudioFormat {
            sample_rate: 48_000,
            channels: 2,
            format: SampleFormat::F32,
            samples_per_frame: 480,
        }
    }

    /// A generator of `waveform` in `format` (which must be f32).
    pub fn generator(format: AudioFormat, waveform: Waveform) -> Result<Self> {
        if format.format != SampleFormat::F32 {
            return Err(EngineError::InvalidArgument(
                "the audio source writes f32 samples".into(),
            ));
        }
        Ok(AudioSource {
            format,
            input: Input::Wave {
                waveform,
                phase: 0.0,
                t: 0.0,
            },
        })
    }

    /// Plays a WAV file; the format follows the file (samples converted to f32).
    pub fn wav(path: &str, samples_per_frame: u32) -> Result<Self> {
        let wav_err = |source| EngineError::Wav {
            path: path.into(),
            source,
        };
        let reader = hound::WavReader::open(path).map_err(wav_err)?;
        let spec = reader.spec();
        let samples: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .into_samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(wav_err)?,
            hound::SampleFormat::Int => {
                let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
                reader
                    .into_samples::<i32>()
                    .map(|s| s.map(|v| v as f32 * scale))
                    .collect::<Result<_, _>>()
                    .map_err(wav_err)?
            }
        };
        let format = AudioFormat {
            sample_rate: spec.sample_rate,
            channels: u32::from(spec.channels),
            format: SampleFormat::F32,
            samples_per_frame,
        };
        Ok(AudioSource {
            format,
            input: Input::Samples { samples, at: 0 },
        })
    }

    /// The format of the frames.
    pub fn format(&self) -> AudioFormat {
        self.format
    }
}

impl Source for AudioSource {
    fn next_frame(&mut self, buf: &mut [u8]) -> Option<usize> {
        let channels = self.format.channels as usize;
        let count = self.format.samples_per_frame as usize * channels;
        let bytes = count * 4;
        if buf.len() < bytes {
            return None;
        }
        let rate = f64::from(self.format.sample_rate);
        match &mut self.input {
            Input::Wave { waveform, phase, t } => {
                for frame in buf[..bytes].chunks_exact_mut(4 * channels) {
                    let freq = match *waveform {
                        Waveform::Sine(f) => f,
                        Waveform::Chirp { from, to, seconds } => {
                            from + (to - from) * ((*t % seconds) / seconds)
                        }
                    };
                    *phase = (*phase + TAU * freq / rate) % TAU;
                    *t += 1.0 / rate;
                    let sample = (0.5 * phase.sin()) as f32;
                    for ch in frame.chunks_exact_mut(4) {
                        ch.copy_from_slice(&sample.to_ne_bytes());
                    }
                }
                Some(bytes)
            }
            Input::Samples { samples, at } => {
                if *at >= samples.len() {
                    return None;
                }
                let end = (*at + count).min(samples.len());
                for (dst, s) in buf.chunks_exact_mut(4).zip(&samples[*at..end]) {
                    dst.copy_from_slice(&s.to_ne_bytes());
                }
                let len = (end - *at) * 4;
                *at = end;
                Some(len)
            }
        }
    }

    fn period(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(
            f64::from(self.format.samples_per_frame) / f64::from(self.format.sample_rate),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sine_frame_is_ten_milliseconds_of_stereo_f32() {
        let mut source =
            AudioSource::generator(AudioSource::default_format(), Waveform::Sine(440.0)).unwrap();
        let mut buf = vec![0u8; 4096];
        assert_eq!(source.next_frame(&mut buf), Some(3840));
        assert_eq!(source.period(), Some(Duration::from_millis(10)));
        let samples: Vec<f32> = buf[..3840]
            .chunks_exact(4)
            .map(|b| f32::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        assert!(samples.iter().all(|s| s.abs() <= 0.5));
        assert_eq!(
            samples[0], samples[1],
            "both channels carry the same sample"
        );
        assert!(samples.iter().any(|s| s.abs() > 0.4));
    }
}
