use scheduler::prelude::*;

#[task("daily")]
fn get_data() -> Vec<u32> {
    vec![1, 2, 3]
}

#[task("after task 'get_data' succeeded")]
fn transform(rows: Return<get_dat>) {}

fn main() {}
