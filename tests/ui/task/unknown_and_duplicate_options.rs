use scheduler::prelude::*;

#[task("daily", colour = "red", timout = "1 hour", multilaunch, multilaunch)]
fn fetch() {}

#[task("daily", priority = 1, priority = 2, timeout, disabled = "yes")]
fn store() {}

fn main() {}
