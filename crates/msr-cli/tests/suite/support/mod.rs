//! What the CLI test files share: running the `msr` binary from the
//! repository root and reading what it wrote. Each module of the suite uses
//! only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the binary runs there, so `configs/default.toml` resolves).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Run `msr ARGS` from the repository root.
pub fn msr(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_msr"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run msr")
}

/// Assert that a run succeeded, showing its exit code and output if not.
pub fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Read a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Run `msr ARGS` from the repository root under a file-size limit of `kib`
/// KiB with SIGXFSZ ignored, so a write past the limit fails with EFBIG
/// ("File too large") as a full disk fails with ENOSPC.
pub fn msr_with_file_limit<S: AsRef<std::ffi::OsStr>>(kib: u32, args: &[S]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {kib} && exec \"$0\" \"$@\""
        ))
        .arg(env!("CARGO_BIN_EXE_msr"))
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run sh")
}
