//! # Start threads with arguments, wait with join — threading 模块
//!
//! From `001_dd92d349ebb64331.txt` (Thread类 › 普通创建方式), `003_03d5943dc2f4a8db.txt`
//! (多线程 › 多线程), `004_599445cc4c65b15e.txt` (线程 › threading模块) and
//! `002_9dcbaec63db95917.txt` (线程: twenty workers).
//!
//! **The Python.** `threading.Thread(target=run, args=("t1",))` creates a thread with an
//! argument, `start()` runs it and `join()` waits for it. Two threads count down "2s, 1s, 0s"
//! side by side; another program starts twenty workers that each sleep a second and print their
//! number.
//!
//! **This lesson.** Both programs. Threads overlap their waits, so the run costs as long as the
//! longest thread, not the sum: two 4-tick tasks take about 4 ticks, not 8, and twenty 1-tick
//! workers about 1 tick, not 20. Every handle is joined before `main` goes on.
//!
//! **Rust differences.** `thread::spawn` takes a closure instead of `target` + `args`: the
//! arguments are whatever the closure captures, moved (`move`) into the new thread, so the
//! compiler checks that each one may cross threads (`Send`) and lives long enough (`'static`).
//! `join()` returns the thread's result, or `Err` if the thread panicked.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin spawn_join
//! ```
//!
//! **Output** (lines of different threads interleave differently on every run):
//! ```text
//! task:t1
//! task:t2
//! 2s
//! 2s
//! ...
//! two tasks of 4 ticks took 4.0 ticks (one after the other: 8)
//! The num is 3
//! The num is 0
//! ...
//! 20 workers joined after 1.0 ticks (one after the other: 20)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread;
use std::time::{Duration, Instant};

/// Threads with arguments run at once; join waits for each.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// The notes' `run(n)`: four ticks of countdown.
fn run(n: &str, tick: Duration) {
    println!("task:{n}");
    for left in ["2s", "1s", "0s"] {
        thread::sleep(tick);
        println!("{left}");
    }
    thread::sleep(tick);
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);

    let start = Instant::now();
    let t1 = thread::spawn(move || run("t1", tick));
    let t2 = thread::spawn(move || run("t2", tick));
    t1.join().unwrap();
    t2.join().unwrap();
    let took = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("two tasks of 4 ticks took {took:.1} ticks (one after the other: 8)");

    let start = Instant::now();
    let workers: Vec<_> = (0..20)
        .map(|num| {
            thread::Builder::new()
                .name(format!("t.{num}"))
                .spawn(move || {
                    thread::sleep(tick);
                    println!("The num is {num}");
                })
                .expect("the OS refused a new thread")
        })
        .collect();
    let joined = workers.into_iter().map(|w| w.join().unwrap()).count();
    let took = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("{joined} workers joined after {took:.1} ticks (one after the other: 20)");
}
