//! Values read from the text a rule matched: times of day and of the hour, weekdays and
//! months, lengths of time.

use crate::time::{DAY, HOUR, MINUTE, SECOND, TimeOfDay, ValueError, Weekday};

use crate::condition::error::ParseErrorKind;

pub(super) type ValueResult<T> = std::result::Result<T, (ParseErrorKind, Option<String>)>;

pub(super) fn two_digits(text: &str, what: &'static str, form: &'static str) -> ValueResult<u32> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.parse().expect("two digits"))
    } else {
        Err((ParseErrorKind::Malformed { what, form }, None))
    }
}

/// `SS` or `SS.ffffff` → (seconds, microseconds).
pub(super) fn seconds_and_fraction(text: &str) -> ValueResult<(u32, u32)> {
    let (secs, frac) = match text.split_once('.') {
        Some((s, f)) => (s, Some(f)),
        None => (text, None),
    };
    let s = two_digits(secs, "seconds", "with two digits, as in `05`")?;
    let micro = match frac {
        None => 0,
        Some(f) if (1..=6).contains(&f.len()) => format!("{f:0<6}").parse().expect("six digits"),
        Some(_) => {
            return Err((
                ParseErrorKind::Malformed {
                    what: "a fraction of a second",
                    form: "with one to six digits",
                },
                None,
            ));
        }
    };
    Ok((s, micro))
}

/// A time of day as matched by `day_point`.
pub(super) fn parse_time_of_day(text: &str) -> ValueResult<TimeOfDay> {
    let trimmed = text.trim_end();
    let lower = trimmed.to_ascii_lowercase();
    let (clock, meridiem) = if lower.ends_with("am") || lower.ends_with("pm") {
        (
            trimmed[..trimmed.len() - 2].trim_end(),
            Some(lower.ends_with("pm")),
        )
    } else {
        (trimmed, None)
    };
    let mut parts = clock.splitn(3, ':');
    let hour_text = parts.next().unwrap_or_default();
    let minute_text = parts.next();
    let second_text = parts.next();
    if hour_text.len() > 2 {
        return Err((
            ParseErrorKind::Malformed {
                what: "the hour",
                form: "with one or two digits",
            },
            Some("times of day are written HH:MM, e.g. `07:00`".to_owned()),
        ));
    }
    let hour: u32 = hour_text.parse().expect("grammar: digits");
    if minute_text.is_none() && meridiem.is_none() {
        let hint = if hour <= 23 {
            format!("times of day are written HH:MM: write `{hour:02}:00` or `{hour}am`/`{hour}pm`")
        } else {
            "times of day are written HH:MM, e.g. `07:00`".to_owned()
        };
        return Err((ParseErrorKind::BareNumber, Some(hint)));
    }
    let minute = match minute_text {
        Some(m) => two_digits(m, "minutes", "with two digits, as in `07:05`")?,
        None => 0,
    };
    let (second, micro) = match second_text {
        Some(s) => seconds_and_fraction(s)?,
        None => (0, 0),
    };
    let hour = match meridiem {
        Some(pm) => {
            if !(1..=12).contains(&hour) {
                return Err((ValueError::TwelveHour(hour).into(), None));
            }
            (hour % 12) + if pm { 12 } else { 0 }
        }
        None => hour,
    };
    TimeOfDay::with_micros(hour, minute, second, micro).map_err(|e| {
        let hint = (e == ValueError::Hour(24))
            .then(|| "the day runs from 00:00 to 23:59:59.999999; midnight is `00:00`".to_owned());
        (e.into(), hint)
    })
}

pub(super) const WEEKDAY_WORDS: [&str; 14] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
];
pub(super) const WEEKDAY_CRON_WORDS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
pub(super) const MONTH_WORDS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

pub(super) fn parse_weekday(text: &str) -> Option<Weekday> {
    const DAYS: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];
    WEEKDAY_WORDS
        .iter()
        .position(|w| w.eq_ignore_ascii_case(text))
        .map(|i| DAYS[i % 7])
}

pub(super) fn unit_micros(unit: &str) -> u128 {
    let micros = match unit {
        "milliseconds" | "millisecond" | "ms" => 1_000,
        "seconds" | "second" | "secs" | "sec" | "s" => SECOND,
        "minutes" | "minute" | "mins" | "min" | "m" => MINUTE,
        "hours" | "hour" | "hrs" | "hr" | "h" => HOUR,
        "days" | "day" | "d" => DAY,
        _ => 7 * DAY,
    };
    micros as u128
}

/// `number × unit` in microseconds for a decimal such as `1.5`, truncated to whole
/// microseconds, saturating on overflow (the caller rejects lengths that are too long).
pub(super) fn scaled_decimal(number: &str, unit: u128) -> u128 {
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    let whole: u128 = whole.parse().unwrap_or(u128::MAX);
    let mut micros = whole.saturating_mul(unit);
    let mut scale = unit;
    for digit in frac.bytes().take(20) {
        scale /= 10;
        micros = micros.saturating_add(u128::from(digit - b'0') * scale);
    }
    micros
}

/// `H:MM:SS[.ffffff]` as a length of time.
pub(super) fn clock_duration(text: &str) -> ValueResult<u128> {
    let mut parts = text.splitn(3, ':');
    let hours: u128 = parts
        .next()
        .unwrap_or_default()
        .parse()
        .unwrap_or(u128::MAX);
    let minutes = two_digits(
        parts.next().unwrap_or_default(),
        "minutes",
        "with two digits, as in `00:05:00`",
    )?;
    let (seconds, micro) = seconds_and_fraction(parts.next().unwrap_or_default())?;
    if minutes > 59 {
        return Err((ValueError::Minute(minutes).into(), None));
    }
    if seconds > 59 {
        return Err((ValueError::Second(seconds).into(), None));
    }
    Ok(hours.saturating_mul(HOUR as u128)
        + u128::from(minutes) * MINUTE as u128
        + u128::from(seconds) * SECOND as u128
        + u128::from(micro))
}
