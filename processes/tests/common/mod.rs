//! Checks on the processes a lesson leaves behind (Linux: reads `/proc`).
//!
//! Every lesson a test runs gets `PROCESSES_TEST_RUN=<this test process's pid>` in its
//! environment, and every process it starts inherits it: procspawn's children (whose command
//! line is just `/proc/self/exe`), children run by hand, forked copies. A live process that
//! carries the mark and whose parent is neither this test process nor another marked process
//! has outlived its parent: an orphan. The mark is read from `/proc/<pid>/environ`, the
//! environment a program started with.

use std::fs;
use std::path::Path;
use std::process;

/// The variable that marks every process of a lesson run.
pub(crate) const MARK: &str = "PROCESSES_TEST_RUN";

/// A process that carries the mark.
pub(crate) struct Marked {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    pub(crate) state: char,
    pub(crate) mark: String,
    pub(crate) command: String,
}

/// The mark this test process gives the lessons it runs.
pub(crate) fn our_mark() -> String {
    process::id().to_string()
}

/// The state letter and parent pid of a process, or `None` if there is none with this pid.
pub(crate) fn state_and_parent(pid: u32) -> Option<(char, u32)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?.chars().next()?;
    Some((state, fields.next()?.parse().ok()?))
}

/// The state letter of a process, or `None` if there is none with this pid.
pub(crate) fn state(pid: u32) -> Option<char> {
    state_and_parent(pid).map(|(state, _)| state)
}

/// Every running process whose program lives in `bin_dir` and that carries the mark.
pub(crate) fn marked(bin_dir: &Path) -> Vec<Marked> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        // A zombie has no exe link: it holds nothing and is its parent's to reap.
        let Ok(exe) = fs::read_link(format!("/proc/{pid}/exe")) else {
            continue;
        };
        if exe.parent() != Some(bin_dir) {
            continue;
        }
        let Ok(environ) = fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        let prefix = format!("{MARK}=");
        let Some(mark) = environ
            .split(|&b| b == 0)
            .find_map(|var| var.strip_prefix(prefix.as_bytes()))
        else {
            continue;
        };
        let Some((state, ppid)) = state_and_parent(pid) else {
            continue;
        };
        let command = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        found.push(Marked {
            pid,
            ppid,
            state,
            mark: String::from_utf8_lossy(mark).into_owned(),
            command: String::from_utf8_lossy(&command).replace('\0', " "),
        });
    }
    found
}

/// The processes of this test's lesson runs alive now whose parent is gone, described.
pub(crate) fn orphans(bin_dir: &Path) -> Vec<String> {
    let ours: Vec<Marked> = marked(bin_dir)
        .into_iter()
        .filter(|p| p.mark == our_mark())
        .collect();
    ours.iter()
        .filter(|p| p.state != 'Z')
        .filter(|p| p.ppid != process::id() && !ours.iter().any(|parent| parent.pid == p.ppid))
        .map(|p| format!("{} (parent now {}): {}", p.pid, p.ppid, p.command))
        .collect()
}
