//! The command line (the URLs, from the arguments and `-i FILE`; headers; rates), and the
//! file name a download is saved under.

use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Exit status of a finished download.
pub(crate) const EXIT_OK: u8 = 0;
/// The download failed (network, server, disk); a partial download is kept for `-c`.
pub(crate) const EXIT_FAILED: u8 = 1;
/// A usage error (clap uses 2 too).
pub(crate) const EXIT_USAGE: u8 = 2;
/// The bytes were downloaded but do not match `--checksum`; nothing is kept.
pub(crate) const EXIT_CHECKSUM: u8 = 3;
/// Interrupted by Ctrl-C; the `.part` and control file are kept for `-c`.
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A failed run: its exit status and one line for stderr.
pub(crate) struct Exit {
    pub(crate) code: u8,
    pub(crate) message: String,
}

pub(crate) fn exit(code: u8, message: impl Into<String>) -> Exit {
    Exit {
        code,
        message: message.into(),
    }
}

const EXIT_CODES: &str = "\
Several URLs (or -i FILE) download at once: every file and every segment on one pool of
coroutines, --max-connections in total, no more than -n to one host. Each file is named
after its URL's last path segment and saved in -d DIR; two URLs with the same name are
refused before anything is fetched. The summary lists every file with its outcome.

Proxies as curl reads them: http_proxy (for http://), https_proxy or HTTPS_PROXY (for
https://), else ALL_PROXY or all_proxy; no_proxy or NO_PROXY lists hosts, domains (with
or without a leading dot), IP addresses or * to reach directly. --proxy and --noproxy
override them; user:pass@ in the proxy URL is sent as Proxy-Authorization: Basic.

Exit status:
  0    every file is saved under its final name, length (and --checksum) verified
  1    a download failed; no file under its final name (a partial one is kept as
       FILE.part with its control file FILE.part.json: `download -c URL` resumes it);
       with several files, the others still finish
  2    usage error (bad argument, two URLs with one name, or FILE / FILE.part exists
       without --force or -c); nothing is fetched
  3    downloaded, but the SHA-256 differs from --checksum: nothing is kept
  130  interrupted (Ctrl-C): FILE.part and FILE.part.json are kept for -c";

/// Download files over HTTP(S) in byte ranges fetched at once (like `aria2c -x`, or `curl -o`).
#[derive(Parser, Debug)]
#[command(name = "download", version, after_help = EXIT_CODES)]
pub(crate) struct Args {
    /// http:// or https:// URLs of the files.
    #[arg(value_name = "URL")]
    pub(crate) urls: Vec<String>,
    /// Read URLs from FILE, one a line (blank lines and # comments skipped); - reads stdin.
    #[arg(short = 'i', long = "input-file", value_name = "FILE")]
    pub(crate) input: Option<PathBuf>,
    /// Save the files in DIR (default: the current folder).
    #[arg(short = 'd', long = "dir", value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
    /// Where to save a single URL (default: the server's Content-Disposition name, else the URL's last path segment).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Number of byte ranges of one file fetched at once, each on its own coroutine and
    /// connection; also the most connections to one host.
    #[arg(short = 'n', long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) segments: u32,
    /// The most connections open at once, over all files (a finished file hands its
    /// connections to the next).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) max_connections: u32,
    /// Resume FILE.part (from an earlier interrupted or failed run) instead of starting afresh.
    #[arg(short = 'c', long = "continue")]
    pub(crate) resume: bool,
    /// Replace an existing FILE (and discard an existing FILE.part).
    #[arg(long, conflicts_with = "resume")]
    pub(crate) force: bool,
    /// How many times one byte range is retried (from the byte it reached) after a dropped
    /// or stalled connection.
    #[arg(long, default_value_t = 5)]
    pub(crate) retries: u32,
    /// Seconds without any data (or to connect) before a connection counts as stalled.
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_seconds)]
    pub(crate) timeout: Duration,
    /// How many redirects to follow.
    #[arg(long, default_value_t = 10)]
    pub(crate) max_redirects: u32,
    /// Verify the file before saving it: sha256:HEX (a single URL only).
    #[arg(long, value_name = "sha256:HEX", value_parser = parse_checksum)]
    pub(crate) checksum: Option<[u8; 32]>,
    /// Trust this PEM file's certificates (a private CA) instead of the built-in public roots.
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,
    /// Send an extra header on every request, e.g. -H 'Authorization: Bearer T' (repeatable).
    /// Authorization and Cookie are not sent to another host after a redirect.
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'", value_parser = parse_header)]
    pub(crate) headers: Vec<(String, String)>,
    /// The User-Agent header (default download/VERSION).
    #[arg(short = 'A', long, value_name = "NAME")]
    pub(crate) user_agent: Option<String>,
    /// Use this proxy for every URL: http://[user:pass@]host[:port] (port 1080 by default,
    /// as curl); "" uses none. Overrides the *_proxy variables.
    #[arg(short = 'x', long, value_name = "URL")]
    pub(crate) proxy: Option<String>,
    /// Hosts, domains and IP addresses to reach without the proxy, comma-separated; * for
    /// all. Overrides no_proxy.
    #[arg(long, value_name = "LIST")]
    pub(crate) noproxy: Option<String>,
    /// Keep the time of the download as the file's modification time, instead of the
    /// server's Last-Modified.
    #[arg(long)]
    pub(crate) no_remote_time: bool,
    /// The most bytes per second over all connections together: 500K, 2M (K = 1024, as curl).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    pub(crate) limit_rate: Option<u64>,
}

/// The URLs to fetch: the arguments, then `-i FILE`'s lines.
pub(crate) fn urls(args: &Args) -> Result<Vec<String>, String> {
    let mut urls = args.urls.clone();
    if let Some(input) = &args.input {
        let text = if input.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin())
                .map_err(|e| format!("cannot read URLs from stdin: {e}"))?
        } else {
            std::fs::read_to_string(input)
                .map_err(|e| format!("cannot read -i {}: {e}", input.display()))?
        };
        urls.extend(
            text.lines()
                .map(str::trim)
                .filter(|line| !line.is_empty() && !line.starts_with('#'))
                .map(String::from),
        );
    }
    if urls.is_empty() {
        return Err("no URL given (download URL..., or -i FILE)".into());
    }
    for url in &urls {
        check_url(url)?;
    }
    if urls.len() > 1 && args.output.is_some() {
        return Err("-o names a single file: with several URLs use -d DIR".into());
    }
    if urls.len() > 1 && args.checksum.is_some() {
        return Err("--checksum checks a single file: give one URL".into());
    }
    Ok(urls)
}

fn check_url(url: &str) -> Result<(), String> {
    let parsed: Result<ureq::http::Uri, _> = url.parse();
    match parsed {
        Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {
            Ok(())
        }
        _ => Err(format!("{url:?} is not an http:// or https:// URL")),
    }
}

/// `Name: value`, both valid in an HTTP header.
fn parse_header(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once(':').ok_or("expected 'Name: value'")?;
    let (name, value) = (name.trim(), value.trim());
    ureq::http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{name:?} is not a header name"))?;
    ureq::http::HeaderValue::from_str(value)
        .map_err(|_| format!("{value:?} is not a header value"))?;
    Ok((name.to_string(), value.to_string()))
}

/// `500K`, `2M`, `1G` (powers of 1024, as curl) or plain bytes per second.
pub(crate) fn parse_rate(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((at, _)) => text.split_at(at),
        None => (text, ""),
    };
    let scale: u64 = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" => 1 << 10,
        "M" | "MB" => 1 << 20,
        "G" | "GB" => 1 << 30,
        _ => return Err(format!("{unit:?}: give a rate like 500K or 2M")),
    };
    let number: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?}: give a rate like 500K or 2M"))?;
    let rate = number * scale as f64;
    if !(1024.0..1e15).contains(&rate) {
        return Err("give at least 1K per second".into());
    }
    Ok(rate as u64)
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err("give between 0 and 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

fn parse_checksum(text: &str) -> Result<[u8; 32], String> {
    let hex = text
        .strip_prefix("sha256:")
        .ok_or("expected sha256:HEX (only SHA-256 is supported)")?;
    if hex.len() != 64 {
        return Err(format!(
            "a SHA-256 has 64 hex digits, this has {}",
            hex.len()
        ));
    }
    let mut digest = [0; 32];
    for (byte, pair) in digest.iter_mut().zip(hex.as_bytes().chunks(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| "not hex")?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| format!("{pair:?} is not hex"))?;
    }
    Ok(digest)
}

/// The name to save under when no `-o` is given: the server's `Content-Disposition` file
/// name, else the URL's last path segment, reduced to a bare name in this folder.
pub(crate) fn default_file_name(url: &str, content_disposition: Option<&str>) -> String {
    content_disposition
        .and_then(disposition_name)
        .and_then(|name| bare_name(&name))
        .or_else(|| bare_name(url_last_segment(url)))
        .unwrap_or_else(|| "download.out".to_string())
}

fn url_last_segment(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.split(['?', '#']).next().unwrap_or("");
    match path.split_once('/') {
        Some((_authority, path)) => path.rsplit('/').next().unwrap_or(""),
        None => "",
    }
}

/// `attachment; filename="x.bin"` gives `x.bin` (the plain `filename=` form only).
fn disposition_name(header: &str) -> Option<String> {
    header.split(';').find_map(|part| {
        let (key, value) = part.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("filename") {
            return None;
        }
        Some(value.trim().trim_matches('"').to_string())
    })
}

/// A name that cannot leave the current folder: the part after the last `/` or `\`, never
/// empty, `.` or `..`, without control characters.
fn bare_name(name: &str) -> Option<String> {
    let last = name.rsplit(['/', '\\']).next()?;
    let clean: String = last.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim().to_string();
    (!clean.is_empty() && clean != "." && clean != "..").then_some(clean)
}

#[cfg(test)]
mod tests {
    use super::{default_file_name, parse_rate};

    #[test]
    fn rates_are_powers_of_1024() {
        assert_eq!(parse_rate("500K"), Ok(500 * 1024));
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("1.5m"), Ok(3 << 19));
        assert_eq!(parse_rate("4096"), Ok(4096));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
    }

    #[test]
    fn names_are_bare() {
        assert_eq!(default_file_name("http://h/a/b.iso?x=1#y", None), "b.iso");
        assert_eq!(default_file_name("http://h/", None), "download.out");
        assert_eq!(default_file_name("http://h", None), "download.out");
        let from = |cd| default_file_name("http://h/b.iso", Some(cd));
        assert_eq!(from("attachment; filename=\"../x\""), "x");
        assert_eq!(from("attachment; filename=/etc/x"), "x");
        assert_eq!(from("attachment; filename=\"..\""), "b.iso");
        assert_eq!(from("inline"), "b.iso");
    }
}
