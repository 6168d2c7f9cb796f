//! SHA-256 of input files and documents, for manifests (what an auditor needs
//! to reproduce a mark).

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::IoError;

/// Hex SHA-256 of a file's bytes, streamed.
///
/// # Errors
/// [`IoError::Io`] when the file cannot be read.
pub fn sha256_file(path: impl AsRef<Path>) -> Result<String, IoError> {
    let path = path.as_ref();
    let mut file = std::fs::File::open(path).map_err(|e| IoError::io(path, "open", e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| IoError::io(path, "read", e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Hex SHA-256 of bytes.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_digest() {
        assert_eq!(
            super::sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
