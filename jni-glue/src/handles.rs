//! A table of generation-checked handles: the slab-with-generations scheme of `slotmap` and
//! `generational-arena`, sized for the foreign boundary, where a handle is one `u64` (a C
//! `uint64_t`, a Kotlin `Long`).
//!
//! ### A handle
//! ```text
//!   63  62  61  60                            32  31                               0
//!  +---+---+---+--------------------------------+----------------------------------+
//!  | 0 | 1 | K |     generation (29 bits)       |           index (32 bits)        |
//!  +---+---+---+--------------------------------+----------------------------------+
//! ```
//! - `index` names a slot of the table; slots are reused, most recently freed first.
//! - `generation` counts how often the slot was freed; a handle matches only while its slot still
//!   holds the generation it was issued with. So a handle kept after its value was removed (a
//!   stale handle) finds nothing, even once the slot holds a new value: it can never address
//!   another value.
//! - Bit 61 (`K`, [`TableKind`]) says which table issued the handle (consumers or producers), so
//!   a consumer handle passed where a producer's is expected is unknown, never a producer.
//! - Bit 62 ([`TAG`]) is set in every handle and bit 63 never, so a handle is positive as a
//!   Kotlin `Long` and never equals an engine registry handle (those count up from 1) or 0: a
//!   ring or task handle passed where a consumer's is expected is unknown, not a consumer.
//!
//! A slot whose generation would wrap after 2^29 reuses is retired instead of reused, so no
//! handle can ever match twice. The table's lock is held for a lookup, an insert or a remove,
//! never while a value is used: values are `Arc`s, and a removed value lives on until its last
//! user lets go of it.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ringflow_engine::EngineError;

/// Set in every handle this table issues.
const TAG: u64 = 1 << 62;
/// The bit that tells the tables apart (`TableKind`).
const KIND_BIT: u64 = 1 << 61;
/// Where the generation starts in a handle.
const GENERATION_SHIFT: u32 = 32;
/// The generation's bits, once shifted down.
const GENERATION_MASK: u32 = (1 << 29) - 1;
/// The index's bits.
const INDEX_MASK: u64 = u32::MAX as u64;

/// Which table issued a handle (bit 61 of it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TableKind {
    /// `consumers.rs`.
    Consumers,
    /// `producers.rs`.
    Producers,
}

impl TableKind {
    const fn bit(self) -> u64 {
        match self {
            TableKind::Consumers => 0,
            TableKind::Producers => KIND_BIT,
        }
    }
}

/// The handle of slot `index` at `generation` in a table of `kind`.
fn encode(kind: TableKind, index: u32, generation: u32) -> u64 {
    debug_assert!(generation <= GENERATION_MASK);
    TAG | kind.bit() | u64::from(generation) << GENERATION_SHIFT | u64::from(index)
}

/// The slot index and generation a handle names; `None` if a table of `kind` cannot have issued
/// it.
fn decode(kind: TableKind, handle: u64) -> Option<(u32, u32)> {
    if handle & !(TAG | KIND_BIT | u64::from(GENERATION_MASK) << GENERATION_SHIFT | INDEX_MASK) != 0
        || handle & TAG == 0
        || handle & KIND_BIT != kind.bit()
    {
        return None;
    }
    let generation = (handle >> GENERATION_SHIFT) as u32 & GENERATION_MASK;
    Some(((handle & INDEX_MASK) as u32, generation))
}

/// One slot: its current generation and, while a handle of that generation is live, its value.
struct Slot<T> {
    generation: u32,
    value: Option<Arc<T>>,
}

struct Slots<T> {
    slots: Vec<Slot<T>>,
    /// Indices of empty slots that may be reused (retired ones are not here).
    free: Vec<u32>,
    /// Slots holding a value.
    live: usize,
}

/// Values of type `T` by generation-checked handle (see the module docs).
pub(crate) struct HandleTable<T> {
    kind: TableKind,
    slots: Mutex<Slots<T>>,
}

impl<T> HandleTable<T> {
    pub(crate) const fn new(kind: TableKind) -> Self {
        HandleTable {
            kind,
            slots: Mutex::new(Slots {
                slots: Vec::new(),
                free: Vec::new(),
                live: 0,
            }),
        }
    }

    /// The table, even if a thread panicked while holding it: each change below leaves it
    /// consistent before anything that can panic (an allocation) runs.
    fn lock(&self) -> MutexGuard<'_, Slots<T>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `value`; returns its new handle.
    pub(crate) fn insert(&self, value: T) -> Result<u64, EngineError> {
        let value = Some(Arc::new(value));
        let mut t = self.lock();
        let index = match t.free.pop() {
            Some(index) => index,
            None => {
                let index = u32::try_from(t.slots.len()).map_err(|_| {
                    EngineError::InvalidArgument(format!(
                        "the handle table is full ({} slots)",
                        t.slots.len()
                    ))
                })?;
                t.slots.push(Slot {
                    generation: 0,
                    value: None,
                });
                index
            }
        };
        let slot = &mut t.slots[index as usize];
        debug_assert!(slot.value.is_none(), "a free slot holds a value");
        slot.value = value;
        let generation = slot.generation;
        t.live += 1;
        Ok(encode(self.kind, index, generation))
    }

    /// The value of a live handle; [`EngineError::UnknownHandle`] for a stale or made-up one.
    pub(crate) fn get(&self, handle: u64) -> Result<Arc<T>, EngineError> {
        let t = self.lock();
        decode(self.kind, handle)
            .and_then(|(index, generation)| {
                t.slots
                    .get(index as usize)
                    .filter(|s| s.generation == generation)
            })
            .and_then(|s| s.value.clone())
            .ok_or(EngineError::UnknownHandle(handle))
    }

    /// Removes a live handle's value and returns it; the handle is stale from now on.
    /// [`EngineError::UnknownHandle`] for a stale or made-up one.
    pub(crate) fn remove(&self, handle: u64) -> Result<Arc<T>, EngineError> {
        let mut t = self.lock();
        let Some((index, generation)) = decode(self.kind, handle) else {
            return Err(EngineError::UnknownHandle(handle));
        };
        let Some(slot) = t
            .slots
            .get_mut(index as usize)
            .filter(|s| s.generation == generation && s.value.is_some())
        else {
            return Err(EngineError::UnknownHandle(handle));
        };
        let value = slot.value.take();
        slot.generation = (generation + 1) & GENERATION_MASK;
        let retire = slot.generation == 0;
        t.live -= 1;
        if !retire {
            t.free.push(index);
        }
        value.ok_or(EngineError::UnknownHandle(handle))
    }

    /// Live handles.
    #[cfg_attr(not(feature = "test-hooks"), allow(dead_code))]
    pub(crate) fn len(&self) -> usize {
        self.lock().live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_handle_finds_nothing_after_its_slot_is_reused() {
        let table = HandleTable::new(TableKind::Consumers);
        let first = table.insert("first").unwrap();
        table.remove(first).unwrap();
        let second = table.insert("second").unwrap();
        // The slot was reused (same index), under a new generation.
        assert_eq!(first & INDEX_MASK, second & INDEX_MASK);
        assert_ne!(first, second);
        assert!(matches!(table.get(first), Err(EngineError::UnknownHandle(h)) if h == first));
        assert!(matches!(
            table.remove(first),
            Err(EngineError::UnknownHandle(_))
        ));
        assert_eq!(*table.get(second).unwrap(), "second");
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn made_up_handles_are_unknown() {
        let table = HandleTable::new(TableKind::Consumers);
        let live = table.insert(7).unwrap();
        let (index, generation) = decode(TableKind::Consumers, live).unwrap();
        for made_up in [
            0,
            1,                                                   // an engine registry handle
            u64::MAX,       // the C ABI's old first consumer handle
            987_654_321,    // no tag
            live & !TAG,    // the tag cleared
            live | 1 << 63, // bit 63 set
            encode(TableKind::Consumers, index + 1, generation), // a slot that does not exist
            encode(TableKind::Consumers, index, generation + 1), // a generation the slot has not reached
            encode(TableKind::Consumers, index, GENERATION_MASK),
            encode(TableKind::Producers, index, generation), // the other table's
        ] {
            assert!(
                matches!(table.get(made_up), Err(EngineError::UnknownHandle(h)) if h == made_up),
                "{made_up:#x} was found"
            );
            assert!(table.remove(made_up).is_err(), "{made_up:#x} was removed");
        }
        assert_eq!(*table.get(live).unwrap(), 7);
    }

    #[test]
    fn handles_are_positive_longs_and_round_trip() {
        for (index, generation) in [(0, 0), (1, 2), (u32::MAX, GENERATION_MASK)] {
            for kind in [TableKind::Consumers, TableKind::Producers] {
                let handle = encode(kind, index, generation);
                assert!(handle as i64 > 0, "{handle:#x}");
                assert_eq!(decode(kind, handle), Some((index, generation)));
            }
        }
    }

    #[test]
    fn a_slot_is_retired_rather_than_reusing_a_generation() {
        let table = HandleTable::new(TableKind::Consumers);
        let first = table.insert(1).unwrap();
        // Fast-forward the slot to its last generation.
        table.remove(first).unwrap();
        table.lock().slots[0].generation = GENERATION_MASK;
        let last = table.insert(2).unwrap();
        assert_eq!(
            decode(TableKind::Consumers, last),
            Some((0, GENERATION_MASK))
        );
        table.remove(last).unwrap();
        // Generation 0 again would make `first` match: the slot is retired instead.
        let next = table.insert(3).unwrap();
        assert_eq!(decode(TableKind::Consumers, next), Some((1, 0)));
        assert!(table.get(first).is_err());
        assert_eq!(*table.get(next).unwrap(), 3);
    }
}
