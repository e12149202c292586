use scheduler::prelude::*;

#[task(on_startup, on_shutdown)]
fn setup() {}

#[task("daily", on_startup)]
fn warm_up() {}

#[task("daily", permanent, timeout = "1 hour")]
fn listen() {}

#[task("daily", execution = "main", multilaunch)]
fn inline() {}

#[task("daily", execution = "async")]
fn not_async() {}

fn main() {}
