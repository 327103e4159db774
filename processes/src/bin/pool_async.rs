//! # `apply_async`, callbacks and `map` on a process pool — 进程池 callback
//!
//! From `001_dd92d349ebb64331.txt` (the `Pool(5)` with `callback=Bar`) and
//! `003_03d5943dc2f4a8db.txt` (多进程 › 进程池, `Pool(3)`).
//!
//! **The Python.** 001: `pool = Pool(5)`, then `pool.apply_async(func=Foo, args=(i,),
//! callback=Bar)` for i from 0 to 9; `Foo` sleeps two seconds and returns `i + 100`, `Bar` prints
//! `-->exec done:` and the result. `end` is printed first, because `apply_async` returns at once;
//! then `close()` and `join()`. A comment notes that the callback runs in the parent process.
//! 003: `Pool(3)` and five tasks that print `run work (n) ,work id <pid>`, so you can see the
//! same three pids come back.
//!
//! **This lesson.** A pool of five worker processes runs ten tasks of one tick through
//! `apply_async` with a callback: `end` comes first, the ten tasks take two ticks, not ten, and
//! only five pids ever appear. Then `map` runs ten more on the same workers and returns the
//! results in order. With `--kill-worker`, a last task's worker is killed (`kill -9`) while it
//! runs: that task's handle reports an error, and the pool starts a new worker for the next one,
//! even when it had only one (`--processes 1`).
//!
//! **Rust differences.** `procspawn::Pool::new(5)` starts the workers (each this program run
//! again; `procspawn::init()` first in `main` is where they take their tasks), and
//! `pool.spawn(args, foo)` hands a task to whichever worker is free and returns a handle at once:
//! `apply_async` without the callback. `foo` is a plain `fn`; its argument and result cross
//! through serde. procspawn has no callbacks, so `apply_async` here gives each task a thread of
//! the parent that waits for the result (`join`) and then runs the callback: the callback runs
//! in the parent, as in Python (which runs them all on one result thread). `get` waits for that
//! thread. `map` is a `spawn` per item, then a `join` of each handle in order. procspawn replaces
//! a worker that died and fails only the task it was running; `handle.kill()` kills the worker
//! procspawn has recorded for that task (a child not reaped yet, so not a reused pid). Workers
//! die with their parent (`PR_SET_PDEATHSIG`, asked for in a hook of `procspawn::init`). Linux
//! only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pool_async
//! cargo run -p processes --bin pool_async -- --processes 1 --kill-worker
//! ```
//!
//! **Output** (pids vary, and so does the order within each round of five):
//! ```text
//! Parent process 4100. Pool(5)
//! apply_async returned 10 handles at once, one per task
//! end
//! run work (0) ,work id 4101
//! run work (1) ,work id 4102
//! ...
//! -->exec done: 100 (callback in the parent, pid 4100)
//! ...
//! get() on each handle: [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]
//! ...
//! map(foo, 0..10): [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]
//! 20 tasks of 1 tick on 5 workers took 4.0 ticks
//! close() and join() done
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use nix::sys::signal::Signal;
use procspawn::{Pool, SpawnError};
use std::error::Error;
use std::process::{self, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// `apply_async` with callbacks, and `map`, on a pool of worker processes.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Worker processes in the pool.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=64))]
    processes: u16,
    /// At the end, kill -9 the worker of a running task.
    #[arg(long)]
    kill_worker: bool,
}

/// The task: the notes' `Foo(i)`, `ticks` ticks long.
fn foo((i, ticks, tick_ms): (u32, u32, u64)) -> u32 {
    println!("run work ({i}) ,work id {}", process::id());
    thread::sleep(Duration::from_millis(tick_ms) * ticks);
    i + 100
}

/// The callback: the notes' `Bar(arg)`.
fn bar(result: u32) {
    println!(
        "-->exec done: {result} (callback in the parent, pid {})",
        process::id()
    );
}

/// `apply_async(foo, (i,), callback)`: the result, once it is back, goes to `callback` on a
/// thread of the parent; `join` on the returned handle is Python's `get()`.
fn apply_async(pool: &Pool, i: u32, tick_ms: u64, callback: fn(u32)) -> AsyncResult {
    let task = pool.spawn((i, 1, tick_ms), foo);
    thread::spawn(move || task.join().inspect(|&result| callback(result)))
}

type AsyncResult = thread::JoinHandle<Result<u32, SpawnError>>;

fn parent(args: &Args) -> Result<(), Box<dyn Error>> {
    println!("Parent process {}. Pool({})", process::id(), args.processes);
    let started = Instant::now();
    let pool = Pool::new(args.processes.into())?;

    let handles: Vec<AsyncResult> = (0..10)
        .map(|i| apply_async(&pool, i, args.tick_ms, bar))
        .collect();
    println!(
        "apply_async returned {} handles at once, one per task",
        handles.len()
    );
    println!("end");
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.join().map_err(|_| "a callback panicked")??);
    }
    println!("get() on each handle: {results:?}");

    let handles: Vec<_> = (0..10)
        .map(|i| pool.spawn((i, 1, args.tick_ms), foo))
        .collect();
    let results: Result<Vec<u32>, SpawnError> = handles.into_iter().map(|h| h.join()).collect();
    println!("map(foo, 0..10): {:?}", results?);
    let ticks = started.elapsed().as_secs_f64() * 1000.0 / args.tick_ms as f64;
    println!(
        "20 tasks of 1 tick on {} workers took {ticks:.1} ticks",
        args.processes
    );

    if args.kill_worker {
        println!("--- kill -9 the worker of a task 100 ticks long");
        let mut task = pool.spawn((20, 100, args.tick_ms), foo);
        // The pool names the worker once a worker has taken the task.
        let pid = loop {
            match task.pid() {
                Some(pid) => break pid,
                None => thread::sleep(Duration::from_millis(1)),
            }
        };
        println!("kill -9 {pid}");
        task.kill()?; // through the pool's record of the worker that runs this task
        match task.join() {
            Ok(result) => println!("foo(20) returned {result}: the kill came too late"),
            Err(e) => println!("foo(20).get() on the killed worker {pid}: error: {e}"),
        }
        let result = pool.spawn((21, 1, args.tick_ms), foo).join()?;
        println!("foo(21) on the worker that replaced it returned {result}");
    }
    pool.shutdown(); // close() and join()
    println!("close() and join() done");
    Ok(())
}

/// The hook procspawn runs first in every child: Linux kills the child when its parent dies,
/// and a closed stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    sigpipe::reset();
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
}

fn main() -> ExitCode {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    procspawn::ProcConfig::new().config_callback(child).init();
    sigpipe::reset();
    if let Err(e) = parent(&Args::parse()) {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
