//! Changes at run time through a [`Session`]: a task's start and end conditions, timeout,
//! priority and execution, session parameters, and what is refused (a condition that does
//! not read, names an unknown task, options that conflict), each on the virtual clock; and
//! the `change` records they leave in the log, read back from a SQLite file.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{records, times, utc, virtual_scheduler, virtual_scheduler_with};
use scheduler::prelude::*;
use scheduler::{
    Action, LogRecord, LogStore, MemoryStore, NextStart, RecordQuery, SqliteStore, TaskChange,
    TaskProblem, Timeout,
};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);

/// A task that does nothing.
fn noop(name: &str) -> TaskSpec {
    TaskSpec::from_blocking(name, |_| ())
}

/// An async task whose runs last `length` of (virtual) time.
fn lasting(name: &str, length: Duration) -> TaskSpec {
    TaskSpec::from_async(name, move |_| async move {
        tokio::time::sleep(length).await;
        Ok::<_, std::io::Error>(())
    })
}

/// The change records of the log, as `setting: old → new` messages.
fn changes(store: &MemoryStore) -> Vec<(String, String)> {
    store
        .records()
        .into_iter()
        .filter(|r| r.action == Action::Change)
        .map(|r| (r.task, r.message.unwrap_or_default()))
        .collect()
}

#[tokio::test(start_paused = true)]
async fn a_far_cron_changed_to_a_near_every_fires_at_the_new_time() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 2, 0, 0, 0), &store)
        .without_registered_tasks()
        // Next due on the first of February.
        .task(noop("report").when(condition!("cron 0 0 1 * *")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(HOUR).await;
    let changed = session
        .set_condition("report", "every 30 minutes")
        .await
        .unwrap();
    assert_eq!(changed.old.as_deref(), Some("cron 0 0 1 * *"));
    assert_eq!(changed.new.as_deref(), Some("every 30 minutes"));
    assert_eq!(
        changed.to_string(),
        "report: condition: cron 0 0 1 * * → every 30 minutes"
    );
    tokio::time::sleep(HOUR + MINUTE).await;
    // What the scheduler reports follows the new condition too.
    let status = session.status("report").await.unwrap();
    assert_eq!(status.condition, "every 30 minutes");
    assert_eq!(status.running, 0);
    session.shut_down();
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "report", Action::Run)),
        ["Tue 01:00:00", "Tue 01:30:00", "Tue 02:00:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_condition_due_before_the_old_wake_up_moves_the_wake_up_earlier() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 2, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(noop("report").when(condition!("cron 0 0 1 * *")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(HOUR).await;
    session
        .set_condition("report", condition!("daily between 03:00 and 04:00"))
        .await
        .unwrap();
    let status = session.status("report").await.unwrap();
    assert_eq!(
        status.next_start,
        NextStart::At(utc(2024, 1, 2, 3, 0, 0).into())
    );
    tokio::time::sleep(5 * HOUR).await;
    session.shut_down();
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "report", Action::Run)),
        ["Tue 03:00:00"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_end_condition_terminates_the_run_going() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(
            lasting("long", 2 * HOUR)
                .when(condition!("daily"))
                .no_timeout(),
        )
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(10 * MINUTE).await;
    let changed = session
        .set_end_condition("long", "time of day after 00:40")
        .await
        .unwrap();
    assert_eq!(changed.old, None);
    tokio::time::sleep(HOUR).await;
    session.shut_down();
    running.await.unwrap();
    let ended = records(&store, "long", Action::Terminate);
    assert_eq!(times(&ended), ["Mon 00:40:00"]);
    assert!(
        ended[0]
            .message
            .as_deref()
            .unwrap()
            .contains("end condition `time of day after 00:40`"),
        "{ended:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_timeout_applies_from_the_next_run() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(lasting("slow", 20 * MINUTE).when(condition!("every 1 hour")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(5 * MINUTE).await;
    let changed = session
        .set_timeout("slow", Timeout::After(10 * MINUTE))
        .await
        .unwrap();
    assert_eq!(changed.message(), "timeout: default → 10 minutes");
    tokio::time::sleep(HOUR + 30 * MINUTE).await;
    session.shut_down();
    running.await.unwrap();
    // The run going when it changed keeps the timeout it started with (none).
    assert_eq!(
        times(&records(&store, "slow", Action::Success)),
        ["Mon 00:20:00"]
    );
    let terminated = records(&store, "slow", Action::Terminate);
    assert_eq!(times(&terminated), ["Mon 01:10:00"]);
    assert!(
        terminated[0]
            .message
            .as_deref()
            .unwrap()
            .contains("timed out after 10 minutes"),
        "{terminated:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_new_priority_changes_which_of_two_due_tasks_starts_first() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(noop("first").when(condition!("hourly")))
        .task(noop("second").when(condition!("hourly")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(30 * MINUTE).await;
    session.set_priority("second", 10).await.unwrap();
    tokio::time::sleep(HOUR).await;
    session.shut_down();
    running.await.unwrap();
    let starts: Vec<(String, String)> = store
        .records()
        .into_iter()
        .filter(|r| r.action == Action::Run)
        .map(|r| (times(std::slice::from_ref(&r)).remove(0), r.task))
        .collect();
    let at = |t: &str, task: &str| (t.to_owned(), task.to_owned());
    assert_eq!(
        starts,
        [
            // Equal priorities: in the order the tasks were added.
            at("Mon 00:00:00", "first"),
            at("Mon 00:00:00", "second"),
            at("Mon 01:00:00", "second"),
            at("Mon 01:00:00", "first"),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_parameter_set_at_run_time_is_read_by_the_next_run_and_by_conditions() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_by_task = seen.clone();
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .param("batch", 100_u32)
        .task(
            TaskSpec::from_blocking("load", move |cx| {
                let batch = cx.arg::<u32>("batch").map(|b| *b).ok();
                seen_by_task.lock().unwrap().push(batch);
            })
            .when(condition!("hourly")),
        )
        .task(noop("switched_on").when(condition!("param 'mode' is 'on' & hourly")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(30 * MINUTE).await;
    let changed = session.set_param("batch", 500_u32).await.unwrap();
    assert_eq!(changed.message(), "param 'batch': 100 → 500");
    assert_eq!(changed.task, None);
    let changed = session.set_param("mode", "on".to_owned()).await.unwrap();
    assert_eq!(changed.message(), "param 'mode': none → on");
    tokio::time::sleep(HOUR).await;
    assert_eq!(
        session.remove_param("bacth").await,
        Err(SessionError::UnknownParam {
            name: "bacth".to_owned(),
            suggestion: Some("batch".to_owned()),
        })
    );
    session.remove_param("batch").await.unwrap();
    tokio::time::sleep(HOUR).await;
    session.shut_down();
    running.await.unwrap();
    // 00:00 before the change, 01:00 after it, 02:00 after its removal.
    assert_eq!(*seen.lock().unwrap(), [Some(100), Some(500), None]);
    // The condition reading the parameter was looked at again when it was set.
    assert_eq!(
        times(&records(&store, "switched_on", Action::Run)),
        ["Mon 00:30:00", "Mon 01:00:00", "Mon 02:00:00"]
    );
    assert_eq!(
        changes(&store),
        [
            (String::new(), "param 'batch': 100 → 500".to_owned()),
            (String::new(), "param 'mode': none → on".to_owned()),
            (String::new(), "param 'batch': 500 → none".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn refused_changes_say_why_and_change_nothing() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(noop("report").when(condition!("hourly")))
        .task(lasting("busy", 2 * HOUR).when(condition!("daily")))
        .task(noop("downstream").when(condition!("after task 'report' succeeded")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(MINUTE).await;

    // A condition that does not read: the parser's error, with its position.
    let Err(SessionError::Condition(error)) = session
        .set_condition("report", "daily betwen 07:00 and 10:00")
        .await
    else {
        panic!("a misspelt condition is refused");
    };
    assert_eq!(error.span(), 6..12);
    assert_eq!(error.line_column(), (1, 7));
    // A task that does not exist, in the condition or as the task changed.
    assert_eq!(
        session
            .set_condition("report", "after task 'bussy' succeeded")
            .await,
        Err(SessionError::UnknownTaskInCondition {
            task: "report".to_owned(),
            place: "start condition",
            unknown: "bussy".to_owned(),
            suggestion: Some("busy".to_owned()),
        })
    );
    assert_eq!(
        session.set_priority("reprot", 1).await,
        Err(SessionError::UnknownTask {
            name: "reprot".to_owned(),
            suggestion: Some("report".to_owned()),
        })
    );
    // Tasks that would wait for each other, none of which could start.
    let cycle = session
        .set_condition("report", "after task 'downstream' succeeded")
        .await;
    assert_eq!(
        cycle,
        Err(SessionError::Cycle {
            tasks: vec!["report".to_owned(), "downstream".to_owned()],
        })
    );
    assert_eq!(
        cycle.unwrap_err().to_string(),
        "the new condition of task 'report' would make tasks 'report' → 'downstream' → 'report' wait on each other: each starts only after the next one has run, so none can start"
    );
    // Options that conflict, by the checks `#[task]` makes at compile time.
    assert_eq!(
        session
            .change_task("report", TaskChange::Execution(Some(Execution::Async)))
            .await,
        Err(SessionError::InvalidTask {
            task: "report".to_owned(),
            problems: vec![TaskProblem::Options(
                scheduler::OptionConflict::BlockingWithAsync
            )],
        })
    );
    // An execution mode cannot change under a run going.
    assert_eq!(
        session
            .change_task("busy", TaskChange::Execution(Some(Execution::Thread)))
            .await,
        Err(SessionError::Running {
            task: "busy".to_owned(),
            setting: "execution",
        })
    );
    assert_eq!(
        session
            .tasks()
            .iter()
            .find(|t| t.name == "report")
            .unwrap()
            .condition,
        "hourly"
    );
    tokio::time::sleep(2 * HOUR).await;
    session.shut_down();
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "report", Action::Run)),
        ["Mon 00:00:00", "Mon 01:00:00", "Mon 02:00:00"]
    );
    assert!(changes(&store).is_empty(), "{:?}", changes(&store));
}

/// Every kind of change is written to the log, and read back from a SQLite file; change
/// records are not runs: the task's status still shows its last run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_change_is_in_the_log_of_a_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changes.db");
    let store: Arc<dyn LogStore> = Arc::new(SqliteStore::open(&file).await.unwrap());
    let (ran, mut runs) = tokio::sync::mpsc::unbounded_channel();
    let running = virtual_scheduler_with(utc(2024, 1, 1, 0, 0, 0), store)
        .without_registered_tasks()
        .param("batch", 100_u32)
        .task(
            TaskSpec::from_blocking("report", move |_| {
                let _ = ran.send(());
            })
            .when(condition!("daily")),
        )
        .task(noop("other").when(condition!("false")))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    // The first run, before anything changes.
    tokio::time::timeout(Duration::from_secs(60), runs.recv())
        .await
        .expect("report runs within a minute");
    // Its end reaches the loop after the body returns: wait for it (an execution mode
    // cannot change under a run going).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while session.status("report").await.unwrap().running > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the run ends");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session
        .set_condition("report", "after task 'other' succeeded")
        .await
        .unwrap();
    session
        .set_end_condition("report", "time of day after 23:00")
        .await
        .unwrap();
    session
        .set_timeout("report", Timeout::After(Duration::from_secs(90)))
        .await
        .unwrap();
    let status = session.status("report").await.unwrap();
    assert_eq!(status.timeout, Some(Duration::from_secs(90)));
    session.set_timeout("report", Timeout::Never).await.unwrap();
    session.set_priority("report", 3).await.unwrap();
    let status = session.status("report").await.unwrap();
    assert_eq!((status.priority, status.timeout), (3, None));
    session
        .change_task("report", TaskChange::Multilaunch(Some(true)))
        .await
        .unwrap();
    session
        .change_task("report", TaskChange::Permanent(true))
        .await
        .unwrap();
    session
        .change_task("report", TaskChange::Execution(Some(Execution::Main)))
        .await
        // Main runs inline: it cannot overlap itself.
        .unwrap_err();
    session
        .change_task("report", TaskChange::Multilaunch(None))
        .await
        .unwrap();
    session
        .change_task("report", TaskChange::Execution(Some(Execution::Main)))
        .await
        .unwrap();
    session.disable("report").unwrap();
    session.enable("report").unwrap();
    session.set_param("batch", 200_u32).await.unwrap();
    let status = session.status("report").await.unwrap();
    assert_eq!(
        status.last_end.map(|(action, _)| action),
        Some(Action::Success)
    );
    session.shut_down();
    running.await.unwrap();

    let store = SqliteStore::open(&file).await.unwrap();
    let stored: Vec<LogRecord> = store
        .query(&RecordQuery::default().action(Action::Change))
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.record)
        .collect();
    let messages: Vec<(&str, &str)> = stored
        .iter()
        .map(|r| (r.task.as_str(), r.message.as_deref().unwrap()))
        .collect();
    assert_eq!(
        messages,
        [
            ("report", "condition: daily → after task 'other' succeeded"),
            ("report", "end condition: none → time of day after 23:00"),
            ("report", "timeout: default → 1 minute 30 seconds"),
            ("report", "timeout: 1 minute 30 seconds → never"),
            ("report", "priority: 0 → 3"),
            ("report", "multilaunch: default → true"),
            ("report", "permanent: false → true"),
            ("report", "multilaunch: true → default"),
            ("report", "execution: thread → main"),
            ("report", "disabled: false → true"),
            ("report", "disabled: true → false"),
            ("", "param 'batch': 100 → 200"),
        ]
    );
    let value: serde_json::Value =
        serde_json::from_str(stored[4].value.as_deref().unwrap()).unwrap();
    assert_eq!(
        value,
        serde_json::json!({ "setting": "priority", "old": "0", "new": "3" })
    );
    assert!(
        stored
            .iter()
            .all(|r| r.run_id.is_none() && r.instance.is_some())
    );
    // A change is not a run: a task's history (what conditions read) leaves them out.
    let runs = store
        .query(&RecordQuery::default().task("report"))
        .await
        .unwrap();
    assert_eq!(
        runs.iter()
            .filter(|s| s.record.action.is_of_run())
            .map(|s| s.record.action)
            .collect::<Vec<_>>(),
        [Action::Run, Action::Success]
    );
    store.close().await;
}
