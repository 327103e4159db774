//! # A process pool, and why `apply` runs one task at a time — 进程池 Pool.apply
//!
//! From `004_599445cc4c65b15e.txt` (进程 › 进程池 Pool), `002_9dcbaec63db95917.txt` (进程池,
//! `pool_apply`) and `003_03d5943dc2f4a8db.txt` (多进程 › 进程池, the `Pool(2)` example).
//!
//! **The Python.** `po = Pool(3)`, then `po.apply(work, (i,))` for i from 0 to 9, where `work`
//! prints its number and pid, sleeps and prints that it finished. Then `po.close()`,
//! `print('进程开始启动')`, `po.join()`, `print('进程执行完毕')`. 002 does the same with a
//! `func_apply` that returns `i + 100`. The notes hope for three tasks at a time, but `apply`
//! waits for its task's result before it returns, so the loop runs the tasks one after the
//! other; by the time 进程开始启动 ("the processes start") is printed, every task has already
//! finished. In 003, `Pool(2)` gets three tasks through `apply_async`, which does not wait:
//! `music('花太香', 3)` and `movie('王牌特工', 4)` start at once, and `music('爱的故事上集', 2)`
//! starts only when a worker is free. 004's list of `Pool` methods also names a `Pool.start()`
//! to start the processes: there is no such method (a pool starts its workers when it is made;
//! `start()` belongs to `Process`), and the notes' own programs never call it.
//!
//! **This lesson.** Both. A pool of three worker processes and five one-tick tasks through
//! `apply`: the run takes five ticks, the sum, although three workers sit ready, and the workers
//! are reused, so their pids repeat. Then 003's `Pool(2)` with two ticks per loop, as in the
//! notes: the third task waits until `music('花太香', 3)` is done and then runs on the worker
//! that task freed, while the movie is still playing; the whole takes about 10 ticks (3 × 2,
//! then 2 × 2), not the 18 of one task after another.
//!
//! **Rust differences.** `procspawn::Pool::new(3)` starts three worker processes (each this
//! program run again; `procspawn::init()` first in `main` is where they take their tasks).
//! `pool.spawn(args, work)` is `apply_async(work, args)`: it returns a handle at once, and
//! `handle.join()` waits for the result, so `apply` is `spawn` then `join`. Tasks wait in one
//! queue shared by the workers, and whichever worker is free takes the next one: not round-robin.
//! `work` is a plain `fn`, and its argument and result cross through serde. procspawn's
//! `shutdown()` is `close()` plus `join()`: it waits for the queued tasks, then stops the workers.
//! The workers die with their parent (`PR_SET_PDEATHSIG`, asked for in a hook of
//! `procspawn::init`). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin pool_apply`
//!
//! **Output** (pids vary):
//! ```text
//! --- Pool(3).apply: one task at a time
//! work 0 启动, pid 4101
//! work 0 运行完成
//! apply(work, (0,)) returned 100
//! ...
//! 进程开始启动 (after close(): but apply already waited for every task)
//! 进程执行完毕
//! 5 tasks of 1 tick on 3 workers took 5.0 ticks: apply runs them one after the other
//! --- Pool(2).apply_async: the third task waits for a free worker
//! music('花太香', 3) starts in worker 4101
//! movie('王牌特工', 4) starts in worker 4102
//! 您现在正在听的音乐是花太香
//! ...
//! music('爱的故事上集', 2) starts in worker 4101
//! ...
//! 结束 after 10.0 ticks (one task after another: 18)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use procspawn::SpawnError;
use std::error::Error;
use std::process::{self, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// `Pool.apply` waits for each task; `apply_async` tasks wait for a free worker.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Worker processes in the first pool.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=64))]
    processes: u16,
    /// Tasks to run through `apply`, one tick each.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(..=100))]
    tasks: u32,
}

/// The task: the notes' `work(i)`, returning `i + 100` as 002's `func_apply` does.
fn work((i, tick_ms): (u32, u64)) -> u32 {
    println!("work {i} 启动, pid {}", process::id());
    thread::sleep(Duration::from_millis(tick_ms));
    println!("work {i} 运行完成");
    i + 100
}

/// 003's `music(name, loop)` and `movie(name, loop)`: one line every two ticks.
fn play((what, name, loops, tick_ms): (String, String, u32, u64)) {
    println!(
        "{what}('{name}', {loops}) starts in worker {}",
        process::id()
    );
    for _ in 0..loops {
        thread::sleep(Duration::from_millis(2 * tick_ms));
        match what.as_str() {
            "music" => println!("您现在正在听的音乐是{name}"),
            _ => println!("您现在正在看的电影是{name}"),
        }
    }
}

fn ticks_since(started: Instant, tick_ms: u64) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0 / tick_ms as f64
}

fn parent(args: &Args) -> Result<(), Box<dyn Error>> {
    println!("--- Pool({}).apply: one task at a time", args.processes);
    let pool = procspawn::Pool::new(args.processes.into())?;
    let started = Instant::now();
    for i in 0..args.tasks {
        // apply(work, (i,)): hand the task over, then wait for its result.
        let result = pool.spawn((i, args.tick_ms), work).join()?;
        println!("apply(work, ({i},)) returned {result}");
    }
    println!("进程开始启动 (after close(): but apply already waited for every task)");
    pool.shutdown(); // close() and join()
    println!("进程执行完毕");
    let ticks = ticks_since(started, args.tick_ms);
    let (tasks, processes) = (args.tasks, args.processes);
    println!(
        "{tasks} tasks of 1 tick on {processes} workers took {ticks:.1} ticks: \
         apply runs them one after the other"
    );

    println!("--- Pool(2).apply_async: the third task waits for a free worker");
    let pool = procspawn::Pool::new(2)?;
    let started = Instant::now();
    let tasks = [
        ("music", "花太香", 3),
        ("movie", "王牌特工", 4),
        ("music", "爱的故事上集", 2),
    ];
    let handles: Vec<_> = (tasks.iter())
        .map(|&(what, name, loops)| {
            let task = (what.to_string(), name.to_string(), loops, args.tick_ms);
            pool.spawn(task, play)
        })
        .collect();
    for handle in handles {
        handle.join()?;
    }
    pool.shutdown();
    let ticks = ticks_since(started, args.tick_ms);
    println!("结束 after {ticks:.1} ticks (one task after another: 18)");
    Ok(())
}

/// The hook procspawn runs first in every child: Linux kills the child when its parent dies,
/// and a closed stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
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
