//! A lesson process a test talks to while it runs. testkit's `Lesson` feeds all of stdin up front
//! and returns at the end; a chat needs its peer's address, learnt from the other instance's
//! first line, and lines typed after it has started.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a test waits for a line or an exit before it fails, on a slow shared machine.
const PATIENCE: Duration = Duration::from_secs(30);

/// A running lesson; killed and reaped if the test ends (or fails) without [`Live::finish`].
pub(crate) struct Live {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// What a finished [`Live`] left behind.
pub(crate) struct Finished {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<String>,
    pub(crate) stderr: String,
}

impl Live {
    pub(crate) fn start(binary: &str, args: &[&str]) -> Live {
        let mut child = Command::new(binary)
            .args(args)
            .env("TICK_MS", testkit::TEST_TICK_MS.to_string())
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (sender, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Live {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr: Some(stderr),
        }
    }

    /// Waits until a line of stdout contains `needle` and returns that line.
    pub(crate) fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "no line with {needle:?} within {PATIENCE:?}:\n{}",
                        self.seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.wait();
                    let stderr = self.stderr.take().unwrap().join().unwrap();
                    panic!(
                        "the lesson ended without a line with {needle:?}:\n{}\n--- stderr ---\n{stderr}",
                        self.seen.join("\n")
                    )
                }
            }
        }
    }

    pub(crate) fn write(&mut self, input: impl AsRef<[u8]>) {
        let stdin = self.stdin.as_mut().expect("stdin is closed");
        stdin.write_all(input.as_ref()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin (end of input) and waits for the lesson to exit by itself.
    pub(crate) fn finish(mut self) -> Finished {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "the lesson did not exit within {PATIENCE:?} after end of input:\n{}",
                self.seen.join("\n")
            );
            thread::sleep(Duration::from_millis(5));
        };
        let mut stdout = std::mem::take(&mut self.seen);
        stdout.extend(self.lines.iter());
        Finished {
            status,
            stdout,
            stderr: self.stderr.take().unwrap().join().unwrap(),
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl std::fmt::Display for Finished {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status,
            self.stdout.join("\n"),
            self.stderr
        )
    }
}
