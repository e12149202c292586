// `Return<...>` takes the task, not the type of its value.
use scheduler::prelude::*;

#[task("daily")]
fn get_data() -> Vec<u32> {
    vec![1, 2, 3]
}

#[task("after task 'get_data' succeeded")]
fn transform(rows: Return<Vec<u32>>) {}

fn main() {}
