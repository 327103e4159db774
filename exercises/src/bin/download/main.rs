//! # download — 协程分配下载文件
//!
//! The homework of `004_599445cc4c65b15e.txt` (作业：协程分配下载文件), built as a tool to use
//! instead of `curl -o` or `aria2c -x`: `download URL [-o FILE] [-n SEGMENTS]`, or many files
//! at once: `download [-d DIR] URL...`, `download -i urls.txt`.
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
//! **Many files.** `gevent.joinall` over many files: every file's probe and segments are
//! coroutines on the same may scheduler, `--max-connections` slots shared by all of them
//! (no more than `-n` to one host), a finished file handing its slots to the next; one
//! failure does not stop the others (`batch`, `share`).
//!
//! **Files.** `cli` (arguments, URLs, exit codes, file name), `batch` (several files: names
//! checked up front, a thread per file under way, outcomes, summary), `session` (one
//! download's phases: spawning and joining the coroutines, fallback, resume), `share`
//! (connection slots, `--limit-rate`), `http` (ureq over may sockets, resolver, TLS), `proxy`
//! (which proxy, as curl reads them; CONNECT and the absolute form), `probe` (length, ranges,
//! validators, headers after a redirect), `plan` (segments, work stealing), `worker` (one
//! coroutine's requests and retries), `part` (`.part`, control file, writer thread, the
//! server's time), `verify`, `progress`, `interrupt` (Ctrl-C). Unix only (`pwrite`,
//! `posix_fallocate`): elsewhere it stops at compile time with one line saying so.
//!
//! **Run it:** `cargo run --release -p exercises --bin download -- -n 8 URL -o FILE`

#[cfg(not(unix))]
compile_error!(
    "download is Unix only: it writes with pwrite and reserves space with posix_fallocate"
);

mod batch;
mod cli;
mod http;
mod interrupt;
mod part;
mod plan;
mod probe;
mod progress;
mod proxy;
mod session;
mod share;
mod verify;
mod worker;

use batch::Run;
use clap::Parser;
use cli::{Args, EXIT_FAILED, EXIT_OK, EXIT_USAGE, Exit, exit};
use interrupt::Interrupt;
use share::{Rate, Shared, Slots};
use std::process::ExitCode;
use std::sync::Arc;

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
        .set_workers(cores.min(args.max_connections as usize))
        .set_stack_size(STACK_WORDS);
    match run(&args) {
        Ok((lines, code)) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::from(code)
        }
        Err(failure) => {
            eprintln!("download: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

/// The summary lines and the exit status; `Err` for a single file's failure or a usage error.
fn run(args: &Args) -> Result<(Vec<String>, u8), Exit> {
    let urls = cli::urls(args).map_err(|e| exit(EXIT_USAGE, e))?;
    let proxies = proxy::Rules::new(args.proxy.as_deref(), args.noproxy.as_deref())
        .map_err(|e| exit(EXIT_USAGE, e))?;
    // Every name is checked before any request: a refusal needs no network.
    let files = batch::plan(args, urls)?;
    let options = http::HttpOptions {
        timeout: args.timeout,
        max_redirects: args.max_redirects,
        cacert: args.cacert.as_deref(),
        user_agent: args.user_agent.as_deref(),
        proxies: Arc::new(proxies),
    };
    http::agent(&options).map_err(|e| exit(EXIT_USAGE, e))?;
    if let Some(dir) = &args.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| exit(EXIT_FAILED, format!("cannot create {}: {e}", dir.display())))?;
    }
    let interrupt = Interrupt::install().map_err(|e| exit(EXIT_FAILED, e))?;
    let run = Run {
        args,
        interrupt,
        options,
        shared: Arc::new(Shared::new(
            Slots::new(args.max_connections as usize, args.segments as usize),
            args.limit_rate.map(Rate::new),
        )),
        board: progress::Board::new(files.len()),
    };
    match files.as_slice() {
        [file] => {
            let saved = batch::run_one(&run, file, false);
            run.board.finish();
            Ok((vec![saved?.line], EXIT_OK))
        }
        _ => Ok(batch::run_all(&run, &files)),
    }
}
