// A dependency is written in the condition (`after task '...'`), not as an option.
use scheduler::prelude::*;

#[task("daily")]
fn get_data() {}

#[task(depends_on = "get_data")]
fn transform() {}

// Added to a condition with an `|` of its own, that condition goes in parentheses.
#[task("daily | hourly", upstream = ["get_data", "transform"])]
fn store() {}

fn main() {}
