//! Property tests of the condition language:
//!
//! * `Display` round trip: any condition built by the typed API prints a string that parses
//!   back to an equal condition (and prints the same again);
//! * API vs strings: a condition built with the typed API equals the one parsed from a
//!   string written independently from the same description, in varied spellings
//!   (whitespace, 12-hour times, weekday names in any case, quarters, duration formats);
//! * the parser never panics, and its errors point inside the input;
//! * `next_change` against a second-by-second walk, on random conditions, zones (two with
//!   daylight saving time) and instants, with and without the task running when due;
//! * retention: a log pruned to what a condition reads (`Condition::log_retention`) gives
//!   the same value and the same next change as the full log, from its newest record on.

mod common;

use std::fmt::Write as _;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use scheduler_core::condition::api::*;
use scheduler_core::condition::{Condition, EvalContext, Outcome, ParseError};
use scheduler_core::log::{Action, History, LogIndex, Retention};
use scheduler_core::time::Timestamp;
use scheduler_core::time::{
    Span, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond, TimeOfWeek, Weekday,
};

use common::{SECOND, Walk};

// ----------------------------------------------------------------------------------------
// Values
// ----------------------------------------------------------------------------------------

fn day_point() -> impl Strategy<Value = TimeOfDay> + Clone {
    prop_oneof![
        3 => (0..24u32, 0..60u32).prop_map(|(h, m)| TimeOfDay::new(h, m).unwrap()),
        1 => (0..24u32, 0..60u32, 0..60u32, prop_oneof![Just(0u32), 0..1_000_000u32])
            .prop_map(|(h, m, s, us)| TimeOfDay::with_micros(h, m, s, us).unwrap()),
    ]
}

fn hour_point() -> impl Strategy<Value = TimeOfHour> + Clone {
    prop_oneof![
        (0..60u32, 0..60u32).prop_map(|(m, s)| TimeOfHour::new(m, s).unwrap()),
        (0..=4u32).prop_map(|q| TimeOfHour::quarters(q).unwrap()),
    ]
}

fn second_point() -> impl Strategy<Value = TimeOfSecond> + Clone {
    prop_oneof![
        (0..=1000u32).prop_map(|ms| TimeOfSecond::from_millis(ms).unwrap()),
        (0..=1_000_000u32).prop_map(|us| TimeOfSecond::from_micros(us).unwrap()),
    ]
}

fn minute_point() -> impl Strategy<Value = TimeOfMinute> + Clone {
    (0..60u32, prop_oneof![3 => Just(0u32), 1 => 0..1_000_000u32])
        .prop_map(|(s, us)| TimeOfMinute::with_micros(s, us).unwrap())
}

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn weekday() -> impl Strategy<Value = Weekday> + Clone {
    prop::sample::select(WEEKDAYS.to_vec())
}

fn week_point() -> impl Strategy<Value = TimeOfWeek> + Clone {
    (weekday(), option::of(day_point())).prop_map(|(d, t)| match t {
        Some(t) => TimeOfWeek::at(d, t),
        None => TimeOfWeek::day(d),
    })
}

fn month_point() -> impl Strategy<Value = TimeOfMonth> + Clone {
    (1..=31u32, option::of(day_point())).prop_map(|(d, t)| match t {
        Some(t) => TimeOfMonth::at(d, t).unwrap(),
        None => TimeOfMonth::day(d).unwrap(),
    })
}

fn span<P: Clone + std::fmt::Debug + 'static>(
    point: impl Strategy<Value = P> + Clone + 'static,
) -> impl Strategy<Value = Span<P>> + Clone {
    prop_oneof![
        Just(Span::Full),
        point.clone().prop_map(Span::Before),
        point.clone().prop_map(Span::After),
        (point.clone(), point.clone()).prop_map(|(a, b)| Span::Between(a, b)),
        point.clone().prop_map(Span::Starting),
        point.prop_map(Span::On),
    ]
}

fn window<P: Clone + std::fmt::Debug + 'static>(
    point: impl Strategy<Value = P> + Clone + 'static,
) -> impl Strategy<Value = Span<P>> + Clone {
    prop_oneof![
        point.clone().prop_map(Span::Before),
        point.clone().prop_map(Span::After),
        (point.clone(), point).prop_map(|(a, b)| Span::Between(a, b)),
    ]
}

/// Spans of an hour: `4 quarters` (the end of the hour) only ends one (CONDITIONS.md §9.9).
fn hour_span() -> impl Strategy<Value = Span<TimeOfHour>> + Clone {
    span(hour_point()).prop_filter("4 quarters only ends a span", starts_inside_the_hour)
}

fn hour_window() -> impl Strategy<Value = Span<TimeOfHour>> + Clone {
    window(hour_point()).prop_filter("4 quarters only ends a span", starts_inside_the_hour)
}

fn starts_inside_the_hour(s: &Span<TimeOfHour>) -> bool {
    !s.start().is_some_and(|p| p.is_end_of_hour())
}

fn once<P: PeriodPoint + IntoPoint<P>>(b: OncePer<P>, span: Span<P>) -> Condition {
    match span {
        Span::Full => b.into(),
        Span::Before(p) => b.before(p).unwrap(),
        Span::After(p) => b.after(p).unwrap(),
        Span::Between(a, c) => b.between(a, c).unwrap(),
        Span::Starting(p) => b.starting(p).unwrap(),
        Span::On(p) => b.on(p).unwrap(),
    }
}

fn clock<P: PeriodPoint + IntoPoint<P> + std::fmt::Debug>(
    b: TimeOf<P>,
    span: Span<P>,
) -> Condition {
    match span {
        Span::Before(p) => b.before(p).unwrap(),
        Span::After(p) => b.after(p).unwrap(),
        Span::Between(a, c) => b.between(a, c).unwrap(),
        other => panic!("not a clock window: {other:?}"),
    }
}

fn name() -> impl Strategy<Value = String> + Clone {
    "[a-zA-Z0-9_ .&|~()/é-]{1,10}"
}

fn outcome() -> impl Strategy<Value = Outcome> + Clone {
    prop::sample::select(vec![
        Outcome::Succeeded,
        Outcome::Failed,
        Outcome::Finished,
        Outcome::Terminated,
    ])
}

fn cron_field(min: u32, max: u32, names: &'static [&'static str]) -> impl Strategy<Value = String> {
    let item = prop_oneof![
        Just("*".to_owned()),
        (1..=max.max(1)).prop_map(|s| format!("*/{s}")),
        (min..=max).prop_map(|v| v.to_string()),
        (min..=max, min..=max, option::of(1..=max.max(1))).prop_map(|(a, b, s)| {
            let (a, b) = (a.min(b), a.max(b));
            match s {
                Some(s) => format!("{a}-{b}/{s}"),
                None => format!("{a}-{b}"),
            }
        }),
        (0..names.len().max(1))
            .prop_map(move |i| names.get(i).map_or("*".to_owned(), |n| n.to_string())),
    ];
    vec(item, 1..3).prop_map(|items| items.join(","))
}

fn cron_text() -> impl Strategy<Value = String> {
    (
        cron_field(0, 59, &[]),
        cron_field(0, 23, &[]),
        cron_field(1, 31, &[]),
        cron_field(1, 12, &["JAN", "mar", "Jun", "DEC"]),
        cron_field(0, 7, &["MON", "fri", "Sun"]),
    )
        .prop_map(|(a, b, c, d, e)| format!("{a} {b} {c} {d} {e}"))
}

fn status_builder() -> impl Strategy<Value = HasStatus> {
    (option::of(name()), 0..7usize).prop_map(|(task_name, i)| status_of(task_name, i))
}

/// The `i`th status (of seven) of the owner or of the named task.
fn status_of(task_name: Option<String>, i: usize) -> HasStatus {
    match task_name {
        None => [
            has_succeeded,
            has_failed,
            has_finished,
            has_terminated,
            has_inacted,
            has_started,
            has_crashed,
        ][i](),
        Some(n) => {
            let t = task(n);
            match i {
                0 => t.has_succeeded(),
                1 => t.has_failed(),
                2 => t.has_finished(),
                3 => t.has_terminated(),
                4 => t.has_inacted(),
                5 => t.has_started(),
                _ => t.has_crashed(),
            }
        }
    }
}

fn status_condition() -> impl Strategy<Value = Condition> {
    prop_oneof![
        status_builder().prop_map(Condition::from),
        (status_builder(), 1..100_000_000_000u64)
            .prop_map(|(b, us)| b.past(Duration::from_micros(us)).unwrap()),
        (status_builder(), span(minute_point())).prop_map(|(b, s)| scoped(b.this_minute(), s)),
        (status_builder(), hour_span()).prop_map(|(b, s)| scoped(b.this_hour(), s)),
        (status_builder(), span(day_point())).prop_map(|(b, s)| scoped(b.today(), s)),
        (status_builder(), span(week_point())).prop_map(|(b, s)| scoped(b.this_week(), s)),
        (status_builder(), span(month_point())).prop_map(|(b, s)| scoped(b.this_month(), s)),
    ]
}

/// `b` with the `i`th comparison (of five) with `n`.
fn compared(b: HasStatus, i: usize, n: u32) -> HasStatus {
    match i {
        0 => b.more_than(n),
        1 => b.less_than(n),
        2 => b.at_least(n),
        3 => b.at_most(n),
        _ => b.times(n),
    }
}

/// The live runs of `runs` compared the `i`th way (of five) with `n`.
fn live_compared(runs: LiveRuns, i: usize, n: u32) -> Condition {
    match i {
        0 => runs.more_than(n),
        1 => runs.less_than(n),
        2 => runs.at_least(n),
        3 => runs.at_most(n),
        _ => runs.exactly(n),
    }
}

/// Counting and duration leaves about `task` (the owner when `None`), with small bounds so
/// that both values occur.
fn counting_leaf(
    task_name: impl Strategy<Value = Option<String>> + Clone + 'static,
) -> impl Strategy<Value = Condition> {
    let counted = (task_name.clone(), 0..7usize, 0..5usize, 0..4u32)
        .prop_map(|(t, i, c, n)| compared(status_of(t, i), c, n));
    prop_oneof![
        counted.clone().prop_map(Condition::from),
        (counted.clone(), 1..3 * 3600u64)
            .prop_map(|(b, s)| b.past(Duration::from_secs(s)).unwrap()),
        (counted.clone(), hour_span()).prop_map(|(b, s)| scoped(b.this_hour(), s)),
        (counted, span(day_point())).prop_map(|(b, s)| scoped(b.today(), s)),
        (task_name.clone(), 1..2 * 3600u64, any::<bool>()).prop_map(|(t, s, more)| {
            let d = Duration::from_secs(s);
            match (t, more) {
                (None, true) => running_for_more_than(d).unwrap(),
                (None, false) => running_for_less_than(d).unwrap(),
                (Some(t), true) => task(t).running_for_more_than(d).unwrap(),
                (Some(t), false) => task(t).running_for_less_than(d).unwrap(),
            }
        }),
        (task_name, 0..5usize, 0..3u32).prop_map(|(t, i, n)| {
            live_compared(t.map_or_else(live_runs, |t| task(t).live_runs()), i, n)
        }),
    ]
}

/// A call of a custom condition, by name or path, with arguments of every kind.
fn custom_leaf() -> impl Strategy<Value = Condition> {
    let arg = prop_oneof![
        "[a-z .,()&|~-]{0,8}".prop_map(CustomArg::from),
        any::<i64>().prop_map(CustomArg::from),
        any::<bool>().prop_map(CustomArg::from),
        (any::<i32>(), 0..1_000_000u32).prop_map(|(w, f)| CustomArg::Decimal(format!("{w}.{f}"))),
    ];
    (
        "[a-z_][a-z0-9_]{0,6}(::[a-z_][a-z0-9_]{0,6}){0,2}",
        vec(arg, 0..4),
    )
        // A keyword (`daily`, `retry`) is not a name a call can have.
        .prop_filter_map("a keyword as the name", |(path, args)| {
            custom(&path, args).ok()
        })
}

fn scoped<P: PeriodPoint + IntoPoint<P>>(b: StatusIn<P>, span: Span<P>) -> Condition {
    match span {
        Span::Full => b.into(),
        Span::Before(p) => b.before(p).unwrap(),
        Span::After(p) => b.after(p).unwrap(),
        Span::Between(a, c) => b.between(a, c).unwrap(),
        Span::Starting(p) => b.starting(p).unwrap(),
        Span::On(p) => b.on(p).unwrap(),
    }
}

/// Any leaf of the language, built with the typed API.
/// One expression of a named cron field with values from `min` to `max`.
fn cron_field_expr(min: u32, max: u32) -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_owned()),
        (1..=6u32).prop_map(|s| format!("*/{s}")),
        (min..=max).prop_map(|v| v.to_string()),
        (min..=max, 0..=10u32, 1..=3u32)
            .prop_map(move |(a, len, s)| format!("{a}-{}/{s}", (a + len).min(max))),
        (min..=max, 1..=4u32).prop_map(|(a, s)| format!("{a}/{s}")),
        vec(min..=max, 2..4).prop_map(|vs| {
            vs.iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" , ")
        }),
    ]
}

/// `cron(...)` with APScheduler's fields (some combinations of day, day_of_week, hour,
/// minute and second), in any order; those the parser rejects (a step longer than its
/// range) are left out.
fn cron_fields_leaf() -> impl Strategy<Value = Condition> {
    let day = prop::sample::select(vec!["last", "1st mon", "last fri", "15", "*/2", "28-31"]);
    (
        option::of(day),
        option::of(cron_field_expr(0, 6)),
        option::of(cron_field_expr(0, 23)),
        option::of(cron_field_expr(0, 59)),
        option::of(cron_field_expr(0, 59)),
        any::<bool>(),
    )
        .prop_filter_map("fields that parse", |(d, dow, h, m, s, reversed)| {
            let mut parts: Vec<String> = [
                d.map(|d| format!("day = {d}")),
                dow.map(|e| format!("day_of_week = {e}")),
                h.map(|e| format!("hour = {e}")),
                m.map(|e| format!("minute = {e}")),
                s.map(|e| format!("second = {e}")),
            ]
            .into_iter()
            .flatten()
            .collect();
            if reversed {
                parts.reverse();
            }
            format!("cron({})", parts.join(", ")).parse().ok()
        })
}

/// A one-off date as written, with the values it was written from.
#[derive(Debug, Clone)]
struct OnceDate {
    /// The wall time written.
    wall: chrono::NaiveDateTime,
    /// The offset written, in seconds east of UTC (`Z` is 0).
    offset: Option<i32>,
    /// The grace written, in seconds.
    grace: Option<u64>,
    text: String,
}

impl OnceDate {
    fn condition(&self) -> Condition {
        match self.grace {
            None => once_at(&self.text),
            Some(s) => once_at_with_grace(&self.text, Duration::from_secs(s)),
        }
        .unwrap_or_else(|e| panic!("{}: {e}", self.text))
    }

    /// The instant it is due in `zone`, by chrono-tz (another implementation of the zone
    /// rules than the scheduler's jiff): a repeated wall time at its first pass, a skipped
    /// one read with the offset in force three hours before it.
    fn due(&self, zone: Tz) -> i64 {
        use chrono::offset::LocalResult;
        let wall = self.wall.and_utc().timestamp_micros();
        if let Some(o) = self.offset {
            return wall - i64::from(o) * SECOND;
        }
        match zone.from_local_datetime(&self.wall) {
            LocalResult::Single(t) => t.timestamp_micros(),
            LocalResult::Ambiguous(a, b) => a.timestamp_micros().min(b.timestamp_micros()),
            LocalResult::None => {
                let before = zone
                    .from_local_datetime(&(self.wall - chrono::Duration::hours(3)))
                    .earliest()
                    .expect("three hours before a gap exists");
                let offset = chrono::Offset::fix(before.offset()).local_minus_utc();
                wall - i64::from(offset) * SECOND
            }
        }
    }
}

/// Dates near the clock changes of the test zones (New York's gap and fold, Lord Howe's
/// half-hour ones), on leap days and around them, or anywhere from 2023 to 2028; with or
/// without a fraction of a second, an offset and a grace.
fn once_date() -> impl Strategy<Value = OnceDate> {
    use chrono::NaiveDate;
    let local = |y, m, d, h, mi| {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    };
    let corners = vec![
        local(2024, 3, 10, 2, 0),  // New York: 02:00-03:00 skipped
        local(2024, 11, 3, 1, 0),  // New York: 01:00-02:00 twice
        local(2024, 4, 7, 1, 30),  // Lord Howe: 01:30-02:00 twice
        local(2024, 10, 6, 2, 0),  // Lord Howe: 02:00-02:30 skipped
        local(2024, 2, 29, 0, 0),  // a leap day
        local(2028, 2, 29, 12, 0), // another
        local(2023, 2, 28, 23, 0), // the end of a common February
        local(2024, 12, 31, 23, 0),
    ];
    let base = local(2023, 1, 1, 0, 0);
    let wall = prop_oneof![
        (prop::sample::select(corners), -3 * 3600..3 * 3600i64)
            .prop_map(|(c, s)| c + chrono::Duration::seconds(s)),
        (0..6 * 366 * 86_400i64).prop_map(move |s| base + chrono::Duration::seconds(s)),
    ];
    let fraction = prop_oneof![3 => Just(0u32), 1 => 0..1_000_000u32];
    let offset = prop_oneof![
        3 => Just(None),
        1 => prop::sample::select(vec![0i32, 19_800, -10_800, -43_200, 50_400]).prop_map(Some),
    ];
    let grace = option::of(prop_oneof![1..120u64, 3600..4 * 3600u64]);
    (wall, fraction, offset, grace, any::<bool>()).prop_map(
        |(wall, fraction, offset, grace, date_only)| {
            use chrono::Timelike;
            let midnight = wall.time() == chrono::NaiveTime::MIN;
            let wall = wall.with_nanosecond(fraction * 1_000).unwrap();
            let mut text = if midnight && fraction == 0 && date_only {
                wall.format("%Y-%m-%d").to_string()
            } else if fraction == 0 {
                wall.format("%Y-%m-%dT%H:%M:%S").to_string()
            } else {
                wall.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
            };
            match offset {
                None => {}
                Some(0) => text.push('Z'),
                Some(o) => {
                    let sign = if o < 0 { '-' } else { '+' };
                    let a = o.unsigned_abs();
                    write!(text, "{sign}{:02}:{:02}", a / 3600, a / 60 % 60).unwrap();
                }
            }
            OnceDate {
                wall,
                offset,
                grace,
                text,
            }
        },
    )
}

fn leaf() -> impl Strategy<Value = Condition> {
    prop_oneof![
        once_date().prop_map(|d| d.condition()),
        any::<bool>().prop_map(Condition::from),
        span(second_point()).prop_map(|s| once(secondly(), s)),
        span(minute_point()).prop_map(|s| once(minutely(), s)),
        hour_span().prop_map(|s| once(hourly(), s)),
        span(day_point()).prop_map(|s| once(daily(), s)),
        span(week_point()).prop_map(|s| once(weekly(), s)),
        span(month_point()).prop_map(|s| once(monthly(), s)),
        window(minute_point()).prop_map(|s| clock(time_of_minute(), s)),
        hour_window().prop_map(|s| clock(time_of_hour(), s)),
        window(day_point()).prop_map(|s| clock(time_of_day(), s)),
        window(week_point()).prop_map(|s| clock(time_of_week(), s)),
        week_point().prop_map(time_of_week_on),
        window(month_point()).prop_map(|s| clock(time_of_month(), s)),
        month_point().prop_map(|p| time_of_month().on(p).unwrap()),
        (1..100_000_000_000u64).prop_map(|us| every(Duration::from_micros(us)).unwrap()),
        cron_text().prop_filter_map("cron that can match", |t| cron(&t).ok()),
        cron_fields_leaf(),
        status_condition(),
        (vec(name(), 0..4), any::<bool>(), outcome()).prop_map(|(tasks, any_of, o)| {
            if any_of {
                after_any(tasks, o)
            } else {
                after_all(tasks, o)
            }
        }),
        option::of(name()).prop_map(|n| n.map_or_else(is_running, |n| task(n).is_running())),
        option::of(0..100u32).prop_map(|n| n.map_or_else(retry_forever, retry)),
        (1..10_000_000_000u64, any::<bool>()).prop_map(|(us, within)| {
            let d = Duration::from_micros(us);
            if within {
                scheduler_started_within(d).unwrap()
            } else {
                scheduler_running_longer_than(d).unwrap()
            }
        }),
        (0..3usize, any::<u64>()).prop_map(|(i, n)| match i {
            0 => scheduler_cycles_more_than(n),
            1 => scheduler_cycles_less_than(n),
            _ => scheduler_cycles(n),
        }),
        counting_leaf(option::of(name())),
        custom_leaf(),
        "[a-z ']{0,6}".prop_map(|v| env(v.replace('\'', ""))),
        (name(), option::of("[a-z0-9 ]{0,6}")).prop_map(|(k, v)| match v {
            Some(v) => param(k).is(v),
            None => param(k).exists(),
        }),
    ]
}

fn time_of_week_on(p: TimeOfWeek) -> Condition {
    time_of_week().on(p).unwrap()
}

fn combine(leaf: impl Strategy<Value = Condition> + 'static) -> impl Strategy<Value = Condition> {
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|c| !c),
            vec(inner.clone(), 2..4).prop_map(|cs| cs.into_iter().reduce(|a, b| a & b).unwrap()),
            vec(inner, 2..4).prop_map(|cs| cs.into_iter().reduce(|a, b| a | b).unwrap()),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn display_round_trips(c in combine(leaf())) {
        let printed = c.to_string();
        let parsed: Condition = printed.parse().map_err(|e: ParseError| {
            TestCaseError::fail(format!("{printed:?} does not parse:\n{}", e.render()))
        })?;
        prop_assert_eq!(&parsed, &c, "printed as {:?}", printed);
        prop_assert_eq!(parsed.to_string(), printed);
    }

    /// The compiled form that `#[task]` emits beside the string gives back the same value.
    #[test]
    fn compiled_form_round_trips(c in combine(leaf())) {
        let bytes = scheduler_core::condition::codec::encode(&c);
        let decoded = scheduler_core::condition::codec::decode(&bytes)
            .map_err(|e| TestCaseError::fail(format!("{c} does not decode: {e}")))?;
        prop_assert_eq!(&decoded, &c);
    }
}

// ----------------------------------------------------------------------------------------
// API vs strings written independently
// ----------------------------------------------------------------------------------------

/// Choices of spelling, drawn at random.
#[derive(Debug, Clone)]
struct Style {
    separators: Vec<&'static str>,
    picks: Vec<u8>,
}

impl Style {
    fn sep(&self, i: usize) -> &'static str {
        self.separators[i % self.separators.len()]
    }
    fn pick(&self, i: usize, n: u8) -> u8 {
        self.picks[i % self.picks.len()] % n
    }
}

fn style() -> impl Strategy<Value = Style> {
    (
        vec(
            prop::sample::select(vec![" ", " ", " ", "  ", "\t", "\n", " \n  "]),
            1..8,
        ),
        vec(any::<u8>(), 1..8),
    )
        .prop_map(|(separators, picks)| Style { separators, picks })
}

fn write_time_of_day(t: TimeOfDay, s: &Style, i: usize) -> String {
    let (h, m, sec, us) = (t.hour(), t.minute(), t.second(), t.microsecond());
    if sec == 0 && us == 0 {
        match s.pick(i, 4) {
            0 if m == 0 => {
                let h12 = if h % 12 == 0 { 12 } else { h % 12 };
                let ampm = if h < 12 {
                    ["am", "AM", "Am"]
                } else {
                    ["pm", "PM", "pM"]
                }[s.pick(i + 1, 3) as usize];
                return format!(
                    "{h12}{}{ampm}",
                    if s.pick(i + 2, 2) == 0 { "" } else { " " }
                );
            }
            1 if h < 10 => return format!("{h}:{m:02}"),
            2 => return format!("{h:02}:{m:02}:00"),
            _ => return format!("{h:02}:{m:02}"),
        }
    }
    let mut out = format!("{h:02}:{m:02}:{sec:02}");
    if us != 0 {
        write!(out, ".{us:06}").unwrap();
    }
    out
}

fn write_weekday(d: Weekday, s: &Style, i: usize) -> String {
    let full = [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ][d.num_days_from_monday() as usize];
    let word = if s.pick(i, 2) == 0 {
        full.to_owned()
    } else {
        full[..3].to_owned()
    };
    match s.pick(i + 1, 3) {
        0 => word.to_lowercase(),
        1 => word.to_uppercase(),
        _ => word,
    }
}

fn write_week(p: TimeOfWeek, s: &Style, i: usize) -> String {
    let mut out = write_weekday(p.weekday(), s, i);
    if let Some(t) = p.time() {
        write!(out, " {}", write_time_of_day(t, s, i + 3)).unwrap();
    }
    out
}

fn write_month(p: TimeOfMonth, s: &Style, i: usize) -> String {
    let d = p.day_of_month();
    let suffix = match s.pick(i, 3) {
        0 => "",
        1 => ".",
        _ => match d {
            1 | 21 | 31 => "st",
            2 | 22 => "nd",
            3 | 23 => "rd",
            _ => "th",
        },
    };
    let mut out = format!("{d}{suffix}");
    if let Some(t) = p.time() {
        write!(out, " {}", write_time_of_day(t, s, i + 1)).unwrap();
    }
    out
}

fn write_hour(p: TimeOfHour, s: &Style, i: usize) -> String {
    let text = p.to_string();
    let (m, rest) = text.split_once(':').unwrap_or(("60", "00"));
    let minutes: u32 = m.parse().unwrap();
    if rest == "00" && minutes.is_multiple_of(15) {
        let q = minutes / 15;
        return match s.pick(i, 3) {
            0 => format!("{q}q"),
            1 => format!("{q} quarter{}", if q == 1 { "" } else { "s" }),
            _ if q < 4 => format!("{minutes:02}:00"),
            _ => format!("{q} quarters"),
        };
    }
    text
}

fn write_span<P: Copy>(
    span: Span<P>,
    point: impl Fn(P, &Style, usize) -> String,
    s: &Style,
) -> String {
    match span {
        Span::Full => String::new(),
        Span::Before(p) => format!("{}before{}{}", s.sep(1), s.sep(2), point(p, s, 3)),
        Span::After(p) => format!("{}after{}{}", s.sep(1), s.sep(2), point(p, s, 3)),
        Span::Between(a, b) => format!(
            "{}between{}{}{}and{}{}",
            s.sep(1),
            s.sep(2),
            point(a, s, 3),
            s.sep(3),
            s.sep(4),
            point(b, s, 7)
        ),
        Span::Starting(p) => format!("{}starting{}{}", s.sep(1), s.sep(2), point(p, s, 3)),
        Span::On(p) => format!("{}on{}{}", s.sep(1), s.sep(2), point(p, s, 3)),
    }
}

fn write_interval(secs: u64, s: &Style) -> String {
    let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
    match s.pick(5, 4) {
        0 => format!("{secs}{}seconds", s.sep(6)),
        1 => format!("{secs}s"),
        2 => format!("{h:02}:{m:02}:{sec:02}"),
        _ => {
            let mut parts = Vec::new();
            if h > 0 {
                parts.push(format!("{h}h"));
            }
            if m > 0 {
                parts.push(format!("{m} min"));
            }
            if sec > 0 || parts.is_empty() {
                parts.push(format!("{sec} sec"));
            }
            parts.join(", ")
        }
    }
}

/// A leaf described as data, to be written both ways.
#[derive(Debug, Clone)]
enum Spec {
    Literal(bool),
    Daily(Span<TimeOfDay>),
    Weekly(Span<TimeOfWeek>),
    Monthly(Span<TimeOfMonth>),
    Hourly(Span<TimeOfHour>),
    DayWindow(Span<TimeOfDay>),
    WeekOn(TimeOfWeek),
    Every(u64),
    Past(Option<String>, u64),
    Today(Option<String>, Span<TimeOfDay>),
    After(Vec<String>, bool),
    Running(Option<String>),
    Retry(Option<u32>),
    /// A count of successes of the task today: comparison kind, bound.
    CountToday(Option<String>, usize, u32),
    /// A run longer (`true`) or shorter than the seconds.
    RunningFor(Option<String>, bool, u64),
    /// Live runs: comparison kind, bound.
    LiveRuns(Option<String>, usize, u32),
}

/// The words of the `i`th comparison (of five) with `n`, in one of the spellings.
fn write_comparison(i: usize, n: u32, s: &Style) -> String {
    let times = if n == 1 && s.pick(6, 2) == 0 {
        "time"
    } else {
        "times"
    };
    let words = ["more than ", "less than ", "at least ", "at most ", ""][i];
    format!("{}{n}{}{times}", words.replace(' ', s.sep(7)), s.sep(8))
}

fn spec() -> impl Strategy<Value = Spec> {
    let plain_name = "[a-z_][a-z0-9_]{0,8}";
    prop_oneof![
        any::<bool>().prop_map(Spec::Literal),
        span(day_point()).prop_map(Spec::Daily),
        span(week_point()).prop_map(Spec::Weekly),
        span(month_point()).prop_map(Spec::Monthly),
        hour_span().prop_map(Spec::Hourly),
        window(day_point()).prop_map(Spec::DayWindow),
        week_point().prop_map(Spec::WeekOn),
        (1..200_000u64).prop_map(Spec::Every),
        (option::of(plain_name), 1..200_000u64).prop_map(|(n, s)| Spec::Past(n, s)),
        (option::of(plain_name), span(day_point())).prop_map(|(n, s)| Spec::Today(n, s)),
        (vec(plain_name, 1..4), any::<bool>()).prop_map(|(t, a)| Spec::After(t, a)),
        option::of(plain_name).prop_map(Spec::Running),
        option::of(0..50u32).prop_map(Spec::Retry),
        (option::of(plain_name), 0..5usize, 0..100u32)
            .prop_map(|(t, i, n)| Spec::CountToday(t, i, n)),
        (option::of(plain_name), any::<bool>(), 1..200_000u64)
            .prop_map(|(t, m, s)| Spec::RunningFor(t, m, s)),
        (option::of(plain_name), 0..5usize, 0..100u32)
            .prop_map(|(t, i, n)| Spec::LiveRuns(t, i, n)),
    ]
}

fn build(spec: &Spec) -> Condition {
    match spec.clone() {
        Spec::Literal(b) => b.into(),
        Spec::Daily(s) => once(daily(), s),
        Spec::Weekly(s) => once(weekly(), s),
        Spec::Monthly(s) => once(monthly(), s),
        Spec::Hourly(s) => once(hourly(), s),
        Spec::DayWindow(s) => clock(time_of_day(), s),
        Spec::WeekOn(p) => time_of_week().on(p).unwrap(),
        Spec::Every(secs) => every(Duration::from_secs(secs)).unwrap(),
        Spec::Past(n, secs) => {
            let b = n.map_or_else(has_failed, |n| task(n).has_failed());
            b.past(Duration::from_secs(secs)).unwrap()
        }
        Spec::Today(n, s) => scoped(
            n.map_or_else(has_succeeded, |n| task(n).has_succeeded())
                .today(),
            s,
        ),
        Spec::After(tasks, any_of) => {
            if any_of && tasks.len() > 1 {
                after_any(tasks, Outcome::Finished)
            } else if tasks.len() == 1 {
                after_success(tasks[0].clone())
            } else {
                after_all(tasks, Outcome::Succeeded)
            }
        }
        Spec::Running(n) => n.map_or_else(is_running, |n| task(n).is_running()),
        Spec::Retry(n) => n.map_or_else(retry_forever, retry),
        Spec::CountToday(t, i, n) => {
            let b = t.map_or_else(has_succeeded, |t| task(t).has_succeeded());
            compared(b, i, n).today().into()
        }
        Spec::RunningFor(t, more, secs) => {
            let d = Duration::from_secs(secs);
            match (t, more) {
                (None, true) => running_for_more_than(d).unwrap(),
                (None, false) => running_for_less_than(d).unwrap(),
                (Some(t), true) => task(t).running_for_more_than(d).unwrap(),
                (Some(t), false) => task(t).running_for_less_than(d).unwrap(),
            }
        }
        Spec::LiveRuns(t, i, n) => {
            live_compared(t.map_or_else(live_runs, |t| task(t).live_runs()), i, n)
        }
    }
}

fn write(spec: &Spec, s: &Style) -> String {
    match spec {
        Spec::Literal(b) => format!("{}{b}", if s.pick(0, 2) == 0 { "always " } else { "" }),
        Spec::Daily(span) => format!("daily{}", write_span(*span, write_time_of_day, s)),
        Spec::Weekly(span) => format!("weekly{}", write_span(*span, write_week, s)),
        Spec::Monthly(span) => format!("monthly{}", write_span(*span, write_month, s)),
        Spec::Hourly(span) => format!("hourly{}", write_span(*span, write_hour, s)),
        Spec::DayWindow(span) => format!(
            "time{}of day{}",
            s.sep(0),
            write_span(*span, write_time_of_day, s)
        ),
        Spec::WeekOn(p) => format!("time of{}week on {}", s.sep(0), write_week(*p, s, 1)),
        Spec::Every(secs) => format!("every{}{}", s.sep(0), write_interval(*secs, s)),
        Spec::Past(n, secs) => format!(
            "{}has failed{}{}past {}",
            n.as_ref()
                .map(|n| format!("task '{n}'{}", s.sep(1)))
                .unwrap_or_default(),
            s.sep(2),
            if s.pick(3, 2) == 0 { "in " } else { "" },
            write_interval(*secs, s)
        ),
        Spec::Today(n, span) => format!(
            "{}has{}succeeded today{}",
            n.as_ref()
                .map(|n| format!("task '{n}' "))
                .unwrap_or_default(),
            s.sep(1),
            write_span(*span, write_time_of_day, s)
        ),
        Spec::After(tasks, any_of) => {
            let quoted: Vec<String> = tasks.iter().map(|t| format!("'{t}'")).collect();
            let list = quoted.join(if s.pick(1, 2) == 0 { ", " } else { "," });
            if *any_of && tasks.len() > 1 {
                format!("after any tasks {list} finished")
            } else if tasks.len() == 1 {
                let outcome = if s.pick(2, 2) == 0 { "" } else { " succeeded" };
                format!("after{}task {list}{outcome}", s.sep(3))
            } else {
                format!(
                    "after tasks {list}{}",
                    if s.pick(2, 2) == 0 { "" } else { " succeeded" }
                )
            }
        }
        Spec::Running(None) => "is running".to_owned(),
        Spec::Running(Some(n)) => {
            if s.pick(1, 2) == 0 {
                format!("task '{n}' is running")
            } else {
                format!("while task '{n}' is running")
            }
        }
        Spec::Retry(None) => "retry".to_owned(),
        Spec::Retry(Some(n)) => format!("retry{}{n}", s.sep(4)),
        Spec::CountToday(t, i, n) => format!(
            "{}has{}succeeded {}{}today",
            t.as_ref()
                .map(|t| format!("task '{t}' "))
                .unwrap_or_default(),
            s.sep(1),
            write_comparison(*i, *n, s),
            s.sep(2),
        ),
        Spec::RunningFor(t, more, secs) => format!(
            "{}has been{}running for {}{}than {}",
            t.as_ref()
                .map(|t| format!("task '{t}' "))
                .unwrap_or_default(),
            s.sep(1),
            if *more { "more" } else { "less" },
            s.sep(2),
            write_interval(*secs, s),
        ),
        Spec::LiveRuns(t, i, n) => format!(
            "{}is running {}",
            match t {
                Some(t) if s.pick(1, 2) == 0 => format!("task '{t}' "),
                Some(t) => format!("while task '{t}' "),
                None => String::new(),
            },
            write_comparison(*i, *n, s),
        ),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn api_equals_strings(specs in vec(spec(), 1..4), style in style(), ops in vec(any::<bool>(), 3)) {
        let mut text = String::new();
        let mut built: Option<Condition> = None;
        for (i, spec) in specs.iter().enumerate() {
            let leaf = build(spec);
            let written = write(spec, &style);
            match built.take() {
                None => {
                    text = written;
                    built = Some(leaf);
                }
                Some(prev) => {
                    // `&` binds tighter than `|`: parenthesise the left side to keep the
                    // API's left-to-right grouping.
                    let op_and = ops[i % ops.len()];
                    text = format!("({text}){}{}{}{written}", style.sep(i), if op_and { "&" } else { "|" }, style.sep(i + 1));
                    built = Some(if op_and { prev & leaf } else { prev | leaf });
                }
            }
        }
        let built = built.unwrap();
        let parsed: Condition = text.parse().map_err(|e: ParseError| {
            TestCaseError::fail(format!("{text:?} does not parse:\n{}", e.render()))
        })?;
        prop_assert_eq!(parsed, built, "{:?}", text);
    }
}

// ----------------------------------------------------------------------------------------
// The parser never panics
// ----------------------------------------------------------------------------------------

fn check_parse(s: &str) -> Result<(), TestCaseError> {
    match s.parse::<Condition>() {
        Ok(c) => {
            let printed = c.to_string();
            let again: Condition = printed.parse().map_err(|e: ParseError| {
                TestCaseError::fail(format!(
                    "{s:?} parsed, but its print {printed:?} does not: {e}"
                ))
            })?;
            prop_assert_eq!(again, c);
        }
        Err(e) => {
            let r = e.span();
            prop_assert!(
                r.start <= r.end && r.end <= s.len(),
                "span {:?} outside {:?}",
                r,
                s
            );
            prop_assert!(s.is_char_boundary(r.start) && s.is_char_boundary(r.end));
            prop_assert!(!e.render().is_empty());
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

const TOKENS: &[&str] = &[
    "true",
    "false",
    "always",
    "daily",
    "hourly",
    "weekly",
    "monthly",
    "minutely",
    "secondly",
    "time",
    "of",
    "day",
    "week",
    "month",
    "hour",
    "minute",
    "between",
    "and",
    "before",
    "after",
    "on",
    "starting",
    "every",
    "cron",
    "task",
    "tasks",
    "any",
    "has",
    "succeeded",
    "failed",
    "finished",
    "terminated",
    "started",
    "crashed",
    "inacted",
    "today",
    "this",
    "past",
    "in",
    "is",
    "running",
    "while",
    "retry",
    "scheduler",
    "ago",
    "run",
    "over",
    "more",
    "less",
    "than",
    "cycles",
    "f(",
    "is_work_day()",
    "m::f('x', 1, -2.5, true)",
    "been",
    "for",
    "at",
    "least",
    "most",
    "times",
    "1 time",
    "env",
    "cron(",
    "day_of_week",
    "second",
    "year",
    "start_date",
    "end_date",
    "=",
    "3rd fri",
    "last",
    "2026-02-26T08:00:00+05:30",
    "once",
    "at",
    "grace",
    "2026-12-01",
    "2026-12-01T08:00:00",
    "2026-12-01 08:00:00.5Z",
    "08:00:00",
    "2026-1٢-01",
    "+05:99",
    "2026-13-01",
    "T",
    "param",
    "exists",
    "'x'",
    "'a b'",
    "''",
    "'",
    "\"x\"",
    "10:00",
    "25:00",
    "7:5",
    "10am",
    "13pm",
    "10",
    "1.5",
    "0",
    "Mon",
    "friday",
    "5th",
    "32nd",
    "1q",
    "quarter",
    "15:00",
    "*",
    "*/5",
    "1-5",
    "MON-FRI",
    "JAN",
    "minutes",
    "h",
    "1h30m",
    "00:10:00",
    "&",
    "|",
    "~",
    "(",
    ")",
    ",",
    "é",
    "日本",
    "\u{0}",
    "-",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn parser_never_panics_on_any_string(s in any::<String>()) {
        check_parse(&s)?;
    }

    #[test]
    fn parser_never_panics_on_token_soup(
        tokens in vec(prop::sample::select(TOKENS.to_vec()), 0..14),
        seps in vec(prop::sample::select(vec!["", " ", " ", "  ", "\n"]), 14),
    ) {
        let mut s = String::new();
        for (t, sep) in tokens.iter().zip(seps.iter()) {
            s.push_str(t);
            s.push_str(sep);
        }
        check_parse(&s)?;
    }
}

// ----------------------------------------------------------------------------------------
// next_change against brute force
// ----------------------------------------------------------------------------------------

/// Leaves whose value moves with time (and the owning task's log).
fn timed_leaf() -> impl Strategy<Value = Condition> {
    prop_oneof![
        span(second_point()).prop_map(|s| once(secondly(), s)),
        span(second_point()).prop_map(|s| once(secondly(), s)),
        span(minute_point()).prop_map(|s| once(minutely(), s)),
        hour_span().prop_map(|s| once(hourly(), s)),
        span(day_point()).prop_map(|s| once(daily(), s)),
        span(week_point()).prop_map(|s| once(weekly(), s)),
        window(minute_point()).prop_map(|s| clock(time_of_minute(), s)),
        hour_window().prop_map(|s| clock(time_of_hour(), s)),
        window(day_point()).prop_map(|s| clock(time_of_day(), s)),
        window(week_point()).prop_map(|s| clock(time_of_week(), s)),
        (60..4 * 3600u64).prop_map(|s| every(Duration::from_secs(s)).unwrap()),
        cron_text().prop_filter_map("cron that can match", |t| cron(&t).ok()),
        cron_fields_leaf(),
        (1..3 * 3600u64).prop_map(|s| has_started().past(Duration::from_secs(s)).unwrap()),
        hour_span().prop_map(|s| scoped(has_succeeded().this_hour(), s)),
        any::<bool>().prop_map(Condition::from),
        once_date().prop_map(|d| d.condition()),
    ]
}

fn zone() -> impl Strategy<Value = Tz> {
    prop::sample::select(vec![
        Tz::UTC,
        Tz::America__New_York,
        Tz::Australia__Lord_Howe,
    ])
}

/// Seconds since 2024-01-01, anywhere in the year or close to a transition of the zones.
fn start() -> impl Strategy<Value = i64> {
    let transitions: Vec<i64> = [
        (2024, 3, 10, 7),  // New York spring forward (07:00 UTC)
        (2024, 11, 3, 6),  // New York fall back
        (2024, 4, 6, 15),  // Lord Howe back
        (2024, 10, 5, 15), // Lord Howe forward
    ]
    .iter()
    .map(|&(y, m, d, h)| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap().timestamp())
    .collect();
    let base = Utc
        .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp();
    prop_oneof![
        (0..366 * 86_400i64).prop_map(move |s| base + s),
        (prop::sample::select(transitions), -4 * 3600..4 * 3600i64).prop_map(|(t, d)| t + d),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn next_change_matches_brute_force(
        cond in combine(timed_leaf()),
        zone in zone(),
        start in start(),
        run_when_due in any::<bool>(),
    ) {
        let from = Utc.timestamp_opt(start, 0).unwrap();
        let to = from + chrono::Duration::hours(5);
        let walk = Walk::of(cond, zone);
        let walk = if run_when_due { walk.running() } else { walk };
        walk.walk(from, to, SECOND);
    }
}

/// Records of the task `x` at whole seconds around `start`: runs (often overlapping, so
/// that several are live), finishes of every kind, and crashes.
fn x_records() -> impl Strategy<Value = Vec<(i64, Action)>> {
    let action = prop_oneof![
        3 => Just(Action::Run),
        2 => Just(Action::Success),
        1 => prop::sample::select(Action::ALL.to_vec()),
    ];
    vec((-2 * 3600..5 * 3600i64, action), 0..30)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Counts in scopes, durations of live runs and numbers of live runs of `x`, whose
    /// records lie before and during the walk: the prediction names each change to the
    /// microsecond (a record, a scope boundary, an old record leaving `past ...`, a live
    /// run crossing its limit), and `Never` only where no record lies ahead.
    #[test]
    fn counting_leaves_next_change_matches_brute_force(
        cond in combine(prop_oneof![
            3 => counting_leaf(Just(Some("x".to_owned()))),
            1 => timed_leaf(),
        ]),
        zone in zone(),
        start in start(),
        records in x_records(),
    ) {
        let from = Utc.timestamp_opt(start, 0).unwrap();
        let to = from + chrono::Duration::hours(5);
        let mut walk = Walk::of(cond, zone);
        for (offset, action) in records {
            walk = walk.with_record("x", action, from + chrono::Duration::seconds(offset));
        }
        walk.walk(from, to, SECOND);
    }
}

/// Leaves that name days of the month, often days past the end of a short month
/// (CONDITIONS.md §9.10).
fn month_leaf() -> impl Strategy<Value = Condition> {
    let late_day = prop_oneof![1 => 1..=31u32, 3 => 27..=31u32];
    let point = (
        late_day,
        option::of((0..24u32, prop::sample::select(vec![0u32, 30, 59]))),
    )
        .prop_map(|(d, t)| match t {
            Some((h, m)) => TimeOfMonth::at(d, TimeOfDay::new(h, m).unwrap()).unwrap(),
            None => TimeOfMonth::day(d).unwrap(),
        });
    prop_oneof![
        span(point.clone()).prop_map(|s| once(monthly(), s)),
        window(point.clone()).prop_map(|s| clock(time_of_month(), s)),
        point.clone().prop_map(|p| time_of_month().on(p).unwrap()),
        span(point).prop_map(|s| scoped(has_succeeded().this_month(), s)),
    ]
}

/// An instant in the last days of a short month (February of a leap and of a common year,
/// and the 30-day months), or of a 31-day month that follows or precedes one.
fn month_end_start() -> impl Strategy<Value = i64> {
    let months = vec![
        (2023, 2),
        (2024, 2),
        (2024, 1),
        (2024, 4),
        (2024, 6),
        (2024, 9),
        (2024, 11),
        (2024, 12),
    ];
    (prop::sample::select(months), 0..5 * 86_400i64).prop_map(|((y, m), s)| {
        let first_of_next = if m == 12 {
            Utc.with_ymd_and_hms(y + 1, 1, 1, 0, 0, 0)
        } else {
            Utc.with_ymd_and_hms(y, m + 1, 1, 0, 0, 0)
        };
        first_of_next.unwrap().timestamp() - 4 * 86_400 + s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Month days clamp to the last day of short months: the prediction matches a walk by
    /// the minute over six days around the end of February (leap and common) and of the
    /// 30-day months, with the task running whenever the condition is true. (Every change
    /// of these leaves falls on a whole minute, so a minute step sees each one; the
    /// walker checks each predicted instant to the microsecond.)
    #[test]
    fn month_days_past_short_months_match_brute_force(
        cond in combine(month_leaf()),
        zone in zone(),
        start in month_end_start(),
        run_when_due in any::<bool>(),
    ) {
        let from = Utc.timestamp_opt(start, 0).unwrap();
        let to = from + chrono::Duration::days(6);
        let walk = Walk::of(cond, zone);
        let walk = if run_when_due { walk.running() } else { walk };
        walk.walk(from, to, 60 * SECOND);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// One-off dates: the first instant the leaf is true, found by `next_change` from a
    /// day before, is the date's instant by chrono-tz's reading of the zone (gaps with the
    /// offset before them, folds at their first pass); and a walk by the second from up to
    /// three hours before it to an hour past its grace, with and without the task running
    /// when due, meets every change where it was predicted (to the microsecond) and runs
    /// the task once at most.
    #[test]
    fn once_dates_match_brute_force(
        date in once_date(),
        zone in zone(),
        lead in 1..3 * 3600i64,
        run_when_due in any::<bool>(),
    ) {
        let cond = date.condition();
        let due = date.due(zone);
        let log = LogIndex::new();
        let cx = EvalContext::new(&log).owner(common::OWNER).zone(zone);
        let from = Timestamp::from_micros(due - 86_400 * SECOND);
        prop_assert_eq!(
            cond.next_change(&cx, from).unwrap(),
            scheduler_core::condition::NextChange::At(Timestamp::from_micros(due)),
            "{} in {}", cond, zone
        );
        prop_assert!(cond.evaluate(&cx, Timestamp::from_micros(due)).unwrap());
        prop_assert!(!cond.evaluate(&cx, Timestamp::from_micros(due - 1)).unwrap());
        let grace = date.grace.unwrap_or(3600) as i64 * SECOND;
        let from = Utc.timestamp_micros(due - lead * SECOND).unwrap();
        let to = Utc.timestamp_micros(due + grace + 3600 * SECOND).unwrap();
        let walk = Walk::of(cond, zone);
        let walk = if run_when_due { walk.running() } else { walk };
        let walk = walk.walk(from, to, SECOND);
        prop_assert!(walk.runs.len() <= 1, "{:?}", walk.local_times());
        if run_when_due {
            prop_assert_eq!(walk.runs.len(), 1);
        }
    }
}

/// A day-level expression of named cron fields and the brute-force reading of it.
#[derive(Debug, Clone)]
struct CalendarFields {
    year: Option<(i32, i32)>,
    month: Option<(u32, u32, u32)>,
    day: DayExpr,
    day_of_week: Option<u32>,
}

#[derive(Debug, Clone)]
enum DayExpr {
    Any,
    Range(u32, u32),
    Last,
    Nth(u32, u32),
    LastWeekday(u32),
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl CalendarFields {
    fn text(&self) -> String {
        let mut parts = Vec::new();
        if let Some((a, b)) = self.year {
            parts.push(format!("year = {a}-{b}"));
        }
        match self.month {
            Some((a, b, 1)) => parts.push(format!("month = {a}-{b}")),
            Some((a, b, step)) => parts.push(format!("month = {a}-{b}/{step}")),
            None => {}
        }
        match self.day {
            DayExpr::Any => parts.push("day = *".to_owned()),
            DayExpr::Range(a, b) => parts.push(format!("day = {a}-{b}")),
            DayExpr::Last => parts.push("day = last".to_owned()),
            DayExpr::Nth(n, w) => {
                let nth = ["1st", "2nd", "3rd", "4th", "5th"][n as usize - 1];
                parts.push(format!("day = {nth} {}", WEEKDAY_NAMES[w as usize]));
            }
            DayExpr::LastWeekday(w) => {
                parts.push(format!("day = last {}", WEEKDAY_NAMES[w as usize]))
            }
        }
        if let Some(w) = self.day_of_week {
            parts.push(format!("day_of_week = {w}"));
        }
        format!("cron({})", parts.join(", "))
    }

    /// Whether the fields match the day `d`, read from the calendar by chrono.
    fn matches(&self, d: chrono::NaiveDate) -> bool {
        use chrono::Datelike;
        let last = (28..=31)
            .rev()
            .find(|&n| chrono::NaiveDate::from_ymd_opt(d.year(), d.month(), n).is_some())
            .unwrap();
        let weekday = d.weekday().num_days_from_monday();
        self.year.is_none_or(|(a, b)| (a..=b).contains(&d.year()))
            && self.month.is_none_or(|(a, b, s)| {
                (a..=b).contains(&d.month()) && (d.month() - a).is_multiple_of(s)
            })
            && match self.day {
                DayExpr::Any => true,
                DayExpr::Range(a, b) => (a..=b).contains(&d.day()),
                DayExpr::Last => d.day() == last,
                DayExpr::Nth(n, w) => weekday == w && (d.day() - 1) / 7 + 1 == n,
                DayExpr::LastWeekday(w) => weekday == w && d.day() + 7 > last,
            }
            && self.day_of_week.is_none_or(|w| w == weekday)
    }
}

fn calendar_fields() -> impl Strategy<Value = CalendarFields> {
    let day = prop_oneof![
        Just(DayExpr::Any),
        (1..=31u32, 0..3u32).prop_map(|(a, n)| DayExpr::Range(a, (a + n).min(31))),
        Just(DayExpr::Last),
        (1..=5u32, 0..7u32).prop_map(|(n, w)| DayExpr::Nth(n, w)),
        (0..7u32).prop_map(DayExpr::LastWeekday),
    ];
    (
        option::of((2024..2030i32, 0..3i32).prop_map(|(a, n)| (a, a + n))),
        option::of((1..=12u32, 0..12u32, 1..4u32).prop_map(|(a, n, s)| {
            let b = (a + n).min(12);
            // A step at most the range's length (a longer one is an error).
            (a, b, s.min((b - a).max(1)))
        })),
        day,
        option::of(0..7u32),
    )
        .prop_map(|(year, month, day, day_of_week)| CalendarFields {
            year,
            month,
            day,
            day_of_week,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Named cron fields at the day level (`year`, `month` with steps, `day` as a range,
    /// `last`, `3rd fri`, `last fri`, and `day_of_week`, combined with AND), whose fires
    /// are at midnight of matching days: from an instant anywhere in 2023-2028, the next
    /// change of the leaf is the first matching day that chrono's calendar finds walking
    /// day by day (leap days, month ends, years without a match), or never within 40
    /// years when there is none (the fields then must have been rejected, or lie past it).
    #[test]
    fn cron_fields_calendar_matches_a_day_walk(
        fields in calendar_fields(),
        start in 0..6 * 366 * 86_400i64,
    ) {
        let text = fields.text();
        let parsed = text.parse::<Condition>();
        let Ok(cond) = parsed else {
            // Rejected: only as fields that never match, and no day may match.
            let e = parsed.unwrap_err();
            prop_assert!(e.to_string().contains("never match"), "{}: {}", text, e);
            let first = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).unwrap();
            prop_assert!(
                first.iter_days().take(30 * 366).all(|d| !fields.matches(d)),
                "{} was rejected but matches", text
            );
            return Ok(());
        };
        let base = Utc.with_ymd_and_hms(2023, 1, 1, 0, 0, 0).unwrap().timestamp();
        let from = Utc.timestamp_opt(base + start, 0).unwrap() + chrono::Duration::milliseconds(1500);
        let want = from
            .date_naive()
            .succ_opt()
            .unwrap()
            .iter_days()
            .take(40 * 366)
            .find(|&d| fields.matches(d))
            .map(|d| d.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp_micros());
        let log = LogIndex::new();
        let cx = EvalContext::new(&log).owner(common::OWNER).zone(Tz::UTC);
        let mut t = Timestamp::from(from);
        let got = loop {
            match cond.next_change(&cx, t).unwrap() {
                scheduler_core::condition::NextChange::At(x) => break Some(x.as_micros()),
                scheduler_core::condition::NextChange::NotBefore(x) => t = x,
                scheduler_core::condition::NextChange::Never => break None,
            }
            if t.as_micros() > from.timestamp_micros() + 41 * 366 * 86_400 * SECOND {
                break None;
            }
        };
        match want {
            Some(w) => prop_assert_eq!(got.map(common::show), Some(common::show(w)), "{} from {}", text, from),
            None => prop_assert!(got.is_none_or(|g| g > from.timestamp_micros() + 40 * 365 * 86_400 * SECOND)),
        }
    }
}

// ----------------------------------------------------------------------------------------
// Retention: a pruned log answers as the full one
// ----------------------------------------------------------------------------------------

const TASKS: [&str; 3] = ["a", "b", "c"];

fn short_name() -> impl Strategy<Value = String> + Clone {
    prop::sample::select(TASKS.to_vec()).prop_map(String::from)
}

/// Every leaf that reads the log, about the owner `a` and the tasks `b` and `c`.
fn log_leaf() -> impl Strategy<Value = Condition> {
    let status = (option::of(short_name()), 0..7usize).prop_map(|(t, i)| status_of(t, i));
    prop_oneof![
        span(minute_point()).prop_map(|s| once(minutely(), s)),
        hour_span().prop_map(|s| once(hourly(), s)),
        span(day_point()).prop_map(|s| once(daily(), s)),
        span(week_point()).prop_map(|s| once(weekly(), s)),
        span(month_point()).prop_map(|s| once(monthly(), s)),
        (1..4 * 3600u64).prop_map(|s| every(Duration::from_secs(s)).unwrap()),
        cron_text().prop_filter_map("cron that can match", |t| cron(&t).ok()),
        status.clone().prop_map(Condition::from),
        (status.clone(), 1..3 * 86_400u64)
            .prop_map(|(b, s)| b.past(Duration::from_secs(s)).unwrap()),
        (status.clone(), hour_span()).prop_map(|(b, s)| scoped(b.this_hour(), s)),
        (status.clone(), span(day_point())).prop_map(|(b, s)| scoped(b.today(), s)),
        (status, span(week_point())).prop_map(|(b, s)| scoped(b.this_week(), s)),
        (vec(short_name(), 1..3), any::<bool>(), outcome()).prop_map(|(tasks, any_of, o)| {
            if any_of {
                after_any(tasks, o)
            } else {
                after_all(tasks, o)
            }
        }),
        option::of(short_name()).prop_map(|n| n.map_or_else(is_running, |n| task(n).is_running())),
        option::of(0..5u32).prop_map(|n| n.map_or_else(retry_forever, retry)),
        (0..5u32).prop_map(retry),
        once_date().prop_map(|d| d.condition()),
        counting_leaf(option::of(short_name())),
        (
            option::of(short_name()),
            0..7usize,
            0..5usize,
            0..4u32,
            1..3 * 86_400u64
        )
            .prop_map(|(t, i, c, n, s)| compared(status_of(t, i), c, n)
                .past(Duration::from_secs(s))
                .unwrap()),
    ]
}

/// Records in time order: a task, an action (failures often in a row, for `retry`), and the
/// gap since the previous record, from the same instant to days.
fn records() -> impl Strategy<Value = Vec<(usize, Action, i64)>> {
    let action = prop_oneof![
        3 => Just(Action::Run),
        3 => Just(Action::Fail),
        2 => prop::sample::select(Action::ALL.to_vec()),
    ];
    let gap = prop_oneof![0..5 * SECOND, 0..600 * SECOND, 0..3 * 86_400 * SECOND,];
    vec(
        (prop_oneof![2 => Just(0), 1 => 0..TASKS.len()], action, gap),
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn a_pruned_log_answers_as_the_full_log(
        cond in combine(log_leaf()),
        zone in zone(),
        start in start(),
        records in records(),
        later in prop::sample::select(vec![0, 1, 37 * SECOND, 2 * 3600 * SECOND, 40 * 86_400 * SECOND]),
    ) {
        // What a scheduler keeps: the latest of each action for every task, widened by
        // what the condition (owned by `a`) reads.
        let mut keep: Vec<Retention> = vec![Retention::LATEST; TASKS.len()];
        for (task, reach) in cond.log_retention() {
            let i = TASKS.iter().position(|&t| t == task.unwrap_or("a")).unwrap();
            keep[i] = keep[i].widen(reach);
        }
        let mut full = LogIndex::new();
        let mut pruned = LogIndex::new();
        for (task, retention) in TASKS.iter().zip(&keep) {
            pruned.set_retention(task, *retention);
        }
        let mut at = start * SECOND;
        for (task, action, gap) in records {
            at += gap;
            full.record(TASKS[task], action, Timestamp::from_micros(at));
            pruned.record(TASKS[task], action, Timestamp::from_micros(at));
        }
        pruned.prune();
        prop_assert!(pruned.len() <= full.len());

        let now = Timestamp::from_micros(at + later);
        let value = |log: &LogIndex| {
            let cx = EvalContext::new(log).owner("a").zone(zone);
            (
                cond.evaluate(&cx, now).map_err(|e| e.to_string()),
                cond.next_change(&cx, now).map_err(|e| e.to_string()),
            )
        };
        prop_assert_eq!(
            value(&pruned),
            value(&full),
            "kept {} of {} records ({:?})",
            pruned.len(),
            full.len(),
            keep
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Records added in batches (`Extend`, one merge per task: how a queue worker's job
    /// ends reach the index, behind runs started meanwhile) leave the index as adding them
    /// one by one does, whatever their order in time, with and without pruning.
    #[test]
    fn records_added_in_batches_are_held_as_one_by_one(
        records in vec((0..TASKS.len(), prop::sample::select(Action::ALL.to_vec()), 0..50i64), 0..300),
        cuts in vec(0..300usize, 0..12),
        keep_latest in any::<bool>(),
        probes in vec(0..60i64, 8),
    ) {
        let records: Vec<scheduler_core::log::LogRecord> = records
            .into_iter()
            .map(|(task, action, at)| {
                scheduler_core::log::LogRecord::new(TASKS[task], action, Timestamp::from_micros(at * SECOND))
            })
            .collect();
        let mut one_by_one = LogIndex::new();
        let mut batched = LogIndex::new();
        if keep_latest {
            one_by_one.set_default_retention(Some(Retention::LATEST));
            batched.set_default_retention(Some(Retention::LATEST));
        }
        for r in &records {
            one_by_one.record(&r.task, r.action, r.at);
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(records.len())).collect();
        cuts.push(records.len());
        cuts.sort_unstable();
        let mut from = 0;
        for to in cuts {
            batched.extend(records[from..to].iter());
            from = to;
        }
        one_by_one.prune();
        batched.prune();
        for task in TASKS {
            let held = |log: &LogIndex| log.records_of(task).map(|r| (r.action, r.at)).collect::<Vec<_>>();
            if !keep_latest {
                prop_assert_eq!(held(&batched), held(&one_by_one), "records of {}", task);
            }
            for &probe in &probes {
                let at = Timestamp::from_micros(probe * SECOND);
                prop_assert_eq!(batched.live_runs(task, at), one_by_one.live_runs(task, at));
                prop_assert_eq!(batched.last_action(task, at), one_by_one.last_action(task, at));
                let runs = scheduler_core::log::ActionSet::of(Action::Run);
                prop_assert_eq!(batched.latest(task, runs, at), one_by_one.latest(task, runs, at));
                prop_assert_eq!(
                    batched.count(task, scheduler_core::log::ActionSet::ALL, Timestamp::from_micros(0), at),
                    one_by_one.count(task, scheduler_core::log::ActionSet::ALL, Timestamp::from_micros(0), at)
                );
            }
        }
        if !keep_latest {
            prop_assert_eq!(batched.len(), one_by_one.len());
        }
    }
}
