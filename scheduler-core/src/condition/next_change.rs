//! When can a condition's value next change by the passing of time alone?
//!
//! The runtime sleeps until that instant instead of polling. The answer is exact: the
//! first instant (at microsecond resolution) at which the condition's value differs from
//! its value now, assuming no new log record, parameter or cycle arrives meanwhile.
//!
//! How it is found:
//!
//! * Each leaf knows the instants at which its inputs can change ("breakpoints"): the
//!   boundaries of its period on the wall clock, converted to real time with the zone's
//!   daylight-saving transitions as extra breakpoints; the end of an `every` interval;
//!   the next matching cron minute; records of the log that lie after the instant. The
//!   leaf is evaluated at successive breakpoints until its value differs. Leaves that
//!   provably cannot change any more (a log-only leaf with no later record, a full-cycle
//!   period whose task has not finished and whose clock does not fall back soon into a
//!   period in which it did, ...) answer [`NextChange::Never`].
//! * `~x` changes when `x` does.
//! * `a & b` while true changes at the first change of any operand; while false it
//!   cannot become true before *every* false operand has changed, so the search jumps to
//!   the latest of their next changes, evaluates there, and repeats. `|` is symmetric.
//!
//! Each search has a budget of evaluations. Expressions whose parts keep changing while
//! the whole does not (`time of minute before 10 & time of minute after 50`) can exhaust
//! it; the answer is then [`NextChange::NotBefore`]: an instant before which the value
//! surely does not change, at which the caller asks again.

use crate::log::History;
use crate::time::zone;
use crate::time::{DAY, MINUTE, SECOND, Timestamp};

use super::ast::{
    AfterTasks, Condition, CountCondition, DurationBound, RunningCount, RunningFor,
    SchedulerCondition, StatusCondition, StatusScope,
};
use super::eval::{
    ANY_ACTION, EvalContext, EvalError, FINISHES, Moment, STARTS, count_window, cron_fields_bounds,
    eval, evaluate_leaf, owner, real_window, task_of,
};

/// The result of [`Condition::next_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NextChange {
    /// The value changes at this instant: it is the first instant with the new value.
    At(Timestamp),
    /// The passing of time alone never changes the value; only a new log record, a
    /// parameter or the scheduler's cycle count can.
    Never,
    /// The search ran out of budget: the value does not change before this instant, at
    /// which the caller should ask again.
    NotBefore(Timestamp),
}

impl NextChange {
    /// The instant to wake up at, if any.
    pub fn instant(self) -> Option<Timestamp> {
        match self {
            NextChange::At(t) | NextChange::NotBefore(t) => Some(t),
            NextChange::Never => None,
        }
    }
}

/// Evaluations one search may spend before answering [`NextChange::NotBefore`].
const BUDGET: u32 = 1024;

/// Breakpoints further away than this are cut short (and the search goes on from there),
/// which bounds the work of looking for daylight-saving transitions on the way.
const MAX_LEAP: i64 = 366 * DAY;

impl Condition {
    /// The first instant after `after` at which the condition's value differs from its
    /// value at `after`, if the log, parameters and cycle count stay as they are.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use scheduler_core::condition::{Condition, EvalContext, NextChange};
    /// use scheduler_core::log::LogIndex;
    ///
    /// let log = LogIndex::new();
    /// let cx = EvalContext::new(&log);
    /// let window: Condition = "time of day between 07:00 and 10:00".parse()?;
    /// let now = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
    /// assert_eq!(
    ///     window.next_change(&cx, now)?,
    ///     NextChange::At(Utc.with_ymd_and_hms(2024, 1, 2, 7, 0, 0).unwrap().into())
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_change(
        &self,
        cx: &EvalContext<'_>,
        after: impl Into<Timestamp>,
    ) -> Result<NextChange, EvalError> {
        let mut budget = BUDGET;
        // Looking ahead calls no custom condition: their known values stand.
        let cx = &cx.peeking();
        Ok(
            match next(self, cx, after.into().as_micros(), &mut budget)? {
                Found::At(t) => NextChange::At(Timestamp::from_micros(t)),
                Found::NotBefore(t) => NextChange::NotBefore(Timestamp::from_micros(t)),
                Found::Never => NextChange::Never,
            },
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    At(i64),
    NotBefore(i64),
    Never,
}

fn spend(budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    true
}

fn value(c: &Condition, cx: &EvalContext<'_>, t: i64) -> Result<bool, EvalError> {
    eval(c, cx, Moment::new(cx, t))
}

fn next(c: &Condition, cx: &EvalContext<'_>, t: i64, budget: &mut u32) -> Result<Found, EvalError> {
    match c {
        Condition::Literal(_) => Ok(Found::Never),
        Condition::Not(inner) => next(inner, cx, t, budget),
        Condition::All(operands) => combined(c, operands, true, cx, t, budget),
        Condition::Any(operands) => combined(c, operands, false, cx, t, budget),
        // A custom condition's value may change whenever it is called again: at its
        // re-check. Not known yet (not reached), it changes only when it is.
        Condition::Custom(call) => Ok(cx
            .custom_values()
            .and_then(|values| values.recheck_at(call, cx.owner_name()))
            .map_or(Found::Never, |at| {
                Found::NotBefore(at.as_micros().max(t.saturating_add(1)))
            })),
        leaf => leaf_next(leaf, cx, t, budget),
    }
}

/// `All` (`is_all`) or `Any` of `operands`.
fn combined(
    c: &Condition,
    operands: &[Condition],
    is_all: bool,
    cx: &EvalContext<'_>,
    start: i64,
    budget: &mut u32,
) -> Result<Found, EvalError> {
    let mut t = start;
    let v0 = value(c, cx, t)?;
    loop {
        if v0 == is_all {
            // Every operand has the value v0 (all true / all false): the first operand
            // to change flips the whole.
            let mut best: Option<(i64, bool)> = None;
            for o in operands {
                let (at, exact) = match next(o, cx, t, budget)? {
                    Found::At(a) => (a, true),
                    Found::NotBefore(b) => (b, false),
                    Found::Never => continue,
                };
                best = match best {
                    Some((b, e)) if b < at || (b == at && e) => Some((b, e)),
                    _ => Some((at, exact)),
                };
            }
            return Ok(match best {
                None => Found::Never,
                Some((at, true)) => Found::At(at),
                Some((at, false)) => Found::NotBefore(at),
            });
        }
        // The operands holding the whole at v0 must all change before it can flip.
        let mut bound = t;
        let mut exact = true;
        for o in operands {
            if value(o, cx, t)? != v0 {
                continue;
            }
            match next(o, cx, t, budget)? {
                Found::Never => return Ok(Found::Never),
                Found::At(b) => bound = bound.max(b),
                Found::NotBefore(b) => {
                    exact = false;
                    bound = bound.max(b);
                }
            }
        }
        if !spend(budget) {
            return Ok(Found::NotBefore(bound));
        }
        if value(c, cx, bound)? != v0 {
            return Ok(Found::At(bound));
        }
        if !exact {
            // An operand cannot see past its bound (a custom condition's re-check, or a
            // search out of budget): stepping on would re-read its last answer a
            // microsecond at a time until the budget ran out, and answer 1 ms late.
            return Ok(Found::NotBefore(bound));
        }
        t = bound;
    }
}

fn leaf_next(
    c: &Condition,
    cx: &EvalContext<'_>,
    start: i64,
    budget: &mut u32,
) -> Result<Found, EvalError> {
    let v0 = evaluate_leaf(c, cx, Moment::new(cx, start))?;
    let mut t = start;
    loop {
        let Some(b) = breakpoint(c, cx, t, v0)? else {
            return Ok(Found::Never);
        };
        if !spend(budget) {
            return Ok(Found::NotBefore(b));
        }
        if evaluate_leaf(c, cx, Moment::new(cx, b))? != v0 {
            return Ok(Found::At(b));
        }
        t = b;
    }
}

/// The real instant at which the wall clock, going forward from `t`, reaches the wall
/// boundary `target(wall_of(t))`, or an earlier daylight-saving transition (where the
/// wall clock jumps), or `t + MAX_LEAP`.
fn wall_breakpoint(cx: &EvalContext<'_>, t: i64, target: impl FnOnce(i64) -> i64) -> i64 {
    let tz = cx.time_zone();
    let wall = zone::wall_of(tz, t);
    let candidate = t
        .saturating_add(target(wall).saturating_sub(wall))
        .min(t.saturating_add(MAX_LEAP));
    zone::next_transition(tz, t, candidate).unwrap_or(candidate)
}

/// For a leaf that is true and stays true until its task records something new: the
/// next daylight-saving transition, if it comes soon enough after the task's `latest`
/// record to matter, else `None`.
///
/// When the clock falls back, the wall clock re-enters periods that already passed once;
/// such a period is one occurrence (it runs once, CONDITIONS.md §6), so its window reaches
/// back to its first pass and may hold the latest record: the leaf turns false at the
/// transition. Windows reach back at most `reach` before the instant they are read at,
/// so a transition later than `latest + reach` cannot find the record any more.
fn fall_back_breakpoint(
    cx: &EvalContext<'_>,
    t: i64,
    latest: Option<Timestamp>,
    reach: i64,
) -> Option<i64> {
    let until = latest?.as_micros().saturating_add(reach);
    zone::next_transition(cx.time_zone(), t, until)
}

fn earliest(candidates: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    candidates.into_iter().flatten().min()
}

/// The next instant after `t` at which the leaf's inputs can change, given its value `v`
/// at `t`; `None` when it can never change again.
fn breakpoint(
    c: &Condition,
    cx: &EvalContext<'_>,
    t: i64,
    v: bool,
) -> Result<Option<i64>, EvalError> {
    let history: &dyn History = cx.history();
    let after = Timestamp::from_micros(t);
    let later = |task: &str, actions| {
        history
            .next_after(task, actions, after)
            .map(Timestamp::as_micros)
    };
    Ok(match c {
        Condition::OncePer(period) => {
            let task = owner(c, cx)?;
            let bounds = period.bounds();
            let next_finish = later(task, FINISHES);
            if bounds.is_full() && v && next_finish.is_none() {
                // Always open and nothing finished in the current occurrence: true until a
                // run finishes, unless the clock falls back into an occurrence in which one
                // already did.
                let latest = history.latest(task, FINISHES, after);
                return Ok(fall_back_breakpoint(cx, t, latest, bounds.max_reach()));
            }
            earliest([
                Some(wall_breakpoint(cx, t, |w| bounds.next_boundary(w))),
                next_finish,
            ])
        }
        Condition::TimeOf(window) => {
            let bounds = window.period.bounds();
            (!bounds.is_full()).then(|| wall_breakpoint(cx, t, |w| bounds.next_boundary(w)))
        }
        Condition::Every(interval) => {
            let task = owner(c, cx)?;
            let expiry = history
                .latest(task, STARTS, after)
                .map(|s| {
                    s.as_micros()
                        .saturating_add(interval.micros())
                        .saturating_add(1)
                })
                .filter(|&e| e > t);
            earliest([expiry, later(task, STARTS)])
        }
        Condition::Cron(schedule) => {
            let task = owner(c, cx)?;
            let next_start = later(task, STARTS);
            if schedule.matches_every_minute() && v && next_start.is_none() {
                let latest = history.latest(task, STARTS, after);
                return Ok(fall_back_breakpoint(cx, t, latest, MINUTE + 2 * DAY));
            }
            let boundary = wall_breakpoint(cx, t, |w| {
                let minute_start = w - w.rem_euclid(MINUTE);
                if schedule.matches(minute_start) {
                    // Inside a matching minute: its window moves one microsecond after the
                    // minute starts, and membership may end when it ends.
                    if w == minute_start {
                        w + 1
                    } else {
                        minute_start + MINUTE
                    }
                } else {
                    schedule
                        .next_match_after(w)
                        .map_or(w.saturating_add(MAX_LEAP), |n| n.max(w + 1))
                }
            });
            earliest([Some(boundary), next_start])
        }
        Condition::CronFields(fields) => {
            let task = owner(c, cx)?;
            let next_start = later(task, STARTS);
            let (start, end) = cron_fields_bounds(fields, cx.time_zone());
            if end.is_some_and(|e| t > e) {
                // Past `end_date` the leaf stays false.
                return Ok(None);
            }
            // Before `start_date` the leaf is false until it, then follows the fields.
            let opens = start.filter(|&s| s > t);
            let closes = end.map(|e| e + 1);
            let boundary = wall_breakpoint(cx, t, |w| {
                let second_start = w - w.rem_euclid(SECOND);
                if fields.matches(second_start) {
                    // Inside a matching second: membership may end when it ends.
                    second_start + SECOND
                } else {
                    fields
                        .next_match_from(w)
                        .map_or(w.saturating_add(MAX_LEAP), |n| n.max(w + 1))
                }
            });
            earliest([Some(boundary), next_start, opens, closes])
        }
        Condition::Status(StatusCondition {
            task,
            status,
            scope,
        }) => {
            let task = task_of(c, task, cx)?;
            let actions = status.actions();
            let next_record = later(task, actions);
            match scope {
                StatusScope::Ever => next_record,
                StatusScope::Past(d) => {
                    let expiry = history
                        .latest(task, actions, after)
                        .map(|r| r.as_micros().saturating_add(d.micros()).saturating_add(1))
                        .filter(|&e| e > t);
                    earliest([expiry, next_record])
                }
                StatusScope::Period(period) => {
                    let bounds = period.bounds();
                    let m = Moment::new(cx, t);
                    let (from, _) = real_window(cx, bounds.window(m.wall), m);
                    let any_from_window_start = history
                        .next_after(
                            task,
                            actions,
                            Timestamp::from_micros(from.saturating_sub(1)),
                        )
                        .is_some();
                    if !v && !any_from_window_start {
                        // No record lies ahead of this window's start, and windows move
                        // forward, except when the clock falls back into an occurrence
                        // that already held one.
                        let latest = history.latest(task, actions, after);
                        return Ok(fall_back_breakpoint(cx, t, latest, bounds.max_reach()));
                    }
                    earliest([
                        Some(wall_breakpoint(cx, t, |w| bounds.next_boundary(w))),
                        next_record,
                    ])
                }
            }
        }
        Condition::After(AfterTasks { tasks, outcome, .. }) => {
            let task = owner(c, cx)?;
            earliest(
                std::iter::once(later(task, STARTS))
                    .chain(tasks.iter().map(|dep| later(dep, outcome.actions()))),
            )
        }
        Condition::Running(task) => later(task_of(c, task, cx)?, ANY_ACTION),
        // The date, the end of its grace, and a start of the owner; past the grace the
        // leaf stays false.
        Condition::OnceAt(once) => {
            let task = owner(c, cx)?;
            let (at, deadline) = once.window(cx.time_zone());
            if t > deadline {
                return Ok(None);
            }
            earliest([
                Some(at).filter(|&a| a > t),
                Some(deadline.saturating_add(1)),
                later(task, STARTS),
            ])
        }
        Condition::Retry(_) => later(owner(c, cx)?, ANY_ACTION),
        Condition::Scheduler(
            SchedulerCondition::StartedWithin(d) | SchedulerCondition::RunningLongerThan(d),
        ) => {
            // Both change when the start enters and when it leaves [now - d, now]. (Without
            // a start time the leaf has already failed to evaluate.)
            let Some(started) = cx.scheduler_start_micros() else {
                return Ok(None);
            };
            let leaves = started.saturating_add(d.micros()).saturating_add(1);
            earliest([
                Some(started).filter(|&s| s > t),
                Some(leaves).filter(|&l| l > t),
            ])
        }
        Condition::Count(CountCondition {
            task,
            status,
            scope,
            ..
        }) => {
            let task = task_of(c, task, cx)?;
            let actions = status.actions();
            let (from, _) = count_window(cx, scope, Moment::new(cx, t));
            // The first record from the window's start on. Without one the count is 0 and
            // stays 0, since windows move forward; except a period's, when the clock falls
            // back into an occurrence that already held a record.
            let Some(first) = history
                .next_after(
                    task,
                    actions,
                    Timestamp::from_micros(from.saturating_sub(1)),
                )
                .map(Timestamp::as_micros)
            else {
                return Ok(match scope {
                    StatusScope::Period(period) => fall_back_breakpoint(
                        cx,
                        t,
                        history.latest(task, actions, after),
                        period.bounds().max_reach(),
                    ),
                    StatusScope::Ever | StatusScope::Past(_) => None,
                });
            };
            let next_record = later(task, actions);
            match scope {
                StatusScope::Ever => next_record,
                // The oldest record of the window leaves it one microsecond after `d`.
                StatusScope::Past(d) => earliest([
                    Some(first.saturating_add(d.micros()).saturating_add(1)).filter(|&e| e > t),
                    next_record,
                ]),
                // A new occurrence of the period starts the count again.
                StatusScope::Period(period) => {
                    let bounds = period.bounds();
                    earliest([
                        Some(wall_breakpoint(cx, t, |w| bounds.next_boundary(w))),
                        next_record,
                    ])
                }
            }
        }
        Condition::RunningFor(RunningFor { task, bound }) => {
            let task = task_of(c, task, cx)?;
            // A live run crosses the limit: the oldest becomes old enough, the newest too
            // old.
            let crossing = history
                .live_run_starts(task, after)
                .map(|(oldest, newest)| match bound {
                    DurationBound::MoreThan(d) => oldest.as_micros().saturating_add(d.micros()),
                    DurationBound::LessThan(d) => newest
                        .as_micros()
                        .saturating_add(d.micros())
                        .saturating_add(1),
                })
                .filter(|&x| x > t);
            earliest([crossing, later(task, ANY_ACTION)])
        }
        Condition::RunningCount(RunningCount { task, .. }) => {
            later(task_of(c, task, cx)?, ANY_ACTION)
        }
        Condition::Scheduler(_)
        | Condition::Env(_)
        | Condition::Param(_)
        | Condition::Literal(_)
        | Condition::Custom(_) => None,
        Condition::Not(_) | Condition::All(_) | Condition::Any(_) => None,
    })
}
