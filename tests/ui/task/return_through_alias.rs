// `#[task]` reads the producing task's name where `Return<task>` is written: a type alias
// of it hides the name, and is an error that says to write it in the parameter list.
use scheduler::prelude::*;

#[task("daily")]
fn get_data() -> Vec<u32> {
    vec![1, 2, 3]
}

type Rows = Return<get_data>;

#[task("after task 'get_data' succeeded")]
fn transform(rows: Rows) -> usize {
    rows.len()
}

fn main() {}
