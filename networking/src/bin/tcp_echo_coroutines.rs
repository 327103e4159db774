//! # The TCP echo server on coroutines — gevent + accept
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › gevent, where the notes say that blocking calls such
//! as `time.sleep` only let other greenlets run after `monkey.patch_all()`, and that `accept()` on
//! a TCP or UDP socket has no gevent replacement, so a gevent server must patch. That last claim
//! is one of the notes' mistakes: `gevent.socket` is a cooperative drop-in for the `socket`
//! module (its `accept`, `recv` and `recvfrom` park only the calling greenlet), and
//! `gevent.server.StreamServer` (TCP; `DatagramServer` for UDP) serves every client on a greenlet
//! of its own, with nothing patched. `patch_all` is for code you cannot change, such as a library
//! that imports `socket` itself. (UDP has no `accept`; its blocking call is `recvfrom`.)
//!
//! **The Python** (as the notes describe it). `from gevent import monkey; monkey.patch_all()`
//! swaps the `socket` module's blocking calls for cooperative ones; then `accept()` in one
//! greenlet and `recv()` in the others park only their own greenlet, and one OS thread serves
//! every client. Without the patch the first blocking call stops every greenlet.
//!
//! **This lesson.** `tcp_echo_threads` again, with the server on `may` coroutines: an accept loop
//! coroutine and one coroutine per connection, on `--workers` OS threads (default 2). The client
//! is the same, plain std sockets on the main thread (not a coroutine): it opens `--clients`
//! connections at once (default 200), sends on each and reads every echo while all are open,
//! printing what each got back. At that point the server holds every connection on far fewer OS
//! threads; both counts are printed (the threads on Linux, from `/proc`; "unknown" if it is not
//! mounted). Then the client closes them all, and the server is told to stop the same way.
//!
//! **Rust differences.** There is nothing to patch: `may::net::TcpListener` and `TcpStream` are
//! cooperative types of their own. Their `accept`, `read` and `write` try the non-blocking call
//! and, when it would block, park the coroutine and let the worker run another until epoll says the
//! socket is ready. (std's blocking calls are *not* changed: one inside a coroutine blocks its
//! whole worker, like unpatched gevent.) `may::net::TcpListener::bind` is itself built on
//! `socket2`: it sets `SO_REUSEADDR` and, on Unix, `SO_REUSEPORT`, so a second copy of this server
//! on the same port would share it rather than fail. `may::coroutine::scope` is `thread::scope` for
//! coroutines: the server's coroutines borrow the stop flag and the counters, and the scope joins
//! every one of them before it returns. `go!`, and `go!(scope, …)`, hides an `unsafe` spawn: may
//! cannot promise safety, because a coroutine that keeps a reference to a thread-local across a
//! yield may find it belongs to another worker by then (may issue #109). The `unsafe_code` lint
//! (denied in this workspace) does not look inside another crate's macro, so this file needs no
//! `allow`; it is sound because its coroutines use no thread-locals. Their stacks are small (32 KiB
//! by default) and these need little (a 1 KiB buffer); an overflow would not corrupt memory either:
//! may's stacks (from the `generator` crate) have a guard page whose `SIGSEGV` handler reports the
//! overflow and ends that coroutine as if it had panicked, its destructors unrun, while the program
//! goes on (`gevent_spawn --overflow` shows it).
//!
//! **Run it:**
//! ```text
//! cargo run -p networking --bin tcp_echo_coroutines
//! cargo run -p networking --bin tcp_echo_coroutines -- --clients 400 --workers 1
//! ```
//!
//! **Output** (the port varies; the thread count is main, the workers and may's timer thread):
//! ```text
//! server: listening on 127.0.0.1:40123, a coroutine per connection
//! client: 200 connections open at once, a message sent on each
//! client 0 got back: 你好 from client 0
//! ...
//! client 199 got back: 你好 from client 199
//! client: all 200 echoed while open; server connections open now: 200, OS threads: 4
//! server: told to stop; served 200 connections, at most 200 at once; worker threads: 2
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `may = "0.3"`,
//! `sigpipe = "0.1"`.

use clap::Parser;
use may::go;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A coroutine-per-connection echo server and a client with many connections.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// The server's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Connections the client opens at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u16).range(1..=1000))]
    clients: u16,
    /// OS threads that run the coroutines.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    workers: u16,
}

/// A client waits this many ticks for an echo before it gives up.
const ECHO_TIMEOUT_TICKS: u32 = 10;

/// Connections open now, and the most that were open at once.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> io::Result<()> {
    may::config().set_workers(args.workers.into());
    let listener = may::net::TcpListener::bind(args.bind)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {}: {e}", args.bind)))?;
    let addr = listener.local_addr()?;
    println!("server: listening on {addr}, a coroutine per connection");
    let timeout = Duration::from_millis(args.tick_ms) * ECHO_TIMEOUT_TICKS;
    let (stop, gauge) = (AtomicBool::new(false), Gauge::default());

    may::coroutine::scope(|s| {
        let server = go!(s, || serve(&listener, &stop, &gauge));
        let clients = clients(addr, args.clients.into(), timeout, &gauge);
        // Tell the server to stop, then wake its `accept` with one last connection.
        stop.store(true, Ordering::SeqCst);
        let woken = TcpStream::connect(addr);
        let served = server.join();
        clients?;
        woken?;
        println!(
            "server: told to stop; served {} connections, at most {} at once; worker threads: {}",
            served?,
            gauge.max.load(Ordering::SeqCst),
            args.workers
        );
        Ok(())
    })
}

/// Accepts until told to stop, a coroutine per connection; returns how many it served.
fn serve(listener: &may::net::TcpListener, stop: &AtomicBool, gauge: &Gauge) -> io::Result<usize> {
    may::coroutine::scope(|s| {
        let mut served = 0;
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break; // this was the wake-up connection
            }
            let stream = stream?;
            served += 1;
            let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.max.fetch_max(now, Ordering::SeqCst);
            go!(s, move || {
                // A connection that fails has nothing to clean up: its client sees the error.
                let _ = echo(stream);
                gauge.now.fetch_sub(1, Ordering::SeqCst);
            });
        }
        Ok(served)
    })
}

/// Reads until the client's end of stream, writing each chunk back.
fn echo(mut stream: may::net::TcpStream) -> io::Result<()> {
    let mut buf = [0; 1024];
    loop {
        match stream.read(&mut buf)? {
            0 => return Ok(()),
            n => stream.write_all(&buf[..n])?,
        }
    }
}

fn message(id: usize) -> String {
    format!("你好 from client {id}")
}

/// Opens `count` connections at once, sends on each, reads every echo while all are open.
fn clients(addr: SocketAddr, count: usize, timeout: Duration, gauge: &Gauge) -> io::Result<()> {
    let mut streams = Vec::with_capacity(count);
    for id in 0..count {
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.write_all(message(id).as_bytes())?;
        streams.push(stream);
    }
    println!("client: {count} connections open at once, a message sent on each");

    for (id, stream) in streams.iter_mut().enumerate() {
        let mut echo = vec![0; message(id).len()];
        stream.read_exact(&mut echo)?;
        println!("client {id} got back: {}", String::from_utf8_lossy(&echo));
    }
    let threads = os_threads();
    println!(
        "client: all {count} echoed while open; server connections open now: {}, OS threads: {threads}",
        gauge.now.load(Ordering::SeqCst)
    );
    // Close every connection: each server connection reads end of stream and ends.
    drop(streams);
    Ok(())
}

/// The process's OS threads, from Linux's `/proc/self/task`; a note where that cannot be read
/// (no `/proc` mounted, or not Linux), so the lesson still runs.
fn os_threads() -> String {
    match std::fs::read_dir("/proc/self/task") {
        Ok(tasks) => tasks.count().to_string(),
        Err(e) => format!("unknown (/proc/self/task: {e})"),
    }
}
