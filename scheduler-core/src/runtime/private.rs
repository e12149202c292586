//! Helpers for the code that `#[task]` and `#[param]` generate. Not public API: reached
//! through `scheduler::__private`, and may change in any release.

use crate::condition::Condition;
use crate::condition::codec::CheckedCondition;

use super::context::TerminationFlag;
use super::inject::{Arg, Env, Payload, Returned, RunInfo, TaskMarker};
use super::outcome::{OutputCodec, serde_codec};

pub use super::context::ParamError;
pub use super::custom::literal::{BoolLiteral, DecimalLiteral, IntegerLiteral, TextLiteral};
pub use super::custom::{
    AcceptsLiteral, CondArgAt, CondArity, CondFn, CondFuture, CondMarker, cond_arg, cond_arg_fits,
    cond_future, cond_inject_failed, cond_takes,
};
pub use super::handler::{
    AsyncCall, BlockingCall, ResultReturn, Started, ValueReturn, finish, finish_async,
    inject_failed,
};
pub use super::inject::{
    FromProducer, PayloadShape, arg_or, arg_with, env_or, param_inject_failed,
};

/// The condition that `condition!` checked at compile time.
///
/// It is read as [`CheckedCondition::condition`] reads every checked condition (decoded,
/// else parsed from its text); `condition!` gives a `Condition`, not a `Result`, so a
/// condition that can be read neither way, which takes crates of two versions, panics
/// here with the reason.
pub fn checked_condition(checked: CheckedCondition) -> Condition {
    checked.condition().unwrap_or_else(|e| {
        panic!(
            "condition {:?} was checked at compile time but cannot be read at run time \
             (scheduler-macros and scheduler-core versions differ): {e}",
            checked.text
        )
    })
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
        serde_codec::<T>()
    }
}

/// Finds, where a task's return type is concrete (in the code `#[task]` emits), whether its
/// value can be written as and read from JSON, so that the log keeps it and `Return<task>`
/// reads it after a restart: `Probe::<T>::OUTPUT_CODEC` names the inherent constant below
/// when `T` implements the serde traits, and [`NoSerde`]'s otherwise (a path to an
/// associated item prefers an inherent one whose bounds hold over a trait's).
///
/// A constant rather than a method (the autoref form `(&&probe).codec()`): `#[task]` emits
/// it into a static, where a method call would need a closure per task, and a closure per
/// task cost rustc 2.6 M instructions per task (2.6 G of 19.3 G for a crate of 1,000 tasks,
/// `bench/compile_floor.py --tasks 1000`); the constant is resolved without generating code
/// for the task, and its function is generated once per type.
#[derive(Debug)]
pub struct Probe<T>(std::marker::PhantomData<fn() -> T>);

impl<T> Probe<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    /// The JSON codec of `T`.
    pub const OUTPUT_CODEC: fn() -> Option<OutputCodec> = serde_output_codec::<T>;
}

fn serde_output_codec<T>() -> Option<OutputCodec>
where
    T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Some(serde_codec::<T>())
}

/// The fallback of [`Probe`]: no codec, for a value serde cannot write or read.
pub trait NoSerde {
    /// No codec.
    const OUTPUT_CODEC: fn() -> Option<OutputCodec> = no_output_codec;
}

impl<T> NoSerde for Probe<T> {}

fn no_output_codec() -> Option<OutputCodec> {
    None
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
    /// The task whose value the parameter reads, and how the value crosses to the child
    /// as JSON (written by the scheduler's process, read by the child).
    fn codec() -> Option<(&'static str, OutputCodec)> {
        None
    }
}

/// A value that a task with `execution = "process"` reads through `Return<task>`: it
/// crosses to the child process as JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be read through `Return<...>` by a task with `execution = \"process\"`",
    label = "must cross to the child process as JSON",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or run the reading task with another execution"
)]
pub trait CrossesToChild {
    /// The codec that writes and reads the value.
    fn codec() -> OutputCodec;
}

impl<T: CrossesProcesses> CrossesToChild for T {
    fn codec() -> OutputCodec {
        T::codec()
    }
}

/// How the value of the task `M` crosses to a child process whose task reads it
/// (`Return<M>` in a task with `execution = "process"`).
pub fn return_codec<M: Producer>() -> Option<(&'static str, OutputCodec)>
where
    M::Output: CrossesToChild,
{
    Some((M::NAME, <M::Output as CrossesToChild>::codec()))
}

/// The task named in a parameter `Return<task>` or `Option<Return<task>>`, as `#[task]`
/// writes it: the parameter's type is `<task as Producer>::Return` (or `OptionalReturn`),
/// and the generated code names the task through this trait everywhere else too.
///
/// So a mistake in the name is one error, at the name. A name that is no type is the
/// compiler's "cannot find type", with its suggestion of a similar name in scope (the
/// marker types are those names), and without the hint to add a type parameter to the
/// function that a name in the generic arguments of a signature gets, as in `Return<task>`
/// itself. A type that is not a task fails this trait wherever the task is named, always
/// at the same place, and the compiler merges identical errors: the implementation is not
/// recommended, so that the error is this trait's and not its bound's, and `TaskMarker`
/// has the same message, label and note, which the compiler takes for some of them.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task",
    label = "not a `#[task]` function",
    note = "`Return<...>` and `Task<...>` take a function marked `#[task]`, by its name, in scope or as a path (`Return<crate::jobs::get_data>`); the value's type is what that function returns"
)]
pub trait Producer {
    /// The task's name.
    const NAME: &'static str;
    /// What the task returns (the `Ok` type for a `Result`).
    type Output: Send + Sync + 'static;
    /// `Return<task>`.
    type Return: FromProducer;
    /// `Option<Return<task>>`.
    type OptionalReturn: FromProducer;
}

// The two shapes are two associated types: a generic one (`Param<Shape>`, for any number
// of `Option`s) cost 1 % more instructions in the build of bench/compile_floor.py's crate.
#[diagnostic::do_not_recommend]
impl<M: TaskMarker> Producer for M {
    const NAME: &'static str = M::NAME;
    type Output = M::Output;
    type Return = Returned<M::Output>;
    type OptionalReturn = Option<Returned<M::Output>>;
}

impl<T> ChildParam for Arg<T> {}
impl<T> ChildParam for Payload<T> {}
impl<T> ChildParam for Env<T> {}
impl ChildParam for TerminationFlag {}
impl ChildParam for RunInfo {}

impl<T: ChildParam> ChildParam for Option<T> {
    fn codec() -> Option<(&'static str, OutputCodec)> {
        T::codec()
    }
}
