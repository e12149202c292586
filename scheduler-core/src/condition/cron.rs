//! Cron expressions: `minute hour day-of-month month day-of-week`, with standard
//! (POSIX/Vixie) meaning.
//!
//! The grammar matches the shape of the fields; this module checks their values (so that
//! `cron 61 * * * *` and `cron 0 0 31 2 *` are rejected when the string is parsed, with
//! the offending field underlined) and keeps them for display. Matching a minute and
//! finding the next matching minute work on the wall clock, with each field as a bit set.
//!
//! Why not `croner`, the cron crate named in the design, which did this until 2026-11-23:
//! its parser fills a table of every year from 1 to 5000 for each expression, about
//! 470,000 instructions and 5 KB of heap per distinct cron condition. Parsing 1,000
//! distinct cron conditions took 23–38 ms and 6.4 MB of resident memory with it, 5–7 ms
//! and 0.9 MB without. The fields here are already validated and reduced to bit sets, and
//! the search over them is short; croner remains the oracle of the tests.
//!
//! Field rules: `*`; numbers; three-letter month (`JAN`) and weekday (`MON`) names in any
//! case; inclusive ranges `a-b` (low to high); steps on `*` and on ranges (`*/15`,
//! `0-30/10`); comma lists. Day-of-week `0` and `7` are both Sunday. When both the
//! day-of-month and the day-of-week field are restricted (anything but a plain `*`), a day
//! matches if either matches.

// Without the `evaluation` feature (the proc-macro's build) the calendar arithmetic that
// evaluation uses is compiled but not called.
#![cfg_attr(not(feature = "evaluation"), allow(dead_code))]

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

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
    bits: CronBits,
    /// The last answer of `next_match_after`: `(query, answer)` (microseconds). There is no
    /// match in between, so the answer holds for every query in `[query, answer)`: the
    /// tasks that share a schedule (parsed once, or cloned) find their next match at
    /// start-up at the cost of one search, which for a yearly match walks a year of days.
    last_match: Mutex<Option<(i64, i64)>>,
}

/// The fields as bit sets: bit `n` set when the value `n` matches.
#[derive(Debug, Clone, Copy)]
struct CronBits {
    minutes: u64,
    hours: u32,
    days_of_month: u32,
    months: u16,
    /// Sunday is bit 0 (a written `7` is folded into it).
    days_of_week: u8,
    days: DayRule,
}

/// How the two day fields combine (the POSIX rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DayRule {
    /// Both are `*`: every day.
    Every,
    /// Only the day of the month is restricted.
    DayOfMonth,
    /// Only the day of the week is restricted.
    DayOfWeek,
    /// Both are restricted: a day matches if either matches.
    Either,
}

/// The last year the search looks into; none of the expressions that parse needs more
/// than eight years to match (a 29 February), so this only bounds the loop.
const LAST_SEARCHED_YEAR: i32 = 9999;

impl CronBits {
    fn day_matches(&self, date: NaiveDate) -> bool {
        let of_month = self.days_of_month & (1 << date.day()) != 0;
        let of_week = self.days_of_week & (1 << date.weekday().num_days_from_sunday()) != 0;
        match self.days {
            DayRule::Every => true,
            DayRule::DayOfMonth => of_month,
            DayRule::DayOfWeek => of_week,
            DayRule::Either => of_month || of_week,
        }
    }

    fn matches(&self, wall: chrono::NaiveDateTime) -> bool {
        self.minutes & (1 << wall.minute()) != 0
            && self.hours & (1 << wall.hour()) != 0
            && self.months & (1 << wall.month()) != 0
            && self.day_matches(wall.date())
    }

    /// The first matching `(hour, minute)` of a matching day at or after `hour:minute`.
    fn first_time_from(&self, hour: u32, minute: u32) -> Option<(u32, u32)> {
        let first_minute = self.minutes.trailing_zeros();
        if self.hours & (1 << hour) != 0 {
            let minutes = self.minutes & (u64::MAX << minute);
            if minutes != 0 {
                return Some((hour, minutes.trailing_zeros()));
            }
        }
        // Shifting a u32 by up to 24 is defined; no bit above 23 is ever set.
        let later_hours = self.hours & (u32::MAX << (hour + 1));
        (later_hours != 0).then(|| (later_hours.trailing_zeros(), first_minute))
    }

    /// The first matching minute at or after the wall-clock minute `from`.
    fn first_match_from(&self, from: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let mut date = from.date();
        let (mut hour, mut minute) = (from.hour(), from.minute());
        while date.year() <= LAST_SEARCHED_YEAR {
            if self.months & (1 << date.month()) == 0 {
                let (year, month) = match date.month() {
                    12 => (date.year() + 1, 1),
                    m => (date.year(), m + 1),
                };
                date = NaiveDate::from_ymd_opt(year, month, 1)?;
                (hour, minute) = (0, 0);
                continue;
            }
            if self.day_matches(date)
                && let Some((h, m)) = self.first_time_from(hour, minute)
            {
                return date.and_hms_opt(h, m, 0);
            }
            date = date.succ_opt()?;
            (hour, minute) = (0, 0);
        }
        None
    }
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
        let bits = CronBits {
            minutes: minute.bits(),
            hours: hour.bits() as u32,
            days_of_month: days_bits as u32,
            months: month_bits as u16,
            days_of_week: dow.bits() as u8,
            days: match (dom.is_star(), dow.is_star()) {
                (true, true) => DayRule::Every,
                (false, true) => DayRule::DayOfMonth,
                (true, false) => DayRule::DayOfWeek,
                (false, false) => DayRule::Either,
            },
        };
        Ok(CronSchedule {
            inner: Arc::new(CronInner {
                fields,
                every_minute,
                bits,
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
            .is_some_and(|t| self.inner.bits.matches(t.naive_utc()))
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
                // The first minute that starts after `wall`.
                let from = wall
                    .checked_sub(wall.rem_euclid(MINUTE))?
                    .checked_add(MINUTE)?;
                let from = DateTime::<Utc>::from_timestamp_micros(from)?.naive_utc();
                let answer = self
                    .inner
                    .bits
                    .first_match_from(from)?
                    .and_utc()
                    .timestamp_micros();
                *last = Some((wall, answer));
                answer
            }
        };
        Some(micros)
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
    use proptest::prelude::*;

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

    /// A `*` among other items is the field's whole range (until croner was replaced,
    /// these were rejected with a wrong "never matches" error).
    #[test]
    fn star_among_other_items_is_the_whole_range() {
        let start = 1_767_225_600 * SECOND; // 2026-01-01 00:00 UTC, a Thursday
        let every_minute = schedule("cron *,5 * * * *");
        assert!((0..120).all(|i| every_minute.matches(start + i * MINUTE)));
        let daily = schedule("cron 0 0 * * *,MON");
        assert_eq!(daily.next_match_after(start), Some(start + 1_440 * MINUTE));
        assert!(daily.matches(start) && !daily.matches(start + MINUTE));
    }

    /// One item of a field of `kind`, as written: `*`, `*/s`, `n`, `a-b` or `a-b/s`.
    fn item(kind: CronFieldKind) -> impl Strategy<Value = String> {
        let (min, max) = kind.range();
        prop_oneof![
            Just("*".to_string()),
            (1..=max).prop_map(|s| format!("*/{s}")),
            (min..=max).prop_map(|n| n.to_string()),
            (min..=max, min..=max, proptest::option::of(1..=max)).prop_map(|(a, b, step)| {
                let (a, b) = (a.min(b), a.max(b));
                match step {
                    Some(s) => format!("{a}-{b}/{s}"),
                    None => format!("{a}-{b}"),
                }
            }),
        ]
    }

    fn field(kind: CronFieldKind) -> impl Strategy<Value = String> {
        // Plain `*` often, so that the rule for the two day fields is exercised in all
        // four combinations.
        prop_oneof![
            1 => Just("*".to_string()),
            3 => proptest::collection::vec(item(kind), 1..=3).prop_map(|items| items.join(",")),
        ]
    }

    fn expression() -> impl Strategy<Value = String> {
        // Besides random ones, expressions whose matches are rare or hang on the calendar.
        const RARE: [&str; 8] = [
            "0 0 29 2 *",
            "59 23 31 12 *",
            "0 0 31 * *",
            "30 4 1,15 * 5",
            "0 12 * * 7",
            "*/20 3-5 29-31 1-3 SUN",
            "0 0 13 * FRI",
            "0 0 30 2,4 *",
        ];
        prop_oneof![
            4 => CronFieldKind::ALL.map(field).prop_map(|fields| fields.join(" ")),
            1 => proptest::sample::select(&RARE[..]).prop_map(str::to_string),
        ]
    }

    /// Instants from 1900 to 2200, to the microsecond, and whole minutes among them.
    fn instant() -> impl Strategy<Value = i64> {
        let (from, to) = (-2_208_988_800 * SECOND, 7_258_118_400 * SECOND);
        prop_oneof![
            from..to,
            (from / MINUTE..to / MINUTE).prop_map(|m| m * MINUTE),
        ]
    }

    /// The expression as croner reads it: croner refuses a `*` among other items (`*,5`),
    /// which means the field's whole range.
    fn for_croner(text: &str) -> String {
        text.split(' ')
            .zip(CronFieldKind::ALL)
            .map(|(field, kind)| {
                let (min, max) = kind.range();
                if field.contains(',') {
                    field
                        .replace("*,", &format!("{min}-{max},"))
                        .replace(",*", &format!(",{min}-{max}"))
                } else {
                    field.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The bit-set matcher against croner, the cron crate this module replaced: the
        /// same minutes match, and the next match after any instant is the same minute.
        #[test]
        fn matches_and_next_match_agree_with_croner(
            text in expression(),
            instants in proptest::collection::vec(instant(), 20),
        ) {
            let ours = match format!("cron {text}").parse::<Condition>() {
                Ok(Condition::Cron(c)) => c,
                Ok(other) => panic!("not a cron condition: {other:?}"),
                // Fields that can never match together (`0 0 31 2 *`): rejected before
                // they get here.
                Err(_) => return Ok(()),
            };
            let oracle: croner::Cron = for_croner(&text).parse().expect("croner parses what we accept");
            for wall in instants {
                let t = DateTime::<Utc>::from_timestamp_micros(wall).unwrap();
                let minute_start = wall - wall.rem_euclid(MINUTE);
                let start = DateTime::<Utc>::from_timestamp_micros(minute_start).unwrap();
                prop_assert_eq!(
                    ours.matches(minute_start),
                    oracle.is_time_matching(&start).unwrap(),
                    "{} at {}", text, start
                );
                let expected = oracle
                    .find_next_occurrence(&t, false)
                    .ok()
                    .map(|n| n.timestamp_micros());
                prop_assert_eq!(ours.next_match_after(wall), expected, "{} after {}", text, t);
            }
        }
    }
}
