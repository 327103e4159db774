//! # A bounded queue between two processes — 进程通信 Queue
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
//! **This lesson.** Four short runs, each with a producer process and a consumer process:
//! 1. `Queue(24)`, 1 to 6: the producer exits after its last put; the consumer still gets every
//!    item, in order, and then sees that the queue is closed: the end is a fact, not a guess.
//! 2. `Queue(24)`, A, B, C one tick apart: the writer stays alive but sends nothing more, and the
//!    reader's `get` with a timeout of 2 ticks gives up, as in 000.
//! 3. `Queue(2)`: the consumer starts late, the queue fills, and the producer's third `put`
//!    waits until the consumer takes an item.
//! 4. The producer is killed (`kill -9`) while the consumer waits with a long timeout: the
//!    consumer sees the end at once instead of hanging.
//!
//! **Rust differences.** std has no cross-process queue, so this file builds one, small, the way
//! Python's works underneath: Python's `Queue` is a pipe for the pickled items plus a semaphore
//! that counts free places. Here the two processes share a Unix socket pair: items go one way as
//! JSON lines (serde), and for every item it takes, the consumer sends one byte back. The
//! producer starts with `capacity` places and spends one per `put`; with none left, `put` reads,
//! and so waits, for a byte: a semaphore made of bytes, the trick GNU make's jobserver uses.
//! Because only the two children hold the socket, each learns when the other is gone: the
//! consumer reads end-of-stream after the last item, the producer gets an error. The queue
//! connects one producer with one consumer; for many of each, Python adds locks, and Rust
//! programs usually reach for a server process (see `manager`) or a crate such as `ipc-channel`.
//! Each child is this program run again with a hidden `--child` argument holding its role as
//! JSON, and gets its end of the socket as its standard input (`Command` hands a child only fds
//! 0, 1 and 2; std opens every other fd close-on-exec); standard output stays shared for
//! printing. Guards kill and reap the children if the parent fails, and each child dies with
//! its parent (`PR_SET_PDEATHSIG`). Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin queue
//! ```
//!
//! **Output** (shortened; lines of the two processes may interleave differently, the items
//! always arrive in order):
//! ```text
//! --- Queue(24): the producer puts 1 to 6 and exits
//! 发送 1 到 queue...
//! ...
//! 从 queue 接受 1 .
//! ...
//! 从 queue 接受 6 .
//! 不生产了，散了散了 (the queue is closed: the producer is gone and every item was taken)
//! --- Queue(24): A, B, C one tick apart, then the writer sends nothing more
//! 发送 A 到 queue...
//! 从 queue 接受 A .
//! ...
//! 不生产了，散了散了 (nothing for 2 ticks)
//! --- Queue(2): the consumer starts late, so put waits while the queue is full
//! 发送 1 到 queue...
//! 发送 2 到 queue...
//! queue 满了 (2 个), 3 等着...
//! the consumer starts taking items
//! 从 queue 接受 1 .
//! 发送 3 到 queue...
//! ...
//! --- kill -9 the producer while the consumer waits
//! 发送 X 到 queue...
//! 从 queue 接受 X .
//! kill -9 4107
//! 不生产了，散了散了 (the queue is closed: the producer is gone and every item was taken)
//! the producer ended: signal: 9 (SIGKILL)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{self, Child, Command, ExitCode, ExitStatus, Stdio};
use std::thread;
use std::time::Duration;

/// A bounded queue between a producer process and a consumer process.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Internal: run as a child process; the JSON is its role.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// What a child does. Times are in ticks.
#[derive(Serialize, Deserialize)]
enum Role {
    /// Puts each item, `gap` apart, then stays `linger` before it exits.
    Producer {
        capacity: usize,
        items: Vec<String>,
        gap: f64,
        linger: f64,
    },
    /// Starts `late`, gets items with a `timeout`, rests `pause` after each.
    Consumer { late: f64, timeout: f64, pause: f64 },
}

/// The producer's end of the queue.
struct QueueSender {
    socket: UnixStream,
    /// Free places the producer knows of. The consumer frees one per item it takes.
    places: usize,
}

impl QueueSender {
    fn new(socket: UnixStream, capacity: usize) -> Self {
        QueueSender {
            socket,
            places: capacity,
        }
    }

    /// Counts the places the consumer has freed; if `wait`, waits until it frees one.
    fn collect_freed(&mut self, wait: bool) -> io::Result<()> {
        self.socket.set_nonblocking(!wait)?;
        let mut freed = [0; 64];
        let read = self.socket.read(&mut freed);
        self.socket.set_nonblocking(false)?;
        match read {
            Ok(0) => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the consumer is gone",
            )),
            Ok(n) => {
                self.places += n;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn is_full(&mut self) -> io::Result<bool> {
        if self.places == 0 {
            self.collect_freed(false)?;
        }
        Ok(self.places == 0)
    }

    /// Python's `q.put(item)`: waits while the queue is full.
    fn put<T: Serialize>(&mut self, item: &T) -> io::Result<()> {
        while self.places == 0 {
            self.collect_freed(true)?;
        }
        self.places -= 1;
        let mut line = serde_json::to_string(item)?;
        line.push('\n');
        // One write per item, so the consumer never sees half of one.
        self.socket.write_all(line.as_bytes())
    }
}

/// The consumer's end of the queue.
struct QueueReceiver {
    items: BufReader<UnixStream>,
    freed: UnixStream,
}

/// Why `get` returned no item.
enum GetError {
    /// Nothing arrived within the timeout (Python raises `queue.Empty`).
    Empty,
    /// The producer is gone and every item it put has been taken: nothing more can come.
    Closed,
    Failed(io::Error),
}

impl From<io::Error> for GetError {
    fn from(e: io::Error) -> Self {
        GetError::Failed(e)
    }
}

impl QueueReceiver {
    fn new(socket: UnixStream) -> io::Result<Self> {
        Ok(QueueReceiver {
            freed: socket.try_clone()?,
            items: BufReader::new(socket),
        })
    }

    /// Python's `q.get(timeout=...)`.
    fn get<T: DeserializeOwned>(&mut self, timeout: Duration) -> Result<T, GetError> {
        self.items.get_ref().set_read_timeout(Some(timeout))?;
        let mut line = String::new();
        match self.items.read_line(&mut line) {
            Ok(_) if line.ends_with('\n') => {
                // Free the place. A producer that is gone needs no places, so an error is fine.
                let _ = self.freed.write_all(&[1]);
                serde_json::from_str(&line).map_err(|e| GetError::Failed(e.into()))
            }
            Ok(_) => Err(GetError::Closed),
            // A producer that exits without collecting every freed place closes its socket with
            // unread bytes in it, and Linux reports that as a reset instead of end-of-stream.
            Err(e) if e.kind() == io::ErrorKind::ConnectionReset => Err(GetError::Closed),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Err(GetError::Empty)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// The child's end of the socket pair is its standard input.
fn socket_on_stdin() -> io::Result<UnixStream> {
    Ok(UnixStream::from(io::stdin().as_fd().try_clone_to_owned()?))
}

fn producer(capacity: usize, items: &[String], gap: Duration, linger: Duration) -> io::Result<()> {
    let mut queue = QueueSender::new(socket_on_stdin()?, capacity);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            thread::sleep(gap);
        }
        if queue.is_full()? {
            println!("queue 满了 ({capacity} 个), {item} 等着...");
        }
        queue.put(item)?;
        println!("发送 {item} 到 queue...");
    }
    thread::sleep(linger);
    Ok(())
}

fn consumer(late: Duration, timeout: Duration, pause: Duration, tick: Duration) -> io::Result<()> {
    let mut queue = QueueReceiver::new(socket_on_stdin()?)?;
    if !late.is_zero() {
        thread::sleep(late);
        println!("the consumer starts taking items");
    }
    loop {
        match queue.get::<String>(timeout) {
            Ok(item) => {
                println!("从 queue 接受 {item} .");
                thread::sleep(pause);
            }
            Err(GetError::Empty) => {
                let ticks = timeout.as_secs_f64() / tick.as_secs_f64();
                println!("不生产了，散了散了 (nothing for {ticks:.0} ticks)");
                return Ok(());
            }
            Err(GetError::Closed) => {
                println!(
                    "不生产了，散了散了 (the queue is closed: the producer is gone and every item was taken)"
                );
                return Ok(());
            }
            Err(GetError::Failed(e)) => return Err(e),
        }
    }
}

fn child(role: Role, tick: Duration) -> io::Result<()> {
    let ticks = |n: f64| tick.mul_f64(n);
    match role {
        Role::Producer {
            capacity,
            items,
            gap,
            linger,
        } => producer(capacity, &items, ticks(gap), ticks(linger)),
        Role::Consumer {
            late,
            timeout,
            pause,
        } => consumer(ticks(late), ticks(timeout), ticks(pause), tick),
    }
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
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

    /// `kill -9` and reap.
    fn kill(mut self) -> io::Result<ExitStatus> {
        self.0.kill()?;
        self.0.wait()
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

/// Runs this program again as a child with `role`, its end of the queue on its stdin.
fn start(role: &Role, end: UnixStream, tick_ms: u64) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &serde_json::to_string(role)?])
        .args(["--parent", &process::id().to_string()])
        .args(["--tick-ms", &tick_ms.to_string()])
        .stdin(Stdio::from(OwnedFd::from(end)))
        .spawn()?;
    // The `Command`, and with it the parent's copy of `end`, is dropped here: only the child
    // holds this end now, so the other side sees end-of-stream when the child exits.
    Ok(ChildGuard(child))
}

/// Starts a producer and a consumer joined by a new queue.
fn start_pair(
    producer: &Role,
    consumer: &Role,
    tick_ms: u64,
) -> io::Result<(ChildGuard, ChildGuard)> {
    let (producer_end, consumer_end) = UnixStream::pair()?;
    let producer = start(producer, producer_end, tick_ms)?;
    let consumer = start(consumer, consumer_end, tick_ms)?;
    Ok((producer, consumer))
}

fn strings<T: ToString>(items: impl IntoIterator<Item = T>) -> Vec<String> {
    items.into_iter().map(|item| item.to_string()).collect()
}

fn parent(tick_ms: u64) -> io::Result<()> {
    let tick = Duration::from_millis(tick_ms);

    println!("--- Queue(24): the producer puts 1 to 6 and exits");
    let (producer, consumer) = start_pair(
        &Role::Producer {
            capacity: 24,
            items: strings(1..=6),
            gap: 0.0,
            linger: 0.0,
        },
        &Role::Consumer {
            late: 0.0,
            timeout: 3.0,
            pause: 0.5,
        },
        tick_ms,
    )?;
    producer.join()?;
    consumer.join()?;

    println!("--- Queue(24): A, B, C one tick apart, then the writer sends nothing more");
    let (writer, reader) = start_pair(
        &Role::Producer {
            capacity: 24,
            items: strings(["A", "B", "C"]),
            gap: 1.0,
            linger: 3.0,
        },
        &Role::Consumer {
            late: 0.0,
            timeout: 2.0,
            pause: 0.0,
        },
        tick_ms,
    )?;
    reader.join()?;
    writer.join()?;

    println!("--- Queue(2): the consumer starts late, so put waits while the queue is full");
    let (producer, consumer) = start_pair(
        &Role::Producer {
            capacity: 2,
            items: strings(1..=5),
            gap: 0.0,
            linger: 0.0,
        },
        &Role::Consumer {
            late: 1.0,
            timeout: 3.0,
            pause: 0.0,
        },
        tick_ms,
    )?;
    producer.join()?;
    consumer.join()?;

    println!("--- kill -9 the producer while the consumer waits");
    let (producer, consumer) = start_pair(
        &Role::Producer {
            capacity: 24,
            items: strings(["X"]),
            gap: 0.0,
            linger: 100.0,
        },
        &Role::Consumer {
            late: 0.0,
            timeout: 100.0,
            pause: 0.0,
        },
        tick_ms,
    )?;
    thread::sleep(tick);
    println!("kill -9 {}", producer.0.id());
    println!("the producer ended: {}", producer.kill()?);
    consumer.join()?;
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .and_then(|role| child(role, Duration::from_millis(args.tick_ms)))
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
