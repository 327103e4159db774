//! # Condition variables and the lost wake-up — Condition
//!
//! From `002_9dcbaec63db95917.txt`, 线程 › Condition类.
//!
//! **The Python.** Two consumers take the condition's lock, print, and `cond.wait()`; two seconds
//! apart they are followed by a producer that takes the lock, prints, calls `notifyAll()` and
//! prints again. Both consumers wake. The consumers wait for nothing in particular: if the
//! producer had notified before a consumer reached `wait()` (start it first, or delay the
//! consumer), that notification would be lost and the consumer would wait forever. The sleeps
//! are all that keep the order right. `notifyAll` is the old camel-case name, deprecated since
//! Python 3.10 in favour of `notify_all`; the notes leave `notify()`, which wakes one waiter, in
//! a comment beside it.
//!
//! **This lesson.** First the notes' program, with the fix: the producer sets a `ready` flag under
//! the lock before notifying, and consumers wait *while* it is not set. Both consumers wake, and
//! neither can print "after wait" before the producer has finished and let go of the lock. Then
//! the lost wake-up itself, with the producer run first: a consumer that waits without a
//! predicate hears nothing (it gives up after 3 ticks instead of hanging, to show it), and a
//! consumer with the predicate sees `ready` and does not wait at all. Last, `notify()`, which
//! the notes mention but do not run: three waiters wait for a ticket, and the producer hands out
//! three tickets one at a time, each with a `notify_one`. Every waiter counts its wake-ups (each
//! return from `wait`): each `notify_one` wakes exactly one of them, which takes the ticket,
//! while the others sleep on. (`notify_all` would wake all that wait, to find one ticket.)
//!
//! **Rust differences.** `Condvar` pairs with a `Mutex` whose data is the condition, so the
//! state a waiter checks is always read under the lock. `wait_while` loops around `wait` until
//! the predicate is false, which also covers spurious wake-ups. `notify_all` is `notifyAll`;
//! `notify_one` is `notify()`. Which waiter `notify_one` wakes is up to the OS, so the ticket
//! holders' order varies from run to run.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin condition
//! ```
//!
//! **Output** (c1 and c2 wake in either order, and w1, w2, w3 take the tickets in any order):
//! ```text
//! c1: consumer before wait
//! c2: consumer before wait
//! p: producer before notifyAll
//! p: producer after notifyAll
//! c1: consumer after wait
//! c2: consumer after wait
//! lost wake-up: p notified before anyone waited
//! c3 (no predicate): no wake-up in 3 ticks; the notes' cond.wait() would block forever
//! c4 (predicate): ready was already true, so it did not wait
//! --- notify_one: three waiters, one ticket per notify
//! p: a ticket, then notify_one (round 1)
//! w2: woke and took the ticket
//! p: round 1: notify_one woke 1 waiter; 2 still waiting
//! ...
//! p: round 3: notify_one woke 1 waiter; 0 still waiting
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// Consumers wait on a Condvar with a predicate; notify_all wakes them all.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// The condition: a `ready` flag and the condvar that announces changes to it.
#[derive(Default)]
struct Condition {
    ready: Mutex<bool>,
    cond: Condvar,
}

fn consumer(name: &str, condition: &Condition) {
    let ready = condition.ready.lock().unwrap();
    println!("{name}: consumer before wait");
    let _ready = condition.cond.wait_while(ready, |ready| !*ready).unwrap();
    println!("{name}: consumer after wait");
}

fn producer(name: &str, condition: &Condition) {
    let mut ready = condition.ready.lock().unwrap();
    println!("{name}: producer before notifyAll");
    *ready = true;
    condition.cond.notify_all();
    println!("{name}: producer after notifyAll");
}

fn spawn(
    name: &'static str,
    condition: &Arc<Condition>,
    role: fn(&str, &Condition),
) -> thread::JoinHandle<()> {
    let condition = Arc::clone(condition);
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || role(name, &condition))
        .expect("the OS refused a new thread")
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);

    let condition = Arc::new(Condition::default());
    let c1 = spawn("c1", &condition, consumer);
    thread::sleep(tick);
    let c2 = spawn("c2", &condition, consumer);
    thread::sleep(tick);
    let p = spawn("p", &condition, producer);
    for t in [c1, c2, p] {
        t.join().unwrap();
    }

    // The producer first: nobody is waiting when it notifies.
    let condition = Arc::new(Condition::default());
    spawn("p", &condition, producer).join().unwrap();
    println!("lost wake-up: p notified before anyone waited");

    // c3 waits like the notes, for a notification alone.
    let ready = condition.ready.lock().unwrap();
    let (ready, waited) = condition.cond.wait_timeout(ready, tick * 3).unwrap();
    if waited.timed_out() {
        println!(
            "c3 (no predicate): no wake-up in 3 ticks; the notes' cond.wait() would block forever"
        );
    } else {
        println!("c3 (no predicate): woke without a notification (a spurious wake-up)");
    }
    drop(ready);

    // c4 waits for the condition itself.
    let ready = condition.ready.lock().unwrap();
    let ready = condition.cond.wait_while(ready, |ready| !*ready).unwrap();
    println!(
        "c4 (predicate): ready was already {}, so it did not wait",
        *ready
    );

    notify_one(tick);
}

/// Tickets for waiters, and counts the producer reads.
#[derive(Default)]
struct Tickets {
    tickets: u32,
    waiting: u32,
    wakeups: u32,
}

/// The tickets, the condvar waiters wait on, and one that tells the producer something changed.
type Counter = (Mutex<Tickets>, Condvar, Condvar);

fn ticket_waiter(name: &str, (state, cond, changed): &Counter) {
    let mut state = state.lock().unwrap();
    state.waiting += 1;
    changed.notify_all();
    // Waits by hand, not with `wait_while`, to count every return from `wait`.
    while state.tickets == 0 {
        state = cond.wait(state).unwrap();
        state.wakeups += 1;
    }
    state.tickets -= 1;
    state.waiting -= 1;
    println!("{name}: woke and took the ticket");
    changed.notify_all();
}

/// `cond.notify()`: one ticket and one `notify_one` per round, for three waiters.
fn notify_one(tick: Duration) {
    println!("--- notify_one: three waiters, one ticket per notify");
    let counter = Arc::new(Counter::default());
    let waiters = ["w1", "w2", "w3"].map(|name| {
        let counter = Arc::clone(&counter);
        thread::Builder::new()
            .name(name.to_string())
            .spawn(move || ticket_waiter(name, &counter))
            .expect("the OS refused a new thread")
    });
    let (state, cond, changed) = &*counter;
    drop(
        changed
            .wait_while(state.lock().unwrap(), |s| s.waiting < 3)
            .unwrap(),
    );
    thread::sleep(tick); // for each waiter to be asleep in `wait`, not only on its way there
    for round in 1..=3 {
        let mut counts = state.lock().unwrap();
        let before = counts.wakeups;
        counts.tickets += 1;
        cond.notify_one();
        println!("p: a ticket, then notify_one (round {round})");
        drop(changed.wait_while(counts, |s| s.tickets > 0).unwrap());
        thread::sleep(tick); // for any other waiter it woke to count its wake-up
        let counts = state.lock().unwrap();
        let (woke, waiting) = (counts.wakeups - before, counts.waiting);
        println!("p: round {round}: notify_one woke {woke} waiter; {waiting} still waiting");
    }
    for waiter in waiters {
        waiter.join().unwrap();
    }
}
