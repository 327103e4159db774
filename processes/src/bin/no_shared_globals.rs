//! # Processes do not share globals: fork copies, spawn starts afresh — 多进程之间不共享全局变量
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › multiprocessing模块 › 多进程之间不共享全局变量.
//!
//! **The Python.** A global list `nums = [11, 22, 33]`; two processes each append 44 and print
//! it. Both print `[11, 22, 33, 44]`: each changed its own copy. The notes start both processes
//! with `target=test1`, so `test2` never runs and both lines say 进程1; here process 2 runs its
//! own function's twin, numbered 2.
//!
//! **This lesson.** The parent appends 99 to its global list, then starts two children that
//! each append 44, joins them and prints its list: the children's 44s are not in it. Process 2
//! appends one tick after process 1, while process 1 is still alive, so if the list were shared
//! it would show 44 twice. It does this twice, for both ways a child process can start:
//! - **fork** (`fork(2)`, Python's default start method on Linux before 3.14): the child is a copy
//!   of the parent's memory as it is at the fork, so the children see the 99. Pages are shared
//!   until one side writes, then copied (copy-on-write): a write is never seen by the other side.
//!   The notes (001, 进程与线程区别) say a change in the parent does not affect its children;
//!   here it is, for a change made *after* a child started: the parent appends 77 once process 1
//!   is running and before it forks process 2. Process 1 looks a tick later and has no 77;
//!   process 2, forked after the change, has it: each copy is taken at its own fork.
//! - **spawn** (`procspawn::spawn`; Python's default on Windows and macOS): the child runs the
//!   program again from the start, so it has the list as the program defines it, without the 99:
//!   nothing of the parent's memory comes along, only the argument. Since 3.14 Python's default
//!   on Linux is **forkserver**: a child is forked from a server, a fresh Python that the parent
//!   starts on first use, not from the parent, so like spawn's it does not get the 99.
//!
//! **Rust differences.** A Rust global that can change is a `static` holding a `Mutex` (here a
//! `LazyLock<Mutex<Vec<i32>>>`, initialised on first use); a `static mut` would need `unsafe`.
//! `fork` is `unsafe` in Rust, which is why this file allows `unsafe_code`: after a fork, the
//! child has only the thread that called `fork`, and any lock another thread held at that moment
//! stays locked forever in the child. This program forks before it starts anything, while it has
//! a single thread, so the child may run ordinary Rust code; it leaves with `process::exit`,
//! never returning into `main`. The forked children are reaped by hand (`waitpid`), the spawned
//! ones by procspawn's `join`; every child dies with its parent (`PR_SET_PDEATHSIG`). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin no_shared_globals`
//!
//! **Output** (the same on every run: process 2 prints a tick after process 1):
//! ```text
//! 主进程 appends 99: nums=[11, 22, 33, 99]
//! --- fork: each child starts as a copy of the parent's memory
//! 主进程 appends 77 after starting 进程1, before starting 进程2: nums=[11, 22, 33, 99, 77]
//! 进程1中 nums=[11, 22, 33, 99, 44]
//! 进程2中 nums=[11, 22, 33, 99, 77, 44]
//! 主进程中 nums=[11, 22, 33, 99, 77] after joining both
//! --- spawn: each child runs this program again from the start
//! 进程1中 nums=[11, 22, 33, 44]
//! 进程2中 nums=[11, 22, 33, 44]
//! 主进程中 nums=[11, 22, 33, 99, 77] after joining both
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

// `fork` is unsafe in Rust, and what a fork copies is this lesson's point.
#![allow(unsafe_code)]

use clap::Parser;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork};
use procspawn::SpawnError;
use std::io::{self, Write};
use std::process::{self, ExitCode};
use std::sync::{LazyLock, Mutex};
use std::thread;
use std::time::Duration;

/// Two children change a global list; the parent's stays as it was.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
}

/// The notes' global `nums`. Every process that runs this program starts with these three.
static NUMS: LazyLock<Mutex<Vec<i32>>> = LazyLock::new(|| Mutex::new(vec![11, 22, 33]));

/// What both children run, forked or spawned. Process `number` appends after `number` ticks,
/// so process 2 a tick after process 1, while process 1 is still alive: were the list shared,
/// process 2 would see 44 twice.
fn test((number, tick_ms): (u32, u64)) {
    let tick = Duration::from_millis(tick_ms);
    thread::sleep(tick * number);
    NUMS.lock().unwrap().push(44);
    println!("进程{number}中 nums={:?}", NUMS.lock().unwrap());
    thread::sleep(tick * (3 - number));
}

/// First thing in a child: have Linux kill it when its parent dies, even by `kill -9`; a closed
/// stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    sigpipe::reset();
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
}

/// A forked child, killed and reaped if it is dropped before it was joined.
struct Forked(Option<Pid>);

impl Forked {
    fn join(mut self) -> io::Result<()> {
        let pid = self.0.take().expect("joined once");
        let status = waitpid(pid, None)?;
        // Killed by SIGPIPE, it printed into a closed stdout: printing ends us the same way.
        if matches!(status, WaitStatus::Signaled(_, Signal::SIGPIPE, _)) {
            println!();
        }
        match status {
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

fn fork_test(number: u32, tick_ms: u64) -> io::Result<Forked> {
    let parent = process::id();
    // Anything still buffered would be copied into the child and printed twice.
    io::stdout().flush()?;
    // SAFETY: this program has started no thread yet, so at this fork it has only its main
    // thread: no lock is held by a thread that the child would lack, and the child may run
    // ordinary Rust code. The child never returns from this function: `process::exit`.
    match unsafe { fork() }? {
        ForkResult::Parent { child } => Ok(Forked(Some(child))),
        ForkResult::Child => {
            child();
            // The parent may have died before the hook: then this child has another parent.
            if std::os::unix::process::parent_id() != parent {
                process::exit(1);
            }
            test((number, tick_ms));
            process::exit(0);
        }
    }
}

fn parent(tick_ms: u64) -> Result<(), Box<dyn std::error::Error>> {
    NUMS.lock().unwrap().push(99);
    println!("主进程 appends 99: nums={:?}", NUMS.lock().unwrap());

    println!("--- fork: each child starts as a copy of the parent's memory");
    let first = fork_test(1, tick_ms)?;
    // A change after process 1 started: its copy was taken at its fork, so it never sees 77.
    NUMS.lock().unwrap().push(77);
    let nums = format!("{:?}", NUMS.lock().unwrap());
    println!("主进程 appends 77 after starting 进程1, before starting 进程2: nums={nums}");
    for child in [first, fork_test(2, tick_ms)?] {
        child.join()?;
    }
    println!(
        "主进程中 nums={:?} after joining both",
        NUMS.lock().unwrap()
    );

    println!("--- spawn: each child runs this program again from the start");
    let children = [1, 2].map(|number| procspawn::spawn((number, tick_ms), test));
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
