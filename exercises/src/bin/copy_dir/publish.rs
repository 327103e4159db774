//! A folder that DEST does not have yet is made under a hidden name, filled, and given its real
//! name (one rename) once the files the walker found in it are written. Nobody sees it before
//! that, so its files are created under their real names straight away ([`Direct`]): no
//! unnamed file and no link per file, as a folder that exists already needs ([`crate::temp`]).
//! On 20,000 files of 4 KiB that unnamed file and its link were a quarter of the CPU time.
//!
//! - A file that fails, or is abandoned on Ctrl-C, is removed: the folder is published with its
//!   complete files only, as after a failure in a folder that existed.
//! - A folder's subfolders are made hidden in turn (inside it, hidden or published by then), and
//!   each is published when its own files are in: the walker lists a folder's files before its
//!   subfolders, so a folder waits for its files only, not for the tree below it. After a
//!   `kill -9`, the folders finished so far are in place, and a second run with `-u` goes on
//!   from there.
//! - What `kill -9` (or a second Ctrl-C) leaves are the folders being filled, under their
//!   hidden names (`.copy_dir-<pid>-<n>.tmp`): safe to delete, and never a part-written file
//!   under a real name. `--delete` removes them, since SRC has no such name.
//! - The rename never replaces (`RENAME_NOREPLACE`): should something take the name during the
//!   copy, it is kept, and the copy stays under its hidden name, which the list of failures gives.
//! - Without `/proc` a symlink's attributes can only be set by path, which a hidden folder's
//!   moves would break: there, new folders are made under their real names, as `cp` does.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, RenameFlags, openat, renameat, renameat2};
use nix::sys::stat::{Mode, fstatat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

use crate::temp;

/// A new folder under its hidden name: given its real name when the last holder drops it (the
/// walker, once it has queued the folder's files, and each job in the folder).
pub(crate) struct Hidden {
    parent: Arc<OwnedFd>,
    temp: String,
    name: OsString,
    /// Where the folder is, hidden, should it not be published: for the message.
    temp_path: PathBuf,
    failure: Arc<OnceLock<String>>,
}

impl Hidden {
    /// Makes an owner-only folder (its mode is set at the end) in `parent`, to be published as
    /// `target`, and opens it. `Ok(None)`: make it under its real name instead (no `/proc`).
    pub(crate) fn make(
        parent: &Arc<OwnedFd>,
        target: &Path,
    ) -> io::Result<Option<(Self, OwnedFd)>> {
        let Some(name) = target.file_name() else {
            return Ok(None);
        };
        if !temp::proc_fd_mounted() {
            return Ok(None);
        }
        let owner_only = Mode::from_bits_truncate(0o700);
        let mut temp = temp::fresh_name();
        for _ in 0..100 {
            match mkdirat(parent, temp.as_str(), owner_only) {
                Ok(()) => {
                    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
                    let opened = match openat(parent, temp.as_str(), flags, Mode::empty()) {
                        Ok(opened) => opened,
                        Err(e) => {
                            let _ = unlinkat(parent, temp.as_str(), UnlinkatFlags::RemoveDir);
                            return Err(e.into());
                        }
                    };
                    let hidden = Hidden {
                        parent: Arc::clone(parent),
                        name: name.to_os_string(),
                        temp_path: target.with_file_name(&temp),
                        temp,
                        failure: Arc::default(),
                    };
                    return Ok(Some((hidden, opened)));
                }
                Err(Errno::EEXIST) => temp = temp::fresh_name(), // left by a killed copy
                Err(e) => return Err(e.into()),
            }
        }
        Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary name",
        ))
    }

    /// Why the folder could not be given its real name, once it was tried.
    pub(crate) fn failure(&self) -> Arc<OnceLock<String>> {
        Arc::clone(&self.failure)
    }
}

impl Drop for Hidden {
    fn drop(&mut self) {
        let (parent, temp, name) = (&self.parent, self.temp.as_str(), self.name.as_os_str());
        let renamed = match renameat2(parent, temp, parent, name, RenameFlags::RENAME_NOREPLACE) {
            // A filesystem without RENAME_NOREPLACE: look, then rename (a race only with
            // someone creating the same name in this instant).
            Err(Errno::EINVAL) => match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(_) => Err(Errno::EEXIST),
                Err(_) => renameat(parent, temp, parent, name),
            },
            renamed => renamed,
        };
        let why = match renamed {
            Ok(()) => return,
            Err(Errno::EEXIST | Errno::ENOTEMPTY) => "something took its name during the copy",
            Err(e) => e.desc(),
        };
        let _ = self.failure.set(format!(
            "not put in place ({why}): the copy is in {}",
            self.temp_path.display()
        ));
    }
}

/// A file created under its real name in a hidden folder, removed on drop unless [`keep`]
/// was called: a copy that fails leaves nothing.
///
/// [`keep`]: Direct::keep
pub(crate) struct Direct<'a> {
    folder: BorrowedFd<'a>,
    name: &'a OsStr,
    file: File,
    kept: bool,
}

impl<'a> Direct<'a> {
    /// Creates `name` in `folder`, empty, with the permission bits `mode` (less the umask).
    pub(crate) fn create(folder: BorrowedFd<'a>, name: &'a OsStr, mode: u32) -> io::Result<Self> {
        let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_CLOEXEC;
        let fd = openat(folder, name, flags, Mode::from_bits_truncate(mode))?;
        Ok(Direct {
            folder,
            name,
            file: File::from(fd),
            kept: false,
        })
    }

    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// The file is complete: keep it.
    pub(crate) fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Direct<'_> {
    fn drop(&mut self) {
        if !self.kept {
            let _ = unlinkat(self.folder, self.name, UnlinkatFlags::NoRemoveDir);
        }
    }
}
