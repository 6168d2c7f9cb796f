//! Test support shared by the workspace's tests (a dev-dependency only):
//! where the repository root, its fixtures and the golden cases are, and
//! the proptest settings. One definition instead of a copy in every test
//! file.
//!
//! The golden cases of MODEL.md (computed from the spec by an independent
//! implementation) live in the repository, `tests/golden/`, so a fresh clone
//! tests on its own. `tests/golden.rs` of this crate compares them byte for
//! byte with `../shared/spec/golden` beside the repository when that folder
//! exists, so an update of the spec's cases is noticed.

use std::path::{Path, PathBuf};

use proptest::test_runner::{Config as ProptestConfig, RngSeed};

/// The environment variable that points the golden-case tests elsewhere.
pub const GOLDEN_DIR_ENV: &str = "MSR_GOLDEN_DIR";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The golden cases: `$MSR_GOLDEN_DIR`, or `tests/golden/` of the repository.
///
/// # Panics
/// When the folder has no `loans_60.parquet` (not a golden folder).
pub fn golden_dir() -> PathBuf {
    let dir = std::env::var_os(GOLDEN_DIR_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/golden"));
    assert!(
        dir.join("loans_60.parquet").exists(),
        "golden cases not found at {}",
        dir.display()
    );
    dir
}

/// One golden file.
pub fn golden(name: &str) -> PathBuf {
    golden_dir().join(name)
}

/// The spec's own golden folder, `../shared/spec/golden` beside the
/// repository, when it exists.
pub fn shared_golden_dir() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/spec/golden");
    dir.is_dir().then_some(dir)
}

/// The workspace's proptest settings: `default_cases` cases unless
/// `PROPTEST_CASES` is set, a fixed seed unless `PROPTEST_RNG_SEED` is set
/// (so a run is repeatable and a failure reproduces), and no regression
/// files written into the tree.
pub fn proptest_settings(default_cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = default_cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(20_261_121);
    }
    config.failure_persistence = None;
    config
}
