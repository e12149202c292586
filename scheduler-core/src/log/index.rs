//! The task log in memory, indexed for the questions of [`History`]: what the runtime
//! keeps of each task, bounded by its [`Retention`].

use std::collections::HashMap;

use crate::time::Timestamp;

use super::{Action, ActionSet, History, LogRecord, Retention};

/// A log kept in memory, indexed for the [`History`] questions.
///
/// Records may arrive in any order; they are kept sorted by time (records with equal
/// times keep their arrival order). Appending in time order costs amortised O(1).
///
/// By default every record is kept. With a [`Retention`] for a task
/// ([`set_retention`](Self::set_retention)), the task's records are pruned as they grow
/// (each time they double), so that memory stays bounded however long the log runs.
///
/// ```
/// use scheduler_core::log::{Action, ActionSet, History, LogIndex};
/// use scheduler_core::time::Timestamp;
///
/// let mut log = LogIndex::new();
/// log.record("fetch", Action::Run, Timestamp::from_micros(10));
/// log.record("fetch", Action::Success, Timestamp::from_micros(20));
/// let now = Timestamp::from_micros(30);
/// assert_eq!(log.latest("fetch", ActionSet::of(Action::Success), now), Some(Timestamp::from_micros(20)));
/// assert_eq!(log.live_runs("fetch", now), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct LogIndex {
    tasks: HashMap<String, TaskRecords>,
    /// Retentions set for tasks that have no record yet (those that differ from the
    /// default): a map entry of a few words each rather than an empty `TaskRecords` (about
    /// 200 bytes), since many tasks may never run.
    pending: HashMap<String, Retention>,
    /// The retention of a task for which none was set; `None` keeps everything.
    default_retention: Option<Retention>,
    len: usize,
}

#[derive(Debug, Clone)]
struct TaskRecords {
    /// Times of the records of each action, sorted.
    by_action: [Vec<i64>; Action::OF_RUNS.len()],
    /// Every record in time order, with the number of live runs after it.
    sequence: Vec<Entry>,
    /// Live runs before the first entry of `sequence` (not zero once older entries were
    /// pruned).
    live_before_first: u32,
    /// What to keep; `None` (never set) keeps everything, as does `Retention::ALL`.
    retention: Option<Retention>,
    /// The length of `sequence` at which it is pruned next.
    prune_at: usize,
}

/// Records of a task below which it is never pruned: pruning a few records saves nothing.
const PRUNE_MIN: usize = 256;

impl Default for TaskRecords {
    fn default() -> Self {
        TaskRecords {
            by_action: Default::default(),
            sequence: Vec::new(),
            live_before_first: 0,
            retention: None,
            prune_at: PRUNE_MIN,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    at: i64,
    action: Action,
    live_after: u32,
}

impl TaskRecords {
    fn insert(&mut self, action: Action, at: i64) {
        let times = &mut self.by_action[action.index()];
        let pos = times.partition_point(|&t| t <= at);
        times.insert(pos, at);

        let pos = self.sequence.partition_point(|e| e.at <= at);
        let live_before = pos
            .checked_sub(1)
            .map_or(self.live_before_first, |i| self.sequence[i].live_after);
        self.sequence.insert(
            pos,
            Entry {
                at,
                action,
                live_after: 0,
            },
        );
        self.count_live_from(pos, live_before);
    }

    /// Inserts a record, then prunes if the records have grown enough; returns the number
    /// of entries pruned.
    fn add(&mut self, action: Action, at: i64) -> usize {
        self.insert(action, at);
        self.prune_if_grown()
    }

    /// Counts again the live runs after each entry from `pos` on, `live` being the count
    /// before it. Without a branch on the action: in a busy task's records starts and ends
    /// alternate, which a branch predicts badly.
    fn count_live_from(&mut self, pos: usize, mut live: u32) {
        for entry in &mut self.sequence[pos..] {
            let starts = u32::from(entry.action == Action::Run);
            live = (live + starts).saturating_sub(1 - starts);
            entry.live_after = live;
        }
    }

    /// Inserts several records at once, as [`insert`](Self::insert) one by one would (a
    /// record goes after those of the same time already held, and after those before it
    /// in `batch`), in one merge. A job's end reaches the log a report's round trip after
    /// it happened, behind the starts of the runs begun meanwhile, so that inserting each
    /// end alone moved and counted again hundreds of entries: a tenth of a queue worker's
    /// CPU with 4,000 jobs held.
    fn insert_all(&mut self, batch: &mut [(Action, i64)]) {
        if let [(action, at)] = *batch {
            self.insert(action, at);
            return;
        }
        // Stable: records of the same time keep their order.
        batch.sort_by_key(|&(_, at)| at);
        let Some(&(_, first)) = batch.first() else {
            return;
        };
        for (i, times) in self.by_action.iter_mut().enumerate() {
            let new: Vec<i64> = batch
                .iter()
                .filter(|(action, _)| action.index() == i)
                .map(|&(_, at)| at)
                .collect();
            if new.is_empty() {
                continue;
            }
            let from = times.partition_point(|&t| t <= new[0]);
            let tail = times.split_off(from);
            times.reserve(tail.len() + new.len());
            let (mut old, mut new) = (tail.into_iter().peekable(), new.into_iter().peekable());
            while let (Some(&o), Some(&n)) = (old.peek(), new.peek()) {
                if o <= n {
                    times.push(o);
                    old.next();
                } else {
                    times.push(n);
                    new.next();
                }
            }
            times.extend(old.chain(new));
        }
        let from = self.sequence.partition_point(|e| e.at <= first);
        let tail = self.sequence.split_off(from);
        self.sequence.reserve(tail.len() + batch.len());
        let mut old = tail.into_iter().peekable();
        for &(action, at) in batch.iter() {
            while let Some(entry) = old.next_if(|e| e.at <= at) {
                self.sequence.push(entry);
            }
            self.sequence.push(Entry {
                at,
                action,
                live_after: 0,
            });
        }
        self.sequence.extend(old);
        let live_before = from
            .checked_sub(1)
            .map_or(self.live_before_first, |i| self.sequence[i].live_after);
        self.count_live_from(from, live_before);
    }

    /// Drops what `retention` does not keep; returns the number of entries of `sequence`
    /// dropped.
    fn prune(&mut self, retention: Retention) -> usize {
        let Some(newest) = self.sequence.last().map(|e| e.at) else {
            return 0;
        };
        let cutoff = newest.saturating_sub(retention.window_micros);
        let keep = retention.per_action.max(1) as usize;
        // The starts of the runs still live are kept whatever their age: a duration
        // leaf (`has been running for more than ...`) measures from them.
        let live = self.sequence.last().map_or(0, |e| e.live_after) as usize;
        for (i, times) in self.by_action.iter_mut().enumerate() {
            let keep = if i == Action::Run.index() {
                keep.max(live)
            } else {
                keep
            };
            let older = times.partition_point(|&t| t < cutoff);
            times.drain(..older.saturating_sub(keep));
        }
        // The last entry before the window answers `last_action` and `live_runs` for
        // instants before the first entry inside it.
        let older = self.sequence.partition_point(|e| e.at < cutoff);
        let dropped = older.saturating_sub(1);
        if dropped > 0 {
            self.live_before_first = self.sequence[dropped - 1].live_after;
            self.sequence.drain(..dropped);
        }
        dropped
    }

    /// Prunes when the records have doubled since the last time: amortised O(1) per record.
    fn prune_if_grown(&mut self) -> usize {
        let Some(retention) = self.retention.filter(|&r| r != Retention::ALL) else {
            return 0;
        };
        if self.sequence.len() < self.prune_at {
            return 0;
        }
        let dropped = self.prune(retention);
        self.prune_at = (2 * self.sequence.len()).max(PRUNE_MIN);
        dropped
    }

    /// The times of the records of `action`, sorted: none for a change, which is kept
    /// nowhere.
    fn times(&self, action: Action) -> &[i64] {
        self.by_action
            .get(action.index())
            .map_or(&[], Vec::as_slice)
    }

    fn index_at(&self, at: i64) -> Option<usize> {
        self.sequence.partition_point(|e| e.at <= at).checked_sub(1)
    }
}

impl LogIndex {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a record. A [`Action::Change`] is not an event of a run and is not kept: no
    /// question of [`History`] is about it.
    pub fn record(&mut self, task: &str, action: Action, at: Timestamp) {
        if !action.is_of_run() {
            return;
        }
        let at = at.as_micros();
        // One lookup for a task already held (nearly every record): this is the runtime's
        // hottest path (`bench/instructions.py`, `log_append`: two lookups cost 1.43x).
        let dropped = match self.tasks.get_mut(task) {
            Some(records) => records.add(action, at),
            None => {
                self.hold_task(task);
                self.tasks
                    .get_mut(task)
                    .map_or(0, |records| records.add(action, at))
            }
        };
        self.len += 1;
        self.len -= dropped;
    }

    /// Makes room for the records of `task` (with the retention set for it) if it has none.
    fn hold_task(&mut self, task: &str) {
        if !self.tasks.contains_key(task) {
            let retention = self.pending.remove(task).or(self.default_retention);
            self.tasks.insert(
                task.to_owned(),
                TaskRecords {
                    retention,
                    ..TaskRecords::default()
                },
            );
        }
    }

    /// Sets the number of `task`'s runs live after its newest record to `live`, shifting
    /// the counts of the records held: a log loaded in part (the latest record of each
    /// action, say) cannot count the runs that were open before its first record, which the
    /// store knows.
    ///
    /// ```
    /// use scheduler_core::log::{Action, History, LogIndex};
    /// use scheduler_core::time::Timestamp;
    ///
    /// let mut log = LogIndex::new();
    /// // Two runs started, of which only the newest `run` record was loaded.
    /// log.record("load", Action::Run, Timestamp::from_micros(10));
    /// log.set_live_runs("load", 2);
    /// assert_eq!(log.live_runs("load", Timestamp::from_micros(20)), 2);
    /// ```
    pub fn set_live_runs(&mut self, task: &str, live: u32) {
        let Some(records) = self.tasks.get_mut(task) else {
            return;
        };
        let last = records
            .sequence
            .last()
            .map_or(records.live_before_first, |e| e.live_after);
        let shift = |n: u32| -> u32 {
            if live >= last {
                n.saturating_add(live - last)
            } else {
                n.saturating_sub(last - live)
            }
        };
        records.live_before_first = shift(records.live_before_first);
        for entry in &mut records.sequence {
            entry.live_after = shift(entry.live_after);
        }
    }

    /// Keeps of `task`'s records only what `retention` needs from now on (records already
    /// dropped by a narrower retention do not come back).
    pub fn set_retention(&mut self, task: &str, retention: Retention) {
        let Some(records) = self.tasks.get_mut(task) else {
            if Some(retention) == self.default_retention {
                self.pending.remove(task);
            } else {
                self.pending.insert(task.to_owned(), retention);
            }
            return;
        };
        records.retention = Some(retention);
        records.prune_at = PRUNE_MIN;
        self.len -= records.prune_if_grown();
    }

    /// Prunes every task that has a retention now, rather than when its records next
    /// double.
    pub fn prune(&mut self) {
        for records in self.tasks.values_mut() {
            if let Some(retention) = records.retention.filter(|&r| r != Retention::ALL) {
                self.len -= records.prune(retention);
                records.prune_at = (2 * records.sequence.len()).max(PRUNE_MIN);
            }
        }
    }

    /// The retention set for `task`, else the default one; `None` when neither was set
    /// (then everything is kept).
    pub fn retention(&self, task: &str) -> Option<Retention> {
        match self.tasks.get(task) {
            Some(records) => records.retention,
            None => self.pending.get(task).copied().or(self.default_retention),
        }
    }

    /// The retention of every task for which none is set with
    /// [`set_retention`](Self::set_retention), from its first record on; `None` (the
    /// default) keeps everything. A scheduler sets it to [`Retention::LATEST`], what every
    /// task's own condition needs, so that only tasks whose records conditions read
    /// further back take an entry of their own.
    ///
    /// ```
    /// use scheduler_core::log::{Action, LogIndex, Retention};
    /// use scheduler_core::time::Timestamp;
    ///
    /// let mut log = LogIndex::new();
    /// log.set_default_retention(Some(Retention::LATEST));
    /// log.set_retention("report", Retention::window(60_000_000)); // the last minute
    /// assert_eq!(log.retention("fetch"), Some(Retention::LATEST));
    /// for i in 0..1_000 {
    ///     log.record("fetch", Action::Run, Timestamp::from_micros(i));
    /// }
    /// log.prune();
    /// assert!(log.records_of("fetch").count() <= 2); // of 1,000: the latest ones only
    /// ```
    pub fn set_default_retention(&mut self, retention: Option<Retention>) {
        self.default_retention = retention;
    }

    /// The number of records held (in [`records_of`](Self::records_of)).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the log holds no record.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The records of `task` held, in time order.
    pub fn records_of<'a>(&'a self, task: &'a str) -> impl Iterator<Item = LogRecord> + 'a {
        self.tasks
            .get(task)
            .into_iter()
            .flat_map(|r| r.sequence.iter())
            .map(move |e| LogRecord::new(task, e.action, Timestamp::from_micros(e.at)))
    }
}

/// Adds records as [`record`](LogIndex::record) would one by one, each task's in one
/// merge: cheaper when they arrive out of time order, behind records already held.
impl Extend<LogRecord> for LogIndex {
    fn extend<I: IntoIterator<Item = LogRecord>>(&mut self, iter: I) {
        let records: Vec<LogRecord> = iter.into_iter().collect();
        self.extend(records.iter());
    }
}

/// Adds records as [`record`](LogIndex::record) would one by one, each task's in one
/// merge.
impl<'a> Extend<&'a LogRecord> for LogIndex {
    fn extend<I: IntoIterator<Item = &'a LogRecord>>(&mut self, iter: I) {
        let mut by_task: Vec<(&str, Vec<(Action, i64)>)> = Vec::new();
        for r in iter {
            if !r.action.is_of_run() {
                continue;
            }
            let entry = (r.action, r.at.as_micros());
            // Few tasks per batch (a worker's jobs are of a handful of tasks): a scan
            // beats hashing.
            match by_task
                .iter_mut()
                .find(|(task, _)| *task == r.task.as_str())
            {
                Some((_, batch)) => batch.push(entry),
                None => by_task.push((r.task.as_str(), vec![entry])),
            }
        }
        for (task, mut batch) in by_task {
            self.hold_task(task);
            let Some(records) = self.tasks.get_mut(task) else {
                continue;
            };
            records.insert_all(&mut batch);
            self.len += batch.len();
            self.len -= records.prune_if_grown();
        }
    }
}

impl FromIterator<LogRecord> for LogIndex {
    fn from_iter<I: IntoIterator<Item = LogRecord>>(iter: I) -> Self {
        let mut log = LogIndex::new();
        log.extend(iter);
        log
    }
}

impl History for LogIndex {
    fn latest(&self, task: &str, actions: ActionSet, at: Timestamp) -> Option<Timestamp> {
        let records = self.tasks.get(task)?;
        let at = at.as_micros();
        actions
            .iter()
            .filter_map(|a| {
                let times = records.times(a);
                let n = times.partition_point(|&t| t <= at);
                n.checked_sub(1).map(|i| times[i])
            })
            .max()
            .map(Timestamp::from_micros)
    }

    fn next_after(&self, task: &str, actions: ActionSet, after: Timestamp) -> Option<Timestamp> {
        let records = self.tasks.get(task)?;
        let after = after.as_micros();
        actions
            .iter()
            .filter_map(|a| {
                let times = records.times(a);
                times.get(times.partition_point(|&t| t <= after)).copied()
            })
            .min()
            .map(Timestamp::from_micros)
    }

    fn count(&self, task: &str, actions: ActionSet, from: Timestamp, to: Timestamp) -> usize {
        let Some(records) = self.tasks.get(task) else {
            return 0;
        };
        let (from, to) = (from.as_micros(), to.as_micros());
        if from > to {
            return 0;
        }
        actions
            .iter()
            .map(|a| {
                let times = records.times(a);
                times.partition_point(|&t| t <= to) - times.partition_point(|&t| t < from)
            })
            .sum()
    }

    fn last_action(&self, task: &str, at: Timestamp) -> Option<Action> {
        let records = self.tasks.get(task)?;
        records
            .index_at(at.as_micros())
            .map(|i| records.sequence[i].action)
    }

    fn live_runs(&self, task: &str, at: Timestamp) -> usize {
        self.tasks
            .get(task)
            .and_then(|r| {
                r.index_at(at.as_micros())
                    .map(|i| r.sequence[i].live_after as usize)
            })
            .unwrap_or(0)
    }

    fn live_run_starts(&self, task: &str, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
        let live = self.live_runs(task, at);
        if live == 0 {
            return None;
        }
        // Runs close oldest first, so the live ones are the latest `live` starts.
        let starts = &self.tasks.get(task)?.by_action[Action::Run.index()];
        let n = starts.partition_point(|&t| t <= at.as_micros());
        let newest = *starts.get(n.checked_sub(1)?)?;
        let oldest = starts[n.saturating_sub(live)];
        Some((
            Timestamp::from_micros(oldest),
            Timestamp::from_micros(newest),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(m: i64) -> Timestamp {
        Timestamp::from_micros(m)
    }

    #[test]
    fn queries_are_as_of_an_instant() {
        let mut log = LogIndex::new();
        log.record("a", Action::Run, ts(10));
        log.record("a", Action::Fail, ts(20));
        log.record("a", Action::Run, ts(30));
        log.record("a", Action::Success, ts(40));
        let s = ActionSet::of(Action::Success).with(Action::Fail);
        assert_eq!(log.latest("a", s, ts(39)), Some(ts(20)));
        assert_eq!(log.latest("a", s, ts(40)), Some(ts(40)));
        assert_eq!(log.latest("a", s, ts(5)), None);
        assert_eq!(log.next_after("a", s, ts(20)), Some(ts(40)));
        assert_eq!(log.count("a", s, ts(20), ts(40)), 2);
        assert_eq!(log.count("a", s, ts(21), ts(39)), 0);
        assert_eq!(log.last_action("a", ts(35)), Some(Action::Run));
        assert_eq!(log.live_runs("a", ts(35)), 1);
        assert_eq!(log.live_runs("a", ts(40)), 0);
        assert_eq!(log.live_runs("nobody", ts(40)), 0);
        assert!(log.any_between("a", s, ts(15), ts(25)));
        assert!(!log.any_between("a", s, ts(21), ts(39)));
    }

    #[test]
    fn out_of_order_records_are_sorted() {
        let mut log = LogIndex::new();
        log.record("a", Action::Success, ts(40));
        log.record("a", Action::Run, ts(10));
        log.record("a", Action::Run, ts(30));
        assert_eq!(log.live_runs("a", ts(35)), 2);
        assert_eq!(log.live_runs("a", ts(40)), 1);
        let actions: Vec<_> = log.records_of("a").map(|r| r.action).collect();
        assert_eq!(actions, [Action::Run, Action::Run, Action::Success]);
    }

    #[test]
    fn a_retention_bounds_the_log_however_long_it_runs() {
        let mut log = LogIndex::new();
        log.set_retention("a", Retention::window(1_000).with_per_action(3));
        let mut peak = 0;
        for i in 0..100_000 {
            log.record("a", Action::Run, ts(i * 10));
            log.record("a", Action::Success, ts(i * 10 + 5));
            peak = peak.max(log.len());
        }
        // The window holds 200 records; pruning waits for the records to double.
        assert!(peak <= 2 * PRUNE_MIN, "{peak} records held at most");
        let now = ts(999_995);
        let done = ActionSet::of(Action::Success);
        assert_eq!(log.latest("a", done, now), Some(now));
        assert_eq!(log.count("a", done, ts(999_000), now), 100);
        assert_eq!(log.live_runs("a", now), 0);
        assert_eq!(log.last_action("a", now), Some(Action::Success));
        // Without a retention nothing is dropped.
        log.record("b", Action::Run, ts(0));
        assert_eq!(log.retention("b"), None);
        assert_eq!(
            log.retention("a"),
            Some(Retention::window(1_000).with_per_action(3))
        );
    }

    #[test]
    fn live_run_starts_are_the_latest_starts_and_survive_pruning() {
        let mut log = LogIndex::new();
        log.set_retention("t", Retention::LATEST);
        log.record("t", Action::Run, ts(5));
        log.record("t", Action::Run, ts(7));
        assert_eq!(log.live_run_starts("t", ts(6)), Some((ts(5), ts(5))));
        assert_eq!(log.live_run_starts("t", ts(8)), Some((ts(5), ts(7))));
        // Runs close oldest first: after many short runs, the two live ones are the
        // latest two starts.
        for i in 0..1_000 {
            log.record("t", Action::Run, ts(100 + 2 * i));
            log.record("t", Action::Success, ts(101 + 2 * i));
        }
        log.prune();
        let end = ts(10_000);
        assert_eq!(log.live_run_starts("t", end), Some((ts(2_096), ts(2_098))));
        // A retention of the latest record still keeps the start of every live run.
        let mut many = LogIndex::new();
        many.set_retention("m", Retention::LATEST);
        for i in 0..600 {
            many.record("m", Action::Run, ts(i));
        }
        many.prune();
        assert_eq!(many.live_run_starts("m", end), Some((ts(0), ts(599))));
        assert_eq!(log.live_run_starts("other", end), None);
        log.record("t", Action::Success, ts(10_001));
        log.record("t", Action::Success, ts(10_002));
        assert_eq!(log.live_run_starts("t", ts(10_003)), None);
    }

    #[test]
    fn live_runs_survive_pruning_and_late_records() {
        let mut log = LogIndex::new();
        log.set_retention("a", Retention::LATEST);
        // A run that never ends, then many short ones.
        log.record("a", Action::Run, ts(0));
        for i in 1..1_000 {
            log.record("a", Action::Run, ts(i * 10));
            log.record("a", Action::Success, ts(i * 10 + 1));
        }
        log.prune();
        assert!(log.records_of("a").count() < 10);
        assert_eq!(log.live_runs("a", ts(10_000)), 1);
        // A record older than everything held still counts from the right number of runs.
        log.record("a", Action::Run, ts(5));
        assert_eq!(log.live_runs("a", ts(10_000)), 2);
    }

    #[test]
    fn default_retention_bounds_tasks_without_their_own() {
        let mut log = LogIndex::new();
        log.set_default_retention(Some(Retention::LATEST));
        let wide = Retention::window(100);
        log.set_retention("kept", wide);
        // Setting the default explicitly takes no entry of its own.
        log.set_retention("plain", Retention::LATEST);
        assert_eq!(log.pending.len(), 1);
        assert_eq!(log.retention("plain"), Some(Retention::LATEST));
        assert_eq!(log.retention("never-set"), Some(Retention::LATEST));
        for task in ["kept", "plain", "never-set"] {
            for i in 0..1_000 {
                log.record(task, Action::Run, ts(i * 10));
                log.record(task, Action::Success, ts(i * 10 + 1));
            }
        }
        log.prune();
        assert_eq!(log.retention("kept"), Some(wide));
        assert!(log.records_of("never-set").count() < 10);
        assert!(log.records_of("plain").count() < 10);
        // Two records every 10 µs, the last 100 µs of them kept.
        assert!(log.records_of("kept").count() >= 20);
        // Without a default, a log used alone keeps everything.
        let mut alone = LogIndex::new();
        for i in 0..1_000 {
            alone.record("a", Action::Run, ts(i));
        }
        alone.prune();
        assert_eq!(alone.retention("a"), None);
        assert_eq!(alone.records_of("a").count(), 1_000);
    }
}
