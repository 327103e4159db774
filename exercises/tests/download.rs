//! Black-box tests of `download` against a test server in this process (`download_server`).
//!
//! Each test checks what a user relies on: the file on disk is byte-identical to the server's,
//! or the program exits non-zero with a clear line and no file under the final name.
//! `DOWNLOAD_BIN=/path/to/program cargo test -p exercises --test download` runs the same tests
//! against another program with the same command line.
//!
//! Several files, proxies (a forward proxy in this process, `ForwardProxy`), headers, the
//! server's time and `--limit-rate` are checked the same way: by what reaches the servers
//! (request lines, headers, connections open at once) and what lands on disk, never by exact
//! timings (the rate check has a wide margin). The machine's own `*_proxy` variables are
//! removed from every run.

mod download_server;

use download_server::{Behaviour, ForwardProxy, Request, Server};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PROXY_VARIABLES: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

fn binary() -> String {
    std::env::var("DOWNLOAD_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_download").to_string())
}

/// Bytes that no shifted or repeated copy matches by accident.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

fn command(dir: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(binary());
    command
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE");
    // The proxies of the machine running the tests must not reach the test servers.
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for a child with a deadline: a hung download fails the test instead of the suite.
fn finish(mut child: Child, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!(
                "{what} did not finish in 60 s: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("output")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    let child = command(dir, args).spawn().expect("start download");
    finish(child, &format!("download {args:?}"))
}

/// Each command line is a usage error: exit 2, and no panic.
fn assert_usage_errors(dir: &Path, cases: &[&[&str]]) {
    for args in cases {
        let output = run(dir, args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert!(!message.contains("panicked"), "{args:?}: {message}");
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn assert_saved(output: &Output, path: &Path, expected: &[u8]) {
    assert!(
        output.status.success(),
        "exit {:?}, stderr: {}",
        output.status.code(),
        stderr(output)
    );
    let saved = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(
        saved.len() == expected.len(),
        "saved {} bytes, want {}",
        saved.len(),
        expected.len()
    );
    assert!(
        saved == expected,
        "the saved bytes differ from the server's"
    );
}

/// Failed with one clear line (no panic), and nothing under the final name.
#[track_caller]
fn assert_failed_cleanly(output: &Output, path: &Path) {
    assert!(
        !output.status.success(),
        "expected a failure; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let text = stderr(output);
    assert!(!text.trim().is_empty(), "no message on stderr");
    assert!(!text.contains("panicked"), "panic: {text}");
    assert!(!path.exists(), "{} exists after a failure", path.display());
}

fn range_gets(log: &[Request]) -> Vec<&Request> {
    log.iter()
        .filter(|r| r.method == "GET" && r.status == 206)
        .collect()
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

fn file_in(dir: &tempfile::TempDir) -> (PathBuf, String) {
    let path = dir.path().join("out.bin");
    let text = path.to_string_lossy().into_owned();
    (path, text)
}

#[test]
fn a_well_behaved_server_gives_the_same_bytes_in_eight_ranges() {
    let data = content(3_000_017, 1);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "8"],
    );
    assert_saved(&output, &path, &data);
    let log = server.log();
    let starts: std::collections::HashSet<_> = range_gets(&log)
        .iter()
        .filter_map(|r| r.range_start())
        .collect();
    assert!(
        starts.len() >= 8,
        "expected 8 ranges at least, the server saw {starts:?}"
    );
    assert!(
        log.iter()
            .all(|r| r.accept_encoding.as_deref() == Some("identity")),
        "every request must send Accept-Encoding: identity: {log:?}"
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left.len(),
        1,
        "only the file is left, not its part or control file: {left:?}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).trim().is_empty(),
        "a summary line"
    );
    assert!(
        output.stderr.is_empty(),
        "no progress bar or note when stderr is not a terminal: {}",
        stderr(&output)
    );
}

#[test]
fn the_file_name_comes_from_the_url_or_a_bare_content_disposition() {
    let data = content(100_000, 2);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let output = run(dir.path(), &[&server.url("/dir/named.bin?x=1")]);
    assert_saved(&output, &dir.path().join("named.bin"), &data);

    let behaviour = Behaviour {
        content_disposition: Some("attachment; filename=\"../../escape.bin\"".into()),
        ..Behaviour::default()
    };
    server.set_behaviour(behaviour);
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    let output = run(&inner, &[&server.url("/file.bin")]);
    assert_saved(&output, &inner.join("escape.bin"), &data);
    assert!(
        !dir.path().join("escape.bin").exists(),
        "a name in Content-Disposition left the folder"
    );
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let data = content(50_000, 3);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    std::fs::write(&path, b"mine").unwrap();
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "--force"],
    );
    assert_saved(&output, &path, &data);
}

#[test]
fn a_server_that_ignores_range_gets_one_stream_not_eight_copies() {
    let data = content(1_000_003, 4);
    let behaviour = Behaviour {
        ignore_range: true,
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "8"],
    );
    assert_saved(&output, &path, &data);
    assert!(
        stderr(&output).contains("stream"),
        "it says it falls back: {}",
        stderr(&output)
    );
}

#[test]
fn a_206_with_other_bytes_than_asked_falls_back_to_one_stream() {
    let data = content(1_000_003, 24);
    let behaviour = Behaviour {
        shifted_range: true,
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4"],
    );
    assert_saved(&output, &path, &data);
    assert!(
        stderr(&output).contains("stream"),
        "it says it falls back: {}",
        stderr(&output)
    );
}

/// Retries resume from the byte reached: some range request starts inside another's span.
#[track_caller]
fn assert_resumed_mid_range(log: &[Request], len: u64, segments: u64) {
    let size = len / segments;
    let resumed = range_gets(log)
        .iter()
        .filter_map(|r| r.range_start())
        .any(|start| start % size != 0);
    assert!(resumed, "no request resumed from inside a range: {log:?}");
}

#[test]
fn a_dropped_connection_is_retried_from_the_byte_it_reached() {
    let data = content(800_000, 5);
    let server = Server::start(
        data.clone(),
        Behaviour {
            drop_once: true,
            ..Behaviour::default()
        },
    );
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4"],
    );
    assert_saved(&output, &path, &data);
    assert_resumed_mid_range(&server.log(), data.len() as u64, 4);
}

#[test]
fn a_stalled_connection_times_out_and_is_retried() {
    let data = content(800_000, 6);
    let server = Server::start(
        data.clone(),
        Behaviour {
            stall_once: true,
            ..Behaviour::default()
        },
    );
    let dir = temp();
    let (path, out) = file_in(&dir);
    let url = server.url("/file.bin");
    let output = run(
        dir.path(),
        &[&url, "-o", &out, "-n", "4", "--timeout", "0.5"],
    );
    assert_saved(&output, &path, &data);
    assert_resumed_mid_range(&server.log(), data.len() as u64, 4);
}

#[test]
fn a_refused_head_asks_for_byte_zero() {
    let data = content(600_000, 7);
    let server = Server::start(
        data.clone(),
        Behaviour {
            refuse_head: true,
            ..Behaviour::default()
        },
    );
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    assert_saved(&output, &path, &data);
    let log = server.log();
    assert!(
        log.iter()
            .any(|r| r.method == "GET" && r.range.as_deref() == Some("bytes=0-0")),
        "no Range: bytes=0-0 probe: {log:?}"
    );
}

#[test]
fn a_head_without_length_still_gives_ranges() {
    let data = content(600_000, 8);
    let behaviour = Behaviour {
        head_without_length: true,
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4"],
    );
    assert_saved(&output, &path, &data);
    assert!(range_gets(&server.log()).len() >= 4);
}

#[test]
fn no_length_at_all_is_one_chunked_stream() {
    let data = content(700_001, 9);
    let behaviour = Behaviour {
        chunked_without_length: true,
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    assert_saved(&output, &path, &data);
}

#[test]
fn a_wrong_content_length_fails_without_a_file() {
    let data = content(300_000, 10);
    let behaviour = Behaviour {
        announce_extra: 1000,
        ..Behaviour::default()
    };
    let server = Server::start(data, behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "--retries", "1"],
    );
    assert_failed_cleanly(&output, &path);
}

#[test]
fn redirects_are_followed_and_every_range_asks_the_final_url() {
    let data = content(500_000, 11);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/hop/3"), "-o", &out, "-n", "4"]);
    assert_saved(&output, &path, &data);
    let log = server.log();
    let gets = range_gets(&log);
    assert!(
        gets.len() >= 4 && gets.iter().all(|r| r.path == "/file.bin"),
        "{log:?}"
    );
    let hops = log.iter().filter(|r| r.path.starts_with("/hop/")).count();
    assert_eq!(
        hops, 4,
        "the redirects are followed once, by the probe: {log:?}"
    );

    let (path, out) = (
        dir.path().join("loop.bin"),
        dir.path().join("loop.bin").to_string_lossy().into_owned(),
    );
    let output = run(dir.path(), &[&server.url("/loop"), "-o", &out]);
    assert_failed_cleanly(&output, &path);
}

#[test]
fn a_gzip_body_is_never_saved_as_the_file() {
    let data = content(200_000, 12);
    let server = Server::start(
        data.clone(),
        Behaviour {
            gzip: true,
            ..Behaviour::default()
        },
    );
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    if output.status.success() {
        assert_saved(&output, &path, &data); // decoded: also acceptable
    } else {
        assert_failed_cleanly(&output, &path);
    }
}

#[test]
fn an_error_page_is_never_saved() {
    let server = Server::start(content(1000, 13), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/missing"), "-o", &out]);
    assert_failed_cleanly(&output, &path);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no part file either"
    );
}

#[test]
fn checksum_is_verified_before_the_file_is_saved() {
    use sha2::{Digest, Sha256};
    let data = content(400_000, 14);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let hex: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let good = format!("sha256:{hex}");
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "--checksum", &good],
    );
    assert_saved(&output, &path, &data);
    std::fs::remove_file(&path).unwrap();
    let bad = format!("sha256:{}", "0".repeat(64));
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "--checksum", &bad],
    );
    assert_failed_cleanly(&output, &path);
}

#[test]
fn a_fast_connection_takes_over_half_of_a_slow_one() {
    let data = content(1 << 21, 15);
    let behaviour = Behaviour {
        slow_first_range: true,
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4"],
    );
    assert_saved(&output, &path, &data);
    // Without stealing, only the first range would cover (0, len/4): a request starting
    // inside it shows that another connection took part of it.
    let quarter = data.len() as u64 / 4;
    let log = server.log();
    assert!(
        range_gets(&log)
            .iter()
            .filter_map(|r| r.range_start())
            .any(|s| s > 0 && s < quarter),
        "nobody took over part of the slow first range: {log:?}"
    );
}

/// How many distinct bytes the logged `206` answers covered.
fn requested_bytes(log: &[Request]) -> u64 {
    let mut spans: Vec<(u64, u64)> = range_gets(log)
        .iter()
        .filter_map(|r| r.range_bounds())
        .collect();
    spans.sort();
    let mut total = 0;
    let mut covered_to = 0; // one past the last byte counted
    for (first, last) in spans {
        let from = first.max(covered_to);
        if last + 1 > from {
            total += last + 1 - from;
            covered_to = last + 1;
        }
    }
    total
}

/// Starts a slow download (4 MiB, about 1.6 s) and interrupts it with SIGINT once the server
/// has sent a quarter of it: the client has read some by then, and is far from done.
fn interrupted_download(server: &Server, dir: &Path, out: &str) -> Output {
    let child = command(dir, &[&server.url("/file.bin"), "-o", out, "-n", "4"])
        .spawn()
        .expect("start download");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.body_bytes_sent() < 1 << 20 {
        assert!(Instant::now() < deadline, "the download never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    finish(child, "interrupted download")
}

fn slow() -> Behaviour {
    Behaviour {
        throttle: Some(Duration::from_millis(25)),
        ..Behaviour::default()
    }
}

#[test]
fn ctrl_c_keeps_the_part_file_and_continue_resumes_it() {
    let data = content(4 << 20, 16);
    let server = Server::start(data.clone(), slow());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = interrupted_download(&server, dir.path(), &out);
    assert!(
        !output.status.success(),
        "an interrupted download must not succeed"
    );
    assert!(!path.exists());
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        kept.len() >= 2,
        "the part and control files are kept: {kept:?}"
    );

    // Without -c (or --force) the partial download is not thrown away.
    let part_before = std::fs::read(dir.path().join("out.bin.part")).ok();
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(dir.path().join("out.bin.part")).ok(),
        part_before
    );

    server.set_behaviour(Behaviour::default());
    server.clear_log();
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4", "-c"],
    );
    assert_saved(&output, &path, &data);
    // The bytes asked for again (a stolen half is asked for twice, so count their union).
    let again = requested_bytes(&server.log());
    assert!(
        again < data.len() as u64,
        "resuming asked for {again} bytes: it started over"
    );
    assert!(
        server.log().iter().any(|r| r.if_range.is_some()),
        "ranges are sent with If-Range"
    );
}

#[test]
fn continue_downloads_afresh_a_file_that_changed_on_the_server() {
    let data = content(4 << 20, 17);
    let server = Server::start(data, slow());
    let dir = temp();
    let (path, out) = file_in(&dir);
    interrupted_download(&server, dir.path(), &out);
    let changed = content(3 << 20, 18);
    server.replace_content(changed.clone());
    server.set_behaviour(Behaviour::default());
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4", "-c"],
    );
    assert_saved(&output, &path, &changed);
}

#[test]
fn if_range_catches_a_change_between_probe_and_ranges() {
    let data = content(4 << 20, 19);
    let server = Server::start(data.clone(), slow());
    let dir = temp();
    let (path, out) = file_in(&dir);
    interrupted_download(&server, dir.path(), &out);
    let old_etag = server.etag();
    // Same length, other bytes: only the validator tells them apart.
    let changed = content(4 << 20, 20);
    server.replace_content_after_next_head(changed.clone());
    server.set_behaviour(Behaviour::default());
    server.clear_log();
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", &out, "-n", "4", "-c"],
    );
    assert_saved(&output, &path, &changed);
    let log = server.log();
    assert!(
        log.iter()
            .any(|r| r.if_range.as_deref() == Some(old_etag.as_str())),
        "the resumed ranges carry If-Range with the old ETag: {log:?}"
    );
}

#[test]
fn https_with_a_private_ca() {
    let data = content(900_000, 21);
    let server = Server::start_tls(data.clone());
    let dir = temp();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem.as_ref().unwrap()).unwrap();
    let url = format!("https://localhost:{}/file.bin", server.addr.port());
    let (path, out) = file_in(&dir);
    let ca_text = ca.to_string_lossy().into_owned();
    let output = run(
        dir.path(),
        &[&url, "-o", &out, "-n", "4", "--cacert", &ca_text],
    );
    assert_saved(&output, &path, &data);
    std::fs::remove_file(&path).unwrap();
    // Without the CA the certificate is not trusted.
    let output = run(dir.path(), &[&url, "-o", &out]);
    assert_failed_cleanly(&output, &path);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let dir = temp();
    assert_usage_errors(
        dir.path(),
        &[
            &[][..],
            &["ftp://example.com/x"][..],
            &["http://127.0.0.1:1/x", "-n", "0"][..],
            &["http://127.0.0.1:1/x", "--checksum", "md5:abc"][..],
            &["http://127.0.0.1:1/x", "--timeout", "soon"][..],
        ],
    );
}

#[test]
fn an_unreachable_server_fails_with_one_line() {
    let dir = temp();
    let (path, out) = file_in(&dir);
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = run(
        dir.path(),
        &[&format!("http://127.0.0.1:{port}/x"), "-o", &out],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_failed_cleanly(&output, &path);
}

/// A closed stdout may cost the summary line (exit 0, or death by SIGPIPE when printing it),
/// never the file: it is saved before anything is printed.
#[test]
fn an_existing_output_is_refused_before_any_request() {
    let dir = temp();
    let (path, out) = file_in(&dir);
    std::fs::write(&path, b"mine").unwrap();
    // A port that was just free: any request would fail (exit 1), so exit 2 means none was made.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/x");
    let output = run(dir.path(), &[&url, "-o", &out]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    // The same for a part file from an earlier run, without -c or --force.
    let part = dir.path().join("new.bin.part");
    std::fs::write(&part, b"half").unwrap();
    let new = dir.path().join("new.bin");
    let output = run(dir.path(), &[&url, "-o", &new.to_string_lossy()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(std::fs::read(&part).unwrap(), b"half");
    assert!(!new.exists());
}

#[test]
fn ctrl_c_during_a_stalled_probe_exits_at_once() {
    let server = Server::start(
        content(10_000, 24),
        Behaviour {
            silent_head: true,
            ..Behaviour::default()
        },
    );
    let dir = temp();
    let (path, out) = file_in(&dir);
    let child = command(dir.path(), &[&server.url("/file.bin"), "-o", &out])
        .spawn()
        .expect("start download");
    // SIGINT once the server holds the HEAD, which it never answers (--timeout is 30 s).
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().iter().any(|r| r.method == "HEAD") {
        assert!(Instant::now() < deadline, "no HEAD reached the server");
        std::thread::sleep(Duration::from_millis(10));
    }
    let interrupted = Instant::now();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let output = finish(child, "download interrupted during its probe");
    let waited = interrupted.elapsed();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(
        waited < Duration::from_secs(5),
        "exited {waited:?} after SIGINT: it waited for the probe"
    );
    assert_failed_cleanly(&output, &path);
    assert!(
        !dir.path().join("out.bin.part").exists(),
        "a part file was made"
    );
}

#[test]
fn quiet_when_stdout_is_closed() {
    let data = content(10_000, 22);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let run = testkit::Lesson::new(&binary())
        .args([&server.url("/file.bin"), "-o", &out])
        .close_stdout()
        .run();
    run.assert_quiet();
    let saved = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; {run}", path.display()));
    assert!(saved == data, "the saved bytes differ from the server's");
}

#[test]
fn a_progress_bar_shows_on_a_terminal() {
    let data = content(2 << 20, 23);
    let behaviour = Behaviour {
        throttle: Some(Duration::from_millis(10)),
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let mut command = Command::new(binary());
    command.args([&server.url("/file.bin"), "-o", &out, "-n", "2"]);
    // On a pseudo-terminal both stdout and stderr are the terminal.
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).expect("pty");
    let screen = session.exp_eof().expect("the download ends");
    // The summary line shows a speed too; only the bar shows an ETA.
    assert!(
        screen.contains("ETA "),
        "no progress bar (bytes, speed, ETA): {screen}"
    );
    assert_eq!(std::fs::read(&path).expect("saved"), data);
}

// ---- Several files at once -------------------------------------------------------------

fn run_with_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = command(dir, args);
    for (name, value) in env {
        command.env(name, value);
    }
    let child = command.spawn().expect("start download");
    finish(child, &format!("download {args:?} with {env:?}"))
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn several_urls_are_saved_in_the_dir() {
    let data = content(700_001, 30);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let urls: Vec<String> = ["one.bin", "two.bin", "three.bin"]
        .iter()
        .map(|name| server.url(&format!("/x/{name}")))
        .collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-d", "new/folder", "-n", "3"]);
    let output = run(dir.path(), &args);
    let folder = dir.path().join("new/folder");
    for name in ["one.bin", "two.bin", "three.bin"] {
        assert_saved(&output, &folder.join(name), &data);
        assert!(stdout(&output).contains(name), "{}", stdout(&output));
    }
    let left = std::fs::read_dir(&folder).unwrap().count();
    assert_eq!(left, 3, "only the three files, no part or control file");
}

#[test]
fn urls_come_from_a_file_or_stdin_skipping_blanks_and_comments() {
    let data = content(300_000, 31);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let list = format!(
        "# my files\n\n{}\n   \n  {}  \n# {}\n",
        server.url("/a/first.bin"),
        server.url("/a/second.bin"),
        server.url("/a/commented.bin"),
    );
    std::fs::write(dir.path().join("urls.txt"), &list).unwrap();
    let output = run(dir.path(), &["-i", "urls.txt", "-d", "out"]);
    assert_saved(&output, &dir.path().join("out/first.bin"), &data);
    assert_saved(&output, &dir.path().join("out/second.bin"), &data);
    assert!(!dir.path().join("out/commented.bin").exists());

    let mut child = command(dir.path(), &["-i", "-", "-d", "piped"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("start download");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(list.as_bytes()).unwrap();
    }
    let output = finish(child, "download -i -");
    assert_saved(&output, &dir.path().join("piped/first.bin"), &data);
    assert_saved(&output, &dir.path().join("piped/second.bin"), &data);
}

#[test]
fn a_404_among_several_fails_only_itself() {
    let data = content(500_000, 32);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let output = run(
        dir.path(),
        &[
            &server.url("/x/good1.bin"),
            &server.url("/missing"),
            &server.url("/x/good2.bin"),
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    for name in ["good1.bin", "good2.bin"] {
        let saved = std::fs::read(dir.path().join(name)).expect("the others are saved");
        assert!(saved == data, "{name} differs");
    }
    assert!(!dir.path().join("missing").exists());
    let summary = stdout(&output);
    assert!(
        summary.contains("good1.bin") && summary.contains("good2.bin"),
        "{summary}"
    );
    assert!(
        summary
            .lines()
            .any(|l| l.contains("missing") && l.contains("404")),
        "the summary names the failed file and why: {summary}"
    );
    assert!(stderr(&output).contains("404"), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"));
}

#[test]
fn two_urls_with_one_name_are_refused_before_any_request() {
    let server = Server::start(content(1000, 33), Behaviour::default());
    let dir = temp();
    let output = run(
        dir.path(),
        &[&server.url("/a/same.bin"), &server.url("/b/same.bin")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("same.bin"), "{}", stderr(&output));
    assert!(
        server.log().is_empty(),
        "a request was made: {:?}",
        server.log()
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn connections_are_bounded_in_total_and_per_host() {
    let data = content(600_000, 34);
    let behaviour = Behaviour {
        throttle: Some(Duration::from_millis(5)),
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let urls: Vec<String> = (0..4).map(|i| server.url(&format!("/f/{i}.bin"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-n", "4", "--max-connections", "3", "-d", "total"]);
    let output = run(dir.path(), &args);
    for i in 0..4 {
        assert_saved(&output, &dir.path().join(format!("total/{i}.bin")), &data);
    }
    let most = server.max_open();
    assert!(
        (2..=3).contains(&most),
        "--max-connections 3: the server saw {most} open at once"
    );

    let server = Server::start(
        data.clone(),
        Behaviour {
            throttle: Some(Duration::from_millis(5)),
            ..Behaviour::default()
        },
    );
    let urls: Vec<String> = (0..4).map(|i| server.url(&format!("/f/{i}.bin"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-n", "2", "-d", "per_host"]);
    let output = run(dir.path(), &args);
    for i in 0..4 {
        assert_saved(
            &output,
            &dir.path().join(format!("per_host/{i}.bin")),
            &data,
        );
    }
    let most = server.max_open();
    assert!(most <= 2, "-n 2: one host saw {most} connections at once");
}

#[test]
fn a_progress_bar_per_file_and_a_total_on_a_terminal() {
    let data = content(1 << 20, 35);
    let behaviour = Behaviour {
        throttle: Some(Duration::from_millis(10)),
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let mut command = Command::new(binary());
    command
        .args([
            &server.url("/p/first.bin"),
            &server.url("/p/second.bin"),
            "-n",
            "2",
        ])
        .current_dir(dir.path());
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).expect("pty");
    let screen = session.exp_eof().expect("the download ends");
    assert!(screen.contains("ETA "), "no file bar: {screen}");
    assert!(screen.contains("total"), "no total bar: {screen}");
    assert_eq!(std::fs::read(dir.path().join("first.bin")).unwrap(), data);
    assert_eq!(std::fs::read(dir.path().join("second.bin")).unwrap(), data);
}

// ---- Proxies --------------------------------------------------------------------------

#[test]
fn http_goes_through_http_proxy_in_absolute_form() {
    let data = content(400_000, 40);
    let server = Server::start(data.clone(), Behaviour::default());
    let proxy = ForwardProxy::start(None, false);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let url = server.url("/file.bin");
    let output = run_with_env(
        dir.path(),
        &[&url, "-o", &out, "-n", "3"],
        &[("http_proxy", &proxy.url())],
    );
    assert_saved(&output, &path, &data);
    let log = proxy.log();
    let absolute = log
        .iter()
        .filter(|r| r.line.starts_with(&format!("GET {url} ")))
        .count();
    assert!(
        absolute >= 3,
        "absolute-form GETs through the proxy: {log:?}"
    );
    assert!(
        log.iter().all(|r| !r.line.starts_with("CONNECT")),
        "{log:?}"
    );
    // The server saw every request, forwarded in origin form.
    assert!(range_gets(&server.log()).len() >= 3);

    // ALL_PROXY is the fallback; --proxy overrides the variables.
    let output = run_with_env(
        dir.path(),
        &[&url, "-o", "all.bin"],
        &[("ALL_PROXY", &proxy.url())],
    );
    assert_saved(&output, &dir.path().join("all.bin"), &data);
    let before = proxy.log().len();
    let output = run_with_env(
        dir.path(),
        &[&url, "-o", "flag.bin", "--proxy", &proxy.url()],
        &[("http_proxy", "http://127.0.0.1:1")],
    );
    assert_saved(&output, &dir.path().join("flag.bin"), &data);
    assert!(proxy.log().len() > before, "--proxy was not used");
}

#[test]
fn https_goes_through_a_connect_tunnel_with_credentials() {
    let data = content(500_000, 41);
    let server = Server::start_tls(data.clone());
    let proxy = ForwardProxy::start(Some("dXNlcjpwYXNz"), false); // user:pass
    let dir = temp();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, server.ca_pem.as_ref().unwrap()).unwrap();
    let ca = ca.to_string_lossy().into_owned();
    let url = format!("https://localhost:{}/file.bin", server.addr.port());
    let (path, out) = file_in(&dir);
    let proxy_url = format!("http://user:pass@{}", proxy.addr);
    let output = run_with_env(
        dir.path(),
        &[&url, "-o", &out, "-n", "3", "--cacert", &ca],
        &[("HTTPS_PROXY", &proxy_url)],
    );
    assert_saved(&output, &path, &data);
    let log = proxy.log();
    let target = format!("CONNECT localhost:{} ", server.addr.port());
    assert!(
        log.iter().filter(|r| r.line.starts_with(&target)).count() >= 3,
        "a CONNECT tunnel per connection: {log:?}"
    );
    assert!(
        log.iter()
            .all(|r| r.authorization.as_deref() == Some("Basic dXNlcjpwYXNz")),
        "Proxy-Authorization: Basic on every CONNECT: {log:?}"
    );
}

#[test]
fn no_proxy_and_noproxy_reach_hosts_directly() {
    let data = content(100_000, 42);
    let server = Server::start(data.clone(), Behaviour::default());
    let proxy = ForwardProxy::start(None, false);
    let dir = temp();
    let port = server.addr.port();
    let by_name = format!("http://localhost:{port}/file.bin");
    let by_ip = server.url("/file.bin");
    let cases: [(&str, &[&str], &str); 6] = [
        (&by_name, &[], "localhost"),
        (&by_name, &[], ".localhost"),
        (&by_name, &[], "*"),
        (&by_ip, &[], "127.0.0.1"),
        (&by_ip, &[], "127.0.0.0/8"),
        (&by_name, &["--noproxy", "localhost"], "elsewhere.example"),
    ];
    for (number, (url, extra, no_proxy)) in cases.iter().enumerate() {
        let out = format!("direct{number}.bin");
        let mut args = vec![*url, "-o", &out];
        args.extend_from_slice(extra);
        let output = run_with_env(
            dir.path(),
            &args,
            &[("http_proxy", &proxy.url()), ("no_proxy", no_proxy)],
        );
        assert_saved(&output, &dir.path().join(&out), &data);
        assert!(
            proxy.log().is_empty(),
            "{url} with no_proxy={no_proxy:?} {extra:?} went through the proxy"
        );
    }
    // A name that no_proxy does not cover goes through it.
    let output = run_with_env(
        dir.path(),
        &[&by_name, "-o", "proxied.bin"],
        &[
            ("http_proxy", &proxy.url()),
            ("NO_PROXY", "notlocalhost,.example.com"),
        ],
    );
    assert_saved(&output, &dir.path().join("proxied.bin"), &data);
    assert!(!proxy.log().is_empty(), "the proxy was not used");
}

/// Failed with exactly one line on stderr that names the proxy problem.
#[track_caller]
fn assert_proxy_failure(output: &Output, path: &Path, words: &[&str]) {
    assert_eq!(output.status.code(), Some(1), "{}", stderr(output));
    assert_failed_cleanly(output, path);
    let text = stderr(output);
    assert_eq!(text.trim().lines().count(), 1, "one line: {text}");
    for word in words {
        assert!(text.contains(word), "{word:?} missing in: {text}");
    }
}

#[test]
fn a_proxy_failure_is_one_clear_line() {
    let data = content(50_000, 43);
    let server = Server::start(data, Behaviour::default());
    let tls = Server::start_tls(content(50_000, 44));
    let dir = temp();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, tls.ca_pem.as_ref().unwrap()).unwrap();
    let ca = ca.to_string_lossy().into_owned();
    let https = format!("https://localhost:{}/file.bin", tls.addr.port());
    let (path, out) = file_in(&dir);
    let wants = ForwardProxy::start(Some("dXNlcjpwYXNz"), false);
    // 407, on a tunnel and on a plain request.
    let output = run(
        dir.path(),
        &[&https, "-o", &out, "--cacert", &ca, "--proxy", &wants.url()],
    );
    assert_proxy_failure(&output, &path, &["proxy", "407"]);
    let output = run(
        dir.path(),
        &[
            &server.url("/file.bin"),
            "-o",
            &out,
            "--proxy",
            &wants.url(),
        ],
    );
    assert_proxy_failure(&output, &path, &["proxy", "407"]);
    // Refused: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nobody = format!("http://127.0.0.1:{port}");
    let output = run(
        dir.path(),
        &[&https, "-o", &out, "--cacert", &ca, "--proxy", &nobody],
    );
    assert_proxy_failure(&output, &path, &["proxy", &port.to_string()]);
    // A bad answer to CONNECT.
    let garbage = ForwardProxy::start(None, true);
    let output = run(
        dir.path(),
        &[
            &https,
            "-o",
            &out,
            "--cacert",
            &ca,
            "--proxy",
            &garbage.url(),
        ],
    );
    assert_proxy_failure(&output, &path, &["proxy"]);
}

// ---- Headers, time, rate -------------------------------------------------------------

#[test]
fn headers_and_user_agent_go_with_every_request() {
    let data = content(400_000, 50);
    let behaviour = Behaviour {
        require_header: Some(("x-token".into(), "secret 1".into())),
        ..Behaviour::default()
    };
    let server = Server::start(data.clone(), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let url = server.url("/file.bin");
    let output = run(dir.path(), &[&url, "-o", &out]);
    assert_failed_cleanly(&output, &path);
    assert!(stderr(&output).contains("403"), "{}", stderr(&output));

    server.clear_log();
    let output = run(
        dir.path(),
        &[
            &url,
            "-o",
            &out,
            "-n",
            "4",
            "-H",
            "X-Token: secret 1",
            "-H",
            "X-Other: two",
            "-A",
            "grader/1.0",
        ],
    );
    assert_saved(&output, &path, &data);
    let log = server.log();
    assert!(log.iter().any(|r| r.method == "HEAD") && range_gets(&log).len() >= 4);
    for request in &log {
        assert_eq!(request.header("x-token"), Some("secret 1"), "{request:?}");
        assert_eq!(request.header("x-other"), Some("two"), "{request:?}");
        assert_eq!(
            request.header("user-agent"),
            Some("grader/1.0"),
            "{request:?}"
        );
    }
}

#[test]
fn credentials_are_not_sent_to_another_host_after_a_redirect() {
    let data = content(300_000, 51);
    let target = Server::start(data.clone(), Behaviour::default());
    let elsewhere = format!("http://localhost:{}/file.bin", target.addr.port());
    let behaviour = Behaviour {
        redirect_to: Some(elsewhere),
        ..Behaviour::default()
    };
    let first = Server::start(content(10, 52), behaviour);
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(
        dir.path(),
        &[
            &first.url("/away"),
            "-o",
            &out,
            "-n",
            "3",
            "-H",
            "Authorization: Bearer t0ken",
            "-H",
            "Cookie: session=1",
            "-H",
            "X-Other: kept",
        ],
    );
    assert_saved(&output, &path, &data);
    let asked = first.log();
    assert!(
        asked
            .iter()
            .all(|r| r.header("authorization") == Some("Bearer t0ken")),
        "the host asked gets the credentials: {asked:?}"
    );
    let log = target.log();
    assert!(range_gets(&log).len() >= 3, "{log:?}");
    for request in &log {
        assert_eq!(request.header("authorization"), None, "{request:?}");
        assert_eq!(request.header("cookie"), None, "{request:?}");
        assert_eq!(request.header("x-other"), Some("kept"), "{request:?}");
    }
}

fn modified(path: &Path) -> std::time::SystemTime {
    std::fs::metadata(path).unwrap().modified().unwrap()
}

#[test]
fn the_file_gets_the_servers_last_modified_time() {
    let data = content(200_000, 53);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let (path, out) = file_in(&dir);
    let output = run(dir.path(), &[&server.url("/file.bin"), "-o", &out]);
    assert_saved(&output, &path, &data);
    // The test server's Last-Modified: Sun, 22 Nov 2026 10:00:00 GMT.
    let remote = std::time::UNIX_EPOCH + Duration::from_secs(1_795_341_600);
    assert_eq!(modified(&path), remote);

    let (path, out) = (dir.path().join("now.bin"), "now.bin");
    let before = std::time::SystemTime::now() - Duration::from_secs(60);
    let output = run(
        dir.path(),
        &[&server.url("/file.bin"), "-o", out, "--no-remote-time"],
    );
    assert_saved(&output, &path, &data);
    assert!(
        modified(&path) >= before,
        "--no-remote-time keeps the time of the download"
    );
}

#[test]
fn limit_rate_holds_every_connection_of_every_file_together() {
    // Two files of 300 KiB, 2 connections each, at 200 KiB/s in all: 3 s at the limit. Each
    // connection alone at the limit would take 1.5 s; the check is 2 s (the limit
    // plus a third), so only a shared bucket passes.
    let data = content(300 << 10, 54);
    let server = Server::start(data.clone(), Behaviour::default());
    let dir = temp();
    let started = Instant::now();
    let output = run(
        dir.path(),
        &[
            &server.url("/r/one.bin"),
            &server.url("/r/two.bin"),
            "-n",
            "2",
            "--limit-rate",
            "200K",
        ],
    );
    let elapsed = started.elapsed();
    assert_saved(&output, &dir.path().join("one.bin"), &data);
    assert_saved(&output, &dir.path().join("two.bin"), &data);
    assert!(
        elapsed >= Duration::from_secs(2),
        "600 KiB at 200K took {elapsed:?}: faster than the limit allows"
    );
}

#[test]
fn several_file_usage_errors_exit_2() {
    let dir = temp();
    assert_usage_errors(
        dir.path(),
        &[
            &["http://127.0.0.1:1/a", "http://127.0.0.1:1/b", "-o", "x"][..],
            &[
                "http://127.0.0.1:1/a",
                "http://127.0.0.1:1/b",
                "--checksum",
                &format!("sha256:{}", "0".repeat(64)),
            ][..],
            &["http://127.0.0.1:1/a", "-H", "no colon"][..],
            &["http://127.0.0.1:1/a", "--limit-rate", "fast"][..],
            &["http://127.0.0.1:1/a", "--proxy", "socks5://127.0.0.1:1"][..],
            &["-i", "no-such-list.txt"][..],
        ],
    );
}

#[test]
fn ctrl_c_with_several_files_keeps_their_parts_and_continue_resumes_them() {
    let data = content(2 << 20, 55);
    let server = Server::start(data.clone(), slow());
    let dir = temp();
    let urls: Vec<String> = (0..3).map(|i| server.url(&format!("/c/{i}.bin"))).collect();
    let mut args: Vec<&str> = urls.iter().map(String::as_str).collect();
    args.extend(["-n", "2"]);
    let child = command(dir.path(), &args).spawn().expect("start download");
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.body_bytes_sent() < 1 << 20 {
        assert!(Instant::now() < deadline, "the downloads never got going");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let output = finish(child, "interrupted downloads");
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"));
    // A file whose turn had not come has nothing yet; the others keep their part and
    // control files.
    let mut kept = 0;
    for i in 0..3 {
        assert!(
            !dir.path().join(format!("{i}.bin")).exists(),
            "{i}.bin saved"
        );
        let part = dir.path().join(format!("{i}.bin.part"));
        let control = dir.path().join(format!("{i}.bin.part.json"));
        assert_eq!(part.exists(), control.exists(), "{i}.bin: both or neither");
        kept += usize::from(control.exists());
    }
    assert!(kept >= 1, "no part file was kept");
    server.set_behaviour(Behaviour::default());
    server.clear_log();
    args.push("-c");
    let output = run(dir.path(), &args);
    for i in 0..3 {
        assert_saved(&output, &dir.path().join(format!("{i}.bin")), &data);
    }
    let again = requested_bytes(&server.log());
    assert!(
        again < 3 * data.len() as u64,
        "resuming asked for {again} bytes: it started over"
    );
}
