//! One function per command: each builds what it needs from the program's tasks and the
//! store, and prints a table or JSON.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::condition::{Explanation, NextChange};
use crate::log::store::{RecordQuery, StoreErrorKind, StoreUrl, StoredRecord};
use crate::log::{Action, ActionSet, LogStore, RunId, StoreError};
use crate::runtime::{
    NextStart, Scheduler, SchedulerBuilder, SchedulerError, TaskExplanation, TaskReport,
    UnknownTask,
};
use crate::time::{Interval, Timestamp, Tz};

use super::instant::parse_instant;
use super::output::{
    Cell, Colour, Style, action_colour, duration, plain, rfc3339, wall, write_json, write_table,
};
use super::{Args, CliError, LogsArgs, StatsArgs, TriggerArgs};
use crate::queue::{JobInfo, JobState, NewJob, Queue};

/// A tokio runtime for the command's store queries.
pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Scheduler(SchedulerError::Io(e)))
}

fn system_now() -> Timestamp {
    Timestamp::from(chrono::Utc::now())
}

/// The instant the command is about: `--at`, else now.
pub(super) fn now(args: &Args, zone: Tz) -> Result<Timestamp, CliError> {
    let now = system_now();
    match &args.at {
        Some(text) => parse_instant(text, zone, now).map_err(|source| CliError::Instant {
            option: "--at",
            error: source,
        }),
        None => Ok(now),
    }
}

/// Opens the store to read: `--database`, else the configured one. A SQLite file must
/// exist already (reading creates nothing), and the log of `memory:` lives in the process
/// that runs the scheduler, out of reach.
async fn open_store(args: &Args, scheduler: &Scheduler) -> Result<Arc<dyn LogStore>, CliError> {
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| scheduler.config().database.clone());
    match url.parse::<StoreUrl>()? {
        StoreUrl::Memory => Err(StoreError::new(
            "the log is kept in memory (`memory:`) by the process that runs the scheduler, so another process cannot read it; name a store with --database",
        )
        .of_kind(StoreErrorKind::InvalidUrl)
        .into()),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => Ok(Arc::new(
            crate::log::store::SqliteStore::open_existing(&path).await?,
        )),
        _ => Ok(crate::log::store::open(&url).await?),
    }
}

/// `check`: builds the scheduler (which checks every task, condition, parameter and
/// setting together) and prints what is wrong.
pub(super) fn check(
    builder: SchedulerBuilder,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let problems: Vec<String> = match builder.build() {
        Ok(scheduler) => {
            let tasks = scheduler.tasks().count();
            if style.json {
                write_json(out, &json!({ "ok": true, "tasks": tasks, "problems": [] }))?;
            } else {
                writeln!(
                    out,
                    "{} {tasks} task{}, no problem found",
                    style.paint(Some(Colour::Green), "ok:"),
                    if tasks == 1 { "" } else { "s" }
                )
                .map_err(CliError::Output)?;
            }
            return Ok(());
        }
        Err(SchedulerError::Startup(e)) => e.problems.iter().map(ToString::to_string).collect(),
        Err(other) => vec![other.to_string()],
    };
    if style.json {
        write_json(out, &json!({ "ok": false, "problems": problems }))?;
    } else {
        for problem in &problems {
            writeln!(
                out,
                "{} {problem}",
                style.paint(Some(Colour::Red), "problem:")
            )
            .map_err(CliError::Output)?;
        }
    }
    Err(CliError::Problems(problems.len()))
}

fn next_start_json(next: &NextStart) -> Value {
    match next {
        NextStart::Now => json!({ "kind": "now" }),
        NextStart::At(t) => json!({ "kind": "at", "at": rfc3339(*t) }),
        NextStart::NotBefore(t) => json!({ "kind": "not_before", "at": rfc3339(*t) }),
        NextStart::AfterUpstream(tasks) => json!({ "kind": "after_upstream", "tasks": tasks }),
        NextStart::OnChange => json!({ "kind": "on_change" }),
        NextStart::OnRequest => json!({ "kind": "on_request" }),
        NextStart::Disabled => json!({ "kind": "disabled" }),
        NextStart::AtStartOrShutdown => json!({ "kind": "at_start_or_shutdown" }),
        NextStart::AfterRunningRun => json!({ "kind": "after_running_run" }),
    }
}

fn next_start_cell(next: &NextStart, zone: Tz) -> Cell {
    match next {
        NextStart::Now => ("now".to_owned(), Some(Colour::Green)),
        NextStart::At(t) => plain(wall(zone, *t)),
        NextStart::NotBefore(t) => plain(format!("not before {}", wall(zone, *t))),
        NextStart::AfterUpstream(tasks) => plain(format!("after a run of {}", tasks.join(", "))),
        NextStart::OnChange => plain("when its log or a parameter changes"),
        NextStart::OnRequest => ("only when asked".to_owned(), Some(Colour::Dim)),
        NextStart::Disabled => ("disabled".to_owned(), Some(Colour::Yellow)),
        NextStart::AtStartOrShutdown => plain("at start-up or shutdown"),
        NextStart::AfterRunningRun => plain("after its running run"),
    }
}

fn report_json(r: &TaskReport) -> Value {
    json!({
        "name": r.name,
        "condition": r.condition,
        "end": r.end,
        "execution": r.execution.to_string(),
        "disabled": r.disabled,
        "running": r.running,
        "last_start": r.last_start.map(rfc3339),
        "last_outcome": r.last_end.map(|(a, _)| a.as_str()),
        "last_end": r.last_end.map(|(_, t)| rfc3339(t)),
        "next_start": next_start_json(&r.next_start),
        "priority": r.priority,
        "timeout_seconds": r.timeout.map(|t| t.as_secs_f64()),
    })
}

/// Builds the scheduler, opens the store and reads what the tasks' conditions ask, then
/// hands the inspector to `f`.
fn with_inspector<T>(
    args: &Args,
    builder: SchedulerBuilder,
    f: impl FnOnce(&crate::runtime::Inspector<'_>, Timestamp) -> Result<T, CliError>,
) -> Result<T, CliError> {
    let scheduler = builder.build()?;
    let now = now(args, scheduler.time_zone())?;
    runtime()?.block_on(async {
        let store = open_store(args, &scheduler).await?;
        let inspector = scheduler.inspect(&*store, now).await;
        store.close().await;
        f(&inspector?, now)
    })
}

/// `list`.
pub(super) fn list(
    args: &Args,
    builder: SchedulerBuilder,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    with_inspector(args, builder, |inspector, now| {
        let reports = inspector.reports(now);
        if style.json {
            return write_json(
                out,
                &Value::Array(reports.iter().map(report_json).collect()),
            );
        }
        let zone = inspector.time_zone();
        let rows: Vec<Vec<Cell>> = reports
            .iter()
            .map(|r| {
                let state = if r.running > 0 {
                    (format!("running ({})", r.running), Some(Colour::Cyan))
                } else if r.disabled {
                    ("disabled".to_owned(), Some(Colour::Yellow))
                } else {
                    plain("idle")
                };
                let last = match r.last_end {
                    Some((action, at)) if r.last_start.is_none_or(|s| s <= at) => (
                        format!("{action} {}", wall(zone, at)),
                        action_colour(action),
                    ),
                    _ => match r.last_start {
                        Some(s) => (format!("run {}", wall(zone, s)), Some(Colour::Cyan)),
                        None => ("-".to_owned(), Some(Colour::Dim)),
                    },
                };
                vec![
                    plain(r.name.clone()),
                    plain(r.condition.clone()),
                    plain(r.execution.to_string()),
                    state,
                    last,
                    next_start_cell(&r.next_start, zone),
                ]
            })
            .collect();
        write_table(
            out,
            style,
            &[
                "TASK",
                "CONDITION",
                "MODE",
                "STATE",
                "LAST RUN",
                "NEXT START",
            ],
            &rows,
        )?;
        writeln!(
            out,
            "{}",
            style.paint(
                Some(Colour::Dim),
                &format!("(as of {} {})", wall(zone, now), zone.name())
            )
        )
        .map_err(CliError::Output)
    })
}

fn change_json(change: &Result<NextChange, crate::condition::EvalError>) -> Value {
    match change {
        Ok(NextChange::At(t)) => json!({ "kind": "at", "at": rfc3339(*t) }),
        Ok(NextChange::NotBefore(t)) => json!({ "kind": "not_before", "at": rfc3339(*t) }),
        Ok(NextChange::Never) => json!({ "kind": "never" }),
        Err(e) => json!({ "kind": "error", "error": e.to_string() }),
    }
}

fn tree_json(e: &Explanation, blocker: Option<&Explanation>) -> Value {
    json!({
        "text": e.text,
        "kind": e.kind.as_str(),
        "value": e.value.as_ref().ok(),
        "error": e.value.as_ref().err().map(ToString::to_string),
        "next_change": change_json(&e.next_change),
        "reads": e.reads,
        "blocking": blocker.is_some_and(|b| std::ptr::eq(b, e)),
        "children": e.children.iter().map(|c| tree_json(c, blocker)).collect::<Vec<_>>(),
    })
}

fn explanation_json(x: &TaskExplanation) -> Value {
    let condition = |e: &Explanation, verdict: &str| {
        json!({
            "verdict": verdict,
            "blocking": e.blocker().map(|b| b.node.text.clone()),
            "tree": tree_json(e, e.blocker().map(|b| b.node)),
        })
    };
    json!({
        "task": x.report.name,
        "due": x.due,
        "verdict": x.verdict,
        "status": report_json(&x.report),
        "start": condition(&x.start, &x.start_verdict),
        "end": x.end.as_ref().map(|(e, v)| condition(e, v)),
    })
}

/// The rows of a condition tree: value, the node indented by depth, when it changes.
fn tree_rows(
    e: &Explanation,
    depth: usize,
    blocker: Option<&Explanation>,
    zone: Tz,
    now: Timestamp,
    rows: &mut Vec<Vec<Cell>>,
) {
    let value = match &e.value {
        Ok(true) => ("true".to_owned(), Some(Colour::Green)),
        Ok(false) => ("false".to_owned(), Some(Colour::Red)),
        Err(_) => ("error".to_owned(), Some(Colour::Red)),
    };
    let text = match e.kind {
        crate::condition::NodeKind::All => "all of (&)".to_owned(),
        crate::condition::NodeKind::Any => "any of (|)".to_owned(),
        crate::condition::NodeKind::Not => "not (~)".to_owned(),
        _ => e.text.clone(),
    };
    let changes = match (&e.value, &e.next_change) {
        (Err(error), _) => error.to_string(),
        (_, Ok(NextChange::At(t))) => {
            format!(
                "changes at {}",
                crate::condition::describe_instant(zone, now, *t)
            )
        }
        (_, Ok(NextChange::NotBefore(t))) => format!(
            "not before {}",
            crate::condition::describe_instant(zone, now, *t)
        ),
        (_, Ok(NextChange::Never)) if e.reads.is_empty() => {
            "time alone does not change it".to_owned()
        }
        (_, Ok(NextChange::Never)) => format!("changes with a run of {}", e.reads.join(", ")),
        (_, Err(error)) => error.to_string(),
    };
    let blocking = blocker.is_some_and(|b| std::ptr::eq(b, e));
    rows.push(vec![
        value,
        plain(format!("{}{text}", "  ".repeat(depth))),
        if blocking {
            (format!("{changes}  <- decides"), Some(Colour::Yellow))
        } else {
            plain(changes)
        },
    ]);
    for child in &e.children {
        tree_rows(child, depth + 1, blocker, zone, now, rows);
    }
}

/// `explain TASK`.
pub(super) fn explain(
    args: &Args,
    builder: SchedulerBuilder,
    task: &str,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    with_inspector(args, builder, |inspector, now| {
        let x = inspector.explain(task, now)?;
        if style.json {
            return write_json(out, &explanation_json(&x));
        }
        let zone = inspector.time_zone();
        let w =
            |out: &mut dyn Write, line: String| writeln!(out, "{line}").map_err(CliError::Output);
        let verdict_colour = if x.due { Colour::Green } else { Colour::Yellow };
        w(
            out,
            format!(
                "{}  {}",
                style.paint(Some(Colour::Bold), "task   "),
                x.report.name
            ),
        )?;
        w(
            out,
            format!(
                "{}  {}",
                style.paint(Some(Colour::Bold), "as of  "),
                format_args!("{} {}", wall(zone, now), zone.name())
            ),
        )?;
        w(
            out,
            format!(
                "{}  {}",
                style.paint(Some(Colour::Bold), "verdict"),
                style.paint(Some(verdict_colour), &x.verdict)
            ),
        )?;
        let state = match (x.report.running, x.report.last_end) {
            (n, _) if n > 0 => format!("running ({n})"),
            (_, Some((action, at))) => format!("last run: {action} at {}", wall(zone, at)),
            (_, None) => "never ran".to_owned(),
        };
        w(
            out,
            format!("{}  {state}", style.paint(Some(Colour::Bold), "state  ")),
        )?;
        let section = |out: &mut dyn Write, title: &str, e: &Explanation, verdict: &str| {
            w(out, String::new())?;
            w(
                out,
                format!("{} {}", style.paint(Some(Colour::Bold), title), verdict),
            )?;
            let mut rows = Vec::new();
            tree_rows(e, 0, e.blocker().map(|b| b.node), zone, now, &mut rows);
            write_table(
                out,
                style,
                &["VALUE", "CONDITION", "WHEN IT CHANGES"],
                &rows,
            )
        };
        section(out, "start condition:", &x.start, &x.start_verdict)?;
        match &x.end {
            Some((e, verdict)) => section(out, "end condition:", e, verdict)?,
            None => {
                w(out, String::new())?;
                w(
                    out,
                    format!("{} none", style.paint(Some(Colour::Bold), "end condition:")),
                )?;
            }
        }
        Ok(())
    })
}

fn record_json(stored: &StoredRecord) -> Value {
    let r = &stored.record;
    json!({
        "seq": stored.seq,
        "task": r.task,
        "action": r.action.as_str(),
        "at": rfc3339(r.at),
        "run_id": r.run_id.map(|id| id.to_string()),
        "instance": r.instance.map(|id| id.to_string()),
        "duration_micros": r.duration_micros,
        "message": r.message,
        "output": r.output,
        "value": r.value,
    })
}

fn record_row(stored: &StoredRecord, zone: Tz) -> Vec<Cell> {
    let r = &stored.record;
    let message = r
        .message
        .as_deref()
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    // A session parameter's change belongs to no task.
    let task = if r.task.is_empty() && !r.action.is_of_run() {
        "(session)".to_owned()
    } else {
        r.task.clone()
    };
    vec![
        plain(wall(zone, r.at)),
        plain(task),
        (r.action.to_string(), action_colour(r.action)),
        plain(r.run_id.map(|id| id.to_string()).unwrap_or_default()),
        plain(r.duration_micros.map(duration).unwrap_or_default()),
        plain(message),
    ]
}

/// A task given on the command line must be one of the program's.
fn known_task(scheduler: &Scheduler, name: &str) -> Result<(), CliError> {
    if scheduler.tasks().any(|t| t.name() == name) {
        return Ok(());
    }
    Err(UnknownTask {
        name: name.to_owned(),
        suggestion: crate::condition::nearest(name, scheduler.tasks().map(|t| t.name()))
            .map(str::to_owned),
    }
    .into())
}

/// `logs`.
pub(super) fn logs(
    args: &Args,
    builder: SchedulerBuilder,
    logs: &LogsArgs,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let scheduler = builder.build()?;
    let zone = scheduler.time_zone();
    let now = now(args, zone)?;
    let mut query = RecordQuery::default().limit(logs.limit).newest_first();
    if let Some(task) = &logs.task {
        known_task(&scheduler, task)?;
        query = query.task(task.clone());
    }
    let instant = |option: &'static str, text: &Option<String>| {
        text.as_deref()
            .map(|t| {
                parse_instant(t, zone, now).map_err(|error| CliError::Instant { option, error })
            })
            .transpose()
    };
    query.since = instant("--since", &logs.since)?;
    query.until = instant("--until", &logs.until)?;
    for name in &logs.action {
        let action: Action = name.trim().parse().map_err(|_| CliError::BadValue {
            option: "--action",
            message: format!(
                "{name:?} is not an action (run, success, fail, terminate, inaction, crash, change)"
            ),
        })?;
        query = query.action(action);
    }
    if let Some(id) = &logs.run_id {
        let id: RunId = id.trim().parse().map_err(|e| CliError::BadValue {
            option: "--run",
            message: format!("{id:?} is not a run id: {e}"),
        })?;
        query = query.run(id);
    }
    runtime()?.block_on(async {
        let store = open_store(args, &scheduler).await?;
        let result = print_logs(&*store, query, logs.follow, zone, style, out).await;
        store.close().await;
        result
    })
}

async fn print_logs(
    store: &dyn LogStore,
    query: RecordQuery,
    follow: bool,
    zone: Tz,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let mut records = store.query(&query).await?;
    records.reverse();
    let header = ["TIME", "TASK", "ACTION", "RUN", "DURATION", "MESSAGE"];
    if style.json && !follow {
        return write_json(
            out,
            &Value::Array(records.iter().map(record_json).collect()),
        );
    }
    let print = |out: &mut dyn Write, records: &[StoredRecord], with_header: bool| {
        if style.json {
            // One object a line while following, so that a reader can act on each.
            for r in records {
                writeln!(out, "{}", record_json(r)).map_err(CliError::Output)?;
            }
            return Ok(());
        }
        let rows: Vec<Vec<Cell>> = records.iter().map(|r| record_row(r, zone)).collect();
        if with_header {
            write_table(out, style, &header, &rows)
        } else {
            let mut text = Vec::new();
            write_table(&mut text, style, &header, &rows)?;
            let text = String::from_utf8_lossy(&text);
            for line in text.lines().skip(1) {
                writeln!(out, "{line}").map_err(CliError::Output)?;
            }
            Ok(())
        }
    };
    print(out, &records, true)?;
    if !follow {
        return Ok(());
    }
    out.flush().map_err(CliError::Output)?;
    let mut last = records.last().map(|r| r.seq);
    let mut forward = query.clone();
    forward.newest_first = false;
    forward.limit = 1000;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        forward.after_seq = last;
        let new = store.query(&forward).await?;
        if new.is_empty() {
            continue;
        }
        last = new.last().map(|r| r.seq);
        print(out, &new, false)?;
        out.flush().map_err(CliError::Output)?;
    }
}

/// Counts and run times of one task.
#[derive(Default)]
struct Tally {
    counts: BTreeMap<&'static str, u64>,
    durations: Vec<i64>,
}

const ENDS: ActionSet = ActionSet::of(Action::Success)
    .with(Action::Fail)
    .with(Action::Terminate)
    .with(Action::Inaction)
    .with(Action::Crash);

/// The `q`-quantile of sorted values (nearest rank).
fn quantile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// `stats`.
pub(super) fn stats(
    args: &Args,
    builder: SchedulerBuilder,
    stats: &StatsArgs,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let scheduler = builder.build()?;
    let zone = scheduler.time_zone();
    let now = now(args, zone)?;
    let mut query = RecordQuery::default().limit(10_000);
    if let Some(task) = &stats.task {
        known_task(&scheduler, task)?;
        query = query.task(task.clone());
    }
    if let Some(text) = &stats.since {
        query.since = Some(
            parse_instant(text, zone, now).map_err(|error| CliError::Instant {
                option: "--since",
                error,
            })?,
        );
    }
    let tallies = runtime()?.block_on(async {
        let store = open_store(args, &scheduler).await?;
        let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
        // Page through the log in the order it was written.
        let result: Result<(), StoreError> = async {
            loop {
                let page = store.query(&query).await?;
                for stored in &page {
                    let r = &stored.record;
                    // Changes of settings are not runs.
                    if !r.action.is_of_run() {
                        continue;
                    }
                    let tally = tallies.entry(r.task.clone()).or_default();
                    *tally.counts.entry(r.action.as_str()).or_default() += 1;
                    if ENDS.contains(r.action)
                        && let Some(d) = r.duration_micros
                    {
                        tally.durations.push(d);
                    }
                }
                match page.last() {
                    Some(last) if page.len() == query.limit => query.after_seq = Some(last.seq),
                    _ => return Ok(()),
                }
            }
        }
        .await;
        store.close().await;
        result.map(|()| tallies).map_err(CliError::from)
    })?;
    let mut rows = Vec::new();
    let mut json_rows = Vec::new();
    for (task, mut tally) in tallies {
        tally.durations.sort_unstable();
        let count = |a: Action| tally.counts.get(a.as_str()).copied().unwrap_or(0);
        let (median, p95, max) = (
            quantile(&tally.durations, 0.5),
            quantile(&tally.durations, 0.95),
            tally.durations.last().copied(),
        );
        json_rows.push(json!({
            "task": task,
            "runs": count(Action::Run),
            "successes": count(Action::Success),
            "failures": count(Action::Fail),
            "terminations": count(Action::Terminate),
            "inactions": count(Action::Inaction),
            "crashes": count(Action::Crash),
            "median_micros": median,
            "p95_micros": p95,
            "max_micros": max,
        }));
        let d = |v: Option<i64>| plain(v.map(duration).unwrap_or_else(|| "-".to_owned()));
        let n = |a: Action, colour: Colour| {
            let v = count(a);
            (v.to_string(), (v > 0).then_some(colour))
        };
        rows.push(vec![
            plain(task),
            plain(count(Action::Run).to_string()),
            n(Action::Success, Colour::Green),
            n(Action::Fail, Colour::Red),
            n(Action::Terminate, Colour::Yellow),
            n(Action::Crash, Colour::Red),
            d(median),
            d(p95),
            d(max),
        ]);
    }
    if style.json {
        return write_json(out, &Value::Array(json_rows));
    }
    write_table(
        out,
        style,
        &[
            "TASK",
            "RUNS",
            "SUCCESS",
            "FAIL",
            "TERMINATE",
            "CRASH",
            "MEDIAN",
            "P95",
            "MAX",
        ],
        &rows,
    )
}

/// Opens the job queue of the store: `--database`, else the configured one.
/// A SQLite file must exist already (a mistyped path would otherwise hold jobs that no
/// worker sees), and the queue of `memory:` lives in the process that runs the scheduler.
pub(super) async fn open_queue(args: &Args, scheduler: &Scheduler) -> Result<Queue, CliError> {
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| scheduler.config().database.clone());
    match url.parse::<StoreUrl>()? {
        StoreUrl::Memory => {
            return Err(StoreError::new(
                "the job queue of `memory:` lives in the process that runs the scheduler, so another process cannot reach it; name a SQLite file or a PostgreSQL database with --database",
            )
            .of_kind(StoreErrorKind::InvalidUrl)
            .into());
        }
        StoreUrl::Sqlite(path) if !path.exists() => {
            return Err(StoreError::new(format!(
                "cannot open the job queue of the SQLite file {}: it does not exist (is the path right? the scheduler creates it when it first runs)",
                path.display()
            ))
            .of_kind(StoreErrorKind::InvalidUrl)
            .into());
        }
        _ => {}
    }
    Ok(Queue::open(&url).await?)
}

/// A job's status as `trigger --wait --json` prints it.
pub(super) fn job_json(job: &JobInfo) -> Value {
    json!({
        "id": job.id,
        "task": job.task,
        "state": job.state.as_str(),
        "attempts": job.attempts,
        "result": job.result,
        "error": job.error,
    })
}

/// `trigger TASK [--payload JSON] [--wait]`: checks the task and its payload against the
/// program's definition, enqueues a job, and (with `--wait`) waits for its end.
pub(super) fn trigger(
    args: &Args,
    builder: SchedulerBuilder,
    trigger: &TriggerArgs,
    style: &Style,
    out: &mut dyn Write,
) -> Result<(), CliError> {
    let scheduler = builder.build()?;
    known_task(&scheduler, &trigger.task)?;
    let payload: Value = match &trigger.payload {
        None => Value::Null,
        Some(text) => serde_json::from_str(text).map_err(|e| CliError::BadValue {
            option: "--payload",
            message: format!("not JSON: {e}"),
        })?,
    };
    let spec = scheduler
        .tasks()
        .find(|t| t.name() == trigger.task)
        .expect("checked above");
    if let Some(shape) = spec.payload_shape() {
        shape.check(&payload).map_err(|problem| CliError::Payload {
            task: trigger.task.clone(),
            problem,
        })?;
    }
    let timeout = trigger
        .timeout
        .as_deref()
        .map(|text| {
            text.parse::<Interval>()
                .map(|interval| interval.as_duration())
                .map_err(|e| CliError::BadValue {
                    option: "--timeout",
                    message: format!("not a duration such as `30 seconds`: {e}"),
                })
        })
        .transpose()?;
    runtime()?.block_on(async {
        let queue = open_queue(args, &scheduler).await?;
        let mut job = NewJob::new(trigger.task.as_str(), payload, queue.now());
        job.priority = trigger.priority.unwrap_or(job.priority);
        job.unique_key.clone_from(&trigger.unique);
        job.max_attempts = trigger.max_attempts.unwrap_or(job.max_attempts);
        let enqueued = queue.enqueue(&job).await?;
        let id = enqueued.id;
        if !trigger.wait {
            return if style.json {
                write_json(
                    out,
                    &json!({
                        "id": id,
                        "task": trigger.task,
                        "state": "queued",
                        "existing": enqueued.existing,
                    }),
                )
            } else if enqueued.existing {
                writeln!(
                    out,
                    "job {id}: {} already queued with this key (nothing added)",
                    trigger.task
                )
                .map_err(CliError::Output)
            } else {
                writeln!(out, "job {id}: {} queued", trigger.task).map_err(CliError::Output)
            };
        }
        let job = match timeout {
            None => queue.wait(id).await?,
            Some(limit) => match tokio::time::timeout(limit, queue.wait(id)).await {
                Ok(job) => job?,
                Err(_) => {
                    return Err(CliError::WaitTimedOut {
                        id,
                        task: trigger.task.clone(),
                        after: trigger.timeout.clone().unwrap_or_default(),
                    });
                }
            },
        };
        if style.json {
            write_json(out, &job_json(&job))?;
        } else {
            let colour = match job.state {
                JobState::Succeeded => Colour::Green,
                _ => Colour::Red,
            };
            writeln!(
                out,
                "job {id}: {} {} after {} attempt{}",
                job.task,
                style.paint(Some(colour), job.state.as_str()),
                job.attempts,
                if job.attempts == 1 { "" } else { "s" }
            )
            .map_err(CliError::Output)?;
            if let Some(result) = &job.result {
                writeln!(out, "result: {result}").map_err(CliError::Output)?;
            }
            if let Some(error) = &job.error {
                writeln!(out, "error: {error}").map_err(CliError::Output)?;
            }
        }
        out.flush().map_err(CliError::Output)?;
        match job.state {
            JobState::Succeeded => Ok(()),
            state => Err(CliError::JobFailed {
                id,
                task: job.task,
                state,
                error: job.error,
            }),
        }
    })
}
