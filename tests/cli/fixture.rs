//! A program whose command line is the scheduler's, with the tasks of `tasks.rs`: what the
//! command-line tests (`cli.rs`) run as a process. With `CLI_FIXTURE_BROKEN` set it also
//! has a task whose condition names a task that does not exist (`get_dta`), for `check`.

use scheduler::prelude::*;
use scheduler::{Scheduler, Tz};

#[path = "tasks.rs"]
#[allow(dead_code)]
mod tasks;

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
    scheduler::cli::Cli::run_with(builder)
}
