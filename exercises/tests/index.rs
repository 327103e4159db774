//! `cargo run -p exercises`: the index lists every tool in `src/bin/` with the command that
//! runs it, in the notes' order, and ends quietly on a closed stdout.

use testkit::Lesson;

const INDEX: &str = env!("CARGO_BIN_EXE_exercises");

#[test]
fn the_index_lists_every_tool_with_its_command() {
    let run = Lesson::new(INDEX).run().success();
    let mut tools: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/bin"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    tools.sort();
    assert_eq!(tools, ["chat", "copy_dir", "download"]);
    for tool in &tools {
        let command = format!("cargo run --release -p exercises --bin {tool} -- --help");
        assert_eq!(run.count(&command), 1, "{tool} not listed once:\n{run}");
    }
    assert_eq!(run.count("cargo run"), tools.len(), "{run}");
}

#[test]
fn the_index_is_quiet_when_stdout_is_closed() {
    testkit::assert_quiet_when_stdout_closed(INDEX, &[]);
}
