// Retrying is written in the condition (`| retry N`), not as an option.
use scheduler::prelude::*;

#[task("daily", retries = 3)]
fn fetch() {}

fn main() {}
