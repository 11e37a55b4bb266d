//! Consumer calls: register a JVM reader (in the consumer table the C ABI shares, `consumers.rs`)
//! and tell the Kotlin side where its block is; the Kotlin side then moves the block's read
//! cursor itself.
//!
//! A consumer handle is opaque to Kotlin: a stale one (kept after `unregister`) or a made-up one
//! throws `RingClosedException` ("unknown or stale handle"), whatever was registered since.

use jni::objects::JClass;
use jni::sys::{jboolean, jint, jlong};
use jni::{jni_mangle, EnvUnowned};
use ringflow::layout::stamp;
use ringflow::Start;
use ringflow_engine::registry::Handle;
use ringflow_engine::EngineError;

use super::run::run;
use crate::consumers;

/// `Native.register(ring, lossy, startKind, startSeq): Long`: registers a consumer starting at
/// the `Start` that `startKind` and `startSeq` encode (`start_of`); returns its handle (opaque,
/// generation-checked: see `handles.rs`). Its block index is `consumerIndex`, where it asked to
/// start `startSeq`, the start its handshake protects `protectedFrom`.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn register<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    ring: jlong,
    lossy: jboolean,
    start_kind: jint,
    start_seq: jlong,
) -> jlong {
    run(&mut env, |_| {
        let start = start_of(start_kind, start_seq)?;
        Ok(consumers::register(Handle(ring as u64), lossy, start)? as jlong)
    })
}

/// `Start.kind` in Kotlin (`dev.ringflow.Start`): [`Start::Next`].
pub(crate) const START_NEXT: jint = 0;
/// `Start.kind`: [`Start::Oldest`].
pub(crate) const START_OLDEST: jint = 1;
/// `Start.kind`: [`Start::Seq`], the sequence in `startSeq`.
pub(crate) const START_SEQ: jint = 2;

/// The [`Start`] a Kotlin `Start` encodes as `(kind, seq)`; an unknown kind or a sequence
/// outside `0 .. 2^62` is refused, naming the value.
pub(crate) fn start_of(kind: jint, seq: jlong) -> Result<Start, EngineError> {
    match kind {
        START_NEXT => Ok(Start::Next),
        START_OLDEST => Ok(Start::Oldest),
        START_SEQ if (0..stamp::MAX_SEQ as i64).contains(&seq) => Ok(Start::Seq(seq as u64)),
        START_SEQ => Err(EngineError::InvalidArgument(format!(
            "a start sequence must be in 0 .. 2^62, but was {seq}"
        ))),
        _ => Err(EngineError::InvalidArgument(format!(
            "unknown start kind {kind} (0 next, 1 oldest, 2 a sequence)"
        ))),
    }
}

/// `Native.consumerIndex(consumer): Int`: the consumer's block index in the region.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn consumer_index<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jint {
    run(&mut env, |_| {
        consumers::with(consumer as u64, |e| e.consumer.index() as jint)
    })
}

/// `Native.startSeq(consumer): Long`: the sequence the consumer asked to start at (its start,
/// resolved when it registered), which is where it reads first.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn start_seq<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jlong {
    run(&mut env, |_| {
        consumers::with(consumer as u64, |e| e.consumer.start_seq() as jlong)
    })
}

/// `Native.protectedFrom(consumer): Long`: the first sequence the consumer's registration
/// handshake protects (`AnyConsumer::protected_from`); frames below it may be rewritten while
/// the reader holds them.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn protected_from<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) -> jlong {
    run(&mut env, |_| {
        consumers::with(consumer as u64, |e| e.consumer.protected_from() as jlong)
    })
}

/// `Native.unregister(consumer)`: gives the consumer's block back; the handle is stale from now
/// on.
#[jni_mangle("dev.ringflow.internal.Native")]
pub fn unregister<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>, consumer: jlong) {
    run(&mut env, |_| consumers::unregister(consumer as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_start_kind_decodes_and_bad_ones_are_refused() {
        assert_eq!(start_of(START_NEXT, 7).unwrap(), Start::Next);
        assert_eq!(start_of(START_OLDEST, 7).unwrap(), Start::Oldest);
        assert_eq!(start_of(START_SEQ, 7).unwrap(), Start::Seq(7));
        let top = stamp::MAX_SEQ as i64 - 1;
        assert_eq!(start_of(START_SEQ, top).unwrap(), Start::Seq(top as u64));
        for (kind, seq) in [(START_SEQ, -1), (START_SEQ, top + 1), (3, 0), (-1, 0)] {
            let e = start_of(kind, seq).unwrap_err().to_string();
            assert!(
                e.contains(&if kind == START_SEQ { seq } else { kind as i64 }.to_string()),
                "{e}"
            );
        }
    }
}
