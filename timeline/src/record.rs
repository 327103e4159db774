//! What the observer saw: every task (thread) of the run, each with the spans of time it spent
//! in one state, and the questions a test asks of them (who existed, who was whose child, how
//! long two of them overlapped, how long at least `n` of them were in some state at once).

use std::collections::BTreeMap;
use std::time::Duration;

/// What a task was doing, as the kernel's state letter and, for a sleep, what it waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum State {
    /// `R`: on a CPU, or ready to be.
    Running,
    /// `S` or `D`: asleep, waiting for the thing named.
    Waiting(Wait),
    /// `T` or `t`: stopped by a signal (Ctrl-Z, SIGSTOP) or a debugger.
    Stopped,
    /// `Z`: a process that has exited and not yet been reaped by its parent.
    Zombie,
}

/// What a sleeping task waits for, from `wchan` or, where that is hidden, the system call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Wait {
    /// A timed sleep: `thread::sleep`, `time.sleep`.
    Timer,
    /// A futex: a lock, a condition variable, a channel, a `join`.
    Lock,
    /// A pipe, socket, terminal or poll: waiting for data.
    Io,
    /// A parent waiting for its child to end (`wait`).
    Child,
    /// Something else, or nothing shown (see [`Record::reasons_visible`]).
    Other,
}

impl State {
    /// The mark the chart draws for this state.
    pub fn mark(self) -> char {
        match self {
            State::Running => '#',
            State::Waiting(Wait::Timer) => '-',
            State::Waiting(Wait::Lock) => '=',
            State::Waiting(Wait::Io) => '~',
            State::Waiting(Wait::Child) => 'w',
            State::Waiting(Wait::Other) => '.',
            State::Stopped => 'T',
            State::Zombie => 'Z',
        }
    }

    /// A word for the trace and messages.
    pub fn label(self) -> &'static str {
        match self {
            State::Running => "running",
            State::Waiting(Wait::Timer) => "sleeping (timer)",
            State::Waiting(Wait::Lock) => "waiting: lock, condition, join",
            State::Waiting(Wait::Io) => "waiting: I/O",
            State::Waiting(Wait::Child) => "waiting: child",
            State::Waiting(Wait::Other) => "sleeping (other)",
            State::Stopped => "stopped",
            State::Zombie => "zombie",
        }
    }

    /// All states, in the legend's order.
    pub const ALL: [State; 8] = [
        State::Running,
        State::Waiting(Wait::Timer),
        State::Waiting(Wait::Lock),
        State::Waiting(Wait::Io),
        State::Waiting(Wait::Child),
        State::Waiting(Wait::Other),
        State::Stopped,
        State::Zombie,
    ];
}

/// The state of a task from its `stat` letter, `wchan` and blocking system call.
pub(crate) fn classify(letter: char, wchan: Option<&str>, syscall: Option<libc::c_long>) -> State {
    match letter {
        'R' => State::Running,
        'T' | 't' => State::Stopped,
        'Z' | 'X' => State::Zombie,
        _ => State::Waiting(
            wchan
                .map(wait_of_wchan)
                .filter(|&w| w != Wait::Other)
                .or_else(|| syscall.map(wait_of_syscall))
                .unwrap_or(Wait::Other),
        ),
    }
}

/// The kernel functions a task sleeps in, by what they wait for. The README has this table.
pub fn wait_of_wchan(wchan: &str) -> Wait {
    const TIMER: &[&str] = &["nanosleep", "hrtimer"];
    const LOCK: &[&str] = &["futex"];
    const CHILD: &[&str] = &["do_wait", "wait4", "waitid"];
    const IO: &[&str] = &[
        "pipe",
        "unix",
        "sk_",
        "skb",
        "sock",
        "tcp",
        "udp",
        "inet",
        "epoll",
        "ep_poll",
        "select",
        "poll",
        "tty",
        "wait_woken",
        "accept",
    ];
    let has = |names: &[&str]| names.iter().any(|n| wchan.contains(n));
    if has(TIMER) {
        Wait::Timer
    } else if has(LOCK) {
        Wait::Lock
    } else if has(CHILD) {
        Wait::Child
    } else if has(IO) {
        Wait::Io
    } else {
        Wait::Other
    }
}

/// The system calls a task blocks in, by what they wait for (this machine's numbering).
fn wait_of_syscall(number: libc::c_long) -> Wait {
    use libc::*;
    #[cfg(target_arch = "x86_64")]
    const OLD_IO: &[c_long] = &[SYS_poll, SYS_select, SYS_epoll_wait, SYS_accept];
    #[cfg(not(target_arch = "x86_64"))]
    const OLD_IO: &[c_long] = &[];
    #[cfg(target_arch = "x86_64")]
    const OLD_TIMER: &[c_long] = &[SYS_nanosleep];
    #[cfg(not(target_arch = "x86_64"))]
    const OLD_TIMER: &[c_long] = &[];
    let io = [
        SYS_read,
        SYS_readv,
        SYS_recvfrom,
        SYS_recvmsg,
        SYS_ppoll,
        SYS_pselect6,
        SYS_epoll_pwait,
        SYS_accept4,
    ];

    if number == SYS_clock_nanosleep || OLD_TIMER.contains(&number) {
        Wait::Timer
    } else if number == SYS_futex {
        Wait::Lock
    } else if number == SYS_wait4 || number == SYS_waitid {
        Wait::Child
    } else if io.contains(&number) || OLD_IO.contains(&number) {
        Wait::Io
    } else {
        Wait::Other
    }
}

/// A stretch of time a task spent in one state, from the start of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub start: Duration,
    pub end: Duration,
    pub state: State,
    /// The `wchan` of the first sample of the span, when shown.
    pub wchan: Option<String>,
}

/// One thread as the observer saw it. A process is its main thread (`tid == pid`).
#[derive(Debug, Clone)]
pub struct Task {
    pub pid: u32,
    pub tid: u32,
    /// The parent process of `pid` when first seen: the one that started it. (A process whose
    /// parent dies is handed to another; that is not where it came from.)
    pub ppid: u32,
    /// The last name seen (a process's name changes when it runs a new program).
    pub name: String,
    /// In time order, without gaps while the task was seen.
    pub spans: Vec<Span>,
    /// CPU time it used while observed (the kernel counts it in clock ticks, 10 ms here).
    pub cpu: Duration,
}

impl Task {
    /// Whether this is a process's main thread: the row that stands for the process.
    pub fn is_process(&self) -> bool {
        self.pid == self.tid
    }

    /// When it was first and last seen (zombie time included: the process still exists).
    pub fn lifetime(&self) -> (Duration, Duration) {
        let start = self.spans.first().map_or(Duration::ZERO, |s| s.start);
        let end = self.spans.last().map_or(Duration::ZERO, |s| s.end);
        (start, end)
    }

    /// How long it was seen in a state that `which` accepts.
    pub fn time_in(&self, which: impl Fn(State) -> bool) -> Duration {
        (self.spans.iter())
            .filter(|s| which(s.state))
            .map(|s| s.end - s.start)
            .sum()
    }

    /// When it was first seen, and last seen before it exited: a zombie's time, after its end,
    /// is left out.
    pub fn alive(&self) -> (Duration, Duration) {
        let living = self.spans.iter().filter(|s| s.state != State::Zombie);
        let end = living.map(|s| s.end).max().unwrap_or(Duration::ZERO);
        (self.lifetime().0, end)
    }

    /// How long this task and `other` were both alive (not yet exited).
    pub fn overlap(&self, other: &Task) -> Duration {
        let (a, b) = (self.alive(), other.alive());
        a.1.min(b.1).saturating_sub(a.0.max(b.0))
    }
}

/// The whole observation of one run.
#[derive(Debug, Clone)]
pub struct Record {
    /// The pid of the program that was started.
    pub root: u32,
    /// From the start of the program to the last sample.
    pub duration: Duration,
    /// The time between two samples that was asked for.
    pub interval: Duration,
    /// How many samples were taken.
    pub samples: usize,
    /// Every task seen, processes and their threads, in the order they first appeared.
    pub tasks: Vec<Task>,
    /// Samples of sleeping tasks, and how many of them named what they waited for.
    pub(crate) sleeping_samples: usize,
    pub(crate) explained_samples: usize,
    /// CPU time the observer itself used.
    pub observer_cpu: Duration,
    /// Rows the program drew itself for its coroutines, invisible to the kernel (see
    /// [`spans`](crate::spans)); empty unless it wrote them.
    pub coroutines: Vec<Task>,
}

impl Record {
    /// Whether the kernel said what sleeping tasks waited for (`wchan` or the system call). When
    /// it did not, every sleep is [`Wait::Other`] and only running vs sleeping can be told.
    pub fn reasons_visible(&self) -> bool {
        self.sleeping_samples == 0 || self.explained_samples > 0
    }

    /// Every process seen (its main thread), the started one first.
    pub fn processes(&self) -> impl Iterator<Item = &Task> {
        self.tasks.iter().filter(|t| t.is_process())
    }

    /// The main thread of process `pid`, if it was seen.
    pub fn process(&self, pid: u32) -> Option<&Task> {
        self.processes().find(|t| t.pid == pid)
    }

    /// Every thread of process `pid`, the main thread included.
    pub fn threads_of(&self, pid: u32) -> Vec<&Task> {
        self.tasks.iter().filter(|t| t.pid == pid).collect()
    }

    /// The processes whose parent is `pid`.
    pub fn children_of(&self, pid: u32) -> Vec<&Task> {
        self.processes().filter(|t| t.ppid == pid).collect()
    }

    /// How long at least `n` of `tasks` were at once in a state that `which` accepts.
    pub fn time_with_at_least(
        &self,
        n: usize,
        tasks: &[&Task],
        which: impl Fn(State) -> bool,
    ) -> Duration {
        // A sweep over the span edges: +1 where a matching span starts, -1 where it ends.
        let mut edges: BTreeMap<Duration, i64> = BTreeMap::new();
        for span in tasks.iter().flat_map(|t| &t.spans) {
            if which(span.state) {
                *edges.entry(span.start).or_default() += 1;
                *edges.entry(span.end).or_default() -= 1;
            }
        }
        let (mut inside, mut total, mut since) = (0i64, Duration::ZERO, Duration::ZERO);
        for (at, change) in edges {
            if inside >= n as i64 {
                total += at - since;
            }
            inside += change;
            since = at;
        }
        total
    }
}

/// Builds a [`Record`] sample by sample.
pub(crate) struct Recorder {
    record: Record,
    /// Index into `record.tasks` by (pid, tid), with the task's start time: a tid reused by a
    /// later thread gets a new row.
    rows: BTreeMap<(u32, u32), (usize, u64)>,
    /// Each row's CPU time, in clock ticks, when first seen.
    first_cpu: Vec<u64>,
    clock_tick: Duration,
}

impl Recorder {
    pub(crate) fn new(root: u32, interval: Duration) -> Self {
        Recorder {
            record: Record {
                root,
                duration: Duration::ZERO,
                interval,
                samples: 0,
                tasks: Vec::new(),
                sleeping_samples: 0,
                explained_samples: 0,
                observer_cpu: Duration::ZERO,
                coroutines: Vec::new(),
            },
            rows: BTreeMap::new(),
            first_cpu: Vec::new(),
            clock_tick: crate::proc::clock_tick(),
        }
    }

    /// Adds one sample taken at `at`: each task's current span grows to `at`, a task in a new
    /// state starts a new span, and a task not seen any more ends where it was last seen.
    /// A task missing from one sample and back in the next is the same task (listing
    /// `/proc/PID/task` while threads exit can skip a live one): the gap is bridged.
    pub(crate) fn add(&mut self, at: Duration, tasks: &[crate::proc::TaskSample]) {
        let record = &mut self.record;
        let first_cpu = &mut self.first_cpu;
        record.samples += 1;
        record.duration = at;
        for sample in tasks {
            let state = classify(sample.state, sample.wchan.as_deref(), sample.syscall);
            if let State::Waiting(_) = state {
                record.sleeping_samples += 1;
                if sample.wchan.is_some() || sample.syscall.is_some() {
                    record.explained_samples += 1;
                }
            }
            let row = match self.rows.get(&(sample.pid, sample.tid)) {
                Some(&(row, started)) if started == sample.started => row,
                _ => {
                    record.tasks.push(Task {
                        pid: sample.pid,
                        tid: sample.tid,
                        ppid: sample.ppid,
                        name: sample.name.clone(),
                        spans: Vec::new(),
                        cpu: Duration::ZERO,
                    });
                    first_cpu.push(sample.cpu_ticks);
                    let row = record.tasks.len() - 1;
                    self.rows
                        .insert((sample.pid, sample.tid), (row, sample.started));
                    row
                }
            };
            let task = &mut record.tasks[row];
            // A zombie's program is gone: keep the name it had while alive.
            if state != State::Zombie {
                task.name.clone_from(&sample.name);
            }
            let used = sample.cpu_ticks.saturating_sub(first_cpu[row]);
            task.cpu = self.clock_tick * used as u32;
            match task.spans.last_mut() {
                Some(span) if span.state == state => span.end = at,
                Some(span) => {
                    span.end = at;
                    task.spans.push(Span {
                        start: at,
                        end: at,
                        state,
                        wchan: sample.wchan.clone(),
                    });
                }
                None => task.spans.push(Span {
                    start: at,
                    end: at,
                    state,
                    wchan: sample.wchan.clone(),
                }),
            }
        }
    }

    pub(crate) fn finish(mut self, observer_cpu: Duration) -> Record {
        // The last span of a task still alive lasts one interval past its sample, as every
        // other span lasts until the next sample.
        let interval = self.record.interval;
        for task in &mut self.record.tasks {
            if let Some(span) = task.spans.last_mut() {
                if span.end == span.start {
                    span.end += interval.min(Duration::from_millis(1));
                }
            }
        }
        self.record.observer_cpu = observer_cpu;
        self.record
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: u64, end: u64, state: State) -> Span {
        let ms = Duration::from_millis;
        Span {
            start: ms(start),
            end: ms(end),
            state,
            wchan: None,
        }
    }

    #[test]
    fn wchan_names_are_sorted_by_what_they_wait_for() {
        assert_eq!(wait_of_wchan("hrtimer_nanosleep"), Wait::Timer);
        assert_eq!(wait_of_wchan("futex_do_wait"), Wait::Lock);
        assert_eq!(wait_of_wchan("anon_pipe_read"), Wait::Io);
        assert_eq!(wait_of_wchan("do_wait"), Wait::Child);
        assert_eq!(wait_of_wchan("do_epoll_wait"), Wait::Io);
        assert_eq!(wait_of_wchan("something_else"), Wait::Other);
    }

    #[test]
    fn a_hidden_wchan_falls_back_to_the_system_call() {
        let sleeping = classify('S', None, Some(libc::SYS_clock_nanosleep));
        assert_eq!(sleeping, State::Waiting(Wait::Timer));
        assert_eq!(classify('S', None, None), State::Waiting(Wait::Other));
        assert_eq!(classify('R', Some("0"), None), State::Running);
    }

    #[test]
    fn time_with_at_least_counts_only_overlaps() {
        let task = |spans| Task {
            pid: 1,
            tid: 1,
            ppid: 0,
            name: String::new(),
            spans,
            cpu: Duration::ZERO,
        };
        let sleep = State::Waiting(Wait::Timer);
        let a = task(vec![span(0, 10, sleep), span(10, 20, State::Running)]);
        let b = task(vec![span(5, 15, sleep), span(15, 30, State::Zombie)]);
        let record = Recorder::new(1, Duration::from_millis(1)).record;
        let both = record.time_with_at_least(2, &[&a, &b], |s| s == sleep);
        assert_eq!(both, Duration::from_millis(5));
        let either = record.time_with_at_least(1, &[&a, &b], |s| s == sleep);
        assert_eq!(either, Duration::from_millis(15));
        assert_eq!(a.overlap(&b), Duration::from_millis(10));
    }

    #[test]
    fn a_task_missed_by_one_sample_is_one_row_and_a_reused_tid_a_new_one() {
        let sample = |tid, started| crate::proc::TaskSample {
            pid: 1,
            tid,
            ppid: 0,
            name: format!("t{tid}"),
            state: 'S',
            wchan: None,
            syscall: None,
            cpu_ticks: 0,
            started,
        };
        let ms = Duration::from_millis;
        let mut recorder = Recorder::new(1, ms(1));
        recorder.add(ms(0), &[sample(1, 5), sample(2, 7)]);
        recorder.add(ms(1), &[sample(1, 5)]); // 2 skipped by the listing
        recorder.add(ms(2), &[sample(1, 5), sample(2, 7)]);
        recorder.add(ms(3), &[sample(1, 5), sample(2, 9)]); // 2 exited, its id reused
        let record = recorder.finish(Duration::ZERO);
        let rows_of_2: Vec<&Task> = record.tasks.iter().filter(|t| t.tid == 2).collect();
        assert_eq!(rows_of_2.len(), 2, "{:?}", record.tasks);
        assert_eq!(rows_of_2[0].lifetime(), (ms(0), ms(2)));
        assert_eq!(rows_of_2[1].lifetime().0, ms(3));
    }
}
