use scheduler::prelude::*;

struct Connection;

#[task("daily", execution = "process")]
fn connect() -> Connection {
    Connection
}

fn main() {}
