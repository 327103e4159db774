//! # A UDP chat: one thread sends, one receives — 多线程聊天器
//!
//! From `004_599445cc4c65b15e.txt`, 作业 › 多线程聊天器.
//!
//! **The Python.** `main` binds a UDP socket to 127.0.0.1:30001, asks for the peer's ip and port
//! with `input`, and starts two threads on the one socket: `send_msg` loops forever reading a line
//! (prompt 输入发送的数据:) and sending it GBK-encoded to the peer; `recv_msg` loops forever on
//! `recvfrom(1024)` and prints each message, GBK-decoded, with the tuple of its source address.
//! Nothing ends it: both loops are endless and the threads are not daemons. The fixed port means
//! a second copy on the same machine cannot start; a datagram of more than 1024 bytes is silently
//! cut; bytes that are not GBK raise `UnicodeDecodeError` and kill the receive thread.
//!
//! **This lesson.** The same two threads on one socket, with flags: `--bind` (default the notes'
//! 127.0.0.1:30001, port 0 for any free port), `--peer` (if missing, the peer is asked on stdin
//! like the notes: ip, then port) and `--encoding gbk|utf-8` (GBK by default, so it talks to the
//! notes' Python). The first line printed is the bound address. Each arrival is printed with its
//! source and size. End of input (Ctrl-D, or the end of a pipe) ends the send thread; the program
//! keeps printing arrivals for `--linger` ticks, then stops the receive thread and exits. Prompts
//! are printed only when stdin is a terminal, so a pipe gets clean output.
//!
//! **Rust differences.** Both threads borrow the one `UdpSocket`: `send_to` and `recv_from` take
//! `&self` and the socket is `Sync`, so `thread::scope` shares it without `Arc` or a clone. A
//! blocked `recv_from` cannot be interrupted from another thread, so the socket gets a read timeout
//! (set with `socket2`) and the receive loop checks a stop flag each time it wakes. The receive
//! buffer holds the largest UDP datagram (65507 bytes) so nothing is cut (see `socket_options`).
//! Decoding never fails: bytes that are not valid in the encoding become U+FFFD (�) and the line
//! says so. Encoding never fails either: a character GBK lacks is sent, by the WHATWG rule
//! `encoding_rs` follows, as an HTML reference like `&#128512;` (Python would raise), with a warning.
//!
//! **Run it** in two terminals (or against the notes' Python, which binds 30001):
//! ```text
//! cargo run -p networking --bin udp_chat -- --bind 127.0.0.1:30001 --peer 127.0.0.1:30002
//! cargo run -p networking --bin udp_chat -- --bind 127.0.0.1:30002 --peer 127.0.0.1:30001
//! printf '你好\n' | cargo run -p networking --bin udp_chat -- --bind 127.0.0.1:0 --peer 127.0.0.1:30001
//! ```
//!
//! **Output** of one side (the source port is whatever the other side bound):
//! ```text
//! bound to 127.0.0.1:30002
//! peer 127.0.0.1:30001, encoding gbk
//! 接收到来自 127.0.0.1:30001 的消息: 你好 (4 bytes)
//! 输入结束: lines sent: 1; listening 2 more ticks
//! 再见
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `socket2 = "0.6"`,
//! `encoding_rs = "0.8"`.

use clap::{Parser, ValueEnum};
use encoding_rs::Encoding;
use socket2::{Domain, Protocol, Socket, Type};
use std::io::{self, BufRead, IsTerminal, Write};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

/// A UDP chat: stdin lines go to the peer, arriving datagrams are printed.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// The local address (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:30001")]
    bind: SocketAddr,
    /// The peer's address; without it, its ip and port are read from stdin like the notes.
    #[arg(long)]
    peer: Option<SocketAddr>,
    /// The text encoding on the wire.
    #[arg(long, value_enum, default_value_t = Wire::Gbk)]
    encoding: Wire,
    /// Ticks to keep printing arrivals after stdin ends.
    #[arg(long, default_value_t = 2)]
    linger: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum Wire {
    Gbk,
    #[value(name = "utf-8", alias = "utf8")]
    Utf8,
}

impl Wire {
    fn encoding(self) -> &'static Encoding {
        match self {
            Wire::Gbk => encoding_rs::GBK,
            Wire::Utf8 => encoding_rs::UTF_8,
        }
    }
}

/// The largest payload a UDP datagram over IPv4 can carry.
const MAX_DATAGRAM: usize = 65507;

enum Failure {
    Usage(String),
    Runtime(String),
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Runtime(e.to_string())
    }
}

fn main() -> ExitCode {
    match chat(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn chat(args: Args) -> Result<(), Failure> {
    let tick = Duration::from_millis(args.tick_ms);
    let socket = bind(args.bind, tick)?;
    println!("bound to {}", socket.local_addr()?);
    let interactive = io::stdin().is_terminal();
    let peer = match args.peer {
        Some(peer) => peer,
        None => ask_peer(interactive)?,
    };
    if peer.port() == 0 {
        return Err(Failure::Usage(format!("cannot send to port 0: {peer}")));
    }
    println!(
        "peer {peer}, encoding {}",
        args.encoding.encoding().name().to_lowercase()
    );

    let stop = AtomicBool::new(false);
    thread::scope(|s| {
        let receiver = s.spawn(|| receive(&socket, args.encoding, &stop));
        let sender = s.spawn(|| send_lines(&socket, peer, args.encoding, interactive));
        let sent = sender.join().expect("the send thread panicked");
        if let Ok(sent) = sent {
            println!(
                "输入结束: lines sent: {sent}; listening {} more ticks",
                args.linger
            );
            thread::sleep(tick * args.linger);
        }
        stop.store(true, Ordering::Relaxed);
        let received = receiver.join().expect("the receive thread panicked");
        sent.and(received)
    })?;
    println!("再见");
    Ok(())
}

/// The socket, with a read timeout so the receive thread wakes up to check its stop flag.
fn bind(addr: SocketAddr, tick: Duration) -> Result<UdpSocket, Failure> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket
        .bind(&addr.into())
        .map_err(|e| Failure::Runtime(format!("cannot bind {addr}: {e}")))?;
    socket.set_read_timeout(Some(tick / 4))?;
    Ok(socket.into())
}

/// The notes' two questions, ip then port, each on its own line.
fn ask_peer(interactive: bool) -> Result<SocketAddr, Failure> {
    let ask = |prompt: &str| -> Result<String, Failure> {
        if interactive {
            print!("{prompt}");
            io::stdout().flush()?;
        }
        let mut line = String::new();
        if io::stdin().read_line(&mut line)? == 0 {
            return Err(Failure::Usage(
                "standard input ended before the peer's ip and port were given".into(),
            ));
        }
        Ok(line.trim().to_string())
    };
    let ip = ask("输入ip:")?;
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| Failure::Usage(format!("not an IP address: {ip:?}")))?;
    let port = ask("输入port:")?;
    let port: u16 = port
        .parse()
        .map_err(|_| Failure::Usage(format!("not a port number: {port:?}")))?;
    Ok(SocketAddr::new(ip, port))
}

/// The notes' `send_msg`: each line of stdin goes to the peer, until end of input.
fn send_lines(
    socket: &UdpSocket,
    peer: SocketAddr,
    wire: Wire,
    interactive: bool,
) -> Result<usize, Failure> {
    let mut stdin = io::stdin().lock();
    let mut line = Vec::new();
    let mut sent = 0;
    loop {
        if interactive {
            print!("输入发送的数据:");
            io::stdout().flush()?;
        }
        line.clear();
        if stdin.read_until(b'\n', &mut line)? == 0 {
            return Ok(sent);
        }
        // Input that is not UTF-8 is sent with U+FFFD in its place rather than refused.
        let text = String::from_utf8_lossy(&line);
        let (bytes, _, unencodable) = wire.encoding().encode(text.trim_end_matches(['\n', '\r']));
        if unencodable {
            println!(
                "warning: some characters are not in {}: sent as &#N; references",
                wire.encoding().name()
            );
        }
        socket
            .send_to(&bytes, peer)
            .map_err(|e| Failure::Runtime(format!("cannot send to {peer}: {e}")))?;
        sent += 1;
    }
}

/// The notes' `recv_msg`: print each datagram with its source, until `stop` is set.
fn receive(socket: &UdpSocket, wire: Wire, stop: &AtomicBool) -> Result<(), Failure> {
    let mut buf = vec![0; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let (len, from) = match socket.recv_from(&mut buf) {
            Ok(arrival) => arrival,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let (text, undecodable) = wire.encoding().decode_without_bom_handling(&buf[..len]);
        let marker = if undecodable {
            format!(", not valid {}: shown as �", wire.encoding().name())
        } else {
            String::new()
        };
        println!("接收到来自 {from} 的消息: {text} ({len} bytes{marker})");
    }
    Ok(())
}
