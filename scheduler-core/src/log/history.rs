//! The questions conditions ask of the task log, as one trait that every log answers.

use crate::time::Timestamp;

use super::{Action, ActionSet};

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

    /// The starts of the oldest and the newest of `task`'s runs live at `at` (runs are
    /// closed oldest first, as in [`live_runs`](Self::live_runs)), or `None` when none is
    /// live. When the log no longer holds the start of a live run (its runs were loaded
    /// in part), the oldest start it holds stands for it.
    fn live_run_starts(&self, task: &str, at: Timestamp) -> Option<(Timestamp, Timestamp)>;

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
    fn live_run_starts(&self, task: &str, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
        (**self).live_run_starts(task, at)
    }
}
