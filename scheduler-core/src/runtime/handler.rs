//! The generic glue between a `#[task]` function and the runtime: injecting the
//! parameters, calling the function, and turning what it returns into an outcome.
//!
//! What `#[task]` emits per function is kept to what only it knows: a small synchronous
//! function that injects the parameters and calls the task function, registered as a plain
//! function pointer ([`AsyncCall`] or [`BlockingCall`]). The future that awaits the
//! function and turns its value into an outcome ([`finish_async`]) is written here once and
//! instantiated per return type, not per task: in a crate with a thousand tasks, an async
//! wrapper emitted per task was most of the build time (see the compile-cost scenario in
//! `bench/`).
//!
//! Not public API: reached through `scheduler::__private`.

use std::fmt::Display;

use crate::BoxFuture;

use super::context::RunContext;
use super::inject::InjectError;
use super::outcome::{OutputCodec, RunOutcome, outcome_of_error, output_of};

/// The outcome of a run whose parameter `name` could not be injected.
pub fn inject_failed(name: &str, error: InjectError) -> RunOutcome {
    RunOutcome::Fail(format!("parameter `{name}`: {error}"))
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

/// What the per-task call of an `async fn` task gives: the future of the whole run (the
/// function's future, finished by [`finish_async`]), or the outcome of a parameter that
/// could not be injected.
pub type Started = Result<BoxFuture<'static, RunOutcome>, RunOutcome>;

/// The per-task part of an `async fn` task, as `#[task]` emits it: injects the parameters
/// from the run's context, calls the function, and hands its future to [`finish_async`].
///
/// A plain function pointer (no lifetime, no generic), so that the registration's
/// `static` is cheap to check: a trait object there cost a tenth of the build of a crate
/// of `#[task]` functions (see `bench/compile_floor.py`).
pub type AsyncCall = fn(&RunContext) -> Started;

/// The per-task part of a plain `fn` task: injects the parameters, calls the function and
/// turns its value into an outcome with [`finish`].
pub type BlockingCall = fn(&RunContext) -> RunOutcome;

/// The future of one run of an `async fn` task: awaits the function's future and turns its
/// value into an outcome. Instantiated per return type, not per task.
///
/// The function's future comes boxed but not pinned: pinning here, once per return type,
/// spares each task an instance of `Box::pin` for its future's type.
pub fn finish_async<R: 'static, K: Finish<R>>(
    future: Box<dyn Future<Output = R> + Send>,
) -> BoxFuture<'static, RunOutcome> {
    let future = Box::into_pin(future);
    Box::pin(async move { K::finish(future.await, None) })
}

/// The outcome of a plain `fn` task's value. Instantiated per return type, not per task.
pub fn finish<R, K: Finish<R>>(value: R) -> RunOutcome {
    K::finish(value, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::context::{RunState, TerminationFlag};
    use crate::runtime::inject::{FromContext, ParamInfo, RunInfo};

    fn named(info: RunInfo) -> Result<String, std::io::Error> {
        Ok(info.task)
    }

    async fn doubled(info: RunInfo) -> u64 {
        info.run_id.as_u128() as u64 * 2
    }

    // What `#[task]` emits for `fn named(info: RunInfo) -> Result<String, io::Error>`.
    fn call_named(cx: &RunContext) -> RunOutcome {
        finish::<Result<String, std::io::Error>, ResultReturn>(named(
            match RunInfo::from_context(cx, &ParamInfo { name: "info" }) {
                Ok(info) => info,
                Err(error) => return inject_failed("info", error),
            },
        ))
    }

    // ... and for `async fn doubled(info: RunInfo) -> u64`.
    fn call_doubled(cx: &RunContext) -> Started {
        Ok(finish_async::<u64, ValueReturn>(Box::new(doubled(
            match RunInfo::from_context(cx, &ParamInfo { name: "info" }) {
                Ok(info) => info,
                Err(error) => return Err(inject_failed("info", error)),
            },
        ))))
    }

    fn call_unit(_cx: &RunContext) -> RunOutcome {
        finish::<(), ValueReturn>(())
    }

    fn context() -> RunContext {
        RunContext::new(RunState {
            task: "report".into(),
            run_id: crate::log::RunId::from_u128(21),
            started: crate::time::Timestamp::from_micros(0),
            session: None,
            params: Default::default(),
            returns: Default::default(),
            payload: None,
            termination: TerminationFlag::new(),
            decoders: Default::default(),
            param_values: Default::default(),
        })
    }

    #[test]
    fn blocking_bodies_inject_and_keep_values() {
        const NAMED: BlockingCall = call_named;
        const UNIT: BlockingCall = call_unit;
        let RunOutcome::Success(Some(out)) = NAMED(&context()) else {
            panic!("expected a kept value");
        };
        assert_eq!(
            out.value().unwrap().downcast_ref::<String>().unwrap(),
            "report"
        );
        assert!(matches!(UNIT(&context()), RunOutcome::Success(None)));
    }

    #[test]
    fn async_bodies_inject_and_keep_values() {
        const DOUBLED: AsyncCall = call_doubled;
        let Ok(future) = DOUBLED(&context()) else {
            panic!("the parameter should be injected");
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let RunOutcome::Success(Some(out)) = runtime.block_on(future) else {
            panic!("expected a kept value");
        };
        assert_eq!(out.value().unwrap().downcast_ref::<u64>(), Some(&42));
    }
}
