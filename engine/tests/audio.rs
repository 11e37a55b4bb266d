//! Audio as people configure it: a ring created with a rate, channel count, sample format and
//! frame length; a generator played into it; `consume --wav` recording the ring's own format.
//! One round trip per sample format.

mod common;

use common::{inspect, ringflow, wait_until, Running};

/// Rate, channels, frame length in the header; the WAV file in the ring's format (i24 packed in
/// 3 bytes) holding exactly the sine the generator was asked for (frequency and level), every
/// channel alike.
#[test]
fn each_sample_format_round_trips_into_a_wav_file() {
    for (format, bits, float) in [
        ("f32", 32, true),
        ("i16", 16, false),
        ("i24", 24, false),
        ("i32", 32, false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let ring = dir.path().join("audio");
        let wav = dir.path().join("out.wav");
        let r = ring.to_str().unwrap();
        let out = ringflow(&[
            "create",
            r,
            "--schema",
            "audio",
            "--rate",
            "44100",
            "--channels",
            "3",
            "--format",
            format,
            "--frame-ms",
            "5",
            "--slots",
            "64",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let schema = &inspect(&ring)["header"]["schema"];
        assert_eq!(
            (
                &schema["sample_rate"],
                &schema["channels"],
                &schema["format"],
                &schema["samples_per_frame"]
            ),
            (&44100.into(), &3.into(), &format.into(), &221.into()),
            "{schema}"
        );
        let table = String::from_utf8_lossy(&ringflow(&["inspect", r]).stdout).into_owned();
        assert!(
            table.contains(&format!(
                "audio (44100 Hz, 3 channels, {format}, 221 samples"
            )),
            "{table}"
        );
        let reader = Running::spawn(
            &[
                "consume",
                r,
                "--wav",
                wav.to_str().unwrap(),
                "--frames",
                "40",
                "--timeout",
                "60",
                "--json",
            ],
            &[],
        );
        wait_until("the recorder registered", || {
            inspect(&ring)["consumers"]
                .as_array()
                .is_some_and(|c| c.len() == 1)
        });
        let out = ringflow(&[
            "produce", r, "--source", "audio", "--wave", "sine", "--freq", "1000", "--level",
            "-12", "--frames", "40", "--fps", "4000",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = reader.finish(std::time::Duration::from_secs(60));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );

        let mut wav = hound::WavReader::open(&wav).unwrap();
        let spec = wav.spec();
        assert_eq!(
            (spec.sample_rate, spec.channels, spec.bits_per_sample),
            (44100, 3, bits),
            "{format}"
        );
        assert_eq!(
            spec.sample_format == hound::SampleFormat::Float,
            float,
            "{format}"
        );
        // Packed: a sample frame of 3 channels is 3 samples of bits / 8 bytes, nothing between.
        let file_len = std::fs::metadata(dir.path().join("out.wav")).unwrap().len();
        assert_eq!(
            u64::from(wav.len()) * u64::from(bits / 8),
            file_len - common::wav_sizes(&std::fs::read(dir.path().join("out.wav")).unwrap()).1,
            "{format}: the data chunk holds packed samples only"
        );
        let full_scale = match format {
            "i16" => f64::from(i16::MAX),
            "i24" => f64::from((1 << 23) - 1),
            "i32" => f64::from(i32::MAX),
            _ => 1.0,
        };
        let samples: Vec<f64> = if float {
            wav.samples::<f32>()
                .map(|s| f64::from(s.unwrap()))
                .collect()
        } else {
            wav.samples::<i32>()
                .map(|s| f64::from(s.unwrap()) / full_scale)
                .collect()
        };
        assert_eq!(samples.len(), 40 * 221 * 3, "{format}");
        let amplitude = 10f64.powf(-12.0 / 20.0);
        let lsb = 1.0 / full_scale.min(1e6);
        for (k, frame) in samples.chunks_exact(3).enumerate() {
            // The generator advances its phase before each sample.
            let want =
                amplitude * (std::f64::consts::TAU * 1000.0 * (k + 1) as f64 / 44100.0).sin();
            assert!(
                frame.iter().all(|&x| x == frame[0]),
                "{format}: channels differ at {k}"
            );
            assert!(
                (frame[0] - want).abs() <= lsb + 1e-6,
                "{format}: sample {k} is {} not {want}",
                frame[0]
            );
        }
    }
}

/// Noise stays within its level and is not silence; silence is zeros; bad audio flags are one
/// line, exit 2.
#[test]
fn noise_silence_and_bad_audio_flags() {
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("audio");
    let r = ring.to_str().unwrap();
    for (wave, peak_at_most, peak_at_least) in [("noise", 0.252, 0.1), ("silence", 0.0, 0.0)] {
        let wav = dir.path().join(format!("{wave}.wav"));
        assert_eq!(
            ringflow(&[
                "create",
                r,
                "--force",
                "--schema",
                "audio",
                "--format",
                "i16",
                "--channels",
                "1"
            ])
            .status
            .code(),
            Some(0)
        );
        let reader = Running::spawn(
            &[
                "consume",
                r,
                "--wav",
                wav.to_str().unwrap(),
                "--frames",
                "20",
                "--timeout",
                "60",
            ],
            &[],
        );
        wait_until("the recorder registered", || {
            inspect(&ring)["consumers"]
                .as_array()
                .is_some_and(|c| c.len() == 1)
        });
        let out = ringflow(&[
            "produce", r, "--source", "audio", "--wave", wave, "--level", "-12", "--frames", "20",
            "--fps", "4000",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            reader
                .finish(std::time::Duration::from_secs(60))
                .status
                .code(),
            Some(0)
        );
        let peak = hound::WavReader::open(&wav)
            .unwrap()
            .samples::<i16>()
            .map(|s| f64::from(s.unwrap()).abs() / f64::from(i16::MAX))
            .fold(0.0, f64::max);
        assert!(
            peak <= peak_at_most && peak >= peak_at_least,
            "{wave}: peak {peak}"
        );
    }
    for (args, mentions) in [
        (
            &["create", "x", "--schema", "audio", "--rate", "0"][..],
            "--rate 0",
        ),
        (
            &["create", "x", "--schema", "audio", "--channels", "0"],
            "--channels 0",
        ),
        (
            &["create", "x", "--schema", "audio", "--frame-samples", "0"],
            "--frame-samples 0",
        ),
        (
            &[
                "create",
                "x",
                "--schema",
                "audio",
                "--frame-ms",
                "1",
                "--frame-samples",
                "5",
            ],
            "--frame-samples",
        ),
        (&["create", "x", "--rate", "44100"], "give --schema audio"),
        (
            &["create", "x", "--schema", "audio", "--format", "u8"],
            "one of: f32, i16, i24, i32",
        ),
        (
            &["produce", r, "--source", "audio", "--level", "3"],
            "--level 3",
        ),
        (
            &["produce", r, "--source", "audio", "--rate", "44100"],
            "--rate 44100",
        ),
    ] {
        let out = ringflow(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(mentions), "{args:?}: {stderr}");
    }
    assert!(!std::path::Path::new("x").exists());
}
