//! Cron fields by name, with the meaning of APScheduler 3's `CronTrigger` (the fields
//! Flask-TaskX's `define_cron_task(month='6-8,11-12', day='3rd fri', hour='0-3')` passes
//! on): `year`, `month`, `day`, `week`, `day_of_week`, `hour`, `minute`, `second`.
//!
//! Written in a condition as `cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)`.
//!
//! The rules (issue 25), where they differ from the five-field cron of [`super::cron`]:
//!
//! * `day` and `day_of_week` are combined with AND (five-field cron uses OR);
//! * fields after the least significant field given (in the order year, month, day,
//!   week, day_of_week, hour, minute, second) default to their minimum (`hour = 3` fires
//!   at 03:00:00 only), the others to `*`; `week` and `day_of_week` default to `*`;
//! * `day_of_week` counts from Monday = 0 to Sunday = 6, or names (`mon`);
//! * `week` is the ISO week number (1 to 53); `year` runs from 1970 to 9999;
//! * a step larger than the range it steps over (`*/60` for minutes, `10-20/11`) is an
//!   error, as are text APScheduler silently ignores (`mon-fri/2`, `fri#3`,
//!   `3rd fri extra`, `lastx`), non-ASCII digits, and a set of fields that never matches
//!   (`month = 2, day = 31`).
//!
//! Matching works on the wall clock to the second; finding the next matching second is a
//! direct search over the calendar (skipping years and months that cannot match), not a
//! step-by-step poll.

// Without the `evaluation` feature (the proc-macro's build) the calendar arithmetic that
// evaluation uses is compiled but not called.
#![cfg_attr(not(feature = "evaluation"), allow(dead_code))]

use std::fmt;
use std::ops::Range;

use chrono::{Datelike, NaiveDate};

use crate::time::{DAY, SECOND};

/// A field of [`CronFields`], in APScheduler's order (most significant first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldName {
    /// `year`, 1970 to 9999.
    Year,
    /// `month`, 1 to 12 or `jan` to `dec`.
    Month,
    /// `day` of the month, 1 to 31, or `3rd fri`, `last fri`, `last`.
    Day,
    /// `week`, the ISO week number, 1 to 53.
    Week,
    /// `day_of_week`, 0 (Monday) to 6 (Sunday) or `mon` to `sun`.
    DayOfWeek,
    /// `hour`, 0 to 23.
    Hour,
    /// `minute`, 0 to 59.
    Minute,
    /// `second`, 0 to 59.
    Second,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ORDINALS: [&str; 5] = ["1st", "2nd", "3rd", "4th", "5th"];

impl FieldName {
    /// Every field, most significant first.
    pub const ALL: [FieldName; 8] = [
        FieldName::Year,
        FieldName::Month,
        FieldName::Day,
        FieldName::Week,
        FieldName::DayOfWeek,
        FieldName::Hour,
        FieldName::Minute,
        FieldName::Second,
    ];

    /// The name as written (`day_of_week`).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldName::Year => "year",
            FieldName::Month => "month",
            FieldName::Day => "day",
            FieldName::Week => "week",
            FieldName::DayOfWeek => "day_of_week",
            FieldName::Hour => "hour",
            FieldName::Minute => "minute",
            FieldName::Second => "second",
        }
    }

    /// The field with this name.
    pub fn from_name(name: &str) -> Option<FieldName> {
        FieldName::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// The smallest and largest value.
    pub fn range(self) -> (u32, u32) {
        match self {
            FieldName::Year => (1970, 9999),
            FieldName::Month => (1, 12),
            FieldName::Day => (1, 31),
            FieldName::Week => (1, 53),
            FieldName::DayOfWeek => (0, 6),
            FieldName::Hour => (0, 23),
            FieldName::Minute | FieldName::Second => (0, 59),
        }
    }

    /// What a field left out means: `*` above the least significant field given, the
    /// minimum below it (APScheduler's defaults; `week` and `day_of_week` are always `*`).
    fn default_below(self) -> Option<u32> {
        match self {
            FieldName::Month | FieldName::Day => Some(1),
            FieldName::Hour | FieldName::Minute | FieldName::Second => Some(0),
            FieldName::Year | FieldName::Week | FieldName::DayOfWeek => None,
        }
    }

    fn names(self) -> Option<&'static [&'static str]> {
        match self {
            FieldName::Month => Some(&MONTHS),
            FieldName::DayOfWeek => Some(&WEEKDAYS),
            _ => None,
        }
    }

    /// The number of a name of this field (`mar` = 3, `mon` = 0), in any case.
    fn number_of_name(self, name: &str) -> Option<u32> {
        let lower = name.to_ascii_lowercase();
        let position = self.names()?.iter().position(|n| *n == lower)? as u32;
        Some(if self == FieldName::Month {
            position + 1
        } else {
            position
        })
    }
}

impl fmt::Display for FieldName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A number of a field as written: a number or a name (kept for display).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FieldValue {
    /// The value.
    pub number: u32,
    /// Whether it was written as a name (`mon`, `jan`).
    pub named: bool,
}

/// One item of a field's comma list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldItem {
    /// `*` or `*/step`.
    All {
        /// The step, if any.
        step: Option<u32>,
    },
    /// `a`, `a-b`, `a-b/step`, or `a/step` (from `a` to the field's maximum).
    Range {
        /// The first value.
        first: FieldValue,
        /// The last value (inclusive); `None` for `a` alone and for `a/step`.
        last: Option<FieldValue>,
        /// The step, if any.
        step: Option<u32>,
    },
    /// `3rd fri` (day only): the nth (1 to 5) such weekday of the month.
    NthWeekday {
        /// 1 to 5.
        nth: u8,
        /// 0 (Monday) to 6 (Sunday).
        weekday: u8,
    },
    /// `last fri` (day only): the last such weekday of the month.
    LastWeekday {
        /// 0 (Monday) to 6 (Sunday).
        weekday: u8,
    },
    /// `last` (day only): the last day of the month.
    LastDay,
}

/// A field's expression: its comma list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldExpr {
    name: FieldName,
    items: Vec<FieldItem>,
}

impl FieldExpr {
    /// The field.
    pub fn name(&self) -> FieldName {
        self.name
    }

    /// The items of its comma list.
    pub fn items(&self) -> &[FieldItem] {
        &self.items
    }

    /// Whether `v` is in the field (for `day`, in a month whose first day is the weekday
    /// `first_weekday` (Monday = 0) and which has `len` days).
    fn contains(&self, v: u32, month: Option<(u32, u32)>) -> bool {
        let (_, max) = self.name.range();
        self.items.iter().any(|item| match *item {
            FieldItem::All { step } => {
                let (min, _) = self.name.range();
                (v - min).is_multiple_of(step.unwrap_or(1))
            }
            FieldItem::Range { first, last, step } => {
                let last = match (last, step) {
                    (Some(l), _) => l.number,
                    (None, Some(_)) => max,
                    (None, None) => first.number,
                };
                first.number <= v
                    && v <= last
                    && (v - first.number).is_multiple_of(step.unwrap_or(1))
            }
            FieldItem::NthWeekday { nth, weekday } => month.is_some_and(|(first_wd, _)| {
                let first = 1 + (u32::from(weekday) + 7 - first_wd) % 7;
                v == first + 7 * (u32::from(nth) - 1)
            }),
            FieldItem::LastWeekday { weekday } => month.is_some_and(|(first_wd, len)| {
                let last_wd = (first_wd + len - 1) % 7;
                v == len - (last_wd + 7 - u32::from(weekday)) % 7
            }),
            FieldItem::LastDay => month.is_some_and(|(_, len)| v == len),
        })
    }

    /// The values of a field up to 63 as a bit set (not for `year`; for `day` with the
    /// month's layout).
    fn bits(&self, month: Option<(u32, u32)>) -> u64 {
        let (min, max) = self.name.range();
        let max = match (self.name, month) {
            (FieldName::Day, Some((_, len))) => len,
            _ => max,
        };
        (min..=max)
            .filter(|&v| self.contains(v, month))
            .fold(0, |bits, v| bits | 1 << v)
    }
}

impl fmt::Display for FieldExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = |f: &mut fmt::Formatter<'_>, v: FieldValue| match self.name.names() {
            Some(names) if v.named => {
                let i = if self.name == FieldName::Month {
                    v.number - 1
                } else {
                    v.number
                };
                f.write_str(names[i as usize])
            }
            _ => write!(f, "{}", v.number),
        };
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            match *item {
                FieldItem::All { step } => {
                    f.write_str("*")?;
                    if let Some(s) = step {
                        write!(f, "/{s}")?;
                    }
                }
                FieldItem::Range { first, last, step } => {
                    value(f, first)?;
                    if let Some(l) = last {
                        f.write_str("-")?;
                        value(f, l)?;
                    }
                    if let Some(s) = step {
                        write!(f, "/{s}")?;
                    }
                }
                FieldItem::NthWeekday { nth, weekday } => write!(
                    f,
                    "{} {}",
                    ORDINALS[usize::from(nth) - 1],
                    WEEKDAYS[usize::from(weekday)]
                )?,
                FieldItem::LastWeekday { weekday } => {
                    write!(f, "last {}", WEEKDAYS[usize::from(weekday)])?
                }
                FieldItem::LastDay => f.write_str("last")?,
            }
        }
        Ok(())
    }
}

/// What is wrong with a set of cron fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronFieldsError {
    /// A name that is not one of the eight fields.
    #[error("`{0}` is not a cron field")]
    UnknownField(String),
    /// The same field twice.
    #[error("the field `{0}` is given twice")]
    Repeated(FieldName),
    /// No field at all.
    #[error("at least one field is needed")]
    NoField,
    /// An item whose form the field does not accept.
    #[error("`{text}` is not a valid item of the field `{field}`")]
    BadItem {
        /// The field.
        field: FieldName,
        /// The item as written.
        text: String,
    },
    /// A value outside the field's range.
    #[error("{value} is out of range for `{field}`: it runs from {min} to {max}")]
    OutOfRange {
        /// The field.
        field: FieldName,
        /// The value.
        value: u64,
        /// The smallest value.
        min: u32,
        /// The largest value.
        max: u32,
    },
    /// A range whose first value is above its last.
    #[error("the range {first}-{last} runs backwards")]
    Reversed {
        /// The first value.
        first: u32,
        /// The last value.
        last: u32,
    },
    /// A step of zero.
    #[error("a step must be at least 1")]
    ZeroStep,
    /// A step larger than the range it steps over.
    #[error("the step {step} is larger than the range it steps over ({range})")]
    StepTooLarge {
        /// The step.
        step: u32,
        /// The length of the range (last - first).
        range: u32,
    },
    /// A `start_date` or `end_date` that is not a strict ISO 8601 date.
    #[error("`{0}` is not a date and time in ISO 8601 form")]
    BadDate(String),
    /// `start_date` or `end_date` given twice.
    #[error("`{0}` is given twice")]
    RepeatedDate(String),
    /// A set of fields that matches no instant from 1970 to 9999.
    #[error("these fields never match: no date from 1970 to 9999 has them all")]
    NeverMatches,
}

/// A [`CronFieldsError`] with the byte range of the mistake in the text that was parsed
/// and, where one helps, a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct CronFieldsParseError {
    /// What is wrong.
    #[source]
    pub kind: CronFieldsError,
    /// Where, in bytes of the parsed text.
    pub span: Range<usize>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl CronFieldsParseError {
    fn new(kind: CronFieldsError, span: Range<usize>) -> Self {
        CronFieldsParseError {
            kind,
            span,
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

type Parsed<T> = Result<T, CronFieldsParseError>;

/// A `start_date` or `end_date`: an ISO 8601 date and time, with an offset or read in the
/// scheduler's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateBound {
    /// The date and time as written, on the wall-clock axis (microseconds).
    pub wall: i64,
    /// The offset from UTC in seconds, when one was written (`Z` is 0).
    pub offset: Option<i32>,
}

impl DateBound {
    /// Parses strict ISO 8601: `YYYY-MM-DD` (midnight), `YYYY-MM-DD[T ]HH:MM:SS[.ffffff]`,
    /// optionally followed by `Z` or `±HH:MM`. Every field has its full number of digits;
    /// a fraction is a fraction of a second. Spans are relative to `text`.
    pub fn parse(text: &str) -> Result<DateBound, (Range<usize>, String)> {
        // The checks below count bytes; a span that cuts a character (a non-ASCII digit)
        // is widened to whole characters, so that it can be shown.
        Self::parse_bytes(text).map_err(|(span, hint)| {
            let mut start = span.start.min(text.len());
            while !text.is_char_boundary(start) {
                start -= 1;
            }
            let mut end = span.end.clamp(start, text.len());
            while !text.is_char_boundary(end) {
                end += 1;
            }
            (start..end, hint)
        })
    }

    fn parse_bytes(text: &str) -> Result<DateBound, (Range<usize>, String)> {
        let b = text.as_bytes();
        let digits = |at: usize, n: usize| -> Result<u32, (Range<usize>, String)> {
            let end = at + n;
            let part = text
                .get(at..end)
                .filter(|p| p.bytes().all(|c| c.is_ascii_digit()));
            part.and_then(|p| p.parse().ok()).ok_or_else(|| {
                let stop = end.min(text.len()).max(at.min(text.len()));
                (
                    at.min(text.len())..stop,
                    format!("expected {n} digits here (dates are written `2026-12-01T08:00:00`)"),
                )
            })
        };
        let expect = |at: usize, c: u8, what: &str| -> Result<(), (Range<usize>, String)> {
            if b.get(at) == Some(&c) {
                Ok(())
            } else {
                Err((
                    at.min(text.len())..(at + 1).min(text.len()),
                    format!("expected {what} here"),
                ))
            }
        };
        let (y, mo, d) = (
            digits(0, 4)?,
            {
                expect(4, b'-', "`-`")?;
                digits(5, 2)?
            },
            {
                expect(7, b'-', "`-`")?;
                digits(8, 2)?
            },
        );
        let date = NaiveDate::from_ymd_opt(y as i32, mo, d)
            .ok_or_else(|| (0..10, format!("{y:04}-{mo:02}-{d:02} is not a date")))?;
        let mut at = 10;
        let mut micros: i64 = 0;
        if matches!(b.get(at), Some(b'T' | b' ')) {
            let h = digits(at + 1, 2)?;
            expect(at + 3, b':', "`:`")?;
            let mi = digits(at + 4, 2)?;
            at += 6;
            // Seconds are required (as APScheduler's date strings require them): a time
            // without them is more often a typo than a wish for `:00`.
            if b.get(at) != Some(&b':') {
                return Err((
                    at.min(text.len())..(at + 1).min(text.len()),
                    "expected `:` and the seconds here (`08:00:00`)".into(),
                ));
            }
            let s = digits(at + 1, 2)?;
            at += 3;
            if b.get(at) == Some(&b'.') {
                let frac_len = text[at + 1..]
                    .bytes()
                    .take_while(u8::is_ascii_digit)
                    .count();
                if frac_len == 0 || frac_len > 6 {
                    return Err((
                        at..at + 1 + frac_len,
                        "a fraction of a second has 1 to 6 digits".into(),
                    ));
                }
                let frac = &text[at + 1..at + 1 + frac_len];
                micros = format!("{frac:0<6}").parse::<i64>().expect("digits");
                at += 1 + frac_len;
            }
            if h > 23 || mi > 59 || s > 59 {
                return Err((11..at, "hours run to 23, minutes and seconds to 59".into()));
            }
            micros += (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * SECOND;
        }
        let offset = match b.get(at) {
            None => None,
            Some(b'Z') => {
                at += 1;
                Some(0)
            }
            Some(&sign @ (b'+' | b'-')) => {
                let oh = digits(at + 1, 2)?;
                expect(at + 3, b':', "`:`")?;
                let om = digits(at + 4, 2)?;
                if oh > 23 || om > 59 {
                    return Err((
                        at..at + 6,
                        "an offset is `+HH:MM` with hours to 23 and minutes to 59".into(),
                    ));
                }
                let secs = (oh * 3600 + om * 60) as i32;
                at += 6;
                Some(if sign == b'-' { -secs } else { secs })
            }
            Some(b't') if at == 10 => {
                return Err((
                    at..at + 1,
                    "the date and the time are separated by an upper-case `T` or a space".into(),
                ));
            }
            Some(_) => {
                return Err((
                    at..text.len(),
                    "expected the end of the date, `Z` or an offset `+HH:MM`".into(),
                ));
            }
        };
        if at != text.len() {
            return Err((at..text.len(), "expected the end of the date".into()));
        }
        let days = i64::from(date.num_days_from_ce() - EPOCH_DAYS_FROM_CE);
        Ok(DateBound {
            wall: days * DAY + micros,
            offset,
        })
    }

    /// The UTC instant (microseconds) when an offset was written.
    pub fn utc_with_offset(self) -> Option<i64> {
        self.offset.map(|o| self.wall - i64::from(o) * SECOND)
    }
}

impl fmt::Display for DateBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = chrono::DateTime::from_timestamp_micros(self.wall)
            .expect("a date from the parser")
            .naive_utc();
        write!(f, "{}", t.format("%Y-%m-%dT%H:%M:%S"))?;
        let us = self.wall.rem_euclid(SECOND);
        if us != 0 {
            write!(f, ".{us:06}")?;
        }
        match self.offset {
            None => Ok(()),
            Some(0) => f.write_str("Z"),
            Some(o) => {
                let sign = if o < 0 { '-' } else { '+' };
                let o = o.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", o / 3600, o / 60 % 60)
            }
        }
    }
}

/// A set of named cron fields with APScheduler's meaning (see the module documentation).
///
/// `Display` prints the fields as given, in canonical form
/// (`month = 6-8,11-12, day = 3rd fri, hour = 0-3`); the defaults are implied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronFields {
    /// The fields given, most significant first.
    given: Vec<FieldExpr>,
    /// Every field with its default filled in, in [`FieldName::ALL`] order.
    all: Vec<FieldExpr>,
    /// No fire before this instant (`start_date`).
    start: Option<DateBound>,
    /// No fire after this instant (`end_date`, inclusive).
    end: Option<DateBound>,
    /// The values of month, week, day_of_week, hour, minute and second as bit sets, made
    /// once (the search reads them at every step).
    masks: Masks,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
struct Masks {
    months: u64,
    weeks: u64,
    weekdays: u64,
    hours: u64,
    minutes: u64,
    seconds: u64,
}

impl CronFields {
    /// Parses the inside of `cron(...)`: `name = expression` pairs separated by commas
    /// (`month = 6-8,11-12, day = 3rd fri`). A comma followed by a field name and `=`
    /// starts the next field; other commas separate the items of a list.
    pub fn parse_spec(text: &str) -> Parsed<CronFields> {
        let mut given: Vec<FieldExpr> = Vec::new();
        let starts = field_starts(text);
        if starts.is_empty() {
            let at = text.len() - text.trim_start().len();
            return Err(CronFieldsParseError::new(
                CronFieldsError::NoField,
                at..text.len().max(at),
            )
            .hint("write the fields as `name = expression`, as in `cron(hour = 9, minute = 30)`"));
        }
        // Text before the first field name is not a field.
        let lead = &text[..starts[0].0];
        if !lead.trim().is_empty() {
            let at = lead.len() - lead.trim_start().len();
            return Err(CronFieldsParseError::new(
                CronFieldsError::UnknownField(lead.trim().to_owned()),
                at..lead.trim_end().len(),
            )
            .hint("write the fields as `name = expression`"));
        }
        let (mut start_date, mut end_date) = (None, None);
        for (k, &(name_start, name_end, eq)) in starts.iter().enumerate() {
            let name = &text[name_start..name_end];
            let end = starts.get(k + 1).map_or(text.len(), |&(next, _, _)| {
                // The comma before the next name ends this field.
                text[..next]
                    .rfind(',')
                    .expect("field_starts: a comma precedes")
            });
            if name == "start_date" || name == "end_date" {
                let raw = &text[eq + 1..end];
                let lead = raw.len() - raw.trim_start().len();
                let at = eq + 1 + lead;
                let bound = DateBound::parse(raw.trim()).map_err(|(span, hint)| {
                    CronFieldsParseError::new(
                        CronFieldsError::BadDate(raw.trim().to_owned()),
                        at + span.start..at + span.end,
                    )
                    .hint(hint)
                })?;
                let slot = if name == "start_date" {
                    &mut start_date
                } else {
                    &mut end_date
                };
                if slot.replace(bound).is_some() {
                    return Err(CronFieldsParseError::new(
                        CronFieldsError::RepeatedDate(name.to_owned()),
                        name_start..name_end,
                    ));
                }
                continue;
            }
            let field = FieldName::from_name(name).ok_or_else(|| {
                with_field_hint(
                    CronFieldsParseError::new(
                        CronFieldsError::UnknownField(name.to_owned()),
                        name_start..name_end,
                    ),
                    name,
                )
            })?;
            if given.iter().any(|g| g.name == field) {
                return Err(CronFieldsParseError::new(
                    CronFieldsError::Repeated(field),
                    name_start..name_end,
                )
                .hint("give each field once; list several values with commas"));
            }
            given.push(parse_field(field, &text[eq + 1..end], eq + 1)?);
        }
        CronFields::from_given(given, start_date, end_date).map_err(|e| {
            let at = text.len() - text.trim_start().len();
            CronFieldsParseError::new(e, at..text.trim_end().len()).hint(
                "check the days against the months (February has at most 29 days) and the weeks",
            )
        })
    }

    fn from_given(
        mut given: Vec<FieldExpr>,
        start: Option<DateBound>,
        end: Option<DateBound>,
    ) -> Result<CronFields, CronFieldsError> {
        if given.is_empty() {
            return Err(CronFieldsError::NoField);
        }
        given.sort_by_key(|g| g.name);
        let least = given.last().expect("not empty").name;
        let all = FieldName::ALL
            .into_iter()
            .map(|name| {
                if let Some(g) = given.iter().find(|g| g.name == name) {
                    return g.clone();
                }
                let item = match name.default_below() {
                    Some(min) if name > least => FieldItem::Range {
                        first: FieldValue {
                            number: min,
                            named: false,
                        },
                        last: None,
                        step: None,
                    },
                    _ => FieldItem::All { step: None },
                };
                FieldExpr {
                    name,
                    items: vec![item],
                }
            })
            .collect();
        let mut fields = CronFields {
            given,
            all,
            start,
            end,
            masks: Masks::default(),
        };
        fields.masks = Masks {
            months: fields.field(FieldName::Month).bits(None),
            weeks: fields.field(FieldName::Week).bits(None),
            weekdays: fields.field(FieldName::DayOfWeek).bits(None),
            hours: fields.field(FieldName::Hour).bits(None),
            minutes: fields.field(FieldName::Minute).bits(None),
            seconds: fields.field(FieldName::Second).bits(None),
        };
        if fields.first_match_from(EPOCH_1970, true).is_none() {
            return Err(CronFieldsError::NeverMatches);
        }
        Ok(fields)
    }

    /// The fields as given, most significant first.
    pub fn given(&self) -> &[FieldExpr] {
        &self.given
    }

    /// `start_date`: no fire before it.
    pub fn start_date(&self) -> Option<DateBound> {
        self.start
    }

    /// `end_date`: no fire after it (a fire at it counts).
    pub fn end_date(&self) -> Option<DateBound> {
        self.end
    }

    fn field(&self, name: FieldName) -> &FieldExpr {
        &self.all[name as usize]
    }

    /// Whether the wall-clock second starting at `wall` (microseconds on the wall-clock
    /// axis, see [`crate::time`]) matches every field.
    pub(crate) fn matches(&self, wall: i64) -> bool {
        let second_start = wall - wall.rem_euclid(SECOND);
        self.first_match_from(second_start, false) == Some(second_start)
    }

    /// The first matching second at or after `wall` (rounded up to a whole second), on the
    /// wall-clock axis; `None` when none is left before the year 10000.
    pub(crate) fn next_match_from(&self, wall: i64) -> Option<i64> {
        let rounded = wall + (SECOND - wall.rem_euclid(SECOND)) % SECOND;
        self.first_match_from(rounded, false)
    }

    /// The search. With `probe`, a year field of `*` is searched over 401 years only: the
    /// Gregorian calendar (weekdays and ISO weeks included) repeats every 400 years, so a
    /// set that matches nothing in them matches nothing at all.
    fn first_match_from(&self, wall: i64, probe: bool) -> Option<i64> {
        let days = wall.div_euclid(DAY);
        let mut tod = wall.rem_euclid(DAY) / SECOND;
        let mut date = NaiveDate::from_num_days_from_ce_opt(
            i32::try_from(days + i64::from(EPOCH_DAYS_FROM_CE)).ok()?,
        )?;
        let year_star = self.field(FieldName::Year).items == [FieldItem::All { step: None }];
        let last_year = if probe && year_star {
            date.year() + 401
        } else {
            9999
        };
        let Masks {
            months,
            weeks,
            weekdays,
            hours,
            minutes,
            seconds,
        } = self.masks;
        let day_field = self.field(FieldName::Day);
        loop {
            let (y, m) = (date.year(), date.month());
            if y > last_year {
                return None;
            }
            if y < 1970 {
                date = NaiveDate::from_ymd_opt(1970, 1, 1)?;
                tod = 0;
                continue;
            }
            if !self.field(FieldName::Year).contains(y as u32, None) {
                date = NaiveDate::from_ymd_opt(y + 1, 1, 1)?;
                tod = 0;
                continue;
            }
            if months & (1 << m) == 0 {
                date = first_of_next_month(y, m)?;
                tod = 0;
                continue;
            }
            let first = NaiveDate::from_ymd_opt(y, m, 1)?;
            let layout = (first.weekday().num_days_from_monday(), days_in_month(y, m));
            let day_bits = day_field.bits(Some(layout));
            let d = date.day();
            let next_day = (d..=layout.1).find(|&d| {
                let date = first.with_day(d).expect("day in month");
                day_bits & (1 << d) != 0
                    && weeks & (1 << date.iso_week().week()) != 0
                    && weekdays & (1 << date.weekday().num_days_from_monday()) != 0
            });
            let Some(found) = next_day else {
                date = first_of_next_month(y, m)?;
                tod = 0;
                continue;
            };
            if found != d {
                tod = 0;
            }
            date = first.with_day(found).expect("day in month");
            if let Some(s) = first_time_from(tod, hours, minutes, seconds) {
                let days = i64::from(date.num_days_from_ce() - EPOCH_DAYS_FROM_CE);
                return Some(days * DAY + s * SECOND);
            }
            date = date.succ_opt()?;
            tod = 0;
        }
    }
}

impl fmt::Display for CronFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, field) in self.given.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} = {field}", field.name)?;
        }
        if let Some(s) = self.start {
            write!(f, ", start_date = {s}")?;
        }
        if let Some(e) = self.end {
            write!(f, ", end_date = {e}")?;
        }
        Ok(())
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;
/// 1970-01-01T00:00:00 on the wall-clock axis.
const EPOCH_1970: i64 = 0;

fn days_in_month(y: i32, m: u32) -> u32 {
    let next = first_of_next_month(y, m).expect("a month after one that exists");
    let first = NaiveDate::from_ymd_opt(y, m, 1).expect("a month that exists");
    (next - first).num_days() as u32
}

fn first_of_next_month(y: i32, m: u32) -> Option<NaiveDate> {
    if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    }
}

/// The smallest bit at or above `from`.
fn next_bit(bits: u64, from: u32) -> Option<u32> {
    if from > 63 {
        return None;
    }
    let rest = bits >> from << from;
    (rest != 0).then(|| rest.trailing_zeros())
}

/// The first matching second of a day at or after second `tod` of it.
fn first_time_from(tod: i64, hours: u64, minutes: u64, seconds: u64) -> Option<i64> {
    let (h0, m0, s0) = (
        (tod / 3600) as u32,
        (tod / 60 % 60) as u32,
        (tod % 60) as u32,
    );
    let mut h = next_bit(hours, h0)?;
    loop {
        let (m_from, s_from) = if h == h0 { (m0, s0) } else { (0, 0) };
        let mut m = next_bit(minutes, m_from);
        while let Some(min) = m {
            let s_start = if h == h0 && min == m0 { s_from } else { 0 };
            if let Some(s) = next_bit(seconds, s_start) {
                return Some(i64::from(h) * 3600 + i64::from(min) * 60 + i64::from(s));
            }
            m = next_bit(minutes, min + 1);
        }
        h = next_bit(hours, h + 1)?;
    }
}

fn with_field_hint(e: CronFieldsParseError, name: &str) -> CronFieldsParseError {
    let names: Vec<&str> = FieldName::ALL.iter().map(|f| f.as_str()).collect();
    match super::error::nearest(name, names.iter().copied()) {
        Some(n) => e.hint(format!("did you mean `{n}`?")),
        None => e.hint(format!("the fields are {}", names.join(", "))),
    }
}

/// The (start, end) of each field name in a `cron(...)` body, with the position of its
/// `=`: a name at the start or right after a comma, followed by `=`.
fn field_starts(text: &str) -> Vec<(usize, usize, usize)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut at_boundary = true;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b',' {
            at_boundary = true;
            i += 1;
            continue;
        }
        if b.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if at_boundary && (b.is_ascii_alphabetic() || b == b'_') {
            let start = i;
            let mut j = i;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
                j += 1;
            }
            let mut k = j;
            while k < bytes.len() && bytes[k].is_ascii_whitespace() {
                k += 1;
            }
            if k < bytes.len() && bytes[k] == b'=' {
                out.push((start, j, k));
                i = k + 1;
                at_boundary = false;
                continue;
            }
        }
        at_boundary = false;
        i += 1;
    }
    out
}

/// Parses one field's expression; `offset` is its position in the text being parsed.
fn parse_field(field: FieldName, expr: &str, offset: usize) -> Parsed<FieldExpr> {
    let mut items = Vec::new();
    let mut pos = 0;
    for part in expr.split(',') {
        let lead = part.len() - part.trim_start().len();
        let item = part.trim();
        let start = offset + pos + lead;
        let span = start..start + item.len();
        if item.is_empty() {
            return Err(CronFieldsParseError::new(
                CronFieldsError::BadItem {
                    field,
                    text: String::new(),
                },
                span.start..span.start,
            )
            .hint("a value is missing: write values between the commas"));
        }
        items.push(parse_item(field, item, span)?);
        pos += part.len() + 1;
    }
    Ok(FieldExpr { name: field, items })
}

fn bad(field: FieldName, text: &str, span: Range<usize>) -> CronFieldsParseError {
    CronFieldsParseError::new(
        CronFieldsError::BadItem {
            field,
            text: text.to_owned(),
        },
        span,
    )
}

fn parse_item(field: FieldName, item: &str, span: Range<usize>) -> Parsed<FieldItem> {
    let (min, max) = field.range();
    let lower = item.to_ascii_lowercase();
    // Items of `day` that name weekdays.
    if field == FieldName::Day {
        let words: Vec<&str> = lower.split_ascii_whitespace().collect();
        match words.as_slice() {
            ["last"] => return Ok(FieldItem::LastDay),
            [first, wd] if *first == "last" || ORDINALS.contains(first) => {
                let weekday = FieldName::DayOfWeek.number_of_name(wd).ok_or_else(|| {
                    let at = span.start + item.len() - wd.len();
                    bad(field, item, at..span.end).hint("name the weekday: `mon`, `tue`, ... `sun`")
                })? as u8;
                return Ok(if *first == "last" {
                    FieldItem::LastWeekday { weekday }
                } else {
                    FieldItem::NthWeekday {
                        nth: ORDINALS.iter().position(|o| o == first).expect("checked") as u8 + 1,
                        weekday,
                    }
                });
            }
            [first, ..] if words.len() > 1 => {
                let hint = if first.ends_with("th") || first.ends_with("st") {
                    "the nth weekday of a month is `1st` to `5th` followed by a weekday, as in `3rd fri`"
                } else {
                    "a day is a number (`15`), `last`, `last fri` or `3rd fri`"
                };
                return Err(bad(field, item, span).hint(hint));
            }
            _ => {}
        }
    }
    if item.contains(char::is_whitespace) {
        return Err(bad(field, item, span).hint("an item has no spaces inside"));
    }
    let (body, step) = match item.split_once('/') {
        Some((b, s)) => {
            let s_at = span.start + b.len() + 1;
            let step = number(field, s, s_at..span.end, true)?;
            if step == 0 {
                return Err(
                    CronFieldsParseError::new(CronFieldsError::ZeroStep, s_at..span.end)
                        .hint("a step is 1 or more: `*/5`"),
                );
            }
            (b, Some((step, s_at..span.end)))
        }
        None => (item, None),
    };
    let body_span = span.start..span.start + body.len();
    if body == "*" {
        if let Some((step, s_span)) = step.clone() {
            check_step(step, max - min, s_span)?;
        }
        return Ok(FieldItem::All {
            step: step.map(|s| s.0),
        });
    }
    let (a, b) = match body.split_once('-') {
        Some((a, b)) => (a, Some(b)),
        None => (body, None),
    };
    let first = value(field, a, body_span.start..body_span.start + a.len())?;
    let last = b
        .map(|b| value(field, b, body_span.end - b.len()..body_span.end))
        .transpose()?;
    if (first.named || last.is_some_and(|l| l.named)) && step.is_some() {
        let (_, s_span) = step.clone().expect("checked");
        return Err(bad(field, item, s_span.start - 1..s_span.end)
            .hint("a step applies to numbers only: write the values as numbers (`0-4/2`) or list the names"));
    }
    if let Some(l) = last
        && l.number < first.number
    {
        return Err(CronFieldsParseError::new(
            CronFieldsError::Reversed {
                first: first.number,
                last: l.number,
            },
            body_span,
        )
        .hint(
            "ranges go from low to high; to wrap around, write two ranges separated by a comma",
        ));
    }
    if let Some((step, s_span)) = step.clone() {
        let last_value = last.map_or(max, |l| l.number);
        check_step(step, last_value - first.number, s_span)?;
    }
    Ok(FieldItem::Range {
        first,
        last,
        step: step.map(|s| s.0),
    })
}

fn check_step(step: u32, range: u32, span: Range<usize>) -> Parsed<()> {
    if step > range {
        return Err(
            CronFieldsParseError::new(CronFieldsError::StepTooLarge { step, range }, span)
                .hint(format!("use a step of at most {range}, or list the values")),
        );
    }
    Ok(())
}

/// A number (ASCII digits only) in the field's range, or a name of the field.
fn value(field: FieldName, text: &str, span: Range<usize>) -> Parsed<FieldValue> {
    if let Some(n) = field.number_of_name(text) {
        return Ok(FieldValue {
            number: n,
            named: true,
        });
    }
    let number = number(field, text, span.clone(), false)?;
    Ok(FieldValue {
        number,
        named: false,
    })
}

fn number(field: FieldName, text: &str, span: Range<usize>, is_step: bool) -> Parsed<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        let hint = if text.is_empty() {
            "a number is missing here".to_owned()
        } else if text.chars().any(|c| c.is_numeric() && !c.is_ascii_digit()) {
            "write numbers with the digits 0-9".to_owned()
        } else if text.contains('#') {
            "the nth weekday of a month is written in `day`, as `day = 3rd fri`".to_owned()
        } else if let Some(names) = field.names().filter(|_| !is_step) {
            match super::error::nearest(&text.to_ascii_lowercase(), names.iter().copied()) {
                Some(n) => format!("did you mean `{n}`?"),
                None => format!("write a number or a name such as `{}`", names[0]),
            }
        } else {
            let (min, max) = field.range();
            format!(
                "`{field}` takes numbers from {min} to {max}, ranges `a-b`, steps `*/n` and lists"
            )
        };
        return Err(bad(field, text, span).hint(hint));
    }
    let value: u64 = text.parse().unwrap_or(u64::MAX);
    if is_step {
        return u32::try_from(value).map_err(|_| {
            CronFieldsParseError::new(
                CronFieldsError::StepTooLarge {
                    step: u32::MAX,
                    range: field.range().1 - field.range().0,
                },
                span,
            )
        });
    }
    let (min, max) = field.range();
    if value < u64::from(min) || value > u64::from(max) {
        let hint = if field == FieldName::DayOfWeek && value == 7 {
            "`day_of_week` counts from Monday = 0 to Sunday = 6".to_owned()
        } else {
            format!("write a value from {min} to {max}")
        };
        return Err(CronFieldsParseError::new(
            CronFieldsError::OutOfRange {
                field,
                value,
                min,
                max,
            },
            span,
        )
        .hint(hint));
    }
    Ok(value as u32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, Timelike};
    use proptest::prelude::*;

    fn fields(spec: &str) -> CronFields {
        CronFields::parse_spec(spec).unwrap_or_else(|e| panic!("{spec}: {e} at {:?}", e.span))
    }

    fn wall(text: &str) -> i64 {
        let t = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap();
        t.and_utc().timestamp_micros()
    }

    fn show(w: i64) -> String {
        chrono::DateTime::from_timestamp_micros(w)
            .unwrap()
            .naive_utc()
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string()
    }

    fn next_n(f: &CronFields, from: &str, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut t = wall(from);
        while out.len() < n {
            let Some(x) = f.next_match_from(t) else { break };
            out.push(show(x));
            t = x + SECOND;
        }
        out
    }

    #[test]
    fn flask_taskx_example() {
        let f = fields("month = 6-8,11-12, day = 3rd fri, hour = 0-3");
        assert_eq!(
            f.to_string(),
            "month = 6-8,11-12, day = 3rd fri, hour = 0-3"
        );
        // June 2024: the 3rd Friday is the 21st; minute and second default to 0.
        assert_eq!(
            next_n(&f, "2024-05-01T00:00:00", 5),
            [
                "2024-06-21T00:00:00",
                "2024-06-21T01:00:00",
                "2024-06-21T02:00:00",
                "2024-06-21T03:00:00",
                "2024-07-19T00:00:00"
            ]
        );
    }

    #[test]
    fn defaults_follow_the_least_significant_field() {
        assert_eq!(
            next_n(&fields("hour = 3"), "2024-01-01T05:00:00", 2),
            ["2024-01-02T03:00:00", "2024-01-03T03:00:00"]
        );
        // `day` given: month above is `*`, hour/minute/second below are 0.
        assert_eq!(
            next_n(&fields("day = last"), "2024-02-01T00:00:00", 3),
            [
                "2024-02-29T00:00:00",
                "2024-03-31T00:00:00",
                "2024-04-30T00:00:00"
            ]
        );
        // `day_of_week` alone: every such day at midnight, counted from Monday = 0.
        assert_eq!(
            next_n(&fields("day_of_week = 6"), "2024-01-01T00:00:00", 1),
            ["2024-01-07T00:00:00"]
        );
        // `day` and `day_of_week` combine with AND.
        assert_eq!(
            next_n(
                &fields("day = 13, day_of_week = fri"),
                "2024-01-01T00:00:00",
                2
            ),
            ["2024-09-13T00:00:00", "2024-12-13T00:00:00"]
        );
    }

    #[test]
    fn week_last_weekday_and_steps() {
        assert_eq!(
            next_n(
                &fields("week = 1, day_of_week = mon"),
                "2024-06-01T00:00:00",
                2
            ),
            ["2024-12-30T00:00:00", "2025-12-29T00:00:00"]
        );
        assert_eq!(
            next_n(&fields("day = last fri"), "2024-01-01T00:00:00", 2),
            ["2024-01-26T00:00:00", "2024-02-23T00:00:00"]
        );
        assert_eq!(
            next_n(&fields("minute = 5/20"), "2024-01-01T00:00:00", 4),
            [
                "2024-01-01T00:05:00",
                "2024-01-01T00:25:00",
                "2024-01-01T00:45:00",
                "2024-01-01T01:05:00"
            ]
        );
        assert_eq!(
            next_n(&fields("second = */30"), "2024-01-01T00:00:01", 2),
            ["2024-01-01T00:00:30", "2024-01-01T00:01:00"]
        );
        assert_eq!(
            next_n(
                &fields("year = 2025, month = feb"),
                "2024-01-01T00:00:00",
                1
            ),
            ["2025-02-01T00:00:00"]
        );
        assert!(
            fields("year = 1999")
                .next_match_from(wall("2024-01-01T00:00:00"))
                .is_none()
        );
    }

    #[test]
    fn strict_errors_point_at_the_mistake() {
        for (spec, span, hint) in [
            ("day_of_week = mon-fri/2", 21..23, "numbers only"),
            ("day_of_week = fri#3", 14..19, "3rd fri"),
            ("day = 3rd fri extra", 6..19, "3rd fri"),
            ("day = lastx", 6..11, ""),
            ("minute = */60", 11..13, "at most 59"),
            ("minute = 10-20/11", 15..17, "at most 10"),
            ("hour = ٣", 7..9, "digits 0-9"),
            ("day_of_week = 7", 14..15, "Sunday = 6"),
            ("month = 2, day = 31", 0..19, "February"),
            ("hours = 1", 0..5, "did you mean `hour`?"),
            ("hour = 1, hour = 2", 10..14, "once"),
            ("hour = 5-", 9..9, "missing"),
            ("year = 2030-2025", 7..16, "low to high"),
            ("second = */0", 11..12, "1 or more"),
        ] {
            let e = CronFields::parse_spec(spec).expect_err(spec);
            assert_eq!(e.span, span, "{spec}: {e}");
            assert!(
                e.hint.as_deref().unwrap_or_default().contains(hint),
                "{spec}: {:?}",
                e.hint
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for spec in [
            "year = 2025-2030/2, month = JAN,jul, day = last",
            "day = 1st mon,last sun, hour = 9",
            "week = */2, day_of_week = mon-fri, hour = 8-18/2, minute = 5/15",
            "second = 1 , 15",
        ] {
            let f = fields(spec);
            assert_eq!(fields(&f.to_string()), f, "{spec} printed as {f}");
        }
        assert_eq!(fields("month = JAN,jul").to_string(), "month = jan,jul");
    }

    /// Brute force: whether the civil second `t` matches the text fields, read apart from
    /// the implementation.
    fn brute_matches(given: &[(FieldName, u32)], t: NaiveDateTime) -> bool {
        let least = given.iter().map(|g| g.0).max().unwrap();
        FieldName::ALL.into_iter().all(|name| {
            let actual = match name {
                FieldName::Year => t.year() as u32,
                FieldName::Month => t.month(),
                FieldName::Day => t.day(),
                FieldName::Week => t.iso_week().week(),
                FieldName::DayOfWeek => t.weekday().num_days_from_monday(),
                FieldName::Hour => t.hour(),
                FieldName::Minute => t.minute(),
                FieldName::Second => t.second(),
            };
            match given.iter().find(|g| g.0 == name) {
                Some(&(_, step)) => actual % step == 0,
                None => match name.default_below() {
                    Some(min) if name > least => actual == min,
                    _ => true,
                },
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// The next match of `field = */n` fields (values divisible by n) agrees with a
        /// minute-by-minute or second-by-second walk over up to three days, across month
        /// ends and the leap day.
        #[test]
        fn next_match_agrees_with_a_walk(
            picks in proptest::collection::btree_map(3usize..8, 1u32..6, 1..3),
            start in 0i64..(4 * 365 * 86_400),
        ) {
            let given: Vec<(FieldName, u32)> =
                picks.iter().map(|(&i, &n)| (FieldName::ALL[i], n)).collect();
            let spec: Vec<String> = given
                .iter()
                .map(|(name, n)| {
                    let (min, _) = name.range();
                    if min == 0 { format!("{name} = */{n}") } else { format!("{name} = {min}/{n}") }
                })
                .collect();
            let spec = spec.join(", ");
            // `1/n` (from 1) for day and week matches values v with (v - 1) % n == 0.
            let shifted: Vec<(FieldName, u32)> = given.clone();
            let f = match CronFields::parse_spec(&spec) {
                Ok(f) => f,
                Err(e) => { prop_assert!(false, "{spec}: {e}"); unreachable!() }
            };
            let base = wall("2023-01-01T00:00:00") + start * SECOND;
            let got = f.next_match_from(base);
            let step = if given.iter().any(|g| g.0 == FieldName::Second) { 1 } else { 60 };
            // Without a `second` field, matches fall on whole minutes (second = 0).
            let mut t = base + (step * SECOND - base.rem_euclid(step * SECOND)) % (step * SECOND);
            let limit = base + 3 * DAY;
            let want = loop {
                if t > limit { break None; }
                let civil = chrono::DateTime::from_timestamp_micros(t).unwrap().naive_utc();
                let m = shifted.iter().all(|&(name, n)| {
                    let (min, _) = name.range();
                    let actual = match name {
                        FieldName::Week => civil.iso_week().week(),
                        FieldName::DayOfWeek => civil.weekday().num_days_from_monday(),
                        FieldName::Hour => civil.hour(),
                        FieldName::Minute => civil.minute(),
                        FieldName::Second => civil.second(),
                        _ => unreachable!(),
                    };
                    (actual - min) % n == 0
                }) && brute_matches(&shifted.iter().map(|&(f, _)| (f, 1)).collect::<Vec<_>>(), civil);
                if m { break Some(t); }
                t += step * SECOND;
            };
            if let Some(w) = want {
                prop_assert_eq!(got, Some(w), "{}: from {}", spec, show(base));
            } else {
                prop_assert!(got.is_none_or(|g| g > limit), "{}: from {} got {:?}", spec, show(base), got.map(show));
            }
        }
    }
}
