//! The checks before the rename into place: the length, and the SHA-256 when given.
//!
//! The notes' homework checked nothing: a short or oversized file was left under the final
//! name with exit status 0.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub(crate) enum Mismatch {
    Length(String),
    Digest(String),
}

impl From<io::Error> for Mismatch {
    fn from(error: io::Error) -> Mismatch {
        Mismatch::Length(format!("cannot read the downloaded file back: {error}"))
    }
}

pub(crate) fn verify(
    part: &Path,
    length: u64,
    checksum: Option<&[u8; 32]>,
) -> Result<(), Mismatch> {
    let on_disk = std::fs::metadata(part)?.len();
    if on_disk != length {
        return Err(Mismatch::Length(format!(
            "the file has {on_disk} bytes, the server announced {length}"
        )));
    }
    let Some(expected) = checksum else {
        return Ok(());
    };
    let mut hasher = Sha256::new();
    let mut file = File::open(part)?;
    let mut buffer = vec![0; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buffer[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let actual = hasher.finalize();
    if actual.as_slice() != expected {
        return Err(Mismatch::Digest(format!(
            "SHA-256 is {}, --checksum asked for {}",
            hex(actual.as_slice()),
            hex(expected)
        )));
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
