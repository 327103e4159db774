//! # Socket options, and the datagram `recvfrom(1024)` cuts — 聊天器 recvfrom(1024)
//!
//! From `004_599445cc4c65b15e.txt`, 作业 › 多线程聊天器 (its `recv_msg`).
//!
//! **The Python.** The chat's receive thread calls `udp_socket.recvfrom(1024)` in a loop, on a
//! socket made with `socket.socket(AF_INET, SOCK_DGRAM)` and no option set. A datagram longer
//! than 1024 bytes comes back cut to 1024; the rest is gone and nothing says so (the cut may even
//! fall inside a GBK character, so the decode fails as well).
//!
//! **This lesson.** What that socket could have been told, in four parts, with std where std
//! has the option and with `socket2` where it does not:
//! 1. `SO_REUSEADDR`: a server closes a connection first, so its side waits in `TIME_WAIT`
//!    (a minute on Linux) and keeps the port; a restart on that port fails without the option
//!    and works with it. On Linux the old socket must have had it too, which is why a server
//!    sets it every time it starts. std's `TcpListener::bind` already sets it on Unix, so the
//!    "on" half is plain std; the "off" half (Python's default) needs socket2.
//! 2. `SO_RCVBUF` / `SO_SNDBUF` (socket2): ask for a size, read back what the kernel gave.
//! 3. A read timeout (std): `recvfrom` on a quiet socket gives up after one tick, not never.
//! 4. `recvfrom(1024)`: a datagram exactly 1024 bytes long fits; a longer one is detected as
//!    truncated, from the flags of a receive call (socket2), with how many bytes were lost. Then
//!    the fix: learn the size first, receive into a buffer that holds it.
//!
//! **Rust differences.** std's sockets cover the common options: `set_read_timeout` and
//! `set_write_timeout` on `UdpSocket` and `TcpStream`, `set_nodelay`, `set_ttl`, `set_broadcast`,
//! and `TcpListener::bind` sets `SO_REUSEADDR` by itself on Unix (not on Windows, where the option
//! lets another program steal the port); `UdpSocket::bind` sets no option, so a UDP socket like
//! the notes' that wants `SO_REUSEADDR` needs socket2. `socket2::Socket` is the layer under
//! them, for the rest: options that must be set before `bind` (std creates and binds in one call,
//! so an option std does not set itself comes too late), options std has no method for (buffer
//! sizes, `SO_REUSEPORT`), and receive flags. Create it, set the options, `bind`, then make it a `std::net::TcpListener` or
//! `UdpSocket` with `.into()`; `SockRef::from(&std_socket)` reaches the socket2 API on a std socket
//! later. std's `recv_from(&mut [u8])` cuts as silently as Python's. The kernel reports the cut as
//! the `MSG_TRUNC` flag of `recvmsg`, which socket2 calls in `recv_from_vectored_with_flags` and
//! returns as `RecvFlags::is_truncated()`. That call writes into a `MaybeUninit` buffer which safe
//! code may not read, so the lesson uses it to *peek* (`MSG_PEEK` leaves the datagram queued) and
//! then receives into an ordinary `[u8]`. Linux only (elsewhere it stops at compile time, saying
//! so): `MSG_TRUNC` passed *in* makes the call return the datagram's whole length rather than the
//! part that fit, so the receiver itself knows how much it lost. Linux also doubles the buffer
//! sizes asked for, for its own bookkeeping (man 7 socket).
//!
//! **Run it:**
//! ```text
//! cargo run -p networking --bin socket_options
//! cargo run -p networking --bin socket_options -- --size 3000 --buffer 512
//! ss -tan | grep TIME-WAIT      # within a minute: the ports part 1 left behind
//! ```
//!
//! **Output** (the ports vary; the buffer sizes are Linux's):
//! ```text
//! SO_REUSEADDR
//!   off: server on 127.0.0.1:32869 closed its side first: TIME_WAIT keeps the port
//!   off: restart on 127.0.0.1:32869 failed: Address already in use (os error 98)
//!   on:  server on 127.0.0.1:45215 closed its side first: TIME_WAIT keeps the port
//!   on:  restart on 127.0.0.1:45215 bound again
//! SO_RCVBUF / SO_SNDBUF
//!   receive buffer: asked 4096, got 8192
//!   send buffer: asked 4096, got 8192
//! read timeout
//!   timeout set to 1 tick; recvfrom on a quiet socket gave up after 1.0 ticks: WouldBlock
//! recvfrom(1024)
//!   sent 1024 bytes: peek says 1024 bytes, truncated: false; received 1024
//!   sent 1500 bytes: peek says 1500 bytes, truncated: true; received 1024, lost 476 bytes
//!   the fix: peeked 1500 bytes first, received all 1500 into a buffer that big
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `socket2 = "0.6"`,
//! `libc = "0.2"`, `sigpipe = "0.1"`.

#[cfg(not(target_os = "linux"))]
compile_error!("socket_options is Linux only: it relies on Linux's MSG_TRUNC semantics");

use clap::Parser;
use socket2::{Domain, MaybeUninitSlice, Protocol, SockRef, Socket, Type};
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// socket2 options, and a datagram longer than the receive buffer.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Bytes in the datagram that does not fit (a UDP datagram holds at most 65507).
    #[arg(long, default_value_t = 1500, value_parser = clap::value_parser!(u32).range(1..=65507))]
    size: u32,
    /// The receive buffer, the notes' recvfrom(1024).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65507))]
    buffer: u32,
    /// The buffer size asked for with SO_RCVBUF and SO_SNDBUF.
    #[arg(long, default_value_t = 4096)]
    kernel_buffer: usize,
}

const LOOPBACK: &str = "127.0.0.1:0";

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let result = reuse_address()
        .and_then(|()| buffer_sizes(args.kernel_buffer))
        .and_then(|()| read_timeout(Duration::from_millis(args.tick_ms)))
        .and_then(|()| truncation(args.size as usize, args.buffer as usize));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// A listener with `SO_REUSEADDR` as asked. std's `bind` always sets it on Unix; only socket2
/// can leave it off, because it must be decided before `bind`.
fn tcp_listener(addr: SocketAddr, reuse: bool) -> io::Result<TcpListener> {
    if reuse {
        return TcpListener::bind(addr);
    }
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(false)?;
    socket.bind(&addr.into())?;
    socket.listen(128)?;
    Ok(socket.into())
}

fn reuse_address() -> io::Result<()> {
    println!("SO_REUSEADDR");
    for reuse in [false, true] {
        let label = if reuse { "on: " } else { "off:" };
        let listener = tcp_listener(LOOPBACK.parse().unwrap(), reuse)?;
        let addr = listener.local_addr()?;
        let mut client = TcpStream::connect(addr)?;
        // Accepted and closed at once: the side that closes first is the one left in TIME_WAIT.
        drop(listener.accept()?);
        // Returns at the server's FIN (end of stream); then this side closes too.
        client.read_to_end(&mut Vec::new())?;
        drop(client);
        drop(listener);
        println!("  {label} server on {addr} closed its side first: TIME_WAIT keeps the port");
        match tcp_listener(addr, reuse) {
            Ok(_restarted) => println!("  {label} restart on {addr} bound again"),
            Err(e) => println!("  {label} restart on {addr} failed: {e}"),
        }
    }
    Ok(())
}

fn buffer_sizes(asked: usize) -> io::Result<()> {
    println!("SO_RCVBUF / SO_SNDBUF");
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_recv_buffer_size(asked)?;
    socket.set_send_buffer_size(asked)?;
    let got = socket.recv_buffer_size()?;
    println!("  receive buffer: asked {asked}, got {got}");
    let got = socket.send_buffer_size()?;
    println!("  send buffer: asked {asked}, got {got}");
    Ok(())
}

fn read_timeout(tick: Duration) -> io::Result<()> {
    println!("read timeout");
    let quiet = UdpSocket::bind(LOOPBACK)?;
    quiet.set_read_timeout(Some(tick))?; // std: Python's settimeout
    let started = Instant::now();
    let outcome = match quiet.recv_from(&mut [0; 1024]) {
        Ok((n, from)) => format!("got {n} bytes from {from}"),
        Err(e) => format!("{:?}", e.kind()),
    };
    println!(
        "  timeout set to 1 tick; recvfrom on a quiet socket gave up after {:.1} ticks: {outcome}",
        started.elapsed().as_secs_f64() / tick.as_secs_f64()
    );
    Ok(())
}

/// Looks at the next datagram without taking it: its length, and whether `buffer` would cut it.
/// `MSG_TRUNC` passed in makes Linux return the datagram's own length, however long.
fn peek(socket: &UdpSocket, buffer: usize) -> io::Result<(usize, bool)> {
    // Never read: the peek is for the length and the flags, the data comes with `recv_from`.
    let mut scratch = vec![MaybeUninit::<u8>::uninit(); buffer];
    let mut bufs = [MaybeUninitSlice::new(&mut scratch)];
    let (len, flags, _from) = SockRef::from(socket)
        .recv_from_vectored_with_flags(&mut bufs, libc::MSG_PEEK | libc::MSG_TRUNC)?;
    Ok((len, flags.is_truncated()))
}

fn truncation(size: usize, buffer: usize) -> io::Result<()> {
    println!("recvfrom({buffer})");
    let receiver = UdpSocket::bind(LOOPBACK)?;
    let sender = UdpSocket::bind(LOOPBACK)?;
    let to = receiver.local_addr()?;
    // One datagram exactly the size of the buffer, which fits, and one of `size` bytes.
    for len in [buffer, size] {
        sender.send_to(&vec![b'x'; len], to)?;
        let (real_len, truncated) = peek(&receiver, buffer)?;
        let (got, _from) = receiver.recv_from(&mut vec![0; buffer])?;
        let lost = if truncated {
            format!(", lost {} bytes", real_len - got)
        } else {
            String::new()
        };
        println!(
            "  sent {len} bytes: peek says {real_len} bytes, truncated: {truncated}; received {got}{lost}"
        );
    }

    sender.send_to(&vec![b'x'; size], to)?;
    let (real_len, _) = peek(&receiver, 0)?;
    let (got, _from) = receiver.recv_from(&mut vec![0; real_len])?;
    println!("  the fix: peeked {real_len} bytes first, received all {got} into a buffer that big");
    Ok(())
}
