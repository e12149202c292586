//! The canonical text of a condition.
//!
//! `Display` prints one fixed spelling of every construct (single spaces, `true` rather
//! than `always true`, explicit outcomes, five cron fields, lengths of time in days,
//! hours, minutes and seconds) and only the parentheses precedence needs, so that the
//! printed string parses back to an equal [`Condition`].

use std::fmt;

use crate::time::{Period, Span};

use super::ast::{
    AfterTasks, Comparison, Condition, CountCondition, CustomArg, DurationBound, ParamCondition,
    Quantifier, RunningCount, RunningFor, SchedulerCondition, StatusCondition, StatusScope,
    TaskRef,
};

/// Binding strength of the context an operand is printed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Context {
    Or,
    And,
    Not,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_condition(f, self, Context::Or)
    }
}

fn write_condition(f: &mut fmt::Formatter<'_>, c: &Condition, context: Context) -> fmt::Result {
    match c {
        // Degenerate trees (not built by the parser or the API) print as what they mean.
        Condition::All(operands) if operands.is_empty() => f.write_str("true"),
        Condition::Any(operands) if operands.is_empty() => f.write_str("false"),
        Condition::All(operands) | Condition::Any(operands) if operands.len() == 1 => {
            write_condition(f, &operands[0], context)
        }
        Condition::Any(operands) => write_operands(f, operands, " | ", Context::Or, context),
        Condition::All(operands) => write_operands(f, operands, " & ", Context::And, context),
        Condition::Not(inner) => {
            f.write_str("~")?;
            write_condition(f, inner, Context::Not)
        }
        leaf => write_leaf(f, leaf),
    }
}

fn write_operands(
    f: &mut fmt::Formatter<'_>,
    operands: &[Condition],
    separator: &str,
    own: Context,
    context: Context,
) -> fmt::Result {
    let parenthesise = context > own;
    if parenthesise {
        f.write_str("(")?;
    }
    for (i, operand) in operands.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        write_condition(f, operand, own)?;
    }
    if parenthesise {
        f.write_str(")")?;
    }
    Ok(())
}

fn write_leaf(f: &mut fmt::Formatter<'_>, c: &Condition) -> fmt::Result {
    match c {
        Condition::Literal(b) => write!(f, "{b}"),
        Condition::OncePer(period) => {
            let word = match period {
                Period::Second(_) => "secondly",
                Period::Minute(_) => "minutely",
                Period::Hour(_) => "hourly",
                Period::Day(_) => "daily",
                Period::Week(_) => "weekly",
                Period::Month(_) => "monthly",
            };
            f.write_str(word)?;
            write_span_of(f, period)
        }
        Condition::TimeOf(window) => {
            let period = &window.period;
            let unit = match period {
                Period::Second(_) => "second",
                Period::Minute(_) => "minute",
                Period::Hour(_) => "hour",
                Period::Day(_) => "day",
                Period::Week(_) => "week",
                Period::Month(_) => "month",
            };
            write!(f, "time of {unit}")?;
            write_span_of(f, period)
        }
        Condition::Every(interval) => write!(f, "every {interval}"),
        Condition::Cron(schedule) => write!(f, "cron {schedule}"),
        Condition::CronFields(fields) => write!(f, "cron({fields})"),
        Condition::OnceAt(once) => write!(f, "once at {once}"),
        Condition::Status(s) => write_status(f, s),
        Condition::After(a) => write_after(f, a),
        Condition::Running(task) => {
            write_task_prefix(f, task)?;
            f.write_str("is running")
        }
        Condition::Retry(None) => f.write_str("retry"),
        Condition::Retry(Some(n)) => write!(f, "retry {n}"),
        Condition::Scheduler(s) => {
            f.write_str("scheduler ")?;
            match s {
                SchedulerCondition::StartedWithin(d) => write!(f, "started {d} ago"),
                SchedulerCondition::RunningLongerThan(d) => write!(f, "has run over {d}"),
                SchedulerCondition::CyclesMoreThan(n) => write!(f, "has more than {n} cycles"),
                SchedulerCondition::CyclesLessThan(n) => write!(f, "has less than {n} cycles"),
                SchedulerCondition::CyclesExactly(n) => write!(f, "has {n} cycles"),
            }
        }
        Condition::Env(value) => write!(f, "env '{value}'"),
        Condition::Param(ParamCondition::Exists(key)) => write!(f, "param '{key}' exists"),
        Condition::Param(ParamCondition::Is(key, value)) => {
            write!(f, "param '{key}' is '{value}'")
        }
        Condition::Count(CountCondition {
            task,
            status,
            comparison,
            scope,
        }) => {
            write_task_prefix(f, task)?;
            write!(f, "has {} {comparison}", status.keyword())?;
            write_scope(f, scope)
        }
        Condition::RunningFor(RunningFor { task, bound }) => {
            write_task_prefix(f, task)?;
            match bound {
                DurationBound::MoreThan(d) => write!(f, "has been running for more than {d}"),
                DurationBound::LessThan(d) => write!(f, "has been running for less than {d}"),
            }
        }
        Condition::RunningCount(RunningCount { task, comparison }) => {
            write_task_prefix(f, task)?;
            write!(f, "is running {comparison}")
        }
        Condition::Custom(call) => {
            write!(f, "{}(", call.path)?;
            for (i, arg) in call.args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                match arg {
                    CustomArg::Text(t) => write!(f, "'{t}'")?,
                    CustomArg::Integer(n) => write!(f, "{n}")?,
                    CustomArg::Decimal(d) => f.write_str(d)?,
                    CustomArg::Bool(b) => write!(f, "{b}")?,
                }
            }
            f.write_str(")")
        }
        Condition::Not(_) | Condition::All(_) | Condition::Any(_) => {
            write_condition(f, c, Context::Or)
        }
    }
}

/// `more than 3 times`, `at most 1 time`, `2 times`: the comparison with its noun.
impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Comparison::MoreThan(_) => f.write_str("more than ")?,
            Comparison::LessThan(_) => f.write_str("less than ")?,
            Comparison::AtLeast(_) => f.write_str("at least ")?,
            Comparison::AtMost(_) => f.write_str("at most ")?,
            Comparison::Exactly(_) => {}
        }
        let n = self.bound();
        write!(f, "{n} {}", if n == 1 { "time" } else { "times" })
    }
}

fn write_task_prefix(f: &mut fmt::Formatter<'_>, task: &TaskRef) -> fmt::Result {
    match task {
        TaskRef::Owner => Ok(()),
        TaskRef::Named(name) => write!(f, "task '{name}' "),
    }
}

fn write_status(f: &mut fmt::Formatter<'_>, s: &StatusCondition) -> fmt::Result {
    write_task_prefix(f, &s.task)?;
    write!(f, "has {}", s.status.keyword())?;
    write_scope(f, &s.scope)
}

fn write_scope(f: &mut fmt::Formatter<'_>, scope: &StatusScope) -> fmt::Result {
    match scope {
        StatusScope::Ever => Ok(()),
        StatusScope::Past(d) => write!(f, " past {d}"),
        StatusScope::Period(period) => {
            let scope = match period {
                Period::Second(_) => "this second",
                Period::Minute(_) => "this minute",
                Period::Hour(_) => "this hour",
                Period::Day(_) => "today",
                Period::Week(_) => "this week",
                Period::Month(_) => "this month",
            };
            write!(f, " {scope}")?;
            write_span_of(f, period)
        }
    }
}

fn write_after(f: &mut fmt::Formatter<'_>, a: &AfterTasks) -> fmt::Result {
    f.write_str("after ")?;
    match (a.tasks.as_slice(), a.quantifier) {
        ([only], _) => write!(f, "task '{only}'")?,
        (tasks, quantifier) => {
            if quantifier == Quantifier::Any {
                f.write_str("any ")?;
            }
            f.write_str("tasks ")?;
            for (i, t) in tasks.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "'{t}'")?;
            }
        }
    }
    write!(f, " {}", a.outcome.keyword())
}

fn write_span_of(f: &mut fmt::Formatter<'_>, period: &Period) -> fmt::Result {
    match period {
        Period::Second(span) => write_span(f, span),
        Period::Minute(span) => write_span(f, span),
        Period::Hour(span) => write_span(f, span),
        Period::Day(span) => write_span(f, span),
        Period::Week(span) => write_span(f, span),
        Period::Month(span) => write_span(f, span),
    }
}

fn write_span<P: fmt::Display>(f: &mut fmt::Formatter<'_>, span: &Span<P>) -> fmt::Result {
    match span {
        Span::Full => Ok(()),
        Span::Before(p) => write!(f, " before {p}"),
        Span::After(p) => write!(f, " after {p}"),
        Span::Between(a, b) => write!(f, " between {a} and {b}"),
        Span::Starting(p) => write!(f, " starting {p}"),
        Span::On(p) => write!(f, " on {p}"),
    }
}
