//! The temporary name a file is written under before it is renamed into place.
//!
//! The name lives in the destination folder (a rename is only atomic within one filesystem),
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
use std::os::fd::BorrowedFd;
use std::path::Path;
use std::process;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// `.copy_dir-<pid>-<n>.tmp`: short, hidden, and unique within this run.
fn fresh_name() -> String {
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
