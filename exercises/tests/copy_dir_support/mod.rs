//! Helpers for `tests/copy_dir.rs`: scratch folders, trees to copy, a run of the program, and
//! a comparison of two trees (types, bytes, modes, nanosecond times, symlink targets), extended
//! attributes and ACLs read and written by raw system call, and mounts for odd filesystems.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::{self, File, FileTimes};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;
use testkit::{Lesson, Run};

/// The program under test: `COPY_DIR_BIN` (a learner's own copier), else ours.
pub(crate) fn binary() -> String {
    std::env::var("COPY_DIR_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_copy_dir").to_string())
}

/// Runs the program with `args` to its end (deadline 120 s).
pub(crate) fn run<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(args: I) -> Run {
    Lesson::new(&binary())
        .args(args)
        .deadline(Duration::from_secs(120))
        .run()
}

/// Starts the program with `args`, its output piped, for tests that signal it.
pub(crate) fn spawn(args: &[&Path]) -> Running {
    let child = Command::new(binary())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start copy_dir");
    Running(Some(child))
}

/// A started program, killed and reaped if the test ends (or fails) while it still runs, so
/// that it cannot go on writing into a scratch folder that is being removed.
pub(crate) struct Running(Option<Child>);

impl Running {
    pub(crate) fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still running")
    }

    /// Waits for the end and returns what it printed.
    pub(crate) fn wait_with_output(mut self) -> Output {
        let child = self.0.take().expect("still running");
        child.wait_with_output().expect("wait for copy_dir")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A scratch folder in cargo's target tmp dir, removed at the end even if a test left
/// read-only folders in it.
pub(crate) struct Scratch(TempDir);

impl Scratch {
    pub(crate) fn new() -> Self {
        Scratch(
            tempfile::Builder::new()
                .prefix("copy_dir-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .unwrap(),
        )
    }

    /// `name` inside the scratch folder.
    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        make_writable(self.0.path());
    }
}

fn make_writable(path: &Path) {
    if fs::symlink_metadata(path).is_ok_and(|meta| meta.is_dir()) {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o755));
        for entry in fs::read_dir(path).into_iter().flatten().flatten() {
            make_writable(&entry.path());
        }
    }
}

/// Writes `bytes` to `path`, creating its folders.
pub(crate) fn write(path: &Path, bytes: &[u8]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// Sets a file's or folder's times with a nanosecond part the copy must keep.
pub(crate) fn set_times(path: &Path, seconds: u64, nanos: u32) {
    let time = SystemTime::UNIX_EPOCH + Duration::new(seconds, nanos);
    let file = File::open(path).unwrap();
    file.set_times(FileTimes::new().set_accessed(time).set_modified(time))
        .unwrap();
}

pub(crate) fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// A file of `size` bytes of a non-zero pattern (so no filesystem can store it as a hole).
pub(crate) fn write_big(path: &Path, size: usize) {
    let mut file = File::create(path).unwrap();
    let block: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8 + 1).collect();
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len());
        file.write_all(&block[..n]).unwrap();
        left -= n;
    }
}

/// Whether two files hold the same bytes (read in chunks: they may be big).
pub(crate) fn same_bytes(a: &Path, b: &Path) -> bool {
    let (Ok(mut a), Ok(mut b)) = (File::open(a), File::open(b)) else {
        return false;
    };
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let n = read_full(&mut a, &mut x);
        let m = read_full(&mut b, &mut y);
        if n != m || x[..n] != y[..m] {
            return false;
        }
        if n == 0 {
            return true;
        }
    }
}

fn read_full(file: &mut File, buffer: &mut [u8]) -> usize {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    filled
}

/// The names in a folder (not recursive), as raw bytes.
pub(crate) fn names(folder: &Path) -> BTreeSet<OsString> {
    fs::read_dir(folder)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default()
}

/// Every path under `root`, relative, recursively (symlinks not followed).
pub(crate) fn all_paths(root: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(relative) = stack.pop() {
        let folder = root.join(&relative);
        let listing = fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in listing {
            let entry = entry.unwrap();
            let path = relative.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                stack.push(path.clone());
            }
            found.insert(path);
        }
    }
    found
}

/// Asserts that `dest` is a copy of `src`: the same paths (special files excepted, they are
/// not copied), and for each the same type, bytes or link target, mode and modification time
/// to the nanosecond. Folders too, DEST's top included.
pub(crate) fn assert_same_tree(src: &Path, dest: &Path) {
    let expected: BTreeSet<PathBuf> = all_paths(src)
        .into_iter()
        .filter(|p| !is_special(&src.join(p)))
        .collect();
    let copied = all_paths(dest);
    assert_eq!(copied, expected, "DEST holds other paths than SRC");
    assert_same_entry(src, dest, Path::new("."));
    for relative in &expected {
        assert_same_entry(&src.join(relative), &dest.join(relative), relative);
    }
}

fn is_special(path: &Path) -> bool {
    let kind = fs::symlink_metadata(path).unwrap().file_type();
    !(kind.is_file() || kind.is_dir() || kind.is_symlink())
}

fn assert_same_entry(a: &Path, b: &Path, shown: &Path) {
    let (x, y) = (
        fs::symlink_metadata(a).unwrap(),
        fs::symlink_metadata(b).unwrap(),
    );
    assert_eq!(
        x.file_type(),
        y.file_type(),
        "{}: another type",
        shown.display()
    );
    if x.is_symlink() {
        assert_eq!(
            fs::read_link(a).unwrap(),
            fs::read_link(b).unwrap(),
            "{}: another target",
            shown.display()
        );
        return;
    }
    if x.is_file() {
        assert!(same_bytes(a, b), "{}: other bytes", shown.display());
    }
    assert_eq!(
        x.mode() & 0o7777,
        y.mode() & 0o7777,
        "{}: another mode",
        shown.display()
    );
    assert_eq!(
        (x.mtime(), x.mtime_nsec()),
        (y.mtime(), y.mtime_nsec()),
        "{}: another mtime",
        shown.display()
    );
}

/// Paths in `dest` that are not in `src`: temporary files left behind.
pub(crate) fn leftovers(src: &Path, dest: &Path) -> Vec<PathBuf> {
    let expected = all_paths(src);
    all_paths(dest)
        .into_iter()
        .filter(|p| !expected.contains(p))
        .collect()
}

/// Whether the process `pid` holds a file (not a folder) open for the copy of `src` into
/// `dest`: inside DEST, or beside it, where a new DEST may be written under another name first;
/// the files of SRC, which it reads, do not count. A file being written may be unnamed
/// (`O_TMPFILE`: `/proc` shows `dest/#inode (deleted)`).
pub(crate) fn writing_into(pid: u32, src: &Path, dest: &Path) -> bool {
    open_files(pid).iter().any(|open| {
        dest.parent().is_some_and(|beside| open.starts_with(beside))
            && !open.starts_with(src)
            && !open.is_dir()
    })
}

/// The paths of what the process `pid` holds open.
pub(crate) fn open_files(pid: u32) -> Vec<PathBuf> {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.flatten()
        .filter_map(|fd| fs::read_link(fd.path()).ok())
        .collect()
}

/// What is beside `src` and `dest` in DEST's parent folder (a new DEST written under another
/// name and left there).
pub(crate) fn beside(src: &Path, dest: &Path) -> Vec<PathBuf> {
    let parent = dest.parent().expect("DEST has a parent");
    fs::read_dir(parent)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path != src && path != dest)
        .collect()
}

/// Whether `path`'s name is one of this workspace's `copy_dir`'s temporary names
/// (`.copy_dir-*.tmp`).
pub(crate) fn temporary_name(path: &Path) -> bool {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    name.starts_with(".copy_dir-") && name.ends_with(".tmp")
}

/// Whether the filesystem of the folder `dir` takes unnamed files (`O_TMPFILE`).
pub(crate) fn takes_unnamed_files(dir: &Path) -> bool {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .open(dir)
        .is_ok()
}

/// Whether the program under test is this workspace's `copy_dir` (not `COPY_DIR_BIN`).
pub(crate) fn testing_ours() -> bool {
    std::env::var_os("COPY_DIR_BIN").is_none()
}

/// Waits until `ready()` holds or the child exits; `true` if `ready()` held while it ran.
pub(crate) fn wait_for(child: &mut Child, mut ready: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if ready() {
            return true;
        }
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("copy_dir neither started writing nor ended within 60 s");
}

/// A tmpfs of `size` mounted at `at` (we run as root in CI), unmounted on drop. `Err` with
/// the reason when this machine does not let us mount.
pub(crate) struct Tmpfs(PathBuf);

impl Tmpfs {
    pub(crate) fn mount(at: &Path, size: &str) -> Result<Self, String> {
        Self::mount_kind(at, "tmpfs", &format!("size={size}"))
    }

    /// A ramfs at `at`: a filesystem that keeps no extended attributes at all (`EOPNOTSUPP`).
    pub(crate) fn ramfs(at: &Path) -> Result<Self, String> {
        Self::mount_kind(at, "ramfs", "mode=0755")
    }

    fn mount_kind(at: &Path, kind: &str, options: &str) -> Result<Self, String> {
        fs::create_dir_all(at).unwrap();
        let output = Command::new("mount")
            .args(["-t", kind, "-o", options, kind])
            .arg(at)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if output.status.success() {
            Ok(Tmpfs(at.to_path_buf()))
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Sets the extended attribute `name` of `path` (the link itself for a symlink).
pub(crate) fn set_xattr(path: &Path, name: &str, value: &[u8]) -> io::Result<()> {
    rustix::fs::lsetxattr(path, name, value, rustix::fs::XattrFlags::empty())?;
    Ok(())
}

/// Every extended attribute of `path` we can read (the link itself for a symlink), by name.
pub(crate) fn xattrs(path: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut names = vec![0u8; 1 << 16];
    let mut found = std::collections::BTreeMap::new();
    let Ok(len) = rustix::fs::llistxattr(path, &mut names[..]) else {
        return found;
    };
    for name in names[..len].split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8_lossy(name).into_owned();
        let mut value = vec![0u8; 1 << 16];
        if let Ok(got) = rustix::fs::lgetxattr(path, name.as_str(), &mut value[..]) {
            value.truncate(got);
            found.insert(name, value);
        }
    }
    found
}

/// A POSIX ACL as the kernel stores it in `system.posix_acl_access` or `..._default`: the
/// owner `rw-`, user `uid` `r--`, the group `r--`, mask `r--`, others `r--` (what
/// `setfacl -m u:UID:r` gives a 0644 file).
pub(crate) fn acl_with_user(uid: u32) -> Vec<u8> {
    const UNDEFINED: u32 = u32::MAX;
    let entries: [(u16, u16, u32); 5] = [
        (0x01, 6, UNDEFINED), // ACL_USER_OBJ
        (0x02, 4, uid),       // ACL_USER
        (0x04, 4, UNDEFINED), // ACL_GROUP_OBJ
        (0x10, 4, UNDEFINED), // ACL_MASK
        (0x20, 4, UNDEFINED), // ACL_OTHER
    ];
    let mut acl = 2u32.to_le_bytes().to_vec(); // POSIX_ACL_XATTR_VERSION
    for (tag, perm, id) in entries {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    acl
}

/// A file made immutable (`chattr +i`: not even root may remove it) until dropped. `None`
/// where the flag cannot be set (not root, or a filesystem without it).
pub(crate) struct Immutable(PathBuf);

impl Immutable {
    pub(crate) fn set(path: &Path) -> Option<Self> {
        set_immutable(path, true).ok()?;
        Some(Immutable(path.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = set_immutable(&self.0, false);
    }
}

fn set_immutable(path: &Path, on: bool) -> io::Result<()> {
    use rustix::fs::{IFlags, ioctl_getflags, ioctl_setflags};
    let file = File::open(path)?;
    let mut flags = ioctl_getflags(&file)?;
    flags.set(IFlags::IMMUTABLE, on);
    ioctl_setflags(&file, flags)?;
    Ok(())
}
