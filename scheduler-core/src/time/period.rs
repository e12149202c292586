//! Anchored periods: a part of a repeating cycle (minute, hour, day, week or month) such
//! as "between 07:00 and 10:00 of every day".
//!
//! A [`Period`] is plain data (what the condition says). [`Bounds`] is its arithmetic
//! form: offsets from the start of the cycle, in microseconds, on the *wall-clock* axis
//! (local date and time written as if it were UTC). Everything here is pure integer
//! arithmetic; time zones are applied by the caller (see `zone`).
//!
//! The rules follow Rocketry's anchored intervals (CONDITIONS.md §2, reference §2):
//! membership is right-open (`start <= offset < end`), a start after the end wraps around
//! the cycle end, `start == end` is the whole cycle re-anchored at `start`, `on X` is one
//! unit long, months are laid out on a 31-day scope whose days past the end of a short
//! month are clamped to its last day (CONDITIONS.md §9.10), and history windows are
//! closed at both ends.

// Without the `evaluation` feature (the proc-macro's build) the calendar arithmetic that
// evaluation uses is compiled but not called.
#![cfg_attr(not(feature = "evaluation"), allow(dead_code))]

use super::civil::{
    DAY, HOUR, MINUTE, SECOND, WEEK, civil_from_days, day_of, days_from_civil, days_in_month,
    weekday_from_days,
};
use super::values::{
    TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond, TimeOfWeek, ValueError,
};

/// How a period is cut out of its cycle.
///
/// `P` is the kind of point the cycle uses: [`TimeOfDay`] for days, [`TimeOfWeek`] for
/// weeks, and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span<P> {
    /// The whole cycle (`daily`).
    Full,
    /// From the start of the cycle up to the point (`daily before 10:00`).
    Before(P),
    /// From the point to the end of the cycle (`daily after 07:00`).
    After(P),
    /// From the first point up to the second; when the second comes first in the cycle the
    /// span wraps around the cycle end (`daily between 22:00 and 02:00`).
    Between(P, P),
    /// The whole cycle, re-anchored to begin at the point (`daily starting 10:00`).
    Starting(P),
    /// One unit beginning at the point: an hour of a day, a minute of an hour, a second of
    /// a minute, a day of a week or month (`daily on 14:30` is 14:30 to 15:30).
    On(P),
}

impl<P> Span<P> {
    /// Whether this is the whole cycle anchored at its natural start.
    pub fn is_full(&self) -> bool {
        matches!(self, Span::Full)
    }

    /// The point where the span starts, if it names one (all spans but `Full` and
    /// `Before`).
    pub fn start(&self) -> Option<&P> {
        match self {
            Span::Full | Span::Before(_) => None,
            Span::After(s) | Span::Between(s, _) | Span::Starting(s) | Span::On(s) => Some(s),
        }
    }
}

/// An anchored period: a unit of the calendar and the span of it that counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// A span of every second, in milliseconds (`secondly`, `secondly before 500`).
    Second(Span<TimeOfSecond>),
    /// A span of every minute (`minutely`, `this minute`, `time of minute`).
    Minute(Span<TimeOfMinute>),
    /// A span of every hour (`hourly`, `this hour`, `time of hour`).
    Hour(Span<TimeOfHour>),
    /// A span of every day (`daily`, `today`, `time of day`).
    Day(Span<TimeOfDay>),
    /// A span of every week, Monday to Sunday (`weekly`, `this week`, `time of week`).
    Week(Span<TimeOfWeek>),
    /// A span of every month (`monthly`, `this month`, `time of month`); days past the end
    /// of a short month are clamped to its last day.
    Month(Span<TimeOfMonth>),
}

impl Period {
    /// Whether the span is [`Span::Full`].
    pub fn is_full_cycle(&self) -> bool {
        match self {
            Period::Second(s) => s.is_full(),
            Period::Minute(s) => s.is_full(),
            Period::Hour(s) => s.is_full(),
            Period::Day(s) => s.is_full(),
            Period::Week(s) => s.is_full(),
            Period::Month(s) => s.is_full(),
        }
    }

    /// Checks what the point types cannot check alone: `4 quarters`, the end of an hour,
    /// only ends a span (`hourly before 4 quarters`); as a start it would be read as the
    /// next hour's `00:00`, which is better written so (CONDITIONS.md §9.9).
    pub fn check(&self) -> Result<(), ValueError> {
        match self {
            Period::Hour(span) if span.start().is_some_and(|s| s.is_end_of_hour()) => {
                Err(ValueError::EndOfHourAsStart)
            }
            _ => Ok(()),
        }
    }

    /// The arithmetic form of the period.
    pub(crate) fn bounds(&self) -> Bounds {
        match self {
            Period::Second(span) => span_bounds(Unit::Second, span),
            Period::Minute(span) => span_bounds(Unit::Minute, span),
            Period::Hour(span) => span_bounds(Unit::Hour, span),
            Period::Day(span) => span_bounds(Unit::Day, span),
            Period::Week(span) => span_bounds(Unit::Week, span),
            Period::Month(span) => span_bounds(Unit::Month, span),
        }
    }
}

/// A point of a cycle with its offsets as a span start and as a span end.
pub(crate) trait CyclePoint: Copy {
    fn start_offset(self) -> i64;
    /// Differs from the start offset only for bare days of a week or month, which end at
    /// the end of that day.
    fn end_offset(self) -> i64 {
        self.start_offset()
    }
}

impl CyclePoint for TimeOfSecond {
    fn start_offset(self) -> i64 {
        self.offset()
    }
}

impl CyclePoint for TimeOfMinute {
    fn start_offset(self) -> i64 {
        self.offset()
    }
}

impl CyclePoint for TimeOfHour {
    fn start_offset(self) -> i64 {
        self.offset()
    }
}

impl CyclePoint for TimeOfDay {
    fn start_offset(self) -> i64 {
        self.offset()
    }
}

impl CyclePoint for TimeOfWeek {
    fn start_offset(self) -> i64 {
        TimeOfWeek::start_offset(self)
    }
    fn end_offset(self) -> i64 {
        TimeOfWeek::end_offset(self)
    }
}

impl CyclePoint for TimeOfMonth {
    fn start_offset(self) -> i64 {
        TimeOfMonth::start_offset(self)
    }
    fn end_offset(self) -> i64 {
        TimeOfMonth::end_offset(self)
    }
}

fn span_bounds<P: CyclePoint>(unit: Unit, span: &Span<P>) -> Bounds {
    let scope = unit.scope();
    let (start, end) = match *span {
        Span::Full => (0, scope),
        Span::Before(e) => (0, e.end_offset()),
        Span::After(s) => (s.start_offset(), scope),
        Span::Between(s, e) => (s.start_offset(), e.end_offset()),
        Span::Starting(s) => (s.start_offset(), s.start_offset()),
        Span::On(x) => {
            let s = x.start_offset();
            let e = s + unit.resolution();
            (s, if e >= scope { e - scope } else { e })
        }
    };
    Bounds::new(unit, start, end)
}

/// The calendar units periods are anchored to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
}

impl Unit {
    /// The length of the cycle's offset axis (31 days for months).
    pub(crate) fn scope(self) -> i64 {
        match self {
            Unit::Second => SECOND,
            Unit::Minute => MINUTE,
            Unit::Hour => HOUR,
            Unit::Day => DAY,
            Unit::Week => WEEK,
            Unit::Month => 31 * DAY,
        }
    }

    /// The length of `on X`.
    fn resolution(self) -> i64 {
        match self {
            Unit::Second => 1_000,
            Unit::Minute => SECOND,
            Unit::Hour => MINUTE,
            Unit::Day => HOUR,
            Unit::Week | Unit::Month => DAY,
        }
    }

    /// Start of the cycle containing the wall-clock instant.
    pub(crate) fn cycle_start(self, wall: i64) -> i64 {
        match self {
            Unit::Second => wall - wall.rem_euclid(SECOND),
            Unit::Minute => wall - wall.rem_euclid(MINUTE),
            Unit::Hour => wall - wall.rem_euclid(HOUR),
            Unit::Day => wall - wall.rem_euclid(DAY),
            Unit::Week => {
                let d = day_of(wall);
                (d - weekday_from_days(d)) * DAY
            }
            Unit::Month => {
                let (y, m, _) = civil_from_days(day_of(wall));
                days_from_civil(y, m, 1) * DAY
            }
        }
    }

    /// Real length of the cycle starting at `cycle_start`.
    pub(crate) fn cycle_len(self, cycle_start: i64) -> i64 {
        match self {
            Unit::Month => {
                let (y, m, _) = civil_from_days(day_of(cycle_start));
                i64::from(days_in_month(y, m)) * DAY
            }
            _ => self.scope(),
        }
    }

    fn prev_cycle_start(self, cycle_start: i64) -> i64 {
        self.cycle_start(cycle_start - 1)
    }

    fn next_cycle_start(self, cycle_start: i64) -> i64 {
        cycle_start + self.cycle_len(cycle_start)
    }
}

/// How many cycles back a window can start, with one to spare: every cycle has its start
/// (clamped to the last day in short months), so a window starts at the latest in the
/// previous cycle.
const LOOKBACK_CYCLES: usize = 2;

/// A period as offsets into its cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Bounds {
    unit: Unit,
    /// Offset of the start (for a full cycle: of the anchor where each cycle begins).
    start: i64,
    /// Offset of the (exclusive) end; smaller than `start` for wrapping spans.
    end: i64,
    /// Every instant belongs to the period; cycles begin at `start`.
    full: bool,
}

/// The history window of a period at an instant, on the wall-clock axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WallWindow {
    /// First wall-clock instant of the window (inclusive).
    pub(crate) start: i64,
    /// Last wall-clock instant (inclusive); `None` when the window runs up to now.
    pub(crate) end: Option<i64>,
}

impl Bounds {
    fn new(unit: Unit, start: i64, end: i64) -> Bounds {
        let scope = unit.scope();
        let full = start == end || (start == 0 && end == scope) || (start == scope && end == 0);
        // `secondly after 1000` anchors at the end of the second, which is the next
        // second's start. (`4 quarters`, the end of an hour, cannot start a span:
        // CONDITIONS.md §9.9.)
        let start = if start >= scope { start - scope } else { start };
        Bounds {
            unit,
            start,
            end,
            full,
        }
    }

    /// How far back from any instant its [`window`](Self::window) can start, with a margin
    /// of two days for the distance between wall-clock and real time in any zone.
    pub(crate) fn max_reach(&self) -> i64 {
        (LOOKBACK_CYCLES as i64 + 1) * self.unit.scope() + 2 * DAY
    }

    /// Whether every instant belongs to the period.
    pub(crate) fn is_full(&self) -> bool {
        self.full
    }

    /// The start offset in the cycle beginning at `cs`.
    ///
    /// A day of the month past the end of a short month is clamped to the month's last
    /// day, keeping its time of day (CONDITIONS.md §9.10): `starting 31st 10:00` starts
    /// on April 30 at 10:00. Other units have cycles of one length, so nothing moves.
    fn start_in(&self, cs: i64) -> i64 {
        let len = self.unit.cycle_len(cs);
        if self.start >= len {
            len - DAY + self.start.rem_euclid(DAY)
        } else {
            self.start
        }
    }

    /// The end offset in the cycle beginning at `cs`: an end past the end of a short month
    /// closes at the month's end (CONDITIONS.md §9.10), which keeps every start at or
    /// before its end in the same month.
    fn end_in(&self, cs: i64) -> i64 {
        self.end.min(self.unit.cycle_len(cs))
    }

    /// Whether the wall-clock instant lies inside the period.
    pub(crate) fn contains(&self, wall: i64) -> bool {
        if self.full {
            return true;
        }
        let cs = self.unit.cycle_start(wall);
        let offset = wall - cs;
        let (start, end) = (self.start_in(cs), self.end_in(cs));
        if self.start < self.end {
            start <= offset && offset < end
        } else {
            // A wrapping span: the occurrence that started in the previous cycle runs up
            // to `end`, the next one starts at `start`.
            offset >= start || offset < end
        }
    }

    /// The latest start point (or cycle anchor) at or before `wall`.
    fn latest_start_at_or_before(&self, wall: i64) -> i64 {
        let mut cs = self.unit.cycle_start(wall);
        loop {
            // Every cycle has a start (clamped in short months), so this ends at the
            // latest in the previous cycle.
            let start = cs + self.start_in(cs);
            if start <= wall {
                return start;
            }
            cs = self.unit.prev_cycle_start(cs);
        }
    }

    /// The latest end point at or before `wall`.
    ///
    /// In a non-wrapping span the occurrence starting in a cycle ends in it; in a wrapping
    /// one the occurrence starting in the previous cycle ends in this one. Either way each
    /// cycle holds exactly one end.
    fn latest_end_at_or_before(&self, wall: i64) -> i64 {
        let mut cs = self.unit.cycle_start(wall);
        loop {
            let end = cs + self.end_in(cs);
            if end <= wall {
                return end;
            }
            cs = self.unit.prev_cycle_start(cs);
        }
    }

    /// The window of history that "the current or most recent occurrence" of the period
    /// covers at `wall` (Rocketry's `rollback`).
    ///
    /// For a full cycle it runs from the latest cycle start up to now; exactly at a cycle
    /// start it is the previous cycle. For other spans it is the running occurrence up to
    /// now, or the last finished occurrence with both ends.
    pub(crate) fn window(&self, wall: i64) -> WallWindow {
        if self.full {
            let mut start = self.latest_start_at_or_before(wall);
            if start == wall {
                start = self.latest_start_at_or_before(wall - 1);
            }
            return WallWindow { start, end: None };
        }
        let start = self.latest_start_at_or_before(wall);
        let end = (!self.contains(wall)).then(|| self.latest_end_at_or_before(wall));
        WallWindow { start, end }
    }

    /// The smallest wall-clock instant after `wall` at which membership or the window can
    /// change. It may be an instant where nothing changes; it is never later than a change.
    pub(crate) fn next_boundary(&self, wall: i64) -> i64 {
        let mut best = i64::MAX;
        let mut consider = |p: i64| {
            if p > wall && p < best {
                best = p;
            }
        };
        let mut cs = self.unit.cycle_start(wall);
        for _ in 0..3 {
            consider(cs);
            let start = cs + self.start_in(cs);
            consider(start);
            // A full cycle's window moves one microsecond after its anchor.
            consider(start + 1);
            consider(cs + self.end_in(cs));
            cs = self.unit.next_cycle_start(cs);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::super::values::Weekday;
    use super::*;

    fn wall(y: i64, m: u32, d: u32, h: i64, min: i64, s: i64) -> i64 {
        days_from_civil(y, m, d) * DAY + h * HOUR + min * MINUTE + s * SECOND
    }

    fn tod(h: u32, m: u32) -> TimeOfDay {
        TimeOfDay::new(h, m).unwrap()
    }

    #[test]
    fn daily_between_membership_and_windows() {
        let b = Period::Day(Span::Between(tod(7, 0), tod(10, 0))).bounds();
        assert!(!b.contains(wall(2024, 1, 2, 6, 59, 59)));
        assert!(b.contains(wall(2024, 1, 2, 7, 0, 0)));
        assert!(!b.contains(wall(2024, 1, 2, 10, 0, 0)));
        // Before the window opens: yesterday's window, closed.
        assert_eq!(
            b.window(wall(2024, 1, 2, 6, 0, 0)),
            WallWindow {
                start: wall(2024, 1, 1, 7, 0, 0),
                end: Some(wall(2024, 1, 1, 10, 0, 0))
            }
        );
        // Inside: today's window up to now.
        assert_eq!(
            b.window(wall(2024, 1, 2, 8, 0, 0)),
            WallWindow {
                start: wall(2024, 1, 2, 7, 0, 0),
                end: None
            }
        );
        // After: today's window, closed.
        assert_eq!(
            b.window(wall(2024, 1, 2, 11, 0, 0)).end,
            Some(wall(2024, 1, 2, 10, 0, 0))
        );
    }

    #[test]
    fn full_cycle_boundary_reads_previous_cycle() {
        let b = Period::Day(Span::Full).bounds();
        let midnight = wall(2024, 1, 2, 0, 0, 0);
        assert_eq!(b.window(midnight).start, wall(2024, 1, 1, 0, 0, 0));
        assert_eq!(b.window(midnight + 1).start, midnight);
        assert_eq!(b.next_boundary(midnight - 5), midnight);
        assert_eq!(b.next_boundary(midnight), midnight + 1);
    }

    #[test]
    fn wrapping_day_window() {
        let b = Period::Day(Span::Between(tod(22, 0), tod(2, 0))).bounds();
        assert!(b.contains(wall(2024, 1, 2, 1, 0, 0)));
        assert!(b.contains(wall(2024, 1, 2, 22, 0, 0)));
        assert!(!b.contains(wall(2024, 1, 2, 2, 0, 0)));
        assert_eq!(
            b.window(wall(2024, 1, 2, 1, 0, 0)).start,
            wall(2024, 1, 1, 22, 0, 0)
        );
        assert_eq!(
            b.window(wall(2024, 1, 2, 12, 0, 0)),
            WallWindow {
                start: wall(2024, 1, 1, 22, 0, 0),
                end: Some(wall(2024, 1, 2, 2, 0, 0))
            }
        );
    }

    #[test]
    fn on_is_one_unit_and_wraps() {
        let b = Period::Day(Span::On(tod(23, 30))).bounds();
        assert!(b.contains(wall(2024, 1, 2, 0, 15, 0)));
        assert!(!b.contains(wall(2024, 1, 2, 0, 30, 0)));
        let w = Period::Week(Span::On(TimeOfWeek::day(Weekday::Sun))).bounds();
        assert!(w.contains(wall(2024, 1, 7, 23, 0, 0)));
        assert!(!w.contains(wall(2024, 1, 8, 0, 0, 0)));
    }

    #[test]
    fn week_end_day_is_ceiled() {
        let b = Period::Week(Span::Before(TimeOfWeek::day(Weekday::Fri))).bounds();
        assert!(b.contains(wall(2024, 1, 5, 23, 59, 59)));
        assert!(!b.contains(wall(2024, 1, 6, 0, 0, 0)));
        let tue = Period::Week(Span::Between(
            TimeOfWeek::day(Weekday::Tue),
            TimeOfWeek::day(Weekday::Tue),
        ))
        .bounds();
        assert!(!tue.full);
        assert!(tue.contains(wall(2024, 1, 2, 12, 0, 0)));
        assert!(!tue.contains(wall(2024, 1, 3, 0, 0, 0)));
    }

    #[test]
    fn month_positions_past_short_months_clamp_to_the_last_day() {
        let b = Period::Month(Span::After(TimeOfMonth::day(30).unwrap())).bounds();
        // February 2024 has 29 days: the 30th is read as the 29th.
        assert!(!b.contains(wall(2024, 2, 28, 23, 59, 59)));
        assert!(b.contains(wall(2024, 2, 29, 0, 0, 0)));
        assert!(b.contains(wall(2024, 3, 30, 0, 0, 0)));
        assert!(!b.contains(wall(2024, 3, 29, 23, 0, 0)));
        assert_eq!(
            b.window(wall(2024, 2, 15, 0, 0, 0)),
            WallWindow {
                start: wall(2024, 1, 30, 0, 0, 0),
                end: Some(wall(2024, 2, 1, 0, 0, 0))
            }
        );
        let on_31 = Period::Month(Span::On(TimeOfMonth::day(31).unwrap())).bounds();
        assert!(!on_31.contains(wall(2024, 4, 29, 23, 59, 59)));
        assert!(on_31.contains(wall(2024, 4, 30, 12, 0, 0)));
        assert!(!on_31.contains(wall(2024, 5, 1, 0, 0, 0)));
        assert!(on_31.contains(wall(2024, 5, 31, 12, 0, 0)));
        assert!(!on_31.contains(wall(2024, 6, 1, 0, 0, 0)));
        assert!(on_31.contains(wall(2023, 2, 28, 0, 0, 0)));
    }

    #[test]
    fn monthly_starting_31st_has_one_cycle_per_month() {
        let b = Period::Month(Span::Starting(TimeOfMonth::day(31).unwrap())).bounds();
        // After Mar 31, the next cycle starts on Apr 30, then May 31.
        assert_eq!(
            b.window(wall(2024, 4, 10, 12, 0, 0)).start,
            wall(2024, 3, 31, 0, 0, 0)
        );
        assert_eq!(
            b.window(wall(2024, 5, 2, 12, 0, 0)).start,
            wall(2024, 4, 30, 0, 0, 0)
        );
        assert_eq!(
            b.next_boundary(wall(2024, 4, 10, 0, 0, 0)),
            wall(2024, 4, 30, 0, 0, 0)
        );
        let t = TimeOfDay::new(10, 0).unwrap();
        let at_ten = Period::Month(Span::Starting(TimeOfMonth::at(31, t).unwrap())).bounds();
        assert_eq!(
            at_ten.window(wall(2023, 3, 1, 0, 0, 0)).start,
            wall(2023, 2, 28, 10, 0, 0)
        );
    }

    #[test]
    fn month_windows_close_at_the_end_of_a_short_month() {
        // `this month after 23rd` in February covers Feb 23 to the end of February.
        let b = Period::Month(Span::After(TimeOfMonth::day(23).unwrap())).bounds();
        assert_eq!(
            b.window(wall(2023, 3, 5, 0, 0, 0)),
            WallWindow {
                start: wall(2023, 2, 23, 0, 0, 0),
                end: Some(wall(2023, 3, 1, 0, 0, 0))
            }
        );
        // An end later in the day than the start, both past the month's end: the span
        // opens on the last day and closes at the month's end.
        let t = |h| TimeOfDay::new(h, 0).unwrap();
        let late = Period::Month(Span::Between(
            TimeOfMonth::at(30, t(10)).unwrap(),
            TimeOfMonth::at(31, t(9)).unwrap(),
        ))
        .bounds();
        assert!(!late.contains(wall(2023, 2, 28, 9, 59, 59)));
        assert!(late.contains(wall(2023, 2, 28, 10, 0, 0)));
        assert!(late.contains(wall(2023, 2, 28, 23, 59, 59)));
        assert!(!late.contains(wall(2023, 3, 1, 0, 0, 0)));
        let between = Period::Month(Span::Between(
            TimeOfMonth::day(30).unwrap(),
            TimeOfMonth::day(31).unwrap(),
        ))
        .bounds();
        assert!(between.contains(wall(2024, 4, 30, 12, 0, 0)));
        assert!(!between.contains(wall(2024, 4, 29, 12, 0, 0)));
    }

    #[test]
    fn month_full_cycle_uses_real_lengths() {
        let b = Period::Month(Span::Full).bounds();
        assert_eq!(
            b.window(wall(2024, 3, 1, 0, 0, 0)).start,
            wall(2024, 2, 1, 0, 0, 0)
        );
        assert_eq!(
            b.next_boundary(wall(2024, 2, 10, 0, 0, 0)),
            wall(2024, 3, 1, 0, 0, 0)
        );
    }
}
