//! ringflow-jni: ringflow's foreign boundary.
//!
//! - JNI for the Kotlin library (`kotlin-consumer/`, class `dev.ringflow.internal.Native`):
//!   `jvm/`, see its module docs and `docs/KOTLIN.md`;
//! - a C ABI for every other runtime (Kotlin/Native, Dart, Swift, Python, C): [`capi`], whose
//!   header `include/ringflow.h` cbindgen generates; see `docs/BINDINGS.md`.
//!
//! Both register consumers in `consumers` (one table of generation-checked handles, `handles`)
//! and start producers from `sources`. No panic crosses either boundary: every JNI entry runs
//! under `EnvUnowned::with_env`, which catches it and throws a `RuntimeException`; every C entry
//! under `catch_unwind`, which turns it into `RF_PANIC`.

pub mod capi;
mod consumers;
mod handles;
mod jvm;
mod sources;
