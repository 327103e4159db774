//! Checks on the processes a lesson leaves behind (Linux: reads `/proc`).
//!
//! Every child a lesson starts carries `--parent <pid>` on its command line. A live process of
//! this workspace whose parent is no longer that pid has outlived its parent: an orphan.
//! An orphan that still holds the lesson's output keeps the test reading it, so it is gone by
//! the time the run returns: look for orphans while the lesson runs, too.

use std::fs;
use std::path::Path;
use std::sync::Mutex;

/// Held by a test that kills a lesson on purpose (its children are orphans for a moment, until
/// the kernel's SIGKILL lands) and by every orphan check, so they do not see each other.
pub(crate) static KILLING_A_LESSON: Mutex<()> = Mutex::new(());

/// A process of this workspace that was started as some lesson's child.
pub(crate) struct LessonChild {
    pub(crate) pid: u32,
    pub(crate) ppid: u32,
    pub(crate) state: char,
    pub(crate) parent_arg: u32,
    pub(crate) command: String,
}

/// The fields of `/proc/<pid>/stat` after the name, from the state on.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields = stat.rsplit_once(')')?.1.split_whitespace();
    Some(fields.map(str::to_string).collect())
}

/// The state letter of a process, or `None` if there is none with this pid.
pub(crate) fn state(pid: u32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

/// Every running process whose program lives in `bin_dir` and that has a `--parent` argument.
pub(crate) fn lesson_children(bin_dir: &Path) -> Vec<LessonChild> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        // Each argument ends with a NUL byte.
        let args: Vec<String> = cmdline
            .strip_suffix(&[0])
            .unwrap_or(&cmdline)
            .split(|&b| b == 0)
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        if !args
            .first()
            .is_some_and(|program| Path::new(program).starts_with(bin_dir))
        {
            continue;
        }
        let Some(parent_arg) = args
            .iter()
            .position(|arg| arg == "--parent")
            .and_then(|i| args.get(i + 1)?.parse().ok())
        else {
            continue;
        };
        let Some(fields) = stat_fields(pid) else {
            continue;
        };
        let (Some(state), Some(Ok(ppid))) = (
            fields.first().and_then(|s| s.chars().next()),
            fields.get(1).map(|p| p.parse()),
        ) else {
            continue;
        };
        found.push(LessonChild {
            pid,
            ppid,
            state,
            parent_arg,
            command: args.join(" "),
        });
    }
    found
}

/// The lesson children alive now whose parent is gone, described; waits while a test kills a
/// lesson on purpose.
pub(crate) fn orphans(bin_dir: &Path) -> Vec<String> {
    let _quiet = KILLING_A_LESSON.lock().unwrap_or_else(|e| e.into_inner());
    lesson_children(bin_dir)
        .into_iter()
        .filter(|child| child.ppid != child.parent_arg && child.state != 'Z')
        .map(|child| {
            let LessonChild {
                pid, parent_arg, ..
            } = child;
            format!("{pid}, started by {parent_arg}: {}", child.command)
        })
        .collect()
}
