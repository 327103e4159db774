//! Rows for what the kernel cannot see: coroutines. A lesson may mark the stretches its
//! coroutines run with `tracing` spans and, when `TIMELINE_SPANS` names a file, have
//! `tracing-subscriber` write their entries and exits there as JSON lines (with
//! `FmtSpan::ACTIVE` and the `Uptime` timer, on the lesson's own thread: no thread is added).
//! Nothing is written otherwise. This reads that file: each span becomes a row (named by its
//! `coroutine` field, or else its name), running while the span is entered.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::record::{Span, State, Task, Wait};

/// The environment variable that tells a lesson where to write its spans.
pub const SPANS_VARIABLE: &str = "TIMELINE_SPANS";

/// The coroutines in a spans file, as tasks of process `pid` with `tid` 0: running while
/// entered, `.` between two entries. Times count from when the lesson set up its tracing (a
/// millisecond or so after it started). Lines that are not such events are skipped.
pub fn coroutines(lines: &str, pid: u32) -> Vec<Task> {
    let mut rows: Vec<Row> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for line in lines.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let at = event["timestamp"]
            .as_str()
            .and_then(|t| t.trim().strip_suffix('s'));
        let (Some(at), Some(what)) = (
            at.and_then(|t| t.parse::<f64>().ok()),
            event["fields"]["message"].as_str(),
        ) else {
            continue;
        };
        let span = &event["span"];
        let Some(name) = span["coroutine"].as_str().or(span["name"].as_str()) else {
            continue;
        };
        let row = *index.entry(name.to_owned()).or_insert_with(|| {
            rows.push(Row {
                name: name.to_owned(),
                open: Vec::new(),
                closed: Vec::new(),
            });
            rows.len() - 1
        });
        let row = &mut rows[row];
        match what {
            "enter" => row.open.push(at),
            "exit" => {
                if let Some(start) = row.open.pop() {
                    row.closed.push((start, at));
                }
            }
            _ => {}
        }
    }
    let seconds = |s: f64| Duration::from_secs_f64(s.max(0.0));
    (rows.into_iter())
        .filter(|row| !row.closed.is_empty())
        .map(
            |Row {
                 name, mut closed, ..
             }| {
                closed.sort_by(|a, b| a.0.total_cmp(&b.0));
                let mut spans: Vec<Span> = Vec::new();
                for (start, end) in closed {
                    if let Some(gap_start) = spans.last().map(|s| s.end) {
                        if seconds(start) > gap_start {
                            spans.push(span(
                                gap_start,
                                seconds(start),
                                State::Waiting(Wait::Other),
                            ));
                        }
                    }
                    spans.push(span(seconds(start), seconds(end), State::Running));
                }
                Task {
                    pid,
                    tid: 0,
                    ppid: 0,
                    name,
                    spans,
                    cpu: Duration::ZERO,
                }
            },
        )
        .collect()
}

/// One coroutine's entries still open and its closed intervals, in seconds.
struct Row {
    name: String,
    open: Vec<f64>,
    closed: Vec<(f64, f64)>,
}

fn span(start: Duration, end: Duration, state: State) -> Span {
    Span {
        start,
        end,
        state,
        wchan: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_become_running_spans_and_the_gaps_suspended() {
        let event = |at: &str, what: &str, span: &str| {
            format!(r#"{{"timestamp":"{at}","fields":{{"message":"{what}"}},"span":{span}}}"#)
        };
        let work1 = r#"{"name":"work1"}"#;
        let f1 = r#"{"coroutine":"f1(5)","name":"f1"}"#;
        let lines = [
            event("   0.000100000s", "enter", work1),
            event("   0.000150000s", "enter", f1),
            event("   0.000160000s", "exit", f1),
            event("   0.000200000s", "exit", work1),
            "not an event".to_string(),
            event("   0.000300000s", "enter", work1),
            event("   0.000400000s", "exit", work1),
        ]
        .join("\n");
        let rows = coroutines(&lines, 7);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["work1", "f1(5)"]);
        let us = Duration::from_micros;
        let close = |a: Duration, b: Duration| a.abs_diff(b) < Duration::from_nanos(10);
        let work1 = &rows[0].spans;
        assert_eq!(work1.len(), 3);
        let expected = [
            (us(100), us(200), State::Running),
            (us(200), us(300), State::Waiting(Wait::Other)),
            (us(300), us(400), State::Running),
        ];
        for (span, (start, end, state)) in work1.iter().zip(expected) {
            assert!(close(span.start, start) && close(span.end, end), "{span:?}");
            assert_eq!(span.state, state);
        }
        assert!(coroutines("not json", 7).is_empty());
    }
}
