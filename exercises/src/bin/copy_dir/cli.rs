//! The command line: `copy_dir [OPTIONS] SRC DEST`, parsed by clap.

use std::path::PathBuf;
use std::thread;

use clap::Parser;

/// Copies the contents of SRC into DEST (like `cp -a SRC/. DEST`), on a pool of threads.
///
/// DEST is created if missing and merged into if it exists. Symlinks are copied as symlinks,
/// hard links stay hard links, sparse files stay sparse; modes, owners (as root) and
/// nanosecond times are kept. Each file is written unnamed (or under a temporary name) and
/// named only once complete, so no file is ever left half-written under its real name.
#[derive(Parser, Debug)]
#[command(
    name = "copy_dir",
    version,
    after_help = "Exit status:\n  \
        0    everything was copied (or skipped as asked)\n  \
        1    some paths failed (each is listed at the end), SRC cannot be read, or\n       \
        stdout was closed under -v (the copy stops; temporary files removed)\n  \
        2    usage error, or DEST is inside SRC (nothing is written)\n  \
        130  interrupted by Ctrl-C or SIGTERM (temporary files removed)"
)]
pub(crate) struct Args {
    /// The folder to copy (its contents, not the folder itself, go into DEST).
    pub(crate) src: PathBuf,

    /// Where the copy goes; created if missing, merged into if it exists.
    pub(crate) dest: PathBuf,

    /// Copy this many files at once (default: one per CPU).
    #[arg(short = 'j', long, default_value_t = default_workers(),
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) workers: u16,

    /// Never replace a file that exists in DEST.
    #[arg(short = 'n', long)]
    pub(crate) no_clobber: bool,

    /// Skip files whose size and modification time already match in DEST.
    #[arg(short = 'u', long)]
    pub(crate) update: bool,

    /// Show what would be copied; write nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,

    /// Print each path as it is copied.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,

    /// Print nothing but errors (no summary, no warnings).
    #[arg(short, long)]
    pub(crate) quiet: bool,
}

fn default_workers() -> u16 {
    thread::available_parallelism().map_or(2, |n| n.get().min(256) as u16)
}
