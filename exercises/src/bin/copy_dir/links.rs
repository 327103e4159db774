//! Hard links inside the tree stay hard links.
//!
//! The first name of a multiply-linked file (`st_nlink > 1`) seen by any worker is copied;
//! every later name of the same `(device, inode)` is set aside and linked to that copy after
//! all workers have finished, when the copy is known to be complete. Only files with more
//! than one link are remembered, so this costs nothing for an ordinary tree.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fs;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::temp::Temp;

type Inode = (u64, u64);

#[derive(Default)]
pub(crate) struct HardLinks {
    /// For each multiply-linked source inode: the destination of its first name, and whether
    /// that copy succeeded (or, with `--update`/`-n`, was already there).
    firsts: Mutex<HashMap<Inode, (PathBuf, bool)>>,
    /// Later names: (destination, relative path for messages, source inode).
    later: Mutex<Vec<(PathBuf, PathBuf, Inode)>>,
}

/// A later name to link once the copying is done.
pub(crate) struct Pending {
    pub(crate) dest: PathBuf,
    pub(crate) shown: PathBuf,
    pub(crate) first: Option<PathBuf>,
}

impl HardLinks {
    /// Registers one name of a multiply-linked file. `true`: this is the first name, copy it;
    /// `false`: it was set aside, to be linked later.
    pub(crate) fn first_name(&self, meta: &fs::Metadata, dest: &Path, shown: &Path) -> bool {
        let inode = (meta.dev(), meta.ino());
        let mut firsts = self.firsts.lock().unwrap();
        match firsts.entry(inode) {
            Entry::Vacant(slot) => {
                slot.insert((dest.to_path_buf(), true));
                true
            }
            Entry::Occupied(_) => {
                drop(firsts);
                let later = (dest.to_path_buf(), shown.to_path_buf(), inode);
                self.later.lock().unwrap().push(later);
                false
            }
        }
    }

    /// Records that the copy of a first name failed, so its other names are not linked to it.
    pub(crate) fn first_failed(&self, meta: &fs::Metadata) {
        if let Some(entry) = self
            .firsts
            .lock()
            .unwrap()
            .get_mut(&(meta.dev(), meta.ino()))
        {
            entry.1 = false;
        }
    }

    /// The names set aside, each with the copy to link to (`None` if that copy failed).
    pub(crate) fn pending(self) -> Vec<Pending> {
        let firsts = self.firsts.into_inner().unwrap();
        let later = self.later.into_inner().unwrap();
        later
            .into_iter()
            .map(|(dest, shown, inode)| {
                let first = firsts
                    .get(&inode)
                    .filter(|(_, ok)| *ok)
                    .map(|(path, _)| path.clone());
                Pending { dest, shown, first }
            })
            .collect()
    }
}

/// Whether `dest` already is `first` (the same inode), as after an earlier run.
pub(crate) fn already_linked(first: &Path, dest: &Path) -> bool {
    match (fs::symlink_metadata(first), fs::symlink_metadata(dest)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Makes `dest` another name of `first`: linked under a temporary name, then renamed over
/// whatever `dest` was (or, with `no_clobber`, only if nothing is there). `Ok(false)`: skipped.
pub(crate) fn link(first: &Path, dest: &Path, no_clobber: bool) -> io::Result<bool> {
    let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) else {
        return Err(io::Error::other("no folder to link in"));
    };
    let folder = fs::File::open(parent)?;
    let mut temp = Temp::new(folder.as_fd());
    temp.create_hard_link(first)?;
    temp.place(name, no_clobber)
}
