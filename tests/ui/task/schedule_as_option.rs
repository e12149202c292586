// A schedule is the condition string, not an option: with no condition yet, the hint
// shows the attribute with it; with one, it says to add it there.
use scheduler::prelude::*;

#[task(every = "10 minutes")]
fn poll() {}

#[task("daily", cron = "0 6 * * *")]
fn report() {}

fn main() {}
