//! P4, P5, the GIL row, starting a thread: OS threads on both sides.

use crate::per_op;
use std::hint::black_box;
use std::sync::Mutex;
use std::thread;
use std::time::Instant;

/// P4: one producer thread sends `items` numbers through `bounded(1000)` (`queue.Queue(1000)`),
/// one consumer thread receives them until the channel closes. Per item.
pub(crate) fn channel_items(items: u64) -> f64 {
    let start = Instant::now();
    let (sender, receiver) = crossbeam_channel::bounded::<u64>(1000);
    let sum = thread::scope(|scope| {
        scope.spawn(move || {
            for item in 0..items {
                sender.send(item).unwrap();
            }
        });
        scope
            .spawn(move || receiver.iter().sum::<u64>())
            .join()
            .unwrap()
    });
    assert_eq!(sum, items * (items - 1) / 2);
    per_op(start.elapsed(), items)
}

/// P5: two threads each add 1 to a `Mutex<u64>` `each` times. Per increment.
pub(crate) fn mutex_increments(each: u64) -> f64 {
    let counter = Mutex::new(0_u64);
    let start = Instant::now();
    thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                for _ in 0..each {
                    *counter.lock().unwrap() += 1;
                }
            });
        }
    });
    let elapsed = start.elapsed();
    assert_eq!(counter.into_inner().unwrap(), 2 * each);
    per_op(elapsed, 2 * each)
}

/// Trial division, written as the Python snippet writes it.
fn is_prime(n: u64) -> bool {
    if n < 2 {
        return false;
    }
    let mut divisor = 2;
    while divisor * divisor <= n {
        if n % divisor == 0 {
            return false;
        }
        divisor += 1;
    }
    true
}

/// Numbers per block: a thread takes whole blocks, so both threads get a fair share of the
/// large numbers (taking every other number would give one thread all the even ones).
const BLOCK: u64 = 1000;

/// The GIL row: the numbers below `limit` are checked in blocks, thread `k` of `threads` taking
/// blocks `k, k + threads, k + 2 * threads, ...`; `reps` passes. Per number checked.
pub(crate) fn primes(limit: u64, threads: u64, reps: u64) -> f64 {
    let start = Instant::now();
    let found: u64 = thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|first| {
                scope.spawn(move || {
                    let mut found = 0;
                    for _ in 0..reps {
                        let blocks =
                            (black_box(first) * BLOCK..limit).step_by((threads * BLOCK) as usize);
                        for block in blocks {
                            let numbers = block..limit.min(block + BLOCK);
                            found += numbers.filter(|&n| is_prime(n)).count() as u64;
                        }
                    }
                    found
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = start.elapsed();
    assert!(limit < 10 || found > 0);
    per_op(elapsed, limit * reps)
}

/// Starting a thread that does nothing, and joining it. Per start.
pub(crate) fn start(starts: u64) -> f64 {
    thread::spawn(|| {}).join().unwrap(); // warm-up
    let start = Instant::now();
    for _ in 0..starts {
        thread::spawn(|| {}).join().unwrap();
    }
    per_op(start.elapsed(), starts)
}
