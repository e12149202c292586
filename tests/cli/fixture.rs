//! A program whose command line is the scheduler's, with the tasks of `tasks.rs`: what the
//! command-line tests (`cli.rs`) run as a process. With `CLI_FIXTURE_BROKEN` set it also
//! has a task whose condition names a task that does not exist (`get_dta`), for `check`;
//! with `CLI_FIXTURE_CUSTOM` set, a task whose condition calls a custom condition of this
//! program (`is_work_day()`), for `list` and `explain`.

use scheduler::prelude::*;
use scheduler::{Scheduler, Tz};

#[path = "tasks.rs"]
#[allow(dead_code)]
mod tasks;

/// Monday to Friday, by the instant the condition is asked about.
#[scheduler::cond(every = "1 hour")]
fn is_work_day(now: RunInfo) -> bool {
    // 1970-01-01, day 0, was a Thursday: Monday is 0 after shifting by 3.
    let days = now.started.as_micros().div_euclid(86_400_000_000);
    (days + 3).rem_euclid(7) < 5
}

fn main() -> scheduler::Result<()> {
    let mut builder = Scheduler::builder()
        .time_zone(Tz::UTC)
        .only_registered(tasks::TASKS)
        .handle_signals(false);
    if std::env::var_os("CLI_FIXTURE_BROKEN").is_some() {
        builder = builder.task(
            TaskSpec::from_blocking("summary", |_| ())
                .when(condition!("after task 'get_dta' succeeded")),
        );
    }
    if std::env::var_os("CLI_FIXTURE_CUSTOM").is_some() {
        builder = builder.task(
            TaskSpec::from_blocking("office_report", |_| ())
                .when(condition!("daily after 09:00 & is_work_day()")),
        );
    }
    scheduler::cli::Cli::run_with(builder)
}
