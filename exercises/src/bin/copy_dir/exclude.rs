//! `--exclude PATTERN` and `--exclude-from FILE`: paths left out of the copy, and kept in DEST
//! by `--delete`, with rsync's meaning for the common forms (the notes' homework copies all):
//!
//! - `*.o`: no `/` in it, so it is matched against the *name*, at any depth;
//! - `build/`: a trailing `/` matches folders only (a file named `build` is copied);
//! - `/top.txt`: a leading `/` anchors it at SRC (`sub/top.txt` is copied);
//! - `docs/*.md`: a `/` inside, so it is matched against the end of the path, whole names
//!   (`a/docs/x.md` too); `*` and `?` never match a `/`;
//! - `**` matches across folders, as a whole path component (`/docs/**/*.md`, `**/cache`);
//! - an excluded folder is not entered: nothing under it is copied (or removed).
//!
//! An `--exclude-from` file has one pattern a line; blank lines and lines starting with `#` or
//! `;` are skipped (rsync's `+ `/`- ` rules are not supported: every line excludes). `-` reads
//! the patterns from stdin.
//!
//! The matching is globset's (one automaton per kind of pattern, built once), on the path
//! relative to SRC as bytes: a non-UTF-8 name is matched like any other.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};

/// The patterns, sorted by what they are matched against.
pub(crate) struct Exclude {
    /// Against the name: for any entry, for folders only.
    names: GlobSet,
    folder_names: GlobSet,
    /// Against the path relative to SRC: for any entry, for folders only.
    paths: GlobSet,
    folder_paths: GlobSet,
}

/// Why the patterns cannot be used.
pub(crate) enum Error {
    /// A pattern globset cannot read (exit 2).
    Usage(String),
    /// An `--exclude-from` file cannot be read (exit 1).
    Io(String),
}

impl Exclude {
    /// The patterns of the command line and of each `--exclude-from` file.
    pub(crate) fn new(patterns: &[String], files: &[PathBuf]) -> Result<Self, Error> {
        let mut all: Vec<String> = patterns.to_vec();
        for file in files {
            let text = read(file).map_err(|e| Error::Io(format!("{}: {e}", file.display())))?;
            all.extend(
                text.lines()
                    .map(|line| line.strip_suffix('\r').unwrap_or(line))
                    .filter(|line| !line.is_empty() && !line.starts_with(['#', ';']))
                    .map(String::from),
            );
        }
        let mut sets: [GlobSetBuilder; 4] = std::array::from_fn(|_| GlobSetBuilder::new());
        for raw in &all {
            let mut pattern = raw.as_str();
            let folders_only = pattern.ends_with('/');
            pattern = pattern.trim_end_matches('/');
            let anchored = pattern.starts_with('/');
            pattern = pattern.strip_prefix('/').unwrap_or(pattern);
            if pattern.is_empty() {
                return Err(Error::Usage(format!("--exclude {raw:?}: an empty pattern")));
            }
            let whole_path = anchored || pattern.contains('/') || pattern.contains("**");
            let glob = if whole_path && !anchored && !pattern.starts_with("**/") {
                format!("**/{pattern}") // the end of the path, at a name boundary
            } else {
                pattern.to_string()
            };
            let glob = GlobBuilder::new(&glob)
                .literal_separator(true) // `*` stays within one name
                .backslash_escape(true)
                .build()
                .map_err(|e| Error::Usage(format!("--exclude {raw:?}: {}", e.kind())))?;
            let set = usize::from(whole_path) * 2 + usize::from(folders_only);
            sets[set].add(glob);
        }
        let [names, folder_names, paths, folder_paths] =
            sets.map(|set| set.build().map_err(|e| Error::Usage(e.to_string())));
        Ok(Exclude {
            names: names?,
            folder_names: folder_names?,
            paths: paths?,
            folder_paths: folder_paths?,
        })
    }

    /// Whether nothing is excluded (the walker then does not even compute relative paths).
    pub(crate) fn is_empty(&self) -> bool {
        self.names.is_empty()
            && self.folder_names.is_empty()
            && self.paths.is_empty()
            && self.folder_paths.is_empty()
    }

    /// Whether `relative` (a path under SRC or DEST, relative to it; not empty) is excluded.
    pub(crate) fn excludes(&self, relative: &Path, folder: bool) -> bool {
        if self.is_empty() {
            return false;
        }
        let name = Candidate::new(relative.file_name().unwrap_or(relative.as_os_str()));
        let path = Candidate::new(relative);
        self.names.is_match_candidate(&name)
            || self.paths.is_match_candidate(&path)
            || (folder
                && (self.folder_names.is_match_candidate(&name)
                    || self.folder_paths.is_match_candidate(&path)))
    }
}

/// The text of an `--exclude-from` file (`-`: stdin).
fn read(file: &Path) -> io::Result<String> {
    if file == Path::new("-") {
        let mut text = String::new();
        io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        fs::read_to_string(file)
    }
}
