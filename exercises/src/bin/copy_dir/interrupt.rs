//! Ctrl-C (and SIGTERM): the handler only raises a flag. The walker stops queueing, each worker
//! abandons its file at the next chunk and closes it (an unnamed file then vanishes) or removes
//! it (its temporary name, or its real name in a new folder still hidden), the new folders are
//! given their real names with the files that are complete, and `main` exits 130. Nothing is
//! left half-written under a real name.
//!
//! A closed stdout (`copy_dir -v ... | head`) stops the copy the same way, with exit 1 instead of
//! 130: dying of SIGPIPE mid-write, as `cp -v` does, would end without a summary and, where the
//! filesystem refuses unnamed files, leave temporary files behind.
//!
//! A second Ctrl-C exits at once, for a copy stuck in a system call that does not return (a
//! dead network mount). Like `kill -9`, that leaves the new folders being filled under their
//! hidden names, and in folders DEST had nothing where files are written unnamed (`O_TMPFILE`)
//! or temporary files where the filesystem refuses those: never a partial file under a real
//! name.

use std::sync::atomic::{AtomicBool, Ordering};

static REQUESTED: AtomicBool = AtomicBool::new(false);
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Installs the handler (ctrlc runs it on a thread of its own, not in signal context).
pub(crate) fn install() -> Result<(), ctrlc::Error> {
    ctrlc::set_handler(|| {
        if REQUESTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    })
}

/// Nobody reads the `-v` lines any more: stop as for Ctrl-C.
pub(crate) fn stdout_closed() {
    STDOUT_CLOSED.store(true, Ordering::SeqCst);
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Whether the copy stopped because stdout was closed (rather than for Ctrl-C).
pub(crate) fn because_stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::SeqCst)
}

/// Whether the copy must stop: Ctrl-C, SIGTERM or a closed stdout.
pub(crate) fn requested() -> bool {
    REQUESTED.load(Ordering::Relaxed)
}

/// The error a worker returns when it gave up on a file because of an interrupt.
pub(crate) fn error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::Interrupted, "interrupted")
}
