//! Benchmarks of the runtime on the real clock and the in-memory log.
//!
//! ```text
//! cargo bench -p scheduler-core --bench runtime
//! ```
//!
//! * `runtime/throughput`: trivial tasks whose condition is always true, run until a given
//!   number of runs has ended; criterion reports runs per second (`elem/s`). 1 and 1,000
//!   tasks, as `async` tasks and inline (`main`). Every run is logged, as always.
//! * `runtime/lateness`: a task due every 20 ms; each iteration is one firing and its
//!   measured "time" is how long after its due instant the body started, so criterion's
//!   mean is the mean lateness. Median and p99 over every firing are printed after it.
//! * Idle cost (printed, not a criterion group: the quantity should be zero, which
//!   criterion's model does not handle): CPU used while 10,000 tasks wait for a window
//!   hours away, and how long building and starting such a scheduler takes.
//!
//! Run it on a quiet machine; the figures move with load.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use scheduler_core::condition::Condition;
use scheduler_core::condition::api::{always_true, every};
use scheduler_core::runtime::{Clock, Execution, MemoryStore, Scheduler, SystemClock, TaskSpec};
use scheduler_core::time::{Timestamp, Tz};

fn runtime() -> tokio::runtime::Runtime {
    // What `scheduler::run` uses: a multi-threaded runtime with a worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn builder() -> scheduler_core::runtime::SchedulerBuilder {
    Scheduler::builder()
        .without_registered_tasks()
        .handle_signals(false)
        .time_zone(Tz::UTC)
        .store(Arc::new(MemoryStore::new()))
}

/// Tasks that wait for a one-minute window six hours from now.
fn waiting_tasks(count: usize) -> Vec<TaskSpec> {
    let now = SystemClock.now().to_datetime();
    let from = now + chrono::Duration::hours(6);
    let to = from + chrono::Duration::minutes(1);
    let text = format!(
        "daily between {} and {}",
        from.format("%H:%M"),
        to.format("%H:%M")
    );
    let condition: Condition = text.parse().expect("a valid window");
    (0..count)
        .map(|i| TaskSpec::from_async(format!("waiting-{i}"), |_| async {}).when(condition.clone()))
        .collect()
}

/// Runs `tasks` always-due tasks until `total` runs have ended; returns the time from start
/// to shutdown.
fn throughput(tasks: usize, total: u64, execution: Execution) -> Duration {
    let done = Arc::new(AtomicU64::new(0));
    let mut b = builder();
    for i in 0..tasks {
        let done = done.clone();
        b = b.task(
            TaskSpec::from_async(format!("t{i}"), move |cx| {
                let done = done.clone();
                async move {
                    if done.fetch_add(1, Ordering::Relaxed) + 1 == total
                        && let Some(session) = cx.session()
                    {
                        session.shut_down();
                    }
                }
            })
            .when(always_true())
            .execution(execution),
        );
    }
    let scheduler = b.build().expect("a valid task set");
    let rt = runtime();
    let started = Instant::now();
    rt.block_on(scheduler.serve()).expect("the scheduler ran");
    started.elapsed()
}

/// Lateness of a task due every 20 ms, in microseconds, for `firings` firings.
fn lateness(firings: u64, waiting: usize) -> Vec<i64> {
    let period = Duration::from_millis(20);
    let samples = Arc::new(Mutex::new(Vec::<i64>::new()));
    let previous = Arc::new(Mutex::new(None::<Timestamp>));
    let recorder = samples.clone();
    let task = TaskSpec::from_async("due", move |cx| {
        let (previous, recorder) = (previous.clone(), recorder.clone());
        async move {
            // The body's first instruction: what a user's code would see.
            let body_start = SystemClock.now();
            let mut previous = previous.lock().unwrap();
            if let Some(prev) = *previous {
                let due = prev.as_micros() + period.as_micros() as i64;
                let mut samples = recorder.lock().unwrap();
                samples.push(body_start.as_micros() - due);
                if samples.len() as u64 >= firings
                    && let Some(session) = cx.session()
                {
                    session.shut_down();
                }
            }
            // The next due instant counts from this run's start as the scheduler saw it.
            *previous = Some(cx.started());
        }
    })
    .when(every(period).expect("a valid interval"))
    .execution(Execution::Async);
    let mut b = builder().task(task);
    for spec in waiting_tasks(waiting) {
        b = b.task(spec);
    }
    let scheduler = b.build().expect("a valid task set");
    let rt = runtime();
    rt.block_on(scheduler.serve()).expect("the scheduler ran");
    samples.lock().unwrap().clone()
}

/// CPU time of this process (user + system), from /proc (Linux).
fn cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // USER_HZ is 100 on every Linux configuration in practice.
    Some(Duration::from_millis(ticks * 10))
}

fn idle(count: usize, span: Duration) {
    let started = Instant::now();
    let mut b = builder();
    for spec in waiting_tasks(count) {
        b = b.task(spec);
    }
    let scheduler = b.build().expect("a valid task set");
    let built = started.elapsed();
    let rt = runtime();
    rt.block_on(async {
        let running = scheduler.start().expect("started");
        // The loop answers a session between its steps: after the answer, every task has
        // been evaluated once.
        running
            .session()
            .query(scheduler_core::log::store::RecordQuery::default().limit(1))
            .await
            .expect("the scheduler answers");
        let ready = started.elapsed();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = cpu_time();
        let wall = Instant::now();
        tokio::time::sleep(span).await;
        let after = cpu_time();
        let wall = wall.elapsed();
        running.session().shut_down();
        running.await.expect("the scheduler ran");
        println!(
            "idle, {count} waiting tasks: built in {:.1} ms, every task evaluated {:.1} ms after the start of the build",
            built.as_secs_f64() * 1e3,
            ready.as_secs_f64() * 1e3
        );
        match (before, after) {
            (Some(b), Some(a)) => println!(
                "  CPU while waiting: {:.0} ms over {:.1} s of wall time ({:.2}% of one core)",
                (a - b).as_secs_f64() * 1e3,
                wall.as_secs_f64(),
                (a - b).as_secs_f64() / wall.as_secs_f64() * 100.0
            ),
            _ => println!("  CPU while waiting: not measured (needs /proc)"),
        }
    });
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn throughput_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("runtime/throughput");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(1));
    for execution in [Execution::Async, Execution::Main] {
        for tasks in [1_usize, 1_000] {
            let id = BenchmarkId::new(execution.as_str(), format!("{tasks} tasks"));
            // Criterion sizes the samples from its warm-up: tens of thousands of runs each,
            // so a scheduler's start and stop are a small part of a sample.
            group.bench_function(id, |b| {
                b.iter_custom(|runs| throughput(tasks, runs, execution))
            });
        }
    }
    group.finish();
}

fn lateness_group(c: &mut Criterion, all: &Mutex<Vec<(usize, i64)>>) {
    let mut group = c.benchmark_group("runtime/lateness");
    // One iteration is one firing, 20 ms apart: flat sampling over 10 s makes about 500.
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(100));
    group.measurement_time(Duration::from_secs(10));
    for waiting in [0_usize, 10_000] {
        let id = BenchmarkId::new("every 20 ms", format!("beside {waiting} waiting tasks"));
        group.bench_function(id, |b| {
            b.iter_custom(|firings| {
                let samples = lateness(firings, waiting);
                let total: i64 = samples.iter().sum();
                all.lock()
                    .unwrap()
                    .extend(samples.iter().map(|&s| (waiting, s)));
                Duration::from_micros(total.max(0) as u64)
            })
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    throughput_group(&mut criterion);
    let all = Mutex::new(Vec::new());
    lateness_group(&mut criterion, &all);
    criterion.final_summary();

    let all = all.into_inner().unwrap();
    for waiting in [0, 10_000] {
        let mut samples: Vec<i64> = all
            .iter()
            .filter(|(w, _)| *w == waiting)
            .map(|(_, s)| *s)
            .collect();
        if samples.is_empty() {
            continue;
        }
        samples.sort_unstable();
        println!(
            "lateness of a task due every 20 ms, beside {waiting} waiting tasks ({} firings): median {} µs, p99 {} µs, max {} µs",
            samples.len(),
            percentile(&samples, 0.5),
            percentile(&samples, 0.99),
            samples.last().copied().unwrap_or(0)
        );
    }
    idle(10_000, Duration::from_secs(10));
}
