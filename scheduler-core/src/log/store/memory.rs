//! The log store in memory: bounded, and gone with the process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::BoxFuture;
use crate::log::{Action, LogRecord, RunId};

use super::{
    InstanceRecord, LoadRequest, Loaded, LogStore, OpenRun, PruneRule, RecordQuery, StoreError,
    StoredRecord, retained,
};

/// A log kept in memory, holding the most recent records up to a capacity.
///
/// The capacity bounds what [`records`](Self::records) returns and what a restart within
/// the same process reloads (the latest record of each action of each task, and the runs
/// left open, are kept apart, whatever the capacity); conditions read the runtime's own
/// index.
///
/// ```
/// use std::sync::Arc;
/// use scheduler_core::log::MemoryStore;
///
/// let store = Arc::new(MemoryStore::with_capacity(10_000));
/// assert!(store.records().is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    state: Mutex<State>,
    capacity: usize,
    /// A job queue in memory, if asked for ([`MemoryStore::with_jobs`]).
    jobs: Option<crate::queue::MemoryJobs>,
}

/// Records are shared between the window, the latest of each action and the open runs:
/// an append copies each record once (it borrows them, so that the runtime keeps them
/// through a failed append), and the indexes hold pointers to that copy.
#[derive(Debug, Default)]
struct State {
    /// The window of the latest records, with their sequence numbers, oldest first.
    records: VecDeque<(u64, Arc<LogRecord>)>,
    next_seq: u64,
    /// The latest record of each action of each task, by [`Action::index`].
    latest: HashMap<String, [Option<Arc<LogRecord>>; Action::ALL.len()]>,
    /// The `run` record of each run that has not ended.
    open: BTreeMap<RunId, Arc<LogRecord>>,
    instances: BTreeMap<crate::log::InstanceId, InstanceRecord>,
}

fn stored(seq: u64, record: &LogRecord) -> StoredRecord {
    StoredRecord {
        seq,
        record: record.clone(),
    }
}

fn open_run(run_id: RunId, started: &LogRecord) -> OpenRun {
    OpenRun {
        run_id,
        task: started.task.clone(),
        instance: started.instance,
        started: started.at,
    }
}

impl MemoryStore {
    /// Records kept by [`MemoryStore::new`].
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store keeping the latest [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) records.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store keeping the latest `capacity` records.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            state: Mutex::new(State::default()),
            capacity: capacity.max(1),
            jobs: None,
        }
    }

    /// The same store with a job queue in memory (see `queue::MemoryJobs`): on-demand
    /// runs without durability, and tests of the queue on a virtual clock.
    pub fn with_jobs(mut self) -> Self {
        self.jobs = Some(crate::queue::MemoryJobs::default());
        self
    }

    /// A copy of the stored records, oldest first.
    pub fn records(&self) -> Vec<LogRecord> {
        self.lock()
            .records
            .iter()
            .map(|(_, r)| LogRecord::clone(r))
            .collect()
    }

    /// The records of one task, oldest first.
    pub fn records_of(&self, task: &str) -> Vec<LogRecord> {
        self.lock()
            .records
            .iter()
            .filter(|(_, r)| r.task == task)
            .map(|(_, r)| LogRecord::clone(r))
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-updated.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl LogStore for MemoryStore {
    fn jobs(&self) -> Option<&dyn crate::queue::JobStore> {
        self.jobs
            .as_ref()
            .map(|jobs| jobs as &dyn crate::queue::JobStore)
    }

    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        let mut state = self.lock();
        let state = &mut *state;
        for record in records {
            let record = Arc::new(record.clone());
            // Looked up by `&str` first: a task's name is copied once, on its first record.
            let latest = match state.latest.get_mut(record.task.as_str()) {
                Some(latest) => latest,
                None => state.latest.entry(record.task.clone()).or_default(),
            };
            let slot = &mut latest[record.action.index()];
            if slot.as_ref().is_none_or(|held| held.at <= record.at) {
                *slot = Some(Arc::clone(&record));
            }
            // A job's run is watched by the queue's lease, not here (`RunId::is_job_run`).
            if let Some(run_id) = record.run_id.filter(|id| !id.is_job_run()) {
                if record.ends_run() {
                    state.open.remove(&run_id);
                } else {
                    state.open.insert(run_id, Arc::clone(&record));
                }
            }
            state.records.push_back((state.next_seq, record));
            state.next_seq += 1;
        }
        let excess = state.records.len().saturating_sub(self.capacity);
        state.records.drain(..excess);
        ready(Ok(()))
    }

    fn load<'a>(&'a self, request: &'a LoadRequest) -> BoxFuture<'a, Result<Loaded, StoreError>> {
        let state = self.lock();
        let mut records = Vec::new();
        for (task, retention) in &request.tasks {
            // The records held, with the latest of each action (which may be older than
            // what the capacity keeps).
            let mut of_task: Vec<&LogRecord> = state
                .records
                .iter()
                .map(|(_, r)| &**r)
                // A change is not part of a task's history (and would move its window).
                .filter(|r| r.task == *task && r.action.is_of_run())
                .collect();
            for latest in state.latest.get(task).into_iter().flatten().flatten() {
                if latest.action.is_of_run() && !of_task.iter().any(|r| std::ptr::eq(*r, &**latest))
                {
                    of_task.push(latest);
                }
            }
            records.extend(retained(&of_task, *retention).into_iter().cloned());
        }
        ready(Ok(Loaded {
            records,
            open_runs: state
                .open
                .iter()
                .map(|(run_id, started)| open_run(*run_id, started))
                .collect(),
            instances: state.instances.values().cloned().collect(),
        }))
    }

    fn query<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, StoreError>> {
        let state = self.lock();
        let matching = state
            .records
            .iter()
            .filter(|(seq, r)| query.matches(*seq, r))
            .map(|(seq, r)| stored(*seq, r));
        let found: Vec<StoredRecord> = if query.newest_first {
            matching.rev().take(query.limit).collect()
        } else {
            matching.take(query.limit).collect()
        };
        ready(Ok(found))
    }

    fn latest<'a>(
        &'a self,
        tasks: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LogRecord>, StoreError>> {
        let state = self.lock();
        let mut found: Vec<LogRecord> = state
            .latest
            .iter()
            .filter(|(task, _)| tasks.is_empty() || tasks.contains(task))
            .flat_map(|(_, latest)| latest.iter().flatten())
            .map(|r| LogRecord::clone(r))
            .collect();
        found.sort_by(|a, b| (&a.task, a.at).cmp(&(&b.task, b.at)));
        ready(Ok(found))
    }

    fn register<'a>(
        &'a self,
        instance: &'a InstanceRecord,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        self.lock().instances.insert(instance.id, instance.clone());
        ready(Ok(()))
    }

    fn prune<'a>(&'a self, rules: &'a [PruneRule]) -> BoxFuture<'a, Result<u64, StoreError>> {
        let mut state = self.lock();
        let before = state.records.len();
        for rule in rules {
            // Ranks from the newest: records are held in the order written.
            let mut of_task: Vec<usize> = (0..state.records.len())
                .filter(|&i| state.records[i].1.task == rule.task)
                .collect();
            of_task.sort_by_key(|&i| std::cmp::Reverse((state.records[i].1.at, i)));
            let mut per_action: HashMap<Action, u64> = HashMap::new();
            let mut keep = vec![true; state.records.len()];
            for (rank, &i) in of_task.iter().enumerate() {
                let record = &state.records[i].1;
                let n = per_action.entry(record.action).or_default();
                *n += 1;
                if rule.deletes(record.at, *n, rank as u64 + 1) {
                    keep[i] = false;
                }
            }
            let mut i = 0;
            state.records.retain(|_| {
                i += 1;
                keep[i - 1]
            });
        }
        ready(Ok((before - state.records.len()) as u64))
    }
}
