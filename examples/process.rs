//! Work in other processes: a CPU-heavy task in a child process (which a crash, a leak or
//! a timeout cannot take the scheduler down with), its value handed back as JSON to a task
//! in the scheduler's process, and external programs run as command tasks with their
//! output captured in the log. Runs for about eight seconds (`--forever` until Ctrl-C).
//!
//! ```text
//! cargo run --example process
//! cargo run --example process -- --forever # until Ctrl-C
//! ```
//!
//! A child process is this program started again: `main` must reach `run()` with the same
//! tasks and parameters, and should do nothing else first that must happen only once.

use scheduler::prelude::*;
use scheduler::{CommandSpec, InjectError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct PrimeCount {
    below: u64,
    count: usize,
    computed_by: u32,
}

/// CPU-bound: in its own process, killed if it runs over 20 seconds.
#[task("every 3 seconds", execution = "process", timeout = "20 seconds")]
fn count_primes(limit: Arg<u64>) -> PrimeCount {
    let below = *limit;
    let mut composite = vec![false; below as usize];
    let mut count = 0;
    for n in 2..below as usize {
        if !composite[n] {
            count += 1;
            for multiple in (n * n..below as usize).step_by(n) {
                composite[multiple] = true;
            }
        }
    }
    PrimeCount {
        below,
        count,
        computed_by: std::process::id(),
    }
}

/// In the scheduler's process, with the value that crossed over.
#[task("after task 'count_primes' succeeded")]
fn show(result: Return<count_primes>) {
    println!(
        "{} primes below {} (counted by process {}, shown by process {})",
        result.count,
        result.below,
        result.computed_by,
        std::process::id()
    );
}

/// The command line: the example's own options, and the scheduler's (`list`,
/// `explain TASK`, `logs`, `check`, ...; no command runs the scheduler).
#[derive(clap::Parser)]
#[command(
    name = "process",
    about = "Work in other processes: a CPU-heavy task in a child process, its value handed back to a task in the scheduler's process, and external programs run as command tasks."
)]
struct Cli {
    /// Run until Ctrl-C (without it, the scheduler stops after about 8 seconds).
    #[arg(long)]
    forever: bool,
    #[command(flatten)]
    scheduler: scheduler::cli::Args,
}

fn main() -> scheduler::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    scheduler::init_logging();
    let mut builder = Scheduler::builder()
        // A demonstration that starts fresh each time: its log stays in memory (without
        // this line it would be kept in scheduler.db, as `scheduler::run()` keeps it).
        .database("memory:")
        .config_from_env()
        .param("limit", 5_000_000_u64)
        .task(
            TaskSpec::command("uptime", CommandSpec::new("uptime", Vec::<String>::new()))
                .when(condition!("every 4 seconds")),
        )
        .task(
            // A command's standard output is its value.
            TaskSpec::from_blocking("show-uptime", |cx| {
                let text = cx.returned_by::<String>("uptime")?;
                println!("uptime says: {}", text.trim());
                Ok::<(), InjectError>(())
            })
            .when(condition!("after task 'uptime' succeeded")),
        )
        .task(
            // Fails: the message in the log has the exit status and what it wrote.
            TaskSpec::command(
                "check-disk",
                CommandSpec::shell("df -h / && test -e /no/such/mount"),
            )
            .when(condition!("every 5 seconds")),
        );
    if !cli.forever {
        builder = builder.shut_cond(condition!("scheduler has run over 8 seconds"));
    }
    cli.scheduler.run(builder)
}
