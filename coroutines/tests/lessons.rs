//! Runs every coroutine lesson with a short tick and checks the point it teaches.
//!
//! Timing checks compare wall-clock time with the ticks a lesson must (or must not) spend, with
//! wide margins: a lower bound comes from the sleeps themselves, and an upper bound is set well
//! below the sequential cost, so a slow, busy machine does not make them flaky.

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpListener;
use std::sync::RwLock;
use std::thread;
use std::time::{Duration, Instant};
use testkit::{Lesson, Run};

/// `switch_cost` keeps both cores busy: it runs alone (write), the timed lessons together (read).
static CORES: RwLock<()> = RwLock::new(());

/// Every lesson, in reading order.
const LESSONS: [&str; 12] = [
    "iterator",
    "generator",
    "yield_tasks",
    "greenlet",
    "gevent_spawn",
    "gevent_blocking",
    "gevent_http",
    "asyncio_wait",
    "asyncio_nested",
    "async_stream",
    "asyncio_features",
    "switch_cost",
];

/// The coroutines ran inside the lesson's one thread, as observed: no other thread, no child.
fn assert_one_thread(run: &Run) {
    assert_eq!(run.observed().tasks.len(), 1, "one thread:\n{run}");
}

fn lesson(name: &str) -> Lesson {
    Lesson::new(lesson_path(name))
}

fn lesson_path(name: &str) -> &'static str {
    match name {
        "iterator" => env!("CARGO_BIN_EXE_iterator"),
        "generator" => env!("CARGO_BIN_EXE_generator"),
        "yield_tasks" => env!("CARGO_BIN_EXE_yield_tasks"),
        "greenlet" => env!("CARGO_BIN_EXE_greenlet"),
        "gevent_spawn" => env!("CARGO_BIN_EXE_gevent_spawn"),
        "gevent_blocking" => env!("CARGO_BIN_EXE_gevent_blocking"),
        "gevent_http" => env!("CARGO_BIN_EXE_gevent_http"),
        "asyncio_wait" => env!("CARGO_BIN_EXE_asyncio_wait"),
        "asyncio_nested" => env!("CARGO_BIN_EXE_asyncio_nested"),
        "async_stream" => env!("CARGO_BIN_EXE_async_stream"),
        "asyncio_features" => env!("CARGO_BIN_EXE_asyncio_features"),
        "switch_cost" => env!("CARGO_BIN_EXE_switch_cost"),
        "coroutines" => env!("CARGO_BIN_EXE_coroutines"),
        other => panic!("no lesson {other}"),
    }
}

/// Runs a lesson whose timing is checked, never at the same time as `switch_cost`.
fn timed(lesson: Lesson) -> Run {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    lesson.run()
}

#[test]
fn index_lists_every_lesson_in_reading_order_with_its_command() {
    let run = lesson("coroutines").run().success();
    run.assert_lists_lessons("coroutines", &LESSONS);
}

#[test]
fn iterator_loops_over_students_itself_and_is_used_up_once() {
    let run = lesson("iterator").run().success();
    let lines = run.lines();
    let first = run.position("isinstance(s, Iterable)");
    assert_eq!(lines[first + 1..first + 4], ["zs", "ls", "ww"], "{run}");
    assert_eq!(
        run.number_after("a second loop over the same Students finds"),
        0.0,
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "for name in &s, a fresh iterator each time: zs ls ww\nand again: zs ls ww\n"
        ),
        "{run}"
    );
}

#[test]
fn generator_yields_fibonacci_then_returns_ok() {
    let run = lesson("generator").run().success();
    let first_ten_fibonacci = ["0", "1", "1", "2", "3", "5", "8", "13", "21", "34"];
    assert_eq!(run.lines()[..10], first_ten_fibonacci, "{run}");
    assert_eq!(
        run.lines()[10..],
        ["ok"],
        "the return value comes last:\n{run}"
    );
    // Closed after three numbers, the coroutine never reaches `return`: its stack is unwound
    // from the yield (a guard on it says so), and there is no "ok" to print. A loop that prints
    // "ok" whatever happened, instead of printing what `CoroutineResult::Return` carried, fails.
    let closed = lesson("generator")
        .args(["--close-after", "3"])
        .run()
        .success();
    assert_eq!(
        closed.lines(),
        [
            "0",
            "1",
            "1",
            "create_num: closed at its yield and unwound; it never reached return 'ok'",
            "close(): the generator is closed, with no return value",
        ],
        "{closed}"
    );
}

#[test]
fn yield_tasks_alternate_strictly() {
    let run = lesson("yield_tasks")
        .args(["--rounds", "4"])
        .observe()
        .run()
        .success();
    assert_one_thread(&run);
    let turns: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("----work"))
        .collect();
    let expected: Vec<&str> = ["----work1---", "----work2---"].repeat(4);
    assert_eq!(turns, expected, "{run}");
    assert_eq!(
        *run.lines().last().unwrap(),
        "4 rounds, 8 turns, one thread",
        "{run}"
    );
}

#[test]
fn greenlet_switches_in_the_notes_order_and_passes_values() {
    let run = (lesson("greenlet").args(["--rounds", "3"]).observe())
        .run()
        .success();
    assert_one_thread(&run);
    let lines = run.lines();
    assert_eq!(
        lines[..5],
        [
            "t1",
            "t2",
            "t1.gr2.switch()",
            "t2.gr1.switch()",
            "main: gr1.dead = false, gr2.dead = true"
        ],
        "{run}"
    );
    let values = run.position("--- values through switch");
    assert_eq!(
        lines[values + 1..values + 7],
        [
            "doubler started with 21",
            "main got 42 from doubler's switch",
            "doubler's switch returned 100",
            "main got 200: doubler returned it to its parent",
            "main: switch to doubler failed: greenlet doubler has finished",
            "main: switch to tripler failed: there is no greenlet tripler",
        ],
        "{run}"
    );
    let ping_pong = run.position("--- test1/test2 ping-pong, 3 rounds");
    assert_eq!(
        lines[ping_pong + 1..],
        ["1", "2", "1", "2", "1", "2"],
        "{run}"
    );
}

/// The counters one coroutine printed, in order, e.g. `<coroutine f1(5)> 3` gives 3.
fn counters(lines: &[&str], name: &str) -> Vec<u32> {
    let prefix = format!("<coroutine {name}> ");
    lines
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn gevent_spawn_interleaves_and_takes_the_longer_task() {
    let run = timed(lesson("gevent_spawn").tick_ms(60).observe()).success();
    // As observed: two coroutines, yet no thread per coroutine. may started its timer thread
    // and its one worker (`set_workers(1)`, like gevent's one thread); that is all.
    let threads = run.observed().threads_of(run.observed().root);
    assert_eq!(threads.len(), 3, "main, may's timer, one worker:\n{run}");
    assert!(run.observed_children().is_empty(), "{run}");
    let lines = run.lines();
    assert_eq!(counters(&lines, "f1(5)"), [0, 1, 2, 3, 4], "{run}");
    assert_eq!(counters(&lines, "f1(3)"), [0, 1, 2], "{run}");
    assert!(
        run.position("<coroutine f1(3)> 2") < run.position("<coroutine f1(5)> 4"),
        "the coroutines did not interleave:\n{run}"
    );
    // 5 ticks of sleep in f1(5) alone; one after the other would be 8.
    let joined = run.number_after("joined f1(5) and f1(3) after");
    assert!((5.0..7.5).contains(&joined), "{run}");
}

/// Whether each coroutine's lines in `lines` come in one block, without the other's in between.
fn contiguous(lines: &[&str]) -> bool {
    let owners: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("<coroutine "))
        .map(|l| l.split('>').next().unwrap())
        .collect();
    owners.windows(2).filter(|pair| pair[0] != pair[1]).count() == 1
}

#[test]
fn gevent_blocking_serialises_and_coroutine_sleep_overlaps() {
    let run = timed(lesson("gevent_blocking").tick_ms(100)).success();
    let lines = run.lines();
    let cooperative_part = run.position("--- may::coroutine::sleep");
    let (blocking_lines, cooperative_lines) = lines.split_at(cooperative_part);
    for part in [blocking_lines, cooperative_lines] {
        assert_eq!(counters(part, "f1(5)"), [0, 1, 2, 3, 4], "{run}");
        assert_eq!(counters(part, "f1(3)"), [0, 1, 2], "{run}");
    }
    assert!(
        contiguous(blocking_lines),
        "a blocking sleep let the other run:\n{run}"
    );
    assert!(
        !contiguous(cooperative_lines),
        "the coroutine sleeps did not interleave:\n{run}"
    );
    // 8 half-tick sleeps one after the other take at least 4 ticks however fast the machine;
    // overlapped, 2.5. The interleaving above is the proof; the times only have to agree,
    // with 1.5 ticks of slack for a busy machine.
    let blocking = run.number_after("std::thread::sleep: both done after");
    let cooperative = run.number_after("may::coroutine::sleep: both done after");
    assert!(blocking >= 4.0, "{run}");
    assert!((2.5..4.0).contains(&cooperative), "{run}");
}

#[test]
fn gevent_spawn_survives_a_coroutine_stack_overflow() {
    let run = timed(lesson("gevent_spawn").args(["--overflow"])).success();
    assert!(
        run.stderr.contains("has overflowed its stack"),
        "the guard page's handler did not report it:\n{run}"
    );
    assert!(
        run.stdout
            .ends_with("deep: join returned Err: the overflow was caught, and main goes on\n"),
        "{run}"
    );
}

#[test]
fn gevent_http_receives_what_its_server_served_all_at_once() {
    let run = timed(lesson("gevent_http").tick_ms(100)).success();
    let served: BTreeMap<String, u64> = run
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("server: "))
        .map(|l| {
            let (url, size) = l.split_once(" serves ").unwrap();
            (
                url.to_string(),
                size.trim_end_matches(" bytes").parse().unwrap(),
            )
        })
        .collect();
    let received: BTreeMap<String, u64> = run
        .lines()
        .iter()
        .filter_map(|l| l.split_once(" bytes received from "))
        .map(|(size, url)| (url.trim_end_matches('.').to_string(), size.parse().unwrap()))
        .collect();
    assert_eq!(served.len(), 3, "{run}");
    assert_eq!(received, served, "{run}");
    let sizes: std::collections::BTreeSet<_> = served.values().collect();
    assert_eq!(sizes.len(), 3, "three pages of different sizes:\n{run}");
    // The server answers each GET after 1 tick: one after the other they would take 3.
    let ticks = run.number_after("joinall: 3 GETs done after");
    assert!((1.0..2.5).contains(&ticks), "{run}");
}

#[test]
fn gevent_http_fetches_given_urls_and_reports_each_failure_on_one_line() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let good = format!("http://{}/page", server.local_addr().unwrap());
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = format!("http://{}/", closed.local_addr().unwrap());
    drop(closed); // nothing listens there now
    // Polls for the lesson's connection, so a lesson that never connects fails the test.
    server.set_nonblocking(true).unwrap();
    let serving = thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        let (mut stream, _) = loop {
            match server.accept() {
                Ok(connection) => break connection,
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("the lesson never connected: {e}"),
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = Vec::new();
        let mut buf = [0; 512];
        while !request.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the request ended early");
            request.extend_from_slice(&buf[..n]);
        }
        stream
            .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 11\r\n\r\nhello world")
            .unwrap();
        String::from_utf8(request).unwrap()
    });

    let run = lesson("gevent_http").args([&good, &refused]).run();
    let request = serving.join().unwrap();
    assert!(request.starts_with("GET /page HTTP/1.0\r\n"), "{request}");
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(
        run.count(&format!("11 bytes received from {good}.")),
        1,
        "{run}"
    );
    let errors: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(errors.len(), 1, "{run}");
    assert!(
        errors[0].starts_with(&format!("error: GET {refused}: ")),
        "{run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
}

#[test]
fn gevent_http_refuses_https_as_a_usage_error() {
    let run = lesson("gevent_http")
        .args(["https://www.python.org/"])
        .run();
    let run = run.usage_error();
    assert!(run.stderr.contains("not supported in this lesson"), "{run}");
    assert!(run.stdout.is_empty(), "nothing was fetched:\n{run}");
}

#[test]
fn asyncio_wait_overlaps_the_two_sleeps() {
    let run = timed(lesson("asyncio_wait").tick_ms(60)).success();
    let world = run.position("world at");
    for first in ["hello at", "你好 at"] {
        assert!(run.position(first) < world, "{run}");
    }
    assert!(world < run.position("世界 at"), "{run}");
    assert!(run.number_after("world at") >= 2.0, "{run}");
    assert!(run.number_after("世界 at") >= 3.0, "{run}");
    // 3 and 2 ticks of sleep: about 3 together, 5 one after the other.
    let done = run.number_after("both done after");
    assert!((3.0..4.6).contains(&done), "{run}");
}

#[test]
fn asyncio_nested_runs_cor2_inside_cor1() {
    let run = lesson("asyncio_nested").run().success();
    assert_eq!(
        run.lines(),
        [
            "cor2() called without .await: nothing printed, the future was dropped unpolled",
            "COR1 start",
            "COR2",
            "COR1 end (cor2 returned 2)",
        ],
        "{run}"
    );
}

#[test]
fn async_stream_yields_one_item_per_ask_and_no_more() {
    // One task on one thread: the order is the program's, the same on every run.
    let run = lesson("async_stream")
        .args(["--items", "3"])
        .run()
        .success();
    let mut expected = vec![
        "consumer: made ticker(3); a tick later nothing of it has run".to_string(),
        "consumer: asks for item 1".to_string(),
        "producer: starts".to_string(),
    ];
    for n in 1..=3 {
        if n > 1 {
            expected.push(format!("consumer: asks for item {n}"));
        }
        // The producer runs up to `yield n` only once item n is asked for, never ahead.
        expected.push(format!("producer: yield {n}"));
        expected.push(format!("consumer: got {n}"));
    }
    expected.extend([
        "consumer: asks for item 4".to_string(),
        "producer: no more items".to_string(),
        "consumer: the stream ended (None), async for is done".to_string(),
    ]);
    assert_eq!(run.lines(), expected, "{run}");

    // Leaving the loop drops the stream: the producer never gets past the last item taken.
    let stopped = lesson("async_stream")
        .args(["--stop-after", "2"])
        .run()
        .success();
    assert_eq!(stopped.count("producer: yield"), 2, "{stopped}");
    assert_eq!(stopped.count("producer: no more items"), 0, "{stopped}");
    assert!(
        stopped.stdout.ends_with(
            "consumer: got 2\nconsumer: break after 2; the stream is dropped where it stopped\n"
        ),
        "{stopped}"
    );
}

#[test]
fn asyncio_features_calls_later_cancels_talks_tcp_runs_a_child_and_a_pool() {
    // A long tick, so a busy machine's delays are small against it.
    let run = timed(lesson("asyncio_features").tick_ms(150)).success();
    let ran = run.number_after("call_later: the callback ran after");
    assert!((1.0..3.0).contains(&ran), "{run}");
    assert!(
        run.stdout
            .contains("call_later: the other call was cancelled before it ran"),
        "{run}"
    );
    assert_eq!(run.count("a cancelled call ran"), 0, "{run}");
    assert!(
        run.stdout.contains("echoed \"hello, event loop\" back"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("answered \"HELLO FROM THE EVENT LOOP\" and exited with exit status: 0"),
        "{run}"
    );
    assert_eq!(
        run.number_after("thread pool: the job returned"),
        500500.0,
        "{run}"
    );
    assert_eq!(run.count("from thread \"main\""), 0, "{run}");
    // The job sleeps a tick; the loop wakes every fifth of a tick meanwhile.
    assert!(run.number_after("the loop woke") >= 2.0, "{run}");
}

#[test]
fn switch_cost_shows_coroutines_switch_cheaper_than_threads() {
    let _alone = CORES.write().unwrap_or_else(|e| e.into_inner());
    // A debug build: every coroutine row is slower than in release, the threads' row is not.
    let run = lesson("switch_cost")
        .args(["--rounds", "2000"])
        .run()
        .success();
    let cheaper = |row: &str| -> f64 {
        let line = run.lines()[run.position(row)];
        line.split_whitespace().last().unwrap().parse().unwrap()
    };
    assert_eq!(cheaper("OS threads"), 1.0, "{run}");
    for (row, at_least) in [
        ("corosensei resume / suspend", 10.0),
        ("may coroutine yield_now", 2.0),
        ("tokio task yield_now", 1.5),
    ] {
        let times = cheaper(row);
        assert!(
            times >= at_least,
            "{row}: only {times} times cheaper than a thread switch:\n{run}"
        );
    }
}

#[test]
fn bad_input_gives_a_usage_error_not_a_panic() {
    for (name, args, tick) in [
        ("gevent_spawn", vec![], "abc"),
        ("yield_tasks", vec!["--rounds", "-1"], "40"),
        ("greenlet", vec!["--bogus"], "40"),
        ("switch_cost", vec!["--rounds", "0"], "40"),
        ("gevent_http", vec!["ftp://example.com/"], "40"),
        ("asyncio_wait", vec![], "0"),
        // Too long a tick would overflow `Duration` arithmetic or may's timer.
        ("gevent_spawn", vec![], "18446744073709551615"),
        ("asyncio_features", vec!["--tick-ms", "60001"], "40"),
        ("async_stream", vec!["--items", "0"], "40"),
    ] {
        let run = lesson(name).env("TICK_MS", tick).args(&args).run();
        run.usage_error();
    }
}

#[test]
fn every_lesson_ends_quietly_when_its_stdout_is_closed() {
    let _shared = CORES.read().unwrap_or_else(|e| e.into_inner());
    for name in LESSONS.iter().chain(&["coroutines"]) {
        let args: &[&str] = match *name {
            "switch_cost" => &["--rounds", "100"],
            _ => &[],
        };
        testkit::assert_quiet_when_stdout_closed(lesson_path(name), args);
    }
}
