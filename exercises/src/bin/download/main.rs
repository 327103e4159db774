//! # download — 协程分配下载文件
//!
//! The homework of `004_599445cc4c65b15e.txt` (作业：协程分配下载文件), built as a tool to use
//! instead of `curl -o` or `aria2c -x`: `download URL [-o FILE] [-n SEGMENTS]`.
//!
//! **The notes' program.** It sends a HEAD for `Content-Length`, cuts the length into N byte
//! ranges, spawns one gevent greenlet per range that GETs it with a `Range` header and writes
//! it at its offset into one file, and joins them. Its bugs, and where this tool fixes them:
//! - it trusts the server to honour `Range`: a 200 answer makes every greenlet write the whole
//!   body at its offset (a corrupt, oversized file, exit 0). Here only a `206` with exactly the
//!   `Content-Range` asked for is used; otherwise the download becomes one plain stream and
//!   says so (`worker`);
//! - a HEAD without `Content-Length` crashes it, a refused HEAD returns silently: here a
//!   `Range: bytes=0-0` GET asks for the length, else it streams (`probe`);
//! - a dropped connection leaves a hole, and nothing checks the final size: here a segment is
//!   retried from the byte it reached, with backoff, and the file is renamed into place only
//!   after its length (and `--checksum`) is verified (`worker`, `verify`);
//! - it writes 32 bytes at a time: here 256 KiB buffers, written with `pwrite` (`part`);
//! - its timing decorator takes `(url, fp_num, save_path)`, so decorating the two-argument
//!   `download(url, save_name)` fails when it is called: here the summary line reports time
//!   and speed (`progress`).
//!
//! **gevent → may.** `gevent.spawn(download_one, ...)` is `may::go!`, one coroutine per
//! segment (`session::spawn_and_join`); `gevent.joinall(jobs)` is waiting for every
//! coroutine's outcome, then joining its handle; `monkey.patch_all()` has no counterpart: the
//! coroutine-aware socket is another type, `may::net::TcpStream`. ureq 3 (HTTP/1.1, redirects,
//! chunked bodies, keep-alive, timeouts) runs over it through ureq's `unversioned::transport`
//! API, with ureq's rustls connector chained on top for HTTPS (`http`). ureq over may works,
//! so the sans-IO `ureq-proto` driven by hand was not needed: ureq keeps the whole protocol
//! and only the socket is ours. Two calls would block a may worker and every coroutine on it:
//! name resolution (`getaddrinfo`) runs on a helper thread while the coroutine waits on a may
//! channel, and file writes go to one writer thread (`part`); the coroutines never touch the
//! file.
//!
//! **Soundness of `go!`.** may's `spawn` is an `unsafe fn` that `go!` hides (may issue #109):
//! a coroutine may resume on another worker thread, so a `thread_local!` reference kept across
//! a yield could point to another thread's value, and its stack is fixed and small. The
//! coroutines here keep no thread-local across a yield: ureq, ureq-proto, http, rustls and ring
//! have no `thread_local!` (outside ureq's test feature; checked in their sources), and
//! crossbeam's unbounded `send`, which never waits, reads one only within the call. std locks
//! are held only between yields, everything a coroutine captures is `Send`, and the stacks
//! are sized for TLS (`STACK_WORDS`); an overflow would hit may's guard page and be reported,
//! not corrupt memory.
//!
//! **Files.** `cli` (arguments, exit codes, file name), `session` (one download's phases:
//! spawning and joining the coroutines, fallback, resume), `http` (ureq over may sockets,
//! resolver, TLS), `probe` (length, ranges, validators), `plan` (segments, work stealing),
//! `worker` (one coroutine's requests and retries), `part` (`.part`, control file, writer
//! thread), `verify`, `progress`, `interrupt` (Ctrl-C). Unix only (`pwrite`,
//! `posix_fallocate`): elsewhere it stops at compile time with one line saying so.
//!
//! **Run it:** `cargo run --release -p exercises --bin download -- -n 8 URL -o FILE`

#[cfg(not(unix))]
compile_error!(
    "download is Unix only: it writes with pwrite and reserves space with posix_fallocate"
);

mod cli;
mod http;
mod interrupt;
mod part;
mod plan;
mod probe;
mod progress;
mod session;
mod verify;
mod worker;

use clap::Parser;
use cli::{Args, EXIT_CHECKSUM, EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Exit, exit};
use interrupt::Interrupt;
use part::PartPaths;
use session::Context;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Coroutine stack in words (may's unit): 128 Ki words = 1 MiB on 64-bit. An HTTPS request
/// (ureq's call chain, the rustls handshake, ring's certificate and key-exchange arithmetic)
/// was measured at 15.8 Ki words, about 124 KiB, of stack (may prints the use of each
/// coroutine when the size is odd); may's default of 4 Ki words (32 KiB) would overflow. 1 MiB
/// leaves an eightfold margin for other certificates, ciphers and code paths, and costs only
/// address space: stack pages never touched are never backed by memory.
const STACK_WORDS: usize = 128 * 1024;

fn main() -> ExitCode {
    sigpipe::reset();
    let args = Args::parse();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    may::config()
        .set_workers(cores.min(args.segments as usize))
        .set_stack_size(STACK_WORDS);
    match run(&args) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::from(EXIT_OK)
        }
        Err(failure) => {
            eprintln!("download: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(args: &Args) -> Result<String, Exit> {
    let started = Instant::now();
    let parsed: Result<ureq::http::Uri, _> = args.url.parse();
    match parsed.as_ref().ok().and_then(|uri| uri.scheme_str()) {
        Some("http" | "https") if parsed.as_ref().is_ok_and(|u| u.host().is_some()) => {}
        _ => {
            return Err(exit(
                EXIT_USAGE,
                format!("{:?} is not an http:// or https:// URL", args.url),
            ));
        }
    }
    let interrupt = Interrupt::install().map_err(|e| exit(EXIT_FAILED, e))?;
    let options = http::HttpOptions {
        timeout: args.timeout,
        max_redirects: args.max_redirects,
        cacert: args.cacert.as_deref(),
    };
    let agent = http::agent(&options).map_err(|e| exit(EXIT_USAGE, e))?;
    // An explicit -o is checked before any request: a refusal needs no network.
    if let Some(output) = &args.output {
        check_output(args, output)?;
    }
    let remote = session::probe_on_coroutine(&interrupt, &agent, &args.url)?;
    if interrupt.happened() {
        return Err(exit(
            EXIT_INTERRUPTED,
            "interrupted before the download began",
        ));
    }
    let output = match &args.output {
        Some(output) => output.clone(),
        None => {
            let output = PathBuf::from(cli::default_file_name(
                &remote.url,
                remote.content_disposition.as_deref(),
            ));
            check_output(args, &output)?;
            output
        }
    };
    let paths = PartPaths::for_output(&output);
    let context = Context {
        args,
        interrupt,
        options,
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
    std::fs::rename(&context.paths.part, &context.output).map_err(|e| {
        exit(
            EXIT_FAILED,
            format!("cannot rename into {}: {e}", context.output.display()),
        )
    })?;
    let _ = std::fs::remove_file(&context.paths.control);
    Ok(progress::summary(
        &context.output.display().to_string(),
        length,
        started.elapsed(),
        &streams,
        context.retried.get(),
        context.stolen.get(),
    ))
}

/// Refuses to replace `output`, or to start over its `.part` from an earlier run, unless
/// asked to (`--force`, `-c`).
fn check_output(args: &Args, output: &Path) -> Result<(), Exit> {
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
