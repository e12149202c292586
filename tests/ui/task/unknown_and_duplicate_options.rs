use scheduler::prelude::*;

#[task("daily", retries = 3, timout = "1 hour", multilaunch, multilaunch)]
fn fetch() {}

#[task("daily", priority = 1, priority = 2, timeout, disabled = "yes")]
fn store() {}

fn main() {}
