//! # Processes do not share globals: fork copies, spawn starts afresh — 多进程之间不共享全局变量
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › multiprocessing模块 › 多进程之间不共享全局变量.
//!
//! **The Python.** A global list `nums = [11, 22, 33]`; two processes each append 44 and print
//! it. Both print `[11, 22, 33, 44]`: each changed its own copy. The notes start both processes
//! with `target=test1`, so `test2` never runs and both lines say 进程1; here process 2 runs its
//! own function.
//!
//! **This lesson.** A global list, two children that each append 44, and the parent's list
//! printed after joining them: still `[11, 22, 33]`. Process 2 appends one tick after process 1,
//! while process 1 is still alive, so if the list were shared it would show 44 twice. Then it
//! shows both ways a child process can start, and why each sees what it sees:
//! - **fork** (`fork(2)`, Python's default start method on Linux before 3.14): the child is a copy
//!   of the parent, memory included, taken at the moment of the fork. Pages are shared until one
//!   side writes, then copied (copy-on-write), so a write is never seen by the other side.
//! - **spawn** (Python's default on Windows and macOS): the child runs the program again from the
//!   start, so it has the list as the program defines it. The parent appends 99 before spawning,
//!   and the spawned children do not see it: nothing of the parent's memory came along.
//!
//! **Rust differences.** A Rust global that can change is a `static` holding a `Mutex` (here a
//! `LazyLock<Mutex<Vec<i32>>>`, initialised on first use); a `static mut` would need `unsafe`. A
//! global shared by threads (see `threads`' `shared_data`) is one memory; a process gets its own.
//! `fork` is `unsafe` in Rust, which is why this file allows `unsafe_code`: after a fork, the
//! child has only the thread that called `fork`, and any lock another thread held at that moment
//! stays locked forever in the child. This program forks while it has a single thread, so the
//! child may run ordinary Rust code. The forked child never returns into `main`; it leaves with
//! `process::exit`, which runs no destructors (its copies of the parent's guards do nothing).
//! Each child dies with its parent (`PR_SET_PDEATHSIG`); guards kill and reap the children if
//! the parent fails first. Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin no_shared_globals
//! ```
//!
//! **Output** (the same on every run: process 2 prints a tick after process 1):
//! ```text
//! 主进程中 nums=[11, 22, 33]
//! --- fork: each child starts as a copy of the parent's memory
//! 进程1中 nums=[11, 22, 33, 44]
//! 进程2中 nums=[11, 22, 33, 44]
//! 主进程中 nums=[11, 22, 33] after joining both
//! 主进程 appends 99: nums=[11, 22, 33, 99]
//! --- spawn: each child runs this program again from the start
//! 进程1中 nums=[11, 22, 33, 44]
//! 进程2中 nums=[11, 22, 33, 44]
//! 主进程中 nums=[11, 22, 33, 99] after joining both
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

// `fork` is unsafe in Rust, and what a fork copies is this lesson's point.
#![allow(unsafe_code)]

use clap::Parser;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use std::io::{self, Write};
use std::process::{self, Child, Command, ExitCode};
use std::sync::{LazyLock, Mutex};
use std::thread;
use std::time::Duration;

/// Two children change a global list; the parent's stays as it was.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as spawned child number N.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<u32>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The notes' global `nums`. Every process that runs this program starts with these three.
static NUMS: LazyLock<Mutex<Vec<i32>>> = LazyLock::new(|| Mutex::new(vec![11, 22, 33]));

/// What both children run. Process 2 appends a tick after process 1, while process 1 is still
/// alive: were the list shared, process 2 would see 44 twice.
fn test(number: u32, tick: Duration) {
    let delay = tick * (number - 1);
    thread::sleep(delay);
    NUMS.lock().unwrap().push(44);
    println!("进程{number}中 nums={:?}", NUMS.lock().unwrap());
    thread::sleep(tick * 2 - delay);
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

/// A forked child, killed and reaped if it is dropped before it was joined.
struct Forked(Option<Pid>);

impl Forked {
    fn join(mut self) -> io::Result<()> {
        let pid = self.0.take().expect("joined once");
        match waitpid(pid, None)? {
            WaitStatus::Exited(_, 0) => Ok(()),
            other => Err(io::Error::other(format!("child {pid} ended: {other:?}"))),
        }
    }
}

impl Drop for Forked {
    fn drop(&mut self) {
        if let Some(pid) = self.0.take() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}

fn fork_test(number: u32, tick: Duration) -> io::Result<Forked> {
    let parent = process::id();
    // Anything still buffered would be copied into the child and printed twice.
    io::stdout().flush()?;
    // SAFETY: this program never starts a thread, so at this fork it has only its main thread:
    // no lock is held by a thread that the child would lack, and the child may run ordinary
    // Rust code. The child never returns from this function; it leaves through `process::exit`.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(Forked(Some(child))),
        ForkResult::Child => {
            die_with_parent(parent);
            test(number, tick);
            process::exit(0);
        }
    }
}

/// A spawned child, killed and reaped if it is dropped before it was joined.
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

fn spawn_test(number: u32, tick_ms: u64) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &number.to_string()])
        .args(["--parent", &process::id().to_string()])
        .args(["--tick-ms", &tick_ms.to_string()])
        .spawn()?;
    Ok(ChildGuard(child))
}

fn main_process(tick_ms: u64) -> io::Result<()> {
    let tick = Duration::from_millis(tick_ms);
    println!("主进程中 nums={:?}", NUMS.lock().unwrap());

    println!("--- fork: each child starts as a copy of the parent's memory");
    let children = [fork_test(1, tick)?, fork_test(2, tick)?];
    for child in children {
        child.join()?;
    }
    println!(
        "主进程中 nums={:?} after joining both",
        NUMS.lock().unwrap()
    );

    NUMS.lock().unwrap().push(99);
    println!("主进程 appends 99: nums={:?}", NUMS.lock().unwrap());

    println!("--- spawn: each child runs this program again from the start");
    let children = [spawn_test(1, tick_ms)?, spawn_test(2, tick_ms)?];
    for child in children {
        child.join()?;
    }
    println!(
        "主进程中 nums={:?} after joining both",
        NUMS.lock().unwrap()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(number @ (1 | 2)), Some(parent)) => {
            die_with_parent(parent);
            test(number, Duration::from_millis(args.tick_ms));
            Ok(())
        }
        (Some(number), _) => Err(io::Error::other(format!("no child number {number}"))),
        _ => main_process(args.tick_ms),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
