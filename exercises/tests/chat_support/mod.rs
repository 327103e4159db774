//! Processes the chat tests talk to while they run: `chat` with stdin piped, and the notes'
//! Python chat (`py_chat.py`). Each is killed and reaped if a test fails before it ends.

use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a test waits for a line or an exit before it fails, on a slow shared machine.
pub(crate) const PATIENCE: Duration = Duration::from_secs(30);

/// The program under test: `CHAT_BIN`, so a learner can grade their own chat, or this one.
pub(crate) fn chat_bin() -> String {
    std::env::var("CHAT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_chat").to_string())
}

/// The lines of one pipe, as they come; a test takes the ones it waits for.
struct Lines {
    name: &'static str,
    incoming: Receiver<String>,
    pending: Vec<String>,
    taken: Vec<String>,
}

impl Lines {
    fn read(name: &'static str, pipe: impl Read + Send + 'static) -> Lines {
        let (sender, incoming) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            name,
            incoming,
            pending: Vec::new(),
            taken: Vec::new(),
        }
    }

    /// The first line not taken yet for which `wanted` holds, waiting for it if need be.
    fn take(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(at) = self.pending.iter().position(|l| wanted(l)) {
                let line = self.pending.remove(at);
                self.taken.push(line.clone());
                return line;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => self.pending.push(line),
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no {what} on {} within {PATIENCE:?}; it printed:\n{}",
                    self.name,
                    self.all().join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "{} closed without {what}; it printed:\n{}",
                    self.name,
                    self.all().join("\n")
                ),
            }
        }
    }

    /// Every line, once the process has ended.
    fn rest(mut self) -> Vec<String> {
        self.pending.extend(self.incoming.iter());
        self.all()
    }

    fn all(&self) -> Vec<String> {
        self.taken.iter().chain(&self.pending).cloned().collect()
    }
}

/// A child process with piped stdin, stdout and stderr.
struct Process {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<Lines>,
    stderr: Option<Lines>,
}

/// What a process left behind.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: Vec<String>,
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr.join("\n")
        )
    }
}

impl Process {
    fn start(mut command: Command, what: &str) -> Process {
        let mut child = command
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        Process {
            stdin: child.stdin.take(),
            stdout: Some(Lines::read("stdout", child.stdout.take().unwrap())),
            stderr: Some(Lines::read("stderr", child.stderr.take().unwrap())),
            child,
        }
    }

    fn stdout(&mut self) -> &mut Lines {
        self.stdout.as_mut().unwrap()
    }

    fn stderr(&mut self) -> &mut Lines {
        self.stderr.as_mut().unwrap()
    }

    fn write(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin is closed");
        stdin.write_all(bytes).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin and waits for the process to exit by itself.
    fn finish(mut self) -> Finished {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "did not exit within {PATIENCE:?} after the end of its input"
            );
            thread::sleep(Duration::from_millis(5));
        };
        Finished {
            status,
            stdout: self.stdout.take().unwrap().rest(),
            stderr: self.stderr.take().unwrap().rest(),
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `chat` with stdin piped: lines written are sent, arrivals come on stdout.
pub(crate) struct Chat(Process);

impl Chat {
    pub(crate) fn start(args: &[&str]) -> Chat {
        let mut command = Command::new(chat_bin());
        command.args(args);
        Chat(Process::start(command, "chat"))
    }

    /// The address chat says it listens on: `chat: listening on 127.0.0.1:4000 (GBK)`.
    pub(crate) fn address(&mut self) -> SocketAddr {
        let line = self
            .0
            .stderr()
            .take("'listening on ADDR'", |l| l.contains("listening on "));
        let after = &line[line.find("listening on ").unwrap() + "listening on ".len()..];
        let addr = after.split_whitespace().next().unwrap();
        addr.parse()
            .unwrap_or_else(|_| panic!("not an address in {line:?}"))
    }

    pub(crate) fn write(&mut self, input: impl AsRef<[u8]>) {
        self.0.write(input.as_ref());
    }

    /// The next message from `from`: the text after `[HH:MM:SS] ADDR: ` (with any note).
    pub(crate) fn arrival(&mut self, from: SocketAddr) -> String {
        let prefix = format!("] {from}: ");
        let line = self
            .0
            .stdout()
            .take(&format!("a message from {from}"), |l| {
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
            .stderr()
            .take(&format!("{needle:?}"), |l| l.contains(needle))
    }

    /// Closes its stdin: the end of input.
    pub(crate) fn end_input(&mut self) {
        self.0.stdin = None;
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.child.id()
    }

    pub(crate) fn finish(self) -> Finished {
        self.0.finish()
    }
}

/// The notes' Python chat, driven by JSON commands (see `py_chat.py`).
pub(crate) struct PyChat(Process);

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
        PyChat(Process::start(command, "python3 py_chat.py"))
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
        self.0.write(format!("{command}\n").as_bytes());
    }

    /// The value of `key` in the next JSON line that has it.
    pub(crate) fn next(&mut self, key: &str) -> Value {
        let has_key = |line: &str| {
            serde_json::from_str::<Value>(line).is_ok_and(|object| object.get(key).is_some())
        };
        let line = self.0.stdout().take(&format!("a {key:?} line"), has_key);
        let mut object: Value = serde_json::from_str(&line).unwrap();
        object[key].take()
    }

    /// The next message it received: (text, its length in bytes).
    pub(crate) fn received(&mut self) -> (String, usize) {
        let line = self
            .0
            .stdout()
            .take("a received message", |l| l.starts_with("{\"received\":"));
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
