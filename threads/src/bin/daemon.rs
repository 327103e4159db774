//! # Daemon threads die with the program — setDaemon
//!
//! From `003_03d5943dc2f4a8db.txt`, 多线程 › 多线程 (`t1.setDaemon(True)` and `t1.join()`).
//!
//! **The Python.** Two threads each print four lines a second apart. Marked as daemons, they are
//! killed when the main thread finishes, which it does at once: only their first lines appear.
//! The second program joins them first, so all lines appear before the main thread's last line.
//! `setDaemon(True)` has been deprecated since Python 3.10: set `t.daemon = True`, or pass
//! `daemon=True` to `Thread`.
//!
//! **This lesson.** Both programs: by default the threads are left running when `main` returns
//! and die with the process after their first line; with `--join`, `main` waits for them and
//! every line appears.
//!
//! **Rust differences.** Every Rust thread behaves like a Python daemon thread: when `main`
//! returns, the process exits and any thread still running is stopped wherever it is, without
//! running destructors or finishing its work. Dropping a `JoinHandle` does not stop the thread
//! (it detaches it). There is no `setDaemon`; `join` is how you wait.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin daemon              # threads die with main
//! cargo run -p threads --bin daemon -- --join    # main waits for them
//! ```
//!
//! **Output** without `--join` (the threads' first lines may come in any order, be missing, or
//! be cut off in the middle: the process ends wherever the threads are):
//! ```text
//! listen music 爱的故事上集 musicThread
//! 主线程: returning after 0.0 ticks without joining; the threads die with the process
//! look movie 肖生克的救赎
//! ```
//! and with `--join`, four lines of each thread, then
//! `主线程: returning after 4.0 ticks, both threads joined`.
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread;
use std::time::{Duration, Instant};

/// Threads left running when main returns are killed; join waits.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Wait for the threads before main returns (the notes' second program).
    #[arg(long)]
    join: bool,
}

fn play(what: &str, tick: Duration) {
    let me = thread::current();
    for _ in 0..4 {
        println!("{what} {}", me.name().unwrap_or("?"));
        thread::sleep(tick);
    }
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let start = Instant::now();

    let t1 = thread::Builder::new()
        .name("musicThread".to_string())
        .spawn(move || play("listen music 爱的故事上集", tick))
        .expect("the OS refused a new thread");
    let t2 = thread::Builder::new()
        .name("movieThread".to_string())
        .spawn(move || play("look movie 肖生克的救赎", tick))
        .expect("the OS refused a new thread");

    let took = |start: Instant| start.elapsed().as_secs_f64() / tick.as_secs_f64();
    if args.join {
        t1.join().unwrap();
        t2.join().unwrap();
        println!(
            "主线程: returning after {:.1} ticks, both threads joined",
            took(start)
        );
    } else {
        // Dropping the handles detaches the threads; returning from main ends them.
        drop((t1, t2));
        println!(
            "主线程: returning after {:.1} ticks without joining; the threads die with the process",
            took(start)
        );
    }
}
