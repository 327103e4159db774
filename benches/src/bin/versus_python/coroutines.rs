//! P1, P2, P3: switching between coroutines (greenlet, gevent, threads on the Python side).

use crate::hub::Hub;
use crate::per_op;
use corosensei::{Coroutine, Yielder};
use std::time::Instant;

/// P1: the notes' greenlet ping-pong through the lesson's hub: `g1` switches to `g2` `rounds`
/// times, `g2` switches back each time. Per switch (two per round).
pub(crate) fn hub_switch(rounds: u64) -> f64 {
    let mut hub = Hub::default();
    hub.spawn("g1", move |gr, ()| {
        for _ in 0..rounds {
            gr.switch("g2", ()).unwrap();
        }
    });
    hub.spawn("g2", |gr, ()| {
        loop {
            gr.switch("g1", ()).unwrap();
        }
    });
    let start = Instant::now();
    // g1 returns to its parent after its last round; g2 stays suspended until the hub drops it.
    hub.switch("g1", ()).unwrap();
    per_op(start.elapsed(), 2 * rounds)
}

/// P1, raw: `main` resumes a corosensei coroutine that suspends straight back. Per switch.
pub(crate) fn raw_switch(rounds: u64) -> f64 {
    let mut coroutine = Coroutine::new(|yielder: &Yielder<(), ()>, ()| {
        loop {
            yielder.suspend(());
        }
    });
    let start = Instant::now();
    for _ in 0..rounds {
        coroutine.resume(());
    }
    per_op(start.elapsed(), 2 * rounds)
}

/// P2: two may coroutines on one worker each call `yield_now` `each` times, as two greenlets
/// each call `gevent.sleep(0)`. Per call.
pub(crate) fn yield_now(each: u64) -> f64 {
    may::config().set_workers(1);
    let start = Instant::now();
    let coroutines: Vec<_> = (0..2)
        .map(|_| {
            may::go!(move || {
                for _ in 0..each {
                    may::coroutine::yield_now();
                }
            })
        })
        .collect();
    for coroutine in coroutines {
        coroutine.join().unwrap();
    }
    per_op(start.elapsed(), 2 * each)
}

/// P3: two may coroutines on one worker pass a number back and forth through two channels,
/// as the Python's two threads do through two `queue.Queue`s. Each channel has one sender and
/// one receiver, so may's single-producer `spsc` channel fits (its `mpsc` one costs about
/// 2.5 times as much here). Per switch (two per round).
pub(crate) fn channel_ping_pong(rounds: u64) -> f64 {
    may::config().set_workers(1);
    let timer = may::go!(move || {
        let (to_partner, partner_gets) = may::sync::spsc::channel::<u64>();
        let (to_timer, timer_gets) = may::sync::spsc::channel::<u64>();
        let partner = may::go!(move || {
            for number in partner_gets {
                to_timer.send(number).unwrap();
            }
        });
        let start = Instant::now();
        for number in 0..rounds {
            to_partner.send(number).unwrap();
            timer_gets.recv().unwrap();
        }
        let elapsed = start.elapsed();
        drop(to_partner); // ends the partner's loop
        partner.join().unwrap();
        elapsed
    });
    per_op(timer.join().unwrap(), 2 * rounds)
}
