//! # A bounded queue between processes — 进程通信 Queue
//!
//! From `000_d2cd84fa43d5f45e.txt` (多进程 › 进程通信), `003_03d5943dc2f4a8db.txt` (多进程 ›
//! Queue进程通信) and `004_599445cc4c65b15e.txt` (多进程之间通过Queue()实现数据共享).
//!
//! **The Python.** A `multiprocessing.Queue(24)` is handed to two processes. In 000 the producer
//! puts 1 to 6 and stops; the consumer takes items with `get(timeout=3)` and, when the timeout
//! raises, prints 不生产了，散了散了 and quits. In 003 a writer puts A, B and C two seconds apart
//! and an endless reader prints them, so the parent has to `terminate()` it. In 004 the reader
//! stops as soon as `q.empty()` is true, which is a race: the queue is also empty whenever the
//! reader is faster than the writer, so it can stop before the last item is put.
//!
//! **This lesson.** Four short runs:
//! 1. `Queue(24)`, 1 to 6: the producer exits after its last put; the consumer still gets every
//!    item, in order, and then sees that the queue is closed: the end is a fact, not a guess.
//! 2. A, B, C one tick apart, while the parent keeps the queue open: the reader's `get` with a
//!    timeout of 3 ticks gives up, as in 000.
//! 3. `Queue(2)`: the parent puts 1 and 2; `put_nowait(3)` finds the queue full; only then does
//!    it start the consumer, and its `put(3)` blocks until the consumer has taken an item.
//! 4. The producer is killed (`kill -9`) while the parent waits with a timeout of 100 ticks: the
//!    parent sees the end at once instead of waiting out the timeout.
//!
//! **Rust differences.** The queue is built on `ipc-channel` (Servo's channels between
//! processes): an `IpcSender` or `IpcReceiver` can be passed to a child as a `procspawn::spawn`
//! argument, like a `Queue` passed in `args=`. Its file descriptor travels with it, the parent's
//! copy is gone once sent, and when every sender is gone a receiver reads `Disconnected`: that is
//! the closed queue of runs 1 and 4. An ipc-channel is not bounded by a count of items: a send
//! blocks only when the kernel's socket buffer is full, a number of bytes
//! (`/proc/sys/net/core/wmem_default`). So `Queue(maxsize)` here is two channels, the way
//! Python's is a pipe plus a semaphore: one carries the items, the other holds `maxsize` tokens,
//! one free place each. `put` takes a token (waiting for one if there is none, which is real
//! blocking in `recv`) and `get` gives it back. The items cross through serde (postcard); use
//! the ipc-channel version procspawn itself depends on, or a channel end passed as an argument
//! does not deserialise in the child: only procspawn 1.0.2 uses ipc-channel 0.22 (1.0.0 uses
//! 0.16, 1.0.1 uses 0.18), so the lines below pin `=1.0.2`. Every child dies with its parent
//! (`PR_SET_PDEATHSIG`, asked for in a hook of `procspawn::init`). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin queue`
//!
//! **Output** (shortened; lines of two processes may interleave differently, the items always
//! arrive in order):
//! ```text
//! --- Queue(24): the producer puts 1 to 6 and exits
//! 发送 1 到 queue...
//! 从 queue 接受 1 .
//! ...
//! 不生产了，散了散了 (the queue is closed: every producer is gone and every item was taken)
//! --- Queue(24): A, B, C one tick apart, then nothing more while the queue stays open
//! ...
//! 不生产了，散了散了 (nothing for 3 ticks)
//! --- Queue(2): the parent fills it, then starts the consumer and waits to put 3
//! 发送 1 到 queue...
//! 发送 2 到 queue...
//! queue 满了 (2 个), 3 等着: the parent starts the consumer
//! 从 queue 接受 1 .
//! 发送 3 到 queue...
//! ...
//! --- kill -9 the producer while the parent waits for an item
//! 发送 X 到 queue...
//! 从 queue 接受 X .
//! kill -9 4107
//! 不生产了，散了散了 (the queue is closed: every producer is gone and every item was taken)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `ipc-channel = "0.22"`, `serde = { version = "1", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use ipc_channel::{IpcError, TryRecvError};
use nix::sys::signal::Signal;
use procspawn::SpawnError;
use serde::{Deserialize, Serialize};
use std::error::Error;
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

/// Items pass between processes through a bounded queue.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
}

/// The putting end of a `Queue(maxsize)`: the items go out on the first channel, and a put
/// first takes one of the free-place tokens that wait on the second.
#[derive(Serialize, Deserialize)]
struct Putter(IpcSender<String>, IpcReceiver<()>);

/// The getting end: a get hands its place back.
#[derive(Serialize, Deserialize)]
struct Getter(IpcReceiver<String>, IpcSender<()>);

fn queue(maxsize: usize) -> Result<(Putter, Getter), Box<dyn Error>> {
    let ((items_in, items_out), (free_in, free_out)) = (ipc::channel()?, ipc::channel()?);
    for _ in 0..maxsize {
        free_in.send(())?;
    }
    Ok((Putter(items_in, free_out), Getter(items_out, free_in)))
}

impl Putter {
    /// Waits while the queue is full, then puts.
    fn put(&self, item: &str) -> Result<(), IpcError> {
        self.1.recv()?;
        println!("发送 {item} 到 queue...");
        self.0.send(item.to_string())
    }

    /// Python's `put_nowait`: `Ok(false)` when the queue is full.
    fn put_nowait(&self, item: &str) -> Result<bool, IpcError> {
        match self.1.try_recv() {
            Ok(()) => self.0.send(item.to_string()).map(|()| true),
            Err(TryRecvError::Empty) => Ok(false),
            Err(TryRecvError::IpcError(e)) => Err(e),
        }
    }
}

/// A child producer: puts the items, each followed by a pause of `gap`.
fn producer((putter, items, gap): (Putter, Vec<String>, Duration)) -> Result<(), String> {
    for item in items {
        putter.put(&item).map_err(|e| e.to_string())?;
        thread::sleep(gap);
    }
    Ok(())
}

/// A consumer: takes items until the queue is closed or stays empty for `timeout` ticks.
fn consumer((getter, timeout, tick_ms): (Getter, u32, u64)) {
    loop {
        match getter
            .0
            .try_recv_timeout(Duration::from_millis(tick_ms) * timeout)
        {
            Ok(item) => {
                println!("从 queue 接受 {item} .");
                let _ = getter.1.send(()); // its place is free again; the putter may be gone
            }
            Err(TryRecvError::Empty) => {
                return println!("不生产了，散了散了 (nothing for {timeout} ticks)");
            }
            Err(TryRecvError::IpcError(_)) => {
                let why = "the queue is closed: every producer is gone and every item was taken";
                return println!("不生产了，散了散了 ({why})");
            }
        }
    }
}

fn run(tick_ms: u64) -> Result<(), Box<dyn Error>> {
    let items = |list: &str| list.split(' ').map(String::from).collect::<Vec<_>>();
    let ticks = |n| Duration::from_millis(tick_ms) * n;

    println!("--- Queue(24): the producer puts 1 to 6 and exits");
    let (putter, getter) = queue(24)?;
    let producing = procspawn::spawn((putter, items("1 2 3 4 5 6"), ticks(0)), producer);
    procspawn::spawn((getter, 100, tick_ms), consumer).join()?;
    producing.join()??;

    println!("--- Queue(24): A, B, C one tick apart, then nothing more while the queue stays open");
    let (putter, getter) = queue(24)?;
    let keep_open = putter.0.clone();
    let producing = procspawn::spawn((putter, items("A B C"), ticks(1)), producer);
    procspawn::spawn((getter, 3, tick_ms), consumer).join()?;
    producing.join()??;
    drop(keep_open);

    println!("--- Queue(2): the parent fills it, then starts the consumer and waits to put 3");
    let (putter, getter) = queue(2)?;
    putter.put("1")?;
    putter.put("2")?;
    if !putter.put_nowait("3")? {
        println!("queue 满了 (2 个), 3 等着: the parent starts the consumer");
    }
    let consuming = procspawn::spawn((getter, 100, tick_ms), consumer);
    for item in ["3", "4", "5"] {
        putter.put(item)?; // 3 waits until the consumer has taken 1
    }
    drop(putter); // closes the queue: the consumer stops after the last item
    consuming.join()?;

    println!("--- kill -9 the producer while the parent waits for an item");
    let (putter, getter) = queue(24)?;
    let mut producing = procspawn::spawn((putter, items("X"), ticks(100)), producer);
    let pid = producing.pid().ok_or("the producer has no pid")?;
    println!("从 queue 接受 {} .", getter.0.recv()?);
    println!("kill -9 {pid}");
    producing.kill()?; // SIGKILL, then reaps it
    consumer((getter, 100, tick_ms));
    Ok(())
}

/// The hook procspawn runs first in every child: Linux kills the child when its parent dies,
/// and a closed stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGKILL);
    sigpipe::reset();
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
}

fn main() -> ExitCode {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    procspawn::ProcConfig::new().config_callback(child).init();
    sigpipe::reset();
    if let Err(e) = run(Args::parse().tick_ms) {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
