//! Calendar arithmetic on plain integers.
//!
//! Evaluation runs on every wake-up of the scheduler, so the period code works on
//! microsecond counts instead of `chrono` values. This module holds the few calendar
//! facts it needs: unit lengths, days ↔ civil dates (proleptic Gregorian, the algorithms
//! of Howard Hinnant's "chrono-compatible low-level date algorithms"), month lengths
//! and weekdays.

// Without the `evaluation` feature (the proc-macro's build) the calendar arithmetic that
// evaluation uses is compiled but not called.
#![cfg_attr(not(feature = "evaluation"), allow(dead_code))]

/// Microseconds in a second.
pub(crate) const SECOND: i64 = 1_000_000;
/// Microseconds in a minute.
pub(crate) const MINUTE: i64 = 60 * SECOND;
/// Microseconds in an hour.
pub(crate) const HOUR: i64 = 60 * MINUTE;
/// Microseconds in a day (wall-clock days have exactly this length on the wall-clock axis).
pub(crate) const DAY: i64 = 24 * HOUR;
/// Microseconds in a week.
pub(crate) const WEEK: i64 = 7 * DAY;

/// Days since 1970-01-01 of the civil date `y-m-d` (`m` in 1..=12, `d` in 1..=31).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400; // [0, 399]
    let m = i64::from(m);
    let d = i64::from(d);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The civil date `(year, month, day)` of a day count since 1970-01-01.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32; // [1, 12]
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Whether `y` is a leap year of the Gregorian calendar.
pub(crate) fn is_leap_year(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

/// Number of days in month `m` of year `y`.
pub(crate) fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap_year(y) => 29,
        _ => 28,
    }
}

/// Weekday of a day count since 1970-01-01, Monday = 0 … Sunday = 6.
pub(crate) fn weekday_from_days(days: i64) -> i64 {
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    (days + 3).rem_euclid(7)
}

/// The day count containing the wall-clock microsecond `wall`.
pub(crate) fn day_of(wall: i64) -> i64 {
    wall.div_euclid(DAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip_over_four_centuries() {
        let start = days_from_civil(1900, 1, 1);
        let end = days_from_civil(2300, 12, 31);
        let mut expected = (1900, 1, 1);
        for z in start..=end {
            let got = civil_from_days(z);
            assert_eq!(got, expected, "day {z}");
            assert_eq!(days_from_civil(got.0, got.1, got.2), z);
            let (y, m, d) = expected;
            expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
        }
    }

    #[test]
    fn known_weekdays() {
        assert_eq!(weekday_from_days(0), 3); // 1970-01-01 Thursday
        assert_eq!(weekday_from_days(days_from_civil(2024, 1, 1)), 0); // Monday
        assert_eq!(weekday_from_days(days_from_civil(2024, 1, 7)), 6); // Sunday
        assert_eq!(weekday_from_days(days_from_civil(1969, 12, 31)), 2); // Wednesday
    }

    #[test]
    fn leap_years() {
        assert!(is_leap_year(2000));
        assert!(is_leap_year(2024));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2100));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
    }
}
