//! Before downloading: the file's length, whether byte ranges work, its validators, and the
//! URL after redirects.
//!
//! The notes' homework sent one HEAD and read `Content-Length`: a HEAD without it crashed the
//! program and a refused HEAD returned silently. Here a HEAD comes first; where it is refused
//! or has no length, a `GET` with `Range: bytes=0-0` asks for one byte and reads the total from
//! `Content-Range`; where the length is still unknown the download is one plain stream.
//!
//! The `-H` headers go with the probe and with every range (`headers_for`), except that, as
//! curl, `Authorization` and `Cookie` are not sent to another host than the one asked: ureq
//! drops them on a redirect, and the ranges, sent to the URL after redirects, leave them out
//! when its host differs.

use crate::http::describe;
use ureq::http::HeaderMap;
use ureq::{Agent, ResponseExt};

/// What the server told us about the file.
#[derive(Debug, Clone)]
pub(crate) struct Remote {
    /// The URL after redirects: every segment asks this one.
    pub(crate) url: String,
    pub(crate) length: Option<u64>,
    pub(crate) etag: Option<String>,
    pub(crate) last_modified: Option<String>,
    pub(crate) content_disposition: Option<String>,
}

impl Remote {
    /// The value for `If-Range`: a strong ETag, else `Last-Modified`, else none (a weak
    /// ETag cannot be used with ranges).
    pub(crate) fn validator(&self) -> Option<String> {
        validator(self.etag.as_deref(), self.last_modified.as_deref())
    }
}

/// A strong `ETag`, else `Last-Modified`: what `If-Range` may carry.
pub(crate) fn validator(etag: Option<&str>, last_modified: Option<&str>) -> Option<String> {
    match etag {
        Some(etag) if !etag.starts_with("W/") => Some(etag.to_string()),
        _ => last_modified.map(String::from),
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Refuses a compressed body: we asked for `identity`, and compressed bytes saved as the
/// file would be a corrupt file.
pub(crate) fn check_identity(headers: &HeaderMap) -> Result<(), String> {
    match header(headers, "content-encoding").map(str::trim) {
        None | Some("") => Ok(()),
        Some(coding) if coding.eq_ignore_ascii_case("identity") => Ok(()),
        Some(coding) => Err(format!(
            "the server sent a {coding}-encoded body although asked for identity; \
             not saving compressed bytes as the file"
        )),
    }
}

/// `Content-Range: bytes FIRST-LAST/TOTAL` as (first, last, total); `*` totals are `None`.
pub(crate) fn content_range(headers: &HeaderMap) -> Option<(u64, u64, Option<u64>)> {
    let value = header(headers, "content-range")?.trim();
    let rest = value.strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (first, last) = span.split_once('-')?;
    let total = if total == "*" {
        None
    } else {
        Some(total.parse().ok()?)
    };
    Some((first.parse().ok()?, last.parse().ok()?, total))
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    header(headers, "content-length")?.trim().parse().ok()
}

/// The `-H` headers meant for `url`: all of them for the URL the user gave; for another
/// host (the final URL after a redirect), without the ones that carry credentials, as curl.
pub(crate) fn headers_for(
    headers: &[(String, String)],
    given: &str,
    url: &str,
) -> Vec<(String, String)> {
    let origin = |url: &str| {
        url.parse::<ureq::http::Uri>().ok().map(|u| {
            let scheme = u.scheme_str().unwrap_or("").to_ascii_lowercase();
            let host = u.host().unwrap_or("").to_ascii_lowercase();
            let port = u
                .port_u16()
                .unwrap_or(if scheme == "https" { 443 } else { 80 });
            (scheme, host, port)
        })
    };
    let same = origin(given).is_some() && origin(given) == origin(url);
    headers
        .iter()
        .filter(|(name, _)| {
            same || !(name.eq_ignore_ascii_case("authorization")
                || name.eq_ignore_ascii_case("cookie"))
        })
        .cloned()
        .collect()
}

/// What a proxy's refusal of a plain-HTTP request means (a CONNECT refusal is worded in
/// `proxy`).
fn refusal(url: &str, status: ureq::http::StatusCode) -> String {
    if status.as_u16() == 407 {
        return format!(
            "the proxy wants credentials for {url} (407 Proxy Authentication Required): \
             give them as http://user:pass@host:port"
        );
    }
    format!("{url} answered {status}")
}

pub(crate) fn probe(
    agent: &Agent,
    url: &str,
    headers: &[(String, String)],
) -> Result<Remote, String> {
    let mut head = agent.head(url);
    for (name, value) in headers {
        head = head.header(name, value);
    }
    let head = head
        .call()
        .map_err(|e| format!("HEAD {url}: {}", describe(&e)))?;
    let status = head.status();
    let mut remote = Remote {
        url: head.get_uri().to_string(),
        length: None,
        etag: None,
        last_modified: None,
        content_disposition: None,
    };
    if status.is_success() {
        let headers = head.headers();
        check_identity(headers)?;
        remote.length = content_length(headers);
        remote.etag = header(headers, "etag").map(String::from);
        remote.last_modified = header(headers, "last-modified").map(String::from);
        remote.content_disposition = header(headers, "content-disposition").map(String::from);
        if remote.length.is_some() {
            return Ok(remote);
        }
    }
    // HEAD refused (405, 501...) or no length: ask for the first byte.
    let mut get = agent.get(&remote.url);
    for (name, value) in headers_for(headers, url, &remote.url) {
        get = get.header(name, value);
    }
    let get = get
        .header("Range", "bytes=0-0")
        .call()
        .map_err(|e| format!("GET {}: {}", remote.url, describe(&e)))?;
    let status = get.status();
    if !status.is_success() {
        return Err(refusal(&remote.url, status));
    }
    let headers = get.headers();
    check_identity(headers)?;
    remote.url = get.get_uri().to_string();
    remote.etag = header(headers, "etag").map(String::from);
    remote.last_modified = header(headers, "last-modified").map(String::from);
    remote.content_disposition = header(headers, "content-disposition").map(String::from);
    match (status.as_u16(), content_range(headers)) {
        (206, Some((0, 0, Some(total)))) => remote.length = Some(total),
        // 200: the server ignores Range; its Content-Length (if any) is the whole file.
        (200, _) => remote.length = content_length(headers),
        _ => {}
    }
    // Not reading the body: dropping it closes that connection instead of pooling it.
    drop(get);
    Ok(remote)
}
