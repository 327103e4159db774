//! # Naming threads — setName / name= / current_thread().name
//!
//! From `003_03d5943dc2f4a8db.txt` (多线程 › 多线程: `t1.setName('musicThread')`, 方法一, and
//! `Thread(..., name='movieThread')`, 方法二) and `000_d2cd84fa43d5f45e.txt` (互斥锁:
//! `threading.current_thread().name`).
//!
//! **The Python.** One thread is named after it is created and before it starts (`setName`),
//! the other by a keyword argument of the constructor; each thread prints a line with its name
//! (`getName`). `setName` and `getName` have been deprecated since Python 3.10: set and read the
//! `name` attribute instead.
//!
//! **This lesson.** Both ways, the name read from inside the running thread
//! (`thread::current().name()`), from outside (`handle.thread().name()`), and what the
//! operating system sees.
//!
//! **Rust differences.** A Python `Thread` object before `start()` is a Rust
//! `thread::Builder`: both of Python's ways set the name on that not-yet-started thread, and so
//! does `Builder::name`, either where the builder is made or in a later statement. A running
//! thread cannot be renamed (there is no `set_name`), and a thread spawned without a name has
//! none (`None`), where Python invents `Thread-1`. The main thread is called `main`. On Linux
//! std also gives the name to the kernel, so `ps -L` and `/proc/<pid>/task/*/comm` show it (cut
//! to 15 bytes); that part is read only on Linux and skipped elsewhere.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin named_threads
//! ```
//!
//! **Output** (the two threads' lines interleave differently on every run):
//! ```text
//! the main thread is called: main
//! listen music 爱的故事上集 musicThread (kernel: musicThread)
//! look movie 肖生克的救赎 movieThread (kernel: movieThread)
//! ...
//! an unnamed thread is called: None
//! joined musicThread and movieThread
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use std::thread;
use std::time::Duration;

/// Threads named two ways, the name read from inside.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
}

fn music(name: &str, rounds: u32, tick: Duration) {
    for _ in 0..rounds {
        let me = thread::current();
        let my_name = me.name().unwrap_or("<unnamed>");
        println!("listen music {name} {my_name} (kernel: {})", kernel_name());
        thread::sleep(tick);
    }
}

fn movie(name: &str, rounds: u32, tick: Duration) {
    for _ in 0..rounds {
        let me = thread::current();
        let my_name = me.name().unwrap_or("<unnamed>");
        println!("look movie {name} {my_name} (kernel: {})", kernel_name());
        thread::sleep(tick);
    }
}

/// The name the kernel keeps for the calling thread.
#[cfg(target_os = "linux")]
fn kernel_name() -> String {
    std::fs::read_to_string("/proc/thread-self/comm")
        .map(|name| name.trim_end().to_string())
        .unwrap_or_else(|e| format!("unreadable: {e}"))
}

#[cfg(not(target_os = "linux"))]
fn kernel_name() -> String {
    "shown on Linux only".to_string()
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let tick = Duration::from_millis(Args::parse().tick_ms);
    println!(
        "the main thread is called: {}",
        thread::current().name().unwrap_or("<unnamed>")
    );

    // Way 1, like `t1.setName(...)`: the builder (the thread-to-be) exists first, named later.
    let music_thread = thread::Builder::new();
    let music_thread = music_thread.name("musicThread".to_string());
    // Way 2, like `Thread(..., name="movieThread")`: named where it is made.
    let movie_thread = thread::Builder::new().name("movieThread".to_string());

    let t1 = music_thread
        .spawn(move || music("爱的故事上集", 4, tick))
        .expect("the OS refused a new thread");
    let t2 = movie_thread
        .spawn(move || movie("肖生克的救赎", 4, tick))
        .expect("the OS refused a new thread");

    let unnamed = thread::spawn(|| thread::current().name().map(str::to_string));
    println!("an unnamed thread is called: {:?}", unnamed.join().unwrap());

    // The handle knows the name too, from outside the thread.
    let names = [t1.thread().name(), t2.thread().name()].map(|n| n.unwrap_or("?").to_string());
    t1.join().unwrap();
    t2.join().unwrap();
    println!("joined {} and {}", names[0], names[1]);
}
