//! One download from its probe to a verified `FILE.part`: the phases and the coroutines.
//!
//! A segmented phase spawns one coroutine per segment (`gevent.spawn`), waits for all of their
//! outcomes (`gevent.joinall`) while saving the control file twice a second, and turns the
//! first failure into an exit line (of this file only: several files run their sessions at
//! once, each on a thread of its own (`batch`), their coroutines on the one may scheduler). A
//! server that turns out not to serve ranges gets one stream instead; a file that changed on
//! the server (found by `If-Range`) is fetched afresh, once.

use crate::cli::{Args, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Exit, exit};
use crate::http;
use crate::interrupt::Interrupt;
use crate::part::{self, Control, PartPaths, Writer};
use crate::plan::{self, Plan};
use crate::probe::{self, Remote};
use crate::progress::Board;
use crate::share::{Shared, host_of};
use crate::worker::{self, Job, Outcome};
use std::cell::Cell;
use std::fs::File;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use ureq::Agent;

/// A segment is not split into halves smaller than this (work stealing).
const MIN_SPLIT: u64 = 64 * 1024;

/// What one run works with.
pub(crate) struct Context<'a> {
    pub(crate) args: &'a Args,
    /// The URL as given (before redirects).
    pub(crate) url: String,
    pub(crate) interrupt: Interrupt,
    pub(crate) options: &'a http::HttpOptions<'a>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) board: &'a Board,
    /// The file's name before each note, when there are several files.
    pub(crate) label: Option<String>,
    /// No segment smaller than this (0: `-n` segments whatever the length).
    pub(crate) min_segment: u64,
    pub(crate) output: PathBuf,
    pub(crate) paths: PartPaths,
    /// Totals over all phases, for the summary.
    pub(crate) retried: Cell<u64>,
    pub(crate) stolen: Cell<u64>,
}

/// Probes `url` on a coroutine and waits for the answer, or for Ctrl-C: a stalled probe (a
/// name lookup, a connect, a HEAD that gets no answer) is left behind at once instead of after
/// `--timeout`; the probe itself writes nothing. It holds a connection slot while it asks.
pub(crate) fn probe_on_coroutine(
    interrupt: &Interrupt,
    agent: &Agent,
    url: &str,
    headers: &[(String, String)],
    shared: &Arc<Shared>,
) -> Result<Remote, Exit> {
    let (answer, answers) = crossbeam_channel::bounded(2);
    let on_ctrl_c = answer.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_on_ctrl_c = stop.clone();
    let _armed = interrupt.on_interrupt(move || {
        stop_on_ctrl_c.store(true, Ordering::SeqCst);
        let _ = on_ctrl_c.send(None);
    });
    let (agent, url, headers, shared) = (
        agent.clone(),
        url.to_string(),
        headers.to_vec(),
        shared.clone(),
    );
    // SAFETY (hidden by go!): see main.rs's header; the probe holds no thread-local across a
    // yield. A panic is caught and sent as a failure, since the sender kept for Ctrl-C would
    // otherwise leave the channel open and this wait endless.
    may::go!(move || {
        let remote = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let Some(_slot) = shared.slots.acquire(&host_of(&url), &stop) else {
                return Err("stopped".to_string());
            };
            probe::probe(&agent, &url, &headers)
        }))
        .unwrap_or_else(|_| Err("the probe panicked".into()));
        let _ = answer.send(Some(remote));
    });
    match answers.recv() {
        Ok(Some(remote)) if !interrupt.happened() => remote.map_err(|e| exit(EXIT_FAILED, e)),
        Ok(_) | Err(_) => Err(exit(
            EXIT_INTERRUPTED,
            "interrupted while asking the server about the file",
        )),
    }
}

/// Fetches the file into `FILE.part`: its length and how it was fetched (`main` verifies it).
pub(crate) fn download(context: &Context, mut remote: Remote) -> Result<(u64, String), Exit> {
    let mut resume = context.args.resume;
    let mut restarted = false;
    loop {
        let segmented = match remote.length {
            Some(length) if length > 0 => Some(length),
            _ => None,
        };
        let outcome = match segmented {
            Some(length) => {
                let (plan, file) = prepare_segments(context, &remote, length, resume)?;
                resume = false;
                let count = context.segments(length);
                run_phase(context, &remote, length, plan, file, count)?
            }
            None => {
                if remote.length.is_none() {
                    context.note(&format!(
                        "the length of {} is unknown: downloading it as one stream",
                        remote.url
                    ));
                }
                return download_whole(context, &remote);
            }
        };
        match outcome {
            Outcome::Done => {
                let length = remote.length.unwrap_or(0);
                let count = context.segments(length);
                return Ok((length, format!("{count} segments")));
            }
            Outcome::RangeIgnored(why) => {
                context.note(&format!(
                    "the server does not serve byte ranges ({why}): downloading one stream"
                ));
                let _ = std::fs::remove_file(&context.paths.control);
                return download_whole(context, &remote);
            }
            Outcome::Changed if !restarted => {
                context.note("the file changed on the server: downloading it afresh");
                restarted = true;
                let agent = http::agent(context.options).map_err(|e| exit(EXIT_USAGE, e))?;
                remote = probe_on_coroutine(
                    &context.interrupt,
                    &agent,
                    &context.url,
                    &context.args.headers,
                    &context.shared,
                )?;
            }
            Outcome::Changed => {
                return Err(exit(EXIT_FAILED, "the file keeps changing on the server"));
            }
            // run_phase turns these into an Exit already; kept total without a panic path.
            Outcome::Stopped | Outcome::Failed(_) => {
                return Err(exit(EXIT_FAILED, "download stopped"));
            }
        }
    }
}

/// The plan and part file: resumed from the control file when `-c` finds one that matches the
/// server's file, else new.
fn prepare_segments(
    context: &Context,
    remote: &Remote,
    length: u64,
    resume: bool,
) -> Result<(Arc<Plan>, File), Exit> {
    let paths = &context.paths;
    if resume {
        match resumable(paths, remote, length) {
            Ok(saved) => {
                let file = part::open_part(&paths.part).map_err(|e| {
                    exit(
                        EXIT_FAILED,
                        format!("cannot open {}: {e}", paths.part.display()),
                    )
                })?;
                let plan = Plan::resume(&saved, MIN_SPLIT);
                context.note(&format!(
                    "resuming: {} of {length} bytes already there",
                    plan.bytes_written()
                ));
                return Ok((Arc::new(plan), file));
            }
            Err(why) => context.note(&format!("cannot resume ({why}): starting afresh")),
        }
    }
    let file = part::create_part(&paths.part, Some(length)).map_err(|e| {
        exit(
            EXIT_FAILED,
            format!("cannot create {}: {e}", paths.part.display()),
        )
    })?;
    let plan = Plan::new(length, context.segments(length), MIN_SPLIT);
    Ok((Arc::new(plan), file))
}

/// The saved segments, if the control file describes this very file on the server.
fn resumable(paths: &PartPaths, remote: &Remote, length: u64) -> Result<Vec<plan::Saved>, String> {
    let control = Control::load(&paths.control)
        .map_err(|e| format!("no usable {}: {e}", paths.control.display()))?;
    let on_disk = std::fs::metadata(&paths.part)
        .map(|m| m.len())
        .unwrap_or(u64::MAX);
    if control.length != length || on_disk != length {
        return Err("the length differs".into());
    }
    let saved = Remote {
        etag: control.etag.clone(),
        last_modified: control.last_modified.clone(),
        ..remote.clone()
    };
    match (saved.validator(), remote.validator()) {
        (Some(before), Some(now)) if before == now => Ok(control.segments),
        (None, _) | (_, None) => {
            Err("the server gives no ETag or Last-Modified to check it".into())
        }
        _ => Err("the file changed on the server".into()),
    }
}

impl Context<'_> {
    /// `-n`, or fewer for a small file among several: no segment smaller than
    /// `min_segment` (the other files keep the connections busy meanwhile).
    pub(crate) fn segments(&self, length: u64) -> u64 {
        let most = u64::from(self.args.segments);
        match self.min_segment {
            0 => most,
            min => most.min(length.div_ceil(min)).max(1),
        }
    }

    /// A line on stderr about this file (named when there are several).
    pub(crate) fn note(&self, text: &str) {
        match &self.label {
            Some(label) => self.board.note(&format!("download: {label}: {text}")),
            None => self.board.note(&format!("download: {text}")),
        }
    }
}

/// One segmented phase: a coroutine per segment, joined; the first outcome that is not
/// `Done` (failures and Ctrl-C become an `Exit` here, with the control file saved).
fn run_phase(
    context: &Context,
    remote: &Remote,
    length: u64,
    plan: Arc<Plan>,
    file: File,
    count: u64,
) -> Result<Outcome, Exit> {
    let control = |plan: &Plan| Control {
        url: context.url.clone(),
        length,
        etag: remote.etag.clone(),
        last_modified: remote.last_modified.clone(),
        segments: plan.snapshot(),
    };
    let save = |plan: &Plan| {
        if let Err(e) = control(plan).save(&context.paths.control) {
            context.note(&format!(
                "cannot save {}: {e}",
                context.paths.control.display()
            ));
        }
    };
    save(&plan);
    let outcome = spawn_and_join(
        context,
        remote,
        Some(length),
        plan.clone(),
        file,
        count,
        &|| save(&plan),
    )?;
    save(&plan);
    let kept = || {
        format!(
            "{} of {length} bytes kept in {}; `download -c` resumes",
            plan.bytes_written(),
            context.paths.part.display()
        )
    };
    match outcome {
        _ if context.interrupt.happened() => {
            Err(exit(EXIT_INTERRUPTED, format!("interrupted: {}", kept())))
        }
        Outcome::Failed(why) => Err(exit(
            EXIT_FAILED,
            format!("download failed: {why}; {}", kept()),
        )),
        Outcome::Stopped => Err(exit(EXIT_FAILED, format!("download stopped; {}", kept()))),
        Outcome::Done if !plan.is_complete() => Err(exit(
            EXIT_FAILED,
            format!("some bytes are missing; {}", kept()),
        )),
        other => Ok(other),
    }
}

/// Spawns `count` coroutines on `plan` (one when `length` is unknown), waits for all of them,
/// calling `tick` twice a second meanwhile, and waits for the writer.
fn spawn_and_join(
    context: &Context,
    remote: &Remote,
    length: Option<u64>,
    plan: Arc<Plan>,
    file: File,
    count: u64,
    tick: &dyn Fn(),
) -> Result<Outcome, Exit> {
    let agent = http::agent(context.options).map_err(|e| exit(EXIT_USAGE, e))?;
    let stop = Arc::new(AtomicBool::new(false));
    let _armed = context.interrupt.arm(&agent, &stop);
    let job = Arc::new(Job {
        agent: agent.clone(),
        url: remote.url.clone(),
        length: length.unwrap_or(u64::MAX),
        plan: plan.clone(),
        validator: remote.validator(),
        retries: context.args.retries,
        stop: stop.clone(),
        retried: AtomicU64::new(0),
        stolen: AtomicU64::new(0),
        headers: probe::headers_for(&context.args.headers, &context.url, &remote.url),
        shared: context.shared.clone(),
        host: host_of(&remote.url),
    });
    let name = context
        .output
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let bar = context.board.file_bar(&name, length, plan.bytes_written());
    let on_written = {
        let (bar, total) = (bar.clone(), context.board.total());
        move |n| {
            bar.inc(n);
            total.inc(n);
        }
    };
    let on_error = {
        let stop = stop.clone();
        move || stop.store(true, Ordering::SeqCst)
    };
    let writer = Writer::start(file, plan, on_written, on_error)
        .map_err(|e| exit(EXIT_FAILED, format!("cannot start the writer thread: {e}")))?;
    let (done, outcomes) = crossbeam_channel::unbounded();
    let segmented = length.is_some();
    let mut handles = Vec::new();
    for number in 0..count {
        let (job, writer, done) = (job.clone(), writer.sender(), done.clone());
        let builder = may::coroutine::Builder::new().name(format!("segment {number}"));
        // gevent.spawn. SAFETY (hidden by go!): see main.rs's header; nothing here holds a
        // thread-local across a yield, and the stack is sized for TLS.
        let spawned = may::go!(builder, move || {
            let outcome = if segmented {
                worker::fetch_segments(&job, writer)
            } else {
                worker::fetch_whole(&job, writer)
            };
            let _ = done.send(outcome);
        });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                stop.store(true, Ordering::SeqCst);
                context.note(&format!("cannot start a coroutine: {e}"));
            }
        }
    }
    drop(done);
    // gevent.joinall: every outcome; the first one that is not Done stops the others.
    let mut first = None;
    loop {
        match outcomes.recv_timeout(Duration::from_millis(500)) {
            Ok(Outcome::Done) => {}
            Ok(outcome) => {
                if first.is_none() {
                    first = Some(outcome);
                    stop.store(true, Ordering::SeqCst);
                    agent.clone().shutdown(); // wakes coroutines parked on a read
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => tick(),
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    let started = handles.len();
    let panicked = handles.into_iter().filter_map(|h| h.join().err()).count();
    let written = writer.finish();
    bar.finish_and_clear();
    context
        .retried
        .set(context.retried.get() + job.retried.load(Ordering::Relaxed));
    context
        .stolen
        .set(context.stolen.get() + job.stolen.load(Ordering::Relaxed));
    if let Err(e) = written {
        let why = format!("writing {}: {e}", context.paths.part.display());
        return Ok(Outcome::Failed(why));
    }
    if panicked > 0 {
        return Ok(Outcome::Failed(format!("{panicked} coroutines panicked")));
    }
    if started < count as usize {
        return Ok(Outcome::Failed("not every coroutine could start".into()));
    }
    Ok(first.unwrap_or(Outcome::Done))
}

/// The whole file as one stream (no ranges, or no length). It cannot be resumed, so on any
/// failure its part file is removed.
fn download_whole(context: &Context, remote: &Remote) -> Result<(u64, String), Exit> {
    let paths = &context.paths;
    let file = part::create_part(&paths.part, remote.length).map_err(|e| {
        exit(
            EXIT_FAILED,
            format!("cannot create {}: {e}", paths.part.display()),
        )
    })?;
    let plan = Arc::new(Plan::new(remote.length.unwrap_or(u64::MAX), 1, MIN_SPLIT));
    let outcome = spawn_and_join(context, remote, None, plan.clone(), file, 1, &|| {});
    let failure = match outcome {
        Err(e) => Some(e),
        Ok(_) if context.interrupt.happened() => Some(exit(
            EXIT_INTERRUPTED,
            "interrupted (one stream without ranges cannot be resumed: nothing kept)",
        )),
        Ok(Outcome::Done) if plan.is_complete() => None,
        Ok(Outcome::Done) => Some(exit(EXIT_FAILED, "download failed: some bytes are missing")),
        Ok(Outcome::Failed(why) | Outcome::RangeIgnored(why)) => {
            Some(exit(EXIT_FAILED, format!("download failed: {why}")))
        }
        Ok(Outcome::Stopped | Outcome::Changed) => Some(exit(EXIT_FAILED, "download stopped")),
    };
    if let Some(failure) = failure {
        context.paths.remove();
        return Err(failure);
    }
    let length = plan.snapshot()[0][2];
    Ok((length, "one stream".into()))
}
