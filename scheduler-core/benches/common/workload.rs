//! The workload shared by the criterion benchmarks and the instruction-count check
//! (`examples/hotpaths.rs`), so that both measure the same conditions over the same log.

#![allow(dead_code)]

use scheduler_core::log::{Action, LogIndex};
use scheduler_core::time::Timestamp;

pub(crate) const SIMPLE: &str = "daily";
pub(crate) const TYPICAL: &str = "daily between 07:00 and 10:00 & after task 'get_data' succeeded";
pub(crate) const TEN_LEAVES: &str = "(daily between 07:00 and 10:00 | hourly after 45:00) & every 10 minutes \
    & ~time of week on Sunday & after task 'get_data' succeeded & ~task 'report' has failed today \
    | (cron */5 9-17 * * MON-FRI & time of day after 08:00 & retry 2 & env 'prod')";
pub(crate) const CRON: &str = "cron 0,15,30,45 9-17 1-7,15 JAN-MAR,OCT MON-FRI";

/// 2024-06-03 (a Monday) 08:30 UTC.
pub(crate) const NOW: i64 = 1_717_403_400_000_000;
pub(crate) const MINUTE: i64 = 60_000_000;

/// A log in which `get_data`, `report` and `task` ran `runs_each` times each, one run
/// every ten minutes, ending just before `NOW`.
pub(crate) fn log_with(runs_each: usize) -> LogIndex {
    let mut log = LogIndex::new();
    let start = NOW - (runs_each as i64) * 10 * MINUTE;
    for i in 0..runs_each as i64 {
        let t = start + i * 10 * MINUTE;
        for (task, finish) in [
            ("get_data", Action::Success),
            ("report", Action::Fail),
            ("task", Action::Success),
        ] {
            log.record(task, Action::Run, Timestamp::from_micros(t));
            log.record(task, finish, Timestamp::from_micros(t + MINUTE));
        }
    }
    log
}
