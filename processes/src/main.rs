//! # The process lessons — 多进程
//!
//! `cargo run -p processes` prints the lessons of this member in reading order, one line each,
//! with the command that runs it. Each lesson is one file in `src/bin/`. The lessons start their
//! child processes with `procspawn` and pass data with `ipc-channel`, except where the mechanism
//! underneath is the lesson (`spawn_by_hand`, `pipe`, `terminate`, `process_states`,
//! `spawn_cost`, the fork half of `no_shared_globals`).

use clap::Parser;

/// Lists the process lessons in reading order.
#[derive(Parser)]
struct Args {}

const LESSONS: &[(&str, &str)] = &[
    (
        "single_process",
        "单进程: two jobs in one process take the sum of their times",
    ),
    (
        "spawn",
        "创建进程 / 多进程: two named child processes at once (procspawn)",
    ),
    (
        "spawn_by_hand",
        "创建进程, by hand: what procspawn does (role argument, guard, PR_SET_PDEATHSIG)",
    ),
    (
        "pids",
        "创建无参进程: the child's parent id is the parent's id",
    ),
    (
        "args_kwargs",
        "进程传参: args and kwargs cross to the child through serde",
    ),
    (
        "no_shared_globals",
        "多进程之间不共享全局变量: fork copies, spawn starts afresh",
    ),
    (
        "queue",
        "进程通信 Queue: a bounded queue on ipc-channel, put waits when full",
    ),
    ("pipe", "PIPE 管道通信: OS pipes, one-way and two-way"),
    (
        "lock",
        "进程加锁: a lock file keeps each process's block of lines together",
    ),
    (
        "shared_memory",
        "Value / Array: numbers in memory that three processes map",
    ),
    (
        "manager",
        "Manager: a process owns dicts and a list, proxies (address, id) change them",
    ),
    (
        "pool_apply",
        "进程池 Pool.apply: apply waits; Pool(2) gives the next task to a free worker",
    ),
    (
        "pool_async",
        "进程池 callback: apply_async, callbacks in the parent, map",
    ),
    (
        "pool_options",
        "进程池 parameters: processes, initializer, maxtasksperchild, terminate, kill -9",
    ),
    (
        "terminate",
        "terminate / kill -9: stopping a child and reaping it, no zombie left",
    ),
    (
        "process_states",
        "进程的状态: R, S, T and Z read from /proc",
    ),
    (
        "spawn_cost",
        "进程与线程区别: starting a thread vs a process, measured",
    ),
    (
        "cpu_bound",
        "运用场景: CPU-heavy work on 1 thread, N threads, N processes",
    ),
];

fn main() {
    // `cargo run -p processes | head -1`: end quietly on a closed stdout (die of SIGPIPE).
    sigpipe::reset();
    Args::parse();
    println!("多进程 — {} lessons, in reading order:\n", LESSONS.len());
    for (number, (name, what)) in LESSONS.iter().enumerate() {
        println!("{:>2}. {name:<18} {what}", number + 1);
        println!("    cargo run -p processes --bin {name}");
    }
    println!("\nEvery lesson that waits reads TICK_MS (milliseconds per tick, default 1000).");
}
