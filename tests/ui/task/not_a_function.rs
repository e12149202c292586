use scheduler::prelude::*;

#[task("daily")]
struct Report;

fn main() {}
