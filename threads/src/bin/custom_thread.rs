//! # A thread class of your own — 继承 threading.Thread
//!
//! From `001_dd92d349ebb64331.txt`, Thread类 › 继承threading.Thread 类自定义线程类.
//!
//! **The Python.** `MyThread` subclasses `threading.Thread`, keeps `n` in `__init__` and
//! overrides `run`. Its `run(n)` names its only parameter `n`, but the first parameter of a
//! method is the object itself, so the program prints the thread object
//! (`task:<MyThread(Thread-6, started ...)>`) instead of `task:t1`. That is a bug in the notes.
//!
//! **This lesson.** The same program, printing `task:t1` and `task:t2`. Two `MyThread`s run
//! at once (about 4 ticks, not 8), and `join` hands back the finished body with what it recorded.
//!
//! **Rust differences.** Rust has no inheritance. What the subclass overrides, the body of the
//! thread, becomes a trait (`Run`); what it inherits, `start` and `join`, becomes a small generic
//! wrapper around `thread::Builder`. The body owns its data (`self.n`), so the notes' mix-up of
//! `self` and `n` cannot happen: `self` is always spelled out. `start` consumes the not-started
//! thread and returns a started one, so "start twice" (a `RuntimeError` in Python) and "join
//! before start" are compile errors here, not run-time ones.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin custom_thread
//! ```
//!
//! **Output** (the two threads' lines interleave differently on every run):
//! ```text
//! task:t1
//! task:t2
//! 2s
//! 2s
//! ...
//! t1 counted down 3 times
//! t2 counted down 3 times
//! both took 4.0 ticks (one after the other: 8)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// A struct and a trait in place of a Thread subclass.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// What a `threading.Thread` subclass overrides: the thread's body.
trait Run: Send + 'static {
    fn run(&mut self);
}

/// What the subclass inherits: a name, `start` and `join`, for any body.
struct MyThread<R: Run> {
    name: String,
    body: R,
}

struct Started<R: Run> {
    handle: JoinHandle<R>,
}

impl<R: Run> MyThread<R> {
    fn new(name: &str, body: R) -> Self {
        MyThread {
            name: name.to_string(),
            body,
        }
    }

    fn start(self) -> Started<R> {
        let mut body = self.body;
        let handle = thread::Builder::new()
            .name(self.name)
            .spawn(move || {
                body.run();
                body
            })
            .expect("the OS refused a new thread");
        Started { handle }
    }
}

impl<R: Run> Started<R> {
    /// Waits for the thread and gives back its body, with whatever `run` left in it.
    fn join(self) -> R {
        self.handle.join().expect("the thread panicked")
    }
}

/// The notes' countdown, with `n` kept where `run` can reach it.
struct Countdown {
    n: String,
    tick: Duration,
    rounds_done: u32,
}

impl Run for Countdown {
    fn run(&mut self) {
        println!("task:{}", self.n);
        for left in ["2s", "1s", "0s"] {
            thread::sleep(self.tick);
            println!("{left}");
            self.rounds_done += 1;
        }
        thread::sleep(self.tick);
    }
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let countdown = |n: &str| Countdown {
        n: n.to_string(),
        tick,
        rounds_done: 0,
    };

    let start = Instant::now();
    let t1 = MyThread::new("t1", countdown("t1")).start();
    let t2 = MyThread::new("t2", countdown("t2")).start();
    for done in [t1.join(), t2.join()] {
        println!("{} counted down {} times", done.n, done.rounds_done);
    }
    let took = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("both took {took:.1} ticks (one after the other: 8)");
}
