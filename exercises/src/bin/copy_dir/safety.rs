//! The check made before anything is written: SRC must be a folder, and DEST must not lie
//! inside it (copying a folder into itself never ends: each copy is copied again).
//!
//! Comparing path strings is not enough: `DEST` may reach SRC through a symlink, a `..`, or a
//! bind mount. So the check compares identities, `(device, inode)`: it takes DEST's nearest
//! folder that exists already, resolves it to its real path, and refuses if SRC is that
//! folder or any folder above it.
//!
//! With `--delete` the other way round too: SRC inside DEST would be removed from DEST (SRC has
//! no entry naming itself), so that is refused before anything is written.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why the copy cannot start.
pub(crate) enum Refusal {
    /// A mistake in the command line (exit 2): nothing was written.
    Usage(String),
    /// SRC or DEST cannot be examined (exit 1).
    Io(String),
}

/// Checks SRC and DEST; `Ok` means the copy may start.
pub(crate) fn check(src: &Path, dest: &Path, delete: bool) -> Result<(), Refusal> {
    let src_meta = fs::metadata(src).map_err(|e| Refusal::Io(format!("{}: {e}", src.display())))?;
    if !src_meta.is_dir() {
        return Err(Refusal::Usage(format!("{} is not a folder", src.display())));
    }
    let src_id = (src_meta.dev(), src_meta.ino());

    let existing =
        nearest_existing(dest).map_err(|e| Refusal::Io(format!("{}: {e}", dest.display())))?;
    let real = fs::canonicalize(&existing)
        .map_err(|e| Refusal::Io(format!("{}: {e}", existing.display())))?;
    for folder in real.ancestors() {
        let meta =
            fs::metadata(folder).map_err(|e| Refusal::Io(format!("{}: {e}", folder.display())))?;
        if (meta.dev(), meta.ino()) == src_id {
            return Err(Refusal::Usage(format!(
                "refusing to copy {} into itself: {} is inside it",
                src.display(),
                dest.display()
            )));
        }
    }
    if delete && let Ok(dest_meta) = fs::metadata(dest) {
        let dest_id = (dest_meta.dev(), dest_meta.ino());
        let real_src =
            fs::canonicalize(src).map_err(|e| Refusal::Io(format!("{}: {e}", src.display())))?;
        for folder in real_src.ancestors() {
            let meta = fs::metadata(folder)
                .map_err(|e| Refusal::Io(format!("{}: {e}", folder.display())))?;
            if (meta.dev(), meta.ino()) == dest_id {
                return Err(Refusal::Usage(format!(
                    "refusing --delete: {} is inside {}, and would be removed from it",
                    src.display(),
                    dest.display()
                )));
            }
        }
    }
    Ok(())
}

/// DEST itself if it exists, else its closest ancestor that does (following symlinks).
fn nearest_existing(dest: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(dest)?;
    for candidate in absolute.ancestors() {
        match fs::metadata(candidate) {
            Ok(_) => return Ok(candidate.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            // A file standing where a folder is needed: walking further up finds the real answer.
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(PathBuf::from("/"))
}
