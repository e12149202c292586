use scheduler::prelude::*;

// Text APScheduler silently ignores is an error, under the mistake.
#[task(cron(day_of_week = "mon-fri/2", hour = "9"))]
fn weekdays() {}

// An unknown field, a value out of range, a field that is not a string or a number.
#[task(cron(hours = "9", minute = "60", second = true))]
fn typos() {}

// Fields that never match together.
#[task(cron(month = "2", day = "31"))]
fn never() {}

// The same mistakes inside a condition string point into it.
#[task("cron(day = 3rd fri extra) & ~task 'never' is running")]
fn in_string() {}

fn main() {}
