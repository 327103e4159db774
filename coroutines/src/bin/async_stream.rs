//! # An async generator is a Stream — 协程的改进 (异步生成器)
//!
//! From `000_d2cd84fa43d5f45e.txt`, 协程 › 协程的改进.
//!
//! **The Python.** The notes say, without code, that `async` turns a function into a coroutine
//! and a generator function into an *async generator*. That is a function with both `await` and
//! `yield`: say it awaits `asyncio.sleep(1)` before each `yield n`. The caller reads it with
//! `async for x in ticker():`, which awaits each item in turn. It is lazy: its body runs only
//! while the caller waits for the next item, up to the next `yield`, and stops there.
//!
//! **This lesson.** `ticker` is that async generator, written with the `async-stream` crate's
//! `stream!` macro, whose body may `yield` and `.await`; it sleeps a tick before each item. The
//! caller makes it, waits a tick to show that nothing has run, then reads it with `while let
//! Some(n) = numbers.next().await`, which is `async for`, and spends a tick on each item. Every
//! step prints a line, and they interleave strictly: the caller asks for item n, only then does
//! the producer run up to `yield n`, then the caller gets n. The producer never runs ahead, even
//! while the caller is busy. With `--stop-after K` the caller leaves the loop after K items and
//! drops the stream: the producer never gets past `yield K`.
//!
//! **Rust differences.** Rust has no async generators in the language yet; an asynchronous
//! sequence is a type that implements the `Stream` trait (`futures-core`): `poll_next` returns
//! `Pending` (not yet), `Ready(Some(item))` or `Ready(None)` (the end, Python's
//! `StopAsyncIteration`). The `stream!` macro writes that state machine from a block that looks
//! like a generator. `next()` comes from `tokio_stream::StreamExt` (the `futures` crate has the
//! same); it needs the stream pinned (`pin!`), because the state machine may hold references into
//! itself across an `.await`. Dropping a stream is `aclose()`: the body stops at its `yield` and
//! its values are dropped. All of it runs on one thread, tokio's current-thread runtime.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin async_stream
//! cargo run -p coroutines --bin async_stream -- --stop-after 2
//! ```
//!
//! **Output** (always in this order):
//! ```text
//! consumer: made ticker(4); a tick later nothing of it has run
//! consumer: asks for item 1
//! producer: starts
//! producer: yield 1
//! consumer: got 1
//! consumer: asks for item 2
//! producer: yield 2
//! consumer: got 2
//! ...
//! consumer: asks for item 5
//! producer: no more items
//! consumer: the stream ended (None), async for is done
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `tokio = { version = "1", features = ["rt", "time"] }`, `async-stream = "0.3"`,
//! `tokio-stream = { version = "0.1", default-features = false }`, `sigpipe = "0.1"`.

use async_stream::stream;
use clap::Parser;
use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;
use tokio_stream::{Stream, StreamExt};

/// An async generator as a Stream, read with `while let Some(x) = s.next().await`.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// How many items the generator yields.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=100))]
    items: u32,
    /// Leave the loop after this many items, dropping the stream.
    #[arg(long)]
    stop_after: Option<u32>,
}

/// `async def ticker(count): for n in 1..=count: await asyncio.sleep(1); yield n`
fn ticker(count: u32, tick: Duration) -> impl Stream<Item = u32> {
    stream! {
        println!("producer: starts");
        for n in 1..=count {
            tokio::time::sleep(tick).await;
            println!("producer: yield {n}");
            yield n;
        }
        println!("producer: no more items");
    }
}

async fn consume(args: Args) {
    let tick = Duration::from_millis(args.tick_ms);
    let mut numbers = pin!(ticker(args.items, tick));
    tokio::time::sleep(tick).await;
    println!(
        "consumer: made ticker({}); a tick later nothing of it has run",
        args.items
    );
    let mut asked = 1;
    // `async for n in ticker(4):`
    while let Some(n) = {
        println!("consumer: asks for item {asked}");
        numbers.next().await
    } {
        println!("consumer: got {n}");
        if args.stop_after == Some(n) {
            println!("consumer: break after {n}; the stream is dropped where it stopped");
            return;
        }
        tokio::time::sleep(tick).await; // busy with n: the producer does not run meanwhile
        asked += 1;
    }
    println!("consumer: the stream ended (None), async for is done");
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build();
    match runtime {
        Ok(runtime) => runtime.block_on(consume(args)),
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
