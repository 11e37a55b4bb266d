//! # ringflow
//!
//! A lock-free frame ring in one shared-memory region: producers write fixed-size, sequenced
//! slots in place; any number of consumers read them in place, each from its own cursor and with
//! its own delivery policy; a reader with nothing to read sleeps on a futex, and a producer makes
//! a syscall only when a reader sleeps.
//!
//! - **Who may call what.** [`Ring`] describes a region and hands out roles. A [`Producer`] writes
//!   (one per single-producer ring, up to 8 on a multi-producer ring); a [`Consumer`] reads. Both
//!   are `Send`, neither is `Sync`.
//! - **Progress.** A single producer's claim and commit are wait-free; a multi-producer claim is
//!   lock-free. Reading is wait-free. Waiting is optional and explicit ([`Consumer::wait`],
//!   [`FullPolicy::Block`]).
//! - **Delivery.** A lossless [`Consumer`] holds back producers whose policy is `block`
//!   or `fail`; a [`LossyConsumer`] never does, and when lapped it learns exactly how many
//!   frames it lost. No safe call hands out a torn frame: a [`Frame`] shows the slot in place
//!   only where no producer can rewrite it, a checked copy elsewhere; a [`LossyConsumer`]'s only
//!   safe reads copy. The hot calls have narrow errors ([`RecvError`], [`ClaimError`]); the wide
//!   [`Error`] is for opening, creating and registering.
//! - **Processes.** A file-backed ring (`/dev/shm/NAME` by default) is shared by every process
//!   that opens it; [`Ring::open`] validates the file before trusting a byte of it. A consumer
//!   whose producer died gets [`RecvError::ProducerGone`]; a lossless consumer that died is evicted.
//!
//! ```
//! use ringflow::{ProducerOptions, RecvError, Ring, RingConfig};
//!
//! let ring = Ring::anonymous(&RingConfig::new(1024, 256))?;
//! let mut consumer = ring.consumer()?;
//! let mut producer = ring.producer(ProducerOptions::default())?;
//!
//! let writer = std::thread::spawn(move || -> ringflow::Result<()> {
//!     for i in 0..10_000u32 {
//!         let mut slot = producer.claim()?;
//!         slot.payload_mut()[..4].copy_from_slice(&i.to_le_bytes());
//!         slot.commit(4);
//!     }
//!     Ok(()) // dropping the producer closes the ring
//! });
//!
//! let mut expected = 0u32;
//! loop {
//!     match consumer.recv(None) {
//!         Ok(frame) => {
//!             assert_eq!(frame.payload(), expected.to_le_bytes());
//!             expected += 1;
//!         }
//!         Err(RecvError::Closed) => break,
//!         Err(e) => return Err(e.into()),
//!     }
//! }
//! writer.join().unwrap()?;
//! assert_eq!(expected, 10_000);
//! # Ok::<(), ringflow::Error>(())
//! ```
//!
//! The byte layout is in `docs/FORMAT.md`, the protocols and their orderings in
//! `docs/ARCHITECTURE.md`.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]
// Under loom only the protocol cores are built, for the models; the mapping and handles are not.
#![cfg_attr(loom, allow(dead_code, unused_imports))]

mod sync;

mod consumer;
mod error;
mod gate;
pub mod layout;
pub mod liveness;
#[cfg(not(loom))]
mod lock;
mod mem;
pub mod pattern;
mod producer;
#[cfg(not(loom))]
mod publish;
#[cfg(not(loom))]
mod region;
mod repair;
mod sleep;
mod stats;
#[cfg(not(loom))]
mod view;
#[cfg(not(loom))]
mod wait;

#[cfg(all(test, loom))]
mod loom_models;

#[cfg(not(loom))]
pub use consumer::{
    AnyConsumer, Batch, BatchFrame, Consumer, Frame, FrameInfo, HeldFrame, LossyConsumer,
};
pub use consumer::{Delivery, Start};
#[cfg(not(loom))]
pub use error::ReleaseError;
pub use error::{ClaimError, Error, PushError, RecvError, Result};
pub use layout::{Geometry, Header, LayoutError};
#[cfg(not(loom))]
pub use producer::{CommitHeldError, HeldClaim, HeldProducer, Producer, WriteBatch, WriteSlot};
pub use producer::{FullPolicy, ProducerOptions};
#[cfg(not(loom))]
pub use region::{shm_path, AudioFormat, Ring, RingConfig, SampleFormat, Schema};
pub use sleep::fence_mode;
pub use stats::{ConsumerStats, Participant, ProducerStats, RingStats, Role};
#[cfg(not(loom))]
pub use view::RingView;
