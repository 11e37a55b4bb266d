//! ringflow-jni: the foreign boundary (JNI for the Kotlin library, a C ABI for other runtimes).
//!
//! Not built yet: this crate is a workspace member so the layout is in place; issue 4 builds it.
