//! # The states of a process, as Linux shows them — 进程的状态
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › 进程的状态.
//!
//! **The Python.** No program: the notes name the states a task passes through when there are
//! more tasks than cores: 新建 (new, being started), 就绪 (ready: could run, waits for a CPU),
//! 执行 (running on a CPU) and 等待 (waiting for something, such as the end of a `sleep`).
//!
//! **This lesson.** A child process is put through its states while the parent reads them from
//! the third field of `/proc/<pid>/stat`, polling until each appears:
//! - **R** while it computes. Linux does not separate 就绪 from 执行: R means "on a CPU, or in
//!   the queue for one". There is no separate 新建 letter either: a new process is R at once.
//! - **S** while it waits for a line on its standard input: 等待, an interruptible sleep (a
//!   sleep, a read, a lock). **D** is the uninterruptible kind, mostly disk I/O.
//! - **T** after SIGSTOP, and back to S after SIGCONT. Ctrl-Z in a shell sends a different
//!   signal, SIGTSTP, which a program may catch or ignore (an editor that restores the terminal
//!   first, then stops itself); left to its default it stops the process into the same T. The
//!   lesson sends SIGSTOP because nothing can catch, block or ignore it, so T is certain.
//! - **Z** once it has exited and before the parent has waited for it: a zombie, kept only to
//!   hold its exit status. After `wait`, `/proc/<pid>` is gone.
//!
//! **Rust differences.** None in the states: they belong to the kernel, whatever the language. std
//! has no API for another process's state, so the parent reads `/proc` as text. The child is
//! started by hand (see `spawn_by_hand`), so the parent holds its `Child` and decides when to reap
//! it, which is this lesson's point: this program run again with a hidden `--child` argument; it
//! learns when to stop computing by polling its standard input (`poll(2)` with a zero timeout), and
//! blocks in `read` to wait. A guard kills and reaps it if the parent fails, and it dies with its
//! parent (`PR_SET_PDEATHSIG`). Linux (reads `/proc`).
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin process_states
//! ```
//!
//! **Output** (pids vary):
//! ```text
//! this process reads its own /proc/self/stat: R
//! child 4101, from /proc/4101/stat:
//! computing:                R (running or ready: 执行 / 就绪)
//! waiting for a line:       S (sleeping: 等待)
//! after SIGSTOP:            T (stopped)
//! after SIGCONT:            S (sleeping: 等待)
//! exited, not waited for:   Z (zombie)
//! after wait(): exit status: 0; /proc/4101 is gone
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "signal", "poll"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::fs;
use std::hint::black_box;
use std::io::{self, BufRead, Write};
use std::os::fd::AsFd;
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant};

/// A child seen running, sleeping, stopped and as a zombie.
#[derive(Parser)]
struct Args {
    /// Internal: run as the child.
    #[arg(long, hide = true, requires = "parent")]
    child: bool,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The child: computes until a line arrives, then waits for a second line, then exits.
fn child() -> io::Result<()> {
    let stdin = io::stdin();
    let mut x = 0_u64;
    while poll(
        &mut [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)],
        PollTimeout::ZERO,
    )? == 0
    {
        for i in 0..100_000 {
            x = black_box(x.wrapping_mul(31).wrapping_add(i));
        }
    }
    let mut lines = stdin.lock().lines();
    lines.next().transpose()?; // "stop computing"
    lines.next().transpose()?; // "exit": the wait for it is the sleep
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

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The fields of `/proc/<pid>/stat` after the name, from the state on; `None` if there is no
/// such entry.
fn stat(pid: &str) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (name) state ...": the name may hold spaces and parentheses, so look after the last ')'.
    let fields = stat.rsplit_once(')')?.1.split_whitespace();
    Some(fields.map(str::to_string).collect())
}

/// The state letter: R, S, D, T, Z, ...
fn state(pid: &str) -> Option<char> {
    stat(pid)?.first()?.chars().next()
}

/// CPU time used so far, user plus system, in clock ticks (usually 10 ms).
fn cpu_time(pid: &str) -> Option<u64> {
    let fields = stat(pid)?;
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(number(11)? + number(12)?)
}

/// Polls the child's state every millisecond until it is `wanted` (for at most 5 s).
fn await_state(pid: u32, wanted: char, what: &str, meaning: &str) -> io::Result<()> {
    let started = Instant::now();
    loop {
        let seen = state(&pid.to_string());
        if seen == Some(wanted) {
            println!("{:<25} {wanted} ({meaning})", format!("{what}:"));
            return Ok(());
        }
        if started.elapsed() > Duration::from_secs(5) {
            return Err(io::Error::other(format!(
                "{what}: expected {wanted}, still {seen:?} after 5 s"
            )));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

fn signal(pid: u32, signal: Signal) -> io::Result<()> {
    // The child has not been waited for, so its pid cannot belong to another process.
    Ok(kill(Pid::from_raw(pid as i32), signal)?)
}

fn parent() -> io::Result<()> {
    let me = state("self").map_or('?', |s| s);
    println!("this process reads its own /proc/self/stat: {me}");

    let (input, mut to_child) = io::pipe()?;
    let mut child = ChildGuard(
        Command::new(std::env::current_exe()?)
            .args(["--child", "--parent", &process::id().to_string()])
            .stdin(input)
            .spawn()?,
    );
    let pid = child.0.id();
    println!("child {pid}, from /proc/{pid}/stat:");
    // Once it has used CPU time, it is computing, past its start-up.
    let started = Instant::now();
    while cpu_time(&pid.to_string()).unwrap_or(0) == 0 && started.elapsed().as_secs() < 5 {
        thread::sleep(Duration::from_millis(1));
    }
    await_state(pid, 'R', "computing", "running or ready: 执行 / 就绪")?;

    to_child.write_all(b"stop computing\n")?;
    await_state(pid, 'S', "waiting for a line", "sleeping: 等待")?;

    signal(pid, Signal::SIGSTOP)?;
    await_state(pid, 'T', "after SIGSTOP", "stopped")?;
    signal(pid, Signal::SIGCONT)?;
    await_state(pid, 'S', "after SIGCONT", "sleeping: 等待")?;

    to_child.write_all(b"exit\n")?;
    await_state(pid, 'Z', "exited, not waited for", "zombie")?;
    let status = child.0.wait()?;
    match state(&pid.to_string()) {
        None => println!("after wait(): {status}; /proc/{pid} is gone"),
        Some(state) => println!("after wait(): {status}; still there, state {state}"),
    }
    Ok(())
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let result = match args.parent {
        Some(parent_pid) if args.child => {
            die_with_parent(parent_pid);
            child()
        }
        _ => parent(),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
