//! # A blocking call stops every coroutine — gevent, monkey.patch_all()
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › gevent (both versions: `time.sleep` with
//! `monkey.patch_all()`, and `gevent.sleep` without it).
//!
//! **The Python.** gevent runs its greenlets on one thread and switches only when a greenlet
//! waits through gevent. A plain `time.sleep` puts the whole thread to sleep, so the other
//! greenlet cannot run meanwhile. The notes' fix is `monkey.patch_all()`, which replaces
//! `time.sleep` (and sockets and more) with gevent's cooperative versions; or calling
//! `gevent.sleep` directly. Then `f1(5)` and `f1(3)` overlap their waits.
//!
//! **This lesson.** The notes' `f1(5)` and `f1(3)` twice on [may] with one worker thread, each
//! step sleeping half a tick. First with `std::thread::sleep`: it blocks the worker, so the
//! coroutines run one after the other (no interleaving) and the run costs 5 + 3 half-ticks =
//! 4 ticks. Then with `may::coroutine::sleep`: it parks only the coroutine, the worker runs the
//! other one, and the run costs max(5, 3) half-ticks = 2.5 ticks. Both times are printed.
//!
//! **Rust differences.** Nothing can be monkey-patched in Rust: `std::thread::sleep` always
//! blocks the OS thread. You choose the coroutine-aware call yourself (`may::coroutine::sleep`,
//! `may::net::TcpStream`, ...). The same trap exists in every coroutine runtime, async Rust
//! included: a blocking call inside a coroutine or a task stalls its worker thread. `go!` hides
//! may's `unsafe` spawn (may issue #109, see `gevent_spawn` for why this use is sound: no
//! thread-local kept across a yield, tiny stack needs).
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin gevent_blocking
//! ```
//!
//! **Output** (the times drift a little; which coroutine starts first may vary):
//! ```text
//! --- std::thread::sleep (time.sleep without monkey.patch_all()): blocks the worker
//! <coroutine f1(5)> 0
//! ...
//! <coroutine f1(5)> 4
//! <coroutine f1(3)> 0
//! ...
//! <coroutine f1(3)> 2
//! std::thread::sleep: both done after 4.0 ticks (the half-tick sleeps add up: 8 x 0.5)
//! --- may::coroutine::sleep (gevent.sleep, or time.sleep after patch_all()): parks the coroutine
//! <coroutine f1(5)> 0
//! <coroutine f1(3)> 0
//! <coroutine f1(5)> 1
//! ...
//! may::coroutine::sleep: both done after 2.5 ticks (the sleeps overlap: 5 x 0.5)
//! blocking / cooperative = 1.6
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `may = "0.3"`,
//! `sigpipe = "0.1"`.
//!
//! [may]: https://docs.rs/may

use clap::Parser;
use may::coroutine;
use std::time::{Duration, Instant};

/// The same coroutines with a blocking sleep, then with a cooperative one.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// The notes' `f1`, with the sleep to use as a parameter.
fn f1(n: u32, nap: fn(Duration), tick: Duration) {
    let me = coroutine::current();
    let name = me.name().unwrap_or("?");
    for i in 0..n {
        println!("<coroutine {name}> {i}");
        nap(tick / 2);
    }
}

/// Spawns `f1(5)` and `f1(3)`, joins both, returns the elapsed ticks.
fn run_both(nap: fn(Duration), tick: Duration) -> f64 {
    let start = Instant::now();
    let handles: Vec<_> = [5, 3]
        .into_iter()
        .map(|n| {
            let builder = coroutine::Builder::new().name(format!("f1({n})"));
            may::go!(builder, move || f1(n, nap, tick)).expect("may could not start a coroutine")
        })
        .collect();
    for handle in handles {
        handle.join().expect("a coroutine panicked");
    }
    start.elapsed().as_secs_f64() / tick.as_secs_f64()
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    may::config().set_workers(1);

    println!("--- std::thread::sleep (time.sleep without monkey.patch_all()): blocks the worker");
    let blocking = run_both(std::thread::sleep, tick);
    println!(
        "std::thread::sleep: both done after {blocking:.1} ticks (the half-tick sleeps add up: 8 x 0.5)"
    );

    println!(
        "--- may::coroutine::sleep (gevent.sleep, or time.sleep after patch_all()): parks the coroutine"
    );
    let cooperative = run_both(coroutine::sleep, tick);
    println!(
        "may::coroutine::sleep: both done after {cooperative:.1} ticks (the sleeps overlap: 5 x 0.5)"
    );
    println!("blocking / cooperative = {:.1}", blocking / cooperative);
}
