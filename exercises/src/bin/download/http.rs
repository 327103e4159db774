//! HTTP/1.1 from ureq 3, carried over may's coroutine-aware sockets.
//!
//! ureq keeps the protocol (request framing, chunked and length-delimited bodies, redirects,
//! keep-alive, timeouts); through its `unversioned::transport` API this module gives it
//! - a [`Connector`] that opens a `may::net::TcpStream`, whose reads, writes and connect park
//!   the coroutine instead of the worker thread, with ureq's rustls connector chained on top
//!   for `https://` (so TLS also runs over the may socket);
//! - a [`Resolver`] that does the blocking `getaddrinfo` on a short-lived helper thread and
//!   waits for it on a may channel, which parks only the asking coroutine.
//!
//! The connector also decides, per connection, whether it goes through a proxy (`proxy`):
//! `https://` through a `CONNECT` tunnel (TLS inside it, chained as for a direct socket),
//! `http://` with each request head rewritten to the absolute form. A proxied host's name is
//! not looked up here: the proxy does that.
//!
//! The agent keeps no idle connection: a connection is open only while a request uses it, so
//! that the connection slots (`share`) count every connection open at once.

use crate::proxy::{self, Proxy, Rules};
use may::net::TcpStream;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;
use ureq::Agent;
use ureq::config::{Config, RedirectAuthHeaders};
use ureq::http::Uri;
use ureq::tls::{PemItem, RootCerts, TlsConfig, TlsProvider};
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, RustlsConnector,
    ShutdownHandle, Transport,
};

/// What the agent needs from the command line.
pub(crate) struct HttpOptions<'a> {
    pub(crate) timeout: Duration,
    pub(crate) max_redirects: u32,
    pub(crate) cacert: Option<&'a Path>,
    pub(crate) user_agent: Option<&'a str>,
    pub(crate) proxies: Arc<Rules>,
}

const DEFAULT_USER_AGENT: &str = concat!("download/", env!("CARGO_PKG_VERSION"));

/// Builds the agent every request of one download goes through. `--cacert` replaces the
/// built-in public roots (as curl's does).
pub(crate) fn agent(options: &HttpOptions) -> Result<Agent, String> {
    let roots = match options.cacert {
        None => RootCerts::WebPki,
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
            let certs: Vec<_> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(PemItem::Certificate(cert)) => Some(cert),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err(format!(
                    "--cacert {}: no PEM certificate in it",
                    path.display()
                ));
            }
            RootCerts::from(certs)
        }
    };
    let tls = TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots)
        // ureq is built without a default provider: name ring (the workspace's) here.
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    let config = Agent::config_builder()
        .http_status_as_error(false) // every status is looked at, none is saved blindly
        .max_redirects(options.max_redirects)
        .max_redirects_will_error(true)
        .accept_encoding("identity")
        .user_agent(options.user_agent.unwrap_or(DEFAULT_USER_AGENT))
        // As curl: Authorization survives a redirect to the same host only; ureq drops
        // Cookie on every redirect.
        .redirect_auth_headers(RedirectAuthHeaders::SameHost)
        // Proxies are chosen by our connector (`proxy`), not read by ureq from the environment.
        .proxy(None)
        // No idle connection is kept: each one counts against --max-connections while open.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .timeout_connect(Some(options.timeout))
        .timeout_per_read(Some(options.timeout))
        .timeout_per_write(Some(options.timeout))
        .tls_config(tls)
        .build();
    let connector = ()
        .chain(MayTcpConnector {
            proxies: options.proxies.clone(),
            user_agent: options.user_agent.unwrap_or(DEFAULT_USER_AGENT).to_string(),
        })
        .chain(RustlsConnector::default());
    let resolver = MayResolver {
        proxies: options.proxies.clone(),
    };
    Ok(Agent::with_parts(config, connector, resolver))
}

/// One line for a ureq error, in the words a user of curl expects.
pub(crate) fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(_) => "timed out (no data within --timeout)".into(),
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the connection closed before the end of the body".into()
        }
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectProxyFailed(why) => why.clone(),
        other => other.to_string(),
    }
}

/// Opens may TCP sockets: connect, read and write park the coroutine, not the worker. Through
/// a proxy when the rules say so.
#[derive(Debug)]
struct MayTcpConnector {
    proxies: Arc<Rules>,
    user_agent: String,
}

impl<In: Transport> Connector<In> for MayTcpConnector {
    type Out = Either<In, MayTcpTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        if let Some(transport) = chained {
            return Ok(Some(Either::A(transport)));
        }
        let timeout = details
            .timeout
            .not_zero()
            .map_or(Duration::from_secs(30), |t| *t);
        let (scheme, host, port) = target(details.uri).ok_or(ureq::Error::HostNotFound)?;
        let Some(proxy) = self.proxies.proxy_for(scheme, host) else {
            let addrs: Vec<SocketAddr> = details.addrs.iter().copied().collect();
            let stream =
                open(&addrs, timeout).map_err(|e| timeout_or_io(e, ureq::Timeout::Connect))?;
            return Ok(Some(Either::B(MayTcpTransport::new(
                stream, details, None,
            )?)));
        };
        let failed = |why: String| ureq::Error::ConnectProxyFailed(why);
        let addrs = resolve(&proxy.host, proxy.port, timeout)
            .map_err(|e| failed(format!("proxy {}: {e}", proxy.address())))?;
        let mut stream = open(&addrs, timeout)
            .map_err(|e| failed(format!("cannot connect to proxy {}: {e}", proxy.address())))?;
        if scheme == "https" {
            // A tunnel: CONNECT, then the chained rustls connector speaks TLS through it.
            stream.set_read_timeout(Some(timeout))?;
            stream.set_write_timeout(Some(timeout))?;
            let request = proxy::connect_request(proxy, host, port, &self.user_agent);
            stream
                .write_all(request.as_bytes())
                .map_err(|e| failed(format!("proxy {}: {e}", proxy.address())))?;
            proxy::tunnel_answer(proxy, &mut stream).map_err(failed)?;
            return Ok(Some(Either::B(MayTcpTransport::new(
                stream, details, None,
            )?)));
        }
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let absolute = AbsoluteForm {
            origin: format!("http://{authority}"),
            proxy: proxy.clone(),
        };
        Ok(Some(Either::B(MayTcpTransport::new(
            stream,
            details,
            Some(absolute),
        )?)))
    }
}

/// Scheme, host (without brackets) and port of a URL.
fn target(uri: &Uri) -> Option<(&'static str, &str, u16)> {
    let authority = uri.authority()?;
    let scheme = if uri.scheme_str() == Some("https") {
        "https"
    } else {
        "http"
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    Some((scheme, host, authority.port_u16().unwrap_or(default_port)))
}

/// Connects to the first address that answers: "localhost" is often ::1 first, then 127.0.0.1.
fn open(addrs: &[SocketAddr], timeout: Duration) -> io::Result<TcpStream> {
    let mut last_error = io::Error::new(io::ErrorKind::NotFound, "no address");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                return Ok(stream);
            }
            Err(e) => last_error = e,
        }
    }
    Err(last_error)
}

/// Where a proxied `http://` connection sends its requests: the origin to put before each
/// path, and the proxy's credentials.
#[derive(Debug)]
struct AbsoluteForm {
    origin: String,
    proxy: Proxy,
}

impl MayTcpTransport {
    fn new(
        stream: TcpStream,
        details: &ConnectionDetails,
        absolute: Option<AbsoluteForm>,
    ) -> Result<MayTcpTransport, ureq::Error> {
        // A duplicate of the socket's descriptor, so that `Agent::shutdown` (on Ctrl-C) can
        // wake a coroutine parked on a read.
        let shutdown = Arc::new(stream.inner().try_clone()?);
        (details.register_shutdown)(Arc::downgrade(&shutdown) as Weak<dyn ShutdownHandle>)?;
        let config = details.config;
        Ok(MayTcpTransport {
            stream,
            _shutdown: shutdown,
            buffers: LazyBuffers::new(config.input_buffer_size(), config.output_buffer_size()),
            read_timeout: None,
            write_timeout: None,
            absolute,
        })
    }
}

#[derive(Debug)]
struct MayTcpTransport {
    stream: TcpStream,
    _shutdown: Arc<std::net::TcpStream>,
    buffers: LazyBuffers,
    read_timeout: Option<Duration>,
    write_timeout: Option<Duration>,
    /// Set on a plain-HTTP connection to a proxy: each request head is rewritten.
    absolute: Option<AbsoluteForm>,
}

fn timeout_or_io(error: io::Error, reason: ureq::Timeout) -> ureq::Error {
    match error.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ureq::Error::Timeout(reason),
        _ => ureq::Error::Io(error),
    }
}

impl Transport for MayTcpTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let timeout = timeout.for_write();
        let wanted = timeout.not_zero().map(|t| *t);
        if wanted != self.write_timeout {
            self.stream.set_write_timeout(wanted)?;
            self.write_timeout = wanted;
        }
        let output = &self.buffers.output()[..amount];
        let rewritten = self
            .absolute
            .as_ref()
            .and_then(|a| proxy::absolute_form(output, &a.origin, &a.proxy));
        self.stream
            .write_all(rewritten.as_deref().unwrap_or(output))
            .map_err(|e| timeout_or_io(e, timeout.reason))
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        let timeout = timeout.for_read();
        let wanted = timeout.not_zero().map(|t| *t);
        if wanted != self.read_timeout {
            self.stream.set_read_timeout(wanted)?;
            self.read_timeout = wanted;
        }
        let input = self.buffers.input_append_buf();
        let amount = loop {
            match self.stream.read(input) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other.map_err(|e| timeout_or_io(e, timeout.reason))?,
            }
        };
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    /// For the pool: an idle connection is reusable when it has nothing to read and is not
    /// closed. may keeps its sockets non-blocking, so this peek never waits.
    fn is_open(&mut self) -> bool {
        matches!(self.stream.inner().peek(&mut [0]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Name lookup without blocking a may worker: `getaddrinfo` has no non-blocking form, so it
/// runs on a helper thread and the coroutine parks on a may channel until the answer (or
/// the timeout) comes. An IP address in the URL needs no lookup at all, and a host reached
/// through a proxy is looked up by the proxy (an empty answer here).
#[derive(Debug)]
struct MayResolver {
    proxies: Arc<Rules>,
}

impl Resolver for MayResolver {
    fn resolve(
        &self,
        uri: &Uri,
        _config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (scheme, host, port) = target(uri).ok_or(ureq::Error::HostNotFound)?;
        let mut addrs = self.empty();
        if self.proxies.proxy_for(scheme, host).is_some() {
            return Ok(addrs);
        }
        let wait = timeout.not_zero().map_or(Duration::from_secs(30), |t| *t);
        let found = resolve(host, port, wait).map_err(|e| match e.kind() {
            io::ErrorKind::TimedOut => ureq::Error::Timeout(ureq::Timeout::Resolve),
            _ => ureq::Error::Io(e),
        })?;
        for addr in found.into_iter().take(16) {
            addrs.push(addr);
        }
        if addrs.is_empty() {
            return Err(ureq::Error::HostNotFound);
        }
        Ok(addrs)
    }
}

/// `host`'s addresses, looked up on a helper thread while the coroutine waits.
fn resolve(host: &str, port: u16, wait: Duration) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let (sender, receiver) = may::sync::mpsc::channel();
    let host = host.to_string();
    std::thread::Builder::new()
        .name("resolve".into())
        .spawn(move || {
            let answer = (host.as_str(), port).to_socket_addrs().map(Vec::from_iter);
            let _ = sender.send(answer); // the asker may have timed out and gone
        })?;
    match receiver.recv_timeout(wait) {
        Ok(answer) => answer,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the name lookup timed out",
        )),
    }
}
