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
//! one inherited open file would share one lock and not exclude each other. `unlock` is Python's
//! `release`; the kernel also releases the lock when the file is closed, even by a process that
//! crashes, so a dead holder cannot leave it locked forever. The children are this program run
//! again with a hidden `--child` argument (the job as JSON); guards kill and reap them if the
//! parent fails, each dies with its parent (`PR_SET_PDEATHSIG`), and the lock file is removed
//! at the end. Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin lock
//! ```
//!
//! **Output** (the order of the two jobs varies):
//! ```text
//! --- without a lock: the lines of the two processes interleave
//! work_1 start===================
//! i love pyhton
//! work_2 start================================
//! come on baby
//! i love pyhton
//! come on baby
//! ...
//! --- with a lock file: each process prints its block while it holds the lock
//! work_1 start===================
//! i love pyhton
//! work_2 start================================
//! i love pyhton
//! i love pyhton
//! work_1 end===============================
//! come on baby
//! come on baby
//! come on baby
//! work_2 end==========================
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::Duration;

/// Two processes print blocks of lines, without and with a cross-process lock.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as a child process; the JSON is its work.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
enum Job {
    Work1,
    Work2,
}

/// What a child does: a job, and the lock file to hold while printing, if any.
#[derive(Serialize, Deserialize)]
struct Work {
    job: Job,
    n: u32,
    lock_file: Option<PathBuf>,
}

fn work(work: &Work, tick: Duration) -> io::Result<()> {
    let (start, line, end) = match work.job {
        Job::Work1 => (
            "work_1 start===================",
            "i love pyhton",
            "work_1 end===============================",
        ),
        Job::Work2 => (
            "work_2 start================================",
            "come on baby",
            "work_2 end==========================",
        ),
    };
    println!("{start}");
    let lock = work.lock_file.as_deref().map(File::open).transpose()?;
    if let Some(lock) = &lock {
        lock.lock()?; // lock.acquire(): waits while the other process holds it
    }
    for _ in 0..work.n {
        println!("{line}");
        thread::sleep(tick);
    }
    println!("{end}");
    if let Some(lock) = &lock {
        lock.unlock()?; // lock.release()
    }
    Ok(())
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "child {} failed: {status}",
                self.0.id()
            )))
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

/// A file that is removed when this value is dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Runs both jobs in two child processes at once and joins them.
fn run_both(lock_file: Option<&Path>, tick_ms: u64) -> io::Result<()> {
    let mut children = Vec::new();
    for job in [Job::Work1, Job::Work2] {
        let work = Work {
            job,
            n: 3,
            lock_file: lock_file.map(Path::to_path_buf),
        };
        let child = Command::new(std::env::current_exe()?)
            .args(["--child", &serde_json::to_string(&work)?])
            .args(["--parent", &process::id().to_string()])
            .args(["--tick-ms", &tick_ms.to_string()])
            .spawn()?;
        children.push(ChildGuard(child));
    }
    for child in children {
        child.join()?;
    }
    Ok(())
}

fn parent(tick_ms: u64) -> io::Result<()> {
    println!("--- without a lock: the lines of the two processes interleave");
    run_both(None, tick_ms)?;

    println!("--- with a lock file: each process prints its block while it holds the lock");
    let path = std::env::temp_dir().join(format!("processes-lock-{}.lock", process::id()));
    File::create_new(&path)?;
    let lock_file = TempFile(path);
    run_both(Some(&lock_file.0), tick_ms)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .and_then(|w| work(&w, Duration::from_millis(args.tick_ms)))
        }
        _ => parent(args.tick_ms),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
