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
//! three GETs one after another would take 3 ticks and together take about 1. Responses are
//! parsed with [httparse], a real HTTP parser; the byte count is the body's, checked against its
//! `Content-Length`. Give `http://` URLs as arguments to fetch those instead: one that cannot be
//! reached gets a one-line error (and exit status 1) while the others carry on. The server's
//! coroutines end with the process.
//!
//! **Rust differences.** No monkey-patching: the coroutine-aware socket is a different type,
//! `may::net::TcpStream`, chosen explicitly. The request is HTTP/1.0, so the server closes the
//! connection after the body and never uses chunked encoding: reading to the end is the whole
//! response. `https://` needs TLS, which this lesson leaves out, so such a URL is refused as a
//! usage error (exit status 2). Unlike `requests`, nothing follows redirects: a 301 is reported
//! with its status. The notes print `len(resp.text)`, characters of decoded text, and call them
//! bytes; here they are bytes. Name lookup (`to_socket_addrs`) blocks the worker thread while it
//! runs, and the system's resolver can need more stack than may's default 32 KiB, so the
//! coroutines here get 256 KiB. `go!` hides may's `unsafe` spawn (may issue #109, see
//! `gevent_spawn`); this use is sound for the same reasons: no thread-local kept across a yield,
//! and stacks sized for what runs on them.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin gevent_http
//! cargo run -p coroutines --bin gevent_http -- http://example.com/ http://neverssl.com/
//! ```
//!
//! **Output** (the port varies; the three answers arrive in any order):
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
//! joinall: 3 GETs done after 1.0 ticks (the server takes 1 tick per page)
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `may = "0.3"`,
//! `httparse = "1"`, `sigpipe = "0.1"`.
//!
//! [may]: https://docs.rs/may
//! [httparse]: https://docs.rs/httparse

use clap::Parser;
use may::coroutine;
use may::net::{TcpListener, TcpStream};
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// gevent.joinall of three GETs, on may coroutines, against a local server.
#[derive(Parser)]
struct Args {
    /// Milliseconds in the notes' "one second".
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    tick_ms: u64,
    /// http:// URLs to fetch instead of the lesson's own three pages.
    #[arg(value_parser = parse_http_url)]
    urls: Vec<HttpUrl>,
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

#[derive(Clone)]
struct HttpUrl {
    text: String,
    /// `host[:port]`, for the `Host` header.
    authority: String,
    host: String,
    port: u16,
    path: String,
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_http_url(text: &str) -> Result<HttpUrl, String> {
    if text.starts_with("https://") {
        return Err(
            "https:// is not supported in this lesson (it needs TLS); give an http:// URL".into(),
        );
    }
    let rest = text
        .strip_prefix("http://")
        .ok_or("expected a URL starting with http://")?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (
            host,
            port.parse()
                .map_err(|_| format!("bad port {port:?} in {text}"))?,
        ),
        _ => (authority, 80),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']'); // [::1] is an IPv6 host
    if host.is_empty() {
        return Err(format!("no host in {text}"));
    }
    Ok(HttpUrl {
        text: text.to_string(),
        authority: authority.to_string(),
        host: host.to_string(),
        port,
        path: if path.is_empty() { "/" } else { path }.to_string(),
    })
}

/// The notes' `f(url)`: returns whether the GET worked.
fn f(url: &HttpUrl) -> bool {
    println!("GET: {url}");
    match get(url) {
        Ok((status, body_len)) => {
            let note = match status {
                200 => String::new(),
                other => format!(" (status {other})"),
            };
            println!("{body_len} bytes received from {url}.{note}");
            true
        }
        Err(e) => {
            eprintln!("error: GET {url}: {e}");
            false
        }
    }
}

/// One HTTP/1.0 GET on may's `TcpStream`: the status code and the length of the body.
fn get(url: &HttpUrl) -> io::Result<(u16, usize)> {
    let addr = (url.host.as_str(), url.port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::other(format!("{} has no address", url.host)))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    let request = format!(
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: gevent_http-lesson\r\n\r\n",
        url.path, url.authority
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?; // HTTP/1.0: the server closes after the body
    parse_response(&response)
}

fn parse_response(response: &[u8]) -> io::Result<(u16, usize)> {
    let bad = |why: String| io::Error::new(io::ErrorKind::InvalidData, why);
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let header_len = match parsed.parse(response) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return Err(bad("the response ended inside its headers".into()));
        }
        Err(e) => return Err(bad(format!("not an HTTP response: {e}"))),
    };
    let status = parsed.code.unwrap_or_default(); // a complete response always has its code
    let body_len = response.len() - header_len;
    let content_length = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"));
    if let Some(header) = content_length {
        let declared: usize = std::str::from_utf8(header.value)
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| bad("a Content-Length that is not a number".into()))?;
        if declared != body_len {
            return Err(bad(format!(
                "the body has {body_len} bytes, its Content-Length says {declared}"
            )));
        }
    }
    Ok((status, body_len))
}

/// Starts the lesson's server on a free port of 127.0.0.1; it runs until the process ends.
fn start_server(tick: Duration) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    may::go!(move || {
        for stream in listener.incoming() {
            match stream {
                Ok(stream) => {
                    may::go!(move || {
                        if let Err(e) = serve(stream, tick) {
                            eprintln!("server: {e}");
                        }
                    });
                }
                Err(e) => eprintln!("server: accept failed: {e}"),
            }
        }
    });
    Ok(addr)
}

/// Reads one request, waits a tick like a far-away site, answers with the page or a 404.
fn serve(mut stream: TcpStream, tick: Duration) -> io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    let path = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(()); // the client left before finishing its request
        }
        request.extend_from_slice(&buf[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut parsed = httparse::Request::new(&mut headers);
        match parsed.parse(&request) {
            Ok(httparse::Status::Complete(_)) => break parsed.path.unwrap_or("/").to_string(),
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    };
    coroutine::sleep(tick);
    let (status, body) = match PAGES.iter().find(|(page, _)| *page == path) {
        Some(&(page, size)) => ("200 OK", page.bytes().cycle().take(size).collect()),
        None => ("404 Not Found", b"no such page\n".to_vec()),
    };
    let head = format!(
        "HTTP/1.0 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)
}

fn main() -> ExitCode {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    let args = Args::parse();
    let tick = Duration::from_millis(args.tick_ms);
    may::config().set_workers(1).set_stack_size(STACK_WORDS);

    let own_server = args.urls.is_empty();
    let urls = if own_server {
        let addr = match start_server(tick) {
            Ok(addr) => addr,
            Err(e) => {
                eprintln!("error: cannot start the lesson's server: {e}");
                return ExitCode::FAILURE;
            }
        };
        PAGES
            .iter()
            .map(|(page, size)| {
                let url = format!("http://{addr}{page}");
                println!("server: {url} serves {size} bytes");
                parse_http_url(&url).expect("the server's own URLs are http://")
            })
            .collect()
    } else {
        args.urls
    };

    let start = Instant::now();
    let jobs: Vec<_> = urls
        .into_iter()
        .map(|url| may::go!(move || f(&url))) // gevent.spawn(f, url)
        .collect();
    let count = jobs.len();
    let failed = jobs
        .into_iter()
        .map(|job| job.join().expect("a GET coroutine panicked"))
        .filter(|worked| !worked)
        .count();
    // gevent.joinall returned: every coroutine is done.
    let ticks = start.elapsed().as_secs_f64() / tick.as_secs_f64();
    let note = if own_server {
        " (the server takes 1 tick per page)"
    } else {
        ""
    };
    println!("joinall: {count} GETs done after {ticks:.1} ticks{note}");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
