//! The tasks of the command-line tests: registered both in the fixture program
//! (`cli/fixture.rs`, the command line under test) and in the test (`cli.rs`, which runs
//! them on the virtual clock into a SQLite file), so that both see the same task set.
//!
//! The scenario runs from Monday 2024-01-01 00:00 to 11:30 UTC; at 11:30:
//! `window` ran at 07:00 (its next start is 07:00 tomorrow), `evening`'s window is closed
//! until 18:00, `noon_cron` waits for 12:00, `ticker` last ran at 10:00 (every 2 hours),
//! `once_a_day` ran at midnight, `get_data` failed at 07:00 so `transform` waits for it to
//! succeed and `load` for `transform`, which never ran, `report` waits for both its
//! window and `get_data`, `paused` is disabled, and `ender`'s end condition holds.

use scheduler::prelude::*;

#[task("daily between 07:00 and 10:00")]
fn window() {}

#[task("time of day between 18:00 and 20:00")]
fn evening() {}

#[task("cron 0 12 * * *")]
fn noon_cron() {}

#[task("every 2 hours")]
fn ticker() {}

#[task("daily")]
fn once_a_day() {}

#[task("daily after 07:00")]
fn get_data() -> Result<u32, String> {
    Err("the source is down".to_owned())
}

#[task("after task 'get_data' succeeded")]
fn transform(data: Return<get_data>) -> u32 {
    *data * 2
}

#[task("after task 'transform' succeeded")]
fn load(value: Return<transform>) -> u32 {
    *value
}

#[task("time of day between 07:00 and 10:00 & after task 'get_data' succeeded")]
fn report() {}

#[task("every 1 hour", disabled)]
fn paused() {}

#[task("every 1 hour", end = "time of day after 11:00")]
fn ender() {}

/// The names, for `only_registered`.
pub(crate) const TASKS: [&str; 11] = [
    "window",
    "evening",
    "noon_cron",
    "ticker",
    "once_a_day",
    "get_data",
    "transform",
    "load",
    "report",
    "paused",
    "ender",
];
