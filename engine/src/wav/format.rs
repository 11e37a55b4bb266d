//! The RIFF/WAVE layout, read and written in this one place.
//!
//! A WAV file is a RIFF container: a 12-byte file header, then chunks (`id`, `size`, body padded
//! to an even length). The reader walks every chunk; the writer puts exactly two, in this order
//! (offsets are the running totals below):
//!
//! ```text
//!  offset  size
//!   0      4   "RIFF"
//!   4      4   RIFF size: the file's length - 8
//!   8      4   "WAVE"
//!  12      4   "fmt "
//!  16      4   fmt size: 16 (PCM), 18 (WAVEFORMATEX) or 40 (WAVE_FORMAT_EXTENSIBLE)
//!  20      2   format tag: 1 PCM, 3 IEEE float, 0xFFFE extensible
//!  22      2   channels
//!  24      4   sample rate (sample frames per second)
//!  28      4   bytes per second
//!  32      2   block align: channels * container bytes
//!  34      2   bits per sample: the container's bits
//!  ---- WAVE_FORMAT_EXTENSIBLE only
//!  36      2   extension size: 22
//!  38      2   valid bits: the sample is the top `valid bits` of each container
//!  40      4   channel mask
//!  44     16   sub-format GUID: PCM or IEEE float (its first two bytes are the format tag)
//!  ---- data chunk (at 36 after a 16-byte fmt, at 60 after a 40-byte one)
//!  60      4   "data"
//!  64      4   data size: bytes of samples
//!  68          samples, interleaved, little-endian; 8-bit samples unsigned (128 is zero)
//! ```

/// `"RIFF"`.
pub const RIFF_ID: &[u8; 4] = b"RIFF";
/// `"WAVE"`.
pub const WAVE_ID: &[u8; 4] = b"WAVE";
/// `"fmt "`.
pub const FMT_ID: &[u8; 4] = b"fmt ";
/// `"data"`.
pub const DATA_ID: &[u8; 4] = b"data";

/// The RIFF size field, within the file.
pub const RIFF_SIZE_OFFSET: usize = 4;
/// The first chunk, within the file.
pub const FIRST_CHUNK_OFFSET: usize = 12;
/// A chunk's header: id and size.
pub const CHUNK_HEADER_LENGTH: usize = 8;

/// Within the fmt chunk's body: the format tag.
pub const TAG_OFFSET: usize = 0;
/// Within the fmt body: channels.
pub const CHANNELS_OFFSET: usize = TAG_OFFSET + 2;
/// Within the fmt body: sample rate.
pub const RATE_OFFSET: usize = CHANNELS_OFFSET + 2;
/// Within the fmt body: bytes per second.
pub const BYTE_RATE_OFFSET: usize = RATE_OFFSET + 4;
/// Within the fmt body: block align.
pub const BLOCK_ALIGN_OFFSET: usize = BYTE_RATE_OFFSET + 4;
/// Within the fmt body: container bits.
pub const BITS_OFFSET: usize = BLOCK_ALIGN_OFFSET + 2;
/// The body of a PCM fmt chunk.
pub const FMT_PCM_LENGTH: usize = BITS_OFFSET + 2;
/// Within an extensible fmt body: the extension's size.
pub const EXTENSION_SIZE_OFFSET: usize = FMT_PCM_LENGTH;
/// Within an extensible fmt body: valid bits.
pub const VALID_BITS_OFFSET: usize = EXTENSION_SIZE_OFFSET + 2;
/// Within an extensible fmt body: the channel mask.
pub const CHANNEL_MASK_OFFSET: usize = VALID_BITS_OFFSET + 2;
/// Within an extensible fmt body: the sub-format GUID.
pub const SUBFORMAT_OFFSET: usize = CHANNEL_MASK_OFFSET + 4;
/// The body of an extensible fmt chunk.
pub const FMT_EXTENSIBLE_LENGTH: usize = SUBFORMAT_OFFSET + 16;
/// What follows the 2-byte sub-format tag in both GUIDs we read
/// (`KSDATAFORMAT_SUBTYPE_PCM` and `..._IEEE_FLOAT`: `0000xxxx-0000-0010-8000-00aa00389b71`).
pub const SUBFORMAT_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// `WAVE_FORMAT_PCM`.
pub const TAG_PCM: u16 = 1;
/// `WAVE_FORMAT_IEEE_FLOAT`.
pub const TAG_FLOAT: u16 = 3;
/// `WAVE_FORMAT_EXTENSIBLE`.
pub const TAG_EXTENSIBLE: u16 = 0xfffe;

/// How a file stores one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Little-endian integers of `bytes` bytes (1 ..= 4) whose top `valid` bits are the sample
    /// (the rest is padding, ignored). One-byte samples are unsigned, 128 being zero; wider
    /// ones are two's complement.
    Int {
        /// Container bytes.
        bytes: u8,
        /// Significant bits, at the top of the container.
        valid: u8,
    },
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
}

impl Encoding {
    /// Bytes of one sample.
    pub fn bytes(self) -> usize {
        match self {
            Encoding::Int { bytes, .. } => usize::from(bytes),
            Encoding::F32 => 4,
            Encoding::F64 => 8,
        }
    }

    /// Its name in a sentence: "16-bit integer", "24-bit integer in 32-bit containers", ...
    pub fn describe(self) -> String {
        match self {
            Encoding::Int { bytes: 1, valid } => format!("{valid}-bit unsigned integer"),
            Encoding::Int { bytes, valid } if u32::from(valid) == u32::from(bytes) * 8 => {
                format!("{valid}-bit integer")
            }
            Encoding::Int { bytes, valid } => {
                format!(
                    "{valid}-bit integer in {}-bit containers",
                    u32::from(bytes) * 8
                )
            }
            Encoding::F32 => "32-bit float".into(),
            Encoding::F64 => "64-bit float".into(),
        }
    }

    /// The sample at the start of `b` (little-endian), as an exact number: integers scaled by
    /// 2^-31 after being placed at the top of 32 bits (so every integer kind lands on [-1, 1)),
    /// floats as they are. An `f64` holds all of these exactly (32 significant bits at most
    /// for integers; `f32` widens losslessly).
    pub fn decode(self, b: &[u8]) -> f64 {
        match self {
            Encoding::Int { bytes, valid } => {
                let n = usize::from(bytes);
                let mut top = [0u8; 4];
                top[4 - n..].copy_from_slice(&b[..n]);
                let mut v = i32::from_le_bytes(top);
                if n == 1 {
                    // Unsigned: 128 is zero. Flipping the top bit is the same as subtracting it.
                    v ^= i32::MIN;
                }
                // Padding below the valid bits is not part of the sample.
                let padding = 32 - u32::from(valid);
                v &= !((1i64 << padding) - 1) as i32;
                f64::from(v) / 2f64.powi(31)
            }
            Encoding::F32 => f64::from(f32::from_le_bytes(b[..4].try_into().expect("4 bytes"))),
            Encoding::F64 => f64::from_le_bytes(b[..8].try_into().expect("8 bytes")),
        }
    }
}

/// What a file holds: its channels, rate and encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavFormat {
    /// Interleaved channels.
    pub channels: u16,
    /// Sample frames per second.
    pub sample_rate: u32,
    /// How each sample is stored.
    pub encoding: Encoding,
}

impl WavFormat {
    /// Bytes of one sample frame (one sample of every channel).
    pub fn block_align(&self) -> usize {
        usize::from(self.channels) * self.encoding.bytes()
    }

    /// Reads a fmt chunk's body, or says in one sentence why it cannot be read.
    pub fn parse(fmt: &[u8]) -> Result<WavFormat, String> {
        if fmt.len() < FMT_PCM_LENGTH {
            return Err(format!(
                "its fmt chunk has {} bytes, fewer than the {FMT_PCM_LENGTH} every WAV file has",
                fmt.len()
            ));
        }
        let u16_at = |o: usize| u16::from_le_bytes([fmt[o], fmt[o + 1]]);
        let u32_at = |o: usize| u32::from_le_bytes(fmt[o..o + 4].try_into().expect("4 bytes"));
        let mut tag = u16_at(TAG_OFFSET);
        let channels = u16_at(CHANNELS_OFFSET);
        let sample_rate = u32_at(RATE_OFFSET);
        let block_align = usize::from(u16_at(BLOCK_ALIGN_OFFSET));
        let bits = u16_at(BITS_OFFSET);
        // Plain PCM rounds odd widths up to whole bytes and puts the sample at the top.
        let container = bits.div_ceil(8);
        let mut valid = bits;
        if tag == TAG_EXTENSIBLE {
            if fmt.len() < FMT_EXTENSIBLE_LENGTH {
                return Err(format!(
                    "it says WAVE_FORMAT_EXTENSIBLE but its fmt chunk has {} bytes, not {FMT_EXTENSIBLE_LENGTH}",
                    fmt.len()
                ));
            }
            let sub = &fmt[SUBFORMAT_OFFSET..FMT_EXTENSIBLE_LENGTH];
            if sub[2..] != SUBFORMAT_TAIL {
                return Err(
                    "its WAVE_FORMAT_EXTENSIBLE sub-format is neither PCM nor IEEE float".into(),
                );
            }
            tag = u16::from_le_bytes([sub[0], sub[1]]);
            // Zero means "all of them" in files found in the wild.
            valid = match u16_at(VALID_BITS_OFFSET) {
                0 => container * 8,
                v => v,
            };
        }
        if channels == 0 {
            return Err("it has no channels".into());
        }
        if sample_rate == 0 {
            return Err("its sample rate is 0".into());
        }
        let encoding = match (tag, container) {
            (TAG_PCM, 1..=4) if (1..=container * 8).contains(&valid) => Encoding::Int {
                bytes: container as u8,
                valid: valid as u8,
            },
            (TAG_PCM, _) => {
                return Err(format!(
                    "its integer samples are {valid} bits in {bits}-bit containers; 8 to 32 bits are read"
                ))
            }
            (TAG_FLOAT, 4) if valid == 32 => Encoding::F32,
            (TAG_FLOAT, 8) if valid == 64 => Encoding::F64,
            (TAG_FLOAT, _) => {
                return Err(format!(
                    "its float samples are {valid} bits in {bits}-bit containers; 32 and 64 bits are read"
                ))
            }
            (other, _) => {
                return Err(format!(
                    "its samples are of format {other:#06x}, not PCM (1) or IEEE float (3): compressed WAV files are not read"
                ))
            }
        };
        let format = WavFormat {
            channels,
            sample_rate,
            encoding,
        };
        if block_align != format.block_align() {
            return Err(format!(
                "its block align is {block_align} bytes but {channels} channels of {} need {}",
                encoding.describe(),
                format.block_align()
            ));
        }
        Ok(format)
    }

    /// The header of a new file of this format up to and including the data chunk's size
    /// (RIFF and data sizes 0), and the offset of the data size within it. Extensible, as the
    /// format asks, for more than two channels or more than 16 bits. The block align must fit its
    /// 16-bit field ([`WavWriter::create`](super::WavWriter::create) checks).
    pub fn header(&self) -> (Vec<u8>, usize) {
        let (tag, bits, valid) = match self.encoding {
            Encoding::Int { bytes, valid } => (TAG_PCM, u16::from(bytes) * 8, u16::from(valid)),
            Encoding::F32 => (TAG_FLOAT, 32, 32),
            Encoding::F64 => (TAG_FLOAT, 64, 64),
        };
        let extensible = self.channels > 2 || bits > 16;
        let fmt_len = if extensible {
            FMT_EXTENSIBLE_LENGTH
        } else {
            FMT_PCM_LENGTH
        };
        let mut fmt = vec![0u8; fmt_len];
        let block_align = self.block_align() as u16;
        fmt[TAG_OFFSET..][..2]
            .copy_from_slice(&(if extensible { TAG_EXTENSIBLE } else { tag }).to_le_bytes());
        fmt[CHANNELS_OFFSET..][..2].copy_from_slice(&self.channels.to_le_bytes());
        fmt[RATE_OFFSET..][..4].copy_from_slice(&self.sample_rate.to_le_bytes());
        // Informational only (readers use the rate and block align); saturated if it overflows.
        let byte_rate = self.sample_rate.saturating_mul(u32::from(block_align));
        fmt[BYTE_RATE_OFFSET..][..4].copy_from_slice(&byte_rate.to_le_bytes());
        fmt[BLOCK_ALIGN_OFFSET..][..2].copy_from_slice(&block_align.to_le_bytes());
        fmt[BITS_OFFSET..][..2].copy_from_slice(&bits.to_le_bytes());
        if extensible {
            let extension = (FMT_EXTENSIBLE_LENGTH - FMT_PCM_LENGTH - 2) as u16;
            fmt[EXTENSION_SIZE_OFFSET..][..2].copy_from_slice(&extension.to_le_bytes());
            fmt[VALID_BITS_OFFSET..][..2].copy_from_slice(&valid.to_le_bytes());
            // The first channels in the standard speaker order (up to the 18 it names).
            let mask = (1u64 << self.channels.min(18)) - 1;
            fmt[CHANNEL_MASK_OFFSET..][..4].copy_from_slice(&(mask as u32).to_le_bytes());
            fmt[SUBFORMAT_OFFSET..][..2].copy_from_slice(&tag.to_le_bytes());
            fmt[SUBFORMAT_OFFSET + 2..FMT_EXTENSIBLE_LENGTH].copy_from_slice(&SUBFORMAT_TAIL);
        }
        let mut h = Vec::with_capacity(FIRST_CHUNK_OFFSET + 2 * CHUNK_HEADER_LENGTH + fmt_len);
        h.extend_from_slice(RIFF_ID);
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(WAVE_ID);
        h.extend_from_slice(FMT_ID);
        h.extend_from_slice(&(fmt_len as u32).to_le_bytes());
        h.extend_from_slice(&fmt);
        h.extend_from_slice(DATA_ID);
        let data_size_offset = h.len();
        h.extend_from_slice(&0u32.to_le_bytes());
        (h, data_size_offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_of_every_width_land_on_the_same_scale() {
        let int = |bytes, valid| Encoding::Int { bytes, valid };
        assert_eq!(int(1, 8).decode(&[0]), -1.0);
        assert_eq!(int(1, 8).decode(&[128]), 0.0);
        assert_eq!(int(1, 8).decode(&[192]), 0.5);
        assert_eq!(int(2, 16).decode(&0x4000i16.to_le_bytes()), 0.5);
        assert_eq!(int(2, 16).decode(&i16::MIN.to_le_bytes()), -1.0);
        assert_eq!(int(3, 24).decode(&[0, 0, 0xc0]), -0.5);
        // 24 valid bits at the top of a 32-bit container: the low byte is padding.
        assert_eq!(int(4, 24).decode(&0x4000_00ffi32.to_le_bytes()), 0.5);
        assert_eq!(int(4, 32).decode(&1i32.to_le_bytes()), 2f64.powi(-31));
    }

    #[test]
    fn a_header_reads_back_as_its_format() {
        for format in [
            WavFormat {
                channels: 2,
                sample_rate: 48_000,
                encoding: Encoding::Int {
                    bytes: 2,
                    valid: 16,
                },
            },
            WavFormat {
                channels: 6,
                sample_rate: 96_000,
                encoding: Encoding::F32,
            },
            WavFormat {
                channels: 1,
                sample_rate: 44_100,
                encoding: Encoding::Int {
                    bytes: 4,
                    valid: 24,
                },
            },
        ] {
            let (h, data_size_offset) = format.header();
            assert_eq!(&h[data_size_offset - 4..data_size_offset], DATA_ID);
            let fmt = &h[FIRST_CHUNK_OFFSET + CHUNK_HEADER_LENGTH..data_size_offset - 4];
            assert_eq!(WavFormat::parse(fmt), Ok(format));
        }
    }
}
