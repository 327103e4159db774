//! # Semaphores: at most N at once — Semaphore / BoundedSemaphore
//!
//! From `002_9dcbaec63db95917.txt`, 进程 (the list of types a `Manager` serves: `Semaphore`,
//! `BoundedSemaphore`, ...).
//!
//! **The Python.** The notes only name the two types, among the things a manager can share.
//! `threading.Semaphore(n)` holds a count of `n` permits: `acquire()` takes one, waiting while
//! there are none, and `release()` gives one back, so at most `n` threads are between the two at
//! once (`with sem:` does both). `release()` never checks: called once too often, it leaves the
//! semaphore with more permits than it was made with, and from then on more than `n` get in.
//! `BoundedSemaphore(n)` refuses that release with a `ValueError`.
//!
//! **This lesson.** A `Semaphore(3)` and eight workers that each stay inside for a tick. Each
//! worker prints a line as it enters and as it leaves, with how many are inside, counted under a
//! lock together with the print, so the lines are in the order the count changed: the count never
//! goes above 3, and eight one-tick workers take about three ticks, not one and not eight. Then
//! one `release()` too many: a plain semaphore of 2 accepts it and has 3 permits, a bounded one
//! refuses it and still has 2.
//!
//! **Rust differences.** std has no semaphore (a thread semaphore is a few lines on the tools it
//! has), and tokio's `Semaphore` is for async tasks, not threads; so this one is built like the
//! `event` lesson's `Event`: a count behind a `Mutex`, and a `Condvar` on which `acquire` waits
//! while the count is 0. `acquire` returns a guard, a `Permit`, that gives the permit back when it
//! is dropped: that is `with sem:`, and a permit cannot be forgotten on an early return or a
//! panic. `release` returns a `Result`: the bounded semaphore's refusal is an `Err` for the caller,
//! not an exception.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin semaphore
//! ```
//!
//! **Output** (which worker enters when varies; the counts never pass 3):
//! ```text
//! --- Semaphore(3): 8 workers, each inside for one tick
//! w1 enters (1 inside)
//! w2 enters (2 inside)
//! w3 enters (3 inside)
//! w1 leaves (2 inside)
//! w4 enters (3 inside)
//! ...
//! w8 leaves (0 inside)
//! 8 workers took 3.0 ticks; at most 3 were inside at once
//! --- one release() too many
//! Semaphore(2): release() accepted: 3 permits now, one more than it was made with
//! BoundedSemaphore(2): release() refused: ValueError: Semaphore released too many times; 2 permits
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A counting semaphore lets at most N workers in; a bounded one refuses an extra release.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// Python's `threading.Semaphore`, or with a bound its `BoundedSemaphore`.
struct Semaphore {
    permits: Mutex<usize>,
    freed: Condvar,
    bound: Option<usize>,
}

/// A permit taken by `acquire`, given back when dropped: the end of `with sem:`.
struct Permit<'a>(&'a Semaphore);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // It was taken from this semaphore, so giving it back cannot pass the bound.
        let _ = self.0.release();
    }
}

impl Semaphore {
    /// `threading.Semaphore(permits)`
    fn new(permits: usize) -> Self {
        let (freed, bound) = (Condvar::new(), None);
        Semaphore {
            permits: Mutex::new(permits),
            freed,
            bound,
        }
    }

    /// `threading.BoundedSemaphore(permits)`
    fn bounded(permits: usize) -> Self {
        Semaphore {
            bound: Some(permits),
            ..Semaphore::new(permits)
        }
    }

    /// `sem.acquire()`: waits while there is no permit, then takes one.
    fn acquire(&self) -> Permit<'_> {
        let permits = self.permits.lock().unwrap();
        let mut permits = self.freed.wait_while(permits, |p| *p == 0).unwrap();
        *permits -= 1;
        Permit(self)
    }

    /// `sem.release()`: gives a permit back and wakes one waiter; a bounded semaphore refuses a
    /// permit it never gave out.
    fn release(&self) -> Result<(), &'static str> {
        let mut permits = self.permits.lock().unwrap();
        if self.bound.is_some_and(|bound| *permits >= bound) {
            return Err("ValueError: Semaphore released too many times");
        }
        *permits += 1;
        self.freed.notify_one();
        Ok(())
    }

    fn permits(&self) -> usize {
        *self.permits.lock().unwrap()
    }
}

/// How many workers are inside, and the most seen; each change is printed under its lock.
#[derive(Default)]
struct Room {
    inside: usize,
    most: usize,
}

fn worker(name: &str, semaphore: &Semaphore, room: &Mutex<Room>, tick: Duration) {
    let _permit = semaphore.acquire();
    {
        let mut room = room.lock().unwrap();
        room.inside += 1;
        room.most = room.most.max(room.inside);
        println!("{name} enters ({} inside)", room.inside);
    }
    thread::sleep(tick);
    let mut room = room.lock().unwrap();
    room.inside -= 1;
    println!("{name} leaves ({} inside)", room.inside);
    // The permit goes back here, after the line: no one enters before this leave is printed.
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);

    println!("--- Semaphore(3): 8 workers, each inside for one tick");
    let (semaphore, room) = (Semaphore::new(3), Mutex::new(Room::default()));
    let started = Instant::now();
    thread::scope(|scope| {
        for number in 1..=8 {
            let (semaphore, room) = (&semaphore, &room);
            scope.spawn(move || worker(&format!("w{number}"), semaphore, room, tick));
        }
    });
    let ticks = started.elapsed().as_secs_f64() / tick.as_secs_f64();
    let most = room.lock().unwrap().most;
    println!("8 workers took {ticks:.1} ticks; at most {most} were inside at once");

    println!("--- one release() too many");
    extra_release("Semaphore(2)", &Semaphore::new(2));
    extra_release("BoundedSemaphore(2)", &Semaphore::bounded(2));
}

/// One `release()` on a semaphore of 2 whose permits are all there.
fn extra_release(label: &str, semaphore: &Semaphore) {
    match semaphore.release() {
        Ok(()) => println!(
            "{label}: release() accepted: {} permits now, one more than it was made with",
            semaphore.permits()
        ),
        Err(e) => println!(
            "{label}: release() refused: {e}; {} permits",
            semaphore.permits()
        ),
    }
}
