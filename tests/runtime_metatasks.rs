//! Metatasks: tasks (and outside code) that steer the scheduler through its [`Session`]:
//! shutting down, restarting, running a task on request, disabling and enabling, adding a
//! task whose condition arrives as text at run time, and removing one. Also the checks
//! the scheduler makes of the whole task set before it starts.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{records, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{
    Action, Condition, DuplicatePolicy, MemoryStore, RestartMode, SchedulerError, SessionError,
    StartupProblem,
};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

#[task("every 10 minutes")]
fn work() {}

/// Stops the scheduler once `work` has succeeded three times.
#[task("after task 'work' succeeded")]
fn stop_when_enough(session: Session, work_done: Arg<AtomicU32>) {
    if work_done.fetch_add(1, Ordering::SeqCst) + 1 == 3 {
        session.shut_down();
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_shuts_the_scheduler_down() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["work", "stop_when_enough"])
        .param("work_done", AtomicU32::new(0))
        .build()
        .unwrap()
        .start()
        .unwrap();
    // Nobody asks it to stop from outside: the metatask does.
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "work", Action::Success)),
        ["Mon 00:00:00", "Mon 00:10:00", "Mon 00:20:00"]
    );
    assert_eq!(
        times(&records(&store, "stop_when_enough", Action::Success)),
        ["Mon 00:00:00", "Mon 00:10:00", "Mon 00:20:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_restart_in_the_process_runs_start_up_again_and_keeps_the_log() {
    let store = Arc::new(MemoryStore::new());
    let restarts = Arc::new(AtomicU32::new(0));
    let counter = restarts.clone();
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .restart(RestartMode::Recall)
        .task(TaskSpec::from_blocking("setup", |_| ()).on_startup())
        .task(TaskSpec::from_blocking("tick", |_| ()).when(condition!("hourly")))
        // Restart once, at 02:30.
        .task(
            TaskSpec::from_blocking("restart_once", move |cx| {
                if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                    cx.session().expect("a session").restart();
                }
            })
            .when(condition!("time of day after 02:30 & daily")),
        );
    let running = builder.build().unwrap().start().unwrap();
    tokio::time::sleep(5 * HOUR).await;
    running.session().shut_down();
    running.await.unwrap();

    assert_eq!(
        times(&records(&store, "setup", Action::Success)),
        ["Mon 00:00:00", "Mon 02:30:00"],
        "start-up tasks run again after the restart"
    );
    // The log survives the restart: `tick` does not run twice in an hour, and the
    // daily task does not run again today.
    assert_eq!(
        times(&records(&store, "tick", Action::Success)),
        [
            "Mon 00:00:00",
            "Mon 01:00:00",
            "Mon 02:00:00",
            "Mon 03:00:00",
            "Mon 04:00:00"
        ]
    );
    assert_eq!(restarts.load(Ordering::SeqCst), 1);
}

#[derive(serde::Deserialize)]
struct Refund {
    order: u32,
}

#[tokio::test(start_paused = true)]
async fn runs_on_request_disable_enable_add_and_remove() {
    let store = Arc::new(MemoryStore::new());
    let refunds = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = refunds.clone();
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        // No condition: it never runs by itself.
        .task(TaskSpec::from_blocking("refund", move |cx| {
            let refund: Refund = serde_json::from_value(cx.payload().cloned().unwrap_or_default())
                .map_err(|e| e.to_string())?;
            seen.lock().unwrap().push(refund.order);
            Ok::<(), String>(())
        }))
        .task(TaskSpec::from_blocking("poll", |_| ()).when(condition!("every 10 minutes")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();

    // Requested runs, with and without a payload.
    tokio::time::sleep(MINUTE).await;
    session
        .run_with("refund", serde_json::json!({ "order": 17 }))
        .unwrap();
    tokio::time::sleep(MINUTE).await;
    session.run("refund").unwrap();

    // Disabled for the second half hour: no runs by condition...
    tokio::time::sleep(28 * MINUTE).await;
    session.disable("poll").unwrap();
    assert!(
        session
            .tasks()
            .iter()
            .any(|t| t.name == "poll" && t.disabled)
    );
    tokio::time::sleep(5 * MINUTE).await;
    // ...but a requested run still happens.
    session.run("poll").unwrap();
    tokio::time::sleep(25 * MINUTE).await;
    session.enable("poll").unwrap();

    // A task whose condition arrives as text, parsed at run time.
    let text = "every 20 minutes & time of day before 01:50";
    let condition: Condition = text.parse().unwrap();
    session
        .add_task(TaskSpec::from_blocking("audit", |_| ()).when(condition))
        .unwrap();
    tokio::time::sleep(30 * MINUTE).await;
    session.remove_task("poll").unwrap();
    tokio::time::sleep(30 * MINUTE).await;
    assert!(!session.tasks().iter().any(|t| t.name == "poll"));
    session.shut_down();
    running.await.unwrap();

    assert_eq!(*refunds.lock().unwrap(), [17]);
    let refund_failed = records(&store, "refund", Action::Fail);
    assert_eq!(
        times(&refund_failed),
        ["Mon 00:02:00"],
        "the run without a payload fails"
    );
    assert!(
        refund_failed[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("invalid type: null"),
        "{:?}",
        refund_failed[0].message
    );

    assert_eq!(
        times(&records(&store, "poll", Action::Run)),
        [
            "Mon 00:00:00",
            "Mon 00:10:00",
            "Mon 00:20:00",
            // disabled at 00:30, requested at 00:35, enabled at 01:00
            "Mon 00:35:00",
            "Mon 01:00:00",
            "Mon 01:10:00",
            "Mon 01:20:00",
            // removed at 01:30
        ]
    );
    assert_eq!(
        times(&records(&store, "audit", Action::Run)),
        ["Mon 01:00:00", "Mon 01:20:00", "Mon 01:40:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn session_requests_are_checked() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(TaskSpec::from_blocking("get_data", |_| ()))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();

    assert_eq!(
        session.run("get_dat").unwrap_err().to_string(),
        "no task named 'get_dat' (did you mean 'get_data'?)"
    );
    assert!(matches!(
        session.add_task(TaskSpec::from_blocking("get_data", |_| ())),
        Err(SessionError::Duplicate(name)) if name == "get_data"
    ));
    let invalid = session
        .add_task(
            TaskSpec::from_blocking("both", |_| ())
                .on_startup()
                .on_shutdown(),
        )
        .unwrap_err();
    assert!(
        matches!(invalid, SessionError::InvalidTask { .. }),
        "{invalid}"
    );

    // A condition parsed at run time reports where it went wrong.
    let error = "every 10 minuts".parse::<Condition>().unwrap_err();
    assert_eq!(error.span(), 9..15, "{error}");
    assert_eq!(error.found(), Some("minuts"));

    session.shut_down();
    running.await.unwrap();
    assert_eq!(session.run("get_data"), Err(SessionError::Stopped));
}

#[test]
fn the_task_set_is_checked_before_anything_runs() {
    let store = Arc::new(MemoryStore::new());
    let error = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(TaskSpec::from_blocking("get_data", |_| ()).when(condition!("daily")))
        .task(
            TaskSpec::from_blocking("transform", |_| ())
                .when(condition!("after task 'get_dat' succeeded")),
        )
        .task(TaskSpec::from_blocking("get_data", |_| ()))
        .task(TaskSpec::from_blocking("ping", |_| ()).when(condition!("after task 'pong'")))
        .task(TaskSpec::from_blocking("pong", |_| ()).when(condition!("after task 'ping'")))
        .build()
        .expect_err("the task set has problems");
    let SchedulerError::Startup(startup) = &error else {
        panic!("expected a start-up error, got {error}");
    };
    assert_eq!(startup.problems.len(), 3, "{error}");
    assert!(
        startup.problems.iter().any(|p| matches!(
            p,
            StartupProblem::UnknownTask { unknown, suggestion: Some(s), .. } if unknown == "get_dat" && s == "get_data"
        )),
        "{error}"
    );
    assert!(
        startup
            .problems
            .iter()
            .any(|p| matches!(p, StartupProblem::Duplicate { task, .. } if task == "get_data"))
    );
    assert!(
        startup
            .problems
            .iter()
            .any(|p| matches!(p, StartupProblem::Cycle { tasks } if tasks.len() == 2))
    );
    let text = error.to_string();
    assert!(
        text.starts_with("the scheduler cannot start (3 problems):"),
        "{text}"
    );
    assert!(text.contains("did you mean 'get_data'?"), "{text}");

    // The duplicate policy decides what a second definition does.
    for (policy, names) in [
        (DuplicatePolicy::Ignore, vec!["get_data"]),
        (DuplicatePolicy::Replace, vec!["get_data"]),
        (DuplicatePolicy::Rename, vec!["get_data", "get_data - 1"]),
    ] {
        let built = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
            .without_registered_tasks()
            .on_duplicate(policy)
            .task(TaskSpec::from_blocking("get_data", |_| ()).when(condition!("daily")))
            .task(TaskSpec::from_blocking("get_data", |_| ()).when(condition!("hourly")))
            .build()
            .unwrap();
        let got: Vec<(&str, String)> = built
            .tasks()
            .map(|t| (t.name(), t.start_condition().to_string()))
            .collect();
        assert_eq!(
            got.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            names,
            "{policy:?}"
        );
        let expected_first = if policy == DuplicatePolicy::Replace {
            "hourly"
        } else {
            "daily"
        };
        assert_eq!(got[0].1, expected_first, "{policy:?}");
    }
}

/// A graceful shutdown starts the runs requested before it (issue 22: they used to vanish,
/// although every caller had been told they were queued); a request made once the
/// shutdown is asked for is refused, and the caller is told so.
#[tokio::test(start_paused = true)]
async fn a_graceful_shutdown_runs_what_was_requested_before_it() {
    let store = Arc::new(MemoryStore::new());
    let done = Arc::new(std::sync::Mutex::new(Vec::new()));
    let finished = done.clone();
    let job = TaskSpec::from_async("job", move |cx| {
        let finished = finished.clone();
        async move {
            let payload: u32 = serde_json::from_value(cx.payload().cloned().unwrap_or_default())
                .expect("a number");
            tokio::time::sleep(Duration::from_secs(1)).await;
            finished.lock().unwrap().push(payload);
        }
    });
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(job)
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    for n in 1..=4u32 {
        session.run_with("job", n).unwrap();
    }
    // Half-way through the second run.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    session.shut_down();
    assert_eq!(
        session.run_with("job", 5u32),
        Err(SessionError::ShuttingDown)
    );
    running.await.unwrap();

    assert_eq!(
        *done.lock().unwrap(),
        [1, 2, 3, 4],
        "every run requested before the shutdown ran, in order"
    );
    assert_eq!(records(&store, "job", Action::Success).len(), 4);
}
