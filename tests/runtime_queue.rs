//! On-demand tasks through the durable queue, end to end: `task::apply(payload)` enqueues
//! on a SQLite file, the worker beside the scheduler's loop claims the jobs and runs them
//! as runs of their task (so the log has `run` and the outcome of every attempt), results
//! and failures reach the job table, a poison job ends failed after its attempts, with the
//! backoff between them, and does not hold up the others.

use std::sync::Arc;
use std::time::Duration;

use scheduler::log::store::SqliteStore;
use scheduler::prelude::*;
use scheduler::queue::AttemptOutcome;
use scheduler::{Action, Backoff, JobState, LogStore, RecordQuery, WorkerConfig};
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
    // Each retry waited at least its backoff after the failure before it.
    for (k, pair) in attempts.windows(2).enumerate() {
        let delay = backoff.delay(bad, k as u32 + 1).as_micros() as i64;
        let waited = pair[1].started.as_micros() - pair[0].finished.unwrap().as_micros();
        assert!(
            waited >= delay,
            "attempt {} came {waited} µs after, before {delay} µs",
            k + 2
        );
    }

    running.session().shut_down();
    running.await.unwrap();

    // Every attempt is a run in the log: 300 successes and 3 failures, each after its `run`.
    let successes = store
        .query(
            &RecordQuery::default()
                .task("send_email")
                .action(Action::Success)
                .limit(10_000),
        )
        .await
        .unwrap();
    assert_eq!(successes.len(), 300);
    let runs = store
        .query(
            &RecordQuery::default()
                .task("send_email")
                .action(Action::Run)
                .limit(10_000),
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 300);
    let failures = store
        .query(&RecordQuery::default().task("poison").action(Action::Fail))
        .await
        .unwrap();
    assert_eq!(failures.len(), 3);
    assert_eq!(queue.counts().await.unwrap().succeeded, 300);
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
