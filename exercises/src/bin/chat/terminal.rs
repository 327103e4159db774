//! The front end for a terminal: a rustyline line editor. Arrivals are printed through its
//! external printer, which clears the line being typed, prints the message, and draws the
//! prompt and the typed text again, so a message never breaks what the person is typing (the
//! notes' `print` wrote over it). History with the arrow keys; `/quit`, Ctrl-D or Ctrl-C leave.

use crate::cli;
use crate::receiver::{Receiver, Sink};
use crate::sender::Sender;
use crate::{Ending, Finished};
use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};
use std::io;
use std::net::SocketAddr;

/// The prompt of the line being typed.
pub(crate) const PROMPT: &str = "> ";

pub(crate) struct Terminal {
    editor: DefaultEditor,
}

/// What a line editor's read gave: a line, or the person leaving.
enum Read {
    Line(String),
    Leave(Ending),
}

impl Terminal {
    pub(crate) fn new() -> io::Result<Terminal> {
        let editor = DefaultEditor::new().map_err(io::Error::other)?;
        Ok(Terminal { editor })
    }

    /// Asks for the peer's ip and port like the notes, again until they make an address, or
    /// until the person leaves.
    pub(crate) fn ask_peer(&mut self, bind: SocketAddr) -> io::Result<Result<SocketAddr, Ending>> {
        loop {
            let ip = match self.read("输入ip: ")? {
                Read::Line(ip) => ip,
                Read::Leave(ending) => return Ok(Err(ending)),
            };
            let port = match self.read("输入port: ")? {
                Read::Line(port) => port,
                Read::Leave(ending) => return Ok(Err(ending)),
            };
            match cli::peer_from_answers(bind, &ip, &port) {
                Ok(peer) => return Ok(Ok(peer)),
                Err(message) => eprintln!("chat: {message}; again:"),
            }
        }
    }

    /// Where the receiver's lines go: above the line being typed; on a terminal rustyline
    /// cannot drive (TERM=dumb), simply printed.
    pub(crate) fn sink(&mut self) -> Sink {
        match self.editor.create_external_printer() {
            Ok(mut printer) => Box::new(move |line: String| {
                // If the terminal is gone there is nobody to show it to.
                let _ = printer.print(line + "\n");
            }),
            Err(_) => Box::new(|line| println!("{line}")),
        }
    }

    pub(crate) fn run(mut self, mut sender: Sender, receiver: Receiver) -> Finished {
        let ending = loop {
            match self.read(PROMPT) {
                Ok(Read::Line(line)) if line.trim() == "/quit" => break Ending::Left,
                Ok(Read::Line(line)) => {
                    if !line.is_empty() {
                        let _ = self.editor.add_history_entry(line.as_str());
                    }
                    for note in sender.send_line(&line) {
                        eprintln!("{note}");
                    }
                }
                Ok(Read::Leave(ending)) => break ending,
                Err(e) => {
                    eprintln!("chat: cannot read the terminal: {e}");
                    sender.failures += 1;
                    break Ending::Left;
                }
            }
        };
        Finished {
            ending,
            received: receiver.stop(),
            sender,
        }
    }

    fn read(&mut self, prompt: &str) -> io::Result<Read> {
        match self.editor.readline(prompt) {
            Ok(line) => Ok(Read::Line(line)),
            Err(ReadlineError::Eof) => Ok(Read::Leave(Ending::Left)),
            Err(ReadlineError::Interrupted) => Ok(Read::Leave(Ending::Interrupted)),
            Err(ReadlineError::Io(e)) => Err(e),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}
