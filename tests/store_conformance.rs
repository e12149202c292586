//! One conformance suite for every log store: the same cases, written once over the
//! `LogStore` trait, run against the memory store, a SQLite file in a temporary directory,
//! and PostgreSQL (a database of its own per case, on the server that
//! `SCHEDULER_TEST_POSTGRES_URL` names; without it the PostgreSQL cases say why they skip,
//! and fail under `CI=true`).
//!
//! Each case is a generic function over a [`Backend`], which gives a store on nothing and
//! opens it again as a new process would (a new pool on the same file or database; the
//! memory store, which has nothing to reopen, gives itself). The cases that need to break
//! a store from outside (a batch that fails half-way, a schema written by a newer version,
//! programs starting together on an empty database) run on the persistent stores, and a
//! few cases of PostgreSQL's own errors follow at the end.

#[path = "common/pg.rs"]
mod pg;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use scheduler::log::store::{
    InstanceRecord, LoadRequest, Loaded, OpenRun, PruneRule, RecordQuery, StoreErrorKind,
    StoredRecord,
};
use scheduler::log::{Retention, store};
use scheduler::time::Timestamp;
use scheduler::{
    Action, InstanceId, LogRecord, LogStore, MemoryStore, PostgresStore, RunId, SqliteStore,
    StoreError,
};
use sqlx::{AssertSqlSafe, Connection};

// ---------------------------------------------------------------------------------------
// Backends

/// A kind of store the suite runs against.
trait Backend: Sized {
    /// A store on nothing yet, for the case `test`; `None` when this kind cannot run here
    /// (it said why).
    async fn fresh(test: &str) -> Option<Self>;

    /// Opens the store, again if it was opened before: a new pool on the same file or
    /// database, as a new process would.
    async fn try_open(&self) -> Result<Arc<dyn LogStore>, StoreError>;

    /// The same, which must succeed.
    async fn open(&self) -> Arc<dyn LogStore> {
        self.try_open()
            .await
            .unwrap_or_else(|e| panic!("cannot open the store: {}", chain(&e)))
    }
}

/// A persistent store, which a test can also reach beside the store's API.
trait Persistent: Backend {
    /// Runs `statements` on the database, outside the store.
    async fn execute(&self, statements: &[&str]);

    /// The result of a query that gives one integer.
    async fn scalar(&self, query: &str) -> i64;

    /// Makes any insert of an open run of the task `poison` fail (a trigger), so that a
    /// batch fails after some of its statements succeeded.
    async fn poison_open_runs(&self);

    /// Removes the trigger of [`poison_open_runs`](Self::poison_open_runs).
    async fn heal(&self);
}

/// The memory store; "opening it again" gives the same store.
struct Memory(Arc<MemoryStore>);

impl Backend for Memory {
    async fn fresh(_test: &str) -> Option<Self> {
        Some(Memory(Arc::new(MemoryStore::new())))
    }

    async fn try_open(&self) -> Result<Arc<dyn LogStore>, StoreError> {
        Ok(self.0.clone())
    }
}

/// A SQLite file in a directory of its own, removed after the case.
struct Sqlite {
    dir: PathBuf,
}

impl Sqlite {
    fn file(&self) -> PathBuf {
        self.dir.join("log.db")
    }

    async fn connect(&self) -> sqlx::SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::new().filename(self.file());
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .expect("the test connects to the SQLite file")
    }
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Backend for Sqlite {
    async fn fresh(_test: &str) -> Option<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "scheduler-conformance-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Some(Sqlite { dir })
    }

    async fn try_open(&self) -> Result<Arc<dyn LogStore>, StoreError> {
        Ok(Arc::new(SqliteStore::open(self.file()).await?))
    }
}

impl Persistent for Sqlite {
    async fn execute(&self, statements: &[&str]) {
        let mut connection = self.connect().await;
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement.to_string()))
                .execute(&mut connection)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        connection.close().await.unwrap();
    }

    async fn scalar(&self, query: &str) -> i64 {
        let mut connection = self.connect().await;
        let value: i64 = sqlx::query_scalar(AssertSqlSafe(query.to_owned()))
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        connection.close().await.unwrap();
        value
    }

    async fn poison_open_runs(&self) {
        self.execute(&[
            "CREATE TRIGGER poison BEFORE INSERT ON scheduler_open_runs \
             WHEN NEW.task = 'poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        ])
        .await;
    }

    async fn heal(&self) {
        self.execute(&["DROP TRIGGER poison"]).await;
    }
}

/// A PostgreSQL database of its own, dropped after the case.
struct Postgres(pg::TestDatabase);

impl Backend for Postgres {
    async fn fresh(test: &str) -> Option<Self> {
        let server = pg::server_url(test)?;
        Some(Postgres(pg::TestDatabase::create(&server, test).await))
    }

    async fn try_open(&self) -> Result<Arc<dyn LogStore>, StoreError> {
        Ok(Arc::new(PostgresStore::open(self.0.url()).await?))
    }
}

impl Persistent for Postgres {
    async fn execute(&self, statements: &[&str]) {
        let mut connection = self.0.connect().await;
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement.to_string()))
                .execute(&mut connection)
                .await
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        connection.close().await.unwrap();
    }

    async fn scalar(&self, query: &str) -> i64 {
        let mut connection = self.0.connect().await;
        let value: i64 = sqlx::query_scalar(AssertSqlSafe(query.to_owned()))
            .fetch_one(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        connection.close().await.unwrap();
        value
    }

    async fn poison_open_runs(&self) {
        self.execute(&[
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN RAISE EXCEPTION 'poisoned'; END $$",
            "CREATE TRIGGER poison BEFORE INSERT ON scheduler_open_runs FOR EACH ROW \
             WHEN (NEW.task = 'poison') EXECUTE FUNCTION poison()",
        ])
        .await;
    }

    async fn heal(&self) {
        self.execute(&["DROP TRIGGER poison ON scheduler_open_runs"])
            .await;
    }
}

/// The cases, one test per case and backend.
macro_rules! cases {
    ($backend:ident: $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let test = concat!(module_path!(), "::", stringify!($case));
                if let Some(backend) = <super::$backend as super::Backend>::fresh(test).await {
                    super::$case(&backend).await;
                }
            }
        )*
    };
}

macro_rules! every_store_cases {
    ($backend:ident) => {
        cases!($backend:
            round_trip_keeps_every_field,
            load_gives_what_retention_asks,
            open_runs_come_and_go_by_run_id,
            query_filters_by_task_action_time_and_run,
            query_pages_in_the_order_written,
            latest_is_per_task_and_action,
            instances_register_and_reload,
            prune_keeps_what_conditions_ask,
            reopening_sees_everything,
            a_change_is_kept_but_not_loaded,
        );
    };
}

mod memory {
    every_store_cases!(Memory);
}

mod sqlite {
    every_store_cases!(Sqlite);
    cases!(Sqlite:
        a_batch_is_atomic,
        a_batch_written_twice_adds_nothing,
        a_newer_schema_is_refused_untouched,
        programs_starting_together_create_the_schema_once,
    );
}

mod postgres {
    every_store_cases!(Postgres);
    cases!(Postgres:
        a_batch_is_atomic,
        a_batch_written_twice_adds_nothing,
        a_newer_schema_is_refused_untouched,
        programs_starting_together_create_the_schema_once,
        pg_nul_in_text_is_replaced,
        pg_foreign_tables_are_corrupt_and_untouched,
        pg_read_only_database_is_read_only,
        pg_lost_connections_are_replaced,
    );

    #[tokio::test]
    async fn pg_unreachable_server_is_unavailable_and_hides_the_password() {
        super::pg_unreachable_server_is_unavailable_and_hides_the_password().await;
    }

    #[tokio::test]
    async fn pg_missing_database_is_an_invalid_url() {
        if let Some(server) = super::pg::server_url(module_path!()) {
            super::pg_missing_database_is_an_invalid_url(&server).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helpers

/// The instant `secs` seconds after a fixed day.
fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(1_717_243_200_000_000 + secs * 1_000_000)
}

fn record(task: &str, action: Action, secs: i64) -> LogRecord {
    LogRecord::new(task, action, at(secs))
}

fn in_run(record: LogRecord, run: u128) -> LogRecord {
    record.with_run(RunId::from_u128(run))
}

/// A run of `task`: its `run` record at `start` and its end `length` seconds later, with a
/// duration and the instance 7.
fn run(task: &str, id: u128, start: i64, end: Action, length: i64) -> [LogRecord; 2] {
    let mut started = in_run(record(task, Action::Run, start), id);
    started.instance = Some(InstanceId::from_u64(7));
    let mut ended = in_run(record(task, end, start + length), id);
    ended.instance = Some(InstanceId::from_u64(7));
    ended.duration_micros = Some(length * 1_000_000);
    [started, ended]
}

/// Every record of the store, oldest first, read a page at a time.
async fn everything(store: &dyn LogStore) -> Vec<StoredRecord> {
    let mut all = Vec::new();
    loop {
        let query = RecordQuery {
            after_seq: all.last().map(|r: &StoredRecord| r.seq),
            limit: 1000,
            ..RecordQuery::default()
        };
        let page = store.query(&query).await.expect("the store answers");
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

async fn records(store: &dyn LogStore) -> Vec<LogRecord> {
    everything(store)
        .await
        .into_iter()
        .map(|r| r.record)
        .collect()
}

/// Records in a canonical order, to compare sets.
fn sorted(mut records: Vec<LogRecord>) -> Vec<LogRecord> {
    records.sort_by(|a, b| (&a.task, a.at, a.action).cmp(&(&b.task, b.at, b.action)));
    records
}

fn open_runs(loaded: &Loaded) -> Vec<OpenRun> {
    let mut open = loaded.open_runs.clone();
    open.sort_by_key(|r| r.run_id);
    open
}

fn open_ids(loaded: &Loaded) -> Vec<u128> {
    open_runs(loaded)
        .iter()
        .map(|r| r.run_id.as_u128())
        .collect()
}

fn request(tasks: &[&str], retention: Retention) -> LoadRequest {
    LoadRequest {
        tasks: tasks.iter().map(|t| (t.to_string(), retention)).collect(),
    }
}

async fn load(store: &dyn LogStore, request: &LoadRequest) -> Loaded {
    store.load(request).await.expect("the store loads")
}

/// The error and its causes, on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a [`LoadRequest`] with `retention` must give of one task's `records` (written in
/// this order), as the documentation of `Retention` and `Loaded` says: the latest record
/// of each action, the newest `per_action` of each action, and for a window longer than
/// zero every record of the window back from the newest record with the last one before
/// it. Written apart from the stores, as the suite's reference.
fn expected_load(records: &[LogRecord], retention: Retention) -> Vec<LogRecord> {
    let Some(newest) = records.iter().map(|r| r.at).max() else {
        return Vec::new();
    };
    let mut keep = vec![false; records.len()];
    if retention.window_micros > 0 {
        let cutoff = newest.as_micros().saturating_sub(retention.window_micros);
        let mut before: Option<usize> = None;
        for (i, r) in records.iter().enumerate() {
            if r.at.as_micros() >= cutoff {
                keep[i] = true;
            } else if before.is_none_or(|b| records[b].at < r.at) {
                before = Some(i);
            }
        }
        if let Some(i) = before {
            keep[i] = true;
        }
    }
    for action in Action::OF_RUNS {
        let mut of_action: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].action == action)
            .collect();
        of_action.sort_by_key(|&i| std::cmp::Reverse(records[i].at));
        for &i in of_action.iter().take(retention.per_action.max(1) as usize) {
            keep[i] = true;
        }
    }
    sorted(
        records
            .iter()
            .zip(keep)
            .filter(|(_, k)| *k)
            .map(|(r, _)| r.clone())
            .collect(),
    )
}

/// The task `t`: twenty runs ten seconds apart, ending in success, failure or inaction,
/// and a crash; written in batches of seven, out of order inside some.
fn history_of_t() -> Vec<LogRecord> {
    let mut records = Vec::new();
    for i in 0..20 {
        let end = match i % 3 {
            0 => Action::Fail,
            1 => Action::Success,
            _ => Action::Inaction,
        };
        records.extend(run("t", 100 + i as u128, 10 * i, end, 3));
    }
    records.push(in_run(record("t", Action::Run, 205), 200));
    records.push(in_run(record("t", Action::Crash, 207), 200));
    records
}

// ---------------------------------------------------------------------------------------
// The cases of every store

async fn round_trip_keeps_every_field<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let id = RunId::from_u128(u128::MAX - 5);
    let instance = InstanceId::from_u64(u64::MAX - 1);
    let mut started = LogRecord::new("ingest", Action::Run, at(1));
    started.run_id = Some(id);
    started.instance = Some(instance);
    let mut succeeded = LogRecord::new("ingest", Action::Success, at(3));
    succeeded.run_id = Some(id);
    succeeded.instance = Some(instance);
    succeeded.duration_micros = Some(1_500_000);
    succeeded.output = Some("line ✓ ünïcödé\n".repeat(500));
    succeeded.value = Some(r#"{"rows":[1,2,3],"name":"x \"quoted\""}"#.to_owned());
    let mut failed = LogRecord::new("ingest", Action::Fail, at(5));
    failed.run_id = Some(RunId::from_u128(1));
    failed.duration_micros = Some(0);
    failed.message = Some("panicked at 'index out of bounds', src/main.rs:3:5".to_owned());
    failed.output = Some(String::new());
    let bare = LogRecord::new("bare task", Action::Inaction, Timestamp::from_micros(0));
    let written = vec![started, succeeded, failed, bare];
    store.append(&written).await.unwrap();

    let stored = everything(&*store).await;
    assert_eq!(
        stored.iter().map(|r| r.record.clone()).collect::<Vec<_>>(),
        written,
        "the query gives each record as written, in the order written"
    );
    assert!(stored.windows(2).all(|w| w[0].seq < w[1].seq));
    let loaded = load(&*store, &request(&["ingest", "bare task"], Retention::ALL)).await;
    assert_eq!(sorted(loaded.records), sorted(written.clone()));
    assert_eq!(
        sorted(store.latest(&[]).await.unwrap()),
        sorted(written),
        "each record is the latest of its action"
    );
}

async fn load_gives_what_retention_asks<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let t = history_of_t();
    let mut other = Vec::new();
    for i in 0..5 {
        other.extend(run(
            "other",
            1000 + i,
            10 * i as i64 + 1,
            Action::Success,
            1,
        ));
    }
    // Batches of seven, the task's records mixed with another's, one batch out of order.
    let mut all: Vec<LogRecord> = t.iter().chain(&other).cloned().collect();
    all.sort_by_key(|r| r.at);
    for (n, batch) in all.chunks(7).enumerate() {
        let mut batch = batch.to_vec();
        if n == 2 {
            batch.reverse();
        }
        store.append(&batch).await.unwrap();
    }
    let day = 86_400_000_000;
    for retention in [
        Retention::LATEST,
        Retention::window(25_000_000),
        Retention::window(25_000_000).with_per_action(4),
        Retention::LATEST.with_per_action(3),
        Retention::window(day),
        Retention::ALL,
    ] {
        let loaded = load(&*store, &request(&["t", "quiet"], retention)).await;
        assert_eq!(
            sorted(loaded.records),
            expected_load(&t, retention),
            "{retention:?}: the records of t a condition can ask, once each, and nothing of \
             other tasks (`quiet` has none)"
        );
    }
    // The latest of each action of the task, exactly.
    let loaded = load(&*store, &request(&["t"], Retention::LATEST)).await;
    let actions: Vec<Action> = sorted(loaded.records.clone())
        .iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(
        actions.len(),
        5,
        "run, success, fail, inaction, crash: {actions:?}"
    );
    assert!(
        load(&*store, &LoadRequest::default())
            .await
            .records
            .is_empty(),
        "no task asked, no record"
    );
}

/// A `change` record (a setting changed at run time) is written and queried like any
/// other, but is not part of a task's history: a load gives what it gave without it (its
/// instant, the newest of the task, does not move the windows either).
async fn a_change_is_kept_but_not_loaded<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let t = history_of_t();
    store.append(&t).await.unwrap();
    let newest = t.iter().map(|r| r.at).max().unwrap();
    let mut change = LogRecord::new(
        "t",
        Action::Change,
        Timestamp::from_micros(newest.as_micros() + 3_600_000_000),
    );
    change.message = Some("priority: 0 → 5".to_owned());
    change.value = Some(r#"{"setting":"priority","old":"0","new":"5"}"#.to_owned());
    let mut param = LogRecord::new("", Action::Change, change.at);
    param.message = Some("param 'batch': 100 → 500".to_owned());
    store
        .append(&[change.clone(), param.clone()])
        .await
        .unwrap();
    let changes: Vec<LogRecord> = store
        .query(&RecordQuery::default().action(Action::Change))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.record)
        .collect();
    assert_eq!(changes, [change, param]);
    for retention in [
        Retention::LATEST,
        Retention::window(25_000_000),
        Retention::LATEST.with_per_action(3),
        Retention::ALL,
    ] {
        let loaded = load(&*store, &request(&["t", ""], retention)).await;
        assert_eq!(
            sorted(loaded.records),
            expected_load(&t, retention),
            "{retention:?}: the records of t's runs, as without the change"
        );
    }
}

async fn open_runs_come_and_go_by_run_id<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let [a_run, a_end] = run("a", 1, 1, Action::Fail, 9);
    let [b_run, _] = run("b", 2, 2, Action::Success, 1);
    let [c_run, c_end] = run("a", 3, 3, Action::Success, 2);
    store
        .append(&[a_run.clone(), b_run.clone(), c_run.clone()])
        .await
        .unwrap();
    let loaded = load(&*store, &LoadRequest::default()).await;
    assert_eq!(
        open_runs(&loaded),
        [
            OpenRun {
                run_id: RunId::from_u128(1),
                task: "a".into(),
                instance: Some(InstanceId::from_u64(7)),
                started: at(1),
            },
            OpenRun {
                run_id: RunId::from_u128(2),
                task: "b".into(),
                instance: Some(InstanceId::from_u64(7)),
                started: at(2),
            },
            OpenRun {
                run_id: RunId::from_u128(3),
                task: "a".into(),
                instance: Some(InstanceId::from_u64(7)),
                started: at(3),
            },
        ]
    );
    // The second run of `a` ends first: its run id closes it, not the order of the runs.
    store.append(&[c_end]).await.unwrap();
    assert_eq!(
        open_ids(&load(&*store, &LoadRequest::default()).await),
        [1, 2]
    );
    // A run that starts and ends in one batch is never open; a crash closes a run.
    let [d_run, d_end] = run("d", 4, 6, Action::Success, 1);
    let crash = in_run(record("b", Action::Crash, 8), 2);
    store.append(&[d_run, d_end, crash]).await.unwrap();
    assert_eq!(open_ids(&load(&*store, &LoadRequest::default()).await), [1]);
    store.append(&[a_end]).await.unwrap();
    assert!(
        load(&*store, &LoadRequest::default())
            .await
            .open_runs
            .is_empty()
    );
    // A queued job's run is watched by the queue's lease, not kept open here.
    let job_run = scheduler::queue::job_run_id(at(9), scheduler::queue::JobId(41), 1);
    assert!(job_run.is_job_run());
    let mut started = in_run(record("send", Action::Run, 9), 0);
    started.run_id = Some(job_run);
    store.append(&[started]).await.unwrap();
    let loaded = load(&*store, &LoadRequest::default()).await;
    assert!(loaded.open_runs.is_empty());
    let kept = everything(&*store).await;
    assert_eq!(kept.iter().filter(|r| r.record.task == "send").count(), 1);
}

async fn query_filters_by_task_action_time_and_run<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let mut written = Vec::new();
    for i in 0..10 {
        let end = if i % 2 == 0 {
            Action::Success
        } else {
            Action::Fail
        };
        written.extend(run("x", 10 + i as u128, 10 * i, end, 2));
        written.extend(run("y", 50 + i as u128, 10 * i + 5, Action::Success, 1));
    }
    written.sort_by_key(|r| r.at);
    store.append(&written).await.unwrap();
    let tasks = |found: &[StoredRecord]| -> Vec<(String, Action, Timestamp)> {
        found
            .iter()
            .map(|r| (r.record.task.clone(), r.record.action, r.record.at))
            .collect()
    };
    let query = |q: RecordQuery| {
        let store = store.clone();
        async move { store.query(&q).await.unwrap() }
    };
    let of_x = query(RecordQuery::default().task("x")).await;
    assert_eq!(of_x.len(), 20);
    assert!(of_x.iter().all(|r| r.record.task == "x"));
    assert!(of_x.windows(2).all(|w| w[0].seq < w[1].seq));

    let failures = query(RecordQuery::default().action(Action::Fail)).await;
    assert_eq!(failures.len(), 5);
    assert!(failures.iter().all(|r| r.record.action == Action::Fail));
    let ends = query(
        RecordQuery::default()
            .action(Action::Fail)
            .action(Action::Success),
    )
    .await;
    assert_eq!(ends.len(), 20, "5 failures and 15 successes");

    // Both bounds are inclusive: x's run at 20 s and y's success at 36 s are in.
    let window = query(RecordQuery::default().between(at(20), at(36))).await;
    let expected: Vec<(String, Action, Timestamp)> = written
        .iter()
        .filter(|r| r.at >= at(20) && r.at <= at(36))
        .map(|r| (r.task.clone(), r.action, r.at))
        .collect();
    assert_eq!(tasks(&window), expected);
    assert_eq!(expected.len(), 8);

    let one_run = query(RecordQuery::default().run(RunId::from_u128(13))).await;
    assert_eq!(
        tasks(&one_run),
        [
            ("x".to_owned(), Action::Run, at(30)),
            ("x".to_owned(), Action::Fail, at(32))
        ]
    );
    let narrow = query(
        RecordQuery::default()
            .task("x")
            .action(Action::Success)
            .between(at(0), at(45)),
    )
    .await;
    assert_eq!(
        narrow.iter().map(|r| r.record.at).collect::<Vec<_>>(),
        [at(2), at(22), at(42)]
    );
    assert!(
        query(RecordQuery::default().task("nobody"))
            .await
            .is_empty()
    );
}

async fn query_pages_in_the_order_written<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let mut written = Vec::new();
    for batch in 0..3 {
        let records: Vec<LogRecord> = (0..9)
            .map(|i| {
                // Out of time order inside a batch: the order written is what counts.
                let secs = 100 * batch + (8 - i);
                let task = if i % 3 == 0 { "p" } else { "q" };
                record(task, Action::Run, secs)
            })
            .collect();
        store.append(&records).await.unwrap();
        written.extend(records);
    }
    let all = everything(&*store).await;
    assert_eq!(
        all.iter().map(|r| r.record.clone()).collect::<Vec<_>>(),
        written
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq), "seq grows");

    let first = store
        .query(&RecordQuery::default().limit(10))
        .await
        .unwrap();
    assert_eq!(first, all[..10]);
    let last = store
        .query(&RecordQuery::default().limit(10).newest_first())
        .await
        .unwrap();
    let mut newest: Vec<StoredRecord> = all[all.len() - 10..].to_vec();
    newest.reverse();
    assert_eq!(last, newest, "the last ten, newest first");

    // Forward by `after_seq`, backward by `before_seq`: each record once.
    let mut forward = Vec::new();
    loop {
        let page = store
            .query(&RecordQuery {
                after_seq: forward.last().map(|r: &StoredRecord| r.seq),
                limit: 4,
                ..RecordQuery::default()
            })
            .await
            .unwrap();
        assert!(page.len() <= 4);
        if page.is_empty() {
            break;
        }
        forward.extend(page);
    }
    assert_eq!(forward, all);
    let mut backward = Vec::new();
    loop {
        let page = store
            .query(&RecordQuery {
                before_seq: backward.last().map(|r: &StoredRecord| r.seq),
                limit: 4,
                newest_first: true,
                ..RecordQuery::default()
            })
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        backward.extend(page);
    }
    backward.reverse();
    assert_eq!(backward, all);
    // A page of one task.
    let of_p = store
        .query(&RecordQuery {
            after_seq: Some(all[3].seq),
            ..RecordQuery::default().task("p").limit(3)
        })
        .await
        .unwrap();
    let expected: Vec<StoredRecord> = all[4..]
        .iter()
        .filter(|r| r.record.task == "p")
        .take(3)
        .cloned()
        .collect();
    assert_eq!(of_p, expected);
    assert_eq!(of_p.len(), 3);
}

async fn latest_is_per_task_and_action<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let [r1, s1] = run("x", 1, 10, Action::Success, 2);
    let [r2, f2] = run("x", 2, 20, Action::Fail, 2);
    let [r3, s3] = run("y", 3, 5, Action::Success, 1);
    // Newer records first in a batch, and an older one in a later batch: the latest is
    // the one with the latest instant, not the last written.
    store
        .append(&[r2.clone(), f2.clone(), r1.clone(), s1.clone()])
        .await
        .unwrap();
    store.append(&[r3.clone(), s3.clone()]).await.unwrap();
    store
        .append(&[record("x", Action::Fail, 15)])
        .await
        .unwrap();
    let latest = store.latest(&[]).await.unwrap();
    assert_eq!(
        latest,
        [s1.clone(), r2.clone(), f2.clone(), r3, s3],
        "by task, then time"
    );
    assert_eq!(store.latest(&["x".to_owned()]).await.unwrap(), [s1, r2, f2]);
    assert!(
        store
            .latest(&["nobody".to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
    let activity = store::activity(&*store, &[]).await.unwrap();
    assert_eq!(activity.len(), 2);
    assert_eq!(activity[0].last_failure, Some(at(22)));
    assert_eq!(activity[0].last_success, Some(at(12)));
}

async fn instances_register_and_reload<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let first = InstanceRecord {
        id: InstanceId::from_u64(u64::MAX - 3),
        name: "worker-ü".into(),
        host: "host-1".into(),
        pid: u32::MAX,
        started: at(0),
        last_seen: at(0),
        stopped: None,
    };
    let second = InstanceRecord {
        id: InstanceId::from_u64(9),
        name: "other".into(),
        host: "host-2".into(),
        pid: 42,
        started: at(5),
        last_seen: at(5),
        stopped: None,
    };
    store.register(&first).await.unwrap();
    store.register(&second).await.unwrap();
    let instances = |loaded: Loaded| {
        let mut instances = loaded.instances;
        instances.sort_by_key(|i| i.id);
        instances
    };
    assert_eq!(
        instances(load(&*store, &LoadRequest::default()).await),
        [second.clone(), first.clone()]
    );
    // It says it is alive, then that it stopped: one record, updated.
    let alive = InstanceRecord {
        last_seen: at(60),
        ..first.clone()
    };
    store.register(&alive).await.unwrap();
    let stopped = InstanceRecord {
        last_seen: at(90),
        stopped: Some(at(90)),
        ..first
    };
    store.register(&stopped).await.unwrap();
    assert_eq!(
        instances(load(&*store, &LoadRequest::default()).await),
        [second, stopped]
    );
}

async fn prune_keeps_what_conditions_ask<B: Backend>(backend: &B) {
    let store = backend.open().await;
    let mut written = Vec::new();
    for i in 0..15 {
        let end = if i % 4 == 0 {
            Action::Fail
        } else {
            Action::Success
        };
        written.extend(run("p", 100 + i as u128, 2 * i, end, 1));
        written.push(in_run(record("q", Action::Run, 2 * i), 500 + i as u128));
    }
    store.append(&written).await.unwrap();
    // What a condition asks of `p` (the window of five seconds back from its newest record
    // at 29 s, the last before it and the newest two of each action), before pruning.
    let retention = Retention::window(5_000_000).with_per_action(2);
    let asked = sorted(load(&*store, &request(&["p"], retention)).await.records);
    let latest = store.latest(&[]).await.unwrap();
    let rules = [
        PruneRule {
            task: "p".into(),
            older_than: Some(at(20)),
            beyond_count: None,
            protect_from: at(23),
            keep_per_action: 2,
        },
        PruneRule {
            task: "q".into(),
            older_than: None,
            beyond_count: Some(5),
            protect_from: at(1000),
            keep_per_action: 1,
        },
    ];
    // The reference: `PruneRule::deletes` over each task's records, newest first.
    let all = everything(&*store).await;
    let mut survivors: Vec<StoredRecord> = Vec::new();
    for rule in &rules {
        let mut of_task: Vec<&StoredRecord> =
            all.iter().filter(|r| r.record.task == rule.task).collect();
        of_task.sort_by_key(|r| std::cmp::Reverse((r.record.at, r.seq)));
        let mut per_action = std::collections::HashMap::new();
        for (rank, r) in of_task.into_iter().enumerate() {
            let n = per_action.entry(r.record.action).or_insert(0u64);
            *n += 1;
            if !rule.deletes(r.record.at, *n, rank as u64 + 1) {
                survivors.push(r.clone());
            }
        }
    }
    survivors.sort_by_key(|r| r.seq);
    let expected_gone = (all.len() - survivors.len()) as u64;
    assert!(
        expected_gone >= 15,
        "the rules delete something: {expected_gone}"
    );

    let gone = store.prune(&rules).await.unwrap();
    assert_eq!(gone, expected_gone);
    assert_eq!(everything(&*store).await, survivors);
    assert_eq!(
        sorted(load(&*store, &request(&["p"], retention)).await.records),
        asked,
        "what conditions ask of p is all still there"
    );
    assert_eq!(
        store.latest(&[]).await.unwrap(),
        latest,
        "the latest of each action is kept apart"
    );
    assert_eq!(
        store.prune(&rules).await.unwrap(),
        0,
        "a second prune finds nothing"
    );
}

async fn reopening_sees_everything<B: Backend>(backend: &B) {
    let tasks = ["t", "u"];
    let snapshot = |store: Arc<dyn LogStore>| async move {
        (
            everything(&*store).await,
            store.latest(&[]).await.unwrap(),
            {
                let mut loaded = load(&*store, &request(&tasks, Retention::ALL)).await;
                loaded.records = sorted(loaded.records);
                loaded.open_runs.sort_by_key(|r| r.run_id);
                loaded
            },
        )
    };
    let before = {
        let store = backend.open().await;
        let t = history_of_t();
        for batch in t.chunks(5) {
            store.append(batch).await.unwrap();
        }
        store
            .append(&[in_run(record("u", Action::Run, 300), 77)])
            .await
            .unwrap();
        store
            .register(&InstanceRecord {
                id: InstanceId::from_u64(5),
                name: "first".into(),
                host: "here".into(),
                pid: 1,
                started: at(0),
                last_seen: at(300),
                stopped: None,
            })
            .await
            .unwrap();
        snapshot(store).await
    };
    assert_eq!(before.0.len(), 43);
    assert_eq!(before.2.open_runs.len(), 1);
    let store = backend.open().await;
    let after = snapshot(store.clone()).await;
    assert_eq!(
        after, before,
        "a new open sees every record, status, run and instance"
    );
    // Writing goes on after what was there.
    store
        .append(&[in_run(record("u", Action::Success, 301), 77)])
        .await
        .unwrap();
    let all = everything(&*store).await;
    assert_eq!(all.len(), 44);
    assert!(all[43].seq > all[42].seq);
    assert!(
        load(&*store, &LoadRequest::default())
            .await
            .open_runs
            .is_empty()
    );
}

// ---------------------------------------------------------------------------------------
// The cases of the persistent stores

async fn a_batch_is_atomic<B: Persistent>(backend: &B) {
    let store = backend.open().await;
    let [x_run, x_end] = run("x", 1, 1, Action::Success, 1);
    store.append(std::slice::from_ref(&x_run)).await.unwrap();
    let before = (
        everything(&*store).await,
        store.latest(&[]).await.unwrap(),
        load(&*store, &request(&["x", "y", "poison"], Retention::ALL)).await,
    );
    backend.poison_open_runs().await;
    // The log rows and the latest go in first; the open run of `poison` fails.
    let batch = [
        x_end,
        in_run(record("y", Action::Run, 3), 2),
        in_run(record("poison", Action::Run, 4), 3),
    ];
    let error = store
        .append(&batch)
        .await
        .expect_err("the trigger refuses the batch");
    assert!(chain(&error).contains("poisoned"), "{}", chain(&error));
    let after = (
        everything(&*store).await,
        store.latest(&[]).await.unwrap(),
        load(&*store, &request(&["x", "y", "poison"], Retention::ALL)).await,
    );
    assert_eq!(after, before, "nothing of the failed batch is stored");
    // The same batch again, once the store takes it: each record once.
    backend.heal().await;
    store.append(&batch).await.unwrap();
    let records = records(&*store).await;
    assert_eq!(records.len(), 4);
    assert_eq!(records[1..], batch);
    assert_eq!(
        open_ids(&load(&*store, &LoadRequest::default()).await),
        [2, 3]
    );
}

/// The journal writes a batch again when its write failed, and a write can fail after
/// the commit (a reply lost on the way back): the records already stored are not stored
/// twice, and a run that the first write left open is closed by the second.
async fn a_batch_written_twice_adds_nothing<B: Persistent>(backend: &B) {
    let store = backend.open().await;
    let [a_run, a_end] = run("a", 1, 1, Action::Success, 1);
    let b_run = in_run(record("b", Action::Run, 2), 2);
    let first = [a_run.clone(), b_run.clone()];
    store.append(&first).await.unwrap();
    // The same records again, with what came after them.
    let b_end = in_run(record("b", Action::Fail, 3), 2);
    let again = [a_run, b_run, a_end, b_end];
    store.append(&again).await.unwrap();
    store.append(&again).await.unwrap();
    let stored = records(&*store).await;
    assert_eq!(
        stored, again,
        "each record once, in the order first written"
    );
    assert_eq!(
        open_ids(&load(&*store, &LoadRequest::default()).await),
        Vec::<u128>::new(),
        "both runs ended"
    );
}

async fn a_newer_schema_is_refused_untouched<B: Persistent>(backend: &B) {
    {
        let store = backend.open().await;
        store
            .append(&[record("kept", Action::Run, 1)])
            .await
            .unwrap();
    }
    backend
        .execute(&["UPDATE scheduler_schema SET version = 99"])
        .await;
    let error = match backend.try_open().await {
        Ok(_) => panic!("a log of schema version 99 opened"),
        Err(error) => error,
    };
    assert_eq!(error.kind(), StoreErrorKind::NewerSchema, "{error}");
    let message = error.to_string();
    assert!(
        message.contains("schema version 99")
            && message.contains("newer version of scheduler")
            && message.contains("left untouched"),
        "{message}"
    );
    assert_eq!(
        backend
            .scalar("SELECT max(version) FROM scheduler_schema")
            .await,
        99
    );
    assert_eq!(
        backend.scalar("SELECT count(*) FROM scheduler_log").await,
        1
    );
}

async fn programs_starting_together_create_the_schema_once<B: Persistent>(backend: &B) {
    let (a, b, c, d) = tokio::join!(
        backend.try_open(),
        backend.try_open(),
        backend.try_open(),
        backend.try_open()
    );
    let stores: Vec<Arc<dyn LogStore>> = [a, b, c, d]
        .into_iter()
        .map(|opened| opened.unwrap_or_else(|e| panic!("{}", chain(&e))))
        .collect();
    for (i, store) in stores.iter().enumerate() {
        store
            .append(&[record("together", Action::Run, i as i64)])
            .await
            .unwrap();
    }
    assert_eq!(records(&*stores[0]).await.len(), 4);
    assert_eq!(
        backend
            .scalar("SELECT count(*) FROM scheduler_schema")
            .await,
        1
    );
}

// ---------------------------------------------------------------------------------------
// PostgreSQL's own cases

async fn pg_nul_in_text_is_replaced(backend: &Postgres) {
    let store = backend.open().await;
    let mut printed = record("binary", Action::Fail, 1);
    printed.output = Some("before\0after".to_owned());
    store.append(&[printed]).await.unwrap();
    let stored = records(&*store).await;
    assert_eq!(stored[0].output.as_deref(), Some("before\u{FFFD}after"));
}

async fn pg_foreign_tables_are_corrupt_and_untouched(backend: &Postgres) {
    // Another program's table of the same name, and no schema table: creating the
    // schema fails, and nothing is created.
    backend
        .execute(&[
            "CREATE TABLE scheduler_log (id INT PRIMARY KEY, note TEXT)",
            "INSERT INTO scheduler_log VALUES (1, 'theirs')",
        ])
        .await;
    let error = match backend.try_open().await {
        Ok(_) => panic!("a store opened over another program's scheduler_log"),
        Err(error) => error,
    };
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{}", chain(&error));
    assert!(
        error.to_string().contains("left untouched"),
        "{}",
        chain(&error)
    );
    assert_eq!(
        backend
            .scalar("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'scheduler_%'")
            .await,
        1,
        "no table was created beside theirs"
    );
    // With a schema table that claims the current version, the store opens, and reading
    // or writing what is not its table is Corrupt.
    backend
        .execute(&[
            "CREATE TABLE scheduler_schema (version BIGINT NOT NULL)",
            "INSERT INTO scheduler_schema VALUES (2)",
        ])
        .await;
    let store = backend.open().await;
    let error = store.query(&RecordQuery::default()).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{}", chain(&error));
    let error = store
        .append(&[record("x", Action::Run, 1)])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{}", chain(&error));
    assert_eq!(
        backend.scalar("SELECT count(*) FROM scheduler_log").await,
        1,
        "their row is still there"
    );
}

async fn pg_read_only_database_is_read_only(backend: &Postgres) {
    {
        let store = backend.open().await;
        store
            .append(&[record("before", Action::Run, 1)])
            .await
            .unwrap();
    }
    backend
        .execute(&[format!(
            "ALTER DATABASE \"{}\" SET default_transaction_read_only = on",
            backend.0.name()
        )
        .as_str()])
        .await;
    // Opening reads only: it works, and so do queries; writing is ReadOnly.
    let store = backend.open().await;
    assert_eq!(records(&*store).await.len(), 1);
    let error = store
        .append(&[record("after", Action::Run, 2)])
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::ReadOnly, "{}", chain(&error));
    assert!(!error.is_transient());
}

async fn pg_lost_connections_are_replaced(backend: &Postgres) {
    let store = backend.open().await;
    let first = record("steady", Action::Run, 1);
    store.append(std::slice::from_ref(&first)).await.unwrap();
    // The server ends every connection of the store (as a restart or an administrator
    // would): the next write either finds a new connection or fails as transient, and a
    // retry writes it, once.
    let ended = backend
        .scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .await;
    assert!(ended >= 1, "the store held a connection");
    let second = in_run(record("steady", Action::Run, 2), 9);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut failures = Vec::new();
    while let Err(error) = store.append(std::slice::from_ref(&second)).await {
        assert!(error.is_transient(), "{}", chain(&error));
        failures.push(chain(&error));
        assert!(
            std::time::Instant::now() < deadline,
            "the store never wrote again: {failures:?}"
        );
    }
    assert_eq!(records(&*store).await, [first, second]);
    assert_eq!(open_ids(&load(&*store, &LoadRequest::default()).await), [9]);
}

async fn pg_unreachable_server_is_unavailable_and_hides_the_password() {
    // Port 1: nothing listens there.
    let url = "postgres://scheduler:hunter2@127.0.0.1:1/app";
    let error = match store::open(url).await {
        Ok(_) => panic!("a store opened on a closed port"),
        Err(error) => error,
    };
    assert_eq!(
        error.kind(),
        StoreErrorKind::Unavailable,
        "{}",
        chain(&error)
    );
    assert!(error.is_transient());
    let text = format!("{} / {:?}", chain(&error), error);
    assert!(!text.contains("hunter2"), "the password is shown: {text}");
    assert!(
        text.contains("postgres://scheduler:***@127.0.0.1:1/app"),
        "{text}"
    );
}

async fn pg_missing_database_is_an_invalid_url(server: &str) {
    let url = pg::with_database(server, "scheduler_no_such_database");
    let error = match PostgresStore::open(&url).await {
        Ok(_) => panic!("a store opened on a database that does not exist"),
        Err(error) => error,
    };
    assert_eq!(
        error.kind(),
        StoreErrorKind::InvalidUrl,
        "{}",
        chain(&error)
    );
    assert!(
        chain(&error).contains("scheduler_no_such_database"),
        "{}",
        chain(&error)
    );
}
