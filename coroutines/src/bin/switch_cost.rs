//! # What a switch costs: threads against coroutines — 协程和线程比较
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › 协程和线程比较 (and 协程介绍).
//!
//! **The Python.** The notes claim, without measuring, that switching coroutines is cheap and
//! switching threads is not: a coroutine switch saves and restores a few CPU registers, while a
//! thread switch goes through the operating system and disturbs caches and more.
//!
//! **This lesson.** Measures it, in one run, as nanoseconds per *switch* (one side handing
//! control to the other), each the best of several batches:
//! - *OS threads*: two threads pass a baton through a `Mutex` and a `Condvar`; each pass wakes
//!   one thread and puts the other to sleep in the kernel. (A channel would spin for a while
//!   before sleeping, on two cores that hides the switch instead of measuring it.)
//! - *corosensei*: `main` resumes a coroutine that suspends at once: two switches per round trip.
//! - *may*: two coroutines on one worker thread, each calling `may::coroutine::yield_now()`.
//! - *tokio*: two tasks on a current-thread runtime, each awaiting `tokio::task::yield_now()`.
//!
//! It prints a table, each row as soon as it is measured, with the cost and how many times
//! cheaper it is than a thread switch. Time it in a release build: a debug build is many times
//! slower at everything but the kernel's part, so it understates the gap (the test runs the
//! debug build with fewer rounds, and the coroutines still win).
//!
//! **Rust differences.** There is no GIL to hand over, so a thread switch here is the operating
//! system's own cost. The four rows are different mechanisms: corosensei switches stacks and
//! nothing else; may and tokio also run a scheduler (a ready queue) on every switch, and a tokio
//! task is a future polled by the runtime rather than a stack of its own. `go!` hides may's
//! `unsafe` spawn (may issue #109, see `gevent_spawn`); the coroutines here only loop and yield,
//! so they keep no thread-local across a yield and need almost no stack.
//!
//! **Run it** (`--rounds` round trips per batch, default 20000; `--batches`, default 5):
//! ```text
//! cargo run --release -p coroutines --bin switch_cost
//! cargo run --release -p coroutines --bin switch_cost -- --rounds 100000
//! ```
//!
//! **Output** of a release build on a two-core machine (the numbers depend on the machine and its
//! load, and the thread row varies most from run to run; the order of magnitude does not):
//! ```text
//! 20000 round trips per batch, best of 5 batches
//! switch                                ns per switch  times cheaper than threads
//! OS threads (Mutex + Condvar)                 2920.3      1.0
//! corosensei resume / suspend                     1.0   2864.4
//! may coroutine yield_now (1 worker)             18.6    156.6
//! tokio task yield_now (current thread)          80.1     36.5
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `corosensei = "0.3"`,
//! `may = "0.3"`, `tokio = { version = "1", features = ["rt"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use corosensei::{Coroutine, Yielder};
use std::process::ExitCode;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Nanoseconds per switch: OS threads, corosensei, may and tokio.
#[derive(Parser)]
struct Args {
    /// Round trips (two switches each) per batch.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Batches per kind of switch; the fastest one counts.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    batches: u32,
}

/// Two threads take turns: each waits on the condvar until the flag says it is its turn.
fn threads(rounds: u32) -> Duration {
    // `true`: the partner's turn; `false`: main's turn.
    let baton = Arc::new((Mutex::new(false), Condvar::new()));
    let partner = thread::spawn({
        let baton = Arc::clone(&baton);
        move || {
            let (partners_turn, changed) = &*baton;
            for _ in 0..rounds {
                let mut turn = changed
                    .wait_while(partners_turn.lock().unwrap(), |partners| !*partners)
                    .unwrap();
                *turn = false;
                changed.notify_one();
            }
        }
    });
    let (partners_turn, changed) = &*baton;
    let start = Instant::now();
    for _ in 0..rounds {
        *partners_turn.lock().unwrap() = true;
        changed.notify_one();
        let _mine = changed
            .wait_while(partners_turn.lock().unwrap(), |partners| *partners)
            .unwrap();
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

/// `main` resumes a coroutine that suspends straight back.
fn corosensei(rounds: u32) -> Duration {
    let mut coroutine = Coroutine::new(|yielder: &Yielder<(), ()>, ()| {
        loop {
            yielder.suspend(());
        }
    });
    let start = Instant::now();
    for _ in 0..rounds {
        coroutine.resume(());
    }
    start.elapsed()
}

/// Two may coroutines on one worker yield to each other; the first one times its own loop.
fn may(rounds: u32) -> Duration {
    let timer = may::go!(move || {
        let partner = may::go!(move || {
            for _ in 0..rounds {
                may::coroutine::yield_now();
            }
        });
        let start = Instant::now();
        for _ in 0..rounds {
            may::coroutine::yield_now();
        }
        let elapsed = start.elapsed();
        partner.join().unwrap();
        elapsed
    });
    timer.join().unwrap()
}

/// Two tokio tasks on a current-thread runtime yield to each other; the first one times it.
fn tokio(runtime: &tokio::runtime::Runtime, rounds: u32) -> Duration {
    runtime.block_on(async move {
        let timer = tokio::spawn(async move {
            let partner = tokio::spawn(async move {
                for _ in 0..rounds {
                    tokio::task::yield_now().await;
                }
            });
            let start = Instant::now();
            for _ in 0..rounds {
                tokio::task::yield_now().await;
            }
            let elapsed = start.elapsed();
            partner.await.unwrap();
            elapsed
        });
        timer.await.unwrap()
    })
}

/// The fastest of `batches` runs, in nanoseconds per switch (two per round trip).
fn best(batches: u32, rounds: u32, mut measure: impl FnMut(u32) -> Duration) -> f64 {
    let fastest = (0..batches).map(|_| measure(rounds)).min().unwrap();
    fastest.as_nanos() as f64 / (2.0 * f64::from(rounds))
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    may::config().set_workers(1);
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (rounds, batches) = (args.rounds, args.batches);
    println!("{rounds} round trips per batch, best of {batches} batches");
    println!(
        "{:<38}{:>13}  times cheaper than threads",
        "switch", "ns per switch"
    );
    let thread_ns = best(batches, rounds, threads);
    // Each row is printed as soon as it is measured.
    let row = |name: &str, ns: f64| println!("{name:<38}{ns:>13.1}  {:>7.1}", thread_ns / ns);
    row("OS threads (Mutex + Condvar)", thread_ns);
    let corosensei_ns = best(batches, rounds, corosensei);
    row("corosensei resume / suspend", corosensei_ns);
    let may_ns = best(batches, rounds, may);
    row("may coroutine yield_now (1 worker)", may_ns);
    let tokio_ns = best(batches, rounds, |rounds| tokio(&runtime, rounds));
    row("tokio task yield_now (current thread)", tokio_ns);
    ExitCode::SUCCESS
}
