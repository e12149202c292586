//! The job queue with real worker processes, on a SQLite file and on PostgreSQL (a
//! database of its own, on the server `SCHEDULER_TEST_POSTGRES_URL` names; without it the
//! PostgreSQL part says why it skips, and fails under `CI=true`):
//!
//! * 4 worker processes drain 10,000 jobs: every job succeeds exactly once, counted from
//!   the database (the job table, the attempts table and the log's `success` records);
//! * a worker killed with SIGKILL in the middle of a job: another worker takes the job once
//!   the lease expires and finishes it; the log has the crash and the retry;
//! * a worker stopped with SIGSTOP in the middle of a job, and resumed with SIGCONT once
//!   another worker has taken the job over and finished it: its late result is refused,
//!   the job keeps the newer attempt's result, counted from the database, and the log
//!   records the late run as `terminate` ("lease lost to attempt 2"), not as a success (on
//!   SQLite too: a process frozen inside a write transaction would hold the whole file's
//!   lock, so the driver checks that the file takes a write while the worker is stopped,
//!   and otherwise resumes it for a moment and stops it again).
//!
//! No libtest harness (`harness = false`): the program is the driver, and, with
//! `QUEUE_TEST_ROLE=worker`, a worker (`scheduler::worker()`'s role, on the database that
//! `SCHEDULER_DATABASE_URL` names). Every wait for another process has a generous deadline,
//! past which the test fails with what the processes printed.

// The one unsafe call: `kill`, to stop, resume and kill workers.
#![allow(unsafe_code)]

#[path = "common/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scheduler::log::store::{RecordQuery, SqliteStore};
use scheduler::prelude::*;
use scheduler::queue::{AttemptOutcome, NewJob};
use scheduler::{Action, JobState, LogStore, PostgresStore, Timestamp, WorkerConfig};

const ROLE: &str = "QUEUE_TEST_ROLE";
const DEADLINE: Duration = Duration::from_secs(60);
/// The lease of the workers of the crash cases: short, so that a dead worker's job is
/// taken again soon.
const LEASE: Duration = Duration::from_secs(2);

/// A trivial job: gives its payload back.
#[task]
async fn count(n: Payload<u64>) -> u64 {
    *n
}

/// A job that says it started (a file named after its process and attempt) and waits for
/// the driver's `release` file; gives its process id.
#[task]
async fn slow(queue_test_dir: Env<PathBuf>, run: RunInfo) -> u32 {
    let pid = std::process::id();
    let marker = queue_test_dir.join(format!("started-{pid}-{}", run.run_id));
    let _ = std::fs::write(&marker, b"");
    let release = queue_test_dir.join("release");
    while !release.exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    pid
}

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("worker") {
        scheduler::init_logging();
        let lease = std::env::var("QUEUE_TEST_LEASE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map_or(Duration::from_secs(30), Duration::from_millis);
        let result = Scheduler::builder()
            .config_from_env()
            .only_registered(["count", "slow"])
            .worker_only(
                WorkerConfig::default()
                    .lease(lease)
                    .poll(Duration::from_millis(20)),
            )
            .build()
            .and_then(|s| s.run());
        if let Err(error) = result {
            eprintln!("worker: {error}");
            std::process::exit(1);
        }
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = format!("sqlite:{}", dir.path().join("drain.db").display());
        drain(&sqlite, dir.path()).await;
        let sqlite = format!("sqlite:{}", dir.path().join("crash.db").display());
        crash(&sqlite, &dir.path().join("crash")).await;
        let sqlite = format!("sqlite:{}", dir.path().join("stall.db").display());
        stall(&sqlite, &dir.path().join("stall")).await;
        println!("queue_processes: sqlite passed");
        if let Some(server) = pg::server_url("queue_processes") {
            let db = pg::TestDatabase::create(&server, "queue_drain").await;
            drain(db.url(), dir.path()).await;
            let db = pg::TestDatabase::create(&server, "queue_crash").await;
            crash(db.url(), &dir.path().join("pg-crash")).await;
            let db = pg::TestDatabase::create(&server, "queue_stall").await;
            stall(db.url(), &dir.path().join("pg-stall")).await;
            println!("queue_processes: postgres passed");
        }
    });
}

async fn open(url: &str) -> Arc<dyn LogStore> {
    if url.starts_with("postgres") {
        Arc::new(PostgresStore::open(url).await.unwrap())
    } else {
        Arc::new(
            SqliteStore::open(url.trim_start_matches("sqlite:"))
                .await
                .unwrap(),
        )
    }
}

/// A worker process on `url`, its output in `dir/worker-N.log`.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn start(url: &str, dir: &Path, n: usize, lease: Option<Duration>) -> Worker {
        std::fs::create_dir_all(dir).unwrap();
        let log = dir.join(format!("worker-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env(ROLE, "worker")
            .env("SCHEDULER_DATABASE_URL", url)
            .env("QUEUE_TEST_DIR", dir)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        if let Some(lease) = lease {
            command.env("QUEUE_TEST_LEASE_MS", lease.as_millis().to_string());
        }
        Worker {
            child: command.spawn().expect("a worker process"),
            log,
        }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, signal: i32) {
        // SAFETY: `kill` with the pid of a child this program started and has not waited
        // for.
        let done = unsafe { libc::kill(self.pid(), signal) };
        assert_eq!(done, 0, "signal {signal} to worker {}", self.pid());
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, then waits for a graceful exit.
    fn stop(mut self) {
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "worker exited {status}:\n{}",
                    self.output()
                );
                return;
            }
            assert!(
                Instant::now() < deadline,
                "worker did not stop:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Waits until `done` holds, or fails with the workers' output.
async fn wait_for<F: std::future::Future<Output = bool>>(
    what: &str,
    workers: &[&Worker],
    mut done: impl FnMut() -> F,
) {
    let deadline = Instant::now() + DEADLINE;
    while !done().await {
        if Instant::now() > deadline {
            let outputs: Vec<String> = workers.iter().map(|w| w.output()).collect();
            panic!(
                "timed out waiting for {what}; workers said:\n{}",
                outputs.join("\n---\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// 4 workers drain 10,000 jobs; each succeeds exactly once.
async fn drain(url: &str, dir: &Path) {
    const JOBS: u64 = 10_000;
    let store = open(url).await;
    let jobs = store.jobs().unwrap();
    let now = Timestamp::now();
    for n in 0..JOBS {
        jobs.enqueue(&NewJob::new("count", serde_json::json!(n), now))
            .await
            .unwrap();
    }
    let started = Instant::now();
    let dir = dir.join(format!("drain-{}", url.len()));
    // On PostgreSQL the workers run with the fewest connections a store allows, each
    // named, so that the server can say how many they hold.
    let worker_url = if url.starts_with("postgres") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}pool_max_conns={POOL_MAX}&application_name={WORKER_APP}")
    } else {
        url.to_owned()
    };
    let workers: Vec<Worker> = (0..4)
        .map(|n| Worker::start(&worker_url, &dir, n, None))
        .collect();
    let refs: Vec<&Worker> = workers.iter().collect();
    let held = url
        .starts_with("postgres")
        .then(|| tokio::spawn(most_connections_held(url.to_owned())));
    wait_for("10,000 jobs to succeed", &refs, || async {
        // A busy server may keep the driver waiting for a connection: ask again.
        jobs.counts().await.is_ok_and(|c| c.succeeded == JOBS)
    })
    .await;
    let elapsed = started.elapsed();
    if let Some(held) = held {
        held.abort();
        let most = MOST_HELD.load(std::sync::atomic::Ordering::Relaxed);
        assert!(
            (1..=4 * POOL_MAX).contains(&most),
            "4 workers with pool_max_conns={POOL_MAX} held {most} connections at once"
        );
        println!("queue_processes: the 4 workers held at most {most} connections at once");
    }
    for worker in workers {
        worker.stop();
    }
    let counts = jobs.counts().await.unwrap();
    assert_eq!(
        (
            counts.succeeded,
            counts.queued,
            counts.running,
            counts.failed
        ),
        (JOBS, 0, 0, 0)
    );
    // One attempt per job, and one `success` per job in the log.
    let successes = store
        .query(
            &RecordQuery::default()
                .task("count")
                .action(Action::Success)
                .limit(100_000),
        )
        .await
        .unwrap();
    assert_eq!(
        successes.len() as u64,
        JOBS,
        "one success per job in the log"
    );
    let mut runs: Vec<_> = successes.iter().map(|s| s.record.run_id).collect();
    runs.sort();
    runs.dedup();
    assert_eq!(runs.len() as u64, JOBS, "each a run of its own");
    for id in [1, JOBS as i64 / 2, JOBS as i64] {
        let job = jobs.job(scheduler::JobId(id)).await.unwrap().unwrap();
        assert_eq!((job.state, job.attempts), (JobState::Succeeded, 1));
        assert_eq!(job.result, Some(job.payload.clone()));
    }
    println!(
        "queue_processes: 4 workers drained {JOBS} jobs on {} in {:.2} s",
        if url.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        elapsed.as_secs_f64()
    );
}

/// The connection bound of the drain's workers on PostgreSQL, and the name they give the
/// server.
const POOL_MAX: u64 = 3;
const WORKER_APP: &str = "queue_test_worker";

/// The most connections the drain's workers were seen to hold at once.
static MOST_HELD: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Asks the server every few milliseconds how many connections the workers hold, keeping
/// the most in [`MOST_HELD`]; runs until aborted.
async fn most_connections_held(url: String) {
    use sqlx::Connection;
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
    loop {
        let held: i64 =
            sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = $1")
                .bind(WORKER_APP)
                .fetch_one(&mut connection)
                .await
                .unwrap();
        MOST_HELD.fetch_max(held as u64, std::sync::atomic::Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The markers of started `slow` runs in `dir`: (pid, run id).
fn started(dir: &Path) -> Vec<(i32, String)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(rest) = name.strip_prefix("started-")
            && let Some((pid, run)) = rest.split_once('-')
        {
            found.push((pid.parse().unwrap(), run.to_owned()));
        }
    }
    found
}

/// SIGKILL mid-job: another worker takes the job after the lease and finishes it.
async fn crash(url: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let store = open(url).await;
    let jobs = store.jobs().unwrap();
    let first = Worker::start(url, dir, 0, Some(LEASE));
    let id = jobs
        .enqueue(&NewJob::new(
            "slow",
            serde_json::json!(null),
            Timestamp::now(),
        ))
        .await
        .unwrap()
        .id;
    wait_for("the first worker to start the job", &[&first], || async {
        !started(dir).is_empty()
    })
    .await;
    let (pid, run) = started(dir)[0].clone();
    assert_eq!(pid, first.pid());
    // Killed once its `run` record is written (a start not yet written dies with it).
    let run: scheduler::RunId = run.parse().unwrap();
    wait_for("the first run's record", &[&first], || async {
        store
            .query(&RecordQuery::default().run(run))
            .await
            .is_ok_and(|records| !records.is_empty())
    })
    .await;
    let mut first = first;
    first.signal(libc::SIGKILL);
    let _ = first.child.wait();
    let second = Worker::start(url, dir, 1, Some(LEASE));
    wait_for(
        "the second worker to take the job again",
        &[&second],
        || async { started(dir).len() == 2 },
    )
    .await;
    std::fs::write(dir.join("release"), b"").unwrap();
    wait_for("the job to succeed", &[&second], || async {
        jobs.job(id)
            .await
            .is_ok_and(|job| job.is_some_and(|job| job.state == JobState::Succeeded))
    })
    .await;
    second.stop();
    let job = jobs.job(id).await.unwrap().unwrap();
    assert_eq!(job.attempts, 2);
    let attempts = jobs.attempts(id).await.unwrap();
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Crashed));
    assert_eq!(attempts[1].outcome, Some(AttemptOutcome::Succeeded));
    assert_ne!(attempts[0].worker, attempts[1].worker);
    // The log: the first run crashed, the retry ran and succeeded.
    let records = store
        .query(&RecordQuery::default().task("slow").limit(100))
        .await
        .unwrap();
    let actions: Vec<Action> = records.iter().map(|r| r.record.action).collect();
    assert_eq!(
        actions.iter().filter(|a| **a == Action::Run).count(),
        2,
        "{actions:?}"
    );
    assert!(actions.contains(&Action::Crash), "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == Action::Success).count(),
        1,
        "{actions:?}"
    );
}

/// SIGSTOP mid-job, SIGCONT after another worker finished it: the late result is refused.
async fn stall(url: &str, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let store = open(url).await;
    let jobs = store.jobs().unwrap();
    let workers = [
        Worker::start(url, dir, 0, Some(LEASE)),
        Worker::start(url, dir, 1, Some(LEASE)),
    ];
    let refs: Vec<&Worker> = workers.iter().collect();
    let id = jobs
        .enqueue(&NewJob::new(
            "slow",
            serde_json::json!(null),
            Timestamp::now(),
        ))
        .await
        .unwrap()
        .id;
    wait_for("a worker to start the job", &refs, || async {
        !started(dir).is_empty()
    })
    .await;
    let (stalled_pid, run) = started(dir)[0].clone();
    // Stopped once its `run` record is written: a worker frozen inside a write would hold
    // SQLite's write lock (the whole file) until it resumes.
    let run: scheduler::RunId = run.parse().unwrap();
    wait_for("the first run's record", &refs, || async {
        store
            .query(&RecordQuery::default().run(run))
            .await
            .is_ok_and(|records| !records.is_empty())
    })
    .await;
    let (stalled, other) = if workers[0].pid() == stalled_pid {
        (&workers[0], &workers[1])
    } else {
        (&workers[1], &workers[0])
    };
    stop_outside_a_write(url, stalled).await;
    wait_for("the other worker to take the job over", &refs, || async {
        started(dir).iter().any(|(pid, _)| *pid == other.pid())
    })
    .await;
    std::fs::write(dir.join("release"), b"").unwrap();
    wait_for("the job to succeed", &refs, || async {
        jobs.job(id)
            .await
            .is_ok_and(|job| job.is_some_and(|job| job.state == JobState::Succeeded))
    })
    .await;
    stalled.signal(libc::SIGCONT);
    // A graceful stop waits for the late run to end and for its report to be written
    // (refused: the attempt is no longer the job's), so what follows counts it.
    let stalled_pid = stalled.pid();
    let [a, b] = workers;
    let (stalled, other) = if a.pid() == stalled_pid {
        (a, b)
    } else {
        (b, a)
    };
    let other_pid = other.pid();
    stalled.stop();
    let job = jobs.job(id).await.unwrap().unwrap();
    assert_eq!((job.state, job.attempts), (JobState::Succeeded, 2));
    assert_eq!(
        job.result,
        Some(serde_json::json!(other_pid)),
        "the newer attempt's result"
    );
    let attempts = jobs.attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Crashed));
    assert_eq!(attempts[1].outcome, Some(AttemptOutcome::Succeeded));
    let counts = jobs.counts().await.unwrap();
    assert_eq!((counts.succeeded, counts.running, counts.queued), (1, 0, 0));
    // The log agrees with the queue: the late run does not claim a success the queue
    // refused; it ends as `terminate`, saying which attempt took its lease.
    wait_for("the late run's end in the log", &[&other], || async {
        store
            .query(&RecordQuery::default().run(run))
            .await
            .is_ok_and(|records| records.iter().any(|r| r.record.action == Action::Terminate))
    })
    .await;
    let late = store.query(&RecordQuery::default().run(run)).await.unwrap();
    let actions: Vec<Action> = late.iter().map(|r| r.record.action).collect();
    assert!(!actions.contains(&Action::Success), "{actions:?}");
    let end = late
        .iter()
        .find(|r| r.record.action == Action::Terminate)
        .unwrap();
    let message = end.record.message.as_deref().unwrap_or_default();
    assert!(message.contains("lease lost to attempt 2"), "{message}");
    let successes = store
        .query(
            &RecordQuery::default()
                .task("slow")
                .action(Action::Success)
                .limit(10),
        )
        .await
        .unwrap();
    assert_eq!(
        successes.len(),
        1,
        "one success in the log, the newer attempt's"
    );
    other.stop();
}

/// Stops `worker` with SIGSTOP at a moment it holds no write lock of a SQLite file (a
/// frozen writer would hold the whole file's): the driver takes the write lock itself to
/// check, and, failing that, resumes the worker so that it finishes its transaction and
/// stops it again. On PostgreSQL, at once.
async fn stop_outside_a_write(url: &str, worker: &Worker) {
    let Some(path) = url.strip_prefix("sqlite:") else {
        worker.signal(libc::SIGSTOP);
        return;
    };
    for tries in 1..=100 {
        worker.signal(libc::SIGSTOP);
        if sqlite_takes_a_write(Path::new(path)).await {
            println!("queue_processes: the SQLite worker stopped outside a write (try {tries})");
            return;
        }
        worker.signal(libc::SIGCONT);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    panic!(
        "the worker was inside a write every time it was stopped:\n{}",
        worker.output()
    );
}

/// Whether a write transaction on the file starts within half a second.
async fn sqlite_takes_a_write(path: &Path) -> bool {
    use sqlx::{ConnectOptions, Connection};
    let mut connection = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_millis(500))
        .connect()
        .await
        .unwrap();
    let began = sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut connection)
        .await
        .is_ok();
    if began {
        sqlx::query("ROLLBACK")
            .execute(&mut connection)
            .await
            .unwrap();
    }
    let _ = connection.close().await;
    began
}
