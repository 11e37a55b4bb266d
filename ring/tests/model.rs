//! proptest: random sequences of produce and consume operations against a simple model of the
//! ring give the same frames in the same order, the same refusals and the same loss counts, for
//! every full policy and both delivery policies.

use proptest::prelude::*;
use ringflow::{
    AnyConsumer, ClaimError, Delivery, FullPolicy, Producer, ProducerOptions, Ring, RingConfig,
    Start,
};

const SLOTS: u64 = 4;
const SLOT_SIZE: usize = 24;

#[derive(Clone, Debug)]
enum Op {
    Push { len: usize, seed: u8 },
    PushBatch { n: usize, len: usize, seed: u8 },
    AbandonClaim,
    Poll { consumer: usize },
    ReadInto { consumer: usize },
    PollBatch { consumer: usize, max: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..=SLOT_SIZE, any::<u8>()).prop_map(|(len, seed)| Op::Push { len, seed }),
        2 => (1..=SLOTS as usize, 0..=SLOT_SIZE, any::<u8>()).prop_map(|(n, len, seed)| Op::PushBatch { n, len, seed }),
        1 => Just(Op::AbandonClaim),
        3 => (0..2usize).prop_map(|consumer| Op::Poll { consumer }),
        2 => (0..2usize).prop_map(|consumer| Op::ReadInto { consumer }),
        2 => (0..2usize, 1..6usize).prop_map(|(consumer, max)| Op::PollBatch { consumer, max }),
    ]
}

fn payload(seq_hint: u64, len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            seed.wrapping_add(i as u8)
                .wrapping_mul(3)
                .wrapping_add(seq_hint as u8)
        })
        .collect()
}

/// The model: every frame ever published (`None` for an abandoned claim), and each consumer's
/// next sequence and loss count.
struct Model {
    history: Vec<Option<Vec<u8>>>,
    next: Vec<u64>,
    lost: Vec<u64>,
    lossless: Vec<bool>,
    gating: bool,
}

impl Model {
    fn published(&self) -> u64 {
        self.history.len() as u64
    }

    /// Whether `n` more frames fit under the gating policies.
    fn fits(&self, n: u64) -> bool {
        if !self.gating {
            return true;
        }
        let min = (0..self.next.len())
            .filter(|&c| self.lossless[c])
            .map(|c| self.next[c])
            .min();
        min.is_none_or(|min| self.published() + n - min <= SLOTS)
    }

    /// The next frame for consumer `c`, as the ring defines it: a lapped reader jumps to the
    /// oldest slot that may be intact; abandoned claims are skipped.
    fn next_frame(&mut self, c: usize) -> Option<(u64, Vec<u8>)> {
        loop {
            let p = self.published();
            if self.next[c] + SLOTS < p {
                let target = p - SLOTS + 1;
                self.lost[c] += target - self.next[c];
                self.next[c] = target;
            }
            let seq = self.next[c];
            if seq == p {
                return None;
            }
            match &self.history[seq as usize] {
                None => self.next[c] = seq + 1,
                Some(bytes) => return Some((seq, bytes.clone())),
            }
        }
    }
}

fn run(policy: FullPolicy, deliveries: [Delivery; 2], ops: Vec<Op>) -> Result<(), TestCaseError> {
    let overwrite = policy == FullPolicy::Overwrite;
    let ring =
        Ring::anonymous(&RingConfig::new(SLOTS as u32, SLOT_SIZE as u32).overwritable(overwrite))
            .unwrap();
    let mut consumers: Vec<AnyConsumer> = deliveries
        .iter()
        .map(|&d| ring.consumer_with(d, Start::Next).unwrap())
        .collect();
    // Frames a producer may rewrite while they are held (a lossy reader's, any reader's of an
    // overwritable ring) come as a checked copy, one at a time.
    let copies: Vec<bool> = deliveries
        .iter()
        .map(|&d| overwrite || d == Delivery::Lossy)
        .collect();
    let mut producer: Producer = ring.producer(ProducerOptions::new(policy)).unwrap();
    let mut model = Model {
        history: Vec::new(),
        next: vec![0, 0],
        lost: vec![0, 0],
        lossless: deliveries
            .iter()
            .map(|&d| d == Delivery::Lossless)
            .collect(),
        gating: policy != FullPolicy::Overwrite,
    };
    let refused = |e: ClaimError| matches!(e, ClaimError::Full | ClaimError::Timeout);
    for op in ops {
        match op {
            Op::Push { len, seed } => {
                let bytes = payload(model.published(), len, seed);
                match producer.push(&bytes) {
                    Ok(()) => {
                        prop_assert!(model.fits(1));
                        model.history.push(Some(bytes));
                    }
                    Err(e) => prop_assert!(refused(e) && !model.fits(1)),
                }
            }
            Op::PushBatch { n, len, seed } => match producer.claim_batch(n) {
                Ok(mut batch) => {
                    prop_assert!(model.fits(n as u64));
                    for i in 0..n {
                        let bytes = payload(model.published(), len, seed.wrapping_add(i as u8));
                        batch.slot_mut(i)[..len].copy_from_slice(&bytes);
                        batch.set_len(i, len);
                        model.history.push(Some(bytes));
                    }
                    batch.commit();
                }
                Err(e) => prop_assert!(refused(e) && !model.fits(n as u64)),
            },
            Op::AbandonClaim => match producer.claim() {
                Ok(slot) => {
                    prop_assert!(model.fits(1));
                    drop(slot);
                    model.history.push(None);
                }
                Err(e) => prop_assert!(refused(e) && !model.fits(1)),
            },
            Op::Poll { consumer } => {
                let expected = model.next_frame(consumer);
                let got = consumers[consumer]
                    .poll()
                    .unwrap()
                    .map(|f| (f.seq(), f.to_vec()));
                prop_assert_eq!(&got, &expected);
                if got.is_some() {
                    model.next[consumer] += 1;
                }
            }
            Op::ReadInto { consumer } => {
                let expected = model.next_frame(consumer);
                let mut buf = [0u8; SLOT_SIZE];
                let got = consumers[consumer]
                    .read_into(&mut buf)
                    .unwrap()
                    .map(|info| (info.seq, buf[..info.len].to_vec()));
                prop_assert_eq!(&got, &expected);
                if got.is_some() {
                    model.next[consumer] += 1;
                }
            }
            Op::PollBatch { consumer, max } => {
                let mut expected = Vec::new();
                if let Some(head) = model.next_frame(consumer) {
                    let first = head.0;
                    let end = if copies[consumer] {
                        first + 1
                    } else {
                        (first + max as u64).min(model.published())
                    };
                    expected = (first..end)
                        .filter_map(|s| model.history[s as usize].clone().map(|b| (s, b)))
                        .collect();
                    model.next[consumer] = end;
                }
                let batch = consumers[consumer].poll_batch(max).unwrap();
                let got: Vec<_> = batch.iter().map(|f| (f.seq, f.payload.to_vec())).collect();
                prop_assert_eq!(got, expected);
            }
        }
        for (c, consumer) in consumers.iter().enumerate() {
            prop_assert_eq!(consumer.lost(), model.lost[c], "consumer {}", c);
            prop_assert_eq!(consumer.torn(), 0);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn fail_policy_matches_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(FullPolicy::Fail, [Delivery::Lossless, Delivery::Lossless], ops)?;
    }

    #[test]
    fn block_policy_matches_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        let zero = FullPolicy::Block { timeout: Some(std::time::Duration::ZERO) };
        run(zero, [Delivery::Lossless, Delivery::Lossy], ops)?;
    }

    #[test]
    fn overwrite_policy_matches_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(FullPolicy::Overwrite, [Delivery::Lossy, Delivery::Lossless], ops)?;
    }

    #[test]
    fn lossy_readers_behind_a_gating_reader_match_the_model(ops in proptest::collection::vec(op(), 1..80)) {
        run(FullPolicy::Fail, [Delivery::Lossy, Delivery::Lossless], ops)?;
    }
}
