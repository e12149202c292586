//! `jobs`: the job queue from the command line, for the person on call. Without a
//! subcommand, how many jobs are in each state and which tasks have jobs running; `list`
//! the newest jobs (of a state, of a task), `show ID` one job with each attempt, `retry ID`
//! a dead letter, `retry-failed` the newest of them at once, `cancel ID` a queued job,
//! `prune` the jobs past a retention. Each opens the store's queue as `trigger` does, and
//! works while workers run on it.

use std::io::Write;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::queue::{JobFilter, JobId, JobInfo, JobRetention, JobState, Queue, QueueError};
use crate::runtime::{SchedulerBuilder, VirtualClock};
use crate::time::{Interval, Tz};

use super::commands::{job_json, now, open_queue, runtime};
use super::output::{Cell, Colour, Style, plain, rfc3339, wall, write_json, write_table};
use super::{Args, CliError, JobsArgs, JobsCommand};

/// `jobs [list | show ID | retry ID | cancel ID | prune]`.
pub(super) fn jobs(
    args: &Args,
    builder: SchedulerBuilder,
    jobs: &JobsArgs,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let scheduler = builder.build()?;
    let zone = scheduler.time_zone();
    runtime()?.block_on(async {
        let queue = open_queue(args, &scheduler).await?;
        match &jobs.command {
            None => summary(&queue, style, out).await,
            Some(JobsCommand::List { state, task, limit }) => {
                let state = state
                    .as_deref()
                    .map(|s| {
                        s.parse::<JobState>().map_err(|_| CliError::BadValue {
                            option: "--state",
                            message: format!(
                                "{s:?} is not a job state (queued, running, succeeded, failed, cancelled)"
                            ),
                        })
                    })
                    .transpose()?;
                let filter = JobFilter {
                    state,
                    task: task.clone(),
                    limit: *limit,
                };
                list(&queue.list(&filter).await?, zone, style, out)
            }
            Some(JobsCommand::Show { id }) => show(&queue, JobId(*id), zone, style, out).await,
            Some(JobsCommand::Retry { id, attempts }) => {
                queue.retry(JobId(*id), *attempts).await?;
                done(out, style, *id, "queued again")
            }
            Some(JobsCommand::RetryFailed {
                task,
                limit,
                attempts,
            }) => {
                let filter = JobFilter {
                    state: Some(JobState::Failed),
                    task: task.clone(),
                    limit: *limit,
                };
                let mut retried = Vec::new();
                for job in queue.list(&filter).await? {
                    match queue.retry(job.id, *attempts).await {
                        Ok(()) => retried.push(job.id),
                        // Retried or pruned by someone else since the list was read.
                        Err(QueueError::WrongState { .. } | QueueError::UnknownJob(_)) => {}
                        Err(error) => return Err(error.into()),
                    }
                }
                if style.json {
                    write_json(out, &json!({ "retried": retried }))
                } else {
                    writeln!(
                        out,
                        "queued again {} failed job{}",
                        retried.len(),
                        if retried.len() == 1 { "" } else { "s" }
                    )
                    .map_err(CliError::Output)
                }
            }
            Some(JobsCommand::Cancel { id }) => {
                queue.cancel(JobId(*id)).await?;
                done(out, style, *id, "cancelled")
            }
            Some(JobsCommand::Prune { finished, failed }) => {
                let defaults = JobRetention::default();
                let retention = JobRetention {
                    finished: keep("--finished", finished.as_deref(), defaults.finished)?,
                    failed: keep("--failed", failed.as_deref(), defaults.failed)?,
                };
                // Counted back from `--at` when it is given (what would be past the
                // retention then), else from now.
                let queue = match args.at {
                    Some(_) => queue.with_clock(Arc::new(VirtualClock::starting_at(now(
                        args, zone,
                    )?))),
                    None => queue,
                };
                let deleted = queue.prune(retention).await?;
                if style.json {
                    write_json(out, &json!({ "deleted": deleted }))
                } else {
                    writeln!(
                        out,
                        "deleted {deleted} job{} past the retention",
                        if deleted == 1 { "" } else { "s" }
                    )
                    .map_err(CliError::Output)
                }
            }
        }
    })
}

/// A retention given on the command line: a duration (`7 days`), `forever`, or the
/// default when none is given.
fn keep(
    option: &'static str,
    text: Option<&str>,
    default: Option<std::time::Duration>,
) -> Result<Option<std::time::Duration>, CliError> {
    match text.map(str::trim) {
        None => Ok(default),
        Some("forever") => Ok(None),
        Some(text) => text
            .parse::<Interval>()
            .map(|interval| Some(interval.as_duration()))
            .map_err(|e| CliError::BadValue {
                option,
                message: format!("not a duration such as `7 days`, nor `forever`: {e}"),
            }),
    }
}

fn done(out: &mut dyn Write, style: &Style, id: i64, what: &str) -> Result<(), CliError> {
    if style.json {
        write_json(out, &json!({ "id": id, "done": what }))
    } else {
        writeln!(out, "job {id}: {what}").map_err(CliError::Output)
    }
}

fn state_cell(state: JobState) -> Cell {
    let colour = match state {
        JobState::Queued => None,
        JobState::Running => Some(Colour::Cyan),
        JobState::Succeeded => Some(Colour::Green),
        JobState::Failed => Some(Colour::Red),
        JobState::Cancelled => Some(Colour::Dim),
    };
    (state.as_str().to_owned(), colour)
}

/// The counts per state, and the running jobs per task.
async fn summary(queue: &Queue, style: &Style, out: &mut dyn Write) -> Result<(), CliError> {
    let counts = queue.counts().await?;
    let running = queue.jobs().running().await?;
    let per_state = [
        (JobState::Queued, counts.queued),
        (JobState::Running, counts.running),
        (JobState::Succeeded, counts.succeeded),
        (JobState::Failed, counts.failed),
        (JobState::Cancelled, counts.cancelled),
    ];
    if style.json {
        let states: serde_json::Map<String, Value> = per_state
            .iter()
            .map(|(state, n)| (state.as_str().to_owned(), json!(n)))
            .collect();
        let tasks: serde_json::Map<String, Value> = running
            .iter()
            .map(|(task, n)| (task.clone(), json!(n)))
            .collect();
        return write_json(out, &json!({ "states": states, "running": tasks }));
    }
    let rows: Vec<Vec<Cell>> = per_state
        .iter()
        .map(|(state, n)| vec![state_cell(*state), plain(n.to_string())])
        .collect();
    write_table(out, style, &["state", "jobs"], &rows)?;
    if !running.is_empty() {
        writeln!(out).map_err(CliError::Output)?;
        let rows: Vec<Vec<Cell>> = running
            .iter()
            .map(|(task, n)| vec![plain(task.clone()), plain(n.to_string())])
            .collect();
        write_table(out, style, &["task", "running"], &rows)?;
    }
    Ok(())
}

fn list(jobs: &[JobInfo], zone: Tz, style: &Style, out: &mut dyn Write) -> Result<(), CliError> {
    if style.json {
        let listed: Vec<Value> = jobs.iter().map(job_details).collect();
        return write_json(out, &Value::Array(listed));
    }
    if jobs.is_empty() {
        return writeln!(out, "no job").map_err(CliError::Output);
    }
    let rows: Vec<Vec<Cell>> = jobs
        .iter()
        .map(|job| {
            vec![
                plain(job.id.to_string()),
                plain(job.task.clone()),
                state_cell(job.state),
                plain(format!("{}/{}", job.attempts, job.max_attempts)),
                plain(wall(zone, job.enqueued)),
                plain(job.finished.map(|t| wall(zone, t)).unwrap_or_default()),
                plain(job.error.as_deref().map(first_line).unwrap_or_default()),
            ]
        })
        .collect();
    write_table(
        out,
        style,
        &[
            "id", "task", "state", "attempts", "enqueued", "ended", "error",
        ],
        &rows,
    )
}

/// The first line of an error, for a table cell.
fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

/// A job with everything the queue keeps of it, for JSON.
fn job_details(job: &JobInfo) -> Value {
    let mut value = job_json(job);
    value["payload"] = job.payload.clone();
    value["priority"] = json!(job.priority);
    value["max_attempts"] = json!(job.max_attempts);
    value["unique_key"] = json!(job.unique_key);
    value["run_at"] = json!(rfc3339(job.run_at));
    value["enqueued"] = json!(rfc3339(job.enqueued));
    value["finished"] = json!(job.finished.map(rfc3339));
    value
}

async fn show(
    queue: &Queue,
    id: JobId,
    zone: Tz,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let job = queue.status(id).await?.ok_or(QueueError::UnknownJob(id))?;
    let attempts = queue.attempts(id).await?;
    if style.json {
        let mut value = job_details(&job);
        value["attempts_made"] = Value::Array(
            attempts
                .iter()
                .map(|a| {
                    json!({
                        "attempt": a.attempt,
                        "worker": a.worker.map(|w| w.to_string()),
                        "started": rfc3339(a.started),
                        "finished": a.finished.map(rfc3339),
                        "outcome": a.outcome.map(|o| o.as_str()),
                        "error": a.error,
                    })
                })
                .collect(),
        );
        return write_json(out, &value);
    }
    let line = |out: &mut dyn Write, key: &str, value: String| {
        writeln!(out, "{key:<10} {value}").map_err(CliError::Output)
    };
    line(out, "job", job.id.to_string())?;
    line(out, "task", job.task.clone())?;
    let (state, colour) = state_cell(job.state);
    line(out, "state", style.paint(colour, &state))?;
    line(out, "payload", job.payload.to_string())?;
    line(out, "priority", job.priority.to_string())?;
    if let Some(key) = &job.unique_key {
        line(out, "key", key.clone())?;
    }
    line(out, "enqueued", wall(zone, job.enqueued))?;
    line(out, "due", wall(zone, job.run_at))?;
    if let Some(finished) = job.finished {
        line(out, "ended", wall(zone, finished))?;
    }
    line(
        out,
        "attempts",
        format!("{} of {}", job.attempts, job.max_attempts),
    )?;
    if let Some(result) = &job.result {
        line(out, "result", result.to_string())?;
    }
    if let Some(error) = &job.error {
        line(out, "error", error.clone())?;
    }
    if attempts.is_empty() {
        return Ok(());
    }
    writeln!(out).map_err(CliError::Output)?;
    let rows: Vec<Vec<Cell>> = attempts
        .iter()
        .map(|a| {
            vec![
                plain(a.attempt.to_string()),
                plain(a.worker.map(|w| w.to_string()).unwrap_or_default()),
                plain(wall(zone, a.started)),
                plain(a.finished.map(|t| wall(zone, t)).unwrap_or_default()),
                plain(a.outcome.map(|o| o.as_str()).unwrap_or("running")),
                plain(a.error.as_deref().map(first_line).unwrap_or_default()),
            ]
        })
        .collect();
    write_table(
        out,
        style,
        &["attempt", "worker", "started", "ended", "outcome", "error"],
        &rows,
    )
}
