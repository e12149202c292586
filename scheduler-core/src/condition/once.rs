//! One-off dates: `once at 2026-12-01T08:00:00`, the leaf behind Flask-TaskX's
//! `define_date_task(run_date=...)` (APScheduler 3's `DateTrigger`), and its misfire policy.
//!
//! The leaf is due from its instant on, until the owning task starts (a date task that has
//! run never runs again: its `run` record, durable in the log, says so after a restart too)
//! or until its misfire grace ends (`once at 2026-12-01T08:00:00 grace 1 hour`; one hour
//! when not written). A date whose grace ended without a run is missed: the runtime writes
//! an `inaction` record whose message is a [`MissedDate`], once.
//!
//! The date is strict ISO 8601 ([`DateBound::parse`]): `2026-12-01` (midnight),
//! `2026-12-01T08:00:00[.ffffff]`, with `Z` or `±HH:MM`, or without an offset, in the
//! scheduler's zone. A wall time the clock shows twice is its first pass; one the clock
//! skips is read with the offset before the gap (CONDITIONS.md, issue 25).
//!
//! This module is the leaf's one home: its value, its text, its instant in a zone and its
//! misfire record. The grammar (`grammar.pest`, block "One-off dates") reads it; eval and
//! next-change ask it for its window.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use crate::time::Interval;

use super::cron_fields::DateBound;

/// How late a one-off date may still start when its leaf does not say (`grace ...`).
///
/// APScheduler's default is one second, which in practice means "missed" whenever the
/// program was down or busy at the instant; an hour covers a restart or a deployment,
/// while a date days in the past (a program started long after it) is recorded as missed
/// instead of running by surprise.
pub const DEFAULT_MISFIRE_GRACE: Duration = Duration::from_secs(3600);

/// `once at <date>[ grace <interval>]`: due once, at or after the instant, within the grace.
///
/// ```
/// use scheduler_core::condition::{Condition, api::once_at_with_grace};
/// let c: Condition = "once at 2026-12-01T08:00:00 grace 2 hours".parse()?;
/// let grace = std::time::Duration::from_secs(7200);
/// assert_eq!(c, once_at_with_grace("2026-12-01T08:00:00", grace)?);
/// assert_eq!(c.to_string(), "once at 2026-12-01T08:00:00 grace 2 hours");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnceAt {
    date: DateBound,
    grace: Option<Interval>,
}

impl OnceAt {
    /// The leaf of `date`, with a grace as written (`None`: [`DEFAULT_MISFIRE_GRACE`]).
    pub fn new(date: DateBound, grace: Option<Interval>) -> OnceAt {
        OnceAt { date, grace }
    }

    /// The date as written.
    pub fn date(&self) -> DateBound {
        self.date
    }

    /// The grace as written, if it was.
    pub fn grace(&self) -> Option<Interval> {
        self.grace
    }

    /// How late the date may still start: the grace written, or [`DEFAULT_MISFIRE_GRACE`].
    pub fn misfire_grace(&self) -> Interval {
        self.grace.unwrap_or_else(|| {
            Interval::new(DEFAULT_MISFIRE_GRACE).expect("the default grace is a valid interval")
        })
    }

    /// The real instant (UTC microseconds) of the date in `tz` and the last instant of its
    /// grace.
    #[cfg(feature = "evaluation")]
    pub(crate) fn window(&self, tz: crate::time::Tz) -> (i64, i64) {
        let at = self
            .date
            .utc_with_offset()
            .unwrap_or_else(|| crate::time::zone::utc_of_date(tz, self.date.wall));
        (at, at.saturating_add(self.misfire_grace().micros()))
    }

    /// The instant the date is due in the zone `tz` (which it ignores when the date carries
    /// an offset).
    ///
    /// ```
    /// use scheduler_core::condition::{OnceAt, parse_date};
    /// let once = OnceAt::new(parse_date("2024-03-10T02:30:00")?, None);
    /// // Inside New York's spring-forward gap: read with the offset before it (EST).
    /// assert_eq!(
    ///     once.due(chrono_tz::America::New_York).to_string(),
    ///     "2024-03-10T07:30:00Z"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "evaluation")]
    pub fn due(&self, tz: crate::time::Tz) -> crate::time::Timestamp {
        crate::time::Timestamp::from_micros(self.window(tz).0)
    }
}

impl fmt::Display for OnceAt {
    /// The leaf's text after `once at `: the date in canonical form, and the grace when
    /// one was written.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.date)?;
        if let Some(grace) = self.grace {
            write!(f, " grace {grace}")?;
        }
        Ok(())
    }
}

/// A date that is not strict ISO 8601.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a date and time in ISO 8601 form such as `2026-12-01T08:00:00`")]
pub struct DateError {
    /// The text as written.
    pub text: String,
}

/// A [`DateError`] with the byte range of the mistake in the text and a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {hint}")]
pub struct DateParseError {
    /// What is wrong.
    #[source]
    pub kind: DateError,
    /// Where, in bytes of the text parsed.
    pub span: Range<usize>,
    /// How to fix it.
    pub hint: String,
}

/// Parses a one-off date (`run_date`): strict ISO 8601, as [`DateBound::parse`] describes.
///
/// ```
/// use scheduler_core::condition::parse_date;
/// assert!(parse_date("2026-12-01T08:00:00+05:30").is_ok());
/// let e = parse_date("2026-12-01T08:00:00+05:99").unwrap_err();
/// assert_eq!(e.span, 19..25);
/// assert!(parse_date("2026-12-1").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn parse_date(text: &str) -> Result<DateBound, DateParseError> {
    DateBound::parse(text).map_err(|(span, hint)| DateParseError {
        kind: DateError {
            text: text.to_owned(),
        },
        span,
        hint,
    })
}

/// Why a one-off date did not run: its misfire grace ended before the task started (the
/// program was not running at the instant, or the rest of the condition held it back).
/// The runtime writes it as the message of an `inaction` record of the task, once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MissedDate {
    /// The leaf whose date was missed.
    pub once: OnceAt,
    /// The instant the date was due.
    pub due: crate::time::Timestamp,
}

impl MissedDate {
    /// The words every missed-date message starts with, to find such records in a log.
    pub const PREFIX: &'static str = "missed the one-off date";
}

impl fmt::Display for MissedDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} (due {}): its misfire grace of {} ended without a run",
            Self::PREFIX,
            self.once.date(),
            self.due,
            self.once.misfire_grace()
        )
    }
}

impl super::Condition {
    /// The one-off dates without which the condition cannot be true: the leaf itself, or
    /// the date operands of a top-level `&`. Only these are recorded as missed when their
    /// grace ends (a date under `|` or `~` is one way among others to start, and an
    /// `inaction` record would count as a finish for the others, `daily` say).
    pub fn required_dates(&self) -> Vec<&OnceAt> {
        match self {
            super::Condition::OnceAt(once) => vec![once],
            super::Condition::All(operands) => operands
                .iter()
                .filter_map(|o| match o {
                    super::Condition::OnceAt(once) => Some(once),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(all(test, feature = "evaluation"))]
mod tests {
    use crate::condition::{Condition, EvalContext, NextChange};
    use crate::log::{Action, LogIndex};
    use crate::time::{Timestamp, Tz};

    fn at(text: &str) -> Timestamp {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&chrono::Utc)
            .into()
    }

    #[test]
    fn text_round_trips_and_mistakes_point_inside_the_date() {
        for (text, canonical) in [
            ("once at 2026-12-01", "once at 2026-12-01T00:00:00"),
            (
                "once at 2026-12-01 08:00:00.5+05:30 grace 90 minutes",
                "once at 2026-12-01T08:00:00.500000+05:30 grace 1 hour 30 minutes",
            ),
            (
                "once  at 2026-12-01T08:00:00Z&daily",
                "once at 2026-12-01T08:00:00Z & daily",
            ),
        ] {
            let c: Condition = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(c.to_string(), canonical);
            assert_eq!(canonical.parse::<Condition>().unwrap(), c);
        }
        for (text, span, hint) in [
            ("once at 2026-12-1", 16..17, "2 digits"),
            ("once at 2026-12-01T08:00", 24..24, "seconds"),
            ("once at 2026-12-01T08:00:00+05:99", 27..33, "minutes to 59"),
            ("once at 2026-12-01t08:00:00", 18..19, "upper-case `T`"),
            ("once at 2026-1٢-01", 13..16, "2 digits"),
            ("once at 2026-13-01", 8..18, "not a date"),
            (
                "once at 2026-12-01T08:00:00.1234567",
                27..35,
                "1 to 6 digits",
            ),
            ("once at 01.12.2026", 8..12, "4 digits"),
        ] {
            let e = text.parse::<Condition>().unwrap_err();
            assert_eq!(e.span(), span, "{text}: {e}");
            assert!(e.to_string().contains(hint), "{text}: {e}");
        }
        assert!("once at".parse::<Condition>().is_err());
        assert!("once at 2026-12-01 grace".parse::<Condition>().is_err());
    }

    #[test]
    fn due_once_from_the_date_within_the_grace() {
        let c: Condition = "once at 2026-12-01T08:00:00 grace 10 minutes"
            .parse()
            .unwrap();
        let mut log = LogIndex::new();
        let helsinki: Tz = chrono_tz::Europe::Helsinki;
        let due = at("2026-12-01T06:00:00Z");
        {
            let cx = EvalContext::new(&log).owner("t").zone(helsinki);
            assert!(!c.evaluate(&cx, at("2026-12-01T05:59:59.999999Z")).unwrap());
            assert!(c.evaluate(&cx, due).unwrap());
            assert!(c.evaluate(&cx, at("2026-12-01T06:10:00Z")).unwrap());
            assert!(!c.evaluate(&cx, at("2026-12-01T06:10:00.000001Z")).unwrap());
            assert_eq!(
                c.next_change(&cx, at("2026-01-01T00:00:00Z")).unwrap(),
                NextChange::At(due)
            );
            assert_eq!(
                c.next_change(&cx, due).unwrap(),
                NextChange::At(at("2026-12-01T06:10:00.000001Z"))
            );
            assert_eq!(
                c.next_change(&cx, at("2026-12-02T00:00:00Z")).unwrap(),
                NextChange::Never
            );
        }
        // A start before the date does not use it up; one at or after it does, for ever.
        log.record("t", Action::Run, at("2026-11-30T00:00:00Z"));
        log.record("t", Action::Run, at("2026-12-01T06:00:01Z"));
        let cx = EvalContext::new(&log).owner("t").zone(helsinki);
        assert!(c.evaluate(&cx, due).unwrap());
        assert!(!c.evaluate(&cx, at("2026-12-01T06:00:01Z")).unwrap());
        assert_eq!(
            c.next_change(&cx, at("2026-12-01T06:00:01Z")).unwrap(),
            NextChange::Never
        );
    }

    #[test]
    fn clock_changes_gap_uses_the_offset_before_and_a_fold_its_first_pass() {
        let new_york: Tz = chrono_tz::America::New_York;
        for (date, due) in [
            ("2024-03-10T02:30:00", "2024-03-10T03:30:00-04:00"),
            ("2024-11-03T01:30:00", "2024-11-03T01:30:00-04:00"),
            ("2024-03-10T02:30:00Z", "2024-03-10T02:30:00Z"),
        ] {
            let once = super::OnceAt::new(super::parse_date(date).unwrap(), None);
            assert_eq!(once.due(new_york), at(due), "{date}");
        }
    }
}
