//! `#[param]` functions that need each other's values. A function's `Arg<T>` parameters are
//! declared in its registration, so a cycle among them is a start-up error naming it; a
//! cycle through another injected type (one the macro cannot read) is refused when a run
//! computes it, as a failure of that run naming the cycle, not a stack overflow.
//!
//! Custom conditions cannot take part in such a cycle: no injectable type evaluates a
//! condition (`tests/ui/task/custom_condition_recursion.rs` shows a condition's type
//! refused as a parameter).

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{records, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{
    Action, FromContext, InjectError, MemoryStore, ParamInfo, RunContext, SchedulerError,
    StartupProblem,
};

/// The number of workers: twice the batch size.
#[scheduler::param]
fn workers(batch: Arg<u32>) -> u32 {
    *batch * 2
}

/// The batch size: a tenth of the workers. With `workers`, a cycle.
#[scheduler::param]
fn batch(workers: Option<Arg<u32>>) -> u32 {
    workers.map_or(10, |w| *w / 10)
}

/// Reads itself.
#[scheduler::param]
fn retries(retries: Arg<u32>) -> u32 {
    *retries + 1
}

#[tokio::test(start_paused = true)]
async fn declared_cycles_are_start_up_errors_naming_them() {
    let store = Arc::new(MemoryStore::new());
    let Err(SchedulerError::Startup(error)) = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(Vec::<String>::new())
        .build()
    else {
        panic!("the parameters read each other")
    };
    let cycles: Vec<&Vec<String>> = error
        .problems
        .iter()
        .filter_map(|p| match p {
            StartupProblem::ParamCycle { params } => Some(params),
            _ => None,
        })
        .collect();
    assert_eq!(
        cycles,
        [
            &vec!["batch".to_owned(), "workers".to_owned()],
            &vec!["retries".to_owned()]
        ]
    );
    let text = error.to_string();
    assert!(
        text.contains(
            "the `#[param]` functions 'batch' → 'workers' → 'batch' read each other's values"
        ),
        "{text}"
    );
    assert!(text.contains("'retries' → 'retries'"), "{text}");

    // A value given on the builder is not computed by its function: no cycle through it.
    virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(Vec::<String>::new())
        .param("batch", 50_u32)
        .param("retries", 3_u32)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
}

/// An injected type of the program's own, reading a session parameter the macro cannot see.
struct Threshold(u32);

impl FromContext for Threshold {
    fn from_context(cx: &RunContext, _: &ParamInfo) -> Result<Self, InjectError> {
        cx.arg::<u32>("limit").map(|v| Threshold(*v))
    }
}

/// Reads itself through `Threshold`: invisible at start-up.
#[scheduler::param]
fn limit(threshold: Threshold) -> u32 {
    threshold.0 + 1
}

#[task("every 1 hour")]
fn check_limit(limit: Arg<u32>) -> u32 {
    *limit
}

#[tokio::test(start_paused = true)]
async fn a_cycle_through_another_type_fails_the_run_that_computes_it() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["check_limit"])
        .param("batch", 50_u32)
        .param("retries", 3_u32)
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    running.session().shut_down();
    running.await.unwrap();
    let failed = records(&store, "check_limit", Action::Fail);
    assert_eq!(failed.len(), 1);
    let message = failed[0].message.clone().unwrap_or_default();
    assert!(
        message.contains("the `#[param]` functions 'limit' → 'limit' need each other's values"),
        "{message}"
    );
}
