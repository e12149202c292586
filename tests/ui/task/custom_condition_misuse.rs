// What `#[cond]` refuses: no return type, an unknown option, a bad interval, an option
// given twice, a timeout on a blocking function (which cannot be interrupted), and return
// types that are not an answer, blocking or `async`.
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

#[scheduler::cond(every = "1 minute", every = "2 minutes")]
fn twice() -> bool {
    true
}

#[scheduler::cond(timeout = "5 seconds")]
fn blocking_with_timeout() -> bool {
    true
}

#[scheduler::cond]
fn counts() -> u32 {
    3
}

#[scheduler::cond(timeout = "5 seconds")]
async fn counts_later() -> u32 {
    3
}

fn main() {}
