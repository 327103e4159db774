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
//! **This lesson.** The same two processes, started by this program re-running itself with a
//! hidden `--role`. The receiver binds first and prints a line saying so; the parent starts the
//! sender only after reading that line, so the datagram always finds its receiver. The parent
//! relays the receiver's output, waits for both children and reaps them, on every path: a guard
//! kills and waits on drop. The receiver gives up after 10 ticks instead of waiting forever.
//! `--receiver 127.0.0.1:0` lets the system choose a free port; the sender is told the real one.
//!
//! **Rust differences.** A process is a `std::process::Command`: there is no `fork` of a
//! function as in `multiprocessing`, so the child is this same binary with other arguments.
//! Sockets are made with `socket2` (the read timeout is set there) and used as
//! `std::net::UdpSocket`. Python's `str.encode('gbk')` is `encoding_rs::GBK.encode`; decoding
//! never fails, bytes that are not GBK become U+FFFD (�) and the line says so. A child that
//! is never waited for stays a zombie; Rust's `Child` does not wait on drop, hence the guard.
//!
//! **Run it:**
//! ```text
//! cargo run -p networking --bin udp_send_recv
//! cargo run -p networking --bin udp_send_recv -- --receiver 127.0.0.1:0 --sender 127.0.0.1:0
//! ```
//!
//! **Output** (the pids vary):
//! ```text
//! receiver (pid 4242) bound to 127.0.0.1:2399
//! sender (pid 4243) bound to 127.0.0.1:2400
//! sender (pid 4243): 已发送消息 (4 bytes of GBK to 127.0.0.1:2399)
//! receiver (pid 4242): 接收消息: 你好 来源: 127.0.0.1:2400
//! parent (pid 4241): reaped the receiver (exit status: 0) and the sender (exit status: 0)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `socket2 = "0.6"`,
//! `encoding_rs = "0.8"`.

use clap::{Parser, ValueEnum};
use encoding_rs::GBK;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{self, Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::Duration;

/// A UDP sender process sends 你好 in GBK to a receiver process.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// The receiver's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:2399")]
    receiver: SocketAddr,
    /// The sender's address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:2400")]
    sender: SocketAddr,
    /// Which process this is; the parent sets it for its children.
    #[arg(long, value_enum, hide = true)]
    role: Option<Role>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Receiver,
    Sender,
}

const MESSAGE: &str = "你好";
/// The receiver stops waiting after this many ticks: UDP may lose a datagram.
const RECEIVE_TIMEOUT_TICKS: u32 = 10;
/// The receiver's first line starts like this and ends with its address.
const BOUND_TO: &str = "bound to ";

fn main() -> ExitCode {
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let result = match args.role {
        None => parent(&args),
        Some(Role::Receiver) => receive(args.receiver, tick),
        Some(Role::Sender) => send(args.sender, args.receiver),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Said(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(Failure::ChildSaid(code)) => ExitCode::from(code),
    }
}

enum Failure {
    /// Print this and fail.
    Said(String),
    /// A child failed and has printed why on the shared stderr: fail with its exit code.
    ChildSaid(u8),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Said(e.to_string())
    }
}

fn udp_socket(role: &str, addr: SocketAddr) -> Result<Socket, Failure> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket
        .bind(&addr.into())
        .map_err(|e| Failure::Said(format!("{role}: cannot bind {addr}: {e}")))?;
    Ok(socket)
}

fn receive(addr: SocketAddr, tick: Duration) -> Result<(), Failure> {
    let socket = udp_socket("receiver", addr)?;
    socket.set_read_timeout(Some(tick * RECEIVE_TIMEOUT_TICKS))?;
    let socket = UdpSocket::from(socket);
    let me = format!("receiver (pid {})", process::id());
    println!("{me} {BOUND_TO}{}", socket.local_addr()?);
    let mut buf = [0; 1024];
    let (len, from) = socket.recv_from(&mut buf).map_err(|e| match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Failure::Said(format!(
            "receiver: no datagram within {RECEIVE_TIMEOUT_TICKS} ticks"
        )),
        _ => e.into(),
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

fn send(addr: SocketAddr, to: SocketAddr) -> Result<(), Failure> {
    let socket = UdpSocket::from(udp_socket("sender", addr)?);
    let me = format!("sender (pid {})", process::id());
    println!("{me} {BOUND_TO}{}", socket.local_addr()?);
    let (bytes, _, _) = GBK.encode(MESSAGE);
    socket.send_to(&bytes, to)?;
    println!("{me}: 已发送消息 ({} bytes of GBK to {to})", bytes.len());
    Ok(())
}

/// A child process that is killed and reaped when dropped, so no path leaves it behind.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        // Both are no-ops for a child already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn child(args: &Args, role: &str, receiver: SocketAddr, stdout: Stdio) -> io::Result<Reaped> {
    Command::new(std::env::current_exe()?)
        .args(["--role", role, "--tick-ms", &args.tick_ms.to_string()])
        .args(["--receiver", &receiver.to_string()])
        .args(["--sender", &args.sender.to_string()])
        .stdout(stdout)
        .spawn()
        .map(Reaped)
}

fn check(name: &str, status: ExitStatus) -> Result<(), Failure> {
    match status.code() {
        Some(0) => Ok(()),
        Some(code) => Err(Failure::ChildSaid(code.try_into().unwrap_or(1))),
        None => Err(Failure::Said(format!(
            "the {name} process ended by {status}"
        ))),
    }
}

fn parent(args: &Args) -> Result<(), Failure> {
    let mut receiver = child(args, "receiver", args.receiver, Stdio::piped())?;
    let mut lines = BufReader::new(receiver.0.stdout.take().expect("piped")).lines();
    // The receiver's first line says it is bound: only now may anyone send to it.
    let Some(bound) = lines.next().transpose()? else {
        return check("receiver", receiver.0.wait()?);
    };
    println!("{bound}");
    let receiver_addr: SocketAddr = bound
        .split(BOUND_TO)
        .nth(1)
        .and_then(|addr| addr.parse().ok())
        .ok_or_else(|| Failure::Said(format!("unexpected line from the receiver: {bound}")))?;

    let mut sender = child(args, "sender", receiver_addr, Stdio::inherit())?;
    let sender_status = sender.0.wait()?;
    check("sender", sender_status)?;
    for line in lines {
        println!("{}", line?);
    }
    let receiver_status = receiver.0.wait()?;
    check("receiver", receiver_status)?;
    println!(
        "parent (pid {}): reaped the receiver ({receiver_status}) and the sender ({sender_status})",
        process::id()
    );
    Ok(())
}
