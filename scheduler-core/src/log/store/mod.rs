//! Where the task log is kept: the [`LogStore`] trait and its stores.
//!
//! The runtime keeps an in-memory index of the log for conditions (a
//! [`LogIndex`](super::LogIndex)) and writes every record to a store, in batches (one
//! transaction per pass of its loop). At start-up it reads back only what conditions can
//! still ask (the latest record of each action of each task, the windows some conditions
//! look back over, the runs still open, the last value of each task), with indexed queries,
//! so that start-up does not grow with the log.
//!
//! * [`MemoryStore`]: in the process, bounded; forgets everything when it ends.
//! * [`SqliteStore`] (feature `sqlite`, on by default): a file; what `scheduler::run()` uses.
//! * [`PostgresStore`] (feature `postgres`): a database that several programs share.
//!
//! [`open`] opens a store from a URL (`memory:`, `sqlite:path`, a path, `postgres://...`).
//! Stores are also the log's query API ([`LogStore::query`], [`LogStore::latest`]), usable
//! with or without a running scheduler.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::sync::Arc;

use crate::BoxFuture;
use crate::time::Timestamp;

use super::{Action, ActionSet, InstanceId, LogRecord, Retention, RunId};

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::PostgresStore;
#[cfg(feature = "postgres")]
pub(crate) use postgres::error as postgres_error;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStore;
#[cfg(feature = "sqlite")]
pub(crate) use sqlite::error as sqlite_error;

/// What kind of failure a [`StoreError`] is, which decides what the scheduler does about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The URL names no store this program can open.
    InvalidUrl,
    /// The store cannot be reached now (a database restarting, a file locked by another
    /// writer): worth retrying.
    Unavailable,
    /// The store is read-only.
    ReadOnly,
    /// The file or database is not a scheduler log that can be read (a corrupt file,
    /// another program's tables).
    Corrupt,
    /// The schema was written by a newer version of this crate.
    NewerSchema,
    /// Anything else the store refused.
    Rejected,
}

/// An error of a log store.
#[derive(Debug, thiserror::Error)]
#[error("log store: {message}")]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            kind: StoreErrorKind::Rejected,
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error that caused it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            kind: StoreErrorKind::Rejected,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The same error, of `kind`.
    pub fn of_kind(mut self, kind: StoreErrorKind) -> Self {
        self.kind = kind;
        self
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }

    /// Whether retrying later may succeed (the store is unreachable or busy, not refusing).
    pub fn is_transient(&self) -> bool {
        self.kind == StoreErrorKind::Unavailable
    }
}

/// A run with a `run` record and no record that ends it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenRun {
    /// The run.
    pub run_id: RunId,
    /// Its task.
    pub task: String,
    /// The scheduler process running it.
    pub instance: Option<InstanceId>,
    /// When it started.
    pub started: Timestamp,
}

/// A scheduler process as the store knows it: it registers when it starts, says it is
/// alive now and then, and says when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceRecord {
    /// Its identity, new for every process.
    pub id: InstanceId,
    /// Its name (`SCHEDULER_INSTANCE`, else the host's name).
    pub name: String,
    /// The host it runs on.
    pub host: String,
    /// Its process id on that host.
    pub pid: u32,
    /// When it started.
    pub started: Timestamp,
    /// When it last said it was alive.
    pub last_seen: Timestamp,
    /// When it shut down, if it did.
    pub stopped: Option<Timestamp>,
}

/// What a starting scheduler reads: for each task, what its conditions (and those of other
/// tasks that read it) can still ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadRequest {
    /// Tasks and how far back their records are asked about.
    pub tasks: Vec<(String, Retention)>,
}

/// What [`LogStore::load`] gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Of each task asked for, of the actions of runs (no `change` record: it is not part
    /// of a task's history): the latest record of each action (a `success` one with its
    /// value), the latest `per_action` records of each action, and, for a window longer
    /// than zero, every record of the window back from its newest record (with the last
    /// one before the window); each record once, in any order.
    pub records: Vec<LogRecord>,
    /// Every run of any task left open.
    pub open_runs: Vec<OpenRun>,
    /// Every scheduler process registered.
    pub instances: Vec<InstanceRecord>,
}

/// A record as stored, with its place in the store's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    /// Its position in the order records were written: later records have larger ones.
    pub seq: u64,
    /// The record.
    pub record: LogRecord,
}

/// Which records [`LogStore::query`] gives.
///
/// ```
/// use scheduler_core::log::store::RecordQuery;
/// use scheduler_core::log::Action;
///
/// let failures = RecordQuery::default().task("backup").action(Action::Fail).limit(20).newest_first();
/// assert_eq!(failures.limit, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordQuery {
    /// Only the records of this task.
    pub task: Option<String>,
    /// Only these actions (empty: all).
    pub actions: ActionSet,
    /// Only records at or after this instant.
    pub since: Option<Timestamp>,
    /// Only records at or before this instant.
    pub until: Option<Timestamp>,
    /// Only the records of this run.
    pub run_id: Option<RunId>,
    /// Only records written after the one with this `seq` (paging forward, `--follow`).
    pub after_seq: Option<u64>,
    /// Only records written before the one with this `seq` (paging backward).
    pub before_seq: Option<u64>,
    /// At most this many records.
    pub limit: usize,
    /// The newest records first (and the last `limit` of them).
    pub newest_first: bool,
}

impl Default for RecordQuery {
    fn default() -> Self {
        RecordQuery {
            task: None,
            actions: ActionSet::EMPTY,
            since: None,
            until: None,
            run_id: None,
            after_seq: None,
            before_seq: None,
            limit: 1000,
            newest_first: false,
        }
    }
}

impl RecordQuery {
    /// Only the records of `task`.
    pub fn task(mut self, task: impl Into<String>) -> Self {
        self.task = Some(task.into());
        self
    }

    /// Also records of `action` (the first call narrows from all actions to this one).
    pub fn action(mut self, action: Action) -> Self {
        self.actions = self.actions.with(action);
        self
    }

    /// Only records in `[since, until]`.
    pub fn between(mut self, since: Timestamp, until: Timestamp) -> Self {
        self.since = Some(since);
        self.until = Some(until);
        self
    }

    /// Only the records of the run `run_id`.
    pub fn run(mut self, run_id: RunId) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// At most `limit` records.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The newest first.
    pub fn newest_first(mut self) -> Self {
        self.newest_first = true;
        self
    }

    /// Whether `seq` and `record` match the query (what a store without indexes filters by).
    pub fn matches(&self, seq: u64, record: &LogRecord) -> bool {
        self.task.as_ref().is_none_or(|t| *t == record.task)
            && (self.actions == ActionSet::EMPTY || self.actions.contains(record.action))
            && self.since.is_none_or(|s| record.at >= s)
            && self.until.is_none_or(|u| record.at <= u)
            && self.run_id.is_none_or(|r| record.run_id == Some(r))
            && self.after_seq.is_none_or(|a| seq > a)
            && self.before_seq.is_none_or(|b| seq < b)
    }
}

/// What [`LogStore::prune`] may delete of one task: its records older than `older_than`
/// or beyond the newest `beyond_count`, except what conditions can still ask (the records
/// from `protect_from` on, the newest `keep_per_action` of each action, and the latest of
/// each action, which a store keeps apart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PruneRule {
    /// The task.
    pub task: String,
    /// Records before this instant may go.
    pub older_than: Option<Timestamp>,
    /// Records beyond this many of the task's newest may go.
    pub beyond_count: Option<u64>,
    /// Records at or after this instant stay.
    pub protect_from: Timestamp,
    /// The newest records of each action that stay whatever their age.
    pub keep_per_action: u32,
}

impl PruneRule {
    /// Whether a record at `at`, the `per_action`-th newest of its action and the
    /// `per_task`-th newest of its task (both from 1), goes.
    pub fn deletes(&self, at: Timestamp, per_action: u64, per_task: u64) -> bool {
        at < self.protect_from
            && per_action > u64::from(self.keep_per_action)
            && (self.older_than.is_some_and(|t| at < t)
                || self.beyond_count.is_some_and(|n| per_task > n))
    }
}

/// A place where the task log is written and read back.
///
/// Writes come in batches, oldest record first; a batch is stored whole or not at all, and
/// when [`append`](Self::append) resolves to `Ok` it is durable (for a persistent store:
/// it survives the process). Every store keeps apart the latest record of each action of
/// each task and the runs left open, so that [`load`](Self::load) costs the same however
/// long the log is.
pub trait LogStore: Send + Sync + 'static {
    /// Appends records, oldest first, in one transaction.
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>>;

    /// What a starting scheduler reads (see [`Loaded`]).
    fn load<'a>(&'a self, request: &'a LoadRequest) -> BoxFuture<'a, Result<Loaded, StoreError>>;

    /// The records that match `query`, oldest first (newest first if it says so).
    fn query<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, StoreError>>;

    /// The latest record of each action of each task (of `tasks` only, unless empty): the
    /// tasks' status.
    fn latest<'a>(
        &'a self,
        tasks: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LogRecord>, StoreError>>;

    /// Registers a scheduler process, or updates its record (`last_seen`, `stopped`).
    fn register<'a>(
        &'a self,
        instance: &'a InstanceRecord,
    ) -> BoxFuture<'a, Result<(), StoreError>>;

    /// Deletes old records as the rules allow; returns how many went.
    fn prune<'a>(&'a self, rules: &'a [PruneRule]) -> BoxFuture<'a, Result<u64, StoreError>>;

    /// Releases what the store holds open (connections, files) once nothing more will be
    /// written or read through this value. The scheduler calls it when it stops, for a store
    /// it opened from a URL. By default, nothing.
    ///
    /// The SQLite store closes its connections, and SQLite then copies its write-ahead log
    /// into the file and deletes it: left in place, the next process to write would do it
    /// first (70–120 ms of its start-up for a full log, see `bench/README.md`).
    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// The job queue kept in the same database (see [`crate::queue`]), if the store has
    /// one: the SQLite and PostgreSQL stores do, the memory store does not. By default,
    /// none.
    fn jobs(&self) -> Option<&dyn crate::queue::JobStore> {
        None
    }
}

impl<S: LogStore + ?Sized> LogStore for Arc<S> {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).append(records)
    }

    fn load<'a>(&'a self, request: &'a LoadRequest) -> BoxFuture<'a, Result<Loaded, StoreError>> {
        (**self).load(request)
    }

    fn query<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, StoreError>> {
        (**self).query(query)
    }

    fn latest<'a>(
        &'a self,
        tasks: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LogRecord>, StoreError>> {
        (**self).latest(tasks)
    }

    fn register<'a>(
        &'a self,
        instance: &'a InstanceRecord,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        (**self).register(instance)
    }

    fn prune<'a>(&'a self, rules: &'a [PruneRule]) -> BoxFuture<'a, Result<u64, StoreError>> {
        (**self).prune(rules)
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        (**self).close()
    }

    fn jobs(&self) -> Option<&dyn crate::queue::JobStore> {
        (**self).jobs()
    }
}

/// What the log says of one task: its latest record of each action, read with
/// [`LogStore::latest`] (see [`activity`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskActivity {
    /// The task.
    pub task: String,
    /// Its latest `run` record.
    pub last_start: Option<LogRecord>,
    /// Its latest record that ends a run (of any action but `run`).
    pub last_end: Option<LogRecord>,
    /// When it last succeeded.
    pub last_success: Option<Timestamp>,
    /// When it last failed.
    pub last_failure: Option<Timestamp>,
}

impl TaskActivity {
    /// Whether its latest start is later than its latest end: a run is (or was left)
    /// open.
    pub fn is_running(&self) -> bool {
        match (&self.last_start, &self.last_end) {
            (Some(start), Some(end)) => start.at > end.at,
            (Some(_), None) => true,
            _ => false,
        }
    }
}

/// The activity of each task (of `tasks` only, unless empty), by name, from the store's
/// latest records: what a status page shows, with or without a running scheduler.
///
/// ```no_run
/// # async fn f() -> Result<(), scheduler_core::log::StoreError> {
/// let store = scheduler_core::log::store::open("scheduler.db").await?;
/// for task in scheduler_core::log::store::activity(&*store, &[]).await? {
///     println!("{}: last success {:?}, running: {}", task.task, task.last_success, task.is_running());
/// }
/// # Ok(()) }
/// ```
pub async fn activity(
    store: &dyn LogStore,
    tasks: &[String],
) -> Result<Vec<TaskActivity>, StoreError> {
    let mut by_task: std::collections::BTreeMap<String, TaskActivity> = Default::default();
    for record in store.latest(tasks).await? {
        // A change of a task's definition is not a run.
        if !record.action.is_of_run() {
            continue;
        }
        let entry = by_task
            .entry(record.task.clone())
            .or_insert_with(|| TaskActivity {
                task: record.task.clone(),
                last_start: None,
                last_end: None,
                last_success: None,
                last_failure: None,
            });
        match record.action {
            Action::Success => entry.last_success = Some(record.at),
            Action::Fail => entry.last_failure = Some(record.at),
            _ => {}
        }
        let slot = if record.ends_run() {
            &mut entry.last_end
        } else {
            &mut entry.last_start
        };
        if slot.as_ref().is_none_or(|r| r.at <= record.at) {
            *slot = Some(record);
        }
    }
    Ok(by_task.into_values().collect())
}

/// Where a store is, as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// `memory:`: in the process.
    Memory,
    /// `sqlite:path`, `sqlite://path` or a path: a SQLite file.
    Sqlite(std::path::PathBuf),
    /// `postgres://...` or `postgresql://...`.
    Postgres(String),
}

impl StoreUrl {
    /// Reads a store URL.
    ///
    /// ```
    /// use scheduler_core::log::store::StoreUrl;
    ///
    /// assert_eq!(StoreUrl::parse("memory:")?, StoreUrl::Memory);
    /// assert_eq!(StoreUrl::parse("scheduler.db")?, StoreUrl::Sqlite("scheduler.db".into()));
    /// assert_eq!(
    ///     StoreUrl::parse("sqlite:///var/lib/app/log.db")?,
    ///     StoreUrl::Sqlite("/var/lib/app/log.db".into())
    /// );
    /// assert!(StoreUrl::parse("mysql://localhost/app").is_err());
    /// # Ok::<(), scheduler_core::log::StoreError>(())
    /// ```
    pub fn parse(url: &str) -> Result<StoreUrl, StoreError> {
        url.parse()
    }
}

impl std::str::FromStr for StoreUrl {
    type Err = StoreError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        let url = url.trim();
        let invalid = |why: &str| {
            StoreError::new(format!("cannot use the store URL {url:?}: {why}"))
                .of_kind(StoreErrorKind::InvalidUrl)
        };
        if url.is_empty() {
            return Err(invalid(
                "it is empty (use `memory:`, a file path, `sqlite:path` or `postgres://...`)",
            ));
        }
        if matches!(url, "memory:" | "memory" | "memory://") {
            return Ok(StoreUrl::Memory);
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(url.to_owned()));
        }
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            let path = path.split('?').next().unwrap_or_default();
            if path == ":memory:" {
                // SQLite's name for a database in memory, which each pooled connection
                // would open afresh: writes on one would be missing from the others.
                return Err(invalid(
                    "SQLite's in-memory database is one per connection; use `memory:` to keep the log in memory",
                ));
            }
            if path.is_empty() {
                return Err(invalid(
                    "`sqlite:` needs a file path, such as `sqlite:scheduler.db`",
                ));
            }
            return Ok(StoreUrl::Sqlite(path.into()));
        }
        match url.split_once("://") {
            Some((scheme, _)) => Err(invalid(&format!(
                "the scheme `{scheme}` is not one of memory, sqlite, postgres"
            ))),
            None if url == ":memory:" => Err(invalid(
                "SQLite's in-memory database is one per connection; use `memory:` to keep the log in memory",
            )),
            None => Ok(StoreUrl::Sqlite(url.into())),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreUrl::Memory => f.write_str("memory:"),
            StoreUrl::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            StoreUrl::Postgres(url) => f.write_str(&redacted(url)),
        }
    }
}

/// The URL without its password (in its user information or a `password=` option), for
/// messages.
pub(crate) fn redacted(url: &str) -> String {
    let (url, options) = match url.split_once('?') {
        Some((url, options)) => (url, Some(options)),
        None => (url, None),
    };
    let mut shown = match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => match credentials.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        },
        None => url.to_owned(),
    };
    if let Some(options) = options {
        shown.push('?');
        let options: Vec<String> = options
            .split('&')
            .map(|option| match option.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => option.to_owned(),
            })
            .collect();
        shown.push_str(&options.join("&"));
    }
    shown
}

/// Opens the store at `url` (see [`StoreUrl`]), creating a SQLite file and its schema if
/// they do not exist.
///
/// A URL of a store this build cannot open (`postgres://` without the `postgres`
/// feature) is a [`StoreErrorKind::InvalidUrl`] error that says which feature to enable.
pub async fn open(url: &str) -> Result<Arc<dyn LogStore>, StoreError> {
    match url.parse::<StoreUrl>()? {
        StoreUrl::Memory => Ok(Arc::new(MemoryStore::new())),
        #[cfg(feature = "sqlite")]
        StoreUrl::Sqlite(path) => {
            // The file's options (`?synchronous=full`) go with it.
            let file = match url.split_once('?') {
                Some((_, options)) => format!("{}?{options}", path.display()),
                None => path.display().to_string(),
            };
            Ok(Arc::new(SqliteStore::open(file).await?))
        }
        #[cfg(not(feature = "sqlite"))]
        StoreUrl::Sqlite(path) => Err(StoreError::new(format!(
            "cannot open the SQLite file {}: this program is built without the `sqlite` feature of scheduler",
            path.display()
        ))
        .of_kind(StoreErrorKind::InvalidUrl)),
        #[cfg(feature = "postgres")]
        StoreUrl::Postgres(url) => Ok(Arc::new(PostgresStore::open(&url).await?)),
        #[cfg(not(feature = "postgres"))]
        StoreUrl::Postgres(url) => Err(StoreError::new(format!(
            "cannot open {}: this program is built without the `postgres` feature of scheduler",
            redacted(&url)
        ))
        .of_kind(StoreErrorKind::InvalidUrl)),
    }
}

/// Of `records`, those a [`LoadRequest`] asks for about `task` with `retention`, given
/// every record of the task: what [`MemoryStore`] answers, and the reference the other
/// stores are tested against.
pub(crate) fn retained<'r>(records: &[&'r LogRecord], retention: Retention) -> Vec<&'r LogRecord> {
    let Some(newest) = records.iter().map(|r| r.at).max() else {
        return Vec::new();
    };
    let mut keep = vec![false; records.len()];
    // The window, and the last record before it; a window of zero (`Retention::LATEST`)
    // asks for neither, as the persistent stores answer.
    if retention.window_micros > 0 {
        let cutoff = newest.as_micros().saturating_sub(retention.window_micros);
        let mut last_before: Option<usize> = None;
        for (i, r) in records.iter().enumerate() {
            if r.at.as_micros() >= cutoff {
                keep[i] = true;
            } else if last_before.is_none_or(|j| records[j].at <= r.at) {
                last_before = Some(i);
            }
        }
        if let Some(i) = last_before {
            keep[i] = true;
        }
    }
    // The newest `per_action` of each action.
    for action in Action::OF_RUNS {
        let mut of_action: Vec<usize> = (0..records.len())
            .filter(|&i| records[i].action == action)
            .collect();
        of_action.sort_by_key(|&i| std::cmp::Reverse(records[i].at));
        for &i in of_action.iter().take(retention.per_action.max(1) as usize) {
            keep[i] = true;
        }
    }
    records
        .iter()
        .zip(keep)
        .filter_map(|(r, k)| k.then_some(*r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(task: &str, action: Action, at: i64) -> LogRecord {
        LogRecord::new(task, action, Timestamp::from_micros(at))
    }

    #[test]
    fn activity_sums_up_the_latest_records() {
        let store = MemoryStore::new();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(async {
            store
                .append(&[
                    record("fetch", Action::Run, 10),
                    record("fetch", Action::Fail, 20),
                    record("fetch", Action::Run, 30),
                    record("fetch", Action::Success, 40),
                    record("load", Action::Run, 50),
                ])
                .await
                .unwrap();
            let all = activity(&store, &[]).await.unwrap();
            assert_eq!(all.len(), 2);
            let fetch = &all[0];
            assert_eq!(fetch.task, "fetch");
            assert_eq!(fetch.last_success, Some(Timestamp::from_micros(40)));
            assert_eq!(fetch.last_failure, Some(Timestamp::from_micros(20)));
            assert_eq!(
                fetch.last_start.as_ref().map(|r| r.at.as_micros()),
                Some(30)
            );
            assert!(!fetch.is_running());
            assert!(all[1].is_running());
            let only = activity(&store, &["load".to_owned()]).await.unwrap();
            assert_eq!(only.len(), 1);
        });
    }

    #[test]
    fn urls_name_their_store_and_bad_ones_say_why() {
        assert_eq!(StoreUrl::parse("memory:").unwrap(), StoreUrl::Memory);
        assert_eq!(StoreUrl::parse("memory://").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("sqlite://data/log.db?synchronous=full").unwrap(),
            StoreUrl::Sqlite("data/log.db".into())
        );
        let error = StoreUrl::parse("mysql://localhost/app").unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::InvalidUrl);
        assert!(
            error
                .to_string()
                .contains("`mysql` is not one of memory, sqlite, postgres"),
            "{error}"
        );
        assert_eq!(
            redacted("postgres://app:secret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(
            redacted("postgres://app:se@cret@db/app?password=other&sslmode=disable"),
            "postgres://app:***@db/app?password=***&sslmode=disable"
        );
        assert_eq!(redacted("postgres://db/app"), "postgres://db/app");
    }
}
