//! # An iterable object of your own — 实现一个可迭代的对象
//!
//! From `004_599445cc4c65b15e.txt`, 协程 › 实现一个可迭代的对象.
//!
//! **The Python.** A `Students` class keeps a list of names and a cursor. `__iter__` returns the
//! object itself and `__next__` hands out the next name, raising `StopIteration` at the end.
//! `main` adds three names, prints `isinstance(s, Iterable)` (True), and then loops over
//! `s.names`, the plain list, so the class's own `__next__` never runs: the notes miss their own
//! point. This lesson loops over the students themselves.
//!
//! **This lesson.** `impl Iterator for Students`: `next` returns `Some(name)` until the names run
//! out, then `None` (Rust's `StopIteration`), and `for` drives it. Because the object is its own
//! iterator, as in the notes, a second loop over it finds nothing: the cursor stays at the end.
//! The usual Rust design splits the two: the collection hands out a fresh iterator on every
//! `for name in &collection`, which borrows the names instead of copying them.
//!
//! **Rust differences.** `isinstance(s, Iterable)` is a question asked at run time. In Rust it is
//! a trait bound checked by the compiler: `print_all` accepts only things that implement
//! `IntoIterator` (every `Iterator` does), so `print_all(42)` does not compile (the member's
//! compile-fail test, `tests/ui/print_all_42.rs`, holds the compiler's error), and there is
//! nothing left to ask when the program runs. An iterator that owns the names cannot lend out
//! references to itself from `next`, so it returns clones; `&Students` iterates by reference.
//!
//! **Run it:**
//! ```text
//! cargo run -p coroutines --bin iterator
//! ```
//!
//! **Output:**
//! ```text
//! isinstance(s, Iterable): checked by the compiler, print_all(&mut s) compiled
//! zs
//! ls
//! ww
//! a second loop over the same Students finds 0 names: its cursor is at the end
//! for name in &s, a fresh iterator each time: zs ls ww
//! and again: zs ls ww
//! ```
//!
//! **Copy it:** `clap = { version = "4", features = ["derive", "env"] }`, `sigpipe = "0.1"`.

use clap::Parser;

/// The notes' Students, iterated by the struct itself.
#[derive(Parser)]
struct Args {}

/// The notes' class: the names and a cursor into them.
#[derive(Default)]
struct Students {
    names: Vec<String>,
    current: usize,
}

impl Students {
    fn add(&mut self, name: &str) {
        self.names.push(name.to_string());
    }
}

/// `__next__`: `None` plays the part of `raise StopIteration`.
impl Iterator for Students {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let name = self.names.get(self.current)?.clone();
        self.current += 1;
        Some(name)
    }
}

/// The Rust way: the collection stays put and each loop gets its own borrowing iterator.
impl<'a> IntoIterator for &'a Students {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;

    fn into_iter(self) -> Self::IntoIter {
        self.names.iter()
    }
}

/// The bound is `isinstance(items, Iterable)`, checked when the program is compiled.
fn print_all(items: impl IntoIterator<Item = String>) {
    for item in items {
        println!("{item}");
    }
}

fn main() {
    // `lesson | head -1`: end quietly on a closed stdout (die of SIGPIPE), not panic.
    sigpipe::reset();
    Args::parse();
    let mut s = Students::default();
    s.add("zs");
    s.add("ls");
    s.add("ww");

    // There is no run-time isinstance: this call compiles only because Students is an Iterator.
    println!("isinstance(s, Iterable): checked by the compiler, print_all(&mut s) compiled");
    print_all(&mut s); // `&mut s` is an iterator too: it advances `s`'s own cursor
    println!(
        "a second loop over the same Students finds {} names: its cursor is at the end",
        s.by_ref().count()
    );

    // `&s` ignores the used-up cursor: each loop starts a new iterator over the names.
    for label in ["for name in &s, a fresh iterator each time:", "and again:"] {
        print!("{label}");
        for name in &s {
            print!(" {name}");
        }
        println!();
    }
}
