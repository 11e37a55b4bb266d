//! The C ABI: see docs/BINDINGS.md.
