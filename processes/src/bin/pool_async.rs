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
//! results in order.
//!
//! **Rust differences.** No `multiprocessing.Pool` in Rust, so this file builds one. Each worker
//! is this program run again with a hidden `--child` argument, talking to the parent over a Unix
//! socket pair that is its standard input (task and result as JSON lines, serde); standard output
//! stays shared, so the workers print directly. In the parent, one thread per worker takes the
//! next task from a shared queue (a crossbeam channel), so a free worker gets the next task, and
//! runs the callback when the result is back: callbacks run in the parent, as in Python, on that
//! worker's thread, so a slow callback keeps that worker idle (Python's docs warn the same of its
//! one result thread). A callback is a boxed `FnOnce` that is `Send`, because another thread runs
//! it. `apply_async` returns an `AsyncResult` whose `get` waits. A function cannot be sent to
//! another process, so the workers know `foo` and receive only its argument. Workers are started
//! once and reused, so pids repeat. `close` consumes the pool and returns a closed one, and only
//! a closed pool has `join`. Guards kill and reap the workers if the parent fails, and each
//! worker dies with its parent (`PR_SET_PDEATHSIG`). Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pool_async
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
//! 20 tasks of 1 tick on 5 workers took 4.0 ticks; close() and join() done
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde_json = "1"`, `crossbeam-channel = "0.5"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{self, Child, Command, ExitCode, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// `apply_async` with callbacks, and `map`, on a pool of processes.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Worker processes in the pool.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    processes: u32,
    /// Internal: run as a worker process.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The task, run in a worker: the notes' `Foo`, printing like 003's `work`.
fn foo(i: u32, tick: Duration) -> u32 {
    println!("run work ({i}) ,work id {}", process::id());
    thread::sleep(tick);
    i + 100
}

/// A worker process: runs `foo` for every argument that arrives, until its input ends.
fn worker(tick: Duration) -> io::Result<()> {
    let mut results = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    for line in BufReader::new(results.try_clone()?).lines() {
        let i = serde_json::from_str(&line?)?;
        let result = serde_json::to_string(&foo(i, tick))?;
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

type Callback = Box<dyn FnOnce(u32) + Send>;

/// A task waiting in the pool's queue.
struct Job {
    arg: u32,
    callback: Option<Callback>,
    result: Sender<u32>,
}

/// Python's `AsyncResult`.
struct AsyncResult(Receiver<u32>);

impl AsyncResult {
    /// Waits for the result.
    fn get(self) -> io::Result<u32> {
        self.0
            .recv()
            .map_err(|_| io::Error::other("the task was lost: its worker failed"))
    }
}

/// Python's `multiprocessing.Pool`, with `apply_async` and `map`.
struct Pool {
    jobs: Sender<Job>,
    feeders: Vec<JoinHandle<io::Result<()>>>,
}

/// A pool after `close`: it takes no more tasks and can be joined.
struct ClosedPool(Vec<JoinHandle<io::Result<()>>>);

/// The parent's thread for one worker: hands it task after task and runs the callbacks.
fn feed(worker: ChildGuard, socket: UnixStream, jobs: Receiver<Job>) -> io::Result<()> {
    let mut results = BufReader::new(socket.try_clone()?);
    let mut tasks = socket;
    // Ends when the pool is closed and the queue is empty.
    for job in jobs {
        tasks.write_all(format!("{}\n", job.arg).as_bytes())?;
        let mut line = String::new();
        if results.read_line(&mut line)? == 0 {
            let pid = worker.0.id();
            return Err(io::Error::other(format!(
                "worker {pid} died during foo({})",
                job.arg
            )));
        }
        let result = serde_json::from_str(&line)?;
        if let Some(callback) = job.callback {
            callback(result);
        }
        let _ = job.result.send(result); // fine if nobody kept the handle
    }
    drop(results);
    drop(tasks); // the last handle on our end of the socket: end of input, the worker exits
    worker.join()
}

impl Pool {
    fn new(processes: u32, tick_ms: u64) -> io::Result<Pool> {
        let (jobs, queue) = unbounded();
        let mut feeders = Vec::new();
        for _ in 0..processes {
            let (ours, theirs) = UnixStream::pair()?;
            // Started from this thread, which outlives the pool: `PR_SET_PDEATHSIG` fires when
            // the thread that started a child ends, not only when the whole process does.
            let child = Command::new(std::env::current_exe()?)
                .args(["--child", "--parent", &process::id().to_string()])
                .args(["--tick-ms", &tick_ms.to_string()])
                .stdin(Stdio::from(OwnedFd::from(theirs)))
                .spawn()?;
            let (worker, queue) = (ChildGuard(child), queue.clone());
            feeders.push(thread::spawn(move || feed(worker, ours, queue)));
        }
        Ok(Pool { jobs, feeders })
    }

    /// Python's `pool.apply_async(foo, (arg,), callback=...)`: returns at once.
    fn apply_async(&self, arg: u32, callback: Option<Callback>) -> AsyncResult {
        let (result, handle) = bounded(1);
        let job = Job {
            arg,
            callback,
            result,
        };
        self.jobs
            .send(job)
            .expect("the feeders hold the queue until the pool is closed");
        AsyncResult(handle)
    }

    /// Python's `pool.map(foo, args)`: every task at once, the results in the order of `args`.
    fn map(&self, args: impl IntoIterator<Item = u32>) -> io::Result<Vec<u32>> {
        let handles: Vec<AsyncResult> = args
            .into_iter()
            .map(|arg| self.apply_async(arg, None))
            .collect();
        handles.into_iter().map(AsyncResult::get).collect()
    }

    /// Python's `pool.close()`: no more tasks; each worker exits once the queue is empty.
    fn close(self) -> ClosedPool {
        ClosedPool(self.feeders) // `self.jobs`, the only sender, is dropped here
    }
}

impl ClosedPool {
    /// Python's `pool.join()`: waits until every worker has exited.
    fn join(self) -> io::Result<()> {
        for feeder in self.0 {
            feeder.join().expect("a feeder thread panicked")?;
        }
        Ok(())
    }
}

/// The callback: the notes' `Bar`, run by the parent when a result is back.
fn bar(result: u32) {
    println!(
        "-->exec done: {result} (callback in the parent, pid {})",
        process::id()
    );
}

fn parent(tick_ms: u64, processes: u32) -> io::Result<()> {
    let tick = Duration::from_millis(tick_ms);
    let parent_pid = process::id();
    println!("Parent process {parent_pid}. Pool({processes})");
    let started = Instant::now();
    let pool = Pool::new(processes, tick_ms)?;

    let handles: Vec<AsyncResult> = (0..10)
        .map(|i| pool.apply_async(i, Some(Box::new(bar))))
        .collect();
    println!(
        "apply_async returned {} handles at once, one per task",
        handles.len()
    );
    println!("end");
    let results = handles
        .into_iter()
        .map(AsyncResult::get)
        .collect::<io::Result<Vec<u32>>>()?;
    println!("get() on each handle: {results:?}");

    println!("map(foo, 0..10): {:?}", pool.map(0..10)?);

    pool.close().join()?;
    let ticks = started.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!(
        "20 tasks of 1 tick on {processes} workers took {ticks:.1} ticks; close() and join() done"
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
        _ => parent(args.tick_ms, args.processes),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
