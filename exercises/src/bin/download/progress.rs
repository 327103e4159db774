//! Progress on stderr when it is a terminal (indicatif's `MultiProgress`: a bar per file being
//! downloaded, and a total when there are several), and the summary lines.

use indicatif::{HumanBytes, MultiProgress, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// The bars of one run; everything hidden unless stderr is a terminal, so that logs and
/// pipes get only the notes and the summary.
pub(crate) struct Board {
    multi: Option<MultiProgress>,
    total: ProgressBar,
    several: bool,
}

impl Board {
    pub(crate) fn new(files: usize) -> Board {
        let several = files > 1;
        if !std::io::stderr().is_terminal() {
            return Board {
                multi: None,
                total: ProgressBar::hidden(),
                several,
            };
        }
        let multi = MultiProgress::new();
        let total = if several {
            let total = multi.add(ProgressBar::new(0));
            if let Ok(style) = ProgressStyle::with_template(
                "{prefix:>24} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            ) {
                total.set_style(style);
            }
            total.set_prefix("total");
            total.set_message(format!("0/{files} files"));
            total.enable_steady_tick(Duration::from_millis(200));
            total
        } else {
            ProgressBar::hidden()
        };
        Board {
            multi: Some(multi),
            total,
            several,
        }
    }

    /// A bar for one file of `length` bytes (`None`: unknown), starting at `done`, drawn above
    /// the total.
    pub(crate) fn file_bar(&self, name: &str, length: Option<u64>, done: u64) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let prefix = if self.several { "{prefix:>24} " } else { "" };
        let (bar, template) = match length {
            Some(length) => (
                ProgressBar::new(length),
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            ),
            None => (
                ProgressBar::no_length(),
                "{spinner} {bytes} {binary_bytes_per_sec}",
            ),
        };
        if let Ok(style) = ProgressStyle::with_template(&format!("{prefix}{template}")) {
            bar.set_style(style);
        }
        bar.set_prefix(short(name, 24));
        bar.set_position(done);
        let bar = if self.several {
            multi.insert_before(&self.total, bar)
        } else {
            multi.add(bar)
        };
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    }

    /// The total bar, for the bytes of every file.
    pub(crate) fn total(&self) -> ProgressBar {
        self.total.clone()
    }

    /// A file ended (saved or not): `finished` of `files` in the total's message.
    pub(crate) fn file_ended(&self, finished: usize, files: usize) {
        self.total.set_message(format!("{finished}/{files} files"));
    }

    /// A note on stderr, above the bars when they are drawn.
    pub(crate) fn note(&self, text: &str) {
        match &self.multi {
            Some(multi) if multi.println(text).is_ok() => {}
            _ => eprintln!("{text}"),
        }
    }

    pub(crate) fn finish(&self) {
        self.total.finish_and_clear();
    }
}

/// The last `width` characters of a name.
fn short(name: &str, width: usize) -> String {
    let count = name.chars().count();
    if count <= width {
        return name.to_string();
    }
    let tail: String = name.chars().skip(count - width + 1).collect();
    format!("…{tail}")
}

/// The summary line of a saved file.
pub(crate) fn summary(
    name: &str,
    bytes: u64,
    elapsed: Duration,
    streams: &str,
    retries: u64,
    steals: u64,
) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    format!(
        "saved {name}: {bytes} bytes ({}) in {seconds:.2} s, {}/s, {streams}, {retries} retries, {steals} steals",
        HumanBytes(bytes),
        HumanBytes((bytes as f64 / seconds) as u64),
    )
}

/// The last line when there were several files.
pub(crate) fn total(saved: usize, failed: usize, bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-6);
    format!(
        "{} files: {saved} saved, {failed} failed; {bytes} bytes ({}) in {seconds:.2} s, {}/s",
        saved + failed,
        HumanBytes(bytes),
        HumanBytes((bytes as f64 / seconds) as u64),
    )
}
