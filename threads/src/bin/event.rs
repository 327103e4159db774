//! # Events: threads wait until the main thread says go — 线程事件
//!
//! From `002_9dcbaec63db95917.txt`, 线程 › 线程事件.
//!
//! **The Python.** Threads `t` and `t2` print `start` and block on their own `threading.Event`.
//! The main thread reads commands: `t` sets the first event, `t2` the second (each thread then
//! prints `end`), and `exit` leaves the loop. If you `exit` before setting both, the program never
//! ends: the threads are not daemons and still wait.
//!
//! **This lesson.** The same program. It reads commands from standard input, so it can be typed
//! at or fed by a pipe. End of input counts as `exit`. On `exit`, any thread still waiting is
//! released so the program can end. First, a short tour of the event's five methods.
//!
//! **Rust differences.** std has no `Event`; it is a `bool` behind a `Mutex` plus a `Condvar`
//! that wakes the waiters when the flag changes. `Condvar::wait_while` re-checks the flag after
//! every wake-up, so a spurious wake-up or a `set` that happens before the `wait` never goes
//! wrong: an event stays set until it is cleared, and waiting on a set event returns at once.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin event                       # then type t, t2, exit
//! printf 't\nt2\nexit\n' | cargo run -p threads --bin event
//! ```
//!
//! **Output** of the piped run (`[t] start` and `[t2] start` may swap):
//! ```text
//! tour: a new event is_set() = false
//! tour: wait_timeout(1 tick) on it gives up: returned false
//! tour: after set(), is_set() = true and wait() returns at once
//! tour: after clear(), is_set() = false
//! [t] start
//! [t2] start
//! They are waiting!
//! You have unlocked 't'
//! [t] end
//! You have unlocked 't2'
//! [t2] end
//! bye
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::io::{self, BufRead, IsTerminal, Write};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// Threads wait on events that stdin commands set.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// Python's `threading.Event`: a flag that threads can wait to see set.
#[derive(Default)]
struct Event {
    flag: Mutex<bool>,
    changed: Condvar,
}

impl Event {
    fn set(&self) {
        *self.flag.lock().unwrap() = true;
        self.changed.notify_all();
    }

    fn clear(&self) {
        *self.flag.lock().unwrap() = false;
    }

    fn is_set(&self) -> bool {
        *self.flag.lock().unwrap()
    }

    fn wait(&self) {
        let flag = self.flag.lock().unwrap();
        let _set = self.changed.wait_while(flag, |set| !*set).unwrap();
    }

    /// Returns whether the flag is set: false means the time ran out.
    fn wait_timeout(&self, timeout: Duration) -> bool {
        let flag = self.flag.lock().unwrap();
        let (flag, _) = self
            .changed
            .wait_timeout_while(flag, timeout, |set| !*set)
            .unwrap();
        *flag
    }
}

fn do_event(event: &Event, all_started: &Barrier) {
    let me = thread::current();
    let name = me.name().unwrap_or("?");
    println!("[{name}] start");
    all_started.wait();
    event.wait();
    println!("[{name}] end");
}

fn tour(tick: Duration) {
    let event = Event::default();
    println!("tour: a new event is_set() = {}", event.is_set());
    let got = event.wait_timeout(tick);
    println!("tour: wait_timeout(1 tick) on it gives up: returned {got}");
    event.set();
    event.wait();
    println!(
        "tour: after set(), is_set() = {} and wait() returns at once",
        event.is_set()
    );
    event.clear();
    println!("tour: after clear(), is_set() = {}", event.is_set());
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    tour(tick);

    let events: Vec<(&str, Arc<Event>)> = vec![("t", Arc::default()), ("t2", Arc::default())];
    // So that "They are waiting!" is true when printed: both threads have said "start".
    let all_started = Arc::new(Barrier::new(events.len() + 1));
    let threads: Vec<_> = events
        .iter()
        .map(|(name, event)| {
            let (event, all_started) = (Arc::clone(event), Arc::clone(&all_started));
            thread::Builder::new()
                .name(name.to_string())
                .spawn(move || do_event(&event, &all_started))
                .expect("the OS refused a new thread")
        })
        .collect();
    all_started.wait();
    println!("They are waiting!");

    let interactive = io::stdin().is_terminal();
    let mut lines = io::stdin().lock().lines();
    loop {
        if interactive {
            print!("The thread that you want to unlock and input 'exit' to exit : ");
            io::stdout().flush().unwrap();
        }
        let command = match lines.next() {
            Some(Ok(line)) => line.trim().to_string(),
            Some(Err(e)) => {
                eprintln!("cannot read standard input: {e}");
                break;
            }
            None => break, // end of input: same as exit
        };
        match events.iter().find(|(name, _)| *name == command) {
            Some((name, event)) => {
                println!("You have unlocked '{name}'");
                event.set();
            }
            None if command == "exit" => break,
            None if command.is_empty() => {}
            None => println!("unknown command {command:?}: type t, t2 or exit"),
        }
    }

    for (name, event) in &events {
        if !event.is_set() {
            println!("'{name}' was never unlocked; releasing it so the program can end");
            event.set();
        }
    }
    for t in threads {
        t.join().unwrap();
    }
    println!("bye");
}
