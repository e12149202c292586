//! What the scheduler keeps of the log in memory: of each task, what its own and the other
//! conditions read (see `Condition::log_retention`). These runs write thousands of records,
//! far past the point where the in-memory log is pruned, and the conditions that look back
//! still see what they need.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{records, run_for, times, utc, virtual_scheduler};
use scheduler::{Action, Condition, MemoryStore, TaskSpec};

fn condition(text: &str) -> Condition {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[tokio::test(start_paused = true)]
async fn a_window_that_closed_hours_ago_still_sees_its_records() {
    let store = Arc::new(MemoryStore::new());
    let ticks = Arc::new(AtomicU32::new(0));
    let counter = ticks.clone();
    // `tick` runs every second from 08:00 (7,200 runs by 10:00). Its first five runs fail,
    // and so does every run from 09:10: the latest failure is no longer the one in the
    // window.
    let tick = TaskSpec::from_blocking("tick", move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if !(5..70 * 60).contains(&n) {
            Err("down".to_owned())
        } else {
            Ok(())
        }
    })
    .when(condition("time of day after 08:00 & every 1 second"));
    // At 09:30 the 08:00–09:00 window closed half an hour and 1,800 runs of `tick` ago.
    let check = TaskSpec::from_blocking("check", |_| ()).when(condition(
        "daily after 09:30 & task 'tick' has failed today between 08:00 and 09:00",
    ));
    let clean = TaskSpec::from_blocking("clean", |_| ()).when(condition(
        "daily after 09:30 & task 'tick' has failed today between 08:30 and 09:00",
    ));
    let builder = virtual_scheduler(utc(2024, 1, 1, 7, 59, 0), &store)
        .task(tick)
        .task(check)
        .task(clean);
    run_for(builder, Duration::from_secs(2 * 3600 + 60)).await;

    assert!(
        ticks.load(Ordering::SeqCst) > 7_000,
        "{} ticks",
        ticks.load(Ordering::SeqCst)
    );
    assert_eq!(
        times(&records(&store, "check", Action::Success)),
        ["Mon 09:30:00"]
    );
    assert!(records(&store, "clean", Action::Run).is_empty());
}

#[tokio::test(start_paused = true)]
async fn retry_counts_failures_however_many_records_precede_them() {
    let store = Arc::new(MemoryStore::new());
    // `flaky` fails every run: at 08:00 it starts and is retried twice; then the failures
    // since the last reset (there is none) are more than two, and it only starts each
    // minute. By 11:00 it has written 364 records, and the count still stops the retries.
    let flaky = TaskSpec::from_blocking("flaky", |_| Err::<(), _>("down".to_owned()))
        .when(condition("every 1 minute | retry 2"));
    let builder = virtual_scheduler(utc(2024, 1, 1, 8, 0, 0), &store).task(flaky);
    run_for(builder, Duration::from_secs(3 * 3600 - 1)).await;

    let runs = records(&store, "flaky", Action::Run);
    assert_eq!(runs.len(), 180 + 2, "{:?}", &times(&runs)[..10]);
    assert_eq!(
        times(&runs[..4]),
        [
            "Mon 08:00:00",
            "Mon 08:00:00",
            "Mon 08:00:00",
            "Mon 08:01:00"
        ]
    );
}
