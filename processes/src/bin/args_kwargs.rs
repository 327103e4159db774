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
//! ones. A process shares no memory with its parent, so arguments must be turned into bytes and
//! back. Python pickles them for you; here serde turns the struct into JSON, the JSON goes on the
//! child's command line (the child is this program run again, Python's `spawn` start method),
//! and the child turns it back into the struct. Only data crosses, never references. The map is
//! a `BTreeMap`, so keyword arguments come out sorted by name, where Python keeps their order.
//! A guard reaps the child even if the parent fails, and the child dies with its parent
//! (`PR_SET_PDEATHSIG`). Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin args_kwargs
//! cargo run -p processes --bin args_kwargs -- --args 1,2,3,4 --kwarg name=ok --kwarg age=18
//! ```
//!
//! **Output** (the pid varies):
//! ```text
//! the parent sends: {"a":11,"b":22,"c":33,"args":[44,55],"kwargs":{"name":"test"}}
//! child 4101 runs test(a, b, c, *args, **kwargs):
//! 11
//! 22
//! 33
//! (44, 55)
//! {'name': 'test'}
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::process::{self, Child, Command, ExitCode};

/// Positional and keyword arguments reach a child process.
#[derive(Parser)]
struct Args {
    /// Positional arguments, comma-separated: a, b, c, then any number more.
    #[arg(long, value_parser = parse_positional, default_value = "11,22,33,44,55", allow_hyphen_values = true)]
    args: Positional,
    /// A keyword argument, `key=value` (repeat the flag for more); a value that is not a
    /// number travels as text.
    #[arg(long = "kwarg", value_parser = parse_kwarg, default_value = "name=test")]
    kwargs: Vec<(String, Value)>,
    /// Internal: run as a child process; the JSON is the call the parent sent.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
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

fn parse_kwarg(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected key=value, got {text:?}"))?;
    let value = match value.parse::<i64>() {
        Ok(number) => Value::from(number),
        Err(_) => Value::from(value),
    };
    Ok((key.to_string(), value))
}

/// `test(a, b, c, *args, **kwargs)` as data: what crosses to the child.
#[derive(Serialize, Deserialize)]
struct Call {
    a: i64,
    b: i64,
    c: i64,
    args: Vec<i64>,
    kwargs: BTreeMap<String, Value>,
}

fn test(call: &Call) {
    println!("{}", call.a);
    println!("{}", call.b);
    println!("{}", call.c);
    println!("{}", python_tuple(&call.args));
    println!("{}", python_dict(&call.kwargs));
}

/// How Python prints a tuple: `(44, 55)`, and `(44,)` for one item.
fn python_tuple(items: &[i64]) -> String {
    let items: Vec<String> = items.iter().map(i64::to_string).collect();
    match items.len() {
        1 => format!("({},)", items[0]),
        _ => format!("({})", items.join(", ")),
    }
}

/// How Python prints a dict of numbers and strings: `{'name': 'test'}`.
fn python_dict(map: &BTreeMap<String, Value>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(key, value)| match value {
            Value::String(text) => format!("'{key}': '{text}'"),
            other => format!("'{key}': {other}"),
        })
        .collect();
    format!("{{{}}}", entries.join(", "))
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

fn child(json: &str) -> io::Result<()> {
    let call: Call = serde_json::from_str(json)?;
    println!(
        "child {} runs test(a, b, c, *args, **kwargs):",
        process::id()
    );
    test(&call);
    Ok(())
}

fn parent(call: Call) -> io::Result<()> {
    let json = serde_json::to_string(&call)?;
    println!("the parent sends: {json}");
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &json, "--parent", &process::id().to_string()])
        .spawn()?;
    ChildGuard(child).join()
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            child(&json)
        }
        _ => {
            let (abc, rest) = args.args.0.split_at(3);
            parent(Call {
                a: abc[0],
                b: abc[1],
                c: abc[2],
                args: rest.to_vec(),
                kwargs: args.kwargs.into_iter().collect(),
            })
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
