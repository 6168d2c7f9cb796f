//! JSON documents (summaries, manifests): written pretty-printed and
//! atomically, read back as `serde_json` values or typed structs.

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{one_line, IoError};
use crate::parquet_out::atomic_write;

/// Write `value` as pretty JSON (with a trailing newline) to `path`, atomically.
///
/// # Errors
/// [`IoError::Json`] when `value` cannot be serialised, [`IoError::Io`] when
/// the file cannot be written.
pub fn write_json_pretty<T: Serialize + ?Sized>(
    path: impl AsRef<Path>,
    value: &T,
) -> Result<(), IoError> {
    let path = path.as_ref();
    let mut text = serde_json::to_vec_pretty(value).map_err(|e| IoError::Json {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    })?;
    text.push(b'\n');
    atomic_write(path, |file| {
        file.write_all(&text)
            .map_err(|e| IoError::io(path, "write", e))
    })
}

/// Read a JSON document into `T` (a `serde_json::Value` for untyped access).
///
/// # Errors
/// [`IoError::Io`] when the file cannot be read, [`IoError::Json`] when it is
/// not valid JSON for `T`.
pub fn read_json<T: DeserializeOwned>(path: impl AsRef<Path>) -> Result<T, IoError> {
    let path = path.as_ref();
    let text = std::fs::read(path).map_err(|e| IoError::io(path, "read", e))?;
    serde_json::from_slice(&text).map_err(|e| IoError::Json {
        file: path.to_path_buf(),
        detail: one_line(&e.to_string()),
    })
}
