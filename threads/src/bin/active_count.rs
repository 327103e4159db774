//! # Counting live threads — active_count / enumerate
//!
//! From `001_dd92d349ebb64331.txt` (Thread类 › 统计当前活跃的线程数) and
//! `004_599445cc4c65b15e.txt` (线程 › threading模块: `threading.enumerate()`).
//!
//! **The Python.** Three threads print `任务:t-N` and sleep a second; the main thread joins them,
//! waits 5.5 seconds and prints `threading.active_count()`. The other program prints
//! `threading.enumerate()`, the list of live threads, before and after each `start()`.
//! (The notes show 5 after the join because Jupyter runs threads of its own.)
//!
//! **This lesson.** The counts before the workers start (1), while they run (4: main and three
//! workers) and after they are joined (1), taken two ways: a registry the program keeps, and the
//! kernel's own list of the process's threads. A barrier keeps the workers alive until `main`
//! has counted them, so "during" is exact even on a busy machine.
//!
//! **Rust differences.** std keeps no list of threads, so there is no `active_count()` or
//! `enumerate()`. If you need one, keep it: here a `static` set of names, filled by a
//! `spawn_registered` that adds the name before the thread starts and a guard that removes it
//! when the thread's closure ends (even if it panics). On Linux the kernel lists every thread of
//! the process in `/proc/self/task`; that count is shown on Linux only. A thread leaves that
//! list a moment after `join` returns, so the lesson sleeps a tick first, as the notes do.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin active_count
//! ```
//!
//! **Output** (the `任务` lines may come in any order):
//! ```text
//! enumerate before: ["MainThread"]
//! 任务:t-0
//! enumerate after starting t-0: ["MainThread", "t-0"]
//! ...
//! active_count before: 1 (kernel: 1)
//! active_count during: 4 (kernel: 4)
//! active_count after: 1 (kernel: 1)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::collections::BTreeSet;
use std::sync::{Arc, Barrier, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// A registry of live threads, since std keeps none.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

/// The names of the threads alive now.
static REGISTRY: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());

/// Holds a name in the registry for as long as it lives.
struct Registered(String);

impl Registered {
    fn new(name: &str) -> Self {
        REGISTRY.lock().unwrap().insert(name.to_string());
        Registered(name.to_string())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // A thread that panicked while holding the lock poisons it; the set is still fine.
        let mut registry = REGISTRY
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        registry.remove(&self.0);
    }
}

/// Spawns a named thread that is in the registry from before it starts until its closure ends.
fn spawn_registered(name: &str, work: impl FnOnce() + Send + 'static) -> JoinHandle<()> {
    let entry = Registered::new(name);
    thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _entry = entry;
            work();
        })
        .expect("the OS refused a new thread")
}

fn enumerate() -> Vec<String> {
    REGISTRY.lock().unwrap().iter().cloned().collect()
}

fn active_count() -> usize {
    REGISTRY.lock().unwrap().len()
}

#[cfg(target_os = "linux")]
fn kernel_thread_count() -> String {
    match std::fs::read_dir("/proc/self/task") {
        Ok(tasks) => tasks.count().to_string(),
        Err(e) => format!("unreadable: {e}"),
    }
}

#[cfg(not(target_os = "linux"))]
fn kernel_thread_count() -> String {
    "shown on Linux only".to_string()
}

fn fun(n: &str, tick: Duration, counted: &Barrier) {
    println!("任务:{n}");
    // Stay alive until main has counted, however slowly main runs on a busy machine.
    counted.wait();
    thread::sleep(tick);
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    let _main_entry = Registered::new("MainThread");
    println!("enumerate before: {:?}", enumerate());
    let before = (active_count(), kernel_thread_count());

    let counted = Arc::new(Barrier::new(4));
    let mut workers = Vec::new();
    for i in 0..3 {
        let name = format!("t-{i}");
        let (task, counted) = (name.clone(), Arc::clone(&counted));
        workers.push(spawn_registered(&name, move || fun(&task, tick, &counted)));
        println!("enumerate after starting {name}: {:?}", enumerate());
    }
    let during = (active_count(), kernel_thread_count());
    counted.wait();

    for worker in workers {
        worker.join().unwrap();
    }
    thread::sleep(tick);
    let after = (active_count(), kernel_thread_count());

    println!("active_count before: {} (kernel: {})", before.0, before.1);
    println!("active_count during: {} (kernel: {})", during.0, during.1);
    println!("active_count after: {} (kernel: {})", after.0, after.1);
}
