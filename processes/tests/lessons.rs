//! Runs every process lesson with a short tick and checks the point it teaches.
//!
//! Timing checks compare wall-clock time with the ticks a lesson must (or must not) spend, with
//! wide margins: a lower bound comes from the sleeps themselves, and an upper bound is set well
//! below the sequential cost. The lessons that keep both cores busy (`spawn_cost`, `cpu_bound`)
//! run alone, never beside a timed one. While a lesson runs and once after, no process it
//! started may be left running without its parent (see `common`). Linux: the checks read
//! `/proc`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{RwLock, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use testkit::{Lesson, Run, State, Task, Wait};

/// `spawn_cost` and `cpu_bound` keep both cores busy: they run alone (write), the other lessons
/// together (read).
static CORES: RwLock<()> = RwLock::new(());

/// Every lesson, in reading order.
const LESSONS: [&str; 18] = [
    "single_process",
    "spawn",
    "spawn_by_hand",
    "pids",
    "args_kwargs",
    "no_shared_globals",
    "queue",
    "pipe",
    "lock",
    "shared_memory",
    "manager",
    "pool_apply",
    "pool_async",
    "pool_options",
    "terminate",
    "process_states",
    "spawn_cost",
    "cpu_bound",
];

fn bin(name: &str) -> &'static str {
    match name {
        "single_process" => env!("CARGO_BIN_EXE_single_process"),
        "spawn" => env!("CARGO_BIN_EXE_spawn"),
        "spawn_by_hand" => env!("CARGO_BIN_EXE_spawn_by_hand"),
        "pids" => env!("CARGO_BIN_EXE_pids"),
        "args_kwargs" => env!("CARGO_BIN_EXE_args_kwargs"),
        "no_shared_globals" => env!("CARGO_BIN_EXE_no_shared_globals"),
        "queue" => env!("CARGO_BIN_EXE_queue"),
        "pipe" => env!("CARGO_BIN_EXE_pipe"),
        "lock" => env!("CARGO_BIN_EXE_lock"),
        "shared_memory" => env!("CARGO_BIN_EXE_shared_memory"),
        "manager" => env!("CARGO_BIN_EXE_manager"),
        "pool_apply" => env!("CARGO_BIN_EXE_pool_apply"),
        "pool_async" => env!("CARGO_BIN_EXE_pool_async"),
        "pool_options" => env!("CARGO_BIN_EXE_pool_options"),
        "terminate" => env!("CARGO_BIN_EXE_terminate"),
        "process_states" => env!("CARGO_BIN_EXE_process_states"),
        "spawn_cost" => env!("CARGO_BIN_EXE_spawn_cost"),
        "cpu_bound" => env!("CARGO_BIN_EXE_cpu_bound"),
        "processes" => env!("CARGO_BIN_EXE_processes"),
        other => panic!("no lesson {other}"),
    }
}

fn lesson(name: &str) -> Lesson {
    Lesson::new(bin(name)).env(common::MARK, &common::our_mark())
}

/// Where cargo put the lesson binaries.
fn bin_dir() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_processes"))
        .parent()
        .expect("a binary lives in a directory")
}

/// Runs a lesson beside the other timed lessons; see [`watched`].
fn run(lesson: Lesson) -> Run {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    watched(lesson)
}

/// Runs a lesson that keeps the cores busy, alone; see [`watched`].
fn run_alone(lesson: Lesson) -> Run {
    let _alone = CORES.write().unwrap_or_else(|e| e.into_inner());
    watched(lesson)
}

/// Runs a lesson and checks, every 50 ms until it has ended and once more after, that none of
/// the processes of this test's lesson runs outlives its parent.
fn watched(lesson: Lesson) -> Run {
    let done = AtomicBool::new(false);
    let (run, mut orphans) = thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut seen = BTreeSet::new();
            while !done.load(Ordering::Relaxed) {
                seen.extend(common::orphans(bin_dir()));
                thread::sleep(Duration::from_millis(50));
            }
            seen
        });
        let run = lesson.run();
        done.store(true, Ordering::Relaxed);
        (run, watcher.join().unwrap())
    });
    orphans.extend(common::orphans(bin_dir()));
    assert!(
        orphans.is_empty(),
        "orphaned lesson processes: {orphans:#?}"
    );
    run
}

/// Every unsigned whole number in a line, in order.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter(|n| !n.is_empty())
        .map(|n| n.parse().unwrap())
        .collect()
}

/// How long at least two of a pool's `workers` were inside a task at once, as observed: a
/// task sleeps its ticks (`thread::sleep`), an idle worker waits for the next call on a socket.
/// Telling the two apart needs the kernel to say what a sleep waits for.
fn at_least_two_in_a_task(run: &Run, workers: &[&Task]) -> Duration {
    let record = run.observed();
    assert!(
        record.reasons_visible(),
        "this kernel hides what a sleeping thread waits for (wchan, syscall):\n{run}"
    );
    let in_task = |state| state == State::Waiting(Wait::Timer);
    record.time_with_at_least(2, workers, in_task)
}

/// The lines after each `--- ` heading, heading included, one group per heading.
fn sections(run: &Run) -> Vec<Vec<&str>> {
    let mut sections: Vec<Vec<&str>> = Vec::new();
    for line in run.stdout.lines() {
        if line.starts_with("--- ") {
            sections.push(Vec::new());
        }
        if let Some(section) = sections.last_mut() {
            section.push(line);
        }
    }
    sections
}

fn between<'a>(lines: &[&'a str], prefix: &str, suffix: &str) -> Vec<&'a str> {
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(prefix)?.strip_suffix(suffix))
        .collect()
}

/// The index of the first line of `lines` that starts with `prefix`; panics if there is none.
fn first(lines: &[&str], prefix: &str) -> usize {
    lines
        .iter()
        .position(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?} in {lines:#?}"))
}

/// The index of the last line of `lines` that starts with `prefix`; panics if there is none.
fn last(lines: &[&str], prefix: &str) -> usize {
    lines
        .iter()
        .rposition(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starts with {prefix:?} in {lines:#?}"))
}

/// A pid that belonged to a process that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

/// Checks the one-line error of a lesson whose pid-named file cannot be made.
fn assert_names_the_file(run: &Run, prefix: &str) {
    assert_eq!(run.status.code(), Some(1), "{run}");
    let line = run.stderr.trim_end();
    assert!(!line.contains('\n'), "one line:\n{run}");
    assert!(
        line.starts_with("error: ") && line.contains(prefix) && line.contains("No such file"),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn index_lists_every_lesson_in_reading_order_with_its_command() {
    let run = run(lesson("processes")).success();
    run.assert_lists_lessons("processes", &LESSONS);
}

#[test]
fn single_process_takes_the_sum_of_the_sleeps() {
    let run = run(lesson("single_process").tick_ms(60).observe()).success();
    // As observed: one process, one thread, no child, for the whole run.
    assert!(run.observed_children().is_empty(), "{run}");
    assert_eq!(run.observed().tasks.len(), 1, "{run}");
    assert_eq!(run.count("i love pyhton"), 3, "{run}");
    assert_eq!(run.count("come on baby"), 3, "{run}");
    assert!(
        run.position("work_1 end") < run.position("work_2 start"),
        "work_1 must finish before work_2 starts:\n{run}"
    );
    assert!(run.number_after("both works took") >= 6.0, "{run}");
    assert!(run.elapsed_ticks() >= 6.0, "{run}");
}

/// The observed processes whose pids the lesson printed after `label`, each checked to be a
/// child of the lesson's own process.
fn observed_children_named<'r>(run: &'r Run, label: &str) -> Vec<&'r Task> {
    let lines = run.lines();
    let printed = lines.iter().filter(|l| l.contains(label));
    let pids = printed.map(|l| numbers(&l[l.find(label).unwrap() + label.len()..])[0]);
    let root = run.observed().root;
    (pids.map(|pid| {
        let child = run.observed().process(pid as u32);
        let child = child.unwrap_or_else(|| panic!("pid {pid} was never observed:\n{run}"));
        assert_eq!(child.ppid, root, "{pid} is not the lesson's child:\n{run}");
        child
    }))
    .collect()
}

/// `spawn` and `spawn_by_hand` run the same two jobs in two children at once.
fn assert_two_children_at_once(run: &Run, parent: u64) {
    assert_eq!(parent, run.observed().root as u64, "{run}");
    let children = observed_children_named(run, "(pid ");
    let [one, two] = children[..] else {
        panic!("two children expected:\n{run}");
    };
    assert_ne!(one.pid, two.pid, "two processes:\n{run}");
    // As observed: both alive for most of their 3 ticks, at the same time.
    assert!(run.ticks(one.overlap(two)) > 2.0, "not at once:\n{run}");
    assert_eq!(run.count("i love pyhton"), 3, "{run}");
    assert_eq!(run.count("come on baby"), 3, "{run}");
    // Together they take about 3 ticks; one after the other they would take 6.
    let ticks = run.number_after("joined both after");
    assert!((3.0..5.0).contains(&ticks), "{run}");
}

#[test]
fn spawn_runs_two_named_processes_at_once() {
    let run = run(lesson("spawn").tick_ms(100).observe()).success();
    assert_two_children_at_once(&run, run.number_after("parent ") as u64);
}

#[test]
fn spawn_joining_each_child_at_once_runs_them_one_after_the_other() {
    let run = run(lesson("spawn").tick_ms(60).args(["--join-each"]).observe()).success();
    let children = observed_children_named(&run, "(pid ");
    let [one, two] = children[..] else {
        panic!("two children expected:\n{run}");
    };
    // As observed: the second child started once the first was done. (Its answer reaches the
    // parent before it has quite exited, so allow the few milliseconds of its exit.)
    assert!(run.ticks(one.overlap(two)) < 0.5, "they overlapped:\n{run}");
    assert!(
        run.position("work_1 end") < run.position("work_2 start"),
        "{run}"
    );
    assert!(run.number_after("joined both after") >= 6.0, "{run}");
}

#[test]
fn spawn_by_hand_runs_itself_twice_in_the_child_role() {
    let run = run(lesson("spawn_by_hand").tick_ms(100).observe()).success();
    let parent = run.number_after("parent ") as u64;
    assert!(
        run.stdout.contains("runs itself twice with --child"),
        "{run}"
    );
    assert_two_children_at_once(&run, parent);
}

#[test]
fn pids_the_childs_parent_is_the_parent() {
    let run = run(lesson("pids").observe()).success();
    let main_line = run.lines()[run.position("主进程 pid=")];
    let parent = numbers(main_line)[0];
    let child_lines: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("in 子进程 pid="))
        .collect();
    assert_eq!(child_lines.len(), 3, "{run}");
    for line in child_lines {
        let [child, its_parent] = numbers(line)[..] else {
            panic!("two pids expected in {line:?}");
        };
        assert_eq!(its_parent, parent, "{run}");
        assert_ne!(child, parent, "{run}");
        // The printed ids are the kernel's: the child's observed parent is the lesson.
        assert_eq!(parent, run.observed().root as u64, "{run}");
        let observed = run.observed().process(child as u32);
        let observed = observed.unwrap_or_else(|| panic!("{child} never observed:\n{run}"));
        assert_eq!(observed.ppid as u64, parent, "{run}");
        assert_eq!(run.number_after("joined the child") as u64, child, "{run}");
    }
}

#[test]
fn args_kwargs_arrive_intact() {
    let run = run(lesson("args_kwargs").observe()).success();
    // The function ran in a child process of the lesson, not in the lesson itself.
    let [_child] = observed_children_named(&run, "child ")[..] else {
        panic!("one child expected:\n{run}");
    };
    let lines = run.lines();
    let at = run.position("runs test(a, b, c, *args, **kwargs)");
    assert_eq!(
        lines[at + 1..],
        ["11", "22", "33", "(44, 55)", "{'name': 'test'}"],
        "{run}"
    );
}

#[test]
fn args_kwargs_carry_whatever_the_parent_sends() {
    let run = run(lesson("args_kwargs").args([
        "--args=-1,2,3,4",
        "--kwarg",
        "name=ok",
        "--kwarg",
        "age=18",
    ]))
    .success();
    let lines = run.lines();
    let at = run.position("runs test(a, b, c, *args, **kwargs)");
    assert_eq!(
        lines[at + 1..],
        ["-1", "2", "3", "(4,)", "{'age': 18, 'name': 'ok'}"],
        "{run}"
    );
    let child = run.number_after("child ") as u64;
    assert_ne!(child, u64::from(std::process::id()), "{run}");
}

#[test]
fn no_shared_globals_fork_copies_the_parents_list_spawn_starts_afresh() {
    let run = run(lesson("no_shared_globals")).success();
    assert_eq!(
        run.lines()[0],
        "主进程 appends 99: nums=[11, 22, 33, 99]",
        "{run}"
    );
    let sections = sections(&run);
    let [fork, spawn] = &sections[..] else {
        panic!("a fork part and a spawn part:\n{run}");
    };
    let children = |part: &[&str]| -> BTreeSet<String> {
        part.iter()
            .filter(|l| l.starts_with("进程"))
            .map(|l| l.to_string())
            .collect()
    };
    // The parent's change made after process 1 started, before process 2 was forked.
    assert_eq!(
        fork.iter()
            .filter(|l| l.starts_with("主进程 appends 77"))
            .count(),
        1,
        "{run}"
    );
    // Forked after the 99: a copy of the parent's memory as it was at each fork, so the 77
    // reaches process 2 (forked after it) and not process 1 (running before it).
    assert_eq!(
        children(fork),
        BTreeSet::from([
            "进程1中 nums=[11, 22, 33, 99, 44]".to_string(),
            "进程2中 nums=[11, 22, 33, 99, 77, 44]".to_string()
        ]),
        "each forked child sees the parent's list as at its fork and only its own 44:\n{run}"
    );
    // Spawned: the program from the start, without the 99.
    assert_eq!(
        children(spawn),
        BTreeSet::from([
            "进程1中 nums=[11, 22, 33, 44]".to_string(),
            "进程2中 nums=[11, 22, 33, 44]".to_string()
        ]),
        "each spawned child sees neither the 99 nor its sibling's 44:\n{run}"
    );
    for part in [fork, spawn] {
        assert_eq!(
            *part.last().unwrap(),
            "主进程中 nums=[11, 22, 33, 99, 77] after joining both",
            "the children's 44s never reach the parent:\n{run}"
        );
    }
}

#[test]
fn queue_items_arrive_in_order_put_waits_when_full_and_the_end_is_seen() {
    let run = run(lesson("queue").tick_ms(100)).success();
    let sections = sections(&run);
    let [numbers, letters, full, killed] = &sections[..] else {
        panic!("four parts expected:\n{run}");
    };
    let taken = |part: &[&str]| between(part, "从 queue 接受 ", " .").join(" ");
    let closed = "不生产了，散了散了 (the queue is closed";

    assert_eq!(taken(numbers), "1 2 3 4 5 6", "{run}");
    assert!(numbers.last().unwrap().starts_with(closed), "{run}");

    // The parent keeps the queue open: only the timeout can end the consumer.
    assert_eq!(taken(letters), "A B C", "{run}");
    assert_eq!(
        *letters.last().unwrap(),
        "不生产了，散了散了 (nothing for 3 ticks)",
        "{run}"
    );

    assert_eq!(taken(full), "1 2 3 4 5", "{run}");
    let full_line = first(full, "queue 满了 (2 个), 3 等着");
    let consumer_takes_1 = first(full, "从 queue 接受 1 .");
    let put_3 = first(full, "发送 3 到 queue");
    assert!(
        first(full, "发送 2 到 queue") < full_line && full_line < consumer_takes_1,
        "put_nowait(3) finds the queue full before any consumer runs:\n{run}"
    );
    assert!(
        consumer_takes_1 < put_3,
        "put(3) waits until the consumer has taken an item:\n{run}"
    );
    assert!(full.last().unwrap().starts_with(closed), "{run}");

    assert_eq!(taken(killed), "X", "{run}");
    let kill = first(killed, "kill -9 ");
    assert!(first(killed, "从 queue 接受 X .") < kill, "{run}");
    assert!(kill < last(killed, closed), "{run}");
    // The parent waits with a timeout of 100 ticks: only seeing the end lets it stop sooner.
    assert!(run.elapsed_ticks() < 40.0, "{run}");
}

#[test]
fn pipe_carries_a_b_c_one_way_and_both_ways() {
    let run = run(lesson("pipe")).success();
    let sections = sections(&run);
    let [one_way, two_way] = &sections[..] else {
        panic!("two parts expected:\n{run}");
    };
    assert_eq!(
        between(one_way, "从 pipe 接受 ", " .").join(" "),
        "A B C",
        "{run}"
    );
    assert!(
        one_way.last().unwrap().starts_with("读到文件末尾"),
        "the reader must stop at end of file:\n{run}"
    );
    let answers: Vec<&str> = two_way
        .iter()
        .filter_map(|l| l.strip_prefix("回复: 收到 "))
        .collect();
    assert_eq!(answers.len(), 3, "{run}");
    let letters: Vec<&str> = answers.iter().map(|a| &a[..1]).collect();
    assert_eq!(letters, ["A", "B", "C"], "{run}");
    let children: BTreeSet<&str> = answers.iter().map(|a| &a[1..]).collect();
    assert_eq!(children.len(), 1, "one child answers all three:\n{run}");
}

#[test]
fn lock_keeps_each_block_together() {
    let run = run(lesson("lock").tick_ms(100)).success();
    let sections = sections(&run);
    let [unlocked, locked] = &sections[..] else {
        panic!("two parts expected:\n{run}");
    };
    let rows = |part: &[&str], text: &str| -> Vec<usize> {
        part.iter()
            .enumerate()
            .filter(|(_, l)| l.starts_with(text))
            .map(|(i, _)| i)
            .collect()
    };

    let (love, baby) = (
        rows(unlocked, "i love pyhton"),
        rows(unlocked, "come on baby"),
    );
    assert!(
        love[0] < *baby.last().unwrap() && baby[0] < *love.last().unwrap(),
        "without the lock the two blocks overlap:\n{run}"
    );

    let jobs = [
        ("i love pyhton", "work_1 end"),
        ("come on baby", "work_2 end"),
    ];
    for (mine, theirs) in [(jobs[0], jobs[1]), (jobs[1], jobs[0])] {
        let first = rows(locked, mine.0)[0];
        let end = rows(locked, mine.1)[0];
        let block = &locked[first..=end];
        assert_eq!(
            block.iter().filter(|l| l.starts_with(mine.0)).count(),
            3,
            "{run}"
        );
        assert!(
            !block
                .iter()
                .any(|l| l.starts_with(theirs.0) || l.starts_with(theirs.1)),
            "with the lock, {:?} must be one block:\n{run}",
            mine.0
        );
    }
    let path = locked[0]
        .strip_prefix("--- with the lock file ")
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_else(|| panic!("the lock file is named:\n{run}"));
    assert!(!Path::new(path).exists(), "{path} left behind");
}

/// A temporary directory holding the file a killed run of `lesson` left behind.
fn with_stale_file(name: impl Fn(u32) -> String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let stale = dir.path().join(name(dead_pid()));
    fs::write(&stale, "").unwrap();
    (dir, stale)
}

#[test]
fn lock_clears_a_stale_lock_file_and_names_the_file_it_cannot_create() {
    let (dir, stale) = with_stale_file(|pid| format!("processes-lock-{pid}.lock"));
    let tmp = dir.path().to_str().unwrap();
    run(lesson("lock").env("TMPDIR", tmp)).success();
    assert!(!stale.exists(), "{} is still there", stale.display());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "left behind");

    let missing = dir.path().join("missing");
    let run = run(lesson("lock").env("TMPDIR", missing.to_str().unwrap()));
    assert_names_the_file(&run, &format!("{}/processes-lock-", missing.display()));
}

#[test]
fn shared_memory_children_write_what_the_parent_reads() {
    let run = run(lesson("shared_memory").observe()).success();
    // Two children besides the parent: three distinct processes touched the mapping.
    let children = run.observed_children();
    let pids: BTreeSet<u32> = children.iter().map(|c| c.pid).collect();
    assert_eq!(pids.len(), 2, "two child processes:\n{run}");
    assert!(!pids.contains(&run.observed().root), "{run}");
    let values: Vec<&str> = between(&run.lines(), "the value :  ", "");
    let arrays: Vec<&str> = between(&run.lines(), "the array : ", "");
    assert_eq!(values.len(), 3, "{run}");
    assert_eq!(values[0], "1.1", "{run}");
    assert_eq!(arrays[0], "0 1 2 3 4 5 6 7 8 9 10", "{run}");
    assert_eq!(values[1], "0.0", "a.join() is after a's write:\n{run}");
    assert_eq!(values[2], "0.0", "{run}");
    assert_eq!(arrays[2], "2 3 4 5 6 7 8 9 10 11 12", "{run}");
    let line = run.lines()[run.position("shared memory: ")];
    let path = line["shared memory: ".len()..].split(',').next().unwrap();
    assert!(!Path::new(path).exists(), "{path} left behind");
}

#[test]
fn shared_memory_clears_a_stale_file_and_names_the_file_it_cannot_create() {
    let (dir, stale) = with_stale_file(|pid| format!("processes-shared-memory-{pid}"));
    let tmp = dir.path().to_str().unwrap();
    run(lesson("shared_memory").args(["--dir", tmp])).success();
    assert!(!stale.exists(), "{} is still there", stale.display());
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "left behind");

    let missing = dir.path().join("missing");
    let run = run(lesson("shared_memory").args(["--dir", missing.to_str().unwrap()]));
    assert_names_the_file(
        &run,
        &format!("{}/processes-shared-memory-", missing.display()),
    );
}

#[test]
fn manager_serves_distinct_objects_that_the_child_changes_through_proxies() {
    let run = run(lesson("manager")).success();
    let lines = run.lines();
    let child = run.position("child ");
    let dict = run.position("{'name': 'zhangyanlin', 'age': 18, 'Job': 'pythoner'}");
    let list = run.position("[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    assert!(child < dict && child < list, "{run}");
    assert_eq!(
        lines[dict],
        "{'name': 'zhangyanlin', 'age': 18, 'Job': 'pythoner'}"
    );
    // Each dict() is an object of its own in the manager: the child's keys never reach d2.
    let ids = lines[run.position("d = dict ")].replace("d2", "");
    let [d, d2, l] = numbers(&ids)[..] else {
        panic!("three ids:\n{run}");
    };
    assert_eq!(BTreeSet::from([d, d2, l]).len(), 3, "{run}");
    assert!(lines.contains(&"d2 = {'name': 'another dict'}"), "{run}");
    // man.Value and man.Lock: two children read and write v.value under the lock, 500 times
    // each, two requests apiece; had the lock let both in, updates would be lost (without it,
    // runs here came out between 529 and 625).
    let adders: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_suffix(": with lock: v.value += 1, 500 times"))
        .collect();
    assert_eq!(adders.len(), 2, "two children added:\n{run}");
    let total = run.position("v.value = 1000 (2 children, 500 increments each");
    assert!(
        lines
            .iter()
            .rposition(|l| l.contains("v.value += 1"))
            .unwrap()
            < total,
        "{run}"
    );
    assert!(run.stdout.ends_with("the manager shut down\n"), "{run}");
    let manager = run.number_after("manager process ") as u64;
    assert_ne!(manager, run.number_after("child ") as u64, "{run}");
    let line = lines[run.position("serves on ")];
    let path = line.rsplit(' ').next().unwrap();
    assert!(!Path::new(path).exists(), "{path} left behind");
}

#[test]
fn manager_clears_a_stale_socket_and_names_the_socket_it_cannot_bind() {
    let (dir, stale) = with_stale_file(|pid| format!("processes-manager-{pid}.sock"));
    let tmp = dir.path().to_str().unwrap();
    run(lesson("manager").env("TMPDIR", tmp)).success();
    assert!(!stale.exists(), "{} is still there", stale.display());
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| name.to_string_lossy().starts_with("processes-"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    let missing = dir.path().join("missing");
    let run = run(lesson("manager").env("TMPDIR", missing.to_str().unwrap()));
    assert_names_the_file(&run, &format!("{}/processes-manager-", missing.display()));
}

#[test]
fn pool_apply_runs_one_task_at_a_time_and_pool2_gives_the_third_to_a_free_worker() {
    // A long tick: the bound below leaves 2 ticks for a busy machine and still fails at 12.
    let run = run(lesson("pool_apply").tick_ms(250).observe()).success();
    let sections = sections(&run);
    let [apply, pool2] = &sections[..] else {
        panic!("two parts expected:\n{run}");
    };
    let returned: Vec<u64> = apply
        .iter()
        .filter(|l| l.starts_with("apply(work, ("))
        .map(|l| *numbers(l).last().unwrap())
        .collect();
    assert_eq!(returned, [100, 101, 102, 103, 104], "{run}");
    // Strictly one at a time: every task finishes before the next one starts.
    let steps: Vec<&&str> = apply.iter().filter(|l| l.starts_with("work ")).collect();
    let expected: Vec<String> = (0..5)
        .flat_map(|i| [format!("work {i} 启动"), format!("work {i} 运行完成")])
        .collect();
    assert_eq!(steps.len(), expected.len(), "{run}");
    for (step, expected) in steps.iter().zip(&expected) {
        assert!(step.starts_with(expected.as_str()), "{run}");
    }
    let pids: BTreeSet<u64> = steps
        .iter()
        .filter(|l| l.contains("启动, pid"))
        .map(|l| *numbers(l).last().unwrap())
        .collect();
    assert!(
        pids.len() <= 3,
        "at most 3 workers for 5 tasks, so pids repeat:\n{run}"
    );
    assert!(
        first(apply, "apply(work, (4,))") < first(apply, "进程开始启动"),
        "{run}"
    );
    assert!(run.number_after("workers took") >= 5.0, "{run}");
    // As observed: the first pool's 3 workers never slept through a task at the same time;
    // the second pool's 2 workers did, for most of the run.
    let workers = run.observed_children();
    assert_eq!(workers.len(), 5, "3 + 2 workers:\n{run}");
    let (apply_workers, pool2_workers) = workers.split_at(3);
    let at_once = |workers| run.ticks(at_least_two_in_a_task(&run, workers));
    assert!(at_once(apply_workers) < 0.2, "apply overlapped:\n{run}");
    assert!(at_once(pool2_workers) > 4.0, "apply_async did not:\n{run}");

    // Pool(2): the third task starts when 花太香 is done, on the worker that played it, while
    // the movie still plays.
    let worker = |prefix: &str| *numbers(pool2[first(pool2, prefix)]).last().unwrap();
    let music = worker("music('花太香', 3) starts in worker ");
    let movie = worker("movie('王牌特工', 4) starts in worker ");
    let third = first(pool2, "music('爱的故事上集', 2) starts in worker ");
    assert_ne!(music, movie, "{run}");
    assert_eq!(worker("music('爱的故事上集', 2)"), music, "{run}");
    assert_eq!(
        pool2.iter().filter(|l| l.ends_with("花太香")).count(),
        3,
        "{run}"
    );
    assert!(last(pool2, "您现在正在听的音乐是花太香") < third, "{run}");
    assert!(third < last(pool2, "您现在正在看的电影是王牌特工"), "{run}");
    // 3 × 2 ticks, then 2 × 2 on the freed worker: 10 ticks; after both others it would be 12.
    let ticks = run.number_after("结束 after");
    assert!((10.0..12.0).contains(&ticks), "{run}");
}

#[test]
fn pool_async_returns_at_once_and_runs_callbacks_in_the_parent() {
    let run = run(lesson("pool_async").tick_ms(100).observe()).success();
    let parent = run.number_after("Parent process") as u64;
    let end = run.position("end");
    let callbacks: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("-->exec done: "))
        .collect();
    assert!(
        end < run.position("-->exec done"),
        "apply_async must not wait:\n{run}"
    );
    let mut results: Vec<u64> = callbacks.iter().map(|l| numbers(l)[0]).collect();
    results.sort();
    assert_eq!(results, (100..110).collect::<Vec<_>>(), "{run}");
    for line in &callbacks {
        assert_eq!(
            numbers(line)[1],
            parent,
            "callbacks run in the parent:\n{run}"
        );
    }
    let in_order = "[100, 101, 102, 103, 104, 105, 106, 107, 108, 109]";
    assert!(
        run.stdout
            .contains(&format!("get() on each handle: {in_order}")),
        "{run}"
    );
    assert!(
        run.stdout.contains(&format!("map(foo, 0..10): {in_order}")),
        "{run}"
    );
    let workers: Vec<u64> = run
        .lines()
        .iter()
        .filter(|l| l.starts_with("run work ("))
        .map(|l| *numbers(l).last().unwrap())
        .collect();
    assert_eq!(workers.len(), 20, "{run}");
    let distinct: BTreeSet<u64> = workers.iter().copied().collect();
    assert!(distinct.len() <= 5, "at most 5 worker pids, reused:\n{run}");
    assert!(!distinct.contains(&parent), "{run}");
    // 20 one-tick tasks on 5 workers: about 4 ticks; one at a time they would take 20.
    let ticks = run.number_after("workers took");
    assert!((4.0..12.0).contains(&ticks), "{run}");
    assert!(run.stdout.ends_with("close() and join() done\n"), "{run}");
    // As observed: 5 worker processes, and tasks sleeping in several of them at once.
    let workers = run.observed_children();
    assert_eq!(workers.len(), 5, "{run}");
    assert!(
        run.ticks(at_least_two_in_a_task(&run, &workers)) > 1.5,
        "{run}"
    );
}

#[test]
fn pool_async_a_killed_worker_fails_its_task_and_the_pool_carries_on() {
    let run = run(lesson("pool_async").args(["--processes", "1", "--kill-worker"])).success();
    let victim = numbers(run.lines()[first(&run.lines(), "kill -9 ")])[1];
    let failed = format!("foo(20).get() on the killed worker {victim}: error: ");
    assert!(run.stdout.contains(&failed), "{run}");
    let replacement = run.lines()[run.position("run work (21) ,work id ")];
    assert_ne!(*numbers(replacement).last().unwrap(), victim, "{run}");
    assert!(
        run.stdout
            .contains("foo(21) on the worker that replaced it returned 121"),
        "{run}"
    );
    // The killed task was 100 ticks long: its handle failed at once.
    assert!(run.elapsed_ticks() < 60.0, "{run}");
}

#[test]
fn pool_options_processes_initializer_callbacks_maxtasksperchild_kill_terminate() {
    let run = run(lesson("pool_options")).success();
    let sections = sections(&run);
    let [default, initializer, maxtasks, killed, terminate] = &sections[..] else {
        panic!("five parts expected:\n{run}");
    };

    let cpus = thread::available_parallelism().unwrap().get();
    let started =
        format!("Pool() started {cpus} worker processes: available_parallelism() = {cpus}");
    assert!(default.contains(&started.as_str()), "{run}");

    let initialized: Vec<u64> = initializer
        .iter()
        .filter(|l| l.starts_with("initializer(\"你好\") in worker "))
        .map(|l| *numbers(l).last().unwrap())
        .collect();
    let once_each: BTreeSet<u64> = initialized.iter().copied().collect();
    assert_eq!(once_each.len(), 2, "two workers:\n{run}");
    assert_eq!(
        initialized.len(),
        2,
        "the initializer runs once per worker:\n{run}"
    );
    let callbacks: Vec<&&str> = initializer
        .iter()
        .filter(|l| l.starts_with("callback: square("))
        .collect();
    assert_eq!(callbacks.len(), 6, "{run}");
    for (x, line) in (1..=6_u64).zip(&callbacks) {
        let [n, value, pid] = numbers(line)[..] else {
            panic!("{line:?}");
        };
        assert_eq!((n, value), (x, x * x), "{run}");
        assert!(once_each.contains(&pid), "{run}");
    }
    let error = initializer
        .iter()
        .find(|l| l.starts_with("error_callback: ZeroDivisionError: division by zero (in worker "))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(once_each.contains(numbers(error).last().unwrap()), "{run}");

    let mut tasks_per_worker = BTreeMap::<u64, Vec<u64>>::new();
    for line in maxtasks.iter().filter(|l| l.starts_with("square(")) {
        let [x, _, pid] = numbers(line)[..] else {
            panic!("{line:?}");
        };
        tasks_per_worker.entry(pid).or_default().push(x);
    }
    let done: BTreeSet<u64> = tasks_per_worker.values().flatten().copied().collect();
    assert_eq!(done, (1..=6).collect(), "{run}");
    assert!(
        tasks_per_worker.values().all(|xs| xs.len() <= 2),
        "maxtasksperchild=2:\n{run}"
    );
    assert!(tasks_per_worker.len() >= 3, "new pids:\n{run}");
    assert!(
        tasks_per_worker.keys().all(|pid| !once_each.contains(pid)),
        "{run}"
    );

    let victim = numbers(killed[first(killed, "kill -9 ")])[1];
    let failed = format!("error_callback: the task on worker {victim} failed: ");
    assert!(killed.iter().any(|l| l.starts_with(&failed)), "{run}");
    let others = killed[first(killed, "the other tasks: [1, 4, 9, 16] on workers ")];
    assert!(
        !numbers(others).contains(&victim),
        "the others ran on other workers:\n{run}"
    );

    assert!(
        terminate.contains(&"4 of 4 tasks ended with an error"),
        "{run}"
    );
    let ticks = run.number_after("terminate() returned after ");
    assert!(ticks < 2.0, "terminate must not wait for the tasks:\n{run}");
}

#[test]
fn terminate_stops_endless_children_and_leaves_no_zombie() {
    // Each letter gets 4 ticks to be read and printed before the next one, or SIGTERM.
    let run = run(lesson("terminate").tick_ms(200)).success();
    assert_eq!(
        between(&run.lines(), "从 pipe 接受 ", " .").join(" "),
        "A B C",
        "{run}"
    );
    let first_reader = run.number_after("terminate(): SIGTERM to ") as u32;
    assert!(
        run.stdout
            .contains(&format!("{first_reader} reaped: signal: 15 (SIGTERM)")),
        "{run}"
    );
    let second = run.number_after("kill -9 ") as u32;
    let in_order = [
        format!("{second} blocks SIGTERM"),
        format!("SIGTERM to {second}"),
        format!("{second} after SIGTERM: state"),
        format!("kill -9 {second}"),
        format!("{second} before wait(): state Z"),
        format!("{second} reaped: signal: 9 (SIGKILL)"),
        format!("{second} after wait(): /proc/{second} is gone"),
        "children left: 0".to_string(),
    ];
    let positions: Vec<usize> = in_order.iter().map(|line| run.position(line)).collect();
    assert!(positions.is_sorted(), "{run}");
    assert!(run.stdout.contains("still alive"), "{run}");
}

#[test]
fn process_states_are_seen_running_sleeping_stopped_zombie_then_gone() {
    let run = run(lesson("process_states")).success();
    let expected = [
        ("computing:", 'R'),
        ("waiting for a line:", 'S'),
        ("after SIGSTOP:", 'T'),
        ("after SIGCONT:", 'S'),
        ("exited, not waited for:", 'Z'),
    ];
    let mut last = 0;
    for (label, state) in expected {
        let at = run.position(label);
        assert!(at > last, "{label} out of order:\n{run}");
        let line = run.lines()[at];
        let seen = line[label.len()..].trim_start().chars().next();
        assert_eq!(seen, Some(state), "{run}");
        last = at;
    }
    let gone = run.position("after wait(): exit status: 0; /proc/");
    assert!(gone > last, "{run}");
    assert!(run.lines()[gone].ends_with("is gone"), "{run}");
}

#[test]
fn spawn_cost_a_process_starts_far_slower_than_a_thread() {
    // Typically 20 to 100 times. Wall-clock times also count waiting for a CPU, which other
    // programs on the machine can stretch either way; the CPU time a start costs does not, so
    // that ratio decides, with up to three runs and a wide margin (3).
    let mut best = 0.0_f64;
    for _attempt in 0..3 {
        let args = ["--threads", "300", "--processes", "40"];
        let run = run_alone(lesson("spawn_cost").args(args)).success();
        let wall = [
            run.number_after("median of 300:"),
            run.number_after("median of 40:"),
        ];
        let cpu = run.numbers_after("CPU time, mean:");
        assert_eq!(cpu.len(), 2, "{run}");
        assert!(wall.iter().chain(&cpu).all(|&t| t > 0.0), "{run}");
        // The figures are printed to 0.1 µs, so each ratio follows from them within rounding.
        for (ratio, [thread, process]) in [
            (run.number_after("costs"), wall),
            (run.number_after("in CPU time"), [cpu[0], cpu[1]]),
        ] {
            let expected = process / thread;
            assert!((ratio - expected).abs() <= 0.05 + expected * 0.02, "{run}");
        }
        best = best.max(run.number_after("in CPU time"));
        if best > 3.0 {
            return;
        }
    }
    panic!("a process must cost far more CPU time to start than a thread: best ratio {best}");
}

#[test]
fn spawn_cost_children_are_tied_to_their_parent() {
    // The child's first act is PR_SET_PDEATHSIG, then a check that its parent is the one that
    // started it: a child whose parent is already gone exits with an error at once.
    let orphan = run(lesson("spawn_cost").args(["--child", &dead_pid().to_string()]));
    assert_eq!(orphan.status.code(), Some(1), "{orphan}");
    let ours = std::process::id().to_string();
    run(lesson("spawn_cost").args(["--child", &ours])).success();
}

#[test]
fn cpu_bound_threads_and_processes_both_use_every_core() {
    let workers = thread::available_parallelism().unwrap().get();
    // On an idle machine the speed-ups are close to `workers`; a CPU-bound thread pool held back
    // by a GIL-like lock would stay at about 1.0. Other programs busy on the same cores can pull
    // one run down (other builds and tests, sharing the machine), so each way gets up to five
    // runs to show a speed-up above 1.2.
    let mut best = [0.0_f64; 2];
    for _attempt in 0..5 {
        let run = run_alone(lesson("cpu_bound").args(["--limit", "500000"])).success();
        // There are 41538 primes below 500000, whichever way they are counted.
        let counts: Vec<u64> = run
            .lines()
            .iter()
            .filter(|l| l.contains(" primes"))
            .filter_map(|l| l.split(" primes").next()?.rsplit(' ').next()?.parse().ok())
            .collect();
        assert_eq!(counts, [41538, 41538, 41538], "{run}");
        assert_eq!(run.number_after("runs,") as usize, workers, "{run}");
        let speedups = run.numbers_after("primes  ");
        assert_eq!(speedups.len(), 2, "threads and processes:\n{run}");
        for (best, speedup) in best.iter_mut().zip(speedups) {
            *best = best.max(speedup);
        }
        if workers < 2 || best.iter().all(|&s| s > 1.2) {
            return;
        }
    }
    panic!("threads and processes must both be faster than one thread: best speed-ups {best:?}");
}

/// Starts `name`, waits until `busy` lines of its output contain `ready` (its children are at
/// work), kills it with `kill -9` and checks that every process it started dies at once.
fn assert_children_die_with_the_parent(name: &str, ready: &str, busy: usize) {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    // Another mark than `run`'s: for a moment, these children are orphans on purpose.
    let mark = format!("killed-{}-{name}", std::process::id());
    // Every task or job takes at least a tick of 10 s, twice the deadline below: only their
    // parent's death can end the busy children sooner.
    let mut parent = Command::new(bin(name))
        .env("TICK_MS", "10000")
        .env(common::MARK, &mark)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = parent.id();
    let stdout = BufReader::new(parent.stdout.take().unwrap());
    let (line, lines) = mpsc::channel();
    thread::spawn(move || {
        for text in stdout.lines().map_while(Result::ok) {
            let _ = line.send(text);
        }
    });
    let mut seen = 0;
    while seen < busy {
        match lines.recv_timeout(Duration::from_secs(30)) {
            Ok(text) if text.contains(ready) => seen += 1,
            Ok(_) => {}
            Err(e) => {
                let _ = parent.kill();
                let _ = parent.wait();
                panic!("{name}: {seen} of {busy} lines with {ready:?}: {e}");
            }
        }
    }
    let children: Vec<u32> = common::marked(bin_dir())
        .into_iter()
        .filter(|p| p.mark == mark && p.pid != pid && p.state != 'Z')
        .map(|p| p.pid)
        .collect();
    assert!(children.len() >= busy, "{name}: children {children:?}");
    parent.kill().unwrap(); // kill -9: the parent cannot clean up
    parent.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while children
        .iter()
        .any(|&child| common::state(child).is_some_and(|s| s != 'Z'))
    {
        assert!(
            Instant::now() < deadline,
            "{name}: children {children:?} outlived their parent"
        );
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn procspawn_children_die_with_their_parent() {
    assert_children_die_with_the_parent("spawn", " start====", 2);
}

#[test]
fn a_busy_pool_worker_dies_with_its_parent() {
    // Idle workers end anyway when the parent's end of their task channel closes; the busy one
    // sleeps in its task and only PR_SET_PDEATHSIG ends it.
    assert_children_die_with_the_parent("pool_apply", "work 0 启动", 1);
}

#[test]
fn children_started_by_hand_die_with_their_parent() {
    assert_children_die_with_the_parent("spawn_by_hand", " start====", 2);
}

#[test]
fn bad_input_gives_a_usage_error_not_a_panic() {
    let cases: [(&str, &[&str], &str); 9] = [
        ("spawn", &[], "abc"),
        ("queue", &[], "0"),
        ("pids", &["--rounds", "abc"], "40"),
        ("args_kwargs", &["--args", "1,2"], "40"),
        ("cpu_bound", &["--runs", "0"], "40"),
        ("cpu_bound", &["--workers", "50000"], "40"),
        ("pool_apply", &["--bogus"], "40"),
        ("pool_async", &["--processes", "0"], "40"),
        ("spawn_cost", &["--threads", "0"], "40"),
    ];
    for (name, args, tick) in cases {
        run(lesson(name).env("TICK_MS", tick).args(args)).usage_error();
    }
}

/// Runs `name` with its stdout read by a reader that leaves after `lines` lines, as `| head -n`
/// does, and checks that it ends by itself, quietly: success or SIGPIPE, nothing on stderr.
fn assert_quiet_when_the_reader_leaves(name: &str, args: &[&str], lines: usize) {
    use std::os::unix::process::ExitStatusExt;
    let mut lesson = Command::new(bin(name))
        .args(args)
        .env("TICK_MS", "40")
        // Not `run`'s mark: its children die with it, orphans for a moment, as they should.
        .env(common::MARK, format!("reader-left-{}", std::process::id()))
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = lesson.stderr.take().unwrap();
    let (text, stderr) = mpsc::channel();
    thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut pipe, &mut all);
        let _ = text.send(all);
    });
    let stdout = BufReader::new(lesson.stdout.take().unwrap());
    let read = stdout.lines().take(lines).count();
    // The reader is gone: the lesson's next write to stdout ends it (or it has ended).
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = lesson.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = lesson.kill();
            let _ = lesson.wait();
            panic!("{name} {args:?} still running 30 s after its reader left at line {read}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    // Every process of the lesson holds its stderr: it closes once the last one is gone.
    let stderr = stderr
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{name}: a child outlived it, holding its stderr"));
    let quiet = status.success() || status.signal() == Some(13); // SIGPIPE
    assert!(
        quiet && stderr.is_empty(),
        "{name} {args:?}, reader gone after {read} lines: {status}, stderr {stderr:?}"
    );
}

/// The arguments that keep a lesson's run short.
fn short_args(name: &str) -> &'static [&'static str] {
    match name {
        "cpu_bound" => &["--limit", "20000", "--runs", "1"],
        "spawn_cost" => &["--threads", "10", "--processes", "5"],
        _ => &[],
    }
}

#[test]
fn every_lesson_ends_quietly_when_its_reader_leaves_early() {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    for name in LESSONS.into_iter().chain(["processes"]) {
        for lines in [1, 3] {
            assert_quiet_when_the_reader_leaves(name, short_args(name), lines);
        }
    }
}

#[test]
fn every_lesson_ends_quietly_when_its_stdout_is_closed() {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    for name in LESSONS.into_iter().chain(["processes"]) {
        testkit::assert_quiet_when_stdout_closed(bin(name), short_args(name));
    }
}
