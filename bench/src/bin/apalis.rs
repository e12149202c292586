//! apalis 1.0 with its PostgreSQL backend (apalis-postgres 1.0) as a subject of the `queue`
//! scenario (`bench/PROTOCOL.md`): the queue Rust users pick today.
//!
//! ```text
//! apalis --scenario queue --tasks 20000 --workers 4 --batch 10 --database postgres://...
//! ```
//!
//! Settings, as measured before on this machine (`queue-anchors.md` §4):
//! * `PostgresStorage::setup` (its migrations), `Config::default().queue("bench")` with
//!   `batch_size(--batch)` (apalis's default is 10; 100 is the other anchor); otherwise the
//!   library defaults: polling (no `with_pubsub`), `lock_tasks` on, results persisted,
//!   heartbeat 30 s.
//! * `--workers` workers (`WorkerBuilder::new("bench-worker-k")`), each `tokio::spawn`ed in
//!   this one process, on a multi-threaded runtime (one thread per core) and one sqlx pool
//!   of 20 connections; no `.concurrency()`, no `.parallelize()`.
//! * The jobs (`u64`, the job's number) are enqueued with `push_all` (one
//!   `INSERT ... unnest`), timed apart; the drain is timed from the workers' spawn until
//!   every handler has run (counted in the process) and then the database counts every job
//!   `Done` (asked every 5 ms from then on). The handler counts its runs per job; afterwards every job must have run once and be `Done` once in the table.
//!
//! Latency is not measured for apalis: an idle polling storage is woken by its heartbeat
//! timer (30 s) or by pubsub only (`queue-anchors.md` §4).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use futures::stream;
use scheduler_bench::emit;
use serde_json::json;
use sqlx::postgres::PgPoolOptions;

struct Args {
    jobs: usize,
    workers: usize,
    batch: usize,
    database: String,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        jobs: 20_000,
        workers: 4,
        batch: 10,
        database: String::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--scenario" if value == "queue" => {}
            "--scenario" => return Err(format!("unknown scenario {value}")),
            "--tasks" => args.jobs = value.parse().map_err(|e| format!("--tasks: {e}"))?,
            "--workers" => args.workers = value.parse().map_err(|e| format!("--workers: {e}"))?,
            "--batch" => args.batch = value.parse().map_err(|e| format!("--batch: {e}"))?,
            "--database" => args.database = value,
            "--seconds" | "--latency" => {}
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !args.database.starts_with("postgres") {
        return Err("apalis runs on PostgreSQL only here: --database postgres://...".to_owned());
    }
    Ok(args)
}

/// Runs of each job, by its number, and how many jobs have run at least once.
struct Runs {
    per_job: Vec<AtomicU32>,
    distinct: AtomicUsize,
}

async fn job(n: u64, runs: Data<Arc<Runs>>) -> Result<(), BoxDynError> {
    if runs.per_job[n as usize].fetch_add(1, Ordering::Relaxed) == 0 {
        runs.distinct.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

async fn done(pool: &sqlx::PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM apalis.jobs WHERE status = 'Done'")
        .fetch_one(pool)
        .await
}

async fn bench(args: &Args) -> Result<serde_json::Value, String> {
    let e = |e: &dyn std::fmt::Display| e.to_string();
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(&args.database)
        .await
        .map_err(|x| e(&x))?;
    PostgresStorage::setup(&pool).await.map_err(|x| e(&x))?;
    let config = Config::default().queue("bench").batch_size(args.batch);
    let mut storage = PostgresStorage::<u64>::new(&pool).with_config(config);
    let n = args.jobs;
    let started = Instant::now();
    let mut items = stream::iter((0..n as u64).map(|i| TaskBuilder::new(i).build()));
    storage.push_all(&mut items).await.map_err(|x| e(&x))?;
    let enqueue_s = started.elapsed().as_secs_f64();
    let runs = Arc::new(Runs {
        per_job: (0..n).map(|_| AtomicU32::new(0)).collect(),
        distinct: AtomicUsize::new(0),
    });
    let spawned = Instant::now();
    for k in 0..args.workers {
        let worker = WorkerBuilder::new(format!("bench-worker-{k}"))
            .backend(storage.clone())
            .data(runs.clone())
            .build(job);
        tokio::spawn(async move {
            if let Err(error) = worker.run().await {
                eprintln!("apalis worker: {error}");
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(600);
    // Every job's handler has run (counted in this process), then every job is `Done` in
    // the table: as the anchors measured it, without counting the table while it drains.
    loop {
        if runs.distinct.load(Ordering::Relaxed) >= n
            && done(&pool).await.map_err(|x| e(&x))? >= n as i64
        {
            break;
        }
        if Instant::now() > deadline {
            return Err("the jobs did not finish in 600 s".to_owned());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drain_s = spawned.elapsed().as_secs_f64();
    let ran: Vec<u32> = runs
        .per_job
        .iter()
        .map(|r| r.load(Ordering::Relaxed))
        .collect();
    let lost = ran.iter().filter(|&&r| r == 0).count();
    let twice = ran.iter().filter(|&&r| r > 1).count();
    let in_table: i64 = sqlx::query_scalar("SELECT count(*) FROM apalis.jobs")
        .fetch_one(&pool)
        .await
        .map_err(|x| e(&x))?;
    let done_rows = done(&pool).await.map_err(|x| e(&x))?;
    let ok = lost == 0 && twice == 0 && in_table == n as i64 && done_rows == n as i64;
    if !ok {
        return Err(format!(
            "not every job ran once: {lost} never, {twice} more than once, {done_rows} of {in_table} Done"
        ));
    }
    Ok(json!({
        "event": "result",
        "jobs": n,
        "workers": args.workers,
        "enqueue_api": "PostgresStorage::push_all (one INSERT ... unnest)",
        "enqueue_s": enqueue_s,
        "drain_s": drain_s,
        "jobs_per_second": n as f64 / drain_s,
        "end_to_end_jobs_per_second": n as f64 / (enqueue_s + drain_s),
        "counted": {"ok": ok, "lost": lost, "run_twice": twice, "done": done_rows},
    }))
}

fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("apalis: {e}");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match runtime.block_on(bench(&args)) {
        Ok(result) => emit(&result),
        Err(why) => {
            emit(&json!({"event": "failed", "why": why}));
            std::process::exit(1);
        }
    }
    std::process::exit(0);
}
