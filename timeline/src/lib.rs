//! # timeline — a run's threads and processes as the kernel saw them
//!
//! Concurrency is about when and where things run. [`Observer`] samples a running program every
//! millisecond or so from `/proc`: every thread of it and of every process it started, with the
//! kernel's state letter (running, sleeping, stopped, zombie) and, for a sleeping thread, what it
//! waits for (`/proc/PID/task/TID/wchan`, or the system call where `wchan` is hidden). The
//! [`Record`] it returns answers a test's questions (which processes existed, whose children
//! they were, how long they overlapped, how long `n` of them slept at once), and [`chart`] and
//! [`trace`] draw it for a person: a text chart, or a Chrome trace for Perfetto.
//!
//! The kernel sees threads, not coroutines: [`spans`] reads the rows a coroutine lesson writes
//! for its coroutines when asked (`TIMELINE_SPANS`).
//!
//! The `timeline` binary runs a lesson (or any program) under the observer and draws it;
//! `testkit` runs the lessons' tests under the same observer. Linux only: it reads `/proc`.

#[cfg(not(target_os = "linux"))]
compile_error!("timeline reads /proc: it works on Linux only");

pub mod chart;
mod observe;
mod proc;
mod record;
pub mod spans;
pub mod trace;

pub use observe::{DEFAULT_INTERVAL, Observer};
pub use record::{Record, Span, State, Task, Wait, wait_of_wchan};
