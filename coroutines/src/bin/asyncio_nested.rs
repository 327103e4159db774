//! # One coroutine awaits another — 协程 (cor1 awaits cor2)
//!
//! From `002_9dcbaec63db95917.txt`, 协程 (the `cor1` / `cor2` example).
//!
//! **The Python.** `cor1` prints `COR1 start`, awaits `cor2()`, which prints `COR2`, then prints
//! `COR1 end`. `loop.run_until_complete(cor1())` runs it on the event loop, then `loop.close()`.
//! `await` suspends `cor1` until `cor2` has finished and hands back `cor2`'s result.
//!
//! **This lesson.** The same two `async fn`s on [tokio]'s current-thread runtime: the lines come
//! out in the order `COR1 start`, `COR2`, `COR1 end`. `cor2` returns a value that `cor1` prints,
//! to show that `.await` evaluates to the awaited function's result. First, a call to `cor2()`
//! without `.await` shows that nothing runs: a future is lazy.
//!
//! **Rust differences.** Calling an `async fn` only builds a future; its body runs when the future
//! is polled, which `.await` (or `block_on`) does. Python also builds a coroutine object without
//! running it, and warns "coroutine was never awaited" when it is thrown away; Rust's compiler
//! warns about an unused future too. Awaiting another future runs it inside the same task: no
//! new task, no scheduling, much like calling a function.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin asyncio_nested
//! ```
//!
//! **Output:**
//! ```text
//! cor2() called without .await: nothing printed, the future was dropped unpolled
//! COR1 start
//! COR2
//! COR1 end (cor2 returned 2)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `tokio = { version = "1", features = ["rt"] }`, `sigpipe = "0.1"`.
//!
//! [tokio]: https://docs.rs/tokio

use clap::Parser;
use std::process::ExitCode;

/// cor1 awaits cor2 on tokio's current-thread runtime.
#[derive(Parser)]
struct Args {}

async fn cor1() {
    println!("COR1 start");
    let result = cor2().await;
    println!("COR1 end (cor2 returned {result})");
}

async fn cor2() -> u32 {
    println!("COR2");
    2
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    drop(cor2()); // builds the future and drops it: its body never runs
    println!("cor2() called without .await: nothing printed, the future was dropped unpolled");

    // asyncio.get_event_loop(); no timers or sockets needed here.
    let event_loop = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    event_loop.block_on(cor1()); // loop.run_until_complete(cor1())
    drop(event_loop); // loop.close()
    ExitCode::SUCCESS
}
