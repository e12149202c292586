//! On-demand tasks through the durable queue, end to end: `task::apply(payload)` enqueues
//! on a SQLite file, the worker beside the scheduler's loop claims the jobs and runs them
//! as runs of their task (so the log has `run` and the outcome of every attempt), results
//! and failures reach the job table, a poison job ends failed after its attempts, with the
//! backoff between them (its instants on the virtual clock, with the queue in memory), and
//! does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use scheduler::log::store::SqliteStore;
use scheduler::prelude::*;
use scheduler::queue::AttemptOutcome;
use scheduler::{Action, Backoff, JobRetention, JobState, LogStore, RecordQuery, WorkerConfig};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Email {
    to: String,
    n: u32,
}

#[task]
async fn send_email(msg: Payload<Email>) -> anyhow::Result<u32> {
    anyhow::ensure!(msg.to.contains('@'), "not an address: {}", msg.to);
    Ok(msg.n * 2)
}

#[task]
fn poison(msg: Payload<u32>) -> anyhow::Result<()> {
    anyhow::bail!("poison {}", *msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn applied_jobs_run_once_are_logged_and_poison_fails_after_its_attempts() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("app.db")).await.unwrap());
    let queue = Queue::new(store.clone()).unwrap();
    let backoff = Backoff {
        base: Duration::from_millis(40),
        max: Duration::from_millis(80),
        jitter: false,
    };
    let running = Scheduler::builder()
        .handle_signals(false)
        .only_registered(["send_email", "poison"])
        .store(store.clone())
        .worker(
            WorkerConfig::default()
                .poll(Duration::from_millis(10))
                .backoff(backoff),
        )
        .build()
        .unwrap()
        .start()
        .unwrap();

    let bad = poison::apply(7).max_attempts(3).on(&queue).await.unwrap();
    let mut ids = Vec::new();
    for n in 0..300 {
        let email = Email {
            to: format!("user{n}@example.com"),
            n,
        };
        ids.push((n, send_email::apply(email).on(&queue).await.unwrap()));
    }
    // And 100 more in one transaction: their ids in the payloads' order.
    let emails = (300..400).map(|n| Email {
        to: format!("user{n}@example.com"),
        n,
    });
    let bulk = send_email::apply_many(emails).on(&queue).await.unwrap();
    assert_eq!(bulk.len(), 100);
    ids.extend((300..400).zip(bulk));
    for (n, id) in &ids {
        let job = queue.wait(*id).await.unwrap();
        assert_eq!(job.state, JobState::Succeeded, "job {id}: {job:?}");
        assert_eq!(job.result, Some(serde_json::json!(n * 2)));
        assert_eq!(job.attempts, 1);
    }
    let failed = queue.wait(bad).await.unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.attempts, 3);
    assert!(failed.error.as_deref().unwrap().contains("poison 7"));
    let attempts = queue.attempts(bad).await.unwrap();
    assert_eq!(attempts.len(), 3);
    assert!(
        attempts
            .iter()
            .all(|a| a.outcome == Some(AttemptOutcome::Failed))
    );
    // The instants of the retries are checked on the virtual clock, below.
    running.session().shut_down();
    running.await.unwrap();

    // Every attempt is a run in the log: 400 successes and 3 failures, each after its `run`.
    let successes = store
        .query(
            &RecordQuery::default()
                .task("send_email")
                .action(Action::Success)
                .limit(10_000),
        )
        .await
        .unwrap();
    assert_eq!(successes.len(), 400);
    let runs = store
        .query(
            &RecordQuery::default()
                .task("send_email")
                .action(Action::Run)
                .limit(10_000),
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 400);
    let failures = store
        .query(&RecordQuery::default().task("poison").action(Action::Fail))
        .await
        .unwrap();
    assert_eq!(failures.len(), 3);
    assert_eq!(queue.counts().await.unwrap().succeeded, 400);
}

/// Without a queue given and none set by a running scheduler, `apply` says so.
#[tokio::test]
async fn apply_without_a_queue_is_a_typed_error() {
    if Queue::default_queue().is_some() {
        return; // another test's scheduler set one
    }
    let error = poison::apply(1).await.unwrap_err();
    assert!(matches!(error, scheduler::QueueError::NoQueue), "{error}");
}

#[task]
fn good(n: Payload<u32>) -> u32 {
    *n
}

/// A scheduler of `poison` and `good` with `worker`, on a queue in memory (a database's I/O
/// would let paused time jump) and a virtual clock; its store and the queue to enqueue on.
fn on_virtual_clock(
    worker: WorkerConfig,
) -> (Arc<scheduler::MemoryStore>, Queue, scheduler::Running) {
    let store = Arc::new(scheduler::MemoryStore::new().with_jobs());
    let clock = Arc::new(scheduler::VirtualClock::starting_at(
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .to_utc(),
    ));
    let queue = Queue::new(store.clone()).unwrap().with_clock(clock.clone());
    let running = Scheduler::builder()
        .handle_signals(false)
        .only_registered(["poison", "good"])
        .store(store.clone())
        .clock(clock)
        .worker(worker)
        .build()
        .unwrap()
        .start()
        .unwrap();
    (store, queue, running)
}

/// Retries on the virtual clock (with the queue in memory: a database's I/O would let
/// paused time jump): a poison job's attempts come at the instants the backoff gives
/// (after each failure, once its delay has passed, at the worker's next poll), it ends
/// failed after its last attempt, and the jobs queued behind it all succeed.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn retries_follow_the_backoff_on_the_virtual_clock() {
    let backoff = Backoff {
        base: Duration::from_secs(60),
        max: Duration::from_secs(3600),
        jitter: true,
    };
    let poll = Duration::from_secs(1);
    let (_, queue, running) = on_virtual_clock(WorkerConfig::default().poll(poll).backoff(backoff));
    let bad = poison::apply(1).max_attempts(4).on(&queue).await.unwrap();
    let mut others = Vec::new();
    for n in 0..20 {
        others.push(good::apply(n).on(&queue).await.unwrap());
    }
    let failed = queue.wait(bad).await.unwrap();
    assert_eq!((failed.state, failed.attempts), (JobState::Failed, 4));
    let attempts = queue.attempts(bad).await.unwrap();
    for (k, pair) in attempts.windows(2).enumerate() {
        let due = pair[0].finished.unwrap().as_micros()
            + backoff.delay(bad, k as u32 + 1).as_micros() as i64;
        let started = pair[1].started.as_micros();
        // At the first poll at or after the retry instant.
        assert!(
            started >= due && started <= due + 2 * poll.as_micros() as i64,
            "attempt {} started {} µs after its retry instant",
            k + 2,
            started - due
        );
    }
    // 60 s, then about 120 s and 240 s (jittered within the upper half), in virtual time.
    let span = attempts[3].started.as_micros() - attempts[0].started.as_micros();
    assert!((210_000_000..=423_000_000).contains(&span), "{span}");
    for id in others {
        let job = queue.status(id).await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Succeeded, "{job:?}");
        assert!(
            job.finished.unwrap() < attempts[1].started,
            "the others did not wait for the poison job's retries"
        );
    }
    running.session().shut_down();
    running.await.unwrap();
}

/// The worker deletes the jobs past their retention by itself (a minute after it starts
/// and then hourly, on the virtual clock): those that succeeded once they ended more than the retention
/// ago, not the failed ones its retention keeps; their runs stay in the log.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_worker_deletes_jobs_past_their_retention() {
    let retention = JobRetention {
        finished: Some(Duration::from_secs(90 * 60)),
        failed: None,
    };
    let (store, queue, running) = on_virtual_clock(
        WorkerConfig::default()
            .poll(Duration::from_secs(30))
            .retention(retention),
    );
    let bad = poison::apply(1).max_attempts(1).on(&queue).await.unwrap();
    let mut good_ids = Vec::new();
    for n in 0..5 {
        good_ids.push(good::apply(n).on(&queue).await.unwrap());
    }
    for id in good_ids.iter().chain([&bad]) {
        queue.wait(*id).await.unwrap();
    }
    // The prune at about 1 h finds them ended less than 90 min ago.
    tokio::time::sleep(Duration::from_secs(65 * 60)).await;
    assert!(queue.status(good_ids[0]).await.unwrap().is_some());
    // The one about an hour later deletes them.
    tokio::time::sleep(Duration::from_secs(60 * 60)).await;
    for id in &good_ids {
        assert_eq!(queue.status(*id).await.unwrap(), None, "job {id}");
    }
    let failed = queue.status(bad).await.unwrap().unwrap();
    assert_eq!(failed.state, JobState::Failed);
    let successes = store
        .query(&RecordQuery::default().task("good").action(Action::Success))
        .await
        .unwrap();
    assert_eq!(successes.len(), 5);
    // And a queue keeps every job with `KEEP_ALL`: nothing left to delete by hand.
    assert_eq!(queue.prune(JobRetention::KEEP_ALL).await.unwrap(), 0);
    assert_eq!(queue.prune(JobRetention::default()).await.unwrap(), 0);
    running.session().shut_down();
    running.await.unwrap();
}

/// A payload of its own, or none (`Option<Payload<T>>`): 0 then.
#[task]
fn maybe(n: Option<Payload<u32>>) -> u32 {
    n.map_or(0, |n| *n + 100)
}

/// `Session::run` on a scheduler whose store keeps a queue: the run is a job (in the job
/// table, run by the worker, its attempt in the log), `trigger` gives the job's id once it
/// is in the store, and a run requested without a payload reads as one without a payload.
/// On the virtual clock, with the queue in memory.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn session_runs_are_jobs_when_the_store_keeps_a_queue() {
    let store = Arc::new(scheduler::MemoryStore::new().with_jobs());
    let clock = Arc::new(scheduler::VirtualClock::starting_at(
        chrono::DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z")
            .unwrap()
            .to_utc(),
    ));
    let queue = Queue::new(store.clone()).unwrap().with_clock(clock.clone());
    let running = Scheduler::builder()
        .handle_signals(false)
        .only_registered(["good", "maybe"])
        .store(store.clone())
        .clock(clock.clone())
        .worker(WorkerConfig::default().poll(Duration::from_secs(1)))
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    let id = session
        .trigger_with("good", 21u32)
        .await
        .unwrap()
        .expect("a job: the store keeps a queue");
    let job = queue.wait(id).await.unwrap();
    assert_eq!(
        (job.state, job.result.clone()),
        (JobState::Succeeded, Some(serde_json::json!(21)))
    );
    let without = session.trigger("maybe").await.unwrap().unwrap();
    assert_eq!(
        queue.wait(without).await.unwrap().result,
        Some(serde_json::json!(0)),
        "no payload reads as `None`"
    );
    // `run` (sync) enqueues beside the caller, in order.
    for n in 1..=3u32 {
        session.run_with("maybe", n).unwrap();
    }
    session.run("maybe").unwrap();
    assert_eq!(
        session.trigger("mabye").await.unwrap_err().to_string(),
        "no task named 'mabye' (did you mean 'maybe'?)"
    );
    loop {
        let counts = queue.counts().await.unwrap();
        if counts.succeeded == 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut results = Vec::new();
    for id in 3..=6 {
        let job = queue.status(scheduler::JobId(id)).await.unwrap().unwrap();
        assert_eq!(job.task, "maybe");
        results.push(job.result.unwrap());
    }
    assert_eq!(results, [101, 102, 103, 0].map(|n| serde_json::json!(n)));
    running.session().shut_down();
    running.await.unwrap();
    // Each job is a run in the log, under its attempt's run id.
    let runs = store
        .query(&RecordQuery::default().action(Action::Run).limit(100))
        .await
        .unwrap();
    assert_eq!(runs.len(), 6);
    let job = queue.status(id).await.unwrap().unwrap();
    let attempt = &queue.attempts(id).await.unwrap()[0];
    let run_id = scheduler::queue::job_run_id(attempt.started, job.id, 1);
    assert!(runs.iter().any(|r| r.record.run_id == Some(run_id)));
}

/// Runs requested just before a graceful shutdown are in the queue when the scheduler has
/// stopped: none is lost. Those its worker had not started stay queued, and the next
/// scheduler on the file runs them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_requested_before_a_shutdown_survive_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let start = |store: Arc<SqliteStore>| {
        Scheduler::builder()
            .handle_signals(false)
            .only_registered(["good"])
            .store(store)
            .worker(WorkerConfig::default().poll(Duration::from_millis(10)))
            .build()
            .unwrap()
            .start()
            .unwrap()
    };
    let store = Arc::new(SqliteStore::open(&file).await.unwrap());
    let running = start(store.clone());
    let session = running.session().clone();
    for n in 0..50u32 {
        session.run_with("good", n).unwrap();
    }
    session.shut_down();
    assert_eq!(
        session.run_with("good", 50u32),
        Err(scheduler::SessionError::ShuttingDown)
    );
    running.await.unwrap();
    let queue = Queue::new(store.clone()).unwrap();
    let counts = queue.counts().await.unwrap();
    assert_eq!(
        counts.queued + counts.succeeded,
        50,
        "every requested run is a job, run or waiting: {counts:?}"
    );
    assert_eq!((counts.running, counts.failed), (0, 0));
    store.close().await;

    let store = Arc::new(SqliteStore::open(&file).await.unwrap());
    let running = start(store.clone());
    let queue = Queue::new(store.clone()).unwrap();
    for id in 1..=50 {
        let job = queue.wait(scheduler::JobId(id)).await.unwrap();
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(job.result, Some(serde_json::json!(id - 1)));
    }
    running.session().shut_down();
    running.await.unwrap();
}
