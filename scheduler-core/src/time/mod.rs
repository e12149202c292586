//! The time model: instants, wall-clock values, anchored periods and time zones.
//!
//! * Real instants are [`Timestamp`]s: microseconds since the Unix epoch, UTC. One
//!   microsecond is the resolution of every clock reading, log record and condition
//!   boundary (the same as PostgreSQL's `timestamptz`), so "strictly after `X`" is
//!   `X + 1µs` and windows closed at both ends are exact.
//! * Conditions read the wall clock of a configured IANA zone, named by chrono-tz's [`Tz`]
//!   and ruled by the database bundled with jiff (see `zone.rs`); the values they
//!   contain ([`TimeOfDay`], [`TimeOfWeek`], …) and the [`Period`]s built from them live on
//!   that wall clock. How windows behave when clocks change for daylight saving time is
//!   documented in the condition language reference (`scheduler::docs::conditions`).

mod civil;
pub(crate) mod period;
mod values;
#[cfg(feature = "evaluation")]
pub(crate) mod zone;

use std::fmt;

use chrono::{DateTime, Utc};
#[cfg(feature = "evaluation")]
pub use chrono_tz::Tz;

pub(crate) use civil::{DAY, HOUR, MINUTE, SECOND};
pub use period::{Period, Span};
pub use values::{
    Interval, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond, TimeOfWeek,
    ValueError, Weekday,
};

/// A real instant: microseconds since 1970-01-01T00:00:00 UTC.
///
/// Conversions from `chrono` truncate to whole microseconds.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use scheduler_core::time::Timestamp;
/// let t = Timestamp::from(Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap());
/// assert_eq!(t.as_micros(), 1_704_110_400_000_000);
/// assert_eq!(t.to_string(), "2024-01-01T12:00:00Z");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The instant `micros` microseconds after the Unix epoch.
    pub const fn from_micros(micros: i64) -> Self {
        Timestamp(micros)
    }

    /// Microseconds since the Unix epoch.
    pub const fn as_micros(self) -> i64 {
        self.0
    }

    /// Now, by the system's clock (a scheduler reads its own `Clock` instead).
    pub fn now() -> Self {
        Utc::now().into()
    }

    /// The instant as a `chrono` UTC date-time.
    pub fn to_datetime(self) -> DateTime<Utc> {
        DateTime::from_timestamp_micros(self.0).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t.timestamp_micros())
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(t: Timestamp) -> Self {
        t.to_datetime()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}",
            self.to_datetime()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}
