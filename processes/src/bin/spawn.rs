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
//! **Rust differences.** A process cannot start "at a function": a new process runs a whole
//! program. The crate `procspawn` hides that: `procspawn::spawn(args, f)` runs this same
//! program again, and in the child `procspawn::init()` (first thing in `main`, so the child does
//! nothing of the parent's work before it) receives `f` and `args`, calls `f(args)`, sends the
//! return value back and exits; `join()` returns it. `f` is a plain `fn` (a closure capturing
//! nothing), exactly Python's `target`, and `args` is exactly `args=`: it crosses to the child
//! through serde, so it must be `Serialize + Deserialize`; nothing else of the parent's memory
//! goes along. `spawn_by_hand` shows the machinery underneath. Python joins its children at exit;
//! a procspawn handle dropped without `join` kills and reaps its child. procspawn does not tie a
//! child's life to its parent's, so `init` gets a hook that runs first in every child and asks
//! Linux to kill it when the parent dies, even by `kill -9` (`PR_SET_PDEATHSIG`); a child whose
//! parent died before that cannot connect back to it and ends. Linux only (the hook); procspawn
//! itself also runs on macOS and Windows.
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
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::process::{self, ExitCode};
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
}

/// The arguments of a job, as one serde tuple: the process's name, `n` and the tick.
type JobArgs = (String, u32, u64);

/// `work_1(n)` in a process named `name`.
fn work_1((name, n, tick_ms): JobArgs) {
    println!(
        "work_1 start======================= in '{name}' (pid {})",
        process::id()
    );
    for _ in 0..n {
        println!("i love pyhton");
        thread::sleep(Duration::from_millis(tick_ms));
    }
    println!("work_1 end====================");
}

fn work_2((name, n, tick_ms): JobArgs) {
    println!(
        "work_2 start==================== in '{name}' (pid {})",
        process::id()
    );
    for _ in 0..n {
        println!("come on baby");
        thread::sleep(Duration::from_millis(tick_ms));
    }
    println!("work_2 end====================");
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
    let args = Args::parse();
    let (one, two) = ("I am process one.", "I am process two.");
    println!("parent {} starts '{one}' and '{two}'", process::id());
    let started = Instant::now();
    let jobs = [(one, work_1 as fn(JobArgs)), (two, work_2)];
    let mut children = Vec::new();
    let mut joined = Ok(());
    for (name, job) in jobs {
        children.push(procspawn::spawn((name.to_string(), 3, args.tick_ms), job));
        if args.join_each || children.len() == jobs.len() {
            for child in children.drain(..) {
                joined = joined.and(child.join());
            }
        }
    }
    if let Err(e) = joined {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.is_remote_close() {
            println!();
        }
        eprintln!("error: a child: {e}");
        return ExitCode::FAILURE;
    }
    let ticks = started.elapsed().as_secs_f64() * 1000.0 / args.tick_ms as f64;
    println!("joined both after {ticks:.1} ticks (one after the other: 6)");
    ExitCode::SUCCESS
}
