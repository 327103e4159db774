//! Black-box tests of `copy_dir` (作业：文件夹复制器): each runs the program on a tree in a
//! scratch folder and checks the bytes and metadata on disk and the exit status.
//!
//! `COPY_DIR_BIN=/path/to/program cargo test -p exercises --test copy_dir` runs them against
//! another program with the same command line (a learner's homework). Linux only. Some cases
//! are built for root, as CI runs: a read-only folder and permission bits are no obstacle to
//! root, so the failures here come from things root cannot bypass (a file where a folder must
//! go, a path longer than PATH_MAX, a full filesystem, a file deleted mid-copy).

mod copy_dir_support;

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
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
    small_tree_times(root);
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
fn a_dest_that_is_a_broken_symlink_is_one_clear_failure() {
    // Ours says so before copying anything, and leaves nothing beside it.
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    symlink("nowhere", &dest).unwrap();
    let run = run([&src, &dest]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert_eq!(fs::read_link(&dest).unwrap(), Path::new("nowhere"));
    if testing_ours() {
        assert!(run.stderr.contains("broken symlink"), "{run}");
        assert!(!run.stderr.contains("panicked"), "{run}");
        assert_eq!(
            beside(&src, &dest),
            Vec::<PathBuf>::new(),
            "left beside DEST"
        );
    }
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

/// Runs the program on `src` (into a `dest` that exists already if `dest_exists`), and once it
/// is seen writing a file (a temporary name that is not in SRC shows up in DEST, or it holds a
/// file open in or beside DEST, maybe unnamed), calls `act` with the running child; returns
/// what the child printed and its status.
fn catch_mid_copy(
    scratch: &Scratch,
    extra: &[&str],
    dest_exists: bool,
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
        if dest_exists {
            fs::create_dir(&dest).unwrap();
        }
        let mut args: Vec<&Path> = extra.iter().map(Path::new).collect();
        args.extend([src.as_path(), dest.as_path()]);
        let mut running = spawn(&args);
        let pid = running.child().id();
        let writing = wait_for(running.child(), || {
            (dest.is_dir() && !leftovers(&src, &dest).is_empty()) || writing_into(pid, &src, &dest)
        });
        if writing {
            act(running.child(), &src, &dest);
            return (running.wait_with_output(), src, dest);
        }
        drop(running); // it has ended
        eprintln!("attempt {attempt}: the copy ended before it was seen writing; a bigger tree");
        fs::remove_dir_all(&src).unwrap();
        for path in beside(&src, &dest).into_iter().chain([dest]) {
            fs::remove_dir_all(path).unwrap();
        }
    }
    panic!("never caught copy_dir writing a file");
}

#[test]
fn a_file_deleted_during_the_copy_is_reported_and_the_rest_copied() {
    // With one worker busy on the first big file, the small ones are listed but not yet copied:
    // the process is stopped, they are deleted, and it is let go on.
    let scratch = Scratch::new();
    let mut victims = Vec::new();
    let (output, src, dest) =
        catch_mid_copy(&scratch, &["--workers", "1"], false, |child, src, dest| {
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
    let (output, src, dest) = catch_mid_copy(&scratch, &[], false, |child, _, _| {
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
    assert_eq!(
        beside(&src, &dest),
        Vec::<PathBuf>::new(),
        "left beside DEST"
    );
    assert_no_truncated_file(&src, &dest);
}

#[test]
fn kill_9_leaves_no_truncated_file_under_its_real_name() {
    // Nothing can clean up after SIGKILL: temporary names may stay, real names must be whole.
    // Ours fills a new folder (here DEST itself) under a hidden name: that is what may stay.
    let scratch = Scratch::new();
    let (output, src, dest) = catch_mid_copy(&scratch, &[], false, |child, _, _| {
        kill(Pid::from_raw(child.id() as i32), Signal::SIGKILL).unwrap();
    });
    assert_eq!(output.status.code(), None, "not killed");
    assert_no_truncated_file(&src, &dest);
    if testing_ours() {
        let inside = dest.is_dir().then(|| leftovers(&src, &dest));
        let left: Vec<PathBuf> = beside(&src, &dest)
            .into_iter()
            .chain(inside.into_iter().flatten())
            .collect();
        assert!(
            left.iter().all(|path| temporary_name(path)),
            "left under other names than .copy_dir-*.tmp: {left:?}"
        );
    }
}

#[test]
fn kill_9_in_a_folder_dest_had_leaves_nothing_where_files_can_be_unnamed() {
    // Into a folder that exists, ours writes unnamed files (O_TMPFILE) where the filesystem
    // allows: those vanish with the process.
    let scratch = Scratch::new();
    let (output, src, dest) = catch_mid_copy(&scratch, &[], true, |child, _, _| {
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

#[test]
fn a_folder_made_by_someone_else_during_the_copy_is_kept() {
    // Ours fills a new DEST under a hidden name and renames it at the end, never over
    // something that took the name meanwhile: that is kept, and the copy is left beside it,
    // whole, with exit 1. (Another program may merge into it instead: only ours is checked.)
    if !testing_ours() {
        eprintln!("skipped: tests how this workspace's copy_dir publishes a new folder");
        return;
    }
    let scratch = Scratch::new();
    // One worker: DEST's files are written one by one, and the name is taken while the first
    // of its three big files is, well before DEST is complete.
    let (output, src, dest) =
        catch_mid_copy(&scratch, &["--workers", "1"], false, |child, _, dest| {
            let pid = Pid::from_raw(child.id() as i32);
            kill(pid, Signal::SIGSTOP).unwrap();
            write(&dest.join("theirs.txt"), b"made while the copy ran");
            kill(pid, Signal::SIGCONT).unwrap();
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("took its name"), "{stderr}");
    assert_eq!(
        names(&dest),
        BTreeSet::from([OsString::from("theirs.txt")]),
        "DEST was not left alone"
    );
    let left = beside(&src, &dest);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(temporary_name(&left[0]), "{left:?}");
    assert!(
        stderr.contains(&*left[0].to_string_lossy()),
        "where the copy is is not said: {stderr}"
    );
    for path in all_paths(&src) {
        assert!(
            same_bytes(&src.join(&path), &left[0].join(&path)),
            "{path:?}"
        );
    }
}

#[test]
fn a_killed_copy_resumes_with_u_and_a_new_folder_appears_once_its_files_are_in() {
    // Killed while a subfolder's big file is written, a second run with -u --delete completes
    // the copy and removes what the first one left. With ours and one worker, the files go in
    // order (DEST's own, small, then sub's): DEST is in place with its files by then, sub is
    // not (it is filled under a hidden name), and the second run copies only what is missing.
    let scratch = Scratch::new();
    for attempt in 0..3 {
        let (src, dest) = (
            scratch.join(&format!("src{attempt}")),
            scratch.join(&format!("dest{attempt}")),
        );
        small_tree(&src);
        fs::create_dir(src.join("sub")).unwrap();
        let big = src.join("sub/big.bin");
        write_big(&big, (96 << 20) << attempt);
        let mut running = spawn(&[Path::new("--workers"), Path::new("1"), &src, &dest]);
        let pid = running.child().id();
        let in_sub = wait_for(running.child(), || {
            open_files(pid).contains(&big) && writing_into(pid, &src, &dest)
        });
        if !in_sub {
            drop(running);
            eprintln!("attempt {attempt}: the copy ended before sub was written; bigger");
            fs::remove_dir_all(&src).unwrap();
            for path in beside(&src, &dest).into_iter().chain([dest]) {
                fs::remove_dir_all(path).unwrap();
            }
            continue;
        }
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        running.wait_with_output();
        assert_no_truncated_file(&src, &dest);
        if testing_ours() {
            assert!(
                same_bytes(&src.join("top.txt"), &dest.join("top.txt")),
                "DEST's own file is not in place while a subfolder is written"
            );
            assert!(
                !dest.join("sub").exists(),
                "sub is in place before its file"
            );
        }
        let resumed = run([
            "-u".as_ref(),
            "-v".as_ref(),
            "--delete".as_ref(),
            src.as_os_str(),
            dest.as_os_str(),
        ])
        .success();
        assert_same_tree(&src, &dest);
        assert_eq!(leftovers(&src, &dest), Vec::<PathBuf>::new());
        assert_eq!(
            beside(&src, &dest),
            Vec::<PathBuf>::new(),
            "left beside DEST"
        );
        assert!(resumed.lines().contains(&"sub/big.bin"), "{resumed}");
        if testing_ours() {
            assert!(
                !resumed.lines().contains(&"top.txt"),
                "copied again after the kill: {resumed}"
            );
        }
        return;
    }
    panic!("never caught copy_dir writing sub's file");
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

// --- extended attributes and ACLs (issue 16) ---------------------------------------------------

/// Whether the filesystem of `dir` keeps `user.*` attributes (the target dir's ext4 does).
fn keeps_user_xattrs(dir: &Path) -> bool {
    let probe = dir.join(".xattr_probe");
    write(&probe, b"");
    let kept = set_xattr(&probe, "user.probe", b"1").is_ok();
    fs::remove_file(&probe).unwrap();
    kept
}

#[test]
fn extended_attributes_and_acls_are_copied_on_files_folders_and_symlinks() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    if !keeps_user_xattrs(&src) {
        eprintln!("skipped: the scratch filesystem keeps no user.* extended attributes");
        return;
    }
    symlink("top.txt", src.join("link")).unwrap();
    let root = nix::unistd::geteuid().is_root();
    set_xattr(&src.join("top.txt"), "user.color", b"red").unwrap();
    set_xattr(&src.join("top.txt"), "user.empty", b"").unwrap();
    set_xattr(&src.join("a/one.txt"), "user.big", &[7u8; 3000]).unwrap();
    // A list of names longer than the copier's first buffer is likely to be (> 1 KiB).
    for n in 0..40 {
        let name = format!("user.a_rather_long_attribute_name_{n:02}");
        set_xattr(&src.join("a/b/c"), &name, b"v").unwrap();
    }
    set_xattr(&src.join("a/b"), "user.folder", b"blue").unwrap();
    set_xattr(&src, "user.top", b"DEST itself").unwrap();
    // setfacl -m u:65534:r, on a file and as a folder's default (new entries inherit it).
    let acls = set_xattr(
        &src.join("a/one.txt"),
        "system.posix_acl_access",
        &acl_with_user(65534),
    )
    .is_ok()
        && set_xattr(
            &src.join("a"),
            "system.posix_acl_default",
            &acl_with_user(65534),
        )
        .is_ok();
    if root {
        set_xattr(&src.join("a/empty"), "trusted.note", b"root only").unwrap();
        set_xattr(&src.join("a/empty"), "security.note", b"as root").unwrap();
        set_xattr(&src.join("link"), "trusted.on_link", b"a link's own").unwrap();
    }
    small_tree_times(&src); // attributes changed no time, but be sure

    let run = run([&src, &dest]).success();
    assert_eq!(
        run.stderr, "",
        "a warning where the filesystem keeps them: {run}"
    );
    assert_same_tree(&src, &dest);
    let mut compared = 0;
    for path in all_paths(&src).into_iter().chain([PathBuf::from("")]) {
        let (from, to) = (xattrs(&src.join(&path)), xattrs(&dest.join(&path)));
        assert_eq!(to, from, "{}: other extended attributes", path.display());
        compared += from.len();
    }
    let expected = 45 + if acls { 2 } else { 0 } + if root { 3 } else { 0 };
    assert!(
        compared >= expected,
        "only {compared} attributes seen, {expected} set"
    );
    if acls {
        assert!(xattrs(&dest.join("a")).contains_key("system.posix_acl_default"));
        // The default ACL is given to the copy of `a` after its contents: they did not inherit
        // it (their source has no ACL).
        assert!(!xattrs(&dest.join("a/empty")).contains_key("system.posix_acl_access"));
    }
    // A file with none in SRC has none in DEST.
    assert!(
        xattrs(&dest.join("a/b/c/deep.bin"))
            .keys()
            .all(|k| !k.starts_with("user."))
    );
}

#[test]
fn a_copy_into_a_folder_with_a_default_acl_adds_no_acl_its_source_lacks() {
    // The second copy writes into folders that already have their default ACL (from the first):
    // a new file inherits an ACL there, which its source does not have.
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    if set_xattr(
        &src.join("a"),
        "system.posix_acl_default",
        &acl_with_user(65534),
    )
    .is_err()
    {
        eprintln!("skipped: the scratch filesystem keeps no ACLs");
        return;
    }
    small_tree_times(&src);
    run([&src, &dest]).success();
    write(&src.join("a/new.txt"), b"written after the first copy");
    // It inherited an ACL in SRC too: without it, it is a file with none in such a folder.
    let _ = rustix::fs::lremovexattr(src.join("a/new.txt"), "system.posix_acl_access");
    set_mode(&src.join("a/new.txt"), 0o640);
    // A new folder: it inherited both ACLs in SRC; without them, a folder with none.
    fs::create_dir(src.join("a/new_folder")).unwrap();
    for acl in ["system.posix_acl_access", "system.posix_acl_default"] {
        let _ = rustix::fs::lremovexattr(src.join("a/new_folder"), acl);
    }
    set_mode(&src.join("a/new_folder"), 0o750);
    small_tree_times(&src);
    run([&src, &dest]).success();
    assert_same_tree(&src, &dest);
    for path in ["a/new.txt", "a/one.txt", "a/new_folder"] {
        let acls: Vec<String> = xattrs(&dest.join(path))
            .into_keys()
            .filter(|name| name.starts_with("system.posix_acl"))
            .collect();
        assert_eq!(
            acls,
            Vec::<String>::new(),
            "{path}: ACLs its source does not have"
        );
    }
}

/// `small_tree`'s times, distinct to the nanosecond (set again after adding attributes, so
/// that nothing but the attributes differs).
fn small_tree_times(root: &Path) {
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
fn a_dest_filesystem_without_xattrs_gets_one_warning_and_the_copy_goes_on() {
    // ramfs keeps no extended attributes at all: every set is refused with EOPNOTSUPP.
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    if !keeps_user_xattrs(&src) {
        eprintln!("skipped: the scratch filesystem keeps no user.* extended attributes");
        return;
    }
    for path in ["top.txt", "a/one.txt", "a/b/c/deep.bin", "a/b", "."] {
        set_xattr(&src.join(path), "user.color", b"red").unwrap();
    }
    small_tree_times(&src);
    let mount = scratch.join("ramfs");
    let _disk = match Tmpfs::ramfs(&mount) {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("skipped: cannot mount a ramfs, a filesystem without xattrs ({reason})");
            return;
        }
    };
    let warned = run([&src, &mount.join("dest")]);
    assert_eq!(warned.status.code(), Some(0), "{warned}");
    assert_eq!(
        warned.stderr.lines().count(),
        1,
        "not one warning line: {warned}"
    );
    assert!(
        warned.stderr.to_lowercase().contains("attribute"),
        "the warning does not say what is lost: {warned}"
    );
    assert_same_tree(&src, &mount.join("dest"));

    let quiet = run([
        "-q".as_ref(),
        src.as_os_str(),
        mount.join("quiet").as_os_str(),
    ]);
    assert_eq!(quiet.status.code(), Some(0), "{quiet}");
    assert_eq!(
        (quiet.stdout.as_str(), quiet.stderr.as_str()),
        ("", ""),
        "-q: {quiet}"
    );
    assert_same_tree(&src, &mount.join("quiet"));
}

// --- --delete (issue 16) -----------------------------------------------------------------------

#[test]
fn delete_removes_what_src_lacks_links_as_links_and_counts_it() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    symlink("top.txt", src.join("link")).unwrap();
    run([&src, &dest]).success();
    // Outside DEST, reached by links in DEST: nothing there may be touched.
    write(&scratch.join("outside/keep.txt"), b"outside");
    // In DEST only: 1 file, 1 link to a folder outside, 1 dangling link, 1 folder with 2
    // entries inside (a file and a link to a folder), 1 file deep in a folder SRC has.
    write(&dest.join("stale.txt"), b"gone");
    symlink(scratch.join("outside"), dest.join("a/to_outside")).unwrap();
    symlink("nowhere", dest.join("dangling")).unwrap();
    write(&dest.join("old/inside.txt"), b"gone");
    symlink(scratch.join("outside"), dest.join("old/linked")).unwrap();
    write(&dest.join("a/b/c/extra.bin"), b"gone");
    small_tree_times(&src);
    let run = run(["--delete".as_ref(), src.as_os_str(), dest.as_os_str()]).success();
    assert_same_tree(&src, &dest); // exactly SRC's paths, and folder times after the removals
    assert_eq!(
        fs::read(scratch.join("outside/keep.txt")).unwrap(),
        b"outside",
        "a link in DEST was followed"
    );
    assert!(
        run.stdout.contains("7 removed"),
        "the summary does not count 7: {run}"
    );
}

#[test]
fn delete_with_dry_run_only_lists() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    run([&src, &dest]).success();
    write(&dest.join("stale.txt"), b"stays");
    write(&dest.join("old/inside.txt"), b"stays");
    let before = all_paths(&dest);
    let run = run([
        "--delete".as_ref(),
        "--dry-run".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    assert_eq!(all_paths(&dest), before, "a dry run removed something");
    for listed in ["stale.txt", "old/inside.txt", "old"] {
        assert!(
            run.stdout
                .lines()
                .any(|line| line.trim_end_matches('/').ends_with(listed)),
            "{listed} not listed: {run}"
        );
    }
    for kept in ["top.txt", "a/one.txt"] {
        assert!(
            !run.stdout
                .lines()
                .any(|line| line.contains("delet") && line.ends_with(kept)),
            "{kept} listed for removal: {run}"
        );
    }
}

#[test]
fn delete_reports_a_path_it_cannot_remove_and_removes_the_rest() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    run([&src, &dest]).success();
    write(&dest.join("old/locked.txt"), b"cannot go");
    write(&dest.join("old/other.txt"), b"gone");
    write(&dest.join("stale.txt"), b"gone");
    // As root (CI) an immutable file; else a read-only folder.
    let _immutable = Immutable::set(&dest.join("old/locked.txt"));
    if _immutable.is_none() {
        set_mode(&dest.join("old"), 0o555);
        if nix::unistd::geteuid().is_root() {
            eprintln!("skipped: no immutable files here, and root ignores a folder's mode");
            return;
        }
    }
    let run = run(["--delete".as_ref(), src.as_os_str(), dest.as_os_str()]);
    assert_eq!(run.status.code(), Some(1), "{run}");
    assert!(
        run.stderr.contains("locked.txt"),
        "the failure is not named: {run}"
    );
    assert!(!run.stderr.contains("panicked"), "{run}");
    assert!(
        !dest.join("stale.txt").exists(),
        "the rest was not removed: {run}"
    );
    assert!(dest.join("old/locked.txt").exists());
    assert_same_tree(&src.join("a"), &dest.join("a"));
}

#[test]
fn delete_refuses_when_src_is_inside_dest() {
    let scratch = Scratch::new();
    let dest = scratch.join("dest");
    let src = dest.join("sub/src");
    small_tree(&src);
    write(&dest.join("other.txt"), b"stays");
    let before = all_paths(&dest);
    let run = run(["--delete".as_ref(), src.as_os_str(), dest.as_os_str()]);
    assert_eq!(run.status.code(), Some(2), "{run}");
    assert_eq!(run.stderr.lines().count(), 1, "not one line: {run}");
    assert_eq!(all_paths(&dest), before, "something was written or removed");
}

// --- --exclude, --exclude-from (issue 16) ------------------------------------------------------

/// A tree for the patterns: which paths each pattern must leave out is in the test.
fn pattern_tree(root: &Path) {
    for path in [
        "top.txt",
        "main.o",
        "src/lib.c",
        "src/deep/er/util.o",
        "build/out.bin",
        "src/build/cache.bin",
        "notes/build", // a file named build: `build/` is for folders
        "sub/top.txt", // not at SRC's top: `/top.txt` is anchored
        "docs/readme.txt",
        "docs/x/y/page.md",
        "other/page.md", // not under docs: `/docs/**/*.md` is anchored
        "keep/me.txt",
    ] {
        write(&root.join(path), path.as_bytes());
    }
}

/// The paths `pattern_tree` leaves after the patterns `*.o`, `build/`, `/top.txt`,
/// `/docs/**/*.md`.
fn pattern_tree_kept() -> Vec<&'static str> {
    vec![
        "src/lib.c",
        "notes/build",
        "sub/top.txt",
        "docs/readme.txt",
        "other/page.md",
        "keep/me.txt",
    ]
}

fn files_under(root: &Path) -> Vec<String> {
    all_paths(root)
        .into_iter()
        .filter(|p| !root.join(p).is_dir())
        .map(|p| p.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn exclude_patterns_have_rsyncs_meaning() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    pattern_tree(&src);
    let run = run([
        "--exclude",
        "*.o",
        "--exclude",
        "build/",
        "--exclude",
        "/top.txt",
        "--exclude",
        "/docs/**/*.md",
        src.to_str().unwrap(),
        dest.to_str().unwrap(),
    ])
    .success();
    let mut kept = pattern_tree_kept();
    kept.sort();
    assert_eq!(files_under(&dest), kept, "{run}");
    assert!(!dest.join("build").exists(), "an excluded folder was made");
}

#[test]
fn exclude_from_reads_a_file_of_patterns() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    pattern_tree(&src);
    let list = scratch.join("patterns");
    fs::write(
        &list,
        "# object files\n*.o\n\n; folders named build\nbuild/\n/top.txt\n/docs/**/*.md\n",
    )
    .unwrap();
    run([
        "--exclude-from".as_ref(),
        list.as_os_str(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    let mut kept = pattern_tree_kept();
    kept.sort();
    assert_eq!(files_under(&dest), kept);

    let missing = run([
        "--exclude-from".as_ref(),
        scratch.join("no_such_file").as_os_str(),
        src.as_os_str(),
        scratch.join("dest2").as_os_str(),
    ]);
    assert_eq!(missing.status.code(), Some(1), "{missing}");
    assert_eq!(missing.stderr.lines().count(), 1, "not one line: {missing}");
    assert!(
        !scratch.join("dest2").exists(),
        "copied despite the missing pattern file"
    );
}

#[test]
fn excluded_paths_are_not_removed_by_delete() {
    let scratch = Scratch::new();
    let (src, dest) = (scratch.join("src"), scratch.join("dest"));
    small_tree(&src);
    run([&src, &dest]).success();
    write(&dest.join("a/kept.o"), b"excluded: stays");
    write(
        &dest.join("cache/deep/kept.bin"),
        b"in an excluded folder: stays",
    );
    write(&dest.join("a/stale.txt"), b"gone");
    write(&src.join("a/new.o"), b"excluded: not copied");
    small_tree_times(&src);
    run([
        "--delete".as_ref(),
        "--exclude".as_ref(),
        "*.o".as_ref(),
        "--exclude".as_ref(),
        "cache/".as_ref(),
        src.as_os_str(),
        dest.as_os_str(),
    ])
    .success();
    assert!(
        dest.join("a/kept.o").exists(),
        "an excluded file was removed"
    );
    assert!(
        dest.join("cache/deep/kept.bin").exists(),
        "an excluded folder was emptied"
    );
    assert!(
        !dest.join("a/stale.txt").exists(),
        "not excluded, and not removed"
    );
    assert!(
        !dest.join("a/new.o").exists(),
        "an excluded file was copied"
    );
}

#[test]
fn a_bad_pattern_is_a_usage_error_and_help_says_what_is_kept() {
    let scratch = Scratch::new();
    let src = scratch.join("src");
    small_tree(&src);
    let run_bad = run([
        "--exclude".as_ref(),
        "[unclosed".as_ref(),
        src.as_os_str(),
        scratch.join("dest").as_os_str(),
    ]);
    run_bad.usage_error();
    assert!(
        !scratch.join("dest").exists(),
        "copied despite a bad pattern"
    );
    let help = run(["--help"]).success();
    for word in ["xattr", "ACL", "--delete", "--exclude", "--exclude-from"] {
        let said = help.stdout.to_lowercase().contains(&word.to_lowercase())
            || (word == "xattr" && help.stdout.contains("extended attributes"));
        assert!(said, "--help does not mention {word}: {help}");
    }
}
