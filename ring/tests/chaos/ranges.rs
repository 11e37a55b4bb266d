//! Sets of ring sequences as half-open ranges: the skip frames readers saw, and the sequences
//! some lossless reader accounted for.

#[derive(Default, Clone, Debug)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    pub fn add(&mut self, from: u64, to: u64) {
        if from < to {
            self.0.push((from, to));
        }
    }

    /// The ranges sorted and merged.
    pub fn merged(&self) -> Vec<(u64, u64)> {
        let mut all = self.0.clone();
        all.sort_unstable();
        let mut out: Vec<(u64, u64)> = Vec::with_capacity(all.len());
        for (from, to) in all {
            match out.last_mut() {
                Some(last) if from <= last.1 => last.1 = last.1.max(to),
                _ => out.push((from, to)),
            }
        }
        out
    }

    /// How many sequences the set holds.
    pub fn len(&self) -> u64 {
        self.merged().iter().map(|(a, b)| b - a).sum()
    }

    pub fn union(&self, other: &Ranges) -> Ranges {
        Ranges(self.0.iter().chain(&other.0).copied().collect())
    }

    pub fn max(&self) -> Option<u64> {
        self.0.iter().map(|r| r.1).max()
    }
}

#[test]
fn ranges_merge_overlaps_and_count_each_seq_once() {
    let mut r = Ranges::default();
    r.add(5, 8);
    r.add(0, 2);
    r.add(7, 10);
    r.add(3, 3);
    assert_eq!(r.merged(), [(0, 2), (5, 10)]);
    assert_eq!(r.len(), 7);
    let mut other = Ranges::default();
    other.add(1, 6);
    assert_eq!(r.union(&other).len(), 10);
}
