//! Typed constructors for every leaf of the condition language, and the `&`, `|` and `!`
//! operators.
//!
//! Each constructor builds exactly the value the parser builds for the same text, so
//! conditions from code and from strings compare equal and print the same:
//!
//! ```
//! use std::time::Duration;
//! use scheduler_core::condition::{Condition, api::*};
//! use scheduler_core::time::Weekday;
//!
//! let c = (daily().between("07:00", "10:00")? | retry(2))
//!     & !time_of_week().between(Weekday::Sat, Weekday::Sun)?
//!     & every(Duration::from_secs(600))?;
//! let parsed: Condition = "(daily between 07:00 and 10:00 | retry 2) \
//!     & ~time of week between Sat and Sun & every 10 minutes".parse()?;
//! assert_eq!(c, parsed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Constructors whose arguments can be invalid (a string that is not a time, a zero
//! length of time) return `Result<Condition, ConditionError>`; the others return the
//! condition (or a builder that converts into one) directly.

use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr, Not};
use std::time::Duration;

use crate::time::{
    Interval, Period, Span, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond,
    TimeOfWeek, Weekday,
};

/// An argument of [`custom`]: text, an integer, a decimal or a boolean.
pub use super::ast::CustomArg;
use super::ast::{
    AfterTasks, ClockWindow, Comparison, Condition, CountCondition, CustomCall, DurationBound,
    Outcome, ParamCondition, Quantifier, RunningCount, RunningFor, SchedulerCondition,
    StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use super::cron::CronSchedule;
use super::cron_fields::CronFields;
use super::error::ConditionError;
use super::once::{OnceAt, parse_date};

type Built = Result<Condition, ConditionError>;

mod sealed {
    pub trait Sealed {}
}

/// The kinds of point that delimit periods: [`TimeOfSecond`], [`TimeOfMinute`],
/// [`TimeOfHour`], [`TimeOfDay`], [`TimeOfWeek`] and [`TimeOfMonth`].
pub trait PeriodPoint: Copy + sealed::Sealed {
    /// The period of this point's cycle with the given span.
    fn period(span: Span<Self>) -> Period;
}

macro_rules! period_point {
    ($($point:ty => $variant:ident),* $(,)?) => {$(
        impl sealed::Sealed for $point {}
        impl PeriodPoint for $point {
            fn period(span: Span<Self>) -> Period {
                Period::$variant(span)
            }
        }
        impl IntoPoint<$point> for $point {
            fn into_point(self) -> Result<$point, ConditionError> {
                Ok(self)
            }
        }
        impl IntoPoint<$point> for &str {
            fn into_point(self) -> Result<$point, ConditionError> {
                Ok(self.parse::<$point>()?)
            }
        }
        impl IntoPoint<$point> for String {
            fn into_point(self) -> Result<$point, ConditionError> {
                Ok(self.parse::<$point>()?)
            }
        }
    )*};
}

/// A value that can be used as a point of kind `P`: the point itself, its text
/// (`"07:00"`, `"Fri 17:00"`, `"5th"`), or a natural shorthand (a [`Weekday`] for a week,
/// a day number for a month, a `chrono::NaiveTime` for a day).
pub trait IntoPoint<P> {
    /// The point, or why the value is not one.
    fn into_point(self) -> Result<P, ConditionError>;
}

period_point! {
    TimeOfSecond => Second,
    TimeOfMinute => Minute,
    TimeOfHour => Hour,
    TimeOfDay => Day,
    TimeOfWeek => Week,
    TimeOfMonth => Month,
}

impl IntoPoint<TimeOfDay> for chrono::NaiveTime {
    fn into_point(self) -> Result<TimeOfDay, ConditionError> {
        Ok(self.into())
    }
}

impl IntoPoint<TimeOfWeek> for Weekday {
    fn into_point(self) -> Result<TimeOfWeek, ConditionError> {
        Ok(TimeOfWeek::day(self))
    }
}

impl IntoPoint<TimeOfMonth> for u32 {
    fn into_point(self) -> Result<TimeOfMonth, ConditionError> {
        Ok(TimeOfMonth::day(self)?)
    }
}

fn span_condition<P: PeriodPoint>(
    make: impl FnOnce(Period) -> Condition,
    span: Result<Span<P>, ConditionError>,
) -> Built {
    let period = P::period(span?);
    period.check()?;
    Ok(make(period))
}

// ----------------------------------------------------------------------------------------
// Literals
// ----------------------------------------------------------------------------------------

/// `true`: always true.
pub fn always_true() -> Condition {
    Condition::Literal(true)
}

/// `false`: never true.
pub fn always_false() -> Condition {
    Condition::Literal(false)
}

// ----------------------------------------------------------------------------------------
// Once per period
// ----------------------------------------------------------------------------------------

/// A once-per-period condition being built: the whole cycle as it is, or a span of it
/// through its methods.
///
/// Converts into a [`Condition`] (with `.into()` or any operator).
#[derive(Debug, Clone, Copy)]
pub struct OncePer<P> {
    point: PhantomData<P>,
}

impl<P: PeriodPoint> OncePer<P> {
    fn with(self, span: Result<Span<P>, ConditionError>) -> Built {
        span_condition(Condition::OncePer, span)
    }

    /// `... before E`: from the start of the cycle up to `end`.
    pub fn before(self, end: impl IntoPoint<P>) -> Built {
        self.with(end.into_point().map(Span::Before))
    }

    /// `... after S`: from `start` to the end of the cycle.
    pub fn after(self, start: impl IntoPoint<P>) -> Built {
        self.with(start.into_point().map(Span::After))
    }

    /// `... between S and E`: from `start` up to `end`, wrapping around the cycle end when
    /// `end` comes first.
    pub fn between(self, start: impl IntoPoint<P>, end: impl IntoPoint<P>) -> Built {
        let span = start
            .into_point()
            .and_then(|s| Ok(Span::Between(s, end.into_point()?)));
        self.with(span)
    }

    /// `... starting S`: the whole cycle, re-anchored to begin at `start`.
    pub fn starting(self, start: impl IntoPoint<P>) -> Built {
        self.with(start.into_point().map(Span::Starting))
    }

    /// `... on X`: one unit beginning at `point` (an hour of a day, a day of a week, ...).
    pub fn on(self, point: impl IntoPoint<P>) -> Built {
        self.with(point.into_point().map(Span::On))
    }

    /// The same as [`on`](Self::on) (Rocketry's name).
    pub fn at(self, point: impl IntoPoint<P>) -> Built {
        self.on(point)
    }
}

impl<P: PeriodPoint> From<OncePer<P>> for Condition {
    fn from(_: OncePer<P>) -> Condition {
        Condition::OncePer(P::period(Span::Full))
    }
}

const fn once_per<P>() -> OncePer<P> {
    OncePer { point: PhantomData }
}

/// `secondly`: once in every second (or in a span of it, in milliseconds).
pub fn secondly() -> OncePer<TimeOfSecond> {
    once_per()
}

/// `minutely`: once in every minute (or in a span of it, in seconds).
pub fn minutely() -> OncePer<TimeOfMinute> {
    once_per()
}

/// `hourly`: once in every hour (or in a span of it, `MM:SS`).
pub fn hourly() -> OncePer<TimeOfHour> {
    once_per()
}

/// `daily`: once in every day (or in a span of it).
pub fn daily() -> OncePer<TimeOfDay> {
    once_per()
}

/// `weekly`: once in every week, Monday to Sunday (or in a span of it).
pub fn weekly() -> OncePer<TimeOfWeek> {
    once_per()
}

/// `monthly`: once in every month (or in a span of it).
pub fn monthly() -> OncePer<TimeOfMonth> {
    once_per()
}

// ----------------------------------------------------------------------------------------
// Clock windows
// ----------------------------------------------------------------------------------------

/// A clock window being built: `time of day between ...` and friends.
#[derive(Debug, Clone, Copy)]
pub struct TimeOf<P> {
    point: PhantomData<P>,
}

impl<P: PeriodPoint> TimeOf<P> {
    fn with(self, span: Result<Span<P>, ConditionError>) -> Built {
        span_condition(|period| Condition::TimeOf(ClockWindow { period }), span)
    }

    /// `time of ... before E`.
    pub fn before(self, end: impl IntoPoint<P>) -> Built {
        self.with(end.into_point().map(Span::Before))
    }

    /// `time of ... after S`.
    pub fn after(self, start: impl IntoPoint<P>) -> Built {
        self.with(start.into_point().map(Span::After))
    }

    /// `time of ... between S and E`.
    pub fn between(self, start: impl IntoPoint<P>, end: impl IntoPoint<P>) -> Built {
        let span = start
            .into_point()
            .and_then(|s| Ok(Span::Between(s, end.into_point()?)));
        self.with(span)
    }
}

impl TimeOf<TimeOfWeek> {
    /// `time of week on X`: one day (from the time, if one is given).
    pub fn on(self, point: impl IntoPoint<TimeOfWeek>) -> Built {
        self.with(point.into_point().map(Span::On))
    }
}

impl TimeOf<TimeOfMonth> {
    /// `time of month on X`: one day (from the time, if one is given).
    pub fn on(self, point: impl IntoPoint<TimeOfMonth>) -> Built {
        self.with(point.into_point().map(Span::On))
    }
}

const fn time_of<P>() -> TimeOf<P> {
    TimeOf { point: PhantomData }
}

/// `time of minute ...`: a window of seconds in every minute.
pub fn time_of_minute() -> TimeOf<TimeOfMinute> {
    time_of()
}

/// `time of hour ...`: a window of `MM:SS` positions in every hour.
pub fn time_of_hour() -> TimeOf<TimeOfHour> {
    time_of()
}

/// `time of day ...`: a window of times in every day.
pub fn time_of_day() -> TimeOf<TimeOfDay> {
    time_of()
}

/// `time of week ...`: a window of days and times in every week.
pub fn time_of_week() -> TimeOf<TimeOfWeek> {
    time_of()
}

/// `time of month ...`: a window of days and times in every month.
pub fn time_of_month() -> TimeOf<TimeOfMonth> {
    time_of()
}

// ----------------------------------------------------------------------------------------
// Intervals and cron
// ----------------------------------------------------------------------------------------

/// `every <interval>`: the owning task has not started within the last `interval`.
///
/// The interval is truncated to whole microseconds and must not be zero.
pub fn every(interval: Duration) -> Built {
    Ok(Condition::Every(Interval::new(interval)?))
}

/// `every <text>` with the interval written as in conditions (`"1h30m"`).
pub fn every_str(interval: &str) -> Built {
    Ok(Condition::Every(interval.parse::<Interval>()?))
}

/// `cron <expression>`: the five fields, checked now.
///
/// ```
/// use scheduler_core::condition::api::cron;
/// assert!(cron("0 9 * * MON-FRI").is_ok());
/// assert!(cron("0 0 31 2 *").is_err()); // February never has a 31st
/// ```
pub fn cron(expression: &str) -> Built {
    Ok(Condition::Cron(expression.parse::<CronSchedule>()?))
}

/// `cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)`: named cron fields with the meaning
/// of APScheduler's `CronTrigger` (see the conditions guide), given as `(name, expression)`
/// pairs, as Flask-TaskX's `define_cron_task(**fields)` takes them.
///
/// ```
/// use scheduler_core::condition::api::cron_fields;
/// let c = cron_fields([("month", "6-8,11-12"), ("day", "3rd fri"), ("hour", "0-3")])?;
/// assert_eq!(c.to_string(), "cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)");
/// assert!(cron_fields([("day_of_week", "mon-fri/2")]).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn cron_fields<'a>(fields: impl IntoIterator<Item = (&'a str, &'a str)>) -> Built {
    let text = fields
        .into_iter()
        .map(|(name, expression)| format!("{name} = {expression}"))
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Condition::CronFields(CronFields::parse_spec(&text)?))
}

/// `once at <date>`: due once, at or after the date (strict ISO 8601, as Flask-TaskX's
/// `run_date`; without an offset, in the scheduler's zone), within the default misfire
/// grace ([`super::DEFAULT_MISFIRE_GRACE`]).
///
/// ```
/// use scheduler_core::condition::api::once_at;
/// assert_eq!(once_at("2026-12-01")?.to_string(), "once at 2026-12-01T00:00:00");
/// let e = once_at("2026-12-01T08:00:00+05:99").unwrap_err();
/// assert!(e.to_string().contains("minutes to 59"), "{e}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn once_at(date: &str) -> Built {
    Ok(Condition::OnceAt(OnceAt::new(parse_date(date)?, None)))
}

/// `once at <date> grace <interval>`: as [`once_at`], still due up to `grace` after the
/// date (when the program was not running at the instant, or the rest of the condition
/// held it back); past that the date is missed and the runtime records why.
pub fn once_at_with_grace(date: &str, grace: Duration) -> Built {
    Ok(Condition::OnceAt(OnceAt::new(
        parse_date(date)?,
        Some(Interval::new(grace)?),
    )))
}

// ----------------------------------------------------------------------------------------
// Task status
// ----------------------------------------------------------------------------------------

/// A status condition being built: "ever" as it is, or in a scope through its methods;
/// with a number of times through [`more_than`](Self::more_than) and its siblings.
///
/// ```
/// use scheduler_core::condition::{Condition, api::*};
/// let c = task("load").has_succeeded().more_than(3).today();
/// assert_eq!(Condition::from(c), "task 'load' has succeeded more than 3 times today".parse()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HasStatus {
    task: TaskRef,
    status: TaskStatus,
    count: Option<Comparison>,
}

/// A status leaf, or a count leaf when a comparison was given.
fn status_leaf(
    task: TaskRef,
    status: TaskStatus,
    count: Option<Comparison>,
    scope: StatusScope,
) -> Condition {
    match count {
        None => Condition::Status(StatusCondition {
            task,
            status,
            scope,
        }),
        Some(comparison) => Condition::Count(CountCondition {
            task,
            status,
            comparison,
            scope,
        }),
    }
}

impl HasStatus {
    fn scoped<P>(self) -> StatusIn<P> {
        StatusIn {
            task: self.task,
            status: self.status,
            count: self.count,
            point: PhantomData,
        }
    }

    fn counted(self, comparison: Comparison) -> HasStatus {
        HasStatus {
            count: Some(comparison),
            ..self
        }
    }

    /// `... more than N times`: more than `n` records of the status.
    pub fn more_than(self, n: u32) -> HasStatus {
        self.counted(Comparison::MoreThan(n))
    }

    /// `... less than N times`.
    pub fn less_than(self, n: u32) -> HasStatus {
        self.counted(Comparison::LessThan(n))
    }

    /// `... at least N times`.
    pub fn at_least(self, n: u32) -> HasStatus {
        self.counted(Comparison::AtLeast(n))
    }

    /// `... at most N times`.
    pub fn at_most(self, n: u32) -> HasStatus {
        self.counted(Comparison::AtMost(n))
    }

    /// `... N times`: exactly `n` records.
    pub fn times(self, n: u32) -> HasStatus {
        self.counted(Comparison::Exactly(n))
    }

    /// `... this minute`.
    pub fn this_minute(self) -> StatusIn<TimeOfMinute> {
        self.scoped()
    }

    /// `... this hour`.
    pub fn this_hour(self) -> StatusIn<TimeOfHour> {
        self.scoped()
    }

    /// `... today`.
    pub fn today(self) -> StatusIn<TimeOfDay> {
        self.scoped()
    }

    /// `... this week`.
    pub fn this_week(self) -> StatusIn<TimeOfWeek> {
        self.scoped()
    }

    /// `... this month`.
    pub fn this_month(self) -> StatusIn<TimeOfMonth> {
        self.scoped()
    }

    /// `... past <interval>`: within the last `interval`, both ends included.
    pub fn past(self, interval: Duration) -> Built {
        Ok(status_leaf(
            self.task,
            self.status,
            self.count,
            StatusScope::Past(Interval::new(interval)?),
        ))
    }
}

impl From<HasStatus> for Condition {
    fn from(s: HasStatus) -> Condition {
        status_leaf(s.task, s.status, s.count, StatusScope::Ever)
    }
}

/// A status condition scoped to a period, optionally narrowed by a span.
#[derive(Debug, Clone)]
pub struct StatusIn<P> {
    task: TaskRef,
    status: TaskStatus,
    count: Option<Comparison>,
    point: PhantomData<P>,
}

impl<P: PeriodPoint> StatusIn<P> {
    fn with(self, span: Result<Span<P>, ConditionError>) -> Built {
        let (task, status, count) = (self.task, self.status, self.count);
        span_condition(
            move |period| status_leaf(task, status, count, StatusScope::Period(period)),
            span,
        )
    }

    /// `... before E`.
    pub fn before(self, end: impl IntoPoint<P>) -> Built {
        let span = end.into_point().map(Span::Before);
        self.with(span)
    }

    /// `... after S`.
    pub fn after(self, start: impl IntoPoint<P>) -> Built {
        let span = start.into_point().map(Span::After);
        self.with(span)
    }

    /// `... between S and E`.
    pub fn between(self, start: impl IntoPoint<P>, end: impl IntoPoint<P>) -> Built {
        let span = start
            .into_point()
            .and_then(|s| Ok(Span::Between(s, end.into_point()?)));
        self.with(span)
    }

    /// `... starting S`.
    pub fn starting(self, start: impl IntoPoint<P>) -> Built {
        let span = start.into_point().map(Span::Starting);
        self.with(span)
    }

    /// `... on X`.
    pub fn on(self, point: impl IntoPoint<P>) -> Built {
        let span = point.into_point().map(Span::On);
        self.with(span)
    }
}

impl<P: PeriodPoint> From<StatusIn<P>> for Condition {
    fn from(s: StatusIn<P>) -> Condition {
        status_leaf(
            s.task,
            s.status,
            s.count,
            StatusScope::Period(P::period(Span::Full)),
        )
    }
}

fn has(status: TaskStatus) -> HasStatus {
    HasStatus {
        task: TaskRef::Owner,
        status,
        count: None,
    }
}

/// `has succeeded`: the owning task has a `success` record.
pub fn has_succeeded() -> HasStatus {
    has(TaskStatus::Succeeded)
}

/// `has failed`: the owning task has a `fail` record.
pub fn has_failed() -> HasStatus {
    has(TaskStatus::Failed)
}

/// `has finished`: the owning task has a `success`, `fail` or `terminate` record.
pub fn has_finished() -> HasStatus {
    has(TaskStatus::Finished)
}

/// `has terminated`: the owning task has a `terminate` record.
pub fn has_terminated() -> HasStatus {
    has(TaskStatus::Terminated)
}

/// `has inacted`: the owning task has an `inaction` record.
pub fn has_inacted() -> HasStatus {
    has(TaskStatus::Inacted)
}

/// `has started`: the owning task has a `run` record.
pub fn has_started() -> HasStatus {
    has(TaskStatus::Started)
}

/// `has crashed`: the owning task has a `crash` record.
pub fn has_crashed() -> HasStatus {
    has(TaskStatus::Crashed)
}

/// `is running`: the owning task has a live run.
pub fn is_running() -> Condition {
    Condition::Running(TaskRef::Owner)
}

/// The number of live runs of the owning task, to compare: `live_runs().more_than(2)` is
/// `is running more than 2 times`.
pub fn live_runs() -> LiveRuns {
    LiveRuns(TaskRef::Owner)
}

/// `has been running for more than <d>`: a live run of the owning task started `d` or
/// longer ago.
pub fn running_for_more_than(d: Duration) -> Built {
    running_for(TaskRef::Owner, d, DurationBound::MoreThan)
}

/// `has been running for less than <d>`: a live run of the owning task started at most `d`
/// ago.
pub fn running_for_less_than(d: Duration) -> Built {
    running_for(TaskRef::Owner, d, DurationBound::LessThan)
}

fn running_for(task: TaskRef, d: Duration, bound: fn(Interval) -> DurationBound) -> Built {
    Ok(Condition::RunningFor(RunningFor {
        task,
        bound: bound(Interval::new(d)?),
    }))
}

/// The live runs of a task, being compared; see [`live_runs`] and [`NamedTask::live_runs`].
///
/// ```
/// use scheduler_core::condition::{Condition, api::*};
/// assert_eq!(task("sync").live_runs().at_least(2), "task 'sync' is running at least 2 times".parse::<Condition>()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRuns(TaskRef);

impl LiveRuns {
    fn compared(self, comparison: Comparison) -> Condition {
        Condition::RunningCount(RunningCount {
            task: self.0,
            comparison,
        })
    }

    /// `is running more than N times`.
    pub fn more_than(self, n: u32) -> Condition {
        self.compared(Comparison::MoreThan(n))
    }

    /// `is running less than N times`.
    pub fn less_than(self, n: u32) -> Condition {
        self.compared(Comparison::LessThan(n))
    }

    /// `is running at least N times`.
    pub fn at_least(self, n: u32) -> Condition {
        self.compared(Comparison::AtLeast(n))
    }

    /// `is running at most N times`.
    pub fn at_most(self, n: u32) -> Condition {
        self.compared(Comparison::AtMost(n))
    }

    /// `is running N times`: exactly `n` live runs.
    pub fn exactly(self, n: u32) -> Condition {
        self.compared(Comparison::Exactly(n))
    }
}

/// Another task, for the leaves that can be about any task: `task("x").has_failed()`,
/// `task("x").is_running()`.
pub fn task(name: impl Into<String>) -> NamedTask {
    NamedTask(name.into())
}

/// A task named in a condition; see [`task`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTask(String);

impl NamedTask {
    fn has(self, status: TaskStatus) -> HasStatus {
        HasStatus {
            task: TaskRef::Named(self.0),
            status,
            count: None,
        }
    }

    /// `task 'x' has succeeded`.
    pub fn has_succeeded(self) -> HasStatus {
        self.has(TaskStatus::Succeeded)
    }

    /// `task 'x' has failed`.
    pub fn has_failed(self) -> HasStatus {
        self.has(TaskStatus::Failed)
    }

    /// `task 'x' has finished`.
    pub fn has_finished(self) -> HasStatus {
        self.has(TaskStatus::Finished)
    }

    /// `task 'x' has terminated`.
    pub fn has_terminated(self) -> HasStatus {
        self.has(TaskStatus::Terminated)
    }

    /// `task 'x' has inacted`.
    pub fn has_inacted(self) -> HasStatus {
        self.has(TaskStatus::Inacted)
    }

    /// `task 'x' has started`.
    pub fn has_started(self) -> HasStatus {
        self.has(TaskStatus::Started)
    }

    /// `task 'x' has crashed`.
    pub fn has_crashed(self) -> HasStatus {
        self.has(TaskStatus::Crashed)
    }

    /// `task 'x' is running`.
    pub fn is_running(self) -> Condition {
        Condition::Running(TaskRef::Named(self.0))
    }

    /// The number of live runs of `x`, to compare: `task 'x' is running more than 2 times`.
    pub fn live_runs(self) -> LiveRuns {
        LiveRuns(TaskRef::Named(self.0))
    }

    /// `task 'x' has been running for more than <d>`.
    pub fn running_for_more_than(self, d: Duration) -> Built {
        running_for(TaskRef::Named(self.0), d, DurationBound::MoreThan)
    }

    /// `task 'x' has been running for less than <d>`.
    pub fn running_for_less_than(self, d: Duration) -> Built {
        running_for(TaskRef::Named(self.0), d, DurationBound::LessThan)
    }
}

// ----------------------------------------------------------------------------------------
// Pipelines
// ----------------------------------------------------------------------------------------

fn after(tasks: Vec<String>, quantifier: Quantifier, outcome: Outcome) -> Condition {
    match tasks.len() {
        // "All of nothing" holds and "any of nothing" does not, as for `&` and `|`.
        0 => Condition::Literal(quantifier == Quantifier::All),
        1 => Condition::After(AfterTasks {
            tasks,
            quantifier: Quantifier::All,
            outcome,
        }),
        _ => Condition::After(AfterTasks {
            tasks,
            quantifier,
            outcome,
        }),
    }
}

/// `after task 'x' succeeded`: `x` succeeded after the owning task last started.
pub fn after_success(task: impl Into<String>) -> Condition {
    after(vec![task.into()], Quantifier::All, Outcome::Succeeded)
}

/// `after task 'x' failed`.
pub fn after_fail(task: impl Into<String>) -> Condition {
    after(vec![task.into()], Quantifier::All, Outcome::Failed)
}

/// `after task 'x' finished` (succeeded or failed).
pub fn after_finish(task: impl Into<String>) -> Condition {
    after(vec![task.into()], Quantifier::All, Outcome::Finished)
}

/// `after task 'x' terminated`.
pub fn after_terminate(task: impl Into<String>) -> Condition {
    after(vec![task.into()], Quantifier::All, Outcome::Terminated)
}

/// `after tasks 'a', 'b' <outcome>`: every listed task had the outcome after the owning
/// task last started. An empty list is `true`.
pub fn after_all<I, S>(tasks: I, outcome: Outcome) -> Condition
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    after(
        tasks.into_iter().map(Into::into).collect(),
        Quantifier::All,
        outcome,
    )
}

/// `after any tasks 'a', 'b' <outcome>`: some listed task had the outcome after the
/// owning task last started. An empty list is `false`.
pub fn after_any<I, S>(tasks: I, outcome: Outcome) -> Condition
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    after(
        tasks.into_iter().map(Into::into).collect(),
        Quantifier::Any,
        outcome,
    )
}

// ----------------------------------------------------------------------------------------
// Retry, scheduler, parameters
// ----------------------------------------------------------------------------------------

/// `retry N`: the owning task's last run failed and it has failed at most `n` times since
/// its last success, crash, inaction or termination. `daily | retry(2)` allows at most
/// three attempts a day.
pub fn retry(n: u32) -> Condition {
    Condition::Retry(Some(n))
}

/// `retry`: the owning task's last run failed (no limit on attempts).
pub fn retry_forever() -> Condition {
    Condition::Retry(None)
}

/// `scheduler started <interval> ago`: the scheduler started within the last `interval`.
pub fn scheduler_started_within(interval: Duration) -> Built {
    Ok(Condition::Scheduler(SchedulerCondition::StartedWithin(
        Interval::new(interval)?,
    )))
}

/// `scheduler has run over <interval>`: the scheduler started longer than `interval` ago.
pub fn scheduler_running_longer_than(interval: Duration) -> Built {
    Ok(Condition::Scheduler(SchedulerCondition::RunningLongerThan(
        Interval::new(interval)?,
    )))
}

/// `scheduler has more than N cycles`.
pub fn scheduler_cycles_more_than(n: u64) -> Condition {
    Condition::Scheduler(SchedulerCondition::CyclesMoreThan(n))
}

/// `scheduler has less than N cycles`.
pub fn scheduler_cycles_less_than(n: u64) -> Condition {
    Condition::Scheduler(SchedulerCondition::CyclesLessThan(n))
}

/// `scheduler has N cycles`.
pub fn scheduler_cycles(n: u64) -> Condition {
    Condition::Scheduler(SchedulerCondition::CyclesExactly(n))
}

/// `env 'value'`: the session parameter `env` equals `value`.
pub fn env(value: impl Into<String>) -> Condition {
    Condition::Env(value.into())
}

/// A session parameter, for `param 'k' exists` and `param 'k' is 'v'`.
pub fn param(key: impl Into<String>) -> ParamKey {
    ParamKey(key.into())
}

/// A parameter named in a condition; see [`param`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamKey(String);

impl ParamKey {
    /// `param 'k' exists`.
    pub fn exists(self) -> Condition {
        Condition::Param(ParamCondition::Exists(self.0))
    }

    /// `param 'k' is 'v'`: the value, as text, equals `value`.
    pub fn is(self, value: impl Into<String>) -> Condition {
        Condition::Param(ParamCondition::Is(self.0, value.into()))
    }
}

// ----------------------------------------------------------------------------------------
// Custom conditions
// ----------------------------------------------------------------------------------------

/// `name(args)`: a call of the custom condition registered under the last segment of
/// `path` (a function marked `#[scheduler::cond]`), with literal arguments. The call is
/// checked as the parser checks it (a Rust path; text without single quotes); whether the
/// condition exists and takes these arguments is checked when the scheduler starts.
///
/// ```
/// use scheduler_core::condition::{Condition, api::*};
/// let c = daily() & custom("file_exists", ["data.csv"])? & custom("queue_below", [100])?;
/// assert_eq!(c, "daily & file_exists('data.csv') & queue_below(100)".parse::<Condition>()?);
/// assert!(custom("no such", Vec::<CustomArg>::new()).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn custom<A: Into<CustomArg>>(path: &str, args: impl IntoIterator<Item = A>) -> Built {
    let call = Condition::Custom(CustomCall::new(
        path,
        args.into_iter().map(Into::into).collect(),
    ));
    // The printed call parses back to itself exactly when it is one the parser makes.
    let text = call.to_string();
    let parsed: Condition = text.parse()?;
    if parsed == call {
        Ok(call)
    } else {
        Err(super::error::ParseError::new(
            &text,
            0..text.len(),
            super::error::ParseErrorKind::Malformed {
                what: "custom condition call",
                form: "a Rust path with text arguments free of single quotes",
            },
        )
        .into())
    }
}

impl From<&str> for CustomArg {
    fn from(text: &str) -> Self {
        CustomArg::Text(text.to_owned())
    }
}

impl From<String> for CustomArg {
    fn from(text: String) -> Self {
        CustomArg::Text(text)
    }
}

impl From<i64> for CustomArg {
    fn from(n: i64) -> Self {
        CustomArg::Integer(n)
    }
}

impl From<i32> for CustomArg {
    fn from(n: i32) -> Self {
        CustomArg::Integer(n.into())
    }
}

impl From<u32> for CustomArg {
    fn from(n: u32) -> Self {
        CustomArg::Integer(n.into())
    }
}

impl From<bool> for CustomArg {
    fn from(b: bool) -> Self {
        CustomArg::Bool(b)
    }
}

// ----------------------------------------------------------------------------------------
// Operators
// ----------------------------------------------------------------------------------------

macro_rules! operators {
    ($([$($generics:tt)*] $ty:ty),* $(,)?) => {$(
        impl<$($generics)* Rhs: Into<Condition>> BitAnd<Rhs> for $ty {
            type Output = Condition;
            /// `self & rhs`.
            fn bitand(self, rhs: Rhs) -> Condition {
                Condition::from(self).and(rhs.into())
            }
        }
        impl<$($generics)* Rhs: Into<Condition>> BitOr<Rhs> for $ty {
            type Output = Condition;
            /// `self | rhs`.
            fn bitor(self, rhs: Rhs) -> Condition {
                Condition::from(self).or(rhs.into())
            }
        }
        impl<$($generics)*> Not for $ty {
            type Output = Condition;
            /// `~self`.
            fn not(self) -> Condition {
                Condition::from(self).negate()
            }
        }
    )*};
}

operators! {
    [] Condition,
    [P: PeriodPoint,] OncePer<P>,
    [] HasStatus,
    [P: PeriodPoint,] StatusIn<P>,
}
