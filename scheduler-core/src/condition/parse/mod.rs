//! From text to [`Condition`]: the pest parser generated from `grammar.pest` (the one
//! definition of the syntax), and the `FromStr` implementations built on it.
//!
//! * this file: the entry points (a condition, or one value such as a time of day) and the
//!   nesting limit checked before pest runs;
//! * `build.rs`: the walk from pest's pairs to the AST, with the checks of values that the
//!   grammar leaves open;
//! * `values.rs`: values read from matched text (times, weekdays, lengths of time);
//! * `syntax_error.rs`: pest's errors turned into [`ParseError`]s with words and hints.
//!
//! Pest types stay inside this module.

mod build;
mod syntax_error;
mod values;

use build::Builder;
use syntax_error::syntax_error;

use std::str::FromStr;

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::time::{
    Interval, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond, TimeOfWeek,
};

use super::ast::Condition;
use super::cron::CronSchedule;
use super::error::{ParseError, ParseErrorKind};

#[derive(Parser)]
#[grammar = "condition/grammar.pest"]
struct Grammar;

type Result<T> = std::result::Result<T, ParseError>;

/// Deepest nesting of parentheses and `~` accepted; deeper strings are rejected before
/// parsing so that no recursion (parsing, printing, evaluating, dropping) can exhaust the
/// stack.
const MAX_NESTING: usize = 64;

/// Parses a whole condition.
pub(crate) fn parse_condition(input: &str) -> Result<Condition> {
    check_nesting(input)?;
    let pair = parse_rule(Rule::condition, input)?;
    let b = Builder { input };
    let expression = pair
        .into_inner()
        .find(|p| p.as_rule() == Rule::expression)
        .expect("grammar: a condition holds an expression");
    b.expression(expression)
}

fn parse_rule(rule: Rule, input: &str) -> Result<Pair<'_, Rule>> {
    Grammar::parse(rule, input)
        .map_err(|e| syntax_error(input, e))
        .map(|mut pairs| {
            pairs
                .next()
                .expect("grammar: a successful parse yields its rule")
        })
}

/// The single pair inside a `*_only` rule (which also holds `EOI`).
fn only_value(rule: Rule, input: &str) -> Result<Pair<'_, Rule>> {
    Ok(parse_rule(rule, input)?
        .into_inner()
        .next()
        .expect("grammar: a value rule holds its value"))
}

fn check_nesting(input: &str) -> Result<()> {
    let mut depth = 0usize;
    let mut negations = 0usize;
    let mut in_name = false;
    for (i, c) in input.char_indices() {
        match c {
            '\'' => in_name = !in_name,
            '(' if !in_name => depth += 1,
            ')' if !in_name => depth = depth.saturating_sub(1),
            '~' if !in_name => negations += 1,
            _ => continue,
        }
        if depth + negations > MAX_NESTING {
            return Err(ParseError::new(
                input,
                i..i + 1,
                ParseErrorKind::Malformed {
                    what: "a condition",
                    form: "with at most 64 levels of parentheses and `~`",
                },
            ));
        }
    }
    Ok(())
}

impl FromStr for Condition {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        parse_condition(s)
    }
}

impl TryFrom<&str> for Condition {
    type Error = ParseError;

    fn try_from(s: &str) -> Result<Self> {
        parse_condition(s)
    }
}

impl FromStr for TimeOfDay {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.day_point(only_value(Rule::day_point_only, s)?)
    }
}

impl FromStr for TimeOfHour {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.hour_point(only_value(Rule::hour_point_only, s)?)
    }
}

impl FromStr for TimeOfSecond {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.second_point(only_value(Rule::second_point_only, s)?)
    }
}

impl FromStr for TimeOfMinute {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.minute_point(only_value(Rule::minute_point_only, s)?)
    }
}

impl FromStr for TimeOfWeek {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.week_point(only_value(Rule::week_point_only, s)?)
    }
}

impl FromStr for TimeOfMonth {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.month_point(only_value(Rule::month_point_only, s)?)
    }
}

impl FromStr for CronSchedule {
    type Err = ParseError;

    /// Parses the fields of a cron expression, without the `cron` keyword.
    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.cron_fields(only_value(Rule::cron_only, s)?)
    }
}

impl FromStr for Interval {
    type Err = ParseError;

    /// Parses a length of time written as in conditions (`10 minutes`, `1h30m`,
    /// `2 hours, 30 minutes`, `00:10:00`).
    fn from_str(s: &str) -> Result<Self> {
        Builder { input: s }.duration(only_value(Rule::duration_only, s)?)
    }
}

#[cfg(test)]
mod tests {
    use crate::condition::ast::*;
    use crate::condition::error::*;
    use crate::time::*;
    use std::time::Duration;

    fn parses(s: &str) -> Condition {
        s.parse()
            .unwrap_or_else(|e: ParseError| panic!("{s:?} should parse:\n{}", e.render()))
    }

    fn rejects(s: &str) -> ParseError {
        s.parse::<Condition>()
            .expect_err(&format!("{s:?} should be rejected"))
    }

    #[test]
    fn every_rule_parses_its_example() {
        for s in [
            "true",
            "always false",
            "secondly",
            "secondly before 500",
            "secondly between 250.5 and 1000",
            "minutely before 30",
            "minutely on 30.5",
            "hourly after 45:00",
            "hourly between 1 quarter and 3q",
            "daily between 22:00 and 02:00",
            "daily starting 10am",
            "daily on 10:30 PM",
            "weekly between Mon 09:00 and fri",
            "monthly between 28th and 2nd",
            "monthly after 1.",
            "time of minute between 15 and 45",
            "time of hour before 15:00",
            "time of day after 10:00:30.25",
            "time of week on Monday",
            "time of month on 15th 12:00",
            "every 1 day, 12 hour, 30 min, 20 sec",
            "every 1h30m",
            "every 00:10:00",
            "every 2 weeks",
            "cron 15,30 18-22 20 OCT *",
            "cron */15 0-6/2 * jan-mar MON-FRI",
            "has succeeded",
            "task 'x' has failed today between 10:00 and 12:00",
            "has started in past 2 hours",
            "task 'x' has crashed this week on Monday",
            "is running",
            "while task 'x' is running",
            "after task 'x'",
            "after tasks 'a', 'b', 'c' finished",
            "after any tasks 'a','b' terminated",
            "retry",
            "retry 3",
            "scheduler started 10 minutes ago",
            "scheduler has run over 1 hour",
            "scheduler has more than 3 cycles",
            "scheduler has 3 cycles",
            "env 'prod'",
            "param 'k' exists",
            "param 'k' is 'v'",
            "has succeeded more than 3 times today",
            "task 'x' has failed at most 1 time past 2 hours",
            "task 'x' has started at least 2 times this week on Monday",
            "has finished less than 5 times",
            "has crashed 0 times",
            "task 'x' has been running for more than 10 minutes",
            "has been running for less than 1h30m",
            "task 'x' is running more than 2 times",
            "while task 'x' is running at most 1 time",
            "is_work_day()",
            "conditions::file_exists('data.csv')",
            "limit( 10 , -0.5,true, 'a b' ) & ~flag()",
        ] {
            parses(s);
        }
    }

    #[test]
    fn operators_and_flattening() {
        let c = parses("true & false & true");
        assert!(matches!(&c, Condition::All(v) if v.len() == 3));
        let c = parses("(true & false) & true");
        assert!(matches!(&c, Condition::All(v) if v.len() == 3));
        let c = parses("true | false & false");
        assert!(matches!(&c, Condition::Any(v) if v.len() == 2));
        let c = parses("~~true");
        assert!(matches!(&c, Condition::Not(inner) if matches!(**inner, Condition::Not(_))));
    }

    #[test]
    fn whitespace_is_free_between_tokens() {
        assert_eq!(
            parses("daily  between\n10:00\tand 12:00"),
            parses("daily between 10:00 and 12:00")
        );
        assert_eq!(parses(" ( true )&~ false "), parses("true & ~false"));
    }

    #[test]
    fn rejections_point_at_the_mistake() {
        let e = rejects("daily betwen 07:00 and 10:00");
        assert_eq!(e.span(), 6..12);
        assert_eq!(e.hint(), Some("did you mean `between`?"));

        let e = rejects("daily after 25:00");
        assert_eq!(e.span(), 12..17);
        assert_eq!(
            e.kind(),
            &ParseErrorKind::InvalidValue(ValueError::Hour(25))
        );

        let e = rejects("daily after 10");
        assert_eq!(e.kind(), &ParseErrorKind::BareNumber);
        assert!(e.hint().unwrap().contains("`10:00`"));

        let e = rejects("(true & false");
        assert_eq!(e.kind(), &ParseErrorKind::UnclosedParenthesis);
        assert_eq!(e.span(), 0..1);

        let e = rejects("true & false)");
        assert_eq!(e.kind(), &ParseErrorKind::UnmatchedParenthesis);
        assert_eq!(e.span(), 12..13);

        let e = rejects("cron 61 * * * *");
        assert_eq!(e.span(), 5..7);

        let e = rejects("cron 0 0 31 2 *");
        assert_eq!(e.kind(), &ParseErrorKind::Cron(CronError::NeverMatches));
        assert_eq!(e.span(), 9..13);

        let e = rejects("after task \"x\"");
        assert!(e.hint().unwrap().contains("single quotes"));

        let e = rejects("dialy");
        assert_eq!(e.hint(), Some("did you mean `daily`?"));

        let e = rejects("every 10");
        assert_eq!(e.span(), 8..8);

        let e = rejects("has succeeded more than 3 tims today");
        assert_eq!(e.span(), 26..30);
        assert_eq!(e.hint(), Some("did you mean `times`?"));

        let e = rejects("task 'x' has been running for 10 minutes");
        assert_eq!(e.span(), 30..32);
    }

    #[test]
    fn custom_calls_need_their_parentheses() {
        // A bare word stays a keyword, or a typo of one with its hint.
        assert_eq!(rejects("dialy").hint(), Some("did you mean `daily`?"));
        assert!(rejects("is_work_day").to_string().contains("is_work_day"));
        // A keyword with parentheses is not a call.
        rejects("daily()");
        rejects("f(x)");
        rejects("f('a',)");
        rejects("f(99999999999999999999)");
        assert_eq!(
            parses("limit( 10 , -0.5,true, 'a b' )").to_string(),
            "limit(10, -0.5, true, 'a b')"
        );
    }

    #[test]
    fn counting_leaves_print_canonically() {
        for (written, canonical) in [
            (
                "has succeeded  more than 3 times  today",
                "has succeeded more than 3 times today",
            ),
            ("task 'x' has failed 1 times", "task 'x' has failed 1 time"),
            (
                "has started at least 2 time in past 1h",
                "has started at least 2 times past 1 hour",
            ),
            (
                "task 'x' has been running for more than 600 s",
                "task 'x' has been running for more than 10 minutes",
            ),
            (
                "while task 'x' is running at most 1 time",
                "task 'x' is running at most 1 time",
            ),
        ] {
            let c = parses(written);
            assert_eq!(c.to_string(), canonical);
            assert_eq!(parses(canonical), c);
        }
    }

    #[test]
    fn named_cron_fields_combine_and_point_inside_the_string() {
        let c = parses(
            "cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3) & ~task 'backup' is running",
        );
        assert!(matches!(&c, Condition::All(v) if matches!(v[0], Condition::CronFields(_))));
        assert_eq!(
            c.to_string(),
            "cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3) & ~task 'backup' is running"
        );
        // Canonical: fields in APScheduler's order, names in lowercase, free whitespace.
        assert_eq!(
            parses("cron ( hour=0-3 ,month = JUN-aug )").to_string(),
            "cron(month = jun-aug, hour = 0-3)"
        );
        for (s, at, hint) in [
            (
                "daily & cron(day_of_week = mon-fri/2)",
                34..36,
                "numbers only",
            ),
            ("cron(day = 3rd fri extra)", 11..24, "3rd fri"),
            ("cron(hour = 25)", 12..14, "0 to 23"),
            ("cron(month = 2, day = 31)", 5..24, "February"),
            ("cron(hours = 1)", 5..10, "did you mean `hour`?"),
            ("cron(hour = 1, end_date = 2026-1-01)", 31..33, "2 digits"),
            (
                "cron(hour = 1, start_date = 2026-01-01T08:00:00+05:99)",
                47..53,
                "minutes to 59",
            ),
            ("cron()", 5..5, "name = expression"),
        ] {
            let e = rejects(s);
            assert_eq!(e.span(), at, "{s}: {e}");
            assert!(
                e.hint().unwrap_or_default().contains(hint),
                "{s}: {:?}",
                e.hint()
            );
        }
    }

    #[test]
    fn four_quarters_only_ends_a_span() {
        // CONDITIONS.md §9.9: as a start, `4 quarters` is an error that says to write 00:00.
        for (s, at) in [
            ("hourly between 4 quarters and 00:00", 15..25),
            ("hourly starting 4q", 16..18),
            ("time of hour after 4 quarters", 19..29),
            ("has succeeded this hour on 4 quarters", 27..37),
        ] {
            let e = rejects(s);
            assert_eq!(
                e.kind(),
                &ParseErrorKind::InvalidValue(ValueError::EndOfHourAsStart),
                "{s}"
            );
            assert_eq!(e.span(), at, "{s}");
            assert!(e.hint().unwrap().contains("`00:00`"), "{s}");
        }
        // As an end it is the end of the hour.
        parses("hourly before 4 quarters");
        parses("time of hour between 3 quarters and 4 quarters");
        assert_eq!(
            parses("time of hour between 1 quarter and 15:00"),
            parses("time of hour between 15:00 and 15:00")
        );
    }

    #[test]
    fn garbage_rocketry_accepts_is_rejected() {
        for s in [
            "",
            "   ",
            "true &",
            "& true",
            "true && false",
            "true & & false",
            "true ~",
            "true ~ false",
            "~~",
            "(true)(false)",
            "true (false)",
            "()",
            "always",
            "True",
            "every 0 seconds",
            "cron @daily",
            "cron * * * * * *",
            "monthly on 32nd",
            "daily after noon",
            "weekly on 1",
            "time of day starting 10:00",
            "time of day on 10:00",
            "has succeeded yesterday",
        ] {
            rejects(s);
        }
    }

    #[test]
    fn values_parse_on_their_own() {
        assert_eq!(
            "10:30 pm".parse::<TimeOfDay>().unwrap(),
            TimeOfDay::new(22, 30).unwrap()
        );
        assert_eq!("12am".parse::<TimeOfDay>().unwrap(), TimeOfDay::MIDNIGHT);
        assert_eq!(
            "12 PM".parse::<TimeOfDay>().unwrap(),
            TimeOfDay::new(12, 0).unwrap()
        );
        assert!("13pm".parse::<TimeOfDay>().is_err());
        assert!("24:00".parse::<TimeOfDay>().is_err());
        assert!("7:5".parse::<TimeOfDay>().is_err());
        assert_eq!(
            "Fri 17:30".parse::<TimeOfWeek>().unwrap(),
            TimeOfWeek::at(Weekday::Fri, TimeOfDay::new(17, 30).unwrap())
        );
        assert_eq!(
            "3rd".parse::<TimeOfMonth>().unwrap(),
            TimeOfMonth::day(3).unwrap()
        );
        let secs = |s: &str| s.parse::<Interval>().map(|i| i.as_duration());
        assert_eq!(
            secs("2 hours, 30 minutes").unwrap(),
            Duration::from_secs(9000)
        );
        assert_eq!(secs("1 day 00:10:00").unwrap(), Duration::from_secs(87_000));
        assert_eq!(secs("1.5 hours").unwrap(), Duration::from_secs(5400));
        assert_eq!(secs("500 ms").unwrap(), Duration::from_millis(500));
        assert_eq!(secs("-10 s").unwrap(), Duration::from_secs(10));
        assert!(secs("0 s").is_err());
        assert!(secs("10").is_err());
    }
}
