//! Writes a WAV file whose header is true at least once a second while it records, so a
//! recorder killed with SIGKILL (or by a power cut of its process, say) leaves a valid file
//! holding all but its last second at most.
//!
//! Written by hand rather than with hound: hound 3.5's `WavWriter::flush` does rewrite both sizes
//! (`update_header` in its `write.rs`), but between flushes its `BufWriter` spills samples into
//! the file that no header counts yet, and it writes no 64-bit floats and no 24-in-32 layout we
//! read. Here samples wait in memory until a checkpoint, which writes them and then the two sizes
//! that count them, so the file on disk is a valid WAV except in the instant between those writes.
//! The layout is [`super::format`]'s, shared with the reader.

use std::fs::File;
use std::os::unix::fs::{FileExt, FileTypeExt};
use std::time::{Duration, Instant};

use ringflow::{AudioFormat, SampleFormat};

use super::format::{self, Encoding, WavFormat};
use crate::error::{EngineError, Result};

/// The longest a checkpoint waits, in wall time and in audio: the most a SIGKILL can lose.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// A WAV file being recorded from frames of one ring format.
#[derive(Debug)]
pub struct WavWriter {
    file: File,
    path: String,
    /// Bytes of header before the samples.
    data_offset: u64,
    /// Where the data chunk's size is.
    data_size_offset: u64,
    /// Bytes of one sample and of one sample frame.
    sample_bytes: usize,
    block_align: usize,
    /// Whether the ring holds samples native-endian (all formats but packed i24), so a
    /// big-endian host swaps them for the file.
    native_order: bool,
    /// Sample bytes (little-endian) not yet in the file.
    pending: Vec<u8>,
    /// Sample bytes in the file, all counted by the header after the last checkpoint.
    written: u64,
    /// A checkpoint is due once `pending` holds this much (one second of audio) ...
    pending_limit: usize,
    /// ... or at this time, if anything is pending.
    due: Instant,
}

impl WavWriter {
    /// Creates (or truncates) `path` for frames of `format`: 32-bit float, 16-, 24- (packed) or
    /// 32-bit integer samples as the ring holds them.
    pub fn create(path: &str, format: AudioFormat) -> Result<WavWriter> {
        let io = |source| EngineError::Io {
            path: path.into(),
            source,
        };
        // A sample frame's bytes fill a 16-bit field.
        let max_channels = u32::from(u16::MAX) / format.format.bytes();
        let channels = u16::try_from(format.channels)
            .ok()
            .filter(|&c| u32::from(c) <= max_channels)
            .ok_or_else(|| {
                EngineError::InvalidArgument(format!(
                    "a WAV file of {}-byte samples holds at most {max_channels} channels, not {}",
                    format.format.bytes(),
                    format.channels
                ))
            })?;
        // A recording rewrites its header sizes at every checkpoint, so it needs a file it can
        // seek in: refused before opening, since opening a FIFO waits for its reader.
        if std::fs::metadata(path)
            .is_ok_and(|m| m.file_type().is_fifo() || m.file_type().is_socket())
        {
            return Err(EngineError::InvalidArgument(format!(
                "{path}: is a pipe or socket; a WAV recording rewrites its header every second, so it needs a regular file"
            )));
        }
        let encoding = match format.format {
            SampleFormat::F32 => Encoding::F32,
            SampleFormat::I16 => Encoding::Int {
                bytes: 2,
                valid: 16,
            },
            SampleFormat::I32 => Encoding::Int {
                bytes: 4,
                valid: 32,
            },
            SampleFormat::I24 => Encoding::Int {
                bytes: 3,
                valid: 24,
            },
        };
        let wav = WavFormat {
            channels,
            sample_rate: format.sample_rate,
            encoding,
        };
        let (header, data_size_offset) = wav.header();
        let file = File::create(path).map_err(io)?;
        file.write_all_at(&header, 0).map_err(io)?;
        let block_align = wav.block_align();
        Ok(WavWriter {
            file,
            path: path.into(),
            data_offset: header.len() as u64,
            data_size_offset: data_size_offset as u64,
            sample_bytes: encoding.bytes(),
            // Packed i24 is little-endian in the ring already, as in the file.
            native_order: format.format != SampleFormat::I24,
            block_align,
            pending: Vec::new(),
            written: 0,
            pending_limit: (format.sample_rate as usize * block_align).max(block_align),
            due: Instant::now() + CHECKPOINT_EVERY,
        })
    }

    /// Appends the whole sample frames at the start of `samples` (native-endian, as a ring frame
    /// holds them; packed i24 little-endian); a trailing part of a sample frame is dropped. Checkpoints when one is due.
    pub fn write(&mut self, samples: &[u8]) -> Result<()> {
        let whole = samples.len() - samples.len() % self.block_align;
        if cfg!(target_endian = "little") || !self.native_order {
            self.pending.extend_from_slice(&samples[..whole]);
        } else {
            for s in samples[..whole].chunks_exact(self.sample_bytes) {
                self.pending.extend(s.iter().rev());
            }
        }
        self.idle()
    }

    /// Checkpoints if one is due (a recorder calls this while it waits for frames, too).
    pub fn idle(&mut self) -> Result<()> {
        if self.pending.len() >= self.pending_limit
            || (!self.pending.is_empty() && Instant::now() >= self.due)
        {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes the pending samples, then the RIFF and data sizes that count them.
    pub fn checkpoint(&mut self) -> Result<()> {
        let io = |source| EngineError::Io {
            path: self.path.clone(),
            source,
        };
        self.due = Instant::now() + CHECKPOINT_EVERY;
        // Both sizes are 32-bit: a WAV file ends at 4 GiB. Whole sample frames that fit are
        // kept, and the file stays valid; the rest is refused.
        let room = u64::from(u32::MAX) - (self.data_offset - format::RIFF_SIZE_OFFSET as u64 - 4);
        let room = room - room % self.block_align as u64 - self.written;
        let take = (self.pending.len() as u64).min(room) as usize;
        self.file
            .write_all_at(&self.pending[..take], self.data_offset + self.written)
            .map_err(io)?;
        self.written += take as u64;
        let data_size = self.written as u32;
        let riff_size = (self.data_offset + self.written - 8) as u32;
        self.file
            .write_all_at(&data_size.to_le_bytes(), self.data_size_offset)
            .map_err(io)?;
        self.file
            .write_all_at(&riff_size.to_le_bytes(), format::RIFF_SIZE_OFFSET as u64)
            .map_err(io)?;
        let refused = self.pending.len() - take;
        self.pending.clear();
        if refused > 0 {
            return Err(EngineError::Wav {
                path: self.path.clone(),
                reason: format!(
                    "a WAV file holds at most 4 GiB; it is full after {} sample frames and {refused} bytes of samples were not written",
                    self.sample_frames()
                ),
            });
        }
        Ok(())
    }

    /// Writes what is pending and the final sizes; returns the sample frames in the file.
    pub fn finish(mut self) -> Result<u64> {
        self.checkpoint()?;
        Ok(self.sample_frames())
    }

    /// Sample frames in the file and pending.
    pub fn sample_frames(&self) -> u64 {
        (self.written + self.pending.len() as u64) / self.block_align as u64
    }

    /// Where the file is.
    pub fn path(&self) -> &str {
        &self.path
    }
}

impl Drop for WavWriter {
    /// A writer dropped without [`finish`](WavWriter::finish) (its task failed) still leaves a
    /// valid file holding what it was given.
    fn drop(&mut self) {
        if !self.pending.is_empty() {
            let _ = self.checkpoint();
        }
    }
}
