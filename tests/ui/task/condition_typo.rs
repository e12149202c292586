use scheduler::prelude::*;

#[task("daily betwen 07:00 and 10:00 & after task 'get_data' succeeded")]
fn transform() {}

#[task("daily", end = "time of day after 25:00")]
fn report() {}

fn main() {}
