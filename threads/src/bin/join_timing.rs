//! # Timing threads with join — 计算子线程的执行时间
//!
//! From `001_dd92d349ebb64331.txt`, Thread类 › 计算子线程的执行时间.
//!
//! **The Python.** Three threads each print their name and count down "3s, 2s, 1s", one second
//! apart; the main thread keeps them in a list, joins them and prints the cost, about 3 seconds.
//! The join loop is wrong: `for tmp in t_obj: t.join()` joins `t`, the last thread started,
//! three times, and never the others. It measured 3 seconds only because all three happened to
//! take equally long.
//!
//! **This lesson.** First the right loop: three 3-tick workers, every handle joined, cost about
//! 3 ticks (not 9). Then the notes' loop with a slower first worker (6 ticks): joining only the
//! last thread reports a cost of 3 ticks while `t-0` is still running, so the number is wrong.
//! The lesson then joins the rest, so nothing is left running.
//!
//! **Rust differences.** `JoinHandle::join` takes the handle by value, so the notes' bug does not
//! compile: joining the same handle a second time is "use of moved value". The closest Rust
//! can get is to join only the last handle, which is what the second half shows.
//! `JoinHandle::is_finished` tells, without waiting, whether a thread has ended.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin join_timing
//! ```
//!
//! **Output** (the workers' lines interleave differently on every run):
//! ```text
//! task t-0 on thread t-0
//! task t-1 on thread t-1
//! task t-2 on thread t-2
//! 3s
//! ...
//! cost: 3.0 ticks for 3 workers of 3 ticks (one after the other: 9)
//! ...
//! the notes' loop: cost 3.0 ticks, yet t-0 still running: true
//! joined the rest too: everything finished after 6.0 ticks
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Join every handle to time the threads; joining only one times nothing.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// The notes' `run(n)`: three ticks of countdown, plus `extra` ticks of lingering.
fn run(n: &str, tick: Duration, extra: u32) {
    println!(
        "task {n} on thread {}",
        thread::current().name().unwrap_or("?")
    );
    for left in ["3s", "2s", "1s"] {
        thread::sleep(tick);
        println!("{left}");
    }
    thread::sleep(tick * extra);
}

fn start_workers(tick: Duration, first_worker_extra: u32) -> Vec<JoinHandle<()>> {
    (0..3)
        .map(|i| {
            let name = format!("t-{i}");
            let extra = if i == 0 { first_worker_extra } else { 0 };
            thread::Builder::new()
                .name(name.clone())
                .spawn(move || run(&name, tick, extra))
                .expect("the OS refused a new thread")
        })
        .collect()
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let ticks = |since: Instant| since.elapsed().as_secs_f64() / tick.as_secs_f64();

    let start = Instant::now();
    for worker in start_workers(tick, 0) {
        worker.join().unwrap();
    }
    println!(
        "cost: {:.1} ticks for 3 workers of 3 ticks (one after the other: 9)",
        ticks(start)
    );

    let start = Instant::now();
    let mut workers = start_workers(tick, 3);
    workers.pop().unwrap().join().unwrap(); // all the notes' loop really waits for
    println!(
        "the notes' loop: cost {:.1} ticks, yet t-0 still running: {}",
        ticks(start),
        !workers[0].is_finished()
    );
    for worker in workers {
        worker.join().unwrap();
    }
    println!(
        "joined the rest too: everything finished after {:.1} ticks",
        ticks(start)
    );
}
