use scheduler::prelude::*;

#[task("daily")]
fn count(_rows: u32) {}

fn main() {}
