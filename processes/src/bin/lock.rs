//! # A lock that works across processes — 进程加锁
//!
//! From `003_03d5943dc2f4a8db.txt`, 多进程 › 加锁.
//!
//! **The Python.** Two processes run `work_1` and `work_2` from `spawn`, but each takes a shared
//! `multiprocessing.Lock` after printing its start line and releases it after its end line.
//! Whoever gets the lock first prints its three lines and its end line; the other waits.
//!
//! **This lesson.** The two jobs twice: first without a lock, and their lines interleave; then
//! with a cross-process lock, and each job's locked block stays together (a start line may still
//! fall in the middle of the other's block: it is printed before the lock is taken, as in the
//! notes). Which job gets the lock first varies.
//!
//! **Rust differences.** `std::sync::Mutex` lives in one process's memory, so it cannot lock
//! another process out (Python's `multiprocessing.Lock` is a semaphore in memory shared by the
//! processes). The lock here is `File::lock` (Rust 1.89) on a lock file: an exclusive
//! `flock(2)` lock, which the kernel grants to one open file at a time, whichever process holds
//! it. Each child opens the file itself: a lock belongs to an open file, so two processes sharing
//! one inherited open file would share one lock and not exclude each other. That is why the
//! children get the file's path, not the open file. `unlock` is Python's `release`; the kernel
//! also releases the lock when the file is closed, even by a process that crashes. The file is
//! named after the parent's pid and removed at the end; one left by a killed run (its pid gone)
//! is removed at the next start. The children are started with `procspawn::spawn` (see `spawn`)
//! and die with their parent (`PR_SET_PDEATHSIG`, asked for in a hook of `procspawn::init`).
//! Linux only.
//!
//! **Run it:** `cargo run -p processes --bin lock`
//!
//! **Output** (the order of the two jobs varies):
//! ```text
//! --- without a lock: the lines of the two processes interleave
//! work_1 start===================
//! i love pyhton
//! work_2 start================================
//! come on baby
//! i love pyhton
//! ...
//! --- with the lock file /tmp/processes-lock-4100.lock: each block stays together
//! work_1 start===================
//! i love pyhton
//! work_2 start================================
//! i love pyhton
//! i love pyhton
//! work_1 end===============================
//! come on baby
//! ...
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use procspawn::SpawnError;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode};
use std::thread;
use std::time::Duration;

/// Two processes print blocks of lines, without and with a cross-process lock.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
}

const JOBS: [[&str; 3]; 2] = [
    [
        "work_1 start===================",
        "i love pyhton",
        "work_1 end===============================",
    ],
    [
        "work_2 start================================",
        "come on baby",
        "work_2 end==========================",
    ],
];

/// A child's work: job 0 or 1, three lines a tick apart, holding the lock file if there is one.
fn work((job, tick_ms, lock_file): (usize, u64, Option<PathBuf>)) -> Result<(), String> {
    let [start, line, end] = JOBS[job];
    println!("{start}");
    let lock = lock_file.as_deref().map(File::open).transpose();
    let lock = lock.map_err(|e| format!("cannot open the lock file: {e}"))?;
    if let Some(lock) = &lock {
        lock.lock().map_err(|e| e.to_string())?; // lock.acquire(): waits while another holds it
    }
    for _ in 0..3 {
        println!("{line}");
        thread::sleep(Duration::from_millis(tick_ms));
    }
    println!("{end}");
    // lock.release(); closing the file at the end of this function would release it too.
    lock.map_or(Ok(()), |lock| lock.unlock().map_err(|e| e.to_string()))
}

/// Runs both jobs in two child processes at once and joins them.
fn run_both(lock_file: Option<&Path>, tick_ms: u64) -> Result<(), Box<dyn std::error::Error>> {
    let children =
        [0, 1].map(|job| procspawn::spawn((job, tick_ms, lock_file.map(Path::to_path_buf)), work));
    for child in children {
        child.join()??;
    }
    Ok(())
}

/// A file that is removed when this value is dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Creates this run's lock file, after removing those of runs that were killed (pid gone).
fn create_lock_file() -> io::Result<TempFile> {
    let dir = std::env::temp_dir();
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name
            .strip_prefix("processes-lock-")
            .and_then(|n| n.strip_suffix(".lock"));
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let path = dir.join(format!("processes-lock-{}.lock", process::id()));
    match File::create(&path) {
        Ok(_) => Ok(TempFile(path)),
        Err(e) => Err(io::Error::new(
            e.kind(),
            format!("cannot create {}: {e}", path.display()),
        )),
    }
}

fn parent(tick_ms: u64) -> Result<(), Box<dyn std::error::Error>> {
    println!("--- without a lock: the lines of the two processes interleave");
    let lock_file = create_lock_file()?; // first: its errors come before any child starts
    run_both(None, tick_ms)?;
    let path = lock_file.0.display();
    println!("--- with the lock file {path}: each block stays together");
    run_both(Some(&lock_file.0), tick_ms)
}

/// The hook procspawn runs first in every child: Linux kills the child when its parent dies,
/// and a closed stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    sigpipe::reset();
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
}

fn main() -> ExitCode {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    procspawn::ProcConfig::new().config_callback(child).init();
    sigpipe::reset();
    if let Err(e) = parent(Args::parse().tick_ms) {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
