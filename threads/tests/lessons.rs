//! Runs every thread lesson with a short tick and checks the point it teaches.
//!
//! Timing checks compare wall-clock time with the ticks a lesson must (or must not) spend,
//! with wide margins: a lower bound comes from the sleeps themselves, and an upper bound is set
//! well below the sequential cost, so a slow, busy machine does not make them flaky.

use std::collections::BTreeSet;
use std::sync::{RwLock, RwLockReadGuard};
use testkit::Lesson;

/// `race` and `mutex` keep both cores busy: each runs alone (write), every other test runs
/// beside the others (read), so no timing or ordering check shares the cores with them.
static CORES: RwLock<()> = RwLock::new(());

/// Held by a test that must not run beside `race` or `mutex`.
fn cores_shared() -> RwLockReadGuard<'static, ()> {
    CORES.read().unwrap_or_else(|e| e.into_inner())
}

/// Every lesson, for the checks that run them all.
const LESSONS: [&str; 17] = [
    "single_thread",
    "spawn_join",
    "named_threads",
    "custom_thread",
    "join_timing",
    "active_count",
    "daemon",
    "shared_data",
    "race",
    "mutex",
    "rlock",
    "deadlock",
    "event",
    "traffic_light",
    "condition",
    "producer_consumer",
    "semaphore",
];

fn lesson(name: &str) -> Lesson {
    Lesson::new(lesson_path(name))
}

fn lesson_path(name: &str) -> &'static str {
    match name {
        "single_thread" => env!("CARGO_BIN_EXE_single_thread"),
        "spawn_join" => env!("CARGO_BIN_EXE_spawn_join"),
        "named_threads" => env!("CARGO_BIN_EXE_named_threads"),
        "custom_thread" => env!("CARGO_BIN_EXE_custom_thread"),
        "join_timing" => env!("CARGO_BIN_EXE_join_timing"),
        "active_count" => env!("CARGO_BIN_EXE_active_count"),
        "daemon" => env!("CARGO_BIN_EXE_daemon"),
        "shared_data" => env!("CARGO_BIN_EXE_shared_data"),
        "race" => env!("CARGO_BIN_EXE_race"),
        "mutex" => env!("CARGO_BIN_EXE_mutex"),
        "rlock" => env!("CARGO_BIN_EXE_rlock"),
        "deadlock" => env!("CARGO_BIN_EXE_deadlock"),
        "event" => env!("CARGO_BIN_EXE_event"),
        "traffic_light" => env!("CARGO_BIN_EXE_traffic_light"),
        "condition" => env!("CARGO_BIN_EXE_condition"),
        "producer_consumer" => env!("CARGO_BIN_EXE_producer_consumer"),
        "semaphore" => env!("CARGO_BIN_EXE_semaphore"),
        "threads" => env!("CARGO_BIN_EXE_threads"),
        other => panic!("no lesson {other}"),
    }
}

#[test]
fn index_lists_every_lesson_in_reading_order_with_its_command() {
    let _cores = cores_shared();
    let run = lesson("threads").run().success();
    run.assert_lists_lessons("threads", &LESSONS);
}

#[test]
fn single_thread_takes_the_sum_of_the_sleeps() {
    let _cores = cores_shared();
    let run = lesson("single_thread")
        .tick_ms(60)
        .observe()
        .run()
        .success();
    // As observed: the lesson never had a second thread (nor a child process).
    assert_eq!(
        run.observed().tasks.len(),
        1,
        "one thread, all along:\n{run}"
    );
    let lines = run.lines();
    assert_eq!(run.count("listen music 爱的故事上集"), 3, "{run}");
    assert_eq!(run.count("look movie 晓生克的救赎"), 4, "{run}");
    let last_music = lines
        .iter()
        .rposition(|l| l.contains("listen music"))
        .unwrap();
    let first_movie = lines.iter().position(|l| l.contains("look movie")).unwrap();
    assert!(
        last_music < first_movie,
        "music must finish before the movie starts:\n{run}"
    );
    assert!(
        run.elapsed_ticks() >= 7.0,
        "7 ticks of sleep took {:.1}",
        run.elapsed_ticks()
    );
}

#[test]
fn spawn_join_overlaps_the_waits() {
    let _cores = cores_shared();
    let run = lesson("spawn_join").tick_ms(60).observe().run().success();
    // As observed: the two task threads lived at the same time for most of their 4 ticks, and
    // the 20 workers all existed at once.
    let record = run.observed();
    let threads: Vec<&testkit::Task> = (record.tasks.iter())
        .filter(|t| t.pid == record.root && !t.is_process())
        .collect();
    assert_eq!(threads.len(), 22, "2 tasks and 20 workers:\n{run}");
    assert!(run.ticks(threads[0].overlap(threads[1])) > 3.0, "{run}");
    let twenty_at_once = record.time_with_at_least(20, &threads[2..], |_| true);
    assert!(run.ticks(twenty_at_once) > 0.5, "{run}");
    for task in ["task:t1", "task:t2"] {
        assert_eq!(run.count(task), 1, "{run}");
    }
    for countdown in ["2s", "1s", "0s"] {
        let exact = run.lines().iter().filter(|l| **l == countdown).count();
        assert_eq!(exact, 2, "{countdown} once per thread:\n{run}");
    }
    let nums: BTreeSet<u32> = run
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("The num is "))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(nums, (0..20).collect(), "{run}");
    // One after the other these would take 8 and 20 ticks; overlapped, about 4 and 1.
    let two_tasks = run.number_after("two tasks of 4 ticks took");
    assert!((4.0..6.0).contains(&two_tasks), "{run}");
    let twenty = run.number_after("20 workers joined after");
    assert!((1.0..10.0).contains(&twenty), "{run}");
    let ticks = run.elapsed_ticks();
    assert!(
        (5.0..14.0).contains(&ticks),
        "expected about 5 ticks, took {ticks:.1}"
    );
}

#[test]
fn named_threads_read_their_names_from_inside() {
    let _cores = cores_shared();
    let run = lesson("named_threads").run().success();
    assert!(
        run.stdout.contains("the main thread is called: main"),
        "{run}"
    );
    assert!(
        run.stdout.contains("an unnamed thread is called: None"),
        "{run}"
    );
    assert_eq!(
        run.count("listen music 爱的故事上集 musicThread"),
        4,
        "{run}"
    );
    assert_eq!(run.count("look movie 肖生克的救赎 movieThread"), 4, "{run}");
    if cfg!(target_os = "linux") {
        assert_eq!(run.count("musicThread (kernel: musicThread)"), 4, "{run}");
        assert_eq!(run.count("movieThread (kernel: movieThread)"), 4, "{run}");
    }
    assert!(
        run.stdout.contains("joined musicThread and movieThread"),
        "{run}"
    );
}

#[test]
fn custom_thread_prints_its_own_data_and_runs_in_parallel() {
    let _cores = cores_shared();
    let run = lesson("custom_thread").tick_ms(60).run().success();
    assert_eq!(run.count("task:t1"), 1, "{run}");
    assert_eq!(run.count("task:t2"), 1, "{run}");
    assert_eq!(
        run.count("MyThread("),
        0,
        "the notes' bug printed the object:\n{run}"
    );
    assert!(run.stdout.contains("t1 counted down 3 times"), "{run}");
    assert!(run.stdout.contains("t2 counted down 3 times"), "{run}");
    let ticks = run.elapsed_ticks();
    assert!(
        (4.0..7.0).contains(&ticks),
        "two 4-tick threads took {ticks:.1} ticks"
    );
}

#[test]
fn join_timing_costs_the_longest_worker_and_shows_the_notes_bug() {
    let _cores = cores_shared();
    let run = lesson("join_timing").tick_ms(60).run().success();
    let cost = run.number_after("cost:");
    assert!(
        (3.0..6.0).contains(&cost),
        "3 workers of 3 ticks cost {cost}:\n{run}"
    );
    assert!(
        run.stdout.contains("the notes' loop: cost")
            && run.stdout.contains("t-0 still running: true"),
        "joining only the last thread must leave t-0 running:\n{run}"
    );
    let all_done = run.number_after("everything finished after");
    assert!(
        all_done >= 6.0,
        "t-0 lingers 6 ticks, all done after {all_done}"
    );
}

#[test]
fn active_count_before_during_and_after() {
    let _cores = cores_shared();
    let run = lesson("active_count").run().success();
    assert!(
        run.stdout.contains("enumerate before: [\"MainThread\"]"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains(r#"enumerate after starting t-2: ["MainThread", "t-0", "t-1", "t-2"]"#),
        "{run}"
    );
    for (when, count) in [("before", 1), ("during", 4), ("after", 1)] {
        let kernel = if cfg!(target_os = "linux") {
            count.to_string()
        } else {
            "shown on Linux only".to_string()
        };
        let expected = format!("active_count {when}: {count} (kernel: {kernel})");
        assert!(
            run.stdout.contains(&expected),
            "missing {expected:?}:\n{run}"
        );
    }
    assert_eq!(run.count("任务:t-"), 3, "{run}");
}

#[test]
fn daemon_threads_die_with_main_unless_joined() {
    let _cores = cores_shared();
    // A long tick: a thread's second line comes a whole tick (5 s) after its first, and main
    // returns at once, so however slow the machine, at most the first line of each appears.
    let detached = lesson("daemon").tick_ms(5000).run().success();
    assert!(detached.stdout.contains("without joining"), "{detached}");
    assert!(detached.count("listen music") <= 1, "{detached}");
    assert!(detached.count("look movie") <= 1, "{detached}");
    assert!(
        detached.elapsed_ticks() < 1.0,
        "the process must end with main, not wait for its threads:\n{detached}"
    );

    let joined = lesson("daemon")
        .tick_ms(40)
        .args(["--join"])
        .run()
        .success();
    assert_eq!(
        joined.count("listen music 爱的故事上集 musicThread"),
        4,
        "{joined}"
    );
    assert_eq!(
        joined.count("look movie 肖生克的救赎 movieThread"),
        4,
        "{joined}"
    );
    let last = *joined.lines().last().unwrap();
    assert!(
        last.contains("both threads joined"),
        "main's line must come last:\n{joined}"
    );
    assert!(joined.elapsed_ticks() >= 4.0, "{joined}");
}

#[test]
fn shared_data_is_one_memory() {
    let _cores = cores_shared();
    let run = lesson("shared_data").run().success();
    let addresses: BTreeSet<&str> = run
        .lines()
        .iter()
        .filter(|l| l.contains("sees the board at"))
        .map(|l| l.rsplit(' ').next().unwrap())
        .collect();
    assert_eq!(run.count("sees the board at"), 3, "{run}");
    assert_eq!(
        addresses.len(),
        1,
        "th1, th2 and main must see one address:\n{run}"
    );
    let board = r#"the board: ["th1 round 0", "th1 round 1", "th1 round 2", "th2 round 0", "th2 round 1", "th2 round 2"]"#;
    assert!(run.stdout.contains(board), "{run}");
    assert_eq!(run.number_after("num ="), 0.0, "{run}");
    assert_eq!(run.number_after("ROUNDS (a static) ="), 6.0, "{run}");
}

#[test]
fn race_loses_updates() {
    let _alone = CORES.write().unwrap_or_else(|e| e.into_inner());
    let run = lesson("race").run().success();
    let last = *run.lines().last().unwrap();
    assert!(
        last.contains("lost updates:"),
        "no run lost an update:\n{run}"
    );
    let lost = *run.numbers_after("lost updates:").last().unwrap();
    assert!(lost > 0.0, "{run}");
    assert!(lost <= 4_000_000.0, "{run}");
}

#[test]
fn mutex_keeps_every_update() {
    let _alone = CORES.write().unwrap_or_else(|e| e.into_inner());
    let run = lesson("mutex").run().success();
    assert_eq!(run.number_after("balance ="), 0.0, "{run}");
    let printed: BTreeSet<u64> = ["func1,x=", "func2,x="]
        .iter()
        .map(|label| run.number_after(label) as u64)
        .collect();
    assert_eq!(printed, BTreeSet::from([1_000_001, 2_000_001]), "{run}");
    assert_eq!(*run.lines().last().unwrap(), "x = 2000001", "{run}");
}

#[test]
fn rlock_is_taken_twice_by_one_thread() {
    let _cores = cores_shared();
    let run = lesson("rlock").run().success();
    let counts: Vec<u32> = run
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("globals_num: "))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        counts,
        (1..=10).collect::<Vec<_>>(),
        "one thread at a time:\n{run}"
    );
    assert_eq!(run.count("(lock held 2 deep)"), 10, "{run}");
    let threads: BTreeSet<&str> = run
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("This thread is "))
        .collect();
    assert_eq!(threads.len(), 10, "{run}");
    assert!(
        run.stdout
            .contains("std Mutex locked again by its own thread: WouldBlock"),
        "{run}"
    );
}

#[test]
fn deadlock_is_detected_then_avoided_and_the_binary_exits() {
    let _cores = cores_shared();
    let run = lesson("deadlock").run().success();
    for waiting in ["thread-1 waits for B", "thread-2 waits for A"] {
        assert!(
            run.position(waiting) < run.position("watchdog: deadlock"),
            "{run}"
        );
    }
    assert!(
        run.stdout
            .contains("watchdog: deadlock: a cycle of 2 threads: thread-1, thread-2"),
        "{run}"
    );
    assert!(
        run.stdout.contains("fixed order: thread-1 got A and B"),
        "{run}"
    );
    assert!(
        run.stdout.contains("fixed order: thread-2 got A and B"),
        "{run}"
    );
    assert_eq!(
        run.count("got B and A"),
        0,
        "the deadlocked threads never got through:\n{run}"
    );
    assert!(
        run.stdout.ends_with("fixed order: both threads finished\n"),
        "{run}"
    );
}

#[test]
fn event_unblocks_t_then_t2_from_piped_input() {
    let _cores = cores_shared();
    let run = lesson("event").stdin("t\nt2\nexit\n").run().success();
    assert!(
        run.stdout
            .contains("tour: wait_timeout(1 tick) on it gives up: returned false"),
        "{run}"
    );
    assert!(
        run.stdout.contains("tour: after set(), is_set() = true"),
        "{run}"
    );
    assert!(
        run.stdout.contains("tour: after clear(), is_set() = false"),
        "{run}"
    );
    let waiting = run.position("They are waiting!");
    assert!(
        run.position("[t] start") < waiting && run.position("[t2] start") < waiting,
        "{run}"
    );
    assert!(
        run.position("You have unlocked 't'") < run.position("[t] end"),
        "{run}"
    );
    assert!(
        run.position("You have unlocked 't2'") < run.position("[t2] end"),
        "{run}"
    );
    assert_eq!(run.count("never unlocked"), 0, "{run}");
    assert_eq!(*run.lines().last().unwrap(), "bye", "{run}");
}

#[test]
fn event_keeps_t2_waiting_until_released_at_end_of_input() {
    let _cores = cores_shared();
    let run = lesson("event").stdin("t\n").run().success();
    assert!(
        run.position("You have unlocked 't'") < run.position("[t] end"),
        "{run}"
    );
    let released = run.position("'t2' was never unlocked; releasing it");
    assert!(
        released < run.position("[t2] end"),
        "t2 passed its wait too early:\n{run}"
    );
    assert_eq!(*run.lines().last().unwrap(), "bye", "{run}");
}

#[test]
fn traffic_light_car_never_moves_on_red_and_blocks_until_green() {
    let _cores = cores_shared();
    let run = lesson("traffic_light")
        .args(["--cycles", "3"])
        .run()
        .success();
    let mut green = true; // the notes' light starts green
    let mut blocked = false; // the car said it waits on red and has not resumed yet
    let (mut moves, mut waits, mut resumes) = (0, 0, 0);
    for line in run.lines() {
        if line.contains("现在是绿灯") {
            green = true;
        } else if line.contains("现在是红灯") || line.contains("灯关了") {
            green = false;
        } else if line.contains("开动了") {
            assert!(green, "the car moved on red:\n{run}");
            // Waiting is `event.wait()`: nothing from the car until the light is green again.
            assert!(!blocked, "the car moved without resuming:\n{run}");
            moves += 1;
        } else if line.contains("看到红灯,等待中") {
            assert!(!green, "the car waited on green:\n{run}");
            blocked = true;
            waits += 1;
        } else if line.contains("绿灯，请通行") {
            assert!(green, "the car resumed on red:\n{run}");
            blocked = false;
            resumes += 1;
        }
    }
    assert_eq!(run.count("现在是绿灯"), 9, "{run}");
    assert_eq!(run.count("现在是红灯"), 6, "{run}");
    // Three red stretches; the car resumes after the first two (the third ends with the light
    // off). A car delayed past a whole red stretch could miss one, never both.
    assert!(moves >= 3 && waits >= 1 && resumes >= 1, "{run}");
    assert_eq!(*run.lines().last().unwrap(), "['MINI'] 到家了", "{run}");
}

#[test]
fn condition_wakes_every_consumer_and_the_predicate_stops_lost_wakeups() {
    let _cores = cores_shared();
    let run = lesson("condition").run().success();
    let notified = run.position("p: producer after notifyAll");
    for consumer in ["c1", "c2"] {
        let woke = run.position(&format!("{consumer}: consumer after wait"));
        assert!(
            notified < woke,
            "{consumer} woke before the notification:\n{run}"
        );
    }
    assert!(
        run.stdout
            .contains("c3 (no predicate): no wake-up in 3 ticks"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("c4 (predicate): ready was already true"),
        "{run}"
    );
    // notify_one: each round's one notify wakes exactly one of the waiters, which takes the
    // ticket; the others go on waiting (notify_all would wake every one still waiting).
    let lines = run.lines();
    let mut took = BTreeSet::new();
    for round in 1..=3 {
        let notified = run.position(&format!("p: a ticket, then notify_one (round {round})"));
        let summary = format!(
            "p: round {round}: notify_one woke 1 waiter; {} still",
            3 - round
        );
        let summed = run.position(&summary);
        let woke: Vec<&str> = lines[notified..summed]
            .iter()
            .filter_map(|l| l.strip_suffix(": woke and took the ticket"))
            .collect();
        assert_eq!(woke.len(), 1, "one waiter per notify_one:\n{run}");
        took.extend(woke);
    }
    assert_eq!(took, BTreeSet::from(["w1", "w2", "w3"]), "{run}");
    assert_eq!(run.count("took the ticket"), 3, "{run}");
}

#[test]
fn producer_consumer_eats_every_bone_exactly_once() {
    let _cores = cores_shared();
    // More bones than the queue and two quick bites can hold, so Tim must find it full.
    let run = lesson("producer_consumer")
        .args(["--items", "30"])
        .run()
        .success();
    let mut eaten: Vec<u32> = run
        .lines()
        .iter()
        .filter_map(|l| l.split("取到[骨头").nth(1))
        .map(|rest| rest.split(']').next().unwrap().parse().unwrap())
        .collect();
    eaten.sort();
    assert_eq!(eaten, (1..=30).collect::<Vec<_>>(), "{run}");
    assert_eq!(run.count("[Tim]生产了"), 30, "{run}");
    assert!(
        run.count("队列满了") >= 1,
        "the producer never found the queue full:\n{run}"
    );
    let total: f64 = ["[King] 没有骨头了", "[Wang] 没有骨头了"]
        .iter()
        .map(|who| run.number_after(&format!("{who}, 下班 (吃了")))
        .sum();
    assert_eq!(total, 30.0, "{run}");
}

#[test]
fn semaphore_lets_at_most_three_in_and_the_bounded_one_refuses_an_extra_release() {
    let _cores = cores_shared();
    // A longer tick: a worker inside must print its line long before the first one leaves.
    let run = lesson("semaphore").tick_ms(80).observe().run().success();
    // As observed: of the 8 worker threads, never more than 3 slept inside (a timer) at once,
    // while the others waited on the semaphore's condition variable; and 3 did, for a while.
    let record = run.observed();
    assert!(record.reasons_visible(), "wchan and syscall hidden:\n{run}");
    let workers: Vec<&testkit::Task> = (record.tasks.iter())
        .filter(|t| t.pid == record.root && !t.is_process())
        .collect();
    assert_eq!(workers.len(), 8, "{run}");
    let inside = |state| state == testkit::State::Waiting(testkit::Wait::Timer);
    // (A sample reads the threads one after another, a few µs apart: allow a sliver.)
    assert!(
        run.ticks(record.time_with_at_least(4, &workers, inside)) < 0.1,
        "{run}"
    );
    assert!(
        run.ticks(record.time_with_at_least(3, &workers, inside)) > 1.0,
        "{run}"
    );
    // Each line is printed under the lock that counts who is inside, so the lines are in the
    // order the count changed: replay them, and check the count each line gives.
    let (mut inside, mut most) = (0_usize, 0_usize);
    let (mut entered, mut left) = (BTreeSet::new(), BTreeSet::new());
    for line in run.lines() {
        let Some((name, rest)) = line.split_once(' ') else {
            continue;
        };
        if let Some(count) = rest.strip_prefix("enters (") {
            assert!(entered.insert(name), "{name} entered twice:\n{run}");
            inside += 1;
            assert_eq!(count, format!("{inside} inside)"), "{run}");
        } else if let Some(count) = rest.strip_prefix("leaves (") {
            assert!(
                entered.contains(name),
                "{name} left before entering:\n{run}"
            );
            assert!(left.insert(name), "{name} left twice:\n{run}");
            inside -= 1;
            assert_eq!(count, format!("{inside} inside)"), "{run}");
        }
        assert!(inside <= 3, "more than 3 inside at once:\n{run}");
        most = most.max(inside);
    }
    let workers: Vec<String> = (1..=8).map(|n| format!("w{n}")).collect();
    let workers: BTreeSet<&str> = workers.iter().map(String::as_str).collect();
    assert_eq!(entered, workers, "{run}");
    assert_eq!(left, workers, "{run}");
    // A semaphore of 3, not a lock: three were inside together, and the lesson saw the same.
    assert_eq!(most, 3, "{run}");
    assert_eq!(run.number_after("at most"), 3.0, "{run}");
    // Eight one-tick workers, three at a time: at least three rounds, far from eight.
    let took = run.number_after("8 workers took");
    assert!((3.0..6.0).contains(&took), "{run}");
    assert!(
        run.stdout.contains(
            "Semaphore(2): release() accepted: 3 permits now, one more than it was made with"
        ),
        "{run}"
    );
    assert!(
        run.stdout.contains(
            "BoundedSemaphore(2): release() refused: ValueError: Semaphore released too many \
             times; 2 permits"
        ),
        "{run}"
    );
}

#[test]
fn bad_input_gives_a_usage_error_not_a_panic() {
    let _cores = cores_shared();
    for (args, tick) in [
        (vec!["--cycles", "abc"], "40"),
        (vec![], "abc"),
        (vec!["--bogus"], "40"),
    ] {
        let run = lesson("traffic_light")
            .env("TICK_MS", tick)
            .args(&args)
            .run();
        run.usage_error();
    }
    // Values that would overflow the arithmetic are refused up front, with one error line.
    for (name, args, tick) in [
        ("race", vec!["--iterations", "-5"], "40"),
        ("race", vec!["--iterations", "18446744073709551615"], "40"),
        ("race", vec!["--max-runs", "0"], "40"),
        ("mutex", vec!["--iterations", "18446744073709551615"], "40"),
        ("traffic_light", vec![], "18446744073709551615"),
        ("traffic_light", vec!["--tick-ms", "60001"], "40"),
        ("daemon", vec![], "0"),
        ("semaphore", vec!["--tick-ms", "0"], "40"),
    ] {
        let run = lesson(name).env("TICK_MS", tick).args(&args).run();
        run.usage_error();
    }
}

#[test]
fn every_lesson_ends_quietly_when_its_stdout_is_closed() {
    let _cores = cores_shared();
    for name in LESSONS.iter().chain(&["threads"]) {
        // Few iterations: the point is the closed stdout, not the cores.
        let args: &[&str] = match *name {
            "race" | "mutex" => &["--iterations", "1000"],
            _ => &[],
        };
        testkit::assert_quiet_when_stdout_closed(lesson_path(name), args);
    }
}
