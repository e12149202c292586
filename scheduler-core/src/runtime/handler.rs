//! The generic glue between a `#[task]` function and the runtime: injecting the
//! parameters, calling the function, and turning what it returns into an outcome.
//!
//! What `#[task]` emits per function is kept to what only it knows: a small synchronous
//! function that injects the parameters and calls the task function (boxing its future),
//! and a [`TaskFn`] in its registration. The future that awaits the function and turns its value
//! into an outcome is written here once and instantiated per return type, not per task: in
//! a crate with a thousand tasks, an async wrapper emitted per task was most of the build
//! time (see the compile-cost scenario in `bench/`).
//!
//! Not public API: reached through `scheduler::__private`.

use std::fmt::{self, Display};
use std::marker::PhantomData;

use super::clock::BoxFuture;
use super::context::RunContext;
use super::inject::InjectError;
use super::outcome::{OutputCodec, RunOutcome, outcome_of_error, output_of};

/// The outcome of a run whose parameter `name` could not be injected.
pub fn inject_failed(name: &str, error: InjectError) -> RunOutcome {
    RunOutcome::Failure(format!("parameter `{name}`: {error}"))
}

/// How a function's return value becomes an outcome ([`ValueReturn`] or
/// [`ResultReturn`]).
pub trait Finish<R>: 'static {
    /// The outcome of `value`.
    fn finish(value: R, codec: Option<OutputCodec>) -> RunOutcome;
}

/// A function that returns a plain value (kept for `Return<task>`, except `()`).
#[derive(Debug)]
pub enum ValueReturn {}

/// A function that returns a `Result`: `Err(e)` fails the run (or ends it as `terminate`
/// or `inaction` for those errors).
#[derive(Debug)]
pub enum ResultReturn {}

impl<R: Send + Sync + 'static> Finish<R> for ValueReturn {
    fn finish(value: R, codec: Option<OutputCodec>) -> RunOutcome {
        RunOutcome::Success(output_of(value, codec))
    }
}

impl<T, E> Finish<Result<T, E>> for ResultReturn
where
    T: Send + Sync + 'static,
    E: Display + 'static,
{
    fn finish(value: Result<T, E>, codec: Option<OutputCodec>) -> RunOutcome {
        match value {
            Ok(value) => RunOutcome::Success(output_of(value, codec)),
            Err(e) => outcome_of_error(e),
        }
    }
}

/// A registered `async fn` task, as the runtime starts it.
pub trait RegisteredAsync: Send + Sync + 'static {
    /// The future of one run: injects the parameters, calls the function, awaits it.
    fn start(&'static self, cx: RunContext) -> BoxFuture<'static, RunOutcome>;
}

/// A registered plain `fn` task, as the runtime runs it (on a thread or inline).
pub trait RegisteredBlocking: Send + Sync + 'static {
    /// One run: injects the parameters and calls the function.
    fn run(&'static self, cx: RunContext) -> RunOutcome;
}

/// The per-task part of an `async fn` task: injects the parameters and calls the function,
/// giving its future boxed, or the outcome of a parameter that could not be injected.
pub type CallAsync<R> = fn(&RunContext) -> Result<BoxFuture<'static, R>, RunOutcome>;

/// The per-task part of a plain `fn` task: injects the parameters and calls the function.
pub type CallBlocking<R> = fn(&RunContext) -> Result<R, RunOutcome>;

/// A task function: the per-task call, the codec of its value, and (`K`) how its value
/// becomes an outcome. `C` is [`CallAsync`] or [`CallBlocking`].
pub struct TaskFn<C, K> {
    call: C,
    codec: fn() -> Option<OutputCodec>,
    finish: PhantomData<fn() -> K>,
}

impl<C, K> TaskFn<C, K> {
    /// The task whose runs `call` starts, keeping values with `codec`.
    pub const fn new(call: C, codec: fn() -> Option<OutputCodec>) -> Self {
        TaskFn {
            call,
            codec,
            finish: PhantomData,
        }
    }
}

impl<C, K> fmt::Debug for TaskFn<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskFn")
            .field("call", &std::any::type_name::<C>())
            .field("finish", &std::any::type_name::<K>())
            .finish_non_exhaustive()
    }
}

impl<R: 'static, K: Finish<R>> RegisteredAsync for TaskFn<CallAsync<R>, K> {
    fn start(&'static self, cx: RunContext) -> BoxFuture<'static, RunOutcome> {
        Box::pin(run_async::<R, K>(cx, self.call, self.codec))
    }
}

/// One run of an `async fn` task: instantiated per return type, not per task.
async fn run_async<R, K: Finish<R>>(
    cx: RunContext,
    call: CallAsync<R>,
    codec: fn() -> Option<OutputCodec>,
) -> RunOutcome {
    let future = match call(&cx) {
        Ok(future) => future,
        Err(outcome) => return outcome,
    };
    let value = future.await;
    // The context lives as long as the run, as it would in the function's own frame.
    drop(cx);
    K::finish(value, codec())
}

impl<R: 'static, K: Finish<R>> RegisteredBlocking for TaskFn<CallBlocking<R>, K> {
    fn run(&'static self, cx: RunContext) -> RunOutcome {
        match (self.call)(&cx) {
            Ok(value) => K::finish(value, (self.codec)()),
            Err(outcome) => outcome,
        }
    }
}

/// The codec of a task whose values stay in the scheduler's process: none is needed (a
/// task in a child process that receives the value brings its own, see `ChildParam`).
pub fn no_codec() -> Option<OutputCodec> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::context::{RunState, TerminationFlag};
    use crate::runtime::inject::{FromContext, ParamInfo, RunInfo};

    fn named(info: RunInfo) -> Result<String, std::io::Error> {
        Ok(info.task)
    }

    fn call_named(cx: &RunContext) -> Result<Result<String, std::io::Error>, RunOutcome> {
        match RunInfo::from_context(cx, &ParamInfo { name: "info" }) {
            Ok(info) => Ok(named(info)),
            Err(error) => Err(inject_failed("info", error)),
        }
    }

    fn call_unit(_cx: &RunContext) -> Result<(), RunOutcome> {
        Ok(())
    }

    #[test]
    fn blocking_bodies_inject_and_keep_values() {
        static NAMED: TaskFn<CallBlocking<Result<String, std::io::Error>>, ResultReturn> =
            TaskFn::new(call_named, no_codec);
        static UNIT: TaskFn<CallBlocking<()>, ValueReturn> = TaskFn::new(call_unit, no_codec);
        let cx = RunContext::new(RunState {
            task: "report".into(),
            run_id: 1,
            started: crate::time::Timestamp::from_micros(0),
            session: None,
            params: Default::default(),
            returns: Default::default(),
            payload: None,
            termination: TerminationFlag::new(),
            decoders: Default::default(),
        });
        let RunOutcome::Success(Some(out)) = (&NAMED as &dyn RegisteredBlocking).run(cx.clone())
        else {
            panic!("expected a kept value");
        };
        assert_eq!(
            out.value().unwrap().downcast_ref::<String>().unwrap(),
            "report"
        );
        assert!(matches!(
            (&UNIT as &dyn RegisteredBlocking).run(cx),
            RunOutcome::Success(None)
        ));
    }
}
