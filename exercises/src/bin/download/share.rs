//! What every file's coroutines share: the connection slots and the rate limit.
//!
//! `--max-connections N` is N slots; a coroutine holds one for as long as it has a connection
//! open (the probe, or a segment coroutine from its first request to its last), and no more
//! than `-n` slots go to one host at once. A coroutine that finishes gives its slot back and
//! the next waiting coroutine, of this file or another, takes it: a finished file hands its
//! connections to the next. Waiting parks only the coroutine (may's `Mutex` and `Condvar`).
//!
//! `--limit-rate` is a token bucket shared by every coroutine: after each read of `n` bytes a
//! coroutine books `n / rate` seconds on one shared clock, and sleeps (a may sleep: it parks
//! only itself) until the clock is no more than a small burst ahead of now.

use may::sync::{Condvar, Mutex};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The connection slots: at most `total` open, at most `per_host` to one host.
pub(crate) struct Slots {
    total: usize,
    per_host: usize,
    held: Mutex<Held>,
    freed: Condvar,
}

#[derive(Default)]
struct Held {
    total: usize,
    by_host: HashMap<String, usize>,
}

/// One slot, given back when dropped.
pub(crate) struct Slot<'a> {
    slots: &'a Slots,
    host: String,
}

impl Slots {
    pub(crate) fn new(total: usize, per_host: usize) -> Slots {
        Slots {
            total: total.max(1),
            per_host: per_host.max(1),
            held: Mutex::new(Held::default()),
            freed: Condvar::new(),
        }
    }

    /// Waits for a slot to `host` (`host:port`); `None` once `stop` is raised.
    pub(crate) fn acquire(&self, host: &str, stop: &AtomicBool) -> Option<Slot<'_>> {
        let mut held = self.held.lock().ok()?;
        loop {
            if stop.load(Ordering::Relaxed) {
                return None;
            }
            let to_host = held.by_host.get(host).copied().unwrap_or(0);
            if held.total < self.total && to_host < self.per_host {
                held.total += 1;
                *held.by_host.entry(host.to_string()).or_default() += 1;
                return Some(Slot {
                    slots: self,
                    host: host.to_string(),
                });
            }
            // A timeout, so that a raised stop flag is seen without a notification.
            held = self
                .freed
                .wait_timeout(held, Duration::from_millis(100))
                .ok()?
                .0;
        }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if let Ok(mut held) = self.slots.held.lock() {
            held.total -= 1;
            if let Some(count) = held.by_host.get_mut(&self.host) {
                *count -= 1;
                if *count == 0 {
                    held.by_host.remove(&self.host);
                }
            }
        }
        self.slots.freed.notify_all();
    }
}

/// `host:port` of a URL, the key of the per-host count.
pub(crate) fn host_of(url: &str) -> String {
    match url.parse::<ureq::http::Uri>() {
        Ok(uri) => {
            let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
                Some("https") => 443,
                _ => 80,
            });
            format!("{}:{port}", uri.host().unwrap_or(""))
        }
        Err(_) => url.to_string(),
    }
}

/// The token bucket of `--limit-rate`.
pub(crate) struct Rate {
    bytes_per_second: f64,
    /// How far ahead of now the booked time may run before a reader sleeps.
    burst: Duration,
    /// When every byte read so far has been paid for.
    paid_until: std::sync::Mutex<Instant>,
}

impl Rate {
    pub(crate) fn new(bytes_per_second: u64) -> Rate {
        Rate {
            bytes_per_second: bytes_per_second as f64,
            burst: Duration::from_millis(50),
            paid_until: std::sync::Mutex::new(Instant::now()),
        }
    }

    /// The most bytes to read at once: about 1/50 s of the rate, 1 to 64 KiB.
    pub(crate) fn piece(&self) -> usize {
        ((self.bytes_per_second / 50.0) as usize).clamp(1024, 64 * 1024)
    }

    /// Pays for `bytes` just read: sleeps this coroutine while the readers are ahead of
    /// the rate. The lock is held for a few instructions, never across the sleep.
    pub(crate) fn pay(&self, bytes: usize) {
        let cost = Duration::from_secs_f64(bytes as f64 / self.bytes_per_second);
        let wait = {
            let mut paid_until = self.paid_until.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // Time nobody used is not saved up beyond one burst.
            let start = (*paid_until).max(now.checked_sub(self.burst).unwrap_or(now));
            *paid_until = start + cost;
            paid_until.saturating_duration_since(now + self.burst)
        };
        if !wait.is_zero() {
            may::coroutine::sleep(wait);
        }
    }
}

/// The slots, the rate and the pool of read buffers, one of each per run.
pub(crate) struct Shared {
    pub(crate) slots: Slots,
    pub(crate) rate: Option<Rate>,
    /// Read buffers no coroutine holds; at most two per connection slot are kept.
    pub(crate) pool: std::sync::Mutex<Vec<Vec<u8>>>,
}

impl Shared {
    pub(crate) fn new(slots: Slots, rate: Option<Rate>) -> Shared {
        Shared {
            slots,
            rate,
            pool: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// A read buffer from the pool, else a new one.
    pub(crate) fn buffer(&self) -> Vec<u8> {
        let pooled = self.pool.lock().ok().and_then(|mut pool| pool.pop());
        pooled.unwrap_or_else(|| vec![0; crate::worker::BUFFER_SIZE])
    }

    pub(crate) fn give_back(&self, buffers: Vec<Vec<u8>>) {
        if let Ok(mut pool) = self.pool.lock() {
            let keep = 2 * self.slots.total;
            let room = keep.saturating_sub(pool.len());
            pool.extend(buffers.into_iter().take(room));
        }
    }
}
