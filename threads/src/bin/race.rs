//! # Lost updates without a lock — 不加锁
//!
//! From `003_03d5943dc2f4a8db.txt`, 多线程 › 加锁 (不加锁的情况，最终结果不为0).
//!
//! **The Python.** `change(n)` does `balance += n` then `balance -= n`, so it should leave the
//! balance unchanged. Two threads call it a million times each (n = 4 and n = 8) and the final
//! balance is not 0 (the notes got 20): `+=` is a read followed by a write, and when the two
//! threads interleave between the read and the write, one write wipes out the other.
//!
//! **If your Python prints 0.** CPython 3.10 and later hand the interpreter to another thread
//! only at certain points (such as a call or the jump back to the top of a loop), never between
//! the read and the write of `balance += n`, so on those versions the notes' program usually
//! prints 0. The race is still there (nothing in the language promises that `+=` is atomic); the
//! interpreter just rarely lets it happen. The notes ran an older CPython. Rust threads really
//! run at the same time, on different cores, so here the race shows on almost every run.
//!
//! **This lesson.** The same race, made visible and counted. Each `+=` is split into its two
//! steps, a read and a write, so the threads can interleave between them. The write is a `swap`,
//! which also returns the value it replaced: if that is not what this thread read a moment
//! before, another thread wrote in between and this write has just erased its update. Each
//! thread counts those lost updates; the lesson prints the final balance and the count. A race
//! only shows when the threads really overlap, so if one run loses nothing (one thread finished
//! before the other started) the lesson tries again, up to `--max-runs` times.
//!
//! **Rust differences.** The Python program does not compile in Rust, on purpose. A global
//! `static mut BALANCE: i64` can only be touched in `unsafe` blocks, and if two threads did it at
//! once that would be a data race: undefined behaviour, where the compiler may assume it never
//! happens and the program may do anything, not just end with a wrong sum. Safe Rust only lets
//! threads share data that is `Sync`, such as an atomic. Atomics make each single read and each
//! single write indivisible, but a read followed by a separate write is still two steps: that
//! gap is the race, and it is all safe code.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin race
//! ```
//!
//! **Output** (the numbers change on every run; they are 0 only if the threads never overlap):
//! ```text
//! run 1: balance = -48 (should be 0), lost updates: 3617 of 4000000 writes
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::sync::atomic::{AtomicI64, Ordering::Relaxed};
use std::sync::{Arc, Barrier};
use std::thread;

/// Two threads update one balance with a separate read and write.
#[derive(Parser)]
struct Args {
    /// Calls of `change` per thread.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..=1_000_000_000))]
    iterations: u64,
    /// Runs to try before giving up on seeing a lost update.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    max_runs: u32,
}

/// `balance += n; balance -= n`, each as a read then a write. Returns how many of this
/// thread's writes erased another thread's write.
fn change(balance: &AtomicI64, n: i64) -> u64 {
    let mut lost = 0;
    for delta in [n, -n] {
        let read = balance.load(Relaxed);
        let replaced = balance.swap(read + delta, Relaxed);
        if replaced != read {
            lost += 1;
        }
    }
    lost
}

/// One run of the notes' program: two threads, `iterations` calls each.
fn run(iterations: u64) -> (i64, u64) {
    let balance = Arc::new(AtomicI64::new(0));
    // Both threads start together, so they overlap instead of one finishing first.
    let start_line = Arc::new(Barrier::new(2));
    let threads: Vec<_> = [4, 8]
        .into_iter()
        .map(|n| {
            let (balance, start_line) = (Arc::clone(&balance), Arc::clone(&start_line));
            thread::spawn(move || {
                start_line.wait();
                (0..iterations).map(|_| change(&balance, n)).sum::<u64>()
            })
        })
        .collect();
    let lost = threads.into_iter().map(|t| t.join().unwrap()).sum();
    (balance.load(Relaxed), lost)
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let writes = args.iterations * 2 * 2;
    for attempt in 1..=args.max_runs {
        let (balance, lost) = run(args.iterations);
        println!(
            "run {attempt}: balance = {balance} (should be 0), lost updates: {lost} of {writes} writes"
        );
        if lost > 0 {
            return;
        }
    }
    println!("no update was lost: the threads never overlapped on this machine");
}
