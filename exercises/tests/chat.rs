//! Black-box tests of `chat` (作业 › 多线程聊天器): two chats talking, the notes' Python chat
//! talking with chat both ways, the line editor in a real pseudo-terminal, and the errors.
//!
//! `CHAT_BIN=/path/to/your/chat cargo test -p exercises --test chat` runs them against another
//! program with the same command line and output (see `chat --help`). The Python tests need
//! python3. Every port is free: each side binds port 0 and the tests read what it got.
#![cfg(unix)]

mod chat_support;

use chat_support::{Chat, PATIENCE, PyChat, chat_bin};
use serde_json::json;
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ANY_PORT: &str = "127.0.0.1:0";

/// A UDP socket the test itself sends from and receives on.
fn test_socket(bind: &str) -> (UdpSocket, SocketAddr) {
    let socket = UdpSocket::bind(bind).unwrap();
    socket.set_read_timeout(Some(PATIENCE)).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, addr)
}

fn receive(socket: &UdpSocket) -> (Vec<u8>, SocketAddr) {
    let mut buf = vec![0; 65_536];
    let (len, from) = socket
        .recv_from(&mut buf)
        .expect("no datagram from chat in time");
    buf.truncate(len);
    (buf, from)
}

/// `(not valid GBK: 3 bytes shown as �)`, the note after a message with invalid bytes.
fn invalid_note(encoding: &str, bytes: usize) -> String {
    let bytes = if bytes == 1 {
        "1 byte".to_string()
    } else {
        format!("{bytes} bytes")
    };
    format!("  (not valid {encoding}: {bytes} shown as \u{FFFD})")
}

/// What the Python chat says its last raw datagram decodes to, as chat must show it: with a
/// note after it if some bytes were not valid (Python shows one U+FFFD for each).
fn python_reads_with_note(python: &mut PyChat) -> String {
    let python_reads = python.next("python_reads");
    let python_reads = python_reads.as_str().unwrap();
    match python_reads.matches('\u{FFFD}').count() {
        0 => python_reads.to_string(),
        invalid => format!("{python_reads}{}", invalid_note("GBK", invalid)),
    }
}

/// Two chats on free ports: `a` is given no `--peer` and reads `b`'s ip and port from its
/// input, as the notes ask for them; `b` gets `a`'s address as `--peer`. Each sends a line.
fn two_chats_talk(bind: &str, encoding: &str) {
    let mut a = Chat::start(&["--bind", bind, "--encoding", encoding]);
    let addr_a = a.address();
    let mut b = Chat::start(&[
        "--bind",
        bind,
        "--peer",
        &addr_a.to_string(),
        "--encoding",
        encoding,
    ]);
    let addr_b = b.address();
    a.write(format!("{}\n{}\n", addr_b.ip(), addr_b.port()));

    b.write("你好 from B，这是中文\n");
    assert_eq!(a.arrival(addr_b), "你好 from B，这是中文");
    a.write("你好 from A\n");
    assert_eq!(b.arrival(addr_a), "你好 from A");

    for chat in [a.finish(), b.finish()] {
        assert!(chat.status.success(), "{chat}");
        assert!(
            chat.stderr
                .iter()
                .any(|l| l.contains("sent 1 line in 1 datagram, received 1 message")),
            "{chat}"
        );
        assert!(!chat.stderr.join("\n").contains("panicked"), "{chat}");
    }
}

#[test]
fn two_chats_talk_in_gbk() {
    two_chats_talk(ANY_PORT, "gbk");
}

#[test]
fn two_chats_talk_in_utf8() {
    two_chats_talk(ANY_PORT, "utf-8");
}

#[test]
fn two_chats_talk_over_ipv6() {
    if UdpSocket::bind("[::1]:0").is_err() {
        panic!("this test needs IPv6 loopback (::1); this machine has none");
    }
    two_chats_talk("[::1]:0", "gbk");
}

#[test]
fn the_chosen_encoding_is_on_the_wire() {
    let (socket, test_addr) = test_socket(ANY_PORT);
    for (encoding, nihao) in [
        ("gbk", vec![0xC4, 0xE3, 0xBA, 0xC3]),
        ("utf-8", "你好".as_bytes().to_vec()),
    ] {
        let mut chat = Chat::start(&[
            "--bind",
            ANY_PORT,
            "--peer",
            &test_addr.to_string(),
            "--encoding",
            encoding,
        ]);
        let chat_addr = chat.address();
        chat.write("你好\n");
        assert_eq!(receive(&socket), (nihao.clone(), chat_addr), "{encoding}");
        // An empty line sends nothing; the next line is the next datagram.
        chat.write("\nok\n");
        assert_eq!(receive(&socket), (b"ok".to_vec(), chat_addr), "{encoding}");

        socket.send_to(&nihao, chat_addr).unwrap();
        assert_eq!(chat.arrival(test_addr), "你好");
        // 0xFF starts no character in either encoding; a control character is escaped.
        socket.send_to(b"\xFFok\x1b[2J", chat_addr).unwrap();
        let shown = chat.arrival(test_addr);
        let name = encoding.to_uppercase();
        assert_eq!(
            shown,
            format!("\u{FFFD}ok\\u{{1b}}[2J{}", invalid_note(&name, 1))
        );
        let finished = chat.finish();
        assert!(finished.status.success(), "{finished}");
    }
}

#[test]
fn an_ipv6_wildcard_chat_talks_to_an_ipv4_peer() {
    let (socket, test_addr) = test_socket(ANY_PORT);
    let mut chat = Chat::start(&["--bind", "[::]:0", "--peer", &test_addr.to_string()]);
    let port = chat.address().port();
    chat.write("hello\n");
    let (bytes, from) = receive(&socket);
    assert_eq!((bytes.as_slice(), from.port()), (&b"hello"[..], port));
    socket.send_to(b"hi", ("127.0.0.1", port)).unwrap();
    // Shown as the IPv4 address it is, not as ::ffff:127.0.0.1.
    assert_eq!(chat.arrival(test_addr), "hi");
    assert!(chat.finish().status.success());
}

#[test]
fn talks_with_the_notes_python_chat_both_ways() {
    let mut python = PyChat::start("127.0.0.1", "gbk");
    let py_addr = python.address();
    let mut chat = Chat::start(&["--bind", ANY_PORT, "--peer", &py_addr.to_string()]);
    let chat_addr = chat.address();
    python.command(json!({"peer": [chat_addr.ip().to_string(), chat_addr.port()]}));

    // Chinese text, both ways.
    chat.write("你好，世界\n");
    assert_eq!(python.received(), ("你好，世界".to_string(), 10));
    python.command(json!({"send": "我很好，谢谢"}));
    assert_eq!(python.next("sent"), 12);
    assert_eq!(chat.arrival(py_addr), "我很好，谢谢");

    // A line longer than recvfrom(1024): chat sends it in pieces Python receives whole; an odd
    // first byte puts every 1024-byte boundary inside a two-byte character.
    let long = format!("a{}", "长".repeat(1500));
    chat.write(format!("{long}\n"));
    let mut got = String::new();
    let mut pieces = 0;
    while got.len() < long.len() {
        let (text, length) = python.received();
        assert!(length <= 1024, "a {length}-byte datagram");
        got += &text;
        pieces += 1;
    }
    assert_eq!(got, long);
    assert!(pieces >= 3, "3001 bytes need at least 3 datagrams of 1024");
    chat.note("long line sent as");
    // Python sends a long line as one datagram; chat receives all of it.
    let long = "长".repeat(2000);
    python.command(json!({"send": long}));
    assert_eq!(python.next("sent"), 4000);
    assert_eq!(chat.arrival(py_addr), long);

    // Characters Python's gbk lacks, among them those encoding_rs's GBK has: sent as '?',
    // exactly as Python's own .encode('gbk', 'replace') would.
    let lacking = "价格 €5 😀 ⺁ \u{E000}\u{E5E5} ḿ ǹ 〾 ⿰ ︐ 䦆 \u{9FB4} 𠀀 \u{80} end";
    chat.write(format!("{lacking}\n"));
    python.command(json!({"python_replace": lacking}));
    let expected = python.next("python_replace");
    let (received, _) = python.received();
    assert_eq!(received, expected.as_str().unwrap());
    assert_eq!(received.matches('?').count(), 14, "{received}");
    chat.note("sent as '?'");

    // Bytes that are not GBK as Python reads it: what encoding_rs alone would decode (0x80 as
    // €, A3A0 as U+3000, FE50 as ⺁, AAA1 as private use, a four-byte GB18030 sequence), UTF-8,
    // and a character cut in half. chat shows what Python's .decode('gbk', 'replace') shows
    // (UTF-8's 😀 happens to be valid GBK: 馃榾).
    for raw in [
        "80", "a3a0", "fe50", "aaa1", "a2e3", "81308130", "f09f9880", "c4e3ba", "ff", "4f4b80",
    ] {
        python.command(json!({"raw": raw}));
        assert_eq!(
            chat.arrival(py_addr),
            python_reads_with_note(&mut python),
            "{raw}"
        );
    }

    python.finish();
    let finished = chat.finish();
    assert!(finished.status.success(), "{finished}");
}

/// Every character Rust can hold in the Basic Multilingual Plane, and some beyond it, sent by
/// chat in GBK: Python decodes every datagram, and reads what its own
/// `.encode('gbk', 'replace')` would have sent.
#[test]
fn every_character_reaches_python_as_python_would_encode_it() {
    let mut python = PyChat::start("127.0.0.1", "gbk");
    let py_addr = python.address();
    let mut chat = Chat::start(&["--bind", ANY_PORT, "--peer", &py_addr.to_string()]);
    let chat_addr = chat.address();
    python.command(json!({"peer": [chat_addr.ip().to_string(), chat_addr.port()]}));

    let astral = (0x1_0000..=0x10_FFFF).step_by(0x1001);
    let all: Vec<char> = (0x20..=0xFFFF)
        .chain(astral)
        .filter_map(char::from_u32)
        .filter(|c| !c.is_control() && !['\u{2028}', '\u{2029}', '\u{85}'].contains(c))
        .collect();
    // A few thousand characters a line, so the loopback buffers never overflow.
    let mut questions = 0;
    for chunk in all.chunks(4000) {
        let line: String = chunk.iter().collect();
        chat.write(format!("{line}\n"));
        python.command(json!({"python_replace": line}));
        let expected = python.next("python_replace");
        let expected = expected.as_str().unwrap();
        let mut got = String::new();
        while got.chars().count() < expected.chars().count() {
            got += &python.received().0;
        }
        assert_eq!(got, expected);
        questions += expected.matches('?').count();
    }
    assert!(questions > 40_000, "most of the BMP is not in GBK");
    python.finish();
    assert!(chat.finish().status.success());
}

/// Every two-byte sequence (and every lead byte followed by a space or a digit), sent by the
/// Python chat: chat shows each datagram as Python's `.decode('gbk', 'replace')` reads it.
#[test]
fn every_byte_pair_reads_as_python_reads_it() {
    let mut python = PyChat::start("127.0.0.1", "gbk");
    let py_addr = python.address();
    let mut chat = Chat::start(&["--bind", ANY_PORT, "--peer", &py_addr.to_string()]);
    let chat_addr = chat.address();
    python.command(json!({"peer": [chat_addr.ip().to_string(), chat_addr.port()]}));
    let mut valid_pairs = 0;
    for lead in 0x80..=0xFFu8 {
        let mut datagram = Vec::new();
        for trail in (0x20..=0xFFu8).filter(|&b| b != 0x7F) {
            datagram.extend([lead, trail, b' ']);
        }
        let hex: String = datagram.iter().map(|b| format!("{b:02x}")).collect();
        python.command(json!({"raw": hex}));
        let expected = python_reads_with_note(&mut python);
        assert_eq!(chat.arrival(py_addr), expected, "lead byte {lead:02X}");
        valid_pairs += expected
            .chars()
            .filter(|&c| c > '\u{7F}' && c != '\u{FFFD}')
            .count();
    }
    // Python's gbk has 21,791 two-byte characters.
    assert!(valid_pairs > 21_000, "{valid_pairs} valid pairs");
    python.finish();
    assert!(chat.finish().status.success());
}

#[test]
fn piped_input_ends_after_the_linger_and_ctrl_c_ends_it_sooner() {
    let (socket, test_addr) = test_socket(ANY_PORT);
    let peer = test_addr.to_string();

    let started = Instant::now();
    let mut chat = Chat::start(&["--bind", ANY_PORT, "--peer", &peer, "--linger", "0.5"]);
    chat.address();
    let finished = chat.finish();
    assert!(finished.status.success(), "{finished}");
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{finished}"
    );
    assert!(
        finished
            .stderr
            .last()
            .unwrap()
            .ends_with("sent 0 lines in 0 datagrams, received 0 messages"),
        "{finished}"
    );

    // A message sent after the end of input arrives while chat lingers; Ctrl-C ends it.
    let mut chat = Chat::start(&["--bind", ANY_PORT, "--peer", &peer, "--linger", "600"]);
    let chat_addr = chat.address();
    chat.write("bye\n");
    assert_eq!(receive(&socket).0, b"bye");
    let pid = chat.pid();
    chat.end_input();
    chat.note("end of input");
    socket.send_to(b"still here?", chat_addr).unwrap();
    assert_eq!(chat.arrival(test_addr), "still here?");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let finished = chat.finish();
    assert_eq!(finished.status.code(), Some(130), "{finished}");
    assert!(
        finished
            .stderr
            .last()
            .unwrap()
            .ends_with("sent 1 line in 1 datagram, received 1 message"),
        "{finished}"
    );
}

#[test]
fn a_port_in_use_or_not_local_is_one_line_and_exit_1() {
    let (_held, taken) = test_socket(ANY_PORT);
    for (bind, reason) in [
        (taken.to_string(), "in use"),
        ("192.0.2.1:30001".to_string(), "assign"),
    ] {
        let output = Command::new(chat_bin())
            .args(["--bind", &bind, "--peer", "127.0.0.1:9"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{bind}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(
            stderr.contains("cannot bind") && stderr.contains(&bind) && stderr.contains(reason),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn a_malformed_address_or_option_is_a_usage_error() {
    let v4 = ["--bind", ANY_PORT];
    let cases: [(&[&str], &str); 10] = [
        (&["--bind", "127.0.0.1"], ""),
        (&["--bind", "localhost:30001"], ""),
        (&["--peer", "127.0.0.1:9"], ""),
        (&[v4[0], v4[1], "--peer", "300.0.0.1:9"], ""),
        (&[v4[0], v4[1], "--peer", "127.0.0.1:0"], ""),
        (&[v4[0], v4[1], "--peer", "[::1]:9"], ""),
        (&[v4[0], v4[1], "--encoding", "latin1"], ""),
        (&[v4[0], v4[1], "--linger", "-1"], ""),
        // The peer asked for on stdin, as the notes do.
        (&[v4[0], v4[1]], "not-an-ip\n9\n"),
        (&[v4[0], v4[1]], "127.0.0.1\n99999\n"),
    ];
    for (args, input) in cases {
        let mut child = Command::new(chat_bin())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?} {input:?}: {stderr}"
        );
        assert!(
            stderr.lines().any(|l| l.starts_with("error: ")) && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}

#[test]
fn help_lists_the_options_and_exit_codes() {
    let output = Command::new(chat_bin()).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for needle in [
        "--bind",
        "--peer",
        "--encoding",
        "--linger",
        "gbk",
        "utf-8",
        "Exit codes",
        "130",
    ] {
        assert!(
            help.contains(needle),
            "--help must mention {needle}:\n{help}"
        );
    }
}

#[test]
fn a_closed_stdout_ends_chat_quietly() {
    let (socket, test_addr) = test_socket(ANY_PORT);
    let mut child = Command::new(chat_bin())
        .args([
            "--bind",
            ANY_PORT,
            "--peer",
            &test_addr.to_string(),
            "--linger",
            "60",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"ping\n").unwrap();
    let (_, chat_addr) = receive(&socket);
    // Its first arrival meets the closed stdout.
    socket.send_to(b"pong", chat_addr).unwrap();
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("failed printing"),
        "{stderr}"
    );
}

mod terminal {
    //! chat in a pseudo-terminal, driven by rexpect: what a person at a keyboard sees.

    use super::{ANY_PORT, PATIENCE, chat_bin, receive, test_socket};
    use nix::sys::wait::WaitStatus;
    use rexpect::ReadUntil;
    use rexpect::reader::Options;
    use rexpect::session::PtySession;
    use std::net::SocketAddr;
    use std::process::Command;

    /// rexpect reads the terminal byte by byte, each byte as one `char`: what UTF-8 text
    /// looks like in its buffer.
    fn as_read(text: &str) -> String {
        text.bytes().map(char::from).collect()
    }

    fn spawn(args: &[&str]) -> PtySession {
        let mut command = Command::new(chat_bin());
        command
            .args(args)
            .env("TERM", "xterm")
            .env_remove("RUST_BACKTRACE");
        let options = Options::new().timeout_ms(Some(PATIENCE.as_millis() as u64));
        rexpect::spawn_with_options(command, options).expect("cannot start chat in a pty")
    }

    /// Waits for `prompt`. Before each prompt rustyline asks the terminal where the cursor is
    /// (ESC [6n) and reads the answer for 100 ms, taking anything typed meanwhile as part of
    /// it. A terminal answers at once; so does the test, before it types. (An answer that comes
    /// too late reads as the key F3, which rustyline ignores.)
    fn expect_prompt(chat: &mut PtySession, prompt: &str) {
        let query = "\x1b[6n";
        let (_, found) = chat
            .exp_any(vec![
                ReadUntil::String(query.into()),
                ReadUntil::String(prompt.into()),
            ])
            .unwrap_or_else(|e| panic!("no prompt {prompt:?}: {e}"));
        if found == query {
            keys(chat, "\x1b[1;1R");
            chat.exp_string(prompt).unwrap();
        }
    }

    /// Types `text` (rexpect buffers what it sends until a newline or a flush).
    fn keys(chat: &mut PtySession, text: &str) {
        chat.send(text).unwrap();
        chat.flush().unwrap();
    }

    fn listening_on(chat: &mut PtySession) -> SocketAddr {
        let (_, found) = chat
            .exp_regex(r"listening on \S+")
            .expect("chat says where it listens");
        found["listening on ".len()..].parse().unwrap()
    }

    fn exit_code(chat: &mut PtySession) -> i32 {
        chat.exp_eof().expect("chat ends");
        match chat.process().wait().unwrap() {
            WaitStatus::Exited(_, code) => code,
            other => panic!("chat did not exit normally: {other:?}"),
        }
    }

    #[test]
    fn a_message_arriving_mid_line_leaves_the_typed_text_intact() {
        let (socket, test_addr) = test_socket(ANY_PORT);
        let mut chat = spawn(&["--bind", ANY_PORT, "--peer", &test_addr.to_string()]);
        let chat_addr = listening_on(&mut chat);
        expect_prompt(&mut chat, "> ");
        keys(&mut chat, "hello, wor");
        chat.exp_string("hello, wor").unwrap();

        socket
            .send_to(&[0xC4, 0xE3, 0xBA, 0xC3, b'!'], chat_addr)
            .unwrap();
        // The message appears on a line of its own, then the prompt and the half-typed text
        // are drawn again below it.
        chat.exp_string(&as_read(&format!("] {test_addr}: 你好!")))
            .unwrap();
        chat.exp_string("> ").unwrap();
        chat.exp_string("hello, wor").unwrap();

        keys(&mut chat, "ld\r");
        assert_eq!(receive(&socket).0, b"hello, world");
        // History: the up arrow brings the line back.
        expect_prompt(&mut chat, "> ");
        keys(&mut chat, "\x1b[A\r");
        assert_eq!(receive(&socket).0, b"hello, world");
        keys(&mut chat, "/quit\r");
        assert_eq!(exit_code(&mut chat), 0);
    }

    #[test]
    fn the_peer_is_asked_for_like_the_notes_and_ctrl_d_leaves() {
        let (socket, test_addr) = test_socket(ANY_PORT);
        let mut chat = spawn(&["--bind", ANY_PORT]);
        expect_prompt(&mut chat, &as_read("输入ip:"));
        keys(&mut chat, "127.0.0.1\r");
        expect_prompt(&mut chat, &as_read("输入port:"));
        keys(&mut chat, &format!("{}\r", test_addr.port()));
        expect_prompt(&mut chat, "> ");
        keys(&mut chat, "你好\r");
        assert_eq!(receive(&socket).0, [0xC4, 0xE3, 0xBA, 0xC3]);
        expect_prompt(&mut chat, "> ");
        chat.send_control('d').unwrap();
        chat.exp_string("sent 1 line in 1 datagram").unwrap();
        assert_eq!(exit_code(&mut chat), 0);
    }

    #[test]
    fn ctrl_c_leaves_cleanly() {
        let (_socket, test_addr) = test_socket(ANY_PORT);
        let mut chat = spawn(&["--bind", ANY_PORT, "--peer", &test_addr.to_string()]);
        expect_prompt(&mut chat, "> ");
        keys(&mut chat, "half a line");
        chat.exp_string("half a line").unwrap();
        chat.send_control('c').unwrap();
        chat.exp_string("sent 0 lines in 0 datagrams").unwrap();
        assert_eq!(exit_code(&mut chat), 130);
    }
}
