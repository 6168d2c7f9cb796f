//! The `msr` binary.
fn main() {}
