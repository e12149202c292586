//! Evaluation: is a condition true at an instant?
//!
//! The caller gives the instant; nothing here reads the system clock. The
//! [`EvalContext`] holds everything else a condition may read: the owning task, the task
//! log ([`History`]), the time zone whose wall clock periods refer to, session parameters,
//! and the scheduler's start time and cycle count.
//!
//! The truth rules are those of CONDITIONS.md; each leaf below names its rule.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::log::{Action, ActionSet, History, Retention};
use crate::time::period::WallWindow;
use crate::time::zone::{self, Pass};
use crate::time::{DAY, MINUTE, SECOND, Timestamp, Tz};

use super::ast::{
    AfterTasks, Condition, CountCondition, CustomCall, DurationBound, ParamCondition, Quantifier,
    RunningCount, RunningFor, SchedulerCondition, StatusCondition, StatusScope, TaskRef,
};

/// Records that end a run and so use up a once-per-period slot: `success`, `fail`,
/// `terminate`, `inaction` (not `crash`).
pub(crate) const FINISHES: ActionSet = ActionSet::of(Action::Success)
    .with(Action::Fail)
    .with(Action::Terminate)
    .with(Action::Inaction);
/// `run` records.
pub(crate) const STARTS: ActionSet = ActionSet::of(Action::Run);
/// Records after which a failure streak starts over, for `retry`.
const RETRY_RESETS: ActionSet = ActionSet::of(Action::Success)
    .with(Action::Crash)
    .with(Action::Inaction)
    .with(Action::Terminate);
/// Every action.
pub(crate) const ANY_ACTION: ActionSet = ActionSet::of(Action::Run)
    .with(Action::Success)
    .with(Action::Fail)
    .with(Action::Terminate)
    .with(Action::Inaction)
    .with(Action::Crash);

/// Session parameters as conditions see them: text by name.
pub trait Params {
    /// The value of the parameter `name`, as text, if it is set.
    fn param(&self, name: &str) -> Option<Cow<'_, str>>;
}

impl<S: std::hash::BuildHasher> Params for HashMap<String, String, S> {
    fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl Params for BTreeMap<String, String> {
    fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.get(name).map(|v| Cow::Borrowed(v.as_str()))
    }
}

/// The values of custom conditions (`is_work_day()`), as the runtime knows them: it calls
/// the functions, keeps their answers, and says when each must be asked again.
pub trait CustomValues {
    /// The value of `call` for the task `owner` at `now`, calling the function if the value
    /// known is missing or due for a re-check. With `peek`, nothing is called: the value
    /// known is given (`None` when there is none).
    fn value(
        &self,
        call: &CustomCall,
        owner: Option<&str>,
        now: Timestamp,
        peek: bool,
    ) -> Option<Result<bool, String>>;

    /// When the value of `call` known now is due for a re-check (`None`: none is known).
    fn recheck_at(&self, call: &CustomCall, owner: Option<&str>) -> Option<Timestamp>;
}

/// Everything a condition may read besides the instant.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use scheduler_core::condition::{Condition, EvalContext};
/// use scheduler_core::log::{Action, LogIndex};
///
/// let mut log = LogIndex::new();
/// log.record("report", Action::Run, Utc.with_ymd_and_hms(2024, 1, 1, 7, 10, 0).unwrap().into());
/// log.record("report", Action::Success, Utc.with_ymd_and_hms(2024, 1, 1, 7, 20, 0).unwrap().into());
///
/// let daily: Condition = "daily between 07:00 and 10:00".parse()?;
/// let cx = EvalContext::new(&log).owner("report").zone(chrono_tz::Europe::Helsinki);
/// // 07:30 UTC is 09:30 in Helsinki: inside the window, but the task already ran today.
/// assert!(!daily.evaluate(&cx, Utc.with_ymd_and_hms(2024, 1, 1, 7, 30, 0).unwrap())?);
/// // The next morning it is due again.
/// assert!(daily.evaluate(&cx, Utc.with_ymd_and_hms(2024, 1, 2, 5, 30, 0).unwrap())?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy)]
pub struct EvalContext<'a> {
    history: &'a dyn History,
    owner: Option<&'a str>,
    zone: Tz,
    params: Option<&'a dyn Params>,
    scheduler_started: Option<Timestamp>,
    cycles: Option<u64>,
    customs: Option<&'a dyn CustomValues>,
    /// Read custom conditions' known values without calling them (when looking ahead).
    peek: bool,
}

impl std::fmt::Debug for EvalContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvalContext")
            .field("owner", &self.owner)
            .field("zone", &self.zone)
            .field("scheduler_started", &self.scheduler_started)
            .field("cycles", &self.cycles)
            .finish_non_exhaustive()
    }
}

impl<'a> EvalContext<'a> {
    /// A context reading `history`, in UTC, with no owning task, no parameters and no
    /// scheduler.
    pub fn new(history: &'a dyn History) -> Self {
        EvalContext {
            history,
            owner: None,
            zone: Tz::UTC,
            params: None,
            scheduler_started: None,
            cycles: None,
            customs: None,
            peek: false,
        }
    }

    /// The values of custom conditions (without them, a custom condition cannot be
    /// evaluated).
    pub fn customs(mut self, customs: &'a dyn CustomValues) -> Self {
        self.customs = Some(customs);
        self
    }

    /// The same context, reading custom conditions' known values without calling them.
    pub(crate) fn peeking(mut self) -> Self {
        self.peek = true;
        self
    }

    pub(crate) fn custom_values(&self) -> Option<&'a dyn CustomValues> {
        self.customs
    }

    pub(crate) fn owner_name(&self) -> Option<&'a str> {
        self.owner
    }

    /// The task whose condition is evaluated: leaves without `task '...'` read its log.
    pub fn owner(mut self, task: &'a str) -> Self {
        self.owner = Some(task);
        self
    }

    /// The time zone whose wall clock periods and times of day refer to.
    pub fn zone(mut self, zone: Tz) -> Self {
        self.zone = zone;
        self
    }

    /// Session parameters, for `env` and `param` leaves (none means every parameter is unset).
    pub fn params(mut self, params: &'a dyn Params) -> Self {
        self.params = Some(params);
        self
    }

    /// When the scheduler started, for `scheduler started ... ago` and `scheduler has run over ...`.
    pub fn scheduler_started(mut self, at: impl Into<Timestamp>) -> Self {
        self.scheduler_started = Some(at.into());
        self
    }

    /// How many cycles the scheduler has completed, for `scheduler has ... cycles`.
    pub fn cycles(mut self, n: u64) -> Self {
        self.cycles = Some(n);
        self
    }

    /// The time zone.
    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    pub(crate) fn history(&self) -> &'a dyn History {
        self.history
    }

    pub(crate) fn scheduler_start_micros(&self) -> Option<i64> {
        self.scheduler_started.map(Timestamp::as_micros)
    }

    fn param(&self, name: &str) -> Option<Cow<'a, str>> {
        self.params.and_then(|p| p.param(name))
    }
}

/// A condition that cannot be evaluated in the given context.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// A leaf reads the owning task's log, and no owning task was given.
    #[error(
        "`{leaf}` is about the task that owns the condition, but it was evaluated without an owning task"
    )]
    NoOwner {
        /// The leaf, as text.
        leaf: String,
    },
    /// A scheduler leaf needs the start time, and none was given.
    #[error("`{leaf}` needs the scheduler's start time, but the scheduler has not started")]
    SchedulerNotStarted {
        /// The leaf, as text.
        leaf: String,
    },
    /// A scheduler leaf needs the cycle count, and none was given.
    #[error("`{leaf}` needs the scheduler's cycle count, but none was given")]
    NoCycleCount {
        /// The leaf, as text.
        leaf: String,
    },
    /// A custom condition, evaluated without the values of custom conditions
    /// ([`EvalContext::customs`]).
    #[error("`{leaf}` is a custom condition, and it was evaluated outside a scheduler")]
    NoCustomValues {
        /// The leaf, as text.
        leaf: String,
    },
    /// A custom condition failed: it returned an error, panicked, or its arguments could
    /// not be given to it.
    #[error("custom condition `{leaf}` failed: {message}")]
    Custom {
        /// The leaf, as text.
        leaf: String,
        /// What went wrong.
        message: String,
    },
}

/// An instant on both axes: real (UTC) and wall clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moment {
    pub(crate) utc: i64,
    pub(crate) wall: i64,
}

impl Moment {
    pub(crate) fn new(cx: &EvalContext<'_>, utc: i64) -> Moment {
        Moment {
            utc,
            wall: zone::wall_of(cx.zone, utc),
        }
    }
}

impl Condition {
    /// Whether the condition is true at `now`.
    ///
    /// `&` and `|` evaluate left to right and stop as soon as the result is known, so an
    /// error in an operand that is not reached is not reported.
    pub fn evaluate(
        &self,
        cx: &EvalContext<'_>,
        now: impl Into<Timestamp>,
    ) -> Result<bool, EvalError> {
        eval(self, cx, Moment::new(cx, now.into().as_micros()))
    }
}

pub(crate) fn eval(c: &Condition, cx: &EvalContext<'_>, m: Moment) -> Result<bool, EvalError> {
    // Most conditions call no custom condition: the written order is then the order of
    // evaluation, and no tree walk is needed to decide it (asking every `&` and `|` which
    // operands call one was a fifth of the evaluation's instructions).
    match quick(c, cx, m) {
        Quick::Value(v) => Ok(v),
        Quick::Deferred | Quick::Failed => eval_in(c, cx, m, true),
    }
}

/// What [`quick`] found.
enum Quick {
    /// The value, decided without reaching a custom condition or an error.
    Value(bool),
    /// It depends on a custom condition.
    Deferred,
    /// An operand could not be evaluated: the ordered evaluation says which error counts.
    Failed,
}

/// Evaluates in the order written, calling no custom condition: a value when the other
/// leaves decide alone, which is then what the ordered evaluation ([`eval_in`]) gives too
/// (it evaluates operands without custom calls first, in the same order, and calls no
/// custom condition when they decide).
fn quick(c: &Condition, cx: &EvalContext<'_>, m: Moment) -> Quick {
    match c {
        Condition::Literal(b) => Quick::Value(*b),
        Condition::Not(inner) => match quick(inner, cx, m) {
            Quick::Value(v) => Quick::Value(!v),
            other => other,
        },
        Condition::All(operands) | Condition::Any(operands) => {
            let all = matches!(c, Condition::All(_));
            let mut deferred = false;
            for o in operands {
                match quick(o, cx, m) {
                    Quick::Value(v) if v != all => return Quick::Value(!all),
                    Quick::Value(_) => {}
                    Quick::Deferred => deferred = true,
                    Quick::Failed => return Quick::Failed,
                }
            }
            if deferred {
                Quick::Deferred
            } else {
                Quick::Value(all)
            }
        }
        Condition::Custom(_) => Quick::Deferred,
        leaf => match evaluate_leaf(leaf, cx, m) {
            Ok(v) => Quick::Value(v),
            Err(_) => Quick::Failed,
        },
    }
}

/// The ordered evaluation, for conditions that call custom conditions (or fail): `neutral`
/// is the value that would not change the operator around `c` (`true` under `&`, `false`
/// under `|`): what a custom condition whose value is not known counts as when peeking,
/// as if it had not been reached.
///
/// The operands of `&` and `|` that call custom conditions are evaluated after the
/// others, so that a custom condition is called only when the rest of the condition does
/// not decide alone (`time of day between 09:00 and 17:00 & is_work_day()` calls nothing
/// at night, whatever the order written).
fn eval_in(
    c: &Condition,
    cx: &EvalContext<'_>,
    m: Moment,
    neutral: bool,
) -> Result<bool, EvalError> {
    match c {
        Condition::Literal(b) => Ok(*b),
        Condition::Not(inner) => Ok(!eval_in(inner, cx, m, !neutral)?),
        Condition::All(operands) | Condition::Any(operands) => {
            let all = matches!(c, Condition::All(_));
            // Two passes, the operands without custom calls first.
            for pass in [false, true] {
                for o in operands {
                    if o.has_custom() != pass {
                        continue;
                    }
                    if eval_in(o, cx, m, all)? != all {
                        return Ok(!all);
                    }
                }
            }
            Ok(all)
        }
        Condition::Custom(call) => {
            let Some(customs) = cx.customs else {
                return Err(EvalError::NoCustomValues {
                    leaf: c.to_string(),
                });
            };
            match customs.value(call, cx.owner, ts(m.utc), cx.peek) {
                None => Ok(neutral),
                Some(Ok(v)) => Ok(v),
                Some(Err(message)) => Err(EvalError::Custom {
                    leaf: c.to_string(),
                    message,
                }),
            }
        }
        leaf => evaluate_leaf(leaf, cx, m),
    }
}

fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(micros)
}

pub(crate) fn owner<'a>(c: &Condition, cx: &EvalContext<'a>) -> Result<&'a str, EvalError> {
    cx.owner.ok_or_else(|| EvalError::NoOwner {
        leaf: c.to_string(),
    })
}

pub(crate) fn task_of<'a>(
    c: &Condition,
    task: &'a TaskRef,
    cx: &EvalContext<'a>,
) -> Result<&'a str, EvalError> {
    match task {
        TaskRef::Named(name) => Ok(name),
        TaskRef::Owner => owner(c, cx),
    }
}

/// The real instants `[from, to]` of a wall-clock window at `m` (see `zone` for the
/// daylight-saving rules).
pub(crate) fn real_window(cx: &EvalContext<'_>, w: WallWindow, m: Moment) -> (i64, i64) {
    let from = zone::utc_of(cx.zone, w.start, Pass::First);
    let to = match w.end {
        None => m.utc,
        Some(end) => zone::utc_of(cx.zone, end, Pass::Last).min(m.utc),
    };
    (from, to)
}

/// The start of the wall-clock window of a cron condition at `m`, when `m` is inside a
/// matching minute: the minute's start, or at the exact first instant of a minute, the
/// previous minute's start if that minute matched too (the boundary rule of full cycles).
/// The real instants of a named-fields cron's `start_date` and `end_date`: as written
/// when they carry an offset, else read in the zone (a repeated wall time at its first
/// pass).
pub(crate) fn cron_fields_bounds(
    fields: &super::cron_fields::CronFields,
    tz: Tz,
) -> (Option<i64>, Option<i64>) {
    let real = |b: super::cron_fields::DateBound| {
        b.utc_with_offset()
            .unwrap_or_else(|| zone::utc_of(tz, b.wall, Pass::First))
    };
    (fields.start_date().map(real), fields.end_date().map(real))
}

pub(crate) fn cron_window_start(schedule: &super::cron::CronSchedule, m: Moment) -> i64 {
    let minute_start = m.wall - m.wall.rem_euclid(MINUTE);
    if m.wall > minute_start {
        minute_start
    } else if schedule.matches(minute_start - MINUTE) {
        minute_start - MINUTE
    } else {
        m.wall
    }
}

impl Condition {
    /// What evaluating this condition reads of the log, by task (`None` for the owning
    /// task): every leaf's reach, as evaluation and the next-change search ask their
    /// questions, at the instant of evaluation or later.
    ///
    /// A scheduler keeps, of each task's log, the widest retention that its own and every
    /// other condition needs.
    ///
    /// ```
    /// use scheduler_core::condition::Condition;
    /// use scheduler_core::log::Retention;
    ///
    /// let c: Condition = "every 10 minutes & after task 'extract' succeeded | retry 2".parse()?;
    /// // `every`: the latest start; `after`: the latest start and the latest success of
    /// // `extract`; `retry 2`: whether more than two failures follow the latest reset.
    /// assert_eq!(
    ///     c.log_retention(),
    ///     [
    ///         (None, Retention::LATEST),
    ///         (None, Retention::LATEST),
    ///         (Some("extract"), Retention::LATEST),
    ///         (None, Retention::LATEST.with_per_action(3)),
    ///     ]
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_retention(&self) -> Vec<(Option<&str>, Retention)> {
        fn of(task: &TaskRef) -> Option<&str> {
            task.name()
        }
        let mut needs = Vec::new();
        self.visit_leaves(&mut |leaf| {
            match leaf {
                // Whether a record lies in a window that may have closed before now: every
                // record as far back as the window can open.
                Condition::Status(StatusCondition {
                    task,
                    scope: StatusScope::Period(period),
                    ..
                }) => needs.push((of(task), Retention::window(period.bounds().max_reach()))),
                // Windows that end now ask for the latest record before now (`any_between`
                // is `latest`), and for the next record after an instant from now on
                // (`daily` only reads its window while now is inside the period).
                Condition::OncePer(_) | Condition::Every(_) | Condition::Cron(_) => {
                    needs.push((None, Retention::LATEST));
                }
                // A second the clock repeats reads its first pass too, up to a day back.
                Condition::CronFields(_) => needs.push((None, Retention::window(DAY))),
                Condition::Status(StatusCondition { task, .. }) => {
                    needs.push((of(task), Retention::LATEST));
                }
                Condition::After(AfterTasks { tasks, .. }) => {
                    needs.push((None, Retention::LATEST));
                    needs.extend(tasks.iter().map(|t| (Some(t.as_str()), Retention::LATEST)));
                }
                // Whether the owner started at or after the date: its latest start tells.
                // (The runtime also reads the latest `inaction`, a missed date's record.)
                Condition::OnceAt(_) => needs.push((None, Retention::LATEST)),
                Condition::Running(task)
                | Condition::RunningFor(RunningFor { task, .. })
                | Condition::RunningCount(RunningCount { task, .. }) => {
                    // The index keeps the starts of live runs whatever the retention.
                    needs.push((of(task), Retention::LATEST));
                }
                // A count compared with N is decided once it is known up to N + 1: every
                // record of the window, or N + 1 of each action for a window without start.
                Condition::Count(CountCondition {
                    task,
                    comparison,
                    scope,
                    ..
                }) => {
                    let exact = Retention::LATEST.with_per_action(comparison.decisive_count());
                    needs.push((
                        of(task),
                        match scope {
                            StatusScope::Ever => exact,
                            StatusScope::Past(d) => exact.widen(Retention::window(d.micros())),
                            StatusScope::Period(period) => {
                                exact.widen(Retention::window(period.bounds().max_reach()))
                            }
                        },
                    ));
                }
                // Whether more than N failures follow the latest reset: the latest N + 1
                // failures tell.
                Condition::Retry(limit) => needs.push((
                    None,
                    Retention::LATEST.with_per_action(limit.map_or(1, |n| n.saturating_add(1))),
                )),
                Condition::Literal(_)
                | Condition::Not(_)
                | Condition::All(_)
                | Condition::Any(_)
                | Condition::TimeOf(_)
                | Condition::Scheduler(_)
                | Condition::Env(_)
                | Condition::Param(_)
                | Condition::Custom(_) => {}
            }
        });
        needs
    }
}

pub(crate) fn evaluate_leaf(
    c: &Condition,
    cx: &EvalContext<'_>,
    m: Moment,
) -> Result<bool, EvalError> {
    let history = cx.history;
    let now = ts(m.utc);
    match c {
        // Now inside the period, and no finish of the owner in the current occurrence.
        Condition::OncePer(period) => {
            let task = owner(c, cx)?;
            let bounds = period.bounds();
            if !bounds.contains(m.wall) {
                return Ok(false);
            }
            let (from, to) = real_window(cx, bounds.window(m.wall), m);
            Ok(!history.any_between(task, FINISHES, ts(from), ts(to)))
        }
        // Now inside the period.
        Condition::TimeOf(window) => Ok(window.period.bounds().contains(m.wall)),
        // No start of the owner in [now - interval, now].
        Condition::Every(interval) => {
            let task = owner(c, cx)?;
            let from = m.utc.saturating_sub(interval.micros());
            Ok(!history.any_between(task, STARTS, ts(from), now))
        }
        // Now inside a matching minute, and no start of the owner in that minute.
        Condition::Cron(schedule) => {
            let task = owner(c, cx)?;
            let minute_start = m.wall - m.wall.rem_euclid(MINUTE);
            if !schedule.matches(minute_start) {
                return Ok(false);
            }
            let from = zone::utc_of(cx.zone, cron_window_start(schedule, m), Pass::First);
            Ok(!history.any_between(task, STARTS, ts(from.min(m.utc)), now))
        }
        // Now inside a matching second, and no start of the owner in it. A wall second
        // that the clock repeats when it goes back is one second: its window reaches back
        // to the first pass, so it fires once.
        Condition::CronFields(fields) => {
            let task = owner(c, cx)?;
            let second_start = m.wall - m.wall.rem_euclid(SECOND);
            let (start, end) = cron_fields_bounds(fields, cx.zone);
            if !fields.matches(second_start)
                || start.is_some_and(|s| m.utc < s)
                || end.is_some_and(|e| m.utc > e)
            {
                return Ok(false);
            }
            // This pass of the second up to now, and, when the clock went back over it,
            // its first pass.
            let this_pass = m.utc - (m.wall - second_start);
            let first_pass = zone::utc_of(cx.zone, second_start, Pass::First);
            let ran_before = first_pass < this_pass
                && history.any_between(task, STARTS, ts(first_pass), ts(first_pass + SECOND - 1));
            Ok(!ran_before && !history.any_between(task, STARTS, ts(this_pass), now))
        }
        // A record of the status in the window.
        Condition::Status(StatusCondition {
            task,
            status,
            scope,
        }) => {
            let task = task_of(c, task, cx)?;
            let actions = status.actions();
            Ok(match scope {
                StatusScope::Ever => history.latest(task, actions, now).is_some(),
                StatusScope::Past(d) => {
                    let from = m.utc.saturating_sub(d.micros());
                    history.any_between(task, actions, ts(from), now)
                }
                StatusScope::Period(period) => {
                    let (from, to) = real_window(cx, period.bounds().window(m.wall), m);
                    history.any_between(task, actions, ts(from), ts(to))
                }
            })
        }
        // Each dependency's latest outcome is strictly later than the owner's latest start.
        Condition::After(AfterTasks {
            tasks,
            quantifier,
            outcome,
        }) => {
            let task = owner(c, cx)?;
            let last_start = history.latest(task, STARTS, now);
            let done = |dep: &String| {
                history
                    .latest(dep, outcome.actions(), now)
                    .is_some_and(|d| last_start.is_none_or(|s| d > s))
            };
            Ok(match quantifier {
                Quantifier::All => tasks.iter().all(done),
                Quantifier::Any => tasks.iter().any(done),
            })
        }
        // A live run.
        Condition::Running(task) => Ok(history.live_runs(task_of(c, task, cx)?, now) > 0),
        // Last status `fail`, and at most N failures since the last reset record.
        Condition::Retry(limit) => {
            let task = owner(c, cx)?;
            if history.last_action(task, now) != Some(Action::Fail) {
                return Ok(false);
            }
            let Some(limit) = limit else {
                return Ok(true);
            };
            let since = history
                .latest(task, RETRY_RESETS, now)
                .unwrap_or(Timestamp::from_micros(i64::MIN));
            let failures = history.count(task, ActionSet::of(Action::Fail), since, now);
            Ok(failures <= *limit as usize)
        }
        // From the date to the end of its grace, while the owner has not started since the
        // date: one run, ever.
        Condition::OnceAt(once) => {
            let task = owner(c, cx)?;
            let (at, deadline) = once.window(cx.zone);
            if m.utc < at || m.utc > deadline {
                return Ok(false);
            }
            Ok(!history.any_between(task, STARTS, ts(at), now))
        }
        Condition::Scheduler(s) => eval_scheduler(c, s, cx, m),
        Condition::Env(value) => Ok(cx.param("env").is_some_and(|v| v == value.as_str())),
        Condition::Param(ParamCondition::Exists(key)) => Ok(cx.param(key).is_some()),
        Condition::Param(ParamCondition::Is(key, value)) => {
            Ok(cx.param(key).is_some_and(|v| v == value.as_str()))
        }
        // The number of records of the status in the window, compared.
        Condition::Count(CountCondition {
            task,
            status,
            comparison,
            scope,
        }) => {
            let task = task_of(c, task, cx)?;
            let (from, to) = count_window(cx, scope, m);
            Ok(comparison.holds(history.count(task, status.actions(), ts(from), ts(to))))
        }
        // The oldest live run started at least D ago, or the newest at most D ago.
        Condition::RunningFor(RunningFor { task, bound }) => {
            let task = task_of(c, task, cx)?;
            let Some((oldest, newest)) = history.live_run_starts(task, now) else {
                return Ok(false);
            };
            Ok(match bound {
                DurationBound::MoreThan(d) => {
                    oldest.as_micros() <= m.utc.saturating_sub(d.micros())
                }
                DurationBound::LessThan(d) => {
                    newest.as_micros() >= m.utc.saturating_sub(d.micros())
                }
            })
        }
        // The number of live runs, compared.
        Condition::RunningCount(RunningCount { task, comparison }) => {
            Ok(comparison.holds(history.live_runs(task_of(c, task, cx)?, now)))
        }
        Condition::Literal(_)
        | Condition::Not(_)
        | Condition::All(_)
        | Condition::Any(_)
        | Condition::Custom(_) => eval(c, cx, m),
    }
}

/// The real instants `[from, to]` whose records a status or count leaf reads at `m`.
pub(crate) fn count_window(cx: &EvalContext<'_>, scope: &StatusScope, m: Moment) -> (i64, i64) {
    match scope {
        StatusScope::Ever => (i64::MIN, m.utc),
        StatusScope::Past(d) => (m.utc.saturating_sub(d.micros()), m.utc),
        StatusScope::Period(period) => real_window(cx, period.bounds().window(m.wall), m),
    }
}

fn eval_scheduler(
    c: &Condition,
    s: &SchedulerCondition,
    cx: &EvalContext<'_>,
    m: Moment,
) -> Result<bool, EvalError> {
    let started = || {
        cx.scheduler_started
            .map(Timestamp::as_micros)
            .ok_or_else(|| EvalError::SchedulerNotStarted {
                leaf: c.to_string(),
            })
    };
    let cycles = || {
        cx.cycles.ok_or_else(|| EvalError::NoCycleCount {
            leaf: c.to_string(),
        })
    };
    Ok(match s {
        SchedulerCondition::StartedWithin(d) => {
            let started = started()?;
            m.utc.saturating_sub(d.micros()) <= started && started <= m.utc
        }
        SchedulerCondition::RunningLongerThan(d) => started()? < m.utc.saturating_sub(d.micros()),
        SchedulerCondition::CyclesMoreThan(n) => cycles()? > *n,
        SchedulerCondition::CyclesLessThan(n) => cycles()? < *n,
        SchedulerCondition::CyclesExactly(n) => cycles()? == *n,
    })
}
