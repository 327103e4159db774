//! # Producer and consumers on a bounded queue — 生产者消费者
//!
//! From `003_03d5943dc2f4a8db.txt` (生产者和消费者模型) and `000_d2cd84fa43d5f45e.txt`
//! (线程通信：消费者，生产者模型).
//!
//! **The Python.** `q = queue.Queue(maxsize=10)`; producer Tim puts "骨头N" (bones) every half
//! second, consumers King and Wang each take one and eat it for a second. All three loop forever.
//! The version in 000 has two bugs: its producer's `while 1:` has no indented body, which Python
//! rejects before running anything; fixed that, `th3.staet()` (a typo for `start`) raises an
//! `AttributeError` after the first two threads are already running, so one consumer never runs.
//!
//! **This lesson.** Tim makes a bounded number of bones (`--items`, default 16) as fast as he can,
//! so the queue of 10 fills and he has to wait; King and Wang each eat one per tick. Every bone is
//! eaten exactly once. When Tim is done he drops his end of the channel; the consumers eat what is
//! left and then stop, because an empty channel with no sender left is closed.
//!
//! **Rust differences.** `queue.Queue(maxsize=10)` is `crossbeam_channel::bounded(10)`: `send`
//! blocks while it is full, `recv` while it is empty, and both ends can be cloned for many
//! producers and consumers (std's `mpsc` has a single receiver). Ending is part of the channel:
//! `recv` returns `Err` once every `Sender` is gone and the queue is empty, so there is no
//! sentinel value and no `q.empty()` check, which would be a race with a producer about to put.
//!
//! **Run it:**
//! ```text
//! cargo run -p threads --bin producer_consumer
//! ```
//!
//! **Output** (who eats which bone varies; every bone is eaten once):
//! ```text
//! [Tim]生产了[骨头1]
//! [King]取到[骨头1]并且吃了它...
//! [Tim]生产了[骨头2]
//! [Wang]取到[骨头2]并且吃了它...
//! ...
//! [Tim] 队列满了 (10 根骨头), 等待...
//! ...
//! [King] 没有骨头了, 下班 (吃了 8 根)
//! [Wang] 没有骨头了, 下班 (吃了 8 根)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `crossbeam-channel = "0.5"`, `sigpipe = "0.1"`.

use clap::Parser;
use crossbeam_channel::{Receiver, Sender, TrySendError, bounded};
use std::thread;
use std::time::Duration;

/// One producer, two consumers, a bounded channel of 10.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// How many bones Tim makes.
    #[arg(long, default_value_t = 16)]
    items: u32,
}

const CAPACITY: usize = 10;

fn producer(name: &str, queue: Sender<String>, items: u32) {
    for count in 1..=items {
        let bone = format!("骨头{count}");
        let bone = match queue.try_send(bone) {
            Ok(()) => None,
            Err(TrySendError::Full(bone)) => Some(bone),
            Err(TrySendError::Disconnected(_)) => return,
        };
        if let Some(bone) = bone {
            println!("[{name}] 队列满了 ({CAPACITY} 根骨头), 等待...");
            if queue.send(bone).is_err() {
                return; // every consumer is gone
            }
        }
        println!("[{name}]生产了[骨头{count}]");
    }
    // `queue` is dropped here: the consumers see the channel close once it is empty.
}

fn consumer(name: &str, queue: Receiver<String>, tick: Duration) {
    let mut eaten = 0;
    for bone in queue.iter() {
        println!("[{name}]取到[{bone}]并且吃了它...");
        eaten += 1;
        thread::sleep(tick);
    }
    println!("[{name}] 没有骨头了, 下班 (吃了 {eaten} 根)");
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    let (sender, receiver) = bounded(CAPACITY);

    let consumers: Vec<_> = ["King", "Wang"]
        .into_iter()
        .map(|name| {
            let receiver = receiver.clone();
            thread::spawn(move || consumer(name, receiver, tick))
        })
        .collect();
    drop(receiver); // only the consumers hold receivers now
    let tim = thread::spawn(move || producer("Tim", sender, args.items));

    tim.join().unwrap();
    for c in consumers {
        c.join().unwrap();
    }
}
