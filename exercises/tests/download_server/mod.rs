//! A test HTTP/1.1 server on 127.0.0.1 (port 0), inside the test process: well-behaved with
//! `Range`, `If-Range`, ETag; or misbehaving in the ways a downloader must survive. A thread
//! per connection, one request per connection (`Connection: close`), optional TLS with a CA
//! made here by rcgen. It logs every request so that tests can check what the client asked,
//! and counts the connections the client holds open at once.
//!
//! `ForwardProxy` is a forward proxy for the tests of `--proxy` and the `*_proxy` variables:
//! `CONNECT` tunnels, absolute-form requests, optional `Proxy-Authorization: Basic`.

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How the server (mis)behaves. The default is a well-behaved server.
#[derive(Clone, Default)]
pub(crate) struct Behaviour {
    /// Answers every GET with 200 and the whole body, `Range` or not.
    pub(crate) ignore_range: bool,
    /// HEAD gets 405 Method Not Allowed.
    pub(crate) refuse_head: bool,
    /// HEAD answers without `Content-Length` (ranges still work).
    pub(crate) head_without_length: bool,
    /// No `Content-Length` anywhere: GETs are 200, chunked, whole body; no ranges.
    pub(crate) chunked_without_length: bool,
    /// The first answer for each range end sends half its body, then closes.
    pub(crate) drop_once: bool,
    /// The first answer for each range end sends half its body, then goes silent.
    pub(crate) stall_once: bool,
    /// Announces this many bytes more than the file has (HEAD, Content-Range, Content-Length).
    pub(crate) announce_extra: u64,
    /// Answers a range with 206 but one byte later than asked (and says so in Content-Range).
    pub(crate) shifted_range: bool,
    /// Sends gzip-compressed bodies with `Content-Encoding: gzip` whatever was asked.
    pub(crate) gzip: bool,
    pub(crate) content_disposition: Option<String>,
    /// Sends every body in 16 KiB pieces with this pause between them.
    pub(crate) throttle: Option<Duration>,
    /// Sends the range that starts at byte 0 in 4 KiB pieces, 40 ms apart.
    pub(crate) slow_first_range: bool,
    /// Logs a HEAD, then never answers it (silent, the connection open, until the server stops).
    pub(crate) silent_head: bool,
    /// Answers 403 to any request without this header (name, value).
    pub(crate) require_header: Option<(String, String)>,
    /// `/away` redirects (302) to this URL.
    pub(crate) redirect_to: Option<String>,
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) range: Option<String>,
    pub(crate) if_range: Option<String>,
    pub(crate) accept_encoding: Option<String>,
    pub(crate) status: u16,
    /// Every header as sent, names in lower case.
    pub(crate) headers: Vec<(String, String)>,
}

impl Request {
    /// The first byte of a `bytes=A-B` range.
    pub(crate) fn range_start(&self) -> Option<u64> {
        self.range_bounds().map(|(first, _)| first)
    }

    /// `A` and `B` of a `bytes=A-B` range.
    /// The value of a header (any case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub(crate) fn range_bounds(&self) -> Option<(u64, u64)> {
        let spec = self.range.as_deref()?.strip_prefix("bytes=")?;
        let (first, last) = spec.split_once('-')?;
        Some((first.parse().ok()?, last.parse().ok()?))
    }
}

struct State {
    content: Vec<u8>,
    version: u32,
    behaviour: Behaviour,
    log: Vec<Request>,
    first_answers: HashSet<u64>,
    change_after_head: Option<Vec<u8>>,
    body_bytes_sent: u64,
}

impl State {
    fn etag(&self) -> String {
        format!("\"v{}-{}\"", self.version, self.content.len())
    }
}

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    /// PEM of the CA that signed the server's certificate, when it speaks TLS.
    pub(crate) ca_pem: Option<String>,
    /// The most connections the client held open at once.
    max_open: Arc<AtomicUsize>,
}

impl Server {
    pub(crate) fn start(content: Vec<u8>, behaviour: Behaviour) -> Server {
        Server::launch(content, behaviour, None)
    }

    /// An HTTPS server for `localhost` and `127.0.0.1`, its certificate signed by a CA made here.
    pub(crate) fn start_tls(content: Vec<u8>) -> Server {
        let ca_key = rcgen::KeyPair::generate().expect("CA key");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "download test CA");
        let ca_cert = ca_params.self_signed(&ca_key).expect("CA certificate");
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let key = rcgen::KeyPair::generate().expect("server key");
        let params = rcgen::CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
            .expect("server params");
        let cert = params.signed_by(&key, &issuer).expect("server certificate");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .expect("server TLS config");
        let mut server = Server::launch(content, Behaviour::default(), Some(Arc::new(config)));
        server.ca_pem = Some(ca_cert.pem());
        server
    }

    fn launch(
        content: Vec<u8>,
        behaviour: Behaviour,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let state = Arc::new(Mutex::new(State {
            content,
            version: 1,
            behaviour,
            log: Vec::new(),
            first_answers: HashSet::new(),
            change_after_head: None,
            body_bytes_sent: 0,
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let max_open = Arc::new(AtomicUsize::new(0));
        let accept = {
            let (state, stop, max_open) = (state.clone(), stop.clone(), max_open.clone());
            std::thread::spawn(move || {
                let mut open: Vec<TcpStream> = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            if let Ok(copy) = stream.try_clone() {
                                open.push(copy);
                            }
                            count_open(&mut open, &max_open);
                            let (state, stop, tls) = (state.clone(), stop.clone(), tls.clone());
                            std::thread::spawn(move || {
                                let _ = stream.set_nonblocking(false);
                                // The accept loop holds a duplicate (to count open
                                // connections): close this side explicitly.
                                let closer = stream.try_clone();
                                let _ = serve(stream, &state, &stop, tls);
                                if let Ok(closer) = closer {
                                    let _ = closer.shutdown(std::net::Shutdown::Both);
                                }
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        Server {
            addr,
            state,
            stop,
            accept: Some(accept),
            ca_pem: None,
            max_open,
        }
    }

    /// The most connections the client held open at once (counted when each one opened).
    pub(crate) fn max_open(&self) -> usize {
        self.max_open.load(Ordering::SeqCst)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn log(&self) -> Vec<Request> {
        self.state().log.clone()
    }

    pub(crate) fn clear_log(&self) {
        let mut state = self.state();
        state.log.clear();
        state.body_bytes_sent = 0;
    }

    pub(crate) fn body_bytes_sent(&self) -> u64 {
        self.state().body_bytes_sent
    }

    pub(crate) fn set_behaviour(&self, behaviour: Behaviour) {
        self.state().behaviour = behaviour;
    }

    pub(crate) fn etag(&self) -> String {
        self.state().etag()
    }

    /// The file changes on the server (and so does its ETag).
    pub(crate) fn replace_content(&self, content: Vec<u8>) {
        let mut state = self.state();
        state.content = content;
        state.version += 1;
    }

    /// The file changes right after the next HEAD is answered: between a client's probe and
    /// its range requests.
    pub(crate) fn replace_content_after_next_head(&self, content: Vec<u8>) {
        self.state().change_after_head = Some(content);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

/// Counts the connections still open from the client's side (a peek that finds neither the
/// end of the stream nor an error), and records the most. Closing on one thread and
/// connecting on another may reach this side in either order, so a new high is counted
/// again after 50 ms: a connection held open beyond the limit lasts far longer than that.
fn count_open(open: &mut Vec<TcpStream>, max_open: &AtomicUsize) {
    let prune = |open: &mut Vec<TcpStream>| {
        open.retain(|stream| {
            // A peek that does not wait, without touching the socket's blocking mode (which
            // the serving thread shares through the duplicated descriptor).
            let mut byte = [std::mem::MaybeUninit::uninit()];
            let flags = libc::MSG_PEEK | libc::MSG_DONTWAIT;
            match socket2::SockRef::from(stream).recv_with_flags(&mut byte, flags) {
                Ok(n) => n > 0,
                Err(e) => e.kind() == io::ErrorKind::WouldBlock,
            }
        });
    };
    prune(open);
    if open.len() > max_open.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        prune(open);
        max_open.fetch_max(open.len(), Ordering::SeqCst);
    }
}

fn serve(
    stream: TcpStream,
    state: &Mutex<State>,
    stop: &AtomicBool,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    match tls {
        None => answer(stream, state, stop),
        Some(config) => {
            let connection = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
            let mut tls_stream = rustls::StreamOwned::new(connection, stream);
            answer(&mut tls_stream, state, stop)?;
            tls_stream.conn.send_close_notify();
            tls_stream.flush()
        }
    }
}

fn read_head(stream: &mut impl Read) -> io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 16 * 1024 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

fn answer(
    mut stream: impl Read + Write,
    state: &Mutex<State>,
    stop: &AtomicBool,
) -> io::Result<()> {
    let head = read_head(&mut stream)?;
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("/").to_string();
    let header = |name: &str| {
        head.lines().skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_string())
        })
    };
    let mut request = Request {
        method: method.clone(),
        path: path.clone(),
        range: header("range"),
        if_range: header("if-range"),
        accept_encoding: header("accept-encoding"),
        status: 0,
        headers: head
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                Some((key.trim().to_ascii_lowercase(), value.trim().to_string()))
            })
            .collect(),
    };
    let mut state_now = state.lock().unwrap_or_else(|e| e.into_inner());
    let b = state_now.behaviour.clone();
    let etag = state_now.etag();
    let content = state_now.content.clone();
    let total = content.len() as u64 + b.announce_extra;
    let mut headers = vec![
        format!("ETag: {etag}"),
        "Last-Modified: Sun, 22 Nov 2026 10:00:00 GMT".to_string(),
        "Connection: close".to_string(),
    ];
    if let Some(cd) = &b.content_disposition {
        headers.push(format!("Content-Disposition: {cd}"));
    }
    // (status, headers, body, how the body is sent)
    let mut pace = Pace::Plain;
    let missing_header = b
        .require_header
        .as_ref()
        .is_some_and(|(name, value)| header(name).as_deref() != Some(value.as_str()));
    let (status, body): (u16, Vec<u8>) = if missing_header {
        (403, b"forbidden\n".to_vec())
    } else if let (Some(to), "/away") = (&b.redirect_to, path.as_str()) {
        headers.push(format!("Location: {to}"));
        (302, b"moved\n".to_vec())
    } else if let Some(hops) = path.strip_prefix("/hop/") {
        let next = match hops.parse::<u32>() {
            Ok(0) | Err(_) => "/file.bin".to_string(),
            Ok(n) => format!("/hop/{}", n - 1),
        };
        headers.push(format!("Location: {next}"));
        (302, b"moved\n".to_vec())
    } else if path == "/loop" {
        headers.push("Location: /loop".into());
        (302, b"moved\n".to_vec())
    } else if path == "/missing" {
        (404, b"<html>no such file</html>\n".to_vec())
    } else if method == "HEAD" {
        if b.refuse_head {
            (405, Vec::new())
        } else {
            if !b.head_without_length && !b.chunked_without_length {
                headers.push(format!("Content-Length: {total}"));
            }
            if !b.ignore_range && !b.chunked_without_length {
                headers.push("Accept-Ranges: bytes".into());
            }
            if b.gzip {
                headers.push("Content-Encoding: gzip".into());
            }
            if let Some(next) = state_now.change_after_head.take() {
                state_now.content = next;
                state_now.version += 1;
            }
            (200, Vec::new())
        }
    } else if b.gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&content)?;
        headers.push("Content-Encoding: gzip".into());
        (200, encoder.finish()?)
    } else if b.chunked_without_length {
        pace = Pace::Chunked;
        (200, content)
    } else {
        let range = request.range.as_deref().and_then(|r| parse_range(r, total));
        let if_range_ok = request.if_range.as_ref().is_none_or(|v| *v == etag);
        match range {
            Some((asked, last)) if !b.ignore_range && if_range_ok => {
                let first = if b.shifted_range {
                    (asked + 1).min(last)
                } else {
                    asked
                };
                headers.push(format!("Content-Range: bytes {first}-{last}/{total}"));
                let body_end = ((last + 1) as usize).min(content.len());
                let body = content[(first as usize).min(body_end)..body_end].to_vec();
                headers.push(format!("Content-Length: {}", last + 1 - first));
                // Once per range end: a retry resumes at a new start but asks for the same end.
                let fresh = state_now.first_answers.insert(last);
                if last > first && fresh && b.drop_once {
                    pace = Pace::DropHalfway;
                } else if last > first && fresh && b.stall_once {
                    pace = Pace::StallHalfway;
                } else if first == 0 && last > 0 && b.slow_first_range {
                    pace = Pace::Every(4096, Duration::from_millis(40));
                } else if let Some(pause) = b.throttle {
                    pace = Pace::Every(16 * 1024, pause);
                }
                (206, body)
            }
            _ => {
                headers.push(format!("Content-Length: {total}"));
                if let Some(pause) = b.throttle {
                    pace = Pace::Every(16 * 1024, pause);
                }
                (200, content)
            }
        }
    };
    request.status = status;
    state_now.log.push(request);
    drop(state_now);
    if method == "HEAD" && b.silent_head {
        stall(stop);
        return Ok(());
    }

    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        302 => "Found",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Whatever",
    };
    if status != 206 && status != 200 || (method == "HEAD" && status == 405) {
        headers.push(format!("Content-Length: {}", body.len()));
    }
    if matches!(pace, Pace::Chunked) {
        headers.push("Transfer-Encoding: chunked".into());
    }
    let mut text = format!("HTTP/1.1 {status} {reason}\r\n");
    for line in headers {
        text.push_str(&line);
        text.push_str("\r\n");
    }
    text.push_str("\r\n");
    stream.write_all(text.as_bytes())?;
    if method == "HEAD" {
        return stream.flush();
    }
    let sent = |n: usize| {
        state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .body_bytes_sent += n as u64;
    };
    match pace {
        Pace::Plain => {
            stream.write_all(&body)?;
            sent(body.len());
        }
        Pace::Chunked => {
            for piece in body.chunks(10_000) {
                write!(stream, "{:x}\r\n", piece.len())?;
                stream.write_all(piece)?;
                stream.write_all(b"\r\n")?;
                sent(piece.len());
            }
            stream.write_all(b"0\r\n\r\n")?;
        }
        Pace::Every(size, pause) => {
            for piece in body.chunks(size) {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                stream.write_all(piece)?;
                stream.flush()?;
                sent(piece.len());
                std::thread::sleep(pause);
            }
        }
        Pace::DropHalfway | Pace::StallHalfway => {
            let half = &body[..body.len() / 2];
            stream.write_all(half)?;
            stream.flush()?;
            sent(half.len());
            if matches!(pace, Pace::StallHalfway) {
                stall(stop);
            }
            return Ok(()); // dropping the stream closes the connection mid-body
        }
    }
    stream.flush()
}

/// Silent, with the connection open, until the client gives up or the test ends (20 s at most).
fn stall(stop: &AtomicBool) {
    let until = Instant::now() + Duration::from_secs(20);
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

enum Pace {
    Plain,
    Chunked,
    /// Pieces of this size, with this pause after each.
    Every(usize, Duration),
    DropHalfway,
    StallHalfway,
}

/// `bytes=A-B` or `bytes=A-` within `total`.
fn parse_range(header: &str, total: u64) -> Option<(u64, u64)> {
    let (first, last) = header.strip_prefix("bytes=")?.split_once('-')?;
    let first: u64 = first.trim().parse().ok()?;
    let last = match last.trim() {
        "" => total.checked_sub(1)?,
        text => text.parse::<u64>().ok()?.min(total.checked_sub(1)?),
    };
    (first <= last).then_some((first, last))
}

/// A forward proxy on 127.0.0.1: `CONNECT host:port` opens a tunnel; `GET http://host/path`
/// is forwarded in origin form. With credentials set, anything without the matching
/// `Proxy-Authorization: Basic` gets 407. It logs each request line and its credentials.
pub(crate) struct ForwardProxy {
    pub(crate) addr: SocketAddr,
    log: Arc<Mutex<Vec<ProxyRequest>>>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub(crate) struct ProxyRequest {
    /// `CONNECT localhost:4431 HTTP/1.1`, `GET http://127.0.0.1:80/file.bin HTTP/1.1`...
    pub(crate) line: String,
    pub(crate) authorization: Option<String>,
}

impl ForwardProxy {
    /// `basic`: the base64 of `user:pass` the proxy wants, if any. `garbage`: answers every
    /// request with bytes that are not HTTP.
    pub(crate) fn start(basic: Option<&str>, garbage: bool) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).expect("non-blocking");
        let addr = listener.local_addr().expect("local address");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let basic = basic.map(String::from);
        let accept = {
            let (log, stop) = (log.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (log, basic) = (log.clone(), basic.clone());
                            std::thread::spawn(move || {
                                let _ = stream.set_nonblocking(false);
                                let _ = relay(stream, &log, basic.as_deref(), garbage);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(2)),
                    }
                }
            })
        };
        ForwardProxy {
            addr,
            log,
            stop,
            accept: Some(accept),
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn log(&self) -> Vec<ProxyRequest> {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for ForwardProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn relay(
    mut client: TcpStream,
    log: &Mutex<Vec<ProxyRequest>>,
    basic: Option<&str>,
    garbage: bool,
) -> io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let head = read_head(&mut client)?;
    let line = head.lines().next().unwrap_or("").to_string();
    let authorization = head.lines().skip(1).find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    log.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(ProxyRequest {
            line: line.clone(),
            authorization: authorization.clone(),
        });
    if garbage {
        client.write_all(b"SSH-2.0-nonsense\r\n\r\n")?;
        return Ok(());
    }
    let wanted = basic.map(|basic| format!("Basic {basic}"));
    if wanted.is_some() && authorization != wanted {
        client.write_all(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n\
              Proxy-Authenticate: Basic realm=\"test\"\r\n\
              Content-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method == "CONNECT" {
        let upstream = connect_to(target)?;
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        return pipe(client, upstream);
    }
    let Some(rest) = target.strip_prefix("http://") else {
        client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")?;
        return Ok(());
    };
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let mut upstream = connect_to(authority)?;
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    for line in head.lines().skip(1).filter(|l| !l.is_empty()) {
        let key = line.split(':').next().unwrap_or("").trim();
        if !key.eq_ignore_ascii_case("proxy-authorization")
            && !key.eq_ignore_ascii_case("proxy-connection")
        {
            forwarded.push_str(line);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("\r\n");
    upstream.write_all(forwarded.as_bytes())?;
    // The test server closes every connection after one answer.
    io::copy(&mut upstream, &mut client)?;
    client.flush()
}

/// `host:port`, where `localhost` means 127.0.0.1 (the test servers listen there).
fn connect_to(authority: &str) -> io::Result<TcpStream> {
    let (host, port) = authority
        .rsplit_once(':')
        .ok_or_else(|| io::Error::other("no port"))?;
    let host = if host == "localhost" {
        "127.0.0.1"
    } else {
        host
    };
    TcpStream::connect((host, port.parse::<u16>().map_err(io::Error::other)?))
}

/// Copies both ways until either side closes.
fn pipe(client: TcpStream, upstream: TcpStream) -> io::Result<()> {
    client.set_read_timeout(None)?;
    let (mut client_reader, mut upstream_writer) = (client.try_clone()?, upstream.try_clone()?);
    let up = std::thread::spawn(move || {
        let _ = io::copy(&mut client_reader, &mut upstream_writer);
        let _ = upstream_writer.shutdown(std::net::Shutdown::Write);
    });
    let (mut upstream_reader, mut client_writer) = (upstream, client);
    let _ = io::copy(&mut upstream_reader, &mut client_writer);
    let _ = client_writer.shutdown(std::net::Shutdown::Both);
    let _ = up.join();
    Ok(())
}
