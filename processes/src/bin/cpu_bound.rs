//! # CPU-heavy work on threads and on processes — 运用场景
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › 进程的状态 (运用场景).
//!
//! **The Python.** One line of advice: processes suit computation-heavy work, threads suit I/O
//! and networking. In CPython that is true because of the GIL: only one thread at a time runs
//! Python code (in the default build; the free-threaded build, 3.13t and supported from 3.14,
//! has no GIL), so threads do not make a computation faster, while processes, each with its own
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
//! (`thread::scope`), so they may borrow; the processes are `procspawn::spawn(share,
//! count_primes)`: the same function, its share crossing to the child and its count coming back
//! through serde, like `pool.map` in Python. Children die with their parent (`PR_SET_PDEATHSIG`,
//! asked for in a hook of `procspawn::init`). Linux only. `--workers` is at most 256. The times
//! depend on the machine and on the build (try `--release`).
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
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`, `procspawn = "=1.0.2"`,
//! `serde = { version = "1", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::error::Error;
use std::process::ExitCode;
use std::thread;
use std::time::{Duration, Instant};

/// A CPU-heavy count on one thread, N threads and N processes.
#[derive(Parser)]
struct Args {
    /// Count the primes below this number.
    #[arg(long, default_value_t = 1_000_000)]
    limit: u64,
    /// Threads and processes to split the work over; 0 means one per CPU.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u64).range(..=256))]
    workers: u64,
    /// Runs of each way; the fastest counts.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=100))]
    runs: u32,
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

fn on_threads(limit: u64, workers: u64) -> Result<u64, Box<dyn Error>> {
    thread::scope(|scope| {
        let handles: Vec<_> = shares(limit, workers)
            .map(|share| scope.spawn(move || count_primes(share)))
            .collect();
        Ok(handles
            .into_iter()
            .map(|handle| handle.join().expect("counting cannot panic"))
            .sum())
    })
}

fn on_processes(limit: u64, workers: u64) -> Result<u64, Box<dyn Error>> {
    let children: Vec<_> = shares(limit, workers)
        .map(|share| procspawn::spawn(share, count_primes))
        .collect();
    let mut total = 0;
    for child in children {
        total += child.join()?;
    }
    Ok(total)
}

type Count<'a> = &'a dyn Fn() -> Result<u64, Box<dyn Error>>;

/// Runs `count` `runs` times; returns its answer and the fastest time.
fn fastest(runs: u32, count: Count) -> Result<(u64, Duration), Box<dyn Error>> {
    let mut best: Option<(u64, Duration)> = None;
    for _ in 0..runs {
        let started = Instant::now();
        let primes = count()?;
        let time = started.elapsed();
        if best.is_none_or(|(_, best_time)| time < best_time) {
            best = Some((primes, time));
        }
    }
    Ok(best.expect("at least one run"))
}

fn parent(limit: u64, workers: u64, runs: u32) -> Result<(), Box<dyn Error>> {
    let workers = match workers {
        0 => thread::available_parallelism().map_or(1, |n| n.get() as u64),
        n => n,
    };
    println!(
        "the primes below {limit} by trial division, fastest of {runs} runs, {workers} workers:"
    );
    let (primes, one) = fastest(runs, &|| on_threads(limit, 1))?;
    println!(
        "{:<13} {:.3} s  {primes} primes",
        "1 thread:",
        one.as_secs_f64()
    );
    let ways: [(&str, Count); 2] = [
        ("threads", &|| on_threads(limit, workers)),
        ("processes", &|| on_processes(limit, workers)),
    ];
    for (way, count) in ways {
        let (found, time) = fastest(runs, count)?;
        if found != primes {
            return Err(
                format!("{workers} {way} found {found} primes, one thread {primes}").into(),
            );
        }
        let speedup = one.as_secs_f64() / time.as_secs_f64();
        let label = format!("{workers} {way}:");
        println!(
            "{label:<13} {:.3} s  {found} primes  {speedup:.2} times as fast",
            time.as_secs_f64()
        );
    }
    Ok(())
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
    if let Err(e) = parent(args.limit, args.workers, args.runs) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
