//! The engine's side of the task log: the one place that talks to the [`LogStore`].
//!
//! Every record the engine makes goes three ways: into the in-memory [`LogIndex`] that
//! conditions read (at once), to `tracing` (at once), and to the store in a batch, one
//! transaction each (group commit):
//!
//! * before the engine starts a run whose conditions read a task that has an unwritten
//!   record ending a run, it waits until everything is written ([`sync`](Journal::sync)):
//!   a finish is durable before any run that depends on it starts;
//! * otherwise records are written in the background ([`flush`](Journal::flush)), one batch
//!   at a time, at the latest [`GROUP_WINDOW`] after the oldest was made or as soon as
//!   [`GROUP_MAX`] wait, while the engine goes on deciding and starting runs. A batch being
//!   written keeps the next one waiting, so that records reach the store in order; the
//!   engine goes on meanwhile, and waits for that write only once [`WAIT_BEHIND`] records
//!   wait behind it, so that a slow store slows the engine instead of filling memory.
//!
//! Writing every pass's records before going on cost a commit per run (a `true` task ran
//! 3,600 times a second on SQLite); batches written beside the engine's work take the
//! commit off the path of runs that do not depend on it.
//!
//! A store that fails does not stop the scheduler: the records stay in memory, in order,
//! and are written when the store comes back, retried with a backoff from 100 ms to 30 s;
//! each failure and the recovery are logged. While the store fails, nothing waits for a
//! write, not even a run that depends on a finish: a try can take as long as the store's
//! own timeouts (a pool waiting seconds for a database that refuses connections, SQLite
//! waiting for a lock), and awaiting it would hold every start and every event for that
//! long. The end of every background write wakes the loop. While more than [`HOLD_AT`]
//! records wait, the engine starts no new run (runs in progress go on and their records are kept), so that
//! memory stays bounded and nothing is lost. At shutdown the journal retries for
//! [`SHUTDOWN_GRACE`]; records still unwritten then are reported as the scheduler's error
//! (each of them is also in the program's log through `tracing`).
//!
//! At start-up the journal registers this process as an instance, reads what conditions can
//! still ask ([`LogStore::load`]), and closes as crashed the runs that processes found dead
//! left open.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::log::store::{
    InstanceRecord, LoadRequest, OpenRun, PruneRule, RecordQuery, StoredRecord,
};
use crate::log::{
    Action, History, InstanceId, LogIndex, LogRecord, LogStore, Retention, RunId, RunIds,
    StoreError,
};
use crate::runtime::config::LogRetention;
use crate::time::Timestamp;

/// Records waiting for a failing store above which no new run starts.
pub(super) const HOLD_AT: usize = 100_000;

/// How long shutting down retries a failing store.
pub(super) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How often a running scheduler says it is alive, and how long without a word makes
/// another process take it for dead.
pub(super) const HEARTBEAT: Duration = Duration::from_secs(30);

/// How often old records are pruned (when a retention policy is set).
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The longest a record waits to be written when no run depends on it.
pub(super) const GROUP_WINDOW: Duration = Duration::from_millis(5);

/// Records that are written at once, without waiting for [`GROUP_WINDOW`].
pub(super) const GROUP_MAX: usize = 4096;

/// Records that may wait behind a healthy store's write under way before the engine waits
/// for that write. Below it the loop goes on and the write's end wakes it: a write that
/// waits for another writer's lock or a disk flush (milliseconds on PostgreSQL, longer
/// with several writers on one database) would otherwise hold every start and every
/// event of the loop for as long, which cost a worker process a tenth of its jobs per
/// second with four of them on one database.
pub(super) const WAIT_BEHIND: usize = 4 * GROUP_MAX;

const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// A batch being written in the background.
struct InFlight {
    /// Shared with the writing task, so that a failure (or a panicking store) leaves the
    /// records here to be written again.
    records: Arc<Vec<LogRecord>>,
    /// The tasks with a record ending a run in the batch.
    ends: HashSet<String>,
    write: JoinHandle<Result<(), StoreError>>,
}

/// A store that is failing.
#[derive(Debug)]
struct Outage {
    attempts: u32,
    /// When to try again, in microseconds.
    retry_at: i64,
}

/// What start-up found in the store.
pub(super) struct Restored {
    /// Of each task, the value its latest success returned, as JSON.
    pub(super) values: Vec<(String, String)>,
}

/// The store of a scheduler: one given to the builder, or the URL of one that start-up
/// opens.
pub(crate) enum StoreSource {
    /// A store that is open.
    Open(Arc<dyn LogStore>),
    /// A store to open (see `log::store::open`).
    Url(String),
}

/// The index conditions read, the store, and the records not written yet.
pub(super) struct Journal {
    index: LogIndex,
    store: Arc<dyn LogStore>,
    /// The URL of a store that `start` opens (until then `store` is an empty memory store
    /// that nothing writes to).
    to_open: Option<String>,
    /// Whether `start` opened the store from a URL: such a store is closed when the
    /// scheduler stops (one given to the builder stays open, its owner may still use it).
    opened_here: bool,
    unflushed: Vec<LogRecord>,
    /// When the oldest unwritten record was made, in microseconds.
    unflushed_since: Option<i64>,
    /// The tasks with an unwritten record that ends a run.
    unflushed_ends: HashSet<String>,
    in_flight: Option<InFlight>,
    /// Told when a background write ends, to wake the loop.
    write_ended: Arc<tokio::sync::Notify>,
    outage: Option<Outage>,
    /// Every task the engine reads the records of, with how far back (the index's
    /// retentions, by name, for the load request and the prune rules).
    wanted: BTreeMap<String, Retention>,
    instance: InstanceRecord,
    run_ids: RunIds,
    retention: LogRetention,
    last_prune: Option<i64>,
    loaded: bool,
}

impl Journal {
    pub(super) fn new(
        source: StoreSource,
        instance: InstanceRecord,
        retention: LogRetention,
    ) -> Journal {
        let (store, to_open): (Arc<dyn LogStore>, _) = match source {
            StoreSource::Open(store) => (store, None),
            StoreSource::Url(url) => (
                Arc::new(crate::log::MemoryStore::with_capacity(1)),
                Some(url),
            ),
        };
        let mut index = LogIndex::new();
        // What every task's own condition reads; tasks whose records are read further
        // back get their own retention (`retain`).
        index.set_default_retention(Some(Retention::LATEST));
        Journal {
            index,
            store,
            to_open,
            opened_here: false,
            unflushed: Vec::new(),
            unflushed_since: None,
            unflushed_ends: HashSet::new(),
            in_flight: None,
            write_ended: Arc::new(tokio::sync::Notify::new()),
            outage: None,
            wanted: BTreeMap::new(),
            instance,
            run_ids: RunIds::new(),
            retention,
            last_prune: None,
            loaded: false,
        }
    }

    /// The log as conditions read it.
    pub(super) fn index(&self) -> &LogIndex {
        &self.index
    }

    /// The store.
    pub(super) fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// This process, as the store knows it.
    pub(super) fn instance(&self) -> &InstanceRecord {
        &self.instance
    }

    /// The id of a run that starts at `at`.
    pub(super) fn run_id(&mut self, at: Timestamp) -> RunId {
        self.run_ids.next(at.as_micros())
    }

    /// Widens what the index keeps of `task` to what `reach` needs. Retentions only widen:
    /// a task removed may be added again, and records dropped do not come back anyway.
    pub(super) fn retain(&mut self, task: &str, reach: Retention) {
        let kept = self.index.retention(task);
        let widened = kept.map_or(reach, |kept| kept.widen(reach));
        if kept != Some(widened) {
            self.index.set_retention(task, widened);
        }
        self.want(task);
    }

    /// Notes that the engine reads `task`'s records (at least the latest of each action).
    pub(super) fn want(&mut self, task: &str) {
        let retention = self.index.retention(task).unwrap_or(Retention::LATEST);
        self.wanted.insert(task.to_owned(), retention);
    }

    /// Registers this process, loads what conditions can still ask, and closes as crashed
    /// the runs that dead processes left open. The first time only: a restart in the same
    /// process keeps its index.
    pub(super) async fn start(&mut self, now: Timestamp) -> Result<Restored, StoreError> {
        if self.loaded {
            return Ok(Restored { values: Vec::new() });
        }
        if let Some(url) = self.to_open.take() {
            self.store = crate::log::store::open(&url).await?;
            self.opened_here = true;
        }
        self.instance.started = now;
        self.instance.last_seen = now;
        self.instance.stopped = None;
        self.store.register(&self.instance).await?;
        let request = LoadRequest {
            tasks: self
                .wanted
                .iter()
                .map(|(task, retention)| (task.clone(), *retention))
                .collect(),
        };
        let loaded = self.store.load(&request).await?;
        // The value of each task's latest success.
        let mut latest_success: HashMap<&str, &LogRecord> = HashMap::new();
        for r in &loaded.records {
            self.index.record(&r.task, r.action, r.at);
            if r.action == Action::Success {
                let latest = latest_success.entry(&r.task).or_insert(r);
                if latest.at < r.at {
                    *latest = r;
                }
            }
        }
        let values = latest_success
            .into_values()
            .filter_map(|r| Some((r.task.clone(), r.value.clone()?)))
            .collect();
        let alive: HashMap<InstanceId, bool> = loaded
            .instances
            .iter()
            .map(|i| {
                (
                    i.id,
                    i.id == self.instance.id
                        || crate::runtime::inspect::is_alive(i, &self.instance, now),
                )
            })
            .collect();
        let mut live: HashMap<&str, u32> = HashMap::new();
        let mut crashed: Vec<&OpenRun> = Vec::new();
        for run in &loaded.open_runs {
            let alive = run
                .instance
                .and_then(|id| alive.get(&id).copied())
                .unwrap_or(false);
            if alive {
                *live.entry(&run.task).or_default() += 1;
            } else {
                crashed.push(run);
            }
        }
        let tasks: Vec<String> = self.wanted.keys().cloned().collect();
        for task in &tasks {
            self.index
                .set_live_runs(task, live.get(task.as_str()).copied().unwrap_or(0));
        }
        for run in crashed {
            let by = run
                .instance
                .and_then(|id| loaded.instances.iter().find(|i| i.id == id));
            let message = match by {
                Some(i) => format!(
                    "the process running it stopped (instance {} on {}, pid {}, last seen {})",
                    i.name, i.host, i.pid, i.last_seen
                ),
                None => "the process running it stopped".to_owned(),
            };
            let mut record = LogRecord::new(&*run.task, Action::Crash, now).with_run(run.run_id);
            record.instance = Some(self.instance.id);
            record.message = Some(message);
            record.duration_micros = Some(now.as_micros().saturating_sub(run.started.as_micros()));
            // Crash records of tasks this scheduler does not read still go to the store.
            if self.wanted.contains_key(&run.task) {
                self.index.record(&run.task, Action::Crash, now);
            }
            trace(&record);
            self.push(record);
        }
        self.loaded = true;
        Ok(Restored { values })
    }

    /// Records what happened to `task`.
    pub(super) fn record(&mut self, record: LogRecord) {
        self.index.record(&record.task, record.action, record.at);
        trace(&record);
        self.push(record);
    }

    /// Records several at once: as [`record`](Self::record) one by one, with one merge into
    /// the index (see [`LogIndex`]'s `Extend`).
    pub(super) fn record_all(&mut self, records: Vec<LogRecord>) {
        self.index.extend(records.iter());
        for record in records {
            trace(&record);
            self.push(record);
        }
    }

    fn push(&mut self, record: LogRecord) {
        if self.unflushed.is_empty() {
            self.unflushed_since = Some(record.at.as_micros());
        }
        if record.ends_run() && !self.unflushed_ends.contains(&record.task) {
            self.unflushed_ends.insert(record.task.clone());
        }
        self.unflushed.push(record);
    }

    /// Whether a record ending a run of one of `tasks` is not written yet.
    pub(super) fn has_unwritten_end<'t>(&self, mut tasks: impl Iterator<Item = &'t str>) -> bool {
        let in_flight = self.in_flight.as_ref().map(|f| &f.ends);
        if self.unflushed_ends.is_empty() && in_flight.is_none_or(HashSet::is_empty) {
            return false;
        }
        tasks.any(|task| {
            self.unflushed_ends.contains(task) || in_flight.is_some_and(|ends| ends.contains(task))
        })
    }

    /// A record of this process.
    pub(super) fn new_record(
        &self,
        task: &str,
        action: Action,
        at: Timestamp,
        run_id: RunId,
    ) -> LogRecord {
        let mut record = LogRecord::new(task, action, at).with_run(run_id);
        record.instance = Some(self.instance.id);
        record
    }

    /// Whether so many records wait for a failing store that no new run should start.
    pub(super) fn is_holding(&self) -> bool {
        self.waiting() >= HOLD_AT
    }

    /// Records not written yet, the batch being written included.
    fn waiting(&self) -> usize {
        self.unflushed.len() + self.in_flight.as_ref().map_or(0, |f| f.records.len())
    }

    /// When a failing store is tried next, in microseconds (none while a write is under
    /// way: its end wakes the loop, see [`write_ended`](Self::write_ended)).
    pub(super) fn retry_at(&self) -> Option<i64> {
        if self.in_flight.is_some() {
            return None;
        }
        self.outage.as_ref().map(|o| o.retry_at)
    }

    /// When the waiting records are due to be written, in microseconds (none while the
    /// store fails: [`retry_at`](Self::retry_at) says when then).
    pub(super) fn flush_at(&self) -> Option<i64> {
        if self.outage.is_some() {
            return None;
        }
        let since = self.unflushed_since?;
        if self.waits_behind_write() {
            // The write's end wakes the loop (see `write_ended`).
            return None;
        }
        if self.unflushed.len() >= GROUP_MAX {
            return Some(since);
        }
        Some(since.saturating_add(GROUP_WINDOW.as_micros() as i64))
    }

    /// Whether a healthy store's write is under way with room behind it (fewer than
    /// [`WAIT_BEHIND`] records waiting): the next batch waits for it without holding the
    /// loop.
    fn waits_behind_write(&self) -> bool {
        self.unflushed.len() < WAIT_BEHIND
            && self
                .in_flight
                .as_ref()
                .is_some_and(|f| !f.write.is_finished())
    }

    /// Whether [`flush`](Self::flush) has something to do now.
    pub(super) fn flush_due(&self, now: Timestamp) -> bool {
        match self.outage.as_ref() {
            Some(outage) => !self.unflushed.is_empty() && outage.retry_at <= now.as_micros(),
            None => self.flush_at().is_some_and(|at| at <= now.as_micros()),
        }
    }

    /// Completes when a background write has ended (at once if one ended since the last
    /// call); the loop waits on it beside its other wake-ups, to take its result and write
    /// what waits behind it.
    pub(super) fn write_ended(&self) -> impl std::future::Future<Output = ()> + 'static {
        let notify = self.write_ended.clone();
        async move { notify.notified().await }
    }

    /// Takes the result of the batch being written if it is done, without waiting.
    pub(super) async fn poll(&mut self, now: Timestamp) {
        if self
            .in_flight
            .as_ref()
            .is_some_and(|f| f.write.is_finished())
        {
            self.settle(now).await;
        }
    }

    /// Waits for the batch being written, if there is one: on success its records are
    /// stored; on failure they go back before the waiting ones, to be written again.
    async fn settle(&mut self, now: Timestamp) {
        let Some(mut in_flight) = self.in_flight.take() else {
            return;
        };
        let result = match (&mut in_flight.write).await {
            Ok(result) => result,
            Err(join) => Err(StoreError::new(format!(
                "the log store's write did not finish: {join}"
            ))),
        };
        match result {
            Ok(()) => self.recovered(in_flight.records.len()),
            Err(error) => {
                self.put_back(in_flight);
                self.failed(error, now);
            }
        }
    }

    /// The records of a write that failed, back before those made since.
    fn put_back(&mut self, in_flight: InFlight) {
        let mut records = Arc::unwrap_or_clone(in_flight.records);
        if let Some(first) = records.first() {
            self.unflushed_since = Some(first.at.as_micros());
        }
        records.append(&mut self.unflushed);
        self.unflushed = records;
        self.unflushed_ends.extend(in_flight.ends);
    }

    /// Starts writing the waiting records in the background, after the batch being
    /// written, unless the store is failing and not due for another try. A healthy store's
    /// write under way is waited for only once [`WAIT_BEHIND`] records wait behind it (a
    /// slow store slows the engine); before that, and always for a failing store's, this
    /// returns, and the write's end wakes the loop.
    pub(super) async fn flush(&mut self, now: Timestamp) {
        if self.outage.is_some() {
            self.poll(now).await;
            if self.in_flight.is_some() {
                return;
            }
        } else {
            if self.waits_behind_write() {
                return;
            }
            self.settle(now).await;
        }
        if self.unflushed.is_empty()
            || self
                .outage
                .as_ref()
                .is_some_and(|o| o.retry_at > now.as_micros())
        {
            return;
        }
        let records = Arc::new(std::mem::take(&mut self.unflushed));
        let ends = std::mem::take(&mut self.unflushed_ends);
        self.unflushed_since = None;
        let (store, batch, ended) = (
            self.store.clone(),
            records.clone(),
            self.write_ended.clone(),
        );
        let write = tokio::spawn(async move {
            let result = store.append(&batch).await;
            ended.notify_one();
            result
        });
        self.in_flight = Some(InFlight {
            records,
            ends,
            write,
        });
    }

    /// Writes every record made so far and waits until they are stored, unless the store
    /// is failing (then the write goes on in the background and this returns: while the
    /// store fails, nothing waits for it). A failure keeps the records for the next try.
    pub(super) async fn sync(&mut self, now: Timestamp) {
        if self.outage.is_some() {
            self.flush(now).await;
            return;
        }
        // Written from the loop itself, not through a spawned task: the loop waits anyway,
        // and a hand-over to another task is a wake-up more on the path of the dependent.
        if let Err(error) = self.try_flush().await {
            self.failed(error, now);
        }
    }

    /// Writes every waiting record now, waiting for the batch under way first.
    async fn try_flush(&mut self) -> Result<(), StoreError> {
        if let Some(mut in_flight) = self.in_flight.take() {
            match (&mut in_flight.write).await {
                Ok(Ok(())) => {}
                // Written again below, with the others.
                _ => self.put_back(in_flight),
            }
        }
        if self.unflushed.is_empty() {
            return Ok(());
        }
        let written = self.unflushed.len();
        self.store.append(&self.unflushed).await?;
        self.unflushed.clear();
        self.unflushed_ends.clear();
        self.unflushed_since = None;
        self.recovered(written);
        Ok(())
    }

    /// A write succeeded: the records that waited for a failing store, which it held
    /// first, are stored.
    fn recovered(&mut self, written: usize) {
        if let Some(outage) = self.outage.take() {
            tracing::info!(
                attempts = outage.attempts,
                written,
                "the log store accepts records again; every record that waited is written"
            );
        }
    }

    fn failed(&mut self, error: StoreError, now: Timestamp) {
        let attempts = self.outage.as_ref().map_or(1, |o| o.attempts + 1);
        let backoff = BACKOFF_FIRST
            .saturating_mul(1 << attempts.min(16).saturating_sub(1))
            .min(BACKOFF_MAX);
        let waiting = self.waiting();
        let holding = if self.is_holding() {
            "; no new run starts until they are written"
        } else {
            ""
        };
        // The first failure, then every tenth, so that a long outage does not flood the log.
        if attempts == 1 || attempts.is_multiple_of(10) {
            let transient = error.is_transient();
            let error = error_chain(&error);
            if transient {
                tracing::warn!(
                    attempts,
                    waiting,
                    "the log store is unavailable ({error}); {waiting} records wait in memory, retrying in {backoff:?}{holding}"
                );
            } else {
                tracing::error!(
                    attempts,
                    waiting,
                    "the log store refuses records ({error}); {waiting} records wait in memory, retrying in {backoff:?}{holding}"
                );
            }
        }
        self.outage = Some(Outage {
            attempts,
            retry_at: now.as_micros().saturating_add(backoff.as_micros() as i64),
        });
    }

    /// Writes what is not written yet, retrying a failing store for [`SHUTDOWN_GRACE`] (on
    /// tokio's clock). Records that could not be written are the error.
    pub(super) async fn flush_before_exit(&mut self) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        let mut backoff = BACKOFF_FIRST;
        loop {
            if self.waiting() == 0 {
                return Ok(());
            }
            match self.try_flush().await {
                Ok(()) => return Ok(()),
                Err(error) if tokio::time::Instant::now() + backoff > deadline => {
                    return Err(StoreError::with_source(
                        format!(
                            "{} records could not be written before the scheduler stopped (they are in the program's log)",
                            self.unflushed.len()
                        ),
                        error,
                    ));
                }
                Err(_) => {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                }
            }
        }
    }

    /// Says this process stopped.
    pub(super) async fn stop(&mut self, now: Timestamp) {
        self.instance.last_seen = now;
        self.instance.stopped = Some(now);
        if let Err(error) = self.store.register(&self.instance).await {
            tracing::warn!(
                "cannot record that this scheduler stopped: {}",
                error_chain(&error)
            );
        }
    }

    /// Closes the store if this journal opened it (see [`LogStore::close`]); called once the
    /// scheduler has stopped for good, after the last write.
    pub(super) async fn close(&mut self) {
        if self.opened_here {
            self.store.close().await;
        }
    }

    /// Records that match `query`, after writing what waits.
    pub(super) async fn query(
        &mut self,
        query: &RecordQuery,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.try_flush().await?;
        self.store.query(query).await
    }

    /// The rules of a prune due now, if one is.
    pub(super) fn prune_due(&mut self, now: Timestamp) -> Option<Vec<PruneRule>> {
        if self.retention.max_age.is_none() && self.retention.max_records_per_task.is_none() {
            return None;
        }
        let now_us = now.as_micros();
        if self
            .last_prune
            .is_some_and(|last| now_us - last < PRUNE_EVERY.as_micros() as i64)
        {
            return None;
        }
        self.last_prune = Some(now_us);
        let older_than = self.retention.max_age.map(|age| {
            Timestamp::from_micros(
                now_us.saturating_sub(age.as_micros().min(i64::MAX as u128) as i64),
            )
        });
        Some(
            self.wanted
                .keys()
                .filter_map(|task| {
                    let retention = self.index.retention(task).unwrap_or(Retention::LATEST);
                    let newest = self.index.latest(task, crate::log::ActionSet::ALL, now)?;
                    // What the task's conditions can still ask stays, whatever its age.
                    let needed = newest.as_micros().saturating_sub(retention.window_micros);
                    Some(PruneRule {
                        task: task.clone(),
                        older_than,
                        beyond_count: self.retention.max_records_per_task,
                        protect_from: Timestamp::from_micros(needed),
                        keep_per_action: retention.per_action.max(1),
                    })
                })
                .collect(),
        )
    }
}

/// The error and its causes, on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A run's length for the log, after the word "after": ` after 850µs`, ` after 12.5ms`,
/// ` after 3.20s`, ` after 4m05s`; nothing when there is none.
struct Took(Option<i64>);

impl fmt::Display for Took {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(micros) = self.0 else {
            return Ok(());
        };
        let micros = micros.max(0);
        match micros {
            0..1_000 => write!(f, " after {micros}µs"),
            1_000..1_000_000 => write!(f, " after {:.1}ms", micros as f64 / 1e3),
            1_000_000..60_000_000 => write!(f, " after {:.2}s", micros as f64 / 1e6),
            _ => {
                let secs = micros / 1_000_000;
                write!(f, " after {}m{:02}s", secs / 60, secs % 60)
            }
        }
    }
}

/// A record's message after a colon, or nothing when it has none.
struct Detail<'a>(Option<&'a str>);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(message) if !message.is_empty() => write!(f, ": {message}"),
            _ => Ok(()),
        }
    }
}

/// A record's run id, or nothing.
struct RunText(Option<RunId>);

impl fmt::Display for RunText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(id) => id.fmt(f),
            None => Ok(()),
        }
    }
}

/// The record as a line of the program's log, at a level that fits the action. Its parts
/// are formatted only when a subscriber takes the line: a queue worker makes two records
/// per job, and formatting run ids nobody read was 4 % of its CPU.
fn trace(record: &LogRecord) {
    let task = record.task.as_str();
    let run = tracing::field::display(RunText(record.run_id));
    let took = Took(
        record
            .duration_micros
            .filter(|_| record.action != Action::Crash),
    );
    let detail = Detail(record.message.as_deref());
    match record.action {
        Action::Run => tracing::info!(task, run, "{task} started"),
        Action::Success => tracing::info!(task, run, "{task} succeeded{took}"),
        Action::Inaction => {
            tracing::info!(task, run, "{task} had nothing to do{took}{detail}")
        }
        Action::Fail => tracing::error!(task, run, "{task} failed{took}{detail}"),
        Action::Crash => tracing::error!(task, run, "{task} crashed{detail}"),
        Action::Terminate => {
            tracing::warn!(task, run, "{task} was terminated{took}{detail}")
        }
        Action::Change if task.is_empty() => tracing::info!("a session parameter changed{detail}"),
        Action::Change => tracing::info!(task, "{task} changed{detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::{Detail, RunText, Took};
    use crate::log::RunId;

    #[test]
    fn the_parts_of_a_log_line_read_as_before() {
        let took = |micros| Took(Some(micros)).to_string();
        assert_eq!(took(850), " after 850µs");
        assert_eq!(took(-3), " after 0µs");
        assert_eq!(took(12_500), " after 12.5ms");
        assert_eq!(took(3_200_000), " after 3.20s");
        assert_eq!(took(245_000_000), " after 4m05s");
        assert_eq!(Took(None).to_string(), "");
        assert_eq!(Detail(Some("disk full")).to_string(), ": disk full");
        assert_eq!(Detail(Some("")).to_string(), "");
        assert_eq!(Detail(None).to_string(), "");
        let id = RunId::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(RunText(Some(id)).to_string(), id.to_string());
        assert_eq!(RunText(None).to_string(), "");
    }
}
