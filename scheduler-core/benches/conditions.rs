//! Benchmarks of the hot paths: parsing, evaluation, next change, appends to the
//! in-memory log and to the store.
//!
//! `cargo bench -p scheduler-core --bench conditions`
//!
//! The `status_scaling` group evaluates status and pipeline leaves over logs of 1 000 to
//! 1 000 000 records: the time must stay flat or grow with the logarithm of the size,
//! because leaves never scan the log.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scheduler_core::condition::{Condition, EvalContext};
use scheduler_core::log::{Action, LogIndex};
use scheduler_core::time::{Timestamp, Tz};

#[path = "common/workload.rs"]
mod workload;
use workload::{CRON, NOW, SIMPLE, TEN_LEAVES, TYPICAL, log_with};

/// A typical set of named cron fields (Flask-TaskX's example), to compare with `CRON`,
/// the five-field cron.
const CRON_FIELDS: &str = "cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)";

/// A one-off date (Flask-TaskX's `define_date_task`), some months after `NOW`
/// (2024-06-03), without an offset: read in the zone.
const DATE: &str = "once at 2024-12-01T08:00:00";

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, text) in [
        ("simple leaf", SIMPLE),
        ("typical", TYPICAL),
        ("10 leaves", TEN_LEAVES),
        ("cron", CRON),
        ("cron fields", CRON_FIELDS),
        ("date", DATE),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| black_box(text).parse::<Condition>().unwrap())
        });
    }
    group.finish();
}

fn evaluate(c: &mut Criterion) {
    let log = log_with(100_000 / 6);
    let params = std::collections::HashMap::from([("env".to_owned(), "prod".to_owned())]);
    let mut group = c.benchmark_group("evaluate");
    for (zone_name, zone) in [("UTC", Tz::UTC), ("Europe/Helsinki", Tz::Europe__Helsinki)] {
        let cx = EvalContext::new(&log)
            .owner("task")
            .zone(zone)
            .params(&params);
        for (name, text) in [
            ("simple leaf", SIMPLE),
            ("10 leaves", TEN_LEAVES),
            ("pipeline, 100k records", "after task 'get_data' succeeded"),
            (
                "status, 100k records",
                "task 'report' has failed today between 07:00 and 10:00",
            ),
            ("every, 100k records", "every 10 minutes"),
            ("cron", CRON),
            ("cron fields", CRON_FIELDS),
            ("date", DATE),
        ] {
            let condition: Condition = text.parse().unwrap();
            group.bench_function(format!("{name} ({zone_name})"), |b| {
                b.iter(|| {
                    condition
                        .evaluate(&cx, black_box(Timestamp::from_micros(NOW)))
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

fn next_change(c: &mut Criterion) {
    let log = log_with(1_000);
    let params = std::collections::HashMap::from([("env".to_owned(), "prod".to_owned())]);
    let mut group = c.benchmark_group("next_change");
    for (zone_name, zone) in [("UTC", Tz::UTC), ("Europe/Helsinki", Tz::Europe__Helsinki)] {
        let cx = EvalContext::new(&log)
            .owner("task")
            .zone(zone)
            .params(&params);
        for (name, text) in [
            ("simple leaf", SIMPLE),
            ("time window", "time of day between 09:00 and 17:00"),
            ("every", "every 10 minutes"),
            ("cron", CRON),
            ("cron fields", CRON_FIELDS),
            ("date", DATE),
            ("10 leaves", TEN_LEAVES),
        ] {
            let condition: Condition = text.parse().unwrap();
            group.bench_function(format!("{name} ({zone_name})"), |b| {
                b.iter(|| {
                    condition
                        .next_change(&cx, black_box(Timestamp::from_micros(NOW)))
                        .unwrap()
                })
            });
        }
    }
    group.finish();
}

fn status_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("status_scaling");
    let status: Condition = "task 'report' has failed today between 07:00 and 10:00"
        .parse()
        .unwrap();
    let pipeline: Condition = "after task 'get_data' succeeded".parse().unwrap();
    for records in [1_000usize, 10_000, 100_000, 1_000_000] {
        let log = log_with(records / 6);
        let cx = EvalContext::new(&log).owner("task");
        group.bench_with_input(BenchmarkId::new("status", records), &records, |b, _| {
            b.iter(|| {
                status
                    .evaluate(&cx, black_box(Timestamp::from_micros(NOW)))
                    .unwrap()
            })
        });
        group.bench_with_input(BenchmarkId::new("pipeline", records), &records, |b, _| {
            b.iter(|| {
                pipeline
                    .evaluate(&cx, black_box(Timestamp::from_micros(NOW)))
                    .unwrap()
            })
        });
    }
    group.finish();
}

fn log_append(c: &mut Criterion) {
    c.bench_function("log/append 1000 records", |b| {
        b.iter(|| {
            let mut log = LogIndex::new();
            for i in 0..500i64 {
                log.record("task", Action::Run, Timestamp::from_micros(i * 2));
                log.record("task", Action::Success, Timestamp::from_micros(i * 2 + 1));
            }
            black_box(log.len())
        })
    });
}

/// What the runtime does with each finished batch of records: appends them to the store
/// (here the in-memory one, full to its capacity, so that every append also evicts).
#[cfg(feature = "runtime")]
fn store_append(c: &mut Criterion) {
    use scheduler_core::log::LogRecord;
    use scheduler_core::runtime::{LogStore, MemoryStore};
    let store = MemoryStore::with_capacity(10_000);
    let batch = |i: i64| -> Vec<LogRecord> {
        vec![
            LogRecord::new("task", Action::Run, Timestamp::from_micros(i * 2)),
            LogRecord::new("task", Action::Success, Timestamp::from_micros(i * 2 + 1)),
        ]
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        for i in 0..10_000 {
            store.append(&batch(i)).await.unwrap();
        }
    });
    c.bench_function(
        "store/append a run's 2 records (memory, at capacity)",
        |b| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                runtime
                    .block_on(store.append(&batch(black_box(i))))
                    .unwrap()
            })
        },
    );
}

#[cfg(not(feature = "runtime"))]
fn store_append(_: &mut Criterion) {}

criterion_group!(
    benches,
    parse,
    evaluate,
    next_change,
    status_scaling,
    log_append,
    store_append
);
criterion_main!(benches);
