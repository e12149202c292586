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
//! on decoding, so a mismatch is an error rather than a wrong condition; the condition's
//! text travels beside it, and is parsed when the bytes do not decode
//! ([`CheckedCondition::condition`]). Each variant's byte is written once, in a table that
//! the writer and the reader share (`tags!`, `byte_codes!`), and both match exhaustively,
//! so a new variant of the AST does not compile until it has its byte and its reader. Values are
//! rebuilt through their checked constructors, so bytes that do not describe a valid
//! condition are an error too, never an invalid value. Strings parsed at run time still go
//! through the parser.

use std::time::Duration;

use super::ast::{
    AfterTasks, ClockWindow, Comparison, Condition, CountCondition, CustomArg, CustomCall,
    DurationBound, Outcome, ParamCondition, Quantifier, RunningCount, RunningFor,
    SchedulerCondition, StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use super::cron::{CronField, CronFieldKind, CronItem, CronSchedule, CronValue};
use super::cron_fields::CronFields;
use super::error::ParseError;
use crate::time::{
    HOUR, Interval, MINUTE, Period, SECOND, Span, TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth,
    TimeOfSecond, TimeOfWeek, Weekday,
};

/// The format number, the first byte of every encoding; bump it when the layout changes.
const FORMAT: u8 = 1;

/// Gives an enum's variants the bytes that stand for them in the encoding, in one list that
/// both directions read: `code` (an exhaustive match, so a variant without a byte does not
/// compile) and `from_code`. For an enum of data-carrying variants, the list declares a tag
/// enum of its own (`tags!`), which the writer names per variant and the reader matches
/// exhaustively.
macro_rules! byte_codes {
    ($ty:ident { $($variant:ident = $byte:literal),+ $(,)? }) => {
        impl Code for $ty {
            #[cfg(test)]
            const TABLE: &'static str = stringify!($ty);
            #[cfg(test)]
            const CODES: &'static [u8] = &[$($byte),+];

            fn code(self) -> u8 {
                match self {
                    $($ty::$variant => $byte),+
                }
            }

            fn from_code(byte: u8) -> Option<Self> {
                match byte {
                    $($byte => Some($ty::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

/// A value written as one byte of a table (see `byte_codes!`).
trait Code: Copy + Sized {
    /// The table's name (for the test that every byte is written).
    #[cfg(test)]
    const TABLE: &'static str;
    /// Every byte of the table.
    #[cfg(test)]
    const CODES: &'static [u8];
    /// The byte of `self`.
    fn code(self) -> u8;
    /// The value of `byte`, if the table has it.
    fn from_code(byte: u8) -> Option<Self>;
}

macro_rules! tags {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $byte:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        enum $name {
            $($variant),+
        }
        byte_codes!($name { $($variant = $byte),+ });
    };
}

tags! {
    /// The first byte of an encoded condition: which variant of [`Condition`] follows.
    ConditionTag {
        False = 0, True = 1, Not = 2, All = 3, Any = 4, OncePer = 5, TimeOf = 6, Every = 7,
        Cron = 8, Status = 9, After = 10, Running = 11, Retry = 12, Scheduler = 13, Env = 14,
        Param = 15, CronFields = 16,
        // Appended: one-off dates (issue 25).
        OnceAt = 17,
        // Counting and duration leaves.
        Count = 18, RunningFor = 19, RunningCount = 20,
        // Custom conditions.
        Custom = 21,
    }
}

tags! {
    /// The unit of a [`Period`].
    PeriodTag { Second = 0, Minute = 1, Hour = 2, Day = 3, Week = 4, Month = 5 }
}

tags! {
    /// The kind of a [`Span`].
    SpanTag { Full = 0, Before = 1, After = 2, Between = 3, Starting = 4, On = 5 }
}

tags! {
    /// The kind of a [`StatusScope`].
    ScopeTag { Ever = 0, Period = 1, Past = 2 }
}

tags! {
    /// The kind of a [`SchedulerCondition`].
    SchedulerTag {
        StartedWithin = 0, RunningLongerThan = 1, CyclesMoreThan = 2, CyclesLessThan = 3,
        CyclesExactly = 4,
    }
}

tags! {
    /// The kind of a [`ParamCondition`].
    ParamTag { Exists = 0, Is = 1 }
}

tags! {
    /// The kind of a [`Comparison`].
    ComparisonTag { MoreThan = 0, LessThan = 1, AtLeast = 2, AtMost = 3, Exactly = 4 }
}

tags! {
    /// The kind of a [`CustomArg`].
    CustomArgTag { Text = 0, Integer = 1, Decimal = 2, False = 3, True = 4 }
}

tags! {
    /// The kind of a [`DurationBound`].
    DurationBoundTag { MoreThan = 0, LessThan = 1 }
}

tags! {
    /// The kind of a [`TaskRef`].
    TaskTag { Owner = 0, Named = 1 }
}

tags! {
    /// The kind of a [`CronItem`].
    CronItemTag { Any = 0, Value = 1, Range = 2 }
}

byte_codes!(TaskStatus {
    Succeeded = 0, Failed = 1, Finished = 2, Terminated = 3, Inacted = 4, Started = 5,
    Crashed = 6,
});

byte_codes!(Quantifier { All = 0, Any = 1 });

byte_codes!(Outcome { Succeeded = 0, Failed = 1, Finished = 2, Terminated = 3 });

/// Bytes that are not the encoding of a condition by this version of the crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid compiled condition at byte {offset}: {problem}")]
pub struct DecodeError {
    offset: usize,
    problem: &'static str,
}

/// A condition checked at compile time that cannot be read at run time: its compiled form
/// does not decode, and its text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("its compiled form does not decode ({decode}) and its text does not parse")]
pub struct UnreadableCondition {
    /// Why the compiled form does not decode.
    pub decode: DecodeError,
    /// Why the text does not parse.
    #[source]
    pub parse: Box<ParseError>,
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
    /// The parsed value, decoded.
    pub fn decode(&self) -> Result<Condition, DecodeError> {
        decode(self.code)
    }

    /// The condition: decoded, or, when the compiled form does not decode (a macro of
    /// another version of the crates wrote it), parsed from its text.
    ///
    /// This is the one way from a checked condition to its value: the registry turns the
    /// error into a start-up problem, and `condition!` into a panic (the text parsed when
    /// the program compiled, so only mismatched crate versions fail both ways).
    pub fn condition(&self) -> Result<Condition, UnreadableCondition> {
        self.decode().or_else(|decode| {
            self.text.parse().map_err(|parse| UnreadableCondition {
                decode,
                parse: Box::new(parse),
            })
        })
    }
}

/// The condition in the binary form that [`decode`] reads.
pub fn encode(condition: &Condition) -> Vec<u8> {
    let mut w = Writer::default();
    w.byte(FORMAT);
    w.condition(condition);
    w.bytes
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

#[derive(Default)]
struct Writer {
    bytes: Vec<u8>,
    /// Every (table, byte) written, for the test that every variant is encoded.
    #[cfg(test)]
    written: std::collections::BTreeSet<(&'static str, u8)>,
}

impl Writer {
    fn byte(&mut self, b: u8) {
        self.bytes.push(b);
    }

    fn put<T: Code>(&mut self, value: T) {
        #[cfg(test)]
        self.written.insert((T::TABLE, value.code()));
        self.byte(value.code());
    }

    /// LEB128: seven bits per byte, low bits first.
    fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.byte((n as u8) | 0x80);
            n >>= 7;
        }
        self.byte(n as u8);
    }

    fn text(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.bytes.extend_from_slice(s.as_bytes());
    }

    fn optional_uint(&mut self, n: Option<u32>) {
        // 0 for none, n + 1 otherwise.
        self.uint(n.map_or(0, |n| u64::from(n) + 1));
    }

    fn condition(&mut self, c: &Condition) {
        use ConditionTag as T;
        match c {
            Condition::Literal(false) => self.put(T::False),
            Condition::Literal(true) => self.put(T::True),
            Condition::Not(inner) => {
                self.put(T::Not);
                self.condition(inner);
            }
            Condition::All(operands) | Condition::Any(operands) => {
                let tag = if matches!(c, Condition::All(_)) {
                    T::All
                } else {
                    T::Any
                };
                self.put(tag);
                self.uint(operands.len() as u64);
                for operand in operands {
                    self.condition(operand);
                }
            }
            Condition::OncePer(period) => {
                self.put(T::OncePer);
                self.period(period);
            }
            Condition::TimeOf(window) => {
                self.put(T::TimeOf);
                self.period(&window.period);
            }
            Condition::Every(interval) => {
                self.put(T::Every);
                self.interval(*interval);
            }
            Condition::Cron(schedule) => {
                self.put(T::Cron);
                for field in schedule.fields() {
                    self.cron_field(field);
                }
            }
            Condition::CronFields(fields) => {
                // The canonical text: the fields are read back through their parser,
                // which checks them again.
                self.put(T::CronFields);
                self.text(&fields.to_string());
            }
            Condition::Status(s) => {
                self.put(T::Status);
                self.task(&s.task);
                self.put(s.status);
                self.scope(&s.scope);
            }
            Condition::After(a) => {
                self.put(T::After);
                self.uint(a.tasks.len() as u64);
                for task in &a.tasks {
                    self.text(task);
                }
                self.put(a.quantifier);
                self.put(a.outcome);
            }
            Condition::Running(task) => {
                self.put(T::Running);
                self.task(task);
            }
            Condition::Retry(limit) => {
                self.put(T::Retry);
                self.optional_uint(*limit);
            }
            Condition::Scheduler(s) => {
                self.put(T::Scheduler);
                use SchedulerTag as S;
                match s {
                    SchedulerCondition::StartedWithin(i) => {
                        self.put(S::StartedWithin);
                        self.interval(*i);
                    }
                    SchedulerCondition::RunningLongerThan(i) => {
                        self.put(S::RunningLongerThan);
                        self.interval(*i);
                    }
                    SchedulerCondition::CyclesMoreThan(n) => {
                        self.put(S::CyclesMoreThan);
                        self.uint(*n);
                    }
                    SchedulerCondition::CyclesLessThan(n) => {
                        self.put(S::CyclesLessThan);
                        self.uint(*n);
                    }
                    SchedulerCondition::CyclesExactly(n) => {
                        self.put(S::CyclesExactly);
                        self.uint(*n);
                    }
                }
            }
            Condition::Env(value) => {
                self.put(T::Env);
                self.text(value);
            }
            Condition::Param(p) => {
                self.put(T::Param);
                match p {
                    ParamCondition::Exists(key) => {
                        self.put(ParamTag::Exists);
                        self.text(key);
                    }
                    ParamCondition::Is(key, value) => {
                        self.put(ParamTag::Is);
                        self.text(key);
                        self.text(value);
                    }
                }
            }
            Condition::OnceAt(once) => {
                // The date's canonical text (read back through its strict parser), then
                // the grace in microseconds, 0 when none was written.
                self.put(T::OnceAt);
                self.text(&once.date().to_string());
                self.uint(once.grace().map_or(0, |g| g.micros() as u64));
            }
            Condition::Count(CountCondition {
                task,
                status,
                comparison,
                scope,
            }) => {
                self.put(T::Count);
                self.task(task);
                self.put(*status);
                self.comparison(*comparison);
                self.scope(scope);
            }
            Condition::RunningFor(RunningFor { task, bound }) => {
                self.put(T::RunningFor);
                self.task(task);
                match bound {
                    DurationBound::MoreThan(i) => {
                        self.put(DurationBoundTag::MoreThan);
                        self.interval(*i);
                    }
                    DurationBound::LessThan(i) => {
                        self.put(DurationBoundTag::LessThan);
                        self.interval(*i);
                    }
                }
            }
            Condition::RunningCount(RunningCount { task, comparison }) => {
                self.put(T::RunningCount);
                self.task(task);
                self.comparison(*comparison);
            }
            Condition::Custom(call) => {
                self.put(T::Custom);
                self.text(&call.path);
                self.uint(call.args.len() as u64);
                for arg in &call.args {
                    match arg {
                        CustomArg::Text(t) => {
                            self.put(CustomArgTag::Text);
                            self.text(t);
                        }
                        CustomArg::Integer(n) => {
                            self.put(CustomArgTag::Integer);
                            // Zigzag: small magnitudes of either sign stay short.
                            self.uint(((n << 1) ^ (n >> 63)) as u64);
                        }
                        CustomArg::Decimal(d) => {
                            self.put(CustomArgTag::Decimal);
                            self.text(d);
                        }
                        CustomArg::Bool(false) => self.put(CustomArgTag::False),
                        CustomArg::Bool(true) => self.put(CustomArgTag::True),
                    }
                }
            }
        }
    }

    fn comparison(&mut self, c: Comparison) {
        self.put(match c {
            Comparison::MoreThan(_) => ComparisonTag::MoreThan,
            Comparison::LessThan(_) => ComparisonTag::LessThan,
            Comparison::AtLeast(_) => ComparisonTag::AtLeast,
            Comparison::AtMost(_) => ComparisonTag::AtMost,
            Comparison::Exactly(_) => ComparisonTag::Exactly,
        });
        self.uint(u64::from(c.bound()));
    }

    fn scope(&mut self, scope: &StatusScope) {
        match scope {
            StatusScope::Ever => self.put(ScopeTag::Ever),
            StatusScope::Period(p) => {
                self.put(ScopeTag::Period);
                self.period(p);
            }
            StatusScope::Past(i) => {
                self.put(ScopeTag::Past);
                self.interval(*i);
            }
        }
    }

    fn task(&mut self, task: &TaskRef) {
        match task {
            TaskRef::Owner => self.put(TaskTag::Owner),
            TaskRef::Named(name) => {
                self.put(TaskTag::Named);
                self.text(name);
            }
        }
    }

    fn interval(&mut self, i: Interval) {
        self.uint(i.micros() as u64);
    }

    fn period(&mut self, p: &Period) {
        use PeriodTag as P;
        match p {
            Period::Second(s) => self.span(P::Second, s, |w, t| w.uint(t.offset() as u64)),
            Period::Minute(s) => self.span(P::Minute, s, |w, t| w.uint(t.offset() as u64)),
            Period::Hour(s) => self.span(P::Hour, s, |w, t| w.uint(t.offset() as u64)),
            Period::Day(s) => self.span(P::Day, s, |w, t| w.time_of_day(*t)),
            Period::Week(s) => self.span(P::Week, s, |w, t| {
                w.byte(t.weekday().num_days_from_monday() as u8);
                w.optional_time_of_day(t.time());
            }),
            Period::Month(s) => self.span(P::Month, s, |w, t| {
                w.byte(t.day_of_month() as u8);
                w.optional_time_of_day(t.time());
            }),
        }
    }

    fn span<P>(&mut self, unit: PeriodTag, span: &Span<P>, point: impl Fn(&mut Self, &P)) {
        self.put(unit);
        match span {
            Span::Full => self.put(SpanTag::Full),
            Span::Before(p) => {
                self.put(SpanTag::Before);
                point(self, p);
            }
            Span::After(p) => {
                self.put(SpanTag::After);
                point(self, p);
            }
            Span::Between(a, b) => {
                self.put(SpanTag::Between);
                point(self, a);
                point(self, b);
            }
            Span::Starting(p) => {
                self.put(SpanTag::Starting);
                point(self, p);
            }
            Span::On(p) => {
                self.put(SpanTag::On);
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
                    self.put(CronItemTag::Any);
                    self.optional_uint(step);
                }
                CronItem::Value(v) => {
                    self.put(CronItemTag::Value);
                    self.cron_value(v);
                }
                CronItem::Range { start, end, step } => {
                    self.put(CronItemTag::Range);
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

    /// The next byte, as one of the codes of `T` (`what` names `T` in the error).
    fn code<T: Code>(&mut self, what: &'static str) -> Result<T, DecodeError> {
        let b = self.byte()?;
        T::from_code(b).ok_or_else(|| self.error(what))
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
        use ConditionTag as T;
        Ok(match self.code::<ConditionTag>("unknown condition")? {
            T::False => Condition::Literal(false),
            T::True => Condition::Literal(true),
            T::Not => Condition::Not(Box::new(self.condition(depth + 1)?)),
            tag @ (T::All | T::Any) => {
                let n = self.count()?;
                let operands = (0..n)
                    .map(|_| self.condition(depth + 1))
                    .collect::<Result<Vec<_>, _>>()?;
                if tag == T::All {
                    Condition::All(operands)
                } else {
                    Condition::Any(operands)
                }
            }
            T::OncePer => Condition::OncePer(self.period()?),
            T::TimeOf => Condition::TimeOf(ClockWindow {
                period: self.period()?,
            }),
            T::Every => Condition::Every(self.interval()?),
            T::Cron => {
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
            T::CronFields => {
                let text = self.text()?;
                Condition::CronFields(
                    CronFields::parse_spec(&text)
                        .map_err(|_| self.error("invalid named cron fields"))?,
                )
            }
            T::Status => {
                let task = self.task()?;
                let status = self.code::<TaskStatus>("unknown status")?;
                let scope = self.scope()?;
                Condition::Status(StatusCondition {
                    task,
                    status,
                    scope,
                })
            }
            T::After => {
                let n = self.count()?;
                let tasks = (0..n).map(|_| self.text()).collect::<Result<Vec<_>, _>>()?;
                let quantifier = self.code::<Quantifier>("unknown quantifier")?;
                let outcome = self.code::<Outcome>("unknown outcome")?;
                Condition::After(AfterTasks {
                    tasks,
                    quantifier,
                    outcome,
                })
            }
            T::Running => Condition::Running(self.task()?),
            T::Retry => Condition::Retry(self.optional_small()?),
            T::Scheduler => {
                use SchedulerTag as S;
                Condition::Scheduler(
                    match self.code::<SchedulerTag>("unknown scheduler condition")? {
                        S::StartedWithin => SchedulerCondition::StartedWithin(self.interval()?),
                        S::RunningLongerThan => {
                            SchedulerCondition::RunningLongerThan(self.interval()?)
                        }
                        S::CyclesMoreThan => SchedulerCondition::CyclesMoreThan(self.uint()?),
                        S::CyclesLessThan => SchedulerCondition::CyclesLessThan(self.uint()?),
                        S::CyclesExactly => SchedulerCondition::CyclesExactly(self.uint()?),
                    },
                )
            }
            T::Env => Condition::Env(self.text()?),
            T::Param => Condition::Param(
                match self.code::<ParamTag>("unknown parameter condition")? {
                    ParamTag::Exists => ParamCondition::Exists(self.text()?),
                    ParamTag::Is => ParamCondition::Is(self.text()?, self.text()?),
                },
            ),
            T::OnceAt => {
                let date = super::once::parse_date(&self.text()?)
                    .map_err(|_| self.error("invalid one-off date"))?;
                let grace = match self.uint()? {
                    0 => None,
                    micros => Some(
                        Interval::new(Duration::from_micros(micros))
                            .map_err(|_| self.error("invalid interval"))?,
                    ),
                };
                Condition::OnceAt(super::once::OnceAt::new(date, grace))
            }
            T::Count => {
                let task = self.task()?;
                let status = self.code::<TaskStatus>("unknown status")?;
                let comparison = self.comparison()?;
                let scope = self.scope()?;
                Condition::Count(CountCondition {
                    task,
                    status,
                    comparison,
                    scope,
                })
            }
            T::RunningFor => {
                let task = self.task()?;
                let bound = match self.code::<DurationBoundTag>("unknown duration bound")? {
                    DurationBoundTag::MoreThan => DurationBound::MoreThan(self.interval()?),
                    DurationBoundTag::LessThan => DurationBound::LessThan(self.interval()?),
                };
                Condition::RunningFor(RunningFor { task, bound })
            }
            T::RunningCount => {
                let task = self.task()?;
                let comparison = self.comparison()?;
                Condition::RunningCount(RunningCount { task, comparison })
            }
            T::Custom => {
                let path = self.text()?;
                let n = self.count()?;
                let args = (0..n)
                    .map(|_| {
                        Ok(match self.code::<CustomArgTag>("unknown argument")? {
                            CustomArgTag::Text => CustomArg::Text(self.text()?),
                            CustomArgTag::Integer => {
                                let z = self.uint()?;
                                CustomArg::Integer(((z >> 1) as i64) ^ -((z & 1) as i64))
                            }
                            CustomArgTag::Decimal => {
                                let d = self.text()?;
                                if d.parse::<f64>().is_err() {
                                    return Err(self.error("invalid decimal argument"));
                                }
                                CustomArg::Decimal(d)
                            }
                            CustomArgTag::False => CustomArg::Bool(false),
                            CustomArgTag::True => CustomArg::Bool(true),
                        })
                    })
                    .collect::<Result<Vec<_>, DecodeError>>()?;
                Condition::Custom(CustomCall { path, args })
            }
        })
    }

    fn scope(&mut self) -> Result<StatusScope, DecodeError> {
        Ok(match self.code::<ScopeTag>("unknown status scope")? {
            ScopeTag::Ever => StatusScope::Ever,
            ScopeTag::Period => StatusScope::Period(self.period()?),
            ScopeTag::Past => StatusScope::Past(self.interval()?),
        })
    }

    fn comparison(&mut self) -> Result<Comparison, DecodeError> {
        let tag = self.code::<ComparisonTag>("unknown comparison")?;
        let n = self.small()?;
        Ok(match tag {
            ComparisonTag::MoreThan => Comparison::MoreThan(n),
            ComparisonTag::LessThan => Comparison::LessThan(n),
            ComparisonTag::AtLeast => Comparison::AtLeast(n),
            ComparisonTag::AtMost => Comparison::AtMost(n),
            ComparisonTag::Exactly => Comparison::Exactly(n),
        })
    }

    fn task(&mut self) -> Result<TaskRef, DecodeError> {
        Ok(match self.code::<TaskTag>("unknown task reference")? {
            TaskTag::Owner => TaskRef::Owner,
            TaskTag::Named => TaskRef::Named(self.text()?),
        })
    }

    fn interval(&mut self) -> Result<Interval, DecodeError> {
        let micros = self.uint()?;
        Interval::new(Duration::from_micros(micros)).map_err(|_| self.error("invalid interval"))
    }

    fn period(&mut self) -> Result<Period, DecodeError> {
        let invalid = |r: &Self| r.error("invalid time in a period");
        let period = match self.code::<PeriodTag>("unknown period")? {
            PeriodTag::Second => Period::Second(self.span(|r| {
                let us = r.small()?;
                TimeOfSecond::from_micros(us).map_err(|_| invalid(r))
            })?),
            PeriodTag::Minute => Period::Minute(self.span(|r| {
                let us = r.micros()?;
                let second = u32::try_from(us / SECOND).map_err(|_| invalid(r))?;
                TimeOfMinute::with_micros(second, (us % SECOND) as u32).map_err(|_| invalid(r))
            })?),
            PeriodTag::Hour => Period::Hour(self.span(|r| {
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
            PeriodTag::Day => Period::Day(self.span(Self::time_of_day)?),
            PeriodTag::Week => Period::Week(self.span(|r| {
                let weekday = Weekday::try_from(r.byte()?).map_err(|_| invalid(r))?;
                Ok(match r.optional_time_of_day()? {
                    None => TimeOfWeek::day(weekday),
                    Some(t) => TimeOfWeek::at(weekday, t),
                })
            })?),
            PeriodTag::Month => Period::Month(self.span(|r| {
                let day = u32::from(r.byte()?);
                match r.optional_time_of_day()? {
                    None => TimeOfMonth::day(day),
                    Some(t) => TimeOfMonth::at(day, t),
                }
                .map_err(|_| invalid(r))
            })?),
        };
        period
            .check()
            .map_err(|_| self.error("`4 quarters` cannot start a span"))?;
        Ok(period)
    }

    fn span<P>(
        &mut self,
        point: impl Fn(&mut Self) -> Result<P, DecodeError>,
    ) -> Result<Span<P>, DecodeError> {
        Ok(match self.code::<SpanTag>("unknown span")? {
            SpanTag::Full => Span::Full,
            SpanTag::Before => Span::Before(point(self)?),
            SpanTag::After => Span::After(point(self)?),
            SpanTag::Between => Span::Between(point(self)?, point(self)?),
            SpanTag::Starting => Span::Starting(point(self)?),
            SpanTag::On => Span::On(point(self)?),
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
            let item = match self.code::<CronItemTag>("unknown cron item")? {
                CronItemTag::Any => CronItem::Any {
                    step: self.optional_small()?,
                },
                CronItemTag::Value => CronItem::Value(self.cron_value(min, max)?),
                CronItemTag::Range => CronItem::Range {
                    start: self.cron_value(min, max)?,
                    end: self.cron_value(min, max)?,
                    step: self.optional_small()?,
                },
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
        "cron(month = 6-8,11-12, day = 3rd fri,last, hour = 0-3) & ~task 'backup' is running",
        "cron(year = 2025-2030/2, week = */2, day_of_week = mon-fri, minute = 5/15, second = 0, start_date = 2026-02-26, end_date = 2027-01-01T08:00:00.5+05:30)",
        "task 'report' has failed today between 07:00 and 10:00",
        "has succeeded",
        "task 'x' has crashed past 2 hours",
        "task 'x' has started this week",
        "task 'x' has finished today | has terminated | task 'y' has inacted this month",
        "after task 'z' failed",
        "after task 'get_data' succeeded",
        "after any tasks 'a', 'b' finished | after tasks 'c', 'd' terminated",
        "task 'x' is running & retry 3 | retry",
        "scheduler started 10 minutes ago | scheduler has run over 1 hour",
        "scheduler has more than 3 cycles & scheduler has less than 10 cycles | scheduler has 5 cycles",
        "env 'prod' & param 'k' exists & param 'mode' is 'fast ünïcode'",
        "once at 2026-12-01T08:00:00 & once at 2026-12-01T08:00:00.25+05:30 grace 2 hours | once at 2009-11-06Z",
        "task 'x' has succeeded more than 3 times today | has failed less than 2 times past 1 hour",
        "has started at least 1 time this week & task 'y' has crashed at most 0 times & has inacted 2 times",
        "task 'x' has been running for more than 10 minutes | has been running for less than 1 hour",
        "task 'x' is running more than 2 times & is running 1 time",
        "is_work_day() & conditions::file_exists('a.csv', -3, 0.5, true, false, 9223372036854775807, -9223372036854775808)",
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
    fn every_variant_is_encoded_and_decoded() {
        let mut writer = Writer::default();
        for text in CONDITIONS {
            writer.condition(&text.parse().unwrap());
        }
        let mut missing = Vec::new();
        let mut check = |table: &'static str, codes: &[u8]| {
            for &code in codes {
                if !writer.written.contains(&(table, code)) {
                    missing.push(format!("{table} {code}"));
                }
            }
        };
        check(ConditionTag::TABLE, ConditionTag::CODES);
        check(PeriodTag::TABLE, PeriodTag::CODES);
        check(SpanTag::TABLE, SpanTag::CODES);
        check(ScopeTag::TABLE, ScopeTag::CODES);
        check(SchedulerTag::TABLE, SchedulerTag::CODES);
        check(ParamTag::TABLE, ParamTag::CODES);
        check(TaskTag::TABLE, TaskTag::CODES);
        check(CronItemTag::TABLE, CronItemTag::CODES);
        check(TaskStatus::TABLE, TaskStatus::CODES);
        check(Quantifier::TABLE, Quantifier::CODES);
        check(Outcome::TABLE, Outcome::CODES);
        check(ComparisonTag::TABLE, ComparisonTag::CODES);
        check(DurationBoundTag::TABLE, DurationBoundTag::CODES);
        check(CustomArgTag::TABLE, CustomArgTag::CODES);
        assert!(
            missing.is_empty(),
            "add a condition to CONDITIONS that writes each of: {missing:?}"
        );
    }

    #[test]
    fn unreadable_bytes_fall_back_to_the_text() {
        let checked = CheckedCondition {
            text: "daily between 07:00 and 10:00",
            code: &[FORMAT + 1],
        };
        assert!(checked.decode().is_err());
        assert_eq!(
            checked.condition().unwrap(),
            "daily between 07:00 and 10:00".parse().unwrap()
        );
        let broken = CheckedCondition {
            text: "dialy",
            code: &[FORMAT + 1],
        };
        let error = broken.condition().unwrap_err();
        assert!(
            error.parse.to_string().contains("did you mean `daily`?"),
            "{}",
            error.parse
        );
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
