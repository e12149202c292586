//! Parameters of `#[task]` functions: each parameter's type says where its value comes
//! from, through one trait, [`FromContext`]; `Return<task>`, whose value comes from the
//! task named in the type, through [`FromProducer`], with the name that `#[task]` reads
//! in the parameter list.
//!
//! | type | value |
//! |---|---|
//! | [`Return<task>`](Return) | the last value the task `task` returned, typed by that task's return type (written in the parameter list, see [`Return`]) |
//! | [`Arg<T>`](Arg) | the session parameter named like the function parameter |
//! | [`Payload<T>`](Payload) | the payload of a run requested with `Session::run_with` |
//! | [`Env<T>`](Env) | the environment variable named like the parameter, upper-cased, parsed |
//! | [`Session`] | control of the running scheduler |
//! | [`Task`] | this task's handle (`Task<other>`: another task's) |
//! | [`TerminationFlag`] | set when the run is asked to stop |
//! | [`RunInfo`] | the task's name, the run id and start time |
//! | `Option<T>` | any of the above, or `None` when it is not available |
//!
//! A value that is missing at run time (no value returned yet, no such parameter) fails
//! the run with a message that says which and why; the scheduler goes on.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::str::FromStr;
use std::sync::Arc;

use crate::log::RunId;
use crate::time::Timestamp;

use super::context::{RunContext, TerminationFlag};
use super::session::{Session, SessionError};

/// The type-level identity of a `#[task]` function: `#[task] fn get_data() -> Rows`
/// defines a type `get_data` (beside the function) implementing this trait, which is what
/// `Return<get_data>` and `Task<get_data>` name.
// The same message, label and note as `private::Producer`'s (see there why).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task",
    label = "not a `#[task]` function",
    note = "`Return<...>` and `Task<...>` take a function marked `#[task]`, by its name, in scope or as a path (`Return<crate::jobs::get_data>`); the value's type is what that function returns"
)]
pub trait TaskMarker: 'static {
    /// The task's name.
    const NAME: &'static str;
    /// What the task returns (the `Ok` type for a `Result`).
    type Output: Send + Sync + 'static;
    /// What its `Payload<T>` parameter reads (`()` for a task without one): the type of
    /// `task::apply(payload)` (see [`OnDemand`](crate::queue::OnDemand)).
    type Payload: 'static;
}

/// What a task's parameters need from the parent when it runs in a child process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    /// The last return value of a task.
    Return(&'static str),
}

/// The parameter being injected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamInfo {
    /// The function parameter's name.
    pub name: &'static str,
}

/// Why a parameter could not be injected. The run is logged as a failure with this text.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum InjectError {
    /// `Return<task>` before the task returned a value.
    #[error("task '{task}' has not returned a value yet")]
    NoReturn {
        /// The task.
        task: String,
    },
    /// `Arg<T>` without a session parameter of that name.
    #[error("no session parameter `{name}`{}", .suggestion.as_deref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    MissingArg {
        /// The parameter name.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// A value of another type than asked for.
    #[error("{what} is a `{found}`, not a `{expected}`")]
    WrongType {
        /// What was looked up.
        what: String,
        /// The type asked for.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// `Env<T>` without the variable.
    #[error("environment variable `{var}` is not set")]
    MissingEnv {
        /// The variable.
        var: String,
    },
    /// `Env<T>` whose variable does not parse as a `T`.
    #[error("environment variable `{var}`={value:?} is not a valid `{expected}`: {source}")]
    BadEnv {
        /// The variable.
        var: String,
        /// Its value.
        value: String,
        /// The type asked for.
        expected: &'static str,
        /// The parse error.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// `Payload<T>` in a run that has none.
    #[error(
        "this run has no payload (runs started by their condition have none; use `Option<Payload<T>>`)"
    )]
    NoPayload,
    /// `Payload<T>` whose payload does not deserialize as a `T`.
    #[error("the payload is not a valid `{expected}`: {source}")]
    BadPayload {
        /// The type asked for.
        expected: &'static str,
        /// The deserialization error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// `Return<task>` of a value that crossed from a child process as JSON, and whose type
    /// cannot be read from JSON.
    #[error(
        "the value returned by task '{task}' arrived as JSON and its type cannot be read from JSON"
    )]
    ReturnNotReadable {
        /// The producing task.
        task: String,
    },
    /// `Return<task>` of a value that crossed as JSON that does not read as its type.
    #[error("the value returned by task '{task}' is not valid JSON for its type: {source}")]
    BadReturn {
        /// The producing task.
        task: String,
        /// The deserialization error.
        #[source]
        source: Arc<serde_json::Error>,
    },
    /// `Return<task>` that reached `#[task]` through a type alias, which hides the task.
    #[error("parameter `{param}`: `Return<task>` must be written in the parameter list")]
    ReturnThroughAlias {
        /// The parameter.
        param: &'static str,
    },
    /// Something that exists only in the scheduler's process, asked for in a child process.
    #[error("{what} is not available in a child process (execution = \"process\")")]
    NotInChildProcess {
        /// What was asked for.
        what: &'static str,
    },
    /// A `#[param]` function whose own parameters could not be injected.
    #[error("the `#[param]` function `{name}` failed: {source}")]
    ParamFunction {
        /// The parameter (the function's name).
        name: String,
        /// Why.
        #[source]
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// A problem of a parameter type of your own ([`FromContext`] implemented outside
    /// this crate).
    #[error(transparent)]
    Custom(Arc<dyn std::error::Error + Send + Sync>),
}

impl RunContext {
    /// The session parameter `name`, as a `T`.
    pub fn arg<T: Send + Sync + 'static>(&self, name: &str) -> Result<Arc<T>, InjectError> {
        let Some(found) = self.params().get(self, name) else {
            let known = self.params().names();
            return Err(InjectError::MissingArg {
                name: name.to_owned(),
                suggestion: crate::condition::nearest(name, known.iter().map(String::as_str))
                    .map(str::to_owned),
            });
        };
        let (value, type_name) = found.map_err(|source| InjectError::ParamFunction {
            name: name.to_owned(),
            source,
        })?;
        value.downcast::<T>().map_err(|_| InjectError::WrongType {
            what: format!("parameter `{name}`"),
            expected: std::any::type_name::<T>(),
            found: type_name.to_owned(),
        })
    }

    /// The last value task `M` returned.
    pub fn returned<M: TaskMarker>(&self) -> Result<Arc<M::Output>, InjectError> {
        self.returned_by::<M::Output>(M::NAME)
    }

    /// The last value the task `task` returned, as a `T`.
    pub fn returned_by<T: Send + Sync + 'static>(&self, task: &str) -> Result<Arc<T>, InjectError> {
        let (output, decoder) = self.output_of(task).ok_or_else(|| InjectError::NoReturn {
            task: task.to_owned(),
        })?;
        let value = match output.value() {
            Some(value) => value.clone(),
            None => {
                // It crossed a process boundary as JSON: read it with the decoder this
                // task's parameter brought (in a child process), or the producer's own.
                let json = output.json().unwrap_or_default();
                let decode = decoder
                    .or_else(|| output.codec().and_then(|c| c.decode))
                    .ok_or_else(|| InjectError::ReturnNotReadable {
                        task: task.to_owned(),
                    })?;
                decode(&json).map_err(|e| InjectError::BadReturn {
                    task: task.to_owned(),
                    source: Arc::new(e),
                })?
            }
        };
        value.downcast::<T>().map_err(|_| InjectError::WrongType {
            what: format!("the value returned by task '{task}'"),
            expected: std::any::type_name::<T>(),
            found: output.type_name().to_owned(),
        })
    }
}

impl InjectError {
    /// Whether the value is simply absent (so that `Option<T>` gives `None`).
    fn is_absence(&self) -> bool {
        matches!(
            self,
            InjectError::NoReturn { .. }
                | InjectError::MissingArg { .. }
                | InjectError::MissingEnv { .. }
                | InjectError::NoPayload
                | InjectError::NotInChildProcess { .. }
        )
    }
}

/// A type whose value a `#[task]` function can receive as a parameter.
///
/// Implement it to inject your own types:
///
/// ```
/// use scheduler_core::runtime::{FromContext, InjectError, ParamInfo, RunContext};
///
/// struct RunLabel(String);
///
/// impl FromContext for RunLabel {
///     fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
///         Ok(RunLabel(format!("{}#{}", cx.task_name(), cx.run_id())))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected into a `#[task]` function",
    label = "not injectable",
    note = "parameters of a task are `Return<task>` (written as such, not through an alias), `Arg<T>`, `Payload<T>`, `Env<T>`, `Session`, `Task`, `TerminationFlag`, `RunInfo`, or `Option` of one of them",
    note = "to inject a type of your own, implement `scheduler::FromContext` for it"
)]
pub trait FromContext: Sized + Send + 'static {
    /// The value for one run.
    fn from_context(cx: &RunContext, param: &ParamInfo) -> Result<Self, InjectError>;

    /// What the value needs from the scheduler's process when the task runs in a child
    /// process.
    const NEED: Option<Need> = None;
}

/// The last value the task `M` returned: `Return<get_data>` is typed by `get_data`'s
/// return type (the `Ok` type for a `Result`), as a [`Returned`] of that type.
///
/// `#[task]` reads the producer's name where the parameter's type is written, so write it
/// in the parameter list itself: `Return<get_data>` or `Option<Return<get_data>>`, not a
/// type alias of your own for it.
///
/// Why an alias: the value's type is all the runtime needs, so that every task reading a
/// `Vec<f64>` shares one `Returned<Vec<f64>>`, whose injection, `Deref` and drop are
/// compiled once, not once per producing task. In the compile-cost scenario of `bench/`
/// (1,000 tasks, half of them reading a value), a type per producer was 8 % of rustc's
/// instructions and 16 % of a debug build's time.
pub type Return<M> = Returned<<M as TaskMarker>::Output>;

/// A value a task returned, as a `#[task]` function receives it through
/// [`Return<task>`](Return).
///
/// It dereferences to the value; [`into_inner`](Self::into_inner) takes it out.
pub struct Returned<T> {
    value: Arc<T>,
}

impl<T> Returned<T> {
    /// The value, cloned if another holder shares it.
    pub fn into_inner(self) -> T
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.value)
    }

    /// The shared value.
    pub fn into_arc(self) -> Arc<T> {
        self.value
    }
}

impl<T> Deref for Returned<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Returned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Return").field(&self.value).finish()
    }
}

/// A parameter that reads the value of a task named where its type is written:
/// `Return<task>` or `Option<Return<task>>`. `#[task]` passes the name; not public API.
#[doc(hidden)]
pub trait FromProducer: Sized {
    /// The value for one run, returned last by the task `producer`.
    fn from_producer(cx: &RunContext, producer: &'static str) -> Result<Self, InjectError>;
}

impl<T: Send + Sync + 'static> FromProducer for Returned<T> {
    fn from_producer(cx: &RunContext, producer: &'static str) -> Result<Self, InjectError> {
        match cx.returned_by::<T>(producer) {
            Ok(value) => Ok(Returned { value }),
            Err(e) => Err(e),
        }
    }
}

/// Where `Return<task>` reached `#[task]` through a type alias, the task's name is lost:
/// this bound, which no type meets, makes that a compile error, whose help line names this
/// trait (the message is `FromContext`'s, whose note says to write `Return<task>` as such).
#[doc(hidden)]
pub trait ReturnWrittenInParameterList {}

impl<T: Send + Sync + 'static> FromContext for Returned<T>
where
    Returned<T>: ReturnWrittenInParameterList,
{
    fn from_context(_cx: &RunContext, param: &ParamInfo) -> Result<Self, InjectError> {
        Err(InjectError::ReturnThroughAlias { param: param.name })
    }
}

impl<T: FromProducer> FromProducer for Option<T> {
    fn from_producer(cx: &RunContext, producer: &'static str) -> Result<Self, InjectError> {
        match T::from_producer(cx, producer) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_absence() => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The session parameter named like the function parameter: in
/// `fn report(recipients: Arg<Vec<String>>)`, the parameter `recipients`, set with
/// `Scheduler::builder().param("recipients", ...)` or by a `#[param] fn recipients()`.
pub struct Arg<T> {
    value: Arc<T>,
}

impl<T> Arg<T> {
    /// The value, cloned if shared.
    pub fn into_inner(self) -> T
    where
        T: Clone,
    {
        Arc::unwrap_or_clone(self.value)
    }
}

impl<T> Deref for Arg<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Arg<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Arg").field(&self.value).finish()
    }
}

impl<T: Send + Sync + 'static> FromContext for Arg<T> {
    fn from_context(cx: &RunContext, param: &ParamInfo) -> Result<Self, InjectError> {
        cx.arg::<T>(param.name).map(|value| Arg { value })
    }
}

/// `#[arg(key = "...", default = ...)]`: the session parameter `key`, else the default.
#[doc(hidden)]
pub fn arg_or<T: Send + Sync + 'static>(
    cx: &RunContext,
    key: &str,
    default: Option<fn() -> T>,
) -> Result<Arg<T>, InjectError> {
    match (cx.arg::<T>(key), default) {
        (Ok(value), _) => Ok(Arg { value }),
        (Err(InjectError::MissingArg { .. }), Some(default)) => Ok(Arg {
            value: Arc::new(default()),
        }),
        (Err(e), _) => Err(e),
    }
}

/// A parameter of a `#[param]` function that could not be injected.
#[derive(Debug, Clone, thiserror::Error)]
#[error("parameter `{param}`: {source}")]
pub struct ParamInjectError {
    /// The parameter of the `#[param]` function.
    pub param: &'static str,
    /// Why.
    #[source]
    pub source: InjectError,
}

/// The error of a `#[param]` function whose parameter `param` could not be injected.
#[doc(hidden)]
pub fn param_inject_failed(
    param: &'static str,
    source: InjectError,
) -> Arc<dyn std::error::Error + Send + Sync> {
    Arc::new(ParamInjectError { param, source })
}

/// `#[arg(with = function)]`: the value the function computes, for each run of this task.
#[doc(hidden)]
pub fn arg_with<T>(function: fn() -> T) -> Result<Arg<T>, InjectError> {
    Ok(Arg {
        value: Arc::new(function()),
    })
}

/// `#[env(var = "...", default = ...)]`: the environment variable, parsed, else the
/// default (an unset variable only: one that does not parse is an error).
#[doc(hidden)]
pub fn env_or<T>(var: &str, default: Option<fn() -> T>) -> Result<Env<T>, InjectError>
where
    T: FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let Ok(value) = std::env::var(var) else {
        return match default {
            Some(default) => Ok(Env(default())),
            None => Err(InjectError::MissingEnv {
                var: var.to_owned(),
            }),
        };
    };
    value
        .parse()
        .map(Env)
        .map_err(|e: T::Err| InjectError::BadEnv {
            var: var.to_owned(),
            value,
            expected: std::any::type_name::<T>(),
            source: Arc::new(e),
        })
}

/// The payload of a run requested with `Session::run_with`, deserialized.
#[derive(Debug, Clone, PartialEq)]
pub struct Payload<T>(pub T);

impl<T> Deref for Payload<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + Send + 'static> FromContext for Payload<T> {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        let payload = cx.payload().ok_or(InjectError::NoPayload)?;
        T::deserialize(payload).map(Payload).map_err(|e| {
            // A job's payload is JSON, `null` for a run requested without one
            // (`Session::run` through the queue): the same absence as an in-process run's,
            // so that `Option<Payload<T>>` is `None` either way. A `T` that reads `null`
            // (`()`, an `Option`) takes it as a value.
            if payload.is_null() {
                InjectError::NoPayload
            } else {
                InjectError::BadPayload {
                    expected: std::any::type_name::<T>(),
                    source: Arc::new(e),
                }
            }
        })
    }
}

/// The type a task's `Payload<T>` parameter reads, kept with the task so that a payload
/// can be checked before it is enqueued (the command line's `trigger --payload`): `#[task]`
/// records it; a task built in code has it when given with
/// [`TaskSpec::payload_type`](crate::runtime::TaskSpec::payload_type).
#[derive(Clone, Copy)]
pub struct PayloadShape {
    kind: ShapeKind,
}

#[derive(Clone, Copy)]
enum ShapeKind {
    /// The task has no `Payload<T>` parameter.
    None,
    Typed {
        type_name: fn() -> &'static str,
        check: fn(&serde_json::Value) -> Result<(), serde_json::Error>,
        /// `Option<Payload<T>>`: `null` (no payload) is accepted.
        optional: bool,
    },
}

impl fmt::Debug for PayloadShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ShapeKind::None => f.write_str("PayloadShape(none)"),
            ShapeKind::Typed {
                type_name,
                optional,
                ..
            } => write!(
                f,
                "PayloadShape({}{})",
                type_name(),
                if optional { ", optional" } else { "" }
            ),
        }
    }
}

fn read_as<T: serde::de::DeserializeOwned>(
    payload: &serde_json::Value,
) -> Result<(), serde_json::Error> {
    T::deserialize(payload).map(|_| ())
}

/// Why a payload does not fit a task's [`PayloadShape`].
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadMismatch {
    /// The task reads no payload, and one was given.
    #[error("the task takes no payload (it has no `Payload<T>` parameter)")]
    NotTaken,
    /// The payload does not read as the task's `T` (the cause says why).
    #[error("the payload is not a valid `{expected}`")]
    WrongShape {
        /// The type the task reads.
        expected: &'static str,
        /// What serde says.
        #[source]
        source: Arc<serde_json::Error>,
    },
}

impl PayloadShape {
    /// A task without a `Payload<T>` parameter: only `null` (no payload) fits.
    pub const NONE: PayloadShape = PayloadShape {
        kind: ShapeKind::None,
    };

    /// `Payload<T>`: the payload must read as a `T`.
    pub const fn of<T: serde::de::DeserializeOwned>() -> PayloadShape {
        PayloadShape {
            kind: ShapeKind::Typed {
                type_name: std::any::type_name::<T>,
                check: read_as::<T>,
                optional: false,
            },
        }
    }

    /// `Option<Payload<T>>`: no payload (`null`), or one that reads as a `T`.
    pub const fn optional<T: serde::de::DeserializeOwned>() -> PayloadShape {
        PayloadShape {
            kind: ShapeKind::Typed {
                type_name: std::any::type_name::<T>,
                check: read_as::<T>,
                optional: true,
            },
        }
    }

    /// The name of the type read (`None` for a task that reads no payload).
    pub fn type_name(&self) -> Option<&'static str> {
        match self.kind {
            ShapeKind::None => None,
            ShapeKind::Typed { type_name, .. } => Some(type_name()),
        }
    }

    /// Whether `payload` (`null` for none) fits: what the task's run would read.
    ///
    /// ```
    /// use scheduler_core::runtime::PayloadShape;
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Email { to: String }
    ///
    /// let shape = PayloadShape::of::<Email>();
    /// assert!(shape.check(&serde_json::json!({"to": "ada@example.com"})).is_ok());
    /// let error = shape.check(&serde_json::json!({"to": 7})).unwrap_err();
    /// let why = std::error::Error::source(&error).unwrap().to_string();
    /// assert!(why.contains("invalid type: integer `7`, expected a string"), "{why}");
    /// assert!(PayloadShape::optional::<Email>().check(&serde_json::Value::Null).is_ok());
    /// assert!(PayloadShape::NONE.check(&serde_json::json!(1)).is_err());
    /// ```
    pub fn check(&self, payload: &serde_json::Value) -> Result<(), PayloadMismatch> {
        match self.kind {
            ShapeKind::None if payload.is_null() => Ok(()),
            ShapeKind::None => Err(PayloadMismatch::NotTaken),
            ShapeKind::Typed { optional: true, .. } if payload.is_null() => Ok(()),
            ShapeKind::Typed {
                type_name, check, ..
            } => check(payload).map_err(|e| PayloadMismatch::WrongShape {
                expected: type_name(),
                source: Arc::new(e),
            }),
        }
    }
}

/// The environment variable named like the function parameter, upper-cased
/// (`database_url: Env<String>` reads `DATABASE_URL`), parsed as a `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env<T>(pub T);

impl<T> Deref for Env<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> FromContext for Env<T>
where
    T: FromStr + Send + 'static,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    fn from_context(_cx: &RunContext, param: &ParamInfo) -> Result<Self, InjectError> {
        let var = param.name.trim_start_matches('_').to_ascii_uppercase();
        let value =
            std::env::var(&var).map_err(|_| InjectError::MissingEnv { var: var.clone() })?;
        value
            .parse()
            .map(Env)
            .map_err(|e: T::Err| InjectError::BadEnv {
                var,
                value,
                expected: std::any::type_name::<T>(),
                source: Arc::new(e),
            })
    }
}

impl FromContext for Session {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        cx.session().cloned().ok_or(InjectError::NotInChildProcess {
            what: "the session",
        })
    }
}

impl FromContext for TerminationFlag {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        Ok(cx.termination_flag().clone())
    }
}

/// The identity of the current run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The task's name.
    pub task: String,
    /// The run's id.
    pub run_id: RunId,
    /// When it started.
    pub started: Timestamp,
}

impl FromContext for RunInfo {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        Ok(RunInfo {
            task: cx.task_name().to_owned(),
            run_id: cx.run_id(),
            started: cx.started(),
        })
    }
}

impl<T: FromContext> FromContext for Option<T> {
    fn from_context(cx: &RunContext, param: &ParamInfo) -> Result<Self, InjectError> {
        match T::from_context(cx, param) {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_absence() => Ok(None),
            Err(e) => Err(e),
        }
    }

    const NEED: Option<Need> = T::NEED;
}

/// The task the function belongs to, in `Task<This>` (the default: `Task`).
#[derive(Debug, Clone, Copy)]
pub enum This {}

/// A handle on a task: this task (`Task`), or another (`Task<get_data>`).
///
/// It can disable, enable, terminate or request a run of the task.
pub struct Task<M = This> {
    name: Arc<str>,
    session: Session,
    marker: PhantomData<fn() -> M>,
}

impl<M> Clone for Task<M> {
    fn clone(&self) -> Self {
        Task {
            name: self.name.clone(),
            session: self.session.clone(),
            marker: PhantomData,
        }
    }
}

impl<M> fmt::Debug for Task<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Task").field(&self.name).finish()
    }
}

impl<M> Task<M> {
    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Stops starting the task by its condition (requested runs still happen).
    pub fn disable(&self) -> Result<(), SessionError> {
        self.session.disable(&self.name)
    }

    /// Starts the task by its condition again.
    pub fn enable(&self) -> Result<(), SessionError> {
        self.session.enable(&self.name)
    }

    /// Asks the task's runs to stop.
    pub fn terminate(&self) -> Result<(), SessionError> {
        self.session.terminate(&self.name)
    }

    /// Requests a run now, whatever the condition says.
    pub fn run(&self) -> Result<(), SessionError> {
        self.session.run(&self.name)
    }
}

impl FromContext for Task<This> {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        let session = cx
            .session()
            .cloned()
            .ok_or(InjectError::NotInChildProcess {
                what: "a task handle",
            })?;
        Ok(Task {
            name: cx.task_arc().clone(),
            session,
            marker: PhantomData,
        })
    }
}

impl<M: TaskMarker> FromContext for Task<M> {
    fn from_context(cx: &RunContext, _param: &ParamInfo) -> Result<Self, InjectError> {
        let session = cx
            .session()
            .cloned()
            .ok_or(InjectError::NotInChildProcess {
                what: "a task handle",
            })?;
        Ok(Task {
            name: Arc::from(M::NAME),
            session,
            marker: PhantomData,
        })
    }
}
