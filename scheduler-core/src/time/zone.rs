//! Conversions between real instants (UTC microseconds) and wall-clock time in an IANA
//! zone, with the daylight-saving rules of the condition language.
//!
//! Conditions read the wall clock; log records are UTC. Where the wall clock is not a
//! one-to-one image of real time:
//!
//! * in a **repeated hour** (clocks go back), a wall-clock instant happens twice. Window
//!   starts map to the *first* pass and closed window ends to the *second*, so a window
//!   covers both passes and a once-per-period task runs once in it;
//! * in a **skipped hour** (clocks go forward), a wall-clock instant never happens. Any
//!   boundary inside the gap maps to the first instant after it, so a window that lies
//!   entirely inside the gap is empty that day, and one that straddles it is shortened.
//!
//! chrono-tz keeps its transition table private, so [`next_transition`] finds offset
//! changes by probing a day at a time and bisecting; zones change their offset at most a
//! few times a year and never twice within a day.

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::{GapInfo, Tz};

use super::civil::{DAY, SECOND};

/// Whether the zone is UTC under one of its names (the fast path: wall clock = real time).
fn is_utc(tz: Tz) -> bool {
    matches!(
        tz,
        Tz::UTC
            | Tz::Etc__UTC
            | Tz::Etc__UCT
            | Tz::UCT
            | Tz::Etc__Universal
            | Tz::Universal
            | Tz::Etc__Zulu
            | Tz::Zulu
            | Tz::Etc__GMT
            | Tz::GMT
    )
}

fn naive_of_seconds(seconds: i64) -> NaiveDateTime {
    DateTime::from_timestamp(seconds, 0)
        .unwrap_or(DateTime::<chrono::Utc>::MAX_UTC)
        .naive_utc()
}

/// UTC offset of the zone at the real instant, in microseconds.
pub(crate) fn offset_at(tz: Tz, utc: i64) -> i64 {
    if is_utc(tz) {
        return 0;
    }
    let naive = naive_of_seconds(utc.div_euclid(SECOND));
    i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc()) * SECOND
}

/// Wall-clock microseconds (local date and time read as if UTC) of a real instant.
pub(crate) fn wall_of(tz: Tz, utc: i64) -> i64 {
    utc + offset_at(tz, utc)
}

/// How to resolve a wall-clock instant that happens twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The first time the clock shows it.
    First,
    /// The last time the clock shows it.
    Last,
}

/// The real instant at which the wall clock shows `wall`; see the module docs for
/// repeated and skipped hours.
pub(crate) fn utc_of(tz: Tz, wall: i64, pass: Pass) -> i64 {
    if is_utc(tz) {
        return wall;
    }
    let naive = naive_of_seconds(wall.div_euclid(SECOND));
    let offset = |o: &chrono_tz::TzOffset| i64::from(o.fix().local_minus_utc()) * SECOND;
    match tz.offset_from_local_datetime(&naive) {
        LocalResult::Single(o) => wall - offset(&o),
        LocalResult::Ambiguous(a, b) => {
            let (oa, ob) = (offset(&a), offset(&b));
            match pass {
                Pass::First => wall - oa.max(ob),
                Pass::Last => wall - oa.min(ob),
            }
        }
        LocalResult::None => match GapInfo::new(&naive, &tz).and_then(|gap| gap.end) {
            Some(end) => end.timestamp() * SECOND,
            // Beyond the zone's data: keep the offset in force just before.
            None => wall - offset_at(tz, wall - DAY),
        },
    }
}

/// The first real instant in `(after, until]` at which the zone's UTC offset changes.
pub(crate) fn next_transition(tz: Tz, after: i64, until: i64) -> Option<i64> {
    if is_utc(tz) || until <= after {
        return None;
    }
    let base = offset_at(tz, after);
    let mut lo = after;
    while lo < until {
        let hi = lo.saturating_add(DAY).min(until);
        if offset_at(tz, hi) != base {
            // Offsets change at whole seconds: bisect on seconds in (lo, hi].
            let mut a = lo.div_euclid(SECOND); // offset(a) == base
            let mut b = hi.div_euclid(SECOND); // offset(b) != base
            if offset_at(tz, b * SECOND) == base {
                b += 1;
            }
            while b - a > 1 {
                let mid = a + (b - a) / 2;
                if offset_at(tz, mid * SECOND) == base {
                    a = mid;
                } else {
                    b = mid;
                }
            }
            return Some((b * SECOND).max(after + 1));
        }
        lo = hi;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::civil::{HOUR, MINUTE, days_from_civil};
    use super::*;

    fn utc(y: i64, m: u32, d: u32, h: i64, min: i64) -> i64 {
        days_from_civil(y, m, d) * DAY + h * HOUR + min * MINUTE
    }

    #[test]
    fn helsinki_spring_forward() {
        let tz: Tz = "Europe/Helsinki".parse().unwrap();
        // 2026-03-29 01:00 UTC: 03:00 EET becomes 04:00 EEST.
        let t = utc(2026, 3, 29, 1, 0);
        assert_eq!(next_transition(tz, t - DAY, t + DAY), Some(t));
        assert_eq!(
            wall_of(tz, t - 1),
            utc(2026, 3, 29, 2, 59) + 59 * SECOND + 999_999
        );
        assert_eq!(wall_of(tz, t), utc(2026, 3, 29, 4, 0));
        // 03:30 wall does not exist: it maps to the end of the gap.
        assert_eq!(utc_of(tz, utc(2026, 3, 29, 3, 30), Pass::First), t);
        assert_eq!(utc_of(tz, utc(2026, 3, 29, 3, 30), Pass::Last), t);
    }

    #[test]
    fn helsinki_fall_back() {
        let tz: Tz = "Europe/Helsinki".parse().unwrap();
        // 2026-10-25 01:00 UTC: 04:00 EEST becomes 03:00 EET; 03:00-04:00 happens twice.
        let t = utc(2026, 10, 25, 1, 0);
        assert_eq!(next_transition(tz, t - 3 * DAY, t + DAY), Some(t));
        let wall_0330 = utc(2026, 10, 25, 3, 30);
        assert_eq!(utc_of(tz, wall_0330, Pass::First), utc(2026, 10, 25, 0, 30));
        assert_eq!(utc_of(tz, wall_0330, Pass::Last), utc(2026, 10, 25, 1, 30));
        assert_eq!(wall_of(tz, utc(2026, 10, 25, 1, 30)), wall_0330);
    }

    #[test]
    fn utc_is_identity() {
        assert_eq!(wall_of(Tz::UTC, 12345), 12345);
        assert_eq!(utc_of(Tz::UTC, 12345, Pass::First), 12345);
        assert_eq!(next_transition(Tz::UTC, 0, 400 * DAY), None);
    }
}
