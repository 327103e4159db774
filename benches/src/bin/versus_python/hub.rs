//! The `greenlet` lesson's hub (`coroutines/src/bin/greenlet.rs`), copied as it is there (less
//! `dead`, which no row uses): lessons are standalone binaries, so it cannot be imported. A
//! greenlet that switches suspends to the hub with its target's name and a value; the hub finds
//! the target by name and resumes it. One greenlet switch is two corosensei switches (to the hub
//! and out of it) plus the lookup.

use corosensei::{Coroutine, CoroutineResult, Yielder};

/// The main program's own name: switching to it returns from [`Hub::switch`].
pub(crate) const MAIN: &str = "main";

/// What a suspended greenlet receives when it is switched to again: a value, or why the switch
/// it made failed.
pub(crate) type Received<V> = Result<V, String>;
/// A greenlet's coroutine: it suspends with (target, value) and returns a value to its parent.
type Body<V> = Coroutine<Received<V>, (&'static str, V), V>;

/// What a greenlet's function gets to switch with (greenlet's `gr.switch(value)`).
pub(crate) struct Greenlet<'y, V> {
    yielder: &'y Yielder<Received<V>, (&'static str, V)>,
}

impl<V> Greenlet<'_, V> {
    /// Gives `value` to the greenlet `to` and waits until someone switches back here.
    pub(crate) fn switch(&self, to: &'static str, value: V) -> Received<V> {
        self.yielder.suspend((to, value))
    }
}

/// The trampoline: owns every greenlet and resumes whichever one the last one switched to.
#[derive(Default)]
pub(crate) struct Hub<V> {
    greenlets: Vec<(&'static str, Body<V>)>,
}

impl<V: 'static> Hub<V> {
    /// `greenlet(run)`: created now, started by the first switch to it, whose value is its argument.
    pub(crate) fn spawn(
        &mut self,
        name: &'static str,
        run: impl FnOnce(&Greenlet<V>, V) -> V + 'static,
    ) {
        let body = Coroutine::new(move |yielder, first: Received<V>| {
            // Errors only go back to a greenlet that switched, so a fresh one always gets a value.
            let argument = first.expect("a greenlet is started by a successful switch");
            run(&Greenlet { yielder }, argument)
        });
        self.greenlets.push((name, body));
    }

    /// `main`'s switch: runs greenlets until one switches to `main`, or one returns (to its
    /// parent, `main`). Returns the value that came back.
    pub(crate) fn switch(&mut self, to: &'static str, value: V) -> Received<V> {
        let mut from = MAIN;
        let (mut target, mut sent) = (to, Ok(value));
        loop {
            if target == MAIN {
                return sent;
            }
            let Some((_, body)) = self.greenlets.iter_mut().find(|(name, _)| *name == target)
            else {
                (target, sent) = (from, Err(format!("there is no greenlet {target}")));
                continue;
            };
            if body.done() {
                (target, sent) = (from, Err(format!("greenlet {target} has finished")));
                continue;
            }
            from = target;
            (target, sent) = match body.resume(sent) {
                CoroutineResult::Yield((next, value)) => (next, Ok(value)),
                CoroutineResult::Return(value) => (MAIN, Ok(value)),
            };
        }
    }
}
