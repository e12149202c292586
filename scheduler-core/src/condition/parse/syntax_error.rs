//! pest's errors as [`ParseError`]s: what was expected in words, what was found, and a hint
//! (the nearest keyword, a missing operator, an unclosed parenthesis).

use crate::condition::error::{Expected, ParseError, ParseErrorKind, nearest};

use super::Rule;

pub(super) const CONDITION_KEYWORDS: [&str; 24] = [
    "true",
    "false",
    "always",
    "secondly",
    "minutely",
    "hourly",
    "daily",
    "weekly",
    "monthly",
    "time",
    "every",
    "cron",
    "task",
    "has",
    "while",
    "is",
    "after",
    "retry",
    "scheduler",
    "env",
    "param",
    "this",
    "today",
    "once",
];

pub(super) const TIME_UNIT_WORDS: [&str; 14] = [
    "ms",
    "millisecond",
    "seconds",
    "second",
    "minutes",
    "minute",
    "min",
    "hours",
    "hour",
    "days",
    "day",
    "weeks",
    "week",
    "sec",
];

/// What a grammar rule means to a user, for "expected ..." lists.
pub(super) fn expected_of(rule: Rule) -> Option<Expected> {
    use Rule as R;
    Some(match rule {
        R::kw_after => Expected::Keyword("after"),
        R::kw_ago => Expected::Keyword("ago"),
        R::kw_always => Expected::Keyword("always"),
        R::kw_and => Expected::Keyword("and"),
        R::kw_any => Expected::Keyword("any"),
        R::kw_before => Expected::Keyword("before"),
        R::kw_between => Expected::Keyword("between"),
        R::kw_crashed => Expected::Keyword("crashed"),
        R::kw_cron => Expected::Keyword("cron"),
        R::kw_cycles => Expected::Keyword("cycles"),
        R::kw_daily => Expected::Keyword("daily"),
        R::kw_day => Expected::Keyword("day"),
        R::kw_env => Expected::Keyword("env"),
        R::kw_every => Expected::Keyword("every"),
        R::kw_exists => Expected::Keyword("exists"),
        R::kw_failed => Expected::Keyword("failed"),
        R::kw_false => Expected::Keyword("false"),
        R::kw_finished => Expected::Keyword("finished"),
        R::kw_has => Expected::Keyword("has"),
        R::kw_hour => Expected::Keyword("hour"),
        R::kw_hourly => Expected::Keyword("hourly"),
        R::kw_in => Expected::Keyword("in"),
        R::kw_inacted => Expected::Keyword("inacted"),
        R::kw_is => Expected::Keyword("is"),
        R::kw_less => Expected::Keyword("less"),
        R::kw_minute => Expected::Keyword("minute"),
        R::kw_minutely => Expected::Keyword("minutely"),
        R::kw_month => Expected::Keyword("month"),
        R::kw_monthly => Expected::Keyword("monthly"),
        R::kw_more => Expected::Keyword("more"),
        R::kw_of => Expected::Keyword("of"),
        R::kw_on => Expected::Keyword("on"),
        R::kw_over => Expected::Keyword("over"),
        R::kw_param => Expected::Keyword("param"),
        R::kw_past => Expected::Keyword("past"),
        R::kw_retry => Expected::Keyword("retry"),
        R::kw_run => Expected::Keyword("run"),
        R::kw_running => Expected::Keyword("running"),
        R::kw_scheduler => Expected::Keyword("scheduler"),
        R::kw_secondly => Expected::Keyword("secondly"),
        R::kw_started => Expected::Keyword("started"),
        R::kw_starting => Expected::Keyword("starting"),
        R::kw_succeeded => Expected::Keyword("succeeded"),
        R::kw_task => Expected::Keyword("task"),
        R::kw_tasks => Expected::Keyword("tasks"),
        R::kw_terminated => Expected::Keyword("terminated"),
        R::kw_than => Expected::Keyword("than"),
        R::kw_this => Expected::Keyword("this"),
        R::kw_time => Expected::Keyword("time"),
        R::kw_today => Expected::Keyword("today"),
        R::kw_true => Expected::Keyword("true"),
        R::kw_week => Expected::Keyword("week"),
        R::kw_weekly => Expected::Keyword("weekly"),
        R::kw_while => Expected::Keyword("while"),
        R::kw_once => Expected::Keyword("once"),
        R::kw_at => Expected::Keyword("at"),
        R::kw_grace => Expected::Keyword("grace"),
        R::once_at => Expected::Condition,
        R::date_text | R::date_word => Expected::Date,
        R::kw_been => Expected::Keyword("been"),
        R::kw_for => Expected::Keyword("for"),
        R::kw_least => Expected::Keyword("least"),
        R::kw_most => Expected::Keyword("most"),
        R::kw_times => Expected::Keyword("times"),
        R::status_count | R::running_for | R::running_count | R::counting_leaf => {
            Expected::Condition
        }
        R::comparison => Expected::Number,
        R::custom_call | R::custom_path | R::custom_ident | R::custom_arg => Expected::Condition,
        R::custom_decimal | R::custom_integer => Expected::Number,
        R::custom_bool => Expected::Keyword("true"),
        R::compare_more => Expected::Keyword("more"),
        R::compare_less => Expected::Keyword("less"),
        R::compare_at_least | R::compare_at_most => Expected::Keyword("at"),
        R::or_op | R::and_op => Expected::Operator,
        R::close_paren => Expected::CloseParenthesis,
        R::EOI => Expected::End,
        R::expression
        | R::operand
        | R::leaf
        | R::conjunction
        | R::negation
        | R::group
        | R::open_paren
        | R::not_op
        | R::literal
        | R::once_per_period
        | R::secondly
        | R::minutely
        | R::hourly
        | R::daily
        | R::weekly
        | R::monthly
        | R::time_of
        | R::every
        | R::cron
        | R::cron_by_field
        | R::status
        | R::running
        | R::after
        | R::retry
        | R::scheduler
        | R::env
        | R::param => Expected::Condition,
        R::second_span
        | R::minute_span
        | R::hour_span
        | R::day_span
        | R::week_span
        | R::month_span
        | R::minute_window
        | R::hour_window
        | R::day_window
        | R::week_window
        | R::month_window => Expected::Span,
        R::time_of_minute => Expected::Keyword("minute"),
        R::time_of_hour => Expected::Keyword("hour"),
        R::time_of_day => Expected::Keyword("day"),
        R::time_of_week => Expected::Keyword("week"),
        R::time_of_month => Expected::Keyword("month"),
        R::status_scope
        | R::past_scope
        | R::today_scope
        | R::this_minute_scope
        | R::this_hour_scope
        | R::this_week_scope
        | R::this_month_scope => Expected::StatusScope,
        R::task_status => Expected::TaskStatus,
        R::outcome => Expected::Outcome,
        R::task_prefix | R::after_one_task => Expected::Keyword("task"),
        R::after_all_tasks => Expected::Keyword("tasks"),
        R::after_any_tasks => Expected::Keyword("any"),
        R::scheduler_started => Expected::Keyword("started"),
        R::scheduler_run_over => Expected::Keyword("run"),
        R::cycles_more => Expected::Keyword("more"),
        R::cycles_less => Expected::Keyword("less"),
        R::scheduler_cycles | R::count | R::cron_step => Expected::Number,
        R::name | R::name_text | R::name_list => Expected::QuotedName,
        R::day_point => Expected::TimeOfDay,
        R::hour_point => Expected::TimeOfHour,
        R::minute_point => Expected::TimeOfMinute,
        R::second_point => Expected::TimeOfSecond,
        R::week_point | R::weekday => Expected::Weekday,
        R::month_point | R::day_of_month => Expected::DayOfMonth,
        R::duration | R::duration_part | R::decimal | R::clock_duration | R::duration_sign => {
            Expected::Duration
        }
        R::time_unit => Expected::TimeUnit,
        R::cron_fields
        | R::cron_by_field_body
        | R::cron_field
        | R::cron_item
        | R::cron_any
        | R::cron_range
        | R::cron_value => Expected::CronField,
        R::WHITESPACE
        | R::word_char
        | R::inline_space
        | R::meridiem
        | R::cron_separator
        | R::condition
        | R::day_point_only
        | R::hour_point_only
        | R::minute_point_only
        | R::second_point_only
        | R::week_point_only
        | R::month_point_only
        | R::duration_only
        | R::cron_only
        | R::comparison_start => return None,
    })
}

/// Keywords that would fix a typo where `expected` was expected.
pub(super) fn keyword_candidates(expected: &[Expected]) -> Vec<&'static str> {
    let mut out = Vec::new();
    for e in expected {
        match e {
            Expected::Keyword(k) => out.push(*k),
            Expected::Condition => out.extend(CONDITION_KEYWORDS),
            Expected::Span => out.extend(["before", "after", "between", "starting", "on"]),
            Expected::StatusScope => out.extend(["today", "this", "past", "in"]),
            Expected::TaskStatus => out.extend([
                "succeeded",
                "failed",
                "finished",
                "terminated",
                "inacted",
                "started",
                "crashed",
            ]),
            Expected::Outcome => out.extend(["succeeded", "failed", "finished", "terminated"]),
            Expected::TimeUnit => out.extend(TIME_UNIT_WORDS),
            _ => {}
        }
    }
    out
}

/// The extent of the token that starts at `pos`, for underlining.
pub(super) fn token_end(input: &str, pos: usize) -> usize {
    let rest = &input[pos..];
    let Some(c) = rest.chars().next() else {
        return pos;
    };
    let len = if c == '\'' {
        rest[1..].find('\'').map_or(rest.len(), |i| i + 2)
    } else if c.is_alphanumeric() || c == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | ':' | '.')))
            .unwrap_or(rest.len())
    } else if matches!(c, '&' | '|' | '~') {
        rest.find(|x: char| x != c).unwrap_or(rest.len())
    } else {
        c.len_utf8()
    };
    pos + len
}

/// The byte position of the `(` that the end of `input` leaves open.
pub(super) fn unclosed_parenthesis(input: &str) -> Option<usize> {
    let mut open = Vec::new();
    let mut in_name = false;
    for (i, c) in input.char_indices() {
        match c {
            '\'' => in_name = !in_name,
            '(' if !in_name => open.push(i),
            ')' if !in_name => {
                open.pop();
            }
            _ => {}
        }
    }
    open.pop()
}

pub(super) fn syntax_error(input: &str, e: pest::error::Error<Rule>) -> ParseError {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = match e.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(input.len());
    let positives = match e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let mut expected: Vec<Expected> = positives.into_iter().filter_map(expected_of).collect();
    // What would continue the phrase first; how to end it (an operator, `)`, the end) last.
    expected.sort_by_key(|e| {
        let rank = match e {
            Expected::Operator => 1,
            Expected::CloseParenthesis => 2,
            Expected::End => 3,
            _ => 0,
        };
        (rank, *e)
    });
    expected.dedup();
    if expected.contains(&Expected::Condition) {
        // The start of an operand also accepts its keywords; say "a condition" once.
        expected.retain(|e| !matches!(e, Expected::Keyword(k) if CONDITION_KEYWORDS.contains(k)));
    }

    let rest = &input[pos..];
    if rest.starts_with(')') && !expected.contains(&Expected::CloseParenthesis) {
        return ParseError::new(input, pos..pos + 1, ParseErrorKind::UnmatchedParenthesis)
            .with_hint("remove it, or add the `(` it closes");
    }
    if rest.trim().is_empty()
        && expected.contains(&Expected::CloseParenthesis)
        && let Some(open) = unclosed_parenthesis(input)
    {
        return ParseError::new(input, open..open + 1, ParseErrorKind::UnclosedParenthesis)
            .with_hint("add a `)` where the group ends");
    }

    let end = token_end(input, pos);
    let found = &input[pos..end];
    let hint = syntax_hint(input, pos, found, &expected);
    let mut error = ParseError::new(input, pos..end, ParseErrorKind::Unexpected { expected });
    error.set_hint_if_none(hint);
    error
}

pub(super) fn syntax_hint(
    input: &str,
    pos: usize,
    found: &str,
    expected: &[Expected],
) -> Option<String> {
    let has = |e: Expected| expected.contains(&e);
    let before = input[..pos].trim_end();
    if found.is_empty() {
        return if has(Expected::TimeUnit) {
            Some("add a unit, as in `10 minutes`".to_owned())
        } else {
            None
        };
    }
    let first_char = found.chars().next()?;
    if matches!(first_char, '&' | '|') && before.ends_with(first_char) {
        return Some(format!("write a single `{first_char}`"));
    }
    if let Some(cron_at) = before.rfind("cron") {
        let since = &before[cron_at + 4..];
        let fields = since.split_whitespace().count();
        let in_cron = !since.contains(['&', '|', '(', ')', '~', '\'']);
        let cron_like = found
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "*/,-".contains(c));
        if in_cron && cron_like && fields >= 5 {
            return Some(
                "a cron expression has five fields: minute, hour, day of month, month and day of week"
                    .to_owned(),
            );
        }
    }
    if found == "at" && has(Expected::Span) {
        return Some("write `on`: `daily on 10:00` is the hour from 10:00 to 11:00".to_owned());
    }
    if found == "&&" || found == "||" {
        return Some(format!("write a single `{first_char}`"));
    }
    if first_char == '"' && has(Expected::QuotedName) {
        return Some("names are written in single quotes: `'get_data'`".to_owned());
    }
    if has(Expected::TimeOfDay) {
        match found {
            "noon" => return Some("write `12:00`".to_owned()),
            "midnight" => return Some("write `00:00`".to_owned()),
            _ if first_char.is_alphabetic() => {
                return Some("times of day are written HH:MM, e.g. `07:00`".to_owned());
            }
            _ => {}
        }
    }
    if has(Expected::Weekday) && first_char.is_ascii_digit() {
        return Some("weekdays are written as names: `Monday` or `Mon`".to_owned());
    }
    if has(Expected::TimeOfMinute) && first_char.is_ascii_digit() {
        return Some("seconds are written with two digits, e.g. `05` or `30`".to_owned());
    }
    if has(Expected::TimeOfHour) && first_char.is_ascii_digit() {
        return Some("positions in the hour are written MM:SS, e.g. `15:00`".to_owned());
    }
    if has(Expected::TimeUnit) && found == "milliseconds" {
        return Some("write `ms`, as in `500 ms`".to_owned());
    }
    if has(Expected::TimeUnit) && first_char.is_alphabetic() {
        if let Some(unit) = nearest(found, TIME_UNIT_WORDS) {
            return Some(format!("did you mean `{unit}`?"));
        }
        return Some("units are ms, seconds, minutes, hours, days and weeks".to_owned());
    }
    if has(Expected::TimeUnit) && first_char.is_ascii_digit() {
        return Some("add a unit, as in `10 minutes`".to_owned());
    }
    if first_char.is_alphabetic() {
        let word: String = found
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if let Some(k) = nearest(&word, keyword_candidates(expected)) {
            return Some(format!("did you mean `{k}`?"));
        }
        if expected
            .iter()
            .any(|e| matches!(e, Expected::Keyword(_) | Expected::Condition))
            && let Some(k) = nearest(&word, CONDITION_KEYWORDS)
        {
            return Some(format!("did you mean `{k}`?"));
        }
    }
    if (first_char == '(' || first_char.is_alphabetic()) && has(Expected::Operator) {
        return Some("join conditions with `&` (and) or `|` (or)".to_owned());
    }
    None
}
