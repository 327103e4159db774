//! testkit's promises, checked with `sh` standing in for a lesson: a deadline kills the whole
//! process group and shows what it printed, an orphan holding the output fails the run, and
//! a closed stdout is judged quiet only for a success or a death by SIGPIPE; a `Live` process
//! is read line by line on both streams, and dropping it kills its group.

use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::{Duration, Instant};
use testkit::{Lesson, Live};

/// The message of the panic `f` raises; fails the test if it returns normally.
fn panic_message(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

/// The pid printed after `label` in `text`.
fn pid_after(label: &str, text: &str) -> u32 {
    let at = text
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {text}"))
        + label.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Waits until `pid` has died (gone from /proc, or a zombie nobody has reaped yet).
fn assert_dies(pid: u32) {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| stat[stat.rfind(')')? + 2..].chars().next());
        if matches!(state, None | Some('Z')) {
            return;
        }
        assert!(
            Instant::now() < until,
            "process {pid} still alive: {state:?}"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_deadline_kills_the_whole_group_and_shows_its_output() {
    let message = panic_message(|| {
        Lesson::new("sh")
            .args(["-c", "sleep 300 & echo child $!; echo on-stderr >&2; wait"])
            .deadline(Duration::from_secs(1))
            .run();
    });
    assert!(message.contains("did not finish within"), "{message}");
    assert!(message.contains("on-stderr"), "{message}");
    // The grandchild held the pipes; only killing the group lets its output be shown.
    assert_dies(pid_after("child ", &message));
}

#[test]
fn an_orphan_holding_the_output_fails_the_run_and_is_killed() {
    let message = panic_message(|| {
        Lesson::new("sh")
            .args(["-c", "sleep 300 & echo orphan $!"])
            .run();
    });
    assert!(message.contains("still held its"), "{message}");
    assert_dies(pid_after("orphan ", &message));
}

#[test]
fn a_finished_run_keeps_its_output() {
    let run = Lesson::new("sh")
        .args(["-c", "echo out; echo err >&2; echo TICK_MS=$TICK_MS"])
        .tick_ms(7)
        .run()
        .success();
    assert_eq!(run.lines(), ["out", "TICK_MS=7"]);
    assert_eq!(run.stderr, "err\n");
}

#[test]
fn death_by_sigpipe_on_a_closed_stdout_is_quiet() {
    // `yes` writes for ever; the default SIGPIPE action ends it at the first write.
    testkit::assert_quiet_when_stdout_closed("sh", &["-c", "exec yes"]);
    // A program that prints nothing is quiet too.
    testkit::assert_quiet_when_stdout_closed("true", &[]);
}

#[test]
fn stdout_is_closed_before_the_first_write() {
    // One short write, which a pipe closed only after the start could have taken in.
    let run = Lesson::new("sh")
        .args(["-c", "printf x"])
        .close_stdout()
        .run();
    assert_eq!(
        run.status.signal(),
        Some(13),
        "not killed by SIGPIPE: {run}"
    );
}

#[test]
fn an_error_on_a_closed_stdout_is_not_quiet() {
    // With SIGPIPE ignored (as in a Rust program without `sigpipe::reset()`), the write fails
    // with EPIPE and the program complains: exactly what the check must catch.
    let message = panic_message(|| {
        testkit::assert_quiet_when_stdout_closed("sh", &["-c", "trap '' PIPE; exec yes"]);
    });
    assert!(message.contains("closed"), "{message}");
    let message = panic_message(|| {
        testkit::assert_quiet_when_stdout_closed("sh", &["-c", "echo 'failed printing' >&2"]);
    });
    assert!(message.contains("failed printing"), "{message}");
}

#[test]
fn a_live_process_is_talked_to_line_by_line_on_both_streams() {
    let mut command = std::process::Command::new("sh");
    command.args([
        "-c",
        "echo ready; echo note >&2; read line; echo \"got $line\"; echo bye >&2",
    ]);
    let mut live = Live::start(command);
    assert_eq!(live.wait_for("ready"), "ready");
    // wait_for finds a line again; a taken line is not taken twice.
    assert_eq!(live.wait_for("rea"), "ready");
    assert_eq!(live.take_stderr("a note", |l| l == "note"), "note");
    live.write("hi\n");
    assert_eq!(
        live.take_stdout("the reply", |l| l.starts_with("got")),
        "got hi"
    );
    let finished = live.finish();
    assert!(finished.status.success(), "{finished}");
    assert_eq!(finished.stdout, ["ready", "got hi"], "{finished}");
    assert_eq!(finished.stderr, ["note", "bye"], "{finished}");
}

#[test]
fn a_live_process_that_ends_without_the_line_fails_with_its_output() {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "echo something else; echo why >&2"]);
    let mut live = Live::start(command);
    let message = panic_message(|| {
        live.wait_for("never");
    });
    assert!(message.contains("closed without"), "{message}");
    assert!(message.contains("something else"), "{message}");
    assert!(message.contains("why"), "{message}");
}

#[test]
fn dropping_a_live_process_kills_its_group() {
    let mut command = std::process::Command::new("sh");
    command.args(["-c", "sleep 600 & echo \"child $!\"; wait"]);
    let mut live = Live::start(command);
    let child = pid_after("child ", &live.wait_for("child "));
    let shell = live.id();
    drop(live);
    assert_dies(shell);
    assert_dies(child);
}
