//! Metadata, the part `shutil.copy2` does after the bytes: permission bits, owner and group
//! (only root may give a file away, so only as root), and access and modification times to
//! the nanosecond (`futimens`/`utimensat`; Python's float seconds would round them).
//!
//! Order matters: `chown` clears set-user-ID bits and `security.capability`, so it comes before
//! `chmod` and the extended attributes ([`crate::xattrs`]); and the times come last, since any
//! other change would touch them.
//!
//! A file is created with its final permission bits already, so for most files `chown` and
//! `chmod` are not needed at all: two system calls fewer per file, which shows on small files.

use std::fs::{File, Metadata};
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::OnceLock;

use nix::fcntl::{AT_FDCWD, AtFlags};
use nix::sys::stat::{
    self, FchmodatFlags, FileStat, Mode, UtimensatFlags, fchmod, fchmodat, futimens, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, fchown, fchownat, getegid, geteuid};

/// Who we are, and the umask, read once before any thread starts.
struct Identity {
    euid: u32,
    egid: u32,
    umask: u32,
}

static IDENTITY: OnceLock<Identity> = OnceLock::new();

/// Reads the ids and the umask (which can only be read by setting it, so before threads).
pub(crate) fn init() {
    let umask = stat::umask(Mode::empty());
    stat::umask(umask);
    IDENTITY.get_or_init(|| Identity {
        euid: geteuid().as_raw(),
        egid: getegid().as_raw(),
        umask: umask.bits(),
    });
}

fn identity() -> &'static Identity {
    IDENTITY.get().expect("meta::init was called")
}

/// The permission bits to create a copy of `source` with.
pub(crate) fn creation_mode(source: &Metadata) -> u32 {
    source.mode() & 0o777
}

/// Gives the open file `file`, created with [`creation_mode`], the mode, owner and times of
/// `source`. `group_inherited`: its folder is set-group-ID, so the file got the folder's group.
/// `attributes` copies the extended attributes, after the owner and before mode and times.
pub(crate) fn apply_to_file(
    file: &File,
    source: &Metadata,
    group_inherited: bool,
    attributes: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    let owner = owner_to_set(source, group_inherited);
    if let Some((uid, gid)) = owner {
        // Best effort, as cp -a: an id this system cannot map is not worth failing the file.
        let _ = fchown(file, uid, gid);
    }
    attributes()?;
    // Special bits are not given at creation (and chown clears them); the umask may have
    // removed some permission bits.
    if source.mode() & 0o7000 != 0 || creation_mode(source) & identity().umask != 0 {
        fchmod(file, mode_of(source))?;
    }
    futimens(file, &atime(source), &mtime(source))?;
    Ok(())
}

/// Gives the folder `dir` the mode, owner and times of `source` (called after its contents
/// are written: a 0555 folder could not be filled afterwards, and every file written into a
/// folder changes its modification time). `attributes` as for [`apply_to_file`]: a default
/// ACL set only now is not inherited by the copies written into the folder.
pub(crate) fn apply_to_dir(
    dir: &Path,
    source: &Metadata,
    attributes: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    if let Some((uid, gid)) = owner_to_set(source, true) {
        let _ = fchownat(AT_FDCWD, dir, uid, gid, AtFlags::empty());
    }
    attributes()?;
    fchmodat(AT_FDCWD, dir, mode_of(source), FchmodatFlags::FollowSymlink)?;
    utimensat(
        AT_FDCWD,
        dir,
        &atime(source),
        &mtime(source),
        UtimensatFlags::FollowSymlink,
    )?;
    Ok(())
}

/// Gives the symlink `name` in `folder` (the link itself, not what it points to) the owner and
/// times of `source`. Linux has no modes on symlinks. `attributes` as for [`apply_to_file`].
pub(crate) fn apply_to_symlink(
    folder: BorrowedFd<'_>,
    name: &str,
    source: &Metadata,
    attributes: impl FnOnce() -> io::Result<()>,
) -> io::Result<()> {
    if let Some((uid, gid)) = owner_to_set(source, true) {
        let _ = fchownat(folder, name, uid, gid, AtFlags::AT_SYMLINK_NOFOLLOW);
    }
    attributes()?;
    utimensat(
        folder,
        name,
        &atime(source),
        &mtime(source),
        UtimensatFlags::NoFollowSymlink,
    )?;
    Ok(())
}

/// Whether `existing` is a regular file of the size and modification time of `source`
/// (`--update`).
pub(crate) fn same_size_and_mtime(existing: &FileStat, source: &Metadata) -> bool {
    existing.st_mode & libc::S_IFMT == libc::S_IFREG
        && existing.st_size as u64 == source.len()
        && existing.st_mtime == source.mtime()
        && existing.st_mtime_nsec == source.mtime_nsec()
}

/// The owner and group to give a copy, if they differ from what it got at creation (ours,
/// or the folder's group when `group_inherited`): both as root; otherwise only the group
/// (allowed when we are a member of it).
fn owner_to_set(source: &Metadata, group_inherited: bool) -> Option<(Option<Uid>, Option<Gid>)> {
    let me = identity();
    let group_differs = source.gid() != me.egid || group_inherited;
    let gid = Some(Gid::from_raw(source.gid()));
    if me.euid == 0 {
        (source.uid() != me.euid || group_differs)
            .then_some((Some(Uid::from_raw(source.uid())), gid))
    } else {
        group_differs.then_some((None, gid))
    }
}

fn mode_of(source: &Metadata) -> Mode {
    Mode::from_bits_truncate(source.mode() & 0o7777)
}

fn atime(source: &Metadata) -> TimeSpec {
    TimeSpec::new(source.atime(), source.atime_nsec())
}

fn mtime(source: &Metadata) -> TimeSpec {
    TimeSpec::new(source.mtime(), source.mtime_nsec())
}
