//! Which values `#[task]` writes into the log as JSON: the value of a type serde can write
//! and read, so that `Return<task>` reads it after a restart; nothing for a type serde
//! cannot handle (the value stays in the process) or one that borrows. The choice is made
//! at compile time from the task's return type, so each kind of type is checked here on
//! real records.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{records, run_for, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore};

#[derive(serde::Serialize, serde::Deserialize)]
struct Totals {
    rows: u32,
    names: Vec<String>,
}

/// A type without serde: a handle on something of the process.
struct Handle(#[allow(dead_code)] std::sync::mpsc::Sender<u32>);

#[task("hourly")]
fn totals() -> Totals {
    Totals {
        rows: 3,
        names: vec!["a".into(), "b".into()],
    }
}

#[task("hourly")]
fn fallible_count() -> anyhow::Result<Vec<u32>> {
    Ok(vec![1, 2, 3])
}

#[task("hourly")]
fn handle() -> Handle {
    Handle(std::sync::mpsc::channel().0)
}

#[task("hourly")]
fn label() -> &'static str {
    "borrowed"
}

#[task("after task 'handle' succeeded")]
fn reads_handle(_handle: Return<handle>) {}

#[tokio::test(start_paused = true)]
async fn serde_values_are_logged_as_json_and_others_stay_in_the_process() {
    let store = Arc::new(MemoryStore::new());
    run_for(
        virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store),
        Duration::from_secs(60),
    )
    .await;

    let value = |task: &str| {
        let successes = records(&store, task, Action::Success);
        assert_eq!(successes.len(), 1, "{task} ran once: {successes:?}");
        successes[0].value.clone()
    };
    assert_eq!(
        value("totals").as_deref(),
        Some(r#"{"rows":3,"names":["a","b"]}"#)
    );
    assert_eq!(value("fallible_count").as_deref(), Some("[1,2,3]"));
    assert_eq!(value("handle"), None);
    assert_eq!(value("label"), None);
    // A value without JSON is still handed over within the process.
    assert_eq!(records(&store, "reads_handle", Action::Success).len(), 1);
}
