//! Helpers for the code that `#[task]` and `#[param]` generate. Not public API: reached
//! through `scheduler::__private`, and may change in any release.

use std::fmt::Display;
use std::marker::PhantomData;

use super::context::TerminationFlag;
use super::exec::{decode_json, encode_json};
use super::inject::{Arg, Env, InjectError, Payload, Return, RunInfo};
use super::outcome::{DecodeFn, OutputCodec, RunOutcome, outcome_of_error, output_of};
use super::registry::TaskMarker;

/// The outcome of a task function that returns a plain value.
pub fn value_outcome<T: Send + Sync + 'static>(value: T, codec: Option<OutputCodec>) -> RunOutcome {
    RunOutcome::Success(output_of(value, codec))
}

/// The outcome of a task function that returns a `Result`.
pub fn result_outcome<T, E>(result: Result<T, E>, codec: Option<OutputCodec>) -> RunOutcome
where
    T: Send + Sync + 'static,
    E: Display + 'static,
{
    match result {
        Ok(value) => RunOutcome::Success(output_of(value, codec)),
        Err(e) => outcome_of_error(e),
    }
}

/// The needs of a task without parameters (shared, so that `#[task]` emits no function
/// for them).
pub fn no_needs() -> Vec<super::task::Need> {
    Vec::new()
}

/// The child-process decoders of a task that runs in the scheduler's process, or has no
/// parameters (shared, so that `#[task]` emits no function for them).
pub fn no_child_decoders() -> Vec<(&'static str, DecodeFn)> {
    Vec::new()
}

/// The outcome of a run whose parameter could not be injected.
pub fn inject_failed(param: &str, error: InjectError) -> RunOutcome {
    RunOutcome::Failure(format!("parameter `{param}`: {error}"))
}

/// Finds, for a concrete type, whether it can be written as JSON (autoref
/// specialization: the generated code calls `(&&CodecProbe::<T>::new()).codec()`, which
/// picks [`CodecViaSerde`] when `T` is `Serialize` and [`NoCodec`] otherwise). Reading back
/// is not probed (`DeserializeOwned` cannot be probed this way): tasks whose values cross
/// process boundaries get it from hard bounds.
#[derive(Debug)]
pub struct CodecProbe<T>(PhantomData<fn() -> T>);

impl<T> CodecProbe<T> {
    /// A probe for `T`.
    pub const fn new() -> Self {
        CodecProbe(PhantomData)
    }
}

impl<T> Default for CodecProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// The codec of a serializable type.
pub trait CodecViaSerde {
    /// `Some` codec.
    fn codec(&self) -> Option<OutputCodec>;
}

impl<T> CodecViaSerde for &CodecProbe<T>
where
    T: serde::Serialize + Send + Sync + 'static,
{
    fn codec(&self) -> Option<OutputCodec> {
        Some(OutputCodec {
            encode: encode_json::<T>,
            decode: None,
        })
    }
}

/// No codec, for other types.
pub trait NoCodec {
    /// `None`.
    fn codec(&self) -> Option<OutputCodec>;
}

impl<T> NoCodec for CodecProbe<T> {
    fn codec(&self) -> Option<OutputCodec> {
        None
    }
}

/// A return value that can cross from a child process as JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned by a task with `execution = \"process\"`",
    label = "must cross from the child process as JSON",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or run the task with another execution"
)]
pub trait CrossesProcesses {
    /// The codec that writes and reads the value.
    fn codec() -> OutputCodec;
}

impl<T> CrossesProcesses for T
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    fn codec() -> OutputCodec {
        OutputCodec {
            encode: encode_json::<T>,
            decode: Some(decode_json::<T>),
        }
    }
}

/// The codec of the return value of a task with `execution = "process"`.
pub fn process_codec<T: CrossesProcesses>() -> Option<OutputCodec> {
    Some(T::codec())
}

/// A parameter type usable by a task with `execution = "process"`, which runs in a child
/// process: what the child needs to read its value.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a parameter of a task with `execution = \"process\"`",
    label = "not available in a child process",
    note = "a child process has no session and cannot control the scheduler; its parameters are `Return<task>`, `Arg<T>`, `Payload<T>`, `Env<T>`, `TerminationFlag`, `RunInfo`, or `Option` of one of them",
    note = "a type of your own that works in a child process implements `scheduler::__private::ChildParam` (with the default method)"
)]
pub trait ChildParam {
    /// The task whose value the parameter reads, and how to read it from JSON.
    fn decoder() -> Option<(&'static str, DecodeFn)> {
        None
    }
}

impl<M: TaskMarker> ChildParam for Return<M>
where
    M::Output: serde::de::DeserializeOwned,
{
    fn decoder() -> Option<(&'static str, DecodeFn)> {
        Some((M::NAME, decode_json::<M::Output>))
    }
}

impl<T> ChildParam for Arg<T> {}
impl<T> ChildParam for Payload<T> {}
impl<T> ChildParam for Env<T> {}
impl ChildParam for TerminationFlag {}
impl ChildParam for RunInfo {}

impl<T: ChildParam> ChildParam for Option<T> {
    fn decoder() -> Option<(&'static str, DecodeFn)> {
        T::decoder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;

    #[test]
    // The borrows select the implementation (autoref specialization).
    #[allow(clippy::needless_borrow)]
    fn codec_probe_specializes_on_serde() {
        assert!((&&CodecProbe::<Vec<u32>>::new()).codec().is_some());
        assert!((&&CodecProbe::<&'static str>::new()).codec().is_some());
        assert!((&&CodecProbe::<Opaque>::new()).codec().is_none());
    }
}
