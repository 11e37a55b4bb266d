//! Every WAV kind either round-trips exactly through a ring (`produce --wav`, then
//! `consume --wav`) or is refused with one line and exit 2.
//!
//! Inputs are written by hound where it writes the kind right, and by hand for the two it does
//! not (24 valid bits at the top of 32-bit containers, 64-bit floats). Samples are compared as
//! exact numbers: an integer of `b` bits scaled by 2^-(b-1), a float as it is.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{inspect, ringflow, Running};
use ringflow::{AudioFormat, Ring, RingConfig, SampleFormat, Schema};

/// How a test file stores its samples.
#[derive(Clone, Copy, Debug)]
enum Kind {
    U8,
    I16,
    /// Packed, 3 bytes a sample.
    I24,
    /// WAVE_FORMAT_EXTENSIBLE: 24 valid bits at the top of 32-bit containers.
    I24In32,
    I32,
    F32,
    F64,
}

/// Deterministic values covering both ends of the range and the low bits.
fn lcg(seed: &mut u64) -> u64 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    *seed >> 16
}

/// `n` samples of `kind` as exact numbers: integers from the whole range (ends included), floats
/// including values beyond ±1 and tiny ones.
fn values(kind: Kind, n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    let int = |bits: u32, i: usize, r: u64| -> f64 {
        let min = -(1i64 << (bits - 1));
        let v = match i % 7 {
            0 => min,
            1 => -min - 1,
            2 => 0,
            _ => (r % (1u64 << bits)) as i64 + min,
        };
        v as f64 / (-min) as f64
    };
    (0..n)
        .map(|i| {
            let r = lcg(&mut s);
            match kind {
                Kind::U8 => int(8, i, r),
                Kind::I16 => int(16, i, r),
                Kind::I24 | Kind::I24In32 => int(24, i, r),
                Kind::I32 => int(32, i, r),
                Kind::F32 | Kind::F64 => {
                    let specials = [1.5f32, -2.0, 1e-30, f32::MIN_POSITIVE / 4.0, -0.0];
                    let f = if i % 5 == 0 {
                        specials[(i / 5) % specials.len()]
                    } else {
                        (r as u32 as f32 / u32::MAX as f32) * 2.0 - 1.0
                    };
                    f64::from(f)
                }
            }
        })
        .collect()
}

/// A WAV file by hand: `fmt` as WAVEFORMATEXTENSIBLE when `extensible`.
fn by_hand(
    channels: u16,
    rate: u32,
    tag: u16,
    container_bits: u16,
    valid_bits: u16,
    data: &[u8],
    claimed: Option<u32>,
) -> Vec<u8> {
    let block = channels * container_bits / 8;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0xfffeu16.to_le_bytes());
    fmt.extend_from_slice(&channels.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
    fmt.extend_from_slice(&block.to_le_bytes());
    fmt.extend_from_slice(&container_bits.to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes());
    fmt.extend_from_slice(&valid_bits.to_le_bytes());
    fmt.extend_from_slice(&((1u32 << channels) - 1).to_le_bytes());
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&[
        0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
    ]);
    let mut f = Vec::new();
    f.extend_from_slice(b"RIFF");
    f.extend_from_slice(&((4 + 8 + fmt.len() + 8 + data.len()) as u32).to_le_bytes());
    f.extend_from_slice(b"WAVE");
    // A chunk the reader must step over.
    f.extend_from_slice(b"LIST");
    f.extend_from_slice(&3u32.to_le_bytes());
    f.extend_from_slice(&[1, 2, 3, 0]);
    f.extend_from_slice(b"fmt ");
    f.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    f.extend_from_slice(&fmt);
    f.extend_from_slice(b"data");
    f.extend_from_slice(&claimed.unwrap_or(data.len() as u32).to_le_bytes());
    f.extend_from_slice(data);
    f
}

/// Writes `samples` (exact values of `kind`) to `path`.
fn write_wav(path: &Path, kind: Kind, channels: u16, rate: u32, samples: &[f64]) {
    let hound_spec = |bits, sample_format| hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format,
    };
    let int = |v: f64, bits: i32| (v * 2f64.powi(bits - 1)) as i32;
    let with_hound = |spec: hound::WavSpec, write: &dyn Fn(&mut hound::WavWriter<_>, f64)| {
        let mut w = hound::WavWriter::create(path, spec).unwrap();
        for &v in samples {
            write(&mut w, v);
        }
        w.finalize().unwrap();
    };
    match kind {
        Kind::U8 => with_hound(hound_spec(8, hound::SampleFormat::Int), &|w, v| {
            w.write_sample(int(v, 8) as i8).unwrap()
        }),
        Kind::I16 => with_hound(hound_spec(16, hound::SampleFormat::Int), &|w, v| {
            w.write_sample(int(v, 16) as i16).unwrap()
        }),
        Kind::I24 => with_hound(hound_spec(24, hound::SampleFormat::Int), &|w, v| {
            w.write_sample(int(v, 24)).unwrap()
        }),
        Kind::I32 => with_hound(hound_spec(32, hound::SampleFormat::Int), &|w, v| {
            w.write_sample(int(v, 32)).unwrap()
        }),
        Kind::F32 => with_hound(hound_spec(32, hound::SampleFormat::Float), &|w, v| {
            w.write_sample(v as f32).unwrap()
        }),
        Kind::I24In32 => {
            let data: Vec<u8> = samples
                .iter()
                // The low byte is padding, not sample: a reader must ignore it.
                .flat_map(|&v| ((int(v, 24) << 8) | 0x5a).to_le_bytes())
                .collect();
            std::fs::write(path, by_hand(channels, rate, 1, 32, 24, &data, None)).unwrap();
        }
        Kind::F64 => {
            let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
            std::fs::write(path, by_hand(channels, rate, 3, 64, 64, &data, None)).unwrap();
        }
    }
}

/// A recording's samples as exact values, and its format.
fn read_back(path: &Path) -> (hound::WavSpec, Vec<f64>) {
    let mut r = hound::WavReader::open(path).unwrap();
    let spec = r.spec();
    let samples = match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Float, 32) => {
            r.samples::<f32>().map(|s| f64::from(s.unwrap())).collect()
        }
        (hound::SampleFormat::Int, bits @ (16 | 24 | 32)) => r
            .samples::<i32>()
            .map(|s| f64::from(s.unwrap()) / 2f64.powi(i32::from(bits) - 1))
            .collect(),
        other => panic!("recorded as {other:?}"),
    };
    (spec, samples)
}

/// Plays `wav` into `ring` (created from the file if it does not exist) and records the ring
/// into `out`; returns produce's output.
fn round_trip(ring: &Path, wav: &Path, out: &Path) -> std::process::Output {
    let r = ring.to_str().unwrap();
    let produced = ringflow(&[
        "produce",
        r,
        "--source",
        "audio",
        "--wav",
        wav.to_str().unwrap(),
        "--fps",
        "2000",
        "--slots",
        "64",
        "--json",
    ]);
    if produced.status.code() == Some(0) {
        // The ring holds the whole file and is closed: the recorder reads it all and ends.
        let consumer = Running::spawn(
            &["consume", r, "--wav", out.to_str().unwrap(), "--json"],
            &[],
        );
        let rec = consumer.finish(Duration::from_secs(30));
        assert_eq!(rec.status.code(), Some(0), "{rec:?}");
    }
    produced
}

fn assert_refused(out: &std::process::Output, mentions: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(mentions),
        "{stderr:?} should mention {mentions:?}"
    );
    assert!(!stderr.contains('{'), "no debug dumps: {stderr}");
}

/// An existing ring of `format` (48 kHz unless said), as another program would create it.
fn audio_ring(path: &Path, channels: u32, rate: u32, format: SampleFormat) {
    let audio = AudioFormat {
        sample_rate: rate,
        channels,
        format,
        samples_per_frame: 256,
    };
    Ring::create(
        path,
        &RingConfig::new(64, audio.frame_bytes() as u32).schema(Schema::Audio(audio)),
    )
    .unwrap();
}

#[test]
fn every_kind_round_trips_exactly_through_a_ring_made_from_it() {
    // (kind, channels, rate, sample format of the ring and the recording)
    let cases = [
        (Kind::U8, 1, 8_000, SampleFormat::F32),
        (Kind::U8, 2, 22_050, SampleFormat::F32),
        (Kind::I16, 2, 44_100, SampleFormat::F32),
        (Kind::I16, 8, 48_000, SampleFormat::F32),
        (Kind::I24, 6, 96_000, SampleFormat::I24),
        (Kind::I24, 1, 44_100, SampleFormat::I24),
        (Kind::I24In32, 2, 48_000, SampleFormat::I24),
        (Kind::I24In32, 3, 192_000, SampleFormat::I24),
        (Kind::I32, 4, 32_000, SampleFormat::I32),
        (Kind::I32, 1, 16_000, SampleFormat::I32),
        (Kind::F32, 2, 48_000, SampleFormat::F32),
        (Kind::F32, 5, 11_025, SampleFormat::F32),
        (Kind::F64, 7, 88_200, SampleFormat::F32),
    ];
    for (i, &(kind, channels, rate, ring_format)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (wav, ring, out) = (
            dir.path().join("in.wav"),
            dir.path().join("ring"),
            dir.path().join("out.wav"),
        );
        // Not a whole number of 480-sample ring frames: the last frame is short.
        let samples = values(kind, usize::from(channels) * 1000, i as u64);
        write_wav(&wav, kind, channels, rate, &samples);
        let produced = round_trip(&ring, &wav, &out);
        let case = format!("{kind:?} {channels} ch {rate} Hz");
        assert_eq!(produced.status.code(), Some(0), "{case}: {produced:?}");
        let (spec, got) = read_back(&out);
        assert_eq!(
            (spec.channels, spec.sample_rate),
            (channels, rate),
            "{case}"
        );
        let want = match ring_format {
            SampleFormat::F32 => (hound::SampleFormat::Float, 32),
            SampleFormat::I16 => (hound::SampleFormat::Int, 16),
            SampleFormat::I24 => (hound::SampleFormat::Int, 24),
            SampleFormat::I32 => (hound::SampleFormat::Int, 32),
        };
        assert_eq!((spec.sample_format, spec.bits_per_sample), want, "{case}");
        assert_eq!(
            inspect(&ring)["header"]["schema"]["format"],
            format!("{ring_format:?}").to_lowercase(),
            "{case}: the ring made from the file"
        );
        assert_eq!(got.len(), samples.len(), "{case}");
        for (k, (a, b)) in samples.iter().zip(&got).enumerate() {
            assert!(
                a == b && a.is_sign_negative() == b.is_sign_negative(),
                "{case}: sample {k} went in as {a:e} and came back as {b:e}"
            );
        }
    }
}

#[test]
fn an_existing_ring_takes_what_it_holds_exactly_and_refuses_the_rest_in_one_line() {
    // (kind, ring's sample format, None: round-trips, Some(words): refused with them)
    let cases: [(Kind, SampleFormat, Option<&str>); 15] = [
        (Kind::U8, SampleFormat::I16, None),
        (Kind::I16, SampleFormat::I16, None),
        (Kind::I16, SampleFormat::I32, None),
        (Kind::I24In32, SampleFormat::I32, None),
        (Kind::I24, SampleFormat::F32, None),
        (Kind::I24, SampleFormat::I24, None),
        (Kind::I24In32, SampleFormat::I24, None),
        (Kind::I16, SampleFormat::I24, None),
        (Kind::U8, SampleFormat::I24, None),
        (
            Kind::I32,
            SampleFormat::I24,
            Some("32-bit integer samples do not all fit the ring's i24"),
        ),
        (
            Kind::F32,
            SampleFormat::I24,
            Some("32-bit float samples do not all fit the ring's i24"),
        ),
        (
            Kind::I24,
            SampleFormat::I16,
            Some("24-bit integer samples do not all fit the ring's i16"),
        ),
        (
            Kind::I32,
            SampleFormat::F32,
            Some("32-bit integer samples do not all fit the ring's f32"),
        ),
        (
            Kind::F32,
            SampleFormat::I32,
            Some("32-bit float samples do not all fit the ring's i32"),
        ),
        (
            Kind::F32,
            SampleFormat::I16,
            Some("outside the integer range"),
        ),
    ];
    for (i, &(kind, ring_format, refused)) in cases.iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let (wav, ring, out) = (
            dir.path().join("in.wav"),
            dir.path().join("ring"),
            dir.path().join("out.wav"),
        );
        let samples = values(kind, 2 * 700, 100 + i as u64);
        write_wav(&wav, kind, 2, 48_000, &samples);
        audio_ring(&ring, 2, 48_000, ring_format);
        let produced = round_trip(&ring, &wav, &out);
        let case = format!("{kind:?} into {ring_format:?}");
        match refused {
            Some(words) => {
                assert_refused(&produced, words);
                assert_eq!(inspect(&ring)["published"], 0, "{case}: nothing played");
            }
            None => {
                assert_eq!(produced.status.code(), Some(0), "{case}: {produced:?}");
                let (_, got) = read_back(&out);
                assert_eq!(got, samples, "{case}");
            }
        }
    }
}

#[test]
fn a_mismatched_or_broken_file_is_one_plain_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    audio_ring(&p("ring"), 2, 48_000, SampleFormat::F32);
    let samples = values(Kind::I16, 200, 7);
    write_wav(&p("44k.wav"), Kind::I16, 2, 44_100, &samples);
    assert_refused(
        &round_trip(&p("ring"), &p("44k.wav"), &p("out.wav")),
        "the WAV file is 44100 Hz with 2 channels but the ring holds audio at 48000 Hz with 2 channels",
    );
    write_wav(&p("mono.wav"), Kind::I16, 1, 48_000, &samples);
    assert_refused(
        &round_trip(&p("ring"), &p("mono.wav"), &p("out.wav")),
        "48000 Hz with 1 channel but",
    );
    std::fs::write(p("garbage.wav"), [0x5a; 100]).unwrap();
    assert_refused(
        &round_trip(&p("new"), &p("garbage.wav"), &p("out.wav")),
        "not a WAV file",
    );
    // 64-bit floats that no f32 holds exactly: a new ring would lose them.
    let data: Vec<u8> = [0.1f64, 0.2].iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(p("f64.wav"), by_hand(2, 48_000, 3, 64, 64, &data, None)).unwrap();
    assert_refused(
        &round_trip(&p("new"), &p("f64.wav"), &p("out.wav")),
        "64-bit float samples do not all fit the ring's f32",
    );
    assert!(!p("new").exists() || inspect(&p("new"))["published"] == 0);
}

#[test]
fn a_short_data_chunk_plays_what_is_there_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let samples = values(Kind::I24In32, 2 * 1000, 9);
    let mut data: Vec<u8> = samples
        .iter()
        .flat_map(|&v| (((v * 2f64.powi(23)) as i32) << 8).to_le_bytes())
        .collect();
    // A recorder that died mid-write: the header claims 1000 sample frames, 700 and a half are
    // there.
    data.truncate(700 * 8 + 4);
    std::fs::write(
        p("short.wav"),
        by_hand(2, 48_000, 1, 32, 24, &data, Some(1000 * 8)),
    )
    .unwrap();
    let produced = round_trip(&p("ring"), &p("short.wav"), &p("out.wav"));
    let stderr = String::from_utf8_lossy(&produced.stderr);
    assert_eq!(produced.status.code(), Some(0), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("claims 8000 bytes") && stderr.contains("holds 5600 bytes"),
        "{stderr}"
    );
    let (_, got) = read_back(&p("out.wav"));
    assert_eq!(got, samples[..1400]);
}
