//! The JNI boundary for the Kotlin library (`kotlin-consumer/`, class
//! `dev.ringflow.internal.Native`), one file per job:
//!
//! - `access_calls`: the reader's atomic accesses as JNI calls, for JVMs without `VarHandle`;
//! - `load`: `JNI_OnLoad` (exception classes and `Completion`'s methods resolved once, the
//!   runtime's detach hook);
//! - `daemon`: runtime threads attach as daemon threads, so a JVM whose `main` returns exits;
//! - `run`: how an entry runs (errors thrown as typed Kotlin exceptions, panics caught);
//! - `ring_calls`: open, create, map, park, wake, stats and close a ring;
//! - `consumer_calls`: register and unregister consumers (the table shared with the C ABI);
//! - `producer_calls`: attach, claim, commit and close producers (the table the C ABI shares);
//! - `engine_calls`: engine producers and the suspend calls (`calls`) in this process;
//! - `test_hooks`: natives only tests and benches use, built with the `test-hooks` feature.
//!
//! Thin by design: the JVM gets the region as one `DirectByteBuffer` and registers consumers;
//! the Kotlin side then reads frames and moves its own read cursor in the shared memory with no
//! JNI call per frame.

mod access_calls;
mod calls;
mod consumer_calls;
mod daemon;
mod engine_calls;
mod load;
mod producer_calls;
mod ring_calls;
mod run;
#[cfg(feature = "test-hooks")]
mod test_hooks;
