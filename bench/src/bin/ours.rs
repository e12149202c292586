//! Our scheduler as a benchmark subject: one scenario of `bench/PROTOCOL.md` per run.
//!
//! ```text
//! ours --scenario throughput --tasks 1000 --seconds 10 [--execution async|main]
//! ours --scenario idle-custom --tasks 1000
//!      [--database memory:|sqlite:PATH|postgres://...]
//! ours --scenario fill --tasks 100 --records 1000000 --database URL
//! ours --scenario queue --tasks 20000 --workers 4 --database URL [--latency 200] [--poll-ms 200]
//! ```
//!
//! `queue` (the job queue: throughput and enqueue-to-start latency) is in `ours/queue.rs`,
//! with its settings.
//!
//! Tasks are built in code (`TaskSpec`), as a program that creates its tasks from data
//! would; the conditions are the ones a user would write. The scheduler is configured as
//! `scheduler::run()` configures it (default timeout, the machine's time zone), except
//! that signal handling is left to the default process behaviour and the log store is the
//! one `--database` names (default `memory:`, the in-memory store; `scheduler::run()`
//! would open `scheduler.db`).
//!
//! `fill` is not a scenario of its own but the set-up of `restart` (`PROTOCOL.md`): it
//! writes `--records` records of past runs of the tasks `t0`..`tN-1` (the idle tasks of
//! `startup`) to the store through its public API, closes it as a scheduler that shuts
//! down does, and exits.

#[path = "ours/queue.rs"]
mod queue;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scheduler::log::RunIds;
use scheduler::prelude::*;
use scheduler::{
    Action, Execution, InstanceId, LogRecord, Scheduler, SchedulerBuilder, StoreError, TaskSpec,
    Timestamp,
};
use scheduler_bench::{emit, rss_kb, wall};
use serde_json::json;

struct Args {
    scenario: String,
    tasks: usize,
    seconds: u64,
    execution: Execution,
    database: String,
    records: u64,
    workers: usize,
    latency: usize,
    poll_ms: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: String::new(),
        tasks: 1,
        seconds: 10,
        execution: Execution::Async,
        database: "memory:".to_owned(),
        records: 0,
        workers: 1,
        latency: 0,
        poll_ms: 200,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--scenario" => args.scenario = value,
            "--tasks" => args.tasks = value.parse().map_err(|e| format!("--tasks: {e}"))?,
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--execution" => {
                args.execution = match value.as_str() {
                    "async" => Execution::Async,
                    "main" => Execution::Main,
                    other => return Err(format!("--execution: unknown mode {other}")),
                }
            }
            "--database" => args.database = value,
            "--records" => args.records = value.parse().map_err(|e| format!("--records: {e}"))?,
            "--workers" => args.workers = value.parse().map_err(|e| format!("--workers: {e}"))?,
            "--latency" => args.latency = value.parse().map_err(|e| format!("--latency: {e}"))?,
            "--poll-ms" => args.poll_ms = value.parse().map_err(|e| format!("--poll-ms: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

/// Prints `result()` after `seconds` and ends the process, from a thread of its own.
fn report_after(seconds: u64, result: impl FnOnce() -> serde_json::Value + Send + 'static) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(seconds));
        emit(&result());
        std::process::exit(0);
    });
}

/// Ms past the whole second, for tasks due at whole seconds.
fn past_the_second(t: f64) -> f64 {
    (t - t.floor()) * 1000.0
}

fn idle_tasks(builder: SchedulerBuilder, count: usize) -> SchedulerBuilder {
    let never_now = condition!("cron 0 0 1 1 *");
    (0..count).fold(builder, |b, i| {
        b.task(TaskSpec::from_async(format!("t{i}"), |_| async {}).when(never_now.clone()))
    })
}

/// A custom condition that is never true, re-checked every minute (the default interval):
/// the condition of each task of `idle-custom`.
#[scheduler::cond]
fn awaited_flag() -> bool {
    false
}

/// Tasks waiting on a custom condition: the scheduler calls it once a minute for each.
fn idle_custom_tasks(builder: SchedulerBuilder, count: usize) -> SchedulerBuilder {
    let awaited = condition!("awaited_flag()");
    (0..count).fold(builder, |b, i| {
        b.task(TaskSpec::from_async(format!("t{i}"), |_| async {}).when(awaited.clone()))
    })
}

fn setup(args: &Args) -> SchedulerBuilder {
    let mut b = Scheduler::builder()
        .without_registered_tasks()
        .handle_signals(false)
        .database(args.database.clone());
    match args.scenario.as_str() {
        "idle" => b = idle_tasks(b, args.tasks),
        "idle-custom" => b = idle_custom_tasks(b, args.tasks),
        "throughput" => {
            let runs = Arc::new(AtomicU64::new(0));
            for i in 0..args.tasks {
                let runs = runs.clone();
                b = b.task(
                    TaskSpec::from_async(format!("t{i}"), move |_| {
                        runs.fetch_add(1, Ordering::Relaxed);
                        async {}
                    })
                    .when(condition!("true"))
                    .execution(args.execution),
                );
            }
            let seconds = args.seconds;
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_secs(1));
                let rss_start = rss_kb();
                let first = runs.load(Ordering::Relaxed);
                let mut last = first;
                let mut per_second = Vec::new();
                for _ in 0..seconds {
                    std::thread::sleep(Duration::from_secs(1));
                    let now = runs.load(Ordering::Relaxed);
                    per_second.push(now - last);
                    last = now;
                }
                emit(&json!({
                    "event": "result",
                    "runs_per_second": per_second,
                    "runs": last - first,
                    "rss_kb_start": rss_start,
                    "rss_kb_end": rss_kb(),
                }));
                std::process::exit(0);
            });
        }
        "delay" => {
            let delays = Arc::new(Mutex::new(Vec::<f64>::new()));
            let seen = delays.clone();
            b = b.task(
                TaskSpec::from_async("tick", move |_| {
                    let t = wall();
                    seen.lock().unwrap().push(past_the_second(t));
                    async {}
                })
                .when(condition!("secondly"))
                .execution(args.execution),
            );
            report_after(args.seconds, move || {
                let delays = delays.lock().unwrap();
                json!({"event": "result", "delays_ms": delays.get(1..).unwrap_or_default()})
            });
        }
        "pipeline" => {
            let a_end = Arc::new(Mutex::new(0.0_f64));
            let handoffs = Arc::new(Mutex::new(Vec::<f64>::new()));
            let (a_end_w, a_end_r, seen) = (a_end.clone(), a_end, handoffs.clone());
            b = b
                .task(
                    TaskSpec::from_async("a", move |_| {
                        *a_end_w.lock().unwrap() = wall();
                        async {}
                    })
                    .when(condition!("secondly"))
                    .execution(args.execution),
                )
                .task(
                    TaskSpec::from_async("b", |_| async {})
                        .when(condition!("after task 'a' succeeded"))
                        .execution(args.execution),
                )
                .task(
                    TaskSpec::from_async("c", move |_| {
                        let t = wall();
                        let a_end = *a_end_r.lock().unwrap();
                        seen.lock().unwrap().push((t - a_end) * 1000.0);
                        async {}
                    })
                    .when(condition!("after task 'b' succeeded"))
                    .execution(args.execution),
                );
            report_after(args.seconds, move || {
                let handoffs = handoffs.lock().unwrap();
                json!({"event": "result", "handoffs_ms": handoffs.get(1..).unwrap_or_default()})
            });
        }
        "startup" => {
            b = idle_tasks(b, args.tasks).task(
                TaskSpec::from_async("first", |_| {
                    emit(&json!({"event": "result", "first_run_wall": wall()}));
                    std::process::exit(0);
                    #[allow(unreachable_code)]
                    async {}
                })
                .when(condition!("true")),
            );
        }
        other => {
            eprintln!("unknown scenario {other}");
            std::process::exit(2);
        }
    }
    b
}

/// Records per append when filling a store: one transaction each, as the journal writes a
/// pass's records.
const FILL_BATCH: usize = 10_000;

/// Writes `args.records` records of past runs to the store at `args.database`: runs of the
/// tasks `t0`..`tN-1` in turn, one every millisecond up to a minute ago, each a `run` and a
/// `success` record with its run id, instance and duration, as the scheduler writes them.
async fn fill(args: &Args) -> Result<(), StoreError> {
    let store = scheduler::log::store::open(&args.database).await?;
    let tasks: Vec<String> = (0..args.tasks.max(1)).map(|i| format!("t{i}")).collect();
    let instance = InstanceId::random();
    let mut ids = RunIds::new();
    let runs = args.records.div_ceil(2);
    let last = (wall() * 1e6) as i64 - 60_000_000;
    let mut batch = Vec::with_capacity(FILL_BATCH);
    let mut written = 0;
    for run in 0..runs {
        let start = last - (runs - run) as i64 * 1_000;
        let task = &tasks[run as usize % tasks.len()];
        let id = ids.next(start);
        let mut record =
            LogRecord::new(task.as_str(), Action::Run, Timestamp::from_micros(start)).with_run(id);
        record.instance = Some(instance);
        batch.push(record.clone());
        record.action = Action::Success;
        record.at = Timestamp::from_micros(start + 200);
        record.duration_micros = Some(200);
        batch.push(record);
        if batch.len() >= FILL_BATCH || run + 1 == runs {
            let keep = batch.len().min((args.records - written) as usize);
            store.append(&batch[..keep]).await?;
            written += keep as u64;
            batch.clear();
        }
    }
    // As a scheduler that shuts down leaves it: a SQLite file without a write-ahead log.
    store.close().await;
    emit(&json!({"event": "result", "records": written}));
    Ok(())
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("ours: {e}");
        std::process::exit(2);
    });
    if args.scenario == "fill" {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        if let Err(e) = runtime.block_on(fill(&args)) {
            eprintln!("ours: cannot fill {}: {e}", args.database);
            std::process::exit(1);
        }
        return;
    }
    if args.scenario == "queue" || args.scenario == "queue-worker" {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let queue_args = queue::QueueArgs {
            database: args.database.clone(),
            jobs: args.tasks,
            workers: args.workers,
            latency: args.latency,
            poll_ms: args.poll_ms,
        };
        let result = runtime.block_on(async {
            if args.scenario == "queue" {
                queue::drive(&queue_args).await.map(|r| emit(&r))
            } else {
                queue::worker(&queue_args).await
            }
        });
        if let Err(e) = result {
            emit(&json!({"event": "failed", "why": e}));
            eprintln!("ours: {e}");
            std::process::exit(1);
        }
        std::process::exit(0);
    }
    // What `scheduler::run` uses: a multi-threaded runtime with a worker per core.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let running = setup(&args)
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
            .start()
            .unwrap_or_else(|e| panic!("{e}"));
        emit(&json!({"event": "ready", "wall": wall()}));
        running.await.unwrap_or_else(|e| panic!("{e}"));
    });
}
