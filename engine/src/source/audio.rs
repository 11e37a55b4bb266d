//! `audio`: PCM frames paced in real time (48 kHz stereo f32, 480 samples per frame = 10 ms by
//! default, or any rate, channel count, f32/i16/i24/i32 and frame length), from a sine, a chirp,
//! white noise, silence or a WAV file (played exactly in the ring's sample format, or
//! refused: [`WavFile`]).

use std::f64::consts::TAU;
use std::time::Duration;

use ringflow::{AudioFormat, SampleFormat};

use super::Source;
use crate::error::{EngineError, Result};
use crate::wav::WavFile;

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
    /// White noise (uniform samples).
    Noise,
    /// Silence (all samples zero).
    Silence,
}

enum Input {
    Wave {
        waveform: Waveform,
        phase: f64,
        t: f64,
        /// Peak amplitude, full scale = 1.
        amplitude: f64,
        /// State of the noise generator.
        noise: u64,
    },
    File {
        wav: WavFile,
        /// The next sample (interleaved) to play.
        at: usize,
    },
}

/// Real-time paced PCM frames in the ring's sample format.
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

    /// A generator of `waveform` in `format` (any sample format), at half scale unless
    /// [`level`](Self::level) says otherwise.
    pub fn generator(format: AudioFormat, waveform: Waveform) -> Result<Self> {
        Ok(AudioSource {
            format,
            input: Input::Wave {
                waveform,
                phase: 0.0,
                t: 0.0,
                amplitude: DEFAULT_AMPLITUDE,
                noise: NOISE_SEED,
            },
        })
    }

    /// Sets a generator's peak level in dBFS (0 is full scale; the default is -6.02, half
    /// scale). Refused above 0 (it would clip) or not finite, and for a WAV file's source.
    ///
    /// ```
    /// use ringflow_engine::source::{AudioSource, Waveform};
    /// let source = AudioSource::generator(AudioSource::default_format(), Waveform::Silence)?;
    /// assert!(source.level(-12.0).is_ok());
    /// let source = AudioSource::generator(AudioSource::default_format(), Waveform::Silence)?;
    /// assert!(source.level(3.0).is_err());
    /// # Ok::<(), ringflow_engine::EngineError>(())
    /// ```
    pub fn level(mut self, dbfs: f64) -> Result<Self> {
        if !(dbfs <= 0.0 && dbfs.is_finite()) {
            return Err(EngineError::InvalidArgument(format!(
                "--level {dbfs}: must be a finite number of dBFS, at most 0"
            )));
        }
        match &mut self.input {
            Input::Wave { amplitude, .. } => *amplitude = 10f64.powf(dbfs / 20.0),
            Input::File { .. } => {
                return Err(EngineError::InvalidArgument(
                    "--level sets a generator's level, not a WAV file's".into(),
                ))
            }
        }
        Ok(self)
    }

    /// Plays a WAV file in its [natural](WavFile::natural_format) ring format (f32 for
    /// integers of up to 16 bits and for floats, i24 for 17 to 24 bits, i32 for wider integers), or says in one line
    /// why no ring format holds its samples exactly. [`fit`](Self::fit) moves it to a given ring.
    pub fn wav(path: &str, samples_per_frame: u32) -> Result<Self> {
        let wav = WavFile::open(path)?;
        let f = wav.format();
        let format = AudioFormat {
            sample_rate: f.sample_rate,
            channels: u32::from(f.channels),
            format: wav.natural_format(),
            samples_per_frame,
        };
        wav.check(format.format)?;
        Ok(AudioSource {
            format,
            input: Input::File { wav, at: 0 },
        })
    }

    /// Makes this source write frames of `ring`, an existing ring's format: its sample format
    /// (if every sample of the file has an exact value in it) and its frame length. A file of
    /// another rate or channel count, or a generator of another format, is refused with one
    /// sentence.
    pub fn fit(&mut self, ring: AudioFormat) -> Result<()> {
        let have = self.format;
        let describe = |f: AudioFormat| {
            format!(
                "{} Hz with {} channel{}",
                f.sample_rate,
                f.channels,
                if f.channels == 1 { "" } else { "s" }
            )
        };
        match &self.input {
            Input::File { wav, .. } => {
                if (have.sample_rate, have.channels) != (ring.sample_rate, ring.channels) {
                    return Err(EngineError::InvalidArgument(format!(
                        "the WAV file is {} but the ring holds audio at {}; a ring created from the file (a path that does not exist yet) takes its format",
                        describe(have),
                        describe(ring)
                    )));
                }
                if ring.format != have.format {
                    wav.check(ring.format)?;
                }
            }
            Input::Wave { .. } => {
                if ring != have {
                    return Err(EngineError::InvalidArgument(format!(
                        "the generator writes {} {} samples, {} per frame, but the ring holds {} {} samples, {} per frame",
                        describe(have),
                        crate::wav::reader::sample_format_name(have.format),
                        have.samples_per_frame,
                        describe(ring),
                        crate::wav::reader::sample_format_name(ring.format),
                        ring.samples_per_frame
                    )));
                }
            }
        }
        self.format = ring;
        Ok(())
    }

    /// One line saying the WAV file's data chunk was shorter than its header claimed (what is
    /// there is played), if it was.
    pub fn shortfall_note(&self) -> Option<String> {
        match &self.input {
            Input::File { wav, .. } => wav.shortfall_note(),
            Input::Wave { .. } => None,
        }
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
        let bytes = count * self.format.format.bytes() as usize;
        if buf.len() < bytes {
            return None;
        }
        let rate = f64::from(self.format.sample_rate);
        match &mut self.input {
            Input::Wave {
                waveform,
                phase,
                t,
                amplitude,
                noise,
            } => {
                let width = self.format.format.bytes() as usize;
                for frame in buf[..bytes].chunks_exact_mut(width * channels) {
                    let x = match *waveform {
                        Waveform::Sine(_) | Waveform::Chirp { .. } => {
                            let freq = match *waveform {
                                Waveform::Chirp { from, to, seconds } => {
                                    from + (to - from) * ((*t % seconds) / seconds)
                                }
                                Waveform::Sine(f) => f,
                                _ => 0.0,
                            };
                            *phase = (*phase + TAU * freq / rate) % TAU;
                            phase.sin()
                        }
                        Waveform::Noise => {
                            // xorshift64: a uniform sample per frame without a dependency or an
                            // allocation; statistical quality is beside the point for a test tone.
                            *noise ^= *noise << 13;
                            *noise ^= *noise >> 7;
                            *noise ^= *noise << 17;
                            (*noise >> 11) as f64 / (1u64 << 52) as f64 - 1.0
                        }
                        Waveform::Silence => 0.0,
                    };
                    *t += 1.0 / rate;
                    let x = *amplitude * x;
                    for ch in frame.chunks_exact_mut(width) {
                        encode(x, self.format.format, ch);
                    }
                }
                Some(bytes)
            }
            Input::File { wav, at } => {
                let n = wav.encode_into(*at, self.format.format, &mut buf[..bytes]);
                if n == 0 {
                    return None;
                }
                *at += n;
                Some(n * self.format.format.bytes() as usize)
            }
        }
    }

    fn period(&self) -> Option<Duration> {
        Some(Duration::from_secs_f64(
            f64::from(self.format.samples_per_frame) / f64::from(self.format.sample_rate),
        ))
    }
}

/// Peak amplitude of a generator unless [`AudioSource::level`] sets one (half scale, -6.02 dBFS).
const DEFAULT_AMPLITUDE: f64 = 0.5;

/// The largest 24-bit signed integer.
const I24_MAX: i32 = (1 << 23) - 1;

/// Any nonzero start for the noise generator: the same noise every run.
const NOISE_SEED: u64 = 0x9E37_79B9_7F4A_7C15;

/// Writes `x` (full scale = 1) as one sample of `format` into `out`, native-endian (packed i24
/// little-endian): integers are `x` times the largest positive value, rounded.
pub(crate) fn encode(x: f64, format: SampleFormat, out: &mut [u8]) {
    match format {
        SampleFormat::F32 => out.copy_from_slice(&(x as f32).to_ne_bytes()),
        SampleFormat::I16 => {
            out.copy_from_slice(&((x * f64::from(i16::MAX)).round() as i16).to_ne_bytes())
        }
        SampleFormat::I32 => {
            out.copy_from_slice(&((x * f64::from(i32::MAX)).round() as i32).to_ne_bytes())
        }
        SampleFormat::I24 => {
            let v = (x * f64::from(I24_MAX)).round() as i32;
            out.copy_from_slice(&v.to_le_bytes()[..3]);
        }
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
