//! Metatasks: tasks that steer the scheduler through their [`Session`]. At start-up one
//! task reads job definitions (a name and a condition string, as from a file or a
//! database), parses the conditions at run time and adds the jobs; a supervisor then
//! disables a job, runs another on request with a payload, and finally shuts the
//! scheduler down. Takes about eight seconds.
//!
//! ```text
//! cargo run --example metatasks
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use scheduler::prelude::*;

/// Job definitions as they would come from a configuration file.
const JOBS: &[(&str, &str)] = &[
    ("sync-inventory", "every 2 seconds"),
    (
        "report-sales",
        "(every 3 seconds & time of day between 06:00 and 22:00) | every 10 seconds",
    ),
    ("purge-cache", "every 5 secnds"),
];

/// Adds the configured jobs; a definition that does not parse is reported and skipped.
#[task(on_startup)]
fn load_jobs(session: Session) -> Result<(), String> {
    for (name, text) in JOBS {
        let condition: Condition = match text.parse() {
            Ok(condition) => condition,
            Err(error) => {
                eprintln!(
                    "job '{name}' is skipped, its condition does not parse:\n{}",
                    error.render()
                );
                continue;
            }
        };
        let job = name.to_string();
        let spec =
            TaskSpec::from_blocking(*name, move |_| println!("{job}: working")).when(condition);
        session.add_task(spec).map_err(|e| e.to_string())?;
        println!("load_jobs: added '{name}' ({text})");
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Cleanup {
    older_than_days: u32,
}

/// Runs only when asked, with a payload.
#[task]
fn cleanup(request: Payload<Cleanup>) {
    println!(
        "cleanup: removing files older than {} days",
        request.older_than_days
    );
}

#[task("every 2 seconds")]
fn heartbeat() {}

/// Watches the heartbeats and steers the rest.
#[task("after task 'heartbeat' succeeded")]
fn supervisor(session: Session, beats: Arg<AtomicU32>) -> Result<(), SessionError> {
    match beats.fetch_add(1, Ordering::Relaxed) + 1 {
        2 => {
            println!("supervisor: pausing 'report-sales'");
            session.disable("report-sales")?;
        }
        3 => {
            println!("supervisor: asking for a cleanup");
            session.run_with("cleanup", serde_json::json!({ "older_than_days": 30 }))?;
        }
        5 => {
            println!("supervisor: that will do, shutting down; the tasks were:");
            for task in session.tasks() {
                let state = if task.disabled { "disabled" } else { "enabled" };
                println!("  {:<15} {state:<9} {}", task.name, task.condition);
            }
            session.shut_down();
        }
        _ => {}
    }
    Ok(())
}

/// The command line: the example's own options, and the scheduler's (`list`,
/// `explain TASK`, `logs`, `check`, ...; no command runs the scheduler).
#[derive(clap::Parser)]
#[command(
    name = "metatasks",
    about = "Metatasks: tasks that add, disable, run and stop other tasks through their session. Takes about eight seconds."
)]
struct Cli {
    #[command(flatten)]
    scheduler: scheduler::cli::Args,
}

fn main() -> scheduler::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    scheduler::init_logging();
    let builder = Scheduler::builder()
        // A demonstration that starts fresh each time: its log stays in memory (without
        // this line it would be kept in scheduler.db, as `scheduler::run()` keeps it).
        .database("memory:")
        .config_from_env()
        .param("beats", AtomicU32::new(0));
    cli.scheduler.run(builder)
}
