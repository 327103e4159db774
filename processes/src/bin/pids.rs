//! # Process ids: who is whose parent — 创建无参进程
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › multiprocessing模块 › 创建无参进程.
//!
//! **The Python.** The main program prints its own pid (`os.getpid()`) and its parent's
//! (`os.getppid()`), then starts a `Process` whose target prints the same two numbers every
//! second, forever; the program never ends, and the notes stop it with `kill -9 <pid>`.
//!
//! **This lesson.** The same lines, so you can see that the child's parent id is the parent's
//! own id. The child prints three rounds (`--rounds`) instead of forever, and the parent joins
//! it. The parent's parent is whatever started the lesson: your shell, or `cargo run`.
//!
//! **Rust differences.** `std::process::id()` is `os.getpid()` and
//! `std::os::unix::process::parent_id()` is `os.getppid()` (Unix only). The child is this program
//! run again with a hidden `--child` argument (Python's `spawn` start method, see `spawn`); its
//! settings travel as ordinary flags (`args_kwargs` sends structured arguments as JSON). A
//! guard kills and reaps it if the parent fails first, and the child asks Linux to kill it if its
//! parent dies (`PR_SET_PDEATHSIG`), so it never runs on as an orphan the way the notes' one does.
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
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use std::io;
use std::os::unix::process::parent_id;
use std::process::{self, Child, Command, ExitCode};
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
    /// Internal: run as the child process.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

fn test(rounds: u32, tick: Duration) {
    for _ in 0..rounds {
        println!(
            "in 子进程 pid={}  ,父进程 pid={}",
            process::id(),
            parent_id()
        );
        thread::sleep(tick);
    }
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
    if parent_id() != parent {
        process::exit(1);
    }
}

fn main_process(args: &Args) -> io::Result<()> {
    println!("主进程 pid={}  ,父进程 pid={}", process::id(), parent_id());
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", "--parent", &process::id().to_string()])
        .args(["--rounds", &args.rounds.to_string()])
        .args(["--tick-ms", &args.tick_ms.to_string()])
        .spawn()?;
    let child = ChildGuard(child);
    let pid = child.0.id();
    child.join()?;
    println!("joined the child {pid}");
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.parent {
        Some(parent) if args.child => {
            die_with_parent(parent);
            test(args.rounds, Duration::from_millis(args.tick_ms));
            Ok(())
        }
        _ => main_process(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
