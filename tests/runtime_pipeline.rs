//! The pipeline of the guide: `get_data` → `transform` → `store`, and `report_errors`
//! after a failure of `get_data`, with return values piped as typed parameters.
//!
//! The crate forbids unsafe code, as an application may: what `#[task]` expands to must
//! compile under it.

#![forbid(unsafe_code)]

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{DAY, records, run_for, times, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore};

/// Fetches rows; fails on its second run (a flaky source).
#[task("daily after 07:00")]
async fn get_data(attempts: Arg<AtomicU32>) -> anyhow::Result<Vec<u32>> {
    let attempt = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    anyhow::ensure!(attempt != 2, "the source is down (attempt {attempt})");
    Ok(vec![attempt, 10, 20])
}

#[task("after task 'get_data' succeeded")]
fn transform(rows: Return<get_data>) -> u32 {
    rows.iter().sum()
}

#[task("after task 'transform'")]
fn store(total: Return<transform>, stored: Arg<Mutex<Vec<u32>>>) -> Result<(), String> {
    stored.lock().map_err(|e| e.to_string())?.push(*total);
    Ok(())
}

#[task("after task 'get_data' failed")]
fn report_errors(reports: Arg<Mutex<Vec<String>>>) {
    reports.lock().unwrap().push("get_data failed".to_owned());
}

#[tokio::test(start_paused = true)]
async fn data_flows_down_the_pipeline_and_failures_are_reported() {
    let store_log = Arc::new(MemoryStore::new());
    let stored = Arc::new(Mutex::new(Vec::<u32>::new()));
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let builder = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store_log)
        .only_registered(["get_data", "transform", "store", "report_errors"])
        .param("attempts", AtomicU32::new(0))
        .param_arc("stored", stored.clone())
        .param_arc("reports", reports.clone());
    run_for(builder, 3 * DAY).await;

    let fetched = records(&store_log, "get_data", Action::Success);
    let failed = records(&store_log, "get_data", Action::Fail);
    assert_eq!(times(&fetched), ["Mon 07:00:00", "Wed 07:00:00"]);
    assert_eq!(times(&failed), ["Tue 07:00:00"]);
    assert!(
        failed[0]
            .message
            .as_deref()
            .unwrap()
            .contains("the source is down (attempt 2)")
    );

    // transform and store ran after each success, with the values of their upstream.
    assert_eq!(
        times(&records(&store_log, "transform", Action::Success)),
        ["Mon 07:00:00", "Wed 07:00:00"]
    );
    assert_eq!(
        times(&records(&store_log, "store", Action::Success)),
        ["Mon 07:00:00", "Wed 07:00:00"]
    );
    assert_eq!(*stored.lock().unwrap(), [31, 33]);
    assert_eq!(
        times(&records(&store_log, "report_errors", Action::Success)),
        ["Tue 07:00:00"]
    );
    assert_eq!(reports.lock().unwrap().len(), 1);
}
