//! A program whose command line is the scheduler's, with the tasks of `tasks.rs`: what the
//! command-line tests (`cli.rs`) run as a process. With `CLI_FIXTURE_BROKEN` set it also
//! has a task whose condition names a task that does not exist (`get_dta`), for `check`;
//! with `CLI_FIXTURE_CUSTOM` set, a task whose condition calls a custom condition of this
//! program (`is_work_day()`), for `list` and `explain`. With `CLI_FIXTURE_QUEUE` set its
//! tasks are the on-demand ones below instead, for `trigger` and `worker` (a program that
//! runs them as its worker, another that triggers).

use scheduler::prelude::*;
use scheduler::{Backoff, Scheduler, Tz, WorkerConfig};

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

/// The payload of `send_email`.
#[derive(serde::Deserialize)]
struct Email {
    to: String,
    subject: String,
}

/// An on-demand task with a typed payload: says what it would send.
#[task]
async fn send_email(email: Payload<Email>) -> String {
    format!("sent {:?} to {}", email.subject, email.to)
}

/// An on-demand task that always fails.
#[task]
fn out_of_paper() -> Result<(), String> {
    Err("the printer is out of paper".to_owned())
}

/// An on-demand task without a payload.
#[task]
fn tick() -> u32 {
    7
}

fn main() -> scheduler::Result<()> {
    let mut builder = Scheduler::builder()
        .time_zone(Tz::UTC)
        .handle_signals(std::env::var_os("CLI_FIXTURE_QUEUE").is_some());
    if std::env::var_os("CLI_FIXTURE_QUEUE").is_some() {
        // What the worker does, on stderr (RUST_LOG).
        scheduler::init_logging();
        // A quick poll and quick retries: the tests wait for what a worker does.
        let ms = std::time::Duration::from_millis;
        builder = builder
            .only_registered(["send_email", "out_of_paper", "tick"])
            .worker(WorkerConfig::default().poll(ms(20)).backoff(Backoff {
                base: ms(20),
                max: ms(50),
                jitter: false,
            }));
    } else {
        builder = builder.only_registered(tasks::TASKS);
    }
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
