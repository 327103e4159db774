// The `iterator` lesson's `print_all`, copied line for line (tests/compile_fail.rs checks that it
// still is): its bound, `impl IntoIterator`, is Python's `isinstance(items, Iterable)`.
fn print_all(items: impl IntoIterator<Item = String>) {
    for item in items {
        println!("{item}");
    }
}

fn main() {
    // Python would ask at run time and find `isinstance(42, Iterable)` False; rustc refuses.
    print_all(42);
}
