//! tokio-cron-scheduler 0.15.1 ("tcs") as a benchmark subject: one scenario of
//! `bench/PROTOCOL.md` per run.
//!
//! ```text
//! tcs --scenario idle|throughput|delay|pipeline|startup --tasks N --seconds S
//! ```
//!
//! The scheduler is the default one a tcs user gets: `JobScheduler::new()` (in-memory
//! stores, broadcast channels of 200 messages), jobs added with `add`, then `start()`, on a
//! multi-threaded tokio runtime. Choices, from reading the crate's source:
//!
//! * **The tick.** tcs has a single ticker task (`scheduler.rs`) that loops
//!   `sleep(500 ms)`, then lists every job's stored next/last tick and sends each due job's
//!   id on a broadcast channel to the job runner, and spawns one task per due job that
//!   writes its next tick back. Nothing runs between two ticks, so a job starts 0–500 ms
//!   (plus the scan) after its due time, and the first run after `start()` is at least
//!   500 ms late. Next and last ticks are stored as whole Unix seconds (`u64`).
//! * **throughput.** The shortest repetition that keeps running is one second, so a job
//!   runs at most once per second, whatever N. `Job::new_repeated_async` keeps only
//!   `Duration::as_secs()`, so 1 ms becomes 0 s; such a job's `next_tick` stays at its
//!   creation second, and the ticker requires `last_tick <= next_tick`, so it runs at each
//!   500 ms tick until its first run in a later second, then never again (tried: 10 jobs,
//!   10 runs in the first sampled second, then 0). So `new_repeated_async(1 s)` is used
//!   (the same rate as the cron `* * * * * *`): at best N runs/s, bounded by the 1 s
//!   granularity of the stored ticks; the 500 ms scan decides when in the second they run.
//!   Every due job of a scan is sent as its own message on the job runner's broadcast
//!   channel (200 messages with `JobScheduler::new()`); when the runner lags behind, the
//!   channel drops the oldest ids and those runs are lost (the job's next tick has already
//!   been advanced). Tried: 10,000 jobs gave 4,800–9,300 runs/s with the default channels
//!   and 10,000 runs/s with `new_with_channel_size(100_000)`. The default is kept here.
//! * **idle.** Cron `0 0 0 1 1 *` (tcs cron has a seconds field). The ticker still wakes
//!   every 500 ms and copies the list of all N jobs' ticks.
//! * **delay.** Cron `* * * * * *` with `Job::new_async`.
//! * **pipeline.** tcs has no dependencies between jobs, but it has job notifications:
//!   `on_done_notification_add` runs a callback when a job's run has finished. The chain
//!   uses it the way the protocol has APScheduler do it with a job listener: when `a` is
//!   done, the callback adds a one-shot job `b` due now (`new_one_shot_async(0 s)`), with
//!   a done-notification that adds a one-shot `c`. A one-shot job due now still waits for
//!   the next tick, so each hop costs up to 500 ms (a handoff is about two ticks, ~1 s).
//!   `on_done_notification_add` waits on a blocking `std::sync::mpsc` receive; called
//!   from inside a notification callback it stalled the whole scheduler, so that call is
//!   wrapped in `tokio::task::block_in_place`. tcs's "done" does not tell success from
//!   failure (it is also sent after a panicking body); the bodies here cannot fail.
//! * **startup.** `first` is `Job::new_one_shot_async(Duration::ZERO)`; it runs at the first
//!   tick, 500 ms after `start()`.
//!
//! `ready` is printed just after `start()` has returned. Samplers and the end of the delay
//! and pipeline runs are timed on `std::thread`s, outside the scheduler.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scheduler_bench::{emit, rss_kb, wall};
use serde_json::json;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// Midnight on the 1st of January (seconds, minutes, hours, day of month, month, weekday).
const NEVER: &str = "0 0 0 1 1 *";
/// Every whole second.
const EVERY_SECOND: &str = "* * * * * *";

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

struct Args {
    scenario: String,
    tasks: usize,
    seconds: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        scenario: String::new(),
        tasks: 1,
        seconds: 10,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--scenario" => args.scenario = value,
            "--tasks" => args.tasks = value.parse().map_err(|e| format!("--tasks: {e}"))?,
            "--seconds" => args.seconds = value.parse().map_err(|e| format!("--seconds: {e}"))?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    Ok(args)
}

fn emit_ready() -> Instant {
    let at = Instant::now();
    emit(&json!({"event": "ready", "wall": wall()}));
    at
}

fn sleep_until(deadline: Instant) {
    let now = Instant::now();
    if deadline > now {
        std::thread::sleep(deadline - now);
    }
}

/// Reports a tcs error on stderr and exits with status 1.
fn check<T>(what: &str, result: Result<T, JobSchedulerError>) -> T {
    result.unwrap_or_else(|e| {
        eprintln!("tcs: {what}: {e}");
        std::process::exit(1)
    })
}

/// Adds `n` jobs that are never due during a run, with an empty body.
async fn add_idle_jobs(sched: &JobScheduler, n: usize) {
    for _ in 0..n {
        let job = check(
            "idle job",
            Job::new_async(NEVER, |_id, _sched| -> BoxFuture { Box::pin(async {}) }),
        );
        check("add", sched.add(job).await);
    }
}

async fn idle(args: &Args) {
    let sched = check("new", JobScheduler::new().await);
    add_idle_jobs(&sched, args.tasks).await;
    check("start", sched.start().await);
    emit_ready();
    std::future::pending::<()>().await;
}

async fn throughput(args: &Args) {
    let sched = check("new", JobScheduler::new().await);
    let counter = Arc::new(AtomicU64::new(0));
    for _ in 0..args.tasks {
        let counter = counter.clone();
        // One second is the shortest repetition that keeps running (see the module doc).
        let job = check(
            "repeated job",
            Job::new_repeated_async(Duration::from_secs(1), move |_id, _sched| -> BoxFuture {
                let counter = counter.clone();
                Box::pin(async move {
                    counter.fetch_add(1, Ordering::Relaxed);
                })
            }),
        );
        check("add", sched.add(job).await);
    }
    check("start", sched.start().await);
    let ready = emit_ready();
    let seconds = args.seconds;
    std::thread::spawn(move || {
        sleep_until(ready + Duration::from_secs(1));
        let first = counter.load(Ordering::Relaxed);
        let rss_kb_start = rss_kb();
        let mut previous = first;
        let mut per_second = Vec::with_capacity(seconds as usize);
        for k in 1..=seconds {
            sleep_until(ready + Duration::from_secs(1 + k));
            let now = counter.load(Ordering::Relaxed);
            per_second.push(now - previous);
            previous = now;
        }
        emit(&json!({
            "event": "result",
            "runs_per_second": per_second,
            "runs": previous - first,
            "rss_kb_start": rss_kb_start,
            "rss_kb_end": rss_kb(),
        }));
        std::process::exit(0);
    });
    std::future::pending::<()>().await;
}

async fn delay(args: &Args) {
    let sched = check("new", JobScheduler::new().await);
    let delays = Arc::new(Mutex::new(Vec::<f64>::new()));
    let tick = {
        let delays = delays.clone();
        check(
            "tick job",
            Job::new_async(EVERY_SECOND, move |_id, _sched| -> BoxFuture {
                let t = wall();
                let delays = delays.clone();
                Box::pin(async move {
                    delays.lock().unwrap().push((t - t.floor()) * 1000.0);
                })
            }),
        )
    };
    check("add", sched.add(tick).await);
    check("start", sched.start().await);
    let ready = emit_ready();
    let seconds = args.seconds;
    std::thread::spawn(move || {
        sleep_until(ready + Duration::from_secs(seconds));
        let delays: Vec<f64> = delays.lock().unwrap().iter().skip(1).copied().collect();
        emit(&json!({"event": "result", "delays_ms": delays}));
        std::process::exit(0);
    });
    std::future::pending::<()>().await;
}

/// A one-shot job due now (it runs at the scheduler's next tick).
fn due_now(body: impl FnMut() -> BoxFuture + Send + Sync + 'static) -> Job {
    let mut body = body;
    check(
        "one-shot job",
        Job::new_one_shot_async(Duration::ZERO, move |_id, _sched| body()),
    )
}

async fn pipeline(args: &Args) {
    let sched = check("new", JobScheduler::new().await);
    let a_end = Arc::new(Mutex::new(None::<f64>));
    let handoffs = Arc::new(Mutex::new(Vec::<f64>::new()));

    let mut a = {
        let a_end = a_end.clone();
        check(
            "job a",
            Job::new_async(EVERY_SECOND, move |_id, _sched| -> BoxFuture {
                let a_end = a_end.clone();
                Box::pin(async move {
                    // a's last statement: the wall clock at its end.
                    *a_end.lock().unwrap() = Some(wall());
                })
            }),
        )
    };

    // When a is done: add b, due now; when b is done: add c, due now. The a_end of the
    // round travels with the chain, so a later run of a cannot be paired with this c.
    let on_a_done = {
        let sched = sched.clone();
        let handoffs = handoffs.clone();
        move |_job, _notification, _state| -> BoxFuture {
            let sched = sched.clone();
            let handoffs = handoffs.clone();
            let a_end = a_end.lock().unwrap().take();
            Box::pin(async move {
                let Some(a_end) = a_end else { return };
                let mut b = due_now(|| Box::pin(async {}));
                let on_b_done = {
                    let sched = sched.clone();
                    move |_job, _notification, _state| -> BoxFuture {
                        let sched = sched.clone();
                        let handoffs = handoffs.clone();
                        Box::pin(async move {
                            let c = due_now(move || {
                                let handoffs = handoffs.clone();
                                Box::pin(async move {
                                    // c's first statement: the wall clock at its start.
                                    let c_start = wall();
                                    handoffs.lock().unwrap().push((c_start - a_end) * 1000.0);
                                })
                            });
                            check("add c", sched.add(c).await);
                        })
                    }
                };
                // Adding a notification blocks its thread on a std channel until tcs's
                // actors have stored it; on a runtime worker that can starve the very tasks
                // it waits for (it hung the scheduler when tried), so the worker is handed
                // over for the call.
                let added = tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current()
                        .block_on(b.on_done_notification_add(&sched, Box::new(on_b_done)))
                });
                check("b's done notification", added);
                check("add b", sched.add(b).await);
            })
        }
    };
    // Here on the runtime's main thread, which is not a worker: blocking it is harmless.
    let added = a
        .on_done_notification_add(&sched, Box::new(on_a_done))
        .await;
    check("a's done notification", added);
    check("add a", sched.add(a).await);
    check("start", sched.start().await);
    let ready = emit_ready();
    let seconds = args.seconds;
    std::thread::spawn(move || {
        sleep_until(ready + Duration::from_secs(seconds));
        let handoffs: Vec<f64> = handoffs.lock().unwrap().iter().skip(1).copied().collect();
        emit(&json!({"event": "result", "handoffs_ms": handoffs}));
        std::process::exit(0);
    });
    std::future::pending::<()>().await;
}

async fn startup(args: &Args) {
    let sched = check("new", JobScheduler::new().await);
    add_idle_jobs(&sched, args.tasks).await;
    let first = due_now(|| {
        Box::pin(async {
            emit(&json!({"event": "result", "first_run_wall": wall()}));
            std::process::exit(0);
        })
    });
    check("add first", sched.add(first).await);
    check("start", sched.start().await);
    emit_ready();
    std::future::pending::<()>().await;
}

#[tokio::main]
async fn main() {
    let args = parse_args().unwrap_or_else(|e| {
        eprintln!("tcs: {e}");
        std::process::exit(2)
    });
    match args.scenario.as_str() {
        "idle" => idle(&args).await,
        "throughput" => throughput(&args).await,
        "delay" => delay(&args).await,
        "pipeline" => pipeline(&args).await,
        "startup" => startup(&args).await,
        other => {
            eprintln!("tcs: unknown scenario {other:?}");
            std::process::exit(2)
        }
    }
}
