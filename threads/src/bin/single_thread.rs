//! # One thread, one task after another — 单线程
//!
//! From `003_03d5943dc2f4a8db.txt`, 多线程 › 单线程.
//!
//! **The Python.** `music` prints a line and sleeps one second, three times; `movie` does the
//! same four times; the main program calls one and then the other, then prints the end time.
//!
//! **This lesson.** The baseline for every thread lesson: on one thread the waits add up, so
//! the run takes 3 + 4 = 7 ticks. `spawn_join` runs the same kind of work on threads and takes
//! only as long as the longest task.
//!
//! **Rust differences.** None in the idea. The notes print `time.ctime()`; std has no calendar
//! formatting and what matters is the time since the start, so each line shows that, in ticks.
//!
//! **Run it** (a tick is `TICK_MS` milliseconds, default 1000):
//! ```text
//! cargo run -p threads --bin single_thread
//! TICK_MS=100 cargo run -p threads --bin single_thread
//! ```
//!
//! **Output** (the times drift by a few milliseconds):
//! ```text
//! listen music 爱的故事上集 at 0.0 ticks
//! listen music 爱的故事上集 at 1.0 ticks
//! listen music 爱的故事上集 at 2.0 ticks
//! look movie 晓生克的救赎 at 3.0 ticks
//! ...
//! look movie 晓生克的救赎 at 6.0 ticks
//! end after 7.0 ticks (3 + 4 ticks of sleep, one after the other)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread;
use std::time::{Duration, Instant};

/// Two tasks on one thread, one after the other.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

fn music(name: &str, rounds: u32, tick: Duration, start: Instant) {
    for _ in 0..rounds {
        println!(
            "listen music {name} at {:.1} ticks",
            ticks_since(start, tick)
        );
        thread::sleep(tick);
    }
}

fn movie(name: &str, rounds: u32, tick: Duration, start: Instant) {
    for _ in 0..rounds {
        println!("look movie {name} at {:.1} ticks", ticks_since(start, tick));
        thread::sleep(tick);
    }
}

fn ticks_since(start: Instant, tick: Duration) -> f64 {
    start.elapsed().as_secs_f64() / tick.as_secs_f64()
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let start = Instant::now();
    music("爱的故事上集", 3, tick, start);
    movie("晓生克的救赎", 4, tick, start);
    println!(
        "end after {:.1} ticks (3 + 4 ticks of sleep, one after the other)",
        ticks_since(start, tick)
    );
}
