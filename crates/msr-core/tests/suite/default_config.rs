//! configs/default.toml must reproduce MODEL.md §I, i.e. equal the built-in defaults.

#[test]
fn default_toml_is_the_spec() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs/default.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = msr_core::Config::from_toml_str(&text).unwrap();
    assert_eq!(config, msr_core::Config::default());
}
