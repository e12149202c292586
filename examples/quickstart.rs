//! A first scheduler: a few tasks that run every few seconds, hand values to each other,
//! fail now and then, and react to the failures.
//!
//! ```text
//! cargo run --example quickstart             # runs for 10 seconds
//! cargo run --example quickstart -- --forever # until Ctrl-C
//! ```
//!
//! Every run is logged on stderr (`RUST_LOG=debug` shows more) and kept in `scheduler.db`
//! in the working directory; the tasks print what they do on stdout. Run it twice on the
//! same day: the second run remembers the first, and `daily_summary` does not run again.
//! To start fresh, delete `scheduler.db` (or run with `SCHEDULER_DATABASE_URL=memory:`).

use std::sync::atomic::{AtomicU32, Ordering};

use scheduler::prelude::*;
use scheduler::{Action, RecordQuery};

/// Pretends to download prices.
#[task("every 2 seconds")]
async fn fetch_prices(round: Arg<AtomicU32>) -> Vec<f64> {
    let n = round.fetch_add(1, Ordering::Relaxed);
    let prices: Vec<f64> = (0..5)
        .map(|i| 100.0 + f64::from(n * 5 + i) * 0.25)
        .collect();
    println!("fetch_prices: got {prices:?}");
    prices
}

/// Runs after every successful download, with the value it returned.
#[task("after task 'fetch_prices' succeeded")]
fn average(prices: Return<fetch_prices>) -> f64 {
    let average = prices.iter().sum::<f64>() / prices.len() as f64;
    println!("average: {average:.2}");
    average
}

/// Fails every other time: the failure is logged and the scheduler goes on.
#[task("every 3 seconds")]
fn flaky_upload(attempts: Arg<AtomicU32>) -> Result<(), String> {
    if attempts.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
        return Err("the server said 503".to_owned());
    }
    println!("flaky_upload: uploaded");
    Ok(())
}

/// Reacts to the failures of another task.
#[task("after task 'flaky_upload' failed")]
fn alert() {
    println!("alert: the upload failed, someone should look");
}

/// Once a day: a second run of the example on the same day finds it done in the log.
#[task("daily")]
fn daily_summary() -> String {
    println!("daily_summary: today's summary is written");
    "summary of the day".to_owned()
}

/// Runs once when the scheduler starts (and `goodbye` once when it stops), saying what the
/// log remembers of earlier runs of the program.
#[task(on_startup)]
async fn hello(session: Session) -> Result<(), SessionError> {
    let last = session
        .query(
            RecordQuery::default()
                .task("daily_summary")
                .action(Action::Success)
                .newest_first()
                .limit(1),
        )
        .await?;
    match last.first() {
        Some(done) => println!(
            "hello: the log remembers that daily_summary ran at {}: it does not run again today \
             (delete scheduler.db to start fresh)",
            done.record.at
        ),
        None => println!("hello: the scheduler is starting, with nothing in its log yet"),
    }
    Ok(())
}

#[task(on_shutdown)]
fn goodbye() {
    println!("goodbye: the scheduler has stopped scheduling");
}

/// The command line: the example's own options, and the scheduler's (`list`,
/// `explain TASK`, `logs`, `check`, ...; no command runs the scheduler).
#[derive(clap::Parser)]
#[command(
    name = "quickstart",
    about = "A first scheduler: tasks that run every few seconds, hand values to each other and fail now and then."
)]
struct Cli {
    /// Run until Ctrl-C (without it, the scheduler stops after about 10 seconds).
    #[arg(long)]
    forever: bool,
    #[command(flatten)]
    scheduler: scheduler::cli::Args,
}

fn main() -> scheduler::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    scheduler::init_logging();
    let mut builder = Scheduler::builder()
        .config_from_env()
        .param("round", AtomicU32::new(0))
        .param("attempts", AtomicU32::new(0));
    if !cli.forever {
        builder = builder.shut_cond(condition!("scheduler has run over 10 seconds"));
    }
    cli.scheduler.run(builder)
}
