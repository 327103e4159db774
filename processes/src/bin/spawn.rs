//! # Two child processes at once — 创建进程 / 多进程
//!
//! From `000_d2cd84fa43d5f45e.txt` (多进程 › 创建进程), `002_9dcbaec63db95917.txt` (进程, `Process`
//! with `args`) and `003_03d5943dc2f4a8db.txt` (多进程 › 多进程).
//!
//! **The Python.** `multiprocessing.Process(target=work_1, args=(3,))` and the same for `work_2`,
//! then `start()` on both: the two jobs of `single_process` run in two processes at once. In 000
//! each process gets a `name=` and prints `multiprocessing.current_process().name`. In 002 a
//! comment warns that calling `p.join()` right after `p.start()` runs the processes one by one.
//!
//! **This lesson.** The parent starts two named children, each running one job, and joins
//! both: the run takes about 3 ticks, not 6. With `--join-each` it joins each child before
//! starting the next, and the run takes 6 ticks again, as 002 warns.
//!
//! **Rust differences.** There is no `multiprocessing`, and a process cannot be started "at a
//! function": a new process runs a whole program. This is Python's `spawn` start method done by
//! hand: the parent runs its own executable again (`std::env::current_exe()`) with a hidden
//! `--child` argument that carries the job as JSON (serde), and the child's `main` sees it and
//! runs that job. The crate `procspawn` packages the same pattern. Why not `fork`: a forked
//! child is a copy of a parent that may have threads, and only the copy of the forking thread
//! exists in it, so a lock another thread held stays locked forever (`no_shared_globals` forks,
//! with care, because the copy is its point); Python itself moved its Linux default away from
//! plain fork in 3.14 for that reason. Spawn costs more (see `spawn_cost`) but starts clean, and
//! works the same on every system. Python joins the children it started when the program ends;
//! a Rust `Child` does not wait when dropped, so the parent joins them itself (`wait`). A guard
//! kills and reaps a child if the parent fails before joining it, and each child asks Linux to
//! kill it if its parent dies (`PR_SET_PDEATHSIG`), so no child ever outlives the parent. Unix
//! only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin spawn
//! cargo run -p processes --bin spawn -- --join-each
//! ```
//!
//! **Output** (pids vary; the lines of the two children interleave in any order):
//! ```text
//! parent 4100 starts 'I am process one.' and 'I am process two.'
//! work_1 start======================= in 'I am process one.' (pid 4101)
//! i love pyhton
//! work_2 start==================== in 'I am process two.' (pid 4102)
//! come on baby
//! ...
//! work_1 end====================
//! work_2 end====================
//! joined both after 3.0 ticks (one after the other: 6)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::io;
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Two jobs in two child processes at once.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Join each child before starting the next (then they run one after the other).
    #[arg(long)]
    join_each: bool,
    /// Internal: run as a child process; the JSON is the work the parent sent.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// What a child is asked to do. It crosses to the child as JSON on its command line.
#[derive(Serialize, Deserialize)]
struct Work {
    name: String,
    job: Job,
    n: u32,
    tick_ms: u64,
}

#[derive(Serialize, Deserialize)]
enum Job {
    Work1,
    Work2,
}

fn work_1(name: &str, n: u32, tick: Duration) {
    println!(
        "work_1 start======================= in '{name}' (pid {})",
        process::id()
    );
    for _ in 0..n {
        println!("i love pyhton");
        thread::sleep(tick);
    }
    println!("work_1 end====================");
}

fn work_2(name: &str, n: u32, tick: Duration) {
    println!(
        "work_2 start==================== in '{name}' (pid {})",
        process::id()
    );
    for _ in 0..n {
        println!("come on baby");
        thread::sleep(tick);
    }
    println!("work_2 end====================");
}

/// The child's side: do the work named in the JSON.
fn child(work: Work) -> io::Result<()> {
    let tick = Duration::from_millis(work.tick_ms);
    match work.job {
        Job::Work1 => work_1(&work.name, work.n, tick),
        Job::Work2 => work_2(&work.name, work.n, tick),
    }
    Ok(())
}

/// A child process that is killed and reaped if it is dropped before it was joined, so an
/// early return or a panic in the parent leaves neither an orphan nor a zombie behind.
struct ChildGuard(Child);

impl ChildGuard {
    /// Waits for the child to end; an error if it failed.
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "child {} failed: {status}",
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

/// Python's `spawn` start method: run this program again, with the work serialised.
fn start(work: &Work) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .arg("--child")
        .arg(serde_json::to_string(work)?)
        .arg("--parent")
        .arg(process::id().to_string())
        .spawn()?;
    Ok(ChildGuard(child))
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

fn parent(tick_ms: u64, join_each: bool) -> io::Result<()> {
    let tick = Duration::from_millis(tick_ms);
    let works = [
        ("I am process one.", Job::Work1),
        ("I am process two.", Job::Work2),
    ]
    .map(|(name, job)| Work {
        name: name.to_string(),
        job,
        n: 3,
        tick_ms,
    });
    println!(
        "parent {} starts '{}' and '{}'",
        process::id(),
        works[0].name,
        works[1].name
    );
    let started = Instant::now();
    let mut running = Vec::new();
    for work in &works {
        let child = start(work)?;
        if join_each {
            child.join()?;
        } else {
            running.push(child);
        }
    }
    for child in running {
        child.join()?;
    }
    let ticks = started.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("joined both after {ticks:.1} ticks (one after the other: 6)");
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .and_then(child)
        }
        _ => parent(args.tick_ms, args.join_each),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
