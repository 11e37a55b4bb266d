//! The checked-in C header is what cbindgen makes of `src/capi.rs` now.
//!
//! `RINGFLOW_BLESS=1 cargo test -p ringflow-jni --test header` rewrites it.

use std::path::Path;

#[test]
fn the_c_header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/capi.rs"))
        .generate()
        .expect("cbindgen parses src/capi.rs")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    let path = dir.join("include/ringflow.h");
    if std::env::var_os("RINGFLOW_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/ringflow.h is stale: run `RINGFLOW_BLESS=1 cargo test -p ringflow-jni --test header` and commit it"
    );
}
