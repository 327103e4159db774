//! # Two async functions on one event loop — 协程的改进 (asyncio.wait)
//!
//! From `000_d2cd84fa43d5f45e.txt`, 协程 › 协程的改进.
//!
//! **The Python.** Two `async def` functions: `test` prints `你好`, awaits `asyncio.sleep(3)`,
//! prints `世界`; `demo` prints `hello`, awaits `asyncio.sleep(2)`, prints `world`. The program
//! gets the event loop, runs `asyncio.wait([demo(), test()])` until it completes, and closes the
//! loop. Each `await` hands the loop to the other coroutine, so both sleeps run at once and the
//! program takes about 3 seconds, not 5. The notes call `asyncio.get_event_loop()` at the top
//! level, where no loop is set: since Python 3.12 that warns (`DeprecationWarning`), and 3.14
//! raises `RuntimeError` instead; today's way is `asyncio.run(main())`, which makes the loop,
//! runs `main` and closes the loop.
//!
//! **This lesson.** The same with Rust's own `async`/`await` on [tokio]'s current-thread runtime,
//! the closest thing to asyncio's loop: one thread runs every task. Building the runtime is
//! `get_event_loop()`, `block_on` is `run_until_complete`, dropping the runtime is `close()`.
//! `asyncio.wait` wraps each coroutine in a task; `tokio::spawn` does that, and awaiting both
//! handles waits for both. (Python 3.11 and later refuse bare coroutines in `asyncio.wait`;
//! there you wrap them yourself with `asyncio.create_task`, the exact twin of `tokio::spawn`.) It prints when each line happens: `world` at 2 ticks, `世界` at 3,
//! and the whole run takes about 3 ticks.
//!
//! **Rust differences.** An `async fn` returns a future, a state machine that does nothing until
//! it is polled; the language has `async`/`await` but no event loop, so a runtime such as tokio
//! provides one (and its timers, sockets, ...). Unlike greenlet or may coroutines, a future has
//! no stack of its own: everything it keeps across an `await` is stored inside the future, which
//! is why the compiler must know its size and why it can be so small. `tokio::spawn` asks for a
//! `Send` future even here, as a runtime may be multi-threaded; a `LocalSet` takes others.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin asyncio_wait
//! ```
//!
//! **Output** (`hello` and `你好` both come first, in either order):
//! ```text
//! hello at 0.0 ticks
//! 你好 at 0.0 ticks
//! world at 2.0 ticks
//! 世界 at 3.0 ticks
//! both done after 3.0 ticks (3 and 2 ticks of sleep, overlapped)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `tokio = { version = "1", features = ["rt", "time"] }`, `sigpipe = "0.1"`.
//!
//! [tokio]: https://docs.rs/tokio

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::{Instant, sleep};

/// asyncio.wait of two sleeping coroutines, on tokio's current-thread runtime.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

fn ticks_since(start: Instant, tick: Duration) -> f64 {
    start.elapsed().as_secs_f64() / tick.as_secs_f64()
}

async fn test(start: Instant, tick: Duration) {
    println!("你好 at {:.1} ticks", ticks_since(start, tick));
    sleep(3 * tick).await;
    println!("世界 at {:.1} ticks", ticks_since(start, tick));
}

async fn demo(start: Instant, tick: Duration) {
    println!("hello at {:.1} ticks", ticks_since(start, tick));
    sleep(2 * tick).await;
    println!("world at {:.1} ticks", ticks_since(start, tick));
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    // asyncio.get_event_loop(): one thread, with timers.
    let event_loop = match tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // loop.run_until_complete(asyncio.wait([demo(), test()]))
    event_loop.block_on(async {
        let start = Instant::now();
        let tasks = [
            tokio::spawn(demo(start, tick)),
            tokio::spawn(test(start, tick)),
        ];
        for task in tasks {
            task.await.expect("a task panicked");
        }
        println!(
            "both done after {:.1} ticks (3 and 2 ticks of sleep, overlapped)",
            ticks_since(start, tick)
        );
    });
    drop(event_loop); // loop.close()
    ExitCode::SUCCESS
}
