//! Reads a whole WAV file and hands its samples out exactly in a ring's sample format, or says in
//! one line why it cannot.
//!
//! Samples are decoded through an exact `f64` ([`Encoding::decode`]) and written in the ring's
//! format only if the value survives unchanged: a file is either played bit for bit (up to an
//! exact power-of-two scale) or refused before its first frame.

use ringflow::SampleFormat;

use super::format::{self, Encoding, WavFormat};
use crate::error::{EngineError, Result};

/// A data chunk that ends before its header says it does (a recording cut short).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// Bytes of samples the header claims.
    pub claimed: u64,
    /// Bytes of whole sample frames the file holds, which are played.
    pub present: u64,
}

/// A WAV file read into memory.
#[derive(Debug)]
pub struct WavFile {
    path: String,
    format: WavFormat,
    /// Whole sample frames only, little-endian as in the file.
    data: Vec<u8>,
    shortfall: Option<Shortfall>,
}

impl WavFile {
    /// Reads `path`.
    pub fn open(path: &str) -> Result<WavFile> {
        let bytes = std::fs::read(path).map_err(|source| EngineError::Io {
            path: path.into(),
            source,
        })?;
        WavFile::parse(path, bytes)
    }

    /// Reads the bytes of a file (`path` names it in messages).
    ///
    /// ```
    /// use ringflow_engine::wav::{Encoding, WavFile, WavFormat};
    /// let format = WavFormat { channels: 1, sample_rate: 8000, encoding: Encoding::F32 };
    /// let (mut bytes, data_size_offset) = format.header();
    /// bytes[data_size_offset..][..4].copy_from_slice(&4u32.to_le_bytes());
    /// bytes.extend_from_slice(&0.25f32.to_le_bytes());
    /// let file = WavFile::parse("tone.wav", bytes)?;
    /// assert_eq!((file.format(), file.samples()), (format, 1));
    /// assert_eq!(file.sample(0), 0.25);
    /// # Ok::<(), ringflow_engine::EngineError>(())
    /// ```
    pub fn parse(path: &str, mut bytes: Vec<u8>) -> Result<WavFile> {
        let bad = |reason: String| EngineError::Wav {
            path: path.into(),
            reason,
        };
        if bytes.len() < format::FIRST_CHUNK_OFFSET
            || &bytes[..4] != format::RIFF_ID
            || &bytes[8..12] != format::WAVE_ID
        {
            return Err(bad("not a WAV file (no RIFF/WAVE header)".into()));
        }
        let mut at = format::FIRST_CHUNK_OFFSET;
        let mut fmt: Option<WavFormat> = None;
        loop {
            if bytes.len() < at + format::CHUNK_HEADER_LENGTH {
                return Err(bad(match fmt {
                    None => "it has no fmt chunk".into(),
                    Some(_) => "it has no data chunk".into(),
                }));
            }
            let id: [u8; 4] = bytes[at..at + 4].try_into().expect("4 bytes");
            let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes"));
            let body = at + format::CHUNK_HEADER_LENGTH;
            let end = body as u64 + u64::from(size);
            if &id == format::DATA_ID {
                let Some(format) = fmt else {
                    return Err(bad("its data chunk comes before its fmt chunk".into()));
                };
                let present = (bytes.len() - body).min(size as usize);
                let whole = present - present % format.block_align();
                let shortfall = (whole as u64 != u64::from(size)).then_some(Shortfall {
                    claimed: u64::from(size),
                    present: whole as u64,
                });
                bytes.truncate(body + whole);
                bytes.drain(..body);
                return Ok(WavFile {
                    path: path.into(),
                    format,
                    data: bytes,
                    shortfall,
                });
            }
            if end > bytes.len() as u64 {
                return Err(bad(format!(
                    "its {:?} chunk runs past the end of the file",
                    String::from_utf8_lossy(&id)
                )));
            }
            if &id == format::FMT_ID {
                fmt = Some(WavFormat::parse(&bytes[body..end as usize]).map_err(bad)?);
            }
            // Chunks are padded to an even length.
            at = end as usize + (size as usize & 1);
        }
    }

    /// The file's format.
    pub fn format(&self) -> WavFormat {
        self.format
    }

    /// Samples in all (every channel's).
    pub fn samples(&self) -> usize {
        self.data.len() / self.format.encoding.bytes()
    }

    /// Sample `i` (interleaved), exactly ([`Encoding::decode`]).
    pub fn sample(&self, i: usize) -> f64 {
        let n = self.format.encoding.bytes();
        self.format.encoding.decode(&self.data[i * n..])
    }

    /// Whether the data chunk was shorter than its header said, and by how much.
    pub fn shortfall(&self) -> Option<Shortfall> {
        self.shortfall
    }

    /// One line saying the data chunk was short and what is played instead, if it was.
    pub fn shortfall_note(&self) -> Option<String> {
        let s = self.shortfall?;
        let seconds = |bytes: u64| {
            bytes as f64 / self.format.block_align() as f64 / f64::from(self.format.sample_rate)
        };
        Some(format!(
            "{}: the data chunk claims {} bytes ({:.3} s) but the file holds {} bytes of whole sample frames ({:.3} s); playing those",
            self.path,
            s.claimed,
            seconds(s.claimed),
            s.present,
            seconds(s.present)
        ))
    }

    /// The ring sample format that holds every file of this encoding exactly: f32 for integers
    /// of up to 16 bits and for floats (64-bit floats are then checked sample by sample), i24
    /// for integers of 17 to 24 bits (packed or in 32-bit containers), i32 for wider integers.
    pub fn natural_format(&self) -> SampleFormat {
        match self.format.encoding {
            Encoding::Int { valid, .. } if valid > 24 => SampleFormat::I32,
            Encoding::Int { valid, .. } if valid > 16 => SampleFormat::I24,
            _ => SampleFormat::F32,
        }
    }

    /// Checks that every sample has an exact value in `to`; else says which one does not, in
    /// one line.
    pub fn check(&self, to: SampleFormat) -> Result<()> {
        let n = self.format.encoding.bytes();
        let channels = usize::from(self.format.channels);
        for (i, b) in self.data.chunks_exact(n).enumerate() {
            let v = self.format.encoding.decode(b);
            if encode(v, to).is_none() {
                return Err(EngineError::InvalidArgument(format!(
                    "{}: its {} samples do not all fit the ring's {} samples exactly (sample frame {}, channel {} is {v:e}{}); nothing was played",
                    self.path,
                    self.format.encoding.describe(),
                    sample_format_name(to),
                    i / channels,
                    i % channels,
                    if to != SampleFormat::F32 && !(-1.0..1.0).contains(&v) {
                        ", outside the integer range"
                    } else {
                        ""
                    }
                )));
            }
        }
        Ok(())
    }

    /// Writes samples `from..` in `to` (as frames in a ring are: native-endian, packed i24
    /// little-endian) into `dst`
    /// until it or the file ends; returns how many. Call [`check`](Self::check) first: a sample
    /// with no exact value in `to` is written as 0 (and panics in debug builds).
    pub fn encode_into(&self, from: usize, to: SampleFormat, dst: &mut [u8]) -> usize {
        let width = to.bytes() as usize;
        let count = (dst.len() / width).min(self.samples().saturating_sub(from));
        for (k, out) in dst.chunks_exact_mut(width).take(count).enumerate() {
            let value = encode(self.sample(from + k), to);
            debug_assert!(value.is_some(), "sample {} was not checked", from + k);
            let value = value.unwrap_or([0; 4]);
            out.copy_from_slice(&value[..width]);
        }
        count
    }
}

/// The ring format's name in a sentence.
pub fn sample_format_name(f: SampleFormat) -> &'static str {
    match f {
        SampleFormat::F32 => "f32",
        SampleFormat::I16 => "i16",
        SampleFormat::I32 => "i32",
        SampleFormat::I24 => "i24",
    }
}

/// `v` in `to` (the first `to.bytes()` bytes: native-endian, packed i24 little-endian), if `to`
/// holds it exactly.
fn encode(v: f64, to: SampleFormat) -> Option<[u8; 4]> {
    // An integer of `bits` bits scaled by 2^-(bits-1), as `Encoding::decode` scales them.
    let int = |bits: i32| {
        let x = v * 2f64.powi(bits - 1);
        let limit = 2f64.powi(bits - 1);
        (x.fract() == 0.0 && x >= -limit && x < limit).then_some(x as i64)
    };
    let mut out = [0u8; 4];
    match to {
        SampleFormat::F32 => {
            let f = v as f32;
            // NaN compares unequal to itself: refused, as it has no exact value.
            if f64::from(f) != v {
                return None;
            }
            out.copy_from_slice(&f.to_ne_bytes());
        }
        SampleFormat::I16 => out[..2].copy_from_slice(&(int(16)? as i16).to_ne_bytes()),
        SampleFormat::I32 => out.copy_from_slice(&(int(32)? as i32).to_ne_bytes()),
        SampleFormat::I24 => out[..3].copy_from_slice(&(int(24)? as i32).to_le_bytes()[..3]),
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_values_are_encoded() {
        let as_i16 = |b: [u8; 4]| i16::from_ne_bytes([b[0], b[1]]);
        assert_eq!(encode(0.5, SampleFormat::I16).map(as_i16), Some(0x4000));
        assert!(encode(1.0, SampleFormat::I16).is_none(), "out of range");
        assert!(
            encode(2f64.powi(-16), SampleFormat::I16).is_none(),
            "below the last bit"
        );
        assert!(encode(2f64.powi(-16), SampleFormat::I32).is_some());
        // i24: packed little-endian, the last bit 2^-23, range [-1, 1).
        assert_eq!(
            encode(-2f64.powi(-23), SampleFormat::I24).map(|b| b[..3].to_vec()),
            Some(vec![0xff, 0xff, 0xff])
        );
        assert_eq!(
            encode(-1.0, SampleFormat::I24).map(|b| b[..3].to_vec()),
            Some(vec![0x00, 0x00, 0x80])
        );
        assert!(encode(1.0, SampleFormat::I24).is_none(), "out of range");
        assert!(
            encode(2f64.powi(-24), SampleFormat::I24).is_none(),
            "below the last bit"
        );
        assert!(encode(0.1, SampleFormat::F32).is_none());
        assert!(encode(f64::from(0.1f32), SampleFormat::F32).is_some());
        assert!(encode(f64::NAN, SampleFormat::F32).is_none());
        // 24 significant bits fit an f32, 25 do not.
        assert!(encode(f64::from((1 << 24) - 1) / 2f64.powi(31), SampleFormat::F32).is_some());
        assert!(encode(f64::from((1 << 25) - 1) / 2f64.powi(31), SampleFormat::F32).is_none());
    }

    #[test]
    fn a_short_data_chunk_plays_its_whole_sample_frames() {
        let format = WavFormat {
            channels: 2,
            sample_rate: 8000,
            encoding: Encoding::Int {
                bytes: 2,
                valid: 16,
            },
        };
        let (mut bytes, data_size_offset) = format.header();
        bytes[data_size_offset..][..4].copy_from_slice(&100u32.to_le_bytes());
        bytes.extend_from_slice(&[1, 0, 2, 0, 3, 0, 4, 0, 5, 0]);
        let file = WavFile::parse("short.wav", bytes).unwrap();
        assert_eq!(file.samples(), 4);
        assert_eq!(
            file.shortfall(),
            Some(Shortfall {
                claimed: 100,
                present: 8
            })
        );
        assert!(file.shortfall_note().unwrap().contains("claims 100 bytes"));
    }
}
