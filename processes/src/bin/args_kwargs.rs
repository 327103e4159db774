//! # Passing arguments to a child process — 进程传参
//!
//! From `004_599445cc4c65b15e.txt`, 进程 › multiprocessing模块 › 进程传参.
//!
//! **The Python.** `Process(target=test, args=(11, 22, 33, 44, 55), kwargs={'name': 'test'})`
//! where `test(a, b, c, *args, **kwargs)` prints `a`, `b`, `c`, then the extra positional
//! arguments as a tuple and the keyword arguments as a dict.
//!
//! **This lesson.** The same call and the same five lines, printed by the child. The values can
//! be changed with `--args` and `--kwarg`, so you can see they really travel.
//!
//! **Rust differences.** Rust functions have no `*args` or `**kwargs`: the call becomes a struct
//! with a field per parameter, a `Vec` for the extra positional ones and a map for the keyword
//! ones. `procspawn::spawn(call, test)` is `Process(target=test, args=...)`: `test` is a plain
//! `fn` taking one argument, and that argument crosses to the child through serde (procspawn
//! sends it over an ipc-channel socket, encoded with postcard). A process shares no memory with
//! its parent, so only data crosses, never references, and the type must derive `Serialize` and
//! `Deserialize`. postcard does not describe its own data, so a value of "any type" must be a
//! Rust enum (`Kwarg`), not `serde_json::Value`. The map is a `BTreeMap`, so keyword arguments
//! come out sorted by name, where Python keeps their order. `procspawn::init()` comes first in
//! `main`: a child runs `test` there and exits. Its hook asks Linux to kill the child if the
//! parent dies (`PR_SET_PDEATHSIG`). Linux only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin args_kwargs
//! cargo run -p processes --bin args_kwargs -- --args 1,2,3,4 --kwarg name=ok --kwarg age=18
//! ```
//!
//! **Output** (the pid varies):
//! ```text
//! the parent sends: Call { a: 11, b: 22, c: 33, args: [44, 55], kwargs: {"name": Text("test")} }
//! child 4101 runs test(a, b, c, *args, **kwargs):
//! 11
//! 22
//! 33
//! (44, 55)
//! {'name': 'test'}
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `procspawn = "=1.0.2"`,
//! `serde = { version = "1", features = ["derive"] }`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::process::{self, ExitCode};

/// Positional and keyword arguments reach a child process.
#[derive(Parser)]
struct Args {
    /// Positional arguments, comma-separated: a, b, c, then any number more.
    #[arg(long, value_parser = parse_positional, default_value = "11,22,33,44,55", allow_hyphen_values = true)]
    args: Positional,
    /// A keyword argument, `key=value` (repeat the flag for more); a value that is not a
    /// number travels as text.
    #[arg(long = "kwarg", value_parser = parse_kwarg, default_value = "name=test")]
    kwargs: Vec<(String, Kwarg)>,
}

/// The positional arguments: at least `a`, `b` and `c`.
#[derive(Clone)]
struct Positional(Vec<i64>);

fn parse_positional(text: &str) -> Result<Positional, String> {
    let numbers = text
        .split(',')
        .map(|n| n.trim().parse().map_err(|e| format!("{n:?}: {e}")))
        .collect::<Result<Vec<i64>, _>>()?;
    if numbers.len() < 3 {
        return Err("needs at least a, b and c".to_string());
    }
    Ok(Positional(numbers))
}

/// A keyword argument's value: a number or a text, as Python's dict could hold.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Kwarg {
    Int(i64),
    Text(String),
}

fn parse_kwarg(text: &str) -> Result<(String, Kwarg), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {text:?}"))?;
    let value = value
        .parse()
        .map_or_else(|_| Kwarg::Text(value.to_string()), Kwarg::Int);
    Ok((key.to_string(), value))
}

/// `test(a, b, c, *args, **kwargs)` as data: what crosses to the child.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    a: i64,
    b: i64,
    c: i64,
    args: Vec<i64>,
    kwargs: BTreeMap<String, Kwarg>,
}

/// The target: runs in the child, printing what arrived the way Python prints it.
fn test(call: Call) {
    println!(
        "child {} runs test(a, b, c, *args, **kwargs):",
        process::id()
    );
    println!("{}\n{}\n{}", call.a, call.b, call.c);
    let args: Vec<String> = call.args.iter().map(i64::to_string).collect();
    match &args[..] {
        [one] => println!("({one},)"),
        _ => println!("({})", args.join(", ")),
    }
    let kwargs: Vec<String> = (call.kwargs.iter())
        .map(|(key, value)| match value {
            Kwarg::Int(n) => format!("'{key}': {n}"),
            Kwarg::Text(text) => format!("'{key}': '{text}'"),
        })
        .collect();
    println!("{{{}}}", kwargs.join(", "));
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
    let args = Args::parse();
    let (abc, rest) = args.args.0.split_at(3);
    let call = Call {
        a: abc[0],
        b: abc[1],
        c: abc[2],
        args: rest.to_vec(),
        kwargs: args.kwargs.into_iter().collect(),
    };
    println!("the parent sends: {call:?}");
    if let Err(e) = procspawn::spawn(call, test).join() {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.is_remote_close() {
            println!();
        }
        eprintln!("error: the child: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
