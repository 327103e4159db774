//! What the user sees: `-v` paths on stdout (like the notes' prints, but one line per path),
//! an indicatif bar of files and bytes on stderr only when stderr is a terminal, every
//! failure collected with its path, one warning per filesystem that refuses extended
//! attributes, what `--delete` removes (listed under `-v` and `--dry-run`), and one summary
//! line at the end.

use std::collections::HashSet;
use std::fmt::Display;
use std::io::{self, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// What happened to one path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A regular file written (or, in a dry run, to be written), with its size.
    Copied(u64),
    Symlinked,
    HardLinked,
    /// Set aside to be hard-linked at the end.
    Deferred,
    /// `-n`: something is already there.
    Exists,
    /// `--update`: already the same.
    UpToDate,
}

pub(crate) struct Report {
    started: Instant,
    bar: ProgressBar,
    /// Whether the bar is drawn: a hidden bar is not even updated (each update takes a lock).
    drawn: bool,
    verbose: bool,
    quiet: bool,
    dry_run: bool,
    files: AtomicU64,
    bytes: AtomicU64,
    symlinks: AtomicU64,
    hard_links: AtomicU64,
    exists: AtomicU64,
    up_to_date: AtomicU64,
    special: AtomicU64,
    removed: AtomicU64,
    /// The destination filesystems (devices) already warned about refusing extended attributes.
    no_xattrs: Mutex<HashSet<u64>>,
    failures: Mutex<Vec<String>>,
}

impl Report {
    pub(crate) fn new(verbose: bool, quiet: bool, dry_run: bool) -> Self {
        let bar = if !quiet && io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} files, {msg} {elapsed}")
                    .expect("a valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        } else {
            ProgressBar::hidden()
        };
        Report {
            started: Instant::now(),
            drawn: !bar.is_hidden(),
            bar,
            verbose,
            quiet,
            dry_run,
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            symlinks: AtomicU64::new(0),
            hard_links: AtomicU64::new(0),
            exists: AtomicU64::new(0),
            up_to_date: AtomicU64::new(0),
            special: AtomicU64::new(0),
            removed: AtomicU64::new(0),
            no_xattrs: Mutex::new(HashSet::new()),
            failures: Mutex::new(Vec::new()),
        }
    }

    /// The walker found one more path to copy.
    pub(crate) fn queued(&self) {
        if self.drawn {
            self.bar.inc_length(1);
        }
    }

    /// The average size of the files copied so far, once at least `seen` were.
    pub(crate) fn average_size(&self, seen: u64) -> Option<u64> {
        let files = self.files.load(Relaxed);
        (files >= seen).then(|| self.bytes.load(Relaxed) / files)
    }

    /// A worker finished a path; `shown` gives it relative to DEST (only computed for `-v`).
    pub(crate) fn done(&self, shown: impl FnOnce() -> PathBuf, outcome: Outcome) {
        let counter = match outcome {
            Outcome::Copied(size) => {
                let bytes = self.bytes.fetch_add(size, Relaxed) + size;
                if self.drawn {
                    self.bar.set_message(HumanBytes(bytes).to_string());
                }
                &self.files
            }
            Outcome::Symlinked => &self.symlinks,
            Outcome::HardLinked => &self.hard_links,
            Outcome::Deferred => return, // counted when it is linked
            Outcome::Exists => &self.exists,
            Outcome::UpToDate => &self.up_to_date,
        };
        counter.fetch_add(1, Relaxed);
        if self.drawn {
            self.bar.inc(1);
        }
        if self.verbose
            && matches!(
                outcome,
                Outcome::Copied(_) | Outcome::Symlinked | Outcome::HardLinked
            )
        {
            let shown = shown();
            self.bar.suspend(|| {
                let mut line = shown.as_os_str().as_bytes().to_vec();
                line.push(b'\n');
                // SIGPIPE is ignored (Rust's default), so a closed stdout is an error here.
                if io::stdout().lock().write_all(&line).is_err() {
                    crate::interrupt::stdout_closed();
                }
            });
        }
    }

    /// `shown` could not be copied; the copy goes on.
    pub(crate) fn failed(&self, shown: &Path, error: impl Display) {
        let line = format!("{}: {error}", shown.display());
        if self.verbose {
            self.bar.suspend(|| eprintln!("copy_dir: {line}"));
        }
        self.bar.inc(1);
        self.failures.lock().unwrap().push(line);
    }

    /// A FIFO, socket or device: not copied, as its contents are not a file's bytes.
    pub(crate) fn skipped_special(&self, shown: &Path, kind: &str) {
        self.special.fetch_add(1, Relaxed);
        if !self.quiet {
            self.bar
                .suspend(|| eprintln!("copy_dir: warning: skipped {kind} {}", shown.display()));
        }
    }

    /// The filesystem (device `dev`) holding `shown` in DEST refuses extended attributes: warns
    /// once for that filesystem (unless `-q`); the copy goes on without them there.
    pub(crate) fn xattrs_refused(&self, dev: u64, shown: &Path, error: impl Display) {
        if self.no_xattrs.lock().unwrap().insert(dev) && !self.quiet {
            self.bar.suspend(|| {
                eprintln!(
                    "copy_dir: warning: a filesystem of DEST keeps no extended attributes or \
                     ACLs ({error}, first at {}): copied without them there",
                    shown.display()
                )
            });
        }
    }

    /// `--delete` removed `shown` from DEST (or, in a dry run, would): listed under `-v` and
    /// `--dry-run` as `deleting PATH` (a folder with a trailing `/`), as rsync does.
    pub(crate) fn removed(&self, shown: &Path, folder: bool) {
        self.removed.fetch_add(1, Relaxed);
        if (self.verbose || self.dry_run) && !self.quiet {
            self.bar.suspend(|| {
                let mut line = b"deleting ".to_vec();
                line.extend_from_slice(shown.as_os_str().as_bytes());
                if folder {
                    line.push(b'/');
                }
                line.push(b'\n');
                if io::stdout().lock().write_all(&line).is_err() {
                    crate::interrupt::stdout_closed();
                }
            });
        }
    }

    /// Ends the bar, prints the failures and the summary; returns the number of failures.
    pub(crate) fn finish(&self, interrupted: bool) -> usize {
        self.bar.finish_and_clear();
        let failures = self.failures.lock().unwrap();
        if !failures.is_empty() {
            eprintln!("copy_dir: {} failed:", failures.len());
            for line in failures.iter() {
                eprintln!("  {line}");
            }
        }
        if crate::interrupt::because_stdout_closed() {
            eprintln!("copy_dir: stdout was closed; copy stopped, temporary files removed");
            return failures.len();
        }
        if interrupted {
            eprintln!("copy_dir: interrupted; temporary files removed");
        }
        if !self.quiet {
            // The copy is done: a reader that has gone away changes nothing on disk.
            let _ = writeln!(io::stdout(), "{}", self.summary(failures.len()));
        }
        failures.len()
    }

    fn summary(&self, failed: usize) -> String {
        let seconds = self.started.elapsed().as_secs_f64();
        let (files, bytes) = (self.files.load(Relaxed), self.bytes.load(Relaxed));
        let rate = bytes as f64 / 1e6 / seconds.max(1e-9);
        let verb = if self.dry_run { "would copy" } else { "copied" };
        let mut line = format!(
            "{verb} {files} files, {} ({bytes} bytes) in {seconds:.2} s, {rate:.1} MB/s",
            HumanBytes(bytes)
        );
        for (count, what) in [
            (self.symlinks.load(Relaxed), "symlinks"),
            (self.hard_links.load(Relaxed), "hard links"),
            (self.up_to_date.load(Relaxed), "up to date"),
            (self.exists.load(Relaxed), "kept (already in DEST)"),
            (self.special.load(Relaxed), "special files skipped"),
            (
                self.removed.load(Relaxed),
                if self.dry_run { "to remove" } else { "removed" },
            ),
            (failed as u64, "failed"),
        ] {
            if count > 0 {
                line.push_str(&format!("; {count} {what}"));
            }
        }
        line
    }
}
