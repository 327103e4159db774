//! # What it costs to start a thread and a process — 进程与线程区别
//!
//! From `001_dd92d349ebb64331.txt` (进程与线程区别) and `000_d2cd84fa43d5f45e.txt` (进程与线程 ›
//! 区别, 优缺点).
//!
//! **The Python.** No program: the notes list the differences. Threads of a process share its
//! memory, processes each have their own; creating a process means copying the parent, so
//! threads start fast and processes slowly; a thread costs little but protects little, a process
//! the opposite.
//!
//! **This lesson.** Measures the claim. It starts and joins an empty thread many times
//! (`--threads`), then starts and waits for a process that exits at once many times
//! (`--processes`), and prints the median of each and the ratio. A process typically costs tens
//! to hundreds of times as much as a thread; the numbers depend on the machine and on the build
//! (debug or `--release`).
//!
//! **Rust differences.** A Rust thread is an OS thread (`clone` sharing the address space), as
//! a Python thread is. The process started here is this program run again with a hidden
//! `--child` argument, the way Python's `spawn` start method starts one: the kernel creates the
//! process, loads the executable and its libraries, and Rust's runtime and argument parsing run
//! before `main` returns. A bare `fork` without `exec` would be cheaper, but still far dearer
//! than a thread: the child needs its own page tables. The median is reported because a few
//! runs are always slowed by the rest of the machine. Each child dies with its parent
//! (`PR_SET_PDEATHSIG`), and a guard reaps it even if the parent fails. Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin spawn_cost
//! cargo run --release -p processes --bin spawn_cost
//! ```
//!
//! **Output** (the times vary with the machine and the build):
//! ```text
//! thread:  start + join, median of 1000: 24 µs
//! process: start + wait, median of 200: 1210 µs (this program again, exiting at once)
//! starting a process costs 50 times as much as starting a thread
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use std::io;
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Starting a thread vs starting a process, measured.
#[derive(Parser)]
struct Args {
    /// How many threads to start and join.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    threads: u32,
    /// How many processes to start and wait for.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,
    /// Internal: run as the child, which exits at once.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
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

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn thread_start(runs: u32) -> Duration {
    let samples = (0..runs)
        .map(|_| {
            let started = Instant::now();
            thread::spawn(|| {})
                .join()
                .expect("an empty thread cannot panic");
            started.elapsed()
        })
        .collect();
    median(samples)
}

fn process_start(runs: u32) -> io::Result<Duration> {
    let program = std::env::current_exe()?;
    let parent = process::id().to_string();
    let samples = (0..runs)
        .map(|_| {
            let started = Instant::now();
            let child = Command::new(&program)
                .args(["--child", "--parent", &parent])
                .spawn()?;
            ChildGuard(child).join()?;
            Ok(started.elapsed())
        })
        .collect::<io::Result<_>>()?;
    Ok(median(samples))
}

fn parent(threads: u32, processes: u32) -> io::Result<()> {
    let thread = thread_start(threads);
    println!(
        "thread:  start + join, median of {threads}: {} µs",
        thread.as_micros()
    );
    let process = process_start(processes)?;
    println!(
        "process: start + wait, median of {processes}: {} µs (this program again, exiting at once)",
        process.as_micros()
    );
    println!(
        "starting a process costs {:.0} times as much as starting a thread",
        process.as_secs_f64() / thread.as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.parent {
        Some(parent_pid) if args.child => {
            die_with_parent(parent_pid);
            Ok(())
        }
        _ => parent(args.threads, args.processes),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
