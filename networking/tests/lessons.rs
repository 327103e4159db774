//! Runs every socket lesson on loopback and checks the point it teaches.
//!
//! Every port is free: a lesson binds port 0 and prints what it got, or the test binds port 0
//! itself and keeps the socket (to prove a port in use is reported). No test uses a fixed port.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;
use testkit::{Lesson, Live, Run};

const ANY_PORT: &str = "127.0.0.1:0";

fn binary(name: &str) -> &'static str {
    match name {
        "udp_send_recv" => env!("CARGO_BIN_EXE_udp_send_recv"),
        "udp_chat" => env!("CARGO_BIN_EXE_udp_chat"),
        "tcp_echo_threads" => env!("CARGO_BIN_EXE_tcp_echo_threads"),
        "tcp_echo_coroutines" => env!("CARGO_BIN_EXE_tcp_echo_coroutines"),
        "socket_options" => env!("CARGO_BIN_EXE_socket_options"),
        "networking" => env!("CARGO_BIN_EXE_networking"),
        other => panic!("no lesson {other}"),
    }
}

fn lesson(name: &str) -> Lesson {
    Lesson::new(binary(name))
}

/// The address a process of udp_send_recv printed: "receiver (pid 42) bound to 127.0.0.1:9".
fn bound_address(run: &Run, role: &str) -> SocketAddr {
    let line = run.lines()[run.position(&format!("{role} (pid"))];
    let (_, addr) = line
        .split_once(" bound to ")
        .unwrap_or_else(|| panic!("the first {role} line must say where it is bound:\n{run}"));
    addr.parse().unwrap()
}

/// A runtime failure: non-zero exit, not a usage error, one line on stderr, no panic.
fn assert_one_line_error(run: &Run, expected: &[&str]) {
    assert!(!run.status.success(), "{run}");
    assert_ne!(run.status.code(), Some(2), "not a usage error:\n{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "one line:\n{run}");
    assert!(run.stderr.starts_with("error: "), "{run}");
    for part in expected {
        assert!(run.stderr.contains(part), "missing {part:?}:\n{run}");
    }
}

#[test]
fn index_lists_every_lesson_in_reading_order_with_its_command() {
    let run = lesson("networking").run().success();
    let order = [
        "udp_send_recv",
        "udp_chat",
        "tcp_echo_threads",
        "tcp_echo_coroutines",
        "socket_options",
    ];
    run.assert_lists_lessons("networking", &order);
}

#[test]
fn udp_send_recv_delivers_nihao_in_gbk_with_the_senders_address() {
    let run = lesson("udp_send_recv")
        .args(["--receiver", ANY_PORT, "--sender", ANY_PORT])
        .run()
        .success();
    let receiver = bound_address(&run, "receiver");
    let sender = bound_address(&run, "sender");
    assert_ne!(receiver, sender, "{run}");
    assert!(
        run.stdout
            .contains(&format!("已发送消息 (4 bytes of GBK to {receiver})")),
        "the sender must be told the receiver's real port:\n{run}"
    );
    let received = run.lines()[run.position("接收消息:")];
    assert!(
        received.ends_with(&format!(": 接收消息: 你好 来源: {sender}")),
        "你好 and the sender's address must arrive:\n{run}"
    );
    assert!(
        run.position("receiver (pid") < run.position("已发送消息"),
        "the receiver binds before anything is sent:\n{run}"
    );
    let pids: BTreeSet<u32> = run
        .numbers_after("(pid ")
        .into_iter()
        .map(|pid| pid as u32)
        .collect();
    assert_eq!(
        pids.len(),
        3,
        "parent, receiver and sender are three processes:\n{run}"
    );
    assert!(
        run.stdout
            .ends_with("): joined the receiver and the sender\n"),
        "{run}"
    );
}

#[test]
fn udp_send_recv_sender_first_loses_the_datagram_and_the_receiver_gives_up() {
    // A port free a moment ago: nobody holds it while the sender sends.
    let port = UdpSocket::bind(ANY_PORT).unwrap().local_addr().unwrap();
    let run = lesson("udp_send_recv")
        .args(["--sender-first", "--sender", ANY_PORT])
        .args(["--receiver", &port.to_string()])
        .run();
    assert_one_line_error(&run, &["receiver: no datagram within 10 ticks"]);
    assert!(
        run.position("已发送消息") < run.position("receiver (pid"),
        "sent before the receiver was bound:\n{run}"
    );
    assert_eq!(run.count("接收消息"), 0, "{run}");
}

#[test]
fn udp_send_recv_children_die_with_a_parent_killed_by_kill_9() {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use std::process::Command;
    use std::time::Instant;

    let port = UdpSocket::bind(ANY_PORT).unwrap().local_addr().unwrap();
    // With --sender-first the datagram is lost: the receiver would wait 10 ticks of 3 s.
    let mut command = Command::new(binary("udp_send_recv"));
    command
        .args(["--sender-first", "--sender", ANY_PORT])
        .args(["--receiver", &port.to_string()])
        .env("TICK_MS", "3000");
    let mut parent = Live::start(command);
    let line = parent.take_stdout("the receiver's pid", |l| l.starts_with("receiver (pid "));
    let receiver: u32 = line["receiver (pid ".len()..]
        .split(')')
        .next()
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {line:?}"));
    // kill -9 the parent alone (not its group): it cannot clean up.
    kill(Pid::from_raw(parent.id() as i32), Signal::SIGKILL).unwrap();
    let alive = || {
        std::fs::read_to_string(format!("/proc/{receiver}/stat")).is_ok_and(|stat| {
            !stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.starts_with(" Z"))
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive() {
        assert!(
            Instant::now() < deadline,
            "the receiver {receiver} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    // Gone, so its port is free again, and no process of the lesson holds its output open
    // (`finish` fails if one does).
    UdpSocket::bind(port).unwrap_or_else(|e| panic!("{port} still held: {e}"));
    parent.finish();
}

#[test]
fn udp_send_recv_ends_quietly_when_stdout_is_closed() {
    let args = ["--receiver", ANY_PORT, "--sender", ANY_PORT];
    testkit::assert_quiet_when_stdout_closed(binary("udp_send_recv"), &args);
}

#[test]
fn udp_send_recv_reports_a_port_in_use() {
    let held = UdpSocket::bind(ANY_PORT).unwrap();
    let taken = held.local_addr().unwrap().to_string();
    let run = lesson("udp_send_recv")
        .args(["--receiver", &taken, "--sender", ANY_PORT])
        .run();
    assert_one_line_error(&run, &["receiver: cannot bind", &taken, "in use"]);
    assert!(run.stdout.is_empty(), "{run}");

    let run = lesson("udp_send_recv")
        .args(["--receiver", ANY_PORT, "--sender", &taken])
        .run();
    assert_one_line_error(&run, &["sender: cannot bind", &taken, "in use"]);
    assert_eq!(run.count("接收消息"), 0, "{run}");
}

/// The bound address a chat prints on its first line.
fn chat_address(chat: &mut Live) -> SocketAddr {
    let line = chat.wait_for("bound to ");
    line["bound to ".len()..].parse().unwrap()
}

/// Two chats on free ports: `a` is given no `--peer` and is told `b`'s ip and port on stdin, as
/// the notes ask for them; `b` gets `a`'s address as `--peer`. Each sends one line to the other,
/// and each line comes from the other's bound address: one socket sends and receives.
#[test]
fn udp_chats_exchange_lines_in_gbk_on_one_socket_each() {
    let chat = binary("udp_chat");
    let mut a = Live::lesson(chat, &["--bind", ANY_PORT]);
    let addr_a = chat_address(&mut a);
    let mut b = Live::lesson(chat, &["--bind", ANY_PORT, "--peer", &addr_a.to_string()]);
    let addr_b = chat_address(&mut b);
    a.write(format!("{}\n{}\n", addr_b.ip(), addr_b.port()));
    a.wait_for(&format!("peer {addr_b}, encoding gbk"));

    b.write("你好 from B\n");
    let at_a = a.wait_for(&format!("接收到来自 {addr_b} 的消息: "));
    a.write("你好 from A\n");
    let at_b = b.wait_for(&format!("接收到来自 {addr_a} 的消息: "));
    // 你好 is 4 bytes in GBK, plus 7 ASCII bytes.
    assert!(at_a.ends_with("的消息: 你好 from B (11 bytes)"), "{at_a}");
    assert!(at_b.ends_with("的消息: 你好 from A (11 bytes)"), "{at_b}");

    for chat in [a.finish(), b.finish()] {
        assert!(chat.status.success(), "{chat}");
        assert!(
            chat.stdout
                .iter()
                .any(|l| l.starts_with("输入结束: lines sent: 1;")),
            "{chat}"
        );
        assert_eq!(
            chat.stdout.last().map(String::as_str),
            Some("再见"),
            "{chat}"
        );
        assert!(
            chat.stderr.is_empty(),
            "no prompts when stdin is not a terminal: {chat}"
        );
    }
}

#[test]
fn udp_chat_sends_gbk_and_never_fails_to_decode() {
    let test_side = UdpSocket::bind(ANY_PORT).unwrap();
    test_side
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let peer = test_side.local_addr().unwrap().to_string();
    let mut chat = Live::lesson(binary("udp_chat"), &["--bind", ANY_PORT, "--peer", &peer]);
    let chat_addr = chat_address(&mut chat);
    let mut buf = [0; 64];
    chat.write("你好\n");
    let (len, from) = test_side.recv_from(&mut buf).unwrap();
    assert_eq!(
        (&buf[..len], from),
        (&[0xC4, 0xE3, 0xBA, 0xC3][..], chat_addr)
    );
    // GBK has no emoji: encoding_rs sends an HTML reference.
    chat.write("😀\n");
    let (len, _) = test_side.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..len], b"&#128512;");

    // 0xFF starts no GBK character: shown as U+FFFD, and the receive thread lives on.
    test_side.send_to(&[0xFF, b'o', b'k'], chat_addr).unwrap();
    let line = chat.wait_for("接收到来自");
    assert_eq!(
        line,
        format!("接收到来自 {peer} 的消息: \u{FFFD}ok (3 bytes)")
    );
    test_side.send_to(&[0xC4, 0xE3], chat_addr).unwrap();
    chat.wait_for(&format!("接收到来自 {peer} 的消息: 你 (2 bytes)"));
    let finished = chat.finish();
    assert!(finished.status.success(), "{finished}");
}

#[test]
fn udp_chat_ends_cleanly_at_end_of_input() {
    let held = UdpSocket::bind(ANY_PORT).unwrap();
    let peer = held.local_addr().unwrap().to_string();
    let run = lesson("udp_chat")
        .args(["--bind", ANY_PORT, "--peer", &peer])
        .stdin("")
        .run()
        .success();
    assert!(
        run.stdout
            .contains("输入结束: lines sent: 0; listening 2 more ticks"),
        "{run}"
    );
    assert_eq!(*run.lines().last().unwrap(), "再见", "{run}");
    let ticks = run.elapsed_ticks();
    assert!(
        (2.0..50.0).contains(&ticks),
        "lingered 2 ticks, took {ticks:.1}"
    );
    testkit::assert_quiet_when_stdout_closed(
        binary("udp_chat"),
        &["--bind", ANY_PORT, "--peer", &peer],
    );
}

#[test]
fn udp_chat_help_and_bad_input() {
    let help = lesson("udp_chat").args(["--help"]).run().success();
    for flag in ["--bind", "--peer", "TICK_MS"] {
        assert!(
            help.stdout.contains(flag),
            "--help must mention {flag}:\n{help}"
        );
    }

    for args in [
        vec!["--peer", "nonsense"],
        vec!["--bind", "127.0.0.1"],
        vec!["--tick-ms", "60001"],
        vec!["--bogus"],
    ] {
        lesson("udp_chat").args(&args).run().usage_error();
    }
    let huge = lesson("udp_chat").env("TICK_MS", "18446744073709551615");
    huge.run().usage_error();

    // The peer typed on stdin, as the notes ask for it.
    for typed in ["not-an-ip\n9\n", "127.0.0.1\n99999\n", "127.0.0.1\n", ""] {
        let run = lesson("udp_chat")
            .args(["--bind", ANY_PORT])
            .stdin(typed)
            .run();
        assert_eq!(run.status.code(), Some(2), "{typed:?}:\n{run}");
        assert_eq!(
            run.stderr, "error: no peer ip and port on stdin\n",
            "{typed:?}:\n{run}"
        );
    }
}

#[test]
fn udp_chat_reports_a_port_in_use() {
    let held = UdpSocket::bind(ANY_PORT).unwrap();
    let taken = held.local_addr().unwrap().to_string();
    let run = lesson("udp_chat")
        .args(["--bind", &taken, "--peer", &taken])
        .stdin("你好\n")
        .run();
    assert_one_line_error(&run, &["cannot bind", &taken, "in use"]);
}

/// Every client's line, which must be its own message and nothing else.
fn assert_every_client_echoed(run: &Run, clients: usize) {
    for id in 0..clients {
        let expected = format!("client {id} got back: 你好 from client {id}");
        assert_eq!(
            run.lines().iter().filter(|l| **l == expected).count(),
            1,
            "missing {expected:?}:\n{run}"
        );
    }
    assert_eq!(run.count(" got back: "), clients, "{run}");
}

#[test]
fn tcp_echo_threads_echoes_every_client_on_a_thread_each() {
    let clients = 40;
    let run = lesson("tcp_echo_threads")
        .args(["--clients", &clients.to_string()])
        .run()
        .success();
    assert_every_client_echoed(&run, clients);
    let held = run.number_after("server connections open now:") as usize;
    assert_eq!(held, clients, "all connections open at once:\n{run}");
    if cfg!(target_os = "linux") {
        let threads = run.number_after("OS threads:") as usize;
        assert!(
            threads > clients,
            "a thread per connection, plus main:\n{run}"
        );
    }
    assert!(
        run.stdout.contains(&format!(
            "server: told to stop; served {clients} connections, at most {clients} at once"
        )),
        "{run}"
    );
}

#[test]
fn tcp_echo_coroutines_holds_more_clients_than_threads() {
    let clients = 300;
    let run = lesson("tcp_echo_coroutines")
        .args(["--clients", &clients.to_string(), "--workers", "2"])
        .run()
        .success();
    assert_every_client_echoed(&run, clients);
    let held = run.number_after("server connections open now:") as usize;
    assert_eq!(held, clients, "all connections open at once:\n{run}");
    assert_eq!(run.number_after("worker threads:"), 2.0, "{run}");
    if cfg!(target_os = "linux") {
        let threads = run.number_after("OS threads:") as usize;
        assert!(
            threads < 10 && held > threads,
            "{held} clients must be held by far fewer threads:\n{run}"
        );
    }
    assert!(
        run.stdout.contains(&format!(
            "server: told to stop; served {clients} connections, at most {clients} at once; worker threads: 2"
        )),
        "{run}"
    );
}

#[test]
fn tcp_servers_report_a_port_in_use() {
    let held = TcpListener::bind(ANY_PORT).unwrap();
    let taken = held.local_addr().unwrap().to_string();
    for name in ["tcp_echo_threads", "tcp_echo_coroutines"] {
        let run = lesson(name).args(["--bind", &taken]).run();
        assert_one_line_error(&run, &["cannot bind", &taken, "in use"]);
        assert_eq!(run.count("got back"), 0, "{run}");
    }
}

#[test]
fn socket_options_reuse_address_buffers_and_timeout() {
    let run = lesson("socket_options").tick_ms(100).run().success();
    let off = run.lines()[run.position("off: restart on")];
    assert!(off.contains("failed: Address already in use"), "{run}");
    let on = run.lines()[run.position("on:  restart on")];
    assert!(on.ends_with("bound again"), "{run}");

    for which in ["receive", "send"] {
        let got = run.number_after(&format!("{which} buffer: asked 4096, got"));
        if cfg!(target_os = "linux") {
            assert_eq!(got, 8192.0, "Linux doubles the size asked for:\n{run}");
        } else {
            assert!(got >= 4096.0, "{run}");
        }
    }

    let line = run.lines()[run.position("timeout set to 1 tick")];
    assert!(line.ends_with("ticks: WouldBlock"), "{run}");
    let waited = run.number_after("gave up after");
    assert!(
        (0.9..5.0).contains(&waited),
        "waited {waited} ticks:\n{run}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn socket_options_detects_and_measures_a_truncated_datagram() {
    let run = lesson("socket_options").run().success();
    assert!(
        run.stdout
            .contains("sent 1024 bytes: peek says 1024 bytes, truncated: false; received 1024\n"),
        "a datagram as long as the buffer fits:\n{run}"
    );
    assert!(
        run.stdout.contains(
            "sent 1500 bytes: peek says 1500 bytes, truncated: true; received 1024, lost 476 bytes\n"
        ),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("the fix: peeked 1500 bytes first, received all 1500"),
        "{run}"
    );

    let run = lesson("socket_options")
        .args(["--size", "3000", "--buffer", "512"])
        .run()
        .success();
    assert!(run.stdout.contains("recvfrom(512)"), "{run}");
    assert!(
        run.stdout.contains(
            "sent 3000 bytes: peek says 3000 bytes, truncated: true; received 512, lost 2488 bytes\n"
        ),
        "{run}"
    );

    let run = lesson("socket_options")
        .args(["--size", "100"])
        .run()
        .success();
    assert!(
        run.stdout
            .contains("sent 100 bytes: peek says 100 bytes, truncated: false; received 100\n"),
        "{run}"
    );
    assert_eq!(run.count("lost"), 0, "{run}");
}

#[test]
fn tcp_and_socket_lessons_end_quietly_when_stdout_is_closed() {
    // udp_send_recv and udp_chat have tests of their own for this.
    for name in [
        "tcp_echo_threads",
        "tcp_echo_coroutines",
        "socket_options",
        "networking",
    ] {
        testkit::assert_quiet_when_stdout_closed(binary(name), &[]);
    }
}

#[test]
fn tcp_and_socket_lessons_refuse_a_tick_too_long_for_a_duration() {
    for name in ["tcp_echo_threads", "tcp_echo_coroutines", "socket_options"] {
        for (args, tick) in [
            (vec![], "18446744073709551615"),
            (vec!["--tick-ms", "60001"], "40"),
        ] {
            let run = lesson(name).env("TICK_MS", tick).args(&args).run();
            run.usage_error();
        }
    }
}

#[test]
fn bad_input_gives_a_usage_error_not_a_panic() {
    for name in [
        "udp_send_recv",
        "udp_chat",
        "tcp_echo_threads",
        "tcp_echo_coroutines",
        "socket_options",
    ] {
        for (args, tick) in [(vec!["--bogus"], "40"), (vec![], "abc"), (vec![], "0")] {
            let run = lesson(name).env("TICK_MS", tick).args(&args).run();
            run.usage_error();
        }
    }
    for (name, args) in [
        ("udp_send_recv", vec!["--receiver", "127.0.0.1:port"]),
        ("tcp_echo_threads", vec!["--clients", "0"]),
        ("tcp_echo_coroutines", vec!["--bind", "localhost"]),
        ("socket_options", vec!["--size", "70000"]),
    ] {
        lesson(name).args(&args).run().usage_error();
    }
}
