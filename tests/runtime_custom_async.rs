//! `async` custom conditions in a running scheduler, on the virtual clock: the loop does not
//! wait for them (their answers arrive later and wake the task), a task does not start on
//! a decision that waits for a first answer, and errors, panics and calls that never answer
//! (timeouts) follow `condition_errors` as a blocking condition's errors do.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{records, runs_with_a_file_created_half_way, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, ConditionErrors, MemoryStore, SchedulerError};

/// Whether the file exists, answered after five seconds (a slow check, as a query to a
/// remote service would be).
#[scheduler::cond]
async fn file_appeared(path: PathBuf) -> bool {
    tokio::time::sleep(Duration::from_secs(5)).await;
    path.exists()
}

#[tokio::test(start_paused = true)]
async fn an_async_condition_sees_a_file_created_half_way() {
    let runs = runs_with_a_file_created_half_way(|path| {
        format!("every 1 hour & file_appeared('{}')", path.display())
    })
    .await;
    // Each answer stands one minute from its arrival, and each call takes five seconds:
    // calls start at 00:00:00, 00:01:05, ..., 00:29:15 (false), 00:30:20, whose answer at
    // 00:30:25 starts the run. A run forgets its task's answers, so the next decision, an
    // hour later, waits for a new one (five seconds).
    assert_eq!(runs, ["Mon 00:30:25", "Mon 01:30:30"]);
}

/// False, after ten seconds.
#[scheduler::cond]
async fn slowly_false() -> bool {
    tokio::time::sleep(Duration::from_secs(10)).await;
    false
}

#[task("every 1 hour & ~slowly_false()")]
fn negated() {}

#[tokio::test(start_paused = true)]
async fn nothing_starts_before_the_first_answer() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["negated"])
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    running.session().shut_down();
    running.await.unwrap();
    // Not at 00:00:00, when `~slowly_false()` was not known: at its answer.
    assert_eq!(
        times(&records(&store, "negated", Action::Run)),
        ["Mon 00:00:10", "Mon 01:00:20"]
    );
}

#[scheduler::cond]
async fn async_error(reason: Arg<String>) -> Result<bool, String> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    Err(format!("cannot tell: {}", *reason))
}

#[scheduler::cond]
async fn async_panic() -> bool {
    tokio::time::sleep(Duration::from_secs(1)).await;
    panic!("the async condition broke")
}

static HUNG_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Never answers.
#[scheduler::cond(timeout = "10 seconds")]
async fn hangs() -> bool {
    HUNG_CALLS.fetch_add(1, Ordering::SeqCst);
    std::future::pending::<bool>().await
}

#[task("every 10 minutes & async_error()")]
fn behind_an_async_error() {}

#[task("every 10 minutes & async_panic()")]
fn behind_an_async_panic() {}

#[task("every 10 minutes & hangs()")]
fn behind_a_hung_condition() {}

#[task("every 10 minutes")]
fn async_heartbeat() {}

async fn run_with_policy(
    task: &str,
    policy: ConditionErrors,
) -> (Arc<MemoryStore>, Result<(), SchedulerError>) {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered([task, "async_heartbeat"])
        .param("reason", "the queue is down".to_owned())
        .condition_errors(policy)
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    let waiter = tokio::spawn(running);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    session.shut_down();
    let result = waiter.await.unwrap();
    (store, result)
}

#[tokio::test(start_paused = true)]
async fn failing_panicking_and_hung_async_conditions_follow_the_policy() {
    let cases = [
        (
            "behind_an_async_error",
            "custom condition `async_error()` failed: cannot tell: the queue is down",
        ),
        (
            "behind_an_async_panic",
            "custom condition `async_panic()` failed: it panicked: the async condition broke",
        ),
        (
            "behind_a_hung_condition",
            "custom condition `hangs()` failed: it gave no answer within 10s",
        ),
    ];
    for (task, expected) in cases {
        // Silence: the condition counts as false; the loop, which never waited for it,
        // starts the other task on time.
        let (store, result) = run_with_policy(task, ConditionErrors::Silence).await;
        result.unwrap_or_else(|e| panic!("{task}: {e}"));
        assert!(records(&store, task, Action::Run).is_empty(), "{task}");
        assert_eq!(
            times(&records(&store, "async_heartbeat", Action::Run)),
            [
                "Mon 00:00:00",
                "Mon 00:10:00",
                "Mon 00:20:00",
                "Mon 00:30:00",
                "Mon 00:40:00",
                "Mon 00:50:00"
            ],
            "{task}"
        );

        // Stop: the scheduler stops with the condition's error.
        let (_, result) = run_with_policy(task, ConditionErrors::Stop).await;
        let error = result.expect_err(task).to_string();
        assert!(error.contains(expected), "{task}: {error}");
    }
    // Under Silence the hung condition was called again one minute after each timeout
    // (00:00:00, 00:01:10, ..., 00:59:30: 52 calls in the hour), under Stop once; each
    // call's future was dropped at its timeout, none piled up.
    assert_eq!(HUNG_CALLS.load(Ordering::SeqCst), 52 + 1);
}
