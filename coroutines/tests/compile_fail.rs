//! The compile-time half of the `iterator` lesson: `isinstance(x, Iterable)` is a trait bound,
//! so calling `print_all` with something that is not iterable does not compile.
//!
//! `tests/ui/*.rs` are programs that must fail to compile; `trybuild` builds each with cargo and
//! compares the compiler's errors with the `.stderr` beside it. After a compiler upgrade changes
//! the wording, regenerate them with `TRYBUILD=overwrite cargo test -p coroutines --test
//! compile_fail` and read the diff.

/// The lines of `print_all`, from its signature to its closing brace.
fn print_all(source: &str) -> Vec<&str> {
    let lines = source
        .lines()
        .skip_while(|l| !l.starts_with("fn print_all("));
    let mut function: Vec<&str> = lines.take_while(|l| *l != "}").collect();
    function.push("}");
    function
}

#[test]
fn print_all_rejects_what_is_not_iterable() {
    // The case calls the lesson's own function: the same lines, bound included.
    let lesson = print_all(include_str!("../src/bin/iterator.rs"));
    let case = print_all(include_str!("ui/print_all_42.rs"));
    assert!(lesson.len() > 2, "no print_all in the lesson: {lesson:?}");
    assert_eq!(
        case, lesson,
        "tests/ui/print_all_42.rs must copy the lesson's print_all"
    );

    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
