//! # versus_python: the Rust half of `benches/versus_python.sh`
//!
//! Not a lesson: a benchmark. `benches/versus_python.sh` runs each Python snippet of
//! `benches/versus_python/` and the matching row here on the same machine, one after the other,
//! and prints the medians side by side. Each run of this program measures one row once and
//! prints the time of one operation in nanoseconds (a switch, an item, a task, a start...), the
//! same operation the Python snippet of that row times.
//!
//! ```text
//! cargo build --release -p versus-python
//! target/release/versus_python p1-hub 200000     # ns per switch through the greenlet hub
//! target/release/versus_python gil-2 30000 --reps 20
//! ```
//!
//! Rows (the operation that is timed; `N` is the last argument):
//! - `p1-hub`: a switch between two greenlets through the `greenlet` lesson's hub, `N` round trips;
//!   `p1-raw`: a raw corosensei resume or suspend, `N` round trips;
//! - `p2`: `may::coroutine::yield_now` in two coroutines on one worker, `N` each;
//! - `p3`: a switch between two may coroutines ping-ponging through two `spsc` channels, `N`
//!   round trips (the bare switch, `yield_now`, is `p2`);
//! - `p4`: a `crossbeam_channel::bounded(1000)` send + recv, one producer thread and one
//!   consumer, `N` items;
//! - `p5`: `*counter.lock().unwrap() += 1` on a `Mutex<u64>` in 2 threads, `N` each;
//! - `p6-apply`: a trivial task on `procspawn::Pool::new(2)`, `N` tasks; `p6-map`: one item of a
//!   map over `N` items sent in chunks as Python's `Pool.map` cuts them; `p6-ipc`: a trivial
//!   task on two worker processes fed through long-lived ipc-channels, `N` tasks;
//! - `p7`: an item through an ipc-channel from the parent to a child process, `N` items;
//! - `gil-1`, `gil-2`: a number checked for primality by trial division, the numbers below `N`
//!   split over 1 or 2 threads (`--reps` passes, as Rust needs many to be timed well);
//! - `start-thread`, `start-process`: starting and joining a thread, a procspawn child process.

mod coroutines;
mod hub;
mod processes;
mod threads;

use clap::{Parser, ValueEnum};
use std::time::Duration;

/// One measurement of one row: prints nanoseconds per operation.
#[derive(Parser)]
struct Args {
    /// The row to measure.
    row: Row,
    /// How many operations to time (round trips, items, tasks, numbers, starts).
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    n: u64,
    /// `gil-*` rows only: passes over the numbers inside one timing.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    reps: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum Row {
    P1Hub,
    P1Raw,
    P2,
    P3,
    P4,
    P5,
    P6Apply,
    P6Map,
    P6Ipc,
    P7,
    #[value(name = "gil-1")]
    Gil1,
    #[value(name = "gil-2")]
    Gil2,
    StartThread,
    StartProcess,
}

/// Nanoseconds per operation.
fn per_op(elapsed: Duration, operations: u64) -> f64 {
    elapsed.as_nanos() as f64 / operations as f64
}

fn main() {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    processes::init();
    let Args { row, n, reps } = Args::parse();
    let ns = match row {
        Row::P1Hub => coroutines::hub_switch(n),
        Row::P1Raw => coroutines::raw_switch(n),
        Row::P2 => coroutines::yield_now(n),
        Row::P3 => coroutines::channel_ping_pong(n),
        Row::P4 => threads::channel_items(n),
        Row::P5 => threads::mutex_increments(n),
        Row::P6Apply => processes::pool_apply(n),
        Row::P6Map => processes::pool_map(n),
        Row::P6Ipc => processes::channel_workers(n),
        Row::P7 => processes::ipc_items(n),
        Row::Gil1 => threads::primes(n, 1, reps),
        Row::Gil2 => threads::primes(n, 2, reps),
        Row::StartThread => threads::start(n),
        Row::StartProcess => processes::start(n),
    };
    println!("{ns:.3}");
}
