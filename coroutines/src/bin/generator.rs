//! # A generator that yields, then returns a value — yield生成器
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › yield生成器.
//!
//! **The Python.** `create_num(10)` is a generator: it yields the first ten Fibonacci numbers
//! and then `return 'ok'`. The caller calls `next` in a loop and prints each number; when the
//! generator is used up, `next` raises `StopIteration`, and the return value rides along in the
//! exception as `e.value`, which the caller prints before leaving the loop.
//!
//! **This lesson.** The same generator as a [corosensei] coroutine: a function running on its
//! own stack that can stop in the middle (`yielder.suspend(a)`) and be continued later
//! (`resume`). `resume` says which way it stopped: `CoroutineResult::Yield(number)` for another
//! number, `CoroutineResult::Return("ok")` when the function returned. That `Return` is Python's
//! `StopIteration.value`, as an ordinary value instead of an exception.
//!
//! **Rust differences.** Rust's own generators (`gen` blocks, `yield`) are not stable yet; for
//! a sequence alone you would write an `Iterator` (see the `iterator` lesson) or
//! `std::iter::successors`, but an iterator has no final return value. A corosensei coroutine has
//! three types: what `resume` sends in (here `()`, Python's `next`), what it yields (`u64`) and
//! what it returns (`&str`). Resuming a finished coroutine panics rather than raising
//! `StopIteration` again, so the loop stops at `Return`.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin generator
//! ```
//!
//! **Output:**
//! ```text
//! 0
//! 1
//! 1
//! 2
//! 3
//! 5
//! 8
//! 13
//! 21
//! 34
//! ok
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `corosensei = "0.3"`,
//! `sigpipe = "0.1"`.
//!
//! [corosensei]: https://docs.rs/corosensei

use clap::Parser;
use corosensei::{Coroutine, CoroutineResult, Yielder};

/// Fibonacci numbers from a coroutine, then its return value.
#[derive(Parser)]
struct Args {}

/// The notes' `create_num`: yields `all_num` Fibonacci numbers, then returns "ok".
fn create_num(all_num: u32) -> Coroutine<(), u64, &'static str> {
    Coroutine::new(move |yielder: &Yielder<(), u64>, ()| {
        let (mut a, mut b) = (0, 1);
        for _ in 0..all_num {
            yielder.suspend(a);
            (a, b) = (b, a + b);
        }
        "ok"
    })
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    let mut obj = create_num(10);
    loop {
        match obj.resume(()) {
            CoroutineResult::Yield(ret) => println!("{ret}"),
            CoroutineResult::Return(value) => {
                println!("{value}");
                break;
            }
        }
    }
}
