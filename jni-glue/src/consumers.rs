//! Consumers registered through either boundary (JNI and the C ABI), in one table of
//! generation-checked handles (`handles.rs`): a stale or made-up consumer handle is
//! [`EngineError::UnknownHandle`] on both sides, never another consumer.
//!
//! Each entry owns its Rust [`AnyConsumer`], which holds the consumer's block in the region (given
//! back when the entry goes) and keeps the mapping alive. The JVM moves the block's read cursor
//! itself; the C ABI reads through the `AnyConsumer` and keeps the frame it handed out in `held`.

use std::sync::{Arc, Mutex, PoisonError};

use ringflow::{AnyConsumer, Delivery, HeldFrame, Start};
use ringflow_engine::registry::Handle;
use ringflow_engine::EngineError;

use crate::handles::{HandleTable, TableKind};
use crate::rings::{self, RingGate};

/// One registered consumer.
pub(crate) struct ConsumerEntry {
    /// The gate of the ring handle it was registered through: a wake or close of that handle
    /// releases a call blocked on this consumer.
    pub(crate) gate: Arc<RingGate>,
    pub(crate) consumer: AnyConsumer,
    /// The frame `rf_consumer_next` handed out and `rf_consumer_release` has not released yet.
    pub(crate) held: Option<HeldFrame>,
}

/// Every registered consumer, by handle.
static CONSUMERS: HandleTable<Mutex<ConsumerEntry>> = HandleTable::new(TableKind::Consumers);

/// Registers a consumer on a ring handle, starting at `start`; returns the consumer's handle.
pub(crate) fn register(ring: Handle, lossy: bool, start: Start) -> Result<u64, EngineError> {
    let (r, gate) = rings::get(ring)?;
    let delivery = if lossy {
        Delivery::Lossy
    } else {
        Delivery::Lossless
    };
    let consumer = r.consumer_with(delivery, start)?;
    CONSUMERS.insert(Mutex::new(ConsumerEntry {
        gate,
        consumer,
        held: None,
    }))
}

/// The entry of a live consumer handle. Lock it with [`lock`].
pub(crate) fn get(handle: u64) -> Result<Arc<Mutex<ConsumerEntry>>, EngineError> {
    CONSUMERS.get(handle)
}

/// An entry, even if a thread panicked while holding it: every call leaves it consistent
/// before it touches anything that can panic (the consumer's own state is the ring's concern).
pub(crate) fn lock(entry: &Mutex<ConsumerEntry>) -> std::sync::MutexGuard<'_, ConsumerEntry> {
    entry.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on a live consumer.
pub(crate) fn with<T>(
    handle: u64,
    f: impl FnOnce(&mut ConsumerEntry) -> T,
) -> Result<T, EngineError> {
    let entry = get(handle)?;
    let mut entry = lock(&entry);
    Ok(f(&mut entry))
}

/// Unregisters a consumer: its handle is stale from now on, and its block is given back (a held
/// frame with it) once no call is using it any more.
pub(crate) fn unregister(handle: u64) -> Result<(), EngineError> {
    CONSUMERS.remove(handle).map(drop)
}

/// Consumers registered and not yet unregistered (for leak tests).
#[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
pub(crate) fn live() -> usize {
    CONSUMERS.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringflow::{ProducerOptions, Ring, RingConfig};

    #[test]
    fn a_stale_consumer_handle_is_unknown_never_the_next_consumer() {
        let ring = rings::add(Ring::anonymous(&RingConfig::new(8, 32)).unwrap());
        let first = register(ring, false, Start::Next).unwrap();
        let first_block = with(first, |e| e.consumer.index()).unwrap();
        unregister(first).unwrap();
        // The next consumer takes the same block and the same table slot.
        let second = register(ring, false, Start::Next).unwrap();
        assert_eq!(with(second, |e| e.consumer.index()).unwrap(), first_block);
        assert_ne!(first, second);
        for stale_use in [
            with(first, |_| ()).err(),
            get(first).err(),
            unregister(first).err(),
        ] {
            assert!(
                matches!(stale_use, Some(EngineError::UnknownHandle(h)) if h == first),
                "{stale_use:?}"
            );
        }
        // The live one still reads.
        let (r, _) = rings::get(ring).unwrap();
        let mut producer = r.producer(ProducerOptions::default()).unwrap();
        producer.push(b"frame").unwrap();
        let read = with(second, |e| e.consumer.poll().unwrap().map(|f| f.to_vec())).unwrap();
        assert_eq!(read.as_deref(), Some(&b"frame"[..]));
        unregister(second).unwrap();
        drop(producer);
        rings::cancel(ring).unwrap();
    }

    #[test]
    fn a_consumer_starts_where_it_asked_and_knows_what_its_handshake_protects() {
        let ring = rings::add(Ring::anonymous(&RingConfig::new(8, 32)).unwrap());
        let (r, _) = rings::get(ring).unwrap();
        let mut producer = r.producer(ProducerOptions::default()).unwrap();
        for _ in 0..20 {
            producer.push(b"frame").unwrap(); // no reader: frames 0..12 are gone
        }
        for (start, start_seq) in [(Start::Next, 20), (Start::Oldest, 12), (Start::Seq(3), 3)] {
            let c = register(ring, false, start).unwrap();
            let got = with(c, |e| (e.consumer.start_seq(), e.consumer.protected_from())).unwrap();
            assert_eq!(got, (start_seq, 20), "{start:?}");
            unregister(c).unwrap();
        }
        drop(producer);
        rings::cancel(ring).unwrap();
    }

    #[test]
    fn a_ring_handle_is_not_a_consumer_handle() {
        let ring = rings::add(Ring::anonymous(&RingConfig::new(8, 32)).unwrap());
        assert!(matches!(get(ring.0), Err(EngineError::UnknownHandle(_))));
        let consumer = register(ring, true, Start::Next).unwrap();
        assert!(rings::get(Handle(consumer)).is_err());
        unregister(consumer).unwrap();
        rings::cancel(ring).unwrap();
        // A closed ring handle registers nothing.
        assert!(matches!(
            register(ring, true, Start::Next),
            Err(EngineError::UnknownHandle(_))
        ));
    }
}
