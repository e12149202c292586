use scheduler::prelude::*;

#[task("daily")]
fn get_data() -> Vec<u32> {
    vec![1, 2, 3]
}

#[task("after task 'get_data' succeeded")]
fn transform(rows: Return<get_data>) -> u32 {
    let text: &String = &rows;
    text.len() as u32
}

fn main() {}
