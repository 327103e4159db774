//! The progress bar (bytes, speed, ETA) on stderr when it is a terminal, and the summary.

use indicatif::{HumanBytes, ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A bar for `length` bytes (`None`: unknown), starting at `done`; hidden unless stderr is a
/// terminal, so that logs and pipes get only the summary line.
pub(crate) fn bar(length: Option<u64>, done: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
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
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_position(done);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
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
