//! # Shared memory: Value and Array — Value / Array
//!
//! From `002_9dcbaec63db95917.txt`, 进程 (`Value` and `Array`).
//!
//! **The Python.** `num = Value('d', 1.1)` (a shared double) and `arr = Array('i', range(11))`
//! (a shared array of ints) live in shared memory. Two processes run `changedata`, which sets
//! `num.value = 0.0` and adds 1 to every element. The parent prints both after `a.join()` and
//! again after `b.join()`: the value is 0.0 and every element has grown by 2.
//!
//! **This lesson.** The same, with the numbers in a file under `/dev/shm` that the parent and
//! both children map into memory. After `a.join()`, child b may or may not have run yet, so that
//! printout varies; after `b.join()` it is always 0.0 and 2 to 12.
//!
//! **Rust differences.** Processes share nothing unless they ask: here each maps the same file
//! (`memmap2`), and Linux backs `/dev/shm` with memory, not disk. Memory that another process
//! writes is beyond what the compiler can check, which is why this file allows `unsafe_code`:
//! one `unsafe` block turns the mapping into a `&Shared`. It is sound because `Shared` is made
//! only of atomics (every bit pattern is a valid value, and every access, in every process, is
//! an atomic operation). There is no `AtomicF64`: the double is stored as its bits in an
//! `AtomicU64`. Python's `arr[i] += 1` reads and then writes, each under the array's lock but
//! not together, so two processes can lose an update; `fetch_add` is one atomic step and never
//! does. The children are this program run again with a hidden `--child` argument (the path as
//! JSON); guards kill and reap them if the parent fails, each dies with its parent
//! (`PR_SET_PDEATHSIG`), and the file is removed at the end. Linux (`/dev/shm`; elsewhere the
//! temporary directory is used).
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin shared_memory
//! ```
//!
//! **Output** (the lines after `a.join()` may already show 2 to 12):
//! ```text
//! shared memory: /dev/shm/processes-shared-memory-4100, 56 bytes
//! the value :  1.1
//! the array : 0 1 2 3 4 5 6 7 8 9 10
//! --- after a.join()
//! the value :  0.0
//! the array : 1 2 3 4 5 6 7 8 9 10 11
//! --- after b.join()
//! the value :  0.0
//! the array : 2 3 4 5 6 7 8 9 10 11 12
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `serde_json = "1"`, `memmap2 = "0.9"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

// Memory written by other processes is beyond what the compiler can check; see the SAFETY note.
#![allow(unsafe_code)]

use clap::Parser;
use memmap2::MmapRaw;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, ExitCode};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

/// Two child processes change numbers in memory shared with the parent.
#[derive(Parser)]
struct Args {
    /// Internal: run as a child process; the JSON is the path of the shared file.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

/// The shared numbers, laid out the same way in every process (`repr(C)`).
#[repr(C)]
struct Shared {
    /// Python's `Value('d', 1.1)`: the bits of an `f64`.
    num: AtomicU64,
    /// Python's `Array('i', range(11))`.
    arr: [AtomicI32; 11],
}

/// The shared file, mapped into this process.
struct SharedMemory(MmapRaw);

impl SharedMemory {
    fn map(path: &Path) -> io::Result<Self> {
        let file = OpenOptions::new().read(true).write(true).open(path)?;
        let map = MmapRaw::map_raw(&file)?;
        if map.len() < size_of::<Shared>() {
            return Err(io::Error::other("the shared file is too short"));
        }
        Ok(SharedMemory(map)) // the mapping stays valid after the file is closed
    }

    fn get(&self) -> &Shared {
        // SAFETY: the mapping starts on a page boundary, so it is aligned for `Shared`; it is at
        // least `size_of::<Shared>()` bytes long (checked in `map`) and lives as long as `self`.
        // `Shared` is only atomics: any bytes are a valid value, and since every access in every
        // process is atomic, shared references are sound while other processes write.
        unsafe { &*self.0.as_ptr().cast::<Shared>() }
    }
}

fn changedata(shared: &Shared) {
    shared.num.store(0.0_f64.to_bits(), Relaxed);
    for element in &shared.arr {
        element.fetch_add(1, Relaxed);
    }
}

// Relaxed is enough: each update is one atomic operation and publishes nothing else, and the
// parent reads only after `wait` has seen the child exit, which orders the child's writes first.
fn display_sharedata(shared: &Shared) {
    println!(
        "the value :  {:?}",
        f64::from_bits(shared.num.load(Relaxed))
    );
    let arr: Vec<String> = shared
        .arr
        .iter()
        .map(|x| x.load(Relaxed).to_string())
        .collect();
    println!("the array : {}", arr.join(" "));
}

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<()> {
        let status = self.0.wait()?;
        if status.success() {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "child {} failed: {status}",
                self.0.id()
            )))
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        // Both do nothing to a child that was already waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// First thing in a child: have Linux kill it when the parent dies, even by `kill -9`.
fn die_with_parent(parent: u32) {
    #[cfg(target_os = "linux")]
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    // If the parent died before that call, this process was already handed to another one.
    if std::os::unix::process::parent_id() != parent {
        process::exit(1);
    }
}

/// A file that is removed when this value is dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn start_changedata(path: &Path) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &serde_json::to_string(path)?])
        .args(["--parent", &process::id().to_string()])
        .spawn()?;
    Ok(ChildGuard(child))
}

fn parent() -> io::Result<()> {
    let dir = Path::new("/dev/shm");
    let dir = if dir.is_dir() {
        dir.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("processes-shared-memory-{}", process::id()));
    let new_file = File::create_new(&path)?;
    let file = TempFile(path);
    new_file.set_len(size_of::<Shared>() as u64)?; // zero-filled
    let memory = SharedMemory::map(&file.0)?;
    let shared = memory.get();
    shared.num.store(1.1_f64.to_bits(), Relaxed);
    for (i, element) in shared.arr.iter().enumerate() {
        element.store(i as i32, Relaxed);
    }
    println!(
        "shared memory: {}, {} bytes",
        file.0.display(),
        size_of::<Shared>()
    );
    display_sharedata(shared);

    let a = start_changedata(&file.0)?;
    let b = start_changedata(&file.0)?;
    a.join()?;
    println!("--- after a.join()");
    display_sharedata(shared);
    b.join()?;
    println!("--- after b.join()");
    display_sharedata(shared);
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str::<PathBuf>(&json)
                .map_err(io::Error::from)
                .and_then(|path| SharedMemory::map(&path))
                .map(|memory| changedata(memory.get()))
        }
        _ => parent(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
