// An async task runs on tokio's worker threads: a value that is not `Send` held across an
// `.await` is reported at the attribute, with the await and the value named.
use std::rc::Rc;

use scheduler::prelude::*;

async fn pause() {}

#[task("every 10 seconds")]
async fn holds_rc() -> u32 {
    let shared = Rc::new(5);
    pause().await;
    *shared
}

fn main() {}
