//! The binary layout of a ring region: the one place in Rust that knows offsets.
//!
//! A region is one contiguous mapping. Everything in it is addressed by an offset from its start;
//! nothing stored in it is a pointer. All integers are in the machine's byte order (little-endian
//! on every target this crate builds for), and every 8-byte field sits on an 8-byte aligned
//! absolute address, so the JVM can read it with a `VarHandle` over a direct `ByteBuffer`.
//!
//! ```text
//!  offset                                   size
//!  0        +------------------------------+
//!           | Header                       |  HEADER_LEN (256)     written once by `create`
//!  256      +------------------------------+
//!           | ProducerBlock                |  3 lines of 128 bytes
//!           |   line 0: cursors            |  written by producers
//!           |   line 1: wait words, state  |  futex words and sleeper counts
//!           |   line 2: producer table     |  MAX_PRODUCERS entries of 16 bytes
//!  640      +------------------------------+
//!           | ConsumerBlock x max_consumers|  one 128-byte line each
//!           +------------------------------+  (aligned up to 128)
//!           | Descriptor x slot_count      |  desc_stride bytes each (16, or 32 with
//!           |   stamp, len, kind [, ts]    |  timestamps), several to a line, apart
//!           +------------------------------+  from the payloads (aligned up to 128)
//!           | Payload x slot_count         |  slot_stride bytes each (slot_payload
//!           |                              |  rounded up to 16)
//!  total    +------------------------------+
//! ```
//!
//! `docs/FORMAT.md` documents every byte; this file and that document must change together.

use bytemuck::{Pod, Zeroable};

use crate::sync::{AtomicU32, AtomicU64};

/// `b"RINGFLOW"` read as a little-endian `u64`.
pub const MAGIC: u64 = u64::from_le_bytes(*b"RINGFLOW");
/// The layout version this crate reads and writes. Version 2: the futex words' low bit is the
/// sleeper protocol's `ARMED` bit (`sleep.rs`); a version-1 waiter never sets it, so a version-2
/// notifier would never wake it. Version 3: [`Header::flags`] says whether the ring may be
/// overwritten ([`ring_flags::OVERWRITABLE`]); a version-2 reader would ignore the flag and hand
/// out views an `overwrite` producer may be rewriting, so it must refuse the file. Version 4:
/// named consumer blocks ([`ConsumerLine::name`]) outlive their owner and gate producers for
/// their `grace` once ownerless; a version-3 participant would take such a block as free, or
/// evict it at once, so it must refuse the file. Version 5: each slot's stamp, length and kind
/// (and timestamp, on rings that keep them) move out of the payload's lines into a descriptor
/// array ([`Descriptor`]), and payload strides shrink from multiples of 64 to multiples of 16: a
/// 64-byte frame moves a quarter of a descriptor line and one payload line instead of two lines.
/// Every offset past the consumer blocks moved, so a version-4 participant must refuse the file.
pub const VERSION: u32 = 5;
/// Bytes of the region header.
pub const HEADER_LEN: usize = 256;
/// One control line: the unit of false-sharing isolation. Fixed at 128 bytes (two 64-byte lines,
/// because the adjacent-line prefetcher of x86_64 pulls pairs), whatever the target.
pub const LINE: usize = 128;
/// Bytes of the producer control block (three lines).
pub const PRODUCER_BLOCK_LEN: usize = 3 * LINE;
/// Bytes of one consumer control block.
pub const CONSUMER_BLOCK_LEN: usize = LINE;
/// Bytes of one slot descriptor on a ring without timestamps (four to a 64-byte line).
pub const DESC_LEN: usize = 16;
/// Bytes of one slot descriptor on a ring that keeps timestamps ([`ring_flags::TIMESTAMPS`]).
pub const DESC_LEN_TIMESTAMPED: usize = 32;
/// Payload strides are multiples of this: every payload starts 16-byte aligned (what SIMD loads
/// and the JVM's 8-byte accesses need), and small frames pack as densely as rtrb's elements.
pub const PAYLOAD_ALIGN: usize = 16;
/// Producer handles that can be attached at once (entries in the producer table).
pub const MAX_PRODUCERS: usize = 8;
/// Upper bound for `max_consumers`.
pub const MAX_CONSUMERS: usize = 256;
/// Smallest slot count (a power of two).
pub const MIN_SLOTS: u32 = 2;
/// Largest slot count (a power of two).
pub const MAX_SLOTS: u32 = 1 << 24;
/// A region must be smaller than this: a JVM `DirectByteBuffer` holds at most `i32::MAX` bytes.
pub const MAX_REGION_LEN: u64 = 1 << 31;

/// Offset of the producer block from the region start.
pub const PRODUCER_OFFSET: usize = HEADER_LEN;
/// Offset of the first consumer block from the region start.
pub const CONSUMERS_OFFSET: usize = PRODUCER_OFFSET + PRODUCER_BLOCK_LEN;

/// Producer mode values of [`Header::producer_mode`].
pub mod producer_mode {
    /// Exactly one producer handle at a time.
    pub const SINGLE: u32 = 0;
    /// Several producer handles (threads or processes) claim by atomic add.
    pub const MULTI: u32 = 1;
}

/// Frame schema ids of [`Header::schema_id`].
pub mod schema_id {
    /// Opaque bytes.
    pub const RAW: u32 = 0;
    /// PCM audio; the `audio_*` header fields describe it.
    pub const AUDIO: u32 = 1;
    /// Game-style telemetry events; `telemetry_schema_version` describes them.
    pub const TELEMETRY: u32 = 2;
}

/// Sample format values of [`Header::audio_sample_format`].
pub mod sample_format {
    /// Not audio.
    pub const NONE: u32 = 0;
    /// 32-bit IEEE float, interleaved.
    pub const F32: u32 = 1;
    /// 16-bit signed integer, interleaved.
    pub const I16: u32 = 2;
    /// 32-bit signed integer, interleaved.
    pub const I32: u32 = 3;
}

/// Values of [`WaitLine::state`]: the life of the ring as the producers see it.
pub mod ring_state {
    /// Frames may still come.
    pub const OPEN: u32 = 0;
    /// The last producer detached cleanly: no frame will come.
    pub const CLOSED: u32 = 1;
}

/// Values of [`ProducerEntry::state`].
pub mod producer_state {
    /// The entry is unused.
    pub const FREE: u32 = 0;
    /// A producer handle of process `pid` is attached.
    pub const ATTACHED: u32 = 1;
}

/// Values of [`ConsumerLine::state`].
pub mod consumer_state {
    /// The block is unused.
    pub const FREE: u32 = 0;
    /// A consumer is registering; its fields are not yet meaningful.
    pub const CLAIMING: u32 = 1;
    /// A consumer reads from `read`.
    pub const ACTIVE: u32 = 2;
    /// A producer evicted this consumer (dead pid or stale heartbeat); it no longer gates.
    pub const EVICTED: u32 = 3;
}

/// Values of [`ConsumerLine::policy`].
pub mod delivery {
    /// The consumer gates producers that block or fail when full.
    pub const LOSSLESS: u32 = 0;
    /// The consumer never gates; when lapped it skips ahead and counts what it lost.
    pub const LOSSY: u32 = 1;
}

/// Values of [`WaitLine::policy`] (informational: each producer handle has its own).
pub mod full_policy {
    /// Wait for space.
    pub const BLOCK: u32 = 0;
    /// Give the frame back.
    pub const FAIL: u32 = 1;
    /// Overwrite the oldest frame.
    pub const OVERWRITE: u32 = 2;
}

/// Bits of [`Header::flags`]: properties of the ring fixed at creation.
pub mod ring_flags {
    /// Producers with the `overwrite` policy may attach: a frame may be rewritten before every
    /// reader is done with it, so no reader may hand out an unchecked view of a slot. Without
    /// this bit an `overwrite` producer is refused at attach.
    pub const OVERWRITABLE: u64 = 1 << 0;
    /// Descriptors carry a `timestamp_ns` ([`super::desc::TIMESTAMP_OFFSET`]) and are
    /// [`super::DESC_LEN_TIMESTAMPED`] bytes; without this bit they are [`super::DESC_LEN`] bytes
    /// and frames carry no timestamp (readers see 0). Layout version 5.
    pub const TIMESTAMPS: u64 = 1 << 1;
    /// Every bit this version defines; a header with any other bit set is refused.
    pub const KNOWN: u64 = OVERWRITABLE | TIMESTAMPS;
}

/// A producer table entry's claim record ([`CursorLine::claims`]): the state in bits 62..64, the
/// first frame of the claim in bits 0..62 (sequences stay below 2^62). `0` is no claim.
///
/// ```text
///   63 62 61                                                         0
///  +-----+------------------------------------------------------------+
///  |state| first frame of the claim                                   |
///  +-----+------------------------------------------------------------+
/// ```
pub mod claim_record {
    /// No claim recorded.
    pub const NONE: u64 = 0;
    /// Where the state sits.
    pub const STATE_SHIFT: u32 = 62;
    /// The producer may be claiming (written just before its claim compare-and-swap) or writing
    /// the claim's frames.
    pub const OPEN: u64 = 1;
    /// The producer has written every byte of the claim and is storing its stamps (or has: the
    /// record stays until its next claim).
    pub const COMMITTING: u64 = 2;
    /// A repairer took the claim of a dead producer over: its frames are being published as skip
    /// frames.
    pub const REPAIRING: u64 = 3;

    /// The record of a claim from `first` in `state`.
    #[inline]
    pub const fn make(state: u64, first: u64) -> u64 {
        (state << STATE_SHIFT) | first
    }
    /// The state of a record.
    #[inline]
    pub const fn state(record: u64) -> u64 {
        record >> STATE_SHIFT
    }
    /// The first frame of a record's claim.
    #[inline]
    pub const fn first(record: u64) -> u64 {
        record & ((1 << STATE_SHIFT) - 1)
    }
}

/// Bits of [`Descriptor::kind`] reserved by the ring; the low 16 bits are the user's.
pub mod kind_flags {
    /// The slot carries no frame (a claim that was dropped without commit); readers skip it.
    pub const SKIP: u32 = 1 << 31;
    /// Mask of the bits a user may set.
    pub const USER_MASK: u32 = 0xffff;
}

/// The region header: written once by `create`, read-only afterwards.
///
/// Read with [`bytemuck::pod_read_unaligned`] from the mapping, then validated by
/// [`Geometry::validate`] before any other byte is trusted.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Pod, Zeroable)]
pub struct Header {
    /// [`MAGIC`]; written last by `create`.
    pub magic: u64,
    /// [`VERSION`].
    pub version: u32,
    /// [`HEADER_LEN`].
    pub header_len: u32,
    /// Bytes of the whole region; equals the file length.
    pub total_len: u64,
    /// Number of slots, a power of two in `MIN_SLOTS ..= MAX_SLOTS`.
    pub slot_count: u32,
    /// Payload capacity of one slot in bytes.
    pub slot_payload: u32,
    /// Distance between two payloads: `slot_payload` rounded up to [`PAYLOAD_ALIGN`].
    pub slot_stride: u32,
    /// Number of consumer blocks.
    pub max_consumers: u32,
    /// [`producer_mode`].
    pub producer_mode: u32,
    /// [`schema_id`].
    pub schema_id: u32,
    /// Audio: frames per second (e.g. 48000); 0 if not audio.
    pub audio_sample_rate: u32,
    /// Audio: interleaved channels; 0 if not audio.
    pub audio_channels: u32,
    /// Audio: [`sample_format`].
    pub audio_sample_format: u32,
    /// Audio: samples per channel in one frame.
    pub audio_samples_per_frame: u32,
    /// Telemetry: version of the event schema; 0 if not telemetry.
    pub telemetry_schema_version: u32,
    /// Pid of the process that created the region.
    pub owner_pid: u32,
    /// Creation time, nanoseconds since the Unix epoch.
    pub created_unix_ns: u64,
    /// A value unique to this creation, so a reader can tell a re-created ring at the same path.
    pub epoch: u64,
    /// Offset of the producer block ([`PRODUCER_OFFSET`]).
    pub producer_offset: u64,
    /// Offset of the first consumer block ([`CONSUMERS_OFFSET`]).
    pub consumers_offset: u64,
    /// Offset of slot 0's payload (the payload array).
    pub slots_offset: u64,
    /// [`ring_flags`].
    pub flags: u64,
    /// Offset of slot 0's descriptor (the descriptor array). Layout version 5.
    pub descs_offset: u64,
    /// Bytes of one descriptor: [`DESC_LEN`], or [`DESC_LEN_TIMESTAMPED`] with
    /// [`ring_flags::TIMESTAMPS`]. Layout version 5.
    pub desc_stride: u32,
    /// Zero.
    pub reserved32: u32,
    /// Zero; room for later fields.
    pub reserved: [u64; 15],
}

/// A slot's descriptor: its seqlock stamp and what the frame in it is, kept apart from the
/// payload (as the Disruptor keeps its availability array apart from its entries), so that a
/// reader polls a line that holds several slots' stamps and a producer's commit dirties no
/// payload line. Descriptor `i` is at `descs_offset + i * desc_stride`.
///
/// `stamp` is accessed atomically; this struct is the byte picture of a descriptor. A ring with
/// [`ring_flags::TIMESTAMPS`] has 32-byte descriptors: these 16 bytes, then `timestamp_ns: u64`
/// and 8 zero bytes.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Pod, Zeroable)]
pub struct Descriptor {
    /// Seqlock stamp: `0` never written, `2 * seq + 1` while frame `seq` is written,
    /// `2 * seq + 2` once frame `seq` is committed. See [`stamp`].
    pub stamp: u64,
    /// Payload bytes of the frame, at most `slot_payload`.
    pub len: u32,
    /// User kind in the low 16 bits, [`kind_flags`] above.
    pub kind: u32,
}

/// Offsets of the descriptor fields.
pub mod desc {
    /// `stamp: u64`.
    pub const STAMP_OFFSET: usize = 0;
    /// `len: u32`.
    pub const LEN_OFFSET: usize = STAMP_OFFSET + 8;
    /// `kind: u32`.
    pub const KIND_OFFSET: usize = LEN_OFFSET + 4;
    /// `timestamp_ns: u64`, present only with [`super::ring_flags::TIMESTAMPS`]: the producer's
    /// `CLOCK_MONOTONIC` nanoseconds at commit.
    pub const TIMESTAMP_OFFSET: usize = KIND_OFFSET + 4;
}

/// The seqlock stamp encoding of [`Descriptor::stamp`].
///
/// For a slot that holds sequence numbers `i, i + n, i + 2n, ...` the stamps only grow, and
/// `writing(s) < committed(s) < writing(s + n)`: a reader that expects frame `s` compares the
/// stamp with `committed(s)`: smaller means "not yet", equal means "here", larger means "lapped".
/// Sequence numbers stay below 2^62, which at 10^9 frames per second lasts 146 years.
pub mod stamp {
    /// Sequence numbers stay below this; a region that claims more is corrupt.
    pub const MAX_SEQ: u64 = 1 << 62;

    /// The sequence a stamp speaks of (of a frame being written or committed), if any.
    #[inline]
    pub const fn seq_of(stamp: u64) -> Option<u64> {
        if stamp == 0 {
            None
        } else {
            Some((stamp - 1) / 2)
        }
    }

    /// Stamp of a slot while frame `seq` is being written.
    #[inline]
    pub const fn writing(seq: u64) -> u64 {
        2 * seq + 1
    }
    /// Stamp of a slot once frame `seq` is committed.
    #[inline]
    pub const fn committed(seq: u64) -> u64 {
        2 * seq + 2
    }
}

/// A 128-byte line. Like `crossbeam_utils::CachePadded`, but fixed at 128 bytes and `repr(C)` on
/// every target: `CachePadded` changes its alignment by architecture (32 to 256 bytes) and does
/// not promise its field's offset, and a region shared with other processes and languages needs
/// one layout.
#[repr(C, align(128))]
#[derive(Debug, Default)]
pub struct Line<T>(pub T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Producer line 0: the cursors, written by producers.
#[repr(C)]
#[derive(Debug, Default)]
pub struct CursorLine {
    /// One past the highest committed sequence. Single producer: every frame below it is
    /// committed. Multi-producer: a high-water mark (`fetch_max`), used for lag and lap recovery.
    pub published: AtomicU64,
    /// Multi-producer: the next sequence to claim (`fetch_add`). Single producer: unused.
    pub claim: AtomicU64,
    /// Multi-producer: frames below this may be written without rescanning consumers.
    pub gate: AtomicU64,
    /// The claim position of the latest consumer scan (the registration handshake).
    pub scan: AtomicU64,
    /// Frames refused by the `fail` policy.
    pub dropped: AtomicU64,
    /// Frames claimed by a producer that ended without committing them, published as skip
    /// frames by a repairer (`repair.rs`). Layout version 3: taken from this line's padding,
    /// which is zero, so older files read 0.
    pub abandoned: AtomicU64,
    /// Multi-producer: the claim record of each producer table entry ([`claim_record`]): which
    /// frames the entry's producer may be writing, so a repairer knows which frames a dead
    /// producer left. In this line because every claim writes `claim` here already.
    pub claims: [AtomicU64; MAX_PRODUCERS],
    /// Consumers evicted by producers (dead, stale, or ownerless past their grace), ever.
    /// Layout version 4, from this line's padding.
    pub evicted: AtomicU64,
}

/// Producer line 1: wait words and the ring state.
#[repr(C)]
#[derive(Debug, Default)]
pub struct WaitLine {
    /// Futex word consumers park on: an event count whose bit 0 a consumer sets before it
    /// parks, and a commit that finds it set moves on (`sleep.rs`).
    pub data_futex: AtomicU32,
    /// Consumers parked (or about to park) on `data_futex` (statistics).
    pub data_sleepers: AtomicU32,
    /// Futex word blocked producers park on; the same protocol, moved on by consumer releases.
    pub space_futex: AtomicU32,
    /// Producers parked (or about to park) on `space_futex` (statistics).
    pub space_sleepers: AtomicU32,
    /// [`ring_state`].
    pub state: AtomicU32,
    /// [`full_policy`] of the producer attached last (informational).
    pub policy: AtomicU32,
    /// Futex wake calls made on `data_futex`.
    pub data_wakes: AtomicU64,
    /// Futex wake calls made on `space_futex`.
    pub space_wakes: AtomicU64,
    /// 0 while the ring's file still has its name; the pid of the process that replaced it
    /// (`create_or_replace`) once a new ring took the name. Set once, on the old mapping, just
    /// before the new file is renamed over it; participants look at it on their slow paths and
    /// end with `Error::Replaced`. Taken from padding in layout version 3 (zero in older files).
    pub replaced_by: AtomicU32,
}

/// One entry of the producer table.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ProducerEntry {
    /// Pid of the attached process.
    pub pid: AtomicU32,
    /// [`producer_state`].
    pub state: AtomicU32,
    /// `CLOCK_MONOTONIC` nanoseconds of the last sign of life.
    pub heartbeat_ns: AtomicU64,
}

/// The producer control block.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ProducerBlock {
    /// Line 0.
    pub cursor: Line<CursorLine>,
    /// Line 1.
    pub wait: Line<WaitLine>,
    /// Line 2.
    pub producers: Line<[ProducerEntry; MAX_PRODUCERS]>,
}

/// A consumer control block: one line, written by its consumer (and `state` by an evicting
/// producer).
#[repr(C)]
#[derive(Debug, Default)]
pub struct ConsumerLine {
    /// The next sequence this consumer will read; every frame below it is done with.
    pub read: AtomicU64,
    /// [`consumer_state`].
    pub state: AtomicU32,
    /// [`delivery`].
    pub policy: AtomicU32,
    /// Pid of the consumer's process.
    pub pid: AtomicU32,
    /// Bumped at each registration, so a stale handle can tell its block was reused.
    pub generation: AtomicU32,
    /// `CLOCK_MONOTONIC` nanoseconds of the last sign of life.
    pub heartbeat_ns: AtomicU64,
    /// Frames handed to the reader.
    pub delivered: AtomicU64,
    /// Frames the reader never got (overwritten before it read them).
    pub lost: AtomicU64,
    /// Times the reader found itself lapped and skipped ahead.
    pub lapped: AtomicU64,
    /// Zero-copy views found overwritten when released.
    pub torn: AtomicU64,
    /// The block's name ([`consumer_name`]): all zero for an anonymous consumer, else UTF-8
    /// bytes padded with zeros. A named block is not freed when its owner goes: it keeps `read`
    /// and stays `ACTIVE` (or `EVICTED`) for the next owner of that name. Words, not bytes, so
    /// a racing reader loads them atomically. Layout version 4.
    pub name: [AtomicU64; consumer_name::WORDS],
    /// Named blocks: nanoseconds an ownerless block may hold producers back before it is
    /// evicted. Layout version 4.
    pub grace_ns: AtomicU64,
    /// Named blocks: `CLOCK_MONOTONIC` ns at which a producer held back by it first found it
    /// ownerless, 0 while it has an owner (or nobody noticed). Layout version 4.
    pub ownerless_since_ns: AtomicU64,
    /// Times the reader slept on `data_futex` (each sleep ends woken, timed out, or at a
    /// liveness slice): a reader that keeps up never sleeps, so this stays near 0. Layout
    /// version 5, from this line's padding.
    pub wakes: AtomicU64,
}

/// The name of a consumer block ([`ConsumerLine::name`]).
pub mod consumer_name {
    /// Words of the name field.
    pub const WORDS: usize = 4;
    /// Longest name in bytes.
    pub const MAX_LEN: usize = 8 * WORDS;

    /// The words that store `name`, or why it cannot be a name: empty, longer than
    /// [`MAX_LEN`] bytes, or holding a NUL byte (the padding).
    pub fn encode(name: &str) -> Result<[u64; WORDS], String> {
        let bytes = name.as_bytes();
        if bytes.is_empty() || bytes.len() > MAX_LEN || bytes.contains(&0) {
            return Err(format!(
                "consumer name {name:?} must be 1 ..= {MAX_LEN} bytes of UTF-8 without NUL"
            ));
        }
        let mut padded = [0u8; MAX_LEN];
        padded[..bytes.len()].copy_from_slice(bytes);
        let mut words = [0u64; WORDS];
        for (word, chunk) in words.iter_mut().zip(padded.chunks_exact(8)) {
            *word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        }
        Ok(words)
    }

    /// The name stored in `words`, `None` for an anonymous block (first byte zero). Bytes that
    /// are not UTF-8 (a hostile file) are shown replaced.
    pub fn decode(words: [u64; WORDS]) -> Option<String> {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let len = bytes.iter().position(|&b| b == 0).unwrap_or(MAX_LEN);
        (len > 0).then(|| String::from_utf8_lossy(&bytes[..len]).into_owned())
    }
}

/// The consumer control block.
pub type ConsumerBlock = Line<ConsumerLine>;

/// Offsets inside the producer block, for other languages (see `layout_dump`): each taken from
/// the struct with `offset_of!`, so the struct is the one source.
pub mod producer_block {
    use super::{ProducerBlock, ProducerEntry};
    use std::mem::{offset_of, size_of};
    /// `cursor.published: u64`.
    pub const PUBLISHED_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.published);
    /// `cursor.claim: u64`.
    pub const CLAIM_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.claim);
    /// `cursor.gate: u64`.
    pub const GATE_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.gate);
    /// `cursor.scan: u64`.
    pub const SCAN_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.scan);
    /// `cursor.dropped: u64`.
    pub const DROPPED_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.dropped);
    /// `cursor.abandoned: u64`.
    pub const ABANDONED_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.abandoned);
    /// `cursor.claims: [u64; MAX_PRODUCERS]`, the claim record of entry `i` at `+ 8 i`.
    pub const CLAIM_RECORDS_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.claims);
    /// `cursor.evicted: u64`.
    pub const EVICTED_OFFSET: usize = offset_of!(ProducerBlock, cursor.0.evicted);
    /// `wait.data_futex: u32`.
    pub const DATA_FUTEX_OFFSET: usize = offset_of!(ProducerBlock, wait.0.data_futex);
    /// `wait.data_sleepers: u32`.
    pub const DATA_SLEEPERS_OFFSET: usize = offset_of!(ProducerBlock, wait.0.data_sleepers);
    /// `wait.space_futex: u32`.
    pub const SPACE_FUTEX_OFFSET: usize = offset_of!(ProducerBlock, wait.0.space_futex);
    /// `wait.space_sleepers: u32`.
    pub const SPACE_SLEEPERS_OFFSET: usize = offset_of!(ProducerBlock, wait.0.space_sleepers);
    /// `wait.state: u32`.
    pub const STATE_OFFSET: usize = offset_of!(ProducerBlock, wait.0.state);
    /// `wait.policy: u32`.
    pub const POLICY_OFFSET: usize = offset_of!(ProducerBlock, wait.0.policy);
    /// `wait.data_wakes: u64`.
    pub const DATA_WAKES_OFFSET: usize = offset_of!(ProducerBlock, wait.0.data_wakes);
    /// `wait.space_wakes: u64`.
    pub const SPACE_WAKES_OFFSET: usize = offset_of!(ProducerBlock, wait.0.space_wakes);
    /// `wait.replaced_by: u32` (pid of the replacing process, 0 if not replaced).
    pub const REPLACED_BY_OFFSET: usize = offset_of!(ProducerBlock, wait.0.replaced_by);
    /// The producer table.
    pub const PRODUCERS_OFFSET: usize = offset_of!(ProducerBlock, producers);
    /// Bytes of one producer table entry.
    pub const PRODUCER_ENTRY_LEN: usize = size_of::<ProducerEntry>();
    /// `pid: u32` inside an entry.
    pub const ENTRY_PID_OFFSET: usize = offset_of!(ProducerEntry, pid);
    /// `state: u32` inside an entry.
    pub const ENTRY_STATE_OFFSET: usize = offset_of!(ProducerEntry, state);
    /// `heartbeat_ns: u64` inside an entry.
    pub const ENTRY_HEARTBEAT_OFFSET: usize = offset_of!(ProducerEntry, heartbeat_ns);
}

/// Offsets inside a consumer block, for other languages (see `layout_dump`), from the struct.
pub mod consumer_block {
    use super::ConsumerLine;
    use std::mem::offset_of;
    /// `read: u64`.
    pub const READ_OFFSET: usize = offset_of!(ConsumerLine, read);
    /// `state: u32`.
    pub const STATE_OFFSET: usize = offset_of!(ConsumerLine, state);
    /// `policy: u32`.
    pub const POLICY_OFFSET: usize = offset_of!(ConsumerLine, policy);
    /// `pid: u32`.
    pub const PID_OFFSET: usize = offset_of!(ConsumerLine, pid);
    /// `generation: u32`.
    pub const GENERATION_OFFSET: usize = offset_of!(ConsumerLine, generation);
    /// `heartbeat_ns: u64`.
    pub const HEARTBEAT_OFFSET: usize = offset_of!(ConsumerLine, heartbeat_ns);
    /// `delivered: u64`.
    pub const DELIVERED_OFFSET: usize = offset_of!(ConsumerLine, delivered);
    /// `lost: u64`.
    pub const LOST_OFFSET: usize = offset_of!(ConsumerLine, lost);
    /// `lapped: u64`.
    pub const LAPPED_OFFSET: usize = offset_of!(ConsumerLine, lapped);
    /// `torn: u64`.
    pub const TORN_OFFSET: usize = offset_of!(ConsumerLine, torn);
    /// `name: [u8; 32]` (four u64 words).
    pub const NAME_OFFSET: usize = offset_of!(ConsumerLine, name);
    /// `grace_ns: u64`.
    pub const GRACE_OFFSET: usize = offset_of!(ConsumerLine, grace_ns);
    /// `ownerless_since_ns: u64`.
    pub const OWNERLESS_SINCE_OFFSET: usize = offset_of!(ConsumerLine, ownerless_since_ns);
    /// `wakes: u64`.
    pub const WAKES_OFFSET: usize = offset_of!(ConsumerLine, wakes);
}

// The offsets above come from the structs; what is checked here is what the structs must be for
// other languages to read them: sizes, alignments, and the lines the blocks start on.
#[cfg(not(loom))]
const _: () = {
    use std::mem::{align_of, size_of};
    assert!(size_of::<Header>() == HEADER_LEN);
    assert!(size_of::<Descriptor>() == DESC_LEN);
    assert!(std::mem::offset_of!(Descriptor, stamp) == desc::STAMP_OFFSET);
    assert!(std::mem::offset_of!(Descriptor, len) == desc::LEN_OFFSET);
    assert!(std::mem::offset_of!(Descriptor, kind) == desc::KIND_OFFSET);
    assert!(desc::TIMESTAMP_OFFSET == DESC_LEN && DESC_LEN_TIMESTAMPED == 2 * DESC_LEN);
    // The new header fields sit in version 4's reserved bytes.
    assert!(std::mem::offset_of!(Header, descs_offset) == 120);
    assert!(std::mem::offset_of!(Header, desc_stride) == 128);
    assert!(size_of::<ProducerBlock>() == PRODUCER_BLOCK_LEN);
    assert!(align_of::<ProducerBlock>() == LINE);
    assert!(size_of::<ConsumerBlock>() == CONSUMER_BLOCK_LEN);
    assert!(producer_block::DATA_FUTEX_OFFSET == LINE);
    // The abandoned counter and the claim records live in the cursor line's former padding.
    assert!(producer_block::ABANDONED_OFFSET == 40);
    assert!(producer_block::CLAIM_RECORDS_OFFSET + 8 * MAX_PRODUCERS <= LINE);
    assert!(producer_block::EVICTED_OFFSET == 112);
    // The name, grace and ownerless time live in the consumer line's former padding.
    assert!(consumer_block::NAME_OFFSET == 64 && consumer_block::OWNERLESS_SINCE_OFFSET == 104);
    assert!(consumer_block::WAKES_OFFSET == 112);
    assert!(producer_block::PRODUCERS_OFFSET == 2 * LINE);
    assert!(producer_block::PRODUCER_ENTRY_LEN == 16);
    assert!(CONSUMERS_OFFSET % LINE == 0);
    // Every 8-byte field on an 8-byte boundary (the JVM's VarHandles need it).
    assert!(consumer_block::HEARTBEAT_OFFSET % 8 == 0 && consumer_block::TORN_OFFSET % 8 == 0);
    // Atomics must have the layout of the integers the other languages see.
    assert!(size_of::<AtomicU64>() == 8 && align_of::<AtomicU64>() == 8);
    assert!(size_of::<AtomicU32>() == 4);
};

/// Where everything of one region lives: computed from the three sizes a user chooses, and the
/// only source of offsets at run time (never re-read from the mapping once validated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Number of slots (a power of two).
    pub slot_count: u32,
    /// Payload capacity of one slot.
    pub slot_payload: u32,
    /// Distance between payloads.
    pub slot_stride: u32,
    /// Number of consumer blocks.
    pub max_consumers: u32,
    /// Whether descriptors carry timestamps ([`ring_flags::TIMESTAMPS`]).
    pub timestamps: bool,
    /// Distance between descriptors ([`DESC_LEN`] or [`DESC_LEN_TIMESTAMPED`]).
    pub desc_stride: u32,
    /// Offset of slot 0's descriptor.
    pub descs_offset: u64,
    /// Offset of slot 0's payload.
    pub slots_offset: u64,
    /// Bytes of the region.
    pub total_len: u64,
}

/// Why a set of sizes or a header cannot describe a region.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    /// The magic number is not [`MAGIC`].
    #[error("not a ringflow region: magic is {found:#018x}, expected {MAGIC:#018x}")]
    BadMagic {
        /// What the region holds.
        found: u64,
    },
    /// The region was written by another layout version.
    #[error("unsupported layout version {found}, this build reads version {VERSION}")]
    BadVersion {
        /// What the region holds.
        found: u32,
    },
    /// The region is shorter than its header says (or than a header).
    #[error("region is {actual} bytes but {expected} are required")]
    Truncated {
        /// Bytes present.
        actual: u64,
        /// Bytes the header requires.
        expected: u64,
    },
    /// A header field has a value no valid region has.
    #[error("header field `{field}` is {value}: {reason}")]
    BadField {
        /// Field name.
        field: &'static str,
        /// Value found or asked for.
        value: u64,
        /// What a valid value looks like.
        reason: &'static str,
    },
    /// The region would not fit a JVM `DirectByteBuffer`.
    #[error("region of {len} bytes is too large: it must stay below 2^31 bytes")]
    TooLarge {
        /// Bytes it would take.
        len: u64,
    },
    /// The mapping does not start on a line boundary.
    #[error("region base address {addr:#x} is not {LINE}-byte aligned")]
    Misaligned {
        /// The base address.
        addr: usize,
    },
}

fn bad(field: &'static str, value: u64, reason: &'static str) -> LayoutError {
    LayoutError::BadField {
        field,
        value,
        reason,
    }
}

impl Geometry {
    /// Computes the layout for the given sizes (and whether descriptors keep timestamps), or
    /// says which size is out of range.
    pub fn new(
        slot_count: u32,
        slot_payload: u32,
        max_consumers: u32,
        timestamps: bool,
    ) -> Result<Self, LayoutError> {
        if !slot_count.is_power_of_two() || !(MIN_SLOTS..=MAX_SLOTS).contains(&slot_count) {
            return Err(bad(
                "slot_count",
                slot_count.into(),
                "must be a power of two in 2 ..= 2^24",
            ));
        }
        if max_consumers == 0 || max_consumers as usize > MAX_CONSUMERS {
            return Err(bad(
                "max_consumers",
                max_consumers.into(),
                "must be in 1 ..= 256",
            ));
        }
        // u64 arithmetic throughout: none of it can overflow with u32 inputs.
        let stride = u64::from(slot_payload).next_multiple_of(PAYLOAD_ALIGN as u64);
        if stride >= MAX_REGION_LEN {
            return Err(LayoutError::TooLarge { len: stride });
        }
        let desc_stride = if timestamps {
            DESC_LEN_TIMESTAMPED
        } else {
            DESC_LEN
        } as u64;
        let descs_offset = (CONSUMERS_OFFSET as u64
            + u64::from(max_consumers) * CONSUMER_BLOCK_LEN as u64)
            .next_multiple_of(LINE as u64);
        let slots_offset =
            (descs_offset + desc_stride * u64::from(slot_count)).next_multiple_of(LINE as u64);
        let total_len = slots_offset + stride * u64::from(slot_count);
        if total_len >= MAX_REGION_LEN {
            return Err(LayoutError::TooLarge { len: total_len });
        }
        Ok(Geometry {
            slot_count,
            slot_payload,
            slot_stride: stride as u32,
            max_consumers,
            timestamps,
            desc_stride: desc_stride as u32,
            descs_offset,
            slots_offset,
            total_len,
        })
    }

    /// Validates a header read from a region of `actual_len` bytes: every field that fixes a
    /// position must equal what [`Geometry::new`] computes from the sizes, and the region must be
    /// exactly as long as the header says.
    pub fn validate(header: &Header, actual_len: u64) -> Result<Self, LayoutError> {
        if header.magic != MAGIC {
            return Err(LayoutError::BadMagic {
                found: header.magic,
            });
        }
        if header.version != VERSION {
            return Err(LayoutError::BadVersion {
                found: header.version,
            });
        }
        if header.header_len as usize != HEADER_LEN {
            return Err(bad("header_len", header.header_len.into(), "must be 256"));
        }
        if header.flags & !ring_flags::KNOWN != 0 {
            return Err(bad(
                "flags",
                header.flags,
                "has bits this version does not define (only bit 0, overwritable, and bit 1, \
                 timestamps)",
            ));
        }
        let g = Geometry::new(
            header.slot_count,
            header.slot_payload,
            header.max_consumers,
            header.flags & ring_flags::TIMESTAMPS != 0,
        )?;
        if u64::from(header.slot_stride) != u64::from(g.slot_stride) {
            return Err(bad(
                "slot_stride",
                header.slot_stride.into(),
                "must be slot_payload rounded up to 16",
            ));
        }
        if header.desc_stride != g.desc_stride {
            return Err(bad(
                "desc_stride",
                header.desc_stride.into(),
                "must be 16, or 32 on a ring with timestamps",
            ));
        }
        if header.descs_offset != g.descs_offset {
            return Err(bad(
                "descs_offset",
                header.descs_offset,
                "must follow the consumer blocks, aligned to 128",
            ));
        }
        if header.producer_offset != PRODUCER_OFFSET as u64 {
            return Err(bad(
                "producer_offset",
                header.producer_offset,
                "must be 256",
            ));
        }
        if header.consumers_offset != CONSUMERS_OFFSET as u64 {
            return Err(bad(
                "consumers_offset",
                header.consumers_offset,
                "must be 640",
            ));
        }
        if header.slots_offset != g.slots_offset {
            return Err(bad(
                "slots_offset",
                header.slots_offset,
                "must follow the descriptors, aligned to 128",
            ));
        }
        if header.total_len != g.total_len {
            return Err(bad(
                "total_len",
                header.total_len,
                "must equal slots_offset + slot_count * slot_stride",
            ));
        }
        if actual_len < g.total_len {
            return Err(LayoutError::Truncated {
                actual: actual_len,
                expected: g.total_len,
            });
        }
        if actual_len > g.total_len {
            return Err(bad(
                "total_len",
                header.total_len,
                "is smaller than the file: trailing bytes",
            ));
        }
        if header.producer_mode > producer_mode::MULTI {
            return Err(bad(
                "producer_mode",
                header.producer_mode.into(),
                "must be 0 (single) or 1 (multi)",
            ));
        }
        if header.schema_id > schema_id::TELEMETRY {
            return Err(bad(
                "schema_id",
                header.schema_id.into(),
                "must be 0 (raw), 1 (audio) or 2 (telemetry)",
            ));
        }
        if header.audio_sample_format > sample_format::I32 {
            return Err(bad(
                "audio_sample_format",
                header.audio_sample_format.into(),
                "must be 0 ..= 3",
            ));
        }
        Ok(g)
    }

    /// Offset of the payload of the slot that holds sequence `seq`.
    #[inline]
    pub fn payload_offset(&self, seq: u64) -> usize {
        let index = seq & u64::from(self.slot_count - 1);
        // Cannot overflow: slots_offset + slot_count * stride < 2^31 (checked in `new`).
        (self.slots_offset + index * u64::from(self.slot_stride)) as usize
    }

    /// Offset of the descriptor of the slot that holds sequence `seq`.
    #[inline]
    pub fn desc_offset(&self, seq: u64) -> usize {
        let index = seq & u64::from(self.slot_count - 1);
        // Cannot overflow: it lies below slots_offset (checked in `new`).
        (self.descs_offset + index * u64::from(self.desc_stride)) as usize
    }

    /// Offset of consumer block `index`.
    #[inline]
    pub fn consumer_offset(&self, index: usize) -> usize {
        debug_assert!(index < self.max_consumers as usize);
        CONSUMERS_OFFSET + index * CONSUMER_BLOCK_LEN
    }
}

/// Every value another language needs to read or write a region, by name: offsets (from the
/// structs), sizes, and every code stored in it. `layout_dump` prints this table; Kotlin's
/// `Layout.kt` is held against it by `LayoutTest`, and the C consumer test against it through
/// `ringflow-stream layout`.
#[cfg(not(loom))]
pub fn wire_values() -> Vec<(&'static str, u64)> {
    use std::mem::offset_of;
    let h = |o: usize| o as u64;
    vec![
        ("MAGIC", MAGIC),
        ("VERSION", VERSION.into()),
        ("HEADER_LEN", HEADER_LEN as u64),
        ("LINE", LINE as u64),
        ("HEADER_VERSION_OFFSET", h(offset_of!(Header, version))),
        ("HEADER_TOTAL_LEN_OFFSET", h(offset_of!(Header, total_len))),
        (
            "HEADER_SLOT_COUNT_OFFSET",
            h(offset_of!(Header, slot_count)),
        ),
        (
            "HEADER_SLOT_PAYLOAD_OFFSET",
            h(offset_of!(Header, slot_payload)),
        ),
        (
            "HEADER_SLOT_STRIDE_OFFSET",
            h(offset_of!(Header, slot_stride)),
        ),
        (
            "HEADER_MAX_CONSUMERS_OFFSET",
            h(offset_of!(Header, max_consumers)),
        ),
        (
            "HEADER_PRODUCER_MODE_OFFSET",
            h(offset_of!(Header, producer_mode)),
        ),
        ("HEADER_SCHEMA_ID_OFFSET", h(offset_of!(Header, schema_id))),
        (
            "HEADER_AUDIO_SAMPLE_RATE_OFFSET",
            h(offset_of!(Header, audio_sample_rate)),
        ),
        (
            "HEADER_AUDIO_CHANNELS_OFFSET",
            h(offset_of!(Header, audio_channels)),
        ),
        (
            "HEADER_AUDIO_SAMPLE_FORMAT_OFFSET",
            h(offset_of!(Header, audio_sample_format)),
        ),
        (
            "HEADER_AUDIO_SAMPLES_PER_FRAME_OFFSET",
            h(offset_of!(Header, audio_samples_per_frame)),
        ),
        (
            "HEADER_TELEMETRY_VERSION_OFFSET",
            h(offset_of!(Header, telemetry_schema_version)),
        ),
        ("HEADER_OWNER_PID_OFFSET", h(offset_of!(Header, owner_pid))),
        (
            "HEADER_CREATED_OFFSET",
            h(offset_of!(Header, created_unix_ns)),
        ),
        ("HEADER_EPOCH_OFFSET", h(offset_of!(Header, epoch))),
        (
            "HEADER_SLOTS_OFFSET_OFFSET",
            h(offset_of!(Header, slots_offset)),
        ),
        ("HEADER_FLAGS_OFFSET", h(offset_of!(Header, flags))),
        (
            "HEADER_DESCS_OFFSET_OFFSET",
            h(offset_of!(Header, descs_offset)),
        ),
        (
            "HEADER_DESC_STRIDE_OFFSET",
            h(offset_of!(Header, desc_stride)),
        ),
        ("RING_FLAG_OVERWRITABLE", ring_flags::OVERWRITABLE),
        ("RING_FLAG_TIMESTAMPS", ring_flags::TIMESTAMPS),
        ("PRODUCER_MODE_SINGLE", producer_mode::SINGLE.into()),
        ("PRODUCER_MODE_MULTI", producer_mode::MULTI.into()),
        ("SCHEMA_RAW", schema_id::RAW.into()),
        ("SCHEMA_AUDIO", schema_id::AUDIO.into()),
        ("SCHEMA_TELEMETRY", schema_id::TELEMETRY.into()),
        ("SAMPLE_FORMAT_NONE", sample_format::NONE.into()),
        ("SAMPLE_FORMAT_F32", sample_format::F32.into()),
        ("SAMPLE_FORMAT_I16", sample_format::I16.into()),
        ("SAMPLE_FORMAT_I32", sample_format::I32.into()),
        ("PRODUCER_OFFSET", PRODUCER_OFFSET as u64),
        ("CONSUMERS_OFFSET", CONSUMERS_OFFSET as u64),
        ("CONSUMER_BLOCK_LEN", CONSUMER_BLOCK_LEN as u64),
        ("MAX_PRODUCERS", MAX_PRODUCERS as u64),
        ("PUBLISHED_OFFSET", h(producer_block::PUBLISHED_OFFSET)),
        ("CLAIM_OFFSET", h(producer_block::CLAIM_OFFSET)),
        ("GATE_OFFSET", h(producer_block::GATE_OFFSET)),
        ("SCAN_OFFSET", h(producer_block::SCAN_OFFSET)),
        ("DROPPED_OFFSET", h(producer_block::DROPPED_OFFSET)),
        ("ABANDONED_OFFSET", h(producer_block::ABANDONED_OFFSET)),
        ("EVICTED_OFFSET", h(producer_block::EVICTED_OFFSET)),
        (
            "CLAIM_RECORDS_OFFSET",
            h(producer_block::CLAIM_RECORDS_OFFSET),
        ),
        ("CLAIM_RECORD_STATE_SHIFT", claim_record::STATE_SHIFT.into()),
        ("CLAIM_RECORD_OPEN", claim_record::OPEN),
        ("CLAIM_RECORD_COMMITTING", claim_record::COMMITTING),
        ("CLAIM_RECORD_REPAIRING", claim_record::REPAIRING),
        ("DATA_FUTEX_OFFSET", h(producer_block::DATA_FUTEX_OFFSET)),
        (
            "DATA_SLEEPERS_OFFSET",
            h(producer_block::DATA_SLEEPERS_OFFSET),
        ),
        ("SPACE_FUTEX_OFFSET", h(producer_block::SPACE_FUTEX_OFFSET)),
        (
            "SPACE_SLEEPERS_OFFSET",
            h(producer_block::SPACE_SLEEPERS_OFFSET),
        ),
        ("STATE_OFFSET", h(producer_block::STATE_OFFSET)),
        ("POLICY_OFFSET", h(producer_block::POLICY_OFFSET)),
        ("DATA_WAKES_OFFSET", h(producer_block::DATA_WAKES_OFFSET)),
        ("SPACE_WAKES_OFFSET", h(producer_block::SPACE_WAKES_OFFSET)),
        ("REPLACED_BY_OFFSET", h(producer_block::REPLACED_BY_OFFSET)),
        ("PRODUCERS_OFFSET", h(producer_block::PRODUCERS_OFFSET)),
        ("PRODUCER_ENTRY_LEN", h(producer_block::PRODUCER_ENTRY_LEN)),
        (
            "PRODUCER_ENTRY_PID_OFFSET",
            h(producer_block::ENTRY_PID_OFFSET),
        ),
        (
            "PRODUCER_ENTRY_STATE_OFFSET",
            h(producer_block::ENTRY_STATE_OFFSET),
        ),
        (
            "PRODUCER_ENTRY_HEARTBEAT_OFFSET",
            h(producer_block::ENTRY_HEARTBEAT_OFFSET),
        ),
        ("RING_STATE_OPEN", ring_state::OPEN.into()),
        ("RING_STATE_CLOSED", ring_state::CLOSED.into()),
        ("PRODUCER_STATE_FREE", producer_state::FREE.into()),
        ("PRODUCER_STATE_ATTACHED", producer_state::ATTACHED.into()),
        ("FULL_POLICY_BLOCK", full_policy::BLOCK.into()),
        ("FULL_POLICY_FAIL", full_policy::FAIL.into()),
        ("FULL_POLICY_OVERWRITE", full_policy::OVERWRITE.into()),
        ("FUTEX_ARMED", crate::sleep::ARMED.into()),
        ("CONSUMER_READ_OFFSET", h(consumer_block::READ_OFFSET)),
        ("CONSUMER_STATE_OFFSET", h(consumer_block::STATE_OFFSET)),
        ("CONSUMER_POLICY_OFFSET", h(consumer_block::POLICY_OFFSET)),
        ("CONSUMER_PID_OFFSET", h(consumer_block::PID_OFFSET)),
        (
            "CONSUMER_GENERATION_OFFSET",
            h(consumer_block::GENERATION_OFFSET),
        ),
        (
            "CONSUMER_HEARTBEAT_OFFSET",
            h(consumer_block::HEARTBEAT_OFFSET),
        ),
        (
            "CONSUMER_DELIVERED_OFFSET",
            h(consumer_block::DELIVERED_OFFSET),
        ),
        ("CONSUMER_LOST_OFFSET", h(consumer_block::LOST_OFFSET)),
        ("CONSUMER_LAPPED_OFFSET", h(consumer_block::LAPPED_OFFSET)),
        ("CONSUMER_TORN_OFFSET", h(consumer_block::TORN_OFFSET)),
        ("CONSUMER_NAME_OFFSET", h(consumer_block::NAME_OFFSET)),
        ("CONSUMER_NAME_MAX_LEN", consumer_name::MAX_LEN as u64),
        ("CONSUMER_GRACE_OFFSET", h(consumer_block::GRACE_OFFSET)),
        (
            "CONSUMER_OWNERLESS_SINCE_OFFSET",
            h(consumer_block::OWNERLESS_SINCE_OFFSET),
        ),
        ("CONSUMER_WAKES_OFFSET", h(consumer_block::WAKES_OFFSET)),
        ("CONSUMER_STATE_FREE", consumer_state::FREE.into()),
        ("CONSUMER_STATE_CLAIMING", consumer_state::CLAIMING.into()),
        ("CONSUMER_STATE_ACTIVE", consumer_state::ACTIVE.into()),
        ("CONSUMER_STATE_EVICTED", consumer_state::EVICTED.into()),
        ("DELIVERY_LOSSLESS", delivery::LOSSLESS.into()),
        ("DELIVERY_LOSSY", delivery::LOSSY.into()),
        ("HEARTBEAT_EVERY", crate::consumer::core::HEARTBEAT_EVERY),
        (
            "SPIN_BUDGET_NS",
            crate::sync::Backoff::SPIN_BUDGET.as_nanos() as u64,
        ),
        (
            "AFTER_WAKE_BUDGET_NS",
            crate::sync::Backoff::AFTER_WAKE_BUDGET.as_nanos() as u64,
        ),
        ("DESC_LEN", DESC_LEN as u64),
        ("DESC_LEN_TIMESTAMPED", DESC_LEN_TIMESTAMPED as u64),
        ("PAYLOAD_ALIGN", PAYLOAD_ALIGN as u64),
        ("DESC_STAMP_OFFSET", h(desc::STAMP_OFFSET)),
        ("DESC_LEN_OFFSET", h(desc::LEN_OFFSET)),
        ("DESC_KIND_OFFSET", h(desc::KIND_OFFSET)),
        ("DESC_TIMESTAMP_OFFSET", h(desc::TIMESTAMP_OFFSET)),
        ("KIND_SKIP", kind_flags::SKIP.into()),
        ("KIND_USER_MASK", kind_flags::USER_MASK.into()),
        ("MAX_SEQ", stamp::MAX_SEQ),
    ]
}

/// The layout as `NAME=value` lines ([`wire_values`]), for other languages' layout tests.
#[cfg(not(loom))]
pub fn layout_dump() -> String {
    wire_values()
        .into_iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn geometry_of_a_small_ring() {
        let g = Geometry::new(4, 64, 2, false).unwrap();
        assert_eq!(g.slot_stride, 64);
        assert_eq!(g.desc_stride, 16);
        assert_eq!(g.descs_offset, 640 + 2 * 128);
        // Four 16-byte descriptors, rounded up to a 128-byte line.
        assert_eq!(g.slots_offset, 896 + 128);
        assert_eq!(g.total_len, 1024 + 4 * 64);
        assert_eq!(g.payload_offset(5), 1024 + 64);
        assert_eq!(g.desc_offset(5), 896 + 16);
    }

    #[test]
    fn timestamps_double_the_descriptor() {
        let g = Geometry::new(16, 100, 1, true).unwrap();
        assert_eq!(g.desc_stride, 32);
        assert_eq!(g.slot_stride, 112);
        assert_eq!(g.descs_offset, 768);
        assert_eq!(g.slots_offset, 768 + 16 * 32);
        assert_eq!(g.desc_offset(17) + desc::TIMESTAMP_OFFSET, 768 + 32 + 16);
    }

    #[test]
    fn every_eight_byte_field_is_eight_aligned() {
        for timestamps in [false, true] {
            let g = Geometry::new(8, 100, 3, timestamps).unwrap();
            assert_eq!(g.slots_offset % 128, 0);
            assert_eq!(g.descs_offset % 128, 0);
            assert_eq!(u64::from(g.slot_stride) % 16, 0);
            assert_eq!(g.desc_offset(3) % 8, 0);
            assert_eq!((g.desc_offset(3) + desc::TIMESTAMP_OFFSET) % 8, 0);
        }
    }

    #[test]
    fn rejects_sizes_out_of_range() {
        assert!(matches!(
            Geometry::new(3, 64, 1, false),
            Err(LayoutError::BadField {
                field: "slot_count",
                ..
            })
        ));
        assert!(matches!(
            Geometry::new(1 << 25, 64, 1, false),
            Err(LayoutError::BadField { .. })
        ));
        assert!(matches!(
            Geometry::new(4, 64, 0, false),
            Err(LayoutError::BadField {
                field: "max_consumers",
                ..
            })
        ));
        assert!(matches!(
            Geometry::new(1 << 20, 4096, 1, false),
            Err(LayoutError::TooLarge { .. })
        ));
        assert!(matches!(
            Geometry::new(2, u32::MAX, 1, false),
            Err(LayoutError::TooLarge { .. })
        ));
    }

    #[test]
    fn dump_names_every_offset_once() {
        let dump = layout_dump();
        assert!(dump.contains("DESC_TIMESTAMP_OFFSET=16\n"));
        assert!(dump.contains("CONSUMERS_OFFSET=640\n"));
        let names: Vec<&str> = dump.lines().map(|l| l.split('=').next().unwrap()).collect();
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
    }
}
