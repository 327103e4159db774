//! Ctrl-C (and SIGTERM): stop the coroutines, keep the `.part` and control file.
//!
//! The handler runs on ctrlc's own thread. It raises the flag and runs the action of every
//! running phase (one per file under way): during a probe it wakes the thread waiting for the
//! answer; during a download it raises the phase's stop flag and shuts its agent down, which
//! shuts its sockets so that coroutines parked on a read wake at once instead of after
//! `--timeout`. A phase's action is forgotten when the phase ends (its `Armed` is dropped).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use ureq::Agent;

/// What Ctrl-C does to one running phase (of one file: several files run at once).
type Action = Box<dyn FnOnce() + Send>;

#[derive(Clone, Default)]
pub(crate) struct Interrupt {
    interrupted: Arc<AtomicBool>,
    actions: Arc<Mutex<HashMap<u64, Action>>>,
    next: Arc<AtomicU64>,
}

/// A phase's action, forgotten when the phase ends (this is dropped).
pub(crate) struct Armed {
    actions: Arc<Mutex<HashMap<u64, Action>>>,
    id: u64,
}

impl Drop for Armed {
    fn drop(&mut self) {
        if let Ok(mut actions) = self.actions.lock() {
            actions.remove(&self.id);
        }
    }
}

impl Interrupt {
    pub(crate) fn install() -> Result<Interrupt, String> {
        let interrupt = Interrupt::default();
        let handler = interrupt.clone();
        ctrlc::set_handler(move || {
            handler.interrupted.store(true, Ordering::SeqCst);
            let actions: Vec<Action> = handler
                .actions
                .lock()
                .map(|mut actions| actions.drain().map(|(_, action)| action).collect())
                .unwrap_or_default();
            for action in actions {
                action();
            }
        })
        .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;
        Ok(interrupt)
    }

    /// Makes Ctrl-C stop this phase: raise `stop` and shut `agent`'s sockets.
    pub(crate) fn arm(&self, agent: &Agent, stop: &Arc<AtomicBool>) -> Armed {
        let (agent, stop) = (agent.clone(), Arc::clone(stop));
        self.on_interrupt(move || {
            stop.store(true, Ordering::SeqCst);
            agent.shutdown();
        })
    }

    /// Makes Ctrl-C run `action` while the returned guard lives, or runs it now if Ctrl-C
    /// has come already. The flag is read under the lock the handler takes after raising it,
    /// so a Ctrl-C is never missed between the two.
    pub(crate) fn on_interrupt(&self, action: impl FnOnce() + Send + 'static) -> Armed {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let action: Action = Box::new(action);
        let now = match self.actions.lock() {
            Ok(_) if self.happened() => Some(action),
            Ok(mut actions) => {
                actions.insert(id, action);
                None
            }
            Err(_) => Some(action).filter(|_| self.happened()),
        };
        if let Some(action) = now {
            action();
        }
        Armed {
            actions: Arc::clone(&self.actions),
            id,
        }
    }

    pub(crate) fn happened(&self) -> bool {
        self.interrupted.load(Ordering::SeqCst)
    }
}
