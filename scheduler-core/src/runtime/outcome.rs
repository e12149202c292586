//! How a run ends: its outcome, the value it returned (and how that value crosses a
//! process boundary as JSON), and the errors with a special meaning (`Terminated`,
//! `Inaction`).
//!
//! An outcome is named as the log action it writes: [`RunOutcome::Success`] writes
//! `success`, [`RunOutcome::Fail`] `fail`, [`RunOutcome::Terminate`] `terminate`,
//! [`RunOutcome::Inaction`] `inaction`. The condition language speaks of the same events
//! as states (`has succeeded`, `has failed`, `after task 'x' terminated`).
//!
//! A task's return value becomes an outcome: `()` and `Ok(..)` are a success (the value is
//! kept for `Return<task>`), `Err(e)` a failure whose text is logged, and the errors
//! [`Terminated`] and [`Inaction`] end the run as `terminate` and `inaction`.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// A value a task returned, kept for the tasks that inject it with `Return<task>`.
#[derive(Clone)]
pub struct Output {
    value: Option<Arc<dyn Any + Send + Sync>>,
    json: Option<Arc<str>>,
    codec: Option<OutputCodec>,
    type_name: Cow<'static, str>,
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Output")
            .field("type", &self.type_name)
            .field("json", &self.json)
            .finish_non_exhaustive()
    }
}

/// Writes a value as JSON (`None` if the value is not of the function's type).
pub type EncodeFn = fn(&(dyn Any + Send + Sync)) -> Option<String>;
/// Reads a value from JSON.
pub type DecodeFn = fn(&str) -> Result<Arc<dyn Any + Send + Sync>, serde_json::Error>;

/// Conversions of a task's output to and from JSON, for crossing process boundaries.
///
/// Every serializable output can be written; reading one back needs the type to own its
/// data (`DeserializeOwned`), which is required of the tasks whose values cross.
#[derive(Debug, Clone, Copy)]
pub struct OutputCodec {
    /// Writes the value.
    pub encode: EncodeFn,
    /// Reads the value back, when its type allows.
    pub decode: Option<DecodeFn>,
}

impl Output {
    /// A value returned in this process.
    pub fn new<T: Send + Sync + 'static>(value: T) -> Self {
        Output {
            value: Some(Arc::new(value)),
            json: None,
            codec: None,
            type_name: Cow::Borrowed(std::any::type_name::<T>()),
        }
    }

    /// The same value, with the codec that turns it into JSON.
    pub fn with_codec(mut self, codec: Option<OutputCodec>) -> Self {
        self.codec = codec;
        self
    }

    /// A value that arrived as JSON (from a child process).
    pub fn from_json(json: String, type_name: impl Into<Cow<'static, str>>) -> Self {
        Output {
            value: None,
            json: Some(json.into()),
            codec: None,
            type_name: type_name.into(),
        }
    }

    /// The value, if it lives in this process.
    pub fn value(&self) -> Option<&Arc<dyn Any + Send + Sync>> {
        self.value.as_ref()
    }

    /// The value as JSON, if it arrived as JSON or its type can be serialized.
    pub fn json(&self) -> Option<String> {
        if let Some(json) = &self.json {
            return Some(json.to_string());
        }
        let (value, codec) = (self.value.as_ref()?, self.codec?);
        (codec.encode)(value.as_ref())
    }

    /// The name of the value's type.
    pub fn type_name(&self) -> &str {
        &self.type_name
    }

    /// How the value is written as and read from JSON, if known.
    pub fn codec(&self) -> Option<OutputCodec> {
        self.codec
    }

    /// The same value with `codec`, unless it has one already.
    pub(crate) fn or_codec(mut self, codec: Option<OutputCodec>) -> Self {
        self.codec = self.codec.or(codec);
        self
    }
}

/// Writes a `T` as JSON.
pub fn encode_json<T: serde::Serialize + 'static>(
    value: &(dyn Any + Send + Sync),
) -> Option<String> {
    serde_json::to_string(value.downcast_ref::<T>()?).ok()
}

/// Reads a `T` from JSON.
pub fn decode_json<T: serde::de::DeserializeOwned + Send + Sync + 'static>(
    json: &str,
) -> Result<Arc<dyn Any + Send + Sync>, serde_json::Error> {
    serde_json::from_str::<T>(json).map(|v| Arc::new(v) as Arc<dyn Any + Send + Sync>)
}

/// The JSON codec of a type that can be written and read back.
pub fn serde_codec<T>() -> OutputCodec
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    OutputCodec {
        encode: encode_json::<T>,
        decode: Some(decode_json::<T>),
    }
}

/// How a run ended.
#[derive(Debug, Clone)]
pub enum RunOutcome {
    /// It returned normally; the value, if any, is kept for `Return<task>`.
    Success(Option<Output>),
    /// It failed: an error, a panic, or a value it needed was missing.
    Fail(String),
    /// It was stopped (timeout, end condition, shutdown, request) or gave up with
    /// [`Terminated`].
    Terminate(String),
    /// It decided there was nothing to do ([`Inaction`]).
    Inaction(String),
}

impl RunOutcome {
    /// The log action of the outcome.
    pub fn action(&self) -> crate::log::Action {
        use crate::log::Action;
        match self {
            RunOutcome::Success(_) => Action::Success,
            RunOutcome::Fail(_) => Action::Fail,
            RunOutcome::Terminate(_) => Action::Terminate,
            RunOutcome::Inaction(_) => Action::Inaction,
        }
    }

    /// The error text, reason or nothing.
    pub fn message(&self) -> Option<&str> {
        match self {
            RunOutcome::Success(_) => None,
            RunOutcome::Fail(m) | RunOutcome::Terminate(m) | RunOutcome::Inaction(m) => Some(m),
        }
    }

    /// The same outcome, whose kept value (if any) is written as and read from JSON with
    /// `codec` unless it knows how already.
    pub(crate) fn or_output_codec(self, codec: Option<OutputCodec>) -> Self {
        match self {
            RunOutcome::Success(Some(output)) => RunOutcome::Success(Some(output.or_codec(codec))),
            other => other,
        }
    }
}

/// The error a task returns when it stops because its termination flag was set; the run
/// is logged as `terminate`. See `TerminationFlag::check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, thiserror::Error)]
#[error("the run was asked to stop")]
pub struct Terminated;

/// The error a task returns when it has nothing to do; the run is logged as `inaction`
/// (which, like a success, uses up a once-per-period slot).
#[derive(Debug, Clone, PartialEq, Eq, Default, thiserror::Error)]
#[error("nothing to do{}", .0.as_deref().map(|r| format!(": {r}")).unwrap_or_default())]
pub struct Inaction(pub Option<String>);

impl Inaction {
    /// An inaction with a reason.
    pub fn because(reason: impl Into<String>) -> Self {
        Inaction(Some(reason.into()))
    }
}

/// The outcome of an `Err(e)` returned by a task: `terminate` and `inaction` for
/// [`Terminated`] and [`Inaction`] (also inside a `Box<dyn Error>`), a failure with the
/// error's text otherwise.
pub fn outcome_of_error<E: fmt::Display + 'static>(e: E) -> RunOutcome {
    let any: &dyn Any = &e;
    if any.is::<Terminated>() {
        return RunOutcome::Terminate(e.to_string());
    }
    if let Some(inaction) = any.downcast_ref::<Inaction>() {
        return RunOutcome::Inaction(inaction.0.clone().unwrap_or_default());
    }
    let boxed = any
        .downcast_ref::<Box<dyn std::error::Error + Send + Sync>>()
        .map(|b| &**b as &(dyn std::error::Error + 'static))
        .or_else(|| {
            any.downcast_ref::<Box<dyn std::error::Error>>()
                .map(|b| &**b as &(dyn std::error::Error + 'static))
        });
    if let Some(inner) = boxed {
        if inner.is::<Terminated>() {
            return RunOutcome::Terminate(inner.to_string());
        }
        if let Some(inaction) = inner.downcast_ref::<Inaction>() {
            return RunOutcome::Inaction(inaction.0.clone().unwrap_or_default());
        }
    }
    RunOutcome::Fail(format!("{e:#}"))
}

/// What a task body may return: `()`, a `Result`, or a [`RunOutcome`].
///
/// `Ok(value)` keeps `value` for `Return<task>` (a `()` value is not kept).
pub trait IntoRunOutcome {
    /// The outcome.
    fn into_run_outcome(self) -> RunOutcome;
}

impl IntoRunOutcome for () {
    fn into_run_outcome(self) -> RunOutcome {
        RunOutcome::Success(None)
    }
}

impl IntoRunOutcome for RunOutcome {
    fn into_run_outcome(self) -> RunOutcome {
        self
    }
}

impl<T: Send + Sync + 'static, E: fmt::Display + 'static> IntoRunOutcome for Result<T, E> {
    fn into_run_outcome(self) -> RunOutcome {
        match self {
            Ok(value) => RunOutcome::Success(output_of(value, None)),
            Err(e) => outcome_of_error(e),
        }
    }
}

/// The kept output of a value: none for `()`.
pub(crate) fn output_of<T: Send + Sync + 'static>(
    value: T,
    codec: Option<OutputCodec>,
) -> Option<Output> {
    if std::any::TypeId::of::<T>() == std::any::TypeId::of::<()>() {
        return None;
    }
    Some(Output::new(value).with_codec(codec))
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_become_outcomes() {
        assert!(matches!(
            outcome_of_error(Terminated),
            RunOutcome::Terminate(_)
        ));
        assert!(matches!(
            outcome_of_error(Inaction::because("no new files")),
            RunOutcome::Inaction(r) if r == "no new files"
        ));
        let boxed: Box<dyn std::error::Error + Send + Sync> = Box::new(Terminated);
        assert!(matches!(outcome_of_error(boxed), RunOutcome::Terminate(_)));
        assert!(matches!(
            outcome_of_error("disk full".to_owned()),
            RunOutcome::Fail(m) if m == "disk full"
        ));
    }

    #[test]
    fn values_are_kept_except_unit() {
        assert!(matches!(
            Ok::<(), String>(()).into_run_outcome(),
            RunOutcome::Success(None)
        ));
        let RunOutcome::Success(Some(out)) = Ok::<u32, String>(7).into_run_outcome() else {
            panic!("expected a kept value");
        };
        assert_eq!(out.value().unwrap().downcast_ref::<u32>(), Some(&7));
    }
}
