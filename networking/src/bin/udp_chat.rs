//! # A UDP chat: one thread sends, one receives — 多线程聊天器
//!
//! From `004_599445cc4c65b15e.txt`, 作业 › 多线程聊天器.
//!
//! **The Python.** `main` binds a UDP socket to 127.0.0.1:30001, asks for the peer's ip and port
//! with `input`, and starts two threads on the one socket: `send_msg` loops forever reading a line
//! and sending it GBK-encoded to the peer; `recv_msg` loops forever on `recvfrom(1024)` and prints
//! each message, GBK-decoded, with the address it came from. Nothing ends it.
//!
//! **This lesson** is that program: one socket, a send thread and a receive thread. `--bind`
//! (default the notes' 127.0.0.1:30001, port 0 for any free port), `--peer` (if missing, asked
//! on stdin like the notes: ip, then port; prompts on stderr, only in a terminal). The first line printed is
//! the bound address. End of input ends the send thread; the receive thread keeps printing for
//! two more ticks, then stops, and the program ends. A port in use is one line and exit 1; no
//! peer (or a malformed one) is exit 2.
//!
//! **Rust differences.** Both threads borrow the one `UdpSocket`: `send_to` and `recv_from` take
//! `&self` and the socket is `Sync` (each call is one system call; the kernel keeps datagrams
//! whole), so `thread::scope` shares it with no lock, `Arc` or clone. A blocked `recv_from`
//! cannot be interrupted from another thread, so std's `set_read_timeout` wakes it every quarter
//! tick to look at a stop flag. The buffer holds the largest UDP datagram, so nothing is cut.
//! `encoding_rs` never fails: bytes that are not GBK become U+FFFD (the Python thread would die
//! of `UnicodeDecodeError`), and a character GBK lacks is sent as `&#N;`.
//!
//! **The full tool** is `chat` (`cargo run -p exercises --bin chat -- --help`): a line editor
//! that keeps arrivals off the line being typed, several peers, IPv6, UTF-8, long lines split
//! for Python's `recvfrom(1024)`, and GBK exactly as Python's codec reads it (encoding_rs's GBK
//! has 2,166 characters Python's lacks).
//!
//! **Run it** in two terminals (or against the notes' Python, which binds 30001):
//! ```text
//! cargo run -p networking --bin udp_chat -- --bind 127.0.0.1:30002 --peer 127.0.0.1:30001
//! cargo run -p networking --bin udp_chat -- --bind 127.0.0.1:30001 --peer 127.0.0.1:30002
//! ```
//!
//! **Output** of one side, given 你好 and then end of input (Ctrl-D), while the other side sent
//! 你好 (its arrival may come before or after the end of input):
//! ```text
//! bound to 127.0.0.1:30002
//! peer 127.0.0.1:30001, encoding gbk
//! 接收到来自 127.0.0.1:30001 的消息: 你好 (4 bytes)
//! 输入结束: lines sent: 1; listening 2 more ticks
//! 再见
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `encoding_rs = "0.8"`,
//! `sigpipe = "0.1"`.

use clap::Parser;
use std::io::{self, IsTerminal};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::{thread, time::Duration};

/// Ticks the receive thread keeps printing after stdin ends.
const LINGER_TICKS: u32 = 2;

/// A UDP chat: stdin lines go to the peer in GBK, arriving datagrams are printed.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// The local address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:30001")]
    bind: SocketAddr,
    /// The peer's address; without it, its ip and port are read from stdin like the notes.
    #[arg(long)]
    peer: Option<SocketAddr>,
}

/// The notes' `main`.
fn main() {
    sigpipe::reset();
    let args = Args::parse();
    let socket = UdpSocket::bind(args.bind)
        .unwrap_or_else(|e| fail(1, &format!("cannot bind {}: {e}", args.bind)));
    println!("bound to {}", socket.local_addr().expect("bound"));
    let peer = args.peer.or_else(ask_peer);
    let peer = peer.unwrap_or_else(|| fail(2, "no peer ip and port on stdin"));
    println!("peer {peer}, encoding gbk");
    let tick = Duration::from_millis(args.tick_ms);
    socket.set_read_timeout(Some(tick / 4)).expect("not zero");
    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| recv_msg(&socket, &stop));
        let sender = s.spawn(|| send_msg(&socket, peer));
        let sent = sender.join().expect("send_msg panicked");
        println!("输入结束: lines sent: {sent}; listening {LINGER_TICKS} more ticks");
        thread::sleep(tick * LINGER_TICKS);
        stop.store(true, Ordering::Relaxed);
    });
    println!("再见");
}

/// One line and an exit status: 1 for a runtime failure, 2 for a usage error.
fn fail(status: i32, message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(status)
}

/// The notes' two questions, ip then port, answered on stdin (prompts on stderr, in a terminal).
fn ask_peer() -> Option<SocketAddr> {
    let prompt = |text: &str| io::stdin().is_terminal().then(|| eprint!("{text}"));
    let mut answers = io::stdin().lines().map_while(Result::ok);
    prompt("输入ip:");
    let ip = answers.next()?.trim().parse().ok()?;
    prompt("输入port:");
    let port = answers.next()?.trim().parse().ok()?;
    Some(SocketAddr::new(ip, port))
}

/// The notes' `send_msg`: each line of stdin, GBK-encoded, to the peer, until end of input.
fn send_msg(socket: &UdpSocket, peer: SocketAddr) -> usize {
    let mut sent = 0;
    for line in io::stdin().lines().map_while(Result::ok) {
        let (bytes, _, _) = encoding_rs::GBK.encode(&line);
        match socket.send_to(&bytes, peer) {
            Ok(_) => sent += 1,
            Err(e) => eprintln!("cannot send to {peer}: {e}"),
        }
    }
    sent
}

/// The notes' `recv_msg`: each datagram, GBK-decoded (bad bytes shown as �), with its source,
/// until `stop` is set.
fn recv_msg(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buf = vec![0; 65_507];
    while !stop.load(Ordering::Relaxed) {
        // An error here is the timeout (or a signal): look at `stop` and wait again.
        if let Ok((len, from)) = socket.recv_from(&mut buf) {
            let (text, _) = encoding_rs::GBK.decode_without_bom_handling(&buf[..len]);
            println!("接收到来自 {from} 的消息: {text} ({len} bytes)");
        }
    }
}
