//! # The coroutine lessons — 协程
//!
//! `cargo run -p coroutines` prints the lessons of this member in reading order, one line each,
//! with the command that runs it. Each lesson is one file in `src/bin/`.

use clap::Parser;

/// Lists the coroutine lessons in reading order.
#[derive(Parser)]
struct Args {}

const LESSONS: &[(&str, &str)] = &[
    (
        "iterator",
        "可迭代的对象: impl Iterator for Students; Iterable is a trait bound",
    ),
    (
        "generator",
        "yield生成器: a corosensei coroutine yields Fibonacci numbers, returns \"ok\"",
    ),
    (
        "yield_tasks",
        "使用yield实现多任务: two coroutines resumed in turn, strictly alternating",
    ),
    (
        "greenlet",
        "greenlet: symmetric switch on corosensei, values both ways",
    ),
    (
        "gevent_spawn",
        "gevent: named may coroutines on one worker interleave their sleeps",
    ),
    (
        "gevent_blocking",
        "monkey.patch_all: a blocking sleep serialises coroutines, may's sleep does not",
    ),
    (
        "gevent_http",
        "gevent.joinall: three HTTP GETs at once on may, against a local server",
    ),
    (
        "asyncio_wait",
        "asyncio.wait: two async tasks of 3 and 2 ticks finish in 3 (tokio)",
    ),
    (
        "asyncio_nested",
        "await: cor1 awaits cor2; futures are lazy",
    ),
    (
        "async_stream",
        "异步生成器: an async generator is a Stream, lazy, read with while let ... next().await",
    ),
    (
        "asyncio_features",
        "协程的特性: delayed calls, TCP, a subprocess, a thread pool",
    ),
    (
        "switch_cost",
        "协程和线程比较: ns per switch, threads vs coroutines (time it with --release)",
    ),
];

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    println!("协程 — {} lessons, in reading order:\n", LESSONS.len());
    for (number, (name, what)) in LESSONS.iter().enumerate() {
        println!("{:>2}. {name:<17} {what}", number + 1);
        println!("    cargo run -p coroutines --bin {name}");
    }
    println!("\nEvery lesson that waits reads TICK_MS (milliseconds per tick, default 1000).");
}
