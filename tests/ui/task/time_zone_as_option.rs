// The time zone is a setting of the scheduler, not an option of a task.
use scheduler::prelude::*;

#[task("daily between 07:00 and 10:00", timezone = "Europe/Helsinki")]
fn fetch() {}

fn main() {}
