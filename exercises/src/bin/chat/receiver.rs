//! The receiving thread (the notes' `recv_msg`): every datagram whole, decoded without fail,
//! shown with its sender and the time, until told to stop.

use crate::codec::Wire;
use crate::sender::plural;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// The largest UDP payload (over IPv4; IPv6 loopback allows no more without jumbograms). A
/// buffer this size receives every datagram whole, where `recvfrom(1024)` cuts silently.
const MAX_DATAGRAM: usize = 65_507;

/// How often the thread looks at its stop flag while nothing arrives. A blocked `recv_from`
/// cannot be interrupted from another thread; std's `set_read_timeout` makes it wake up.
const WAKE_EVERY: Duration = Duration::from_millis(100);

/// Where arrival lines go: stdout, or rustyline's printer above the line being typed.
pub(crate) type Sink = Box<dyn FnMut(String) + Send>;

pub(crate) struct Receiver {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<io::Result<usize>>,
}

impl Receiver {
    /// Starts the thread. It shares `socket` with the sender: see main.rs on why no lock.
    pub(crate) fn spawn(socket: Arc<UdpSocket>, wire: Wire, sink: Sink) -> io::Result<Receiver> {
        socket.set_read_timeout(Some(WAKE_EVERY))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = thread::Builder::new().name("receiver".into()).spawn({
            let stop = Arc::clone(&stop);
            move || receive(&socket, wire, sink, &stop)
        })?;
        Ok(Receiver { stop, thread })
    }

    /// Stops the thread; the number of messages it received, or why it had stopped early.
    pub(crate) fn stop(self) -> io::Result<usize> {
        self.stop.store(true, Ordering::Relaxed);
        let joined = self.thread.join();
        joined.unwrap_or_else(|_| Err(io::Error::other("the receiver thread panicked")))
    }
}

fn receive(socket: &UdpSocket, wire: Wire, mut sink: Sink, stop: &AtomicBool) -> io::Result<usize> {
    let mut buf = vec![0; MAX_DATAGRAM];
    let mut received = 0;
    // Once told to stop, the loop still shows what has already arrived (it stops when a wait
    // times out), but no more than this many, so a flood cannot keep chat from ending.
    let mut after_stop = 0;
    loop {
        let stopping = stop.load(Ordering::Relaxed);
        match socket.recv_from(&mut buf) {
            Ok((len, from)) => {
                received += 1;
                sink(arrival_line(wire, &buf[..len], from));
                after_stop += usize::from(stopping);
                if after_stop == 1000 {
                    break;
                }
            }
            // Timeouts let the loop look at `stop`; an ICMP "port unreachable" for an earlier
            // send (reported here on some systems) is no reason to stop listening.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                        | io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionReset
                ) =>
            {
                if stopping {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(received)
}

/// `[15:04:05] 127.0.0.1:30001: 你好`, with a note if some bytes were not valid.
fn arrival_line(wire: Wire, bytes: &[u8], from: SocketAddr) -> String {
    let decoded = wire.decode(bytes);
    // An IPv4 peer of an IPv6 wildcard socket arrives as ::ffff:a.b.c.d: show it as IPv4.
    let from = SocketAddr::new(from.ip().to_canonical(), from.port());
    let time = chrono::Local::now().format("%H:%M:%S");
    // A peer's control characters (escape sequences, newlines) must not drive the terminal.
    let text: String = decoded
        .text
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let mut line = format!("[{time}] {from}: {text}");
    if decoded.invalid_bytes > 0 {
        let bytes = plural(decoded.invalid_bytes, "byte");
        line += &format!("  (not valid {}: {bytes} shown as \u{FFFD})", wire.name());
    }
    line
}
