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
//! (`--processes`), and prints the median wall-clock time of each, the mean CPU time (the work a
//! start costs, from `getrusage`: unlike wall-clock time, not stretched by other programs busy on
//! the same CPUs) and the ratios. A process typically costs tens to hundreds of times as much as a
//! thread; the numbers depend on the machine and on the build (debug or `--release`).
//!
//! **Rust differences.** A Rust thread is an OS thread (`clone` sharing the address space), as
//! a Python thread is. The process started here is this program run again with a hidden
//! `--child` argument, the way Python's `spawn` start method starts one: the kernel creates the
//! process, loads the executable and its libraries, and Rust's runtime and argument parsing run
//! before `main` returns. A bare `fork` without `exec` would be cheaper, but still far dearer
//! than a thread: the child needs its own page tables. The median is reported because a few
//! runs are always slowed by the rest of the machine. `Command::status` starts the child and
//! waits for it, so each is reaped before the next starts. The child's first act is the one
//! every lesson's children make, so none outlives a parent killed mid-run: it asks Linux to kill
//! it when its parent dies (`PR_SET_PDEATHSIG`), then exits at once if the parent is already gone
//! (the parent's pid comes with `--child`). That one system call is part of the cost measured.
//! procspawn would add its own start-up (a socket to connect, the function to send) to the bare
//! cost measured here. Linux only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin spawn_cost
//! cargo run --release -p processes --bin spawn_cost
//! ```
//!
//! **Output** (the times vary with the machine and the build):
//! ```text
//! thread:  start + join, median of 1000: 24.3 µs; CPU time, mean: 20.1 µs
//! process: start + wait, median of 200: 1210.4 µs; CPU time, mean: 1050.2 µs (this program ...)
//! starting a process costs 49.8 times as much as starting a thread; in CPU time 52.2 times
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "resource", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use nix::sys::resource::{UsageWho, getrusage};
use std::io;
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Starting a thread vs starting a process, measured.
#[derive(Parser)]
struct Args {
    /// How many threads to start and join.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    threads: u32,
    /// How many processes to start and wait for.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    processes: u32,
    /// Internal: run as the child of this parent pid, which exits at once.
    #[arg(long, hide = true)]
    child: Option<u32>,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// CPU time used so far by every thread of this process and by its children that have been
/// waited for: the work a start costs, whatever else keeps the CPUs busy meanwhile.
fn cpu_time() -> io::Result<Duration> {
    let mut total = Duration::ZERO;
    for who in [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN] {
        let usage = getrusage(who)?;
        for time in [usage.user_time(), usage.system_time()] {
            total +=
                Duration::from_micros(time.tv_sec() as u64 * 1_000_000 + time.tv_usec() as u64);
        }
    }
    Ok(total)
}

/// Starts `runs` times; returns the median wall-clock time and the mean CPU time of a start.
fn measure(runs: u32, start: impl Fn() -> io::Result<()>) -> io::Result<(Duration, Duration)> {
    let cpu_before = cpu_time()?;
    let mut samples = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        start()?;
        samples.push(started.elapsed());
    }
    Ok((median(samples), (cpu_time()? - cpu_before) / runs))
}

fn parent(threads: u32, processes: u32) -> io::Result<()> {
    let start_thread = || {
        thread::spawn(|| {})
            .join()
            .map_err(|_| io::Error::other("a panic"))
    };
    let (thread, thread_cpu) = measure(threads, start_thread)?;
    let micros = |time: Duration| time.as_secs_f64() * 1e6;
    println!(
        "thread:  start + join, median of {threads}: {:.1} µs; CPU time, mean: {:.1} µs",
        micros(thread),
        micros(thread_cpu)
    );
    let program = std::env::current_exe()?;
    let me = std::process::id().to_string();
    let start_process = || match Command::new(&program).args(["--child", &me]).status()? {
        status if status.success() => Ok(()),
        status => Err(io::Error::other(format!("a child failed: {status}"))),
    };
    let (process, process_cpu) = measure(processes, start_process)?;
    println!(
        "process: start + wait, median of {processes}: {:.1} µs; CPU time, mean: {:.1} µs \
         (this program again, exiting at once)",
        micros(process),
        micros(process_cpu)
    );
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!(
        "starting a process costs {:.1} times as much as starting a thread; in CPU time {:.1} times",
        ratio(process, thread),
        ratio(process_cpu, thread_cpu)
    );
    Ok(())
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    if let Some(parent) = args.child {
        // Die with the parent, even by `kill -9`; if it died before this call, it was too late.
        let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        if std::os::unix::process::parent_id() != parent {
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS; // the child exits at once
    }
    if let Err(e) = parent(args.threads, args.processes) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
