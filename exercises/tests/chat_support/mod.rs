//! Processes the chat tests talk to while they run: `chat` with stdin piped, and the notes'
//! Python chat (`py_chat.py`), each a [`testkit::Live`]: killed and reaped (with its process
//! group) if a test fails before it ends.

use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
pub(crate) use testkit::PATIENCE;
use testkit::{Finished, Live};

/// The program under test: `CHAT_BIN`, so a learner can grade their own chat, or this one.
pub(crate) fn chat_bin() -> String {
    std::env::var("CHAT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_chat").to_string())
}

/// `chat` with stdin piped: lines written are sent, arrivals come on stdout.
pub(crate) struct Chat(Live);

impl Chat {
    pub(crate) fn start(args: &[&str]) -> Chat {
        let mut command = Command::new(chat_bin());
        command.args(args);
        Chat(Live::start(command))
    }

    /// The address chat says it listens on: `chat: listening on 127.0.0.1:4000 (GBK)`.
    pub(crate) fn address(&mut self) -> SocketAddr {
        let line = self
            .0
            .take_stderr("'listening on ADDR'", |l| l.contains("listening on "));
        let after = &line[line.find("listening on ").unwrap() + "listening on ".len()..];
        let addr = after.split_whitespace().next().unwrap();
        addr.parse()
            .unwrap_or_else(|_| panic!("not an address in {line:?}"))
    }

    pub(crate) fn write(&mut self, input: impl AsRef<[u8]>) {
        self.0.write(input);
    }

    /// The next message from `from`: the text after `[HH:MM:SS] ADDR: ` (with any note).
    pub(crate) fn arrival(&mut self, from: SocketAddr) -> String {
        let prefix = format!("] {from}: ");
        let line = self.0.take_stdout(&format!("a message from {from}"), |l| {
            l.starts_with('[') && l.contains(&prefix)
        });
        let time = &line[1..line.find(']').unwrap()];
        assert!(
            chrono::NaiveTime::parse_from_str(time, "%H:%M:%S").is_ok(),
            "an arrival starts with its time: {line:?}"
        );
        line[line.find(&prefix).unwrap() + prefix.len()..].to_string()
    }

    /// Waits for a line on stderr containing `needle`.
    pub(crate) fn note(&mut self, needle: &str) -> String {
        self.0
            .take_stderr(&format!("{needle:?}"), |l| l.contains(needle))
    }

    /// Closes its stdin: the end of input.
    pub(crate) fn end_input(&mut self) {
        self.0.close_stdin();
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }

    pub(crate) fn finish(self) -> Finished {
        self.0.finish()
    }
}

/// The notes' Python chat, driven by JSON commands (see `py_chat.py`).
pub(crate) struct PyChat(Live);

impl PyChat {
    /// Starts it bound to `host` (any free port), reading and writing `encoding`.
    pub(crate) fn start(host: &str, encoding: &str) -> PyChat {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/chat_support/py_chat.py");
        let mut command = Command::new("python3");
        command.args([script, host, "0", encoding]);
        command.env("PYTHONIOENCODING", "utf-8");
        if let Err(e) = Command::new("python3").arg("--version").output() {
            panic!(
                "this test talks to the notes' Python chat and needs python3 on PATH ({e}); \
                 install Python 3 to run it"
            );
        }
        PyChat(Live::start(command))
    }

    pub(crate) fn address(&mut self) -> SocketAddr {
        let bound = self.next("bound");
        let ip = bound[0].as_str().unwrap();
        let port = bound[1].as_u64().unwrap();
        format!(
            "{}:{port}",
            if ip.contains(':') {
                format!("[{ip}]")
            } else {
                ip.into()
            }
        )
        .parse()
        .unwrap()
    }

    pub(crate) fn command(&mut self, command: Value) {
        self.0.write(format!("{command}\n"));
    }

    /// The value of `key` in the next JSON line that has it.
    pub(crate) fn next(&mut self, key: &str) -> Value {
        let has_key = |line: &str| {
            serde_json::from_str::<Value>(line).is_ok_and(|object| object.get(key).is_some())
        };
        let line = self.0.take_stdout(&format!("a {key:?} line"), has_key);
        let mut object: Value = serde_json::from_str(&line).unwrap();
        object[key].take()
    }

    /// The next message it received: (text, its length in bytes).
    pub(crate) fn received(&mut self) -> (String, usize) {
        let line = self
            .0
            .take_stdout("a received message", |l| l.starts_with("{\"received\":"));
        let object: Value = serde_json::from_str(&line).unwrap();
        let text = object["received"].as_str().unwrap().to_string();
        (text, object["length"].as_u64().unwrap() as usize)
    }

    /// Quits it and checks that the Python side never failed: no decode error, no datagram
    /// its recvfrom(1024) would have cut, no exception.
    pub(crate) fn finish(mut self) {
        self.command(serde_json::json!({"quit": true}));
        let finished = self.0.finish();
        assert!(finished.status.success(), "python: {finished}");
        assert!(
            finished.stderr.is_empty(),
            "the Python chat met something it cannot handle:\n{finished}"
        );
    }
}
