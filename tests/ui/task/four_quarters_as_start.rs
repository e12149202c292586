use scheduler::prelude::*;

// `4 quarters` is the end of an hour: it may end a span (CONDITIONS.md §9.9)...
#[task("hourly before 4 quarters")]
fn fine() {}

// ...but not start one.
#[task("hourly between 4 quarters and 00:00")]
fn report() {}

#[task("has succeeded this hour starting 4q | time of hour after 4 quarters")]
fn check() {}

fn main() {}
