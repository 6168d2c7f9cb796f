//! Small text inputs (configuration and mapping files) read whole, with a
//! size bound: a path that names an endless source (`/dev/zero`, a FIFO
//! that is never closed, `/dev/urandom`) or a huge file must fail with a
//! clear error, not grow one buffer until memory runs out.

use std::io::Read;
use std::path::Path;

use crate::error::IoError;

/// The largest configuration or mapping file accepted: 16 MiB. The default
/// configuration is a few kilobytes; anything near this bound is not a
/// configuration.
pub const MAX_TEXT_FILE_BYTES: u64 = 16 << 20;

/// Read a UTF-8 text file of at most `max` bytes, through `Read::take`, so an
/// endless source stops at the bound.
///
/// # Errors
/// [`IoError::Io`] when the file cannot be opened or read;
/// [`IoError::BadData`] when it is longer than `max` bytes (`is larger than
/// 16777216 bytes (16 MiB): not a configuration file`) or not UTF-8.
pub fn read_text_bounded(path: impl AsRef<Path>, max: u64, what: &str) -> Result<String, IoError> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| IoError::io(path, "open", e))?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| IoError::io(path, "read", e))?;
    if bytes.len() as u64 > max {
        return Err(IoError::bad_data(
            path,
            format!(
                "is larger than {max} bytes ({} MiB): not a {what} (or an endless source such as a device or FIFO)",
                max >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        IoError::bad_data(
            path,
            format!(
                "is not UTF-8 text (invalid byte at offset {}): not a {what}",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_source_stops_at_the_bound() {
        let e = read_text_bounded("/dev/zero", 1 << 10, "configuration file").unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("/dev/zero: "), "{text}");
        assert!(text.contains("is larger than 1024 bytes"), "{text}");
    }

    #[test]
    fn a_small_file_reads_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "a = 1\n").unwrap();
        assert_eq!(read_text_bounded(&p, 6, "x").unwrap(), "a = 1\n");
        assert!(read_text_bounded(&p, 5, "x").is_err());
        std::fs::write(&p, [0xff, 0xfe]).unwrap();
        assert!(read_text_bounded(&p, 6, "x")
            .unwrap_err()
            .to_string()
            .contains("not UTF-8"));
    }
}
