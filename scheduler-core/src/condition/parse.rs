//! From text to [`Condition`]: the pest parser generated from `grammar.pest`, the walk
//! from its pairs to the AST (with the checks of values that the grammar leaves open),
//! and the translation of pest's errors into [`ParseError`]s with words and hints.
//!
//! Pest types stay inside this module.

use std::str::FromStr;

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;

use crate::time::{
    DAY, HOUR, Interval, MINUTE, Period, SECOND, Span, TimeOfDay, TimeOfHour, TimeOfMinute,
    TimeOfMonth, TimeOfSecond, TimeOfWeek, ValueError, Weekday,
};

use super::ast::{
    AfterTasks, ClockWindow, Condition, Outcome, ParamCondition, Quantifier, SchedulerCondition,
    StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use super::cron::{CronField, CronFieldKind, CronItem, CronSchedule, CronValue};
use super::error::{CronError, Expected, ParseError, ParseErrorKind, nearest};

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

// ----------------------------------------------------------------------------------------
// Pairs to AST
// ----------------------------------------------------------------------------------------

struct Builder<'i> {
    input: &'i str,
}

fn span_of(pair: &Pair<'_, Rule>) -> std::ops::Range<usize> {
    let s = pair.as_span();
    s.start()..s.end()
}

impl<'i> Builder<'i> {
    fn error(&self, pair: &Pair<'_, Rule>, kind: impl Into<ParseErrorKind>) -> ParseError {
        ParseError::new(self.input, span_of(pair), kind)
    }

    fn expression(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn conjunction(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn negation(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn leaf(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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
            rule => unreachable!("grammar: {rule:?} is not a leaf"),
        }
    }

    fn once_per(&self, pair: Pair<'i, Rule>) -> Result<Period> {
        let rule = pair.as_rule();
        let span_pair = pair.into_inner().nth(1);
        Ok(match rule {
            Rule::secondly => Period::Second(self.span(span_pair, Self::second_point)?),
            Rule::minutely => Period::Minute(self.span(span_pair, Self::minute_point)?),
            Rule::hourly => Period::Hour(self.span(span_pair, Self::hour_point)?),
            Rule::daily => Period::Day(self.span(span_pair, Self::day_point)?),
            Rule::weekly => Period::Week(self.span(span_pair, Self::week_point)?),
            Rule::monthly => Period::Month(self.span(span_pair, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a period"),
        })
    }

    fn clock_window(&self, pair: Pair<'i, Rule>) -> Result<Period> {
        let rule = pair.as_rule();
        let window = pair.into_inner().nth(1);
        Ok(match rule {
            Rule::time_of_minute => Period::Minute(self.span(window, Self::minute_point)?),
            Rule::time_of_hour => Period::Hour(self.span(window, Self::hour_point)?),
            Rule::time_of_day => Period::Day(self.span(window, Self::day_point)?),
            Rule::time_of_week => Period::Week(self.span(window, Self::week_point)?),
            Rule::time_of_month => Period::Month(self.span(window, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a clock window"),
        })
    }

    /// A span rule (`before X`, `between X and Y`, ...), or the full cycle when absent.
    fn span<P>(
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

    fn day_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfDay> {
        parse_time_of_day(pair.as_str()).map_err(|(kind, hint)| {
            let e = self.error(&pair, kind);
            match hint {
                Some(h) => e.with_hint(h),
                None => e,
            }
        })
    }

    fn hour_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfHour> {
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

    fn second_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfSecond> {
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

    fn minute_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfMinute> {
        seconds_and_fraction(pair.as_str())
            .and_then(|(s, micro)| {
                TimeOfMinute::with_micros(s, micro).map_err(|e| (e.into(), None))
            })
            .map_err(|(kind, hint)| with_optional_hint(self.error(&pair, kind), hint))
    }

    fn week_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfWeek> {
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

    fn month_point(&self, pair: Pair<'i, Rule>) -> Result<TimeOfMonth> {
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

    fn duration(&self, pair: Pair<'i, Rule>) -> Result<Interval> {
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

    fn cron_fields(&self, pair: Pair<'i, Rule>) -> Result<CronSchedule> {
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

    fn cron_field(&self, kind: CronFieldKind, pair: Pair<'i, Rule>) -> Result<CronField> {
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

    fn cron_value(&self, kind: CronFieldKind, pair: &Pair<'i, Rule>) -> Result<CronValue> {
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

    fn status(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn status_scope(&self, pair: Pair<'i, Rule>) -> Result<StatusScope> {
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
            Rule::this_hour_scope => Period::Hour(self.span(span, Self::hour_point)?),
            Rule::today_scope => Period::Day(self.span(span, Self::day_point)?),
            Rule::this_week_scope => Period::Week(self.span(span, Self::week_point)?),
            Rule::this_month_scope => Period::Month(self.span(span, Self::month_point)?),
            rule => unreachable!("grammar: {rule:?} is not a scope"),
        }))
    }

    fn after(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn scheduler(&self, pair: Pair<'i, Rule>) -> Result<Condition> {
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

    fn task_name(&self, pair: Pair<'i, Rule>) -> Result<String> {
        let name = name_text(&pair);
        if name.is_empty() {
            return Err(self
                .error(&pair, ParseErrorKind::EmptyName)
                .with_hint("write the task's name between the quotes"));
        }
        Ok(name)
    }

    fn number<T: FromStr>(&self, pair: &Pair<'i, Rule>) -> Result<T> {
        pair.as_str().parse::<T>().map_err(|_| {
            self.error(
                pair,
                ParseErrorKind::NumberTooLarge(pair.as_str().to_owned()),
            )
        })
    }
}

fn first(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    pair.into_inner()
        .next()
        .expect("grammar: the rule has an inner pair")
}

fn find(pair: Pair<'_, Rule>, rule: Rule) -> Pair<'_, Rule> {
    pair.into_inner()
        .find(|p| p.as_rule() == rule)
        .unwrap_or_else(|| unreachable!("grammar: missing {rule:?}"))
}

fn name_text(pair: &Pair<'_, Rule>) -> String {
    let quoted = pair.as_str();
    quoted[1..quoted.len() - 1].to_owned()
}

fn task_status(keyword: &Pair<'_, Rule>) -> TaskStatus {
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

fn with_optional_hint(e: ParseError, hint: Option<String>) -> ParseError {
    match hint {
        Some(h) => e.with_hint(h),
        None => e,
    }
}

// ----------------------------------------------------------------------------------------
// Values from matched text
// ----------------------------------------------------------------------------------------

type ValueResult<T> = std::result::Result<T, (ParseErrorKind, Option<String>)>;

fn two_digits(text: &str, what: &'static str, form: &'static str) -> ValueResult<u32> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.parse().expect("two digits"))
    } else {
        Err((ParseErrorKind::Malformed { what, form }, None))
    }
}

/// `SS` or `SS.ffffff` → (seconds, microseconds).
fn seconds_and_fraction(text: &str) -> ValueResult<(u32, u32)> {
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
fn parse_time_of_day(text: &str) -> ValueResult<TimeOfDay> {
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

const WEEKDAY_WORDS: [&str; 14] = [
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
const WEEKDAY_CRON_WORDS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const MONTH_WORDS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];

fn parse_weekday(text: &str) -> Option<Weekday> {
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

fn unit_micros(unit: &str) -> u128 {
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
fn scaled_decimal(number: &str, unit: u128) -> u128 {
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
fn clock_duration(text: &str) -> ValueResult<u128> {
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

// ----------------------------------------------------------------------------------------
// FromStr for values
// ----------------------------------------------------------------------------------------

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

// ----------------------------------------------------------------------------------------
// Syntax errors
// ----------------------------------------------------------------------------------------

const CONDITION_KEYWORDS: [&str; 23] = [
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
];

const TIME_UNIT_WORDS: [&str; 14] = [
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
fn expected_of(rule: Rule) -> Option<Expected> {
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
        | R::cron_only => return None,
    })
}

/// Keywords that would fix a typo where `expected` was expected.
fn keyword_candidates(expected: &[Expected]) -> Vec<&'static str> {
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
fn token_end(input: &str, pos: usize) -> usize {
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
fn unclosed_parenthesis(input: &str) -> Option<usize> {
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

fn syntax_error(input: &str, e: pest::error::Error<Rule>) -> ParseError {
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

fn syntax_hint(input: &str, pos: usize, found: &str, expected: &[Expected]) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;
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
