// A custom condition cannot read another one's answer (nor its own): a condition's marker
// type is not injectable, and no injectable type evaluates conditions. What conditions
// combine, they combine in the string, where the engine evaluates each once.
#[scheduler::cond]
fn queue_ready() -> bool {
    true
}

#[scheduler::cond]
fn loops(again: loops) -> bool {
    let _ = again;
    true
}

#[scheduler::cond]
fn reads_another(other: queue_ready) -> bool {
    let _ = other;
    true
}

fn main() {}
