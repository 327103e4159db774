//! [`Live`]: a process a test talks to while it runs. [`Lesson`](crate::Lesson) feeds all of
//! stdin up front and returns at the end; a chat needs its peer's address, learnt from another
//! process's output, and lines typed after it has started.
//!
//! Its stdout and stderr are read line by line on threads of their own; a test waits, with a
//! deadline ([`PATIENCE`]), for the line it needs. Like a `Lesson`, it starts in a process group
//! of its own; if the test ends (or fails) before [`Live::finish`], the group is killed and the
//! process reaped.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;

/// How long a test waits for a line or an exit before it fails, on a slow shared machine.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A running process with piped stdin, stdout and stderr.
pub struct Live {
    program: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines,
    stderr: Lines,
    /// Set once [`Live::finish`] has reaped it: its id may then be another process's.
    reaped: bool,
}

/// What a finished [`Live`] printed, and how it ended.
#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    /// Every line of stdout, in the order printed.
    pub stdout: Vec<String>,
    /// Every line of stderr, in the order printed.
    pub stderr: Vec<String>,
}

/// The lines of one pipe, in the order they came, each marked once a test has taken it.
struct Lines {
    name: &'static str,
    incoming: Receiver<String>,
    seen: Vec<(String, bool)>,
    closed: bool,
}

impl Live {
    /// Starts `command` with its three standard streams piped, in a process group of its own,
    /// without `RUST_BACKTRACE`. Panics (failing the test) if it cannot start.
    pub fn start(mut command: Command) -> Live {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .env_remove("RUST_BACKTRACE")
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Live {
            program,
            stdin: child.stdin.take(),
            stdout: Lines::read("stdout", child.stdout.take().unwrap()),
            stderr: Lines::read("stderr", child.stderr.take().unwrap()),
            child,
            reaped: false,
        }
    }

    /// Starts a lesson binary with `args` and the tick of the tests, [`TEST_TICK_MS`](crate::TEST_TICK_MS).
    pub fn lesson(binary: &str, args: &[&str]) -> Live {
        let mut command = Command::new(binary);
        command
            .args(args)
            .env("TICK_MS", crate::TEST_TICK_MS.to_string());
        Live::start(command)
    }

    /// The process id (also its process group's).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The first line of stdout so far that contains `needle`, waiting for it if need be. A line
    /// found this way can be found again.
    pub fn wait_for(&mut self, needle: &str) -> String {
        let what = format!("line with {needle:?}");
        self.wait(Stream::Stdout, &what, false, &|l| l.contains(needle))
    }

    /// The first line of stdout not taken yet for which `wanted` holds, waiting for it if need
    /// be; it is then taken. `what` names the line for the message if it never comes.
    pub fn take_stdout(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        self.wait(Stream::Stdout, what, true, &wanted)
    }

    /// Like [`take_stdout`](Live::take_stdout), on stderr.
    pub fn take_stderr(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        self.wait(Stream::Stderr, what, true, &wanted)
    }

    /// Writes `input` to stdin and flushes it. Panics if stdin is closed.
    pub fn write(&mut self, input: impl AsRef<[u8]>) {
        let stdin = self.stdin.as_mut().expect("stdin is closed");
        stdin.write_all(input.as_ref()).unwrap();
        stdin.flush().unwrap();
    }

    /// Closes stdin: the end of input.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Closes stdin (end of input) and waits for the process to exit by itself and its output
    /// to close. Panics if either takes longer than [`PATIENCE`].
    pub fn finish(mut self) -> Finished {
        self.stdin = None;
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                self.reaped = true;
                break status;
            }
            if Instant::now() >= deadline {
                self.gather();
                panic!(
                    "{} did not exit within {PATIENCE:?} after the end of its input:\n{self}",
                    self.program
                );
            }
            thread::sleep(Duration::from_millis(5));
        };
        let deadline = Instant::now() + PATIENCE;
        self.stdout.receive_until(deadline);
        self.stderr.receive_until(deadline);
        if !(self.stdout.closed && self.stderr.closed) {
            // Something it started outlived it; the group id is still held by that process.
            let _ = signal::killpg(self.group(), Signal::SIGKILL);
            panic!(
                "{} exited ({status}), but a process it started still held its output open; \
                 its process group was killed:\n{self}",
                self.program
            );
        }
        Finished {
            status,
            stdout: self.stdout.all(),
            stderr: self.stderr.all(),
        }
    }

    /// Takes in what both streams have printed so far, for a failure message.
    fn gather(&mut self) {
        self.stdout.receive_until(Instant::now());
        self.stderr.receive_until(Instant::now());
    }

    fn group(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn wait(
        &mut self,
        stream: Stream,
        what: &str,
        take: bool,
        wanted: &dyn Fn(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + PATIENCE;
        let found = match stream {
            Stream::Stdout => self.stdout.wait(take, wanted, deadline),
            Stream::Stderr => self.stderr.wait(take, wanted, deadline),
        };
        if let Some(line) = found {
            return line;
        }
        let lines = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        let name = lines.name;
        if !lines.closed {
            self.gather(); // the other stream may hold the reason
            panic!(
                "no {what} on {name} of {} within {PATIENCE:?}; it printed:\n{self}",
                self.program
            );
        }
        // The pipe closed: the process has ended, or is ending; show all it printed.
        let grace = Instant::now() + Duration::from_secs(2);
        self.stdout.receive_until(grace);
        self.stderr.receive_until(grace);
        panic!(
            "{name} of {} closed without a {what}; it printed:\n{self}",
            self.program
        );
    }
}

#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

impl Lines {
    fn read(name: &'static str, pipe: impl Read + Send + 'static) -> Lines {
        let (sender, incoming) = mpsc::channel();
        thread::spawn(move || {
            // Lossy, not `lines()`: a line that is not UTF-8 must show, not end the reading.
            for bytes in BufReader::new(pipe).split(b'\n').map_while(Result::ok) {
                let line = String::from_utf8_lossy(&bytes);
                let line = line.strip_suffix('\r').unwrap_or(&line).to_string();
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Lines {
            name,
            incoming,
            seen: Vec::new(),
            closed: false,
        }
    }

    /// The first line for which `wanted` holds (among those not taken yet, if `take`), marking
    /// it taken if `take`; `None` if the deadline passes or the pipe closes first.
    fn wait(
        &mut self,
        take: bool,
        wanted: &dyn Fn(&str) -> bool,
        deadline: Instant,
    ) -> Option<String> {
        let mut from = 0;
        loop {
            let found = self.seen[from..]
                .iter_mut()
                .find(|(line, taken)| !(take && *taken) && wanted(line));
            if let Some((line, taken)) = found {
                *taken |= take;
                return Some(line.clone());
            }
            from = self.seen.len();
            if self.closed {
                return None;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => self.seen.push((line, false)),
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
    }

    /// Keeps every line that comes until the pipe closes or `deadline` passes.
    fn receive_until(&mut self, deadline: Instant) {
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.incoming.recv_timeout(left) {
                Ok(line) => self.seen.push((line, false)),
                Err(RecvTimeoutError::Timeout) => return,
                Err(RecvTimeoutError::Disconnected) => self.closed = true,
            }
        }
    }

    fn all(&self) -> Vec<String> {
        self.seen.iter().map(|(line, _)| line.clone()).collect()
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        if !self.reaped {
            // Not reaped yet, so the group id is still its own: kill it with all it started.
            let _ = signal::killpg(self.group(), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What it has printed so far.
impl std::fmt::Display for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout.all().join("\n"),
            self.stderr.all().join("\n")
        )
    }
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
