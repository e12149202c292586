//! Custom conditions (`#[scheduler::cond]`) in a running scheduler, on the virtual clock: a
//! condition reading a session parameter, one reading a file created half-way, failing and
//! panicking conditions under each `condition_errors` policy, the calls a condition behind
//! a closed time window does not get, and the start-up error of an unknown name.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Datelike;
use common::{DAY, records, runs_with_a_file_created_half_way, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, ConditionErrors, MemoryStore, SchedulerError, TaskSpec};

/// True unless today is one of the session parameter `days_off`.
#[scheduler::cond(every = "1 hour")]
fn is_work_day(now: RunInfo, days_off: Arg<Vec<chrono::Weekday>>) -> bool {
    !days_off.contains(&now.started.to_datetime().weekday())
}

#[task("daily after 09:00 & is_work_day()")]
fn weekday_report() {}

#[tokio::test(start_paused = true)]
async fn a_condition_reads_a_session_parameter() {
    let store = Arc::new(MemoryStore::new());
    // Monday 1 January 2024, for a week.
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["weekday_report"])
        .param("days_off", vec![chrono::Weekday::Sat, chrono::Weekday::Sun])
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(7 * DAY).await;
    running.session().shut_down();
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "weekday_report", Action::Run)),
        [
            "Mon 09:00:00",
            "Tue 09:00:00",
            "Wed 09:00:00",
            "Thu 09:00:00",
            "Fri 09:00:00"
        ]
    );
}

/// Whether the file exists.
#[scheduler::cond]
fn file_exists(path: PathBuf) -> bool {
    path.exists()
}

#[tokio::test(start_paused = true)]
async fn a_condition_sees_a_file_created_half_way() {
    let runs = runs_with_a_file_created_half_way(|path| {
        format!("every 1 hour & file_exists('{}')", path.display())
    })
    .await;
    // Created at 00:29:30, between two checks: seen at the first re-check after it
    // appeared (one minute apart by default), then `every 1 hour` spaces the runs.
    assert_eq!(runs, ["Mon 00:30:00", "Mon 01:30:00"]);
}

#[scheduler::cond]
fn answers_with_an_error(reason: Arg<String>) -> Result<bool, String> {
    Err(format!("cannot tell: {}", *reason))
}

#[scheduler::cond]
fn panics() -> bool {
    panic!("the condition broke")
}

#[task("every 10 minutes & answers_with_an_error()")]
fn behind_an_error() {}

#[task("every 10 minutes & panics()")]
fn behind_a_panic() {}

#[task("every 10 minutes")]
fn heartbeat() {}

async fn run_with_policy(
    task: &str,
    policy: ConditionErrors,
) -> (Arc<MemoryStore>, Result<(), SchedulerError>) {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered([task, "heartbeat"])
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
async fn failing_and_panicking_conditions_follow_the_policy() {
    for task in ["behind_an_error", "behind_a_panic"] {
        // Silence: the condition counts as false, the scheduler goes on.
        let (store, result) = run_with_policy(task, ConditionErrors::Silence).await;
        result.unwrap_or_else(|e| panic!("{task}: {e}"));
        assert!(records(&store, task, Action::Run).is_empty(), "{task}");
        assert_eq!(records(&store, "heartbeat", Action::Run).len(), 6, "{task}");

        // Stop: the scheduler stops with the condition's error.
        let (_, result) = run_with_policy(task, ConditionErrors::Stop).await;
        let error = result.expect_err(task).to_string();
        let expected = if task == "behind_an_error" {
            "custom condition `answers_with_an_error()` failed: cannot tell: the queue is down"
        } else {
            "custom condition `panics()` failed: it panicked: the condition broke"
        };
        assert!(error.contains(expected), "{task}: {error}");
    }
}

static CALLS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Counts its calls, by the virtual time they happen at.
#[scheduler::cond]
fn counted(now: RunInfo) -> bool {
    CALLS
        .lock()
        .unwrap()
        .push(now.started.to_datetime().format("%H:%M:%S").to_string());
    true
}

// The custom condition is written first: it is still called last, only when the window
// and `every` say the task could start.
#[task("counted() & time of day between 10:00 and 11:00 & every 20 minutes")]
fn windowed() {}

#[tokio::test(start_paused = true)]
async fn a_condition_behind_a_closed_window_is_not_called() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["windowed"])
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(DAY).await;
    running.session().shut_down();
    running.await.unwrap();
    let calls = CALLS.lock().unwrap().clone();
    assert_eq!(calls, ["10:00:00", "10:20:00", "10:40:00"]);
    assert_eq!(
        times(&records(&store, "windowed", Action::Run)),
        ["Mon 10:00:00", "Mon 10:20:00", "Mon 10:40:00"]
    );
}

static HOLDS: AtomicUsize = AtomicUsize::new(0);

#[scheduler::cond]
fn holds() -> bool {
    HOLDS.fetch_add(1, Ordering::SeqCst);
    true
}

#[tokio::test(start_paused = true)]
async fn unknown_custom_conditions_are_start_up_errors() {
    let store = Arc::new(MemoryStore::new());
    let spec = |name: &str, cond: &str| {
        TaskSpec::from_blocking(name.to_owned(), |_| ()).when(cond.parse::<Condition>().unwrap())
    };
    let built = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(Vec::<String>::new())
        .task(spec("typo", "daily & hold()"))
        .task(spec("too_many", "holds(1)"))
        .task(spec("wrong_kind", "file_exists(3)"))
        .build();
    let Err(error) = built else {
        panic!("the set has problems")
    };
    let error = error.to_string();
    assert!(
        error.contains("task 'typo' (")
            && error.contains(
                "calls `hold()`: no custom condition `hold` is registered (did you mean `holds`?)"
            ),
        "{error}"
    );
    assert!(
        error.contains("calls `holds(1)`: `holds` takes 0 arguments, not 1"),
        "{error}"
    );
    assert!(
        error.contains("calls `file_exists(3)`: argument 1 of `file_exists` must be text in single quotes, not integer"),
        "{error}"
    );
    assert_eq!(HOLDS.load(Ordering::SeqCst), 0);
}
