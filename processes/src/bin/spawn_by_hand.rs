//! # What procspawn does for you — 创建进程, by hand
//!
//! From `000_d2cd84fa43d5f45e.txt` (多进程 › 创建进程); the same run as `spawn`.
//!
//! **The Python.** `multiprocessing.Process(target=work_1, args=(3,))` and one for `work_2`,
//! `start()` on both, `join()` on both. Under its `spawn` start method Python runs a fresh
//! interpreter for each child and sends it the target and the arguments, pickled.
//!
//! **This lesson.** The same two jobs as `spawn`, in two children, joined after about 3 ticks;
//! but started by hand, to show once what `procspawn` does underneath:
//! - **a role argument.** A process cannot start "at a function", so the parent runs its own
//!   program again (`std::env::current_exe()`) with a hidden `--child <json>` argument that
//!   carries the job (serde, as JSON), and `main` sees the role and runs that job instead of
//!   the parent's part. procspawn passes a function address and the arguments over a socket
//!   instead, and `procspawn::init()` plays the role check.
//! - **a guard.** A Rust `Child` does not wait when dropped, and a child not waited for stays
//!   a zombie. `ChildGuard` kills and reaps its child if the parent returns or panics before
//!   joining it; procspawn's `JoinHandle` does the same when dropped.
//! - **death with the parent.** If the parent is killed (`kill -9` runs no destructor), Linux
//!   still kills the child, which asked for it with `PR_SET_PDEATHSIG`. procspawn does not ask:
//!   the other lessons do it in a hook of `procspawn::init`. The signal comes when the *thread*
//!   that started the child ends, so start children from a thread that outlives them.
//!
//! Why not `fork`: a forked child is a copy of a parent that may have threads, and only the
//! copy of the forking thread exists in it, so a lock another thread held stays locked forever
//! (`no_shared_globals` forks, with care, because the copy is its point). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin spawn_by_hand`
//!
//! **Output** (pids vary; the lines of the two children interleave in any order):
//! ```text
//! parent 4100 runs itself twice with --child
//! work_1 start======================= in 'I am process one.' (pid 4101)
//! i love pyhton
//! work_2 start==================== in 'I am process two.' (pid 4102)
//! ...
//! joined both after 3.0 ticks (one after the other: 6)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Two jobs in two child processes, started by hand.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as a child process; the JSON is the work the parent sent.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// What a child is asked to do: the `target` and `args` of Python's `Process`.
#[derive(Serialize, Deserialize)]
struct Work {
    job: u8,
    name: String,
    n: u32,
    tick_ms: u64,
}

/// The child's side: `work_1` or `work_2` of `spawn`, in one function.
fn work(work: Work) {
    let (start, line) = match work.job {
        1 => ("work_1 start=======================", "i love pyhton"),
        _ => ("work_2 start====================", "come on baby"),
    };
    println!("{start} in '{}' (pid {})", work.name, process::id());
    for _ in 0..work.n {
        println!("{line}");
        thread::sleep(Duration::from_millis(work.tick_ms));
    }
    println!("work_{} end====================", work.job);
}

/// A child that is killed and reaped if dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        // Killed by SIGPIPE, it printed into a closed stdout: printing ends us the same way.
        if status.signal() == Some(nix::libc::SIGPIPE) {
            println!();
        }
        let failed = format!("child {} failed: {status}", self.0.id());
        match status.success() {
            true => Ok(()),
            false => Err(io::Error::other(failed)),
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

/// Runs this program again in the child role, with the work serialised.
fn start(work: &Work) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &serde_json::to_string(work)?])
        .args(["--parent", &process::id().to_string()])
        .spawn()?;
    Ok(ChildGuard(child))
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

fn parent(tick_ms: u64) -> io::Result<()> {
    println!("parent {} runs itself twice with --child", process::id());
    let started = Instant::now();
    let names = ["I am process one.", "I am process two."];
    let mut children = Vec::new();
    for (job, name) in (1..).zip(names) {
        children.push(start(&Work {
            job,
            name: name.to_string(),
            n: 3,
            tick_ms,
        })?);
    }
    for child in children {
        child.join()?;
    }
    let ticks = started.elapsed().as_secs_f64() * 1000.0 / tick_ms as f64;
    println!("joined both after {ticks:.1} ticks (one after the other: 6)");
    Ok(())
}

fn main() -> ExitCode {
    sigpipe::reset();
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map(work)
                .map_err(io::Error::from)
        }
        _ => parent(args.tick_ms),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
