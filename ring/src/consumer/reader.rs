//! The reader behind every consumer handle ([`Consumer`](super::Consumer),
//! [`LossyConsumer`](super::LossyConsumer), [`AnyConsumer`](super::AnyConsumer)): finding the
//! next frame, handing it out in place or as a checked copy, and releasing it.
//!
//! The handles differ only in which of these operations they expose safely. A frame is
//! *protected* when no producer may rewrite it before this reader releases it (a lossless
//! reader, on a ring that is not overwritable, from the start its registration handshake
//! protects); only protected frames are ever handed out as views of the slot by the safe API.
//! An unprotected frame reaches safe code only as a checked copy: into the caller's buffer
//! (`read_into`), or into the reader's own buffer, which the view then shows (`Fetch::Copy`).

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use super::copy::racy_copy;
use super::core::{Check, ConsumerCore, Start};
use super::held::{FrameInfo, HeldFrame};
use super::view::{Batch, Frame};
use super::Delivery;
use crate::error::{RecvError, ReleaseError, Result};
use crate::layout::{desc, kind_flags, stamp};
use crate::region::{Shared, SlotMap};
use crate::sync::Ordering;

/// The header fields of a ready frame.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ready {
    pub(crate) seq: u64,
    /// The payload's address.
    pub(crate) payload: *const u8,
    pub(crate) len: usize,
    pub(crate) kind: u16,
    pub(crate) timestamp_ns: u64,
    pub(crate) lost_before: u64,
}

// SAFETY: `payload` points into the mapping that the reader handing out the frame keeps alive; a
// `Ready` moves with its reader or is dropped.
unsafe impl Send for Ready {}

impl Ready {
    const NONE: Ready = Ready {
        seq: 0,
        payload: std::ptr::null(),
        len: 0,
        kind: 0,
        timestamp_ns: 0,
        lost_before: 0,
    };

    pub(crate) fn info(&self) -> FrameInfo {
        FrameInfo {
            seq: self.seq,
            len: self.len,
            kind: self.kind,
            timestamp_ns: self.timestamp_ns,
            lost_before: self.lost_before,
        }
    }
}

/// How the safe view API gets at the next frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fetch {
    /// In place, trusting the slot: only for protected frames, or behind an `unsafe` call.
    InPlace,
    /// Copy unprotected frames into the reader's buffer and re-check them first.
    CopyUnprotected,
}

/// Distinguishes readers, so a held frame cannot be released through another one.
static NEXT_READER_ID: AtomicU64 = AtomicU64::new(1);

/// The reader state shared by the consumer handles.
pub(crate) struct Reader {
    pub(crate) core: ConsumerCore<Shared>,
    /// The ring's geometry, copied so the read loops keep it in registers (see `SlotMap`).
    pub(crate) map: SlotMap,
    /// The frame `next_ready` found last. Kept here, not in the [`Frame`] handed out: a view of
    /// one word travels in a register, while a larger one was copied through the stack with
    /// mismatched widths, and the stalled store forwarding cost more than the rest of a read.
    pub(crate) ready: Ready,
    /// Whether `ready`'s payload was copied into `copy` (and checked) rather than left in place.
    pub(crate) copied: bool,
    /// The checked copy of an unprotected frame the safe view API hands out; allocated at
    /// registration (one slot), never on the read path.
    pub(crate) copy: Box<[u8]>,
    /// The frame handed out by `poll_held` and not yet released.
    held: Option<u64>,
    id: u64,
    _not_sync: PhantomData<Cell<()>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("index", &self.core.index)
            .field("next", &self.core.next)
            .finish()
    }
}

impl Reader {
    pub(crate) fn register(shared: Arc<Shared>, delivery: Delivery, start: Start) -> Result<Self> {
        let core = ConsumerCore::register(shared, delivery, start, crate::liveness::current_pid())?;
        Ok(Self::with_core(core))
    }

    pub(crate) fn register_named(
        shared: Arc<Shared>,
        name: &str,
        delivery: Delivery,
        grace: Duration,
    ) -> Result<Self> {
        let core = ConsumerCore::register_named(
            shared,
            name,
            delivery,
            grace,
            crate::liveness::current_pid(),
        )?;
        Ok(Self::with_core(core))
    }

    fn with_core(core: ConsumerCore<Shared>) -> Self {
        let payload = core.mem.slot_payload();
        Reader {
            map: core.mem.map(),
            core,
            ready: Ready::NONE,
            copied: false,
            copy: vec![0u8; payload].into_boxed_slice(),
            held: None,
            // Relaxed: only uniqueness matters.
            id: NEXT_READER_ID.fetch_add(1, Ordering::Relaxed),
            _not_sync: PhantomData,
        }
    }

    #[inline]
    fn payload_capacity(&self) -> usize {
        self.core.mem.slot_payload()
    }

    /// Finds the next frame to hand out and puts it in `self.ready` (true), or finds none
    /// (false): skips marked-empty slots, recovers from laps, reports corrupt slots.
    ///
    /// Always inlined: its caller reads `self.ready` right after, and across a call those loads
    /// went wider than the stores that wrote the fields, a store-forwarding stall per frame
    /// (one thread writing and reading a 64-byte frame: 10.7 -> 8.4 ns, `cargo run --release -p
    /// ringflow-benches --example one_thread` on the commits before and after). Inlined, the
    /// compiler forwards the values itself.
    #[inline(always)]
    pub(crate) fn next_ready(&mut self) -> Result<bool, RecvError> {
        loop {
            let seq = self.core.next;
            match self.core.check(seq) {
                Check::Empty => {
                    // Fetch the frame's second line while we wait, not after (see `touch_tail`).
                    self.core.mem.touch_tail(seq);
                    return Ok(false);
                }
                Check::Lapped => self.core.skip_lapped()?,
                Check::Ready => {
                    let (len, kind, timestamp_ns) = read_meta(&self.core.mem, seq);
                    if kind & kind_flags::SKIP != 0 {
                        if self.core.verify(seq) {
                            self.core.release(seq + 1, 0);
                        }
                        continue;
                    }
                    if len as usize > self.payload_capacity() {
                        if !self.core.verify(seq) {
                            continue; // overwritten while we looked: the next check says Lapped
                        }
                        self.core.note_lost();
                        self.core.release(seq + 1, 0);
                        return Err(RecvError::Corrupt {
                            seq,
                            detail: format!(
                                "length {len} exceeds the slot size {}",
                                self.payload_capacity()
                            ),
                        });
                    }
                    self.ready = Ready {
                        seq,
                        payload: payload_ptr(&self.core.mem, seq),
                        len: len as usize,
                        kind: (kind & kind_flags::USER_MASK) as u16,
                        timestamp_ns,
                        lost_before: self.core.take_lost_pending(),
                    };
                    return Ok(true);
                }
            }
        }
    }

    /// [`next_ready`](Self::next_ready), then, with `Fetch::CopyUnprotected`, a checked copy of
    /// an unprotected frame into `self.copy` (a frame overwritten during the copy is dropped and
    /// counted, and the next one is looked at). Sets `self.copied`.
    #[inline(always)]
    pub(crate) fn fetch(&mut self, how: Fetch) -> Result<bool, RecvError> {
        loop {
            if !self.next_ready()? {
                return Ok(false);
            }
            let ready = self.ready;
            if how == Fetch::InPlace || !self.core.unprotected(ready.seq) {
                self.copied = false;
                return Ok(true);
            }
            // SAFETY: `ready.len` is at most the slot size (checked in `next_ready`), so the
            // source lies inside the slot, inside the mapping, and `self.copy` holds a slot.
            unsafe { racy_copy(ready.payload, &mut self.copy[..ready.len]) };
            if self.core.verify(ready.seq) {
                self.copied = true;
                return Ok(true);
            }
            // Overwritten mid-copy: the next check sees the lap and counts this frame as lost.
            self.core.restore_lost_pending(ready.lost_before);
        }
    }

    /// The payload of the frame in `self.ready`: the checked copy, or the slot.
    #[inline]
    pub(crate) fn ready_payload(&self) -> &[u8] {
        if self.copied {
            &self.copy[..self.ready.len]
        } else {
            // SAFETY: `len` is at most the slot size (checked when the frame was found), so the
            // slice lies inside the slot. The frame is protected, or the caller of the `unsafe`
            // view took on the duty of not trusting bytes a producer may rewrite.
            unsafe { std::slice::from_raw_parts(self.ready.payload, self.ready.len) }
        }
    }

    /// Releases the frame in `self.ready` (a view dropped): counts it torn if it was read in
    /// place and a producer rewrote it meanwhile.
    #[inline(always)]
    pub(crate) fn release_ready(&mut self) {
        let seq = self.ready.seq;
        if !self.copied && !self.core.verify(seq) {
            self.core.note_torn(1);
        }
        self.core.note_handed_out(seq);
        self.core.release(seq + 1, 1);
    }

    /// The next frame as a view, or `None`: [`fetch_ready`](Self::fetch_ready) inline, then
    /// the full path for anything else.
    #[inline(always)]
    pub(crate) fn poll_view(&mut self, how: Fetch) -> Result<Option<Frame<'_>>, RecvError> {
        if self.held.is_none() && self.fetch_ready(how) {
            return Ok(Some(Frame { reader: self }));
        }
        self.poll_view_full(how)
    }

    /// The common case of [`fetch`](Self::fetch), small enough to inline into every poll: the
    /// next frame is committed, is not a skip frame, fits its slot and may be handed out in
    /// place (protected, or `Fetch::InPlace`). Then it puts the frame in `self.ready` and
    /// returns true; for anything else it changes nothing and returns false, and the caller
    /// takes the full path, which looks again from the start.
    #[inline(always)]
    fn fetch_ready(&mut self, how: Fetch) -> bool {
        let seq = self.core.next;
        if how == Fetch::CopyUnprotected && self.core.unprotected(seq) {
            return false;
        }
        let map = self.map;
        let at = map.desc_ptr(seq);
        // SAFETY: the stamp is the first field of the descriptor, 8-aligned, inside the mapping,
        // and only ever accessed atomically (as in `Shared::stamp`).
        let stamp_word = unsafe { AtomicU64::from_ptr(at.cast::<u64>()) };
        // Acquire: pairs with the Release store of committed(seq) in ProducerCore::commit (as in
        // `ConsumerCore::check`, whose `Ready` case this is).
        if stamp_word.load(Ordering::Acquire) != stamp::committed(seq) {
            return false;
        }
        let (len, kind, timestamp_ns) = read_meta_at(at, map.timestamps());
        if kind & kind_flags::SKIP != 0 || len as usize > map.slot_payload() {
            return false;
        }
        self.ready = Ready {
            seq,
            payload: map.payload_ptr(seq).cast_const(),
            len: len as usize,
            kind: (kind & kind_flags::USER_MASK) as u16,
            timestamp_ns,
            lost_before: self.core.take_lost_pending(),
        };
        self.copied = false;
        true
    }

    /// [`poll_view`](Self::poll_view)'s full path: a held frame, skip frames, laps, corrupt
    /// slots, checked copies, nothing to read.
    #[inline(never)]
    fn poll_view_full(&mut self, how: Fetch) -> Result<Option<Frame<'_>>, RecvError> {
        self.check_not_held()?;
        Ok(if self.fetch(how)? {
            Some(Frame { reader: self })
        } else {
            None
        })
    }

    pub(crate) fn recv_view(
        &mut self,
        how: Fetch,
        timeout: Option<Duration>,
    ) -> Result<Frame<'_>, RecvError> {
        self.check_not_held()?;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if self.fetch(how)? {
                return Ok(Frame { reader: self });
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
    }

    fn check_not_held(&self) -> Result<(), RecvError> {
        match self.held {
            Some(seq) => Err(RecvError::FrameHeld { seq }),
            None => Ok(()),
        }
    }

    /// The next frame for a caller that cannot hold a borrow (see `Consumer::poll_held`): a
    /// protected frame in place, an unprotected one as a checked copy in `self.copy` (which no
    /// other call touches until the release: every read refuses while a frame is held).
    pub(crate) fn poll_held(&mut self) -> Result<Option<HeldFrame>, RecvError> {
        self.check_not_held()?;
        if !self.fetch(Fetch::CopyUnprotected)? {
            return Ok(None);
        }
        let ready = self.ready;
        let payload = if self.copied {
            self.copy.as_ptr()
        } else {
            ready.payload
        };
        self.held = Some(ready.seq);
        Ok(Some(HeldFrame::new(ready.info(), payload, self.id)))
    }

    /// Done with a frame from `poll_held`: only the frame this reader handed out last.
    pub(crate) fn release_held(&mut self, frame: HeldFrame) -> Result<bool, ReleaseError> {
        let seq = frame.info().seq;
        if frame.reader_id() != self.id || self.held != Some(seq) {
            return Err(ReleaseError {
                frame,
                held: self.held,
            });
        }
        self.held = None;
        // A copy was checked whole before it was handed out and nothing writes it since; a
        // frame read in place is protected, unless an eviction took the protection away.
        let intact = self.copied || self.core.verify(seq);
        if !intact {
            self.core.note_torn(1);
        }
        self.core.note_handed_out(seq);
        self.core.release(seq + 1, 1);
        Ok(intact)
    }

    /// Copies the next frame into `buf` and advances; never returns a torn frame.
    pub(crate) fn read_into(&mut self, buf: &mut [u8]) -> Result<Option<FrameInfo>, RecvError> {
        self.check_not_held()?;
        loop {
            // The common case inline (`fetch_ready`, in place: the copy below is checked
            // whatever the frame), then the full look.
            if !self.fetch_ready(Fetch::InPlace) && !self.next_ready()? {
                return Ok(None);
            }
            let ready = self.ready;
            if buf.len() < ready.len {
                self.core.restore_lost_pending(ready.lost_before);
                return Err(RecvError::InvalidArgument(format!(
                    "buffer of {} bytes is shorter than frame {} of {}",
                    buf.len(),
                    ready.seq,
                    ready.len
                )));
            }
            let src = ready.payload;
            if self.core.unprotected(ready.seq) {
                // SAFETY: `ready.len` is at most the slot size (checked in `next_ready`), so the
                // source lies inside the slot, and `buf` holds at least that many bytes. A
                // producer may write the slot meanwhile: the copy is atomic per word and
                // `verify` below discards it then.
                unsafe { racy_copy(src, &mut buf[..ready.len]) };
            } else {
                // SAFETY: as above; the frame is protected, so no producer writes it.
                unsafe { std::ptr::copy_nonoverlapping(src, buf.as_mut_ptr(), ready.len) };
            }
            if self.core.verify(ready.seq) {
                self.core.note_handed_out(ready.seq);
                self.core.release(ready.seq + 1, 1);
                return Ok(Some(ready.info()));
            }
            // Overwritten mid-copy: the next check sees the lap and counts this frame as lost.
            self.core.restore_lost_pending(ready.lost_before);
        }
    }

    /// [`read_into`](Self::read_into), waiting at most `timeout` for a frame.
    pub(crate) fn recv_into(
        &mut self,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> Result<FrameInfo, RecvError> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        loop {
            if let Some(info) = self.read_into(buf)? {
                return Ok(info);
            }
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
    }

    /// Up to `max` frames as one batch; see `Consumer::poll_batch`.
    pub(crate) fn poll_batch(&mut self, how: Fetch, max: usize) -> Result<Batch<'_>, RecvError> {
        self.check_not_held()?;
        let head = max > 0 && self.fetch(how)?;
        self.batch_from(head, max)
    }

    /// Waits for the first frame, then as `poll_batch`.
    pub(crate) fn recv_batch(
        &mut self,
        how: Fetch,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Batch<'_>, RecvError> {
        if max == 0 {
            return Err(RecvError::InvalidArgument(
                "a batch of at most 0 frames would never come".into(),
            ));
        }
        self.check_not_held()?;
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        while !self.fetch(how)? {
            let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
            self.core.wait(left)?;
        }
        self.batch_from(true, max)
    }

    /// The batch that starts with `self.ready` (if `head`): it and the frames ready after it, up
    /// to `max` slots. A copied head (an unprotected frame) makes a batch of one.
    #[inline(always)]
    fn batch_from(&mut self, head: bool, max: usize) -> Result<Batch<'_>, RecvError> {
        if !head {
            return Ok(Batch {
                first: self.core.next,
                slots: 0,
                frames: 0,
                lost_before: 0,
                reader: self,
            });
        }
        let head = self.ready;
        let map = self.map;
        let capacity = map.slot_payload();
        let mut slots = 1u64;
        let mut frames = 1usize;
        while !self.copied && (slots as usize) < max {
            let seq = head.seq + slots;
            let at = map.desc_ptr(seq);
            // SAFETY: as in `fetch_ready`.
            let stamp_word = unsafe { AtomicU64::from_ptr(at.cast::<u64>()) };
            // Acquire: pairs with the Release store of committed(seq) in ProducerCore::commit
            // (`ConsumerCore::check`'s `Ready` case, on the batch's own copy of the geometry).
            if stamp_word.load(Ordering::Acquire) != stamp::committed(seq) {
                break;
            }
            let (len, kind, _) = read_meta_at(at, map.timestamps());
            if len as usize > capacity {
                break; // reported by the next poll
            }
            if kind & kind_flags::SKIP == 0 {
                frames += 1;
            }
            slots += 1;
        }
        Ok(Batch {
            first: head.seq,
            slots,
            frames,
            lost_before: head.lost_before,
            reader: self,
        })
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.core.unregister();
    }
}

/// The length, kind and timestamp (0 on a ring without timestamps) of frame `seq`'s slot.
#[inline]
pub(crate) fn read_meta(shared: &Shared, seq: u64) -> (u32, u32, u64) {
    read_meta_at(shared.desc_ptr(seq), shared.timestamps())
}

/// [`read_meta`] of the descriptor at `at` (on a ring with timestamps if `timestamps`).
#[inline(always)]
pub(crate) fn read_meta_at(at: *mut u8, timestamps: bool) -> (u32, u32, u64) {
    use std::sync::atomic::AtomicU32;
    let d = at.cast_const();
    // SAFETY: the fields lie inside the slot's descriptor, aligned to their size; the timestamp
    // exists only on rings with timestamps (32-byte descriptors). Atomic (Relaxed) loads because
    // a producer may write them concurrently (an unprotected read), which the caller detects
    // with the stamp; ordering comes from the stamp's Acquire load before.
    unsafe {
        (
            AtomicU32::from_ptr(d.add(desc::LEN_OFFSET).cast::<u32>().cast_mut())
                .load(Ordering::Relaxed),
            AtomicU32::from_ptr(d.add(desc::KIND_OFFSET).cast::<u32>().cast_mut())
                .load(Ordering::Relaxed),
            if timestamps {
                AtomicU64::from_ptr(d.add(desc::TIMESTAMP_OFFSET).cast::<u64>().cast_mut())
                    .load(Ordering::Relaxed)
            } else {
                0
            },
        )
    }
}

/// The payload of frame `seq`'s slot.
#[inline]
pub(crate) fn payload_ptr(shared: &Shared, seq: u64) -> *const u8 {
    shared.payload_ptr(seq).cast_const()
}
