//! ringflow-benches: criterion benchmarks of ringflow against peer crates.
//!
//! Not built yet: this crate is a workspace member so the layout is in place; issue 5 builds it.
