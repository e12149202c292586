//! Instants written on the command line (`--since`, `--until`, `--at`).

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone};

use crate::time::{Interval, Timestamp, Tz};

/// An instant on the command line that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read {text:?} as an instant: {reason} (write `2024-05-01T07:30:00Z`, `2024-05-01 07:30` on the scheduler's wall clock, `2024-05-01`, `now`, or a duration back from now such as `2 hours`)"
)]
pub struct InstantError {
    /// What was written.
    pub text: String,
    /// Why it cannot be read.
    pub reason: String,
}

/// Reads an instant: RFC 3339 (`2024-05-01T07:30:00Z`, `2024-05-01T09:30:00+02:00`), a date
/// and time on the wall clock of `zone` (`2024-05-01 07:30`, `2024-05-01T07:30:15`), a date
/// (its midnight in `zone`), `now`, or a duration back from `now` (`2 hours`,
/// `30 minutes ago`).
///
/// ```
/// use scheduler_core::cli::parse_instant;
/// use scheduler_core::time::{Timestamp, Tz};
///
/// let now = Timestamp::from_micros(10 * 3_600_000_000);
/// assert_eq!(parse_instant("1970-01-01 07:00", Tz::UTC, now)?, Timestamp::from_micros(7 * 3_600_000_000));
/// assert_eq!(parse_instant("2 hours ago", Tz::UTC, now)?, Timestamp::from_micros(8 * 3_600_000_000));
/// assert!(parse_instant("yesterday-ish", Tz::UTC, now).is_err());
/// # Ok::<(), scheduler_core::cli::InstantError>(())
/// ```
pub fn parse_instant(text: &str, zone: Tz, now: Timestamp) -> Result<Timestamp, InstantError> {
    let trimmed = text.trim();
    let fail = |reason: &str| InstantError {
        text: text.to_owned(),
        reason: reason.to_owned(),
    };
    if trimmed.is_empty() {
        return Err(fail("it is empty"));
    }
    if trimmed.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(trimmed) {
        return Ok(Timestamp::from_micros(t.timestamp_micros()));
    }
    let wall = [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(trimmed, format).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(trimmed, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    });
    if let Some(wall) = wall {
        // A time that happens twice (clocks going back) is its first pass; one skipped by
        // clocks going forward does not exist.
        return zone
            .from_local_datetime(&wall)
            .earliest()
            .map(|t| Timestamp::from_micros(t.timestamp_micros()))
            .ok_or_else(|| fail(&format!("{wall} does not exist in {}", zone.name())));
    }
    let span = trimmed.strip_suffix(" ago").unwrap_or(trimmed).trim();
    if span.starts_with(|c: char| c.is_ascii_digit())
        && let Ok(interval) = span.parse::<Interval>()
    {
        let micros = i64::try_from(interval.as_duration().as_micros()).unwrap_or(i64::MAX);
        return Ok(Timestamp::from_micros(
            now.as_micros().saturating_sub(micros),
        ));
    }
    Err(fail("it is not a date, a time or a duration"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000;

    #[test]
    fn reads_each_form() {
        let now = Timestamp::from_micros(1_704_067_200_000_000 + 10 * HOUR); // 2024-01-01 10:00Z
        let helsinki: Tz = "Europe/Helsinki".parse().unwrap();
        let at7z = Timestamp::from_micros(1_704_067_200_000_000 + 7 * HOUR);
        assert_eq!(
            parse_instant("2024-01-01T07:00:00Z", helsinki, now),
            Ok(at7z)
        );
        assert_eq!(
            parse_instant("2024-01-01T09:00:00+02:00", Tz::UTC, now),
            Ok(at7z)
        );
        assert_eq!(parse_instant("2024-01-01 09:00", helsinki, now), Ok(at7z));
        assert_eq!(parse_instant("2024-01-01T07:00:00", Tz::UTC, now), Ok(at7z));
        assert_eq!(
            parse_instant("2024-01-01", Tz::UTC, now),
            Ok(Timestamp::from_micros(1_704_067_200_000_000))
        );
        assert_eq!(parse_instant("now", Tz::UTC, now), Ok(now));
        assert_eq!(parse_instant("3 hours", Tz::UTC, now), Ok(at7z));
        assert_eq!(parse_instant("3 hours ago", Tz::UTC, now), Ok(at7z));
    }

    #[test]
    fn refuses_with_the_reason() {
        let now = Timestamp::from_micros(0);
        let e = parse_instant("last tuesday", Tz::UTC, now).unwrap_err();
        assert!(e.to_string().contains("\"last tuesday\""), "{e}");
        assert!(parse_instant("", Tz::UTC, now).is_err());
        assert!(parse_instant("2024-13-01", Tz::UTC, now).is_err());
        let helsinki: Tz = "Europe/Helsinki".parse().unwrap();
        let gap = parse_instant("2024-03-31 03:30", helsinki, now).unwrap_err();
        assert!(gap.reason.contains("does not exist"), "{gap}");
    }
}
