//! The job queue's storage, the same cases in memory, on a SQLite file and on PostgreSQL (a database
//! of its own per case, on the server `SCHEDULER_TEST_POSTGRES_URL` names; without it the
//! PostgreSQL cases say why they skip, and fail under `CI=true`).

#[path = "common/pg.rs"]
mod pg;

use std::sync::Arc;
use std::time::Duration;

use scheduler::log::store::SqliteStore;
use scheduler::queue::{
    AttemptOutcome, ClaimRequest, Completion, JobFilter, JobId, JobRetention, JobState, JobStore,
    NewJob, QueueError, Report,
};
use scheduler::{InstanceId, LogStore, MemoryStore, PostgresStore, Queue, Timestamp};
use serde_json::json;
use sqlx::Connection;

/// A store on a fresh file or database.
enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(pg::TestDatabase),
}

impl Backend {
    async fn sqlite() -> Backend {
        Backend::Sqlite(tempfile::tempdir().expect("a temporary directory"))
    }

    async fn postgres(test: &str) -> Option<Backend> {
        let server = pg::server_url(test)?;
        Some(Backend::Postgres(
            pg::TestDatabase::create(&server, test).await,
        ))
    }

    async fn open(&self) -> Arc<dyn LogStore> {
        match self {
            Backend::Sqlite(dir) => Arc::new(
                SqliteStore::open(dir.path().join("jobs.db"))
                    .await
                    .expect("a SQLite store"),
            ),
            Backend::Postgres(db) => Arc::new(
                PostgresStore::open(db.url())
                    .await
                    .expect("a PostgreSQL store"),
            ),
        }
    }
}

fn at(secs: i64) -> Timestamp {
    Timestamp::from_micros(1_717_243_200_000_000 + secs * 1_000_000)
}

fn job(task: &str, n: i64, secs: i64) -> NewJob {
    NewJob::new(task, json!({ "n": n }), at(secs))
}

fn claim(worker: u64, tasks: &[&str], limit: usize, secs: i64) -> ClaimRequest {
    ClaimRequest {
        worker: InstanceId::from_u64(worker),
        tasks: tasks.iter().map(|t| t.to_string()).collect(),
        limit,
        now: at(secs),
        lease: Duration::from_secs(30),
    }
}

fn succeeded(id: JobId, attempt: u32, value: &str) -> Report {
    Report {
        id,
        attempt,
        completion: Completion::Succeeded {
            result: Some(value.to_owned()),
        },
    }
}

/// Enqueue, claim in priority and due order, report, read back: the life of a job.
async fn a_job_is_claimed_once_and_reported(store: &dyn JobStore) {
    let a = store.enqueue(&job("email", 1, 0)).await.unwrap().id;
    let mut urgent = job("email", 2, 0);
    urgent.priority = 5;
    let b = store.enqueue(&urgent).await.unwrap().id;
    let later = store.enqueue(&job("email", 3, 100)).await.unwrap().id;
    let other = store.enqueue(&job("report", 4, 0)).await.unwrap().id;

    let first = store.claim(&claim(1, &["email"], 10, 10)).await.unwrap();
    let ids: Vec<JobId> = first.iter().map(|j| j.id).collect();
    assert_eq!(
        ids,
        [b, a],
        "priority first, then oldest due; not the later job"
    );
    assert_eq!(first[0].attempt, 1);
    assert_eq!(first[0].payload, json!({"n": 2}));
    assert_eq!(store.running().await.unwrap(), [("email".to_owned(), 2)]);
    // Claimed jobs are not claimed again; the other task's job is not this worker's.
    assert!(
        store
            .claim(&claim(2, &["email"], 10, 20))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.job(a).await.unwrap().unwrap().state,
        JobState::Running
    );

    let recorded = store
        .report(
            &[
                succeeded(a, 1, "\"sent\""),
                Report {
                    id: b,
                    attempt: 1,
                    completion: Completion::Failed {
                        error: "smtp down".into(),
                        retry_at: Some(at(50)),
                    },
                },
            ],
            at(30),
        )
        .await
        .unwrap();
    assert_eq!(recorded, [true, true]);
    assert!(store.running().await.unwrap().is_empty());
    let done = store.job(a).await.unwrap().unwrap();
    assert_eq!(done.state, JobState::Succeeded);
    assert_eq!(done.result, Some(json!("sent")));
    assert_eq!(done.finished, Some(at(30)));
    let retrying = store.job(b).await.unwrap().unwrap();
    assert_eq!(retrying.state, JobState::Queued);
    assert_eq!(retrying.run_at, at(50));
    assert_eq!(retrying.error.as_deref(), Some("smtp down"));
    // Not before its retry instant; then as attempt 2.
    assert!(
        store
            .claim(&claim(1, &["email"], 1, 49))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim(&claim(1, &["email"], 1, 50)).await.unwrap();
    assert_eq!((again[0].id, again[0].attempt), (b, 2));
    let attempts = store.attempts(b).await.unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Failed));
    assert_eq!(attempts[0].error.as_deref(), Some("smtp down"));
    assert_eq!(attempts[1].outcome, None);

    let counts = store.counts().await.unwrap();
    assert_eq!(
        (
            counts.queued,
            counts.running,
            counts.succeeded,
            counts.failed
        ),
        (2, 1, 1, 0)
    );
    let _ = (later, other);
}

/// A worker whose lease expired is fenced out: the job is taken again, the late report
/// changes nothing, and the attempt is recorded as crashed.
async fn a_late_worker_cannot_record_over_a_newer_attempt(store: &dyn JobStore) {
    let id = store.enqueue(&job("email", 1, 0)).await.unwrap().id;
    let claimed = store.claim(&claim(1, &["email"], 1, 0)).await.unwrap();
    assert_eq!(claimed[0].attempt, 1);
    // A heartbeat before the lease ends keeps it.
    let held = store
        .heartbeat(InstanceId::from_u64(1), &[(id, 1)], at(40))
        .await
        .unwrap();
    assert_eq!(held, [id]);
    assert!(store.reap(at(39)).await.unwrap().is_empty());
    // Then worker 1 stalls past its lease.
    let reaped = store.reap(at(41)).await.unwrap();
    assert_eq!(reaped.len(), 1);
    assert_eq!((reaped[0].id, reaped[0].attempt), (id, 1));
    assert_eq!(reaped[0].worker, Some(InstanceId::from_u64(1)));
    assert_eq!(reaped[0].claimed, at(0));
    assert!(reaped[0].requeued);
    let second = store.claim(&claim(2, &["email"], 1, 42)).await.unwrap();
    assert_eq!((second[0].id, second[0].attempt), (id, 2));
    // Worker 1 comes back and reports attempt 1, and renews: both refused.
    assert_eq!(
        store
            .report(&[succeeded(id, 1, "\"late\"")], at(43))
            .await
            .unwrap(),
        [false]
    );
    assert!(
        store
            .heartbeat(InstanceId::from_u64(1), &[(id, 1)], at(90))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.job(id).await.unwrap().unwrap().state,
        JobState::Running
    );
    // The running attempt is read from the job's row: worker 2's, claimed at 42.
    let running = store.attempts(id).await.unwrap();
    assert_eq!(running.len(), 2);
    assert_eq!(
        (running[1].attempt, running[1].worker, running[1].started),
        (2, Some(InstanceId::from_u64(2)), at(42))
    );
    assert_eq!((running[1].finished, running[1].outcome), (None, None));
    assert_eq!(
        store
            .report(&[succeeded(id, 2, "\"on time\"")], at(44))
            .await
            .unwrap(),
        [true]
    );
    let done = store.job(id).await.unwrap().unwrap();
    assert_eq!(done.result, Some(json!("on time")));
    let attempts = store.attempts(id).await.unwrap();
    assert_eq!(attempts.len(), 2);
    // Each attempt's row, written when it ended (reaped, reported), keeps who ran it when.
    assert_eq!(attempts[0].outcome, Some(AttemptOutcome::Crashed));
    assert_eq!(
        (
            attempts[0].worker,
            attempts[0].started,
            attempts[0].finished
        ),
        (Some(InstanceId::from_u64(1)), at(0), Some(at(41)))
    );
    assert_eq!(attempts[1].outcome, Some(AttemptOutcome::Succeeded));
    assert_eq!(
        (
            attempts[1].worker,
            attempts[1].started,
            attempts[1].finished
        ),
        (Some(InstanceId::from_u64(2)), at(42), Some(at(44)))
    );
}

/// A crash on the last attempt fails the job; a failed job is retried by hand; a released
/// job does not use up an attempt.
async fn last_attempts_dead_letters_and_releases(store: &dyn JobStore) {
    let mut once = job("email", 1, 0);
    once.max_attempts = 1;
    let id = store.enqueue(&once).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 0)).await.unwrap();
    let reaped = store.reap(at(31)).await.unwrap();
    assert!(!reaped[0].requeued);
    let dead = store.job(id).await.unwrap().unwrap();
    assert_eq!(dead.state, JobState::Failed);
    assert!(dead.error.unwrap().contains("lease expired"));
    assert!(matches!(
        store.cancel(id, at(32)).await,
        Err(QueueError::WrongState {
            state: JobState::Failed,
            ..
        })
    ));
    store.retry(id, 1, at(33)).await.unwrap();
    let again = store.claim(&claim(1, &["email"], 1, 33)).await.unwrap();
    assert_eq!(again[0].attempt, 2);
    assert_eq!(again[0].max_attempts, 2);
    // Given back unrun: queued at once, with an attempt more.
    let recorded = store
        .report(
            &[Report {
                id,
                attempt: 2,
                completion: Completion::Released,
            }],
            at(34),
        )
        .await
        .unwrap();
    assert_eq!(recorded, [true]);
    let released = store.job(id).await.unwrap().unwrap();
    assert_eq!(
        (released.state, released.attempts, released.max_attempts),
        (JobState::Queued, 2, 3)
    );
    assert!(matches!(
        store.retry(id, 1, at(35)).await,
        Err(QueueError::WrongState { what: "retry", .. })
    ));
    assert!(matches!(store.job(JobId(999_999)).await, Ok(None)));
    assert!(matches!(
        store.cancel(JobId(999_999), at(35)).await,
        Err(QueueError::UnknownJob(JobId(999_999)))
    ));
}

/// Every attempt of a job is listed, oldest first, however it ended and wherever the store
/// keeps it: an attempt that fails the job for good, retried by hand, then one that
/// succeeds.
async fn attempts_are_kept_across_a_retry_by_hand(store: &dyn JobStore) {
    let mut once = job("email", 1, 0);
    once.max_attempts = 1;
    let id = store.enqueue(&once).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 0)).await.unwrap();
    let failed = Report {
        id,
        attempt: 1,
        completion: Completion::Failed {
            error: "mailbox full".into(),
            retry_at: None,
        },
    };
    assert_eq!(store.report(&[failed], at(2)).await.unwrap(), [true]);
    let first = (
        1,
        Some(InstanceId::from_u64(1)),
        at(0),
        Some(at(2)),
        Some(AttemptOutcome::Failed),
        Some("mailbox full".to_owned()),
    );
    let of = |a: &scheduler::queue::AttemptInfo| {
        (
            a.attempt,
            a.worker,
            a.started,
            a.finished,
            a.outcome,
            a.error.clone(),
        )
    };
    let attempts = store.attempts(id).await.unwrap();
    assert_eq!(
        attempts.iter().map(of).collect::<Vec<_>>(),
        std::slice::from_ref(&first)
    );
    store.retry(id, 1, at(3)).await.unwrap();
    store.claim(&claim(2, &["email"], 1, 4)).await.unwrap();
    assert_eq!(
        store
            .report(&[succeeded(id, 2, "\"sent\"")], at(5))
            .await
            .unwrap(),
        [true]
    );
    let attempts = store.attempts(id).await.unwrap();
    assert_eq!(
        attempts.iter().map(of).collect::<Vec<_>>(),
        [
            first,
            (
                2,
                Some(InstanceId::from_u64(2)),
                at(4),
                Some(at(5)),
                Some(AttemptOutcome::Succeeded),
                None
            )
        ]
    );
}

/// Jobs that ended before their retention are deleted with their attempts, oldest first,
/// at most the rule's limit at a time; queued and running jobs, and jobs still within
/// their retention, stay; an id is never given again.
async fn jobs_past_their_retention_are_pruned(store: &dyn JobStore) {
    let failed = |id, attempt| Report {
        id,
        attempt,
        completion: Completion::Failed {
            error: "mailbox full".into(),
            retry_at: None,
        },
    };
    let once = |n| {
        let mut once = job("email", n, 0);
        once.max_attempts = 1;
        once
    };
    // Failed at 7 after a retry by hand: its first attempt has a row of its own.
    let retried = store.enqueue(&once(1)).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 0)).await.unwrap();
    store.report(&[failed(retried, 1)], at(5)).await.unwrap();
    store.retry(retried, 1, at(6)).await.unwrap();
    store.claim(&claim(1, &["email"], 1, 6)).await.unwrap();
    store.report(&[failed(retried, 2)], at(7)).await.unwrap();
    assert_eq!(store.attempts(retried).await.unwrap().len(), 2);
    // Succeeded at 10.
    let ok = store.enqueue(&once(2)).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 8)).await.unwrap();
    store
        .report(&[succeeded(ok, 1, "1")], at(10))
        .await
        .unwrap();
    // Cancelled at 20.
    let cancelled = store.enqueue(&once(3)).await.unwrap().id;
    store.cancel(cancelled, at(20)).await.unwrap();
    // Failed at 30.
    let dead = store.enqueue(&once(4)).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 25)).await.unwrap();
    store.report(&[failed(dead, 1)], at(30)).await.unwrap();
    // Running since 40, and queued.
    let running = store.enqueue(&once(5)).await.unwrap().id;
    store.claim(&claim(1, &["email"], 1, 40)).await.unwrap();
    let queued = store.enqueue(&job("email", 6, 1_000)).await.unwrap().id;
    let states = |ids: Vec<JobId>| async move {
        let mut states = Vec::new();
        for id in ids {
            states.push(store.job(id).await.unwrap().map(|j| j.state));
        }
        states
    };
    let all = vec![retried, ok, cancelled, dead, running, queued];
    assert_eq!(
        states(all.clone()).await,
        [
            Some(JobState::Failed),
            Some(JobState::Succeeded),
            Some(JobState::Cancelled),
            Some(JobState::Failed),
            Some(JobState::Running),
            Some(JobState::Queued),
        ]
    );

    // At 100, finished jobs are kept 85 s (ended before 15 go) and failed ones are kept.
    let keep_failed = JobRetention {
        finished: Some(Duration::from_secs(85)),
        failed: None,
    };
    assert_eq!(store.prune(keep_failed.at(at(100), 100)).await.unwrap(), 1);
    assert_eq!(store.job(ok).await.unwrap(), None);
    // Failed jobs kept 60 s (ended before 40 go), one at a time, oldest first.
    let retention = JobRetention {
        finished: Some(Duration::from_secs(85)),
        failed: Some(Duration::from_secs(60)),
    };
    assert_eq!(store.prune(retention.at(at(100), 1)).await.unwrap(), 1);
    assert_eq!(store.job(retried).await.unwrap(), None);
    assert_eq!(store.attempts(retried).await.unwrap(), []);
    assert_eq!(store.prune(retention.at(at(100), 100)).await.unwrap(), 1);
    assert_eq!(store.prune(retention.at(at(100), 100)).await.unwrap(), 0);
    assert_eq!(
        states(all).await,
        [
            None,
            None,
            Some(JobState::Cancelled),
            None,
            Some(JobState::Running),
            Some(JobState::Queued),
        ]
    );
    assert_eq!(
        store
            .prune(JobRetention::KEEP_ALL.at(at(10_000), 100))
            .await
            .unwrap(),
        0
    );
    // Ids are not given again, even once the newest job is gone.
    store.cancel(queued, at(50)).await.unwrap();
    assert_eq!(store.prune(retention.at(at(1_000), 100)).await.unwrap(), 2);
    let next = store.enqueue(&job("email", 7, 2_000)).await.unwrap().id;
    assert!(next > queued, "{next} given after {queued}");
    let counts = store.counts().await.unwrap();
    assert_eq!((counts.queued, counts.running, counts.cancelled), (1, 1, 0));
}

/// `list`: the newest jobs first, of a state and a task when asked, at most the limit.
async fn jobs_are_listed_newest_first(store: &dyn JobStore) {
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(store.enqueue(&job("email", n, 0)).await.unwrap().id);
    }
    let report = store.enqueue(&job("report", 9, 0)).await.unwrap().id;
    store.cancel(ids[1], at(1)).await.unwrap();
    let listed = |state, task: Option<&str>, limit| {
        let filter = JobFilter {
            state,
            task: task.map(str::to_owned),
            limit,
        };
        async move {
            store
                .list(&filter)
                .await
                .unwrap()
                .iter()
                .map(|j| j.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(None, None, 10).await,
        [report, ids[3], ids[2], ids[1], ids[0]]
    );
    assert_eq!(listed(None, None, 2).await, [report, ids[3]]);
    assert_eq!(
        listed(Some(JobState::Queued), Some("email"), 10).await,
        [ids[3], ids[2], ids[0]]
    );
    assert_eq!(listed(Some(JobState::Cancelled), None, 10).await, [ids[1]]);
    assert_eq!(listed(Some(JobState::Failed), None, 10).await, []);
    let one = &store.list(&JobFilter::default()).await.unwrap()[0];
    assert_eq!(
        (one.id, one.task.as_str(), one.state),
        (report, "report", JobState::Queued)
    );
}

/// A uniqueness key admits one pending job per task; cancel ends a queued one.
async fn unique_keys_and_cancel(store: &dyn JobStore) {
    let mut keyed = job("welcome", 1, 0);
    keyed.unique_key = Some("user:42".into());
    let first = store.enqueue(&keyed).await.unwrap();
    assert!(!first.existing);
    let second = store.enqueue(&keyed).await.unwrap();
    assert_eq!((second.id, second.existing), (first.id, true));
    // Another task may use the same key.
    let mut other = keyed.clone();
    other.task = "goodbye".into();
    assert_ne!(store.enqueue(&other).await.unwrap().id, first.id);
    store.cancel(first.id, at(1)).await.unwrap();
    assert_eq!(
        store.job(first.id).await.unwrap().unwrap().state,
        JobState::Cancelled
    );
    // Once it is no longer pending, the key admits a new job.
    let third = store.enqueue(&keyed).await.unwrap();
    assert!(!third.existing);
    assert_ne!(third.id, first.id);
    let mut invalid = job("", 0, 0);
    assert!(matches!(
        store.enqueue(&invalid).await,
        Err(QueueError::Invalid(_))
    ));
    invalid.task = "x".into();
    invalid.max_attempts = 0;
    assert!(matches!(
        store.enqueue(&invalid).await,
        Err(QueueError::Invalid(_))
    ));
}

/// `enqueue_many`: ids in the order of the jobs, keys as with one enqueue (a key repeated
/// in the batch gives the first job's id), all or none when one job is invalid.
async fn bulk_enqueue_in_order_all_or_none(store: &dyn JobStore) {
    let mut batch: Vec<NewJob> = (0..1_200).map(|n| job("bulk", n, 0)).collect();
    let mut keyed = job("welcome", 7, 0);
    keyed.unique_key = Some("user:7".into());
    batch.insert(3, keyed.clone());
    batch.push(keyed);
    let enqueued = store.enqueue_many(&batch).await.unwrap();
    assert_eq!(enqueued.len(), batch.len());
    assert!(!enqueued[3].existing);
    assert_eq!(
        (
            enqueued[batch.len() - 1].id,
            enqueued[batch.len() - 1].existing
        ),
        (enqueued[3].id, true)
    );
    for (job, e) in batch.iter().zip(&enqueued) {
        let stored = store.job(e.id).await.unwrap().unwrap();
        assert_eq!((&stored.task, &stored.payload), (&job.task, &job.payload));
        assert_eq!(stored.state, JobState::Queued);
    }
    assert_eq!(store.counts().await.unwrap().queued, 1_201);
    // One invalid job: nothing of the batch is added.
    let mut bad = vec![job("bulk", 1, 0), job("bulk", 2, 0)];
    bad[1].max_attempts = 0;
    assert!(matches!(
        store.enqueue_many(&bad).await,
        Err(QueueError::Invalid(_))
    ));
    assert_eq!(store.counts().await.unwrap().queued, 1_201);
    assert!(store.enqueue_many(&[]).await.unwrap().is_empty());
}

/// Workers claiming together take disjoint batches: 2,000 jobs, 4 claimers, each job once.
async fn concurrent_claims_are_disjoint(backend: &Backend) {
    let store = backend.open().await;
    let jobs = store.jobs().unwrap();
    for n in 0..2_000 {
        jobs.enqueue(&job("bulk", n, 0)).await.unwrap();
    }
    let mut claimers = Vec::new();
    for worker in 0..4u64 {
        // A pool of its own, as another process would have.
        let store = backend.open().await;
        claimers.push(tokio::spawn(async move {
            let jobs = store.jobs().unwrap();
            let mut mine = Vec::new();
            loop {
                let batch = jobs.claim(&claim(worker, &["bulk"], 64, 1)).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                let reports: Vec<Report> = batch
                    .iter()
                    .map(|j| succeeded(j.id, j.attempt, "1"))
                    .collect();
                assert!(
                    jobs.report(&reports, at(2))
                        .await
                        .unwrap()
                        .iter()
                        .all(|r| *r)
                );
                mine.extend(batch.into_iter().map(|j| j.id));
            }
            mine
        }));
    }
    let mut all = Vec::new();
    for claimer in claimers {
        all.extend(claimer.await.unwrap());
    }
    let claimed = all.len();
    all.sort();
    all.dedup();
    assert_eq!(
        (claimed, all.len()),
        (2_000, 2_000),
        "each job claimed once"
    );
    assert_eq!(jobs.counts().await.unwrap().succeeded, 2_000);
}

macro_rules! cases {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let backend = super::Backend::sqlite().await;
                    let store = backend.open().await;
                    super::$case(store.jobs().unwrap()).await;
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_claims_are_disjoint() {
                super::concurrent_claims_are_disjoint(&super::Backend::sqlite().await).await;
            }
        }

        mod memory {
            $(
                #[tokio::test]
                async fn $case() {
                    let store = scheduler::MemoryStore::new().with_jobs();
                    super::$case(super::LogStore::jobs(&store).unwrap()).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let test = concat!(module_path!(), "::", stringify!($case));
                    if let Some(backend) = super::Backend::postgres(test).await {
                        let store = backend.open().await;
                        super::$case(store.jobs().unwrap()).await;
                    }
                }
            )*

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn concurrent_claims_are_disjoint() {
                let test = concat!(module_path!(), "::concurrent_claims_are_disjoint");
                if let Some(backend) = super::Backend::postgres(test).await {
                    super::concurrent_claims_are_disjoint(&backend).await;
                }
            }
        }
    };
}

cases!(
    a_job_is_claimed_once_and_reported,
    a_late_worker_cannot_record_over_a_newer_attempt,
    last_attempts_dead_letters_and_releases,
    attempts_are_kept_across_a_retry_by_hand,
    unique_keys_and_cancel,
    bulk_enqueue_in_order_all_or_none,
    jobs_past_their_retention_are_pruned,
    jobs_are_listed_newest_first,
);

/// The memory store keeps no jobs unless asked: a queue on it is a typed error.
#[test]
fn the_memory_store_has_no_queue_unless_asked() {
    let store: Arc<dyn LogStore> = Arc::new(MemoryStore::new());
    assert!(matches!(Queue::new(store), Err(QueueError::NeedsSqlStore)));
    let store: Arc<dyn LogStore> = Arc::new(MemoryStore::new().with_jobs());
    assert!(Queue::new(store).is_ok());
}

/// A job enqueued in the application's transaction exists only if it commits (SQLite).
#[tokio::test]
async fn sqlite_enqueue_follows_the_application_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("app.db");
    let store: Arc<dyn LogStore> = Arc::new(SqliteStore::open(&file).await.unwrap());
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&file);
    let mut app = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    let mut tx = app.begin().await.unwrap();
    let rolled_back = scheduler::queue::enqueue_in_sqlite(&mut tx, &job("email", 1, 0))
        .await
        .unwrap()
        .id;
    tx.rollback().await.unwrap();
    let mut tx = app.begin().await.unwrap();
    let committed = scheduler::queue::enqueue_in_sqlite(&mut tx, &job("email", 2, 0))
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    let jobs = store.jobs().unwrap();
    let present = jobs.job(committed).await.unwrap().map(|j| j.payload);
    assert_eq!(present, Some(json!({"n": 2})));
    let counts = jobs.counts().await.unwrap();
    assert_eq!(
        counts.queued, 1,
        "the rolled-back job {rolled_back} is not there"
    );
}

/// A job enqueued in the application's transaction exists only if it commits (PostgreSQL).
#[tokio::test]
async fn postgres_enqueue_follows_the_application_transaction() {
    let Some(backend) =
        Backend::postgres("postgres_enqueue_follows_the_application_transaction").await
    else {
        return;
    };
    let store = backend.open().await;
    let Backend::Postgres(db) = &backend else {
        unreachable!()
    };
    let mut app = db.connect().await;
    let mut tx = app.begin().await.unwrap();
    scheduler::queue::enqueue_in_postgres(&mut tx, &job("email", 1, 0))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let mut tx = app.begin().await.unwrap();
    let committed = scheduler::queue::enqueue_in_postgres(&mut tx, &job("email", 2, 0))
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    let jobs = store.jobs().unwrap();
    assert_eq!(jobs.counts().await.unwrap().queued, 1);
    assert!(jobs.job(committed).await.unwrap().is_some());
}
