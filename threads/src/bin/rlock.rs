//! # A lock the same thread may take twice — RLock
//!
//! From `002_9dcbaec63db95917.txt`, 线程 › 线程锁.
//!
//! **The Python.** Ten threads each acquire an `RLock`, add 1 to a counter, sleep a second, print
//! their number and the counter, and release. The notes explain that an `RLock` may be acquired
//! again by the thread that holds it (released as many times as acquired), where a `Lock` may
//! not. The program never acquires twice, so it does not show that; it also calls `test_lock()`,
//! which does not exist (the function is `test_rlock`), and passes the counter by value, so every
//! thread increments its own copy and prints 1.
//!
//! **This lesson.** What the notes meant: each thread takes the lock, increments the one shared
//! counter, and then calls a helper that takes the same lock again, from the same thread, to
//! print. The counter goes 1 to 10, one thread at a time. The sleep under the lock is half a tick,
//! so the ten turns take about 5 ticks. Then a `std::sync::Mutex` is tried twice from one thread.
//!
//! **Rust differences.** `std::sync::Mutex` is not reentrant: locking it again from the thread
//! that holds it "will not return" (the docs: it may deadlock or panic), so the lesson uses
//! `try_lock`, which answers `WouldBlock` instead of hanging. The reentrant lock is
//! `parking_lot::ReentrantMutex`. It hands out shared references only, because two guards in one
//! thread must not both give `&mut` to the same data, so the data sits in a `RefCell`, which
//! checks at run time that only one borrow writes at a time. That is enough here: only the
//! thread holding the lock can reach the `RefCell`.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin rlock
//! ```
//!
//! **Output** (which thread gets each turn varies; the counter always goes 1 to 10):
//! ```text
//! This thread is 0
//! globals_num: 1 (lock held 2 deep)
//! This thread is 3
//! globals_num: 2 (lock held 2 deep)
//! ...
//! std Mutex locked again by its own thread: WouldBlock (a plain lock() would never return)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `parking_lot = "0.12"`,
//! `sigpipe = "0.1"`.

use clap::Parser;
use parking_lot::ReentrantMutex;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, TryLockError};
use std::thread;
use std::time::Duration;

/// One thread takes a ReentrantMutex twice.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

struct Counter {
    globals_num: u32,
    depth: u32,
}

type Shared = Arc<ReentrantMutex<RefCell<Counter>>>;

fn test_func(num: u32, lock: &Shared, tick: Duration) {
    let guard = lock.lock(); // first acquire
    {
        let mut counter = guard.borrow_mut();
        counter.depth += 1;
        counter.globals_num += 1;
    }
    thread::sleep(tick / 2);
    report(num, lock);
    guard.borrow_mut().depth -= 1;
}

/// Takes the lock again; with a non-reentrant lock this thread would wait for itself forever.
fn report(num: u32, lock: &Shared) {
    let guard = lock.lock(); // second acquire, same thread
    let mut counter = guard.borrow_mut();
    counter.depth += 1;
    println!("This thread is {num}");
    println!(
        "globals_num: {} (lock held {} deep)",
        counter.globals_num, counter.depth
    );
    counter.depth -= 1;
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let lock: Shared = Arc::new(ReentrantMutex::new(RefCell::new(Counter {
        globals_num: 0,
        depth: 0,
    })));
    let threads: Vec<_> = (0..10)
        .map(|num| {
            let lock = Arc::clone(&lock);
            thread::Builder::new()
                .name(format!("t.{num}"))
                .spawn(move || test_func(num, &lock, tick))
                .expect("the OS refused a new thread")
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    println!("final globals_num: {}", lock.lock().borrow().globals_num);

    let plain = Mutex::new(0);
    let _held = plain.lock().unwrap();
    match plain.try_lock() {
        Err(TryLockError::WouldBlock) => println!(
            "std Mutex locked again by its own thread: WouldBlock (a plain lock() would never return)"
        ),
        other => println!(
            "std Mutex locked again by its own thread: {:?}",
            other.map(|_| ())
        ),
    }
}
