//! A fixed amount of work on each hot path, for counting instructions.
//!
//! ```text
//! hotpaths <section>   # none | parse | evaluate | next_change | log_append | store_append
//! ```
//!
//! `bench/instructions.py` runs every section under `valgrind --tool=callgrind` and compares
//! the instructions each one executes (less those of `none`, which only starts up) with a
//! committed baseline. Instruction counts do not move with the machine's load, so the check
//! can run in CI without flaking; criterion's timings (`cargo bench`) remain the measure of
//! speed. Each section is single-threaded and does the same work on every run.

use std::hint::black_box;

use scheduler_core::condition::{Condition, EvalContext};
use scheduler_core::log::{Action, LogIndex, LogRecord};
use scheduler_core::runtime::{LogStore, MemoryStore};
use scheduler_core::time::{Timestamp, Tz};

#[path = "../benches/common/workload.rs"]
mod workload;
use workload::{CRON, MINUTE, NOW, SIMPLE, TEN_LEAVES, TYPICAL, log_with};

const CONDITIONS: [&str; 5] = [
    SIMPLE,
    TYPICAL,
    TEN_LEAVES,
    CRON,
    "task 'report' has failed today between 07:00 and 10:00",
];

fn parsed() -> Vec<Condition> {
    CONDITIONS
        .iter()
        .map(|text| text.parse().unwrap())
        .collect()
}

fn parse() {
    for _ in 0..200 {
        for text in CONDITIONS {
            black_box(black_box(text).parse::<Condition>().unwrap());
        }
    }
}

fn evaluate() {
    let conditions = parsed();
    let log = log_with(10_000);
    let params = std::collections::HashMap::from([("env".to_owned(), "prod".to_owned())]);
    for zone in [Tz::UTC, Tz::Europe__Helsinki] {
        let cx = EvalContext::new(&log)
            .owner("task")
            .zone(zone)
            .params(&params);
        for i in 0..10_000 {
            let now = Timestamp::from_micros(NOW + i * MINUTE / 7);
            for condition in &conditions {
                black_box(condition.evaluate(&cx, now).unwrap());
            }
        }
    }
}

fn next_change() {
    let conditions = parsed();
    let log = log_with(1_000);
    let params = std::collections::HashMap::from([("env".to_owned(), "prod".to_owned())]);
    for zone in [Tz::UTC, Tz::Europe__Helsinki] {
        let cx = EvalContext::new(&log)
            .owner("task")
            .zone(zone)
            .params(&params);
        for i in 0..1_000 {
            let now = Timestamp::from_micros(NOW + i * 7 * MINUTE);
            for condition in &conditions {
                black_box(condition.next_change(&cx, now).unwrap());
            }
        }
    }
}

fn log_append() {
    let mut log = LogIndex::new();
    for i in 0..50_000i64 {
        let task = ["get_data", "report", "task"][(i % 3) as usize];
        log.record(task, Action::Run, Timestamp::from_micros(i * 2));
        log.record(task, Action::Success, Timestamp::from_micros(i * 2 + 1));
    }
    black_box(log.len());
}

fn store_append() {
    let store = MemoryStore::with_capacity(10_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..50_000i64 {
            let batch = vec![
                LogRecord::new("task", Action::Run, Timestamp::from_micros(i * 2)),
                LogRecord::new("task", Action::Success, Timestamp::from_micros(i * 2 + 1)),
            ];
            store.append(&batch).await.unwrap();
        }
    });
    black_box(store.records().len());
}

fn main() {
    let section = std::env::args().nth(1).unwrap_or_default();
    match section.as_str() {
        "none" => {}
        "parse" => parse(),
        "evaluate" => evaluate(),
        "next_change" => next_change(),
        "log_append" => log_append(),
        "store_append" => store_append(),
        other => {
            eprintln!(
                "hotpaths: unknown section {other:?}; one of none, parse, evaluate, next_change, log_append, store_append"
            );
            std::process::exit(2);
        }
    }
}
