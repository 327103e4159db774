//! Runs every socket lesson on loopback and checks the point it teaches.
//!
//! Every port is free: a lesson binds port 0 and prints what it got, or the test binds port 0
//! itself and keeps the socket (to prove a port in use is reported). No test uses a fixed port.

mod common;

use common::Live;
use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::time::Duration;
use testkit::{Lesson, Run};

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
            .contains("reaped the receiver (exit status: 0) and the sender (exit status: 0)"),
        "{run}"
    );
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
/// the notes ask for them; `b` gets `a`'s address as `--peer`. Each sends one line to the other.
fn two_chats_talk(encoding_a: &str, encoding_b: &str, line_a: &str, line_b: &str) -> [String; 2] {
    let chat = binary("udp_chat");
    let mut a = Live::start(chat, &["--bind", ANY_PORT, "--encoding", encoding_a]);
    let addr_a = chat_address(&mut a);
    let mut b = Live::start(
        chat,
        &[
            "--bind",
            ANY_PORT,
            "--peer",
            &addr_a.to_string(),
            "--encoding",
            encoding_b,
        ],
    );
    let addr_b = chat_address(&mut b);
    a.write(format!("{}\n{}\n", addr_b.ip(), addr_b.port()));
    a.wait_for(&format!("peer {addr_b}, encoding {encoding_a}"));

    b.write(format!("{line_b}\n"));
    let at_a = a.wait_for(&format!("接收到来自 {addr_b} 的消息: "));
    a.write(format!("{line_a}\n"));
    let at_b = b.wait_for(&format!("接收到来自 {addr_a} 的消息: "));

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
        assert!(chat.stderr.is_empty(), "{chat}");
    }
    [at_a, at_b]
}

#[test]
fn udp_chats_exchange_lines_in_gbk() {
    let [at_a, at_b] = two_chats_talk("gbk", "gbk", "你好 from A", "你好 from B");
    // 你好 is 4 bytes in GBK, plus 7 ASCII bytes.
    assert!(at_a.ends_with("的消息: 你好 from B (11 bytes)"), "{at_a}");
    assert!(at_b.ends_with("的消息: 你好 from A (11 bytes)"), "{at_b}");
}

#[test]
fn udp_chats_exchange_lines_in_utf8() {
    let [at_a, at_b] = two_chats_talk("utf-8", "utf-8", "你好 from A", "你好 from B");
    // 你好 is 6 bytes in UTF-8, plus 7 ASCII bytes.
    assert!(at_a.ends_with("的消息: 你好 from B (13 bytes)"), "{at_a}");
    assert!(at_b.ends_with("的消息: 你好 from A (13 bytes)"), "{at_b}");
}

#[test]
fn udp_chats_with_different_encodings_garble_but_never_crash() {
    let [at_gbk, at_utf8] = two_chats_talk("gbk", "utf-8", "你好", "你好");
    // UTF-8's 6 bytes are valid GBK, so they decode to the classic mojibake.
    assert!(at_gbk.ends_with("的消息: 浣犲ソ (6 bytes)"), "{at_gbk}");
    // GBK's 4 bytes are not UTF-8: replacement characters and a marker.
    assert!(
        at_utf8.contains("(4 bytes, not valid UTF-8: shown as �)"),
        "{at_utf8}"
    );
    assert!(
        at_utf8.contains('�') && !at_utf8.contains("你好"),
        "{at_utf8}"
    );
}

#[test]
fn udp_chat_puts_the_chosen_encoding_on_the_wire() {
    let test_side = UdpSocket::bind(ANY_PORT).unwrap();
    test_side
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let peer = test_side.local_addr().unwrap().to_string();
    for (encoding, expected) in [
        ("gbk", vec![0xC4, 0xE3, 0xBA, 0xC3]),
        ("utf-8", "你好".as_bytes().to_vec()),
    ] {
        let mut chat = Live::start(
            binary("udp_chat"),
            &["--bind", ANY_PORT, "--peer", &peer, "--encoding", encoding],
        );
        let chat_addr = chat_address(&mut chat);
        chat.write("你好\n");
        let mut buf = [0; 64];
        let (len, from) = test_side.recv_from(&mut buf).unwrap();
        assert_eq!(from, chat_addr);
        assert_eq!(buf[..len], expected[..], "{encoding} bytes on the wire");

        if encoding == "utf-8" {
            // Input that is not UTF-8 is sent with U+FFFD in its place, not refused.
            chat.write(b"a\xFFb\n");
            let (len, _) = test_side.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], "a\u{FFFD}b".as_bytes());
        }
        if encoding == "gbk" {
            // GBK has no emoji: encoding_rs sends an HTML reference and the chat warns.
            chat.write("😀\n");
            let (len, _) = test_side.recv_from(&mut buf).unwrap();
            assert_eq!(&buf[..len], b"&#128512;");
            chat.wait_for("warning: some characters are not in GBK");
        }

        // 0xFF starts no character in either encoding.
        test_side.send_to(&[0xFF, b'o', b'k'], chat_addr).unwrap();
        let line = chat.wait_for("接收到来自");
        assert_eq!(
            line,
            format!(
                "接收到来自 {peer} 的消息: �ok (3 bytes, not valid {}: shown as �)",
                encoding.to_uppercase()
            )
        );
        let finished = chat.finish();
        assert!(finished.status.success(), "{finished}");
    }
}

#[test]
fn udp_chat_ends_cleanly_at_end_of_input() {
    let held = UdpSocket::bind(ANY_PORT).unwrap();
    let peer = held.local_addr().unwrap().to_string();
    let run = lesson("udp_chat")
        .args(["--bind", ANY_PORT, "--peer", &peer, "--linger", "3"])
        .stdin("")
        .run()
        .success();
    assert!(
        run.stdout
            .contains("输入结束: lines sent: 0; listening 3 more ticks"),
        "{run}"
    );
    assert_eq!(*run.lines().last().unwrap(), "再见", "{run}");
    for prompt in ["输入ip:", "输入port:", "输入发送的数据:"] {
        assert!(
            !run.stdout.contains(prompt),
            "no prompts when stdin is not a terminal:\n{run}"
        );
    }
    let ticks = run.elapsed_ticks();
    assert!(
        (3.0..50.0).contains(&ticks),
        "lingered 3 ticks, took {ticks:.1}"
    );
}

#[test]
fn udp_chat_help_and_bad_input() {
    let help = lesson("udp_chat").args(["--help"]).run().success();
    for flag in ["--bind", "--peer", "--encoding", "--linger", "gbk", "utf-8"] {
        assert!(
            help.stdout.contains(flag),
            "--help must mention {flag}:\n{help}"
        );
    }

    for args in [
        vec!["--encoding", "latin1"],
        vec!["--peer", "nonsense"],
        vec!["--bind", "127.0.0.1"],
        vec!["--bogus"],
    ] {
        lesson("udp_chat").args(&args).run().usage_error();
    }

    let run = lesson("udp_chat")
        .args(["--bind", ANY_PORT, "--peer", ANY_PORT])
        .run();
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert_eq!(
        run.stderr, "error: cannot send to port 0: 127.0.0.1:0\n",
        "{run}"
    );

    // The peer typed on stdin, as the notes ask for it.
    for (typed, message) in [
        ("not-an-ip\n", "error: not an IP address: \"not-an-ip\""),
        ("127.0.0.1\n99999\n", "error: not a port number: \"99999\""),
        (
            "127.0.0.1\n",
            "error: standard input ended before the peer's ip and port",
        ),
    ] {
        let run = lesson("udp_chat")
            .args(["--bind", ANY_PORT])
            .stdin(typed)
            .run();
        assert_eq!(run.status.code(), Some(2), "{typed:?}:\n{run}");
        assert!(run.stderr.starts_with(message), "{typed:?}:\n{run}");
        assert_eq!(run.stderr.lines().count(), 1, "{run}");
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
