//! The walk from pest's pairs to the AST, checking what the grammar leaves open (ranges
//! of values, combinations of a phrase's parts).

use std::str::FromStr;

use pest::iterators::Pair;

use crate::time::{
    Interval, Period, Span, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond,
    TimeOfWeek, ValueError,
};

use crate::condition::ast::{
    AfterTasks, ClockWindow, Comparison, Condition, CountCondition, CustomArg, CustomCall,
    DurationBound, Outcome, ParamCondition, Quantifier, RunningCount, RunningFor,
    SchedulerCondition, StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use crate::condition::cron::{CronField, CronFieldKind, CronItem, CronSchedule, CronValue};
use crate::condition::cron_fields::CronFields;
use crate::condition::error::{CronError, ParseError, ParseErrorKind, nearest};
use crate::condition::once::{OnceAt, parse_date};

use super::values::*;
use super::{Result, Rule};

pub(super) struct Builder<'i> {
    pub(super) input: &'i str,
}

pub(super) fn span_of(pair: &Pair<'_, Rule>) -> std::ops::Range<usize> {
    let s = pair.as_span();
    s.start()..s.end()
}

impl<'i> Builder<'i> {
    pub(super) fn error(
        &self,
        pair: &Pair<'_, Rule>,
        kind: impl Into<ParseErrorKind>,
    ) -> ParseError {
        ParseError::new(self.input, span_of(pair), kind)
    }

    pub(super) fn expression(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut result: Option<Condition> = None;
        for p in pair
            .into_inner()
            .filter(|p| p.as_rule() == Rule::conjunction)
        {
            let c = self.conjunction(p)?;
            result = Some(match result {
                None => c,
                Some(prev) => prev.or(c),
            });
        }
        Ok(result.expect("grammar: an expression has an operand"))
    }

    pub(super) fn conjunction(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut result: Option<Condition> = None;
        for p in pair.into_inner().filter(|p| p.as_rule() == Rule::negation) {
            let c = self.negation(p)?;
            result = Some(match result {
                None => c,
                Some(prev) => prev.and(c),
            });
        }
        Ok(result.expect("grammar: a conjunction has an operand"))
    }

    pub(super) fn negation(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut nots = 0;
        let mut operand = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::not_op => nots += 1,
                Rule::group => {
                    let inner = p
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::expression)
                        .expect("grammar: a group holds an expression");
                    operand = Some(self.expression(inner)?);
                }
                _ => operand = Some(self.leaf(p)?),
            }
        }
        let mut c = operand.expect("grammar: a negation has an operand");
        for _ in 0..nots {
            c = c.negate();
        }
        Ok(c)
    }

    pub(super) fn leaf(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        match pair.as_rule() {
            Rule::literal => Ok(Condition::Literal(
                pair.into_inner().any(|p| p.as_rule() == Rule::kw_true),
            )),
            Rule::once_per_period => {
                let inner = first(pair);
                Ok(Condition::OncePer(self.once_per(inner)?))
            }
            Rule::time_of => {
                let inner = pair
                    .into_inner()
                    .find(|p| !matches!(p.as_rule(), Rule::kw_time | Rule::kw_of))
                    .expect("grammar: time of has a unit");
                Ok(Condition::TimeOf(ClockWindow {
                    period: self.clock_window(inner)?,
                }))
            }
            Rule::every => {
                let d = self.duration(find(pair, Rule::duration))?;
                Ok(Condition::Every(d))
            }
            Rule::cron_by_field => {
                let body = find(pair, Rule::cron_by_field_body);
                let offset = body.as_span().start();
                CronFields::parse_spec(body.as_str())
                    .map(Condition::CronFields)
                    .map_err(|e| {
                        let span = offset + e.span.start..offset + e.span.end;
                        let err = ParseError::new(self.input, span, e.kind);
                        match e.hint {
                            Some(h) => err.with_hint(h),
                            None => err,
                        }
                    })
            }
            Rule::once_at => {
                let date = find(pair.clone(), Rule::date_text);
                let offset = date.as_span().start();
                let bound = parse_date(date.as_str()).map_err(|e| {
                    let span = offset + e.span.start..offset + e.span.end;
                    ParseError::new(self.input, span, e.kind).with_hint(e.hint)
                })?;
                let grace = pair
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::duration)
                    .map(|d| self.duration(d))
                    .transpose()?;
                Ok(Condition::OnceAt(OnceAt::new(bound, grace)))
            }
            Rule::cron => Ok(Condition::Cron(
                self.cron_fields(find(pair, Rule::cron_fields))?,
            )),
            Rule::status => self.status(pair),
            Rule::running => {
                let task = match pair.into_inner().find(|p| p.as_rule() == Rule::task_prefix) {
                    Some(prefix) => TaskRef::Named(self.task_name(find(prefix, Rule::name))?),
                    None => TaskRef::Owner,
                };
                Ok(Condition::Running(task))
            }
            Rule::after => self.after(pair),
            Rule::retry => {
                let limit = match pair.into_inner().find(|p| p.as_rule() == Rule::count) {
                    Some(count) => Some(self.number::<u32>(&count)?),
                    None => None,
                };
                Ok(Condition::Retry(limit))
            }
            Rule::scheduler => self.scheduler(pair),
            Rule::env => Ok(Condition::Env(name_text(&find(pair, Rule::name)))),
            Rule::param => {
                let mut names = pair.into_inner().filter(|p| p.as_rule() == Rule::name);
                let key = names.next().expect("grammar: param has a name");
                let key_text = name_text(&key);
                if key_text.is_empty() {
                    return Err(self.error(&key, ParseErrorKind::EmptyName));
                }
                Ok(Condition::Param(match names.next() {
                    Some(value) => ParamCondition::Is(key_text, name_text(&value)),
                    None => ParamCondition::Exists(key_text),
                }))
            }
            Rule::status_count | Rule::running_for | Rule::running_count => self.counting(pair),
            Rule::custom_call => self.custom_call(pair),
            rule => unreachable!("grammar: {rule:?} is not a leaf"),
        }
    }

    /// The counting and duration leaves: `has succeeded 3 times today`,
    /// `has been running for more than 10 minutes`, `is running more than 2 times`.
    pub(super) fn counting(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let rule = pair.as_rule();
        let mut task = TaskRef::Owner;
        let mut status = TaskStatus::Succeeded;
        let mut scope = StatusScope::Ever;
        let mut comparison = Comparison::Exactly(0);
        let mut more = true;
        let mut interval = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::task_prefix => task = TaskRef::Named(self.task_name(find(p, Rule::name))?),
                Rule::task_status => status = task_status(&first(p)),
                Rule::status_scope => scope = self.status_scope(p)?,
                Rule::comparison => comparison = self.comparison(p)?,
                Rule::compare_less => more = false,
                Rule::duration => interval = Some(self.duration(p)?),
                _ => {}
            }
        }
        Ok(match rule {
            Rule::status_count => Condition::Count(CountCondition {
                task,
                status,
                comparison,
                scope,
            }),
            Rule::running_for => {
                let d = interval.expect("grammar: running for has a duration");
                Condition::RunningFor(RunningFor {
                    task,
                    bound: if more {
                        DurationBound::MoreThan(d)
                    } else {
                        DurationBound::LessThan(d)
                    },
                })
            }
            _ => Condition::RunningCount(RunningCount { task, comparison }),
        })
    }

    /// `name(arguments)`.
    pub(super) fn custom_call(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut path = String::new();
        let mut args = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::custom_path => path = p.as_str().to_owned(),
                Rule::name => args.push(CustomArg::Text(name_text(&p))),
                Rule::custom_integer => args.push(CustomArg::Integer(self.number::<i64>(&p)?)),
                Rule::custom_decimal => {
                    // Checked here so that a call never fails on its own arguments.
                    if p.as_str().parse::<f64>().is_err() {
                        return Err(
                            self.error(&p, ParseErrorKind::NumberTooLarge(p.as_str().to_owned()))
                        );
                    }
                    args.push(CustomArg::Decimal(p.as_str().to_owned()));
                }
                Rule::custom_bool => {
                    args.push(CustomArg::Bool(first(p).as_rule() == Rule::kw_true));
                }
                _ => {}
            }
        }
        Ok(Condition::Custom(CustomCall { path, args }))
    }

    /// `more than N`, `less than N`, `at least N`, `at most N`, `N`.
    pub(super) fn comparison(&self, pair: Pair<'i, Rule>) -> Result<Comparison> {
        let mut kind = None;
        let mut n = 0;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::count => n = self.number::<u32>(&p)?,
                rule => kind = Some(rule),
            }
        }
        Ok(match kind {
            Some(Rule::compare_more) => Comparison::MoreThan(n),
            Some(Rule::compare_less) => Comparison::LessThan(n),
            Some(Rule::compare_at_least) => Comparison::AtLeast(n),
            Some(Rule::compare_at_most) => Comparison::AtMost(n),
            _ => Comparison::Exactly(n),
        })
    }

    pub(super) fn once_per(&self, pair: Pair<'i, Rule>) -> Result<Period> {
        let rule = pair.as_rule();
        let span_pair = pair.into_inner().nth(1);
        Ok(match rule {
            Rule::secondly => Period::Second(self.span(span_pair, Self::second_point)?),
            Rule::minutely => Period::Minute(self.span(span_pair, Self::minute_point)?),
            Rule::hourly => Period::Hour(self.hour_span(span_pair)?),
            Rule::daily => Period::Day(self.span(span_pair, Self::day_point)?),
            Rule::weekly => Period::Week(self.span(span_pair, Self::week_point)?),
            Rule::monthly => Period::Month(self.span(span_pair, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a period"),
        })
    }

    pub(super) fn clock_window(&self, pair: Pair<'i, Rule>) -> Result<Period> {
        let rule = pair.as_rule();
        let window = pair.into_inner().nth(1);
        Ok(match rule {
            Rule::time_of_minute => Period::Minute(self.span(window, Self::minute_point)?),
            Rule::time_of_hour => Period::Hour(self.hour_span(window)?),
            Rule::time_of_day => Period::Day(self.span(window, Self::day_point)?),
            Rule::time_of_week => Period::Week(self.span(window, Self::week_point)?),
            Rule::time_of_month => Period::Month(self.span(window, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a clock window"),
        })
    }

    /// A span rule (`before X`, `between X and Y`, ...), or the full cycle when absent.
    pub(super) fn span<P>(
        &self,
        pair: Option<Pair<'i, Rule>>,
        point: fn(&Self, Pair<'i, Rule>) -> Result<P>,
    ) -> Result<Span<P>> {
        let Some(pair) = pair else {
            return Ok(Span::Full);
        };
        let mut inner = pair.into_inner();
        let keyword = inner.next().expect("grammar: a span starts with a keyword");
        let a = point(self, inner.next().expect("grammar: a span has a point"))?;
        Ok(match keyword.as_rule() {
            Rule::kw_before => Span::Before(a),
            Rule::kw_after => Span::After(a),
            Rule::kw_between => {
                let b = inner
                    .find(|p| p.as_rule() != Rule::kw_and)
                    .expect("grammar: between has two points");
                Span::Between(a, point(self, b)?)
            }
            Rule::kw_starting => Span::Starting(a),
            Rule::kw_on => Span::On(a),
            rule => unreachable!("grammar: {rule:?} does not start a span"),
        })
    }

    /// A span of an hour, where `4 quarters` (the end of the hour) may only be the end
    /// (CONDITIONS.md §9.9).
    fn hour_span(&self, pair: Option<Pair<'i, Rule>>) -> Result<Span<TimeOfHour>> {
        // The first point of every span keyword but `before` is a start.
        let start_pair = pair.clone().and_then(|p| {
            let mut inner = p.into_inner();
            let keyword = inner.next()?;
            (keyword.as_rule() != Rule::kw_before)
                .then(|| inner.next())
                .flatten()
        });
        let span = self.span(pair, Self::hour_point)?;
        if let (Some(start), Some(start_pair)) = (span.start(), start_pair)
            && start.is_end_of_hour()
        {
            return Err(self
                .error(&start_pair, ValueError::EndOfHourAsStart)
                .with_hint("a span of the hour starts at `00:00`, not at its end: write `00:00` instead of `4 quarters`"));
        }
        Ok(span)
    }

    pub(super) fn day_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfDay> {
        parse_time_of_day(pair.as_str()).map_err(|(kind, hint)| {
            let e = self.error(&pair, kind);
            match hint {
                Some(h) => e.with_hint(h),
                None => e,
            }
        })
    }

    pub(super) fn hour_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfHour> {
        let text = pair.as_str();
        let result = if text.contains(':') {
            let (minute, rest) = text.split_once(':').expect("checked for ':'");
            two_digits(
                minute,
                "minutes past the hour",
                "with two digits, as in `05:00`",
            )
            .and_then(|m| {
                let (s, micro) = seconds_and_fraction(rest)?;
                TimeOfHour::with_micros(m, s, micro).map_err(|e| (e.into(), None))
            })
        } else {
            let n = text[..1]
                .parse::<u32>()
                .expect("grammar: quarters start with a digit");
            TimeOfHour::quarters(n).map_err(|e| (e.into(), None))
        };
        result.map_err(|(kind, hint)| with_optional_hint(self.error(&pair, kind), hint))
    }

    pub(super) fn second_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfSecond> {
        let text = pair.as_str();
        let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
        if frac.len() > 3 {
            return Err(self.error(
                &pair,
                ParseErrorKind::Malformed {
                    what: "milliseconds",
                    form: "with at most three decimals (one microsecond)",
                },
            ));
        }
        let millis: u32 = whole.parse().unwrap_or(u32::MAX);
        let micros = u64::from(millis) * 1_000 + format!("{frac:0<3}").parse::<u64>().unwrap_or(0);
        u32::try_from(micros)
            .map_err(|_| ValueError::Millisecond(millis))
            .and_then(TimeOfSecond::from_micros)
            .map_err(|e| {
                self.error(&pair, e)
                    .with_hint("positions in a second are milliseconds, from `0` to `1000`")
            })
    }

    pub(super) fn minute_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfMinute> {
        seconds_and_fraction(pair.as_str())
            .and_then(|(s, micro)| {
                TimeOfMinute::with_micros(s, micro).map_err(|e| (e.into(), None))
            })
            .map_err(|(kind, hint)| with_optional_hint(self.error(&pair, kind), hint))
    }

    pub(super) fn week_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfWeek> {
        let mut inner = pair.into_inner();
        let day = inner.next().expect("grammar: a week point has a weekday");
        let weekday = parse_weekday(day.as_str()).ok_or_else(|| {
            let e = self.error(
                &day,
                ParseErrorKind::UnknownWeekday(day.as_str().to_owned()),
            );
            let typed = day.as_str().to_ascii_lowercase();
            let prefix_of = WEEKDAY_WORDS[7..]
                .iter()
                .find(|w| w.to_ascii_lowercase().starts_with(&typed));
            match prefix_of
                .copied()
                .or_else(|| nearest(day.as_str(), WEEKDAY_WORDS))
            {
                Some(w) => e.with_hint(format!("did you mean `{w}`?")),
                None => e.with_hint("weekdays are written as names: `Monday` or `Mon`"),
            }
        })?;
        Ok(match inner.next() {
            Some(time) => TimeOfWeek::at(weekday, self.day_point(time)?),
            None => TimeOfWeek::day(weekday),
        })
    }

    pub(super) fn month_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfMonth> {
        let mut inner = pair.into_inner();
        let day = inner.next().expect("grammar: a month point has a day");
        let digits: String = day
            .as_str()
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let number = digits.parse::<u32>().unwrap_or(u32::MAX);
        let time = inner.next().map(|t| self.day_point(t)).transpose()?;
        let point = match time {
            Some(t) => TimeOfMonth::at(number, t),
            None => TimeOfMonth::day(number),
        };
        point.map_err(|e| {
            self.error(&day, e)
                .with_hint("days of the month run from `1st` to `31st`")
        })
    }

    pub(super) fn duration(&self, pair: Pair<'i, Rule>) -> Result<Interval> {
        let mut micros: u128 = 0;
        for part in pair.clone().into_inner() {
            let add = match part.as_rule() {
                Rule::duration_sign => continue,
                Rule::duration_part => {
                    let mut inner = part.clone().into_inner();
                    let number = inner.next().expect("grammar: a part has a number");
                    let unit = inner.next().expect("grammar: a part has a unit");
                    scaled_decimal(number.as_str(), unit_micros(unit.as_str()))
                }
                Rule::clock_duration => clock_duration(part.as_str())
                    .map_err(|(kind, hint)| with_optional_hint(self.error(&part, kind), hint))?,
                rule => unreachable!("grammar: {rule:?} in a duration"),
            };
            micros = micros.saturating_add(add);
        }
        let d = std::time::Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
        Interval::new(d).map_err(|e| {
            let hint = matches!(e, ValueError::ZeroDuration(_))
                .then_some("write a length longer than zero, such as `10 seconds`");
            with_optional_hint(self.error(&pair, e), hint.map(str::to_owned))
        })
    }

    pub(super) fn cron_fields(&self, pair: Pair<'i, Rule>) -> Result<CronSchedule> {
        let field_pairs: Vec<_> = pair
            .clone()
            .into_inner()
            .filter(|p| p.as_rule() == Rule::cron_field)
            .collect();
        let mut fields = Vec::with_capacity(5);
        for (kind, field) in CronFieldKind::ALL.into_iter().zip(&field_pairs) {
            fields.push(self.cron_field(kind, field.clone())?);
        }
        if fields.len() == 4 {
            fields.push(CronField::star(CronFieldKind::DayOfWeek));
        }
        let fields: [CronField; 5] = fields.try_into().expect("grammar: four or five fields");
        CronSchedule::from_fields(fields).map_err(|_| {
            // Underline the day-of-month and month fields that never meet.
            let start = field_pairs[2].as_span().start();
            let end = field_pairs[3].as_span().end();
            ParseError::new(self.input, start..end, CronError::NeverMatches).with_hint(
                "check the day against the length of the month (February has at most 29 days)",
            )
        })
    }

    pub(super) fn cron_field(
        &self,
        kind: CronFieldKind,
        pair: Pair<'i, Rule>,
    ) -> Result<CronField> {
        let mut items = Vec::new();
        for item in pair.into_inner() {
            let mut inner = item.clone().into_inner();
            let body = inner.next().expect("grammar: a cron item has a body");
            let step = match inner.next() {
                Some(step) => {
                    let n = self.number::<u32>(&step)?;
                    if n == 0 {
                        return Err(self.error(&step, CronError::ZeroStep));
                    }
                    Some(n)
                }
                None => None,
            };
            items.push(match body.as_rule() {
                Rule::cron_any => CronItem::Any { step },
                Rule::cron_value => {
                    let value = self.cron_value(kind, &body)?;
                    if let Some(step) = step {
                        let (_, max) = kind.range();
                        return Err(self.error(&item, CronError::StepWithoutRange).with_hint(
                            format!("write `{}-{max}/{step}` to step from {}", value.number, value.number),
                        ));
                    }
                    CronItem::Value(value)
                }
                Rule::cron_range => {
                    let mut ends = body.clone().into_inner();
                    let start = self.cron_value(kind, &ends.next().expect("grammar: range start"))?;
                    let end = self.cron_value(kind, &ends.next().expect("grammar: range end"))?;
                    if start.number > end.number {
                        let (min, max) = kind.range();
                        return Err(self
                            .error(
                                &body,
                                CronError::ReversedRange {
                                    start: start.number,
                                    end: end.number,
                                },
                            )
                            .with_hint(format!(
                                "ranges go from low to high; to wrap around, write `{}-{max},{min}-{}`",
                                start.number, end.number
                            )));
                    }
                    CronItem::Range { start, end, step }
                }
                rule => unreachable!("grammar: {rule:?} in a cron item"),
            });
        }
        Ok(CronField::new(kind, items))
    }

    pub(super) fn cron_value(
        &self,
        kind: CronFieldKind,
        pair: &Pair<'i, Rule>,
    ) -> Result<CronValue> {
        let text = pair.as_str();
        if text.bytes().all(|b| b.is_ascii_digit()) {
            let value = text.parse::<u64>().unwrap_or(u64::MAX);
            let (min, max) = kind.range();
            if value < u64::from(min) || value > u64::from(max) {
                return Err(self.error(pair, CronError::OutOfRange { field: kind, value }));
            }
            return Ok(CronValue {
                number: value as u32,
                named: false,
            });
        }
        match kind.number_of_name(text) {
            Some(number) => Ok(CronValue {
                number,
                named: true,
            }),
            None => {
                let e = self.error(
                    pair,
                    CronError::UnknownName {
                        field: kind,
                        name: text.to_owned(),
                    },
                );
                let names: &[&str] = match kind {
                    CronFieldKind::Month => &MONTH_WORDS,
                    CronFieldKind::DayOfWeek => &WEEKDAY_CRON_WORDS,
                    _ => &[],
                };
                Err(match nearest(text, names.iter().copied()) {
                    Some(n) => e.with_hint(format!("did you mean `{n}`?")),
                    None if names.is_empty() => e.with_hint(format!(
                        "the {} field takes numbers only",
                        kind.description()
                    )),
                    None => e.with_hint(format!(
                        "names in the {} field are three letters long, such as `{}`",
                        kind.description(),
                        names[0]
                    )),
                })
            }
        }
    }

    pub(super) fn status(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut task = TaskRef::Owner;
        let mut status = TaskStatus::Succeeded;
        let mut scope = StatusScope::Ever;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::task_prefix => task = TaskRef::Named(self.task_name(find(p, Rule::name))?),
                Rule::task_status => status = task_status(&first(p)),
                Rule::status_scope => scope = self.status_scope(p)?,
                _ => {}
            }
        }
        Ok(Condition::Status(StatusCondition {
            task,
            status,
            scope,
        }))
    }

    pub(super) fn status_scope(&self, pair: Pair<'i, Rule>) -> Result<StatusScope> {
        let inner = pair
            .into_inner()
            .find(|p| p.as_rule() != Rule::kw_this)
            .expect("grammar: a scope has a body");
        let rule = inner.as_rule();
        if rule == Rule::past_scope {
            return Ok(StatusScope::Past(
                self.duration(find(inner, Rule::duration))?,
            ));
        }
        let span = inner.into_inner().nth(1);
        Ok(StatusScope::Period(match rule {
            Rule::this_minute_scope => Period::Minute(self.span(span, Self::minute_point)?),
            Rule::this_hour_scope => Period::Hour(self.hour_span(span)?),
            Rule::today_scope => Period::Day(self.span(span, Self::day_point)?),
            Rule::this_week_scope => Period::Week(self.span(span, Self::week_point)?),
            Rule::this_month_scope => Period::Month(self.span(span, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a scope"),
        }))
    }

    pub(super) fn after(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let mut tasks = Vec::new();
        let mut quantifier = Quantifier::All;
        let mut outcome = Outcome::Succeeded;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::after_one_task => tasks.push(self.task_name(find(p, Rule::name))?),
                Rule::after_all_tasks | Rule::after_any_tasks => {
                    if p.as_rule() == Rule::after_any_tasks {
                        quantifier = Quantifier::Any;
                    }
                    for name in find(p, Rule::name_list).into_inner() {
                        tasks.push(self.task_name(name)?);
                    }
                }
                Rule::outcome => {
                    outcome = match first(p).as_rule() {
                        Rule::kw_succeeded => Outcome::Succeeded,
                        Rule::kw_failed => Outcome::Failed,
                        Rule::kw_finished => Outcome::Finished,
                        _ => Outcome::Terminated,
                    }
                }
                _ => {}
            }
        }
        if tasks.len() == 1 {
            quantifier = Quantifier::All;
        }
        Ok(Condition::After(AfterTasks {
            tasks,
            quantifier,
            outcome,
        }))
    }

    pub(super) fn scheduler(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
        let inner = pair
            .into_inner()
            .find(|p| !matches!(p.as_rule(), Rule::kw_scheduler | Rule::kw_has))
            .expect("grammar: scheduler has a body");
        Ok(Condition::Scheduler(match inner.as_rule() {
            Rule::scheduler_started => {
                SchedulerCondition::StartedWithin(self.duration(find(inner, Rule::duration))?)
            }
            Rule::scheduler_run_over => {
                SchedulerCondition::RunningLongerThan(self.duration(find(inner, Rule::duration))?)
            }
            Rule::scheduler_cycles => {
                let mut comparison = None;
                let mut n = 0;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::cycles_more | Rule::cycles_less => comparison = Some(p.as_rule()),
                        Rule::count => n = self.number::<u64>(&p)?,
                        _ => {}
                    }
                }
                match comparison {
                    Some(Rule::cycles_more) => SchedulerCondition::CyclesMoreThan(n),
                    Some(_) => SchedulerCondition::CyclesLessThan(n),
                    None => SchedulerCondition::CyclesExactly(n),
                }
            }
            rule => unreachable!("grammar: {rule:?} is not a scheduler condition"),
        }))
    }

    pub(super) fn task_name(&self, pair: Pair<'i, Rule>) -> Result<String> {
        let name = name_text(&pair);
        if name.is_empty() {
            return Err(self
                .error(&pair, ParseErrorKind::EmptyName)
                .with_hint("write the task's name between the quotes"));
        }
        Ok(name)
    }

    pub(super) fn number<T: FromStr>(&self, pair: &Pair<'i, Rule>) -> Result<T> {
        pair.as_str().parse::<T>().map_err(|_| {
            self.error(
                pair,
                ParseErrorKind::NumberTooLarge(pair.as_str().to_owned()),
            )
        })
    }
}

pub(super) fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    pair.into_inner()
        .next()
        .expect("grammar: the rule has an inner pair")
}

pub(super) fn find(pair: Pair<'_, Rule>, rule: Rule) -> Pair<'_, Rule> {
    pair.into_inner()
        .find(|p| p.as_rule() == rule)
        .unwrap_or_else(|| unreachable!("grammar: missing {rule:?}"))
}

pub(super) fn name_text(pair: &Pair<'_, Rule>) -> String {
    let quoted = pair.as_str();
    quoted[1..quoted.len() - 1].to_owned()
}

pub(super) fn task_status(keyword: &Pair<'_, Rule>) -> TaskStatus {
    match keyword.as_rule() {
        Rule::kw_succeeded => TaskStatus::Succeeded,
        Rule::kw_failed => TaskStatus::Failed,
        Rule::kw_finished => TaskStatus::Finished,
        Rule::kw_terminated => TaskStatus::Terminated,
        Rule::kw_inacted => TaskStatus::Inacted,
        Rule::kw_started => TaskStatus::Started,
        _ => TaskStatus::Crashed,
    }
}

pub(super) fn with_optional_hint(e: ParseError, hint: Option<String>) -> ParseError {
    match hint {
        Some(h) => e.with_hint(h),
        None => e,
    }
}
