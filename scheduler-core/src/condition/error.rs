//! Errors of the condition language: what went wrong, where in the string, and a hint.
//!
//! The same [`ParseError`] serves the proc-macro (which puts [`ParseError::render`] in the
//! compile error) and the runtime (which returns it from `"...".parse::<Condition>()`).

use std::fmt;
use std::ops::Range;

use crate::time::ValueError;

use super::cron::CronFieldKind;

/// Something the parser would have accepted at the error position, in words a user knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Expected {
    /// The start of a condition (a leaf, `~` or `(`).
    Condition,
    /// A keyword of the language.
    Keyword(&'static str),
    /// `&` or `|`.
    Operator,
    /// `(`.
    OpenParenthesis,
    /// `)`.
    CloseParenthesis,
    /// The end of the string.
    End,
    /// A name in single quotes.
    QuotedName,
    /// A time of day such as `07:00`.
    TimeOfDay,
    /// A position in an hour such as `15:00` (MM:SS).
    TimeOfHour,
    /// A position in a minute such as `30` (seconds).
    TimeOfMinute,
    /// A position in a second such as `500` (milliseconds).
    TimeOfSecond,
    /// A weekday such as `Monday`.
    Weekday,
    /// A day of the month such as `5th`.
    DayOfMonth,
    /// A length of time such as `10 minutes`.
    Duration,
    /// A unit of time such as `seconds`.
    TimeUnit,
    /// A whole number.
    Number,
    /// A cron field such as `*/15`.
    CronField,
    /// A span such as `between 07:00 and 10:00`.
    Span,
    /// A status scope such as `today` or `past 2 hours`.
    StatusScope,
    /// A status such as `succeeded`.
    TaskStatus,
    /// An outcome of a dependency such as `succeeded`.
    Outcome,
    /// A date such as `2026-12-01T08:00:00`.
    Date,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Condition => {
                f.write_str("a condition such as `daily`, `every 10 minutes` or `after task 'x'`")
            }
            Expected::Keyword(k) => write!(f, "`{k}`"),
            Expected::Operator => f.write_str("`&` or `|`"),
            Expected::OpenParenthesis => f.write_str("`(`"),
            Expected::CloseParenthesis => f.write_str("`)`"),
            Expected::End => f.write_str("the end of the condition"),
            Expected::QuotedName => f.write_str("a name in single quotes such as `'get_data'`"),
            Expected::TimeOfDay => f.write_str("a time of day such as `07:00`"),
            Expected::TimeOfHour => f.write_str("minutes past the hour such as `15:00` (MM:SS)"),
            Expected::TimeOfMinute => f.write_str("seconds past the minute such as `30`"),
            Expected::TimeOfSecond => f.write_str("milliseconds past the second such as `500`"),
            Expected::Weekday => f.write_str("a weekday such as `Monday`"),
            Expected::DayOfMonth => f.write_str("a day of the month such as `5th`"),
            Expected::Duration => f.write_str("a length of time such as `10 minutes`"),
            Expected::TimeUnit => f.write_str("a unit of time such as `seconds`, `minutes` or `hours`"),
            Expected::Number => f.write_str("a whole number"),
            Expected::CronField => f.write_str("a cron field such as `*`, `5`, `1-5` or `*/15`"),
            Expected::Span => f.write_str(
                "a span such as `before 10:00`, `after 07:00` or `between 07:00 and 10:00`",
            ),
            Expected::StatusScope => {
                f.write_str("a scope such as `today`, `this week` or `past 2 hours`")
            }
            Expected::TaskStatus => f.write_str(
                "a status: `succeeded`, `failed`, `finished`, `terminated`, `inacted`, `started` or `crashed`",
            ),
            Expected::Outcome => {
                f.write_str("an outcome: `succeeded`, `failed`, `finished` or `terminated`")
            }
            Expected::Date => f.write_str("a date such as `2026-12-01T08:00:00`"),
        }
    }
}

/// A problem with one cron field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CronError {
    /// A number outside the field's range.
    #[error("{value} is out of range for the {} field, which takes {}-{}", .field.description(), .field.range().0, .field.range().1)]
    OutOfRange {
        /// The field.
        field: CronFieldKind,
        /// The number written.
        value: u64,
    },
    /// A name that is not a month or weekday name, or a name in a numeric field.
    #[error("`{name}` is not a valid value for the {} field", .field.description())]
    UnknownName {
        /// The field.
        field: CronFieldKind,
        /// The name written.
        name: String,
    },
    /// A range whose start is after its end.
    #[error("the range {start}-{end} goes backwards")]
    ReversedRange {
        /// The first value.
        start: u32,
        /// The last value.
        end: u32,
    },
    /// A step after a single value (`5/10`).
    #[error("a step (`/n`) must follow `*` or a range")]
    StepWithoutRange,
    /// A step of zero.
    #[error("a step must be at least 1")]
    ZeroStep,
    /// Fields that are valid alone but never match together (`0 0 31 2 *`).
    #[error(
        "this cron expression never matches: none of the selected months has any of the selected days"
    )]
    NeverMatches,
}

/// What is wrong with a condition string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The text at the position does not continue the condition.
    #[error("expected {}", list(.expected))]
    Unexpected {
        /// What would have been accepted there.
        expected: Vec<Expected>,
    },
    /// A `(` that is never closed.
    #[error("this `(` is never closed")]
    UnclosedParenthesis,
    /// A `)` without a matching `(`.
    #[error("this `)` has no matching `(`")]
    UnmatchedParenthesis,
    /// A value whose parts are out of range.
    #[error(transparent)]
    InvalidValue(#[from] ValueError),
    /// A number where a time of day is expected.
    #[error("a bare number is not a time of day")]
    BareNumber,
    /// A value written in the wrong form, such as one-digit minutes.
    #[error("{what} must be written {form}")]
    Malformed {
        /// The value.
        what: &'static str,
        /// The form it must have.
        form: &'static str,
    },
    /// A word that is not a weekday name.
    #[error("`{0}` is not a weekday")]
    UnknownWeekday(String),
    /// A number too large for its place.
    #[error("the number {0} is too large")]
    NumberTooLarge(String),
    /// A task or parameter name that is empty.
    #[error("a name cannot be empty")]
    EmptyName,
    /// A problem with a cron field.
    #[error(transparent)]
    Cron(#[from] CronError),
    /// A problem with a named cron field (`cron(hour = 25)`).
    #[error(transparent)]
    CronFields(#[from] super::cron_fields::CronFieldsError),
    /// A one-off date that is not strict ISO 8601 (`once at 2026-12-1`).
    #[error(transparent)]
    Date(#[from] super::once::DateError),
}

fn list(expected: &[Expected]) -> String {
    let mut out = String::new();
    for (i, e) in expected.iter().enumerate() {
        if i > 0 {
            out.push_str(if i + 1 == expected.len() {
                " or "
            } else {
                ", "
            });
        }
        out.push_str(&e.to_string());
    }
    out
}

/// A condition string that could not be parsed.
///
/// It carries the string, the byte range of the offending part, what is wrong there and,
/// where one helps, a hint. [`ParseError::render`] shows the string with a caret line
/// under the range:
///
/// ```
/// use scheduler_core::condition::Condition;
/// let err = "daily betwen 07:00 and 10:00".parse::<Condition>().unwrap_err();
/// assert_eq!(err.span(), 6..12);
/// assert_eq!(err.hint(), Some("did you mean `between`?"));
/// println!("{}", err.render());
/// // error: expected `before`, `after`, `between`, `starting`, `on`, `&`, `|` or the end of the condition, found `betwen`
/// //  | daily betwen 07:00 and 10:00
/// //  |       ^^^^^^
/// //  = help: did you mean `between`?
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    input: String,
    span: Range<usize>,
    kind: ParseErrorKind,
    hint: Option<String>,
}

impl ParseError {
    pub(crate) fn new(input: &str, span: Range<usize>, kind: impl Into<ParseErrorKind>) -> Self {
        let end = span.end.min(input.len());
        ParseError {
            input: input.to_owned(),
            span: span.start.min(end)..end,
            kind: kind.into(),
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub(crate) fn set_hint_if_none(&mut self, hint: Option<String>) {
        if self.hint.is_none() {
            self.hint = hint;
        }
    }

    /// The string that was parsed.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// The byte range of the offending part of [`input`](Self::input) (empty at the end of
    /// the string when something is missing).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// What is wrong.
    pub fn kind(&self) -> &ParseErrorKind {
        &self.kind
    }

    /// A suggestion for fixing it.
    pub fn hint(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    /// The offending text, if the range is not empty.
    pub fn found(&self) -> Option<&str> {
        let text = &self.input[self.span.clone()];
        (!text.is_empty()).then_some(text)
    }

    /// The error as a one-line message (what is wrong and what was found there), without
    /// the position.
    pub fn message(&self) -> String {
        match (&self.kind, self.found()) {
            (ParseErrorKind::Unexpected { .. }, Some(found)) => {
                // Control characters are shown escaped; everything else as typed.
                let shown: String = found
                    .chars()
                    .map(|c| {
                        if c.is_control() {
                            c.escape_default().collect()
                        } else {
                            c.to_string()
                        }
                    })
                    .collect();
                format!("{}, found `{shown}`", self.kind)
            }
            (ParseErrorKind::Unexpected { .. }, None) => {
                format!("{}, found the end of the condition", self.kind)
            }
            _ => self.kind.to_string(),
        }
    }

    /// Line and column (both starting at 1, columns counted in characters) of the start of
    /// the range.
    pub fn line_column(&self) -> (usize, usize) {
        let before = &self.input[..self.span.start];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (
            line,
            self.input[line_start..self.span.start].chars().count() + 1,
        )
    }

    /// The error with the condition and a caret line under the offending part:
    ///
    /// ```text
    /// error: expected a time of day such as `07:00`, found `noon`
    ///  | daily after noon
    ///  |             ^^^^
    ///  = help: times of day are written HH:MM, e.g. `12:00`
    /// ```
    pub fn render(&self) -> String {
        let mut out = format!("error: {}\n", self.message());
        let line_start = self.input[..self.span.start]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let line_end = self.input[self.span.start..]
            .find('\n')
            .map_or(self.input.len(), |i| self.span.start + i);
        let line = &self.input[line_start..line_end];
        let (line_no, _) = self.line_column();
        if self.input.contains('\n') {
            out.push_str(&format!(" | (line {line_no})\n"));
        }
        out.push_str(" | ");
        out.push_str(line);
        out.push('\n');
        // Keep tabs in the padding so that the caret lines up under tabbed text.
        let pad: String = self.input[line_start..self.span.start]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let span_end = self.span.end.min(line_end);
        let width = self.input[self.span.start..span_end].chars().count().max(1);
        out.push_str(" | ");
        out.push_str(&pad);
        out.push_str(&"^".repeat(width));
        if let Some(hint) = &self.hint {
            out.push_str("\n = help: ");
            out.push_str(hint);
        }
        out
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (line, column) = self.line_column();
        if self.input.contains('\n') {
            write!(f, "{} (line {line}, column {column})", self.message())?;
        } else {
            write!(f, "{} (column {column})", self.message())?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            ParseErrorKind::InvalidValue(e) => Some(e),
            ParseErrorKind::Cron(e) => Some(e),
            ParseErrorKind::CronFields(e) => Some(e),
            ParseErrorKind::Date(e) => Some(e),
            _ => None,
        }
    }
}

/// An error from the typed condition API: a string that does not parse, or a value out of
/// range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// A string argument that does not parse.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A typed argument out of range.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// Named cron fields that are not valid; the span is in the text
    /// `name = expression, ...` made of the fields given.
    #[error(transparent)]
    CronFields(#[from] super::cron_fields::CronFieldsParseError),
    /// A one-off date that is not strict ISO 8601; the span is in the date's text.
    #[error(transparent)]
    Date(#[from] super::once::DateParseError),
}

/// The distance between two words counting insertions, deletions, substitutions and
/// swaps of adjacent letters (optimal string alignment), for "did you mean" hints.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub(crate) fn nearest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = match lower.chars().count() {
        0..=2 => 0,
        3..=5 => 1,
        _ => 2,
    };
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), c))
        .filter(|&(d, c)| d <= limit && !c.eq_ignore_ascii_case(&lower))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("daily", "daily"), 0);
        assert_eq!(edit_distance("dialy", "daily"), 1);
        assert_eq!(edit_distance("betwen", "between"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(nearest("dialy", ["daily", "weekly"]), Some("daily"));
        assert_eq!(nearest("xyz", ["daily", "weekly"]), None);
    }

    #[test]
    fn render_points_under_the_span() {
        let e = ParseError::new("daily after noon", 12..16, ParseErrorKind::BareNumber)
            .with_hint("write `12:00`");
        assert_eq!(
            e.render(),
            "error: a bare number is not a time of day\n | daily after noon\n |             ^^^^\n = help: write `12:00`"
        );
    }

    #[test]
    fn render_at_the_end_of_the_input() {
        let e = ParseError::new(
            "daily between",
            13..13,
            ParseErrorKind::Unexpected {
                expected: vec![Expected::TimeOfDay],
            },
        );
        assert_eq!(e.found(), None);
        assert!(e.render().ends_with(" | daily between\n |              ^"));
        assert_eq!(e.line_column(), (1, 14));
    }
}
