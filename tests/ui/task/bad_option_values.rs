use scheduler::prelude::*;

#[task("daily", execution = "proces", timeout = "10 minuts", priority = "high", name = "a'b")]
fn fetch() {}

#[task(execution = thread, end = 5, priority = 9999999999)]
fn store() {}

fn main() {}
