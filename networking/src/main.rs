//! # The socket lessons — 网络
//!
//! `cargo run -p networking` prints the lessons of this member in reading order, one line each,
//! with the command that runs it. Each lesson is one file in `src/bin/`.

use clap::Parser;

/// Lists the socket lessons in reading order.
#[derive(Parser)]
struct Args {}

const LESSONS: &[(&str, &str)] = &[
    (
        "udp_send_recv",
        "解2 无交互发送接收: a sender process sends 你好 in GBK to a receiver process",
    ),
    (
        "udp_chat",
        "多线程聊天器: one thread sends stdin lines, one prints what arrives",
    ),
    (
        "tcp_echo_threads",
        "tcp accept: an echo server with a thread per connection",
    ),
    (
        "tcp_echo_coroutines",
        "gevent + accept: the same server on may coroutines, few threads",
    ),
    (
        "socket_options",
        "recvfrom(1024): what socket2 adds to std sockets; a datagram cut by a short buffer",
    ),
];

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    println!("网络 — {} lessons, in reading order:\n", LESSONS.len());
    for (number, (name, what)) in LESSONS.iter().enumerate() {
        println!("{:>2}. {name:<20} {what}", number + 1);
        println!("    cargo run -p networking --bin {name}");
    }
    println!("\nEvery lesson reads TICK_MS (milliseconds per tick, default 1000).");
}
