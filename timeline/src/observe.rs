//! The observer: a thread that samples a process tree every interval until it is stopped or the
//! tree is gone, and hands back the [`Record`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::proc::Sampler;
use crate::record::{Record, Recorder};

/// The default time between two samples: short against a lesson's tick (a test's 40 ms, a
/// person's 1000 ms), long enough that the observer costs a few percent of one core.
pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(1);

/// Samples the threads and processes of one program while it runs.
pub struct Observer {
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<Record>,
}

impl Observer {
    /// Starts observing process `root` and its descendants, from `started` (when the program
    /// was started; times in the record count from there).
    pub fn start(root: u32, started: Instant, interval: Duration) -> Observer {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let sampler = thread::Builder::new()
            .name("timeline-observer".into())
            .spawn(move || {
                let cpu_before = thread_cpu_time();
                let mut recorder = Recorder::new(root, interval);
                let mut sampler = Sampler::default();
                let mut next = Instant::now();
                loop {
                    let tasks = sampler.sample(root);
                    let last = stopped.load(Ordering::Acquire) || tasks.is_empty();
                    recorder.add(started.elapsed(), &tasks);
                    if last {
                        break;
                    }
                    // A fixed schedule, not a fixed pause: the time spent reading does not
                    // stretch the interval. A late sample skips ahead rather than bunching up.
                    next += interval;
                    let now = Instant::now();
                    if next > now {
                        thread::sleep(next - now);
                    } else {
                        next = now;
                    }
                }
                recorder.finish(thread_cpu_time().saturating_sub(cpu_before))
            })
            .expect("cannot start the observer thread");
        Observer { stop, sampler }
    }

    /// Takes one last sample and returns what was seen. Call it before the program is reaped
    /// (while its zombie is still there), or after: either way the record ends at the last
    /// sample that found it.
    pub fn finish(self) -> Record {
        self.stop.store(true, Ordering::Release);
        self.sampler.join().expect("the observer thread panicked")
    }
}

/// CPU time the calling thread has used.
fn thread_cpu_time() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map(Duration::from)
        .unwrap_or_default()
}
