//! The record as a text chart: one row per process and per thread, time across in ticks, one
//! mark per column for what the row was doing then.
//!
//! ```text
//! spawn_join: 4.1 ticks of 40 ms, 1 process, 4 threads
//!                     ticks 0          1          2          3          4
//! spawn_join [4100]         ==========================================#
//!   music 4101              #---------#---------#---------#
//!   movie 4102              #---------#---------#---------#---------#
//! ```

use std::fmt::Write;
use std::time::Duration;

use crate::record::{Record, State, Task};

/// How to draw.
pub struct Options {
    /// The first line's name for the run.
    pub title: String,
    /// The length of a tick: the x axis counts ticks.
    pub tick: Duration,
    /// Columns of the whole chart, labels included.
    pub width: usize,
    /// Extra lines printed under the legend.
    pub notes: Vec<String>,
}

/// Draws `record` as text lines, each at most `options.width` columns.
pub fn render(record: &Record, options: &Options) -> String {
    let rows = rows(record);
    let label_width = (rows.iter().map(|(label, _)| label.chars().count()))
        .max()
        .unwrap_or(0)
        .min(options.width * 2 / 5);
    // Each row ends with the CPU time it used, as a share of its life: " 100%".
    let columns = options.width.saturating_sub(label_width + 1 + 5).max(10);
    let total = record.duration.max(record.interval);
    let tick = options.tick.max(Duration::from_micros(1));
    let mut out = String::new();
    let threads = record.tasks.len();
    let processes = record.processes().count();
    let _ = writeln!(
        out,
        "{}: {:.1} ticks of {} ms, {processes} process{}, {threads} thread{}",
        options.title,
        total.as_secs_f64() / tick.as_secs_f64(),
        tick.as_millis(),
        if processes == 1 { "" } else { "es" },
        if threads == 1 { "" } else { "s" },
    );
    let axis = axis(total, tick, columns);
    let _ = writeln!(out, "{:>label_width$} {axis:columns$} cpu", "ticks");
    for (label, task) in &rows {
        let label = fit(label, label_width);
        if task.tid == 0 {
            // A coroutine's row: its runs are brief, so any of one shows; the kernel did not
            // count its CPU time apart from its thread's.
            let _ = writeln!(
                out,
                "{label:label_width$} {}",
                bar(task, total, columns, 0.0)
            );
            continue;
        }
        let bar = bar(task, total, columns, 1.0 / 3.0);
        let (start, end) = task.lifetime();
        let life = (end - start).as_secs_f64();
        let cpu = if life > 0.0 {
            100.0 * task.cpu.as_secs_f64() / life
        } else {
            0.0
        };
        let _ = writeln!(out, "{label:label_width$} {bar} {cpu:>3.0}%");
    }
    let rows_are = "rows: a process is NAME [PID], its threads are NAME TID under it; \
                    cpu: CPU time used over the row's life (the kernel counts it in 10 ms steps)";
    let mut notes = vec![legend(), rows_are.to_string()];
    if !record.reasons_visible() {
        notes.push(
            "What sleeping threads wait for is hidden here (wchan and syscall in /proc read 0): \
             every sleep is drawn '.'."
                .to_string(),
        );
    }
    let cpu = record.observer_cpu.as_secs_f64();
    notes.push(format!(
        "observer: {:.1}% of one core ({} samples, one every {} µs)",
        100.0 * cpu / total.as_secs_f64(),
        record.samples,
        record.interval.as_micros(),
    ));
    if !record.coroutines.is_empty() {
        notes.push(
            "coroutine rows: the program's own tracing spans (the kernel sees only threads); \
             + or # while one runs, . while it waits for its turn"
                .to_string(),
        );
    }
    notes.extend(options.notes.iter().cloned());
    for note in notes {
        for line in wrap(&note, options.width) {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// `label` ("  name id" or "  name [id]") cut to `width` columns in its name, so that the id stays whole.
fn fit(label: &str, width: usize) -> String {
    let length = label.chars().count();
    if length <= width {
        return label.to_owned();
    }
    let (name, id) = label.rsplit_once(' ').unwrap_or((label, ""));
    let keep = (width.saturating_sub(id.len() + 1)).min(name.chars().count());
    let name: String = name.chars().take(keep).collect();
    format!("{name} {id}").chars().take(width).collect()
}

/// Processes in tree order (each under its parent, children in the order they appeared), each
/// followed by its other threads; labels indented by depth. A process is `name [pid]`, a thread
/// `name tid`.
fn rows(record: &Record) -> Vec<(String, &Task)> {
    fn add<'r>(
        record: &'r Record,
        process: &'r Task,
        depth: usize,
        out: &mut Vec<(String, &'r Task)>,
    ) {
        let indent = "  ".repeat(depth);
        out.push((
            format!("{indent}{} [{}]", process.name, process.pid),
            process,
        ));
        for thread in record.threads_of(process.pid) {
            if !thread.is_process() {
                out.push((format!("{indent}  {} {}", thread.name, thread.tid), thread));
            }
        }
        for coroutine in record.coroutines.iter().filter(|c| c.pid == process.pid) {
            out.push((format!("{indent}  coroutine {}", coroutine.name), coroutine));
        }
        for child in record.children_of(process.pid) {
            add(record, child, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    // Roots: the started program, and any process whose parent was not seen (an orphan).
    let seen = |pid| record.process(pid).is_some();
    for process in record
        .processes()
        .filter(|p| !seen(p.ppid) || p.pid == record.root)
    {
        add(record, process, 0, &mut out);
    }
    out
}

/// Tick numbers over the columns, spaced so that they do not collide (the word "ticks" stands
/// before them, in the labels' column).
fn axis(total: Duration, tick: Duration, columns: usize) -> String {
    let ticks = total.as_secs_f64() / tick.as_secs_f64();
    let per_tick = columns as f64 / ticks;
    let step = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0,
    ]
    .into_iter()
    .find(|step| step * per_tick >= 6.0)
    .unwrap_or(1000.0);
    let mut line = vec![' '; columns];
    let mut at = 0.0;
    while at <= ticks {
        let column = (at * per_tick).round() as usize;
        let text = if step < 1.0 {
            format!("{at:.1}")
        } else {
            format!("{at:.0}")
        };
        if column + text.len() <= columns {
            for (i, c) in text.chars().enumerate() {
                line[column + i] = c;
            }
        }
        at += step;
    }
    line.into_iter().collect::<String>().trim_end().to_owned()
}

/// One mark per column: `#` when the task ran for at least two thirds of the column, `+` for
/// more than `least_running` of it (it shared a CPU, or ran in bursts), else the mark of the
/// state it spent most of the column in; blank where it did not exist.
fn bar(task: &Task, total: Duration, columns: usize, least_running: f64) -> String {
    let column_length = total.as_secs_f64() / columns as f64;
    (0..columns)
        .map(|column| {
            let (from, to) = (
                column as f64 * column_length,
                (column + 1) as f64 * column_length,
            );
            let mut time_in = [0.0; State::ALL.len()];
            for span in &task.spans {
                let start = span.start.as_secs_f64().max(from);
                let end = span.end.as_secs_f64().min(to);
                if end > start {
                    let index = State::ALL
                        .iter()
                        .position(|&s| s == span.state)
                        .unwrap_or(0);
                    time_in[index] += end - start;
                }
            }
            let alive: f64 = time_in.iter().sum();
            let running = time_in[0] / alive;
            if alive <= 0.0 {
                ' '
            } else if running >= 2.0 / 3.0 {
                '#'
            } else if running > least_running {
                '+'
            } else {
                let most = (1..time_in.len())
                    .max_by(|&a, &b| time_in[a].total_cmp(&time_in[b]))
                    .unwrap_or(0);
                State::ALL[most].mark()
            }
        })
        .collect()
}

/// The marks and their meaning, one entry per mark (an entry is never cut across lines).
fn legend() -> String {
    let mut entries = vec![
        "legend: # running".to_string(),
        "+ running part of the time".into(),
    ];
    entries.extend(
        State::ALL[1..]
            .iter()
            .map(|s| format!("{} {}", s.mark(), s.label())),
    );
    entries
        .iter()
        .map(|e| e.replace(' ', "\u{a0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` cut into lines of at most `width` columns at spaces (not at no-break spaces, which
/// then print as spaces); the lines after the first are indented.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = vec![String::new()];
    for word in text.split(' ') {
        let line = lines.last_mut().unwrap();
        let taken = line.chars().count();
        if taken > 2 && taken + 1 + word.chars().count() > width {
            lines.push(format!("  {word}"));
        } else {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
    }
    (lines.iter())
        .map(|l| l.trim_end().replace('\u{a0}', " "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proc::TaskSample;
    use crate::record::Recorder;

    fn sample(tid: u32, state: char, wchan: Option<&str>) -> TaskSample {
        TaskSample {
            pid: 1,
            tid,
            ppid: 0,
            name: format!("t{tid}"),
            state,
            wchan: wchan.map(str::to_owned),
            syscall: None,
            cpu_ticks: 0,
            started: 0,
        }
    }

    fn draw(wchan: Option<&str>) -> (Record, String) {
        let mut recorder = Recorder::new(1, Duration::from_millis(1));
        for ms in 0..100 {
            let at = Duration::from_millis(ms);
            let thread_state = if ms < 50 { 'R' } else { 'S' };
            recorder.add(at, &[sample(1, 'S', wchan), sample(2, thread_state, wchan)]);
        }
        let record = recorder.finish(Duration::ZERO);
        let options = Options {
            title: "test".into(),
            tick: Duration::from_millis(10),
            width: 60,
            notes: Vec::new(),
        };
        let chart = render(&record, &options);
        (record, chart)
    }

    #[test]
    fn with_wait_reasons_a_sleep_has_its_mark() {
        let (record, chart) = draw(Some("hrtimer_nanosleep"));
        assert!(record.reasons_visible());
        let thread = chart.lines().find(|l| l.starts_with("  t2 2")).unwrap();
        assert!(
            thread.contains("####") && thread.contains("----"),
            "{chart}"
        );
        assert!(!chart.contains("is hidden here"), "{chart}");
    }

    #[test]
    fn without_wait_reasons_running_and_sleeping_still_show_and_it_says_why() {
        let (record, chart) = draw(None);
        assert!(!record.reasons_visible());
        let thread = chart.lines().find(|l| l.starts_with("  t2 2")).unwrap();
        assert!(
            thread.contains("####") && thread.contains("...."),
            "{chart}"
        );
        assert!(!thread.contains('-'), "{chart}");
        assert!(chart.contains("is hidden here"), "{chart}");
        assert!(chart.lines().all(|l| l.chars().count() <= 60), "{chart}");
    }
}
