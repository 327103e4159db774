//! # The thread lessons — 多线程
//!
//! `cargo run -p threads` prints the lessons of this member in reading order, one line each,
//! with the command that runs it. Each lesson is one file in `src/bin/`.

use clap::Parser;

/// Lists the thread lessons in reading order.
#[derive(Parser)]
struct Args {}

const LESSONS: &[(&str, &str)] = &[
    (
        "single_thread",
        "单线程: two tasks on one thread take the sum of their times",
    ),
    (
        "spawn_join",
        "threading 模块: threads with arguments run at once; join waits",
    ),
    (
        "named_threads",
        "setName / name=: naming threads and reading the name inside",
    ),
    (
        "custom_thread",
        "继承 Thread: a struct and a trait instead of a subclass",
    ),
    (
        "join_timing",
        "计算子线程的执行时间: join every handle; the notes' join-loop bug",
    ),
    (
        "active_count",
        "active_count / enumerate: counting live threads without a registry",
    ),
    (
        "daemon",
        "setDaemon: threads die when main returns; join is how to wait",
    ),
    (
        "shared_data",
        "线程信息共享: threads share memory through Arc; why not static mut",
    ),
    (
        "race",
        "不加锁: lost updates, counted, without undefined behaviour",
    ),
    (
        "mutex",
        "互斥锁 / 加锁: balance 0 and x = 2000001 under a Mutex",
    ),
    (
        "rlock",
        "RLock: the same thread takes a ReentrantMutex twice",
    ),
    (
        "deadlock",
        "死锁: opposite lock order deadlocks, a watchdog sees it, one order fixes it",
    ),
    (
        "event",
        "线程事件: an Event from Mutex + Condvar, driven from stdin",
    ),
    (
        "traffic_light",
        "红绿灯: a car waits on an Event: moves on green, blocks on red",
    ),
    (
        "condition",
        "Condition: notify_all wakes every waiter, notify_one one; a predicate stops lost wake-ups",
    ),
    (
        "producer_consumer",
        "生产者消费者: a bounded crossbeam channel, one producer, two consumers",
    ),
    (
        "semaphore",
        "Semaphore: at most N inside at once; a bounded one refuses an extra release",
    ),
];

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    println!("多线程 — {} lessons, in reading order:\n", LESSONS.len());
    for (number, (name, what)) in LESSONS.iter().enumerate() {
        println!("{:>2}. {name:<18} {what}", number + 1);
        println!("    cargo run -p threads --bin {name}");
    }
    println!("\nEvery lesson reads TICK_MS (milliseconds per tick, default 1000).");
}
