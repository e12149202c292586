//! One-off dates in a running scheduler, on a virtual clock: `once at ...` runs at its
//! instant exactly (no polling); a program started late runs it within the misfire grace,
//! and past the grace skips it with an `inaction` record that says why (once); a date
//! task that has run never runs again, also after a restart on the same durable log
//! (SQLite in a temporary directory; PostgreSQL in a database of its own on the server
//! `SCHEDULER_TEST_POSTGRES_URL` names, skipped with a message without it, failing under
//! `CI=true`).

mod common;
#[path = "common/pg.rs"]
mod pg;

use std::sync::Arc;
use std::time::Duration;

use common::{records, run_for, times, utc, virtual_scheduler, virtual_scheduler_with};
use scheduler::condition::MissedDate;
use scheduler::log::store::RecordQuery;
use scheduler::{
    Action, Condition, LogRecord, LogStore, MemoryStore, PostgresStore, SqliteStore, TaskSpec,
};

fn condition(text: &str) -> Condition {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn date_task(when: &str) -> TaskSpec {
    TaskSpec::from_blocking("deliver", |_| ()).when(condition(when))
}

/// `HH:MM:SS.ffffff` of each record.
fn exact_times(records: &[LogRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.at.to_datetime().format("%H:%M:%S%.6f").to_string())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_running_program_runs_the_date_at_its_instant_once() {
    let store = Arc::new(MemoryStore::new());
    let builder = virtual_scheduler(utc(2026, 12, 1, 7, 0, 0), &store)
        .task(date_task("once at 2026-12-01T08:00:00.250"));
    run_for(builder, Duration::from_secs(3 * 3600)).await;
    assert_eq!(
        exact_times(&records(&store, "deliver", Action::Run)),
        ["08:00:00.250000"]
    );
    assert!(records(&store, "deliver", Action::Inaction).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_program_started_late_runs_within_the_grace() {
    let store = Arc::new(MemoryStore::new());
    let builder = virtual_scheduler(utc(2026, 12, 1, 8, 40, 0), &store)
        .task(date_task("once at 2026-12-01T08:00:00 grace 45 minutes"));
    run_for(builder, Duration::from_secs(2 * 3600)).await;
    assert_eq!(
        times(&records(&store, "deliver", Action::Run)),
        ["Tue 08:40:00"]
    );
    assert_eq!(records(&store, "deliver", Action::Success).len(), 1);
    assert!(records(&store, "deliver", Action::Inaction).is_empty());
}

#[tokio::test(start_paused = true)]
async fn past_the_grace_the_date_is_skipped_and_the_log_says_why_once() {
    let store = Arc::new(MemoryStore::new());
    // The default grace is an hour: at 09:30 the 08:00 date is missed.
    let builder = virtual_scheduler(utc(2026, 12, 1, 9, 30, 0), &store)
        .task(date_task("once at 2026-12-01T08:00:00"));
    run_for(builder, Duration::from_secs(3600)).await;
    assert!(records(&store, "deliver", Action::Run).is_empty());
    let skipped = records(&store, "deliver", Action::Inaction);
    assert_eq!(times(&skipped), ["Tue 09:30:00"]);
    let message = skipped[0].message.as_deref().unwrap_or_default();
    assert!(message.starts_with(MissedDate::PREFIX), "{message}");
    assert_eq!(
        message,
        "missed the one-off date 2026-12-01T08:00:00 (due 2026-12-01T08:00:00Z): its misfire grace of 1 hour ended without a run"
    );

    // Started again on the same log, the date stays missed and is not recorded again.
    let builder = virtual_scheduler(utc(2026, 12, 1, 11, 0, 0), &store)
        .task(date_task("once at 2026-12-01T08:00:00"));
    run_for(builder, Duration::from_secs(3600)).await;
    assert!(records(&store, "deliver", Action::Run).is_empty());
    assert_eq!(records(&store, "deliver", Action::Inaction).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_date_held_back_until_its_grace_ends_is_recorded_when_it_ends() {
    let store = Arc::new(MemoryStore::new());
    // The rest of the condition never holds: the leaf alone changes at 08:10:00.000001,
    // and the scheduler wakes then to record the miss, though the whole stays false (tokio's
    // timers, which the virtual clock follows, fire at whole milliseconds).
    let builder = virtual_scheduler(utc(2026, 12, 1, 7, 0, 0), &store).task(date_task(
        "once at 2026-12-01T08:00:00 grace 10 minutes & param 'go' exists",
    ));
    run_for(builder, Duration::from_secs(3 * 3600)).await;
    assert!(records(&store, "deliver", Action::Run).is_empty());
    assert_eq!(
        exact_times(&records(&store, "deliver", Action::Inaction)),
        ["08:10:00.001000"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_date_among_alternatives_is_not_recorded_as_missed() {
    let store = Arc::new(MemoryStore::new());
    // `| daily after 23:00`: an inaction record would count as today's finish of `daily`.
    let builder = virtual_scheduler(utc(2026, 12, 1, 9, 30, 0), &store)
        .task(date_task("once at 2026-12-01T08:00:00 | daily after 23:00"));
    run_for(builder, Duration::from_secs(14 * 3600)).await;
    assert!(records(&store, "deliver", Action::Inaction).is_empty());
    assert_eq!(
        times(&records(&store, "deliver", Action::Run)),
        ["Tue 23:00:00"]
    );
}

/// A durable log that each new "process" opens again.
trait DurableLog {
    async fn open(&self) -> Arc<dyn LogStore>;
}

/// A SQLite log in a temporary directory, removed when dropped.
struct TempLog(std::path::PathBuf);

impl TempLog {
    fn new(name: &str) -> TempLog {
        let dir = std::env::temp_dir().join(format!(
            "scheduler-dates-{name}-{}-{}",
            std::process::id(),
            scheduler::InstanceId::random()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempLog(dir)
    }
}

impl DurableLog for TempLog {
    async fn open(&self) -> Arc<dyn LogStore> {
        Arc::new(SqliteStore::open(self.0.join("log.db")).await.unwrap())
    }
}

impl Drop for TempLog {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl DurableLog for pg::TestDatabase {
    async fn open(&self) -> Arc<dyn LogStore> {
        Arc::new(PostgresStore::open(self.url()).await.unwrap())
    }
}

async fn stored(store: &Arc<dyn LogStore>, action: Action) -> Vec<LogRecord> {
    store
        .query(&RecordQuery::default().task("deliver").action(action))
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.record)
        .collect()
}

/// Runs the date task on a clock starting at `start` (moving with real time: the stores'
/// I/O runs on threads of their own, which paused tokio time would not wait for) until the
/// task `probe`, which every start-up pass looks at with the others, has run; then stops.
async fn one_pass(log: &impl DurableLog, start: chrono::DateTime<chrono::Utc>, when: &str) {
    let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let probe = TaskSpec::from_blocking("probe", move |_| {
        let _ = ran.send(());
    })
    .when(condition("true"));
    let running = virtual_scheduler_with(start, log.open().await)
        .task(date_task(when))
        .task(probe)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .start()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(60), runs.recv())
        .await
        .expect("the probe runs within a minute")
        .expect("the probe's sender");
    running.session().shut_down();
    running.await.unwrap_or_else(|e| panic!("{e}"));
}

async fn a_date_task_that_ran_never_runs_again(log: &impl DurableLog) {
    let when = "once at 2026-12-01T08:00:00 grace 2 hours";
    // The first process starts inside the grace and runs the date.
    one_pass(log, utc(2026, 12, 1, 8, 0, 0), when).await;
    let store = log.open().await;
    assert_eq!(times(&stored(&store, Action::Run).await), ["Tue 08:00:00"]);
    drop(store);

    // A new process, still inside the grace: without the log the date would be due again.
    one_pass(log, utc(2026, 12, 1, 8, 30, 0), when).await;
    let store = log.open().await;
    assert_eq!(times(&stored(&store, Action::Run).await), ["Tue 08:00:00"]);
    assert!(stored(&store, Action::Inaction).await.is_empty());
}

async fn a_missed_date_is_recorded_once(log: &impl DurableLog) {
    let when = "once at 2026-12-01T08:00:00 grace 10 minutes";
    for start in [utc(2026, 12, 1, 9, 0, 0), utc(2026, 12, 2, 9, 0, 0)] {
        one_pass(log, start, when).await;
    }
    let store = log.open().await;
    assert!(stored(&store, Action::Run).await.is_empty());
    let skipped = stored(&store, Action::Inaction).await;
    assert_eq!(times(&skipped), ["Tue 09:00:00"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_task_that_ran_never_runs_again_after_a_restart_on_sqlite() {
    a_date_task_that_ran_never_runs_again(&TempLog::new("ran")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_date_is_recorded_once_across_restarts_on_sqlite() {
    a_missed_date_is_recorded_once(&TempLog::new("missed")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_date_task_that_ran_never_runs_again_after_a_restart_on_postgres() {
    let test = "runtime_dates_ran";
    let Some(server) = pg::server_url(test) else {
        return;
    };
    a_date_task_that_ran_never_runs_again(&pg::TestDatabase::create(&server, test).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_date_is_recorded_once_across_restarts_on_postgres() {
    let test = "runtime_dates_missed";
    let Some(server) = pg::server_url(test) else {
        return;
    };
    a_missed_date_is_recorded_once(&pg::TestDatabase::create(&server, test).await).await;
}
