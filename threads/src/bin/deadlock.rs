//! # Deadlock, detected and avoided — 死锁
//!
//! From `004_599445cc4c65b15e.txt`, 线程 › 锁 › 死锁.
//!
//! **The Python.** The notes define a deadlock in one line: one thread requests a lock while
//! another thread requests a lock too, and each waits for the other. They give no program.
//!
//! **This lesson.** A real one. `thread-1` takes lock A then wants B; `thread-2` takes B then
//! wants A. A barrier makes sure each holds its first lock before asking for the second, so they
//! deadlock every time. A watchdog, `main`, asks parking_lot's deadlock detector every tenth of a
//! tick whether some threads wait on each other in a cycle, and prints the cycle with the names
//! of the threads in it. The two stuck threads can never be joined; they end when the process
//! exits. Then the fix: both threads take the locks in one global order, A before B, and both
//! finish. The binary always exits by itself.
//!
//! **Rust differences.** The compiler prevents data races, not deadlocks: this program is safe
//! Rust. parking_lot's `deadlock_detection` feature keeps a graph of which thread holds and
//! waits for which parking_lot lock, and `deadlock::check_deadlock()` finds the cycles in it
//! (std's `Mutex` has no such hook). When it finds one, it briefly wakes each stuck thread to
//! record a backtrace, so the check can take a moment in a debug build. The feature costs a
//! little on every lock operation, so turn it on for debugging and tests, not by default.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin deadlock
//! ```
//!
//! **Output** (the first two lines may swap, and so may the next two; in the fixed half either
//! thread may go first, but each takes A before B):
//! ```text
//! thread-1 holds A
//! thread-2 holds B
//! thread-1 waits for B
//! thread-2 waits for A
//! watchdog: deadlock: a cycle of 2 threads: thread-1, thread-2
//! watchdog: they stay blocked; the process exit will end them
//! fixed order: thread-1 holds A
//! fixed order: thread-1 waits for B
//! fixed order: thread-1 got A and B
//! fixed order: thread-2 holds A
//! fixed order: thread-2 waits for B
//! fixed order: thread-2 got A and B
//! fixed order: both threads finished
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `parking_lot = { version = "0.12", features = ["deadlock_detection"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use parking_lot::{Mutex, deadlock};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// Two locks taken in opposite order deadlock; one order fixes it.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

type Lock = Arc<Mutex<()>>;

/// Takes `first`, waits until the other thread holds its first lock too, then takes `second`.
fn take_both(label: &str, first: (&str, Lock), second: (&str, Lock), both_hold: Arc<Barrier>) {
    let name = thread::current().name().unwrap_or("?").to_string();
    let _first = first.1.lock();
    println!("{label}{name} holds {}", first.0);
    both_hold.wait();
    println!("{label}{name} waits for {}", second.0);
    let _second = second.1.lock();
    println!("{label}{name} got {} and {}", first.0, second.0);
}

fn spawn(name: &str, work: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    thread::Builder::new()
        .name(name.to_string())
        .spawn(work)
        .expect("the OS refused a new thread")
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);

    // Opposite order: thread-1 takes A then B, thread-2 takes B then A.
    let (a, b): (Lock, Lock) = Default::default();
    let both_hold = Arc::new(Barrier::new(2));
    let stuck = [
        spawn("thread-1", {
            let (a, b, both_hold) = (a.clone(), b.clone(), both_hold.clone());
            move || take_both("", ("A", a), ("B", b), both_hold)
        }),
        spawn("thread-2", {
            let (a, b, both_hold) = (a.clone(), b.clone(), both_hold.clone());
            move || take_both("", ("B", b), ("A", a), both_hold)
        }),
    ];

    // The watchdog: look for a cycle every tenth of a tick, up to a hundred times.
    let mut cycle = None;
    for _ in 0..100 {
        if let Some(found) = deadlock::check_deadlock().first() {
            cycle = Some(found.iter().map(|t| t.thread_id()).collect::<Vec<_>>());
            break;
        }
        thread::sleep(tick / 10);
    }
    let Some(cycle) = cycle else {
        eprintln!("watchdog: no deadlock seen within 10 ticks");
        return ExitCode::FAILURE;
    };
    let mut names: Vec<_> = stuck
        .iter()
        .filter(|handle| cycle.contains(&handle.thread().id()))
        .map(|handle| handle.thread().name().unwrap_or("?"))
        .collect();
    names.sort();
    println!(
        "watchdog: deadlock: a cycle of {} threads: {}",
        cycle.len(),
        names.join(", ")
    );
    println!("watchdog: they stay blocked; the process exit will end them");
    drop(stuck); // detach: joining a deadlocked thread would block main forever too

    // One global order: both threads take A, then B.
    let (a, b): (Lock, Lock) = Default::default();
    let both_hold = Arc::new(Barrier::new(1)); // nobody waits for the other now
    let fixed: Vec<_> = ["thread-1", "thread-2"]
        .into_iter()
        .map(|name| {
            let (a, b, both_hold) = (a.clone(), b.clone(), both_hold.clone());
            spawn(name, move || {
                take_both("fixed order: ", ("A", a), ("B", b), both_hold)
            })
        })
        .collect();
    for handle in fixed {
        handle.join().unwrap();
    }
    println!("fixed order: both threads finished");
    ExitCode::SUCCESS
}
