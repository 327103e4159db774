//! # A process pool's options: processes, initializer, maxtasksperchild, terminate — 进程池
//!
//! From `002_9dcbaec63db95917.txt`, 进程池 (Pool构造方法的几个参数, Pool类的几个方法).
//!
//! **The Python.** The notes list `Pool`'s parameters and methods: `processes` (default
//! `os.cpu_count()`), `initializer(*initargs)` run by each worker when it starts,
//! `maxtasksperchild` (a worker exits after that many tasks and a new one takes its place, to
//! free what it held), `apply_async(..., callback, error_callback)`, `close()`, `terminate()`
//! (stop the workers now, finished or not) and `join()` (only after `close` or `terminate`).
//!
//! **This lesson.** Each option at work, on a pool built in this file:
//! 1. `Pool()` with no `processes` starts one worker per CPU.
//! 2. `Pool(2, initializer, maxtasksperchild=2)`: every worker runs the initializer once, runs
//!    two tasks, and is replaced by a new process with a new pid; a division by zero reaches the
//!    `error_callback`, and the pool carries on.
//! 3. A worker is killed with `kill -9` in the middle of a task: that task fails with an error
//!    naming the worker, a new worker takes its place, and every other task completes. Python's
//!    `Pool` hangs here: it replaces the worker, but the lost task's result never comes, so its
//!    `get()` and the pool's `join()` wait forever.
//! 4. `terminate()` after one tick of four three-tick tasks: the workers are killed and reaped at
//!    once and the unfinished tasks report that they were cancelled.
//!
//! **Rust differences.** No `multiprocessing.Pool` in Rust, so here is a small complete one
//! (`pool_apply` and `pool_async` build smaller ones first). Each worker is this program run
//! again with a hidden `--child` argument carrying its settings (the initializer's argument) as
//! JSON, and it talks to the parent over a Unix socket pair that is its standard input: a task
//! goes as a JSON line, an answer comes back. A function cannot be sent to another process, so
//! the tasks are an `enum` that the worker knows how to run. In the parent, one thread per worker
//! slot hands tasks from a shared queue (a crossbeam channel) to its worker and runs the
//! callbacks; it notices a dead worker because reading its socket ends (the kernel closes a dead
//! process's files), reaps it with `wait`, fails its task and starts another worker.
//! `processes` defaults to `std::thread::available_parallelism()`, which, unlike
//! `os.cpu_count()`, also counts the limits set on this process (CPU affinity, cgroup quotas).
//! `close` consumes the pool and returns a closed one, and only a closed pool has `join`; a
//! pool dropped without `close` is terminated, as Python's is when garbage collected. Workers are
//! started by their slot's thread, and a slot reaps its worker before it ends: Linux's
//! `PR_SET_PDEATHSIG`, which every worker sets so that it dies with the parent, fires when the
//! *thread* that started a child ends. `terminate` kills the pids the slots have registered; a
//! slot removes its worker's pid before it reaps it, so a pid that the kernel has reused for
//! another process is never killed. Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pool_options
//! ```
//!
//! **Output** (pids vary, and so do the order of lines and the CPU count):
//! ```text
//! --- Pool(): processes=None
//! Pool() started 2 worker processes: available_parallelism() = 2
//! --- Pool(2, initializer, maxtasksperchild=2)
//! initializer("你好") in worker 4104
//! initializer("你好") in worker 4105
//! callback: square(1) = 1 from worker 4104
//! callback: square(2) = 4 from worker 4105
//! callback: square(3) = 9 from worker 4104
//! initializer("你好") in worker 4106
//! pool: worker 4106 replaces 4104 (maxtasksperchild=2)
//! ...
//! error_callback: ZeroDivisionError: division by zero (in worker 4108)
//! tasks per worker: {4104: 2, 4105: 2, 4106: 2, 4107: 1}
//! --- kill -9 a worker in the middle of a task
//! kill -9 4111 (it runs Sleep(100 ticks))
//! pool: worker 4111 died (signal: 9 (SIGKILL)) during Sleep(100.0)
//! error_callback: worker 4111 died (signal: 9 (SIGKILL)) during the task
//! pool: worker 4113 replaces 4111 (died)
//! the other tasks: [1, 4, 9, 16]
//! --- terminate()
//! terminate() returned after 0.0 ticks; close() and join() would have waited 5 more
//! 4 of 4 tasks cancelled
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `crossbeam-channel = "0.5"`, `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{self, Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The options of a process pool, each shown at work.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as a worker process; the JSON is its settings.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

// ---- the worker process ----

/// A task a worker knows how to run.
#[derive(Debug, Serialize, Deserialize)]
enum Task {
    /// `x * x`, after half a tick of work.
    Square(i64),
    /// `a / b`, which fails when `b` is 0.
    Divide(i64, i64),
    /// Sleeps this many ticks, then returns 0.
    Sleep(f64),
}

/// A worker's answer to one task: its pid, and the result or the error message.
#[derive(Serialize, Deserialize)]
struct Answer {
    pid: u32,
    outcome: Result<i64, String>,
}

/// What every worker is started with.
#[derive(Clone, Serialize, Deserialize)]
struct WorkerSettings {
    /// The initializer's argument (Python's `initargs`); no initializer if `None`.
    initargs: Option<String>,
    tick_ms: u64,
}

/// The initializer: runs once in each worker process, before its first task.
fn initializer(initargs: &str) {
    println!("initializer({initargs:?}) in worker {}", process::id());
}

fn run(task: &Task, tick: Duration) -> Result<i64, String> {
    match *task {
        Task::Square(x) => {
            thread::sleep(tick / 2);
            Ok(x * x)
        }
        Task::Divide(a, b) => a
            .checked_div(b)
            .ok_or_else(|| "ZeroDivisionError: division by zero".to_string()),
        Task::Sleep(ticks) => {
            thread::sleep(tick.mul_f64(ticks));
            Ok(0)
        }
    }
}

/// A worker process: runs every task that arrives, until its input ends.
fn worker(settings: WorkerSettings) -> io::Result<()> {
    if let Some(initargs) = &settings.initargs {
        initializer(initargs);
    }
    let tick = Duration::from_millis(settings.tick_ms);
    let mut answers = UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?);
    for line in BufReader::new(answers.try_clone()?).lines() {
        let task: Task = serde_json::from_str(&line?)?;
        let answer = Answer {
            pid: process::id(),
            outcome: run(&task, tick),
        };
        let mut line = serde_json::to_string(&answer)?;
        line.push('\n');
        answers.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

// ---- the pool, in the parent ----

/// A task's result, and the worker that computed it.
struct Done {
    value: i64,
    pid: u32,
}

/// Why a task has no result.
enum TaskError {
    /// The task failed in the worker (in Python: the exception it raised).
    Failed { message: String, pid: u32 },
    /// The worker process died while it ran the task.
    WorkerDied { pid: u32, status: ExitStatus },
    /// The pool was terminated before the task finished.
    Cancelled,
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Failed { message, pid } => write!(f, "{message} (in worker {pid})"),
            TaskError::WorkerDied { pid, status } => {
                write!(f, "worker {pid} died ({status}) during the task")
            }
            TaskError::Cancelled => write!(f, "cancelled: the pool was terminated"),
        }
    }
}

type Outcome = Result<Done, TaskError>;
type Callback = Box<dyn FnOnce(&Done) + Send>;
type ErrorCallback = Box<dyn FnOnce(&TaskError) + Send>;

/// A task waiting in the pool's queue.
struct Job {
    task: Task,
    callback: Option<Callback>,
    error_callback: Option<ErrorCallback>,
    outcome: Sender<Outcome>,
    worker: Arc<OnceLock<u32>>,
}

/// Python's `AsyncResult`.
struct AsyncResult {
    outcome: Receiver<Outcome>,
    worker: Arc<OnceLock<u32>>,
}

impl AsyncResult {
    /// Waits for the outcome.
    fn get(self) -> Outcome {
        // The job is dropped unanswered only when the pool is terminated.
        self.outcome.recv().unwrap_or(Err(TaskError::Cancelled))
    }

    /// The pid of the worker that took the task, once one has.
    fn worker(&self) -> Option<u32> {
        self.worker.get().copied()
    }
}

/// Runs the callback that fits the outcome, then hands the outcome to the `AsyncResult`.
fn deliver(job: Job, outcome: Outcome) {
    match &outcome {
        Ok(done) => job.callback.map_or((), |callback| callback(done)),
        Err(error) => job.error_callback.map_or((), |callback| callback(error)),
    }
    let _ = job.outcome.send(outcome); // fine if nobody kept the handle
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The parent's side of one worker process.
struct Worker {
    process: ChildGuard,
    pid: u32,
    tasks: UnixStream,
    answers: BufReader<UnixStream>,
}

impl Worker {
    fn start(settings: &WorkerSettings) -> io::Result<Worker> {
        let (ours, theirs) = UnixStream::pair()?;
        let child = Command::new(std::env::current_exe()?)
            .args(["--child", &serde_json::to_string(settings)?])
            .args(["--parent", &process::id().to_string()])
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .spawn()?;
        Ok(Worker {
            pid: child.id(),
            process: ChildGuard(child),
            answers: BufReader::new(ours.try_clone()?),
            tasks: ours,
        })
    }

    /// Sends a task and waits for the answer; an error if the worker died.
    fn run(&mut self, task: &Task) -> io::Result<Answer> {
        let mut line = serde_json::to_string(task)?;
        line.push('\n');
        self.tasks.write_all(line.as_bytes())?;
        line.clear();
        if self.answers.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(serde_json::from_str(&line)?)
    }

    /// Ends the worker's input, so that it exits, and reaps it.
    fn stop(self) -> io::Result<ExitStatus> {
        let Worker {
            mut process,
            tasks,
            answers,
            ..
        } = self;
        drop((tasks, answers)); // the last handles on our end of its socket
        process.0.wait()
    }
}

#[derive(Default)]
struct PoolOptions {
    /// How many workers; `None` means one per CPU.
    processes: Option<usize>,
    /// The initializer's argument; no initializer if `None`.
    initargs: Option<String>,
    /// Replace a worker after this many tasks; `None` means never.
    maxtasksperchild: Option<usize>,
}

/// The pids of the live workers, so that `terminate` can kill them.
#[derive(Default)]
struct LiveWorkers {
    pids: BTreeMap<usize, u32>,
    terminating: bool,
}

/// Why a slot stops using its worker.
enum Retire {
    /// It ran `maxtasksperchild` tasks.
    MaxTasks,
    /// It died, and its task failed.
    Died,
    /// The pool is closed and the queue is empty, or the pool was terminated.
    PoolDone,
}

/// One slot of the pool: keeps a worker running and hands it tasks from the queue; replaces
/// it after `maxtasksperchild` tasks or when it dies.
fn run_slot(
    slot: usize,
    settings: WorkerSettings,
    maxtasksperchild: Option<usize>,
    queue: Receiver<Job>,
    live: Arc<Mutex<LiveWorkers>>,
) -> io::Result<()> {
    let mut replaces = None;
    loop {
        let mut worker = Worker::start(&settings)?;
        {
            let mut live = live.lock().unwrap();
            if live.terminating {
                return Ok(()); // the guard kills and reaps the new worker
            }
            live.pids.insert(slot, worker.pid);
        }
        if let Some((old, why)) = replaces.take() {
            println!("pool: worker {} replaces {old} ({why})", worker.pid);
        }
        let mut tasks_done = 0;
        let retire = loop {
            if maxtasksperchild.is_some_and(|max| tasks_done == max) {
                break Retire::MaxTasks;
            }
            let Ok(job) = queue.recv() else {
                break Retire::PoolDone;
            };
            if live.lock().unwrap().terminating {
                break Retire::PoolDone; // the job is dropped: its handle reports Cancelled
            }
            let _ = job.worker.set(worker.pid);
            match worker.run(&job.task) {
                Ok(Answer { pid, outcome }) => {
                    let outcome = outcome
                        .map(|value| Done { value, pid })
                        .map_err(|message| TaskError::Failed { message, pid });
                    deliver(job, outcome);
                    tasks_done += 1;
                }
                Err(_) => {
                    // Its socket ended, so the worker is dead (or, if it answered nonsense, it
                    // is killed now; killing a dead process does nothing). Unregister it before
                    // reaping it, so that `terminate` never kills a pid gone to another process.
                    live.lock().unwrap().pids.remove(&slot);
                    let _ = worker.process.0.kill();
                    let status = worker.process.0.wait()?;
                    if live.lock().unwrap().terminating {
                        return Ok(()); // the job is dropped: its handle reports Cancelled
                    }
                    println!(
                        "pool: worker {} died ({status}) during {:?}",
                        worker.pid, job.task
                    );
                    let pid = worker.pid;
                    deliver(job, Err(TaskError::WorkerDied { pid, status }));
                    break Retire::Died;
                }
            }
        };
        live.lock().unwrap().pids.remove(&slot);
        let pid = worker.pid;
        worker.stop()?;
        match retire {
            Retire::MaxTasks => replaces = Some((pid, "maxtasksperchild")),
            Retire::Died => replaces = Some((pid, "died")),
            Retire::PoolDone => return Ok(()),
        }
    }
}

/// Python's `multiprocessing.Pool`.
struct Pool {
    jobs: Option<Sender<Job>>,
    slots: Vec<JoinHandle<io::Result<()>>>,
    live: Arc<Mutex<LiveWorkers>>,
}

/// A pool after `close`: it takes no more tasks and can be joined.
struct ClosedPool(Vec<JoinHandle<io::Result<()>>>);

fn join_slots(slots: Vec<JoinHandle<io::Result<()>>>) -> io::Result<()> {
    for slot in slots {
        slot.join().expect("a pool thread panicked")?;
    }
    Ok(())
}

impl Pool {
    fn new(options: PoolOptions, tick_ms: u64) -> Pool {
        let processes = options
            .processes
            .unwrap_or_else(|| thread::available_parallelism().map_or(1, std::num::NonZero::get));
        let settings = WorkerSettings {
            initargs: options.initargs,
            tick_ms,
        };
        let (jobs, queue) = unbounded();
        let live = Arc::new(Mutex::new(LiveWorkers::default()));
        let slots = (0..processes)
            .map(|slot| {
                let (settings, queue, live) = (settings.clone(), queue.clone(), live.clone());
                let max = options.maxtasksperchild;
                thread::spawn(move || run_slot(slot, settings, max, queue, live))
            })
            .collect();
        Pool {
            jobs: Some(jobs),
            slots,
            live,
        }
    }

    fn apply_async(
        &self,
        task: Task,
        callback: Option<Callback>,
        error_callback: Option<ErrorCallback>,
    ) -> AsyncResult {
        let (outcome, answer) = bounded(1);
        let worker = Arc::new(OnceLock::new());
        let job = Job {
            task,
            callback,
            error_callback,
            outcome,
            worker: Arc::clone(&worker),
        };
        let jobs = self.jobs.as_ref().expect("an open pool has its queue");
        // If every slot has failed, nobody takes the job: its handle reports Cancelled.
        let _ = jobs.send(job);
        AsyncResult {
            outcome: answer,
            worker,
        }
    }

    /// The pids of the workers running now.
    fn pids(&self) -> Vec<u32> {
        self.live.lock().unwrap().pids.values().copied().collect()
    }

    /// Python's `pool.close()`: no more tasks; the workers exit once the queue is empty.
    fn close(mut self) -> ClosedPool {
        self.jobs = None;
        ClosedPool(std::mem::take(&mut self.slots))
    }

    /// Python's `pool.terminate()`: kills every worker now; unfinished tasks are cancelled.
    fn terminate(mut self) -> io::Result<()> {
        self.kill_workers();
        self.jobs = None; // idle slots see the queue closed
        join_slots(std::mem::take(&mut self.slots))
    }

    fn kill_workers(&self) {
        let mut live = self.live.lock().unwrap();
        live.terminating = true;
        for &pid in live.pids.values() {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

impl Drop for Pool {
    /// A pool dropped without `close` is terminated, as Python's is when garbage collected.
    fn drop(&mut self) {
        if !self.slots.is_empty() {
            self.kill_workers();
            self.jobs = None;
            let _ = join_slots(std::mem::take(&mut self.slots));
        }
    }
}

impl ClosedPool {
    /// Python's `pool.join()`: waits until every worker has exited.
    fn join(self) -> io::Result<()> {
        join_slots(self.0)
    }
}

// ---- the lesson ----

fn ticks_since(start: Instant, tick: Duration) -> f64 {
    start.elapsed().as_secs_f64() / tick.as_secs_f64()
}

fn default_processes(tick_ms: u64) -> io::Result<()> {
    println!("--- Pool(): processes=None");
    let pool = Pool::new(PoolOptions::default(), tick_ms);
    // Wait until every slot has started its worker.
    let cpus = thread::available_parallelism().map_or(1, std::num::NonZero::get);
    while pool.pids().len() < cpus && pool.slots.iter().all(|slot| !slot.is_finished()) {
        thread::sleep(Duration::from_millis(1));
    }
    println!(
        "Pool() started {} worker processes: available_parallelism() = {cpus}",
        pool.pids().len()
    );
    pool.close().join()
}

fn initializer_and_maxtasksperchild(tick_ms: u64) -> io::Result<()> {
    println!("--- Pool(2, initializer, maxtasksperchild=2)");
    let pool = Pool::new(
        PoolOptions {
            processes: Some(2),
            initargs: Some("你好".to_string()),
            maxtasksperchild: Some(2),
        },
        tick_ms,
    );
    let squares: Vec<AsyncResult> = (1..=6)
        .map(|x| {
            let callback: Callback = Box::new(move |done| {
                println!(
                    "callback: square({x}) = {} from worker {}",
                    done.value, done.pid
                )
            });
            pool.apply_async(Task::Square(x), Some(callback), None)
        })
        .collect();
    let error_callback: ErrorCallback = Box::new(|error| println!("error_callback: {error}"));
    let division = pool.apply_async(Task::Divide(1, 0), None, Some(error_callback));
    pool.close().join()?;

    let mut tasks_per_worker = BTreeMap::<u32, u32>::new();
    for square in squares {
        let done = square.get().map_err(|e| io::Error::other(e.to_string()))?;
        *tasks_per_worker.entry(done.pid).or_default() += 1;
    }
    if let Err(TaskError::Failed { pid, .. }) = division.get() {
        *tasks_per_worker.entry(pid).or_default() += 1;
    }
    println!("tasks per worker: {tasks_per_worker:?}");
    Ok(())
}

fn killed_worker(tick_ms: u64) -> io::Result<()> {
    println!("--- kill -9 a worker in the middle of a task");
    let tick = Duration::from_millis(tick_ms);
    let pool = Pool::new(
        PoolOptions {
            processes: Some(2),
            ..PoolOptions::default()
        },
        tick_ms,
    );
    let error_callback: ErrorCallback = Box::new(|error| println!("error_callback: {error}"));
    let stuck = pool.apply_async(Task::Sleep(100.0), None, Some(error_callback));
    let others: Vec<AsyncResult> = (1..=4)
        .map(|x| pool.apply_async(Task::Square(x), None, None))
        .collect();
    let started = Instant::now();
    let pid = loop {
        match stuck.worker() {
            Some(pid) => break pid,
            None if ticks_since(started, tick) > 50.0 => {
                return Err(io::Error::other("no worker took the task"));
            }
            None => thread::sleep(tick / 20),
        }
    };
    thread::sleep(tick / 2);
    println!("kill -9 {pid} (it runs Sleep(100 ticks))");
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL)?;
    if let Ok(done) = stuck.get() {
        return Err(io::Error::other(format!(
            "the killed task returned {}",
            done.value
        )));
    }
    let values = others
        .into_iter()
        .map(|other| other.get().map(|done| done.value))
        .collect::<Result<Vec<i64>, TaskError>>()
        .map_err(|e| io::Error::other(e.to_string()))?;
    println!("the other tasks: {values:?}");
    pool.close().join()
}

fn terminate(tick_ms: u64) -> io::Result<()> {
    println!("--- terminate()");
    let tick = Duration::from_millis(tick_ms);
    let pool = Pool::new(
        PoolOptions {
            processes: Some(2),
            ..PoolOptions::default()
        },
        tick_ms,
    );
    let handles: Vec<AsyncResult> = (0..4)
        .map(|_| pool.apply_async(Task::Sleep(3.0), None, None))
        .collect();
    thread::sleep(tick);
    let started = Instant::now();
    pool.terminate()?;
    println!(
        "terminate() returned after {:.1} ticks; close() and join() would have waited 5 more",
        ticks_since(started, tick)
    );
    let cancelled = handles
        .into_iter()
        .map(AsyncResult::get)
        .filter(|outcome| matches!(outcome, Err(TaskError::Cancelled)))
        .count();
    println!("{cancelled} of 4 tasks cancelled");
    Ok(())
}

fn parent(tick_ms: u64) -> io::Result<()> {
    default_processes(tick_ms)?;
    initializer_and_maxtasksperchild(tick_ms)?;
    killed_worker(tick_ms)?;
    terminate(tick_ms)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .and_then(worker)
        }
        _ => parent(args.tick_ms),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
