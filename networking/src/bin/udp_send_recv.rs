//! # A UDP sender process and a receiver process — 解2 无交互发送接收
//!
//! From `004_599445cc4c65b15e.txt`, 作业 › 多线程聊天器 › 解2 无交互发送接收.
//!
//! **The Python.** Two `multiprocessing.Process`es. `send_msg` binds a UDP socket to
//! 127.0.0.1:2400, sends `'你好'.encode('gbk')` to 127.0.0.1:2399, prints 已发送消息 and closes.
//! `recv_msg` binds 127.0.0.1:2399, waits for one datagram with `recvfrom(1024)` and prints the
//! decoded text and the sender's address. `main` starts the sender *first* and joins neither.
//! That is a race: if the datagram arrives before the receiver has bound its port, the kernel
//! drops it (UDP keeps nothing for a port nobody holds) and the receiver waits forever.
//!
//! **This lesson.** The same two processes. The receiver binds first and tells the parent the
//! address it is bound to; only then does the parent start the sender, so the datagram always
//! finds its receiver. The parent joins both. The receiver gives up after 10 ticks instead of
//! waiting forever. `--receiver 127.0.0.1:0` lets the system choose a free port; the sender is
//! told the real one. `--sender-first` shows the notes' race at its worst: the sender runs and
//! ends before the receiver starts, the datagram is lost, and the receiver gives up.
//!
//! **Rust differences.** The processes are started with `procspawn::spawn(args, f)`, Python's
//! `Process(target=f, args=...)`: `procspawn::init()` comes first in `main`, because a child is
//! this program run again and runs `f` there; `f` is a plain `fn`, and its arguments and result
//! cross through serde. The receiver's "I am bound" message travels on an `ipc-channel` whose
//! sending end is one of its arguments: the parent waits on it, an event, not a guess. A bind
//! error comes back as the child's result, and the parent prints it as one line. procspawn does
//! not tie a child to its parent, so a hook in `init` asks Linux to kill each child when the
//! parent dies, even by `kill -9` (`PR_SET_PDEATHSIG`): a waiting receiver never outlives its
//! parent, holding its port. std's `UdpSocket` does it all here: `bind`, `set_read_timeout`,
//! `send_to`, `recv_from`. Python's `str.encode('gbk')` is `encoding_rs::GBK.encode`; decoding
//! never fails, bytes that are not GBK become U+FFFD (�) and the line says so. Linux only (the
//! hook).
//!
//! **Run it:**
//! ```text
//! cargo run -p networking --bin udp_send_recv
//! cargo run -p networking --bin udp_send_recv -- --receiver 127.0.0.1:0 --sender 127.0.0.1:0
//! cargo run -p networking --bin udp_send_recv -- --sender-first
//! ```
//!
//! **Output** (the pids vary):
//! ```text
//! receiver (pid 4242) bound to 127.0.0.1:2399
//! sender (pid 4243) bound to 127.0.0.1:2400
//! sender (pid 4243): 已发送消息 (4 bytes of GBK to 127.0.0.1:2399)
//! receiver (pid 4242): 接收消息: 你好 来源: 127.0.0.1:2400
//! parent (pid 4241): joined the receiver and the sender
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `ipc-channel = "0.22"`, `encoding_rs = "0.8"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::{CommandFactory, Parser};
use encoding_rs::GBK;
use ipc_channel::ipc::{self, IpcSender};
use procspawn::SpawnError;
use std::error::Error;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::process::{self, ExitCode};
use std::time::Duration;

/// A UDP sender process sends 你好 in GBK to a receiver process.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// The receiver's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:2399")]
    receiver: SocketAddr,
    /// The sender's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:2400")]
    sender: SocketAddr,
    /// Run the sender to its end before the receiver starts, as the notes' race may.
    #[arg(long)]
    sender_first: bool,
}

const MESSAGE: &str = "你好";
/// The receiver stops waiting after this many ticks: UDP may lose a datagram.
const RECEIVE_TIMEOUT_TICKS: u32 = 10;

fn bind(role: &str, addr: SocketAddr) -> Result<UdpSocket, String> {
    UdpSocket::bind(addr).map_err(|e| format!("{role}: cannot bind {addr}: {e}"))
}

/// The receiver process: binds, tells the parent where, and waits for one datagram.
fn receive((addr, tick_ms, bound): (SocketAddr, u64, IpcSender<SocketAddr>)) -> Result<(), String> {
    let socket = bind("receiver", addr)?;
    let io_error = |e: io::Error| format!("receiver: {e}");
    let timeout = Duration::from_millis(tick_ms) * RECEIVE_TIMEOUT_TICKS;
    socket.set_read_timeout(Some(timeout)).map_err(io_error)?;
    let me = format!("receiver (pid {})", process::id());
    let local = socket.local_addr().map_err(io_error)?;
    println!("{me} bound to {local}");
    bound.send(local).map_err(|e| e.to_string())?;
    let mut buf = [0; 1024];
    let (len, from) = socket.recv_from(&mut buf).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
            format!("receiver: no datagram within {RECEIVE_TIMEOUT_TICKS} ticks")
        }
        _ => io_error(e),
    })?;
    let (text, undecodable) = GBK.decode_without_bom_handling(&buf[..len]);
    let marker = if undecodable {
        " (bytes that are not GBK shown as �)"
    } else {
        ""
    };
    println!("{me}: 接收消息: {text} 来源: {from}{marker}");
    Ok(())
}

/// The sender process: binds and sends 你好 in GBK to `to`.
fn send((addr, to): (SocketAddr, SocketAddr)) -> Result<(), String> {
    let socket = bind("sender", addr)?;
    let me = format!("sender (pid {})", process::id());
    let io_error = |e: io::Error| format!("sender: {e}");
    println!("{me} bound to {}", socket.local_addr().map_err(io_error)?);
    let (bytes, _, _) = GBK.encode(MESSAGE);
    socket.send_to(&bytes, to).map_err(io_error)?;
    println!("{me}: 已发送消息 ({} bytes of GBK to {to})", bytes.len());
    Ok(())
}

fn parent(args: &Args) -> Result<(), Box<dyn Error>> {
    if args.sender_first {
        procspawn::spawn((args.sender, args.receiver), send).join()??;
    }
    let (bound, bound_to) = ipc::channel()?;
    let receiver = procspawn::spawn((args.receiver, args.tick_ms, bound), receive);
    // The receiver says where it is bound once it is: only now may anyone send to it. If it
    // ends without saying so, its result says why.
    let Ok(receiver_addr) = bound_to.recv() else {
        receiver.join()??;
        return Err("the receiver ended before it was bound".into());
    };
    if !args.sender_first {
        procspawn::spawn((args.sender, receiver_addr), send).join()??;
    }
    receiver.join()??;
    println!(
        "parent (pid {}): joined the receiver and the sender",
        process::id()
    );
    Ok(())
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
    if args.sender_first && args.receiver.port() == 0 {
        let why = "--sender-first needs the receiver's port: the sender sends before it is bound";
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, why)
            .exit();
    }
    if let Err(e) = parent(&args) {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
