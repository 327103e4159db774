//! # A lock makes the update whole — 互斥锁 / 加锁 / 锁
//!
//! From `003_03d5943dc2f4a8db.txt` (多线程 › 加锁), `004_599445cc4c65b15e.txt` (线程 › 锁) and
//! `000_d2cd84fa43d5f45e.txt` (互斥锁).
//!
//! **The Python.** The balance program of `race` again, with `lock.acquire()` before each
//! `change(n)` and `lock.release()` in a `finally`: the balance ends at exactly 0. A second
//! program starts `x` at 1; two functions each take the lock, add 1 to `x` a million times, print
//! it and release: whichever prints last shows 2000001. The notes also show `with lock:` as the
//! short form of acquire/release.
//!
//! **This lesson.** Both programs: the balance ends at 0 and the last line shows
//! `x = 2000001`.
//!
//! **Rust differences.** A `std::sync::Mutex<T>` owns the data it protects: the only way to
//! reach the balance is `lock()`, so forgetting the lock does not compile. `lock()` returns a
//! guard, and the lock is released when the guard goes out of scope, even on panic: the guard's
//! block is Python's `with lock:` block, and there is no `release()` to forget. `lock()` returns
//! `Err` only if another thread panicked while holding it ("poisoned").
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin mutex
//! ```
//!
//! **Output** (func1 and func2 may print in either order; the second always shows 2000001):
//! ```text
//! balance = 0 after 2000000 locked changes
//! func1,x= 1000001
//! func2,x= 2000001
//! x = 2000001
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::sync::{Arc, Mutex};
use std::thread;

/// Two threads update shared numbers under a Mutex.
#[derive(Parser)]
struct Args {
    /// Updates per thread.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    iterations: u64,
}

fn change(balance: &mut i64, n: i64) {
    *balance += n;
    *balance -= n;
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let iterations = Args::parse().iterations;

    // 003: lock around each change.
    let balance = Arc::new(Mutex::new(0_i64));
    let threads: Vec<_> = [4, 8]
        .into_iter()
        .map(|n| {
            let balance = Arc::clone(&balance);
            thread::spawn(move || {
                for _ in 0..iterations {
                    let mut guard = balance.lock().unwrap(); // lock.acquire()
                    change(&mut guard, n);
                } // guard dropped: lock.release()
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let balance = *balance.lock().unwrap();
    println!(
        "balance = {balance} after {} locked changes",
        2 * iterations
    );

    // 004: each function holds the lock for its whole loop.
    let x = Arc::new(Mutex::new(1_u64));
    let threads: Vec<_> = ["func1", "func2"]
        .into_iter()
        .map(|name| {
            let x = Arc::clone(&x);
            thread::spawn(move || {
                // `with mutex:` — the block is the guard's scope.
                let mut x = x.lock().unwrap();
                for _ in 0..iterations {
                    *x += 1;
                }
                println!("{name},x= {x}");
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    println!("x = {}", x.lock().unwrap());
}
