//! Benchmarks of the condition language: parsing, evaluation, next change, log appends.
//!
//! `cargo bench -p scheduler-core --bench conditions`
//!
//! The `status_scaling` group evaluates status and pipeline leaves over logs of 1 000 to
//! 1 000 000 records: the time must stay flat or grow with the logarithm of the size,
//! because leaves never scan the log.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use scheduler_core::condition::{Condition, EvalContext};
use scheduler_core::log::{Action, MemoryLog};
use scheduler_core::time::{Timestamp, Tz};

const SIMPLE: &str = "daily";
const TYPICAL: &str = "daily between 07:00 and 10:00 & after task 'get_data' succeeded";
const TEN_LEAVES: &str = "(daily between 07:00 and 10:00 | hourly after 45:00) & every 10 minutes \
    & ~time of week on Sunday & after task 'get_data' succeeded & ~task 'report' has failed today \
    | (cron */5 9-17 * * MON-FRI & time of day after 08:00 & retry 2 & env 'prod')";
const CRON: &str = "cron 0,15,30,45 9-17 1-7,15 JAN-MAR,OCT MON-FRI";

/// 2024-06-03 (a Monday) 08:30 UTC.
const NOW: i64 = 1_717_403_400_000_000;
const MINUTE: i64 = 60_000_000;

/// A log in which `get_data`, `report` and `task` ran `runs_each` times each, one run
/// every ten minutes, ending just before `NOW`.
fn log_with(runs_each: usize) -> MemoryLog {
    let mut log = MemoryLog::new();
    let start = NOW - (runs_each as i64) * 10 * MINUTE;
    for i in 0..runs_each as i64 {
        let t = start + i * 10 * MINUTE;
        for (task, finish) in [
            ("get_data", Action::Success),
            ("report", Action::Fail),
            ("task", Action::Success),
        ] {
            log.record(task, Action::Run, Timestamp::from_micros(t));
            log.record(task, finish, Timestamp::from_micros(t + MINUTE));
        }
    }
    log
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    for (name, text) in [
        ("simple leaf", SIMPLE),
        ("typical", TYPICAL),
        ("10 leaves", TEN_LEAVES),
        ("cron", CRON),
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
            let mut log = MemoryLog::new();
            for i in 0..500i64 {
                log.record("task", Action::Run, Timestamp::from_micros(i * 2));
                log.record("task", Action::Success, Timestamp::from_micros(i * 2 + 1));
            }
            black_box(log.len())
        })
    });
}

criterion_group!(
    benches,
    parse,
    evaluate,
    next_change,
    status_scaling,
    log_append
);
criterion_main!(benches);
