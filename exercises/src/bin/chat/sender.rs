//! The sending side (the notes' `send_msg`): a typed line to every peer, and what to tell the
//! person about it. The front ends call it from the thread that reads the input.

use crate::codec::{PYTHON_RECV_SIZE, Wire};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;

pub(crate) struct Sender {
    socket: Arc<UdpSocket>,
    peers: Vec<SocketAddr>,
    wire: Wire,
    pub(crate) lines: usize,
    pub(crate) datagrams: usize,
    pub(crate) failures: usize,
}

impl Sender {
    pub(crate) fn new(socket: Arc<UdpSocket>, peers: Vec<SocketAddr>, wire: Wire) -> Sender {
        Sender {
            socket,
            peers,
            wire,
            lines: 0,
            datagrams: 0,
            failures: 0,
        }
    }

    /// Sends `line` to every peer; returns the notes for the person (stderr), if any. An empty
    /// line sends nothing.
    pub(crate) fn send_line(&mut self, line: &str) -> Vec<String> {
        let encoded = self.wire.encode(line);
        let mut notes = Vec::new();
        if encoded.datagrams.is_empty() {
            return notes;
        }
        if !encoded.replaced.is_empty() {
            notes.push(format!(
                "chat: sent as '?', not in {} as Python reads it: {}",
                self.wire.name(),
                describe(&encoded.replaced)
            ));
        }
        if encoded.datagrams.len() > 1 {
            notes.push(format!(
                "chat: long line sent as {} of at most {PYTHON_RECV_SIZE} bytes (Python's recvfrom(1024) would cut it)",
                plural(encoded.datagrams.len(), "message")
            ));
        }
        for peer in &self.peers {
            for datagram in &encoded.datagrams {
                match self.socket.send_to(datagram, peer) {
                    Ok(_) => self.datagrams += 1,
                    Err(e) => {
                        self.failures += 1;
                        notes.push(format!("chat: cannot send to {peer}: {e}"));
                        break;
                    }
                }
            }
        }
        self.lines += 1;
        notes
    }
}

pub(crate) fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// `😀 U+1F600, U+E000, ...`: the characters, named by code point since some are invisible.
fn describe(chars: &[char]) -> String {
    const SHOWN: usize = 8;
    let mut names: Vec<String> = chars
        .iter()
        .take(SHOWN)
        .map(|&c| {
            let private_use = ('\u{E000}'..='\u{F8FF}').contains(&c);
            if c.is_control() || private_use || c == char::REPLACEMENT_CHARACTER {
                format!("U+{:04X}", u32::from(c))
            } else {
                format!("{c} U+{:04X}", u32::from(c))
            }
        })
        .collect();
    if chars.len() > SHOWN {
        names.push(format!("and {} more", chars.len() - SHOWN));
    }
    names.join(", ")
}
