//! # Stopping a process: terminate, kill -9, and reaping it — terminate / kill -9
//!
//! From `003_03d5943dc2f4a8db.txt` (Queue进程通信: `pr.terminate()`) and
//! `004_599445cc4c65b15e.txt` (multiprocessing模块: `kill -9 程序进程号`).
//!
//! **The Python.** In 003 the reader process loops forever, so after joining the writer the
//! parent ends it with `pr.terminate()`, and never joins it. In 004 the notes stop a process from
//! the shell with `kill -9 <pid>`. The notes' Pool section adds why `join` matters: a process that
//! has ended stays a zombie until its parent waits for it.
//!
//! **This lesson.** Two children run the notes' endless reader: each prints every line that
//! arrives on its standard input, a pipe from the parent, and the parent keeps its end open, so
//! the reader waits for more forever (in Python every process holding the queue keeps it open).
//! 1. The parent sends A, B and C, then `terminate()`: SIGTERM, which by default ends a process;
//!    `wait` reaps it.
//! 2. The second reader blocks SIGTERM, as a program busy with something it must not drop might,
//!    and keeps running. `kill -9` (SIGKILL) cannot be blocked or caught. Between its death and
//!    the parent's `wait`, the kernel keeps it as a zombie (state Z in `/proc/<pid>/stat`) to hold
//!    its exit status; `wait` collects the status and the entry is gone.
//!
//! At the end the lesson counts its own children in `/proc`: none is left.
//!
//! **Rust differences.** `std::process::Child::kill()` sends SIGKILL, Python's `kill()`; std has
//! no SIGTERM, so `terminate` is `nix::sys::signal::kill(pid, SIGTERM)`. A `Child` that is
//! dropped is neither killed nor waited for: without a `wait` it stays a zombie until the parent
//! exits, and if the parent exits first, it runs on as an orphan. So every child here sits in a
//! guard that kills and waits on drop, and asks Linux to kill it if its parent dies
//! (`PR_SET_PDEATHSIG`). A child blocks SIGTERM with `SigSet::thread_block` (in a one-thread
//! program, the process's signal mask); the parent sees it in the `SigBlk` mask of
//! `/proc/<pid>/status` before it sends the signal. The children are this program run again with
//! a hidden `--child` argument. Linux (reads `/proc`).
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin terminate
//! ```
//!
//! **Output** (pids vary):
//! ```text
//! --- the notes' reader: it waits for more input forever
//! 发送 A 到 pipe...
//! 从 pipe 接受 A .
//! 发送 B 到 pipe...
//! 从 pipe 接受 B .
//! 发送 C 到 pipe...
//! 从 pipe 接受 C .
//! terminate(): SIGTERM to 4101
//! 4101 reaped: signal: 15 (SIGTERM)
//! --- a reader that blocks SIGTERM
//! 4102 blocks SIGTERM (SigBlk in /proc/4102/status); SIGTERM to 4102
//! 4102 after SIGTERM: state S, still alive
//! kill -9 4102
//! 4102 before wait(): state Z (a zombie: dead, its exit status not yet collected)
//! 4102 reaped: signal: 9 (SIGKILL)
//! 4102 after wait(): /proc/4102 is gone
//! children left: 0
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use nix::sys::signal::{SigSet, Signal, kill};
use nix::unistd::Pid;
use std::fs;
use std::io::{self, BufRead, PipeWriter, Write};
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// Endless children stopped with SIGTERM and SIGKILL, and reaped.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as the endless reader.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the child blocks SIGTERM.
    #[arg(long, hide = true)]
    block_sigterm: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The notes' reader: prints every line that arrives, until its input ends.
fn reader(block_sigterm: bool) -> io::Result<()> {
    if block_sigterm {
        SigSet::from(Signal::SIGTERM).thread_block()?;
    }
    for value in io::stdin().lock().lines() {
        println!("从 pipe 接受 {} .", value?);
    }
    Ok(())
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

/// A child process that is killed and reaped if it is dropped before it was waited for.
struct ChildGuard(Child);

impl ChildGuard {
    fn signal(&self, signal: Signal) -> io::Result<()> {
        // The child has not been waited for, so its pid cannot belong to another process.
        Ok(kill(Pid::from_raw(self.0.id() as i32), signal)?)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts a reader; returns it and the write end of the pipe that is its stdin.
fn start_reader(block_sigterm: bool) -> io::Result<(ChildGuard, PipeWriter)> {
    let (read_end, write_end) = io::pipe()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", "--parent", &process::id().to_string()])
        .args(block_sigterm.then_some("--block-sigterm"))
        .stdin(read_end)
        .spawn()?;
    Ok((ChildGuard(child), write_end))
}

/// The state letter in `/proc/<pid>/stat` (R, S, T, Z, ...), or `None` if there is no entry.
fn state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (name) state ...": the name may hold spaces and parentheses, so look after the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// Whether SIGTERM is in the process's blocked signals: the `SigBlk` mask in
/// `/proc/<pid>/status`, in hexadecimal, where bit n - 1 stands for signal n.
fn blocks_sigterm(pid: u32) -> bool {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigBlk:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (Signal::SIGTERM as u32 - 1)) != 0)
}

/// Polls `check` every millisecond until it holds, for at most 5 s.
fn await_until(what: &str, check: impl Fn() -> bool) -> io::Result<()> {
    let started = Instant::now();
    while !check() {
        if started.elapsed() > Duration::from_secs(5) {
            return Err(io::Error::other(format!("not within 5 s: {what}")));
        }
        thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

fn parent(tick_ms: u64) -> io::Result<()> {
    println!("--- the notes' reader: it waits for more input forever");
    let (mut reader, mut input) = start_reader(false)?;
    for value in ["A", "B", "C"] {
        println!("发送 {value} 到 pipe...");
        input.write_all(format!("{value}\n").as_bytes())?;
        thread::sleep(Duration::from_millis(tick_ms));
    }
    // `input` stays open: the reader waits for more, as the notes' one does.
    println!("terminate(): SIGTERM to {}", reader.0.id());
    reader.signal(Signal::SIGTERM)?;
    println!("{} reaped: {}", reader.0.id(), reader.0.wait()?);

    println!("--- a reader that blocks SIGTERM");
    let (mut stubborn, _input) = start_reader(true)?;
    let pid = stubborn.0.id();
    // Until it has blocked SIGTERM, SIGTERM would still end it.
    await_until("the reader blocks SIGTERM", || blocks_sigterm(pid))?;
    println!("{pid} blocks SIGTERM (SigBlk in /proc/{pid}/status); SIGTERM to {pid}");
    stubborn.signal(Signal::SIGTERM)?;
    thread::sleep(Duration::from_millis(tick_ms));
    match state(pid) {
        Some(state @ ('R' | 'S')) => println!("{pid} after SIGTERM: state {state}, still alive"),
        other => return Err(io::Error::other(format!("{pid} after SIGTERM: {other:?}"))),
    }
    println!("kill -9 {pid}");
    stubborn.signal(Signal::SIGKILL)?;
    await_until("the reader is a zombie", || state(pid) == Some('Z'))?;
    println!("{pid} before wait(): state Z (a zombie: dead, its exit status not yet collected)");
    println!("{pid} reaped: {}", stubborn.0.wait()?);
    let gone = state(pid).map_or("is gone", |_| "is still there");
    println!("{pid} after wait(): /proc/{pid} {gone}");

    // `/proc/<pid>/task/<tid>/children` lists the children its main thread started: here, all.
    let me = process::id();
    let children = fs::read_to_string(format!("/proc/{me}/task/{me}/children"))?;
    println!("children left: {}", children.split_whitespace().count());
    Ok(())
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let result = match args.parent {
        Some(parent_pid) if args.child => {
            die_with_parent(parent_pid);
            reader(args.block_sigterm)
        }
        _ => parent(args.tick_ms),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
