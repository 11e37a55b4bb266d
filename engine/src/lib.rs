//! ringflow-engine: the tokio runtime, sources and sinks, handle registry, stats and the
//! `ringflow` CLI, built on the `ringflow` ring crate.
//!
//! Not built yet: this crate is a workspace member so the layout is in place; issue 3 builds it.
