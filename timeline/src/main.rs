//! # timeline — run a lesson and see its threads and processes as the kernel saw them
//!
//! ```text
//! cargo run -p timeline                          # what it can run
//! cargo run -p timeline -- spawn_join            # a lesson, by its binary name
//! cargo run -p timeline -- spawn --join-each     # with the lesson's arguments
//! cargo run -p timeline -- -- python3 my_gil.py  # any program, after --
//! cargo run -p timeline -- --trace run.json pool_async   # also a trace for ui.perfetto.dev
//! ```
//!
//! The lesson runs as usual (its output shows as it comes, `TICK_MS` reaches it); every
//! millisecond the observer reads `/proc` for each thread of it and of every process it started;
//! when it ends, a chart shows one row per process and thread, time across in ticks, and a mark
//! for running, sleeping, waiting on a lock or on I/O or on a child, stopped, zombie.
//!
//! Exit status: the program's own (128 + N if signal N ended it); 2 for a usage error or an
//! unknown lesson; 1 when the program cannot be built or started. Ctrl-C goes to the program's
//! whole process group; whatever it leaves running is killed. Linux only: it reads `/proc`.

mod lessons;
mod run;

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use timeline::chart;

/// Runs a lesson (or any program after --) and draws its threads and processes over time.
#[derive(Parser)]
#[command(
    override_usage = "timeline [OPTIONS] [LESSON [ARGS]...]\n       timeline [OPTIONS] -- COMMAND [ARGS]..."
)]
struct Args {
    /// Milliseconds in a tick: the chart's unit, passed to the lesson as TICK_MS.
    #[arg(long, env = "TICK_MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    tick_ms: u64,
    /// Milliseconds between two samples of /proc.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1000))]
    interval: u64,
    /// Also write the record as a Chrome trace (open it in ui.perfetto.dev).
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Columns of the chart.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u16).range(40..=1000))]
    width: u16,
    /// Run the lesson's binary as it is, without building it through cargo first.
    #[arg(long)]
    no_build: bool,
    /// A lesson's binary name (`timeline` alone lists them) and its arguments; or, after --,
    /// any program and its arguments.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "LESSON"
    )]
    program: Vec<OsString>,
    /// Set when `program` came after `--`: a command, not a lesson.
    #[arg(skip)]
    is_command: bool,
}

fn main() -> ExitCode {
    sigpipe::reset();
    let args = parse_args();
    match run(args) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(message)) => {
            eprintln!("timeline: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The arguments, and whether the program came after `--`, which clap drops: it did if a `--`
/// stands before the program's first word on the command line.
fn parse_args() -> Args {
    let mut args = Args::parse();
    if let Some(first) = args.program.first() {
        let raw: Vec<OsString> = std::env::args_os().skip(1).collect();
        let dashes = raw.iter().position(|a| a == "--");
        let program = raw.iter().position(|a| a == first);
        args.is_command = matches!((dashes, program), (Some(d), Some(p)) if d < p);
    }
    args
}

enum Failure {
    Usage(String),
    Runtime(String),
}

fn run(args: Args) -> Result<u8, Failure> {
    let Some((first, rest)) = args.program.split_first() else {
        return list().map(|()| 0);
    };
    let (title, program, notes) = if args.is_command {
        let program = std::path::Path::new(first);
        let title = program
            .file_name()
            .unwrap_or(first)
            .to_string_lossy()
            .into_owned();
        (title, PathBuf::from(first), Vec::new())
    } else {
        let name = first.to_string_lossy().into_owned();
        let (all, target) = lessons::all().map_err(Failure::Runtime)?;
        let Some(lesson) = all.iter().find(|l| l.name == name) else {
            return Err(Failure::Usage(format!(
                "no lesson named '{name}' (`timeline` lists them; to run a program, put it after --)"
            )));
        };
        let binary = lessons::build(lesson, &target, !args.no_build).map_err(Failure::Runtime)?;
        let notes = if lesson.member == "coroutines" {
            let note =
                "coroutines are invisible to the kernel: they take turns inside the threads above";
            vec![note.to_string()]
        } else {
            Vec::new()
        };
        (name, binary, notes)
    };
    // `timeline LESSON -- ARGS` means the lesson's arguments: the `--` is ours.
    let rest = match rest.split_first() {
        Some((dashes, after)) if !args.is_command && dashes == "--" => after,
        _ => rest,
    };
    // The trace file is made before the run, so that a bad path does not cost a whole run.
    let cannot_write = |path: &PathBuf, e| format!("cannot write {}: {e}", path.display());
    let trace_file = match &args.trace {
        Some(path) => match File::create(path) {
            Ok(file) => Some((path, file)),
            Err(e) => return Err(Failure::Runtime(cannot_write(path, e))),
        },
        None => None,
    };
    let interval = Duration::from_millis(args.interval);
    run::forward_signals().map_err(Failure::Runtime)?;
    let (status, record) =
        run::observed(&program, rest, args.tick_ms, interval).map_err(Failure::Runtime)?;
    if let Some((path, mut file)) = trace_file {
        let trace = timeline::trace::to_chrome_trace(&record).to_string();
        file.write_all(trace.as_bytes())
            .map_err(|e| Failure::Runtime(cannot_write(path, e)))?;
    }
    let options = chart::Options {
        title,
        tick: Duration::from_millis(args.tick_ms),
        width: args.width.into(),
        notes,
    };
    println!("\n{}", chart::render(&record, &options).trim_end());
    Ok(run::exit_code(status))
}

/// Every lesson it can run, member by member.
fn list() -> Result<(), Failure> {
    let (all, _) = lessons::all().map_err(Failure::Runtime)?;
    println!("timeline runs a lesson and draws its threads and processes. It can run:");
    let mut member = "";
    for lesson in &all {
        if lesson.member != member {
            member = &lesson.member;
            println!("\n{member}:");
        }
        println!("  cargo run -p timeline -- {}", lesson.name);
    }
    println!("\nor any program: cargo run -p timeline -- -- COMMAND [ARGS]...");
    Ok(())
}
