//! Cron expressions: `minute hour day-of-month month day-of-week`, with standard
//! (POSIX/Vixie) meaning.
//!
//! The grammar matches the shape of the fields; this module checks their values (so that
//! `cron 61 * * * *` and `cron 0 0 31 2 *` are rejected when the string is parsed, with
//! the offending field underlined) and keeps them for display. Matching minutes and
//! finding the next matching minute are delegated to `croner`, on the wall clock.
//!
//! Field rules: `*`; numbers; three-letter month (`JAN`) and weekday (`MON`) names in any
//! case; inclusive ranges `a-b` (low to high); steps on `*` and on ranges (`*/15`,
//! `0-30/10`); comma lists. Day-of-week `0` and `7` are both Sunday. When both the
//! day-of-month and the day-of-week field are restricted (anything but a plain `*`), a day
//! matches if either matches.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use crate::time::MINUTE;

/// The five fields of a cron expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronFieldKind {
    /// Minute, 0 to 59.
    Minute,
    /// Hour, 0 to 23.
    Hour,
    /// Day of the month, 1 to 31.
    DayOfMonth,
    /// Month, 1 to 12 or `JAN` to `DEC`.
    Month,
    /// Day of the week, 0 to 7 (0 and 7 are Sunday) or `SUN` to `SAT`.
    DayOfWeek,
}

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

impl CronFieldKind {
    /// The fields in the order they are written.
    pub const ALL: [CronFieldKind; 5] = [
        CronFieldKind::Minute,
        CronFieldKind::Hour,
        CronFieldKind::DayOfMonth,
        CronFieldKind::Month,
        CronFieldKind::DayOfWeek,
    ];

    /// The smallest and largest number the field accepts.
    pub fn range(self) -> (u32, u32) {
        match self {
            CronFieldKind::Minute => (0, 59),
            CronFieldKind::Hour => (0, 23),
            CronFieldKind::DayOfMonth => (1, 31),
            CronFieldKind::Month => (1, 12),
            CronFieldKind::DayOfWeek => (0, 7),
        }
    }

    /// The field's name in messages.
    pub fn description(self) -> &'static str {
        match self {
            CronFieldKind::Minute => "minute",
            CronFieldKind::Hour => "hour",
            CronFieldKind::DayOfMonth => "day-of-month",
            CronFieldKind::Month => "month",
            CronFieldKind::DayOfWeek => "day-of-week",
        }
    }

    /// The number of a name (`oct` → 10, `MON` → 1), for the fields that have names.
    pub(crate) fn number_of_name(self, name: &str) -> Option<u32> {
        let names: &[&str] = match self {
            CronFieldKind::Month => &MONTH_NAMES,
            CronFieldKind::DayOfWeek => &WEEKDAY_NAMES,
            _ => return None,
        };
        let index = names.iter().position(|n| n.eq_ignore_ascii_case(name))? as u32;
        Some(if self == CronFieldKind::Month {
            index + 1
        } else {
            index
        })
    }

    fn name_of(self, number: u32) -> &'static str {
        match self {
            CronFieldKind::Month => MONTH_NAMES[(number - 1) as usize],
            _ => WEEKDAY_NAMES[(number % 7) as usize],
        }
    }
}

/// A number in a cron field, remembering whether it was written as a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CronValue {
    /// The number (`JAN` is 1, `SUN` is 0).
    pub number: u32,
    /// Whether it was written as a name.
    pub named: bool,
}

/// One comma-separated item of a cron field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronItem {
    /// `*` or `*/step`.
    Any {
        /// The step, if any.
        step: Option<u32>,
    },
    /// A single value.
    Value(CronValue),
    /// `a-b` or `a-b/step`, both ends included.
    Range {
        /// The first value.
        start: CronValue,
        /// The last value.
        end: CronValue,
        /// The step, if any.
        step: Option<u32>,
    },
}

/// One field of a cron expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronField {
    kind: CronFieldKind,
    items: Vec<CronItem>,
}

impl CronField {
    pub(crate) fn new(kind: CronFieldKind, items: Vec<CronItem>) -> Self {
        CronField { kind, items }
    }

    /// `*`: a field every value matches.
    pub(crate) fn star(kind: CronFieldKind) -> Self {
        CronField::new(kind, vec![CronItem::Any { step: None }])
    }

    /// Which field this is.
    pub fn kind(&self) -> CronFieldKind {
        self.kind
    }

    /// The comma-separated items.
    pub fn items(&self) -> &[CronItem] {
        &self.items
    }

    /// Whether the field is exactly `*` (an unrestricted day field in the dom/dow rule).
    pub fn is_star(&self) -> bool {
        self.items == [CronItem::Any { step: None }]
    }

    /// The set of numbers the field matches, as a bit set (day-of-week 7 folded into 0).
    fn bits(&self) -> u64 {
        let (min, max) = self.kind.range();
        let mut bits = 0u64;
        for item in &self.items {
            let (from, to, step) = match *item {
                CronItem::Any { step } => (min, max, step.unwrap_or(1)),
                CronItem::Value(v) => (v.number, v.number, 1),
                CronItem::Range { start, end, step } => {
                    (start.number, end.number, step.unwrap_or(1))
                }
            };
            let mut n = from;
            while n <= to {
                bits |= 1 << n;
                n += step.max(1);
            }
        }
        if self.kind == CronFieldKind::DayOfWeek && bits & (1 << 7) != 0 {
            bits = (bits | 1) & !(1 << 7);
        }
        bits
    }

    /// The field with names replaced by numbers, for croner.
    fn numeric(&self) -> String {
        let mut out = String::new();
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            match *item {
                CronItem::Any { step } => {
                    out.push('*');
                    if let Some(s) = step {
                        out.push_str(&format!("/{s}"));
                    }
                }
                CronItem::Value(v) => out.push_str(&v.number.to_string()),
                CronItem::Range { start, end, step } => {
                    out.push_str(&format!("{}-{}", start.number, end.number));
                    if let Some(s) = step {
                        out.push_str(&format!("/{s}"));
                    }
                }
            }
        }
        out
    }

    fn write_value(&self, f: &mut fmt::Formatter<'_>, v: CronValue) -> fmt::Result {
        if v.named {
            f.write_str(self.kind.name_of(v.number))
        } else {
            write!(f, "{}", v.number)
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            let step = match *item {
                CronItem::Any { step } => {
                    f.write_str("*")?;
                    step
                }
                CronItem::Value(v) => {
                    self.write_value(f, v)?;
                    None
                }
                CronItem::Range { start, end, step } => {
                    self.write_value(f, start)?;
                    f.write_str("-")?;
                    self.write_value(f, end)?;
                    step
                }
            };
            if let Some(s) = step {
                write!(f, "/{s}")?;
            }
        }
        Ok(())
    }
}

/// Why a set of individually valid cron fields can never match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NeverMatches;

/// A validated cron expression.
///
/// Cheap to clone: the fields and the matcher are shared.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    inner: Arc<CronInner>,
}

#[derive(Debug)]
struct CronInner {
    fields: [CronField; 5],
    every_minute: bool,
    matcher: croner::Cron,
    /// The last answer of `next_match_after`: `(query, answer)` (microseconds; the answer
    /// before it is cut to its minute). There is no match in between, so the answer holds
    /// for every query in `[query, answer)`: the tasks that share a schedule (parsed once,
    /// or cloned) find their next match at start-up at the cost of one search; croner
    /// searches one calendar unit at a time, thousands of instructions for a yearly match.
    last_match: Mutex<Option<(i64, i64)>>,
}

impl CronSchedule {
    /// Builds the schedule from fields whose values are already in range.
    pub(crate) fn from_fields(fields: [CronField; 5]) -> Result<Self, NeverMatches> {
        let [minute, hour, dom, month, dow] = &fields;
        let days_bits = dom.bits();
        let month_bits = month.bits();
        // With a `*` day-of-week the day-of-month must exist in some selected month
        // (with both restricted, any weekday still matches somewhere every month).
        if dow.is_star() && !dom.is_star() {
            let possible = (1..=12u32).filter(|m| month_bits & (1 << m) != 0).any(|m| {
                let longest = match m {
                    2 => 29,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                (1..=longest).any(|d| days_bits & (1 << d) != 0)
            });
            if !possible {
                return Err(NeverMatches);
            }
        }
        let all_days = match (dom.is_star(), dow.is_star()) {
            (true, true) => true,
            (false, true) => days_bits == 0xFFFF_FFFE,
            (true, false) => dow.bits() == 0x7F,
            (false, false) => days_bits == 0xFFFF_FFFE || dow.bits() == 0x7F,
        };
        let every_minute = minute.bits() == (1 << 60) - 1
            && hour.bits() == (1 << 24) - 1
            && month_bits == 0x1FFE
            && all_days;
        let pattern = format!(
            "{} {} {} {} {}",
            minute.numeric(),
            hour.numeric(),
            dom.numeric(),
            month.numeric(),
            dow.numeric()
        );
        let matcher: croner::Cron = pattern.parse().map_err(|_| NeverMatches)?;
        Ok(CronSchedule {
            inner: Arc::new(CronInner {
                fields,
                every_minute,
                matcher,
                last_match: Mutex::new(None),
            }),
        })
    }

    /// The five fields.
    pub fn fields(&self) -> &[CronField; 5] {
        &self.inner.fields
    }

    /// Whether every minute matches.
    pub(crate) fn matches_every_minute(&self) -> bool {
        self.inner.every_minute
    }

    /// Whether the wall-clock minute starting at `minute_start` matches.
    pub(crate) fn matches(&self, minute_start: i64) -> bool {
        DateTime::<Utc>::from_timestamp_micros(minute_start)
            .is_some_and(|t| self.inner.matcher.is_time_matching(&t).unwrap_or(false))
    }

    /// The start of the first matching wall-clock minute after `wall`.
    pub(crate) fn next_match_after(&self, wall: i64) -> Option<i64> {
        // A poisoned lock only means another thread panicked between two plain stores.
        let mut last = self
            .inner
            .last_match
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let micros = match *last {
            Some((query, answer)) if query <= wall && wall < answer => answer,
            _ => {
                let t = DateTime::<Utc>::from_timestamp_micros(wall)?;
                let next = self.inner.matcher.find_next_occurrence(&t, false).ok()?;
                let answer = next.timestamp_micros();
                *last = Some((wall, answer));
                answer
            }
        };
        // croner works in whole seconds; keep minute starts only.
        Some(micros - micros.rem_euclid(MINUTE))
    }
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.inner.fields == other.inner.fields
    }
}

impl Eq for CronSchedule {}

impl Hash for CronSchedule {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.inner.fields.hash(state);
    }
}

impl fmt::Display for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e] = &self.inner.fields;
        write!(f, "{a} {b} {c} {d} {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::Condition;
    use crate::time::SECOND;

    fn schedule(text: &str) -> CronSchedule {
        match text.parse::<Condition>() {
            Ok(Condition::Cron(c)) => c,
            other => panic!("not a cron condition: {other:?}"),
        }
    }

    /// The remembered answer is only reused where a fresh search gives the same: queries
    /// forwards, backwards, at and around the matches, against a schedule with no memory.
    #[test]
    fn remembered_match_answers_like_a_fresh_search() {
        for text in [
            "cron 30 9 * * MON-FRI",
            "cron 0 0 1 1 *",
            "cron */7 * * * *",
        ] {
            let shared = schedule(text);
            let start = 1_767_225_600 * SECOND; // 2026-01-01 00:00 UTC
            let mut queries: Vec<i64> = (0..3_000).map(|i| start + i * 433 * SECOND + i).collect();
            queries.extend(queries.clone().into_iter().rev());
            let mut wall = start;
            for _ in 0..50 {
                let Some(next) = shared.next_match_after(wall) else {
                    break;
                };
                queries.extend([next - 1, next, next + 1, next + MINUTE - 1, next + MINUTE]);
                wall = next;
            }
            for wall in queries {
                let fresh = CronSchedule::from_fields(shared.fields().clone()).ok();
                assert_eq!(
                    shared.next_match_after(wall),
                    fresh.and_then(|f| f.next_match_after(wall)),
                    "{text} after {wall}"
                );
            }
        }
    }
}
