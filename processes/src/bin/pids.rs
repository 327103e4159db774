//! # Process ids: who is whose parent — 创建无参进程
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › multiprocessing模块 › 创建无参进程.
//!
//! **The Python.** The main program prints its own pid (`os.getpid()`) and its parent's
//! (`os.getppid()`), then starts a `Process` whose target prints the same two numbers every
//! second, forever; the program never ends, and the notes stop it with `kill -9 <pid>`. Their
//! list of the two functions has a slip: it gives `os.getpid()` for the parent's id as well;
//! that one is `os.getppid()`, which their program then calls correctly.
//!
//! **This lesson.** The same lines, so you can see that the child's parent id is the parent's
//! own id. The child prints three rounds (`--rounds`) instead of forever, and the parent joins
//! it. The parent's parent is whatever started the lesson: your shell, or `cargo run`.
//!
//! **Rust differences.** `std::process::id()` is `os.getpid()` and
//! `std::os::unix::process::parent_id()` is `os.getppid()` (Unix only). The child is started with
//! `procspawn::spawn(args, test)` (see `spawn`): `procspawn::init()` first in `main` is where a
//! child runs `test`, and `test` is a plain `fn` whose one argument (here a tuple) crosses to the
//! child through serde. A hook in `init` asks Linux to kill the child if its parent dies
//! (`PR_SET_PDEATHSIG`), so it never runs on as an orphan the way the notes' one does. Linux only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pids
//! ```
//!
//! **Output** (pids vary):
//! ```text
//! 主进程 pid=4100  ,父进程 pid=4000
//! in 子进程 pid=4101  ,父进程 pid=4100
//! in 子进程 pid=4101  ,父进程 pid=4100
//! in 子进程 pid=4101  ,父进程 pid=4100
//! joined the child 4101
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::os::unix::process::parent_id;
use std::process::{self, ExitCode};
use std::thread;
use std::time::Duration;

/// A child prints its pid and its parent's pid.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// How many times the child prints (the notes: forever).
    #[arg(long, default_value_t = 3)]
    rounds: u32,
}

/// The child's work: its pid and its parent's pid, once a tick.
fn test((rounds, tick_ms): (u32, u64)) {
    for _ in 0..rounds {
        println!(
            "in 子进程 pid={}  ,父进程 pid={}",
            process::id(),
            parent_id()
        );
        thread::sleep(Duration::from_millis(tick_ms));
    }
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
    let args = Args::parse();
    println!("主进程 pid={}  ,父进程 pid={}", process::id(), parent_id());
    let child = procspawn::spawn((args.rounds, args.tick_ms), test);
    let pid = child.pid().unwrap_or_default();
    if let Err(e) = child.join() {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.is_remote_close() {
            println!();
        }
        eprintln!("error: the child {pid}: {e}");
        return ExitCode::FAILURE;
    }
    println!("joined the child {pid}");
    ExitCode::SUCCESS
}
