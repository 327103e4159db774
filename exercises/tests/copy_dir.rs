//! Black-box tests of `copy_dir` (作业：文件夹复制器): each runs the program on a tree in a
//! scratch folder and checks the bytes and metadata on disk and the exit status.
//!
//! `COPY_DIR_BIN=/path/to/program cargo test -p exercises --test copy_dir` runs them against
//! another program with the same command line (a learner's homework). Linux only. Some cases
//! are built for root, as CI runs: a read-only folder and permission bits are no obstacle to
//! root, so the failures here come from things root cannot bypass (a file where a folder must
//! go, a path longer than PATH_MAX, a full filesystem, a file deleted mid-copy).

mod copy_dir_support;

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, symlink};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use copy_dir_support::*;
use nix::fcntl::OFlag;
use nix::sys::signal::{Signal, kill};
use nix::sys::stat::Mode;
use nix::unistd::Pid;
use testkit::Lesson;

/// A small tree with nested folders, modes and nanosecond times.
fn small_tree(root: &Path) {
    write(&root.join("top.txt"), b"top\n");
    write(&root.join("a/one.txt"), b"one\n");
    write(&root.join("a/b/c/deep.bin"), &[0, 1, 2, 255]);
    write(&root.join("a/empty"), b"");
    set_mode(&root.join("a/one.txt"), 0o640);
    set_mode(&root.join("a/b/c/deep.bin"), 0o755);
    set_mode(&root.join("a/empty"), 0o600);
    for (i, path) in [
        "top.txt",
        "a/one.txt",
        "a/b/c/deep.bin",
        "a/empty",
        "a/b/c",
        "a/b",
        "a",
        ".",
    ]
    .iter()
    .enumerate()
    {
        set_times(
            &root.join(path),
            1_600_000_000 + i as u64,
            123_456_789 + i as u32,
        );
    }
}

#[test]
fn copies_contents_modes_and_nanosecond_times() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
}

#[test]
fn a_big_file_is_copied_exactly() {
    // More than one 64 MiB copy_file_range chunk, and not a multiple of any buffer.
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    fs::create_dir(&src).unwrap();
    write_big(&src.join("big"), (65 << 20) + 12_345);
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
}

#[test]
fn copies_across_filesystems_where_the_kernel_copy_is_refused() {
    // From the target dir's filesystem to tmpfs: copy_file_range between filesystems fails with
    // EXDEV on today's kernels, so the read/write fallback does the work.
    let shm = Path::new("/dev/shm");
    if !shm.is_dir()
        || fs::metadata(shm).unwrap().dev()
            == fs::metadata(env!("CARGO_TARGET_TMPDIR")).unwrap().dev()
    {
        eprintln!("skipped: no /dev/shm on another filesystem than the target dir");
        return;
    }
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    write_big(&src.join("a/three_mib.bin"), (3 << 20) + 7);
    let dest = tempfile::Builder::new()
        .prefix("copy_dir-")
        .tempdir_in(shm)
        .unwrap();
    run([src.as_path(), &dest.path().join("copy")]).success();
    assert_same_tree(&src, &dest.path().join("copy"));
}

#[test]
fn a_terminal_gets_a_progress_bar_and_a_summary() {
    // In a pseudo-terminal the program draws on stderr (escape sequences); through a pipe it
    // does not (see no_progress_bar_when_stderr_is_not_a_terminal).
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    write_big(&src.join("big.bin"), 64 << 20);
    let mut command = std::process::Command::new(binary());
    command.args([&src, &dest]).env("TERM", "xterm");
    let mut session = rexpect::session::spawn_command(command, Some(60_000)).unwrap();
    let shown = session.exp_eof().unwrap();
    assert!(
        shown.contains('\x1b'),
        "no progress display in a terminal: {shown:?}"
    );
    assert!(shown.contains("MB/s"), "no summary line: {shown:?}");
    assert_same_tree(&src, &dest);
}

#[test]
fn a_read_only_folder_is_filled_and_keeps_its_mode_and_time() {
    // As a normal user, a folder made 0555 before its contents are written cannot be filled;
    // as root (CI) the mode is no obstacle, but its time would still be spoiled.
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    write(&src.join("locked/inside.txt"), b"still copied\n");
    write(&src.join("locked/sub/deeper.txt"), b"deeper\n");
    set_mode(&src.join("locked/sub"), 0o555);
    set_mode(&src.join("locked"), 0o555);
    set_times(&src.join("locked"), 1_500_000_000, 987_654_321);
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
}

#[test]
fn symlinks_are_copied_as_links_never_followed() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    write(&src.join("sub/file.txt"), b"x");
    write(&scratch.join("outside/secret.txt"), b"not to be copied");
    symlink("..", src.join("sub/up")).unwrap(); // followed, it would loop
    symlink("does/not/exist", src.join("dangling")).unwrap();
    symlink(scratch.join("outside"), src.join("to_outside")).unwrap();
    symlink("sub/file.txt", src.join("to_file")).unwrap();
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    assert!(
        fs::symlink_metadata(dest.join("to_outside"))
            .unwrap()
            .is_symlink()
    );
}

#[test]
fn hard_links_stay_hard_links() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    write(&src.join("a.txt"), b"shared bytes");
    fs::create_dir(src.join("sub")).unwrap();
    fs::hard_link(src.join("a.txt"), src.join("sub/b.txt")).unwrap();
    fs::hard_link(src.join("a.txt"), src.join("z.txt")).unwrap();
    write(&src.join("alone.txt"), b"shared bytes");
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    let inode = |p: &str| fs::metadata(dest.join(p)).unwrap().ino();
    assert_eq!(inode("a.txt"), inode("sub/b.txt"));
    assert_eq!(inode("a.txt"), inode("z.txt"));
    assert_ne!(inode("a.txt"), inode("alone.txt"));
    assert_eq!(fs::metadata(dest.join("a.txt")).unwrap().nlink(), 3);
}

#[test]
fn sparse_files_stay_sparse() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    fs::create_dir(&src).unwrap();
    let path = src.join("sparse.img");
    let file = fs::File::create(&path).unwrap();
    file.set_len(64 << 20).unwrap();
    use std::os::unix::fs::FileExt;
    file.write_all_at(b"data in the middle", 20 << 20).unwrap();
    file.write_all_at(b"data near the end", (64 << 20) - 100)
        .unwrap();
    drop(file);
    let allocated = fs::metadata(&path).unwrap().blocks() * 512;
    if allocated >= 64 << 20 {
        eprintln!("skipped: this filesystem does not keep holes ({allocated} bytes allocated)");
        return;
    }
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    let copied = fs::metadata(dest.join("sparse.img")).unwrap().blocks() * 512;
    assert!(
        copied <= allocated + (1 << 20),
        "the copy takes {copied} bytes, the source {allocated}"
    );
}

#[test]
fn fifos_and_sockets_are_skipped_with_a_warning() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    write(&src.join("plain.txt"), b"copied");
    nix::unistd::mkfifo(
        &src.join("a_fifo"),
        nix::sys::stat::Mode::from_bits_truncate(0o644),
    )
    .unwrap();
    let _listener = UnixListener::bind(src.join("a_socket")).unwrap();
    // A character device (the numbers of /dev/null) needs root; without it, FIFO and socket.
    let device = nix::sys::stat::mknod(
        &src.join("a_device"),
        nix::sys::stat::SFlag::S_IFCHR,
        Mode::from_bits_truncate(0o666),
        nix::sys::stat::makedev(1, 3),
    )
    .is_ok();
    let run = run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    assert!(
        !device || run.stderr.contains("a_device"),
        "no warning: {run}"
    );
    assert!(
        run.stderr.contains("a_fifo") && run.stderr.contains("a_socket"),
        "no warning: {run}"
    );
}

#[test]
fn any_name_linux_allows_is_copied_exactly() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    let names: [&[u8]; 6] = [
        b"caf\xe9 latin-1",
        b"back\\slash",
        b"new\nline",
        b"-n",
        "中文 名字".as_bytes(),
        &[b'x'; 255],
    ];
    for name in names {
        let name = OsStr::from_bytes(name);
        write(&src.join(name).join("inside"), name.as_bytes());
        write(&src.join("files").join(name), name.as_bytes());
    }
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
}

#[test]
fn refuses_to_copy_a_folder_into_itself() {
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    symlink(&src, scratch.join("link_to_src")).unwrap();
    let before = all_paths(&src);
    let cases: [PathBuf; 4] = [
        src.clone(),
        src.join("a/new_copy"),
        scratch.join("link_to_src/new_copy"), // reaches SRC through a symlink
        src.join("a/b/../new/deeper"),
    ];
    for dest in cases {
        let run = run([&src, &dest]);
        assert_eq!(run.status.code(), Some(2), "{}: {run}", dest.display());
        assert_eq!(run.stderr.lines().count(), 1, "not one line: {run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        assert_eq!(
            all_paths(&src),
            before,
            "{}: something was written",
            dest.display()
        );
    }
}

#[test]
fn an_existing_dest_is_merged_into() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    write(&dest.join("a/only_in_dest.txt"), b"kept");
    write(&dest.join("a/one.txt"), b"stale and longer than the source");
    run([&src, &dest]).success();
    assert_eq!(fs::read(dest.join("a/only_in_dest.txt")).unwrap(), b"kept");
    assert_eq!(fs::read(dest.join("a/one.txt")).unwrap(), b"one\n");
}

#[test]
fn a_copy_over_an_earlier_copy_replaces_every_file() {
    // Each name is taken: every file replaces the earlier one, whole, and no name is left over.
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    let fill = |what: &str| {
        for n in 0..20 {
            write(
                &src.join(format!("f/{n:02}.txt")),
                format!("{what} {n}").as_bytes(),
            );
        }
    };
    fill("first");
    run([&src, &dest]).success();
    fill("second, and longer");
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    assert_eq!(
        leftovers(&src, &dest),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
}

#[test]
fn no_clobber_keeps_what_is_in_dest() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    write(&dest.join("a/one.txt"), b"mine");
    run(["-n".as_ref(), src.as_os_str(), dest.as_os_str()]).success();
    assert_eq!(fs::read(dest.join("a/one.txt")).unwrap(), b"mine");
    assert_eq!(fs::read(dest.join("top.txt")).unwrap(), b"top\n");
    let run = run(["--no-clobber".as_ref(), src.as_os_str(), dest.as_os_str()]).success();
    assert_eq!(fs::read(dest.join("a/one.txt")).unwrap(), b"mine", "{run}");
}

#[test]
fn update_skips_what_matches_and_copies_what_changed() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    symlink("top.txt", src.join("link")).unwrap();
    run([&src, &dest]).success();
    let inodes = |root: &Path| -> Vec<(PathBuf, u64)> {
        all_paths(root)
            .into_iter()
            .map(|p| {
                (
                    p.clone(),
                    fs::symlink_metadata(root.join(&p)).unwrap().ino(),
                )
            })
            .collect()
    };
    let first = inodes(&dest);

    // A second run over an unchanged tree copies nothing (nothing is listed, nothing replaced).
    let run_again = run([
        "--update".as_ref(),
        "-v".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    for path in all_paths(&src) {
        let shown = path.to_str().unwrap();
        assert!(
            !run_again.lines().contains(&shown),
            "{shown} copied again: {run_again}"
        );
    }
    assert_eq!(inodes(&dest), first, "files were replaced");

    // A changed file is copied again, and only it.
    write(&src.join("a/one.txt"), b"changed, and longer\n");
    let run_changed = run([
        "-u".as_ref(),
        "-v".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    assert!(run_changed.lines().contains(&"a/one.txt"), "{run_changed}");
    assert!(!run_changed.lines().contains(&"top.txt"), "{run_changed}");
    assert_same_tree(&src, &dest);
}

#[test]
fn dry_run_writes_nothing_and_lists_what_it_would_copy() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    let run = run([
        "--dry-run".as_ref(),
        "-v".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    assert!(!dest.exists(), "a dry run created DEST");
    for file in ["top.txt", "a/one.txt", "a/b/c/deep.bin", "a/empty"] {
        assert!(run.lines().contains(&file), "{file} not listed: {run}");
    }
}

#[test]
fn verbose_lists_each_path_and_quiet_prints_nothing() {
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    let verbose = run([
        "-v".as_ref(),
        src.as_os_str(),
        scratch.join("d1").as_os_str(),
    ])
    .success();
    for file in ["top.txt", "a/one.txt", "a/b/c/deep.bin", "a/empty"] {
        assert_eq!(verbose.count(file), 1, "{file} not listed once: {verbose}");
    }
    let quiet = run([
        "-q".as_ref(),
        src.as_os_str(),
        scratch.join("d2").as_os_str(),
    ])
    .success();
    assert_eq!(
        (quiet.stdout.as_str(), quiet.stderr.as_str()),
        ("", ""),
        "{quiet}"
    );
    assert_same_tree(&src, &scratch.join("d2"));
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    // stderr is a pipe here: a successful copy prints nothing on it (no bar, no escapes),
    // and its summary line on stdout.
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    let run = run([&src, &scratch.join("dest")]).success();
    assert_eq!(run.stderr, "", "{run}");
    assert!(
        run.stdout.contains("MB/s"),
        "no summary line (files, bytes, seconds, MB/s): {run}"
    );
}

#[test]
fn a_closed_stdout_without_v_still_copies_everything() {
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    let dest = scratch.join("dest");
    // Only the summary line goes to stdout: losing it must not lose the copy.
    let run = Lesson::new(&binary())
        .args([&src, &dest])
        .close_stdout()
        .deadline(Duration::from_secs(120))
        .run();
    run.assert_quiet();
    assert_eq!(run.status.code(), Some(0), "{run}");
    assert_same_tree(&src, &dest);
}

#[test]
fn a_closed_stdout_under_v_stops_cleanly_with_one_line() {
    // `copy_dir -v SRC DEST | head`: once nobody reads the paths, the copy stops as for
    // Ctrl-C, rather than dying of SIGPIPE mid-write with temporary files left behind.
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    fs::create_dir(src.join("big")).unwrap();
    for i in 0..4 {
        write_big(&src.join(format!("big/{i}.bin")), 8 << 20);
    }
    let dest = scratch.join("dest");
    let run = Lesson::new(&binary())
        .args(["-v".as_ref(), src.as_os_str(), dest.as_os_str()])
        .close_stdout()
        .deadline(Duration::from_secs(120))
        .run();
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "one line: {run}");
    assert!(
        run.stderr.contains("stdout"),
        "the line names stdout: {run}"
    );
    assert_eq!(
        leftovers(&src, &dest),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
    assert_no_truncated_file(&src, &dest);
}

#[test]
fn usage_errors_exit_2_and_runtime_errors_exit_1() {
    let scratch = Scratch::new();
    run(Vec::<&str>::new()).usage_error();
    run(["--workers", "0", "a", "b"]).usage_error();
    run(["--no-such-option", "a", "b"]).usage_error();
    let missing = run([&scratch.join("missing"), &scratch.join("dest")]);
    assert_eq!(missing.status.code(), Some(1), "{missing}");
    assert_eq!(missing.stderr.lines().count(), 1, "{missing}");
    assert!(!missing.stderr.contains("panicked"), "{missing}");
    let help = run(["--help"]).success();
    for code in ["0", "1", "2", "130"] {
        assert!(
            help.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(code)),
            "exit code {code} not in --help: {help}"
        );
    }
}

// --- failures on one path: reported with the path, the copy goes on, exit 1 ---------------

#[test]
fn a_file_where_a_folder_must_go_fails_that_folder_only() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    write(&src.join("blocked/inside.txt"), b"cannot go anywhere");
    write(&dest.join("blocked"), b"a file, not a folder");
    let run = run([&src, &dest]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(
        run.stderr.contains("blocked"),
        "the failure is not named: {run}"
    );
    assert_eq!(
        fs::read(dest.join("blocked")).unwrap(),
        b"a file, not a folder"
    );
    assert_same_tree(&src.join("a"), &dest.join("a")); // everything else was copied
    assert_eq!(fs::read(dest.join("top.txt")).unwrap(), b"top\n");
}

#[test]
fn a_path_too_long_for_dest_is_reported_and_the_rest_copied() {
    // Every source path fits in PATH_MAX (4096 bytes). DEST lies 152 bytes deeper than SRC, so
    // the deepest folder's destination path does not fit: it cannot be created by its path.
    let scratch = Scratch::new();
    let src = scratch.join("s");
    let dest = scratch.join(&"x".repeat(150)).join("d");
    let mut parent = src.clone();
    while parent.as_os_str().len() < 4000 - 250 {
        parent.push("d".repeat(150));
    }
    let deepest = "e".repeat(4000 - parent.as_os_str().len() - 1); // 99 to 249 bytes
    write(&parent.join(&deepest).join("leaf.txt"), b"deep");
    write(&src.join("ok.txt"), b"shallow");
    let dest_parent = dest.join(parent.strip_prefix(&src).unwrap());
    let too_long = dest_parent.as_os_str().len() + 1 + deepest.len();
    assert!(too_long > 4096, "the test tree is too shallow: {too_long}");

    let run = run([&src, &dest]);
    assert_eq!(fs::read(dest.join("ok.txt")).unwrap(), b"shallow", "{run}");
    if names(&dest_parent).contains(OsStr::new(&deepest)) {
        // A program that works relative to open folders (mkdirat, openat) can copy it: fine.
        let parent = fs::File::open(&dest_parent).unwrap();
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY;
        let folder = nix::fcntl::openat(&parent, deepest.as_str(), flags, Mode::empty()).unwrap();
        let file = nix::fcntl::openat(&folder, "leaf.txt", OFlag::O_RDONLY, Mode::empty()).unwrap();
        let mut bytes = Vec::new();
        fs::File::from(file).read_to_end(&mut bytes).unwrap();
        assert_eq!(bytes, b"deep");
    } else {
        assert_eq!(run.status.code(), Some(1), "{run}");
        assert!(
            run.stderr.contains(&deepest[..50]),
            "the failure is not named: {run}"
        );
    }
}

#[test]
fn a_full_disk_fails_the_file_that_does_not_fit_only() {
    let scratch = Scratch::new();
    let src = scratch.join("src");
    let dest = scratch.join("small_disk");
    let _disk = match Tmpfs::mount(&dest, "1m") {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("skipped: cannot mount a 1 MiB tmpfs for a full disk ({reason})");
            return;
        }
    };
    write(&src.join("a.txt"), b"fits");
    write(&src.join("c.txt"), b"fits too, after the big file failed");
    write_big(&src.join("big.bin"), 4 << 20);
    // One worker: the small files are never written while the big one fills the disk.
    let run = run([
        "--workers".as_ref(),
        "1".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(
        run.stderr.contains("big.bin"),
        "the failure is not named: {run}"
    );
    assert!(
        !dest.join("big.bin").exists(),
        "a partial big.bin is under its real name"
    );
    assert_eq!(fs::read(dest.join("a.txt")).unwrap(), b"fits");
    assert_eq!(
        fs::read(dest.join("c.txt")).unwrap(),
        b"fits too, after the big file failed"
    );
    assert_eq!(
        leftovers(&src, &dest),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
}

/// A tree of big files, and the names of the files: a copy of it takes long enough to be
/// caught in the middle. Each attempt doubles the size, in case the copy ended first.
fn big_tree(root: &Path, attempt: u32) -> Vec<String> {
    let names: Vec<String> = ["a_big_1", "a_big_2", "a_big_3"].map(String::from).to_vec();
    fs::create_dir_all(root).unwrap();
    for name in &names {
        write_big(&root.join(name), (96 << 20) << attempt);
    }
    names
}

/// Runs the program on `src`, and once it is seen writing a file in `dest` (a temporary name
/// that is not in SRC shows up, or it holds a file there open, maybe unnamed), calls `act` with
/// the running child; returns what the child printed and its status.
fn catch_mid_copy(
    scratch: &Scratch,
    extra: &[&str],
    mut act: impl FnMut(&mut std::process::Child, &Path, &Path),
) -> (std::process::Output, PathBuf, PathBuf) {
    for attempt in 0..3 {
        let (src, dest) = (
            scratch.join(&format!("src{attempt}")),
            scratch.join(&format!("dest{attempt}")),
        );
        big_tree(&src, attempt);
        for name in ["m_small.txt", "z_small.txt"] {
            write(&src.join(name), name.as_bytes());
        }
        let mut args: Vec<&Path> = extra.iter().map(Path::new).collect();
        args.extend([src.as_path(), dest.as_path()]);
        let mut running = spawn(&args);
        let pid = running.child().id();
        let writing = wait_for(running.child(), || {
            dest.is_dir() && (!leftovers(&src, &dest).is_empty() || writing_into(pid, &dest))
        });
        if writing {
            act(running.child(), &src, &dest);
            return (running.wait_with_output(), src, dest);
        }
        drop(running); // it has ended
        eprintln!("attempt {attempt}: the copy ended before it was seen writing; a bigger tree");
        fs::remove_dir_all(&src).unwrap();
        fs::remove_dir_all(&dest).unwrap();
    }
    panic!("never caught copy_dir writing a file");
}

#[test]
fn a_file_deleted_during_the_copy_is_reported_and_the_rest_copied() {
    // With one worker busy on the first big file, the small ones are listed but not yet copied:
    // the process is stopped, they are deleted, and it is let go on.
    let scratch = Scratch::new();
    let mut victims = Vec::new();
    let (output, src, dest) = catch_mid_copy(&scratch, &["--workers", "1"], |child, src, dest| {
        let pid = Pid::from_raw(child.id() as i32);
        kill(pid, Signal::SIGSTOP).unwrap();
        for name in ["m_small.txt", "z_small.txt"] {
            if !dest.join(name).exists() {
                fs::remove_file(src.join(name)).unwrap();
                victims.push(name);
            }
        }
        kill(pid, Signal::SIGCONT).unwrap();
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !victims.is_empty(),
        "the small files were copied before the big one: this test needs name order"
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    for name in &victims {
        assert!(
            stderr.contains(name),
            "{name} vanished without a word: {stderr}"
        );
        assert!(!dest.join(name).exists());
    }
    assert_eq!(
        leftovers(&src, &dest),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
    for name in ["a_big_1", "a_big_2", "a_big_3"] {
        assert!(
            same_bytes(&src.join(name), &dest.join(name)),
            "{name} differs"
        );
    }
}

#[test]
fn ctrl_c_stops_cleanly_with_exit_130() {
    let scratch = Scratch::new();
    let (output, src, dest) = catch_mid_copy(&scratch, &[], |child, _, _| {
        kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Stopped half-way, the folders it made still get their real modes (not 0700).
    let mode = |path: &Path| fs::metadata(path).unwrap().mode() & 0o7777;
    assert_eq!(mode(&dest), mode(&src), "DEST's mode after Ctrl-C");
    assert_eq!(
        leftovers(&src, &dest),
        Vec::<PathBuf>::new(),
        "temporary files left"
    );
    assert_no_truncated_file(&src, &dest);
}

#[test]
fn kill_9_leaves_no_truncated_file_under_its_real_name() {
    // Nothing can clean up after SIGKILL: temporary files may stay, real names must be whole.
    // Ours writes unnamed files where the filesystem allows: those vanish with the process.
    let scratch = Scratch::new();
    let (output, src, dest) = catch_mid_copy(&scratch, &[], |child, _, _| {
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    });
    assert_eq!(output.status.code(), None, "not killed");
    assert_no_truncated_file(&src, &dest);
    if testing_ours() && takes_unnamed_files(&dest) {
        assert_eq!(
            leftovers(&src, &dest),
            Vec::<PathBuf>::new(),
            "temporary files left by an unnamed-file copy"
        );
    }
}

/// Every file of SRC that exists in DEST under its real name is complete.
fn assert_no_truncated_file(src: &Path, dest: &Path) {
    let mut whole = 0;
    for path in all_paths(src) {
        if src.join(&path).is_file() && dest.join(&path).exists() {
            assert!(
                same_bytes(&src.join(&path), &dest.join(&path)),
                "{} is not whole",
                path.display()
            );
            whole += 1;
        }
    }
    assert!(
        whole < all_paths(src).len(),
        "everything was copied: the copy was not interrupted"
    );
}
