//! # Shared memory: Value and Array — Value / Array
//!
//! From `002_9dcbaec63db95917.txt`, 进程 (`Value` and `Array`).
//!
//! **The Python.** `num = Value('d', 1.1)` (a shared double) and `arr = Array('i', range(11))`
//! (a shared array of ints) live in shared memory. Two processes run `changedata`, which sets
//! `num.value = 0.0` and adds 1 to every element. The parent prints both after `a.join()` and
//! again after `b.join()`: the value is 0.0 and every element has grown by 2.
//!
//! **This lesson.** The same, with the numbers in a file under `/dev/shm` (or `--dir`) that the
//! parent and both children map into memory. After `a.join()`, child b may or may not have run
//! yet, so that printout varies; after `b.join()` it is always 0.0 and 2 to 12.
//!
//! **Rust differences.** Processes share nothing unless they ask: here each maps the same file
//! (`memmap2`), and Linux backs `/dev/shm` with memory, not disk. Memory that another process
//! writes is beyond what the compiler can check, which is why this file allows `unsafe_code`:
//! one `unsafe` block turns the mapping into a `&Shared`. It is sound because `Shared` is made
//! only of atomics (every bit pattern is a valid value, and every access, in every process, is
//! an atomic operation). There is no `AtomicF64`: the double is stored as its bits in an
//! `AtomicU64`. Python's `arr[i] += 1` reads and then writes, each under the array's lock but
//! not together, so two processes can lose an update; `fetch_add` is one atomic step and never
//! does. The children are started with `procspawn::spawn(path, changedata)`: what crosses to
//! them (through serde) is the file's path, not the memory; each maps it itself. The file is
//! named after the parent's pid and removed at the end; one left by a killed run (its pid gone)
//! is removed at the next start. Children die with their parent (`PR_SET_PDEATHSIG`, asked for in
//! a hook of `procspawn::init`). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin shared_memory`
//!
//! **Output** (the lines after `a.join()` may already show 2 to 12):
//! ```text
//! --- Value('d', 1.1) and Array('i', range(11)) in a shared file
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
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`, `procspawn = "=1.0.2"`,
//! `memmap2 = "0.9"`, `nix = { version = "0.31", features = ["process", "signal"] }`,
//! `sigpipe = "0.1"`.

// Memory written by other processes is beyond what the compiler can check; see the SAFETY note.
#![allow(unsafe_code)]

use clap::Parser;
use memmap2::MmapRaw;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::Relaxed};

/// Two child processes change numbers in memory shared with the parent.
#[derive(Parser)]
struct Args {
    /// Where the shared file goes (/dev/shm is memory, not disk).
    #[arg(long, default_value = "/dev/shm")]
    dir: PathBuf,
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

/// The child's target: map the file whose path the parent sent, and change the numbers.
fn changedata(path: PathBuf) -> Result<(), String> {
    let memory = SharedMemory::map(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let shared = memory.get();
    shared.num.store(0.0_f64.to_bits(), Relaxed);
    for element in &shared.arr {
        element.fetch_add(1, Relaxed);
    }
    Ok(())
}

// Relaxed is enough: each update is one atomic operation and publishes nothing else, and the
// parent reads only after `join` has seen the child's answer, sent after its writes.
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

/// A file that is removed when this value is dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Creates this run's shared file, after removing those of runs that were killed (pid gone).
fn create_shared_file(dir: &Path) -> io::Result<TempFile> {
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("processes-shared-memory-");
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let path = dir.join(format!("processes-shared-memory-{}", process::id()));
    let named = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let file = File::create(&path).map_err(named)?;
    let file_guard = TempFile(path.clone());
    file.set_len(size_of::<Shared>() as u64).map_err(named)?; // zero-filled
    Ok(file_guard)
}

fn parent(dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("--- Value('d', 1.1) and Array('i', range(11)) in a shared file");
    let file = create_shared_file(dir)?;
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

    let a = procspawn::spawn(file.0.clone(), changedata);
    let b = procspawn::spawn(file.0.clone(), changedata);
    a.join()??;
    println!("--- after a.join()");
    display_sharedata(shared);
    b.join()??;
    println!("--- after b.join()");
    display_sharedata(shared);
    Ok(())
}

/// The hook procspawn runs first in every child: Linux kills the child when its parent dies,
/// and a closed stdout ends it quietly, as in the parent.
fn child() {
    let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
    sigpipe::reset();
    // A child's panic reaches the parent as `join`'s error, printed there once.
    std::panic::set_hook(Box::new(|_| {}));
}

fn main() -> ExitCode {
    // In a child this runs the function the parent sent, then exits: nothing below runs there.
    procspawn::ProcConfig::new().config_callback(child).init();
    sigpipe::reset();
    if let Err(e) = parent(&Args::parse().dir) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
