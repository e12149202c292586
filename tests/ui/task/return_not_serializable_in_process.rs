// A task in a child process receives the values it reads as JSON: reading a value that
// cannot be written as JSON is an error at the parameter, naming the value's type.
use scheduler::prelude::*;

struct Connection;

#[task("daily")]
fn connect() -> Connection {
    Connection
}

#[task("after task 'connect' succeeded", execution = "process")]
fn use_it(connection: Return<connect>) {
    let _ = connection;
}

fn main() {}
