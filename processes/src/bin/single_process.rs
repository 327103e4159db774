//! # One process, one job after another — 单进程
//!
//! From `003_03d5943dc2f4a8db.txt`, 多进程 › 单进程.
//!
//! **The Python.** `work_1(3)` prints a start line, then `i love pyhton` three times with a
//! one-second sleep after each, then an end line; `work_2(3)` does the same with `come on baby`.
//! The main program calls one after the other, in its own process.
//!
//! **This lesson.** The baseline for the process lessons: in one process the sleeps add up, so
//! the run takes 3 + 3 = 6 ticks. `spawn` runs the same two jobs in two child processes and
//! takes only as long as the longer one.
//!
//! **Rust differences.** None in the idea: a plain function call runs in the calling process.
//! The printed lines keep the notes' spelling (`pyhton`).
//!
//! **Run it** (a tick is `TICK_MS` milliseconds, default 1000):
//! ```text
//! cargo run -p processes --bin single_process
//! ```
//!
//! **Output** (the time drifts by a few milliseconds):
//! ```text
//! work_1 start=======================
//! i love pyhton
//! i love pyhton
//! i love pyhton
//! work_1 end====================
//! work_2 start====================
//! come on baby
//! come on baby
//! come on baby
//! work_2 end====================
//! both works took 6.0 ticks (3 + 3, one after the other)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread;
use std::time::{Duration, Instant};

/// Two jobs in one process, one after the other.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
}

fn work_1(n: u32, tick: Duration) {
    println!("work_1 start=======================");
    for _ in 0..n {
        println!("i love pyhton");
        thread::sleep(tick);
    }
    println!("work_1 end====================");
}

fn work_2(n: u32, tick: Duration) {
    println!("work_2 start====================");
    for _ in 0..n {
        println!("come on baby");
        thread::sleep(tick);
    }
    println!("work_2 end====================");
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let start = Instant::now();
    work_1(3, tick);
    work_2(3, tick);
    let ticks = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("both works took {ticks:.1} ticks (3 + 3, one after the other)");
}
