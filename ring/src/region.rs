//! The mapped region: creating, opening and validating it, and handing its words to the
//! protocols. Anonymous mappings serve one process; file-backed ones (in `/dev/shm` by default)
//! serve any process that opens the same file.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use memmap2::{MmapOptions, MmapRaw};

use crate::consumer::{AnyConsumer, Consumer, Delivery, LossyConsumer, Start};
use crate::error::{Error, Result};
use crate::layout::{
    self, producer_mode, ring_flags, ring_state, sample_format, schema_id, ConsumerLine, Geometry,
    Header, LayoutError, ProducerBlock, HEADER_LEN, LINE, MAGIC, MAX_REGION_LEN, PRODUCER_OFFSET,
    VERSION,
};
use crate::liveness;
use crate::lock::ParticipantLocks;
use crate::mem::{Attachment, RingMem};
use crate::producer::{Producer, ProducerOptions};
use crate::publish::TempRing;
use crate::stats::{Participant, RingStats};
use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::wait::{self, Scope};

/// Sample formats of audio frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SampleFormat {
    /// 32-bit float.
    F32,
    /// 16-bit signed integer.
    I16,
    /// 32-bit signed integer.
    I32,
    /// 24-bit signed integer, packed in 3 bytes, little-endian.
    I24,
}

impl SampleFormat {
    /// Bytes of one sample.
    pub fn bytes(self) -> u32 {
        match self {
            SampleFormat::I16 => 2,
            SampleFormat::I24 => 3,
            SampleFormat::F32 | SampleFormat::I32 => 4,
        }
    }

    fn code(self) -> u32 {
        match self {
            SampleFormat::F32 => sample_format::F32,
            SampleFormat::I16 => sample_format::I16,
            SampleFormat::I32 => sample_format::I32,
            SampleFormat::I24 => sample_format::I24,
        }
    }
}

/// The shape of PCM audio frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioFormat {
    /// Frames per second, e.g. 48000.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u32,
    /// Sample encoding.
    pub format: SampleFormat,
    /// Samples per channel in one ring frame (480 at 48 kHz is 10 ms).
    pub samples_per_frame: u32,
}

impl AudioFormat {
    /// Payload bytes one frame of this format takes.
    pub fn frame_bytes(&self) -> u64 {
        u64::from(self.channels)
            * u64::from(self.samples_per_frame)
            * u64::from(self.format.bytes())
    }
}

/// What the frames of a ring hold, recorded in its header for every reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Schema {
    /// Opaque bytes.
    #[default]
    Raw,
    /// PCM audio.
    Audio(AudioFormat),
    /// Game-style telemetry events of the given schema version.
    Telemetry {
        /// Event schema version.
        version: u32,
    },
}

impl Schema {
    /// The schema a validated header records.
    pub(crate) fn of(h: &Header) -> Schema {
        match h.schema_id {
            schema_id::AUDIO => Schema::Audio(AudioFormat {
                sample_rate: h.audio_sample_rate,
                channels: h.audio_channels,
                format: match h.audio_sample_format {
                    sample_format::I16 => SampleFormat::I16,
                    sample_format::I32 => SampleFormat::I32,
                    sample_format::I24 => SampleFormat::I24,
                    // F32; open refused every other value before this runs.
                    _ => SampleFormat::F32,
                },
                samples_per_frame: h.audio_samples_per_frame,
            }),
            schema_id::TELEMETRY => Schema::Telemetry {
                version: h.telemetry_schema_version,
            },
            _ => Schema::Raw,
        }
    }
}

/// The sizes and modes of a new ring.
///
/// ```
/// use ringflow::RingConfig;
/// let config = RingConfig::new(1024, 256).max_consumers(4).multi_producer(true);
/// assert_eq!(config.slots, 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingConfig {
    /// Number of slots, a power of two in `2 ..= 2^24`.
    pub slots: u32,
    /// Payload capacity of one slot in bytes.
    pub slot_size: u32,
    /// Consumer blocks (readers that can be registered at once), `1 ..= 256`.
    pub max_consumers: u32,
    /// Whether several producer handles may write at once.
    pub multi_producer: bool,
    /// Whether producers with the `overwrite` policy may attach (recorded in the header; see
    /// [`RingConfig::overwritable`]).
    pub overwritable: bool,
    /// Whether frames carry a producer timestamp (see [`RingConfig::timestamps`]).
    pub timestamps: bool,
    /// What the frames hold.
    pub schema: Schema,
}

impl RingConfig {
    /// `slots` slots of `slot_size` payload bytes, 8 consumers, single producer, raw frames
    /// with timestamps.
    pub fn new(slots: u32, slot_size: u32) -> Self {
        RingConfig {
            slots,
            slot_size,
            max_consumers: 8,
            multi_producer: false,
            overwritable: false,
            timestamps: true,
            schema: Schema::Raw,
        }
    }

    /// Whether each frame carries its producer's `CLOCK_MONOTONIC` nanoseconds at commit (on by
    /// default; the engine's latency figures need them). Off, each slot's descriptor shrinks
    /// from 32 to 16 bytes, so one 64-byte line holds four slots' descriptors instead of two,
    /// and a commit reads no clock: the setting for small frames at full speed. Readers of a
    /// ring without timestamps see 0.
    ///
    /// ```
    /// use ringflow::{ProducerOptions, Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16).timestamps(false))?;
    /// let mut consumer = ring.consumer()?;
    /// ring.producer(ProducerOptions::default())?.push(b"no clock read")?;
    /// assert_eq!(consumer.poll()?.unwrap().timestamp_ns(), 0);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn timestamps(mut self, on: bool) -> Self {
        self.timestamps = on;
        self
    }

    /// Lets producers with [`FullPolicy::Overwrite`](crate::FullPolicy::Overwrite) attach. A
    /// frame of such a ring may be rewritten while a reader holds it, so every reader of it
    /// (lossless ones too) copies and checks, or uses the `unsafe` views; on a ring created
    /// without it, an `overwrite` producer is refused with [`Error::NotOverwritable`] and a
    /// lossless reader's views are never written under it.
    ///
    /// ```
    /// use ringflow::{Error, FullPolicy, ProducerOptions, Ring, RingConfig};
    /// let overwrite = ProducerOptions::new(FullPolicy::Overwrite);
    /// let plain = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// assert!(matches!(plain.producer(overwrite), Err(Error::NotOverwritable)));
    /// let audio = Ring::anonymous(&RingConfig::new(4, 16).overwritable(true))?;
    /// assert!(audio.producer(overwrite).is_ok());
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn overwritable(mut self, on: bool) -> Self {
        self.overwritable = on;
        self
    }

    /// Sets the number of consumer blocks.
    pub fn max_consumers(mut self, n: u32) -> Self {
        self.max_consumers = n;
        self
    }

    /// Allows several producer handles at once.
    pub fn multi_producer(mut self, multi: bool) -> Self {
        self.multi_producer = multi;
        self
    }

    /// Sets the frame schema.
    pub fn schema(mut self, schema: Schema) -> Self {
        self.schema = schema;
        self
    }

    /// The layout these sizes give, or why they give none.
    pub fn geometry(&self) -> Result<Geometry> {
        let g = Geometry::new(
            self.slots,
            self.slot_size,
            self.max_consumers,
            self.timestamps,
        )?;
        if let Schema::Audio(audio) = self.schema {
            if audio.channels == 0 || audio.sample_rate == 0 || audio.samples_per_frame == 0 {
                return Err(Error::InvalidArgument(format!(
                    "audio format has a zero field: {audio:?}"
                )));
            }
            if audio.frame_bytes() > u64::from(self.slot_size) {
                return Err(Error::InvalidArgument(format!(
                    "an audio frame takes {} bytes but slots hold {}",
                    audio.frame_bytes(),
                    self.slot_size
                )));
            }
        }
        Ok(g)
    }

    /// What differs between this configuration and `ring` (one `field found (wanted asked)`
    /// per difference), or `None` if `ring` has the shape asked for.
    ///
    /// ```
    /// use ringflow::{Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// assert_eq!(RingConfig::new(4, 16).differences(&ring), None);
    /// assert_eq!(
    ///     RingConfig::new(8, 16).multi_producer(true).differences(&ring).unwrap(),
    ///     "slots 4 (wanted 8), multi-producer no (wanted yes)"
    /// );
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn differences(&self, ring: &Ring) -> Option<String> {
        let h = ring.header();
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        let mut out = Vec::new();
        let mut differ = |field: &str, found: String, wanted: String| {
            if found != wanted {
                out.push(format!("{field} {found} (wanted {wanted})"));
            }
        };
        differ("slots", h.slot_count.to_string(), self.slots.to_string());
        differ(
            "slot size",
            h.slot_payload.to_string(),
            self.slot_size.to_string(),
        );
        differ(
            "consumers",
            h.max_consumers.to_string(),
            self.max_consumers.to_string(),
        );
        differ(
            "multi-producer",
            yes_no(h.producer_mode == producer_mode::MULTI).into(),
            yes_no(self.multi_producer).into(),
        );
        differ(
            "overwritable",
            yes_no(ring.is_overwritable()).into(),
            yes_no(self.overwritable).into(),
        );
        differ(
            "timestamps",
            yes_no(h.flags & ring_flags::TIMESTAMPS != 0).into(),
            yes_no(self.timestamps).into(),
        );
        differ(
            "schema",
            format!("{:?}", ring.schema()),
            format!("{:?}", self.schema),
        );
        (!out.is_empty()).then(|| out.join(", "))
    }

    fn header(&self, g: &Geometry) -> Header {
        let mut h = Header {
            magic: 0, // written last, see `Ring::init`
            version: VERSION,
            header_len: HEADER_LEN as u32,
            total_len: g.total_len,
            slot_count: g.slot_count,
            slot_payload: g.slot_payload,
            slot_stride: g.slot_stride,
            max_consumers: g.max_consumers,
            producer_mode: if self.multi_producer {
                producer_mode::MULTI
            } else {
                producer_mode::SINGLE
            },
            schema_id: schema_id::RAW,
            audio_sample_rate: 0,
            audio_channels: 0,
            audio_sample_format: sample_format::NONE,
            audio_samples_per_frame: 0,
            telemetry_schema_version: 0,
            owner_pid: liveness::current_pid(),
            created_unix_ns: liveness::realtime_ns(),
            epoch: 0,
            producer_offset: layout::PRODUCER_OFFSET as u64,
            consumers_offset: layout::CONSUMERS_OFFSET as u64,
            slots_offset: g.slots_offset,
            flags: if self.overwritable {
                ring_flags::OVERWRITABLE
            } else {
                0
            } | if g.timestamps {
                ring_flags::TIMESTAMPS
            } else {
                0
            },
            descs_offset: g.descs_offset,
            desc_stride: g.desc_stride,
            reserved32: 0,
            reserved: [0; 15],
        };
        // Unique enough to tell two creations apart: wall time, pid and the mapping's address.
        h.epoch = h.created_unix_ns
            ^ (u64::from(h.owner_pid) << 40)
            ^ u64::from(liveness::monotonic_ns() as u32);
        match self.schema {
            Schema::Raw => {}
            Schema::Audio(a) => {
                h.schema_id = schema_id::AUDIO;
                h.audio_sample_rate = a.sample_rate;
                h.audio_channels = a.channels;
                h.audio_sample_format = a.format.code();
                h.audio_samples_per_frame = a.samples_per_frame;
            }
            Schema::Telemetry { version } => {
                h.schema_id = schema_id::TELEMETRY;
                h.telemetry_schema_version = version;
            }
        }
        h
    }
}

/// The hot path's view of a ring's geometry, precomputed: slot 0's payload and descriptor,
/// `slot_count - 1`, the payload stride, the descriptor stride as a shift, the payload capacity
/// and whether descriptors carry timestamps (a payload's address is one mask, one multiply, one
/// add; a descriptor's one mask, one shift, one add).
///
/// A copy lives in each handle as well as in [`Shared`]: a hot loop then keeps it in registers.
/// Read through the `Arc<Shared>`, the compiler loads it again after every store to the mapping,
/// which it cannot tell apart from these fields. Its pointers are addresses only: whoever
/// dereferences them holds the `Arc<Shared>` it was copied from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotMap {
    slots: *mut u8,
    descs: *mut u8,
    mask: u64,
    stride: usize,
    desc_shift: u32,
    payload: usize,
    timestamps: bool,
}

// SAFETY: two addresses and numbers; the addresses are dereferenced only by a holder of the
// mapping's `Arc<Shared>`, which is itself `Send` and `Sync`.
unsafe impl Send for SlotMap {}
// SAFETY: as for `Send`.
unsafe impl Sync for SlotMap {}

impl SlotMap {
    /// Address of the payload of the slot that holds frame `seq`.
    #[inline(always)]
    pub(crate) fn payload_ptr(&self, seq: u64) -> *mut u8 {
        // `slots_offset + (seq & mask) * stride` is below `slots_offset + slot_count *
        // slot_stride == total_len`, the mapping's length (validated when it was created or
        // opened): the `Geometry::payload_offset` computation.
        self.slots
            .wrapping_add((seq & self.mask) as usize * self.stride)
    }

    /// Address of the descriptor of the slot that holds frame `seq`.
    #[inline(always)]
    pub(crate) fn desc_ptr(&self, seq: u64) -> *mut u8 {
        // `descs_offset + ((seq & mask) << shift)` is below `descs_offset + slot_count *
        // desc_stride <= slots_offset`, inside the mapping: `Geometry::desc_offset`.
        self.descs
            .wrapping_add(((seq & self.mask) as usize) << self.desc_shift)
    }

    /// The stamp word of the slot that holds frame `seq` (the descriptor's first field).
    ///
    /// The reference is unbounded: its holder must hold the mapping's `Arc<Shared>` while it
    /// uses it, as for the addresses.
    #[inline(always)]
    pub(crate) fn stamp<'a>(&self, seq: u64) -> &'a AtomicU64 {
        // SAFETY: as in `Shared::stamp`: 8-aligned, inside the mapping, only accessed atomically.
        unsafe { AtomicU64::from_ptr(self.desc_ptr(seq).cast::<u64>()) }
    }

    /// Payload bytes one slot holds.
    #[inline(always)]
    pub(crate) fn slot_payload(&self) -> usize {
        self.payload
    }

    /// Whether descriptors carry timestamps.
    #[inline(always)]
    pub(crate) fn timestamps(&self) -> bool {
        self.timestamps
    }
}

/// The mapping and what was validated about it. Every protocol reaches the region through this.
pub(crate) struct Shared {
    /// Keeps the mapping alive; `base` points into it.
    _map: MmapRaw,
    base: *mut u8,
    /// The hot path's view of the geometry (see [`SlotMap`]).
    map: SlotMap,
    geometry: Geometry,
    header: Header,
    scope: Scope,
    path: Option<PathBuf>,
    /// The liveness locks of a file-backed ring (`lock.rs`); `None` for an anonymous one (or a
    /// file this process may not open for writing: pid liveness then).
    locks: Option<ParticipantLocks>,
    /// Serializes this mapping's registrations and attaches (see `RingMem::registering`).
    registering: std::sync::Mutex<()>,
}

// SAFETY: `base` points into `_map`, which lives as long as `Shared`; every byte other threads or
// processes may write concurrently is accessed atomically or under the seqlock of `consumer/`,
// so sharing `Shared` between threads adds nothing a second process could not do.
unsafe impl Send for Shared {}
// SAFETY: as for `Send`.
unsafe impl Sync for Shared {}

impl Shared {
    fn new(
        map: MmapRaw,
        geometry: Geometry,
        header: Header,
        scope: Scope,
        path: Option<PathBuf>,
        locks: Option<ParticipantLocks>,
    ) -> Result<Self> {
        let base = map.as_mut_ptr();
        if base as usize % LINE != 0 {
            return Err(LayoutError::Misaligned {
                addr: base as usize,
            }
            .into());
        }
        debug_assert!(map.len() as u64 == geometry.total_len);
        Ok(Shared {
            _map: map,
            base,
            map: SlotMap {
                // SAFETY: `slots_offset` lies inside the mapping (validated with the geometry).
                slots: unsafe { base.add(geometry.slots_offset as usize) },
                // SAFETY: as for `slots`.
                descs: unsafe { base.add(geometry.descs_offset as usize) },
                mask: u64::from(geometry.slot_count - 1),
                stride: geometry.slot_stride as usize,
                desc_shift: geometry.desc_stride.trailing_zeros(),
                payload: geometry.slot_payload as usize,
                timestamps: geometry.timestamps,
            },
            geometry,
            header,
            scope,
            locks,
            path,
            registering: std::sync::Mutex::new(()),
        })
    }

    /// The byte whose lock says `who` is attached: the first byte of its block.
    fn lock_offset(&self, who: Attachment) -> usize {
        match who {
            Attachment::Producer(i) => {
                PRODUCER_OFFSET
                    + layout::producer_block::PRODUCERS_OFFSET
                    + i * layout::producer_block::PRODUCER_ENTRY_LEN
            }
            Attachment::Consumer(i) => self.geometry.consumer_offset(i),
            // The first byte of the `abandoned` counter, which repairers count in.
            Attachment::Repairer => PRODUCER_OFFSET + layout::producer_block::ABANDONED_OFFSET,
            // The first byte of the `dropped` counter.
            Attachment::Naming => PRODUCER_OFFSET + layout::producer_block::DROPPED_OFFSET,
        }
    }

    pub(crate) fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// The header as validated when the region was mapped.
    pub(crate) fn header(&self) -> &Header {
        &self.header
    }

    /// The backing file, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Maps and validates an opened ring file: magic, version, sizes and length against the file,
    /// before anything else is read. A `ReadOnly` mapping's pages are mapped without write
    /// permission, so nothing done through it can write the region.
    pub(crate) fn open_file(file: &File, path: &Path, access: Access) -> Result<Shared> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = file.metadata().map_err(io)?;
        if !meta.is_file() {
            // A directory cannot be mapped (ENODEV) and a FIFO or a device has no length to
            // validate: say what the path is rather than what mmap or the length check says.
            let what = if meta.is_dir() {
                "is a directory, not a ring file"
            } else {
                "is not a regular file (a FIFO, socket or device), so not a ring file"
            };
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                what,
            )));
        }
        let len = meta.len();
        if len < HEADER_LEN as u64 {
            return Err(LayoutError::Truncated {
                actual: len,
                expected: HEADER_LEN as u64,
            }
            .into());
        }
        if len >= MAX_REGION_LEN {
            return Err(LayoutError::TooLarge { len }.into());
        }
        // Populated (the creator's pages are mapped now, not faulted in per slot on the first lap).
        let mut options = MmapOptions::new();
        options.len(len as usize).populate();
        let map = match access {
            Access::ReadWrite => options.map_raw(file),
            Access::ReadOnly => options.map_raw_read_only(file),
        }
        .map_err(io)?;
        let base = map.as_ptr();
        // SAFETY: the mapping holds at least HEADER_LEN bytes and its base is page-aligned. It
        // may be mapped read-only (`RingView`): Rust allows a shared reference to an atomic in
        // read-only memory and a Relaxed load no wider than a register from it (the atomic
        // module's "Atomic accesses to read-only memory"), which is all this does.
        let magic = unsafe { &*base.cast::<std::sync::atomic::AtomicU64>() };
        // Relaxed, then an Acquire fence: pairs with the Release store of the magic in `init`
        // (an Acquire load itself is not among what read-only memory allows).
        let found = magic.load(Ordering::Relaxed);
        std::sync::atomic::fence(Ordering::Acquire);
        if found != MAGIC {
            return Err(LayoutError::BadMagic { found }.into());
        }
        // SAFETY: HEADER_LEN bytes are mapped; we copy them once and never trust the mapping's
        // header again (a hostile writer may change it under us).
        let bytes = unsafe { std::slice::from_raw_parts(base, HEADER_LEN) };
        let header: Header = bytemuck::pod_read_unaligned(bytes);
        let g = Geometry::validate(&header, len)?;
        // Before any producer or consumer of this process exists (see `sleep.rs`).
        crate::sleep::init();
        let locks = match access {
            Access::ReadWrite => ParticipantLocks::of(file),
            Access::ReadOnly => ParticipantLocks::probe_only(file),
        };
        Shared::new(
            map,
            g,
            header,
            Scope::Shared,
            Some(path.to_path_buf()),
            locks,
        )
    }

    /// Pointer to the payload of the slot that holds frame `seq`.
    #[inline]
    pub(crate) fn payload_ptr(&self, seq: u64) -> *mut u8 {
        // SAFETY: `slots_offset + (seq & mask) * stride` is below
        // `slots_offset + slot_count * slot_stride == total_len`, the mapping's length (validated
        // when it was created or opened): the `Geometry::payload_offset` computation.
        let payload = self.map.payload_ptr(seq);
        debug_assert_eq!(
            payload as usize - self.base as usize,
            self.geometry.payload_offset(seq)
        );
        payload
    }

    /// Pointer to the descriptor of the slot that holds frame `seq` ([`layout::Descriptor`]).
    #[inline]
    pub(crate) fn desc_ptr(&self, seq: u64) -> *mut u8 {
        let desc = self.map.desc_ptr(seq);
        debug_assert_eq!(
            desc as usize - self.base as usize,
            self.geometry.desc_offset(seq)
        );
        desc
    }

    /// Whether descriptors carry timestamps ([`ring_flags::TIMESTAMPS`]).
    #[inline]
    pub(crate) fn timestamps(&self) -> bool {
        self.geometry.timestamps
    }

    /// Reads the first payload line of frame `seq`, if the slot has a payload, and ignores the
    /// byte.
    ///
    /// A reader that finds its next frame not yet there calls this as it polls again. The
    /// producer writes the payload just before the descriptor's stamp; a reader that only watched
    /// the stamp would fetch the payload line after it saw the stamp change, one cross-core
    /// transfer after the other. Reading both while it waits makes the two transfers overlap
    /// (measured on layout version 4, where the payload's second line followed the slot header:
    /// a 64-byte frame's round trip between two far cores went from 1.5x to 1.1x the bare
    /// cache-line round trip, docs/BENCHMARKS.md). Larger frames' further lines stream, and the
    /// hardware prefetcher follows them.
    #[inline]
    pub(crate) fn touch_tail(&self, seq: u64) {
        if self.map.payload > 0 {
            // SAFETY: the payload has at least one byte, inside the mapping; a volatile read of
            // a byte another thread may be writing is a read of some value, which is dropped (a
            // seqlock reader's read, validated or discarded).
            unsafe { std::ptr::read_volatile(self.payload_ptr(seq)) };
        }
    }

    /// Payload bytes one slot holds.
    #[inline]
    pub(crate) fn slot_payload(&self) -> usize {
        self.map.payload
    }

    /// A copy of the hot path's geometry, for a handle that holds this mapping's `Arc`.
    #[inline]
    pub(crate) fn map(&self) -> SlotMap {
        self.map
    }

    pub(crate) fn is_file_backed(&self) -> bool {
        self.scope == Scope::Shared
    }
}

impl RingMem for Shared {
    #[inline]
    fn capacity(&self) -> u64 {
        u64::from(self.geometry.slot_count)
    }

    fn max_consumers(&self) -> usize {
        self.geometry.max_consumers as usize
    }

    fn multi_producer(&self) -> bool {
        self.header.producer_mode == producer_mode::MULTI
    }

    fn overwritable(&self) -> bool {
        self.header.flags & ring_flags::OVERWRITABLE != 0
    }

    #[inline]
    fn producer(&self) -> &ProducerBlock {
        // SAFETY: the block lies at PRODUCER_OFFSET, inside the validated mapping, 128-aligned
        // because the base is (checked in `Shared::new`); it is made only of atomics, for which
        // every bit pattern is valid, and it is only ever accessed through them.
        unsafe { &*(self.base.add(PRODUCER_OFFSET) as *const ProducerBlock) }
    }

    #[inline]
    fn consumer(&self, index: usize) -> &ConsumerLine {
        assert!(
            index < self.max_consumers(),
            "consumer index {index} out of range"
        );
        // SAFETY: as for `producer`: `consumer_offset(index)` for an index below max_consumers
        // lies inside the validated mapping on a 128-byte boundary.
        unsafe { &*(self.base.add(self.geometry.consumer_offset(index)) as *const ConsumerLine) }
    }

    #[inline]
    fn stamp(&self, seq: u64) -> &AtomicU64 {
        // SAFETY: the stamp is the first field of the descriptor (8-aligned: descs_offset is a
        // multiple of 128 and the stride 16 or 32), inside the mapping, and only ever accessed
        // atomically.
        unsafe { AtomicU64::from_ptr(self.desc_ptr(seq).cast::<u64>()) }
    }

    fn mark_skip(&self, seq: u64) {
        let desc = self.desc_ptr(seq);
        // SAFETY: LEN, KIND (4-byte aligned) and, on a ring with timestamps, TIMESTAMP (8-byte
        // aligned: the stride is 32) lie inside the descriptor, inside the mapping. Only a
        // repairer that took the frame's claim over writes them now (`repair.rs`); readers race
        // these stores only as seqlock readers, whose stamp check decides.
        unsafe {
            AtomicU32::from_ptr(desc.add(layout::desc::LEN_OFFSET).cast())
                .store(0, Ordering::Relaxed);
            AtomicU32::from_ptr(desc.add(layout::desc::KIND_OFFSET).cast())
                .store(layout::kind_flags::SKIP, Ordering::Relaxed);
            if self.timestamps() {
                AtomicU64::from_ptr(desc.add(layout::desc::TIMESTAMP_OFFSET).cast())
                    .store(0, Ordering::Relaxed);
            }
        }
    }

    fn wait(&self, word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
        wait::wait(word, expected, timeout, self.scope);
    }

    fn wake_all(&self, word: &AtomicU32) {
        wait::wake_all(word, self.scope);
    }

    fn cross_process(&self) -> bool {
        self.scope == Scope::Shared
    }

    fn alive(&self, who: Attachment, pid: u32) -> bool {
        match &self.locks {
            Some(locks) => locks.held(self.lock_offset(who)),
            None => liveness::pid_alive(pid),
        }
    }

    fn exact_liveness(&self) -> bool {
        self.locks.is_some()
    }

    fn take_lock(&self, who: Attachment) -> bool {
        match &self.locks {
            Some(locks) => locks.take(self.lock_offset(who)),
            None => true,
        }
    }

    fn release_lock(&self, who: Attachment) {
        if let Some(locks) = &self.locks {
            locks.release(self.lock_offset(who));
        }
    }

    fn registering<T>(&self, f: impl FnOnce() -> T) -> T {
        let _one_at_a_time = self
            .registering
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f()
    }

    fn now_ns(&self) -> u64 {
        liveness::monotonic_ns()
    }
}

/// A ring region, mapped. Cheap to clone; the region stays mapped while any clone, producer or
/// consumer of it is alive.
///
/// `Ring` itself only describes and hands out roles: write with a [`Producer`], read with a
/// [`Consumer`].
///
/// ```
/// use ringflow::{Delivery, ProducerOptions, Ring, RingConfig};
/// let ring = Ring::anonymous(&RingConfig::new(8, 64))?;
/// let mut consumer = ring.consumer()?;
/// let mut producer = ring.producer(ProducerOptions::default())?;
/// producer.push(b"hello")?;
/// let frame = consumer.poll()?.expect("a frame");
/// assert_eq!(frame.payload(), b"hello");
/// # Ok::<(), ringflow::Error>(())
/// ```
#[derive(Clone)]
pub struct Ring {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring")
            .field("path", &self.shared.path)
            .field("geometry", &self.shared.geometry)
            .finish()
    }
}

/// How a ring file is mapped.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// To attach producers and consumers ([`Ring`]).
    ReadWrite,
    /// To look only ([`RingView`](crate::RingView)): the pages are mapped without write
    /// permission.
    ReadOnly,
}

/// How a create treats a file already at the path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Replace {
    /// Fail with `AlreadyExists`.
    Never,
    /// Replace it unless live processes use the ring in it (`InUse`).
    IfIdle,
    /// Replace it.
    Always,
}

/// Looks (1 ms apart) for the new ring when `open` finds one marked replaced, before it gives
/// up with `Error::Replaced` (a replacer that died between its mark and its rename).
const REPLACED_RETRIES: u32 = 100;

/// The path of a ring called `name` in `/dev/shm`.
pub fn shm_path(name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(Error::InvalidArgument(format!(
            "shared-memory name {name:?} must be one non-empty path component"
        )));
    }
    Ok(Path::new("/dev/shm").join(name))
}

/// Refuses a path that names something other than a regular file (followed through symlinks):
/// a FIFO, socket, device or directory is never a ring, and a replace must not rename a ring
/// over it (`/dev/null`, for a replacer running as root). Nothing there, or a dangling symlink,
/// is fine. A check before the rename, so a node made at the path in between is not caught: the
/// path is the caller's to choose.
fn refuse_non_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    let t = meta.file_type();
    let what = if t.is_file() {
        return Ok(());
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "of an unknown kind"
    };
    Err(Error::NotAFile {
        path: path.to_path_buf(),
        what,
    })
}

impl Ring {
    /// A ring in anonymous memory, for producers and consumers of this process only.
    pub fn anonymous(config: &RingConfig) -> Result<Ring> {
        let g = config.geometry()?;
        // Populated: every page is faulted in now, not on the first lap of a real-time producer
        // (a first-touch fault of a zeroed page costs ~25 us here).
        let map = MmapOptions::new()
            .len(g.total_len as usize)
            .populate()
            .map_anon()
            .map_err(|source| Error::Io {
                path: PathBuf::from("<anonymous>"),
                source,
            })?;
        Self::init(MmapRaw::from(map), g, config, Scope::Private, None, None)
    }

    /// Creates a ring in a new file at `path` (mode 0600). Fails with [`Error::AlreadyExists`] if
    /// the file exists, and with [`Error::NoSpace`] if the filesystem cannot hold the ring.
    ///
    /// The ring is built under a temporary name in the same directory, every page allocated
    /// and the header written, and only then linked to `path`: an opener never finds a
    /// half-built ring there, and a creator that dies mid-build leaves no file at `path` (at
    /// most a stray `.NAME.ringflow-tmp.PID.N`). See `docs/ARCHITECTURE.md`, "Creating a ring".
    pub fn create(path: impl AsRef<Path>, config: &RingConfig) -> Result<Ring> {
        Self::create_file(path.as_ref(), config, Replace::Never)
    }

    /// Creates a ring at `path`, replacing any file there, atomically (an opener finds the old
    /// ring or the new one). Processes that still map the old ring keep it, but learn that it
    /// was replaced: their next slow-path check (a consumer with nothing to read, a producer
    /// waiting for space or at its once-per-lap check) ends with [`Error::Replaced`]. To spare a
    /// ring that live processes use, see [`Ring::create_or_replace_idle`].
    ///
    /// Only a regular file is replaced: a FIFO, socket, device node or directory at `path` (or
    /// a symlink to one) is refused with [`Error::NotAFile`], and left as it is.
    pub fn create_or_replace(path: impl AsRef<Path>, config: &RingConfig) -> Result<Ring> {
        Self::create_file(path.as_ref(), config, Replace::Always)
    }

    /// Like [`Ring::create_or_replace`], but refuses with [`Error::InUse`] (naming them) if live
    /// processes are attached to the ring at `path` as producers or registered as consumers.
    /// Participants whose processes are gone do not count. The check is a snapshot: a process
    /// that attaches just after it learns of the replacement as above.
    ///
    /// ```
    /// use ringflow::{Error, Ring, RingConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ring");
    /// let ring = Ring::create(&path, &RingConfig::new(4, 16))?;
    /// let consumer = ring.consumer()?;
    /// let err = Ring::create_or_replace_idle(&path, &RingConfig::new(8, 16)).unwrap_err();
    /// assert!(matches!(err, Error::InUse { .. }), "{err}");
    /// drop(consumer);
    /// Ring::create_or_replace_idle(&path, &RingConfig::new(8, 16))?;
    /// assert!(matches!(ring.consumer(), Err(Error::Replaced { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_or_replace_idle(path: impl AsRef<Path>, config: &RingConfig) -> Result<Ring> {
        Self::create_file(path.as_ref(), config, Replace::IfIdle)
    }

    /// Opens the ring at `path`, or creates it with `config` if there is none. Any number of
    /// processes may race here on one path: one creates, and every other one opens that ring
    /// (never a half-built file). A ring found at the path must have the shape `config` asks
    /// for (sizes, modes, schema): otherwise [`Error::Mismatch`] says what differs.
    ///
    /// ```
    /// use ringflow::{Ring, RingConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ring");
    /// let config = RingConfig::new(4, 16).multi_producer(true);
    /// let a = Ring::open_or_create(&path, &config)?;
    /// let b = Ring::open_or_create(&path, &config)?;
    /// assert_eq!(a.header().epoch, b.header().epoch);
    /// assert!(Ring::open_or_create(&path, &RingConfig::new(8, 16)).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_or_create(path: impl AsRef<Path>, config: &RingConfig) -> Result<Ring> {
        let path = path.as_ref();
        // Each turn fails only if the file appeared (create) or vanished (open) in between: a
        // few turns are plenty unless someone deletes the ring in a loop.
        for _ in 0..8 {
            let ring = match Self::open(path) {
                Ok(ring) => ring,
                Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                    match Self::create(path, config) {
                        Ok(ring) => return Ok(ring),
                        Err(Error::AlreadyExists { .. }) => continue,
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            };
            return match config.differences(&ring) {
                None => Ok(ring),
                Some(detail) => Err(Error::Mismatch {
                    path: path.to_path_buf(),
                    detail,
                }),
            };
        }
        Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::other("the file kept appearing and vanishing"),
        })
    }

    /// Removes the ring file at `path` (unlinks it), after checking that it is a ring: a file
    /// that is not one is left alone ([`Error::Layout`]), a missing one is [`Error::Io`].
    /// Processes that map the ring keep it until they let go of it; nothing new can open it.
    /// To spare a ring that live processes use, see [`Ring::remove_idle`].
    ///
    /// ```
    /// use ringflow::{Ring, RingConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ring");
    /// Ring::create(&path, &RingConfig::new(4, 16))?;
    /// Ring::remove(&path)?;
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove(path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        crate::RingView::open(path)?;
        std::fs::remove_file(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Like [`Ring::remove`], but refuses with [`Error::InUse`] (naming them) if live processes
    /// are attached to the ring as producers or registered as consumers. A snapshot, as for
    /// [`Ring::create_or_replace_idle`].
    ///
    /// ```
    /// use ringflow::{Error, Ring, RingConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ring");
    /// let ring = Ring::create(&path, &RingConfig::new(4, 16))?;
    /// let consumer = ring.consumer()?;
    /// assert!(matches!(Ring::remove_idle(&path), Err(Error::InUse { .. })));
    /// drop(consumer);
    /// Ring::remove_idle(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn remove_idle(path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let participants = crate::RingView::open(path)?.live_participants();
        if !participants.is_empty() {
            return Err(Error::InUse {
                path: path.to_path_buf(),
                participants,
            });
        }
        std::fs::remove_file(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Creates a ring in `/dev/shm/NAME`.
    pub fn create_shm(name: &str, config: &RingConfig) -> Result<Ring> {
        Self::create(shm_path(name)?, config)
    }

    /// Opens the ring in `/dev/shm/NAME`.
    pub fn open_shm(name: &str) -> Result<Ring> {
        Self::open(shm_path(name)?)
    }

    fn create_file(path: &Path, config: &RingConfig, replace: Replace) -> Result<Ring> {
        let g = config.geometry()?;
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if replace != Replace::Never {
            refuse_non_file(path)?;
        }
        let mut tmp = TempRing::new(path)?;
        tmp.allocate(g.total_len)?;
        // Populated, as for `anonymous`.
        let map = MmapOptions::new()
            .len(g.total_len as usize)
            .populate()
            .map_raw(&tmp.file)
            .map_err(io)?;
        // The whole header, magic last (Release): complete before the file has its name.
        let locks = ParticipantLocks::of(&tmp.file);
        let ring = Self::init(
            map,
            g,
            config,
            Scope::Shared,
            Some(path.to_path_buf()),
            locks,
        )?;
        match replace {
            Replace::Never => tmp.link_to(path)?,
            Replace::IfIdle | Replace::Always => {
                // The ring now at `path`, if it is one: its participants must learn of the
                // replacement (a file that is no ring has none).
                let old = Self::open_replaced(path);
                if let (Some(old), Replace::IfIdle) = (&old, replace) {
                    let participants = old.live_participants();
                    if !participants.is_empty() {
                        return Err(Error::InUse {
                            path: path.to_path_buf(),
                            participants,
                        });
                    }
                }
                if let Some(old) = &old {
                    old.mark_replaced(liveness::current_pid());
                }
                if let Err(e) = tmp.rename_to(path) {
                    // The old ring keeps its name after all.
                    if let Some(old) = &old {
                        old.mark_replaced(0);
                    }
                    return Err(e);
                }
            }
        }
        Ok(ring)
    }

    /// The ring a replace at `path` takes the name of: the file the rename will put the new ring
    /// in place of, so never one behind a symlink (the rename replaces the link itself, and the
    /// ring the link points to keeps its name: marking it replaced would end its participants,
    /// and `_idle` would count them). `None` for a link, no ring, or a ring already marked
    /// replaced by another replacer (its mark stands).
    fn open_replaced(path: &Path) -> Option<Ring> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .ok()?;
        let ring = Ring {
            shared: Arc::new(Shared::open_file(&file, path, Access::ReadWrite).ok()?),
        };
        ring.replaced_by().is_none().then_some(ring)
    }

    /// Writes the header of a fresh (zeroed) mapping, magic last.
    fn init(
        map: MmapRaw,
        g: Geometry,
        config: &RingConfig,
        scope: Scope,
        path: Option<PathBuf>,
        locks: Option<ParticipantLocks>,
    ) -> Result<Ring> {
        let header = config.header(&g);
        let shared = Shared::new(
            map,
            g,
            Header {
                magic: MAGIC,
                ..header
            },
            scope,
            path,
            locks,
        )?;
        let bytes = bytemuck::bytes_of(&header);
        // SAFETY: the mapping is at least HEADER_LEN bytes (total_len > HEADER_LEN), nobody else
        // can have validated it yet (the magic is still zero), and `bytes` is a separate value.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), shared.base, bytes.len()) };
        // SAFETY: offset 0 is 8-aligned (page-aligned base) and inside the mapping.
        let magic = unsafe { AtomicU64::from_ptr(shared.base.cast::<u64>()) };
        // Release: pairs with the Acquire load of the magic in `open`: a reader that sees the
        // magic sees the whole header.
        magic.store(MAGIC, Ordering::Release);
        // Before any producer or consumer of this process exists (see `sleep.rs`).
        crate::sleep::init();
        Ok(Ring {
            shared: Arc::new(shared),
        })
    }

    /// Opens an existing ring file, validating magic, version, sizes and length against the
    /// file before reading anything else. A corrupt, truncated or hostile file gives an error.
    pub fn open(path: impl AsRef<Path>) -> Result<Ring> {
        let path = path.as_ref();
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        // A ring marked replaced is about to lose its name to a new one (the replacer renames
        // right after marking): look again, briefly, to open the new one.
        for _ in 0..REPLACED_RETRIES {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(io)?;
            let ring = Ring {
                shared: Arc::new(Shared::open_file(&file, path, Access::ReadWrite)?),
            };
            if ring.replaced_by().is_none() {
                return Ok(ring);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(io)?;
        let ring = Ring {
            shared: Arc::new(Shared::open_file(&file, path, Access::ReadWrite)?),
        };
        match ring.replaced_by() {
            None => Ok(ring),
            Some(by) => Err(Error::Replaced { by }),
        }
    }

    /// Attaches a producer with the given options.
    ///
    /// A single-producer ring takes one producer at a time ([`Error::ProducerBusy`] otherwise,
    /// unless the attached one's process died: then the new one takes over where it stopped).
    pub fn producer(&self, options: ProducerOptions) -> Result<Producer> {
        Producer::attach(Arc::clone(&self.shared), options)
    }

    /// Registers a lossless consumer that reads frames published from now on
    /// ([`Start::Next`]).
    pub fn consumer(&self) -> Result<Consumer> {
        Consumer::register(Arc::clone(&self.shared), Start::Next)
    }

    /// Registers a lossless consumer that starts at `start`.
    ///
    /// ```
    /// use ringflow::{ProducerOptions, Ring, RingConfig, Start};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// for frame in [b"a", b"b", b"c"] {
    ///     producer.push(frame)?;
    /// }
    /// let mut late = ring.consumer_at(Start::Oldest)?;
    /// assert_eq!(late.poll()?.unwrap().payload(), b"a");
    /// assert_eq!(ring.consumer_at(Start::Next)?.start_seq(), 3);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn consumer_at(&self, start: Start) -> Result<Consumer> {
        Consumer::register(Arc::clone(&self.shared), start)
    }

    /// Registers a lossy consumer that reads frames published from now on.
    pub fn lossy_consumer(&self) -> Result<LossyConsumer> {
        LossyConsumer::register(Arc::clone(&self.shared), Start::Next)
    }

    /// Registers a lossy consumer that starts at `start`.
    pub fn lossy_consumer_at(&self, start: Start) -> Result<LossyConsumer> {
        LossyConsumer::register(Arc::clone(&self.shared), start)
    }

    /// Registers a consumer whose delivery is chosen at run time.
    pub fn consumer_with(&self, delivery: Delivery, start: Start) -> Result<AnyConsumer> {
        AnyConsumer::register(Arc::clone(&self.shared), delivery, start)
    }

    /// Takes the durable consumer called `name`: the block with that name if one exists and
    /// no live process owns it (its owner died, or dropped its handle), or else a new block
    /// that gets the name.
    ///
    /// A named block outlives its owner: it keeps its read cursor and, if lossless, keeps
    /// holding `block`/`fail` producers back, for at most `grace` once a producer it holds back
    /// finds it ownerless; then the producer evicts it (counted in
    /// [`RingStats::evicted`]). Taken again, the consumer starts exactly where the last owner
    /// released (see [`AnyConsumer::resumed`]); frames an eviction let producers overwrite
    /// meanwhile are counted in `missed_at_start`. Its cursor moves as frames are released, or
    /// only at [`AnyConsumer::commit`] after [`AnyConsumer::hold_releases`].
    ///
    /// Errors: [`Error::NameTaken`] if a live consumer owns the name (two processes racing for
    /// one name: exactly one wins); [`Error::InvalidArgument`] for a name that is empty, longer
    /// than 32 bytes or holds a NUL; [`Error::NoConsumerSlot`] for a new name with no free block.
    /// Liveness is exact on a file-backed ring (`docs/FORMAT.md`, "Liveness locks").
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringflow::{Delivery, Error, ProducerOptions, Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
    /// let mut producer = ring.producer(ProducerOptions::default())?;
    /// let grace = Duration::from_secs(5);
    /// let mut bridge = ring.consumer_named("bridge-1", Delivery::Lossless, grace)?;
    /// assert!(matches!(
    ///     ring.consumer_named("bridge-1", Delivery::Lossless, grace),
    ///     Err(Error::NameTaken { .. })
    /// ));
    /// for frame in [b"a", b"b", b"c"] {
    ///     producer.push(frame)?;
    /// }
    /// assert_eq!(bridge.poll()?.unwrap().payload(), b"a");
    /// drop(bridge); // ownerless: the block keeps its cursor after "a"
    /// let mut again = ring.consumer_named("bridge-1", Delivery::Lossless, grace)?;
    /// assert_eq!(again.resumed(), Some((1, false)));
    /// assert_eq!(again.poll()?.unwrap().payload(), b"b");
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn consumer_named(
        &self,
        name: &str,
        delivery: Delivery,
        grace: Duration,
    ) -> Result<AnyConsumer> {
        AnyConsumer::register_named(Arc::clone(&self.shared), name, delivery, grace)
    }

    /// Forgets the durable consumer called `name` ([`consumer_named`](Self::consumer_named)):
    /// its block stops holding producers back at once and no longer has the name (a later
    /// `consumer_named` with it starts afresh, at the newest frame). Returns `false` if no
    /// consumer has the name.
    ///
    /// A name with a live owner is refused ([`Error::NameTaken`]) unless `force`: then the
    /// block is evicted (counted in [`RingStats::evicted`]; its owner gets
    /// [`RecvError::Evicted`](crate::RecvError::Evicted) at its next read) and becomes free
    /// once that owner drops it. Producers waiting for space are woken. Thread-safe; excludes
    /// takers of names ring-wide (`docs/FORMAT.md`, "Named consumers").
    ///
    /// Errors: [`Error::NameTaken`] (refused, or `pid` 0 if another process held the ring's
    /// naming lock for 2 s); [`Error::InvalidArgument`] for a name `consumer_named` refuses.
    ///
    /// ```
    /// use std::time::Duration;
    /// use ringflow::{Delivery, Error, ProducerOptions, Ring, RingConfig};
    /// let ring = Ring::anonymous(&RingConfig::new(8, 16))?;
    /// let bridge = ring.consumer_named("bridge-1", Delivery::Lossless, Duration::from_secs(60))?;
    /// assert!(matches!(ring.forget_consumer("bridge-1", false), Err(Error::NameTaken { .. })));
    /// drop(bridge); // ownerless: it would hold producers back for up to 60 s
    /// assert!(ring.forget_consumer("bridge-1", false)?);
    /// assert!(!ring.forget_consumer("bridge-1", false)?);
    /// assert!(ring.stats().consumers.iter().all(|c| c.name.is_none()));
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn forget_consumer(&self, name: &str, force: bool) -> Result<bool> {
        let words = layout::consumer_name::encode(name).map_err(Error::InvalidArgument)?;
        match crate::gate::forget_named(&*self.shared, words, force) {
            Ok(crate::gate::Forgotten::NoSuchName) => Ok(false),
            Ok(crate::gate::Forgotten::Freed { .. } | crate::gate::Forgotten::Evicted { .. }) => {
                Ok(true)
            }
            Err(crate::gate::NamedRefusal::Taken { pid }) => Err(Error::NameTaken {
                name: name.to_string(),
                pid,
            }),
            Err(crate::gate::NamedRefusal::Busy) => Err(Error::NameTaken {
                name: name.to_string(),
                pid: 0,
            }),
            Err(crate::gate::NamedRefusal::NoBlock) => unreachable!("forgetting takes no block"),
        }
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.shared.header
    }

    /// The validated layout.
    pub fn geometry(&self) -> &Geometry {
        &self.shared.geometry
    }

    /// The frame schema from the header.
    pub fn schema(&self) -> Schema {
        Schema::of(&self.shared.header)
    }

    /// Whether the ring was created [`overwritable`](RingConfig::overwritable): `overwrite`
    /// producers may attach, so every reader's frames may be rewritten while it holds them.
    pub fn is_overwritable(&self) -> bool {
        self.shared.overwritable()
    }

    /// Whether frames carry their producer's timestamp ([`RingConfig::timestamps`]).
    pub fn has_timestamps(&self) -> bool {
        self.shared.timestamps()
    }

    /// Payload bytes one slot holds.
    pub fn slot_size(&self) -> usize {
        self.shared.geometry.slot_payload as usize
    }

    /// Number of slots.
    pub fn capacity(&self) -> usize {
        self.shared.geometry.slot_count as usize
    }

    /// The backing file, if the ring is file-backed.
    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// Whether the ring can be shared with other processes.
    pub fn is_file_backed(&self) -> bool {
        self.shared.is_file_backed()
    }

    /// Whether the last producer detached cleanly.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release store of CLOSED in `Producer::drop`.
        self.shared.producer().wait.state.load(Ordering::Acquire) == ring_state::CLOSED
    }

    /// One past the highest committed sequence.
    pub fn published(&self) -> u64 {
        // Acquire: pairs with the Release store of `published` in ProducerCore::commit.
        self.shared
            .producer()
            .cursor
            .published
            .load(Ordering::Acquire)
    }

    /// Sleeps until a frame beyond `seen` is published (`published() > seen`) or the ring closes,
    /// at most `timeout`; returns `published()`. For a thread that wakes many async readers at
    /// once (one sleeper per ring instead of one per reader). Spurious returns are possible.
    pub fn wait_published(&self, seen: u64, timeout: Option<Duration>) -> u64 {
        let mem = &*self.shared;
        let wait = &mem.producer().wait;
        let ready = || self.published() > seen || self.is_closed();
        if !ready() {
            crate::sleep::park(mem, &wait.data_futex, &wait.data_sleepers, timeout, ready);
        }
        self.published()
    }

    /// Whether frames may still come, without waiting: [`Error::Replaced`] once a new ring
    /// took this one's path, [`Error::Closed`] once the last producer detached cleanly,
    /// [`Error::ProducerGone`] once every attached producer's process died, `Ok` otherwise
    /// (also before any producer attached). For readers that track their own position (the JVM
    /// side) and so have no [`Consumer`] to ask.
    pub fn check_producer(&self) -> Result<()> {
        use crate::consumer::core::{producer_status, ProducerStatus};
        if let Some(by) = self.replaced_by() {
            return Err(Error::Replaced { by });
        }
        match producer_status(&*self.shared) {
            ProducerStatus::Alive => Ok(()),
            ProducerStatus::Closed => Err(Error::Closed),
            ProducerStatus::Gone(pid) => Err(Error::ProducerGone { pid }),
        }
    }

    /// Wakes every consumer and producer parked on this ring (in any process), without
    /// publishing anything: for cancellation. Their waits return early and they re-check.
    pub fn wake_waiters(&self) {
        let mem = &*self.shared;
        let wait = &mem.producer().wait;
        crate::sleep::wake(mem, &wait.data_futex, &wait.data_wakes);
        crate::sleep::wake(mem, &wait.space_futex, &wait.space_wakes);
    }

    /// Wakes producers asleep waiting for space if one armed the space futex since the last
    /// wake (the notify half of the sleeper protocol, `sleep.rs`); returns whether it did. For a
    /// foreign reader that moves its own read cursor in the mapping (the Kotlin flow): call it
    /// after the cursor store and a full fence, when the space futex word's low bit
    /// (`sleep::ARMED`) is set.
    pub fn notify_space_waiters(&self) -> bool {
        let mem = &*self.shared;
        let wait = &mem.producer().wait;
        crate::sleep::notify(mem, &wait.space_futex, &wait.space_wakes)
    }

    /// Start of the mapping, for the foreign boundary (one `DirectByteBuffer` over the region).
    pub fn region_ptr(&self) -> *mut u8 {
        self.shared.base
    }

    /// Bytes of the mapping (below 2^31).
    pub fn region_len(&self) -> usize {
        self.shared.geometry.total_len as usize
    }

    /// A snapshot of every cursor and counter.
    pub fn stats(&self) -> RingStats {
        RingStats::read(&*self.shared)
    }

    /// The live processes attached to this ring as producers or registered as consumers, whose
    /// pids are alive (this process counts too), producers first. A snapshot.
    ///
    /// ```
    /// use ringflow::{Participant, Ring, RingConfig, Role};
    /// let ring = Ring::anonymous(&RingConfig::new(4, 16))?;
    /// assert!(ring.live_participants().is_empty());
    /// let _consumer = ring.consumer()?;
    /// let pid = std::process::id();
    /// assert_eq!(ring.live_participants(), [Participant { pid, role: Role::Consumer }]);
    /// # Ok::<(), ringflow::Error>(())
    /// ```
    pub fn live_participants(&self) -> Vec<Participant> {
        crate::stats::live_participants(&*self.shared)
    }

    /// The pid of the process that replaced this ring ([`Ring::create_or_replace`]), if one
    /// did: the path then names another ring.
    ///
    /// ```
    /// use ringflow::{Ring, RingConfig};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("ring");
    /// let old = Ring::create(&path, &RingConfig::new(4, 16))?;
    /// assert_eq!(old.replaced_by(), None);
    /// let new = Ring::create_or_replace(&path, &RingConfig::new(4, 16))?;
    /// assert_eq!(old.replaced_by(), Some(std::process::id()));
    /// assert_eq!(new.replaced_by(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replaced_by(&self) -> Option<u32> {
        self.shared.replaced_by()
    }

    /// Marks the ring replaced by `pid` (0 takes the mark back) and wakes every sleeper, so
    /// they look at it now rather than at the end of their slice.
    fn mark_replaced(&self, pid: u32) {
        let wait = &self.shared.producer().wait;
        // Relaxed: the mark publishes nothing else; a participant only needs to see it on some
        // later slow-path check (`layout::replaced_by`), and the wakes below bound how late.
        wait.replaced_by.store(pid, Ordering::Relaxed);
        self.wake_waiters();
    }
}
