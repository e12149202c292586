// What `#[cond]` refuses: an async function, no return type, an unknown option, a bad
// interval, and a return type that is not an answer.
#[scheduler::cond]
async fn remote_flag() -> bool {
    true
}

#[scheduler::cond]
fn no_answer() {}

#[scheduler::cond(often = "1 minute")]
fn unknown_option() -> bool {
    true
}

#[scheduler::cond(every = "0 seconds")]
fn zero_interval() -> bool {
    true
}

#[scheduler::cond]
fn counts() -> u32 {
    3
}

fn main() {}
