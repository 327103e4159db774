//! # Two tasks taking turns by yielding — 使用yield简单协程 / 使用yield实现多任务
//!
//! From `000_d2cd84fa43d5f45e.txt`, 协程 › 使用yield简单协程, and `004_599445cc4c65b15e.txt`,
//! 协程 › 使用yield实现多任务.
//!
//! **The Python.** `work1` and `work2` are generators that loop forever: print their name,
//! `yield`, sleep half a second. `main` creates both and calls `next` on one, then the other,
//! forever. Each `next` runs a generator up to its `yield`, so the two alternate on one thread
//! with no threads at all: the programmer decides who runs when.
//!
//! **This lesson.** The same two endless workers as [corosensei] coroutines, resumed in turn by a
//! loop in `main` for a bounded number of rounds (`--rounds`, default 5). The order is fixed by
//! that loop, not by a scheduler: `----work1---`, `----work2---`, and so on, strictly alternating.
//! When `main` is done with them it drops the coroutines, which unwinds their stacks (like
//! Python's `generator.close()`), so an endless body still ends cleanly.
//!
//! **Rust differences.** No GIL and no threads here: one thread, two stacks, and `resume` /
//! `suspend` switch between them. The workers sleep with `std::thread::sleep`, which stops the
//! whole thread, exactly as `time.sleep` stops the whole program in the notes: while one worker
//! sleeps, the other cannot run, so these coroutines take turns but never overlap their waits.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin yield_tasks
//! cargo run -p coroutines --bin yield_tasks -- --rounds 3
//! ```
//!
//! **See it:** `cargo run -p timeline -- yield_tasks` draws the run: the kernel sees only threads,
//! so the lesson marks each coroutine's turns with a `tracing` span, and when `TIMELINE_SPANS`
//! names a file it writes them there (one JSON line per entry and exit, written by the thread
//! that runs the coroutine: no thread is added); `timeline` draws each coroutine as a row. Without the variable nothing is written,
//! and a copy of the lesson can drop those lines.
//!
//! **Output** (always this order):
//! ```text
//! ----work1---
//! ----work2---
//! ----work1---
//! ----work2---
//! ...
//! 5 rounds, 10 turns, one thread
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `corosensei = "0.3"`,
//! `sigpipe = "0.1"`;
//! for the spans, `tracing = "0.1"` and `tracing-subscriber = { version = "0.3", features = ["json"] }`.
//!
//! [corosensei]: https://docs.rs/corosensei

use clap::Parser;
use corosensei::{Coroutine, Yielder};
use std::thread;
use std::time::Duration;
use std::{fs::File, sync::Mutex};
use tracing::info_span;
use tracing_subscriber::fmt::{format::FmtSpan, time::Uptime};

/// Two coroutines that main resumes in turn.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// How many times main resumes each worker (the notes loop forever).
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

/// The notes' `work1` / `work2`: print, yield, sleep half a second, forever.
fn work(name: &'static str, tick: Duration) -> Coroutine<(), (), ()> {
    Coroutine::new(move |yielder: &Yielder<(), ()>, ()| {
        loop {
            println!("----{name}---");
            yielder.suspend(());
            thread::sleep(tick / 2);
        }
    })
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let mut w1 = work("work1", tick);
    let mut w2 = work("work2", tick);
    // Each task as a row of its own under `cargo run -p timeline -- yield_tasks`, which names
    // the file in TIMELINE_SPANS; without it, the spans below cost next to nothing.
    if let Some(file) = std::env::var_os("TIMELINE_SPANS").and_then(|f| File::create(f).ok()) {
        let spans = tracing_subscriber::fmt()
            .json()
            .with_span_events(FmtSpan::ACTIVE);
        spans
            .with_timer(Uptime::default())
            .with_writer(Mutex::new(file))
            .init();
    }
    for _ in 0..args.rounds {
        info_span!("work1").in_scope(|| w1.resume(())); // next(w1)
        info_span!("work2").in_scope(|| w2.resume(())); // next(w2)
    }
    println!(
        "{} rounds, {} turns, one thread",
        args.rounds,
        2 * args.rounds
    );
}
