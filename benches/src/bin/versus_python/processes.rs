//! P6, P7, starting a process: procspawn and ipc-channel against `multiprocessing`.

use crate::per_op;
use ipc_channel::ipc::{self, IpcReceiver, IpcSender};
use procspawn::Pool;
use std::collections::VecDeque;
use std::time::Instant;

/// `procspawn::init`, with the hook every lesson runs first in a child: Linux kills the child
/// when its parent dies, so an interrupted benchmark leaves no process behind.
pub(crate) fn init() {
    procspawn::ProcConfig::new()
        .config_callback(|| {
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
        })
        .init();
}

/// The trivial task, as in the Python snippet.
fn increment(x: u64) -> u64 {
    x + 1
}

/// A chunk of `Pool.map`: the task applied to each item.
fn increment_all(chunk: Vec<u64>) -> Vec<u64> {
    chunk.into_iter().map(increment).collect()
}

/// Tasks submitted but not yet joined, at most. Each one holds three file descriptors (two
/// fresh ipc-channels per task, one end already sent) until it is joined, so 10,000 at once
/// would pass a 20,000-descriptor limit; Python keeps them all queued.
const IN_FLIGHT: usize = 256;

/// P6: `tasks` trivial tasks on `Pool::new(2)`, each `spawn`ed (`apply_async`) and joined in
/// order. The pool's start is not timed. Per task.
pub(crate) fn pool_apply(tasks: u64) -> f64 {
    let pool = Pool::new(2).unwrap();
    pool.spawn(0, increment).join().unwrap(); // both sides time a warm pool
    let start = Instant::now();
    let mut pending = VecDeque::with_capacity(IN_FLIGHT);
    let mut sum = 0;
    for task in 0..tasks {
        if pending.len() == IN_FLIGHT {
            let oldest: procspawn::JoinHandle<u64> = pending.pop_front().unwrap();
            sum += oldest.join().unwrap();
        }
        pending.push_back(pool.spawn(task, increment));
    }
    for handle in pending {
        sum += handle.join().unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tasks * (tasks + 1) / 2);
    pool.shutdown();
    per_op(elapsed, tasks)
}

/// What a P6 worker on long-lived channels gets: its tasks, and where to send the results.
type Worker = (IpcReceiver<u64>, IpcSender<u64>);

/// A P6 worker on long-lived channels: runs each task it receives until the parent hangs up.
fn work((tasks, results): Worker) {
    while let Ok(task) = tasks.recv() {
        results.send(increment(task)).unwrap();
    }
}

/// P6, the cause: the same tasks on two worker processes, each with one ipc-channel for its
/// tasks and one for its results made once, not two fresh ones per task as `Pool::spawn`
/// makes. Task `k` goes to worker `k % 2` (the tasks are all alike), and at most
/// [`IN_FLIGHT`] are sent ahead of the results read. Per task.
pub(crate) fn channel_workers(tasks: u64) -> f64 {
    let mut senders = Vec::new();
    let mut receivers = Vec::new();
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (to_worker, worker_tasks) = ipc::channel().unwrap();
        let (worker_results, from_worker) = ipc::channel().unwrap();
        workers.push(procspawn::spawn((worker_tasks, worker_results), work));
        to_worker.send(0).unwrap(); // both sides time warm workers
        from_worker.recv().unwrap();
        senders.push(to_worker);
        receivers.push(from_worker);
    }
    let worker = |task: u64| (task % 2) as usize;
    let ahead = IN_FLIGHT as u64;
    let start = Instant::now();
    let mut sum = 0;
    for task in 0..tasks {
        if task >= ahead {
            sum += receivers[worker(task - ahead)].recv().unwrap();
        }
        senders[worker(task)].send(task).unwrap();
    }
    for task in tasks.saturating_sub(ahead)..tasks {
        sum += receivers[worker(task)].recv().unwrap();
    }
    let elapsed = start.elapsed();
    assert_eq!(sum, tasks * (tasks + 1) / 2);
    drop(senders); // each worker's loop ends
    for handle in workers {
        handle.join().unwrap();
    }
    per_op(elapsed, tasks)
}

/// P6, map: `items` numbers cut into chunks as Python's `Pool(2).map` cuts them when no
/// chunksize is given (`ceil(len / (4 * processes))`), one task per chunk. Per item.
pub(crate) fn pool_map(items: u64) -> f64 {
    let pool = Pool::new(2).unwrap();
    pool.spawn(vec![0], increment_all).join().unwrap();
    let start = Instant::now();
    let chunk = items.div_ceil(4 * 2);
    let handles: Vec<_> = (0..items)
        .step_by(chunk as usize)
        .map(|first| {
            let numbers = (first..items.min(first + chunk)).collect();
            pool.spawn(numbers, increment_all)
        })
        .collect();
    let mut results = Vec::with_capacity(items as usize);
    for handle in handles {
        results.extend(handle.join().unwrap());
    }
    let elapsed = start.elapsed();
    assert_eq!(results.len() as u64, items);
    assert_eq!(results.last(), Some(&items));
    pool.shutdown();
    per_op(elapsed, items)
}

/// What the P7 child gets: where the items come from, where to report, how many to expect.
type Consumer = (IpcReceiver<u64>, IpcSender<u64>, u64);

/// The P7 child: says it is ready, receives every item, reports their sum.
fn consume((items, report, count): Consumer) {
    report.send(0).unwrap();
    let sum = (0..count).map(|_| items.recv().unwrap()).sum();
    report.send(sum).unwrap();
}

/// P7: the parent sends `items` numbers to a child on an ipc-channel (`multiprocessing.Queue`);
/// timed from the child's "ready" to its report that all have arrived. Per item.
pub(crate) fn ipc_items(items: u64) -> f64 {
    let (sender, receiver) = ipc::channel().unwrap();
    let (report, reports) = ipc::channel().unwrap();
    let child = procspawn::spawn((receiver, report, items), consume);
    reports.recv().unwrap(); // the child is running
    let start = Instant::now();
    for item in 0..items {
        sender.send(item).unwrap();
    }
    let sum = reports.recv().unwrap();
    let elapsed = start.elapsed();
    assert_eq!(sum, items * (items - 1) / 2);
    child.join().unwrap();
    per_op(elapsed, items)
}

fn nothing(_: ()) {}

/// Starting a child process with procspawn that does nothing, and joining it. Per start.
pub(crate) fn start(starts: u64) -> f64 {
    procspawn::spawn((), nothing).join().unwrap(); // warm-up
    let start = Instant::now();
    for _ in 0..starts {
        procspawn::spawn((), nothing).join().unwrap();
    }
    per_op(start.elapsed(), starts)
}
