//! Verification of `seq` frames: every byte checked, and per producer the lost, duplicated and
//! reordered frames counted.

use std::collections::BTreeMap;

use ringflow::pattern::{self, Tally};

use super::{FrameRef, Sink};
use crate::error::Result;

/// What a verifier concluded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Verdict {
    /// Frames whose bytes checked out.
    pub frames: u64,
    /// Frames whose bytes did not.
    pub corrupt: u64,
    /// Missing frames between frames seen, over every producer.
    pub gaps: u64,
    /// Frames seen twice.
    pub duplicated: u64,
    /// Frames that came after a later one of the same producer.
    pub reordered: u64,
}

/// Checks `seq` frames from any number of producers.
#[derive(Debug, Default)]
pub struct SeqVerifier {
    tallies: BTreeMap<u32, Tally>,
    corrupt: u64,
    /// Whether every producer's frames are expected from number 0 (the reader joined a fresh
    /// ring), so a loss before a producer's first frame seen counts as a gap too.
    from_zero: bool,
}

impl SeqVerifier {
    /// A verifier; `from_zero` if the reader saw the ring from its first frame.
    pub fn new(from_zero: bool) -> Self {
        SeqVerifier {
            from_zero,
            ..Default::default()
        }
    }

    /// The totals so far.
    pub fn verdict(&self) -> Verdict {
        let mut v = Verdict {
            corrupt: self.corrupt,
            ..Default::default()
        };
        for t in self.tallies.values() {
            v.frames += t.frames;
            v.gaps += t.gaps;
            v.duplicated += t.duplicated;
            v.reordered += t.reordered;
        }
        v
    }
}

impl Sink for SeqVerifier {
    fn write(&mut self, frame: &FrameRef<'_>) -> Result<()> {
        match pattern::check(frame.payload) {
            Some((producer, _)) => {
                let from_zero = self.from_zero;
                self.tallies
                    .entry(producer)
                    .or_insert_with(|| Tally {
                        next: from_zero.then_some(0),
                        ..Default::default()
                    })
                    .record(frame.payload);
            }
            None => self.corrupt += 1,
        }
        Ok(())
    }
}
