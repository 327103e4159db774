//! # CPU-heavy work on threads and on processes — 运用场景
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › 进程的状态 (运用场景).
//!
//! **The Python.** One line of advice: processes suit computation-heavy work, threads suit I/O
//! and networking. In CPython that is true because of the GIL: only one thread at a time runs
//! Python code, so threads do not make a computation faster, while processes, each with its own
//! interpreter, run on all cores.
//!
//! **This lesson.** Counts the primes below a limit (`--limit`) by trial division three ways:
//! on one thread, on N threads and on N processes, where N is the number of CPUs (or
//! `--workers`). It prints each time and the speed-up over one thread. Each way runs three times
//! (`--runs`) and the fastest run counts, so that a moment of load from the rest of the machine
//! does not decide the result. All three must find the same number of primes.
//!
//! **Rust differences.** Rust has no GIL: threads run on every core at once, so N threads are
//! about N times faster than one, just like N processes, and they start faster and share memory
//! (see `spawn_cost`). In Rust, choose processes for isolation (a crash or a leak stays in one
//! process, a worker can be killed), not for speed. The work is split into blocks of 1000
//! numbers dealt out in turn, because large numbers take longer to test: one contiguous range
//! each would leave the worker with the smallest numbers idle early. The threads are scoped
//! (`thread::scope`), so they may borrow; each process is this program run again with a hidden
//! `--child` argument holding its share as JSON, and prints its count on a pipe to the parent.
//! Each child dies with its parent (`PR_SET_PDEATHSIG`), and a guard reaps it even if the parent
//! fails. Unix only. The times depend on the machine and on the build (try `--release`).
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin cpu_bound
//! cargo run --release -p processes --bin cpu_bound -- --limit 20000000
//! ```
//!
//! **Output** (on two CPUs; the times vary):
//! ```text
//! the primes below 1000000 by trial division, fastest of 3 runs, 2 workers:
//! 1 thread:     0.869 s  78498 primes
//! 2 threads:    0.446 s  78498 primes  1.95 times as fast
//! 2 processes:  0.445 s  78498 primes  1.95 times as fast
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::io::{self, Read};
use std::process::{self, Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A CPU-heavy count on one thread, N threads and N processes.
#[derive(Parser)]
struct Args {
    /// Count the primes below this number.
    #[arg(long, default_value_t = 1_000_000)]
    limit: u64,
    /// Threads and processes to split the work over; 0 means one per CPU.
    #[arg(long, default_value_t = 0)]
    workers: u64,
    /// Runs of each way; the fastest counts.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Internal: run as a child process; the JSON is its share of the work.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

const BLOCK: u64 = 1000;

/// One worker's share: blocks `first`, `first + step`, `first + 2 * step`, ... below `limit`.
#[derive(Clone, Copy, Serialize, Deserialize)]
struct Share {
    limit: u64,
    first: u64,
    step: u64,
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn count_primes(share: Share) -> u64 {
    let mut count = 0;
    let mut start = share.first * BLOCK;
    while start < share.limit {
        let end = (start + BLOCK).min(share.limit);
        count += (start..end).filter(|&n| is_prime(n)).count() as u64;
        start += share.step * BLOCK;
    }
    count
}

fn shares(limit: u64, workers: u64) -> impl Iterator<Item = Share> {
    (0..workers).map(move |first| Share {
        limit,
        first,
        step: workers,
    })
}

fn on_threads(limit: u64, workers: u64) -> u64 {
    thread::scope(|scope| {
        let handles: Vec<_> = shares(limit, workers)
            .map(|share| scope.spawn(move || count_primes(share)))
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().expect("counting cannot panic"))
            .sum()
    })
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
    /// Reads what the child printed, then waits for it to exit.
    fn output(mut self) -> io::Result<String> {
        let mut output = String::new();
        if let Some(mut stdout) = self.0.stdout.take() {
            stdout.read_to_string(&mut output)?;
        }
        let status = self.0.wait()?;
        if status.success() {
            Ok(output)
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

fn on_processes(limit: u64, workers: u64) -> io::Result<u64> {
    let program = std::env::current_exe()?;
    let children = shares(limit, workers)
        .map(|share| {
            let child = Command::new(&program)
                .args(["--child", &serde_json::to_string(&share)?])
                .args(["--parent", &process::id().to_string()])
                .stdout(Stdio::piped())
                .spawn()?;
            Ok(ChildGuard(child))
        })
        .collect::<io::Result<Vec<_>>>()?;
    let mut total = 0;
    for child in children {
        let output = child.output()?;
        total += output
            .trim()
            .parse::<u64>()
            .map_err(|e| io::Error::other(format!("a child printed {output:?}: {e}")))?;
    }
    Ok(total)
}

/// Runs `count` `runs` times; returns its answer and the fastest time.
fn fastest(runs: u32, count: impl Fn() -> io::Result<u64>) -> io::Result<(u64, Duration)> {
    let mut best: Option<(u64, Duration)> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let primes = count()?;
        let time = started.elapsed();
        if let Some((previous, _)) = best
            && previous != primes
        {
            return Err(io::Error::other(format!(
                "two runs disagree: {previous} and {primes}"
            )));
        }
        if best.is_none_or(|(_, best_time)| time < best_time) {
            best = Some((primes, time));
        }
    }
    Ok(best.expect("at least one run"))
}

fn parent(limit: u64, workers: u64, runs: u32) -> io::Result<()> {
    let workers = match workers {
        0 => thread::available_parallelism().map_or(1, |n| n.get() as u64),
        n => n,
    };
    println!(
        "the primes below {limit} by trial division, fastest of {runs} runs, {workers} workers:"
    );
    let (primes, one) = fastest(runs, || Ok(on_threads(limit, 1)))?;
    println!(
        "{:<13} {:.3} s  {primes} primes",
        "1 thread:",
        one.as_secs_f64()
    );
    let ways: [(&str, &dyn Fn() -> io::Result<u64>); 2] = [
        ("threads", &|| Ok(on_threads(limit, workers))),
        ("processes", &|| on_processes(limit, workers)),
    ];
    for (way, count) in ways {
        let (found, time) = fastest(runs, count)?;
        if found != primes {
            return Err(io::Error::other(format!(
                "{workers} {way} found {found} primes, one thread {primes}"
            )));
        }
        println!(
            "{:<13} {:.3} s  {found} primes  {:.2} times as fast",
            format!("{workers} {way}:"),
            time.as_secs_f64(),
            one.as_secs_f64() / time.as_secs_f64()
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .map(|share| println!("{}", count_primes(share)))
        }
        _ => parent(args.limit, args.workers, args.runs),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
