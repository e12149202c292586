//! A compact binary form of a parsed condition, for conditions checked at compile time.
//!
//! `#[task("...")]` and `condition!("...")` parse their string when the program compiles;
//! without this form the runtime parsed every string again at start-up, and a program of
//! 1,000 tasks with 750 distinct conditions spent 14 of its 19 ms before the first run in
//! the parser. The macros now also emit the parsed condition in this form (a byte-string
//! literal beside the text), and the runtime rebuilds the value from it with no grammar
//! involved: in that program, 3,400 instructions per condition (the allocations of its
//! values included) instead of 51,000.
//!
//! The format is private to one version of the crates: the facade pins `scheduler-macros`
//! and `scheduler-core` to the same version, and the first byte is a format number checked
//! on decoding, so a mismatch is an error rather than a wrong condition. Values are
//! rebuilt through their checked constructors, so bytes that do not describe a valid
//! condition are an error too, never an invalid value. Strings parsed at run time still go
//! through the parser.

use std::time::Duration;

use super::ast::{
    AfterTasks, ClockWindow, Condition, Outcome, ParamCondition, Quantifier, SchedulerCondition,
    StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use super::cron::{CronField, CronFieldKind, CronItem, CronSchedule, CronValue};
use crate::time::{
    HOUR, Interval, MINUTE, Period, SECOND, Span, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth,
    TimeOfSecond, TimeOfWeek, Weekday,
};

/// The format number, the first byte of every encoding; bump it when the layout changes.
const FORMAT: u8 = 1;

/// Bytes that are not the encoding of a condition by this version of the crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid compiled condition at byte {offset}: {problem}")]
pub struct DecodeError {
    offset: usize,
    problem: &'static str,
}

/// A condition string that a macro parsed at compile time, with the parsed value encoded.
#[derive(Debug, Clone, Copy)]
pub struct CheckedCondition {
    /// The string as written, for messages and to share one value between equal strings.
    pub text: &'static str,
    /// The parsed value, as [`encode`] writes it.
    pub code: &'static [u8],
}

impl CheckedCondition {
    /// The parsed value.
    pub fn decode(&self) -> Result<Condition, DecodeError> {
        decode(self.code)
    }
}

/// The condition in the binary form that [`decode`] reads.
pub fn encode(condition: &Condition) -> Vec<u8> {
    let mut w = Writer(vec![FORMAT]);
    w.condition(condition);
    w.0
}

/// The condition that [`encode`] wrote into `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Condition, DecodeError> {
    let mut r = Reader { bytes, at: 0 };
    if r.byte()? != FORMAT {
        return Err(r.error("made by another version of the scheduler crates"));
    }
    let condition = r.condition(0)?;
    if r.at != bytes.len() {
        return Err(r.error("bytes left after the condition"));
    }
    Ok(condition)
}

struct Writer(Vec<u8>);

impl Writer {
    fn byte(&mut self, b: u8) {
        self.0.push(b);
    }

    /// LEB128: seven bits per byte, low bits first.
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.0.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.0.push(n as u8);
    }

    fn text(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn optional_uint(&mut self, n: Option<u32>) {
        // 0 for none, n + 1 otherwise.
        self.uint(n.map_or(0, |n| u64::from(n) + 1));
    }

    fn condition(&mut self, c: &Condition) {
        match c {
            Condition::Literal(b) => self.byte(u8::from(*b)),
            Condition::Not(inner) => {
                self.byte(2);
                self.condition(inner);
            }
            Condition::All(operands) | Condition::Any(operands) => {
                self.byte(if matches!(c, Condition::All(_)) { 3 } else { 4 });
                self.uint(operands.len() as u64);
                for operand in operands {
                    self.condition(operand);
                }
            }
            Condition::OncePer(period) => {
                self.byte(5);
                self.period(period);
            }
            Condition::TimeOf(window) => {
                self.byte(6);
                self.period(&window.period);
            }
            Condition::Every(interval) => {
                self.byte(7);
                self.interval(*interval);
            }
            Condition::Cron(schedule) => {
                self.byte(8);
                for field in schedule.fields() {
                    self.cron_field(field);
                }
            }
            Condition::Status(s) => {
                self.byte(9);
                self.task(&s.task);
                self.byte(s.status as u8);
                match &s.scope {
                    StatusScope::Ever => self.byte(0),
                    StatusScope::Period(p) => {
                        self.byte(1);
                        self.period(p);
                    }
                    StatusScope::Past(i) => {
                        self.byte(2);
                        self.interval(*i);
                    }
                }
            }
            Condition::After(a) => {
                self.byte(10);
                self.uint(a.tasks.len() as u64);
                for task in &a.tasks {
                    self.text(task);
                }
                self.byte(a.quantifier as u8);
                self.byte(a.outcome as u8);
            }
            Condition::Running(task) => {
                self.byte(11);
                self.task(task);
            }
            Condition::Retry(limit) => {
                self.byte(12);
                self.optional_uint(*limit);
            }
            Condition::Scheduler(s) => {
                self.byte(13);
                match s {
                    SchedulerCondition::StartedWithin(i) => {
                        self.byte(0);
                        self.interval(*i);
                    }
                    SchedulerCondition::RunningLongerThan(i) => {
                        self.byte(1);
                        self.interval(*i);
                    }
                    SchedulerCondition::CyclesMoreThan(n) => {
                        self.byte(2);
                        self.uint(*n);
                    }
                    SchedulerCondition::CyclesLessThan(n) => {
                        self.byte(3);
                        self.uint(*n);
                    }
                    SchedulerCondition::CyclesExactly(n) => {
                        self.byte(4);
                        self.uint(*n);
                    }
                }
            }
            Condition::Env(value) => {
                self.byte(14);
                self.text(value);
            }
            Condition::Param(p) => {
                self.byte(15);
                match p {
                    ParamCondition::Exists(key) => {
                        self.byte(0);
                        self.text(key);
                    }
                    ParamCondition::Is(key, value) => {
                        self.byte(1);
                        self.text(key);
                        self.text(value);
                    }
                }
            }
        }
    }

    fn task(&mut self, task: &TaskRef) {
        match task {
            TaskRef::Owner => self.byte(0),
            TaskRef::Named(name) => {
                self.byte(1);
                self.text(name);
            }
        }
    }

    fn interval(&mut self, i: Interval) {
        self.uint(i.micros() as u64);
    }

    fn period(&mut self, p: &Period) {
        match p {
            Period::Second(s) => self.span(0, s, |w, t| w.uint(t.offset() as u64)),
            Period::Minute(s) => self.span(1, s, |w, t| w.uint(t.offset() as u64)),
            Period::Hour(s) => self.span(2, s, |w, t| w.uint(t.offset() as u64)),
            Period::Day(s) => self.span(3, s, |w, t| w.time_of_day(*t)),
            Period::Week(s) => self.span(4, s, |w, t| {
                w.byte(t.weekday().num_days_from_monday() as u8);
                w.optional_time_of_day(t.time());
            }),
            Period::Month(s) => self.span(5, s, |w, t| {
                w.byte(t.day_of_month() as u8);
                w.optional_time_of_day(t.time());
            }),
        }
    }

    fn span<P>(&mut self, unit: u8, span: &Span<P>, point: impl Fn(&mut Self, &P)) {
        self.byte(unit);
        match span {
            Span::Full => self.byte(0),
            Span::Before(p) => {
                self.byte(1);
                point(self, p);
            }
            Span::After(p) => {
                self.byte(2);
                point(self, p);
            }
            Span::Between(a, b) => {
                self.byte(3);
                point(self, a);
                point(self, b);
            }
            Span::Starting(p) => {
                self.byte(4);
                point(self, p);
            }
            Span::On(p) => {
                self.byte(5);
                point(self, p);
            }
        }
    }

    fn time_of_day(&mut self, t: TimeOfDay) {
        self.uint(t.offset() as u64);
    }

    fn optional_time_of_day(&mut self, t: Option<TimeOfDay>) {
        match t {
            None => self.byte(0),
            Some(t) => {
                self.byte(1);
                self.time_of_day(t);
            }
        }
    }

    fn cron_field(&mut self, field: &CronField) {
        self.uint(field.items().len() as u64);
        for item in field.items() {
            match *item {
                CronItem::Any { step } => {
                    self.byte(0);
                    self.optional_uint(step);
                }
                CronItem::Value(v) => {
                    self.byte(1);
                    self.cron_value(v);
                }
                CronItem::Range { start, end, step } => {
                    self.byte(2);
                    self.cron_value(start);
                    self.cron_value(end);
                    self.optional_uint(step);
                }
            }
        }
    }

    fn cron_value(&mut self, v: CronValue) {
        // The number and whether it was written as a name, in one integer.
        self.uint((u64::from(v.number) << 1) | u64::from(v.named));
    }
}

/// How deeply conditions may nest in the encoding (the parser's limit is the stack); the
/// bytes come from the macro, but a bound keeps a corrupt input from recursing at will.
const MAX_DEPTH: usize = 1_000;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn error(&self, problem: &'static str) -> DecodeError {
        DecodeError {
            offset: self.at,
            problem,
        }
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| self.error("unexpected end"))?;
        self.at += 1;
        Ok(b)
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(self.error("integer too long"))
    }

    fn small(&mut self) -> Result<u32, DecodeError> {
        let n = self.uint()?;
        u32::try_from(n).map_err(|_| self.error("number out of range"))
    }

    fn micros(&mut self) -> Result<i64, DecodeError> {
        let n = self.uint()?;
        i64::try_from(n).map_err(|_| self.error("number out of range"))
    }

    fn optional_small(&mut self) -> Result<Option<u32>, DecodeError> {
        Ok(match self.small()? {
            0 => None,
            n => Some(n - 1),
        })
    }

    fn text(&mut self) -> Result<String, DecodeError> {
        let len = usize::try_from(self.uint()?).map_err(|_| self.error("text too long"))?;
        let end = self
            .at
            .checked_add(len)
            .filter(|&end| end <= self.bytes.len())
            .ok_or_else(|| self.error("unexpected end"))?;
        let text = std::str::from_utf8(&self.bytes[self.at..end])
            .map_err(|_| self.error("text is not UTF-8"))?;
        self.at = end;
        Ok(text.to_owned())
    }

    /// A length that cannot exceed what is left, so that a corrupt one allocates nothing.
    fn count(&mut self) -> Result<usize, DecodeError> {
        let n = self.uint()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.bytes.len() - self.at)
            .ok_or_else(|| self.error("count larger than the input"))
    }

    fn condition(&mut self, depth: usize) -> Result<Condition, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        Ok(match self.byte()? {
            0 => Condition::Literal(false),
            1 => Condition::Literal(true),
            2 => Condition::Not(Box::new(self.condition(depth + 1)?)),
            tag @ (3 | 4) => {
                let n = self.count()?;
                let operands = (0..n)
                    .map(|_| self.condition(depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if tag == 3 {
                    Condition::All(operands)
                } else {
                    Condition::Any(operands)
                }
            }
            5 => Condition::OncePer(self.period()?),
            6 => Condition::TimeOf(ClockWindow {
                period: self.period()?,
            }),
            7 => Condition::Every(self.interval()?),
            8 => {
                let fields = [
                    self.cron_field(CronFieldKind::Minute)?,
                    self.cron_field(CronFieldKind::Hour)?,
                    self.cron_field(CronFieldKind::DayOfMonth)?,
                    self.cron_field(CronFieldKind::Month)?,
                    self.cron_field(CronFieldKind::DayOfWeek)?,
                ];
                Condition::Cron(
                    CronSchedule::from_fields(fields)
                        .map_err(|_| self.error("cron fields that never match"))?,
                )
            }
            9 => {
                let task = self.task()?;
                let status = match self.byte()? {
                    0 => TaskStatus::Succeeded,
                    1 => TaskStatus::Failed,
                    2 => TaskStatus::Finished,
                    3 => TaskStatus::Terminated,
                    4 => TaskStatus::Inacted,
                    5 => TaskStatus::Started,
                    6 => TaskStatus::Crashed,
                    _ => return Err(self.error("unknown status")),
                };
                let scope = match self.byte()? {
                    0 => StatusScope::Ever,
                    1 => StatusScope::Period(self.period()?),
                    2 => StatusScope::Past(self.interval()?),
                    _ => return Err(self.error("unknown status scope")),
                };
                Condition::Status(StatusCondition {
                    task,
                    status,
                    scope,
                })
            }
            10 => {
                let n = self.count()?;
                let tasks = (0..n).map(|_| self.text()).collect::<Result<Vec<_>, _>>()?;
                let quantifier = match self.byte()? {
                    0 => Quantifier::All,
                    1 => Quantifier::Any,
                    _ => return Err(self.error("unknown quantifier")),
                };
                let outcome = match self.byte()? {
                    0 => Outcome::Succeeded,
                    1 => Outcome::Failed,
                    2 => Outcome::Finished,
                    3 => Outcome::Terminated,
                    _ => return Err(self.error("unknown outcome")),
                };
                Condition::After(AfterTasks {
                    tasks,
                    quantifier,
                    outcome,
                })
            }
            11 => Condition::Running(self.task()?),
            12 => Condition::Retry(self.optional_small()?),
            13 => Condition::Scheduler(match self.byte()? {
                0 => SchedulerCondition::StartedWithin(self.interval()?),
                1 => SchedulerCondition::RunningLongerThan(self.interval()?),
                2 => SchedulerCondition::CyclesMoreThan(self.uint()?),
                3 => SchedulerCondition::CyclesLessThan(self.uint()?),
                4 => SchedulerCondition::CyclesExactly(self.uint()?),
                _ => return Err(self.error("unknown scheduler condition")),
            }),
            14 => Condition::Env(self.text()?),
            15 => Condition::Param(match self.byte()? {
                0 => ParamCondition::Exists(self.text()?),
                1 => ParamCondition::Is(self.text()?, self.text()?),
                _ => return Err(self.error("unknown parameter condition")),
            }),
            _ => return Err(self.error("unknown condition")),
        })
    }

    fn task(&mut self) -> Result<TaskRef, DecodeError> {
        match self.byte()? {
            0 => Ok(TaskRef::Owner),
            1 => Ok(TaskRef::Named(self.text()?)),
            _ => Err(self.error("unknown task reference")),
        }
    }

    fn interval(&mut self) -> Result<Interval, DecodeError> {
        let micros = self.uint()?;
        Interval::new(Duration::from_micros(micros)).map_err(|_| self.error("invalid interval"))
    }

    fn period(&mut self) -> Result<Period, DecodeError> {
        let invalid = |r: &Self| r.error("invalid time in a period");
        Ok(match self.byte()? {
            0 => Period::Second(self.span(|r| {
                let us = r.small()?;
                TimeOfSecond::from_micros(us).map_err(|_| invalid(r))
            })?),
            1 => Period::Minute(self.span(|r| {
                let us = r.micros()?;
                let second = u32::try_from(us / SECOND).map_err(|_| invalid(r))?;
                TimeOfMinute::with_micros(second, (us % SECOND) as u32).map_err(|_| invalid(r))
            })?),
            2 => Period::Hour(self.span(|r| {
                let us = r.micros()?;
                if us == HOUR {
                    // The end of the hour, only written as `4 quarters`.
                    return TimeOfHour::quarters(4).map_err(|_| invalid(r));
                }
                let minute = u32::try_from(us / MINUTE).map_err(|_| invalid(r))?;
                let second = ((us % MINUTE) / SECOND) as u32;
                TimeOfHour::with_micros(minute, second, (us % SECOND) as u32)
                    .map_err(|_| invalid(r))
            })?),
            3 => Period::Day(self.span(Self::time_of_day)?),
            4 => Period::Week(self.span(|r| {
                let weekday = Weekday::try_from(r.byte()?).map_err(|_| invalid(r))?;
                Ok(match r.optional_time_of_day()? {
                    None => TimeOfWeek::day(weekday),
                    Some(t) => TimeOfWeek::at(weekday, t),
                })
            })?),
            5 => Period::Month(self.span(|r| {
                let day = u32::from(r.byte()?);
                match r.optional_time_of_day()? {
                    None => TimeOfMonth::day(day),
                    Some(t) => TimeOfMonth::at(day, t),
                }
                .map_err(|_| invalid(r))
            })?),
            _ => return Err(self.error("unknown period")),
        })
    }

    fn span<P>(
        &mut self,
        point: impl Fn(&mut Self) -> Result<P, DecodeError>,
    ) -> Result<Span<P>, DecodeError> {
        Ok(match self.byte()? {
            0 => Span::Full,
            1 => Span::Before(point(self)?),
            2 => Span::After(point(self)?),
            3 => Span::Between(point(self)?, point(self)?),
            4 => Span::Starting(point(self)?),
            5 => Span::On(point(self)?),
            _ => return Err(self.error("unknown span")),
        })
    }

    fn time_of_day(&mut self) -> Result<TimeOfDay, DecodeError> {
        let us = self.micros()?;
        let hour = u32::try_from(us / HOUR).map_err(|_| self.error("invalid time"))?;
        let minute = ((us % HOUR) / MINUTE) as u32;
        let second = ((us % MINUTE) / SECOND) as u32;
        TimeOfDay::with_micros(hour, minute, second, (us % SECOND) as u32)
            .map_err(|_| self.error("invalid time of day"))
    }

    fn optional_time_of_day(&mut self) -> Result<Option<TimeOfDay>, DecodeError> {
        match self.byte()? {
            0 => Ok(None),
            1 => Ok(Some(self.time_of_day()?)),
            _ => Err(self.error("invalid optional time")),
        }
    }

    fn cron_field(&mut self, kind: CronFieldKind) -> Result<CronField, DecodeError> {
        let n = self.count()?;
        let (min, max) = kind.range();
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            let item = match self.byte()? {
                0 => CronItem::Any {
                    step: self.optional_small()?,
                },
                1 => CronItem::Value(self.cron_value(min, max)?),
                2 => CronItem::Range {
                    start: self.cron_value(min, max)?,
                    end: self.cron_value(min, max)?,
                    step: self.optional_small()?,
                },
                _ => return Err(self.error("unknown cron item")),
            };
            items.push(item);
        }
        if items.is_empty() {
            return Err(self.error("empty cron field"));
        }
        Ok(CronField::new(kind, items))
    }

    fn cron_value(&mut self, min: u32, max: u32) -> Result<CronValue, DecodeError> {
        let n = self.uint()?;
        let number = u32::try_from(n >> 1)
            .ok()
            .filter(|v| (min..=max).contains(v))
            .ok_or_else(|| self.error("cron value out of range"))?;
        Ok(CronValue {
            number,
            named: n & 1 == 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of leaf, spans of every unit, nesting, names and steps in cron fields.
    const CONDITIONS: &[&str] = &[
        "true",
        "always false",
        "~(daily | hourly after 45:00) & every 10 minutes",
        "secondly before 500",
        "minutely between 15 and 45",
        "hourly on 30:00",
        "hourly before 4 quarters",
        "daily between 22:00 and 02:00",
        "daily starting 10:00:30.250",
        "weekly on Mon",
        "weekly between Mon 10:00 and Fri 18:00",
        "monthly after 15th",
        "monthly between 1st 09:00 and 3rd",
        "time of day before 23:59:59.999999",
        "time of week on Saturday",
        "cron */15 9-17/2 1,15 JAN-MAR,oct MON-FRI",
        "cron 0 0 * * 7",
        "task 'report' has failed today between 07:00 and 10:00",
        "has succeeded",
        "task 'x' has crashed past 2 hours",
        "task 'x' has started this week",
        "after task 'get_data' succeeded",
        "after any tasks 'a', 'b' finished | after tasks 'c', 'd' terminated",
        "task 'x' is running & retry 3 | retry",
        "scheduler started 10 minutes ago | scheduler has run over 1 hour",
        "scheduler has more than 3 cycles & scheduler has less than 10 cycles | scheduler has 5 cycles",
        "env 'prod' & param 'k' exists & param 'mode' is 'fast ünïcode'",
    ];

    #[test]
    fn decoding_gives_back_the_parsed_condition() {
        for text in CONDITIONS {
            let parsed: Condition = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            let bytes = encode(&parsed);
            let decoded = decode(&bytes).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(decoded, parsed, "{text}");
            assert_eq!(decoded.to_string(), parsed.to_string(), "{text}");
        }
    }

    #[test]
    fn corrupt_bytes_are_errors_not_panics() {
        let bytes = encode(&CONDITIONS[2].parse().unwrap());
        // Every truncation, and every single-byte change, decodes to an error or to some
        // condition, without panicking or allocating by a corrupt count.
        for len in 0..bytes.len() {
            assert!(decode(&bytes[..len]).is_err(), "truncated to {len}");
        }
        for i in 0..bytes.len() {
            for b in [0u8, 1, 0x7F, 0x80, 0xFF] {
                let mut changed = bytes.clone();
                changed[i] = b;
                let _ = decode(&changed);
            }
        }
        let mut other_version = bytes.clone();
        other_version[0] = FORMAT + 1;
        assert_eq!(
            decode(&other_version).unwrap_err().to_string(),
            "invalid compiled condition at byte 1: made by another version of the scheduler crates"
        );
    }
}
