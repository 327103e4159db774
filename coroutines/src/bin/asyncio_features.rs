//! # What an event loop can do — 协程的特性
//!
//! From `002_9dcbaec63db95917.txt`, 协程 › 协程的特性.
//!
//! **The Python.** The notes list, without code, what asyncio's event loop offers: register, run
//! and cancel delayed calls; create clients and servers that talk over the network; start
//! subprocesses and talk to them; send function calls to a thread pool.
//!
//! **This lesson.** Each of the four, on one [tokio] current-thread runtime:
//! 1. *Delayed calls.* asyncio's `loop.call_later(delay, callback)` is no task: it puts a timer
//!    entry on the loop, which calls a plain function when it is due, and `cancel()` on its
//!    handle removes the entry. tokio has no such callback: here it is a task that sleeps, then
//!    calls, and `cancel()` is `JoinHandle::abort()`. One call runs after a tick, the other is
//!    cancelled before its time and never runs.
//! 2. *Client and server.* A TCP echo server on 127.0.0.1 (a free port) and a client, both tasks
//!    on the same thread: the client's text comes back.
//! 3. *Subprocess.* The lesson starts itself again as a child (`--child`, hidden), writes a line
//!    to its stdin and reads its stdout (the child answers in capitals) and its exit status,
//!    without blocking the loop. Its own executable is surely there, on any system.
//! 4. *Thread pool.* `spawn_blocking` runs a blocking job (a one-tick `std::thread::sleep`, then a
//!    sum) on tokio's pool of threads while the loop keeps running: it counts its own wake-ups
//!    meanwhile, which a blocking call on the loop's thread would have made impossible.
//!
//! **Rust differences.** A future runs only while it is polled, so a blocking call inside one
//! stops the whole current-thread runtime, exactly like a blocking call inside an asyncio
//! coroutine; `spawn_blocking` (asyncio's `run_in_executor`) is the way out. Aborting a task
//! drops its future at its next `await`, so cancellation cannot interrupt it between two awaits.
//! The subprocess is a `tokio::process::Command`: `wait_with_output` awaits the child's exit
//! without blocking the thread (on Linux tokio watches the child through a pidfd, or `SIGCHLD`).
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin asyncio_features
//! ```
//!
//! **Output** (the port, the pid, the thread's name and the counts vary):
//! ```text
//! call_later: the callback ran after 1.0 ticks
//! call_later: the other call was cancelled before it ran
//! tcp: the server on 127.0.0.1:40127 echoed "hello, event loop" back to the client
//! subprocess: child 12345 answered "HELLO FROM THE EVENT LOOP" and exited with exit status: 0
//! thread pool: the job returned 500500 from thread "tokio-rt-worker"; the loop woke 5 times meanwhile
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `tokio = { version = "1", features = ["rt", "time", "net", "io-util", "process"] }`,
//! `sigpipe = "0.1"`.
//!
//! [tokio]: https://docs.rs/tokio

use clap::Parser;
use std::io::{self, Read, Write};
use std::process::{ExitCode, Stdio};
use std::thread;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::Command;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

/// Delayed calls, TCP, a subprocess and a thread pool on one event loop.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Run as the subprocess: copy stdin to stdout in capitals.
    #[arg(long, hide = true)]
    child: bool,
}

/// asyncio's `loop.call_later(delay, callback)` as a task (asyncio's is a timer entry, not a
/// task): the handle's `abort()` is `cancel()`.
fn call_later(delay: Duration, callback: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    tokio::spawn(async move {
        sleep(delay).await;
        callback();
    })
}

async fn delayed_calls(tick: Duration) -> io::Result<()> {
    let start = Instant::now();
    let kept = call_later(tick, move || {
        let ticks = start.elapsed().as_secs_f64() / tick.as_secs_f64();
        println!("call_later: the callback ran after {ticks:.1} ticks");
    });
    let cancelled = call_later(2 * tick, || println!("call_later: a cancelled call ran!"));
    cancelled.abort();
    kept.await?;
    if cancelled.await.is_err_and(|e| e.is_cancelled()) {
        println!("call_later: the other call was cancelled before it ran");
    }
    Ok(())
}

async fn tcp_echo() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let (mut from_client, mut to_client) = socket.split();
        tokio::io::copy(&mut from_client, &mut to_client).await // until the client shuts its side
    });

    let mut client = TcpStream::connect(addr).await?;
    client.write_all(b"hello, event loop").await?;
    client.shutdown().await?;
    let mut echoed = String::new();
    client.read_to_string(&mut echoed).await?;
    server.await??;
    println!("tcp: the server on {addr} echoed {echoed:?} back to the client");
    Ok(())
}

async fn subprocess() -> io::Result<()> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true) // should this task fail, the child does not outlive it
        .spawn()?;
    let pid = child.id().unwrap_or_default();
    let mut stdin = child.stdin.take().expect("stdin was piped");
    stdin.write_all(b"hello from the event loop\n").await?;
    drop(stdin); // end of input: the child answers and exits
    let output = child.wait_with_output().await?;
    let answer = String::from_utf8_lossy(&output.stdout);
    println!(
        "subprocess: child {pid} answered {:?} and exited with {}",
        answer.trim_end(),
        output.status
    );
    Ok(())
}

async fn thread_pool(tick: Duration) -> io::Result<()> {
    let job = tokio::task::spawn_blocking(move || {
        thread::sleep(tick); // on the loop's thread this would stop every task for a tick
        let total: u64 = (1..=1000).sum();
        let thread = thread::current().name().unwrap_or("unnamed").to_string();
        (total, thread)
    });
    let mut wake_ups = 0;
    while !job.is_finished() {
        sleep(tick / 5).await;
        wake_ups += 1;
    }
    let (total, thread) = job.await?;
    println!(
        "thread pool: the job returned {total} from thread {thread:?}; the loop woke {wake_ups} times meanwhile"
    );
    Ok(())
}

/// The subprocess's side: stdin to stdout, in capitals.
fn child() -> io::Result<()> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    io::stdout().write_all(input.to_uppercase().as_bytes())
}

/// The four, one after the other, on one current-thread runtime: asyncio's event loop.
fn run(args: Args) -> io::Result<()> {
    if args.child {
        return child();
    }
    let tick = Duration::from_millis(args.tick_ms);
    let event_loop = tokio::runtime::Builder::new_current_thread()
        .enable_all() // timers, sockets, and the watch on a child's exit
        .build()?;
    event_loop.block_on(async {
        delayed_calls(tick).await?;
        tcp_echo().await?;
        subprocess().await?;
        thread_pool(tick).await
    })
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
