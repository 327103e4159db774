//! How a file is written where no one sees it until it is complete, in a folder DEST had (in a
//! new folder, hidden until its files are in, a file is written under its real name at once:
//! [`crate::publish`]).
//!
//! **Unnamed, then named.** Where the filesystem allows it (ext4, XFS, btrfs, tmpfs, ...), a
//! file is created with `O_TMPFILE`: an inode in the destination folder with no name at all.
//! Once its data and metadata are written, `linkat` gives it its real name, in one directory
//! operation (a temporary name costs two: create, then rename). If the copy fails, is
//! interrupted, or the process is killed (`kill -9` included), the inode disappears with its
//! last descriptor: nothing is left behind, under any name. Should the name be taken already
//! (a file to replace), the finished inode is linked under a temporary name and renamed over it,
//! and the folder's other files are written under temporary names from then on: a copy over an
//! earlier copy would otherwise pay a failed `linkat` for each file.
//!
//! **A temporary name** where `O_TMPFILE` is refused (NFS, most FUSE filesystems, overlayfs
//! before Linux 6.6), in a folder where a file was replaced, and for symlinks and hard links. The
//! name lives in the destination folder (a rename is only atomic within one filesystem),
//! starts with a dot, and is short whatever the real name's length: `name + ".tmp"` would fail
//! for a 255-byte name. If the copy of the file fails or is interrupted, dropping the guard
//! removes it; only a `kill -9` (or a second Ctrl-C) can leave one behind, never under a real
//! name: such leftovers are the `.copy_dir-*.tmp` files, safe to delete.
//!
//! Everything is done relative to the open destination folder (`openat`, `renameat`, ...):
//! the kernel does not walk the whole path again for each call, and a folder renamed by
//! someone else mid-copy cannot send a file somewhere else.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::path::Path;
use std::process;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use nix::errno::Errno;
use nix::fcntl::{AT_FDCWD, AtFlags, OFlag, openat, renameat};
use nix::sys::stat::Mode;
use nix::unistd::{UnlinkatFlags, linkat, symlinkat, unlinkat};

static NEXT: AtomicU64 = AtomicU64::new(0);
/// Our process id, asked once (glibc no longer caches `getpid`).
static PID: OnceLock<u32> = OnceLock::new();

/// A temporary name in an open folder, removed on drop unless [`Temp::place`] moved it.
pub(crate) struct Temp<'a> {
    folder: BorrowedFd<'a>,
    name: String,
    armed: bool,
}

impl<'a> Temp<'a> {
    /// A fresh name in `folder`; nothing is created yet.
    pub(crate) fn new(folder: BorrowedFd<'a>) -> Self {
        Temp {
            folder,
            name: fresh_name(),
            armed: false,
        }
    }

    /// The folder and the temporary name in it, for calls on the new entry itself.
    pub(crate) fn at(&self) -> (BorrowedFd<'a>, &str) {
        (self.folder, &self.name)
    }

    /// Creates the temporary file, empty, with the permission bits `mode` (less the umask).
    pub(crate) fn create_file(&mut self, mode: u32) -> io::Result<File> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
        let mode = Mode::from_bits_truncate(mode);
        self.create(|folder, name| openat(folder, name, flags, mode))
            .map(File::from)
    }

    /// Creates the temporary name as a symlink to `target`.
    pub(crate) fn create_symlink(&mut self, target: &OsStr) -> io::Result<()> {
        self.create(|folder, name| symlinkat(target, folder, name))
    }

    /// Creates the temporary name as another name of the file at `existing`.
    pub(crate) fn create_hard_link(&mut self, existing: &Path) -> io::Result<()> {
        self.create(|folder, name| linkat(AT_FDCWD, existing, folder, name, AtFlags::empty()))
    }

    /// Runs `make` on the temporary name; if the name is taken (left by a copy killed with
    /// `kill -9` whose process id came round again), tries another.
    fn create<T>(
        &mut self,
        mut make: impl FnMut(BorrowedFd<'a>, &str) -> nix::Result<T>,
    ) -> io::Result<T> {
        for _ in 0..100 {
            match make(self.folder, &self.name) {
                Ok(made) => {
                    self.armed = true;
                    return Ok(made);
                }
                Err(Errno::EEXIST) => self.name = fresh_name(),
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }

    /// Moves the finished entry to `name` in the same folder. A rename replaces what is there;
    /// with `no_clobber`, a hard link is made instead, which fails if `name` exists (then
    /// `Ok(false)` and the temporary is removed).
    pub(crate) fn place(mut self, name: &OsStr, no_clobber: bool) -> io::Result<bool> {
        if no_clobber {
            match linkat(
                self.folder,
                self.name.as_str(),
                self.folder,
                name,
                AtFlags::empty(),
            ) {
                Ok(()) => Ok(true), // drop removes the temporary name; the entry stays at `name`
                Err(Errno::EEXIST) => Ok(false),
                Err(e) => Err(e.into()),
            }
        } else {
            renameat(self.folder, self.name.as_str(), self.folder, name)?;
            self.armed = false;
            Ok(true)
        }
    }
}

/// Creates an unnamed file (`O_TMPFILE`) in `folder`, empty, with the permission bits `mode`
/// (less the umask). `Ok(None)`: use a [`Temp`], because `temp_names` is set for this folder
/// (set here when its filesystem refuses unnamed files, so its other files do not ask again),
/// or because an unnamed file could not be named.
pub(crate) fn create_unnamed(
    folder: BorrowedFd<'_>,
    mode: u32,
    temp_names: &AtomicBool,
) -> io::Result<Option<File>> {
    if temp_names.load(Ordering::Relaxed) || !can_name_unnamed() {
        return Ok(None);
    }
    let flags = OFlag::O_TMPFILE | OFlag::O_WRONLY | OFlag::O_CLOEXEC;
    match openat(folder, ".", flags, Mode::from_bits_truncate(mode)) {
        Ok(fd) => Ok(Some(File::from(fd))),
        // EOPNOTSUPP: not on this filesystem; EISDIR or EINVAL: a kernel without O_TMPFILE.
        Err(Errno::EOPNOTSUPP | Errno::EISDIR | Errno::EINVAL) => {
            temp_names.store(true, Ordering::Relaxed);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Gives the finished unnamed `file` the name `name` in `folder` (where it was created).
/// Something there already: with `no_clobber`, `Ok(false)` and the file vanishes when closed;
/// otherwise it is linked under a temporary name and renamed over what is there. Either way
/// `taken` is set: the folder holds an earlier copy, whose other files are better written under
/// temporary names (two directory operations, not three).
pub(crate) fn name_unnamed(
    folder: BorrowedFd<'_>,
    file: &File,
    name: &OsStr,
    no_clobber: bool,
    taken: &AtomicBool,
) -> io::Result<bool> {
    let linked = link_unnamed(file, folder, name);
    if linked == Err(Errno::EEXIST) {
        taken.store(true, Ordering::Relaxed);
    }
    match linked {
        Ok(()) => Ok(true),
        Err(Errno::EEXIST) if no_clobber => Ok(false),
        Err(Errno::EEXIST) => {
            let mut temp = Temp::new(folder);
            temp.create(|folder, temp_name| link_unnamed(file, folder, temp_name))?;
            temp.place(name, false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Set once `linkat(AT_EMPTY_PATH)` was refused: older kernels want `CAP_DAC_READ_SEARCH`
/// for it (root has it; since Linux 6.10 the opener of the file may too).
static LINK_BY_PROC: AtomicBool = AtomicBool::new(false);

/// Links the open, unnamed `file` as `name` in `folder`: by its descriptor (`AT_EMPTY_PATH`)
/// where we may, else through `/proc/self/fd/N`, which anyone may.
fn link_unnamed<P: ?Sized + nix::NixPath>(
    file: &File,
    folder: BorrowedFd<'_>,
    name: &P,
) -> nix::Result<()> {
    if !LINK_BY_PROC.load(Ordering::Relaxed) {
        match linkat(file, "", folder, name, AtFlags::AT_EMPTY_PATH) {
            Err(Errno::ENOENT) => LINK_BY_PROC.store(true, Ordering::Relaxed),
            done => return done,
        }
    }
    let path = format!("/proc/self/fd/{}", file.as_raw_fd());
    linkat(
        AT_FDCWD,
        path.as_str(),
        folder,
        name,
        AtFlags::AT_SYMLINK_FOLLOW,
    )
}

/// Whether an unnamed file can be given a name: as root by its descriptor, else only
/// through `/proc` (asked once).
fn can_name_unnamed() -> bool {
    static CAN: OnceLock<bool> = OnceLock::new();
    *CAN.get_or_init(|| nix::unistd::geteuid().is_root() || proc_fd_mounted())
}

/// Whether `/proc/self/fd/N` names our open descriptors (asked once): an open file or folder
/// can then be named by a path without walking its real path.
pub(crate) fn proc_fd_mounted() -> bool {
    static MOUNTED: OnceLock<bool> = OnceLock::new();
    *MOUNTED.get_or_init(|| Path::new("/proc/self/fd").is_dir())
}

/// `.copy_dir-<pid>-<n>.tmp`: short, hidden, and unique within this run.
pub(crate) fn fresh_name() -> String {
    let pid = *PID.get_or_init(process::id);
    format!(
        ".copy_dir-{pid}-{}.tmp",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl Drop for Temp<'_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = unlinkat(self.folder, self.name.as_str(), UnlinkatFlags::NoRemoveDir);
        }
    }
}
