//! Ctrl-C (and SIGTERM): stop the coroutines, keep the `.part` and control file.
//!
//! The handler runs on ctrlc's own thread. It raises the flags and shuts the current agent
//! down, which shuts its sockets so that coroutines parked on a read wake at once instead of
//! after `--timeout`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use ureq::Agent;

/// The running phase's agent and stop flag.
type Phase = Option<(Agent, Arc<AtomicBool>)>;

#[derive(Clone, Default)]
pub(crate) struct Interrupt {
    interrupted: Arc<AtomicBool>,
    current: Arc<Mutex<Phase>>,
}

impl Interrupt {
    pub(crate) fn install() -> Result<Interrupt, String> {
        let interrupt = Interrupt::default();
        let handler = interrupt.clone();
        ctrlc::set_handler(move || {
            handler.interrupted.store(true, Ordering::SeqCst);
            let phase = handler
                .current
                .lock()
                .ok()
                .and_then(|mut current| current.take());
            if let Some((agent, stop)) = phase {
                stop.store(true, Ordering::SeqCst);
                agent.shutdown();
            }
        })
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
        Ok(interrupt)
    }

    /// Makes Ctrl-C stop this phase.
    pub(crate) fn arm(&self, agent: &Agent, stop: &Arc<AtomicBool>) {
        if let Ok(mut current) = self.current.lock() {
            *current = Some((agent.clone(), Arc::clone(stop)));
        }
        if self.happened() {
            stop.store(true, Ordering::SeqCst);
        }
    }

    pub(crate) fn happened(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
