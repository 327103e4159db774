//! # A traffic light with an event — Event 红绿灯
//!
//! From `001_dd92d349ebb64331.txt`, 事件(Event类) (利用Event类模拟红绿灯).
//!
//! **The Python.** A `lighter` thread keeps an `Event` set while the light is green and clears it
//! while it is red, printing the colour every second. A `car` thread drives each second while
//! the event is set; when it is not, it says it sees red and blocks in `event.wait()` until the
//! light turns green again. Both loop forever.
//!
//! **This lesson.** The same two threads for a bounded number of cycles (`--cycles`, each 3 ticks
//! of green and 2 of red), then the light turns off and the car goes home. The car never moves on
//! red, waits on red, and resumes on green.
//!
//! **Rust differences.** std has no `Event`: it gives the parts (a `Mutex`, a `Condvar`, and
//! `thread::park` for a single waiter), and an event is a few lines on top of them. The `Event`
//! here is a copy of the one in the `event` lesson: a `bool` in a `Mutex` plus a `Condvar`, with
//! `set`, `clear`, `is_set` and `wait`. The car uses it as the notes do: `is_set` to look,
//! `wait` to block on red. Two things are added. The light also turns off, so the car can go
//! home: the light raises an `off` flag and sets the event to wake the car. And each thread holds
//! the stdout lock while it looks at or changes the event and prints what it saw, so the printed
//! order is the real order: a "开动了" line always stands in a green stretch. In the Python, the
//! car's `is_set()` and its `print` are separate steps, and the light can turn red in between.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin traffic_light
//! cargo run -p threads --bin traffic_light -- --cycles 3
//! ```
//!
//! **Output** (the car's and the light's lines interleave a little differently every run):
//! ```text
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是绿灯
//! ['MINI'] 开动了...
//! 现在是红灯
//! ['MINI'] 看到红灯,等待中...
//! 现在是红灯
//! 现在是绿灯
//! ['MINI'] 绿灯，请通行...
//! ['MINI'] 开动了...
//! ...
//! 灯关了
//! ['MINI'] 到家了
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::Duration;

/// A car drives on green and waits on red.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// Green-then-red cycles before the light turns off.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=1000))]
    cycles: u32,
}

/// Python's `threading.Event`, as in the `event` lesson.
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
}

/// The notes' global `event` (set = green), and the light's end, which the notes never reach.
#[derive(Default)]
struct Road {
    green: Event,
    off: AtomicBool,
}

fn lighter(road: &Road, cycles: u32, tick: Duration) {
    for _ in 0..cycles {
        for (green, message, ticks) in [(true, "现在是绿灯", 3), (false, "现在是红灯", 2)]
        {
            for _ in 0..ticks {
                let mut out = io::stdout().lock();
                if green {
                    road.green.set();
                } else {
                    road.green.clear();
                }
                writeln!(out, "{message}").unwrap();
                drop(out);
                thread::sleep(tick);
            }
        }
    }
    let mut out = io::stdout().lock();
    road.off.store(true, Ordering::SeqCst);
    road.green.set(); // wakes a car waiting on red
    writeln!(out, "灯关了").unwrap();
}

fn car(name: &str, road: &Road, tick: Duration) {
    loop {
        let mut out = io::stdout().lock();
        if road.off.load(Ordering::SeqCst) {
            break;
        }
        if road.green.is_set() {
            writeln!(out, "['{name}'] 开动了...").unwrap();
            drop(out);
            thread::sleep(tick);
        } else {
            writeln!(out, "['{name}'] 看到红灯,等待中...").unwrap();
            drop(out); // never block holding stdout: the light needs it to turn green
            road.green.wait();
            let mut out = io::stdout().lock();
            // Still green (a car that woke very late may find red again, and waits again).
            if road.green.is_set() && !road.off.load(Ordering::SeqCst) {
                writeln!(out, "['{name}'] 绿灯，请通行...").unwrap();
            }
        }
    }
    println!("['{name}'] 到家了");
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let road = Arc::new(Road::default());
    // Green from the start, as the notes' lighter sets it first; set here, before the car
    // starts, so the car cannot look before the light has.
    road.green.set();

    let light_thread = thread::spawn({
        let road = Arc::clone(&road);
        move || lighter(&road, args.cycles, tick)
    });
    let car_thread = thread::spawn({
        let road = Arc::clone(&road);
        move || car("MINI", &road, tick)
    });
    light_thread.join().unwrap();
    car_thread.join().unwrap();
}
