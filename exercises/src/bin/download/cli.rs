//! The command line, and the file name a download is saved under.

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
Exit status:
  0    the file is saved under its final name, length (and --checksum) verified
  1    the download failed; no file under the final name (a partial one is kept as
       FILE.part with its control file FILE.part.json: `download -c URL` resumes it)
  2    usage error (bad argument, or FILE / FILE.part exists without --force or -c)
  3    downloaded, but the SHA-256 differs from --checksum: nothing is kept
  130  interrupted (Ctrl-C): FILE.part and FILE.part.json are kept for -c";

/// Download a file over HTTP(S) in byte ranges fetched at once (like `aria2c -x`, or `curl -o`).
#[derive(Parser, Debug)]
#[command(name = "download", version, after_help = EXIT_CODES)]
pub(crate) struct Args {
    /// http:// or https:// URL of the file.
    pub(crate) url: String,
    /// Where to save it (default: the server's Content-Disposition name, else the URL's last path segment).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
    /// Number of byte ranges fetched at once, each on its own coroutine and connection.
    #[arg(short = 'n', long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) segments: u32,
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
    /// Verify the file before saving it: sha256:HEX.
    #[arg(long, value_name = "sha256:HEX", value_parser = parse_checksum)]
    pub(crate) checksum: Option<[u8; 32]>,
    /// Trust this PEM file's certificates (a private CA) instead of the built-in public roots.
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,
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
    use super::default_file_name;

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
