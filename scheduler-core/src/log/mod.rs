//! The task log as conditions see it.
//!
//! Every run of a task writes a `run` record when it starts and one of `success`, `fail`,
//! `terminate` or `inaction` when it ends; `crash` is written at start-up for a run that a
//! dead process left open. Conditions never scan the log: they ask the [`History`] trait a
//! handful of indexed questions (the latest record of some actions, a count in a window,
//! the number of live runs), which a store answers in O(1) or O(log n).
//!
//! [`LogIndex`] is the in-memory implementation: per task and action, a sorted vector of
//! timestamps, searched by bisection. Persistent stores implement the same trait.
//!
//! A scheduler runs for months, and a task that runs every millisecond writes millions of
//! records a day; conditions only ever look a bounded way back (the last record of each
//! action, the records of a window that may have closed, such as `today between 08:00 and
//! 09:00`, the last few failures for `retry 3`).
//! A [`Retention`] says how far back that is for one task, and a [`LogIndex`] given one
//! drops what lies beyond it, so that the answers to every question asked from the newest
//! record onwards stay the same while memory stays bounded.
//!
//! * [`LogRecord`] and [`Action`]: what a record says (this module);
//! * [`History`]: the questions conditions ask (`history.rs`);
//! * [`Retention`]: how far back a task's records are still asked about (`retention.rs`);
//! * [`LogIndex`]: the in-memory answer to those questions, which the runtime keeps
//!   (`index.rs`);
//! * `LogStore` and its implementations (feature `runtime`): where records are written and
//!   read back (`store.rs`).

mod history;
mod ids;
mod index;
mod retention;
#[cfg(feature = "runtime")]
pub mod store;

use std::fmt;
use std::str::FromStr;

use crate::time::Timestamp;

pub use history::History;
#[cfg(feature = "runtime")]
pub use ids::RunIds;
pub use ids::{InstanceId, InvalidRunId, RunId};
pub use index::LogIndex;
pub use retention::Retention;
#[cfg(feature = "runtime")]
pub use store::{LogStore, MemoryStore, StoreError};

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
    /// Not an event of a run: a task's definition or a session parameter was changed
    /// while the scheduler ran ([`Session::change_task`](crate::runtime::Session::change_task)).
    ///
    /// A change is written to the same log as runs, rather than to a table of its own, so
    /// that it takes its place in the one order of records (`seq`): `logs` and `logs
    /// --follow` show it between the runs it came between, and every store keeps it without
    /// a schema of its own. It is not part of a task's history: [`LogIndex`] ignores it, so
    /// that no condition counts it and no run is opened or closed by it. Its `message`
    /// says what changed (`priority: 0 → 5`) and its `value` holds the same as JSON
    /// (`{"setting": "priority", "old": "0", "new": "5"}`). A session parameter's change
    /// belongs to no task: its record's task is empty, which no task's name can be.
    Change,
}

impl Action {
    /// Every action, in declaration order.
    pub const ALL: [Action; 7] = [
        Action::Run,
        Action::Success,
        Action::Fail,
        Action::Terminate,
        Action::Inaction,
        Action::Crash,
        Action::Change,
    ];

    /// The actions of runs, in declaration order: every action but [`Action::Change`].
    /// These are what [`History`] answers about.
    pub const OF_RUNS: [Action; 6] = [
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
            Action::Change => "change",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }

    /// Whether the action is an event of a run (anything but [`Action::Change`]).
    pub const fn is_of_run(self) -> bool {
        !matches!(self, Action::Change)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`Action`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown log action `{0}`: expected run, success, fail, terminate, inaction, crash or change"
)]
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

    /// Every action.
    pub const ALL: ActionSet = ActionSet((1 << Action::ALL.len()) - 1);

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
    /// The run the record belongs to: a `run` record and the record that ends it (`crash`
    /// included) share it.
    pub run_id: Option<RunId>,
    /// The scheduler process that wrote the record.
    pub instance: Option<InstanceId>,
    /// For records that end a run: how long it ran, in microseconds.
    pub duration_micros: Option<i64>,
    /// The error of a failure (a panic's message included), or the reason of a
    /// termination, an inaction or a crash.
    pub message: Option<String>,
    /// What the run printed, for a child process or a program: at most
    /// [`CAPTURED_OUTPUT_LIMIT`] bytes of each of its standard output and error (their
    /// start and end where it printed more).
    pub output: Option<String>,
    /// On a `success` record: the value the run returned, as JSON, where its type can be
    /// written as JSON (`Return<task>` reads it back after a restart).
    pub value: Option<String>,
}

/// The most bytes of each output stream of a run kept in its record
/// ([`LogRecord::output`]): 16 KiB of standard output and 16 KiB of standard error.
pub const CAPTURED_OUTPUT_LIMIT: usize = 16 * 1024;

impl LogRecord {
    /// A record with no run id, instance, duration, message, output or value.
    pub fn new(task: impl Into<String>, action: Action, at: Timestamp) -> Self {
        LogRecord {
            task: task.into(),
            action,
            at,
            run_id: None,
            instance: None,
            duration_micros: None,
            message: None,
            output: None,
            value: None,
        }
    }

    /// The same record, belonging to the run `run_id`.
    pub fn with_run(mut self, run_id: RunId) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// Whether the record ends a run (any action but `run` and `change`).
    pub fn ends_run(&self) -> bool {
        !matches!(self.action, Action::Run | Action::Change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
        }
        assert!("finish".parse::<Action>().is_err());
    }
}
