//! Execution modes and the life of runs: timeouts, end conditions, termination of
//! threads, panics, start-up and shutdown tasks, priorities, overlapping runs, the
//! shutdown condition, graceful and instant shutdown, and hooks.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{DAY, records, run_for, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore, RunOutcome};

const HOUR: Duration = Duration::from_secs(3600);

#[task("every 1 hour", timeout = "10 minutes")]
async fn slow_fetch() {
    tokio::time::sleep(Duration::from_secs(2 * 3600)).await;
}

#[task("daily after 09:00", end = "time of day after 09:20")]
async fn morning_window() {
    tokio::time::sleep(Duration::from_secs(4 * 3600)).await;
}

#[task("every 1 hour")]
async fn explode() {
    panic!("boom");
}

#[task("every 1 hour", execution = "main")]
fn inline_check() -> &'static str {
    "checked"
}

#[task("every 1 hour", execution = "thread")]
async fn async_on_a_thread() -> u32 {
    // Its own runtime's timer, in real time: virtual time stands still meanwhile.
    tokio::time::sleep(Duration::from_millis(1)).await;
    42
}

#[tokio::test(start_paused = true)]
async fn timeouts_end_conditions_panics_and_modes() {
    let store = Arc::new(MemoryStore::new());
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store).only_registered([
        "slow_fetch",
        "morning_window",
        "explode",
        "inline_check",
        "async_on_a_thread",
    ]);
    run_for(builder, DAY).await;

    let timed_out = records(&store, "slow_fetch", Action::Terminate);
    assert_eq!(&times(&timed_out)[..2], ["Mon 00:10:00", "Mon 01:10:00"]);
    assert_eq!(
        timed_out[0].message.as_deref(),
        Some("timed out after 10 minutes")
    );
    assert_eq!(timed_out[0].duration_micros, Some(600_000_000));

    let ended = records(&store, "morning_window", Action::Terminate);
    assert_eq!(times(&ended), ["Mon 09:20:00"]);
    assert_eq!(
        ended[0].message.as_deref(),
        Some("its end condition `time of day after 09:20` holds")
    );

    let panics = records(&store, "explode", Action::Fail);
    assert_eq!(panics.len(), 24, "the scheduler goes on after a panic");
    assert_eq!(panics[0].message.as_deref(), Some("panicked: boom"));

    assert_eq!(records(&store, "inline_check", Action::Success).len(), 24);
    assert_eq!(
        records(&store, "async_on_a_thread", Action::Success).len(),
        24
    );
}

#[tokio::test(start_paused = true)]
async fn a_thread_stops_when_its_flag_is_set() {
    let store = Arc::new(MemoryStore::new());
    let started = Arc::new(tokio::sync::Notify::new());
    let notify = started.clone();
    let crunch = TaskSpec::from_blocking("crunch", move |cx| -> Result<(), Terminated> {
        notify.notify_one();
        loop {
            cx.termination_flag().check()?;
            std::thread::sleep(Duration::from_millis(1));
        }
    })
    .when(condition!("daily"));
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(crunch)
        .build()
        .unwrap()
        .start()
        .unwrap();
    started.notified().await;
    running.session().terminate("crunch").unwrap();
    running.session().shut_down();
    running.await.unwrap();
    let terminated = records(&store, "crunch", Action::Terminate);
    assert_eq!(terminated.len(), 1);
    assert_eq!(
        terminated[0].message.as_deref(),
        Some("terminated on request: the run was asked to stop")
    );
}

/// A run past its timeout that takes a while to stop (a thread that checks its flag late, a
/// child process being killed) must not make the scheduler spin on the passed deadline.
#[tokio::test(start_paused = true)]
async fn a_run_that_stops_late_does_not_spin_the_scheduler() {
    let store = Arc::new(MemoryStore::new());
    let started = Arc::new(tokio::sync::Notify::new());
    let notify = started.clone();
    let stubborn = TaskSpec::from_blocking("stubborn", move |cx| -> Result<(), Terminated> {
        notify.notify_one();
        while !cx.termination_flag().is_set() {
            std::thread::sleep(Duration::from_millis(1));
        }
        // Stops 300 ms of real time after it was told to.
        std::thread::sleep(Duration::from_millis(300));
        cx.termination_flag().check()
    })
    .when(condition!("daily"))
    .timeout(Duration::from_secs(1));
    let spin_detector = TaskSpec::from_blocking("spin_detector", |_| ())
        .when(condition!("scheduler has more than 1000 cycles"));
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(stubborn)
        .task(spin_detector)
        .shut_cond(condition!("task 'stubborn' has terminated"))
        .build()
        .unwrap()
        .start()
        .unwrap();
    started.notified().await;
    // A running thread keeps tokio's paused clock from moving by itself.
    tokio::time::advance(Duration::from_secs(2)).await;
    running.await.unwrap();
    assert_eq!(records(&store, "stubborn", Action::Terminate).len(), 1);
    assert!(
        records(&store, "spin_detector", Action::Run).is_empty(),
        "the scheduler looped more than 1000 times while one run was stopping"
    );
}

#[tokio::test(start_paused = true)]
async fn startup_and_shutdown_tasks_and_priorities() {
    let store = Arc::new(MemoryStore::new());
    let order = Arc::new(Mutex::new(Vec::<&'static str>::new()));
    let log = |name: &'static str| {
        let order = order.clone();
        move |_cx: RunContext| {
            order.lock().unwrap().push(name);
        }
    };
    let builder = virtual_scheduler(utc(2024, 1, 1, 12, 0, 0), &store)
        .without_registered_tasks()
        .task(
            TaskSpec::from_blocking("setup", log("setup"))
                .on_startup()
                .execution(Execution::Main),
        )
        .task(
            TaskSpec::from_blocking("low", log("low"))
                .when(condition!("daily"))
                .priority(-1)
                .execution(Execution::Main),
        )
        .task(
            TaskSpec::from_blocking("high", log("high"))
                .when(condition!("daily"))
                .priority(10)
                .execution(Execution::Main),
        )
        .task(
            TaskSpec::from_blocking("middle", log("middle"))
                .when(condition!("daily"))
                .execution(Execution::Main),
        )
        .task(
            TaskSpec::from_blocking("teardown", log("teardown"))
                .on_shutdown()
                .execution(Execution::Main),
        );
    run_for(builder, HOUR).await;
    assert_eq!(
        *order.lock().unwrap(),
        ["setup", "high", "middle", "low", "teardown"]
    );
}

#[tokio::test(start_paused = true)]
async fn overlapping_runs_only_with_multilaunch() {
    let store = Arc::new(MemoryStore::new());
    let long_run = |name: &'static str| {
        TaskSpec::from_async(name, |_| async {
            tokio::time::sleep(Duration::from_secs(25 * 60)).await
        })
        .when(condition!("every 10 minutes"))
    };
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(long_run("single"))
        .task(long_run("overlapping").multilaunch());
    run_for(builder, HOUR).await;
    // One run at a time: each starts when the previous one ends (25 minutes apart).
    assert_eq!(
        times(&records(&store, "single", Action::Run)),
        ["Mon 00:00:00", "Mon 00:25:00", "Mon 00:50:00"]
    );
    // Overlapping: every 10 minutes (and a moment, since a start exactly 10 minutes ago
    // still blocks).
    assert_eq!(records(&store, "overlapping", Action::Run).len(), 6);
}

#[tokio::test(start_paused = true)]
async fn the_shutdown_condition_stops_the_scheduler() {
    let store = Arc::new(MemoryStore::new());
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(TaskSpec::from_blocking("tick", |_| ()).when(condition!("hourly")))
        .shut_cond(condition!("scheduler has run over 3 hours 30 minutes"))
        .build()
        .unwrap()
        .start()
        .unwrap();
    // No request: the scheduler stops by itself.
    running.await.unwrap();
    assert_eq!(
        times(&records(&store, "tick", Action::Success)),
        [
            "Mon 00:00:00",
            "Mon 01:00:00",
            "Mon 02:00:00",
            "Mon 03:00:00"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn graceful_shutdown_waits_and_instant_shutdown_terminates() {
    for instant in [false, true] {
        let store = Arc::new(MemoryStore::new());
        let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
            .without_registered_tasks()
            .task(
                TaskSpec::from_async("report", |_| async {
                    tokio::time::sleep(Duration::from_secs(600)).await
                })
                .when(condition!("daily")),
            )
            .build()
            .unwrap()
            .start()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(60)).await;
        if instant {
            running.session().shut_down_now();
        } else {
            running.session().shut_down();
        }
        running.await.unwrap();
        let ends: Vec<Action> = store
            .records_of("report")
            .iter()
            .map(|r| r.action)
            .collect();
        if instant {
            assert_eq!(ends, [Action::Run, Action::Terminate]);
        } else {
            assert_eq!(ends, [Action::Run, Action::Success]);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn hooks_see_the_scheduler_and_every_run() {
    let store = Arc::new(MemoryStore::new());
    let counts = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let (c1, c2, c3, c4) = (
        counts.clone(),
        counts.clone(),
        counts.clone(),
        counts.clone(),
    );
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .without_registered_tasks()
        .task(TaskSpec::from_blocking("tick", |_| ()).when(condition!("hourly")))
        .on_startup(move |_| {
            c1[0].fetch_add(1, Ordering::SeqCst);
        })
        .on_shutdown(move |_| {
            c2[1].fetch_add(1, Ordering::SeqCst);
        })
        .before_run(move |run| {
            assert_eq!(run.task, "tick");
            c3[2].fetch_add(1, Ordering::SeqCst);
        })
        .after_run(move |_, outcome| {
            assert!(matches!(outcome, RunOutcome::Success(_)));
            c4[3].fetch_add(1, Ordering::SeqCst);
        });
    run_for(builder, 3 * HOUR - Duration::from_secs(1)).await;
    let got: Vec<usize> = counts.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    assert_eq!(got, [1, 1, 3, 3]);
}
