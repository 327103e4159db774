//! # Pipes between processes, one-way and two-way — PIPE 管道通信
//!
//! From `003_03d5943dc2f4a8db.txt`, 多进程 › PIPE 管道通信.
//!
//! **The Python.** `multiprocessing.Pipe(duplex=False)` returns two connections, the left one
//! only receives and the right one only sends (左收右发). A writer process sends A, B and C two
//! seconds apart; a reader process receives forever, so the parent has to `terminate()` it.
//!
//! **This lesson.** Two runs:
//! 1. One-way: the parent writes A, B and C one tick apart into an OS pipe whose read end is a
//!    child's standard input. When the parent closes its end, the child reads end-of-file and
//!    stops by itself: no `terminate` needed.
//! 2. Two-way: two pipes, one each way. The parent sends A, B and C; the child answers each
//!    through the second pipe, and the parent prints the answers.
//!
//! **Rust differences.** `std::io::pipe()` (Rust 1.87) returns a `PipeReader` and a
//! `PipeWriter`: the direction is in the types, so writing to the read end does not compile,
//! where Python's `duplex=False` fails only when it runs. Python's two-way `Pipe()` is a Unix
//! socket pair (`UnixStream::pair()` in Rust); here two-way is two OS pipes.
//! Reading returns end-of-file only when every copy of the write end is closed. In the notes
//! every process holds both connections, so the reader never sees an end and must be
//! terminated. Here the parent hands the read end to the child as its stdin and keeps no copy;
//! std opens pipes close-on-exec, so no other process inherits one by accident. With two pipes,
//! keep the exchange in step (send one, read one answer): if both sides wrote without reading,
//! both could block once a pipe's buffer (64 KiB on Linux) is full. The child is started by
//! hand, as `spawn_by_hand` shows, because its stdin is the pipe this lesson is about (procspawn
//! and `ipc-channel`, see `queue`, would hide it): this program run again with a hidden `--child`
//! argument; a guard kills and reaps it if the parent fails, and it dies with its parent
//! (`PR_SET_PDEATHSIG`). Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin pipe
//! ```
//!
//! **Output** (the pid varies):
//! ```text
//! --- one-way pipe (duplex=False): the parent writes, a child reads
//! 发送 A 到 pipe...
//! 从 pipe 接受 A .
//! 发送 B 到 pipe...
//! 从 pipe 接受 B .
//! 发送 C 到 pipe...
//! 从 pipe 接受 C .
//! the parent closes its end
//! 读到文件末尾 (end of file): the writer closed the pipe, the reader stops
//! --- two-way: a pipe each way
//! 发送 A 到 pipe...
//! 回复: 收到 A (child 4102)
//! 发送 B 到 pipe...
//! 回复: 收到 B (child 4102)
//! 发送 C 到 pipe...
//! 回复: 收到 C (child 4102)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::{Parser, ValueEnum};
use std::io::{self, BufRead, BufReader, PipeWriter, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{self, Child, Command, ExitCode};
use std::thread;
use std::time::Duration;

/// One-way and two-way pipes between a parent and a child.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as a child process in this role.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<Role>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    /// Prints every line that arrives on stdin.
    Reader,
    /// Answers every line that arrives on stdin, on stdout.
    Answerer,
}

fn reader() -> io::Result<()> {
    for value in io::stdin().lock().lines() {
        println!("从 pipe 接受 {} .", value?);
    }
    println!("读到文件末尾 (end of file): the writer closed the pipe, the reader stops");
    Ok(())
}

fn answerer() -> io::Result<()> {
    // Stdout is the pipe back to the parent here, so this child prints nothing else.
    let mut answers = io::stdout().lock();
    for value in io::stdin().lock().lines() {
        writeln!(answers, "收到 {} (child {})", value?, process::id())?;
        answers.flush()?;
    }
    Ok(())
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        // Killed by SIGPIPE, it printed into a closed stdout: printing ends us the same way.
        if status.signal() == Some(nix::libc::SIGPIPE) {
            println!();
        }
        let failed = format!("child {} failed: {status}", self.0.id());
        match status.success() {
            true => Ok(()),
            false => Err(io::Error::other(failed)),
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

fn child_command(role: &str) -> io::Result<Command> {
    let mut command = Command::new(std::env::current_exe()?);
    command.args(["--child", role, "--parent", &process::id().to_string()]);
    Ok(command)
}

fn send(pipe: &mut PipeWriter, value: &str) -> io::Result<()> {
    println!("发送 {value} 到 pipe...");
    // One write per line: a write of up to 4 KiB to a pipe is never split.
    pipe.write_all(format!("{value}\n").as_bytes())
}

fn one_way(tick: Duration) -> io::Result<()> {
    println!("--- one-way pipe (duplex=False): the parent writes, a child reads");
    let (read_end, mut write_end) = io::pipe()?;
    // The read end moves into the child's stdin; the `Command` holding the parent's copy is a
    // temporary, dropped at the end of this statement.
    let reader = ChildGuard(child_command("reader")?.stdin(read_end).spawn()?);
    for (i, value) in ["A", "B", "C"].into_iter().enumerate() {
        if i > 0 {
            thread::sleep(tick);
        }
        send(&mut write_end, value)?;
    }
    thread::sleep(tick);
    println!("the parent closes its end");
    drop(write_end);
    reader.join()
}

fn two_way() -> io::Result<()> {
    println!("--- two-way: a pipe each way");
    let (child_reads, mut parent_writes) = io::pipe()?;
    let (parent_reads, child_writes) = io::pipe()?;
    let answerer = ChildGuard(
        child_command("answerer")?
            .stdin(child_reads)
            .stdout(child_writes)
            .spawn()?,
    );
    let mut answers = BufReader::new(parent_reads).lines();
    for value in ["A", "B", "C"] {
        send(&mut parent_writes, value)?;
        let answer = answers
            .next()
            .ok_or_else(|| io::Error::other("the child closed its pipe"))??;
        println!("回复: {answer}");
    }
    drop(parent_writes); // end of file for the child: it stops
    answerer.join()
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(role), Some(parent)) => {
            die_with_parent(parent);
            match role {
                Role::Reader => reader(),
                Role::Answerer => answerer(),
            }
        }
        _ => one_way(Duration::from_millis(args.tick_ms)).and_then(|()| two_way()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
