//! The typed form of a condition.
//!
//! Values are built by the parser ([`str::parse`]) or the typed API
//! ([`crate::condition::api`]); both produce the same, normalised values for the same
//! condition: an `All` has two or more operands and none of them is an `All` (the same for
//! `Any`), a single dependency is listed with [`Quantifier::All`]. Leaf structs whose
//! fields must agree with each other are `#[non_exhaustive]`: they can be read and matched
//! but only built through those two doors, so every value has a printable form that
//! parses back to it.

use crate::log::{Action, ActionSet};
use crate::time::{Interval, Period};

use super::cron::CronSchedule;
use super::cron_fields::CronFields;
use super::once::OnceAt;

/// A condition: when a task may start (or must end).
///
/// Parse one from a string, build one with the typed API, and combine them with `&`, `|`
/// and `!` (printed `~`):
///
/// ```
/// use scheduler_core::condition::{Condition, api::*};
/// let parsed: Condition = "daily between 07:00 and 10:00 & after task 'get_data' succeeded".parse()?;
/// let built = daily().between("07:00", "10:00")? & after_success("get_data");
/// assert_eq!(parsed, built);
/// assert_eq!(parsed.to_string(), "daily between 07:00 and 10:00 & after task 'get_data' succeeded");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Condition {
    /// `true` or `false` (also written `always true`, `always false`).
    Literal(bool),
    /// `~x`: true when `x` is false.
    Not(Box<Condition>),
    /// `a & b & …`: true when every operand is true (evaluated left to right, stopping at
    /// the first false one).
    All(Vec<Condition>),
    /// `a | b | …`: true when some operand is true (stopping at the first true one).
    Any(Vec<Condition>),
    /// `daily`, `hourly after 45:00`, `weekly between Mon and Fri`: now is inside the period
    /// and the owning task has not finished (succeeded, failed, terminated or inacted) in
    /// its current occurrence.
    OncePer(Period),
    /// `time of day between 09:00 and 17:00`: now is inside the period; history is not read.
    TimeOf(ClockWindow),
    /// `every 10 minutes`: the owning task has not started within the last interval.
    Every(Interval),
    /// `cron 0 9 * * MON-FRI`: now is inside a matching minute and the owning task has not
    /// started in it.
    Cron(CronSchedule),
    /// `cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)`: now is inside a second that
    /// matches the named fields (APScheduler's meaning) and the owning task has not started
    /// in it.
    CronFields(CronFields),
    /// `task 'x' has succeeded today`: a record of the status exists in the window.
    Status(StatusCondition),
    /// `after task 'x' succeeded`: the dependency finished so after the owning task's last
    /// start.
    After(AfterTasks),
    /// `task 'x' is running`: the task has a live run.
    Running(TaskRef),
    /// `retry`, `retry N`: the owning task's last run failed and it has failed at most `N`
    /// times in a row (no limit when `None`).
    Retry(Option<u32>),
    /// `scheduler started 10 minutes ago`, `scheduler has more than 3 cycles`, ...
    Scheduler(SchedulerCondition),
    /// `env 'prod'`: the session parameter `env` equals the value.
    Env(String),
    /// `param 'k' exists`, `param 'k' is 'v'`.
    Param(ParamCondition),
    /// `once at 2026-12-01T08:00:00 [grace 1 hour]`: from the instant on, until the end of
    /// its misfire grace, while the owning task has not started since the instant (a date
    /// task runs once, ever).
    OnceAt(OnceAt),
    // Counting and duration leaves (issue 21). New variants from other work go after
    // these, so that merges append rather than interleave.
    /// `task 'x' has succeeded more than 3 times today`: the number of records of the
    /// status in the window, compared with a number.
    Count(CountCondition),
    /// `task 'x' has been running for more than 10 minutes`: a live run has lasted at
    /// least (or, with `less than`, at most) the length of time.
    RunningFor(RunningFor),
    /// `task 'x' is running more than 2 times`: the number of live runs, compared with a
    /// number (for tasks that may run more than once at a time).
    RunningCount(RunningCount),
    /// `file_exists('data.csv')`, `is_work_day()`: a condition defined by a function of the
    /// program (`#[scheduler::cond]`), called with the arguments written.
    Custom(CustomCall),
}

/// A clock window: `time of day between 09:00 and 17:00`, `time of week on Monday`.
///
/// The language allows `before`, `after` and `between` spans for every unit but seconds,
/// and `on` for weeks and months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ClockWindow {
    /// The period whose membership the window tests.
    pub period: Period,
}

/// The task a leaf is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskRef {
    /// The task whose condition this is (no `task '...'` in the string).
    Owner,
    /// The task with this name.
    Named(String),
}

impl TaskRef {
    /// The name of a named task.
    pub fn name(&self) -> Option<&str> {
        match self {
            TaskRef::Owner => None,
            TaskRef::Named(name) => Some(name),
        }
    }
}

/// The statuses a status leaf can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// `succeeded`: `success` records.
    Succeeded,
    /// `failed`: `fail` records.
    Failed,
    /// `finished`: `success`, `fail` and `terminate` records.
    Finished,
    /// `terminated`: `terminate` records.
    Terminated,
    /// `inacted`: `inaction` records.
    Inacted,
    /// `started`: `run` records.
    Started,
    /// `crashed`: `crash` records.
    Crashed,
}

impl TaskStatus {
    /// The log actions the status counts.
    pub fn actions(self) -> ActionSet {
        match self {
            TaskStatus::Succeeded => ActionSet::of(Action::Success),
            TaskStatus::Failed => ActionSet::of(Action::Fail),
            TaskStatus::Finished => ActionSet::of(Action::Success)
                .with(Action::Fail)
                .with(Action::Terminate),
            TaskStatus::Terminated => ActionSet::of(Action::Terminate),
            TaskStatus::Inacted => ActionSet::of(Action::Inaction),
            TaskStatus::Started => ActionSet::of(Action::Run),
            TaskStatus::Crashed => ActionSet::of(Action::Crash),
        }
    }

    /// The word used in condition strings.
    pub fn keyword(self) -> &'static str {
        match self {
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Finished => "finished",
            TaskStatus::Terminated => "terminated",
            TaskStatus::Inacted => "inacted",
            TaskStatus::Started => "started",
            TaskStatus::Crashed => "crashed",
        }
    }
}

/// The window a status leaf looks at.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusScope {
    /// No scope: any record, ever.
    Ever,
    /// `today`, `this hour between 15:00 and 45:00`, ...: the current or most recent
    /// occurrence of the period (before the period opens today, yesterday's).
    Period(Period),
    /// `past 2 hours`: the last interval up to now, both ends included.
    Past(Interval),
}

/// `[task 'x' ]has <status>[ <scope>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct StatusCondition {
    /// The task whose records count.
    pub task: TaskRef,
    /// Which records count.
    pub status: TaskStatus,
    /// Where they must lie.
    pub scope: StatusScope,
}

/// What a dependency must have done for `after task ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// `succeeded` (the default): a `success` record.
    Succeeded,
    /// `failed`: a `fail` record.
    Failed,
    /// `finished`: a `success` or `fail` record (not `terminate`, unlike `has finished`).
    Finished,
    /// `terminated`: a `terminate` record.
    Terminated,
}

impl Outcome {
    /// The log actions that satisfy the outcome.
    pub fn actions(self) -> ActionSet {
        match self {
            Outcome::Succeeded => ActionSet::of(Action::Success),
            Outcome::Failed => ActionSet::of(Action::Fail),
            Outcome::Finished => ActionSet::of(Action::Success).with(Action::Fail),
            Outcome::Terminated => ActionSet::of(Action::Terminate),
        }
    }

    /// The word used in condition strings.
    pub fn keyword(self) -> &'static str {
        match self {
            Outcome::Succeeded => "succeeded",
            Outcome::Failed => "failed",
            Outcome::Finished => "finished",
            Outcome::Terminated => "terminated",
        }
    }
}

/// Whether all or any of the listed dependencies must have the outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quantifier {
    /// Every listed task (`after tasks 'a', 'b'`; also a single task).
    All,
    /// At least one listed task (`after any tasks 'a', 'b'`).
    Any,
}

/// `after task 'x'`, `after tasks 'a', 'b'`, `after any tasks 'a', 'b'`, each with an
/// optional outcome.
///
/// Each dependency's latest record of the outcome must be strictly later than the owning
/// task's latest start (or the owning task never started).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct AfterTasks {
    /// The dependencies, at least one. A single dependency always has [`Quantifier::All`].
    pub tasks: Vec<String>,
    /// All or any of them.
    pub quantifier: Quantifier,
    /// What they must have done.
    pub outcome: Outcome,
}

/// Conditions on the scheduler itself.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SchedulerCondition {
    /// `scheduler started <interval> ago`: it started within the interval (both ends
    /// included).
    StartedWithin(Interval),
    /// `scheduler has run over <interval>`: it started longer ago than the interval.
    RunningLongerThan(Interval),
    /// `scheduler has more than N cycles`.
    CyclesMoreThan(u64),
    /// `scheduler has less than N cycles`.
    CyclesLessThan(u64),
    /// `scheduler has N cycles`.
    CyclesExactly(u64),
}

/// Conditions on session parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParamCondition {
    /// `param 'k' exists`.
    Exists(String),
    /// `param 'k' is 'v'`: the parameter's value, as text, equals the value.
    Is(String, String),
}

/// A comparison of a number of records or runs with a bound: `more than 3`, `less than
/// 3`, `at least 3`, `at most 3`, or a bare `3` (exactly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Comparison {
    /// `more than N`: greater than `N`.
    MoreThan(u32),
    /// `less than N`: smaller than `N`.
    LessThan(u32),
    /// `at least N`: `N` or more.
    AtLeast(u32),
    /// `at most N`: `N` or fewer.
    AtMost(u32),
    /// `N`: exactly `N`.
    Exactly(u32),
}

impl Comparison {
    /// Whether `n` satisfies the comparison.
    pub fn holds(self, n: usize) -> bool {
        match self {
            Comparison::MoreThan(b) => n > b as usize,
            Comparison::LessThan(b) => n < b as usize,
            Comparison::AtLeast(b) => n >= b as usize,
            Comparison::AtMost(b) => n <= b as usize,
            Comparison::Exactly(b) => n == b as usize,
        }
    }

    /// The bound `N`.
    pub fn bound(self) -> u32 {
        match self {
            Comparison::MoreThan(b)
            | Comparison::LessThan(b)
            | Comparison::AtLeast(b)
            | Comparison::AtMost(b)
            | Comparison::Exactly(b) => b,
        }
    }

    /// How many records a count must be exact up to for the comparison to be decided: a
    /// count known to be at least `N + 1` decides every comparison with `N`.
    pub fn decisive_count(self) -> u32 {
        self.bound().saturating_add(1)
    }
}

/// `[task 'x' ]has <status> <comparison> times[ <scope>]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CountCondition {
    /// The task whose records count.
    pub task: TaskRef,
    /// Which records count.
    pub status: TaskStatus,
    /// How their number is compared.
    pub comparison: Comparison,
    /// Where they must lie.
    pub scope: StatusScope,
}

/// The bound of a run's duration in [`RunningFor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DurationBound {
    /// `for more than D`: the oldest live run started `D` or longer ago.
    MoreThan(Interval),
    /// `for less than D`: the newest live run started `D` ago or later.
    LessThan(Interval),
}

/// `[task 'x' ]has been running for (more|less) than D`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RunningFor {
    /// The task whose runs are measured.
    pub task: TaskRef,
    /// How long they must have lasted.
    pub bound: DurationBound,
}

/// `[task 'x' ]is running <comparison> times`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct RunningCount {
    /// The task whose live runs are counted.
    pub task: TaskRef,
    /// How their number is compared.
    pub comparison: Comparison,
}

/// A call of a custom condition: its name (as written, possibly a path such as
/// `conditions::is_work_day`) and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct CustomCall {
    /// The name as written: a Rust path to the function.
    pub path: String,
    /// The arguments, in order.
    pub args: Vec<CustomArg>,
}

impl CustomCall {
    /// A call of `path` with `args`. The path is one or more identifiers joined by `::`,
    /// as the parser accepts it.
    pub fn new(path: impl Into<String>, args: Vec<CustomArg>) -> CustomCall {
        CustomCall {
            path: path.into(),
            args,
        }
    }

    /// The function's name: the last segment of the path, under which it is registered.
    pub fn name(&self) -> &str {
        self.path.rsplit("::").next().unwrap_or(&self.path)
    }
}

/// An argument written in a custom condition's call.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CustomArg {
    /// `'text'`.
    Text(String),
    /// `42`, `-3`.
    Integer(i64),
    /// `1.5`, `-0.25`: kept as written, read as a floating-point number when called.
    Decimal(String),
    /// `true` or `false`.
    Bool(bool),
}

impl CustomArg {
    /// What kind of literal it is, in words (`text`, `integer`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            CustomArg::Text(_) => "text",
            CustomArg::Integer(_) => "integer",
            CustomArg::Decimal(_) => "decimal number",
            CustomArg::Bool(_) => "boolean",
        }
    }
}

impl Condition {
    /// `Literal(true)`.
    pub const TRUE: Condition = Condition::Literal(true);
    /// `Literal(false)`.
    pub const FALSE: Condition = Condition::Literal(false);

    /// `a & b`, flattening nested `All`s so that `a & b & c` is one three-operand `All`
    /// however it was grouped.
    pub fn and(self, other: Condition) -> Condition {
        let mut operands = match self {
            Condition::All(v) => v,
            c => vec![c],
        };
        match other {
            Condition::All(v) => operands.extend(v),
            c => operands.push(c),
        }
        Condition::All(operands)
    }

    /// `a | b`, flattening nested `Any`s.
    pub fn or(self, other: Condition) -> Condition {
        let mut operands = match self {
            Condition::Any(v) => v,
            c => vec![c],
        };
        match other {
            Condition::Any(v) => operands.extend(v),
            c => operands.push(c),
        }
        Condition::Any(operands)
    }

    /// `~self`.
    pub fn negate(self) -> Condition {
        Condition::Not(Box::new(self))
    }

    /// Whether evaluating the condition needs an owning task (it has a leaf without
    /// `task '...'` that reads the task's own history).
    pub fn needs_owner(&self) -> bool {
        match self {
            Condition::Literal(_)
            | Condition::TimeOf(_)
            | Condition::Scheduler(_)
            | Condition::Env(_)
            | Condition::Param(_)
            | Condition::Custom(_) => false,
            Condition::Not(c) => c.needs_owner(),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().any(Condition::needs_owner),
            Condition::OncePer(_)
            | Condition::Every(_)
            | Condition::Cron(_)
            | Condition::CronFields(_)
            | Condition::After(_)
            | Condition::Retry(_)
            | Condition::OnceAt(_) => true,
            Condition::Status(s) => s.task == TaskRef::Owner,
            Condition::Running(t) => *t == TaskRef::Owner,
            Condition::Count(c) => c.task == TaskRef::Owner,
            Condition::RunningFor(r) => r.task == TaskRef::Owner,
            Condition::RunningCount(r) => r.task == TaskRef::Owner,
        }
    }

    /// The names of the other tasks the condition reads, in order of first appearance,
    /// without duplicates. The runtime uses them to check that every name exists and to
    /// wake this task when one of them logs a record.
    pub fn referenced_tasks(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        self.visit_leaves(&mut |leaf| {
            let found: Vec<&str> = match leaf {
                Condition::Status(StatusCondition {
                    task: TaskRef::Named(n),
                    ..
                })
                | Condition::Running(TaskRef::Named(n))
                | Condition::Count(CountCondition {
                    task: TaskRef::Named(n),
                    ..
                })
                | Condition::RunningFor(RunningFor {
                    task: TaskRef::Named(n),
                    ..
                })
                | Condition::RunningCount(RunningCount {
                    task: TaskRef::Named(n),
                    ..
                }) => vec![n.as_str()],
                Condition::After(a) => a.tasks.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            };
            for n in found {
                // Names are few per condition; a linear check keeps first-seen order.
                if !names.contains(&n) {
                    names.push(n);
                }
            }
        });
        names
    }

    /// The custom conditions the condition calls, in order of first appearance, without
    /// duplicates.
    pub fn custom_calls(&self) -> Vec<&CustomCall> {
        let mut calls: Vec<&CustomCall> = Vec::new();
        self.visit_leaves(&mut |leaf| {
            if let Condition::Custom(call) = leaf
                && !calls.contains(&call)
            {
                calls.push(call);
            }
        });
        calls
    }

    /// Whether the condition calls a custom condition.
    pub fn has_custom(&self) -> bool {
        match self {
            Condition::Custom(_) => true,
            Condition::Not(c) => c.has_custom(),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().any(Condition::has_custom),
            _ => false,
        }
    }

    /// Calls `f` on every leaf, left to right.
    pub fn visit_leaves<'a>(&'a self, f: &mut impl FnMut(&'a Condition)) {
        match self {
            Condition::Not(c) => c.visit_leaves(f),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| c.visit_leaves(f)),
            leaf => f(leaf),
        }
    }
}

impl From<bool> for Condition {
    fn from(value: bool) -> Self {
        Condition::Literal(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Condition {
        s.parse().unwrap()
    }

    #[test]
    fn owner_is_needed_by_leaves_about_the_owning_task() {
        for s in [
            "daily",
            "every 1 minute",
            "cron * * * * *",
            "after task 'x'",
            "retry",
            "has failed",
            "is running",
            "once at 2026-12-01",
        ] {
            assert!(c(s).needs_owner(), "{s}");
        }
        for s in [
            "true",
            "time of day after 10:00",
            "task 'x' has failed",
            "task 'x' is running",
            "env 'prod'",
            "scheduler has 3 cycles",
        ] {
            assert!(!c(s).needs_owner(), "{s}");
        }
        assert!(c("true & ~(false | daily)").needs_owner());
    }

    #[test]
    fn referenced_tasks_in_order_without_duplicates() {
        let cond = c(
            "after tasks 'a', 'b' & (task 'c' has failed | task 'a' is running) & ~after task 'd'",
        );
        assert_eq!(cond.referenced_tasks(), ["a", "b", "c", "d"]);
        assert!(c("daily & has failed").referenced_tasks().is_empty());
    }
}
