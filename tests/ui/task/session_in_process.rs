use scheduler::prelude::*;

#[task("daily", execution = "process")]
fn crunch(session: Session) {
    session.shut_down();
}

fn main() {}
