//! WAV files, both ways: the RIFF/WAVE layout ([`format`]), a reader that takes every common
//! PCM and float kind exactly or refuses it with one line ([`reader`]), and a writer whose header
//! counts what is on disk at least once a second, so a killed recorder leaves a valid file
//! ([`writer`]).

pub mod format;
pub mod reader;
pub mod writer;

pub use format::{Encoding, WavFormat};
pub use reader::{Shortfall, WavFile};
pub use writer::WavWriter;
