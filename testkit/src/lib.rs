//! Test support shared by every member's `tests/` (not a lesson, never copied into homework).
//!
//! [`Lesson`] runs one lesson binary the way a learner would, with a small `TICK_MS`, optional
//! arguments and standard input, and a deadline. Each lesson starts in a process group of its
//! own: a lesson that overruns its deadline is killed with every process it started, and the test
//! fails with what they printed so far, instead of hanging the whole suite. A lesson that exits
//! while a process it started still holds its output open fails the test too: that process is an
//! orphan (it is killed with the group, and the message shows the output).
//!
//! [`assert_quiet_when_stdout_closed`] checks that a program ends quietly when its reader goes
//! away, as in `lesson | head -1`. Unix only (process groups, signals), like the lessons.
//!
//! [`Lesson::observe`] runs the lesson under `timeline`'s observer: the [`Run`] then also holds
//! the [`Record`] of every thread and process the lesson had, as the kernel showed them, so a
//! test proves its point from what happened (these two children overlapped; this ran on one
//! thread) rather than from what the lesson printed about itself.
//!
//! [`Live`] is a process a test talks to while it runs: it waits for lines of its output, writes
//! to its stdin, then closes it and waits for the exit ([`Finished`]).

mod live;

pub use live::{Finished, Live, PATIENCE};
pub use timeline::{Record, State, Task, Wait};

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{self, Signal};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;

/// The tick most tests use: short enough for a fast suite, long enough that a tick dwarfs the
/// scheduling noise of a busy two-core machine.
pub const TEST_TICK_MS: u64 = 40;

/// A lesson run to be configured, then [`run`](Lesson::run).
pub struct Lesson {
    command: Command,
    stdin: Option<Vec<u8>>,
    deadline: Duration,
    tick_ms: u64,
    close_stdout: bool,
    observe: bool,
}

/// What a finished lesson run left behind.
#[derive(Debug)]
pub struct Run {
    /// The command line that was run, for messages.
    pub command: String,
    pub stdout: String,
    pub stderr: String,
    pub status: ExitStatus,
    pub elapsed: Duration,
    tick_ms: u64,
    record: Option<Record>,
}

impl Lesson {
    /// A lesson binary, usually `env!("CARGO_BIN_EXE_<name>")`.
    pub fn new(binary: &str) -> Self {
        let mut command = Command::new(binary);
        command.env("TICK_MS", TEST_TICK_MS.to_string());
        command.env_remove("RUST_BACKTRACE");
        // Its own group (id = its pid), so a deadline can kill it and everything it started.
        command.process_group(0);
        Lesson {
            command,
            stdin: None,
            deadline: Duration::from_secs(60),
            tick_ms: TEST_TICK_MS,
            close_stdout: false,
            observe: false,
        }
    }

    pub fn tick_ms(mut self, tick_ms: u64) -> Self {
        self.command.env("TICK_MS", tick_ms.to_string());
        self.tick_ms = tick_ms;
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.command.env(key, value);
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.command.args(args);
        self
    }

    /// Text fed to the lesson's standard input, which is then closed (EOF).
    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.as_bytes().to_vec());
        self
    }

    /// Makes stdout a stream whose reading end is closed before the lesson starts, as when the
    /// reader of `lesson | head -1` has already gone: every write, the first included, raises
    /// `SIGPIPE` (or fails with `EPIPE` where that is ignored). The run's `stdout` is then empty; see
    /// [`Run::assert_quiet`].
    pub fn close_stdout(mut self) -> Self {
        self.close_stdout = true;
        self
    }

    /// Observes the run with `timeline`'s observer (a sample of `/proc` every millisecond);
    /// [`Run::observed`] then gives the record.
    pub fn observe(mut self) -> Self {
        self.observe = true;
        self
    }

    /// How long the lesson may run before it is killed and the test fails (default 60 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Runs the lesson to its end. Panics (failing the test) if it cannot start, overruns its
    /// deadline, or leaves a process behind that holds its output open; in the last two cases
    /// its whole process group is killed first. The exit status is left to the test to judge.
    pub fn run(mut self) -> Run {
        let started = Instant::now();
        let stdout_to = if self.close_stdout {
            // Closed before the lesson starts, so its very first write fails, however short its
            // output: a pipe it could fill before we closed it would prove nothing. A socket
            // pair fails a write the same way (EPIPE, SIGPIPE), and std opens it close-on-exec,
            // so no lesson started meanwhile by another test inherits the reading end.
            let (write_end, read_end) = UnixStream::pair().expect("a socket pair");
            drop(read_end);
            Stdio::from(OwnedFd::from(write_end))
        } else {
            Stdio::piped()
        };
        let mut child = self
            .command
            .stdin(Stdio::piped())
            .stdout(stdout_to)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", self.command.get_program()));
        let group = Pid::from_raw(child.id() as i32);
        let observer = (self.observe)
            .then(|| timeline::Observer::start(child.id(), started, timeline::DEFAULT_INTERVAL));
        let input = self.stdin.take().unwrap_or_default();
        let mut child_stdin = child.stdin.take().unwrap();
        // Write from a thread: a lesson that prints a lot before reading must not deadlock us.
        let writer = thread::spawn(move || {
            // A lesson may exit without reading all of it; that is its business.
            let _ = child_stdin.write_all(&input);
        });
        let stdout = match child.stdout.take() {
            Some(pipe) => drain(pipe),
            None => already_drained(),
        };
        let stderr = drain(child.stderr.take().unwrap());

        let program = self.command.get_program().to_owned();
        loop {
            // Ended, but not reaped yet, so that the observer's last sample still finds it.
            let ended = waitid(
                Id::Pid(group),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
            );
            if !matches!(ended, Ok(WaitStatus::StillAlive)) {
                break;
            }
            if started.elapsed() > self.deadline {
                // Not just the lesson: its children would keep the pipes open and the output
                // unread. The lesson is the group's leader, so it is reaped just below.
                let _ = signal::killpg(group, Signal::SIGKILL);
                let _ = child.wait();
                panic!(
                    "{program:?} did not finish within {:?}; its process group was killed\n{}",
                    self.deadline,
                    output_after_kill(&stdout, &stderr)
                );
            }
            thread::sleep(Duration::from_millis(5));
        }
        let elapsed = started.elapsed();
        let record = observer.map(timeline::Observer::finish);
        let status = child.wait().expect("waiting on the lesson");
        writer.join().unwrap();
        // The pipes close when every process holding them has exited: if the lesson is gone but
        // they stay open, something it started outlived it.
        let grace = Instant::now() + Duration::from_secs(5);
        let (stdout, stderr) = match (collect(&stdout, grace), collect(&stderr, grace)) {
            (Some(stdout), Some(stderr)) => (stdout, stderr),
            (stdout_text, stderr_text) => {
                let _ = signal::killpg(group, Signal::SIGKILL);
                let grace = Instant::now() + Duration::from_secs(2);
                let held = || "(still held open by a process outside the group)".to_string();
                panic!(
                    "{program:?} exited ({status}), but a process it started still held its \
                     output open; its process group was killed\n\
                     --- stdout ---\n{}\n--- stderr ---\n{}",
                    stdout_text
                        .or_else(|| collect(&stdout, grace))
                        .unwrap_or_else(held),
                    stderr_text
                        .or_else(|| collect(&stderr, grace))
                        .unwrap_or_else(held)
                );
            }
        };
        Run {
            command: format!("{:?}", self.command),
            stdout,
            stderr,
            status,
            elapsed,
            tick_ms: self.tick_ms,
            record,
        }
    }
}

/// Checks that `binary args...` ends quietly when its stdout is a closed pipe, as a lesson must
/// when run as `lesson | head -1`: it exits with success or dies of `SIGPIPE` (the default
/// action `sigpipe::reset()` restores), and prints no panic and no "failed printing" error.
/// The tick is [`TEST_TICK_MS`], stdin is empty.
pub fn assert_quiet_when_stdout_closed(binary: &str, args: &[&str]) {
    Lesson::new(binary)
        .args(args)
        .close_stdout()
        .run()
        .assert_quiet();
}

/// What the killed group printed, once its pipes have closed (or a note that they have not).
fn output_after_kill(stdout: &Receiver<String>, stderr: &Receiver<String>) -> String {
    let grace = Instant::now() + Duration::from_secs(2);
    let held = || "(still held open by a process outside the group)".to_string();
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        collect(stdout, grace).unwrap_or_else(held),
        collect(stderr, grace).unwrap_or_else(held)
    )
}

/// A drained pipe that held nothing: stdout when it was closed before the lesson started.
fn already_drained() -> Receiver<String> {
    let (text, received) = mpsc::channel();
    text.send(String::new()).unwrap();
    received
}

/// Reads a pipe to its end on a thread of its own; the text arrives on the returned channel.
fn drain(mut pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (text, received) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        let _ = text.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    received
}

/// What a drained pipe held, or `None` if it is still open at `until`.
fn collect(drained: &Receiver<String>, until: Instant) -> Option<String> {
    let wait = until.saturating_duration_since(Instant::now());
    drained.recv_timeout(wait).ok()
}

impl Run {
    /// Panics with the lesson's output unless it exited with status 0.
    pub fn success(self) -> Self {
        assert!(self.status.success(), "lesson failed: {self}");
        self
    }

    /// What the observer saw; panics unless the lesson ran with [`Lesson::observe`].
    pub fn observed(&self) -> &Record {
        self.record
            .as_ref()
            .expect("this run was not observed: use Lesson::observe()")
    }

    /// The lesson's own process, as observed.
    pub fn lesson_process(&self) -> &Task {
        let record = self.observed();
        record
            .process(record.root)
            .unwrap_or_else(|| panic!("the lesson's own process was never observed: {self}"))
    }

    /// The processes the lesson started, as observed, in the order they appeared.
    pub fn observed_children(&self) -> Vec<&Task> {
        let record = self.observed();
        record.children_of(record.root)
    }

    /// A duration in ticks of the run's `TICK_MS`.
    pub fn ticks(&self, duration: Duration) -> f64 {
        duration.as_secs_f64() * 1000.0 / self.tick_ms as f64
    }

    /// Panics unless the run ended quietly after its stdout was closed ([`Lesson::close_stdout`]):
    /// success or death by `SIGPIPE`, and no panic or print error on stderr.
    pub fn assert_quiet(&self) {
        let by_sigpipe = self.status.signal() == Some(Signal::SIGPIPE as i32);
        assert!(
            self.status.success() || by_sigpipe,
            "not a quiet end on a closed stdout (success or SIGPIPE): {self}"
        );
        for noise in ["panicked", "failed printing", "Broken pipe", "os error 32"] {
            assert!(
                !self.stderr.contains(noise),
                "{noise:?} on stderr after stdout was closed: {self}"
            );
        }
    }

    /// Panics unless the run was a usage error: exit code 2 and clap's `error:` line on
    /// stderr, without a panic.
    pub fn usage_error(self) -> Self {
        assert_eq!(self.status.code(), Some(2), "not a usage error: {self}");
        assert!(self.stderr.starts_with("error:"), "no error line: {self}");
        assert!(
            !self.stderr.contains("panicked"),
            "a panic, not an error: {self}"
        );
        self
    }

    /// Checks a member's index (`cargo run -p <member>`): it gives the command of every lesson
    /// in `order`, in that order, and of no other lesson.
    pub fn assert_lists_lessons(&self, member: &str, order: &[&str]) {
        let command = format!("cargo run -p {member} --bin ");
        let positions: Vec<usize> = order
            .iter()
            .map(|lesson| self.position(&format!("{command}{lesson}")))
            .collect();
        assert!(
            positions.is_sorted(),
            "lessons out of reading order:\n{self}"
        );
        assert_eq!(self.count(&command), order.len(), "{self}");
    }

    /// The lines of stdout.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    /// How many stdout lines contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.stdout.lines().filter(|l| l.contains(needle)).count()
    }

    /// The index of the first stdout line containing `needle`; panics if there is none.
    pub fn position(&self, needle: &str) -> usize {
        self.stdout
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line contains {needle:?} in:\n{self}"))
    }

    /// Wall-clock time of the run, in ticks of the run's `TICK_MS`.
    pub fn elapsed_ticks(&self) -> f64 {
        self.elapsed.as_secs_f64() * 1000.0 / self.tick_ms as f64
    }

    /// The first number (integer or decimal, maybe negative) after `label` on the first line
    /// that contains `label`.
    pub fn number_after(&self, label: &str) -> f64 {
        match self.numbers_after(label).first() {
            Some(&number) => number,
            None => panic!("no line contains {label:?} in:\n{self}"),
        }
    }

    /// The first number after `label` on every line that contains `label`, in order.
    pub fn numbers_after(&self, label: &str) -> Vec<f64> {
        self.stdout
            .lines()
            .filter_map(|line| line.find(label).map(|at| (line, &line[at + label.len()..])))
            .map(|(line, rest)| {
                parse_leading_number(rest)
                    .unwrap_or_else(|| panic!("no number after {label:?} in {line:?}"))
            })
            .collect()
    }
}

fn parse_leading_number(text: &str) -> Option<f64> {
    let start = text.find(|c: char| c.is_ascii_digit() || c == '-')?;
    let number: String = text[start..]
        .chars()
        .enumerate()
        .take_while(|&(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && c == '-'))
        .map(|(_, c)| c)
        .collect();
    number.parse().ok()
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} after {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.command, self.status, self.elapsed, self.stdout, self.stderr
        )?;
        if let Some(record) = &self.record {
            let options = timeline::chart::Options {
                title: "--- as observed".into(),
                tick: Duration::from_millis(self.tick_ms),
                width: 100,
                notes: Vec::new(),
            };
            write!(f, "{}", timeline::chart::render(record, &options))?;
        }
        Ok(())
    }
}
