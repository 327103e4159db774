//! Which proxy a URL goes through, read as curl reads it, and the proxy's side of the wire.
//!
//! ureq 3.5.2 has a `Proxy` type, but it does not do what curl users expect, so it is not
//! used (and the agent's `proxy` is set to `None`, since ureq would otherwise read the
//! environment its own way):
//! - it reads one proxy for every scheme (`ALL_PROXY`, then `HTTPS_PROXY`, then `HTTP_PROXY`),
//!   where curl takes `http_proxy` for `http://` URLs and `https_proxy` for `https://` ones,
//!   with `all_proxy` as the fallback;
//! - its `no_proxy` entry `example.com` matches only that host, where curl's also matches
//!   `www.example.com` (and `.example.com` matches `example.com` too);
//! - it tunnels `http://` URLs with `CONNECT` as well: curl sends them to the proxy in the
//!   absolute form (`GET http://host/path HTTP/1.1`), and many proxies (tinyproxy, squid by
//!   default) allow `CONNECT` only to port 443.
//!
//! So `http` asks [`Rules::proxy_for`] for each connection: `https://` goes through a `CONNECT`
//! tunnel ([`connect_request`], [`tunnel_answer`]) with TLS inside it, and `http://` requests
//! are rewritten to the absolute form ([`absolute_form`]). `user:pass@` in the proxy URL
//! becomes `Proxy-Authorization: Basic`.

use std::net::IpAddr;

/// A proxy: where it listens, and its credentials as a `Proxy-Authorization` value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Proxy {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) authorization: Option<String>,
}

impl Proxy {
    /// `http://[user:pass@]host[:port][/]`; no scheme means `http://`, no port means 1080
    /// (curl's default). Other schemes (socks, https) are refused.
    pub(crate) fn parse(text: &str) -> Result<Proxy, String> {
        let bad = |why: &str| format!("proxy {text:?}: {why}");
        let rest = match text.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => {
                return Err(bad(&format!(
                    "{scheme}:// proxies are not supported, only http://"
                )));
            }
            None => text,
        };
        let authority = rest.split('/').next().unwrap_or("");
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            (host, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            None | Some("") => 1080,
            Some(port) => port.parse().map_err(|_| bad("bad port"))?,
        };
        let authorization = userinfo.map(|userinfo| {
            let (user, pass) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let credentials = format!("{}:{}", percent_decode(user), percent_decode(pass));
            format!("Basic {}", base64(credentials.as_bytes()))
        });
        Ok(Proxy {
            host: host.to_string(),
            port,
            authorization,
        })
    }

    /// `host:port` for messages (never the credentials).
    pub(crate) fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// Where each URL goes: the proxy for `http://`, the one for `https://`, and the hosts that
/// bypass them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Rules {
    http: Option<Proxy>,
    https: Option<Proxy>,
    no_proxy: Vec<String>,
}

impl Rules {
    /// From `--proxy` / `--noproxy` when given, else from the environment, as curl does.
    pub(crate) fn new(proxy: Option<&str>, noproxy: Option<&str>) -> Result<Rules, String> {
        Rules::from_lookup(proxy, noproxy, |name| std::env::var(name).ok())
    }

    fn from_lookup(
        proxy: Option<&str>,
        noproxy: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Rules, String> {
        let set = |names: &[&str]| {
            names
                .iter()
                .find_map(|name| env(name).filter(|value| !value.trim().is_empty()))
        };
        let parse = |text: Option<String>| text.map(|t| Proxy::parse(t.trim())).transpose();
        let (http, https) = match proxy {
            Some("") => (None, None),
            Some(text) => {
                let proxy = Proxy::parse(text)?;
                (Some(proxy.clone()), Some(proxy))
            }
            None => {
                // curl reads http_proxy in lower case only (HTTP_PROXY can be set by a CGI
                // request's "Proxy:" header); the others in either case.
                let all = set(&["all_proxy", "ALL_PROXY"]);
                let http = set(&["http_proxy"]).or_else(|| all.clone());
                let https = set(&["https_proxy", "HTTPS_PROXY"]).or(all);
                (parse(http)?, parse(https)?)
            }
        };
        let list = match noproxy {
            Some(list) => Some(list.to_string()),
            None => set(&["no_proxy", "NO_PROXY"]),
        };
        let list = list.unwrap_or_default();
        // As curl: `*` alone means every host; a `*` among other entries means nothing.
        let no_proxy = if list.trim() == "*" {
            vec!["*".to_string()]
        } else {
            list.split([',', ' '])
                .map(|entry| entry.trim().to_ascii_lowercase())
                .filter(|entry| !entry.is_empty() && entry != "*")
                .collect()
        };
        Ok(Rules {
            http,
            https,
            no_proxy,
        })
    }

    /// The proxy for a URL of this scheme and host, or `None` to connect directly.
    pub(crate) fn proxy_for(&self, scheme: &str, host: &str) -> Option<&Proxy> {
        let proxy = match scheme {
            "https" => self.https.as_ref(),
            _ => self.http.as_ref(),
        }?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        (!self.no_proxy.iter().any(|entry| bypasses(entry, host))).then_some(proxy)
    }
}

/// Whether one `no_proxy` entry covers `host`, as curl reads it: `*` is every host; an IP
/// address (or `ADDRESS/BITS`) matches that address (or network); a name matches itself and
/// every name under it, with or without a leading dot (or `*.`, which curl does not know).
fn bypasses(entry: &str, host: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return ip_matches(entry, ip);
    }
    let domain = entry
        .trim_start_matches('*')
        .trim_start_matches('.')
        .trim_end_matches('.');
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(domain)
                .is_some_and(|above| above.ends_with('.')))
}

fn ip_matches(entry: &str, ip: IpAddr) -> bool {
    let entry = entry.trim_start_matches('[').trim_end_matches(']');
    let (address, bits) = match entry.split_once('/') {
        Some((address, bits)) => (address, bits.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(network) = address.parse::<IpAddr>() else {
        return false;
    };
    match (network, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

/// The `CONNECT` request that opens a tunnel to `host:port`.
pub(crate) fn connect_request(proxy: &Proxy, host: &str, port: u16, agent: &str) -> String {
    let target = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
    if !agent.is_empty() {
        request.push_str(&format!("User-Agent: {agent}\r\n"));
    }
    if let Some(authorization) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {authorization}\r\n"));
    }
    request.push_str("Proxy-Connection: Keep-Alive\r\n\r\n");
    request
}

/// Reads the proxy's answer to `CONNECT` (its head, byte by byte, so that nothing of the
/// tunnel is read); `Ok` when it opened the tunnel, else one line saying why not.
pub(crate) fn tunnel_answer(proxy: &Proxy, stream: &mut impl std::io::Read) -> Result<(), String> {
    let mut head = Vec::new();
    let mut byte = [0];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(0) => {
                return Err(format!(
                    "proxy {} closed the connection instead of answering CONNECT",
                    proxy.address()
                ));
            }
            Ok(_) => head.push(byte[0]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(format!(
                    "proxy {} did not answer CONNECT: {e}",
                    proxy.address()
                ));
            }
        }
        if head.len() > 64 * 1024 {
            return Err(format!("proxy {}: an endless answer", proxy.address()));
        }
    }
    let text = String::from_utf8_lossy(&head);
    let status_line = text.lines().next().unwrap_or("");
    let mut words = status_line.split_whitespace();
    let status = match (words.next(), words.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => code.parse::<u16>().ok(),
        _ => None,
    };
    match status {
        Some(200..=299) => Ok(()),
        Some(407) => Err(format!(
            "proxy {} wants credentials (407 Proxy Authentication Required): \
             give them as http://user:pass@host:port",
            proxy.address()
        )),
        Some(_) => Err(format!(
            "proxy {} refused the tunnel: {}",
            proxy.address(),
            status_line.trim()
        )),
        None => Err(format!(
            "proxy {} gave a bad answer to CONNECT: {:?}",
            proxy.address(),
            status_line.chars().take(80).collect::<String>()
        )),
    }
}

/// A request head in origin form (`GET /path HTTP/1.1`), rewritten for a proxy: the request
/// target in absolute form (`GET http://host:port/path HTTP/1.1`) and, when the proxy has
/// credentials, `Proxy-Authorization` after the request line. Anything that is not a
/// request head is returned as it is.
pub(crate) fn absolute_form(head: &[u8], origin: &str, proxy: &Proxy) -> Option<Vec<u8>> {
    let space = head.iter().take(16).position(|&b| b == b' ')?;
    let (method, rest) = head.split_at(space + 1);
    if !method[..space].iter().all(u8::is_ascii_uppercase) || rest.first() != Some(&b'/') {
        return None;
    }
    let line_end = rest.windows(2).position(|w| w == b"\r\n")? + 2;
    let mut out = Vec::with_capacity(head.len() + origin.len() + 64);
    out.extend_from_slice(method);
    out.extend_from_slice(origin.as_bytes());
    out.extend_from_slice(&rest[..line_end]);
    if let Some(authorization) = &proxy.authorization {
        out.extend_from_slice(format!("Proxy-Authorization: {authorization}\r\n").as_bytes());
    }
    out.extend_from_slice(&rest[line_end..]);
    Some(out)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(bytes: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(vars: &[(&str, &str)]) -> Rules {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Rules::from_lookup(None, None, |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
        .unwrap()
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_is_the_fallback() {
        let r = rules(&[("http_proxy", "h:1"), ("HTTPS_PROXY", "s:2")]);
        assert_eq!(r.proxy_for("http", "x").unwrap().host, "h");
        assert_eq!(r.proxy_for("https", "x").unwrap().host, "s");
        let r = rules(&[("HTTP_PROXY", "h:1"), ("ALL_PROXY", "a")]);
        assert_eq!(r.proxy_for("http", "x").unwrap().host, "a", "no HTTP_PROXY");
        assert_eq!(r.proxy_for("https", "x").unwrap().port, 1080);
        assert!(rules(&[]).proxy_for("http", "x").is_none());
    }

    #[test]
    fn no_proxy_matches_hosts_domains_and_addresses_as_curl() {
        let r = rules(&[
            ("all_proxy", "p"),
            ("no_proxy", "example.com, .internal,*.corp, 10.0.0.0/8,::1"),
        ]);
        for direct in [
            "example.com",
            "www.example.com",
            "internal",
            "a.internal",
            "b.corp",
            "10.1.2.3",
            "[::1]",
        ] {
            assert!(r.proxy_for("http", direct).is_none(), "{direct}");
        }
        for proxied in ["notexample.com", "example.org", "11.0.0.1", "::2"] {
            assert!(r.proxy_for("http", proxied).is_some(), "{proxied}");
        }
        let r = rules(&[("https_proxy", "p"), ("NO_PROXY", "*")]);
        assert!(r.proxy_for("https", "anything").is_none());
        let r = rules(&[("https_proxy", "p"), ("NO_PROXY", "a.example,*")]);
        assert!(r.proxy_for("https", "anything").is_some(), "* only alone");
    }

    #[test]
    fn credentials_become_basic_authorization() {
        let p = Proxy::parse("http://us%40er:p%3Ass@127.0.0.1:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("127.0.0.1", 3128));
        // base64("us@er:p:ss")
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
        assert!(Proxy::parse("socks5://h:1").is_err());
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
    }

    #[test]
    fn requests_are_rewritten_to_the_absolute_form() {
        let p = Proxy::parse("http://u:p@h:1").unwrap();
        let head = b"GET /a?b HTTP/1.1\r\nhost: x:8\r\n\r\n";
        let out = absolute_form(head, "http://x:8", &p).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET http://x:8/a?b HTTP/1.1\r\nProxy-Authorization: Basic dTpw\r\nhost: x:8\r\n\r\n"
        );
        assert!(absolute_form(b"\x16\x03\x01", "http://x", &p).is_none());
    }
}
