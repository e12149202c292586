//! Helpers for the code that `#[task]` and `#[param]` generate. Not public API: reached
//! through `scheduler::__private`, and may change in any release.

use std::fmt::Display;
use std::marker::PhantomData;

use super::exec::serde_codec;
use super::inject::InjectError;
use super::outcome::{OutputCodec, RunOutcome, outcome_of_error, output_of};

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

/// The outcome of a run whose parameter could not be injected.
pub fn inject_failed(param: &str, error: InjectError) -> RunOutcome {
    RunOutcome::Failure(format!("parameter `{param}`: {error}"))
}

/// Finds, for a concrete type, whether it has a JSON codec (autoref specialization: the
/// generated code calls `(&&CodecProbe::<T>::new()).codec()`, which picks
/// [`CodecViaSerde`] when `T` is serializable and [`NoCodec`] otherwise).
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
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    fn codec(&self) -> Option<OutputCodec> {
        Some(serde_codec::<T>())
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
pub trait CrossesProcesses {}

impl<T: serde::Serialize + serde::de::DeserializeOwned> CrossesProcesses for T {}

/// Fails to compile unless `T` can cross process boundaries.
pub const fn assert_crosses_processes<T: CrossesProcesses>() {}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;

    #[test]
    // The borrows select the implementation (autoref specialization).
    #[allow(clippy::needless_borrow)]
    fn codec_probe_specializes_on_serde() {
        assert!((&&CodecProbe::<Vec<u32>>::new()).codec().is_some());
        assert!((&&CodecProbe::<Opaque>::new()).codec().is_none());
    }
}
