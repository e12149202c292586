//! Wall-clock values that appear inside conditions: a time of day, a position inside an
//! hour or a minute, a weekday with an optional time, a day of the month with an optional
//! time, and lengths of time.
//!
//! Each value knows its offset from the start of its cycle (the day, hour, minute, week or
//! month), which is all the period arithmetic needs. Parsing from text goes through the
//! condition grammar (see [`crate::condition`]), so these types implement `FromStr` there.

// Without the `evaluation` feature (the proc-macro's build) the calendar arithmetic that
// evaluation uses is compiled but not called.
#![cfg_attr(not(feature = "evaluation"), allow(dead_code))]

use std::fmt;
use std::time::Duration;

pub use chrono::Weekday;

use super::civil::{DAY, HOUR, MINUTE, SECOND};

/// A value that is out of range for what it describes.
///
/// Returned by the constructors of the value types and by the typed condition API;
/// the string parser reports the same problems as [`crate::condition::ParseError`]s that
/// point at the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// An hour outside 0..=23.
    #[error("hour {0} is out of range: hours run from 00 to 23")]
    Hour(u32),
    /// An hour outside 1..=12 on a 12-hour clock.
    #[error("hour {0} is out of range for a 12-hour clock: use 1 to 12 with `am` or `pm`")]
    TwelveHour(u32),
    /// A minute outside 0..=59.
    #[error("minute {0} is out of range: minutes run from 00 to 59")]
    Minute(u32),
    /// A second outside 0..=59.
    #[error("second {0} is out of range: seconds run from 00 to 59")]
    Second(u32),
    /// A microsecond outside 0..=999999.
    #[error("microsecond {0} is out of range: microseconds run from 0 to 999999")]
    Microsecond(u32),
    /// A number of quarters outside 0..=4.
    #[error("{0} quarters is out of range: an hour has quarters 0 to 4")]
    Quarter(u32),
    /// `4 quarters`, the end of an hour, used where a span starts (CONDITIONS.md §9.9).
    #[error("`4 quarters` is the end of the hour and cannot start a span")]
    EndOfHourAsStart,
    /// A position in a second outside 0..=1000 milliseconds.
    #[error("{0} ms is out of range: a second has positions 0 to 1000 ms")]
    Millisecond(u32),
    /// A day of the month outside 1..=31.
    #[error("day {0} of the month is out of range: days run from 1 to 31")]
    DayOfMonth(u32),
    /// A length of time that is zero (or shorter than one microsecond, the resolution).
    #[error("a length of time must be at least one microsecond")]
    ZeroDuration(Duration),
    /// A length of time too long to be represented in microseconds.
    #[error("a length of time must be shorter than 100 000 years, got {0:?}")]
    DurationTooLong(Duration),
}

/// A wall-clock time inside a day, from `00:00` to `23:59:59.999999`.
///
/// Written `HH:MM`, `HH:MM:SS`, `HH:MM:SS.ffffff`, or on a 12-hour clock with `am`/`pm`
/// (`10am`, `10:30 PM`) in condition strings.
///
/// ```
/// use scheduler_core::time::TimeOfDay;
/// let t: TimeOfDay = "10:30 pm".parse()?;
/// assert_eq!(t, TimeOfDay::new(22, 30)?);
/// assert_eq!(t.to_string(), "22:30");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay {
    micros: i64,
}

impl TimeOfDay {
    /// Midnight, `00:00`.
    pub const MIDNIGHT: TimeOfDay = TimeOfDay { micros: 0 };

    /// `hour:minute`.
    pub fn new(hour: u32, minute: u32) -> Result<Self, ValueError> {
        Self::with_micros(hour, minute, 0, 0)
    }

    /// `hour:minute:second`.
    pub fn with_seconds(hour: u32, minute: u32, second: u32) -> Result<Self, ValueError> {
        Self::with_micros(hour, minute, second, 0)
    }

    /// `hour:minute:second.microsecond`.
    pub fn with_micros(
        hour: u32,
        minute: u32,
        second: u32,
        microsecond: u32,
    ) -> Result<Self, ValueError> {
        if hour > 23 {
            return Err(ValueError::Hour(hour));
        }
        check_minute_second(minute, second, microsecond)?;
        Ok(TimeOfDay {
            micros: i64::from(hour) * HOUR
                + i64::from(minute) * MINUTE
                + i64::from(second) * SECOND
                + i64::from(microsecond),
        })
    }

    /// The hour, 0 to 23.
    pub fn hour(self) -> u32 {
        (self.micros / HOUR) as u32
    }

    /// The minute, 0 to 59.
    pub fn minute(self) -> u32 {
        (self.micros % HOUR / MINUTE) as u32
    }

    /// The second, 0 to 59.
    pub fn second(self) -> u32 {
        (self.micros % MINUTE / SECOND) as u32
    }

    /// The microsecond, 0 to 999 999.
    pub fn microsecond(self) -> u32 {
        (self.micros % SECOND) as u32
    }

    /// Microseconds since midnight.
    pub(crate) fn offset(self) -> i64 {
        self.micros
    }
}

impl From<TimeOfDay> for chrono::NaiveTime {
    fn from(t: TimeOfDay) -> Self {
        chrono::NaiveTime::from_hms_micro_opt(t.hour(), t.minute(), t.second(), t.microsecond())
            .expect("a TimeOfDay is always a valid time")
    }
}

impl From<chrono::NaiveTime> for TimeOfDay {
    /// Converts a `chrono` time, dropping nanoseconds below one microsecond (a leap
    /// second is read as `:59.999999`).
    fn from(t: chrono::NaiveTime) -> Self {
        use chrono::Timelike;
        let micro = (t.nanosecond() / 1_000).min(999_999);
        TimeOfDay::with_micros(t.hour(), t.minute(), t.second(), micro)
            .expect("a chrono time has fields in range")
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour(), self.minute())?;
        write_seconds_fraction(f, self.second(), self.microsecond(), true)
    }
}

/// A position inside an hour: minutes and seconds past the hour, written `MM:SS`, or a
/// number of quarters (`1 quarter`, `3q`; `4 quarters` is the end of the hour).
///
/// Used by `hourly ...`, `time of hour ...` and `this hour ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfHour {
    micros: i64,
}

impl TimeOfHour {
    /// `minute:second` past the hour.
    pub fn new(minute: u32, second: u32) -> Result<Self, ValueError> {
        Self::with_micros(minute, second, 0)
    }

    /// `minute:second.microsecond` past the hour.
    pub fn with_micros(minute: u32, second: u32, microsecond: u32) -> Result<Self, ValueError> {
        check_minute_second(minute, second, microsecond)?;
        Ok(TimeOfHour {
            micros: i64::from(minute) * MINUTE
                + i64::from(second) * SECOND
                + i64::from(microsecond),
        })
    }

    /// `n` quarters of an hour past the hour, `n` from 0 to 4 (exactly `n` × 15 minutes).
    pub fn quarters(n: u32) -> Result<Self, ValueError> {
        if n > 4 {
            return Err(ValueError::Quarter(n));
        }
        Ok(TimeOfHour {
            micros: i64::from(n) * 15 * MINUTE,
        })
    }

    /// Microseconds since the start of the hour.
    pub(crate) fn offset(self) -> i64 {
        self.micros
    }

    /// Whether this is `4 quarters`, the end of the hour, which may only end a span.
    pub fn is_end_of_hour(self) -> bool {
        self.micros == HOUR
    }
}

impl fmt::Display for TimeOfHour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_end_of_hour() {
            return f.write_str("4 quarters");
        }
        write!(f, "{:02}", self.micros / MINUTE)?;
        let rest = self.micros % MINUTE;
        write_seconds_fraction(f, (rest / SECOND) as u32, (rest % SECOND) as u32, false)
    }
}

/// A position inside a second: milliseconds past the second, written `500` or `250.5`
/// (`1000` is the end of the second).
///
/// Used by `secondly before 500` and the other spans of `secondly`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfSecond {
    micros: i64,
}

impl TimeOfSecond {
    /// `millis` milliseconds past the second, 0 to 1000.
    pub fn from_millis(millis: u32) -> Result<Self, ValueError> {
        if millis > 1000 {
            return Err(ValueError::Millisecond(millis));
        }
        Ok(TimeOfSecond {
            micros: i64::from(millis) * 1_000,
        })
    }

    /// `micros` microseconds past the second, 0 to 1 000 000.
    pub fn from_micros(micros: u32) -> Result<Self, ValueError> {
        if micros > 1_000_000 {
            return Err(ValueError::Millisecond(micros / 1_000));
        }
        Ok(TimeOfSecond {
            micros: i64::from(micros),
        })
    }

    /// Microseconds since the start of the second.
    pub(crate) fn offset(self) -> i64 {
        self.micros
    }
}

impl fmt::Display for TimeOfSecond {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.micros / 1_000)?;
        let frac = self.micros % 1_000;
        if frac != 0 {
            let digits = format!("{frac:03}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

/// A position inside a minute: seconds past the minute, written `SS` or `SS.ffffff`.
///
/// Used by `minutely ...`, `time of minute ...` and `this minute ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfMinute {
    micros: i64,
}

impl TimeOfMinute {
    /// `second` past the minute.
    pub fn new(second: u32) -> Result<Self, ValueError> {
        Self::with_micros(second, 0)
    }

    /// `second.microsecond` past the minute.
    pub fn with_micros(second: u32, microsecond: u32) -> Result<Self, ValueError> {
        check_minute_second(0, second, microsecond)?;
        Ok(TimeOfMinute {
            micros: i64::from(second) * SECOND + i64::from(microsecond),
        })
    }

    /// Microseconds since the start of the minute.
    pub(crate) fn offset(self) -> i64 {
        self.micros
    }
}

impl fmt::Display for TimeOfMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.micros / SECOND)?;
        let micro = self.micros % SECOND;
        if micro != 0 {
            write!(f, ".{}", fraction_digits(micro as u32))?;
        }
        Ok(())
    }
}

/// A position inside a week: a weekday, optionally with a time of day (`Mon`, `Friday 17:30`).
///
/// A bare weekday used as the end of a span covers that whole day (`before Friday` ends
/// at Saturday 00:00), while a weekday with a time ends exactly at that time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeOfWeek {
    weekday: Weekday,
    time: Option<TimeOfDay>,
}

impl TimeOfWeek {
    /// The weekday as a whole day.
    pub fn day(weekday: Weekday) -> Self {
        TimeOfWeek {
            weekday,
            time: None,
        }
    }

    /// The weekday at a time of day.
    pub fn at(weekday: Weekday, time: TimeOfDay) -> Self {
        TimeOfWeek {
            weekday,
            time: Some(time),
        }
    }

    /// The weekday.
    pub fn weekday(self) -> Weekday {
        self.weekday
    }

    /// The time of day, if one was given.
    pub fn time(self) -> Option<TimeOfDay> {
        self.time
    }

    pub(crate) fn start_offset(self) -> i64 {
        i64::from(self.weekday.num_days_from_monday()) * DAY
            + self.time.map_or(0, TimeOfDay::offset)
    }

    pub(crate) fn end_offset(self) -> i64 {
        match self.time {
            Some(t) => i64::from(self.weekday.num_days_from_monday()) * DAY + t.offset(),
            None => i64::from(self.weekday.num_days_from_monday() + 1) * DAY,
        }
    }
}

impl From<Weekday> for TimeOfWeek {
    fn from(weekday: Weekday) -> Self {
        TimeOfWeek::day(weekday)
    }
}

impl fmt::Display for TimeOfWeek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.weekday)?;
        if let Some(t) = self.time {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

/// A position inside a month: a day of the month (1 to 31), optionally with a time of day
/// (`5th`, `15.`, `1st 08:00`).
///
/// A day past the end of a shorter month is clamped to that month's last day, keeping
/// its time of day: `monthly starting 31st` starts on April 30, and `monthly after 30th`
/// opens on February's last day (CONDITIONS.md §9.10). An end past a month's end closes
/// the span at the end of the month. A bare day used as the end of a span covers that
/// whole day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeOfMonth {
    day: u8,
    time: Option<TimeOfDay>,
}

impl TimeOfMonth {
    /// Day `day` (1 to 31) as a whole day.
    pub fn day(day: u32) -> Result<Self, ValueError> {
        if !(1..=31).contains(&day) {
            return Err(ValueError::DayOfMonth(day));
        }
        Ok(TimeOfMonth {
            day: day as u8,
            time: None,
        })
    }

    /// Day `day` (1 to 31) at a time of day.
    pub fn at(day: u32, time: TimeOfDay) -> Result<Self, ValueError> {
        Ok(TimeOfMonth {
            time: Some(time),
            ..Self::day(day)?
        })
    }

    /// The day of the month, 1 to 31.
    pub fn day_of_month(self) -> u32 {
        u32::from(self.day)
    }

    /// The time of day, if one was given.
    pub fn time(self) -> Option<TimeOfDay> {
        self.time
    }

    pub(crate) fn start_offset(self) -> i64 {
        i64::from(self.day - 1) * DAY + self.time.map_or(0, TimeOfDay::offset)
    }

    pub(crate) fn end_offset(self) -> i64 {
        match self.time {
            Some(t) => i64::from(self.day - 1) * DAY + t.offset(),
            None => i64::from(self.day) * DAY,
        }
    }
}

impl fmt::Display for TimeOfMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.day {
            1 | 21 | 31 => "st",
            2 | 22 => "nd",
            3 | 23 => "rd",
            _ => "th",
        };
        write!(f, "{}{suffix}", self.day)?;
        if let Some(t) = self.time {
            write!(f, " {t}")?;
        }
        Ok(())
    }
}

fn check_minute_second(minute: u32, second: u32, microsecond: u32) -> Result<(), ValueError> {
    if minute > 59 {
        return Err(ValueError::Minute(minute));
    }
    if second > 59 {
        return Err(ValueError::Second(second));
    }
    if microsecond > 999_999 {
        return Err(ValueError::Microsecond(microsecond));
    }
    Ok(())
}

/// Writes `:SS` and `.ffffff` as needed; with `optional`, nothing is written for zero seconds.
fn write_seconds_fraction(
    f: &mut fmt::Formatter<'_>,
    second: u32,
    micro: u32,
    optional: bool,
) -> fmt::Result {
    if optional && second == 0 && micro == 0 {
        return Ok(());
    }
    write!(f, ":{second:02}")?;
    if micro != 0 {
        write!(f, ".{}", fraction_digits(micro))?;
    }
    Ok(())
}

/// The digits of a fraction of a second given in microseconds, without trailing zeros.
fn fraction_digits(micro: u32) -> String {
    let digits = format!("{micro:06}");
    digits.trim_end_matches('0').to_owned()
}

/// The largest length of time a condition accepts: about 100 000 years, far beyond any
/// schedule and well inside `i64` microseconds.
const MAX_INTERVAL_MICROS: u128 = 100_000 * 366 * DAY as u128;

/// A positive length of time at microsecond resolution: the `10 minutes` of
/// `every 10 minutes`, `past 2 hours` and `scheduler started 5 minutes ago`.
///
/// Written in conditions as a sum of parts (`1 hour 30 minutes`, `1h30m`, `1.5 hours`,
/// `2 hours, 30 minutes`) and/or a final `HH:MM:SS`; printed as days, hours, minutes and
/// seconds.
///
/// ```
/// use std::time::Duration;
/// use scheduler_core::time::Interval;
/// let i: Interval = "1h30m".parse()?;
/// assert_eq!(i.as_duration(), Duration::from_secs(5400));
/// assert_eq!(i.to_string(), "1 hour 30 minutes");
/// assert!(Interval::new(Duration::ZERO).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    micros: i64,
}

impl Interval {
    /// The interval of `d`, truncated to whole microseconds (the resolution of the
    /// scheduler's clock). Zero, and lengths beyond 100 000 years, are rejected.
    pub fn new(d: Duration) -> Result<Interval, ValueError> {
        let micros = d.as_micros();
        if micros == 0 {
            return Err(ValueError::ZeroDuration(d));
        }
        if micros > MAX_INTERVAL_MICROS {
            return Err(ValueError::DurationTooLong(d));
        }
        Ok(Interval {
            micros: micros as i64,
        })
    }

    /// The interval as a standard duration.
    pub fn as_duration(self) -> Duration {
        Duration::from_micros(self.micros as u64)
    }

    /// Microseconds.
    pub(crate) fn micros(self) -> i64 {
        self.micros
    }
}

impl TryFrom<Duration> for Interval {
    type Error = ValueError;

    fn try_from(d: Duration) -> Result<Self, Self::Error> {
        Interval::new(d)
    }
}

impl From<Interval> for Duration {
    fn from(i: Interval) -> Duration {
        i.as_duration()
    }
}

impl fmt::Display for Interval {
    /// Days, hours, minutes and seconds with a decimal fraction, largest first
    /// (`1 day 2 hours 30 minutes`, `0.5 seconds`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut micros = self.micros;
        let mut first = true;
        for (unit, name) in [(DAY, "day"), (HOUR, "hour"), (MINUTE, "minute")] {
            let n = micros / unit;
            micros %= unit;
            if n > 0 {
                if !first {
                    f.write_str(" ")?;
                }
                write!(f, "{n} {name}{}", if n == 1 { "" } else { "s" })?;
                first = false;
            }
        }
        if micros > 0 || first {
            if !first {
                f.write_str(" ")?;
            }
            let whole = micros / SECOND;
            let frac = micros % SECOND;
            if frac == 0 {
                write!(f, "{whole} second{}", if whole == 1 { "" } else { "s" })?;
            } else {
                write!(f, "{whole}.{} seconds", fraction_digits(frac as u32))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dur(d: Duration) -> String {
        Interval::new(d).unwrap().to_string()
    }

    #[test]
    fn time_of_day_display() {
        assert_eq!(TimeOfDay::new(7, 5).unwrap().to_string(), "07:05");
        assert_eq!(
            TimeOfDay::with_seconds(7, 5, 9).unwrap().to_string(),
            "07:05:09"
        );
        assert_eq!(
            TimeOfDay::with_micros(23, 59, 59, 500_000)
                .unwrap()
                .to_string(),
            "23:59:59.5"
        );
        assert_eq!(
            TimeOfDay::with_micros(0, 0, 0, 1).unwrap().to_string(),
            "00:00:00.000001"
        );
        assert_eq!(TimeOfDay::new(24, 0), Err(ValueError::Hour(24)));
        assert_eq!(TimeOfDay::new(10, 60), Err(ValueError::Minute(60)));
    }

    #[test]
    fn hour_and_minute_positions() {
        assert_eq!(
            TimeOfHour::quarters(1).unwrap(),
            TimeOfHour::new(15, 0).unwrap()
        );
        assert_eq!(TimeOfHour::quarters(4).unwrap().to_string(), "4 quarters");
        assert_eq!(TimeOfHour::new(5, 30).unwrap().to_string(), "05:30");
        assert_eq!(TimeOfMinute::new(7).unwrap().to_string(), "07");
        assert_eq!(
            TimeOfMinute::with_micros(7, 250_000).unwrap().to_string(),
            "07.25"
        );
        assert_eq!(TimeOfHour::quarters(5), Err(ValueError::Quarter(5)));
    }

    #[test]
    fn week_and_month_offsets() {
        let fri = TimeOfWeek::day(Weekday::Fri);
        assert_eq!(fri.start_offset(), 4 * DAY);
        assert_eq!(fri.end_offset(), 5 * DAY);
        let fri_10 = TimeOfWeek::at(Weekday::Fri, TimeOfDay::new(10, 0).unwrap());
        assert_eq!(fri_10.end_offset(), 4 * DAY + 10 * HOUR);
        let fifth = TimeOfMonth::day(5).unwrap();
        assert_eq!(fifth.start_offset(), 4 * DAY);
        assert_eq!(fifth.end_offset(), 5 * DAY);
        assert_eq!(fifth.to_string(), "5th");
        assert_eq!(TimeOfMonth::day(22).unwrap().to_string(), "22nd");
        assert_eq!(TimeOfMonth::day(0), Err(ValueError::DayOfMonth(0)));
        assert_eq!(TimeOfMonth::day(32), Err(ValueError::DayOfMonth(32)));
    }

    #[test]
    fn duration_canonical_form() {
        assert_eq!(dur(Duration::from_secs(10)), "10 seconds");
        assert_eq!(dur(Duration::from_secs(1)), "1 second");
        assert_eq!(dur(Duration::from_secs(5400)), "1 hour 30 minutes");
        assert_eq!(dur(Duration::from_millis(500)), "0.5 seconds");
        assert_eq!(
            dur(Duration::from_secs(86_400 + 3 * 3600 + 61) + Duration::from_micros(1)),
            "1 day 3 hours 1 minute 1.000001 seconds"
        );
        assert!(Interval::new(Duration::from_nanos(999)).is_err());
        assert_eq!(
            Interval::new(Duration::from_nanos(1_999))
                .unwrap()
                .as_duration(),
            Duration::from_micros(1)
        );
    }
}
