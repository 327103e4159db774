//! Extended attributes and POSIX ACLs, the part of `cp -a` that `shutil.copy2` leaves out (the
//! notes' homework keeps no metadata at all; Python's `shutil.copystat` copies them on Linux).
//!
//! Every attribute the process may read and write is copied: `user.*` always, `trusted.*` and
//! `security.*` as root (the kernel lists `trusted.*` to root only, and refuses to let anyone
//! else set `security.*`), and the ACLs, which Linux stores as the attributes
//! `system.posix_acl_access` (any file) and `system.posix_acl_default` (a folder's default for
//! new entries). Symlinks too, where the filesystem allows (Linux refuses `user.*` on them).
//!
//! - The calls are rustix's (`flistxattr`, `fgetxattr`, `fsetxattr`, and the `l*` forms on a
//!   path for symlinks and folders), straight to the kernel. A file whose source has no
//!   attributes costs one `flistxattr`, into a buffer on the stack: nothing is allocated.
//! - An attribute we may not read or write (`EPERM`, `EACCES`: `trusted.*` or `security.*` when
//!   not root, `user.*` on a symlink), or a `security.*` label the destination's security
//!   module refuses, is left out without a word, as `cp -a` does.
//! - A destination filesystem that refuses attributes altogether (`EOPNOTSUPP`: ramfs, FAT,
//!   some network mounts) is [`Copied::Refused`]: the caller warns once per filesystem and the
//!   copy goes on (xcp once aborted a whole copy on this).
//! - Any other failure (a full disk, a value too big for the destination) fails the path.
//!
//! Order matters, and is the caller's (`meta`): after `chown`, which clears
//! `security.capability`, and before the times.

use std::ffi::{CStr, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};

use rustix::fs::XattrFlags;
use rustix::io::Errno;

/// A file to read attributes from or write them to: an open descriptor, or a path whose last
/// component is not followed (a symlink is itself, not its target).
#[derive(Clone, Copy)]
pub(crate) enum Node<'a> {
    Fd(BorrowedFd<'a>),
    Path(&'a Path),
}

/// What became of the attributes.
pub(crate) enum Copied {
    /// All copied (or the source had none, or none we may copy).
    Done,
    /// The destination's filesystem (device `dev`) refuses them; nothing more was tried.
    Refused { dev: u64, error: io::Error },
}

/// The longest list of names read without asking the kernel for its size first.
const LIST: usize = 1024;
/// The longest value read without asking first (an ACL of 500 entries fits).
const VALUE: usize = 4096;

/// Copies every extended attribute of `from` that we may read to `to`.
pub(crate) fn copy(from: Node<'_>, to: Node<'_>) -> io::Result<Copied> {
    let mut small = [0u8; LIST];
    let mut big = Vec::new();
    let names = match read(
        &mut small,
        &mut big,
        |buf| from.list(buf),
        || from.list_size(),
    ) {
        Ok(names) => names,
        // The source's filesystem keeps none.
        Err(Errno::OPNOTSUPP) => return Ok(Copied::Done),
        Err(e) => return Err(with("listing the extended attributes", e)),
    };
    if names.is_empty() {
        return Ok(Copied::Done);
    }
    let (mut small_value, mut big_value) = ([0u8; VALUE], Vec::new());
    for name in names.split_inclusive(|&b| b == 0) {
        let Ok(name) = CStr::from_bytes_with_nul(name) else {
            continue; // a list not ending in NUL: nothing sensible to copy
        };
        let value = match read(
            &mut small_value,
            &mut big_value,
            |buf| from.get(name, buf),
            || from.get_size(name),
        ) {
            Ok(value) => value,
            // Removed since it was listed, or not ours to read.
            Err(Errno::NODATA | Errno::PERM | Errno::ACCESS) => continue,
            Err(e) => return Err(with("reading an extended attribute", e)),
        };
        match to.set(name, value) {
            Ok(()) => {}
            Err(Errno::PERM | Errno::ACCESS) => {} // not ours to write (trusted.*, security.*)
            // A security module's label it will not take here (SELinux: EINVAL): `cp -a` too
            // keeps the copy without it.
            Err(_) if name.to_bytes().starts_with(b"security.") => {}
            Err(Errno::OPNOTSUPP) => {
                let error = io::Error::from(Errno::OPNOTSUPP);
                return Ok(Copied::Refused {
                    dev: to.dev()?,
                    error,
                });
            }
            Err(e) => {
                let what = format!("setting {}", name.to_string_lossy());
                return Err(io::Error::new(
                    io::Error::from(e).kind(),
                    format!("{what}: {e}"),
                ));
            }
        }
    }
    Ok(Copied::Done)
}

/// Reads a list or a value with `call`, into `small` when it fits, else into `big` sized by
/// `size` (and again if it grew in between).
fn read<'b>(
    small: &'b mut [u8],
    big: &'b mut Vec<u8>,
    call: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
    size: impl Fn() -> rustix::io::Result<usize>,
) -> rustix::io::Result<&'b [u8]> {
    match call(small) {
        Ok(len) => return Ok(&small[..len]),
        Err(Errno::RANGE) => {}
        Err(e) => return Err(e),
    }
    for _ in 0..8 {
        big.resize(size()?.max(1), 0);
        match call(big) {
            Ok(len) => return Ok(&big[..len]),
            Err(Errno::RANGE) => continue, // it grew since we asked
            Err(e) => return Err(e),
        }
    }
    Err(Errno::RANGE)
}

fn with(what: &str, e: Errno) -> io::Error {
    io::Error::new(io::Error::from(e).kind(), format!("{what}: {e}"))
}

impl Node<'_> {
    /// The names, each ending in NUL.
    fn list(&self, buf: &mut [u8]) -> rustix::io::Result<usize> {
        match self {
            Node::Fd(fd) => rustix::fs::flistxattr(fd, buf),
            Node::Path(path) => rustix::fs::llistxattr(*path, buf),
        }
    }

    /// The size of the list of names now.
    fn list_size(&self) -> rustix::io::Result<usize> {
        match self {
            Node::Fd(fd) => rustix::fs::flistxattr_query(fd),
            Node::Path(path) => rustix::fs::llistxattr_query(*path),
        }
    }

    /// The value of `name`.
    fn get(&self, name: &CStr, buf: &mut [u8]) -> rustix::io::Result<usize> {
        match self {
            Node::Fd(fd) => rustix::fs::fgetxattr(fd, name, buf),
            Node::Path(path) => rustix::fs::lgetxattr(*path, name, buf),
        }
    }

    /// The size of the value of `name` now.
    fn get_size(&self, name: &CStr) -> rustix::io::Result<usize> {
        match self {
            Node::Fd(fd) => rustix::fs::fgetxattr_query(fd, name),
            Node::Path(path) => rustix::fs::lgetxattr_query(*path, name),
        }
    }

    fn remove(&self, name: &CStr) -> rustix::io::Result<()> {
        match self {
            Node::Fd(fd) => rustix::fs::fremovexattr(fd, name),
            Node::Path(path) => rustix::fs::lremovexattr(*path, name),
        }
    }

    fn set(&self, name: &CStr, value: &[u8]) -> rustix::io::Result<()> {
        match self {
            Node::Fd(fd) => rustix::fs::fsetxattr(fd, name, value, XattrFlags::empty()),
            Node::Path(path) => rustix::fs::lsetxattr(*path, name, value, XattrFlags::empty()),
        }
    }

    /// The device of the filesystem it is on, to warn once per filesystem.
    fn dev(&self) -> io::Result<u64> {
        match self {
            Node::Fd(fd) => Ok(rustix::fs::fstat(fd)?.st_dev as u64),
            Node::Path(path) => Ok(rustix::fs::lstat(*path)?.st_dev as u64),
        }
    }
}

/// The access ACL `name` in `system.*` that a new file gets from its folder's default ACL.
const ACCESS_ACL: &CStr = c"system.posix_acl_access";

/// For a file written into a DEST folder that has a default ACL (left by an earlier copy: a
/// fresh copy sets a folder's ACLs only after its contents): the new `copy` inherited an ACL
/// that its `source` may not have. If so it is removed, and the mode (`mode`) set again, since
/// the ACL's mask had replaced the group bits.
pub(crate) fn drop_inherited_acl(source: &File, copy: &File, mode: u32) -> io::Result<()> {
    match rustix::fs::fgetxattr_query(source, ACCESS_ACL) {
        Err(Errno::NODATA | Errno::OPNOTSUPP) => {}
        Ok(_) => return Ok(()), // it has one: copied already, over the inherited one
        Err(e) => return Err(with("reading the ACL", e)),
    }
    match rustix::fs::fremovexattr(copy, ACCESS_ACL) {
        Ok(()) | Err(Errno::NODATA | Errno::OPNOTSUPP) => {}
        Err(e) => return Err(with("removing an inherited ACL", e)),
    }
    let mode = rustix::fs::Mode::from_bits_truncate(mode & 0o7777);
    rustix::fs::fchmod(copy, mode).map_err(|e| with("setting the mode", e))
}

/// For a folder of DEST (`to`): removes the ACLs, access and default, that its source (`from`)
/// does not have, such as those a folder made inside a DEST folder with a default ACL inherits,
/// so that its ACLs are its source's, as with `cp -a`. The mode is set afterwards by the caller.
pub(crate) fn drop_acls_not_in(from: Node<'_>, to: Node<'_>) -> io::Result<()> {
    for name in [ACCESS_ACL, c"system.posix_acl_default"] {
        if to.get_size(name).is_err() {
            continue; // none here (or no ACLs on this filesystem)
        }
        match from.get_size(name) {
            Err(Errno::NODATA | Errno::OPNOTSUPP) => {}
            Ok(_) => continue,
            Err(e) => return Err(with("reading the ACL", e)),
        }
        match to.remove(name) {
            Ok(()) | Err(Errno::NODATA) => {}
            Err(e) => return Err(with("removing an ACL its source has not", e)),
        }
    }
    Ok(())
}

/// Whether the open folder `folder` has a default ACL, which new files in it inherit.
pub(crate) fn has_default_acl(folder: BorrowedFd<'_>) -> bool {
    rustix::fs::fgetxattr_query(folder, c"system.posix_acl_default").is_ok()
}

/// A path naming `name` in the open folder `folder` (at `path`) without walking its path again,
/// and without the `PATH_MAX` limit of a deep tree: `/proc/self/fd/N/name`; `path/name` where
/// `/proc` is not mounted.
pub(crate) fn in_folder(folder: BorrowedFd<'_>, path: &Path, name: &OsStr) -> PathBuf {
    if crate::temp::proc_fd_mounted() {
        Path::new(&format!("/proc/self/fd/{}", folder.as_raw_fd())).join(name)
    } else {
        path.join(name)
    }
}
