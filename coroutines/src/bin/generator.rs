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
//! `StopIteration.value`, as an ordinary value instead of an exception: `ok` is printed from
//! that `Return` and nowhere else. With `--close-after N` the caller stops after N numbers and
//! drops the coroutine, Python's `obj.close()`: the coroutine's stack is unwound from its
//! `suspend`, as `GeneratorExit` is raised at the `yield`, a guard inside it says so, and there
//! is no return value to print, because the function never got to `return`.
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
//! cargo run -p coroutines --bin generator -- --close-after 3
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
//! and with `--close-after 3`:
//! ```text
//! 0
//! 1
//! 1
//! create_num: closed at its yield and unwound; it never reached return 'ok'
//! close(): the generator is closed, with no return value
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
struct Args {
    /// Stop after this many numbers and drop the coroutine (Python's `obj.close()`).
    #[arg(long)]
    close_after: Option<u32>,
}

/// Lives on the coroutine's stack; says so if that stack is unwound before `return`.
struct Unfinished(bool);

impl Drop for Unfinished {
    fn drop(&mut self) {
        if self.0 {
            println!("create_num: closed at its yield and unwound; it never reached return 'ok'");
        }
    }
}

/// The notes' `create_num`: yields `all_num` Fibonacci numbers, then returns "ok".
fn create_num(all_num: u32) -> Coroutine<(), u64, &'static str> {
    Coroutine::new(move |yielder: &Yielder<(), u64>, ()| {
        let mut unfinished = Unfinished(true);
        let (mut a, mut b) = (0, 1);
        for _ in 0..all_num {
            yielder.suspend(a);
            (a, b) = (b, a + b);
        }
        unfinished.0 = false;
        "ok"
    })
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let close_after = Args::parse().close_after;
    let mut obj = create_num(10);
    for taken in 0.. {
        if close_after == Some(taken) {
            drop(obj); // obj.close()
            println!("close(): the generator is closed, with no return value");
            break;
        }
        match obj.resume(()) {
            CoroutineResult::Yield(ret) => println!("{ret}"),
            // StopIteration.value: the only place "ok" comes from.
            CoroutineResult::Return(value) => {
                println!("{value}");
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `resume` gives back: a `Yield` per number, then the `Return` that carries "ok".
    #[test]
    fn create_num_yields_then_returns_ok() {
        let mut obj = create_num(3);
        let mut results = Vec::new();
        while !obj.done() {
            results.push(obj.resume(()));
        }
        use CoroutineResult::{Return, Yield};
        assert_eq!(results, [Yield(0), Yield(1), Yield(1), Return("ok")]);
    }
}
