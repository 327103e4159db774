//! The record in the Chrome Trace Event Format, which Perfetto (ui.perfetto.dev) and
//! `chrome://tracing` open: a row per thread, grouped by process, real pids and tids, and one
//! complete (`X`) event per span of time a thread spent in one state.

use serde_json::{Value, json};

use crate::record::Record;

/// The whole trace as a JSON value; `to_string` it into a `.json` file.
pub fn to_chrome_trace(record: &Record) -> Value {
    let micros = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    let mut events = Vec::new();
    // A coroutine gets a made-up thread id of its own, after every real one.
    let coroutines =
        (record.coroutines.iter().enumerate()).map(|(i, c)| (c, 4_000_000_000 - i as u32));
    let rows = (record.tasks.iter().map(|t| (t, t.tid))).chain(coroutines);
    for (task, tid) in rows {
        if task.is_process() {
            events.push(json!({
                "name": "process_name", "ph": "M", "pid": task.pid, "tid": task.tid,
                "args": { "name": format!("{} {}", task.name, task.pid) },
            }));
        }
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": task.pid, "tid": tid,
            "args": { "name": task.name },
        }));
        for span in &task.spans {
            let mut args = json!({ "mark": span.state.mark().to_string() });
            if let Some(wchan) = &span.wchan {
                args["wchan"] = json!(wchan);
            }
            events.push(json!({
                "name": span.state.label(), "cat": "state", "ph": "X",
                "ts": micros(span.start), "dur": micros(span.end - span.start),
                "pid": task.pid, "tid": tid, "args": args,
            }));
        }
    }
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "root": record.root,
            "samples": record.samples,
            "interval_us": micros(record.interval),
        },
    })
}
