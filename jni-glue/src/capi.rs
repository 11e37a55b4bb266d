//! The C ABI, for runtimes that are not the JVM: Kotlin/Native (cinterop), Dart (`dart:ffi`),
//! Swift, Python (`ctypes`), C. The header `include/ringflow.h` is generated from this file by
//! cbindgen (`tests/header.rs` fails if it is stale); `docs/BINDINGS.md` shows each runtime's use.
//!
//! ### Conventions
//! - Every function returns an `RF_*` status (`RF_OK` is 0) and writes results through out
//!   pointers. After a failure, `rf_last_error()` gives its message (per thread).
//! - Rings and consumers are opaque `uint64_t` handles; a stale or unknown handle is
//!   `RF_UNKNOWN_HANDLE`, never undefined behaviour, and never another ring or consumer (consumer
//!   handles carry a generation: `handles.rs`; the table is the one JNI uses).
//! - A call blocked on a ring handle (`rf_consumer_next`, `rf_ring_wait`) returns `RF_WOKEN` when
//!   `rf_ring_wake` wakes the handle and `RF_CLOSED` when `rf_ring_close` closes it (`rings.rs`).
//!   A claim waiting for space returns `RF_CLOSED` when `rf_ring_close` closes the ring handle
//!   its producer was attached through, or `rf_producer_close` closes the producer
//!   (`producers.rs`).
//! - No panic crosses the boundary: a Rust panic is `RF_PANIC` (message in `rf_last_error`).
//! - A consumer is used by one thread at a time. `rf_consumer_next` hands out one frame in place
//!   (pointer + length into the shared mapping), valid until `rf_consumer_release`.
//! - A producer (`rf_producer_*`) writes frames in place: `rf_producer_claim` hands out a
//!   writable slot in the shared mapping, `rf_producer_commit` publishes it. It is used by one
//!   thread at a time (`RF_BUSY` for a second thread that calls in meanwhile); its misuse (a
//!   commit with no claim, a second claim before the commit) is `RF_BAD_ARGUMENT`.
//! - Completions (`rf_produce_async`, `rf_await_data_async`, and the `_post` forms) arrive on one
//!   of the engine's runtime threads: the callback must not block, and must hand the result to
//!   its own thread (a Dart port, a Kotlin/Native worker, a dispatch queue) itself.

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use ringflow::{ClaimError, Error as RingError, ProducerOptions, RecvError, Ring, RingConfig};
use ringflow_engine::registry::{Handle, OnEnd, Outcome, Registry};
use ringflow_engine::EngineError;

use crate::consumers::{self, ConsumerEntry};
use crate::producers::{self, Ended, ProducerEntry, ProducerSlot, Stopped};
use crate::rings::{self, Interrupted, WATCH_SLICE};

/// Success.
pub const RF_OK: i32 = 0;
/// No frame came within the timeout (`rf_consumer_next`, `rf_ring_wait`).
pub const RF_TIMEOUT: i32 = 1;
/// The ring is closed: every producer detached and every frame was read; or the ring handle
/// was closed with `rf_ring_close` (a call blocked on it returns this at once, and a consumer
/// registered through it returns this from then on); or a claim waiting for space was ended by
/// `rf_ring_close` or `rf_producer_close` (within 50 ms).
pub const RF_CLOSED: i32 = 2;
/// The producer's process died; every frame it committed was read first.
pub const RF_PRODUCER_GONE: i32 = 3;
/// The region is not a valid ring, or a slot is corrupt.
pub const RF_CORRUPT: i32 = 4;
/// The ring is full and the producer's policy is `fail`.
pub const RF_FULL: i32 = 5;
/// A producer evicted the consumer (it held the producer back with a stale heartbeat): it no
/// longer sees every frame.
pub const RF_EVICTED: i32 = 6;
/// An argument is out of range (a null pointer, a bad size, a frame still held).
pub const RF_BAD_ARGUMENT: i32 = 7;
/// No live ring, consumer or task has this handle: never issued, made up, or stale (its ring
/// closed, its consumer unregistered, its task delivered). A stale handle never reaches
/// whatever was registered after it.
pub const RF_UNKNOWN_HANDLE: i32 = 8;
/// The output buffer is too small; the length needed was written.
pub const RF_BUFFER_TOO_SMALL: i32 = 9;
/// Rust panicked inside the call; nothing else was affected.
pub const RF_PANIC: i32 = 10;
/// The task was cancelled (a completion's status).
pub const RF_CANCELLED: i32 = 11;
/// A file (a ring, a WAV file) could not be read or written.
pub const RF_IO: i32 = 12;
/// `rf_ring_wake` on the ring handle released this blocked call (`rf_consumer_next`,
/// `rf_ring_wait`) before a frame came.
pub const RF_WOKEN: i32 = 13;
/// Every consumer block or producer entry of the ring is taken by a live process.
pub const RF_BUSY: i32 = 14;
/// `rf_ring_create` found a file at the path.
pub const RF_EXISTS: i32 = 15;
/// The shared runtime was already built with another configuration.
pub const RF_ALREADY_INITIALIZED: i32 = 16;
/// No producer is left and a frame was never committed while later ones were (a producer died
/// between claim and commit): the frames after it are not delivered.
pub const RF_ABANDONED: i32 = 17;
/// A new ring was created at the ring's path (`create --force --force`, `rf_ring_create` over a
/// live ring): nothing more will come through this one.
pub const RF_REPLACED: i32 = 18;

/// `rf_producer_attach`'s policy: when the slowest lossless reader is a whole ring behind, a
/// claim waits for space, at most the attach's `timeout_ms` (then `RF_TIMEOUT`).
pub const RF_POLICY_BLOCK: i32 = 0;
/// `rf_producer_attach`'s policy: a claim on a full ring returns `RF_FULL` at once.
pub const RF_POLICY_FAIL: i32 = 1;
/// `rf_producer_attach`'s policy: a claim never waits and writes over the oldest frame (lagging
/// readers lose frames and are told how many). Only on a ring created overwritable.
pub const RF_POLICY_OVERWRITE: i32 = 2;

/// Every policy by its name in `ringflow.h` (as [`statuses`]).
#[doc(hidden)]
pub fn policies() -> &'static [(&'static str, i32)] {
    &[
        ("RF_POLICY_BLOCK", RF_POLICY_BLOCK),
        ("RF_POLICY_FAIL", RF_POLICY_FAIL),
        ("RF_POLICY_OVERWRITE", RF_POLICY_OVERWRITE),
    ]
}

/// Every status above by its name in `ringflow.h`, for the tests that hold the header, the C
/// compiler's view of it and the error table against this file.
#[doc(hidden)]
pub fn statuses() -> &'static [(&'static str, i32)] {
    &[
        ("RF_OK", RF_OK),
        ("RF_TIMEOUT", RF_TIMEOUT),
        ("RF_CLOSED", RF_CLOSED),
        ("RF_PRODUCER_GONE", RF_PRODUCER_GONE),
        ("RF_CORRUPT", RF_CORRUPT),
        ("RF_FULL", RF_FULL),
        ("RF_EVICTED", RF_EVICTED),
        ("RF_BAD_ARGUMENT", RF_BAD_ARGUMENT),
        ("RF_UNKNOWN_HANDLE", RF_UNKNOWN_HANDLE),
        ("RF_BUFFER_TOO_SMALL", RF_BUFFER_TOO_SMALL),
        ("RF_PANIC", RF_PANIC),
        ("RF_CANCELLED", RF_CANCELLED),
        ("RF_IO", RF_IO),
        ("RF_WOKEN", RF_WOKEN),
        ("RF_BUSY", RF_BUSY),
        ("RF_EXISTS", RF_EXISTS),
        ("RF_ALREADY_INITIALIZED", RF_ALREADY_INITIALIZED),
        ("RF_ABANDONED", RF_ABANDONED),
        ("RF_REPLACED", RF_REPLACED),
    ]
}

/// A frame handed out by `rf_consumer_next`; `data` is valid until `rf_consumer_release` on the
/// same consumer. Never torn: a frame no producer may rewrite before the release is shown in
/// place, any other (a lossy consumer's, an overwritable ring's) as a copy checked whole first.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RfFrame {
    /// Sequence number.
    pub seq: u64,
    /// The producer's CLOCK_MONOTONIC timestamp in nanoseconds (0 if it writes none).
    pub timestamp_ns: u64,
    /// Frames this consumer lost just before this one (lossy readers).
    pub lost_before: u64,
    /// The payload: in the shared mapping, or the consumer's checked copy.
    pub data: *const u8,
    /// Payload bytes.
    pub len: usize,
    /// The user kind.
    pub kind: u16,
}

/// A slot handed out by `rf_producer_claim` or `rf_producer_claim_batch`: `capacity` writable
/// payload bytes at `data`, in the shared mapping, owned by the claim until its commit (after
/// the commit, or the producer's close, the pointer must not be used).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct RfSlot {
    /// The frame's sequence number.
    pub seq: u64,
    /// The slot's payload area.
    pub data: *mut u8,
    /// Payload bytes the slot holds (the ring's slot size).
    pub capacity: usize,
}

/// A completion callback: `status` is an `RF_*` code; `json` is the task's result (its summary
/// as JSON) when `status` is `RF_OK`, else the error message. Both are valid only during the
/// call. Called once, on an engine runtime thread.
pub type RfCallback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: i32, json: *const c_char)>;

/// The message `rf_*_post` entries post: laid out as Dart's `Dart_CObject` holding a string
/// (`type` = 5, `Dart_CObject_kString`; the value union at offset 8), so `Dart_PostCObject` can
/// be passed as the post function. The string is JSON: `{"status": <RF_*>, "value": <result>}`
/// or `{"status": <RF_*>, "error": "<message>"}`; valid during the call only (Dart copies it).
#[repr(C)]
#[derive(Debug)]
pub struct RfCObject {
    /// 5 (`Dart_CObject_kString`).
    pub kind: i32,
    /// The JSON text.
    pub as_string: *const c_char,
}

/// A "post to port" function, as `Dart_PostCObject`: posts `message` to `port` and returns
/// whether it was posted. Called once, on an engine runtime thread.
pub type RfPostFn = Option<unsafe extern "C" fn(port: i64, message: *mut RfCObject) -> bool>;

/// `Dart_CObject_kString`.
const DART_KIND_STRING: i32 = 5;

// --- errors --------------------------------------------------------------------------------

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let text = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = text);
}

struct Failure(i32, String);

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure(status_of(&e), e.to_string())
    }
}

impl From<RingError> for Failure {
    fn from(e: RingError) -> Self {
        EngineError::Ring(e).into()
    }
}

impl From<ClaimError> for Failure {
    fn from(e: ClaimError) -> Self {
        RingError::from(e).into()
    }
}

impl From<RecvError> for Failure {
    fn from(e: RecvError) -> Self {
        EngineError::from(e).into()
    }
}

impl From<Interrupted> for Failure {
    fn from(why: Interrupted) -> Self {
        match why {
            Interrupted::Woken => Failure(RF_WOKEN, "woken by rf_ring_wake".into()),
            Interrupted::Closed => Failure(
                RF_CLOSED,
                "the ring handle was closed by rf_ring_close".into(),
            ),
        }
    }
}

fn bad(message: impl Into<String>) -> Failure {
    Failure(RF_BAD_ARGUMENT, message.into())
}

/// The status an engine error is returned as: its kind's row of the one error table
/// (`ErrorKind::boundary`).
fn status_of(e: &EngineError) -> i32 {
    e.kind().boundary().c_status
}

/// Runs `f` as one C call: its error becomes a status and this thread's last error, a panic
/// becomes `RF_PANIC`.
fn ffi(f: impl FnOnce() -> Result<(), Failure>) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        // The last error is left as it is on success: no allocation on the per-frame path.
        Ok(Ok(())) => RF_OK,
        Ok(Err(Failure(status, message))) => {
            set_last_error(&message);
            status
        }
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "a non-string panic".into());
            set_last_error(&format!("ringflow panicked: {message}"));
            RF_PANIC
        }
    }
}

/// Writes `value` through `out`, refusing a null pointer.
fn put<T>(out: *mut T, value: T, name: &str) -> Result<(), Failure> {
    if out.is_null() {
        return Err(bad(format!("{name} is null")));
    }
    // SAFETY: not null; the caller passes a pointer to writable storage for a `T` (the
    // function's contract in the header).
    unsafe { out.write(value) };
    Ok(())
}

fn path_arg(path: *const c_char) -> Result<String, Failure> {
    if path.is_null() {
        return Err(bad("path is null"));
    }
    // SAFETY: not null; the caller passes a NUL-terminated string (the header's contract).
    let path = unsafe { CStr::from_ptr(path) };
    path.to_str()
        .map(str::to_owned)
        .map_err(|_| bad("path is not UTF-8"))
}

fn registry() -> &'static Registry {
    Registry::global()
}

// --- rings ---------------------------------------------------------------------------------

/// Maps the ring file at `path` (NUL-terminated UTF-8) and writes its handle to `out_ring`.
/// `RF_CORRUPT` if the file is not a valid ring.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_ring_open(path: *const c_char, out_ring: *mut u64) -> i32 {
    ffi(|| {
        let ring = Ring::open(path_arg(path)?)?;
        put(out_ring, rings::add(ring).0, "out_ring")
    })
}

/// Creates (or replaces) a ring file at `path` with `slots` slots (a power of two) of
/// `slot_size` payload bytes and room for `max_consumers` consumers; writes its handle. Only a
/// regular file is replaced: a FIFO, socket, device or directory at `path` is `RF_BAD_ARGUMENT`
/// (naming what it is), and is left alone.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_ring_create(
    path: *const c_char,
    slots: u32,
    slot_size: u32,
    max_consumers: u32,
    out_ring: *mut u64,
) -> i32 {
    ffi(|| {
        let config = RingConfig::new(slots, slot_size).max_consumers(max_consumers);
        config.geometry().map_err(|e| bad(e.to_string()))?;
        let ring = Ring::create_or_replace(path_arg(path)?, &config)?;
        put(out_ring, rings::add(ring).0, "out_ring")
    })
}

/// Removes the ring file at `path` (NUL-terminated UTF-8): unlinks it after checking that it is
/// a ring. Processes that map it keep it until they let go; nothing new can open it. `RF_IO` if
/// there is no such file, `RF_CORRUPT` if the file is not a ring (it is left alone). Ring
/// handles of it stay valid (release them with `rf_ring_close`). Thread-safe.
///
/// # Safety
/// `path` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_ring_remove(path: *const c_char) -> i32 {
    ffi(|| Ok(Ring::remove(path_arg(path)?)?))
}

/// Forgets the durable named consumer `name` (NUL-terminated UTF-8) of the ring handle's ring
/// (Rust `Ring::forget_consumer`): its consumer block stops holding producers back at once and
/// loses the name, so a later reader of that name starts afresh. Writes 1 to `out_forgotten`
/// if it did, 0 if no consumer of the ring has the name. A name a live process owns is refused
/// with `RF_BUSY` unless `force` is non-zero: then it is evicted (its owner's next read returns
/// `RF_EVICTED`) and its block is free once that owner lets it go. `RF_BAD_ARGUMENT` for a
/// null, non-UTF-8, empty or longer than 32-byte name. Thread-safe.
///
/// # Safety
/// `name` is null or a NUL-terminated string; `out_forgotten` is null or valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_consumer_forget(
    ring: u64,
    name: *const c_char,
    force: i32,
    out_forgotten: *mut i32,
) -> i32 {
    ffi(|| {
        if name.is_null() {
            return Err(bad("name is null"));
        }
        // SAFETY: not null; the caller passes a NUL-terminated string (the header's contract).
        let name = unsafe { CStr::from_ptr(name) }
            .to_str()
            .map_err(|_| bad("name is not UTF-8"))?;
        if out_forgotten.is_null() {
            return Err(bad("out_forgotten is null"));
        }
        let (r, _gate) = rings::get(ring_handle(ring)?)?;
        let forgotten = r.forget_consumer(name, force != 0)?;
        put(out_forgotten, i32::from(forgotten), "out_forgotten")
    })
}

/// Releases a ring handle: cancels its engine tasks, and makes every call blocked on it
/// (`rf_consumer_next` on a consumer registered through it, `rf_ring_wait` on it) return
/// `RF_CLOSED` at once (see `rf_ring_wake` for how soon). The handle is stale afterwards
/// (`RF_UNKNOWN_HANDLE`). Consumers registered through it stay registered, and keep the
/// mapping, until `rf_consumer_unregister`; their `rf_consumer_next` returns `RF_CLOSED` from
/// now on, and `rf_consumer_release` still releases a held frame. Producers attached through it
/// stay attached until `rf_producer_close`: a claim of theirs that waits for space, now or
/// later, returns `RF_CLOSED` within 50 ms (nothing claimed); one that finds space succeeds.
#[unsafe(no_mangle)]
pub extern "C" fn rf_ring_close(ring: u64) -> i32 {
    ffi(|| Ok(rings::cancel(ring_handle(ring)?)?))
}

/// Makes every call blocked on the ring handle (`rf_consumer_next` on a consumer registered
/// through it, `rf_ring_wait` on it) return `RF_WOKEN`, at once: as soon as the futex wake
/// reaches a call parked on it, and within 50 ms for one that had not parked yet. A call that
/// starts afterwards waits as usual. Readers parked on the ring elsewhere (another handle,
/// another process) have their wait return early and wait again. For interrupting a blocked
/// reader at shutdown.
#[unsafe(no_mangle)]
pub extern "C" fn rf_ring_wake(ring: u64) -> i32 {
    ffi(|| Ok(rings::wake(Handle(ring))?))
}

/// Waits until the ring published more than `seen` frames, at most `timeout_ms` (0: don't wait;
/// negative: forever); writes the published count. `RF_TIMEOUT`; `RF_CLOSED` once none will
/// come, or when `rf_ring_close` closes the handle; `RF_WOKEN` when `rf_ring_wake` wakes it;
/// `RF_PRODUCER_GONE`.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_ring_wait(
    ring: u64,
    seen: u64,
    timeout_ms: i64,
    out_published: *mut u64,
) -> i32 {
    ffi(|| {
        let (r, gate) = rings::get(Handle(ring))?;
        let watch = gate.watch();
        let deadline = deadline(timeout_ms);
        loop {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            let published = r.wait_published(seen, Some(slice(left)));
            if published > seen {
                return put(out_published, published, "out_published");
            }
            if let Some(why) = watch.interrupted() {
                return Err(why.into());
            }
            r.check_producer()?;
            if left.is_some_and(|l| l.is_zero()) {
                return Err(Failure(RF_TIMEOUT, "no frame within the timeout".into()));
            }
        }
    })
}

/// Writes the ring's statistics as NUL-terminated JSON into `buf` (`cap` bytes) and its length
/// (without the NUL) to `out_len`. `RF_BUFFER_TOO_SMALL` (with the length needed) if it does
/// not fit; `buf` may be null with `cap` 0 to ask for the length. Each call takes a new snapshot
/// (heartbeat ages among its values), so the length can change between two calls: on
/// `RF_BUFFER_TOO_SMALL`, call again with the length it gave (some slack saves a round).
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_ring_stats_json(
    ring: u64,
    buf: *mut c_char,
    cap: usize,
    out_len: *mut usize,
) -> i32 {
    ffi(|| {
        let json = registry().stats(Handle(ring))?.to_string();
        put(out_len, json.len(), "out_len")?;
        if json.len() >= cap {
            return Err(Failure(
                RF_BUFFER_TOO_SMALL,
                format!("the stats need {} bytes and a NUL", json.len()),
            ));
        }
        if buf.is_null() {
            return Err(bad("buf is null"));
        }
        // SAFETY: `buf` holds `cap` > len bytes (the caller's contract); the source is ours.
        unsafe {
            std::ptr::copy_nonoverlapping(json.as_ptr(), buf.cast::<u8>(), json.len());
            buf.add(json.len()).write(0);
        }
        Ok(())
    })
}

fn ring_handle(ring: u64) -> Result<Handle, Failure> {
    registry().ring(Handle(ring))?;
    Ok(Handle(ring))
}

fn deadline(timeout_ms: i64) -> Option<Instant> {
    u64::try_from(timeout_ms)
        .ok()
        .map(|ms| Instant::now() + Duration::from_millis(ms))
}

/// The next wait of a blocked call: what is `left` of its timeout (`None`: forever), but at most
/// `WATCH_SLICE`, so it looks at its ring handle's gate at least that often (`rings.rs`).
fn slice(left: Option<Duration>) -> Duration {
    left.map_or(WATCH_SLICE, |l| l.min(WATCH_SLICE))
}

// --- consumers -----------------------------------------------------------------------------

/// Registers a consumer on `ring` (lossy: never holds a producer back, and counts what it
/// loses); writes its handle. It reads the frames published from now on. Consumer handles are
/// generation-checked: once unregistered, a handle is `RF_UNKNOWN_HANDLE` for good, even after
/// another consumer took its place.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_consumer_register(
    ring: u64,
    lossy: bool,
    out_consumer: *mut u64,
) -> i32 {
    ffi(|| {
        if out_consumer.is_null() {
            return Err(bad("out_consumer is null"));
        }
        let handle = consumers::register(Handle(ring), lossy, ringflow::Start::Next)?;
        put(out_consumer, handle, "out_consumer")
    })
}

/// Waits at most `timeout_ms` (0: don't wait; negative: forever) for the consumer's next frame
/// and describes it in `out_frame` (in place, or a checked copy: never torn; see `rf_frame`):
/// `data` stays valid until `rf_consumer_release`, which must come before the next
/// `rf_consumer_next`. `RF_TIMEOUT` if none came; `RF_CLOSED`
/// once the ring closed and every frame was read, or once `rf_ring_close` closed the ring handle
/// it was registered through (a blocked call returns at once); `RF_WOKEN` when `rf_ring_wake` on
/// that handle woke it; `RF_PRODUCER_GONE`; `RF_EVICTED`.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_consumer_next(
    consumer_handle: u64,
    timeout_ms: i64,
    out_frame: *mut RfFrame,
) -> i32 {
    ffi(|| {
        if out_frame.is_null() {
            return Err(bad("out_frame is null"));
        }
        let entry = consumers::get(consumer_handle)?;
        let mut entry = consumers::lock(&entry);
        let ConsumerEntry {
            gate,
            consumer,
            held,
        } = &mut *entry;
        if held.is_some() {
            return Err(bad(
                "the previous frame is still held: rf_consumer_release it first",
            ));
        }
        let watch = gate.watch();
        let deadline = deadline(timeout_ms);
        let frame = loop {
            // A closed handle stays closed: nothing more is read through it.
            if let Some(Interrupted::Closed) = watch.interrupted() {
                return Err(Interrupted::Closed.into());
            }
            if let Some(frame) = consumer.poll_held()? {
                break frame;
            }
            if let Some(why) = watch.interrupted() {
                return Err(why.into());
            }
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left.is_some_and(|l| l.is_zero()) {
                consumer.check_producer()?;
                return Err(Failure(RF_TIMEOUT, "no frame within the timeout".into()));
            }
            // Returns early when woken (or a slice ends) with nothing to read: the loop looks
            // at the gate again.
            match consumer.wait(Some(slice(left))) {
                Ok(()) | Err(RecvError::Timeout) => {}
                Err(e) => return Err(e.into()),
            }
        };
        let info = *frame.info();
        let rf = RfFrame {
            seq: info.seq,
            timestamp_ns: info.timestamp_ns,
            lost_before: info.lost_before,
            data: frame.payload_ptr(),
            len: info.len,
            kind: info.kind,
        };
        *held = Some(frame);
        put(out_frame, rf, "out_frame")
    })
}

/// Done with the frame `rf_consumer_next` handed out: the cursor moves past it (a lossless
/// consumer lets the producer reuse its slot). Writes to `out_intact` (if not null) whether the
/// frame was still intact: false only if the frame was shown in place and a producer rewrote it
/// while it was held, which an eviction of a stalled lossless consumer allows (a producer's
/// `evict_after`); what was read of it must then be discarded.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_consumer_release(consumer_handle: u64, out_intact: *mut bool) -> i32 {
    ffi(|| {
        let entry = consumers::get(consumer_handle)?;
        let mut c = consumers::lock(&entry);
        let Some(frame) = c.held.take() else {
            return Err(bad("no frame is held"));
        };
        // The frame was handed out by this consumer (it is only ever stored here), so the release
        // cannot be refused; if it were, the token is kept and the error reported.
        let intact = match c.consumer.release_held(frame) {
            Ok(intact) => intact,
            Err(e) => {
                let message = e.to_string();
                c.held = Some(e.frame);
                return Err(bad(message));
            }
        };
        if !out_intact.is_null() {
            put(out_intact, intact, "out_intact")?;
        }
        Ok(())
    })
}

/// Unregisters a consumer (a held frame is released); its handle is stale from now on
/// (`RF_UNKNOWN_HANDLE`, whatever is registered later).
#[unsafe(no_mangle)]
pub extern "C" fn rf_consumer_unregister(consumer_handle: u64) -> i32 {
    // The entry's `Consumer` gives its block back when dropped.
    ffi(|| Ok(consumers::unregister(consumer_handle)?))
}

// --- producers -----------------------------------------------------------------------------

/// Attaches a producer to `ring` and writes its handle to `out_producer`. `policy` is one of
/// `RF_POLICY_BLOCK` (a claim waits for space at most `timeout_ms`; negative: forever),
/// `RF_POLICY_FAIL` and `RF_POLICY_OVERWRITE` (`timeout_ms` is then ignored). A single-producer
/// ring takes one producer at a time (`RF_BUSY` while another, in any process, is attached); a
/// multi-producer ring up to 8. `RF_BAD_ARGUMENT` for an unknown policy, or `overwrite` on a ring
/// not created overwritable. The producer keeps the ring mapped: `rf_ring_close` on `ring` does
/// not detach it (`rf_producer_close` does). Producer handles are generation-checked, as
/// consumer handles are, and never equal a consumer's.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_producer_attach(
    ring: u64,
    policy: i32,
    timeout_ms: i64,
    out_producer: *mut u64,
) -> i32 {
    ffi(|| {
        if out_producer.is_null() {
            return Err(bad("out_producer is null"));
        }
        let policy = producers::policy_of(policy, timeout_ms)?;
        let handle = producers::attach(Handle(ring), ProducerOptions::new(policy))?;
        put(out_producer, handle, "out_producer")
    })
}

/// Runs `f` on a live producer, unless another thread is inside a call on it (`RF_BUSY`).
fn with_producer<T>(
    handle: u64,
    f: impl FnOnce(&ProducerSlot, &mut ProducerEntry) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let slot = producers::get(handle)?;
    let Some(mut entry) = producers::try_lock(&slot) else {
        return Err(Failure(
            RF_BUSY,
            format!("producer {handle} is in use by another thread: a producer is used by one thread at a time"),
        ));
    };
    f(&slot, &mut entry)
}

impl From<Stopped> for Failure {
    fn from(why: Stopped) -> Self {
        match why {
            Stopped::ProducerClosed => Failure(
                RF_CLOSED,
                "the producer was closed by rf_producer_close while its claim waited".into(),
            ),
            Stopped::RingClosed => Failure(
                RF_CLOSED,
                "the ring handle was closed by rf_ring_close while the claim waited".into(),
            ),
        }
    }
}

impl From<Ended> for Failure {
    fn from(e: Ended) -> Self {
        match e {
            Ended::Refused(e) => e.into(),
            Ended::Stopped(why) => why.into(),
        }
    }
}

/// Claims `n` slots (`1 ..= slots`) for `out_slots` (an array of `n`), under the producer's
/// policy; the claim stays open until a commit.
fn claim_into(handle: u64, n: usize, out_slots: *mut RfSlot) -> Result<(), Failure> {
    with_producer(handle, |slot, e| {
        if let Some(open) = &e.claim {
            return Err(bad(format!(
                "a claim of {} frames from sequence {} is still open: commit it first",
                open.len(),
                open.first_seq()
            )));
        }
        // A `block` claim waits in slices and ends when the producer or its ring handle is
        // closed (`producers.rs`, "Ending a blocked claim").
        let claim = slot.stoppable(e, |p, wait| match wait {
            Some(wait) => p.claim_within(n, wait),
            None => p.claim(n),
        })?;
        let capacity = e.producer.slot_size();
        for i in 0..n {
            let data = e
                .producer
                .payload_ptr(&claim, i)
                .expect("slot i of the claim just made");
            let slot = RfSlot {
                seq: claim.first_seq() + i as u64,
                data,
                capacity,
            };
            // SAFETY: `out_slots` holds `n` slots (the caller's contract; checked not null).
            unsafe { out_slots.add(i).write(slot) };
        }
        e.claim = Some(claim);
        Ok(())
    })
}

/// Claims the next slot: waits for space as the producer's policy says, then describes the slot
/// in `out_slot` (its sequence, and `capacity` writable bytes at `data`, in place in the shared
/// mapping). Write the frame there, then `rf_producer_commit`. `RF_FULL` (policy `fail`),
/// `RF_TIMEOUT` (policy `block` with a timeout), `RF_REPLACED`; `RF_BAD_ARGUMENT` if a claim is
/// still open. A claim waiting for space (policy `block`) returns `RF_CLOSED`, nothing claimed,
/// within 50 ms of `rf_ring_close` on the ring handle the producer was attached through or of
/// `rf_producer_close` on the producer (from another thread); `rf_ring_wake` does not concern
/// it. No allocation and no lock beyond the handle lookup; no syscall unless it waits.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_producer_claim(producer: u64, out_slot: *mut RfSlot) -> i32 {
    ffi(|| {
        if out_slot.is_null() {
            return Err(bad("out_slot is null"));
        }
        claim_into(producer, 1, out_slot)
    })
}

/// Claims `n` consecutive slots at once (`1 ..=` the ring's slot count: one wait for space, one
/// commit for all) and describes them in `out_slots`, an array of `n` `rf_slot`s (slot `i` has
/// sequence `seq` of slot 0 plus `i`; slots are not contiguous in memory). Write the frames, then
/// `rf_producer_commit_batch`. Errors as `rf_producer_claim`, and `RF_BAD_ARGUMENT` for an `n`
/// out of range.
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes (`out_slots`: `n`
/// elements).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_producer_claim_batch(
    producer: u64,
    n: usize,
    out_slots: *mut RfSlot,
) -> i32 {
    ffi(|| {
        if out_slots.is_null() {
            return Err(bad("out_slots is null"));
        }
        claim_into(producer, n, out_slots)
    })
}

/// Publishes the open claim of `rf_producer_claim` as one frame of `len` payload bytes and user
/// kind `kind`; readers see it from now on. `RF_BAD_ARGUMENT` (and the claim stays open, nothing
/// published) if no claim is open, if the open claim is a batch of more than one slot (use
/// `rf_producer_commit_batch`), or if `len` exceeds the slot's capacity.
#[unsafe(no_mangle)]
pub extern "C" fn rf_producer_commit(producer: u64, len: usize, kind: u16) -> i32 {
    ffi(|| {
        with_producer(producer, |_, e| {
            let Some(claim) = e.claim.take() else {
                return Err(bad("no claim is open: rf_producer_claim first"));
            };
            if claim.len() != 1 {
                let message = format!(
                    "the open claim is a batch of {} slots: commit it with rf_producer_commit_batch",
                    claim.len()
                );
                e.claim = Some(claim);
                return Err(bad(message));
            }
            commit_open(e, claim, 1, |_| (len, kind))
        })
    })
}

/// Publishes the open claim: slots `0 .. count` as frames of `lens[i]` bytes and kind `kinds[i]`
/// (`kinds` may be null: kind 0), the rest of the claim (a writer that ran short) as empty frames
/// readers pass over. `RF_BAD_ARGUMENT` (the claim stays open, nothing published) if no claim is
/// open, `count` exceeds it, or a length exceeds the slot capacity.
///
/// # Safety
/// `lens` holds `count` elements (may be null if `count` is 0); `kinds` is null or holds `count`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_producer_commit_batch(
    producer: u64,
    count: usize,
    lens: *const usize,
    kinds: *const u16,
) -> i32 {
    ffi(|| {
        if count > 0 && lens.is_null() {
            return Err(bad("lens is null"));
        }
        with_producer(producer, |_, e| {
            let Some(claim) = e.claim.take() else {
                return Err(bad("no claim is open: rf_producer_claim_batch first"));
            };
            commit_open(e, claim, count, |i| {
                // SAFETY: `i < count` (`HeldProducer::commit` asks only for those), and `lens`
                // holds `count` elements, `kinds` too unless null (the caller's contract).
                unsafe {
                    let kind = if kinds.is_null() { 0 } else { *kinds.add(i) };
                    (*lens.add(i), kind)
                }
            })
        })
    })
}

/// Commits `claim` (taken out of the entry); a refused commit puts it back, still open.
fn commit_open(
    e: &mut ProducerEntry,
    claim: ringflow::HeldClaim,
    frames: usize,
    meta: impl Fn(usize) -> (usize, u16),
) -> Result<(), Failure> {
    match e.producer.commit(claim, frames, meta) {
        Ok(()) => Ok(()),
        Err(refused) => {
            let message = format!("{refused} (the claim is still open)");
            e.claim = Some(refused.claim);
            Err(bad(message))
        }
    }
}

/// Detaches a producer; its handle is stale from now on (`RF_UNKNOWN_HANDLE`, a second close
/// among them). An open claim is published as empty frames readers pass over, so no reader waits
/// on it. The last producer to detach closes the ring: its readers get `RF_CLOSED` once they
/// have read every frame. A call on the producer in progress on another thread finishes first
/// (the producer detaches then); a claim waiting for space there ends with `RF_CLOSED` within
/// 50 ms.
#[unsafe(no_mangle)]
pub extern "C" fn rf_producer_close(producer: u64) -> i32 {
    ffi(|| Ok(producers::close(producer)?))
}

// --- tasks and completions -----------------------------------------------------------------

/// Where a task's end goes.
#[derive(Clone, Copy)]
enum Notify {
    Callback(unsafe extern "C" fn(*mut c_void, i32, *const c_char), usize),
    Post(unsafe extern "C" fn(i64, *mut RfCObject) -> bool, i64),
}

impl Notify {
    /// Notifies, then frees the task's handle: a completion comes once, and the handle is stale
    /// after it.
    fn on_end(self) -> OnEnd {
        Box::new(move |h, outcome| {
            self.notify(outcome);
            let _ = registry().release(h);
        })
    }

    fn notify(self, outcome: Outcome) {
        {
            let (status, text) = match &outcome {
                Outcome::Done(v) => (RF_OK, v.to_string()),
                Outcome::Failed(e) => (status_of(e), e.to_string()),
                Outcome::Cancelled => (RF_CANCELLED, "cancelled".to_string()),
                Outcome::Panicked(m) => (RF_PANIC, format!("the task panicked: {m}")),
            };
            match self {
                Notify::Callback(f, user_data) => {
                    let text = CString::new(text.replace('\0', " ")).unwrap_or_default();
                    // SAFETY: the caller registered `f` with this `user_data`, to be called once
                    // from a runtime thread (the header's contract).
                    unsafe { f(user_data as *mut c_void, status, text.as_ptr()) };
                }
                Notify::Post(f, port) => {
                    let message = match &outcome {
                        Outcome::Done(v) => serde_json::json!({"status": status, "value": v}),
                        _ => serde_json::json!({"status": status, "error": text}),
                    };
                    let text = CString::new(message.to_string()).unwrap_or_default();
                    let mut object = RfCObject {
                        kind: DART_KIND_STRING,
                        as_string: text.as_ptr(),
                    };
                    // SAFETY: as above; the message lives until `f` returns (Dart copies it).
                    unsafe { f(port, &mut object) };
                }
            }
        }
    }
}

fn callback(cb: RfCallback, user_data: *mut c_void) -> Result<Notify, Failure> {
    cb.map(|f| Notify::Callback(f, user_data as usize))
        .ok_or_else(|| bad("callback is null"))
}

fn post(f: RfPostFn, port: i64) -> Result<Notify, Failure> {
    f.map(|f| Notify::Post(f, port))
        .ok_or_else(|| bad("post function is null"))
}

fn start_producer(
    ring: u64,
    source: i32,
    frames: i64,
    rate: f64,
    notify: Notify,
) -> Result<u64, Failure> {
    let r = registry().ring(Handle(ring))?;
    let (source, options) = crate::sources::producer_source(&r, source, frames, rate)?;
    Ok(registry()
        .spawn_producer_then(Handle(ring), source, options, Some(notify.on_end()))?
        .0)
}

fn start_await(ring: u64, seen: u64, notify: Notify) -> Result<u64, Failure> {
    let wait = registry().published_beyond(Handle(ring), seen)?;
    Ok(registry()
        .spawn_future(Some(Handle(ring)), |_| wait, Some(notify.on_end()))?
        .0)
}

/// Starts an engine producer in this process on `ring`: `source` 0 `seq`, 1 `audio` (a sine in
/// the ring's audio format), 2 `telemetry`, 3 `fill`; `frames` negative: until cancelled; `rate` <= 0: the
/// source's own pace. Writes its task handle (for `rf_task_cancel`); when it ends, `callback`
/// gets `user_data`, a status and its summary (JSON).
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_produce_async(
    ring: u64,
    source: i32,
    frames: i64,
    rate: f64,
    callback: RfCallback,
    user_data: *mut c_void,
    out_task: *mut u64,
) -> i32 {
    ffi(|| {
        let task = start_producer(
            ring,
            source,
            frames,
            rate,
            self::callback(callback, user_data)?,
        )?;
        put(out_task, task, "out_task")
    })
}

/// `rf_produce_async`, posting the end to `port` through `post` (as `Dart_PostCObject`).
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_produce_post(
    ring: u64,
    source: i32,
    frames: i64,
    rate: f64,
    post: RfPostFn,
    port: i64,
    out_task: *mut u64,
) -> i32 {
    ffi(|| {
        let task = start_producer(ring, source, frames, rate, self::post(post, port)?)?;
        put(out_task, task, "out_task")
    })
}

/// Calls `callback` once the ring published more than `seen` frames (status `RF_OK`, the count
/// as JSON), or with `RF_CLOSED` once none will come. No thread waits per call: every such wait
/// on a ring shares the ring's one waiter thread. Writes the task handle (for `rf_task_cancel`).
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_await_data_async(
    ring: u64,
    seen: u64,
    callback: RfCallback,
    user_data: *mut c_void,
    out_task: *mut u64,
) -> i32 {
    ffi(|| {
        let task = start_await(ring, seen, self::callback(callback, user_data)?)?;
        put(out_task, task, "out_task")
    })
}

/// `rf_await_data_async`, posting the end to `port` through `post` (as `Dart_PostCObject`).
///
/// # Safety
/// Each pointer is null or valid for what this says it reads or writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn rf_await_data_post(
    ring: u64,
    seen: u64,
    post: RfPostFn,
    port: i64,
    out_task: *mut u64,
) -> i32 {
    ffi(|| {
        let task = start_await(ring, seen, self::post(post, port)?)?;
        put(out_task, task, "out_task")
    })
}

/// Cancels a task. Its completion still comes, once: `RF_CANCELLED` (a producer reports
/// `RF_OK` with its summary, `"cancelled": true`). `RF_UNKNOWN_HANDLE` if it already ended
/// (task handles are freed when their completion was delivered).
#[unsafe(no_mangle)]
pub extern "C" fn rf_task_cancel(task: u64) -> i32 {
    ffi(|| Ok(registry().stop(Handle(task))?))
}

// --- misc ----------------------------------------------------------------------------------

/// The message of this thread's last failed call ("" if none failed yet). Valid until this
/// thread's next failed call; never null.
#[unsafe(no_mangle)]
pub extern "C" fn rf_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// The library's version, NUL-terminated, static.
#[unsafe(no_mangle)]
pub extern "C" fn rf_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_status_and_a_message_not_an_unwind() {
        let status = ffi(|| panic!("broke on purpose"));
        assert_eq!(status, RF_PANIC);
        // SAFETY: rf_last_error returns this thread's NUL-terminated message.
        let message = unsafe { CStr::from_ptr(rf_last_error()) };
        assert!(message.to_str().unwrap().contains("broke on purpose"));
        assert_eq!(ffi(|| Ok(())), RF_OK);
    }

    /// `rf_consumer_forget` through its C signature: refused (`RF_BUSY`) while the name has a
    /// live owner, done once it is ownerless (a producer it held back goes on), 0 when no
    /// consumer has the name, `RF_BAD_ARGUMENT` for a null name.
    #[test]
    fn forget_refuses_a_live_name_and_frees_an_ownerless_one() {
        use std::ffi::CString;
        use std::time::Duration;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring");
        let ring = Ring::create(&path, &RingConfig::new(2, 16)).unwrap();
        let owner = ring
            .consumer_named(
                "c-name",
                ringflow::Delivery::Lossless,
                Duration::from_secs(3600),
            )
            .unwrap();
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let name = CString::new("c-name").unwrap();
        let mut handle = 0u64;
        // SAFETY: valid NUL-terminated path and out pointer.
        assert_eq!(unsafe { rf_ring_open(c_path.as_ptr(), &mut handle) }, RF_OK);
        let forget = |name: *const c_char| {
            let mut forgotten = -1i32;
            // SAFETY: `name` is a valid NUL-terminated string or null, the out pointer a local.
            let status = unsafe { rf_consumer_forget(handle, name, 0, &mut forgotten) };
            (status, forgotten)
        };
        assert_eq!(forget(name.as_ptr()), (RF_BUSY, -1));
        drop(owner);
        let mut producer = ring
            .producer(ringflow::ProducerOptions::new(ringflow::FullPolicy::Fail))
            .unwrap();
        producer.push(b"a").unwrap();
        producer.push(b"b").unwrap();
        assert!(
            producer.push(b"c").is_err(),
            "held back by the ownerless name"
        );
        assert_eq!(forget(name.as_ptr()), (RF_OK, 1));
        producer.push(b"c").unwrap();
        assert_eq!(forget(name.as_ptr()), (RF_OK, 0));
        assert_eq!(forget(std::ptr::null()).0, RF_BAD_ARGUMENT);
        assert_eq!(rf_ring_close(handle), RF_OK);
    }

    /// A claim waiting for space when `rf_producer_close` closed its producer returns
    /// `RF_CLOSED`, even if space came right after the close, within the claim's slice: never
    /// `RF_OK` with a slot the producer's detach (once the claim lets go of the entry) has
    /// already published as a skip frame, in a mapping that may be gone.
    #[test]
    fn a_claim_whose_producer_was_closed_while_it_waited_is_closed_even_if_space_came() {
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ring");
        let ring = Ring::create(&path, &RingConfig::new(2, 16)).unwrap();
        let mut reader = ring.consumer().unwrap();
        let c_path = CString::new(path.to_str().unwrap()).unwrap();
        let mut handle = 0u64;
        // SAFETY: valid NUL-terminated path and out pointer.
        assert_eq!(unsafe { rf_ring_open(c_path.as_ptr(), &mut handle) }, RF_OK);
        let mut producer = 0u64;
        // SAFETY: a live ring handle and a valid out pointer.
        let status = unsafe { rf_producer_attach(handle, RF_POLICY_BLOCK, -1, &mut producer) };
        assert_eq!(status, RF_OK);
        let claim = move || {
            let mut slot = RfSlot {
                seq: 0,
                data: std::ptr::null_mut(),
                capacity: 0,
            };
            // SAFETY: a valid out pointer.
            unsafe { rf_producer_claim(producer, &mut slot) }
        };
        for _ in 0..2 {
            assert_eq!(claim(), RF_OK);
            assert_eq!(rf_producer_commit(producer, 0, 0), RF_OK);
        }
        let blocked = std::thread::spawn(claim);
        let until = Instant::now() + Duration::from_secs(10);
        while ring.stats().space_sleepers == 0 {
            assert!(Instant::now() < until, "the claim never waited for space");
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(rf_producer_close(producer), RF_OK);
        // Space at once, most likely within the claim's current slice.
        drop(reader.poll().unwrap().expect("a frame"));
        assert_eq!(blocked.join().unwrap(), RF_CLOSED);
        // Nothing was claimed: the reader finds the second frame and then the ring closed.
        assert_eq!(reader.poll().unwrap().expect("a frame").seq(), 1);
        assert!(reader.poll().unwrap().is_none());
        assert_eq!(rf_ring_close(handle), RF_OK);
    }
}

#[cfg(test)]
mod error_table_tests {
    use super::*;
    use ringflow_engine::error::ErrorKind;

    /// Every status the one error table gives a failure is a status this header defines, under
    /// the same name (the header itself is held against this file by `tests/header.rs`).
    #[test]
    fn every_error_kind_maps_to_a_defined_status() {
        let defined = statuses();
        for kind in ErrorKind::ALL {
            let b = kind.boundary();
            assert!(
                defined.contains(&(b.c_name, b.c_status)),
                "{kind:?}: {} = {} is not a defined status",
                b.c_name,
                b.c_status
            );
        }
        // One status per kind: no two kinds share a status.
        let mut statuses: Vec<i32> = ErrorKind::ALL
            .iter()
            .map(|k| k.boundary().c_status)
            .collect();
        statuses.sort_unstable();
        statuses.dedup();
        assert_eq!(statuses.len(), ErrorKind::ALL.len());
    }
}
