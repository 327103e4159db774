//! # A process pool's options: processes, initializer, maxtasksperchild, terminate — 进程池
//!
//! From `002_9dcbaec63db95917.txt`, 进程池 (Pool构造方法的几个参数, Pool类的几个方法).
//!
//! **The Python.** The notes list `Pool`'s parameters and methods: `processes` (default
//! `os.cpu_count()`), `initializer(*initargs)` run by each worker when it starts,
//! `maxtasksperchild` (a worker exits after that many tasks and a new one takes its place, to
//! free what it held), `apply_async(..., callback, error_callback)`, `close()`, `terminate()`
//! (stop the workers now, finished or not) and `join()` (only after `close` or `terminate`).
//! One line has it backwards: the notes say each worker calls `initializer(*initargs)` at its
//! start *if initializer is None*; it is called when it is *not* None (None means no call).
//!
//! **This lesson.** Each option at work:
//! 1. `Pool()` with no `processes` starts one worker per CPU.
//! 2. `Pool(2, initializer, ("你好",))`: every worker runs the initializer once, when it starts;
//!    each result goes to a callback, and a division by zero goes to the error callback while
//!    the other tasks carry on; `close()` and `join()` wait for them all.
//! 3. `maxtasksperchild=2`: a worker exits after two tasks and a new process, with a new pid,
//!    takes the next ones.
//! 4. The worker running a long task is killed (`kill -9`): that task fails with an error, and
//!    every other task completes. (Python's `Pool` replaces the worker too, but the lost task's
//!    `get()` waits forever.)
//! 5. `terminate()` after one tick of four 100-tick tasks: the workers are killed and reaped at
//!    once and the unfinished tasks report an error.
//!
//! **Rust differences.** `procspawn::Pool` has some of these options and not others; where it
//! has none, this is the usual way to get it:
//! - `processes`: `Pool::new(n)` has no default; `std::thread::available_parallelism()` counts
//!   the CPUs this process may use: its CPU affinity and, on Linux, a cgroup CPU quota (a
//!   container limited to 1.5 CPUs gets 1). Python's `Pool` uses `os.process_cpu_count()` from
//!   3.13 on, which counts the affinity only (before, `os.cpu_count()`: every CPU of the
//!   machine), so under a quota Python starts more workers than this.
//! - `initializer`: none in procspawn. Every child procspawn starts runs the `init` hook first
//!   (`ProcConfig::config_callback`, the hook that also sets `PR_SET_PDEATHSIG`), and
//!   `Pool::builder(2).env(...)` gives the pool's workers an environment variable: the hook runs
//!   the initializer once in each worker that has it, with its value as `initargs`.
//! - callbacks: none; the parent calls them itself on each handle's result (`join`). A task
//!   returns a `Result`, and an `Err` goes to `error_callback`.
//! - `maxtasksperchild`: none; a pool worker lives until the pool ends. A fresh process per few
//!   tasks is `procspawn::spawn` of a function that runs that many tasks and returns, here two
//!   at a time, like two workers.
//! - a killed worker: procspawn's pool starts a new one and fails only the task it was running.
//!   The kill goes through the pool's record: `handle.kill()` kills the worker procspawn has
//!   recorded for that task, a child it has not reaped yet, so its pid cannot have been reused.
//! - `close()` + `join()` is `shutdown()`; `terminate()` is `kill()`, which also reaps.
//!
//! Workers die with their parent (`PR_SET_PDEATHSIG`; Linux sends it when the *thread* that
//! started the child ends, and procspawn starts replacements on its pool's own threads). A
//! function cannot cross to another process: a task is a plain `fn`, and its argument and result
//! cross through serde. Linux only.
//!
//! **Run it:** `cargo run -p processes --bin pool_options`
//!
//! **Output** (pids vary, and so do the order of lines and the CPU count):
//! ```text
//! --- Pool(): processes=None
//! Pool() started 2 worker processes: available_parallelism() = 2
//! --- Pool(2, initializer, ("你好",)), callback, error_callback
//! initializer("你好") in worker 4104
//! initializer("你好") in worker 4105
//! callback: square(1) = 1 from worker 4104
//! ...
//! error_callback: ZeroDivisionError: division by zero (in worker 4105)
//! --- maxtasksperchild=2
//! square(1) = 1 in worker 4106
//! square(2) = 4 in worker 4106
//! ...
//! --- kill -9 the worker of a long task
//! kill -9 4111 (it runs sleep(100 ticks))
//! error_callback: the task on worker 4111 failed: process spawn error: ...
//! the other tasks: [1, 4, 9, 16]
//! --- terminate()
//! terminate() returned after 0.0 ticks; close() and join() would have waited 199 more
//! 4 of 4 tasks ended with an error
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use procspawn::{JoinHandle, Pool, SpawnError};
use std::collections::BTreeSet;
use std::error::Error;
use std::fs;
use std::io::{self, Write};
use std::process::{self, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Pool parameters at work: processes, initializer, maxtasksperchild, callbacks, terminate.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
}

/// Set for a pool's workers only: the initializer's argument.
const INITARGS: &str = "POOL_INITARGS";

fn initializer(arg: &str) {
    // It runs before the worker has connected to the pool, and procspawn waits for that without
    // a timeout: a worker must not die here, so a failed print (a closed stdout) is ignored.
    let _ = writeln!(
        io::stdout(),
        "initializer(\"{arg}\") in worker {}",
        process::id()
    );
}

/// The tasks. Each returns its value and the worker's pid, or an error.
fn square(x: i64) -> Result<(i64, u32), String> {
    Ok((x * x, process::id()))
}

fn divide((a, b): (i64, i64)) -> Result<(i64, u32), String> {
    let pid = process::id();
    let quotient = a.checked_div(b).ok_or(format!(
        "ZeroDivisionError: division by zero (in worker {pid})"
    ))?;
    Ok((quotient, pid))
}

fn sleep((ticks, tick_ms): (u32, u64)) {
    thread::sleep(Duration::from_millis(tick_ms) * ticks);
}

/// A worker that lives for `maxtasksperchild` tasks: it runs them, then returns and exits.
fn squares_then_exit(xs: Vec<i64>) {
    for x in xs {
        println!("square({x}) = {} in worker {}", x * x, process::id());
    }
}

type Task = JoinHandle<Result<(i64, u32), String>>;

/// What `apply_async(..., callback, error_callback)` does once the result is back.
fn callbacks(what: &str, task: Task) -> Result<(), Box<dyn Error>> {
    match task.join()? {
        Ok((value, pid)) => println!("callback: {what} = {value} from worker {pid}"),
        Err(error) => println!("error_callback: {error}"),
    }
    Ok(())
}

fn parent(tick_ms: u64) -> Result<(), Box<dyn Error>> {
    println!("--- Pool(): processes=None");
    let cpus = thread::available_parallelism()?.get();
    let pool = Pool::new(cpus)?;
    // The workers are children of the thread that made the pool, this main thread: count them.
    let me = process::id();
    let workers = fs::read_to_string(format!("/proc/{me}/task/{me}/children"))?;
    let started = workers.split_whitespace().count();
    println!("Pool() started {started} worker processes: available_parallelism() = {cpus}");
    pool.shutdown();

    println!("--- Pool(2, initializer, (\"你好\",)), callback, error_callback");
    let pool = Pool::builder(2).env(INITARGS, "你好").build()?;
    let tasks: Vec<(String, Task)> = (1..=6)
        .map(|x| (format!("square({x})"), pool.spawn(x, square)))
        .collect();
    let division = pool.spawn((1, 0), divide);
    for (what, task) in tasks {
        callbacks(&what, task)?;
    }
    callbacks("1 / 0", division)?;
    pool.shutdown(); // close() and join()

    println!("--- maxtasksperchild=2");
    for wave in [[1, 2], [3, 4], [5, 6]].chunks(2) {
        let workers: Vec<_> = wave
            .iter()
            .map(|xs| procspawn::spawn(xs.to_vec(), squares_then_exit))
            .collect();
        for worker in workers {
            worker.join()?;
        }
    }

    println!("--- kill -9 the worker of a long task");
    let pool = Pool::new(2)?;
    let mut stuck = pool.spawn((100, tick_ms), sleep);
    let others: Vec<Task> = (1..=4).map(|x| pool.spawn(x, square)).collect();
    let pid = loop {
        match stuck.pid() {
            Some(pid) => break pid,
            None => thread::sleep(Duration::from_millis(1)), // until a worker has the task
        }
    };
    println!("kill -9 {pid} (it runs sleep(100 ticks))");
    stuck.kill()?;
    let e = stuck.join().err().ok_or("the killed task returned")?;
    println!("error_callback: the task on worker {pid} failed: {e}");
    let mut values = Vec::new();
    let mut pids = BTreeSet::new();
    for other in others {
        let (value, pid) = other.join()??;
        values.push(value);
        pids.insert(pid);
    }
    println!("the other tasks: {values:?} on workers {pids:?}");
    pool.shutdown();

    println!("--- terminate()");
    let pool = Pool::new(2)?;
    let tasks: Vec<_> = (0..4).map(|_| pool.spawn((100, tick_ms), sleep)).collect();
    thread::sleep(Duration::from_millis(tick_ms));
    let started = Instant::now();
    pool.kill(); // terminate(): kills and reaps the workers
    drop(pool); // and drops the tasks still queued
    let ticks = started.elapsed().as_secs_f64() * 1000.0 / tick_ms as f64;
    println!(
        "terminate() returned after {ticks:.1} ticks; close() and join() would have waited 199 more"
    );
    let failed = tasks
        .into_iter()
        .map(|task| task.join())
        .filter(Result::is_err)
        .count();
    println!("{failed} of 4 tasks ended with an error");
    Ok(())
}

/// Runs first in every child: Linux kills it when its parent dies, a closed stdout ends it
/// quietly, as in the parent, and a pool's worker runs the initializer.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
    if let Ok(arg) = std::env::var(INITARGS) {
        initializer(&arg);
    }
    sigpipe::reset();
}

fn main() -> ExitCode {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    procspawn::ProcConfig::new().config_callback(child).init();
    sigpipe::reset();
    if let Err(e) = parent(Args::parse().tick_ms) {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
