//! What a worker does with one path: a regular file or a symlink, written where nobody sees it
//! (in a new folder still hidden, under its real name ([`crate::publish`]); in a folder DEST
//! had, a regular file as an unnamed inode, else under a temporary name next to its
//! destination) and given its real name only once complete, data and metadata ([`temp`]),
//! extended attributes and ACLs included ([`xattrs`]). All calls are relative to the open source
//! and destination folders of the job.

use std::ffi::{OsStr, OsString};
use std::fs::{File, Metadata};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode as Perms, fstatat};

use crate::data;
use crate::links::HardLinks;
use crate::meta;
use crate::publish::{Direct, Hidden};
use crate::report::{Outcome, Report};
use crate::temp::{self, Temp};
use crate::xattrs::{self, Copied, Node};

/// A folder of SRC and its copy in DEST, opened once by the walker and shared by the jobs in it.
pub(crate) struct Folder {
    pub(crate) src: OwnedFd,
    pub(crate) src_path: PathBuf,
    /// `None` only in a dry run, when the folder does not exist in DEST.
    pub(crate) dest: Option<Arc<OwnedFd>>,
    pub(crate) dest_path: PathBuf,
    /// The folder relative to SRC, for messages.
    pub(crate) shown: PathBuf,
    /// The destination folder is set-group-ID: a new file gets its group, not ours.
    pub(crate) group_inherited: bool,
    /// The destination folder has a default ACL (from an earlier copy): its new files inherit
    /// an ACL, to be removed where the source has none.
    pub(crate) inherits_acl: bool,
    /// Write this folder's files under temporary names, not unnamed: its filesystem refused an
    /// unnamed file (`O_TMPFILE`), or a name was taken already (a copy over an earlier one, which
    /// needs a rename anyway).
    pub(crate) temp_names: AtomicBool,
    /// The folder is new and hidden until its files are in ([`crate::publish`]): they are written
    /// under their real names, and nothing is there to replace.
    pub(crate) hidden: Option<Arc<Hidden>>,
}

/// One path for a worker, found by the walker.
pub(crate) struct Job {
    pub(crate) folder: Arc<Folder>,
    pub(crate) name: OsString,
    pub(crate) symlink: bool,
}

impl Job {
    /// The path relative to SRC (and to DEST), for messages.
    pub(crate) fn shown(&self) -> PathBuf {
        self.folder.shown.join(&self.name)
    }
}

/// The options that change what a worker does.
#[derive(Clone, Copy)]
pub(crate) struct Mode {
    pub(crate) no_clobber: bool,
    pub(crate) update: bool,
    pub(crate) dry_run: bool,
}

/// A failure with what was being done, for the summary.
fn context(what: &'static str) -> impl FnOnce(io::Error) -> io::Error {
    move |e| io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// What is at `name` in the destination folder, not following a symlink (`None`: nothing).
fn existing(job: &Job) -> Option<FileStat> {
    if job.folder.hidden.is_some() {
        return None;
    }
    let folder = job.folder.dest.as_ref()?;
    fstatat(folder, job.name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok()
}

/// The destination folder to write into (always open unless in a dry run).
fn dest_folder(job: &Job) -> io::Result<BorrowedFd<'_>> {
    let folder = job
        .folder
        .dest
        .as_ref()
        .ok_or_else(|| io::Error::other("no destination folder"))?;
    Ok(folder.as_fd())
}

/// Copies the regular file `job.name`.
pub(crate) fn file(
    job: &Job,
    mode: Mode,
    links: &HardLinks,
    report: &Report,
) -> io::Result<Outcome> {
    if mode.no_clobber && existing(job).is_some() {
        return Ok(Outcome::Exists);
    }
    // O_NOFOLLOW: a file replaced by a symlink since the walk is not followed. O_NONBLOCK: one
    // replaced by a FIFO does not hang the worker (fstat below then refuses it).
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let source = openat(&job.folder.src, job.name.as_os_str(), flags, Perms::empty())
        .map(File::from)
        .map_err(|e| context("cannot open the source")(e.into()))?;
    let source_meta = source.metadata()?;
    if !source_meta.is_file() {
        return Err(io::Error::other("no longer a regular file"));
    }
    if source_meta.nlink() > 1 {
        let dest = job.folder.dest_path.join(&job.name);
        if !links.first_name(&source_meta, &dest, &job.shown()) {
            return Ok(Outcome::Deferred);
        }
    }
    let result = copy_regular(&source, &source_meta, job, mode, report);
    if result.is_err() && source_meta.nlink() > 1 {
        links.first_failed(&source_meta);
    }
    result
}

fn copy_regular(
    source: &File,
    source_meta: &Metadata,
    job: &Job,
    mode: Mode,
    report: &Report,
) -> io::Result<Outcome> {
    if mode.update
        && existing(job).is_some_and(|there| meta::same_size_and_mtime(&there, source_meta))
    {
        return Ok(Outcome::UpToDate);
    }
    if mode.dry_run {
        return Ok(Outcome::Copied(source_meta.len()));
    }
    let folder = dest_folder(job)?;
    let creation = meta::creation_mode(source_meta);
    let done = Outcome::Copied(source_meta.len());
    if job.folder.hidden.is_some() {
        let copy = Direct::create(folder, &job.name, creation)
            .map_err(context("cannot create the file"))?;
        fill(source, source_meta, copy.file(), job, report)?;
        copy.keep();
        return Ok(done);
    }
    let unnamed = temp::create_unnamed(folder, creation, &job.folder.temp_names)
        .map_err(context("cannot create the file"))?;
    if let Some(copy) = unnamed {
        fill(source, source_meta, &copy, job, report)?;
        return placed(
            temp::name_unnamed(
                folder,
                &copy,
                &job.name,
                mode.no_clobber,
                &job.folder.temp_names,
            ),
            done,
        );
    }
    let mut temp = Temp::new(folder);
    let copy = temp
        .create_file(creation)
        .map_err(context("cannot create the temporary file"))?;
    fill(source, source_meta, &copy, job, report)?;
    drop(copy);
    placed(temp.place(&job.name, mode.no_clobber), done)
}

/// Writes the data and metadata of `source` into the new, empty `copy`.
fn fill(
    source: &File,
    source_meta: &Metadata,
    copy: &File,
    job: &Job,
    report: &Report,
) -> io::Result<()> {
    data::copy(source, copy, source_meta.len(), source_meta.blocks() * 512)
        .map_err(context("copying the data"))?;
    let attributes = || {
        attributes(
            Node::Fd(source.as_fd()),
            Node::Fd(copy.as_fd()),
            || job.shown(),
            report,
        )?;
        if job.folder.inherits_acl {
            xattrs::drop_inherited_acl(source, copy, source_meta.mode())?;
        }
        Ok(())
    };
    meta::apply_to_file(copy, source_meta, job.folder.group_inherited, attributes)
        .map_err(context("setting the metadata"))
}

/// Copies the extended attributes of `from` to `to` (`shown()` in messages, only computed for
/// one: an allocation per file costs a lock shared with the walker); a destination filesystem
/// that refuses them is warned about once, and is no failure.
pub(crate) fn attributes(
    from: Node<'_>,
    to: Node<'_>,
    shown: impl FnOnce() -> PathBuf,
    report: &Report,
) -> io::Result<()> {
    match xattrs::copy(from, to)? {
        Copied::Done => {}
        Copied::Refused { dev, error } => report.xattrs_refused(dev, &shown(), error),
    }
    Ok(())
}

/// Copies the symlink `job.name` as a symlink with the same target, never following it: a
/// link to `..` cannot make the copy loop, and a dangling link is copied as it is.
pub(crate) fn symlink(job: &Job, mode: Mode, report: &Report) -> io::Result<Outcome> {
    if mode.no_clobber && existing(job).is_some() {
        return Ok(Outcome::Exists);
    }
    let target = readlinkat(&job.folder.src, job.name.as_os_str())
        .map_err(|e| context("cannot read the link")(e.into()))?;
    if mode.update && same_link(job, &target) {
        return Ok(Outcome::UpToDate);
    }
    if mode.dry_run {
        return Ok(Outcome::Symlinked);
    }
    let source_meta = lstat_source(job)?;
    let mut temp = Temp::new(dest_folder(job)?);
    temp.create_symlink(&target)
        .map_err(context("cannot create the link"))?;
    let (folder, name) = temp.at();
    let attributes = || {
        let from = xattrs::in_folder(job.folder.src.as_fd(), &job.folder.src_path, &job.name);
        let to = xattrs::in_folder(folder, &job.folder.dest_path, OsStr::new(name));
        attributes(Node::Path(&from), Node::Path(&to), || job.shown(), report)
    };
    meta::apply_to_symlink(folder, name, &source_meta, attributes)
        .map_err(context("setting the link's metadata"))?;
    placed(temp.place(&job.name, mode.no_clobber), Outcome::Symlinked)
}

/// Whether DEST already has a symlink to `target` at this name.
fn same_link(job: &Job, target: &OsStr) -> bool {
    job.folder
        .dest
        .as_ref()
        .and_then(|folder| readlinkat(folder, job.name.as_os_str()).ok())
        .is_some_and(|there| there == target)
}

/// The source entry's own metadata (std's `Metadata`, which has no `lstat` relative to a folder:
/// the link is opened with `O_PATH | O_NOFOLLOW` and that descriptor is asked).
fn lstat_source(job: &Job) -> io::Result<Metadata> {
    let flags = OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let fd = openat(&job.folder.src, job.name.as_os_str(), flags, Perms::empty())?;
    File::from(fd).metadata()
}

/// The outcome of giving a finished file its real name: `done`, or `Exists` when `-n` found
/// something there first.
fn placed(result: io::Result<bool>, done: Outcome) -> io::Result<Outcome> {
    match result {
        Ok(true) => Ok(done),
        Ok(false) => Ok(Outcome::Exists),
        Err(e) => Err(context("cannot put it in place")(e)),
    }
}
