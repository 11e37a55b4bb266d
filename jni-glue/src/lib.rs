//! ringflow-jni: ringflow's foreign boundary. Two faces over one set of handle tables:
//!
//! - JNI for the Kotlin library (`kotlin-consumer/`, class `dev.ringflow.internal.Native`):
//!   `jvm/`, see its module docs and `docs/KOTLIN.md`;
//! - a C ABI for every other runtime (Kotlin/Native, Dart, Swift, Python, C): [`capi`], whose
//!   header `include/ringflow.h` cbindgen generates; see `docs/BINDINGS.md`.
//!
//! Both boundaries open rings through `rings` (each ring handle with the gate that wakes and
//! closes release blocked calls through), register consumers in `consumers` (one table of
//! generation-checked handles, `handles`), and start producers from `sources`.
//!
//! No panic crosses either boundary: every JNI entry runs under `EnvUnowned::with_env`, which
//! catches it and throws a `RuntimeException` (except the single atomic accesses of
//! `jvm/access_calls.rs`, which cannot panic); every C entry under `catch_unwind`, which turns it
//! into `RF_PANIC`.
//!
//! ### Features
//! - `test-hooks`: natives only tests and benchmarks call (`panicForTest`, `callTest`, the live
//!   handle counters, the call jitter, the naive `copyNext` baseline). Off in a shipped library;
//!   the Kotlin test build turns it on (`--features ringflow-jni/test-hooks`).

pub mod capi;
mod consumers;
mod handles;
mod jvm;
mod producers;
mod rings;
mod sources;
