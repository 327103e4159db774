//! # chat — a two-way UDP chat (作业 › 多线程聊天器)
//!
//! The homework of `004_599445cc4c65b15e.txt` (作业 › 多线程聊天器) binds one UDP socket to
//! 127.0.0.1:30001, asks for the peer's ip and port, and starts two threads on that socket: one
//! sends each `input()` line encoded as GBK, the other prints what `recvfrom(1024)` returns,
//! decoded as GBK. This is that program as a tool to use instead of the script or `nc -u`, and
//! it talks to the Python script both ways. What it fixes, as a person using the script meets it:
//!
//! - An arriving message is printed over the line being typed: here a line editor (rustyline)
//!   prints it above, and redraws the typed text intact (`terminal`).
//! - A datagram longer than 1024 bytes is cut without a word: here every datagram is received
//!   whole (up to UDP's 65,507 bytes), and a long line is *sent* as several datagrams of at
//!   most 1024 bytes, cut between characters, so the Python side receives it all (`codec`).
//! - A cut inside a character, or any byte that is not GBK, makes `.decode('gbk')` raise and
//!   kills the receiving thread for good: here decoding never fails; bad bytes are shown as
//!   U+FFFD with a note (`codec`, `receiver`).
//! - A character GBK lacks makes `.encode('gbk')` raise in the sending thread: here it is sent
//!   as `?` and the person is told. encoding_rs's GBK (WHATWG's) encodes 2,166 characters that
//!   Python's `gbk` cannot decode; they are sent as `?` too (`codec` lists them).
//! - It never exits, and the fixed port means one copy per machine: here `--bind` (port 0 for
//!   any free port) and `--peer` (repeatable; asked like the notes when missing), `/quit`,
//!   Ctrl-D and Ctrl-C leave, and with stdin piped it ends after the input and `--linger`.
//!
//! **Two threads, one socket, no lock.** As in the notes, the main thread sends and a
//! `receiver` thread receives, on the same `UdpSocket` (in an `Arc`, for its lifetime).
//! `send_to` and `recv_from` take `&self` and `UdpSocket` is `Sync`: each call is one system
//! call on one file descriptor, and the kernel keeps datagrams whole, so a send and a receive
//! at the same time cannot interfere and there is no Rust-side state to guard. A read timeout
//! (std's `set_read_timeout`) lets the receiver notice it is told to stop. With stdin piped, a
//! third thread only reads stdin and hands lines to the sender, so that Ctrl-C is not stuck
//! behind a blocked read.
//!
//! **Modules.** `cli`: options and addresses (usage errors). `codec`: text to datagrams and
//! back, Python-compatible GBK. `sender`, `receiver`: the two sides. `terminal`, `piped`: the
//! front ends for a terminal and for a pipe.
//!
//! Linux is the target. The code has nothing Unix-only, but its tests are (`cfg(unix)`): they
//! drive a pseudo-terminal and send SIGINT.
//!
//! ```text
//! chat --bind 127.0.0.1:30002 --peer 127.0.0.1:30001          # the notes' Python is at 30001
//! printf '你好\n' | chat --bind 127.0.0.1:0 --peer 127.0.0.1:30001 --linger 2
//! ```

mod cli;
mod codec;
mod piped;
mod receiver;
mod sender;
mod terminal;

use receiver::Receiver;
use sender::{Sender, plural};
use std::io::{self, IsTerminal};
use std::net::UdpSocket;
use std::process::ExitCode;
use std::sync::Arc;

/// How the person left.
pub(crate) enum Ending {
    /// `/quit`, Ctrl-D, or the end of piped input.
    Left,
    /// Ctrl-C.
    Interrupted,
}

/// What a front end hands back at the end.
pub(crate) struct Finished {
    ending: Ending,
    sender: Sender,
    received: io::Result<usize>,
}

fn main() -> ExitCode {
    sigpipe::reset();
    let args = cli::Args::parse_checked();
    match chat(args) {
        Ok(finished) => summary(finished),
        Err(message) => {
            eprintln!("chat: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The notes' `main`: binds, finds the peers, starts the receiving thread, and runs the front
/// end that fits stdin, which sends. An error here is one line and exit 1.
fn chat(args: cli::Args) -> Result<Finished, String> {
    let socket =
        UdpSocket::bind(args.bind).map_err(|e| format!("cannot bind {}: {e}", args.bind))?;
    let socket = Arc::new(socket);
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    eprintln!("chat: listening on {local} ({})", args.encoding.name());
    let start = |peers: &[_], sink| {
        let peers: Vec<String> = peers.iter().map(ToString::to_string).collect();
        eprintln!("chat: sending to {}", peers.join(", "));
        Receiver::spawn(Arc::clone(&socket), args.encoding, sink)
            .map_err(|e| format!("cannot start receiving: {e}"))
    };

    if io::stdin().is_terminal() && io::stdout().is_terminal() {
        let mut terminal = terminal::Terminal::new().map_err(|e| e.to_string())?;
        let mut peers = args.peers;
        if peers.is_empty() {
            match terminal.ask_peer(args.bind).map_err(|e| e.to_string())? {
                Ok(peer) => peers.push(peer),
                Err(ending) => {
                    let sender = Sender::new(socket, peers, args.encoding);
                    let received = Ok(0);
                    return Ok(Finished {
                        ending,
                        sender,
                        received,
                    });
                }
            }
        }
        let receiver = start(&peers, terminal.sink())?;
        eprintln!("chat: type a line and Enter to send; /quit or Ctrl-D to leave");
        let sender = Sender::new(Arc::clone(&socket), peers, args.encoding);
        Ok(terminal.run(sender, receiver))
    } else {
        let mut peers = args.peers;
        if peers.is_empty() {
            peers.push(piped::ask_peer(args.bind));
        }
        let receiver = start(&peers, Box::new(|line| println!("{line}")))?;
        let sender = Sender::new(Arc::clone(&socket), peers, args.encoding);
        Ok(piped::run(sender, receiver, args.linger))
    }
}

/// The summary line, and the exit status.
fn summary(finished: Finished) -> ExitCode {
    let Finished {
        ending,
        sender,
        received,
    } = finished;
    let mut failed = sender.failures > 0;
    let received = match received {
        Ok(count) => format!("received {}", plural(count, "message")),
        Err(e) => {
            eprintln!("chat: receiving stopped: {e}");
            failed = true;
            "receiving failed".to_string()
        }
    };
    eprintln!(
        "chat: sent {} in {}, {received}",
        plural(sender.lines, "line"),
        plural(sender.datagrams, "datagram"),
    );
    match ending {
        Ending::Interrupted => ExitCode::from(130),
        Ending::Left if failed => ExitCode::FAILURE,
        Ending::Left => ExitCode::SUCCESS,
    }
}
