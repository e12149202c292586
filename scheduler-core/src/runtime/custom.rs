//! Custom conditions: functions of the program marked `#[scheduler::cond]`, called by name
//! in condition strings (`is_work_day()`, `file_exists('data.csv')`).
//!
//! The macro registers a [`CondDef`] per function: its name, the kinds of the arguments its
//! phrase takes, its re-check interval, and a plain function that reads those arguments,
//! injects the others (`Arg<T>`, `Env<T>`, `Session`, ... through
//! [`FromContext`](super::FromContext)) and calls it. The engine keeps, per task and call,
//! the last answer and when it was given ([`CustomCache`]): evaluating a condition calls the
//! function only when its answer is missing or older than the interval, and only when the
//! rest of the condition does not decide alone (see `Condition::evaluate`), so a custom
//! condition behind a closed time window is not called. Its next re-check is a wake-up of
//! the task like any other change of its condition.
//!
//! A function's error, a panic, or an argument that cannot be injected is an evaluation
//! error of the condition, which the `condition_errors` setting handles like any other.
//!
//! An `async` condition is never awaited by the loop: when its answer is due, the cache
//! starts its future on the runtime, beside the loop, with a deadline on the scheduler's
//! clock ([`CondDef::timeout_micros`]), and goes on with the answer it already has. The
//! answer arrives as an [`Arrival`], which the engine stores and which marks the task for
//! a new look. Until a task's first answer arrives, the task does not start by a decision
//! that depends on it ([`CustomCache::take_pending`]); its re-check is not a wake-up while
//! the call is under way, since the arrival itself wakes the task.
//!
//! A custom condition cannot lead to evaluating itself again: the only evaluator of custom
//! conditions is the engine's loop with this cache, which is private to the crate; what a
//! function can be given is its phrase's literals and injected values, and no injectable
//! type evaluates a condition (a `#[cond]`'s marker type is not injectable:
//! `tests/ui/task/custom_condition_recursion.rs`). `Session` only sends requests to the
//! loop. What can recurse is `#[param]` functions reading each other, which the start-up
//! check and `ParamRegistry::get` refuse (`context.rs`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;

use crate::BoxFuture;
use crate::condition::{CustomArg, CustomCall, CustomValues};
use crate::log::RunId;
use crate::time::Timestamp;

use super::clock::Clock;
use super::context::{ParamRegistry, Returns, RunContext, RunState, TerminationFlag};
use super::inject::InjectError;
use super::session::Session;

/// The kind of literal a custom condition's parameter takes from its phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArgKind {
    /// Text in single quotes: `String`, `PathBuf`.
    Text,
    /// A whole number: the integer types.
    Integer,
    /// A number, whole or decimal: `f64`, `f32`.
    Number,
    /// `true` or `false`: `bool`.
    Bool,
}

impl ArgKind {
    /// In words, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            ArgKind::Text => "text in single quotes",
            ArgKind::Integer => "a whole number",
            ArgKind::Number => "a number",
            ArgKind::Bool => "`true` or `false`",
        }
    }

    /// Whether an argument written as `arg` fits.
    pub fn accepts(self, arg: &CustomArg) -> bool {
        matches!(
            (self, arg),
            (ArgKind::Text, CustomArg::Text(_))
                | (ArgKind::Integer, CustomArg::Integer(_))
                | (
                    ArgKind::Number,
                    CustomArg::Integer(_) | CustomArg::Decimal(_)
                )
                | (ArgKind::Bool, CustomArg::Bool(_))
        )
    }
}

/// Why a custom condition gave no answer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CondError {
    /// The function returned an error.
    #[error("{0}")]
    Failed(String),
    /// The function panicked.
    #[error("it panicked: {0}")]
    Panicked(String),
    /// A parameter could not be injected.
    #[error("parameter `{param}`: {source}")]
    Inject {
        /// The parameter.
        param: &'static str,
        /// Why.
        #[source]
        source: InjectError,
    },
    /// An argument of the phrase does not fit its parameter (a condition parsed at run
    /// time; `#[task]` strings are checked when the program compiles).
    #[error("argument {position} must be {expected}")]
    BadArgument {
        /// Its position, from 1.
        position: usize,
        /// What the parameter takes.
        expected: &'static str,
    },
    /// An `async` condition gave no answer within its timeout; its future was dropped.
    #[error("it gave no answer within {after:?}")]
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// An `async` condition's future was cancelled before it answered (the runtime is
    /// shutting down).
    #[error("its call was cancelled")]
    Cancelled,
}

/// A parameter type that a custom condition takes from its phrase.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be written in a condition string",
    label = "not a phrase argument",
    note = "a custom condition's phrase gives text (`String`, `PathBuf`), whole numbers (integer types), numbers (`f64`, `f32`) and `bool`; other parameters are injected (`Arg<T>`, `Env<T>`, `Session`, ...)"
)]
pub trait FromCondArg: Sized {
    /// The literal it takes.
    const KIND: ArgKind;
    /// The value of the argument, if it is of the kind.
    fn from_cond_arg(arg: &CustomArg) -> Option<Self>;
}

impl FromCondArg for String {
    const KIND: ArgKind = ArgKind::Text;
    fn from_cond_arg(arg: &CustomArg) -> Option<Self> {
        match arg {
            CustomArg::Text(t) => Some(t.clone()),
            _ => None,
        }
    }
}

impl FromCondArg for PathBuf {
    const KIND: ArgKind = ArgKind::Text;
    fn from_cond_arg(arg: &CustomArg) -> Option<Self> {
        String::from_cond_arg(arg).map(PathBuf::from)
    }
}

impl FromCondArg for bool {
    const KIND: ArgKind = ArgKind::Bool;
    fn from_cond_arg(arg: &CustomArg) -> Option<Self> {
        match arg {
            CustomArg::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

macro_rules! integer_args {
    ($($t:ty),*) => {$(
        impl FromCondArg for $t {
            const KIND: ArgKind = ArgKind::Integer;
            fn from_cond_arg(arg: &CustomArg) -> Option<Self> {
                match arg {
                    CustomArg::Integer(n) => <$t>::try_from(*n).ok(),
                    _ => None,
                }
            }
        }
    )*};
}
integer_args!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! float_args {
    ($($t:ty),*) => {$(
        impl FromCondArg for $t {
            const KIND: ArgKind = ArgKind::Number;
            fn from_cond_arg(arg: &CustomArg) -> Option<Self> {
                match arg {
                    CustomArg::Integer(n) => Some(*n as $t),
                    CustomArg::Decimal(d) => d.parse().ok(),
                    _ => None,
                }
            }
        }
    )*};
}
float_args!(f32, f64);

/// What a custom condition returns: `bool`, or `Result<bool, E>` with a displayable `E`.
#[diagnostic::on_unimplemented(
    message = "a custom condition returns `bool` or `Result<bool, E>`, not `{Self}`",
    label = "not a condition's answer"
)]
pub trait IntoCondResult {
    /// The answer.
    fn into_cond_result(self) -> Result<bool, CondError>;
}

impl IntoCondResult for bool {
    fn into_cond_result(self) -> Result<bool, CondError> {
        Ok(self)
    }
}

impl<E: std::fmt::Display> IntoCondResult for Result<bool, E> {
    fn into_cond_result(self) -> Result<bool, CondError> {
        self.map_err(|e| CondError::Failed(e.to_string()))
    }
}

/// The function `#[cond]` generates: reads the phrase's arguments, injects the others,
/// calls the condition.
pub type CondCall = fn(&RunContext, &[CustomArg]) -> Result<bool, CondError>;

/// The answer of an `async` custom condition, to come.
pub type CondFuture = BoxFuture<'static, Result<bool, CondError>>;

/// The function `#[cond]` generates for an `async` condition: reads the phrase's
/// arguments, injects the others, and returns the condition's future (which owns them).
pub type AsyncCondCall = fn(&RunContext, &[CustomArg]) -> Result<CondFuture, CondError>;

/// How a custom condition is called.
#[derive(Debug, Clone, Copy)]
pub enum CondFn {
    /// A plain function, called by the loop itself (keep it quick).
    Blocking(CondCall),
    /// An `async fn`, whose future runs beside the loop.
    Async(AsyncCondCall),
}

/// Turns an `async` condition's future into a [`CondFuture`], for the generated call.
pub fn cond_future<F>(future: F) -> CondFuture
where
    F: std::future::Future + Send + 'static,
    F::Output: IntoCondResult,
{
    Box::pin(async move { future.await.into_cond_result() })
}

/// A custom condition registered by `#[scheduler::cond]`. Built by the macro.
#[derive(Debug)]
pub struct CondDef {
    /// The function's name, by which strings call it.
    pub name: &'static str,
    /// What each argument of the phrase must be.
    pub args: &'static [ArgKind],
    /// Calls the function.
    pub call: CondFn,
    /// How long an answer stands before the function is called again, in microseconds.
    pub recheck_micros: u64,
    /// How long an `async` condition's call may take before it counts as failed
    /// ([`CondError::TimedOut`]), in microseconds. A blocking one cannot be interrupted;
    /// its value is ignored.
    pub timeout_micros: u64,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

impl CondDef {
    /// The default re-check interval: one minute.
    pub const DEFAULT_RECHECK: Duration = Duration::from_secs(60);

    /// The default timeout of an `async` condition's call: thirty seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
}

inventory::collect!(CondDef);

/// Submits a `CondDef` to the registry (what `#[cond]` expands to).
#[doc(hidden)]
#[macro_export]
macro_rules! __register_cond {
    ($def:expr) => {
        $crate::runtime::__inventory::submit! { $def }
    };
}

/// Every registered custom condition.
pub fn registered_conds() -> impl Iterator<Item = &'static CondDef> {
    inventory::iter::<CondDef>.into_iter()
}

/// Why a call in a condition does not match a registered custom condition: checked at
/// start-up.
pub(crate) fn check_call(def: &CondDef, call: &CustomCall) -> Result<(), String> {
    if call.args.len() != def.args.len() {
        return Err(format!(
            "`{}` takes {} argument{}, not {}",
            def.name,
            def.args.len(),
            if def.args.len() == 1 { "" } else { "s" },
            call.args.len()
        ));
    }
    for (i, (kind, arg)) in def.args.iter().zip(&call.args).enumerate() {
        if !kind.accepts(arg) {
            return Err(format!(
                "argument {} of `{}` must be {}, not {}",
                i + 1,
                def.name,
                kind.describe(),
                arg.kind()
            ));
        }
    }
    Ok(())
}

/// Reads argument `i` for the generated call.
pub fn cond_arg<T: FromCondArg>(args: &[CustomArg], i: usize) -> Result<T, CondError> {
    args.get(i)
        .and_then(T::from_cond_arg)
        .ok_or(CondError::BadArgument {
            position: i + 1,
            expected: T::KIND.describe(),
        })
}

/// Turns an injection failure into the condition's error, for the generated call.
pub fn cond_inject_failed(param: &'static str, source: InjectError) -> CondError {
    CondError::Inject { param, source }
}

/// The task asking (none for the shutdown condition) and the call.
type AnswerKey = (Option<Arc<str>>, CustomCall);

struct Answer {
    value: Result<bool, String>,
    checked: i64,
}

/// The answer of an `async` condition's call, sent to the engine when it ends (or times
/// out).
pub(crate) struct Arrival {
    key: AnswerKey,
    /// Which call it answers: a call whose task has forgotten its answers since it started
    /// is not kept.
    call_id: u64,
    value: Result<bool, String>,
}

/// The engine's answers of custom conditions, by task and call: the [`CustomValues`] that
/// conditions read.
pub(crate) struct CustomCache {
    defs: HashMap<&'static str, &'static CondDef>,
    answers: RefCell<HashMap<AnswerKey, Answer>>,
    /// The `async` calls under way, by key, with their id.
    in_flight: RefCell<HashMap<AnswerKey, u64>>,
    next_call: Cell<u64>,
    /// Whether an evaluation since the last [`take_pending`](Self::take_pending) read an
    /// `async` condition that has not answered yet.
    pending: Cell<bool>,
    arrivals: UnboundedSender<Arrival>,
    clock: Arc<dyn Clock>,
    session: Session,
    params: Arc<ParamRegistry>,
    returns: Arc<Returns>,
}

/// The message of a caught panic.
fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

impl CustomCache {
    pub(crate) fn new(
        session: Session,
        params: Arc<ParamRegistry>,
        returns: Arc<Returns>,
        clock: Arc<dyn Clock>,
        arrivals: UnboundedSender<Arrival>,
    ) -> CustomCache {
        CustomCache {
            defs: registered_conds().map(|d| (d.name, d)).collect(),
            answers: RefCell::default(),
            in_flight: RefCell::default(),
            next_call: Cell::new(0),
            pending: Cell::new(false),
            arrivals,
            clock,
            session,
            params,
            returns,
        }
    }

    /// Forgets the answers given for `task`'s conditions (and the calls under way for
    /// them, whose answers will not be kept).
    pub(crate) fn forget(&self, task: &str) {
        let mine = |(owner, _): &AnswerKey| owner.as_deref() == Some(task);
        let mut answers = self.answers.borrow_mut();
        if !answers.is_empty() {
            answers.retain(|key, _| !mine(key));
        }
        let mut in_flight = self.in_flight.borrow_mut();
        if !in_flight.is_empty() {
            in_flight.retain(|key, _| !mine(key));
        }
    }

    /// Whether an evaluation since the last call read an `async` condition that has not
    /// answered yet: its value then stood in as "not reached", so the result is not a
    /// decision (the engine takes it as false, and the arrival of the answer wakes the
    /// task again).
    pub(crate) fn take_pending(&self) -> bool {
        self.pending.replace(false)
    }

    /// Stores the answer of an `async` call; gives the task it was for (`Some(None)`: the
    /// shutdown condition), or `None` when the answer is not kept (the task forgot its
    /// answers since the call started).
    pub(crate) fn arrived(&self, arrival: Arrival, now: Timestamp) -> Option<Option<Arc<str>>> {
        let mut in_flight = self.in_flight.borrow_mut();
        if in_flight.get(&arrival.key) != Some(&arrival.call_id) {
            return None;
        }
        in_flight.remove(&arrival.key);
        let owner = arrival.key.0.clone();
        tracing::debug!(
            condition = %arrival.key.1.name(),
            task = owner.as_deref().unwrap_or_default(),
            result = ?arrival.value,
            "async custom condition answered"
        );
        self.answers.borrow_mut().insert(
            arrival.key,
            Answer {
                value: arrival.value,
                checked: now.as_micros(),
            },
        );
        Some(owner)
    }

    /// What a call reads: a context as a run of the task would have it.
    fn context(&self, owner: Option<&str>, now: Timestamp) -> RunContext {
        RunContext::new(RunState {
            task: Arc::from(owner.unwrap_or_default()),
            run_id: RunId::from_u128(0),
            started: now,
            session: Some(self.session.clone()),
            params: self.params.clone(),
            returns: self.returns.clone(),
            payload: None,
            termination: TerminationFlag::new(),
            decoders: HashMap::new(),
            param_values: Default::default(),
        })
    }

    fn call(
        &self,
        def: &CondDef,
        call: CondCall,
        args: &CustomCall,
        owner: Option<&str>,
        now: Timestamp,
    ) -> Result<bool, String> {
        let cx = self.context(owner, now);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| call(&cx, &args.args)))
            .unwrap_or_else(|panic| Err(CondError::Panicked(panic_message(panic))));
        tracing::debug!(condition = %def.name, task = owner.unwrap_or_default(), ?result, "custom condition checked");
        result.map_err(|e| e.to_string())
    }

    /// Starts an `async` call beside the loop. An error before the future exists (an
    /// argument that cannot be injected, a panic) is the answer at once.
    fn start(
        &self,
        def: &CondDef,
        call: AsyncCondCall,
        key: AnswerKey,
        now: Timestamp,
    ) -> Result<(), String> {
        // A cache outside a scheduler (the command line's `Inspector` in a program without
        // a runtime) has nothing to run the future on: that is its answer, not a panic.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return Err(
                "an async condition is asked only inside a running tokio runtime".to_owned(),
            );
        };
        let cx = self.context(key.0.as_deref(), now);
        let future = std::panic::catch_unwind(AssertUnwindSafe(|| call(&cx, &key.1.args)))
            .unwrap_or_else(|panic| Err(CondError::Panicked(panic_message(panic))))
            .map_err(|e| e.to_string())?;
        let call_id = self.next_call.get();
        self.next_call.set(call_id + 1);
        self.in_flight.borrow_mut().insert(key.clone(), call_id);
        let after = Duration::from_micros(def.timeout_micros);
        let deadline = self
            .clock
            .sleep_until(Timestamp::from_micros(now.as_micros().saturating_add(
                i64::try_from(def.timeout_micros).unwrap_or(i64::MAX),
            )));
        let arrivals = self.arrivals.clone();
        runtime.spawn(async move {
            // A task of its own, so that a panic in the future is caught as the task's
            // and a timeout can drop it.
            let mut answer = tokio::spawn(future);
            let value = tokio::select! {
                joined = &mut answer => match joined {
                    Ok(value) => value,
                    Err(e) if e.is_panic() => Err(CondError::Panicked(panic_message(e.into_panic()))),
                    Err(_) => Err(CondError::Cancelled),
                },
                () = deadline => {
                    answer.abort();
                    Err(CondError::TimedOut { after })
                }
            };
            // The engine may have stopped meanwhile: then nobody needs the answer.
            let _ = arrivals.send(Arrival {
                key,
                call_id,
                value: value.map_err(|e| e.to_string()),
            });
        });
        Ok(())
    }
}

impl CustomValues for CustomCache {
    fn value(
        &self,
        call: &CustomCall,
        owner: Option<&str>,
        now: Timestamp,
        peek: bool,
    ) -> Option<Result<bool, String>> {
        let key = (owner.map(Arc::from), call.clone());
        let Some(def) = self.defs.get(call.name()) else {
            return Some(Err(format!(
                "no custom condition `{}` is registered",
                call.name()
            )));
        };
        let answers = self.answers.borrow();
        let known = answers.get(&key);
        let fresh = known.filter(|a| {
            peek || now.as_micros() < a.checked.saturating_add(def.recheck_micros as i64)
        });
        if let Some(answer) = fresh {
            return Some(answer.value.clone());
        }
        if peek {
            return None;
        }
        match def.call {
            CondFn::Blocking(function) => {
                drop(answers);
                let value = self.call(def, function, call, owner, now);
                self.answers.borrow_mut().insert(
                    key,
                    Answer {
                        value: value.clone(),
                        checked: now.as_micros(),
                    },
                );
                Some(value)
            }
            CondFn::Async(function) => {
                // The last answer stands while the re-check runs.
                let stale = known.map(|a| a.value.clone());
                drop(answers);
                if !self.in_flight.borrow().contains_key(&key)
                    && let Err(message) = self.start(def, function, key.clone(), now)
                {
                    self.answers.borrow_mut().insert(
                        key,
                        Answer {
                            value: Err(message.clone()),
                            checked: now.as_micros(),
                        },
                    );
                    return Some(Err(message));
                }
                if stale.is_none() {
                    self.pending.set(true);
                }
                stale
            }
        }
    }

    fn recheck_at(&self, call: &CustomCall, owner: Option<&str>) -> Option<Timestamp> {
        let def = self.defs.get(call.name())?;
        let key = (owner.map(Arc::from), call.clone());
        // A call under way wakes the task when it answers.
        if self.in_flight.borrow().contains_key(&key) {
            return None;
        }
        let answers = self.answers.borrow();
        let answer = answers.get(&key)?;
        Some(Timestamp::from_micros(
            answer.checked.saturating_add(def.recheck_micros as i64),
        ))
    }
}

/// The type-level identity of a `#[cond]` function, beside it under the same name: what a
/// `#[task]` string that calls it refers to, so that the compiler checks that it exists.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a custom condition",
    label = "not a `#[scheduler::cond]` function",
    note = "a condition string calls functions marked `#[scheduler::cond]`, by a name or path in scope where the `#[task]` is"
)]
pub trait CondMarker: 'static {
    /// The name it is registered under.
    const NAME: &'static str;
}

/// Implemented by a custom condition for the number of arguments its phrase takes.
#[diagnostic::on_unimplemented(
    message = "custom condition `{Self}` does not take {N} argument(s)",
    label = "wrong number of arguments",
    note = "the arguments of a custom condition's phrase are its parameters of the types `String`, `PathBuf`, integers, `f64`, `f32` and `bool`, in order"
)]
pub trait CondArity<const N: usize>: CondMarker {}

/// The type of a custom condition's phrase argument at position `I`.
#[diagnostic::on_unimplemented(
    message = "custom condition `{Self}` has no argument at position {I} (counted from 0)",
    label = "too many arguments"
)]
pub trait CondArgAt<const I: usize>: CondMarker {
    /// The parameter's type.
    type Arg;
}

/// A literal written in a condition string, as a type: what a phrase argument must accept.
pub(crate) mod literal {
    /// `'text'`.
    #[derive(Debug)]
    pub enum TextLiteral {}
    /// `42`.
    #[derive(Debug)]
    pub enum IntegerLiteral {}
    /// `1.5`.
    #[derive(Debug)]
    pub enum DecimalLiteral {}
    /// `true`, `false`.
    #[derive(Debug)]
    pub enum BoolLiteral {}
}

/// A parameter type that takes the literal `L` from a condition string.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` parameter of a custom condition cannot take a `{L}` written in the string",
    label = "argument of the wrong type",
    note = "text in single quotes goes to `String` or `PathBuf`, whole numbers to integer types or `f64`, decimals to `f64` or `f32`, `true`/`false` to `bool`"
)]
pub trait AcceptsLiteral<L> {}

impl AcceptsLiteral<literal::TextLiteral> for String {}
impl AcceptsLiteral<literal::TextLiteral> for PathBuf {}
impl AcceptsLiteral<literal::BoolLiteral> for bool {}
impl AcceptsLiteral<literal::DecimalLiteral> for f64 {}
impl AcceptsLiteral<literal::DecimalLiteral> for f32 {}
macro_rules! accepts_integers {
    ($($t:ty),*) => {$( impl AcceptsLiteral<literal::IntegerLiteral> for $t {} )*};
}
accepts_integers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

/// Compiles when `M` is a custom condition taking `N` arguments (`#[task]` strings).
pub fn cond_takes<M: CondArity<N>, const N: usize>() {}

/// Compiles when argument `I` of `M` takes the literal `L` (`#[task]` strings).
pub fn cond_arg_fits<M: CondArgAt<I>, const I: usize, L>()
where
    M::Arg: AcceptsLiteral<L>,
{
}
