// An `async` condition runs beside the scheduler's loop, on its runtime: its future must
// be `Send`, like an `async fn` task's.
use std::rc::Rc;

async fn pause() {}

#[scheduler::cond]
async fn holds_an_rc() -> bool {
    let shared = Rc::new(true);
    pause().await;
    *shared
}

fn main() {}
