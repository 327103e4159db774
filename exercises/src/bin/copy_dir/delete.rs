//! `--delete`: after the copy, what DEST has and SRC does not is removed, so DEST becomes a
//! mirror of SRC (rsync's `--delete`; the notes' homework only ever adds).
//!
//! - DEST is walked (walkdir, symlinks never followed) and each folder's entries are compared
//!   with the names in the matching folder of SRC, read once per folder: no `stat` per entry.
//! - A name SRC lacks is removed: a file or symlink with `unlink` (a symlink is removed as a
//!   link; what it points to, inside DEST or out, is never touched), a folder with everything
//!   in it, bottom up, each entry counted and (under `-v`, `--dry-run`) listed.
//! - Nothing is removed where SRC's folder cannot be read, or is not a folder: only a name
//!   that is certainly absent from SRC goes.
//! - An excluded path (`--exclude`) is kept, and not entered.
//! - A path that cannot be removed is reported and the rest goes on (exit 1); its folders are
//!   then kept without a second message.
//! - `--dry-run` removes nothing and lists what would go.
//!
//! It runs before the folders' modes and times are set, since each removal changes its folder's
//! modification time; and never after an interrupt.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::exclude::Exclude;
use crate::interrupt;
use crate::report::Report;

/// Removes from `dest` what `src` does not have (except what `exclude` excludes).
pub(crate) fn extraneous(
    src: &Path,
    dest: &Path,
    exclude: &Exclude,
    dry_run: bool,
    report: &Report,
) {
    if dry_run && fs::symlink_metadata(dest).is_err() {
        return; // a dry run into a DEST that does not exist yet: nothing there
    }
    // For each depth of the walk, the names in SRC's folder matching DEST's folder there
    // (`None`: SRC's folder could not be read, or is not a folder: touch nothing in it).
    let mut in_src: Vec<Option<HashSet<OsString>>> = Vec::new();
    let mut entries = WalkDir::new(dest)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = entries.next() {
        if interrupt::requested() {
            return;
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let path = error.path().unwrap_or(dest).to_path_buf();
                report.failed(&crate::walk::shown(dest, &path), io::Error::from(error));
                continue;
            }
        };
        let (depth, folder) = (entry.depth(), entry.file_type().is_dir());
        let relative = entry.path().strip_prefix(dest).unwrap_or(entry.path());
        if depth > 0 {
            if exclude.excludes(relative, folder) {
                if folder {
                    entries.skip_current_dir();
                }
                continue;
            }
            let known = in_src.get(depth - 1).and_then(Option::as_ref);
            match known.map(|names| names.contains(entry.file_name())) {
                Some(true) => {}
                Some(false) => {
                    remove(entry.path(), relative, folder, dry_run, report);
                    if folder {
                        entries.skip_current_dir();
                    }
                    continue;
                }
                None => {
                    if folder {
                        entries.skip_current_dir();
                    }
                    continue;
                }
            }
        }
        if folder {
            in_src.truncate(depth);
            in_src.push(names(&src.join(relative)));
        }
    }
}

/// The names in the folder `path`, or `None` if it cannot be read as a folder.
fn names(path: &Path) -> Option<HashSet<OsString>> {
    let listing = fs::read_dir(path).ok()?;
    listing
        .map(|entry| entry.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .ok()
}

/// Removes `path` (shown as `relative`): a file or symlink, or a folder and all in it.
fn remove(path: &Path, relative: &Path, folder: bool, dry_run: bool, report: &Report) {
    if !folder {
        match if dry_run {
            Ok(())
        } else {
            fs::remove_file(path)
        } {
            Ok(()) => report.removed(relative, false),
            Err(error) => report.failed(relative, context(error)),
        }
        return;
    }
    // Bottom up; `kept[d]`: something stays in the folder being emptied at depth `d`.
    let mut kept: Vec<bool> = Vec::new();
    let keep_parent = |kept: &mut Vec<bool>, depth: usize| {
        if let Some(parent) = depth.checked_sub(1) {
            kept[parent] = true;
        }
    };
    for entry in WalkDir::new(path).follow_links(false).contents_first(true) {
        if interrupt::requested() {
            return;
        }
        let depth = entry.as_ref().map_or_else(|e| e.depth(), |e| e.depth());
        if kept.len() <= depth {
            kept.resize(depth + 1, false);
        }
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                let shown = below(relative, path, error.path().unwrap_or(path));
                report.failed(&shown, io::Error::from(error));
                keep_parent(&mut kept, depth);
                continue;
            }
        };
        let shown = below(relative, path, entry.path());
        let is_folder = entry.file_type().is_dir();
        if is_folder && std::mem::take(&mut kept[depth]) {
            keep_parent(&mut kept, depth); // not emptied: said already, say nothing more
            continue;
        }
        let result = if dry_run {
            Ok(())
        } else if is_folder {
            fs::remove_dir(entry.path())
        } else {
            fs::remove_file(entry.path())
        };
        match result {
            Ok(()) => report.removed(&shown, is_folder),
            Err(error) => {
                report.failed(&shown, context(error));
                keep_parent(&mut kept, depth);
            }
        }
    }
}

/// `at`, a path under the folder `top` (shown as `relative`), as shown in messages.
fn below(relative: &Path, top: &Path, at: &Path) -> PathBuf {
    match at.strip_prefix(top) {
        Ok(inside) if !inside.as_os_str().is_empty() => relative.join(inside),
        _ => relative.to_path_buf(),
    }
}

fn context(error: io::Error) -> io::Error {
    io::Error::new(
        error.kind(),
        format!("cannot remove it (--delete): {error}"),
    )
}
