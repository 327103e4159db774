//! # Threads share one memory — 线程信息共享
//!
//! From `000_d2cd84fa43d5f45e.txt`, 多线程 (the first program) and 线程信息共享.
//!
//! **The Python.** Two threads run forever on one global `num`, adding 1 and taking 1 away
//! each second. The notes say that threads of one process share all their data, which is why
//! two of them working on the same value can read "dirty" data.
//!
//! **This lesson.** Two threads and `main` see the very same memory: each prints the address of
//! one shared notice board and writes to it, and `main` reads every entry afterwards. The notes'
//! `num` becomes a shared atomic that ends at 0, and a `static` counter shows that statics are
//! shared too. The forever-loop becomes three rounds.
//!
//! **Rust differences.** Sharing is the same; what Rust adds is proof that it is safe. A thread
//! may outlive the function that spawned it, so it cannot borrow that function's locals: shared
//! data goes behind an `Arc` (a reference-counted pointer, cloned once per thread), and anything
//! changed through it must be `Sync`: an atomic, or a `Mutex`. The notes' global
//! `num += 1` would be `static mut NUM: i32` in Rust, and every use of it needs `unsafe`
//! (error E0133), because two threads writing it at once is a data race, undefined behaviour,
//! not merely a wrong number; since edition 2024 even taking a reference to a `static mut` is
//! an error by default (the `static_mut_refs` lint). A plain `static` of an atomic type is fine.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin shared_data
//! ```
//!
//! **Output** (the address differs between runs, but it is one address in a run):
//! ```text
//! th1 sees the board at 0x5581e5a4bb10
//! th2 sees the board at 0x5581e5a4bb10
//! ...
//! main sees the board at 0x5581e5a4bb10
//! the board: ["th1 round 0", "th1 round 1", "th1 round 2", "th2 round 0", "th2 round 1", "th2 round 2"]
//! num = 0 after 6 rounds of += 1 and -= 1
//! ROUNDS (a static) = 6
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// Threads share memory through Arc, atomics and statics.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// Shared by every thread without an `Arc`: a `static` lives as long as the program.
static ROUNDS: AtomicUsize = AtomicUsize::new(0);

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let board = Arc::new(Mutex::new(Vec::new()));
    let num = Arc::new(AtomicI64::new(0));

    let workers: Vec<_> = ["th1", "th2"]
        .into_iter()
        .map(|name| {
            let (board, num) = (Arc::clone(&board), Arc::clone(&num));
            thread::spawn(move || {
                println!("{name} sees the board at {:p}", Arc::as_ptr(&board));
                for round in 0..3 {
                    num.fetch_add(1, Ordering::SeqCst);
                    num.fetch_sub(1, Ordering::SeqCst);
                    board.lock().unwrap().push(format!("{name} round {round}"));
                    ROUNDS.fetch_add(1, Ordering::SeqCst);
                    thread::sleep(tick);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }

    println!("main sees the board at {:p}", Arc::as_ptr(&board));
    let mut entries = board.lock().unwrap().clone();
    entries.sort();
    println!("the board: {entries:?}");
    let rounds = ROUNDS.load(Ordering::SeqCst);
    let num = num.load(Ordering::SeqCst);
    println!("num = {num} after {rounds} rounds of += 1 and -= 1");
    println!("ROUNDS (a static) = {rounds}");
}
