//! Several files at once (`gevent.joinall` over many files): the names checked before anything
//! is fetched, a thread per file being downloaded, every file's outcome, the summary.
//!
//! Up to `--max-connections` files are under way at once, each driven by a thread of its own
//! that waits (probe, segments, verification, rename: the blocking steps stay off the may
//! workers) while its coroutines run on the one may scheduler, sharing the connection slots
//! and the rate (`share`). A failure ends only its own file: with no file under its name,
//! its `.part` kept for `-c` where it can resume. A thread that finishes a file takes the
//! next one.

use crate::cli::{
    self, Args, EXIT_CHECKSUM, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, Exit, exit,
};
use crate::http::{self, HttpOptions};
use crate::interrupt::Interrupt;
use crate::part::{self, PartPaths};
use crate::progress::{self, Board};
use crate::session::{self, Context};
use crate::share::Shared;
use crate::verify;
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

/// With several files, a file is not cut into segments smaller than this: a request costs
/// about as much as sending this many bytes over a fast link, and the other files keep
/// the connections busy meanwhile. (Measured on 100 files of 1 MiB from nginx: 8 segments
/// of 128 KiB each made the batch slower, not faster.)
const SEVERAL_MIN_SEGMENT: u64 = 1 << 20;

/// What every file of one run works with.
pub(crate) struct Run<'a> {
    pub(crate) args: &'a Args,
    pub(crate) interrupt: Interrupt,
    pub(crate) options: HttpOptions<'a>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) board: Board,
}

/// One URL and where it goes: `None` until the probe, for a single URL without `-o` (the
/// server's Content-Disposition may name it).
pub(crate) struct File {
    pub(crate) url: String,
    pub(crate) output: Option<PathBuf>,
}

/// A file that ended well: its summary line and size.
pub(crate) struct Saved {
    pub(crate) line: String,
    pub(crate) bytes: u64,
}

/// The files to fetch, their names checked before any request: two URLs under one name, an
/// existing file or `.part` (without `--force` / `-c`) are usage errors.
pub(crate) fn plan(args: &Args, urls: Vec<String>) -> Result<Vec<File>, Exit> {
    let in_dir = |path: PathBuf| match &args.dir {
        Some(dir) => dir.join(path),
        None => path,
    };
    let several = urls.len() > 1;
    let files: Vec<File> = urls
        .into_iter()
        .map(|url| {
            let output = match &args.output {
                Some(output) => Some(in_dir(output.clone())),
                // Several files are named after their URLs, so that the names are known now.
                None if several => Some(in_dir(PathBuf::from(cli::default_file_name(&url, None)))),
                None => None,
            };
            File { url, output }
        })
        .collect();
    let mut seen: HashMap<&Path, &str> = HashMap::new();
    for file in &files {
        let Some(output) = &file.output else { continue };
        if let Some(first) = seen.insert(output, &file.url) {
            return Err(exit(
                EXIT_USAGE,
                format!(
                    "{first} and {} would both be saved as {}: download them separately \
                     with -o, or in different -d folders",
                    file.url,
                    output.display()
                ),
            ));
        }
        check_output(args, output)?;
    }
    Ok(files)
}

/// Refuses to replace `output`, or to start over its `.part` from an earlier run, unless
/// asked to (`--force`, `-c`).
pub(crate) fn check_output(args: &Args, output: &Path) -> Result<(), Exit> {
    if output.exists() && !args.force {
        return Err(exit(
            EXIT_USAGE,
            format!(
                "{} exists: --force replaces it, -o saves elsewhere",
                output.display()
            ),
        ));
    }
    let part = PartPaths::for_output(output).part;
    if part.exists() && !args.resume && !args.force {
        return Err(exit(
            EXIT_USAGE,
            format!(
                "{} exists from an earlier run: -c resumes it, --force starts afresh",
                part.display()
            ),
        ));
    }
    Ok(())
}

/// Every file at once; the summary lines (stdout) and the exit status. Each failure is also
/// a line on stderr as it happens.
pub(crate) fn run_all(run: &Run, files: &[File]) -> (Vec<String>, u8) {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let ended = AtomicUsize::new(0);
    let outcomes: Vec<Mutex<Option<Result<Saved, Exit>>>> =
        files.iter().map(|_| Mutex::new(None)).collect();
    let drivers = files.len().min(run.args.max_connections as usize).max(1);
    std::thread::scope(|scope| {
        for number in 0..drivers {
            let (next, ended, outcomes) = (&next, &ended, &outcomes);
            let driver = std::thread::Builder::new()
                .name(format!("file {number}"))
                .spawn_scoped(scope, move || {
                    loop {
                        let index = next.fetch_add(1, Ordering::SeqCst);
                        let Some(file) = files.get(index) else { break };
                        let outcome = if run.interrupt.happened() {
                            Err(exit(EXIT_INTERRUPTED, "interrupted before it began"))
                        } else {
                            run_one(run, file, true)
                        };
                        if let Err(failure) = &outcome {
                            run.board.note(&format!(
                                "download: {}: {}",
                                name(file),
                                failure.message
                            ));
                        }
                        if let Ok(mut slot) = outcomes[index].lock() {
                            *slot = Some(outcome);
                        }
                        let done = ended.fetch_add(1, Ordering::SeqCst) + 1;
                        run.board.file_ended(done, files.len());
                    }
                });
            if let Err(e) = driver {
                run.board
                    .note(&format!("download: cannot start a thread: {e}"));
                break;
            }
        }
    });
    run.board.finish();
    let mut lines = Vec::new();
    let (mut saved, mut failed, mut bytes, mut code) = (0, 0, 0, cli::EXIT_OK);
    for (file, outcome) in files.iter().zip(outcomes) {
        let outcome = outcome
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| Err(exit(EXIT_FAILED, "not downloaded (no thread to run it)")));
        match outcome {
            Ok(file_saved) => {
                saved += 1;
                bytes += file_saved.bytes;
                lines.push(file_saved.line);
            }
            Err(failure) => {
                failed += 1;
                lines.push(format!("failed {}: {}", name(file), failure.message));
                code = match (code, failure.code) {
                    (_, EXIT_INTERRUPTED) | (EXIT_INTERRUPTED, _) => EXIT_INTERRUPTED,
                    _ => EXIT_FAILED,
                };
            }
        }
    }
    lines.push(progress::total(saved, failed, bytes, started.elapsed()));
    (lines, code)
}

fn name(file: &File) -> String {
    file.output.as_ref().map_or_else(
        || cli::default_file_name(&file.url, None),
        |o| o.display().to_string(),
    )
}

/// One file from its probe to its rename into place.
pub(crate) fn run_one(run: &Run, file: &File, several: bool) -> Result<Saved, Exit> {
    let args = run.args;
    let started = Instant::now();
    let agent = http::agent(&run.options).map_err(|e| exit(EXIT_USAGE, e))?;
    let remote = session::probe_on_coroutine(
        &run.interrupt,
        &agent,
        &file.url,
        &args.headers,
        &run.shared,
    )?;
    drop(agent);
    if run.interrupt.happened() {
        return Err(exit(
            EXIT_INTERRUPTED,
            "interrupted before the download began",
        ));
    }
    let output = match &file.output {
        Some(output) => output.clone(),
        None => {
            let name = cli::default_file_name(&remote.url, remote.content_disposition.as_deref());
            let output = match &args.dir {
                Some(dir) => dir.join(name),
                None => PathBuf::from(name),
            };
            check_output(args, &output)?;
            output
        }
    };
    if let Some(length) = remote.length {
        run.board.total().inc_length(length);
    }
    let last_modified = remote.last_modified.clone();
    let paths = PartPaths::for_output(&output);
    let context = Context {
        args,
        url: file.url.clone(),
        interrupt: run.interrupt.clone(),
        options: &run.options,
        shared: run.shared.clone(),
        board: &run.board,
        label: several.then(|| output.display().to_string()),
        min_segment: if several { SEVERAL_MIN_SEGMENT } else { 0 },
        output,
        paths,
        retried: Cell::new(0),
        stolen: Cell::new(0),
    };
    let (length, streams) = session::download(&context, remote)?;
    // The one check of the part file before the rename: its length, and --checksum if given.
    match verify::verify(&context.paths.part, length, args.checksum.as_ref()) {
        Ok(()) => {}
        Err(verify::Mismatch::Digest(why)) => {
            context.paths.remove();
            return Err(exit(EXIT_CHECKSUM, format!("{why}; nothing saved")));
        }
        Err(verify::Mismatch::Length(why)) => {
            return Err(exit(EXIT_FAILED, format!("download failed: {why}")));
        }
    }
    if let (false, Some(last_modified)) = (args.no_remote_time, &last_modified)
        && let Err(why) = part::set_remote_time(&context.paths.part, last_modified)
    {
        context.note(&why);
    }
    std::fs::rename(&context.paths.part, &context.output).map_err(|e| {
        exit(
            EXIT_FAILED,
            format!("cannot rename into {}: {e}", context.output.display()),
        )
    })?;
    let _ = std::fs::remove_file(&context.paths.control);
    Ok(Saved {
        line: progress::summary(
            &context.output.display().to_string(),
            length,
            started.elapsed(),
            &streams,
            context.retried.get(),
            context.stolen.get(),
        ),
        bytes: length,
    })
}
