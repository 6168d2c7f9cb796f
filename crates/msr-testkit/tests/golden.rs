//! The golden cases in the repository are the spec's: byte for byte the
//! files of `../shared/spec/golden` when that folder is beside the
//! repository (a developer's machine, CI). Without it (a fresh clone on its
//! own) there is nothing to compare with; `MSR_REQUIRE_SHARED_GOLDEN=1`
//! (set by .ci/run) makes that a failure instead of a printed skip.

use std::collections::BTreeSet;

#[test]
fn the_golden_cases_in_the_repository_are_the_specs() {
    let ours = msr_testkit::repo_root().join("tests/golden");
    let Some(shared) = msr_testkit::shared_golden_dir() else {
        assert!(
            std::env::var_os("MSR_REQUIRE_SHARED_GOLDEN").is_none(),
            "MSR_REQUIRE_SHARED_GOLDEN is set but ../shared/spec/golden is not beside the repository"
        );
        println!(
            "skipped: ../shared/spec/golden is not beside the repository; nothing to compare with"
        );
        return;
    };
    let names = |dir: &std::path::Path| -> BTreeSet<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(
        names(&ours),
        names(&shared),
        "tests/golden/ and {} hold different files: copy the spec's folder again",
        shared.display()
    );
    for name in names(&shared) {
        assert!(
            std::fs::read(ours.join(&name)).unwrap() == std::fs::read(shared.join(&name)).unwrap(),
            "tests/golden/{name} differs from {}: the spec's golden cases changed; copy them again",
            shared.join(&name).display()
        );
    }
}
