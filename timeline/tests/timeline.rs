//! Runs the `timeline` binary as a person would and checks what they rely on: the list of
//! lessons, the chart of a real run (rows for the processes and threads that existed, marks
//! for what they did), the Chrome trace, the exit status passed through, one line for a bad
//! lesson, and Ctrl-C ending the run with nothing left behind. Linux only, like timeline.

use std::fs;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Lesson, Live, Run};

const TIMELINE: &str = env!("CARGO_BIN_EXE_timeline");

fn timeline<const N: usize>(args: [&str; N]) -> Run {
    Lesson::new(TIMELINE).args(args).run()
}

/// The chart's row for process `id` (labelled `name [id]`).
fn row(run: &Run, id: u32) -> &str {
    let suffix = format!(" [{id}] ");
    let line = run.lines().into_iter().find(|l| l.contains(&suffix));
    line.unwrap_or_else(|| panic!("no row for {id}:\n{run}"))
}

/// The bar of a row: what follows its label.
fn bar(row: &str, id: u32) -> &str {
    let label = format!(" [{id}] ");
    let label_end = row.find(&label).unwrap() + label.len();
    &row[label_end..]
}

#[test]
fn without_arguments_it_lists_every_member_s_lessons() {
    let run = timeline([]).success();
    for member in ["threads:", "processes:", "coroutines:", "networking:"] {
        assert!(run.lines().contains(&member), "{run}");
    }
    for lesson in ["spawn_join", "pool_async", "gevent_blocking", "udp_chat"] {
        let command = format!("cargo run -p timeline -- {lesson}");
        assert_eq!(run.count(&command), 1, "{run}");
    }
    assert_eq!(run.count("cargo run -p timeline -- timeline"), 0, "{run}");
    assert_eq!(run.count("cargo run -p timeline -- threads"), 0, "{run}");
}

#[test]
fn an_unknown_lesson_is_one_line_and_exit_2() {
    let run = timeline(["no_such_lesson"]).usage_error();
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("no_such_lesson"), "{run}");
}

#[test]
fn a_bad_option_is_a_usage_error() {
    timeline(["--interval", "0", "--", "true"]).usage_error();
    timeline(["--width", "x", "--", "true"]).usage_error();
}

#[test]
fn a_program_that_cannot_start_is_one_line_and_exit_1() {
    let run = timeline(["--", "/no/such/program"]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(run.stderr.contains("/no/such/program"), "{run}");
}

#[test]
fn the_program_s_exit_status_passes_through() {
    let run = timeline(["--", "sh", "-c", "exit 3"]);
    assert_eq!(run.status.code(), Some(3), "{run}");
    // Ended by a signal: 128 + its number, as a shell reports it.
    let run = timeline(["--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(run.status.code(), Some(128 + 15), "{run}");
}

#[test]
fn the_chart_has_a_row_for_each_process_with_what_it_did() {
    // A parent that waits for two children sleeping at once, then runs a busy loop.
    let script = "sleep 0.4 & echo ONE=$!; sleep 0.4 & echo TWO=$!; echo PARENT=$$; wait; \
                  i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done";
    let run = timeline(["--tick-ms", "100", "--", "sh", "-c", script]).success();
    // The program's own output comes first, as it ran.
    assert!(
        run.position("done") < run.position("ticks of 100 ms"),
        "{run}"
    );
    let parent = run.number_after("PARENT=") as u32;
    let children = [
        run.number_after("ONE=") as u32,
        run.number_after("TWO=") as u32,
    ];
    // Parent first, children indented under it, each marked as sleeping on a timer.
    let parent_row = row(&run, parent);
    assert!(parent_row.starts_with("sh "), "{run}");
    for child in children {
        let child_row = row(&run, child);
        assert!(child_row.starts_with("  sleep "), "{run}");
        assert!(run.position(child_row) > run.position(parent_row), "{run}");
        assert!(bar(child_row, child).contains('-'), "{run}");
    }
    // The parent ran its loop: it has running marks.
    assert!(bar(parent_row, parent).contains('#'), "{run}");
    assert!(run.stdout.contains("legend:"), "{run}");
    for line in run.lines() {
        assert!(
            line.chars().count() <= 100,
            "wider than 100 columns: {line:?}"
        );
    }
}

#[test]
fn a_lesson_is_built_and_run_by_its_name_with_the_tick() {
    // Builds through cargo (a no-op when `cargo test` built it already), then runs it.
    let run = timeline(["--tick-ms", "20", "--width", "60", "single_thread"]).success();
    assert!(
        run.stdout.contains("look movie"),
        "the lesson's output:\n{run}"
    );
    assert!(run.stdout.contains("single_thread: "), "{run}");
    assert!(
        run.stdout.contains(" ticks of 20 ms, 1 process, 1 thread"),
        "{run}"
    );
    for line in run
        .lines()
        .iter()
        .skip_while(|l| !l.starts_with("single_thread: "))
    {
        assert!(
            line.chars().count() <= 60,
            "wider than 60 columns: {line:?}"
        );
    }
}

#[test]
fn the_trace_is_a_chrome_trace_with_a_row_per_thread_and_process() {
    let dir = std::env::temp_dir().join(format!("timeline-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.json");
    let script = "sleep 0.2 & echo CHILD=$!; echo PARENT=$$; wait";
    let run = timeline(["--trace", trace.to_str().unwrap(), "--", "sh", "-c", script]).success();
    let json: Value = serde_json::from_str(&fs::read_to_string(&trace).unwrap()).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    let events = json["traceEvents"].as_array().expect("traceEvents");
    let parent = run.number_after("PARENT=") as u64;
    let child = run.number_after("CHILD=") as u64;
    for pid in [parent, child] {
        let named = |kind: &str| {
            (events.iter()).any(|e| e["ph"] == "M" && e["name"] == kind && e["pid"] == pid)
        };
        assert!(
            named("process_name") && named("thread_name"),
            "{pid}: {json}"
        );
        let spans = events.iter().filter(|e| e["ph"] == "X" && e["tid"] == pid);
        let (mut count, mut total) = (0, 0.0);
        for span in spans {
            assert!(span["ts"].as_f64().unwrap() >= 0.0, "{span}");
            total += span["dur"].as_f64().unwrap();
            count += 1;
        }
        assert!(count > 0, "no span for {pid}: {json}");
        // The child slept 0.2 s: its spans add up to about that, in microseconds.
        if pid == child {
            assert!(
                (100_000.0..2_000_000.0).contains(&total),
                "{total} µs: {json}"
            );
        }
    }
}

#[test]
fn ctrl_c_ends_the_program_s_group_and_leaves_nothing_running() {
    let mut command = Command::new(TIMELINE);
    // A child that ignores Ctrl-C (as `&` makes it in a script) outlives the script unless
    // timeline cleans up after it. The script then becomes `sleep`, which Ctrl-C ends.
    command.args([
        "--",
        "sh",
        "-c",
        "sleep 30 & echo left $!; echo ready; exec sleep 30",
    ]);
    let mut live = Live::start(command);
    live.wait_for("ready");
    let left: i32 = live.wait_for("left ")[5..].trim().parse().unwrap();
    // Signal only once the script is `sleep`: a shell catches SIGINT, and one that comes while
    // it forks or execs can be lost (so it is with a Ctrl-C typed at that moment, too).
    let until = Instant::now() + Duration::from_secs(10);
    while !is_running_sleep(program_of(live.id())) && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(live.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let finished = live.finish();
    assert_eq!(finished.status.code(), Some(128 + 2), "{finished:?}");
    assert!(
        finished.stdout.iter().any(|l| l.contains("ticks of")),
        "the chart is still drawn: {finished:?}"
    );
    // The ignoring child was killed: gone, or a zombie on its way to being reaped.
    let until = Instant::now() + Duration::from_secs(10);
    while alive(left) && Instant::now() < until {
        thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(left), "{left} outlived the run: {finished:?}");
}

/// The program timeline started: its only child.
fn program_of(timeline: u32) -> u32 {
    children_of(timeline).first().copied().unwrap_or(0) as u32
}

/// Whether process `pid` runs `sleep` now (not a shell about to become it).
fn is_running_sleep(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|name| name.trim() == "sleep")
}

fn children_of(pid: u32) -> Vec<i32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    let text = fs::read_to_string(path).unwrap_or_default();
    text.split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn alive(pid: i32) -> bool {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|s| s.split_whitespace().next());
    matches!(state, Some(s) if s != "Z" && s != "X")
}

#[test]
fn a_coroutine_lesson_s_spans_become_rows_that_take_turns_on_one_thread() {
    let dir = std::env::temp_dir().join(format!("timeline-spans-test-{}", std::process::id()));
    fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("trace.json");
    let trace_arg = trace.to_str().unwrap();
    let args = [
        "--trace",
        trace_arg,
        "--tick-ms",
        "20",
        "yield_tasks",
        "--rounds",
        "3",
    ];
    let run = timeline(args).success();
    let json: Value = serde_json::from_str(&fs::read_to_string(&trace).unwrap()).unwrap();
    fs::remove_dir_all(&dir).unwrap();
    assert!(run.stdout.contains("  coroutine work1 "), "{run}");
    let events = json["traceEvents"].as_array().unwrap();
    let name_of = |tid: &Value| {
        let named = events
            .iter()
            .find(|e| e["name"] == "thread_name" && e["tid"] == *tid);
        named.map(|e| e["args"]["name"].as_str().unwrap().to_string())
    };
    // The kernel saw one thread; the spans gave the two coroutines a row each.
    let threads: Vec<&Value> = events
        .iter()
        .filter(|e| e["name"] == "thread_name")
        .collect();
    let coroutines: Vec<String> = (threads.iter())
        .filter_map(|e| Some(e["args"]["name"].as_str()?.to_string()))
        .filter(|n| n.starts_with("work"))
        .collect();
    assert_eq!(coroutines, ["work1", "work2"], "{json}");
    assert_eq!(threads.len(), 3, "one thread and two coroutines: {json}");
    // Their turns never overlap and strictly alternate, work1 first.
    let mut turns: Vec<(f64, f64, String)> = (events.iter())
        .filter(|e| e["ph"] == "X" && e["name"] == "running")
        .filter_map(|e| {
            let name = name_of(&e["tid"])?;
            let start = e["ts"].as_f64()?;
            Some((start, start + e["dur"].as_f64()?, name))
        })
        .filter(|(_, _, name)| name.starts_with("work"))
        .collect();
    turns.sort_by(|a, b| a.0.total_cmp(&b.0));
    let order: Vec<&str> = turns.iter().map(|t| t.2.as_str()).collect();
    assert_eq!(
        order,
        ["work1", "work2", "work1", "work2", "work1", "work2"],
        "{json}"
    );
    for pair in turns.windows(2) {
        assert!(pair[0].1 <= pair[1].0, "overlapping turns: {pair:?}");
    }
}

#[test]
fn a_closed_stdout_ends_it_quietly() {
    testkit::assert_quiet_when_stdout_closed(TIMELINE, &["--", "echo", "hello"]);
    testkit::assert_quiet_when_stdout_closed(TIMELINE, &[]);
}

#[test]
fn a_trace_file_that_cannot_be_written_fails_before_the_run() {
    let run = timeline([
        "--trace",
        "/nonexistent/dir/trace.json",
        "--",
        "echo",
        "RAN",
    ]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "{run}");
    assert!(!run.stdout.contains("RAN"), "the program ran anyway: {run}");
}
