//! # A manager process that owns shared data — Manager
//!
//! From `002_9dcbaec63db95917.txt`, 进程 (`Manager`).
//!
//! **The Python.** `with Manager() as man:` starts a manager process; `man.dict()` and
//! `man.list(range(10))` create a dict and a list inside it and return proxies. A child process
//! gets the proxies as its arguments (`args=(d, l)`), sets `d["name"]`, `d["age"]` and `d["Job"]`
//! and calls `l.reverse()`; after joining it, the parent prints `d` and `l` and sees the changes.
//! Leaving the `with` block shuts the manager down.
//!
//! **This lesson.** The same, with the manager built by hand: a process that owns every object
//! made through it and serves them over a Unix socket. `man.dict()` and `man.list(...)` ask it
//! to create a new object and return a proxy: the manager's address and the object's id. The
//! child gets `(d, l)` as its arguments and changes the objects through them. The parent also
//! makes a second dict, `d2`, to show that each `dict()` is a distinct object in the manager.
//!
//! **Rust differences.** This is how Python's `Manager` works underneath: the data lives in one
//! process, and every proxy method is a request over a socket, answered by the manager. Here a
//! request is one JSON line on a connection of its own, and the manager answers them one at a
//! time (Python's answers each connection on a thread). A proxy is only data (address and id),
//! so it derives `Serialize` and crosses to the child as a `procspawn::spawn` argument, as a
//! Python proxy is pickled into `args`. Rust's `d["name"] = ...` (`IndexMut`) must hand out a
//! reference into this process's memory, which a value in another process cannot give, so a
//! proxy has methods: `d.set("name", ...)`. A dict is a `Vec` of pairs so it keeps insertion
//! order, as a Python dict does. The parent binds the socket before it starts the manager and
//! hands it over as the manager's stdin, so no client can connect too early. The socket file is
//! named after the parent's pid and removed at the end; one left by a killed run is removed at
//! the next start (its pid gone, or reused by that start itself). Children die with their parent
//! (`PR_SET_PDEATHSIG`, asked for in a hook of `procspawn::init`). Linux only.
//!
//! **Run it:** `cargo run -p processes --bin manager`
//!
//! **Output** (pids and the path vary):
//! ```text
//! --- with Manager() as man:
//! manager process 4101 serves on /tmp/processes-manager-4100.sock
//! d = dict 0, d2 = dict 1, l = list 2 (proxies: the manager's address and an id)
//! child 4102: d.set("name", "zhangyanlin"), d.set("age", 18), d.set("Job", "pythoner"), l.reverse()
//! {'name': 'zhangyanlin', 'age': 18, 'Job': 'pythoner'}
//! [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]
//! d2 = {'name': 'another dict'}
//! the manager shut down
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`, `procspawn = "1"`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use clap::Parser;
use procspawn::SpawnError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fs;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode, Stdio};

/// A manager process serves a dict and a list to other processes.
#[derive(Parser)]
struct Args {}

/// What a proxy asks the manager; `usize` is an object's id.
#[derive(Serialize, Deserialize)]
enum Request {
    New(Object),
    DictSet(usize, String, Value),
    ListReverse(usize),
    Copy(usize),
    Shutdown,
}

/// The objects the manager owns; an object's id is its place here.
#[derive(Clone, Serialize, Deserialize)]
enum Object {
    Dict(Vec<(String, Value)>),
    List(Vec<Value>),
}

/// The manager's answer: a new object's id, a copy of an object, or an error.
type Reply = Result<(usize, Option<Object>), String>;

/// The manager process: answers requests, one connection each, until told to shut down.
fn serve((): ()) -> Result<(), String> {
    serve_on_stdin().map_err(|e| format!("manager: {e}"))
}

fn serve_on_stdin() -> io::Result<()> {
    let listener = UnixListener::from(io::stdin().as_fd().try_clone_to_owned()?);
    let mut objects = Vec::new();
    for connection in listener.incoming() {
        let mut connection = connection?;
        let mut line = String::new();
        BufReader::new(&connection).read_line(&mut line)?;
        let request = serde_json::from_str(&line)?;
        let shutdown = matches!(request, Request::Shutdown);
        let reply = serde_json::to_string(&handle(&mut objects, request))? + "\n";
        connection.write_all(reply.as_bytes())?;
        if shutdown {
            return Ok(());
        }
    }
    Ok(())
}

fn handle(objects: &mut Vec<Object>, request: Request) -> Reply {
    let done = |id| Ok((id, None));
    match request {
        Request::New(object) => {
            objects.push(object);
            done(objects.len() - 1)
        }
        Request::DictSet(id, key, value) => match objects.get_mut(id) {
            Some(Object::Dict(dict)) => {
                match dict.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, old)) => *old = value,
                    None => dict.push((key, value)),
                }
                done(id)
            }
            _ => Err(format!("no dict {id}")),
        },
        Request::ListReverse(id) => match objects.get_mut(id) {
            Some(Object::List(list)) => done(id).inspect(|_| list.reverse()),
            _ => Err(format!("no list {id}")),
        },
        Request::Copy(id) => match objects.get(id) {
            Some(object) => Ok((id, Some(object.clone()))),
            None => Err(format!("no object {id}")),
        },
        Request::Shutdown => done(0),
    }
}

/// Sends one request to the manager at `address` and reads its reply.
fn call(address: &Path, request: &Request) -> Reply {
    let exchange = || -> io::Result<String> {
        let mut connection = UnixStream::connect(address)?;
        connection.write_all((serde_json::to_string(request)? + "\n").as_bytes())?;
        let mut line = String::new();
        BufReader::new(connection).read_line(&mut line)?;
        Ok(line)
    };
    let line = exchange().map_err(|e| format!("the manager at {}: {e}", address.display()))?;
    serde_json::from_str::<Reply>(&line).map_err(|e| e.to_string())?
}

/// Python's `DictProxy` and `ListProxy`: a reference to an object in the manager (its address
/// and the object's id), not the object. The manager checks that the object has the method.
#[derive(Clone, Serialize, Deserialize)]
struct Proxy {
    address: PathBuf,
    id: usize,
}

impl Proxy {
    /// `man.dict()`, `man.list(items)`: a new object in the manager, and its proxy.
    fn new(address: &Path, object: Object) -> Result<Proxy, String> {
        let (id, _) = call(address, &Request::New(object))?;
        let address = address.to_path_buf();
        Ok(Proxy { address, id })
    }

    /// `d[key] = value`
    fn set(&self, key: &str, value: impl Into<Value>) -> Result<(), String> {
        let request = Request::DictSet(self.id, key.into(), value.into());
        call(&self.address, &request).map(drop)
    }

    /// `l.reverse()`
    fn reverse(&self) -> Result<(), String> {
        call(&self.address, &Request::ListReverse(self.id)).map(drop)
    }

    /// A copy of the object, printed as Python prints it: `{'age': 18}`, `[9, 8]`.
    fn copy(&self) -> Result<String, String> {
        let repr = |v: &Value| v.as_str().map_or(v.to_string(), |s| format!("'{s}'"));
        let (items, brackets): (Vec<String>, _) =
            match call(&self.address, &Request::Copy(self.id))?.1 {
                Some(Object::Dict(dict)) => (
                    dict.iter()
                        .map(|(k, v)| format!("'{k}': {}", repr(v)))
                        .collect(),
                    "{}",
                ),
                Some(Object::List(list)) => (list.iter().map(repr).collect(), "[]"),
                None => return Err("the manager sent no copy".into()),
            };
        let (open, close) = brackets.split_at(1);
        Ok(format!("{open}{}{close}", items.join(", ")))
    }
}

/// The child's target, `f(d, l)` of the notes: it changes the objects through the proxies.
fn f((d, l): (Proxy, Proxy)) -> Result<(), String> {
    d.set("name", "zhangyanlin")?;
    d.set("age", 18)?;
    d.set("Job", "pythoner")?;
    l.reverse()?;
    let calls = r#"d.set("name", "zhangyanlin"), d.set("age", 18), d.set("Job", "pythoner")"#;
    println!("child {}: {calls}, l.reverse()", process::id());
    Ok(())
}

/// The socket file, removed when this value is dropped.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Binds this run's socket, after removing those of runs that were killed (pid gone).
fn bind_socket() -> io::Result<(UnixListener, SocketFile)> {
    let dir = std::env::temp_dir();
    for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = name.strip_prefix("processes-manager-");
        let pid = pid.and_then(|n| n.strip_suffix(".sock"));
        if pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
    let path = dir.join(format!("processes-manager-{}.sock", process::id()));
    // Named after this process: one already there was left by a killed run that had this pid.
    let _ = fs::remove_file(&path);
    let named =
        |e: io::Error| io::Error::new(e.kind(), format!("cannot bind {}: {e}", path.display()));
    let listener = UnixListener::bind(&path).map_err(named)?;
    Ok((listener, SocketFile(path)))
}

fn parent() -> Result<(), Box<dyn std::error::Error>> {
    println!("--- with Manager() as man:");
    let (listener, socket) = bind_socket()?;
    // Its stdin is the listening socket: bound before it starts, so no client is too early.
    let manager = procspawn::Builder::new()
        .stdin(Stdio::from(OwnedFd::from(listener)))
        .spawn((), serve);
    let address = socket.0.clone();
    let pid = manager.pid().ok_or("the manager did not start")?;
    println!("manager process {pid} serves on {}", address.display());
    let d = Proxy::new(&address, Object::Dict(Vec::new()))?;
    let d2 = Proxy::new(&address, Object::Dict(Vec::new()))?;
    let l = Proxy::new(&address, Object::List((0..10).map(Value::from).collect()))?;
    let ids = format!("d = dict {}, d2 = dict {}, l = list {}", d.id, d2.id, l.id);
    println!("{ids} (proxies: the manager's address and an id)");
    d2.set("name", "another dict")?;
    // Process(target=f, args=(d, l)): the child gets copies of the proxies, the same references.
    procspawn::spawn((d.clone(), l.clone()), f).join()??;
    println!("{}", d.copy()?);
    println!("{}", l.copy()?);
    println!("d2 = {}", d2.copy()?);
    call(&address, &Request::Shutdown)?; // leaving `with Manager() as man:`
    manager.join()??;
    println!("the manager shut down");
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
    Args::parse();
    if let Err(e) = parent() {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
