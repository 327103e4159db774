//! # gevent: spawn, getcurrent, sleep, join — gevent
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › gevent (the version with `gevent.sleep(1)`).
//!
//! **The Python.** `gevent.spawn(f1, 5)` and `gevent.spawn(f1, 3)` create two greenlets;
//! `f1(n)` prints `gevent.getcurrent()` (the greenlet running it) and a counter `n` times,
//! sleeping one second with `gevent.sleep` each time. `g1.join()` and `g2.join()` wait for both.
//! gevent runs every greenlet on one thread: `gevent.sleep` hands that thread to the other
//! greenlet, so their lines interleave and the whole run takes about 5 seconds, not 5 + 3.
//! The notes close the section saying that every coroutine relies on a generator to pause and
//! keep its state. Not so: greenlet (under gevent) and may are *stackful*: each coroutine has a
//! stack of its own, and a switch saves registers and swaps stacks, with no generator anywhere.
//! Only stackless coroutines (Python's generators and `async def`, Rust's `async fn`) are turned
//! into an object that keeps its state between pauses. What the notes mean holds for both kinds:
//! a paused task resumes where it left off.
//!
//! **This lesson.** The same with [may], a Rust runtime of stackful coroutines, set to one worker
//! thread (`may::config().set_workers(1)`) as gevent has one thread. Each coroutine is named
//! after the call it runs (`f1(5)`, as gevent prints its greenlets) with
//! `coroutine::Builder::new().name(..)`, reads its own name back with
//! `coroutine::current().name()` (`getcurrent()`), sleeps with `may::coroutine::sleep`, and `main`
//! joins both handles. The lines interleave and the run takes about 5 ticks.
//!
//! **Rust differences.** may's `spawn` is an `unsafe fn`: a coroutine can be resumed on another
//! thread than the one it started on (with one worker, may's timer thread still resumes a
//! coroutine whose sleep has ended and runs it until it next yields), so a reference to a
//! `thread_local!` kept across a yield may point to another thread's value; and a coroutine
//! has a small fixed stack (32 KiB by default) instead of a growing one. The `go!` macro wraps
//! that `unsafe` call so it looks safe, which is the complaint of may issue #109
//! (<https://github.com/Xudong-Huang/may/issues/109>). This lesson stays sound because its
//! coroutines keep no thread-local across a yield (`println!` takes and releases the stdout lock
//! within one call), and they only print and sleep, a few KiB of stack at most.
//!
//! **Stack overflow.** It is caught, not left to corrupt memory. may's stacks come from the
//! `generator` crate (0.8), which leaves a no-access guard page below each one and installs a
//! `SIGSEGV` handler. A coroutine that runs into the guard page (Rust's stack probes make even a
//! large frame touch it first) makes the handler print `coroutine in thread '…' has overflowed
//! its stack` and switch back to the scheduler. The coroutine ends as if it had panicked: its
//! `join` returns `Err`, the destructors of its locals never run (what it held stays held), and
//! the rest of the program goes on; `--overflow` shows it. (may's README still says an overflow
//! is a segmentation fault: that was before the handler. Leaving a signal handler by switching
//! stacks is not something POSIX defines; Linux allows it.) C code called from a coroutine (the
//! system's name resolver, say) has no stack probes and can jump past one page, so such
//! coroutines get a bigger stack (see `gevent_http`).
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin gevent_spawn
//! cargo run -p coroutines --bin gevent_spawn -- --overflow   # then overflow a stack on purpose
//! ```
//!
//! **See it:** `cargo run -p timeline -- gevent_spawn` draws the run: the kernel sees only threads,
//! so the lesson marks each coroutine's turns with a `tracing` span, and when `TIMELINE_SPANS`
//! names a file it writes them there (one JSON line per entry and exit, written by the thread
//! that runs the coroutine: no thread is added); `timeline` draws each coroutine as a row. Without the variable nothing is written,
//! and a copy of the lesson can drop those lines.
//!
//! **Output** (within one tick the two coroutines may print in either order):
//! ```text
//! <coroutine f1(5)> 0
//! <coroutine f1(3)> 0
//! <coroutine f1(5)> 1
//! <coroutine f1(3)> 1
//! <coroutine f1(5)> 2
//! <coroutine f1(3)> 2
//! <coroutine f1(5)> 3
//! <coroutine f1(5)> 4
//! joined f1(5) and f1(3) after 5.0 ticks (5 and 3 ticks of sleep, overlapped)
//! ```
//! and with `--overflow`, on stderr `coroutine in thread '<unknown>' has overflowed its stack`,
//! then `deep: join returned Err: the overflow was caught, and main goes on`.
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `may = "0.3"`,
//! `sigpipe = "0.1"`;
//! for the spans, `tracing = "0.1"` and `tracing-subscriber = { version = "0.3", features = ["json"] }`.
//!
//! [may]: https://docs.rs/may

use clap::Parser;
use may::coroutine;
use std::time::{Duration, Instant};
use std::{fs::File, sync::Mutex};
use tracing::info_span;
use tracing_subscriber::fmt::{format::FmtSpan, time::Uptime};

/// Two named may coroutines on one worker thread, sleeping cooperatively.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Then run a coroutine that recurses far past its 32 KiB stack, and join it.
    #[arg(long)]
    overflow: bool,
}

/// The notes' `f1`: print who is running and a counter, sleep one tick, `n` times.
fn f1(n: u32, tick: Duration) {
    let me = coroutine::current();
    let name = me.name().unwrap_or("?");
    for i in 0..n {
        // A mark in this coroutine's own row under `cargo run -p timeline -- gevent_spawn`.
        info_span!("f1", coroutine = name).in_scope(|| println!("<coroutine {name}> {i}"));
        coroutine::sleep(tick); // gevent.sleep: lets the other coroutine run meanwhile
    }
}

/// Recursion `depth` frames deep, 256 bytes a frame: far more than a coroutine's stack.
fn deep(depth: u32) -> u32 {
    let frame = std::hint::black_box([depth as u8; 256]);
    if depth == 0 {
        return 0;
    }
    deep(depth - 1) + u32::from(frame[1]) // uses the frame after the call: not a loop
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    may::config().set_workers(1);
    // timeline names a file in TIMELINE_SPANS to draw the coroutines; otherwise nothing is written.
    if let Some(file) = std::env::var_os("TIMELINE_SPANS").and_then(|f| File::create(f).ok()) {
        let spans = tracing_subscriber::fmt()
            .json()
            .with_span_events(FmtSpan::ACTIVE);
        spans
            .with_timer(Uptime::default())
            .with_writer(Mutex::new(file))
            .init();
    }

    let start = Instant::now();
    let spawn = |n: u32| {
        let builder = coroutine::Builder::new().name(format!("f1({n})"));
        may::go!(builder, move || f1(n, tick)).expect("may could not start a coroutine")
    };
    let g1 = spawn(5);
    let g2 = spawn(3);
    g1.join().expect("f1(5) panicked");
    g2.join().expect("f1(3) panicked");
    println!(
        "joined f1(5) and f1(3) after {:.1} ticks (5 and 3 ticks of sleep, overlapped)",
        start.elapsed().as_secs_f64() / tick.as_secs_f64()
    );

    if args.overflow {
        match may::go!(|| deep(100_000)).join() {
            Ok(_) => println!("deep: finished (its stack was big enough)"),
            Err(_) => {
                println!("deep: join returned Err: the overflow was caught, and main goes on")
            }
        }
    }
}
