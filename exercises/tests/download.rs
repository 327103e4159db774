//! Black-box tests of `download` against a test server in this process (`download_server`).
//!
//! Each test checks what a user relies on: the file on disk is byte-identical to the server's,
//! or the program exits non-zero with a clear line and no file under the final name.
//! `DOWNLOAD_BIN=/path/to/program cargo test -p exercises --test download` runs the same tests
//! against another program with the same command line.

mod download_server;

use download_server::{Behaviour, Request, Server};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

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
        .env_remove("RUST_BACKTRACE")
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
    for args in [
        &[][..],
        &["ftp://example.com/x"][..],
        &["http://127.0.0.1:1/x", "-n", "0"][..],
        &["http://127.0.0.1:1/x", "--checksum", "md5:abc"][..],
        &["http://127.0.0.1:1/x", "--timeout", "soon"][..],
    ] {
        let output = run(dir.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(!stderr(&output).contains("panicked"));
    }
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
