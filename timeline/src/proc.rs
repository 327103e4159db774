//! Reading one moment of a process tree from `/proc`: every task (thread) of a process and of all
//! its descendants, with its state and, for a sleeping task, what it waits for.
//!
//! Each thread has its own folder, `/proc/PID/task/TID/`: `stat` gives its name and state,
//! `children` the processes it started (a child belongs to the thread that forked it), `wchan`
//! the kernel function it sleeps in and `syscall` the system call it is blocked in. `wchan`
//! names are the richer answer; the syscall number is the fallback where a kernel hides them.

use std::collections::HashSet;
use std::collections::hash_map::{Entry, HashMap};
use std::fs::{self, File};
use std::os::unix::fs::FileExt;

/// One task as seen at one sampling moment.
#[derive(Debug, Clone)]
pub(crate) struct TaskSample {
    pub(crate) pid: u32,
    pub(crate) tid: u32,
    /// The parent process of `pid` (the same for every thread of a process).
    pub(crate) ppid: u32,
    /// The thread's name: `comm`, which `thread::Builder::name` sets (cut to 15 bytes).
    pub(crate) name: String,
    /// The one-letter state of `stat`: R, S, D, T, t, Z, ...
    pub(crate) state: char,
    /// `wchan` for a sleeping task, when the kernel shows it ("0" and errors give `None`).
    pub(crate) wchan: Option<String>,
    /// The system call a sleeping task is blocked in, when the kernel shows it.
    pub(crate) syscall: Option<libc::c_long>,
    /// CPU time used so far, in clock ticks ([`clock_tick`]).
    pub(crate) cpu_ticks: u64,
    /// When the task started, in clock ticks after boot: with `tid`, it tells one thread from
    /// a later one that got the same id.
    pub(crate) started: u64,
}

/// Samples a process tree, keeping each task's `/proc` files open between samples: a sample
/// then costs one `pread` per file instead of an open, a read and a close.
#[derive(Default)]
pub(crate) struct Sampler {
    open: HashMap<(u32, u32), TaskFiles>,
    buffer: Vec<u8>,
}

/// The open files of one task.
struct TaskFiles {
    stat: File,
    children: Option<File>,
    wchan: Option<File>,
    syscall: Option<File>,
    /// The file a process runs, for one the kernel names "exe" (see [`Sampler::sample`]).
    program: Option<String>,
}

impl Sampler {
    /// Every task of `root` and of all its descendant processes, right now. Empty once `root`
    /// is gone. Processes that end while being read are simply missing from this sample.
    pub(crate) fn sample(&mut self, root: u32) -> Vec<TaskSample> {
        let mut tasks = Vec::new();
        let mut pending = vec![root];
        let mut alive = HashSet::new();
        while let Some(pid) = pending.pop() {
            let Ok(entries) = fs::read_dir(format!("/proc/{pid}/task")) else {
                continue;
            };
            for entry in entries.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                if let Some(task) = self.task(pid, tid, &mut pending) {
                    alive.insert((pid, tid));
                    tasks.push(task);
                }
            }
        }
        // Files of tasks that are gone are closed; a reused id gets fresh ones.
        self.open.retain(|id, _| alive.contains(id));
        tasks
    }

    fn task(&mut self, pid: u32, tid: u32, pending: &mut Vec<u32>) -> Option<TaskSample> {
        let files = match self.open.entry((pid, tid)) {
            Entry::Occupied(files) => files.into_mut(),
            Entry::Vacant(slot) => slot.insert(TaskFiles::open(pid, tid)?),
        };
        let buffer = &mut self.buffer;
        let Some(Stat {
            name,
            state,
            ppid,
            cpu_ticks,
            started,
        }) = read(&files.stat, buffer).and_then(parse_stat)
        else {
            // Gone since the folder was listed (or its id was reused): start afresh next time.
            self.open.remove(&(pid, tid));
            return None;
        };
        // A program that runs itself again through `/proc/self/exe` (procspawn does) is named
        // "exe" by the kernel: name it after the file it runs instead.
        let name = match name.as_str() {
            "exe" if tid == pid => files
                .program
                .get_or_insert_with(|| {
                    fs::read_link(format!("/proc/{pid}/exe"))
                        .ok()
                        .and_then(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
                        .unwrap_or(name)
                })
                .clone(),
            _ => name,
        };
        let asleep = matches!(state, 'S' | 'D');
        let wchan = (files.wchan.as_ref())
            .filter(|_| asleep)
            .and_then(|file| read(file, buffer))
            .map(str::trim)
            .filter(|w| !w.is_empty() && *w != "0")
            .map(str::to_owned);
        // The system call only where `wchan` is hidden: it says less.
        let syscall = (files.syscall.as_ref())
            .filter(|_| asleep && wchan.is_none())
            .and_then(|file| read(file, buffer))
            .and_then(|text| text.split_whitespace().next()?.parse().ok());
        if let Some(children) = files.children.as_ref().and_then(|f| read(f, buffer)) {
            pending.extend(
                children
                    .split_whitespace()
                    .filter_map(|c| c.parse::<u32>().ok()),
            );
        }
        Some(TaskSample {
            pid,
            tid,
            ppid,
            name,
            state,
            wchan,
            syscall,
            cpu_ticks,
            started,
        })
    }
}

impl TaskFiles {
    fn open(pid: u32, tid: u32) -> Option<TaskFiles> {
        let folder = format!("/proc/{pid}/task/{tid}");
        let open = |name: &str| File::open(format!("{folder}/{name}")).ok();
        Some(TaskFiles {
            stat: open("stat")?,
            children: open("children"),
            wchan: open("wchan"),
            syscall: open("syscall"),
            program: None,
        })
    }
}

/// The whole of a small `/proc` file, read again from its start (the kernel makes it anew).
fn read<'b>(file: &File, buffer: &'b mut Vec<u8>) -> Option<&'b str> {
    buffer.resize(4096, 0);
    let length = file.read_at(buffer, 0).ok()?;
    std::str::from_utf8(&buffer[..length]).ok()
}

/// What `stat` says of a task.
struct Stat {
    name: String,
    state: char,
    ppid: u32,
    /// User and system CPU time, in clock ticks.
    cpu_ticks: u64,
    /// Start time, in clock ticks after boot.
    started: u64,
}

/// `TID (name) STATE PPID ... UTIME STIME ... STARTTIME ...`: the name may hold spaces and
/// parentheses, so it ends at the last `)`; the fields after it are counted from there.
fn parse_stat(stat: &str) -> Option<Stat> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = stat.get(close + 1..)?.split_whitespace().collect();
    let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
    Some(Stat {
        name,
        state: fields.first()?.chars().next()?,
        ppid: number(1)? as u32,
        cpu_ticks: number(11)? + number(12)?,
        started: number(19)?,
    })
}

/// The length of a clock tick, the unit of `stat`'s CPU times.
pub(crate) fn clock_tick() -> std::time::Duration {
    use nix::unistd::{SysconfVar, sysconf};
    let per_second = sysconf(SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100);
    std::time::Duration::from_secs(1) / per_second.max(1) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_with_spaces_and_parentheses_is_read_whole() {
        let stat =
            parse_stat("42 (a (b) c) S 7 42 42 0 -1 0 0 0 0 0 30 12 0 0 20 0 1 0 9876 0").unwrap();
        assert_eq!(stat.name, "a (b) c");
        assert_eq!((stat.state, stat.ppid, stat.cpu_ticks), ('S', 7, 42));
        assert_eq!(stat.started, 9876);
    }

    #[test]
    fn our_own_tree_has_this_thread() {
        let tasks = Sampler::default().sample(std::process::id());
        let me = nix::unistd::gettid().as_raw() as u32;
        assert!(tasks.iter().any(|t| t.tid == me && t.state == 'R'));
    }
}
