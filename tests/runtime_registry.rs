//! The registry collects `#[task]` and `#[param]` definitions from every crate linked into
//! the program, not only from the crate that calls the scheduler: here from the library of
//! this package (`tests/src/lib.rs`), beside a task of this test program that reads the
//! library task's value. The program calls no function of the library (it names only the
//! task's type), so nothing but the registration itself brings the library's definitions
//! into the program.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{records, run_for, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore};
use scheduler_tests::library_tasks::from_library;

#[task("after task 'from_library' succeeded")]
fn in_program(value: Return<from_library>, seen: Arg<Mutex<Vec<u32>>>) {
    seen.lock().unwrap().push(*value);
}

#[tokio::test(start_paused = true)]
async fn tasks_and_params_of_a_dependency_are_registered() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::<u32>::new()));
    let start = utc(2024, 1, 1, 0, 0, 0);
    let built = virtual_scheduler(start, &store)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<&str> = built.tasks().map(|task| task.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["from_library", "in_program"]);

    let builder = virtual_scheduler(start, &store).param_arc("seen", seen.clone());
    run_for(builder, Duration::from_secs(150 * 60)).await;

    // Hourly from the start: at 00:00, 01:00 and 02:00, each followed by the program's task.
    assert_eq!(records(&store, "from_library", Action::Success).len(), 3);
    assert_eq!(records(&store, "in_program", Action::Success).len(), 3);
    assert_eq!(*seen.lock().unwrap(), [42, 42, 42]);
}
