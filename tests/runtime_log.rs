//! What the scheduler promises about its log store, on a virtual clock:
//!
//! * a run's finish is in the store before any run that depends on it starts;
//! * a store that fails for a while loses nothing: records wait in memory, in order, and
//!   every run has its `run` and end record exactly once when the store is back;
//! * while very many records wait, no new run starts, and runs start again when the store
//!   takes them;
//! * records a store never took are the scheduler's error when it stops;
//! * a SQLite store the scheduler opened from a URL is closed when it stops, leaving no
//!   write-ahead log for the next start to copy (on the real clock: SQLite does real I/O).

#[macro_use]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use common::{utc, virtual_scheduler};
use scheduler::log::store::{RecordQuery, StoreErrorKind};
use scheduler::{
    Action, BoxFuture, Execution, LogRecord, LogStore, MemoryStore, RunId, StoreError, TaskSpec,
};

fn condition(text: &str) -> scheduler::Condition {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// A memory store whose writes fail, as an unreachable database's do, while `down` is set.
struct FlakyStore {
    inner: MemoryStore,
    down: AtomicBool,
    failures: AtomicU32,
}

impl FlakyStore {
    fn new() -> Arc<FlakyStore> {
        Arc::new(FlakyStore {
            inner: MemoryStore::with_capacity(10_000_000),
            down: AtomicBool::new(false),
            failures: AtomicU32::new(0),
        })
    }
}

impl LogStore for FlakyStore {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        if self.down.load(Ordering::SeqCst) {
            self.failures.fetch_add(1, Ordering::SeqCst);
            return Box::pin(std::future::ready(Err(StoreError::new(
                "connection refused",
            )
            .of_kind(StoreErrorKind::Unavailable))));
        }
        self.inner.append(records)
    }

    delegate_reads!(inner);
}

/// Every run of `records` has one `run` record and one record that ends it.
fn each_run_once(records: &[LogRecord]) -> usize {
    let mut runs: std::collections::HashMap<RunId, (u32, u32)> = Default::default();
    for r in records {
        let run = r.run_id.expect("every record of a run has its run id");
        let counts = runs.entry(run).or_default();
        if r.action == Action::Run {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
    }
    for (run, (starts, ends)) in &runs {
        assert_eq!(
            (*starts, *ends),
            (1, 1),
            "run {run} has {starts} run and {ends} end records"
        );
    }
    runs.len()
}

#[tokio::test(start_paused = true)]
async fn a_finish_is_stored_before_a_dependent_starts() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(AtomicU32::new(0));
    let (reader, count) = (store.clone(), seen.clone());
    let produce = TaskSpec::from_blocking("produce", |_| ()).when(condition("every 10 seconds"));
    // Inline on the loop: it runs the moment it starts, before anything else happens.
    let consume = TaskSpec::from_blocking("consume", move |_| {
        let successes = reader
            .records_of("produce")
            .iter()
            .filter(|r| r.action == Action::Success)
            .count();
        count.store(successes as u32, Ordering::SeqCst);
        assert!(
            successes > 0,
            "consume started before produce's success was stored"
        );
    })
    .execution(Execution::Main)
    .when(condition("after task 'produce' succeeded"));
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .task(produce)
        .task(consume);
    common::run_for(builder, Duration::from_secs(60)).await;
    assert!(seen.load(Ordering::SeqCst) >= 5, "consume ran too rarely");
    let ends: Vec<Action> = store
        .records_of("consume")
        .iter()
        .map(|r| r.action)
        .filter(|&a| a != Action::Run)
        .collect();
    assert!(ends.len() >= 5, "consume ran too rarely: {ends:?}");
    assert!(
        ends.iter().all(|&a| a == Action::Success),
        "a run of consume started before produce's success was stored: {:?}",
        store.records_of("consume")
    );
}

#[tokio::test(start_paused = true)]
async fn an_unavailable_store_loses_nothing() {
    let store = FlakyStore::new();
    let tick = TaskSpec::from_async("tick", |_| async {}).when(condition("every 1 second"));
    let running = common::virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store.clone())
        .task(tick)
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(10)).await;
    store.down.store(true, Ordering::SeqCst);
    // The scheduler goes on while the store is down.
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(store.failures.load(Ordering::SeqCst) > 0);
    let before = store.inner.records_of("tick").len();
    store.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
    running.session().shut_down();
    running.await.unwrap();

    let records = store.inner.records_of("tick");
    let runs = each_run_once(&records);
    assert!(runs >= 58, "{runs} runs in a minute of every 1 second");
    assert!(
        records.len() > before + 2 * 20,
        "the records of the outage were not written when the store came back"
    );
    // In the order they happened.
    assert!(records.windows(2).all(|w| w[0].at <= w[1].at));
}

#[tokio::test(start_paused = true)]
async fn no_new_run_starts_while_too_many_records_wait() {
    let store = FlakyStore::new();
    store.down.store(true, Ordering::SeqCst);
    let tick = TaskSpec::from_async("tick", |_| async {}).when(condition("every 1 second"));
    let running = common::virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store.clone())
        .task(tick)
        .build()
        .unwrap()
        .start()
        .unwrap();
    // 20 hours of runs every second would be 144,000 records: past 100,000 waiting
    // records, runs stop.
    tokio::time::sleep(Duration::from_secs(20 * 3600)).await;
    store.down.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(600)).await;
    running.session().shut_down();
    running.await.unwrap();

    let records = store.inner.records_of("tick");
    each_run_once(&records);
    let starts: Vec<i64> = records
        .iter()
        .filter(|r| r.action == Action::Run)
        .map(|r| r.at.as_micros())
        .collect();
    let longest_pause = starts.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    assert!(
        longest_pause > 5 * 3600 * 1_000_000,
        "runs should have stopped for hours while 100,000 records waited; longest pause {} s",
        longest_pause / 1_000_000
    );
    // And started again once the store took the records.
    let last = *starts.last().unwrap();
    assert!(
        last > utc(2024, 1, 1, 20, 5, 0).timestamp_micros(),
        "runs did not start again after the store came back"
    );
}

#[tokio::test(start_paused = true)]
async fn records_a_store_never_took_are_the_error_at_shutdown() {
    let store = FlakyStore::new();
    store.down.store(true, Ordering::SeqCst);
    let tick = TaskSpec::from_async("tick", |_| async {}).when(condition("every 1 second"));
    let running = common::virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store.clone())
        .task(tick)
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    running.session().shut_down();
    let error = running.await.unwrap_err().to_string();
    assert!(
        error.contains("records could not be written before the scheduler stopped"),
        "{error}"
    );
}

/// A memory store that keeps the batches it is given.
struct BatchStore {
    inner: MemoryStore,
    batches: std::sync::Mutex<Vec<Vec<LogRecord>>>,
}

impl LogStore for BatchStore {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        self.batches.lock().unwrap().push(records.to_vec());
        self.inner.append(records)
    }

    delegate_reads!(inner);
}

/// A task that runs for 1 ms whenever it can; its condition reads no history, so that
/// nothing waits for its records.
fn busy_task() -> TaskSpec {
    TaskSpec::from_async("busy", |_| async {
        tokio::time::sleep(Duration::from_millis(1)).await;
    })
    .when(condition("true"))
}

#[tokio::test(start_paused = true)]
async fn records_nothing_waits_for_are_written_together_within_5_ms() {
    let store = Arc::new(BatchStore {
        inner: MemoryStore::with_capacity(1_000_000),
        batches: Default::default(),
    });
    let busy = busy_task();
    let builder =
        common::virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store.clone()).task(busy);
    common::run_for(builder, Duration::from_secs(1)).await;

    let records = store.inner.records_of("busy");
    let runs = each_run_once(&records);
    assert!(runs >= 400, "{runs} runs of a 1 ms task in a second");
    let batches = store.batches.lock().unwrap();
    let of_busy: Vec<&Vec<LogRecord>> = batches
        .iter()
        .filter(|b| b.iter().any(|r| r.task == "busy"))
        .collect();
    // Written every 5 ms or so, not once or twice per run.
    assert!(
        of_busy.len() <= 1_000 / 5 + 10,
        "{} batches for {runs} runs",
        of_busy.len()
    );
    for batch in &of_busy {
        let first = batch.iter().map(|r| r.at).min().unwrap();
        let last = batch.iter().map(|r| r.at).max().unwrap();
        let span = last.as_micros() - first.as_micros();
        assert!(span <= 6_000, "a batch spans {span} µs of records");
    }
}

/// A memory store whose every write takes 50 ms, as one that waits for another writer's
/// lock and a disk flush does, and that counts the writes under way at once.
struct SlowStore {
    inner: MemoryStore,
    writing: AtomicU32,
    most_at_once: AtomicU32,
}

impl LogStore for SlowStore {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = self.writing.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_at_once.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let written = self.inner.append(records).await;
            self.writing.fetch_sub(1, Ordering::SeqCst);
            written
        })
    }

    delegate_reads!(inner);
}

#[tokio::test(start_paused = true)]
async fn runs_go_on_while_a_slow_write_is_under_way() {
    let store = Arc::new(SlowStore {
        inner: MemoryStore::with_capacity(1_000_000),
        writing: AtomicU32::new(0),
        most_at_once: AtomicU32::new(0),
    });
    let busy = busy_task();
    let builder =
        common::virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store.clone()).task(busy);
    common::run_for(builder, Duration::from_secs(1)).await;

    // A loop that waited for each write would start about one run per write (20 a second).
    let records = store.inner.records_of("busy");
    let runs = each_run_once(&records);
    assert!(runs >= 400, "{runs} runs of a 1 ms task in a second");
    // One write at a time, so that records reach the store in order.
    assert_eq!(store.most_at_once.load(Ordering::SeqCst), 1);
    assert!(
        records.windows(2).all(|w| w[0].at <= w[1].at),
        "records stored out of order"
    );
}

/// A scheduler that opened its SQLite store from a URL closes it when it stops: the file is
/// left without a write-ahead log, which the next start would otherwise have to copy into
/// the file before its first write (up to a tenth of a second), and holds every record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_opened_from_a_url_is_closed_at_shutdown() {
    let dir = std::env::temp_dir().join(format!(
        "scheduler-close-{}-{}",
        std::process::id(),
        scheduler::InstanceId::random()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("log.db");
    let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let running = scheduler::Scheduler::builder()
        .without_registered_tasks()
        .handle_signals(false)
        .database(file.display().to_string())
        .task(
            TaskSpec::from_blocking("tick", move |_| {
                let _ = ran.send(());
            })
            .when(condition("true")),
        )
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .start()
        .unwrap();
    // A few runs, so that the store has written batches.
    for _ in 0..3 {
        tokio::time::timeout(Duration::from_secs(60), runs.recv())
            .await
            .expect("tick runs within a minute")
            .expect("the task's sender");
    }
    running.session().shut_down();
    running.await.unwrap_or_else(|e| panic!("{e}"));
    let wal = dir.join("log.db-wal");
    assert!(
        !wal.exists(),
        "the write-ahead log is left beside the file after the scheduler stopped"
    );
    let store = scheduler::SqliteStore::open(&file).await.unwrap();
    let successes = store
        .query(&RecordQuery::default().task("tick").action(Action::Success))
        .await
        .unwrap();
    assert!(successes.len() >= 3, "{successes:?}");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
