//! # A process pool, and why `apply` runs one task at a time — 进程池 Pool.apply
//!
//! From `004_599445cc4c65b15e.txt` (进程 › 进程池 Pool) and `002_9dcbaec63db95917.txt` (进程池,
//! `pool_apply`).
//!
//! **The Python.** `po = Pool(3)`, then `po.apply(work, (i,))` for i from 0 to 9, where `work`
//! prints its number and pid, sleeps a random time and prints how long it took. Then
//! `po.close()`, `print('进程开始启动')`, `po.join()`, `print('进程执行完毕')`. 002 does the same
//! with `Pool(5)` and a `func_apply` that returns `i + 100`. The notes hope for three tasks at a
//! time, but `apply` waits for its task's result before it returns, so the loop runs the tasks
//! one after the other; by the time 进程开始启动 ("the processes start") is printed, every task
//! has already finished. The notes' homework copier makes the same mistake. `apply_async` (see
//! `pool_async`) is the call that does not wait.
//!
//! **This lesson.** A pool of three worker processes and five tasks of one tick each through
//! `apply`: the run takes five ticks, the sum, although three workers sit ready. The workers are
//! started once and reused, so their pids repeat.
//!
//! **Rust differences.** There is no `multiprocessing.Pool`, so this file builds the smallest
//! one that shows `apply`: three workers, each this program run again with a hidden `--child`
//! argument, each talking to the parent over a Unix socket pair that is its standard input
//! (standard output stays shared, so the workers print directly). A task goes to a worker as a
//! JSON line (serde) and the result comes back the same way; a function cannot be sent to
//! another process, so the worker knows `work` and receives only its argument. `close` consumes
//! the pool and returns a closed one, and only a closed pool has `join`: Python's rule "call
//! `close()` before `join()`" is checked by the compiler. `pool_async` adds `apply_async` and
//! callbacks; `pool_options` adds the rest. Guards kill and reap the workers if the parent
//! fails, and each worker dies with its parent (`PR_SET_PDEATHSIG`). Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pool_apply
//! ```
//!
//! **Output** (pids vary):
//! ```text
//! Pool(3): worker processes 4101, 4102, 4103
//! work 0 启动, pid 4101
//! work 0 运行完成
//! apply(work, (0,)) returned 100
//! work 1 启动, pid 4102
//! ...
//! apply(work, (4,)) returned 104
//! 进程开始启动 (after close(): but apply already waited for every task)
//! 进程执行完毕
//! 5 tasks of 1 tick on 3 workers took 5.0 ticks: apply runs them one after the other
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde_json = "1"`, `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{self, Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// `Pool.apply` waits for each task: a pool of three runs them one by one.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Worker processes in the pool.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,
    /// Tasks to run, one tick each.
    #[arg(long, default_value_t = 5)]
    tasks: u32,
    /// Internal: run as a worker process.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The task: the notes' `work(i)`, returning `i + 100` as 002's `func_apply` does.
fn work(i: u32, tick: Duration) -> u32 {
    println!("work {i} 启动, pid {}", process::id());
    thread::sleep(tick);
    println!("work {i} 运行完成");
    i + 100
}

/// A worker process: runs `work` for every argument that arrives, until its input ends.
fn worker(tick: Duration) -> io::Result<()> {
    let mut results = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    for line in BufReader::new(results.try_clone()?).lines() {
        let i = serde_json::from_str(&line?)?;
        let result = serde_json::to_string(&work(i, tick))?;
        results.write_all(format!("{result}\n").as_bytes())?;
    }
    Ok(())
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "worker {} failed: {status}",
                self.0.id()
            )))
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

/// The parent's side of one worker.
struct Worker {
    process: ChildGuard,
    tasks: UnixStream,
    results: BufReader<UnixStream>,
}

impl Worker {
    fn start(tick_ms: u64) -> io::Result<Worker> {
        let (ours, theirs) = UnixStream::pair()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["--child", "--parent", &process::id().to_string()])
            .args(["--tick-ms", &tick_ms.to_string()])
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()?;
        Ok(Worker {
            process: ChildGuard(child),
            results: BufReader::new(ours.try_clone()?),
            tasks: ours,
        })
    }
}

/// Python's `multiprocessing.Pool`, with only `apply`.
struct Pool {
    workers: Vec<Worker>,
    next: usize,
}

/// A pool after `close`: it takes no more tasks and can be joined.
struct ClosedPool(Vec<ChildGuard>);

impl Pool {
    fn new(processes: u32, tick_ms: u64) -> io::Result<Pool> {
        let workers = (0..processes)
            .map(|_| Worker::start(tick_ms))
            .collect::<io::Result<_>>()?;
        Ok(Pool { workers, next: 0 })
    }

    fn pids(&self) -> Vec<String> {
        self.workers
            .iter()
            .map(|w| w.process.0.id().to_string())
            .collect()
    }

    /// Python's `pool.apply(work, (i,))`: hands the task to the next worker and waits for its
    /// result. Nothing else runs meanwhile, however many workers the pool has.
    fn apply(&mut self, i: u32) -> io::Result<u32> {
        let turn = self.next;
        self.next = (turn + 1) % self.workers.len();
        let worker = &mut self.workers[turn];
        worker.tasks.write_all(format!("{i}\n").as_bytes())?;
        let mut line = String::new();
        if worker.results.read_line(&mut line)? == 0 {
            let pid = worker.process.0.id();
            return Err(io::Error::other(format!(
                "worker {pid} died during work({i})"
            )));
        }
        Ok(serde_json::from_str(&line)?)
    }

    /// Python's `pool.close()`: closing a worker's socket ends its input, and it exits.
    fn close(self) -> ClosedPool {
        ClosedPool(self.workers.into_iter().map(|w| w.process).collect())
    }
}

impl ClosedPool {
    /// Python's `pool.join()`: waits for every worker to exit.
    fn join(self) -> io::Result<()> {
        self.0.into_iter().try_for_each(ChildGuard::join)
    }
}

fn parent(args: &Args) -> io::Result<()> {
    let tick = Duration::from_millis(args.tick_ms);
    let mut pool = Pool::new(args.processes, args.tick_ms)?;
    println!(
        "Pool({}): worker processes {}",
        args.processes,
        pool.pids().join(", ")
    );
    let started = Instant::now();
    for i in 0..args.tasks {
        let result = pool.apply(i)?;
        println!("apply(work, ({i},)) returned {result}");
    }
    let pool = pool.close();
    println!("进程开始启动 (after close(): but apply already waited for every task)");
    pool.join()?;
    println!("进程执行完毕");
    let ticks = started.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!(
        "{} tasks of 1 tick on {} workers took {ticks:.1} ticks: apply runs them one after the other",
        args.tasks, args.processes
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.parent {
        Some(parent_pid) if args.child => {
            die_with_parent(parent_pid);
            worker(Duration::from_millis(args.tick_ms))
        }
        _ => parent(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
