//! The `.part` file, its control file, and the thread that writes into it.
//!
//! The notes opened the final file, wrote 32 bytes at a time at each greenlet's offset, and
//! left whatever came out under the final name. Here the data goes to `FILE.part`,
//! preallocated to the file's length; each buffer is written at its offset with `pwrite`
//! (no concatenation step). `FILE.part.json` beside it records the URL, length, validators
//! and each segment's progress, so that `-c` can resume; the rename to `FILE` happens only
//! after verification.
//!
//! File writes can block (a full page cache, a slow disk), and a blocked call would stall a
//! may worker with every coroutine on it. So the coroutines never touch the file: they hand
//! filled buffers to one writer thread and get each buffer back on a may channel once it is
//! written, which parks only them. Two buffers per coroutine bound the memory in flight.

use crate::plan::{Plan, Saved};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// `FILE.part` and `FILE.part.json` for the output `FILE`.
pub(crate) struct PartPaths {
    pub(crate) part: PathBuf,
    pub(crate) control: PathBuf,
}

impl PartPaths {
    pub(crate) fn for_output(output: &Path) -> PartPaths {
        let with = |suffix: &str| {
            let mut name = output.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        };
        PartPaths {
            part: with(".part"),
            control: with(".part.json"),
        }
    }

    pub(crate) fn remove(&self) {
        let _ = std::fs::remove_file(&self.part);
        let _ = std::fs::remove_file(&self.control);
    }
}

/// The control file's contents.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub(crate) struct Control {
    pub(crate) url: String,
    pub(crate) length: u64,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    /// `[start, written, end]` per segment.
    pub(crate) segments: Vec<Saved>,
}

impl Control {
    pub(crate) fn load(path: &Path) -> io::Result<Control> {
        let text = std::fs::read(path)?;
        serde_json::from_slice(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// Replaces the control file whole (write beside it, then rename), so that it is never
    /// seen half-written.
    pub(crate) fn save(&self, path: &Path) -> io::Result<()> {
        let mut temporary = path.as_os_str().to_owned();
        temporary.push(".tmp");
        let text = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        let saved =
            std::fs::write(&temporary, text).and_then(|()| std::fs::rename(&temporary, path));
        if saved.is_err() {
            let _ = std::fs::remove_file(&temporary); // no `.tmp` left beside the part file
        }
        saved
    }
}

/// Creates (or truncates) the part file and reserves its length on disk, so that a full disk
/// shows at the start, not in the middle.
pub(crate) fn create_part(path: &Path, length: Option<u64>) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    if let Some(length) = length.filter(|&l| l > 0) {
        let size = i64::try_from(length).map_err(io::Error::other)?;
        match nix::fcntl::posix_fallocate(&file, 0, size) {
            Ok(()) => {}
            // Some file systems cannot reserve space: a sparse file of the right length will do.
            Err(nix::errno::Errno::EOPNOTSUPP | nix::errno::Errno::EINVAL) => {
                file.set_len(length)?
            }
            Err(e) => return Err(io::Error::from(e)),
        }
    }
    Ok(file)
}

/// Gives the file the server's `Last-Modified` time (as wget does). A date that cannot be
/// read leaves the time of the download, with the reason.
pub(crate) fn set_remote_time(path: &Path, last_modified: &str) -> Result<(), String> {
    let date = chrono::DateTime::parse_from_rfc2822(last_modified.trim())
        .map_err(|e| format!("cannot read Last-Modified {last_modified:?}: {e}"))?;
    let time = std::time::SystemTime::from(date);
    OpenOptions::new()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(time))
        .map_err(|e| format!("cannot set the time of {}: {e}", path.display()))
}

/// Opens an existing part file to resume it.
pub(crate) fn open_part(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// A filled buffer for the writer thread.
pub(crate) struct Chunk {
    pub(crate) segment: usize,
    pub(crate) offset: u64,
    /// A whole buffer, of which the first `len` bytes are data.
    pub(crate) bytes: Vec<u8>,
    pub(crate) len: usize,
    /// Where the emptied buffer goes back to.
    pub(crate) give_back: may::sync::mpsc::Sender<Vec<u8>>,
}

/// The writer thread: writes each chunk at its offset, records it in the plan, returns the
/// buffer. The first write error stops the download.
pub(crate) struct Writer {
    sender: crossbeam_channel::Sender<Chunk>,
    thread: JoinHandle<()>,
    error: Arc<Mutex<Option<io::Error>>>,
}

impl Writer {
    pub(crate) fn start(
        file: File,
        plan: Arc<Plan>,
        on_written: impl Fn(u64) + Send + 'static,
        on_error: impl Fn() + Send + 'static,
    ) -> io::Result<Writer> {
        let (sender, receiver) = crossbeam_channel::unbounded::<Chunk>();
        let error = Arc::new(Mutex::new(None));
        let slot = Arc::clone(&error);
        let thread = std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                for chunk in receiver {
                    let failed = slot.lock().map_or(true, |e| e.is_some());
                    if !failed {
                        match file.write_all_at(&chunk.bytes[..chunk.len], chunk.offset) {
                            Ok(()) => {
                                let len = chunk.len as u64;
                                plan.written(chunk.segment, chunk.offset + len);
                                on_written(len);
                            }
                            Err(e) => {
                                if let Ok(mut slot) = slot.lock() {
                                    *slot = Some(e);
                                }
                                on_error();
                            }
                        }
                    }
                    let _ = chunk.give_back.send(chunk.bytes); // its coroutine may have ended
                }
            })?;
        Ok(Writer {
            sender,
            thread,
            error,
        })
    }

    /// A sender for one coroutine.
    pub(crate) fn sender(&self) -> crossbeam_channel::Sender<Chunk> {
        self.sender.clone()
    }

    /// Waits until every chunk sent is written; the first write error, if any.
    pub(crate) fn finish(self) -> io::Result<()> {
        drop(self.sender);
        let _ = self.thread.join();
        let error = self.error.lock().map(|mut e| e.take());
        match error {
            Ok(Some(e)) => Err(e),
            Ok(None) => Ok(()),
            Err(_) => Err(io::Error::other("the writer thread panicked")),
        }
    }
}
