//! The application's command line (feature `cli`): what every program gets from
//! `scheduler::run()`, and what a program with a clap command line of its own embeds.
//!
//! ```text
//! app                      run the scheduler (the same as `app run`)
//! app list                 every task: condition, mode, state, last run, next start
//! app explain TASK         why TASK is or is not due: its condition as a tree
//! app logs [TASK]          the run log (--since, --until, --action, --run, --follow)
//! app stats [TASK]         runs, outcomes and run times per task
//! app check                check tasks, conditions and settings without running
//! app trigger TASK         enqueue a run of TASK for a worker (--payload JSON, --wait)
//! app worker               run as a job worker only (--concurrency N)
//! app jobs                 the job queue: jobs per state; list, show ID, retry ID, retry-failed,
//!                          cancel ID, prune
//! ```
//!
//! Every command takes `--json` (for scripts), `--database URL` (read another store than
//! the configured one) and `--at INSTANT` (evaluate as of another instant than now). The
//! reading commands open the store without creating or migrating it and work while
//! another process runs the scheduler on it. `trigger` writes a job into the store's queue,
//! which the running program's worker (or any worker on the same database) runs; `worker`
//! is the role of `scheduler::worker()`.
//!
//! The pieces: [`Args`] (a clap `Args`: the subcommand and the global options) and
//! [`Command`] (a clap `Subcommand`); [`Args::run`] does what the command says with the
//! tasks of a [`SchedulerBuilder`]. Adding a command is a variant of [`Command`] and a
//! function in `commands.rs`. Tables and colours are in `output.rs`; instants given on the
//! command line are read by `instant.rs`; the `jobs` commands are in `jobs.rs`.

mod commands;
mod instant;
mod jobs;
mod output;

use std::io::Write;

use crate::log::StoreError;
use crate::runtime::{SchedulerBuilder, SchedulerError, UnknownTask};

pub use instant::{InstantError, parse_instant};

/// A whole command line: the scheduler's [`Args`] at the top level, as `scheduler::run()`
/// parses it.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    about = "Runs the program's scheduled tasks, or looks at them: why a task did not run, when it will, what its runs did."
)]
pub struct Cli {
    /// The subcommand and the options.
    #[command(flatten)]
    pub args: Args,
}

/// The scheduler's subcommand and global options, for a program's own clap command line:
///
/// ```no_run
/// use clap::Parser;
///
/// #[derive(Parser)]
/// struct MyCli {
///     /// A flag of the program's own.
///     #[arg(long)]
///     verbose: bool,
///     #[command(flatten)]
///     scheduler: scheduler_core::cli::Args,
/// }
///
/// fn main() -> Result<(), scheduler_core::runtime::SchedulerError> {
///     let cli = MyCli::parse();
///     cli.scheduler.run(scheduler_core::runtime::Scheduler::builder().config_from_env())
/// }
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// What to do (default: `run`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Use this store instead of the configured one (to read the log, to enqueue, to run
    /// the scheduler or a worker on): a SQLite file (a path or `sqlite:path`) or
    /// `postgres://...`.
    #[arg(long, global = true, value_name = "URL")]
    pub database: Option<String>,
    /// Evaluate conditions as of this instant instead of now: `2024-05-01T07:30:00Z`,
    /// `2024-05-01 07:30` (wall clock of the scheduler's zone), `2024-05-01`, `now`.
    #[arg(long, global = true, value_name = "INSTANT")]
    pub at: Option<String>,
}

/// The subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum Command {
    /// Run the scheduler until SIGINT or SIGTERM (the default).
    Run,
    /// List every task: condition, execution mode, state, last run and next possible start.
    List,
    /// Explain why a task is or is not due: its conditions as trees, each part with its
    /// value now and when time alone changes it.
    Explain {
        /// The task.
        task: String,
    },
    /// Show the run log.
    Logs(LogsArgs),
    /// Count runs and outcomes, and the run times, per task.
    Stats(StatsArgs),
    /// Check the tasks, their conditions, parameters and the settings without running
    /// anything; exits non-zero on any problem.
    Check,
    /// Enqueue a run of a task in the store's job queue: a worker of the running program,
    /// or any worker on the same database, runs it. Prints the job's id.
    Trigger(TriggerArgs),
    /// Run as a job worker only: run the queued jobs of the program's tasks, start nothing
    /// by its condition (until SIGINT or SIGTERM, which finish the jobs it holds).
    Worker(WorkerArgs),
    /// The job queue: how many jobs are in each state (without a subcommand), the newest
    /// jobs, one job with its attempts; retry a failed job, cancel a queued one, delete
    /// those past a retention.
    Jobs(JobsArgs),
    /// The run of one task in a child process (`execution = "process"`); started by the
    /// scheduler, not by people.
    #[command(name = "__child", hide = true)]
    Child {
        /// The task to run.
        task: String,
        /// Where to write the outcome.
        #[arg(long)]
        result: std::path::PathBuf,
    },
}

/// The options of `logs`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogsArgs {
    /// Only this task's records.
    pub task: Option<String>,
    /// Only records at or after this instant (also `2 hours` or `2 hours ago`).
    #[arg(long, value_name = "INSTANT")]
    pub since: Option<String>,
    /// Only records at or before this instant.
    #[arg(long, value_name = "INSTANT")]
    pub until: Option<String>,
    /// Only records of these actions (run, success, fail, terminate, inaction, crash, change).
    #[arg(long, value_name = "ACTION", value_delimiter = ',')]
    pub action: Vec<String>,
    /// Only the records of this run.
    #[arg(long = "run", value_name = "ID")]
    pub run_id: Option<String>,
    /// At most this many records (the newest).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Keep printing records as they are written (until interrupted).
    #[arg(long)]
    pub follow: bool,
}

/// The options of `stats`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StatsArgs {
    /// Only this task.
    pub task: Option<String>,
    /// Only runs recorded at or after this instant (also `7 days`).
    #[arg(long, value_name = "INSTANT")]
    pub since: Option<String>,
}

/// The options of `trigger`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TriggerArgs {
    /// The task.
    pub task: String,
    /// The payload, as JSON (what the task's `Payload<T>` parameter reads); checked against
    /// the task's payload type before anything is enqueued. Default: none (`null`).
    #[arg(long, value_name = "JSON")]
    pub payload: Option<String>,
    /// Wait for the job to end, print its status and result, and exit non-zero unless it
    /// succeeded.
    #[arg(long)]
    pub wait: bool,
    /// With `--wait`: stop waiting after this long (`30 seconds`, `5 minutes`) and exit
    /// non-zero; the job stays in the queue.
    #[arg(long, value_name = "DURATION", requires = "wait")]
    pub timeout: Option<String>,
    /// Among the jobs that are due, higher runs first (default 0).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub priority: Option<i32>,
    /// A uniqueness key: while a job of the task with this key is queued or running, its id
    /// is given instead of a new job.
    #[arg(long, value_name = "KEY")]
    pub unique: Option<String>,
    /// How many times the job may run before it is kept as failed (default 3).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,
}

/// The options of `jobs`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JobsArgs {
    /// What to do (default: the jobs per state, and the tasks with jobs running).
    #[command(subcommand)]
    pub command: Option<JobsCommand>,
}

/// The subcommands of `jobs`.
#[derive(Debug, Clone, clap::Subcommand)]
#[non_exhaustive]
pub enum JobsCommand {
    /// The newest jobs: id, task, state, attempts, when enqueued and ended, last error.
    List {
        /// Only jobs in this state (queued, running, succeeded, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
        /// Only this task's jobs.
        #[arg(long)]
        task: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One job: its state, payload, result or error, and each attempt.
    Show {
        /// The job's id.
        id: i64,
    },
    /// Queue a failed or cancelled job again, due now, with more attempts.
    Retry {
        /// The job's id.
        id: i64,
        /// How many more attempts it gets.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        attempts: u32,
    },
    /// Queue the newest failed jobs again (of a task), due now, with more attempts: after a
    /// fix, the dead letters in one go.
    RetryFailed {
        /// Only this task's failed jobs.
        #[arg(long)]
        task: Option<String>,
        /// At most this many jobs.
        #[arg(long, default_value_t = 1000)]
        limit: usize,
        /// How many more attempts each gets.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
        attempts: u32,
    },
    /// Cancel a queued job.
    Cancel {
        /// The job's id.
        id: i64,
    },
    /// Delete now the jobs that ended longer ago than a retention, with their attempts
    /// (workers do it hourly with their own retention); with `--at`, the retention is
    /// counted back from that instant.
    Prune {
        /// How long jobs that succeeded or were cancelled are kept (`7 days` by default;
        /// `forever` keeps them).
        #[arg(long, value_name = "DURATION")]
        finished: Option<String>,
        /// How long failed jobs are kept (`30 days` by default; `forever` keeps them).
        #[arg(long, value_name = "DURATION")]
        failed: Option<String>,
    },
}

/// The options of `worker`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct WorkerArgs {
    /// At most this many jobs at once (default: the program's worker setting, else 64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub concurrency: Option<u32>,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The scheduler could not be built or failed while running.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    /// The log store cannot be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No task has the name given.
    #[error(transparent)]
    UnknownTask(#[from] UnknownTask),
    /// An instant on the command line cannot be read.
    #[error("{option}: {error}")]
    Instant {
        /// The option (`--since`, ...).
        option: &'static str,
        /// Why (its text is this error's: no cause to print after it).
        error: InstantError,
    },
    /// An option's value cannot be read.
    #[error("{option}: {message}")]
    BadValue {
        /// The option.
        option: &'static str,
        /// Why.
        message: String,
    },
    /// A payload given on the command line does not fit the task.
    #[error("--payload: task '{task}' cannot take this payload")]
    Payload {
        /// The task.
        task: String,
        /// What is wrong.
        #[source]
        problem: crate::runtime::PayloadMismatch,
    },
    /// The job queue failed.
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// A job waited for with `trigger --wait` did not succeed (its status is printed
    /// already).
    #[error("job {id} ({task}) {state}{}", .error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())]
    JobFailed {
        /// The job.
        id: crate::queue::JobId,
        /// Its task.
        task: String,
        /// How it ended.
        state: crate::queue::JobState,
        /// Its last error.
        error: Option<String>,
    },
    /// `trigger --wait --timeout` stopped waiting before the job ended.
    #[error("job {id} ({task}) has not ended after {after}: it stays in the queue")]
    WaitTimedOut {
        /// The job.
        id: crate::queue::JobId,
        /// Its task.
        task: String,
        /// The `--timeout` given.
        after: String,
    },
    /// `check` found problems (printed already).
    #[error("{0} problem{s} found", s = if *.0 == 1 { "" } else { "s" })]
    Problems(usize),
    /// The output could not be written.
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
}

impl Cli {
    /// Parses the program's arguments (printing the help or a usage error and exiting as
    /// clap does) and runs the command with the tasks of `builder`: see [`Args::run`].
    pub fn run_with(builder: SchedulerBuilder) -> Result<(), SchedulerError> {
        <Cli as clap::Parser>::parse().args.run(builder)
    }
}

impl Args {
    /// Does what the command says with the tasks and settings of `builder`.
    ///
    /// `run` (and no command) runs the scheduler and returns its result, as
    /// [`Scheduler::run`](crate::runtime::Scheduler::run) does. Any other command prints
    /// its answer on standard output; when it fails, it prints `error: ...` on standard
    /// error and exits the process with status 1 (an `Ok` return means it succeeded).
    pub fn run(self, builder: SchedulerBuilder) -> Result<(), SchedulerError> {
        // Not `stdout().lock()`: the tasks of `run` print too, from other threads.
        match self.execute(builder, &mut std::io::stdout()) {
            Ok(()) => Ok(()),
            Err(CliError::Scheduler(error)) if self_is_run(&self.command) => Err(error),
            Err(error) => {
                let mut message = format!("error: {error}");
                let mut source = std::error::Error::source(&error);
                // `transparent` variants show their own text; their causes follow.
                if matches!(error, CliError::Scheduler(_) | CliError::Store(_)) {
                    source = source.and_then(std::error::Error::source);
                }
                while let Some(cause) = source {
                    message.push_str(&format!("\n  caused by: {cause}"));
                    source = cause.source();
                }
                let _ = writeln!(std::io::stderr(), "{message}");
                std::process::exit(1);
            }
        }
    }

    /// Does what the command says, writing the answer to `out`, and returns the error
    /// instead of printing it (for programs and tests that handle it themselves).
    pub fn execute(&self, builder: SchedulerBuilder, out: &mut dyn Write) -> Result<(), CliError> {
        let style = output::Style::for_stdout(self.json);
        // The roles that run take the store from `--database` through the builder; the
        // commands that read or enqueue open it themselves.
        let builder = match (&self.command, &self.database) {
            (None | Some(Command::Run) | Some(Command::Worker(_)), Some(url)) => {
                builder.database(url.clone())
            }
            _ => builder,
        };
        match &self.command {
            None | Some(Command::Run) => Ok(builder.build()?.run()?),
            Some(Command::Child { task, result }) => {
                let invocation = crate::runtime::ChildInvocation {
                    task: task.clone(),
                    result: result.clone(),
                };
                Ok(builder.build()?.run_child(&invocation)?)
            }
            Some(Command::Check) => commands::check(builder, &style, out),
            Some(Command::List) => commands::list(self, builder, &style, out),
            Some(Command::Explain { task }) => commands::explain(self, builder, task, &style, out),
            Some(Command::Logs(logs)) => commands::logs(self, builder, logs, &style, out),
            Some(Command::Stats(stats)) => commands::stats(self, builder, stats, &style, out),
            Some(Command::Trigger(trigger)) => {
                commands::trigger(self, builder, trigger, &style, out)
            }
            Some(Command::Jobs(jobs)) => jobs::jobs(self, builder, jobs, &style, out),
            Some(Command::Worker(worker)) => Ok(builder
                .worker_role(worker.concurrency.map(|n| n as usize))
                .build()?
                .run()?),
        }
    }
}

fn self_is_run(command: &Option<Command>) -> bool {
    matches!(
        command,
        None | Some(Command::Run) | Some(Command::Child { .. }) | Some(Command::Worker(_))
    )
}
