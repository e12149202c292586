//! The task log as conditions see it.
//!
//! Every run of a task writes a `run` record when it starts and one of `success`, `fail`,
//! `terminate` or `inaction` when it ends; `crash` is written at start-up for a run that a
//! dead process left open. Conditions never scan the log: they ask the [`History`] trait a
//! handful of indexed questions (the latest record of some actions, a count in a window,
//! the number of live runs), which a store answers in O(1) or O(log n).
//!
//! [`MemoryLog`] is the in-memory implementation: per task and action, a sorted vector of
//! timestamps, searched by bisection. Persistent stores implement the same trait.
//!
//! A scheduler runs for months, and a task that runs every millisecond writes millions of
//! records a day; conditions only ever look a bounded way back (the last record of each
//! action, the records of a window that may have closed, such as `today between 08:00 and
//! 09:00`, the last few failures for `retry 3`).
//! A [`Retention`] says how far back that is for one task, and a [`MemoryLog`] given one
//! drops what lies beyond it, so that the answers to every question asked from the newest
//! record onwards stay the same while memory stays bounded.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::time::Timestamp;

/// What a log record says happened to a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// A run started.
    Run,
    /// A run returned normally.
    Success,
    /// A run failed (an error, a panic, a missing argument).
    Fail,
    /// A run was stopped: timeout, end condition, shutdown, or on request.
    Terminate,
    /// A run decided there was nothing to do.
    Inaction,
    /// A run was left open by a process that died; written at the next start-up.
    Crash,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 6] = [
        Action::Run,
        Action::Success,
        Action::Fail,
        Action::Terminate,
        Action::Inaction,
        Action::Crash,
    ];

    /// The name used in logs and stores: `run`, `success`, `fail`, `terminate`,
    /// `inaction`, `crash`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Run => "run",
            Action::Success => "success",
            Action::Fail => "fail",
            Action::Terminate => "terminate",
            Action::Inaction => "inaction",
            Action::Crash => "crash",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log action `{0}`: expected run, success, fail, terminate, inaction or crash")]
pub struct UnknownAction(pub String);

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_owned()))
    }
}

/// A set of [`Action`]s, as a bit set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ActionSet(u8);

impl ActionSet {
    /// No action.
    pub const EMPTY: ActionSet = ActionSet(0);

    /// The set of one action.
    pub const fn of(action: Action) -> ActionSet {
        ActionSet(1 << action.index())
    }

    /// This set with `action` added.
    pub const fn with(self, action: Action) -> ActionSet {
        ActionSet(self.0 | (1 << action.index()))
    }

    /// Whether `action` is in the set.
    pub const fn contains(self, action: Action) -> bool {
        self.0 & (1 << action.index()) != 0
    }

    /// The actions of the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL.into_iter().filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Action> for ActionSet {
    fn from_iter<I: IntoIterator<Item = Action>>(iter: I) -> Self {
        iter.into_iter().fold(ActionSet::EMPTY, ActionSet::with)
    }
}

/// One record of the task log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// The task the record is about.
    pub task: String,
    /// What happened.
    pub action: Action,
    /// When it happened.
    pub at: Timestamp,
    /// The run the record belongs to (a `run` record and the record that ends it share it).
    pub run_id: Option<u64>,
    /// For records that end a run: how long it ran, in microseconds.
    pub duration_micros: Option<i64>,
    /// Error text of a failure, reason of a termination or inaction, or captured output.
    pub message: Option<String>,
}

impl LogRecord {
    /// A record with no run id, duration or message.
    pub fn new(task: impl Into<String>, action: Action, at: Timestamp) -> Self {
        LogRecord {
            task: task.into(),
            action,
            at,
            run_id: None,
            duration_micros: None,
            message: None,
        }
    }
}

/// The questions conditions ask of the task log.
///
/// Every question is asked "as of" an instant: records later than it do not exist yet.
/// Implementations must answer without scanning the whole log (see the module docs).
pub trait History {
    /// The time of the latest record of `task` whose action is in `actions`, at or before `at`.
    fn latest(&self, task: &str, actions: ActionSet, at: Timestamp) -> Option<Timestamp>;

    /// The time of the earliest record of `task` whose action is in `actions`, strictly
    /// after `after`. A log that only holds the past answers `None` for the present.
    fn next_after(&self, task: &str, actions: ActionSet, after: Timestamp) -> Option<Timestamp>;

    /// The number of records of `task` whose action is in `actions` in `[from, to]`.
    fn count(&self, task: &str, actions: ActionSet, from: Timestamp, to: Timestamp) -> usize;

    /// The action of the last record of `task` at or before `at`: the task's status.
    fn last_action(&self, task: &str, at: Timestamp) -> Option<Action>;

    /// The number of runs of `task` live at `at`: `run` records at or before `at` not yet
    /// closed by a later record of the task (any other action closes the oldest open run).
    fn live_runs(&self, task: &str, at: Timestamp) -> usize;

    /// Whether `task` has a record whose action is in `actions` in `[from, to]`.
    fn any_between(&self, task: &str, actions: ActionSet, from: Timestamp, to: Timestamp) -> bool {
        from <= to && self.latest(task, actions, to).is_some_and(|t| t >= from)
    }
}

impl<H: History + ?Sized> History for &H {
    fn latest(&self, task: &str, actions: ActionSet, at: Timestamp) -> Option<Timestamp> {
        (**self).latest(task, actions, at)
    }
    fn next_after(&self, task: &str, actions: ActionSet, after: Timestamp) -> Option<Timestamp> {
        (**self).next_after(task, actions, after)
    }
    fn count(&self, task: &str, actions: ActionSet, from: Timestamp, to: Timestamp) -> usize {
        (**self).count(task, actions, from, to)
    }
    fn last_action(&self, task: &str, at: Timestamp) -> Option<Action> {
        (**self).last_action(task, at)
    }
    fn live_runs(&self, task: &str, at: Timestamp) -> usize {
        (**self).live_runs(task, at)
    }
}

/// How much of one task's log must be kept for the questions conditions ask of it.
///
/// Every record younger than [`window`](Self::window_micros) (counted back from the task's
/// newest record) is kept, and older ones are dropped except the latest
/// [`per_action`](Self::per_action) of each action and the last record before the window.
/// With that, [`History`] gives the same answers as the full log for every question whose
/// instants are at or after the task's newest record and whose windows reach back no
/// further than the window; counts of an action over a window ending then are exact up to
/// `per_action` (beyond it they are at least `per_action`).
///
/// ```
/// use scheduler_core::log::Retention;
///
/// let daily = Retention::window(2 * 86_400_000_000);
/// let retry_3 = Retention::LATEST.with_per_action(4);
/// assert_eq!(daily.widen(retry_3), Retention { window_micros: 2 * 86_400_000_000, per_action: 4 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    /// How far back from the newest record every record is kept, in microseconds.
    pub window_micros: i64,
    /// How many of the latest records of each action are kept whatever their age (at least
    /// one: the latest record of each action is always kept).
    pub per_action: u32,
}

impl Retention {
    /// The latest record of each action, and the task's status: what `after`, `every`,
    /// `daily`, `cron`, `in past`, `is running` and `retry` without a limit need.
    pub const LATEST: Retention = Retention {
        window_micros: 0,
        per_action: 1,
    };

    /// Everything (what a log without a retention keeps).
    pub const ALL: Retention = Retention {
        window_micros: i64::MAX,
        per_action: u32::MAX,
    };

    /// Every record of the last `micros` microseconds, and the latest of each action.
    pub const fn window(micros: i64) -> Retention {
        Retention {
            window_micros: micros,
            per_action: 1,
        }
    }

    /// The same, keeping the latest `n` records of each action whatever their age.
    pub const fn with_per_action(self, n: u32) -> Retention {
        Retention {
            per_action: n,
            ..self
        }
    }

    /// What keeps enough for the questions of both.
    pub fn widen(self, other: Retention) -> Retention {
        Retention {
            window_micros: self.window_micros.max(other.window_micros),
            per_action: self.per_action.max(other.per_action),
        }
    }
}

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
/// use scheduler_core::log::{Action, ActionSet, History, MemoryLog};
/// use scheduler_core::time::Timestamp;
///
/// let mut log = MemoryLog::new();
/// log.record("fetch", Action::Run, Timestamp::from_micros(10));
/// log.record("fetch", Action::Success, Timestamp::from_micros(20));
/// let now = Timestamp::from_micros(30);
/// assert_eq!(log.latest("fetch", ActionSet::of(Action::Success), now), Some(Timestamp::from_micros(20)));
/// assert_eq!(log.live_runs("fetch", now), 0);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
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
    by_action: [Vec<i64>; 6],
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
        let mut live = live_before;
        for entry in &mut self.sequence[pos..] {
            live = match entry.action {
                Action::Run => live + 1,
                _ => live.saturating_sub(1),
            };
            entry.live_after = live;
        }
    }

    /// Drops what `retention` does not keep; returns the number of entries of `sequence`
    /// dropped.
    fn prune(&mut self, retention: Retention) -> usize {
        let Some(newest) = self.sequence.last().map(|e| e.at) else {
            return 0;
        };
        let cutoff = newest.saturating_sub(retention.window_micros);
        let keep = retention.per_action.max(1) as usize;
        for times in &mut self.by_action {
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

    fn index_at(&self, at: i64) -> Option<usize> {
        self.sequence.partition_point(|e| e.at <= at).checked_sub(1)
    }
}

impl MemoryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a record.
    pub fn record(&mut self, task: &str, action: Action, at: Timestamp) {
        let records = match self.tasks.get_mut(task) {
            Some(records) => records,
            None => {
                let retention = self.pending.remove(task).or(self.default_retention);
                self.tasks.entry(task.to_owned()).or_insert(TaskRecords {
                    retention,
                    ..TaskRecords::default()
                })
            }
        };
        records.insert(action, at.as_micros());
        self.len += 1;
        self.len -= records.prune_if_grown();
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
    /// use scheduler_core::log::{Action, MemoryLog, Retention};
    /// use scheduler_core::time::Timestamp;
    ///
    /// let mut log = MemoryLog::new();
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

impl Extend<LogRecord> for MemoryLog {
    fn extend<I: IntoIterator<Item = LogRecord>>(&mut self, iter: I) {
        for r in iter {
            self.record(&r.task, r.action, r.at);
        }
    }
}

impl FromIterator<LogRecord> for MemoryLog {
    fn from_iter<I: IntoIterator<Item = LogRecord>>(iter: I) -> Self {
        let mut log = MemoryLog::new();
        log.extend(iter);
        log
    }
}

impl History for MemoryLog {
    fn latest(&self, task: &str, actions: ActionSet, at: Timestamp) -> Option<Timestamp> {
        let records = self.tasks.get(task)?;
        let at = at.as_micros();
        actions
            .iter()
            .filter_map(|a| {
                let times = &records.by_action[a.index()];
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
                let times = &records.by_action[a.index()];
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
                let times = &records.by_action[a.index()];
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(m: i64) -> Timestamp {
        Timestamp::from_micros(m)
    }

    #[test]
    fn queries_are_as_of_an_instant() {
        let mut log = MemoryLog::new();
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
        let mut log = MemoryLog::new();
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
        let mut log = MemoryLog::new();
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
    fn live_runs_survive_pruning_and_late_records() {
        let mut log = MemoryLog::new();
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
        let mut log = MemoryLog::new();
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
        let mut alone = MemoryLog::new();
        for i in 0..1_000 {
            alone.record("a", Action::Run, ts(i));
        }
        alone.prune();
        assert_eq!(alone.retention("a"), None);
        assert_eq!(alone.records_of("a").count(), 1_000);
    }

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("finish".parse::<Action>().is_err());
    }
}
