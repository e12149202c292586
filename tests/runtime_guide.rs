//! The tasks of the Red Engine guide, on a virtual week: once-per-day windows, two windows
//! a day, weekdays only.

mod common;

use std::sync::Arc;

use common::{DAY, records, run_for, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore};

#[task("daily after 08:00")]
fn wake_up() {}

#[task("daily between 08:00 and 08:15 | daily between 22:00 and 22:15")]
fn wash_teeth() {}

#[task("daily between 09:00 and 10:00 & time of week between Monday and Friday")]
async fn go_to_work() {}

#[tokio::test(start_paused = true)]
async fn a_week_of_the_guide() {
    let store = Arc::new(MemoryStore::new());
    // Monday 2024-01-01, 00:00 UTC.
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store).only_registered([
        "wake_up",
        "wash_teeth",
        "go_to_work",
    ]);
    run_for(builder, 7 * DAY).await;

    let woke = records(&store, "wake_up", Action::Success);
    assert_eq!(woke.len(), 7);
    assert!(
        times(&woke).iter().all(|t| t.ends_with("08:00:00")),
        "{:?}",
        times(&woke)
    );

    let washed = times(&records(&store, "wash_teeth", Action::Success));
    assert_eq!(washed.len(), 14, "{washed:?}");
    assert_eq!(&washed[..2], ["Mon 08:00:00", "Mon 22:00:00"]);

    let worked = times(&records(&store, "go_to_work", Action::Success));
    assert_eq!(
        worked,
        [
            "Mon 09:00:00",
            "Tue 09:00:00",
            "Wed 09:00:00",
            "Thu 09:00:00",
            "Fri 09:00:00"
        ]
    );

    // Every run is a `run` record and a `success` record with the same run id.
    for task in ["wake_up", "wash_teeth", "go_to_work"] {
        let all = store.records_of(task);
        assert_eq!(all.len() % 2, 0);
        for pair in all.chunks(2) {
            assert_eq!(pair[0].action, Action::Run);
            assert_eq!(pair[1].action, Action::Success);
            assert_eq!(pair[0].run_id, pair[1].run_id);
        }
    }
}
