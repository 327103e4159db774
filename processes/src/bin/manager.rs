//! # A manager process that owns shared data — Manager
//!
//! From `002_9dcbaec63db95917.txt`, 进程 (`Manager`).
//!
//! **The Python.** `with Manager() as man:` starts a manager process; `man.dict()` and
//! `man.list(range(10))` create a dict and a list inside it and return proxies. A child process
//! gets the proxies, sets `d["name"]`, `d["age"]` and `d["Job"]` and calls `l.reverse()`; after
//! joining it, the parent prints `d` and `l` and sees the changes. Leaving the `with` block shuts
//! the manager down.
//!
//! **This lesson.** The same, built by hand: a manager process owns a dict and a list and serves
//! them over a Unix socket; the child and the parent change and read them through proxies; when
//! the parent is done it tells the manager to exit and waits for it.
//!
//! **Rust differences.** This is how Python's `Manager` works underneath: the data lives in one
//! process, and every proxy method is a request over a socket, answered by the manager (a thread
//! per connection there, and here). Requests and answers are JSON lines (serde). Rust's
//! `d["name"] = ...` (`IndexMut`) must hand out a reference into this process's memory, which a
//! value in another process cannot give, so a proxy has methods: `d.set("name", ...)`. The dict
//! is a `Vec` of pairs so it keeps insertion order, as a Python dict does. The parent binds the
//! socket before it starts the manager and hands it over as the manager's stdin, so there is no
//! window in which a client could connect too early. The manager and the child are this program
//! run again with a hidden `--child` argument (the role as JSON); guards kill and reap them if
//! the parent fails, each dies with its parent (`PR_SET_PDEATHSIG`), and the socket file is
//! removed at the end. Unix only.
//!
//! **Run it:**
//! ```text
//! cargo run -p processes --bin manager
//! ```
//!
//! **Output** (pids and the path vary):
//! ```text
//! manager process 4101 serves a dict and a list on /tmp/processes-manager-4100.sock
//! child 4102: d.set("name", "zhangyanlin"), d.set("age", 18), d.set("Job", "pythoner"), l.reverse()
//! {'name': 'zhangyanlin', 'age': 18, 'Job': 'pythoner'}
//! [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
//! the manager shut down: exit status: 0
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`.

use clap::Parser;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{self, Child, Command, ExitCode, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;

/// A manager process serves a dict and a list to other processes.
#[derive(Parser)]
struct Args {
    /// Internal: run as a child process; the JSON is its role.
    #[arg(long, hide = true, requires = "parent")]
    child: Option<String>,
    /// Internal: the pid of the parent that started this child.
    #[arg(long, hide = true)]
    parent: Option<u32>,
}

#[derive(Serialize, Deserialize)]
enum Role {
    /// Serve the data on the listening socket that is this process's stdin.
    Manager,
    /// Change the data through proxies connected to `socket`.
    Worker { socket: PathBuf },
}

/// What a proxy asks the manager.
#[derive(Serialize, Deserialize)]
enum Request {
    DictSet(String, Value),
    DictCopy,
    ListSet(Vec<Value>),
    ListReverse,
    ListCopy,
    Shutdown,
}

/// What the manager answers.
#[derive(Serialize, Deserialize)]
enum Reply {
    Done,
    Dict(Vec<(String, Value)>),
    List(Vec<Value>),
}

// ---- the manager process ----

/// The data the manager owns.
#[derive(Default)]
struct Data {
    dict: Vec<(String, Value)>,
    list: Vec<Value>,
}

fn serve(listener: UnixListener) -> io::Result<()> {
    let data = Arc::new(Mutex::new(Data::default()));
    for connection in listener.incoming() {
        let (connection, data) = (connection?, Arc::clone(&data));
        thread::spawn(move || {
            if let Err(e) = answer(connection, &data) {
                eprintln!("manager: {e}");
            }
        });
    }
    Ok(())
}

/// Answers one proxy's requests until it disconnects.
fn answer(connection: UnixStream, data: &Mutex<Data>) -> io::Result<()> {
    let mut replies = connection.try_clone()?;
    for line in BufReader::new(connection).lines() {
        let request: Request = serde_json::from_str(&line?)?;
        let reply = {
            let mut data = data.lock().unwrap();
            match request {
                Request::DictSet(key, value) => {
                    match data.dict.iter_mut().find(|(k, _)| *k == key) {
                        Some((_, old)) => *old = value,
                        None => data.dict.push((key, value)),
                    }
                    Reply::Done
                }
                Request::DictCopy => Reply::Dict(data.dict.clone()),
                Request::ListSet(items) => {
                    data.list = items;
                    Reply::Done
                }
                Request::ListReverse => {
                    data.list.reverse();
                    Reply::Done
                }
                Request::ListCopy => Reply::List(data.list.clone()),
                Request::Shutdown => {
                    send(&mut replies, &Reply::Done)?;
                    process::exit(0);
                }
            }
        };
        send(&mut replies, &reply)?;
    }
    Ok(())
}

fn send<T: Serialize>(stream: &mut UnixStream, message: &T) -> io::Result<()> {
    let mut line = serde_json::to_string(message)?;
    line.push('\n');
    stream.write_all(line.as_bytes())
}

// ---- the proxies, used by any process ----

/// A proxy's connection to the manager.
struct Connection {
    requests: UnixStream,
    replies: BufReader<UnixStream>,
}

impl Connection {
    fn open(socket: &Path) -> io::Result<Self> {
        let requests = UnixStream::connect(socket)?;
        Ok(Connection {
            replies: BufReader::new(requests.try_clone()?),
            requests,
        })
    }

    fn call(&mut self, request: &Request) -> io::Result<Reply> {
        send(&mut self.requests, request)?;
        let mut line = String::new();
        if self.replies.read_line(&mut line)? == 0 {
            return Err(io::Error::other("the manager is gone"));
        }
        Ok(serde_json::from_str(&line)?)
    }

    fn expect_done(&mut self, request: &Request) -> io::Result<()> {
        match self.call(request)? {
            Reply::Done => Ok(()),
            _ => Err(io::Error::other("unexpected reply from the manager")),
        }
    }
}

/// Python's `DictProxy`: the dict lives in the manager.
struct DictProxy(Connection);

impl DictProxy {
    /// `d[key] = value`
    fn set(&mut self, key: &str, value: impl Into<Value>) -> io::Result<()> {
        self.0
            .expect_done(&Request::DictSet(key.to_string(), value.into()))
    }

    /// `d.copy()`: the dict as it is now, copied into this process.
    fn copy(&mut self) -> io::Result<Vec<(String, Value)>> {
        match self.0.call(&Request::DictCopy)? {
            Reply::Dict(dict) => Ok(dict),
            _ => Err(io::Error::other("unexpected reply from the manager")),
        }
    }
}

/// Python's `ListProxy`: the list lives in the manager.
struct ListProxy(Connection);

impl ListProxy {
    /// `l.reverse()`
    fn reverse(&mut self) -> io::Result<()> {
        self.0.expect_done(&Request::ListReverse)
    }

    /// `l[:]`: the list as it is now, copied into this process.
    fn copy(&mut self) -> io::Result<Vec<Value>> {
        match self.0.call(&Request::ListCopy)? {
            Reply::List(list) => Ok(list),
            _ => Err(io::Error::other("unexpected reply from the manager")),
        }
    }
}

// ---- the child ----

fn f(d: &mut DictProxy, l: &mut ListProxy) -> io::Result<()> {
    d.set("name", "zhangyanlin")?;
    d.set("age", 18)?;
    d.set("Job", "pythoner")?;
    l.reverse()?;
    println!(
        r#"child {}: d.set("name", "zhangyanlin"), d.set("age", 18), d.set("Job", "pythoner"), l.reverse()"#,
        process::id()
    );
    Ok(())
}

// ---- the parent ----

/// A child process that is killed and reaped if it is dropped before it was joined.
struct ChildGuard(Child);

impl ChildGuard {
    fn join(mut self) -> io::Result<ExitStatus> {
        let status = self.0.wait()?;
        if status.success() {
            Ok(status)
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

fn start(role: &Role, stdin: Stdio) -> io::Result<ChildGuard> {
    let child = Command::new(std::env::current_exe()?)
        .args(["--child", &serde_json::to_string(role)?])
        .args(["--parent", &process::id().to_string()])
        .stdin(stdin)
        .spawn()?;
    Ok(ChildGuard(child))
}

/// Python's `Manager()`: the manager process and the socket it serves on.
struct Manager {
    process: ChildGuard,
    // Dropped after `process`: the socket file goes once the manager is gone.
    socket: TempFile,
}

impl Manager {
    fn start() -> io::Result<Manager> {
        let path = std::env::temp_dir().join(format!("processes-manager-{}.sock", process::id()));
        let listener = UnixListener::bind(&path)?;
        let socket = TempFile(path);
        let process = start(&Role::Manager, Stdio::from(OwnedFd::from(listener)))?;
        Ok(Manager { process, socket })
    }

    fn dict(&self) -> io::Result<DictProxy> {
        Ok(DictProxy(Connection::open(&self.socket.0)?))
    }

    /// `man.list(items)`
    fn list(&self, items: impl IntoIterator<Item = Value>) -> io::Result<ListProxy> {
        let mut connection = Connection::open(&self.socket.0)?;
        connection.expect_done(&Request::ListSet(items.into_iter().collect()))?;
        Ok(ListProxy(connection))
    }

    /// What leaving Python's `with Manager() as man:` does.
    fn shutdown(self) -> io::Result<ExitStatus> {
        Connection::open(&self.socket.0)?.expect_done(&Request::Shutdown)?;
        self.process.join()
    }
}

/// How Python prints a string or a number.
fn repr(value: &Value) -> String {
    match value {
        Value::String(text) => format!("'{text}'"),
        other => other.to_string(),
    }
}

fn parent() -> io::Result<()> {
    let manager = Manager::start()?;
    println!(
        "manager process {} serves a dict and a list on {}",
        manager.process.0.id(),
        manager.socket.0.display()
    );
    let mut d = manager.dict()?;
    let mut l = manager.list((0..10).map(Value::from))?;

    let worker = Role::Worker {
        socket: manager.socket.0.clone(),
    };
    start(&worker, Stdio::inherit())?.join()?;

    let dict: Vec<String> = d
        .copy()?
        .iter()
        .map(|(key, value)| format!("'{key}': {}", repr(value)))
        .collect();
    println!("{{{}}}", dict.join(", "));
    let list: Vec<String> = l.copy()?.iter().map(repr).collect();
    println!("[{}]", list.join(", "));

    println!("the manager shut down: {}", manager.shutdown()?);
    Ok(())
}

fn child(role: Role) -> io::Result<()> {
    match role {
        Role::Manager => serve(UnixListener::from(
            io::stdin().as_fd().try_clone_to_owned()?,
        )),
        Role::Worker { socket } => f(
            &mut DictProxy(Connection::open(&socket)?),
            &mut ListProxy(Connection::open(&socket)?),
        ),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match (args.child, args.parent) {
        (Some(json), Some(parent_pid)) => {
            die_with_parent(parent_pid);
            serde_json::from_str(&json)
                .map_err(io::Error::from)
                .and_then(child)
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
