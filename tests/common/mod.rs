//! Helpers shared by the runtime tests: a scheduler on a virtual clock, and queries of the
//! records it wrote.

#![allow(dead_code, unreachable_pub, unused_macros)]

/// The methods of `LogStore` other than `append`, handed to the store in the field
/// `$inner`: for the tests' wrappers that change how a store takes records and nothing else.
macro_rules! delegate_reads {
    ($inner:ident) => {
        fn load<'a>(
            &'a self,
            request: &'a ::scheduler::log::store::LoadRequest,
        ) -> ::scheduler::BoxFuture<
            'a,
            Result<::scheduler::log::store::Loaded, ::scheduler::StoreError>,
        > {
            self.$inner.load(request)
        }

        fn query<'a>(
            &'a self,
            query: &'a ::scheduler::RecordQuery,
        ) -> ::scheduler::BoxFuture<
            'a,
            Result<Vec<::scheduler::log::store::StoredRecord>, ::scheduler::StoreError>,
        > {
            self.$inner.query(query)
        }

        fn latest<'a>(
            &'a self,
            tasks: &'a [String],
        ) -> ::scheduler::BoxFuture<'a, Result<Vec<::scheduler::LogRecord>, ::scheduler::StoreError>>
        {
            self.$inner.latest(tasks)
        }

        fn register<'a>(
            &'a self,
            instance: &'a ::scheduler::log::store::InstanceRecord,
        ) -> ::scheduler::BoxFuture<'a, Result<(), ::scheduler::StoreError>> {
            self.$inner.register(instance)
        }

        fn prune<'a>(
            &'a self,
            rules: &'a [::scheduler::log::store::PruneRule],
        ) -> ::scheduler::BoxFuture<'a, Result<u64, ::scheduler::StoreError>> {
            self.$inner.prune(rules)
        }
    };
}

pub mod postgres;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use scheduler::{Action, LogRecord, LogStore, MemoryStore, SchedulerBuilder, Tz, VirtualClock};

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

/// A builder on a virtual clock starting at `start`, in UTC, writing to `store`, with no
/// signal handling.
pub fn virtual_scheduler(start: DateTime<Utc>, store: &Arc<MemoryStore>) -> SchedulerBuilder {
    scheduler::Scheduler::builder()
        .time_zone(Tz::UTC)
        .clock(VirtualClock::starting_at(start))
        .store(store.clone())
        .handle_signals(false)
}

/// The same, writing to any store.
pub fn virtual_scheduler_with(start: DateTime<Utc>, store: Arc<dyn LogStore>) -> SchedulerBuilder {
    scheduler::Scheduler::builder()
        .time_zone(Tz::UTC)
        .clock(VirtualClock::starting_at(start))
        .store(store)
        .handle_signals(false)
}

/// Runs a built scheduler for `span` of (virtual) time, shuts it down and waits for it.
pub async fn run_for(builder: SchedulerBuilder, span: Duration) {
    let running = builder
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .start()
        .unwrap();
    tokio::time::sleep(span).await;
    running.session().shut_down();
    running.await.unwrap_or_else(|e| panic!("{e}"));
}

/// The records of `task` with `action`.
pub fn records(store: &MemoryStore, task: &str, action: Action) -> Vec<LogRecord> {
    store
        .records_of(task)
        .into_iter()
        .filter(|r| r.action == action)
        .collect()
}

/// `HH:MM:SS` (or `Mon HH:MM:SS`) of each record, in UTC.
pub fn times(records: &[LogRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| r.at.to_datetime().format("%a %H:%M:%S").to_string())
        .collect()
}

pub const DAY: Duration = Duration::from_secs(86_400);

/// The start times of a task `load` whose condition is `condition_of(path)`, on a virtual
/// clock from Monday 2024-01-01 00:00 UTC to 02:00, where the file `path` is created at
/// 00:29:30 (the custom-condition tests: a condition that reads a file, sync or async).
pub async fn runs_with_a_file_created_half_way(
    condition_of: impl FnOnce(&std::path::Path) -> String,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    // A string parsed at run time, as one read from a configuration would be.
    let condition: scheduler::Condition = condition_of(&path).parse().unwrap();
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(Vec::<String>::new())
        .task(scheduler::TaskSpec::from_blocking("load", |_| ()).when(condition))
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(29 * 60 + 30)).await;
    assert!(records(&store, "load", Action::Run).is_empty());
    std::fs::write(&path, "a,b\n").unwrap();
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    running.session().shut_down();
    running.await.unwrap();
    times(&records(&store, "load", Action::Run))
}

/// A data-driven test's vector file: the file named by the environment variable `env_var`
/// when it is set, else the sample `tests/data/<sample>`; read and parsed as `T`, with a
/// panic naming the file (and the variable) when it cannot be. Also gives the path, for the
/// report.
pub fn read_vectors<T: serde::de::DeserializeOwned>(
    env_var: &str,
    sample: &str,
    what: &str,
) -> (T, std::path::PathBuf) {
    let path = match std::env::var_os(env_var) {
        Some(p) => std::path::PathBuf::from(p),
        None => std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(sample),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set {env_var}", path.display()));
    let vectors = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a {what} vector file: {e}", path.display()));
    (vectors, path)
}
