//! # A TCP echo server, a thread per connection — tcp accept
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › gevent, the remark that `accept()` on a TCP socket
//! blocks. The notes show no TCP program; this is the plain threaded server that remark assumes,
//! and the one `tcp_echo_coroutines` rebuilds on coroutines.
//!
//! **The Python** (as the notes imply it). `accept()` blocks until a client connects; a server
//! that must serve many clients at once hands each accepted socket to a new thread, which echoes
//! what it reads until the client closes.
//!
//! **This lesson.** The server: a listener, an accept loop on its own thread, and one thread per
//! connection that echoes until end of stream. The listener is made with `socket2` for the one
//! thing std does not offer: a backlog of 1024 waiting connections, for up to 1000 clients
//! connecting at once (std's `TcpListener::bind` listens with 128). It also sets `SO_REUSEADDR`,
//! as std's `bind` does by itself on Unix, so a restart on the same port does not wait for
//! `TIME_WAIT` (see `socket_options`). The client, on the main thread: it opens `--clients`
//! connections at once, sends a different message on each and reads every echo, printing what
//! each got back, while all of them are still open. At that point it prints how many connections
//! the server holds and how many OS threads the process has (Linux, from `/proc`; "unknown" if
//! it is not mounted): one per connection, plus main and the accept loop. Then it closes them
//! all. Last, the server is told to stop: a flag, and one more connection to wake the blocked
//! `accept`; it waits for its connection threads and says how many it served.
//!
//! **Rust differences.** `&TcpStream` is both `Read` and `Write`, so a connection echoes itself
//! with `io::copy(&mut &stream, &mut &stream)`. `thread::scope` lets the server's threads borrow
//! the stop flag and the counters, and joins every one of them before `main` goes on. A thread
//! blocked in `accept` cannot be interrupted, hence the flag plus a wake-up connection.
//!
//! **Run it:**
//! ```text
//! cargo run -p networking --bin tcp_echo_threads
//! cargo run -p networking --bin tcp_echo_threads -- --clients 100 --bind 127.0.0.1:7878
//! ```
//!
//! **Output** (the port varies; "got back" lines are in client order):
//! ```text
//! server: listening on 127.0.0.1:40123, a thread per connection
//! client: 20 connections open at once, a message sent on each
//! client 0 got back: 你好 from client 0
//! ...
//! client 19 got back: 你好 from client 19
//! client: all 20 echoed while open; server connections open now: 20, OS threads: 22
//! server: told to stop; served 20 connections, at most 20 at once
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `socket2 = "0.6"`,
//! `sigpipe = "0.1"`.

use clap::Parser;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// A thread-per-connection echo server and a client with many connections.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// The server's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Connections the client opens at once.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=1000))]
    clients: u16,
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

fn listen(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?; // what std's bind does on Unix
    socket
        .bind(&addr.into())
        .map_err(|e| io::Error::new(e.kind(), format!("cannot bind {addr}: {e}")))?;
    socket.listen(1024)?; // std's bind listens with 128
    Ok(socket.into())
}

fn run(args: &Args) -> io::Result<()> {
    let listener = listen(args.bind)?;
    let addr = listener.local_addr()?;
    println!("server: listening on {addr}, a thread per connection");
    let timeout = Duration::from_millis(args.tick_ms) * ECHO_TIMEOUT_TICKS;
    let (stop, gauge) = (AtomicBool::new(false), Gauge::default());

    thread::scope(|s| {
        let server = s.spawn(|| serve(&listener, &stop, &gauge));
        let clients = clients(addr, args.clients.into(), timeout, &gauge);
        // Tell the server to stop, then wake its `accept` with one last connection.
        stop.store(true, Ordering::SeqCst);
        let woken = TcpStream::connect(addr);
        let served = server.join().expect("the server thread panicked");
        clients?;
        woken?;
        println!(
            "server: told to stop; served {} connections, at most {} at once",
            served?,
            gauge.max.load(Ordering::SeqCst)
        );
        Ok(())
    })
}

/// Accepts until told to stop, a thread per connection; returns how many it served.
fn serve(listener: &TcpListener, stop: &AtomicBool, gauge: &Gauge) -> io::Result<usize> {
    thread::scope(|s| {
        let mut served = 0;
        for stream in listener.incoming() {
            if stop.load(Ordering::SeqCst) {
                break; // this was the wake-up connection
            }
            let stream = stream?;
            served += 1;
            let now = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.max.fetch_max(now, Ordering::SeqCst);
            // A Builder, so that a thread the OS refuses is an error, not a panic.
            thread::Builder::new().spawn_scoped(s, move || {
                // Read until the client's end of stream, writing each chunk back.
                let echoed = io::copy(&mut &stream, &mut &stream);
                gauge.now.fetch_sub(1, Ordering::SeqCst);
                echoed
            })?;
        }
        Ok(served)
    })
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
