//! # greenlet: any coroutine switches to any other — greenlet / greenlet 实现多任务
//!
//! From `001_dd92d349ebb64331.txt`, 协程 (the `greenlet` example), and `004_599445cc4c65b15e.txt`,
//! 协程 › greenlet 实现多任务.
//!
//! **The Python.** `greenlet(t1)` and `greenlet(t2)` wrap two functions; `gr1.switch()` starts
//! `t1`, which prints `t1` and switches to `gr2`; `t2` prints `t2` and switches back to `gr1`,
//! which carries on after its own `switch`, and so on. Nobody schedules them: each one names the
//! next. When `t2` returns, control goes to its parent (the main program), and `t1` is left
//! suspended for good. The 004 version is an endless ping-pong of `1` and `2`.
//!
//! **This lesson.** greenlet's switch is *symmetric*: any greenlet can jump to any other. A
//! [corosensei] coroutine is *asymmetric*: it can only `suspend` back to whoever resumed it. The
//! bridge is a small hub, a trampoline running on the main stack: a greenlet that wants to switch
//! suspends to the hub with the name of its target and a value, and the hub resumes that target
//! with the value. Switching to `main` returns from the hub to the main program. With that:
//! - the notes' program prints exactly `t1`, `t2`, `t1.gr2.switch()`, `t2.gr1.switch()`;
//! - values travel through `switch` both ways: the value given to `switch` is what the other
//!   side's `switch` returns (the first one becomes the greenlet's argument), and a greenlet's
//!   return value goes to its parent;
//! - switching to a greenlet that has finished (or to a name no greenlet has) is an `Err` for
//!   the switcher, not a crash; `hub.dead(name)` is greenlet's `gr.dead`. This differs from
//!   greenlet on purpose: there, a switch to a dead greenlet goes to its parent instead, with the
//!   value (from `main`, `doubler.switch(1)` just returns 1, as if nothing had happened). A quiet
//!   detour like that hides a bug; a `Result` makes the switcher see it and decide;
//! - the endless 1/2 ping-pong runs for `--rounds` rounds (default 5), sleeping 0.1 tick per turn.
//!
//! **Rust differences.** Greenlets here are found by name, so a body can refer to a greenlet
//! created after it, as the Python refers to the global `gr2`. The hub owns every coroutine;
//! the bodies only hold a handle for switching, so there is no shared mutable state and no
//! `unsafe`. Every greenlet here is created by `main`, so `main` is every greenlet's parent.
//! greenlet kills a suspended greenlet that is garbage-collected by raising `GreenletExit` in it;
//! corosensei does the same on drop, unwinding the coroutine's stack and running its destructors.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin greenlet
//! ```
//!
//! **Output:**
//! ```text
//! t1
//! t2
//! t1.gr2.switch()
//! t2.gr1.switch()
//! main: gr1.dead = false, gr2.dead = true
//! --- values through switch
//! doubler started with 21
//! main got 42 from doubler's switch
//! doubler's switch returned 100
//! main got 200: doubler returned it to its parent
//! main: switch to doubler failed: greenlet doubler has finished
//! main: switch to tripler failed: there is no greenlet tripler
//! --- test1/test2 ping-pong, 5 rounds
//! 1
//! 2
//! ...
//! 1
//! 2
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `corosensei = "0.3"`,
//! `sigpipe = "0.1"`.
//!
//! [corosensei]: https://docs.rs/corosensei

use clap::Parser;
use corosensei::{Coroutine, CoroutineResult, Yielder};
use std::thread;
use std::time::Duration;

/// greenlet-style symmetric switch on corosensei's asymmetric coroutines.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Rounds of the test1/test2 ping-pong (the notes loop forever).
    #[arg(long, default_value_t = 5)]
    rounds: u32,
}

/// The main program's own name: switching to it returns from [`Hub::switch`].
const MAIN: &str = "main";

/// What a suspended greenlet receives when it is switched to again: a value, or why the switch
/// it made failed.
type Received<V> = Result<V, String>;
/// A greenlet's coroutine: it suspends with (target, value) and returns a value to its parent.
type Body<V> = Coroutine<Received<V>, (&'static str, V), V>;

/// What a greenlet's function gets to switch with (greenlet's `gr.switch(value)`).
struct Greenlet<'y, V> {
    yielder: &'y Yielder<Received<V>, (&'static str, V)>,
}

impl<V> Greenlet<'_, V> {
    /// Gives `value` to the greenlet `to` and waits until someone switches back here.
    fn switch(&self, to: &'static str, value: V) -> Received<V> {
        self.yielder.suspend((to, value))
    }
}

/// The trampoline: owns every greenlet and resumes whichever one the last one switched to.
#[derive(Default)]
struct Hub<V> {
    greenlets: Vec<(&'static str, Body<V>)>,
}

impl<V: 'static> Hub<V> {
    /// `greenlet(run)`: created now, started by the first switch to it, whose value is its argument.
    fn spawn(&mut self, name: &'static str, run: impl FnOnce(&Greenlet<V>, V) -> V + 'static) {
        let body = Coroutine::new(move |yielder, first: Received<V>| {
            // Errors only go back to a greenlet that switched, so a fresh one always gets a value.
            let argument = first.expect("a greenlet is started by a successful switch");
            run(&Greenlet { yielder }, argument)
        });
        self.greenlets.push((name, body));
    }

    /// greenlet's `gr.dead`: has its function returned?
    fn dead(&self, name: &str) -> bool {
        self.greenlets
            .iter()
            .any(|(other, body)| *other == name && body.done())
    }

    /// `main`'s switch: runs greenlets until one switches to `main`, or one returns (to its
    /// parent, `main`). Returns the value that came back.
    fn switch(&mut self, to: &'static str, value: V) -> Received<V> {
        let mut from = MAIN;
        let (mut target, mut sent) = (to, Ok(value));
        loop {
            if target == MAIN {
                return sent;
            }
            let Some((_, body)) = self.greenlets.iter_mut().find(|(name, _)| *name == target)
            else {
                (target, sent) = (from, Err(format!("there is no greenlet {target}")));
                continue;
            };
            if body.done() {
                (target, sent) = (from, Err(format!("greenlet {target} has finished")));
                continue;
            }
            from = target;
            (target, sent) = match body.resume(sent) {
                CoroutineResult::Yield((next, value)) => (next, Ok(value)),
                CoroutineResult::Return(value) => (MAIN, Ok(value)),
            };
        }
    }
}

/// The notes' program: t1 and t2 hand control to each other by name.
fn notes_example() {
    let mut hub = Hub::default();
    hub.spawn("gr1", |gr, ()| {
        println!("t1");
        gr.switch("gr2", ()).unwrap();
        println!("t1.gr2.switch()");
        gr.switch("gr2", ()).unwrap();
    });
    hub.spawn("gr2", |gr, ()| {
        println!("t2");
        gr.switch("gr1", ()).unwrap();
        println!("t2.gr1.switch()");
    });
    hub.switch("gr1", ()).unwrap();
    // gr2 returned to its parent; gr1 stays suspended in its second switch until the hub drops it.
    println!(
        "main: gr1.dead = {}, gr2.dead = {}",
        hub.dead("gr1"),
        hub.dead("gr2")
    );
}

/// Values through switch, both ways, and a switch to a finished greenlet.
fn values_example() {
    let mut hub = Hub::default();
    hub.spawn("doubler", |gr, first: i64| {
        println!("doubler started with {first}");
        let next = gr.switch(MAIN, first * 2).unwrap();
        println!("doubler's switch returned {next}");
        next * 2
    });
    let doubled = hub.switch("doubler", 21).unwrap();
    println!("main got {doubled} from doubler's switch");
    let returned = hub.switch("doubler", 100).unwrap();
    println!("main got {returned}: doubler returned it to its parent");
    for to in ["doubler", "tripler"] {
        if let Err(e) = hub.switch(to, 1) {
            println!("main: switch to {to} failed: {e}");
        }
    }
}

/// The 004 notes' endless ping-pong, bounded: test1 stops after `rounds`, test2 is dropped.
fn ping_pong(rounds: u32, tick: Duration) {
    let mut hub = Hub::default();
    hub.spawn("g1", move |gr, ()| {
        for _ in 0..rounds {
            println!("1");
            gr.switch("g2", ()).unwrap();
            thread::sleep(tick / 10);
        }
    });
    hub.spawn("g2", move |gr, ()| {
        loop {
            println!("2");
            gr.switch("g1", ()).unwrap();
            thread::sleep(tick / 10);
        }
    });
    hub.switch("g1", ()).unwrap();
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    notes_example();
    println!("--- values through switch");
    values_example();
    println!("--- test1/test2 ping-pong, {} rounds", args.rounds);
    ping_pong(args.rounds, Duration::from_millis(args.tick_ms));
}
