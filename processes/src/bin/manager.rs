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
//! Then two more of the types the notes list: `man.Value('i', 0)` and `man.Lock()`. Two children
//! each add 1 to `v.value` 500 times, reading and writing it under the lock: the parent reads 1000.
//! Without the lock, the read and the write are two requests, and an update could be lost.
//!
//! The others the notes list work the same way, a request that the manager answers: `Namespace`
//! is a dict whose keys are read as attributes (`d` here); `RLock`, `Semaphore`,
//! `BoundedSemaphore`, `Condition`, `Event` and `Barrier` are waits like `Lock`'s, whose answer
//! comes when the wait is over (within one process: the threads lessons `rlock`, `semaphore`,
//! `condition`, `event`); `Queue` between processes is the `queue` lesson; `Value` and `Array`
//! without a manager, in shared memory, are `shared_memory`.
//!
//! **Rust differences.** This is how Python's `Manager` works underneath: the data lives in one
//! process, and every use of a proxy is a request over a socket, answered by the manager — in
//! Python `proxy._callmethod(name, args)`, here `proxy.call(method)`, even `print(d)`: the
//! manager formats the object. A request is `(id, method)` as JSON on a connection of its own;
//! the proxy shuts its writing side to end it, and the answer ends when the manager closes the
//! connection. The manager answers one request at a time (Python's gives each connection a
//! thread). A proxy is only data (address and id), so it derives `Serialize` and crosses to the
//! child as a `procspawn::spawn` argument, as a Python proxy is pickled into `args`. Rust's
//! `d["name"] = ...` (`IndexMut`) must hand out a reference into this process's memory, which a
//! value in another process cannot give, so a proxy has methods: `d.set("name", ...)`, and
//! `v.value += 1` is a `Get` then a `Set`. A dict is a `Vec` of pairs so it keeps insertion
//! order, as a Python dict does. A lock's `Acquire` is a request whose answer the manager holds
//! back while another process has the lock; once it is released, the first one waiting gets it.
//! The parent binds the socket before it starts the manager and hands it over as the manager's
//! stdin, so no client can connect too early. The socket file is named after the parent's pid
//! and removed at the end; one left by a killed run is removed at the next start (its pid gone,
//! or reused by that start itself). Children die with their parent (`PR_SET_PDEATHSIG`, asked
//! for in a hook of `procspawn::init`). Linux only.
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
//! v = Value 3, lock = Lock 4
//! child 4103: with lock: v.value += 1, 500 times
//! child 4104: with lock: v.value += 1, 500 times
//! v.value = 1000 (2 children, 500 increments each, under the manager's Lock)
//! the manager shut down
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive"] }`, `procspawn = "=1.0.2"`,
//! `serde = { version = "1", features = ["derive"] }`, `serde_json = "1"`,
//! `nix = { version = "0.31", features = ["process", "signal"] }`, `sigpipe = "0.1"`.

use Method::*;
use clap::Parser;
use procspawn::SpawnError;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::io::{self, BufReader};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{self, ExitCode, Stdio};
use std::{fs, os::fd::AsFd, os::fd::OwnedFd};

/// A manager process serves a dict, a list, a Value and a Lock to other processes.
#[derive(Parser)]
struct Args {}

/// The objects the manager owns; an object's id is its place in the manager's `Vec`.
#[derive(Debug, Serialize, Deserialize)]
enum Object {
    Dict(Vec<(String, Value)>), // pairs, not a map: a Python dict keeps insertion order
    List(Vec<Value>),
    Value(Value),
    Lock(bool), // taken or not
}

/// What a proxy asks the manager to do with the object whose id comes with it.
#[derive(Debug, Serialize, Deserialize)]
enum Method {
    Create(Object),         // man.dict(), man.list(...), man.Value(...), man.Lock()
    SetItem(String, Value), // d[key] = value
    Reverse,                // l.reverse()
    Get,                    // v.value
    Set(Value),             // v.value = x
    Acquire,                // lock.acquire(): answered once the lock is the caller's
    Release,                // lock.release()
    Repr,                   // print(d): the manager formats the object, as Python's does
    Shutdown,               // leaving `with Manager() as man:`
}

/// The manager's answer: a new object's id, `v.value`, a repr, or nothing; or an error.
type Reply = Result<Value, String>;

/// The manager process: answers one request at a time until told to shut down.
fn serve((): ()) -> Result<(), String> {
    let run = || -> io::Result<()> {
        let listener = UnixListener::from(io::stdin().as_fd().try_clone_to_owned()?);
        let mut objects = Vec::new();
        // The connections whose `Acquire` waits for a taken lock, first come first served.
        let mut waiting: Vec<(usize, UnixStream)> = Vec::new();
        for connection in listener.incoming() {
            let connection = connection?;
            let reply = match serde_json::from_reader(BufReader::new(&connection))? {
                (_, Shutdown) => return answer(&connection, Ok(Value::Null)),
                (id, Acquire) if matches!(objects.get(id), Some(Object::Lock(true))) => {
                    waiting.push((id, connection)); // answered when the lock is released
                    continue;
                }
                (id, method) => call_method(&mut objects, id, method),
            };
            answer(&connection, reply)?;
            // A lock released while others wait passes straight to the first of them.
            let free = |w: &(usize, _)| matches!(objects.get(w.0), Some(Object::Lock(false)));
            if let Some(at) = waiting.iter().position(free) {
                let (id, first) = waiting.remove(at);
                answer(&first, call_method(&mut objects, id, Acquire))?;
            }
        }
        Ok(())
    };
    run().map_err(|e| format!("manager: {e}"))
}

/// Writes the reply; the connection, dropped after it, closes and so ends it.
fn answer(connection: &UnixStream, reply: Reply) -> io::Result<()> {
    Ok(serde_json::to_writer(connection, &reply)?)
}

/// Runs a proxy's method on one of the manager's objects.
fn call_method(objects: &mut Vec<Object>, id: usize, method: Method) -> Reply {
    let py = |v: &Value| v.as_str().map_or(v.to_string(), |s| format!("'{s}'"));
    if let Create(object) = method {
        objects.push(object);
        return Ok((objects.len() - 1).into());
    }
    match (objects.get_mut(id), method) {
        (Some(Object::Dict(dict)), SetItem(key, value)) => {
            match dict.iter_mut().find(|(k, _)| *k == key) {
                Some((_, old)) => *old = value,
                None => dict.push((key, value)),
            }
        }
        (Some(Object::List(list)), Reverse) => list.reverse(),
        (Some(Object::Value(value)), Get) => return Ok(value.clone()),
        (Some(Object::Value(value)), Set(new)) => *value = new,
        (Some(Object::Lock(taken @ false)), Acquire) => *taken = true,
        (Some(Object::Lock(taken @ true)), Release) => *taken = false,
        (Some(Object::Dict(dict)), Repr) => {
            let items = dict.iter().map(|(k, v)| format!("'{k}': {}", py(v)));
            return Ok(format!("{{{}}}", items.collect::<Vec<_>>().join(", ")).into());
        }
        (Some(Object::List(list)), Repr) => {
            let items: Vec<_> = list.iter().map(py).collect();
            return Ok(format!("[{}]", items.join(", ")).into());
        }
        (object, method) => return Err(format!("{object:?} has no {method:?}")),
    }
    Ok(Value::Null)
}

/// Python's `DictProxy`, `ListProxy`, `ValueProxy` and `AcquirerProxy` in one: a reference to
/// an object in the manager (the manager's address and the object's id), not the object.
#[derive(Clone, Serialize, Deserialize)]
struct Proxy {
    address: PathBuf,
    id: usize,
}

impl Proxy {
    /// Python's `proxy._callmethod(...)`: `(id, method)` sent on a connection of its own, which
    /// this side then shuts for writing to end the request; the reply ends at the manager's close.
    fn call(&self, method: Method) -> Reply {
        let exchange = || -> io::Result<Reply> {
            let connection = UnixStream::connect(&self.address)?;
            serde_json::to_writer(&connection, &(self.id, method))?;
            connection.shutdown(std::net::Shutdown::Write)?;
            Ok(serde_json::from_reader(BufReader::new(&connection))?)
        };
        let at = self.address.display();
        exchange().map_err(|e| format!("the manager at {at}: {e}"))?
    }

    /// `man.dict()`, `man.list(...)`, `man.Value(...)`, `man.Lock()`: a new object, its proxy.
    fn create(&self, object: Object) -> Result<Proxy, String> {
        let id = self.call(Create(object))?.as_u64().ok_or("no id")? as usize;
        Ok(Proxy { id, ..self.clone() })
    }

    /// `d[key] = value`: Rust's `d[key] = ...` (`IndexMut`) would need a reference into the dict.
    fn set(&self, key: &str, value: impl Into<Value>) -> Reply {
        self.call(SetItem(key.into(), value.into()))
    }

    /// `print(d)`: the object as Python prints it, `{'age': 18}` or `[9, 8]`.
    fn repr(&self) -> Result<String, String> {
        Ok(self.call(Repr)?.as_str().unwrap_or_default().into())
    }
}

/// The child's target, `f(d, l)` of the notes: it changes the objects through the proxies.
fn f((d, l): (Proxy, Proxy)) -> Result<(), String> {
    d.set("name", "zhangyanlin")?;
    d.set("age", 18)?;
    d.set("Job", "pythoner")?;
    l.call(Reverse)?;
    let calls = r#"d.set("name", "zhangyanlin"), d.set("age", 18), d.set("Job", "pythoner")"#;
    println!("child {}: {calls}, l.reverse()", process::id());
    Ok(())
}

/// The children that share `v` and `lock`: `with lock: v.value += 1`, `times` times.
fn add((v, lock, times): (Proxy, Proxy, u32)) -> Result<(), String> {
    for _ in 0..times {
        lock.call(Acquire)?;
        let value = v.call(Get)?.as_i64().ok_or("v.value is not a number")?;
        let set = v.call(Set((value + 1).into()));
        lock.call(Release)?;
        set?;
    }
    let pid = process::id();
    println!("child {pid}: with lock: v.value += 1, {times} times");
    Ok(())
}

/// `with Manager() as man:` and the notes' code inside it.
fn parent(socket: &Path) -> Result<(), Box<dyn std::error::Error>> {
    println!("--- with Manager() as man:");
    let bound = UnixListener::bind(socket);
    let listener = bound.map_err(|e| format!("cannot bind {}: {e}", socket.display()))?;
    // Its stdin is the listening socket: bound before it starts, so no client is too early.
    let manager = procspawn::Builder::new()
        .stdin(Stdio::from(OwnedFd::from(listener)))
        .spawn((), serve);
    let pid = manager.pid().ok_or("the manager did not start")?;
    println!("manager process {pid} serves on {}", socket.display());
    // `man` itself is a client of the manager: its requests concern no object yet.
    let man = Proxy {
        address: socket.into(),
        id: 0,
    };
    let d = man.create(Object::Dict(vec![]))?;
    let d2 = man.create(Object::Dict(vec![]))?;
    let l = man.create(Object::List((0..10).map(Value::from).collect()))?;
    let ids = format!("d = dict {}, d2 = dict {}, l = list {}", d.id, d2.id, l.id);
    println!("{ids} (proxies: the manager's address and an id)");
    d2.set("name", "another dict")?;
    // Process(target=f, args=(d, l)): the child gets copies of the proxies, the same references.
    procspawn::spawn((d.clone(), l.clone()), f).join()??;
    println!("{}\n{}\nd2 = {}", d.repr()?, l.repr()?, d2.repr()?);
    let v = man.create(Object::Value(0.into()))?; // man.Value('i', 0)
    let lock = man.create(Object::Lock(false))?; // man.Lock()
    println!("v = Value {}, lock = Lock {}", v.id, lock.id);
    let children = [1, 2].map(|_| procspawn::spawn((v.clone(), lock.clone(), 500), add));
    for child in children {
        child.join()??;
    }
    let value = v.call(Get)?;
    println!("v.value = {value} (2 children, 500 increments each, under the manager's Lock)");
    man.call(Shutdown)?;
    manager.join()??;
    println!("the manager shut down");
    Ok(())
}

/// Removes the sockets of runs that were killed: their pid is gone, or it is ours now.
fn remove_stale_sockets(dir: &Path) {
    let ours = process::id().to_string();
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().into_string().unwrap_or_default();
        let pid = name.strip_prefix("processes-manager-").unwrap_or_default();
        let pid = pid.strip_suffix(".sock").unwrap_or_default();
        if !pid.is_empty() && (pid == ours || !Path::new("/proc").join(pid).exists()) {
            let _ = fs::remove_file(entry.path());
        }
    }
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
    let dir = std::env::temp_dir();
    remove_stale_sockets(&dir);
    let socket = dir.join(format!("processes-manager-{}.sock", process::id()));
    let result = parent(&socket);
    let _ = fs::remove_file(&socket);
    if let Err(e) = result {
        // A child died unanswered, maybe of SIGPIPE (closed stdout): printing ends us the same way.
        if e.downcast_ref().is_some_and(SpawnError::is_remote_close) {
            println!();
        }
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
