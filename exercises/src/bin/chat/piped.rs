//! The front end for a pipe (stdin not a terminal): each input line is sent, arrivals go to
//! stdout one per line, and at the end of input chat keeps listening for `--linger`, then ends.

use crate::cli;
use crate::receiver::Receiver;
use crate::sender::Sender;
use crate::{Ending, Finished};
use std::io::{self, BufRead};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

enum Event {
    Line(String),
    InputEnded(io::Result<()>),
    Interrupted,
}

/// The peer's ip and port from the first two input lines, as the notes read them.
pub(crate) fn ask_peer(bind: SocketAddr) -> SocketAddr {
    let answer = || match read_line(&mut io::stdin().lock()) {
        Ok(Some(line)) => line,
        Ok(None) => cli::usage_error("input ended before the peer's ip and port were given"),
        Err(e) => cli::usage_error(&format!("cannot read the peer's ip and port: {e}")),
    };
    let (ip, port) = (answer(), answer());
    cli::peer_from_answers(bind, &ip, &port).unwrap_or_else(|message| cli::usage_error(&message))
}

pub(crate) fn run(mut sender: Sender, receiver: Receiver, linger: Duration) -> Finished {
    let (events, inbox) = mpsc::channel();
    let on_interrupt = events.clone();
    // Without a handler the default SIGINT would end chat before the summary.
    let _ = ctrlc::set_handler(move || {
        let _ = on_interrupt.send(Event::Interrupted);
    });
    // A blocked read of stdin cannot be interrupted, so it has a thread of its own: the main
    // thread, the sender, waits on lines and Ctrl-C alike.
    thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let ended = loop {
            match read_line(&mut stdin) {
                Ok(Some(line)) => {
                    if events.send(Event::Line(line)).is_err() {
                        return;
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            }
        };
        let _ = events.send(Event::InputEnded(ended));
    });

    let mut input_error = None;
    let mut ending = loop {
        match inbox.recv() {
            Ok(Event::Line(line)) => {
                for note in sender.send_line(&line) {
                    eprintln!("{note}");
                }
            }
            Ok(Event::InputEnded(result)) => {
                input_error = result.err();
                break Ending::Left;
            }
            Ok(Event::Interrupted) | Err(_) => break Ending::Interrupted,
        }
    };
    if let (Ending::Left, None) = (&ending, &input_error) {
        eprintln!(
            "chat: end of input; listening {:.1} s more",
            linger.as_secs_f64()
        );
        let until = Instant::now() + linger;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match inbox.recv_timeout(left) {
                Ok(Event::Interrupted) => {
                    ending = Ending::Interrupted;
                    break;
                }
                // No Ctrl-C handler (it could not be set) and the reader gone: just wait.
                Err(mpsc::RecvTimeoutError::Disconnected) => thread::sleep(left),
                _ => {}
            }
        }
    }
    if let Some(e) = input_error {
        eprintln!("chat: cannot read input: {e}");
        sender.failures += 1;
    }
    Finished {
        ending,
        received: receiver.stop(),
        sender,
    }
}

/// A line without its line ending; bytes that are not UTF-8 become U+FFFD rather than an error.
fn read_line(input: &mut impl BufRead) -> io::Result<Option<String>> {
    let mut bytes = Vec::new();
    if input.read_until(b'\n', &mut bytes)? == 0 {
        return Ok(None);
    }
    let line = String::from_utf8_lossy(&bytes);
    Ok(Some(line.trim_end_matches(['\n', '\r']).to_string()))
}
