//! # Three HTTP GETs at once on coroutines — gevent.joinall
//!
//! From `001_dd92d349ebb64331.txt`, 协程 (the `gevent.joinall` example).
//!
//! **The Python.** `f(url)` prints `GET: url`, downloads the page with `requests.get` and prints
//! how much it received. `gevent.joinall` spawns `f` for python.org, yahoo.com and github.com and
//! waits for all three. With `monkey.patch_all()` (commented out in the notes, so their three
//! downloads actually run one after another) the sockets become cooperative: while one greenlet
//! waits for its server, the others send their requests, so the three waits overlap.
//!
//! **This lesson.** The same three GETs at once on [may] coroutines, one worker thread, using
//! may's own `TcpStream`, which parks the coroutine instead of blocking the thread. So that it
//! runs offline, the lesson first starts its own HTTP server on 127.0.0.1 (a free port), also on
//! may coroutines, with three pages of different sizes; the server takes one tick to answer, so
//! three GETs one after another would take 3 ticks and together take about 1. Give `http://`
//! URLs as arguments to fetch those instead: one that cannot be reached gets a one-line error
//! (and exit status 1) while the others carry on. The server's coroutines end with the process.
//!
//! **Rust differences.** No monkey-patching: the coroutine-aware socket is a different type,
//! `may::net::TcpStream`, chosen explicitly. The HTTP is kept to what the lesson needs: the
//! request is HTTP/1.0, so the server closes the connection after the body and never uses
//! chunked encoding; the response's head ends at its first blank line and the rest, up to the
//! close, is the body. (A full HTTP/1.1 client on may's sockets is ureq through its transport
//! API, as in the `download` exercise's `http.rs`: more glue than this whole lesson.) `https://`
//! needs TLS, which this lesson leaves out, so such a URL is refused as a usage error (exit
//! status 2). Like `requests`, any status counts as an answer (a 404 page has bytes too); unlike
//! it, nothing follows redirects. The notes print `len(resp.text)`, characters of decoded text,
//! and call them bytes; here they are bytes. Name lookup (`to_socket_addrs`) blocks the worker
//! thread while it runs, and the system's resolver can need more stack than may's default
//! 32 KiB, so the coroutines here get 256 KiB. `go!` hides may's `unsafe` spawn (may issue #109,
//! see `gevent_spawn`); this use is sound for the same reasons: no thread-local kept across a
//! yield, and stacks sized for what runs on them.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin gevent_http
//! cargo run -p coroutines --bin gevent_http -- http://example.com/ http://neverssl.com/
//! ```
//!
//! **Output** (the port varies; the three answers arrive in any order; the server takes 1 tick
//! per page):
//! ```text
//! server: http://127.0.0.1:41267/python.org serves 48213 bytes
//! server: http://127.0.0.1:41267/yahoo.com serves 97604 bytes
//! server: http://127.0.0.1:41267/github.com serves 24350 bytes
//! GET: http://127.0.0.1:41267/python.org
//! GET: http://127.0.0.1:41267/yahoo.com
//! GET: http://127.0.0.1:41267/github.com
//! 48213 bytes received from http://127.0.0.1:41267/python.org.
//! 97604 bytes received from http://127.0.0.1:41267/yahoo.com.
//! 24350 bytes received from http://127.0.0.1:41267/github.com.
//! joinall: 3 GETs done after 1.0 ticks
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `may = "0.3"`,
//! `sigpipe = "0.1"`.
//!
//! [may]: https://docs.rs/may

use clap::Parser;
use may::coroutine;
use may::net::{TcpListener, TcpStream};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::ToSocketAddrs;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// gevent.joinall of three GETs, on may coroutines, against a local server.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// http:// URLs to fetch instead of the lesson's own three pages.
    #[arg(value_parser = check_url)]
    urls: Vec<String>,
}

/// The lesson's pages, named after the notes' sites, each a different size.
const PAGES: [(&str, usize); 3] = [
    ("/python.org", 48_213),
    ("/yahoo.com", 97_604),
    ("/github.com", 24_350),
];
/// How long a GET may wait to connect, and then for each read.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Coroutine stack size in words (may's unit): 256 KiB, room for the system's name resolver.
const STACK_WORDS: usize = 32 * 1024;

fn check_url(text: &str) -> Result<String, String> {
    match text.split_once("://") {
        Some(("http", _)) => Ok(text.to_string()),
        Some(("https", _)) => Err("https:// is not supported in this lesson (no TLS)".into()),
        _ => Err("expected a URL starting with http://".into()),
    }
}

/// The notes' `f(url)`: returns whether the GET worked.
fn f(url: &str) -> bool {
    println!("GET: {url}");
    let received = get(url);
    match &received {
        Ok(body_len) => println!("{body_len} bytes received from {url}."),
        Err(e) => eprintln!("error: GET {url}: {e}"),
    }
    received.is_ok()
}

/// One HTTP/1.0 GET on may's `TcpStream`: the length of the body.
fn get(url: &str) -> io::Result<usize> {
    let rest = &url["http://".len()..];
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut addrs = authority // `host:port`, or a bare host (`example.com`, `[::1]`) on port 80
        .to_socket_addrs()
        .or_else(|_| (authority.trim_matches(['[', ']']), 80).to_socket_addrs())?;
    let addr = addrs.next().ok_or_else(|| io::Error::other("no address"))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let path = if path.is_empty() { "/" } else { path };
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?; // HTTP/1.0: the server closes after the body
    // The head ends at the first blank line; the rest is the body.
    match response.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(head_end) if response.starts_with(b"HTTP/") => Ok(response.len() - head_end - 4),
        _ => Err(io::Error::other("not an HTTP response")),
    }
}

/// Starts the lesson's server on a free port of 127.0.0.1 (it runs until the process ends)
/// and returns the URLs of its pages.
fn start_server(tick: Duration) -> io::Result<Vec<String>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    may::go!(move || {
        for stream in listener.incoming() {
            // A coroutine per connection, so that the three waits overlap here too.
            may::go!(move || {
                if let Err(e) = stream.and_then(|stream| serve(stream, tick)) {
                    eprintln!("server: {e}");
                }
            });
        }
    });
    let urls = PAGES.iter().map(|(page, size)| {
        let url = format!("http://{addr}{page}");
        println!("server: {url} serves {size} bytes");
        url
    });
    Ok(urls.collect())
}

/// Reads a request's head, waits a tick like a far-away site, answers with the page or a 404.
fn serve(stream: TcpStream, tick: Duration) -> io::Result<()> {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    // Reads the request's lines up to the blank one ("\r\n"), or to the end of input.
    while reader.read_line(&mut head)? > 2 {}
    coroutine::sleep(tick);
    let path = head.split_whitespace().nth(1); // GET /python.org HTTP/1.0
    let (status, body) = match PAGES.iter().find(|(page, _)| Some(*page) == path) {
        Some(&(page, size)) => ("200 OK", page.bytes().cycle().take(size).collect()),
        None => ("404 Not Found", b"no such page\n".to_vec()),
    };
    let response_head = format!(
        "HTTP/1.0 {status}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = reader.into_inner();
    stream.write_all(response_head.as_bytes())?;
    stream.write_all(&body)
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    may::config().set_workers(1).set_stack_size(STACK_WORDS);
    let urls = if args.urls.is_empty() {
        match start_server(tick) {
            Ok(urls) => urls,
            Err(e) => {
                eprintln!("error: cannot listen on 127.0.0.1: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.urls
    };

    let start = Instant::now();
    let jobs: Vec<_> = urls
        .into_iter()
        .map(|url| may::go!(move || f(&url))) // gevent.spawn(f, url)
        .collect();
    let count = jobs.len();
    let mut all_worked = true;
    for job in jobs {
        all_worked &= job.join().expect("a GET coroutine panicked");
    }
    // gevent.joinall returned: every coroutine is done.
    let ticks = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    println!("joinall: {count} GETs done after {ticks:.1} ticks");
    if all_worked {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
