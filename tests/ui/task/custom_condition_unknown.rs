// A custom condition that does not exist, called in a `#[task]` string: an error at the
// string, with the compiler's nearest name.
use scheduler::prelude::*;

#[scheduler::cond]
fn is_work_day() -> bool {
    true
}

#[task("daily & is_wrok_day()")]
fn report() {}

fn main() {}
