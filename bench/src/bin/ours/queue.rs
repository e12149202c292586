//! The `queue` scenario of our subject (`bench/PROTOCOL.md`): the durable job queue on a
//! SQLite file or a PostgreSQL database, driven by this process, run by worker processes
//! that are this same program (`--scenario queue-worker`).
//!
//! Settings, stated as the peers' are: every worker process is `scheduler::worker()`'s
//! role (`SchedulerBuilder::worker_only`) with `WorkerConfig` concurrency
//! [`CONCURRENCY`], claims of up to [`BATCH`] jobs, reports written every 2 ms (the
//! default), a 30 s lease (the default); it wakes on `LISTEN` (PostgreSQL) and polls every
//! `--poll-ms` (default 200 ms, the library's default). The log store is the queue's
//! database, as in an application: every attempt writes `run` and its end there too. The
//! body of the task `job` reads the wall clock and returns it (a trivial body whose value
//! is the start instant the latency phase reads back).
//!
//! Throughput (`--latency 0`): `--tasks N` jobs are enqueued with `Queue::enqueue_many`
//! (10,000 per transaction), then `--workers W` worker processes are started, and the
//! drain is timed from their spawn to the moment the database holds no queued or running
//! job (the driver asks every 5 ms whether a job is still queued or running, which the queue's
//! partial indexes answer without reading the table). The workers are then stopped (SIGTERM: graceful) and the
//! database is counted: every job succeeded, with one attempt each (none lost, none run
//! twice), and the log holds one `success` per job, each a run of its own.
//!
//! Latency (`--latency S`): the workers are started on an empty queue; once they are ready
//! and idle, S jobs are enqueued one at a time (`Queue::enqueue`, one transaction each),
//! one every 20 ms; each job's body returns the wall clock when it starts, read back from
//! the job's result. Two figures per job: from the call to `enqueue` (its commit included)
//! and from its return (the job committed and visible) to the body's start.

use std::process::Stdio;
use std::time::{Duration, Instant};

use scheduler::log::store::RecordQuery;
use scheduler::queue::NewJob;
use scheduler::{Action, Queue, Scheduler, TaskSpec, WorkerConfig};
use scheduler_bench::{emit, wall};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// Jobs a worker process runs at once.
pub const CONCURRENCY: usize = 4000;
/// Jobs per claim.
pub const BATCH: usize = 2000;
/// Jobs per `enqueue_many` transaction.
const ENQUEUE_CHUNK: usize = 10_000;
/// The task every job runs.
const TASK: &str = "job";

/// What the driver and the workers are told.
pub struct QueueArgs {
    pub database: String,
    pub jobs: usize,
    pub workers: usize,
    pub latency: usize,
    pub poll_ms: u64,
}

/// A worker process: runs the queue's jobs until SIGTERM.
pub async fn worker(args: &QueueArgs) -> Result<(), String> {
    let config = WorkerConfig::default()
        .concurrency(CONCURRENCY)
        .batch(BATCH)
        .poll(Duration::from_millis(args.poll_ms));
    let running = Scheduler::builder()
        .without_registered_tasks()
        .database(args.database.clone())
        .worker_only(config)
        .task(
            TaskSpec::from_async(TASK, |_| async {
                Ok::<f64, std::convert::Infallible>(wall())
            })
            .value_as_json::<f64>(),
        )
        .build()
        .map_err(|e| e.to_string())?
        .start()
        .map_err(|e| e.to_string())?;
    emit(&json!({"event": "ready", "wall": wall()}));
    running.await.map_err(|e| e.to_string())
}

struct Workers(Vec<Child>);

impl Workers {
    async fn start(args: &QueueArgs) -> Result<Workers, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut children = Vec::new();
        for _ in 0..args.workers {
            let child = Command::new(&exe)
                .args(["--scenario", "queue-worker", "--database", &args.database])
                .args(["--poll-ms", &args.poll_ms.to_string()])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?;
            children.push(child);
        }
        Ok(Workers(children))
    }

    /// Waits until every worker has said it is ready.
    async fn ready(&mut self) -> Result<(), String> {
        for child in &mut self.0 {
            let out = child.stdout.take().ok_or("no worker output")?;
            let mut lines = BufReader::new(out).lines();
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .map_err(|_| "a worker did not start in 60 s".to_owned())?
                .map_err(|e| e.to_string())?;
            if !line.is_some_and(|l| l.contains("ready")) {
                return Err("a worker exited before it was ready".to_owned());
            }
        }
        Ok(())
    }

    /// Stops every worker gracefully (SIGTERM), so that its last log records are written.
    async fn stop(mut self) -> Result<(), String> {
        for child in &self.0 {
            if let Some(pid) = child.id() {
                let _ = Command::new("kill")
                    .args(["-TERM", &pid.to_string()])
                    .status()
                    .await;
            }
        }
        for child in &mut self.0 {
            match tokio::time::timeout(Duration::from_secs(60), child.wait()).await {
                Ok(Ok(_)) => {}
                _ => return Err("a worker did not stop in 60 s".to_owned()),
            }
        }
        Ok(())
    }
}

/// The benchmark's own connection to the queue's database: a cheap "is anything left?"
/// while the workers drain (the partial indexes of queued and running jobs answer it
/// without reading the table: counting every state every 5 ms would load the server the
/// workers share), and the counts afterwards.
enum Db {
    Postgres(sqlx::PgPool),
    Sqlite(sqlx::SqlitePool),
}

/// Whether a job is still queued or running.
const PENDING: &str = "SELECT CAST(CASE WHEN \
     EXISTS (SELECT 1 FROM scheduler_jobs WHERE state = 'queued') \
     OR EXISTS (SELECT 1 FROM scheduler_jobs WHERE state = 'running') THEN 1 ELSE 0 END AS BIGINT)";

impl Db {
    async fn open(database: &str) -> Result<Db, String> {
        let e = |e: sqlx::Error| e.to_string();
        Ok(if database.starts_with("postgres") {
            Db::Postgres(sqlx::PgPool::connect(database).await.map_err(e)?)
        } else {
            let path = database.trim_start_matches("sqlite:");
            Db::Sqlite(
                sqlx::SqlitePool::connect(&format!("sqlite:{path}"))
                    .await
                    .map_err(e)?,
            )
        })
    }

    async fn pending(&self) -> Result<bool, String> {
        let n: i64 = match self {
            Db::Postgres(pool) => sqlx::query_scalar(PENDING).fetch_one(pool).await,
            Db::Sqlite(pool) => sqlx::query_scalar(PENDING).fetch_one(pool).await,
        }
        .map_err(|e| e.to_string())?;
        Ok(n != 0)
    }

    async fn two<A, B>(&self, a: &'static str, b: &'static str) -> Result<(A, B), String>
    where
        A: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
        B: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
            + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + Send
            + Unpin,
    {
        let e = |e: sqlx::Error| e.to_string();
        match self {
            Db::Postgres(pool) => Ok((
                sqlx::query_as(a).fetch_one(pool).await.map_err(e)?,
                sqlx::query_as(b).fetch_one(pool).await.map_err(e)?,
            )),
            Db::Sqlite(pool) => Ok((
                sqlx::query_as(a).fetch_one(pool).await.map_err(e)?,
                sqlx::query_as(b).fetch_one(pool).await.map_err(e)?,
            )),
        }
    }
}

/// Waits until no job is queued or running (asked every 5 ms).
async fn until_drained(db: &Db, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    while db.pending().await? {
        if Instant::now() > deadline {
            return Err(format!("jobs still pending after {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

/// The database's own count of the run: jobs, their attempts, and the log's successes.
async fn count(queue: &Queue, db: &Db, jobs: u64) -> Result<Value, String> {
    let jobs_sql = "SELECT CAST(count(*) AS BIGINT), \
        CAST(coalesce(sum(CASE WHEN state = 'succeeded' THEN 1 ELSE 0 END), 0) AS BIGINT), \
        CAST(coalesce(sum(attempts), 0) AS BIGINT) FROM scheduler_jobs";
    // An attempt that ends its job is kept on the job's row; an attempt row is only written
    // for one after which the job ran again (failed, crashed, given back): none here.
    let attempts_sql = "SELECT CAST(count(*) AS BIGINT), CAST(count(DISTINCT job) AS BIGINT) \
        FROM scheduler_job_attempts";
    let ((total, succeeded, attempts), (attempt_rows, attempt_jobs)): (
        (i64, i64, i64),
        (i64, i64),
    ) = db.two(jobs_sql, attempts_sql).await?;
    let successes = queue
        .store()
        .query(
            &RecordQuery::default()
                .task(TASK)
                .action(Action::Success)
                .limit(jobs as usize * 2 + 10),
        )
        .await
        .map_err(|e| e.to_string())?;
    let mut runs: Vec<_> = successes.iter().map(|s| s.record.run_id).collect();
    runs.sort();
    runs.dedup();
    let ok = total as u64 == jobs
        && succeeded as u64 == jobs
        && attempts as u64 == jobs
        && attempt_rows == 0
        && attempt_jobs == 0
        && successes.len() as u64 == jobs
        && runs.len() as u64 == jobs;
    Ok(json!({
        "ok": ok,
        "jobs_in_table": total,
        "succeeded": succeeded,
        "attempts": attempts,
        "attempts_run_again": attempt_rows,
        "log_successes": successes.len(),
        "log_distinct_runs": runs.len(),
        "lost": jobs as i64 - succeeded,
        "run_twice": attempts - succeeded,
    }))
}

/// The driver: one throughput or latency measurement, printed as the `result` event.
pub async fn drive(args: &QueueArgs) -> Result<Value, String> {
    let queue = Queue::open(&args.database)
        .await
        .map_err(|e| e.to_string())?;
    let db = Db::open(&args.database).await?;
    if args.latency > 0 {
        return latency(args, &queue, &db).await;
    }
    let n = args.jobs;
    let now = queue.now();
    let jobs: Vec<NewJob> = (0..n).map(|i| NewJob::new(TASK, json!(i), now)).collect();
    let started = Instant::now();
    for chunk in jobs.chunks(ENQUEUE_CHUNK) {
        queue.enqueue_many(chunk).await.map_err(|e| e.to_string())?;
    }
    let enqueue_s = started.elapsed().as_secs_f64();
    let spawned = Instant::now();
    let workers = Workers::start(args).await?;
    let drained = until_drained(&db, Duration::from_secs(600)).await;
    let drain_s = spawned.elapsed().as_secs_f64();
    workers.stop().await?;
    drained?;
    let counted = count(&queue, &db, n as u64).await?;
    if counted["ok"] != json!(true) {
        return Err(format!(
            "the database does not count every job once: {counted}"
        ));
    }
    Ok(json!({
        "event": "result",
        "jobs": n,
        "workers": args.workers,
        "enqueue_api": "Queue::enqueue_many, 10,000 jobs per transaction",
        "enqueue_s": enqueue_s,
        "drain_s": drain_s,
        "jobs_per_second": n as f64 / drain_s,
        "end_to_end_jobs_per_second": n as f64 / (enqueue_s + drain_s),
        "counted": counted,
    }))
}

async fn latency(args: &QueueArgs, queue: &Queue, db: &Db) -> Result<Value, String> {
    let mut workers = Workers::start(args).await?;
    workers.ready().await?;
    // Idle: past the workers' first claims and polls.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = Vec::with_capacity(args.latency);
    for _ in 0..args.latency {
        let t0 = wall();
        let id = queue
            .enqueue(&NewJob::new(TASK, json!(null), queue.now()))
            .await
            .map_err(|e| e.to_string())?
            .id;
        let t1 = wall();
        sent.push((id, t0, t1));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let waited = until_drained(db, Duration::from_secs(120)).await;
    workers.stop().await?;
    waited?;
    let (mut from_call, mut from_commit) = (Vec::new(), Vec::new());
    for (id, t0, t1) in sent {
        let job = queue
            .status(id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("a job vanished")?;
        let start = job
            .result
            .and_then(|v| v.as_f64())
            .ok_or("a job without its start instant")?;
        from_call.push((start - t0) * 1000.0);
        from_commit.push((start - t1) * 1000.0);
    }
    let counted = count(queue, db, args.latency as u64).await?;
    if counted["ok"] != json!(true) {
        return Err(format!(
            "the database does not count every job once: {counted}"
        ));
    }
    Ok(json!({
        "event": "result",
        "workers": args.workers,
        "latency_from_call_ms": from_call,
        "latency_from_commit_ms": from_commit,
        "counted": counted,
    }))
}
