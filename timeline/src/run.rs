//! Running the observed program: in a process group of its own (so that it and everything it
//! starts can be signalled and cleaned up together), in the terminal's foreground while it runs
//! (so it can read the keyboard and Ctrl-C reaches it), observed from start to end.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{self, SigSet, Signal};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::{self, Pid};
use timeline::{Observer, Record, spans};

/// The running program's process group, for the signal handler: 0 before it starts, STARTING
/// while it is being started (it may already run, its group not yet stored here).
static GROUP: AtomicI32 = AtomicI32::new(0);
const STARTING: i32 = -1;
/// Set by the handler before it reads GROUP; read by `observed` after it stores the group. One
/// of the two sees the other's write, so a Ctrl-C that comes while starting is passed on too.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ctrl-C, `kill`, a closed terminal: passed on to the program's whole group, which then ends,
/// and its chart is drawn. Before the program starts (while cargo builds it), we just exit.
pub(crate) fn forward_signals() -> Result<(), String> {
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        match GROUP.load(Ordering::SeqCst) {
            0 => std::process::exit(130),
            STARTING => {}
            group => interrupt(group),
        }
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))
}

fn interrupt(group: i32) {
    let _ = signal::killpg(Pid::from_raw(group), Signal::SIGINT);
}

/// Runs `program args` with `TICK_MS` set, observed every `interval`; returns its exit status
/// and the record.
pub(crate) fn observed(
    program: &Path,
    args: &[OsString],
    tick_ms: u64,
    interval: Duration,
) -> Result<(ExitStatus, Record), String> {
    // Where a lesson that draws its coroutines writes their spans (see `timeline::spans`).
    let spans_file =
        std::env::temp_dir().join(format!("timeline-spans-{}.json", std::process::id()));
    let _ = std::fs::remove_file(&spans_file);
    let started = Instant::now();
    GROUP.store(STARTING, Ordering::SeqCst);
    let child = Command::new(program)
        .args(args)
        .env("TICK_MS", tick_ms.to_string())
        .env(spans::SPANS_VARIABLE, &spans_file)
        .process_group(0)
        .spawn();
    let mut child = child.map_err(|e| {
        GROUP.store(0, Ordering::SeqCst);
        format!("cannot start {}: {e}", program.display())
    })?;
    let group = Pid::from_raw(child.id() as i32);
    GROUP.store(group.as_raw(), Ordering::SeqCst);
    if INTERRUPTED.load(Ordering::SeqCst) {
        interrupt(group.as_raw());
    }
    let observer = Observer::start(child.id(), started, interval);
    let terminal = Foreground::give(group);
    // Wait for its end without reaping it: the observer's last sample still finds it (a
    // zombie), however short the run was. Then reap it.
    let _ = waitid(Id::Pid(group), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT);
    drop(terminal);
    let mut record = observer.finish();
    if let Ok(text) = std::fs::read_to_string(&spans_file) {
        record.coroutines = spans::coroutines(&text, group.as_raw() as u32);
        let _ = std::fs::remove_file(&spans_file);
    }
    let status = (child.wait()).map_err(|e| format!("cannot wait for the program: {e}"));
    // What it started and left behind goes with it: nothing of the run outlives the chart.
    if signal::killpg(group, Signal::SIGKILL).is_ok() {
        eprintln!("timeline: processes the program started were still running; killed them");
    }
    GROUP.store(0, Ordering::SeqCst);
    Ok((status?, record))
}

/// The exit code that reports `status` as a shell would: the program's own code, or 128 + the
/// signal that ended it.
pub(crate) fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code as u8,
        (None, Some(signal)) => 128 + signal as u8,
        (None, None) => 1,
    }
}

/// The terminal's foreground given to the program's group while it runs, and taken back.
struct Foreground {
    ours: Pid,
}

impl Foreground {
    fn give(group: Pid) -> Option<Foreground> {
        let stdin = std::io::stdin();
        let ours = unistd::getpgrp();
        // Only a foreground timeline hands the terminal on (in the background, it has none).
        if !stdin.is_terminal() || unistd::tcgetpgrp(&stdin).ok()? != ours {
            return None;
        }
        unistd::tcsetpgrp(&stdin, group).ok()?;
        // Had it read the terminal before it was given it, it was stopped (SIGTTIN): resume it.
        let _ = signal::killpg(group, Signal::SIGCONT);
        Some(Foreground { ours })
    }
}

impl Drop for Foreground {
    fn drop(&mut self) {
        // From the background, taking the terminal back raises SIGTTOU unless it is blocked.
        let mut ttou = SigSet::empty();
        ttou.add(Signal::SIGTTOU);
        let _ = ttou.thread_block();
        let _ = unistd::tcsetpgrp(std::io::stdin(), self.ours);
        let _ = ttou.thread_unblock();
    }
}
