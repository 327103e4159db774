//! # The homework tools — 作业
//!
//! `cargo run -p exercises` lists the three homework programs of the notes
//! (`004_599445cc4c65b15e.txt`, 作业), rebuilt as tools a person would use instead of `nc -u`,
//! `cp -r` and `curl`. Each tool is a folder, `src/bin/<tool>/`, with a `main.rs` that wires
//! modules with one job each. `cargo install --path exercises` puts them on `PATH`.

use clap::Parser;

/// Lists the homework tools.
#[derive(Parser)]
struct Args {}

/// (name, the notes' homework, what it is)
const TOOLS: &[(&str, &str, &str)] = &[
    (
        "chat",
        "多线程聊天器",
        "two-way UDP chat in GBK or UTF-8 that talks to the notes' Python chat",
    ),
    (
        "copy_dir",
        "文件夹复制器",
        "copies a folder tree on a pool of worker threads, safely and fast",
    ),
    (
        "download",
        "协程分配下载文件",
        "downloads a file in byte ranges on may coroutines, verified, with retries",
    ),
];

fn main() {
    sigpipe::reset();
    Args::parse();
    println!("作业 — {} homework tools:\n", TOOLS.len());
    for (number, (name, notes, what)) in TOOLS.iter().enumerate() {
        println!("{:>2}. {name:<10} {notes}: {what}", number + 1);
        println!("    cargo run --release -p exercises --bin {name} -- --help");
    }
    println!("\ncargo install --path exercises puts the built tools on PATH.");
}
