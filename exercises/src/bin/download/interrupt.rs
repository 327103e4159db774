//! Ctrl-C (and SIGTERM): stop the coroutines, keep the `.part` and control file.
//!
//! The handler runs on ctrlc's own thread. It raises the flag and runs the current phase's
//! action: during the probe it wakes the main thread waiting for the answer; during a download
//! it raises the phase's stop flag and shuts its agent down, which shuts its sockets so that
//! coroutines parked on a read wake at once instead of after `--timeout`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use ureq::Agent;

/// What Ctrl-C does to the running phase.
type Phase = Option<Box<dyn FnOnce() + Send>>;

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
            if let Some(action) = phase {
                action();
            }
        })
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
        Ok(interrupt)
    }

    /// Makes Ctrl-C stop this phase: raise `stop` and shut `agent`'s sockets.
    pub(crate) fn arm(&self, agent: &Agent, stop: &Arc<AtomicBool>) {
        let (agent, stop) = (agent.clone(), Arc::clone(stop));
        self.on_interrupt(move || {
            stop.store(true, Ordering::SeqCst);
            agent.shutdown();
        });
    }

    /// Makes Ctrl-C run `action` (replacing the previous phase's), or runs it now if Ctrl-C
    /// has come already. The flag is read under the lock the handler takes after raising it,
    /// so a Ctrl-C is never missed between the two.
    pub(crate) fn on_interrupt(&self, action: impl FnOnce() + Send + 'static) {
        let action: Box<dyn FnOnce() + Send> = Box::new(action);
        let now = match self.current.lock() {
            Ok(_) if self.happened() => Some(action),
            Ok(mut current) => {
                *current = Some(action);
                None
            }
            Err(_) => Some(action).filter(|_| self.happened()),
        };
        if let Some(action) = now {
            action();
        }
    }

    pub(crate) fn happened(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
