use scheduler::prelude::*;

// A step larger than its range, a range that runs backwards, a step of zero.
#[task(cron(minute = "*/60", hour = "10-5", second = "0/0"))]
fn steps_and_ranges() {}

// Text APScheduler ignores: `fri#3`, `lastx`; digits that are not ASCII.
#[task(cron(day = "fri#3", month = "lastx", hour = "١"))]
fn ignored_text() {}

// A field given twice; a start date without its seconds.
#[task(cron(hour = "1", hour = "2"))]
fn twice() {}

#[task(cron(hour = "1", start_date = "2026-01-01T08:00"))]
fn start_without_seconds() {}

fn main() {}
