//! The durable job queue: on-demand runs (`send_email::apply(payload)`) kept in the same
//! database as the run log, and claimed by workers in this process or on other machines.
//!
//! What lives here:
//!
//! * this file: the vocabulary of the queue ([`JobId`], [`JobState`], [`NewJob`],
//!   [`ClaimedJob`], [`Completion`], [`JobInfo`], ...), the storage contract
//!   ([`JobStore`]), its typed errors ([`QueueError`]), the retry policy ([`Backoff`])
//!   and how long jobs that ended are kept ([`JobRetention`]);
//! * `memory.rs`: [`MemoryJobs`], the same contract in memory (tests on a virtual clock),
//!   attached to a memory log store with `MemoryStore::with_jobs`;
//! * `sqlite.rs`, `postgres.rs`: [`JobStore`] for the SQL log stores (tables
//!   `scheduler_jobs` and `scheduler_job_attempts`, created by the stores' migrations),
//!   and `enqueue_in`, which enqueues inside an application's own sqlx transaction;
//! * `rows.rs`: reading the SQL stores' rows (jobs, claims, attempts, counts), the same
//!   for both;
//! * `handle.rs`: [`Queue`], the cloneable handle a web handler enqueues through, and
//!   [`OnDemand`], the typed `apply` of every `#[task]`;
//!
//! The worker that claims jobs and hands them to a scheduler's loop is part of the
//! runtime (`runtime/worker.rs`): it runs them as the loop's runs, so that every attempt is
//! in the log.
//!
//! Guarantees: a job is created once (a uniqueness key admits one pending job per task
//! and key); it runs at least once, and more than once only when a worker lost its lease
//! (died, or stalled past it) — the attempt number fences a late worker out, so its result
//! is never recorded over a newer attempt's. Handlers should be idempotent.
//!
//! Instants come from the caller (the scheduler's clock), not from the database, so that a
//! test's virtual clock drives leases and backoff; machines that share a database are
//! expected to keep their clocks in step (NTP), as they must for the log's order anyway.

mod handle;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod rows;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::BoxFuture;
use crate::log::{InstanceId, RunId, StoreError};
use crate::time::Timestamp;

pub use handle::{Apply, ApplyMany, OnDemand, Queue};
pub use memory::MemoryJobs;
#[cfg(feature = "postgres")]
pub use postgres::enqueue_in as enqueue_in_postgres;
#[cfg(feature = "sqlite")]
pub use sqlite::enqueue_in as enqueue_in_sqlite;

/// The identity of a job, given by the database when it is enqueued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(JobId)
    }
}

impl serde::Serialize for JobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

impl<'de> serde::Deserialize<'de> for JobId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer).map(JobId)
    }
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Waiting for its instant and a worker (also between retries).
    Queued,
    /// Claimed by a worker, which holds a lease on it.
    Running,
    /// Finished with a value.
    Succeeded,
    /// Failed on its last allowed attempt (a dead letter, which [`JobStore::retry`] queues
    /// again).
    Failed,
    /// Cancelled before it ran.
    Cancelled,
}

impl JobState {
    /// Every state.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The word stored in the database and shown by the web example.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Whether the job has finished for good (until retried by hand).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Succeeded | JobState::Failed | JobState::Cancelled
        )
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = QueueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| QueueError::Corrupt(format!("unknown job state {s:?}")))
    }
}

/// How one attempt ended, as its row in `scheduler_job_attempts` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttemptOutcome {
    /// The run succeeded.
    Succeeded,
    /// The run failed (or was terminated).
    Failed,
    /// The worker's lease expired before it reported: it died or stalled.
    Crashed,
    /// The worker gave the job back unrun, shutting down.
    Released,
}

impl AttemptOutcome {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Succeeded => "succeeded",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::Crashed => "crashed",
            AttemptOutcome::Released => "released",
        }
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn parse(s: &str) -> Option<AttemptOutcome> {
        [
            AttemptOutcome::Succeeded,
            AttemptOutcome::Failed,
            AttemptOutcome::Crashed,
            AttemptOutcome::Released,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
    }
}

/// The default number of attempts of a job (the first run and two retries).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A job to enqueue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// The task that runs it.
    pub task: String,
    /// Its payload (what the task's `Payload<T>` parameter reads).
    pub payload: serde_json::Value,
    /// Not before this instant.
    pub run_at: Timestamp,
    /// Higher first, among the jobs that are due.
    pub priority: i32,
    /// While a job of the same task with this key is queued or running, enqueueing gives
    /// that job's id instead of a new job.
    pub unique_key: Option<String>,
    /// How many times it may run before it is kept as failed (at least 1).
    pub max_attempts: u32,
    /// When it was enqueued.
    pub enqueued: Timestamp,
}

impl NewJob {
    /// A job of `task` with `payload`, due at `now`, priority 0, no key,
    /// [`DEFAULT_MAX_ATTEMPTS`].
    pub fn new(task: impl Into<String>, payload: serde_json::Value, now: Timestamp) -> NewJob {
        NewJob {
            task: task.into(),
            payload,
            run_at: now,
            priority: 0,
            unique_key: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            enqueued: now,
        }
    }
}

/// What enqueueing gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The job's id.
    pub id: JobId,
    /// Whether it is an existing job with the same uniqueness key (nothing was added).
    pub existing: bool,
}

/// A worker's request for jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimRequest {
    /// The worker (its scheduler instance).
    pub worker: InstanceId,
    /// Only jobs of these tasks.
    pub tasks: Vec<String>,
    /// At most this many jobs.
    pub limit: usize,
    /// Now, by the worker's clock.
    pub now: Timestamp,
    /// How long the lease lasts without a heartbeat.
    pub lease: Duration,
}

/// A job a worker has claimed.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// The job.
    pub id: JobId,
    /// Its task.
    pub task: String,
    /// Its payload.
    pub payload: serde_json::Value,
    /// This attempt's number, from 1: the fencing token of every report about it.
    pub attempt: u32,
    /// The attempts it may take in all.
    pub max_attempts: u32,
    /// When it was enqueued.
    pub enqueued: Timestamp,
    /// When it was due.
    pub run_at: Timestamp,
    /// When it was claimed (the start of the attempt).
    pub claimed: Timestamp,
}

impl ClaimedJob {
    /// The id of the run of this attempt in the log (see [`job_run_id`]).
    pub fn run_id(&self) -> RunId {
        job_run_id(self.claimed, self.id, self.attempt)
    }
}

/// The id of the log's run of attempt `attempt` of job `job`, claimed at `claimed`: a
/// function of the three, so that whoever finds the attempt crashed (another worker,
/// later) writes the `crash` record of the same run without it being stored anywhere.
///
/// Laid out as the log's other run ids (a UUID of version 7 whose first 48 bits are the
/// start in Unix milliseconds), with the job's id and the attempt in the random bits:
/// unique per job and attempt, and never one a scheduler draws (its ids do not carry
/// [`RunId::JOB_TAG`]). The log keeps no open run for it: the queue's lease watches it.
pub fn job_run_id(claimed: Timestamp, job: JobId, attempt: u32) -> RunId {
    let millis = (claimed.as_micros().max(0) / 1000) as u128 & ((1 << 48) - 1);
    // Version 7, then the 12 bits that mark a job's run in place of a sequence.
    let version_and_tag = (0x7u128 << 12) | RunId::JOB_TAG as u128;
    let variant = 0b10u128 << 62;
    let low = ((job.0 as u64 as u128 & ((1 << 46) - 1)) << 16) | u128::from(attempt & 0xffff);
    RunId::from_u128((millis << 80) | (version_and_tag << 64) | variant | low)
}

/// How an attempt ended, as a worker reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// It succeeded, with its value as JSON text (`None`: no value).
    Succeeded {
        /// The value.
        result: Option<String>,
    },
    /// It failed; with `retry_at`, it runs again then, otherwise it is kept as failed.
    Failed {
        /// What went wrong.
        error: String,
        /// When to try again, if the job has attempts left.
        retry_at: Option<Timestamp>,
    },
    /// The worker gives it back unrun (shutting down): queued again, at once, and this
    /// attempt does not count against the limit.
    Released,
}

/// A worker's report on one attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The job.
    pub id: JobId,
    /// The attempt the worker ran (the fencing token).
    pub attempt: u32,
    /// How it ended.
    pub completion: Completion,
}

/// An attempt whose lease expired, found and closed by [`JobStore::reap`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReapedAttempt {
    /// The job.
    pub id: JobId,
    /// Its task.
    pub task: String,
    /// The attempt that crashed.
    pub attempt: u32,
    /// The worker that held it.
    pub worker: Option<InstanceId>,
    /// When it was claimed.
    pub claimed: Timestamp,
    /// Whether the job is queued again (else it used its last attempt and is failed).
    pub requeued: bool,
}

impl ReapedAttempt {
    /// The id of the attempt's run in the log.
    pub fn run_id(&self) -> RunId {
        job_run_id(self.claimed, self.id, self.attempt)
    }
}

/// A job as the database holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    /// The job.
    pub id: JobId,
    /// Its task.
    pub task: String,
    /// Where it is.
    pub state: JobState,
    /// Its payload.
    pub payload: serde_json::Value,
    /// Its priority.
    pub priority: i32,
    /// Its uniqueness key.
    pub unique_key: Option<String>,
    /// The attempts made so far.
    pub attempts: u32,
    /// The attempts allowed.
    pub max_attempts: u32,
    /// When it is (or was) due.
    pub run_at: Timestamp,
    /// When it was enqueued.
    pub enqueued: Timestamp,
    /// When it finished (succeeded, failed for good, or was cancelled).
    pub finished: Option<Timestamp>,
    /// The value of a job that succeeded, as JSON (`null` for none).
    pub result: Option<serde_json::Value>,
    /// The error of its latest failed attempt.
    pub error: Option<String>,
}

/// One attempt of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptInfo {
    /// Its number, from 1.
    pub attempt: u32,
    /// The worker that ran it.
    pub worker: Option<InstanceId>,
    /// When it was claimed.
    pub started: Timestamp,
    /// When it ended, if it has.
    pub finished: Option<Timestamp>,
    /// How it ended, if it has.
    pub outcome: Option<AttemptOutcome>,
    /// Its error.
    pub error: Option<String>,
}

/// How many jobs are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Queued.
    pub queued: u64,
    /// Running.
    pub running: u64,
    /// Succeeded.
    pub succeeded: u64,
    /// Failed.
    pub failed: u64,
    /// Cancelled.
    pub cancelled: u64,
}

impl JobCounts {
    fn add(&mut self, state: JobState, n: u64) {
        match state {
            JobState::Queued => self.queued += n,
            JobState::Running => self.running += n,
            JobState::Succeeded => self.succeeded += n,
            JobState::Failed => self.failed += n,
            JobState::Cancelled => self.cancelled += n,
        }
    }
}

/// An error of the queue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The store under the queue failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The store keeps the log only (the in-memory store without `with_jobs`): the queue
    /// needs SQLite or PostgreSQL.
    #[error(
        "the job queue needs a SQL store (SQLite or PostgreSQL); the log store in use keeps no jobs"
    )]
    NeedsSqlStore,
    /// `apply` without a queue given and no process-wide default set.
    #[error(
        "no job queue: start a scheduler on a SQL store, call `Queue::set_default`, or pass one with `.on(&queue)`"
    )]
    NoQueue,
    /// No job has this id.
    #[error("no job {0}")]
    UnknownJob(JobId),
    /// The job is not in a state that allows the request (cancelling a running job,
    /// retrying one that did not fail).
    #[error("job {id} is {state}: cannot {what} it")]
    WrongState {
        /// The job.
        id: JobId,
        /// Its state.
        state: JobState,
        /// What was asked.
        what: &'static str,
    },
    /// The payload cannot be written as JSON.
    #[error("the payload cannot be written as JSON")]
    Payload(#[source] serde_json::Error),
    /// A request that makes no sense (an empty task name, zero attempts).
    #[error("invalid job: {0}")]
    Invalid(String),
    /// A row the store cannot read.
    #[error("the job table holds a row this version cannot read: {0}")]
    Corrupt(String),
}

/// Where jobs are kept: what a worker, an enqueuing web server and a status page need.
///
/// Every write is one transaction; [`claim`](Self::claim) and
/// [`report`](Self::report) take batches, so that a busy worker commits once per batch
/// rather than once per job (a disk flush is milliseconds).
pub trait JobStore: Send + Sync + 'static {
    /// Adds a job (or finds the pending one with the same uniqueness key).
    fn enqueue<'a>(&'a self, job: &'a NewJob) -> BoxFuture<'a, Result<Enqueued, QueueError>>;

    /// Adds many jobs at once, in one transaction where the store has them (all or none):
    /// one commit instead of one per job, for a program that enqueues in bulk. The answer
    /// is in the order of `jobs`. A job with a uniqueness key behaves as with
    /// [`enqueue`](Self::enqueue) (a pending job with its key, including one earlier in the
    /// same batch, gives that job's id).
    ///
    /// The default enqueues one job after the other.
    fn enqueue_many<'a>(
        &'a self,
        jobs: &'a [NewJob],
    ) -> BoxFuture<'a, Result<Vec<Enqueued>, QueueError>> {
        Box::pin(async move {
            check_all(jobs)?;
            let mut enqueued = Vec::with_capacity(jobs.len());
            for job in jobs {
                enqueued.push(self.enqueue(job).await?);
            }
            Ok(enqueued)
        })
    }

    /// Claims up to `request.limit` due jobs of `request.tasks`, highest priority first, then
    /// oldest due first: each is `running`, leased to the worker until `now + lease`, with
    /// its attempt counted and recorded.
    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest,
    ) -> BoxFuture<'a, Result<Vec<ClaimedJob>, QueueError>>;

    /// Extends the worker's leases on `jobs` to `until`; gives the jobs it still holds (a
    /// job missing from the answer was taken from it: its result will be refused).
    fn heartbeat<'a>(
        &'a self,
        worker: InstanceId,
        jobs: &'a [(JobId, u32)],
        until: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<JobId>, QueueError>>;

    /// Records how attempts ended, in one transaction, at `now`. A report on an attempt
    /// that is no longer the job's running attempt (the lease expired and the job was
    /// taken again, or it was given up) changes nothing: the answer says, per report in
    /// order, whether it was recorded.
    fn report<'a>(
        &'a self,
        reports: &'a [Report],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<bool>, QueueError>>;

    /// Closes the attempts whose lease expired before `now` as crashed: each job is queued
    /// again at once, or failed when that was its last attempt.
    fn reap(&self, now: Timestamp) -> BoxFuture<'_, Result<Vec<ReapedAttempt>, QueueError>>;

    /// Cancels a queued job.
    fn cancel(&self, id: JobId, now: Timestamp) -> BoxFuture<'_, Result<(), QueueError>>;

    /// Queues a failed (or cancelled) job again, due `now`, with `attempts` more attempts.
    fn retry(
        &self,
        id: JobId,
        attempts: u32,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<(), QueueError>>;

    /// The job, if there is one with this id.
    fn job(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobInfo>, QueueError>>;

    /// The job's attempts, oldest first.
    fn attempts(&self, id: JobId) -> BoxFuture<'_, Result<Vec<AttemptInfo>, QueueError>>;

    /// The newest jobs (highest id first) that `filter` admits, at most `filter.limit`.
    fn list<'a>(&'a self, filter: &'a JobFilter)
    -> BoxFuture<'a, Result<Vec<JobInfo>, QueueError>>;

    /// How many jobs are in each state.
    fn counts(&self) -> BoxFuture<'_, Result<JobCounts, QueueError>>;

    /// How many jobs of each task are running (claimed by a worker whose lease has not
    /// been found expired), for the tasks with any: a job's run is not among the log's open
    /// runs, so this is how a program that inspects the log sees it going.
    fn running(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, QueueError>>;

    /// A way to be woken when jobs are enqueued (PostgreSQL's `LISTEN`; in the process
    /// for SQLite), if the store has one. Workers poll at a bounded interval besides.
    fn listen(&self) -> BoxFuture<'_, Result<Box<dyn JobWakeup>, QueueError>>;

    /// Deletes, in one transaction, up to `rule.limit` jobs that ended before the rule's
    /// instants, with their attempts; gives how many jobs it deleted (fewer than the limit:
    /// none is left to delete). Queued and running jobs are never deleted, nor a job queued
    /// again meanwhile.
    fn prune(&self, rule: PruneJobs) -> BoxFuture<'_, Result<u64, QueueError>>;
}

/// Which jobs [`JobStore::list`] gives: the newest first, of a state and a task when they
/// are given, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this state.
    pub state: Option<JobState>,
    /// Only jobs of this task.
    pub task: Option<String>,
    /// At most this many.
    pub limit: usize,
}

impl Default for JobFilter {
    /// Any job, the newest 20.
    fn default() -> Self {
        JobFilter {
            state: None,
            task: None,
            limit: 20,
        }
    }
}

/// How long jobs that ended are kept, after which workers delete them with their attempts.
///
/// A job's row is its status and result for whoever holds its id (a page that polls
/// `GET /jobs/{id}`, [`Queue::wait`]), and a failed job is a dead letter that
/// [`Queue::retry`] can queue again; neither is needed forever, and a busy queue adds a
/// row per job. A worker deletes what is past its retention a minute after it starts and
/// then about once an hour, a batch of [`PRUNE_BATCH`] jobs at a time between its claims (set in
/// [`WorkerConfig::retention`](crate::runtime::WorkerConfig::retention)).
/// [`Queue::prune`] does the same on demand. The runs' records in the log are kept by the
/// log's own retention.
///
/// ```
/// use std::time::Duration;
/// use scheduler_core::queue::JobRetention;
///
/// let day = Duration::from_secs(86_400);
/// assert_eq!(JobRetention::default(), JobRetention { finished: Some(7 * day), failed: Some(30 * day) });
/// // Results read within the hour, failures kept for good.
/// let short = JobRetention { finished: Some(Duration::from_secs(3600)), failed: None };
/// # let _ = short;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobRetention {
    /// How long a job that succeeded or was cancelled is kept after it ended (default 7
    /// days; `None` keeps it).
    pub finished: Option<Duration>,
    /// How long a job that failed (its last attempt failed or crashed) is kept after it
    /// ended (default 30 days; `None` keeps it).
    pub failed: Option<Duration>,
}

impl Default for JobRetention {
    fn default() -> Self {
        const DAY: Duration = Duration::from_secs(86_400);
        JobRetention {
            finished: Some(DAY * 7),
            failed: Some(DAY * 30),
        }
    }
}

impl JobRetention {
    /// Keeps every job.
    pub const KEEP_ALL: JobRetention = JobRetention {
        finished: None,
        failed: None,
    };

    /// The rule that deletes, at `now`, up to `limit` of the jobs past this retention.
    pub fn at(&self, now: Timestamp, limit: usize) -> PruneJobs {
        let before = |keep: Option<Duration>| keep.map(|d| before(now, d));
        PruneJobs {
            finished_before: before(self.finished),
            failed_before: before(self.failed),
            limit,
        }
    }
}

/// Jobs deleted per transaction when jobs past their retention are pruned: a batch is
/// short (tens of milliseconds), so that a worker's claims and reports go on between
/// batches, and a backlog (the first prune of a queue that kept everything) is deleted a
/// batch at a time.
pub const PRUNE_BATCH: usize = 10_000;

/// Which jobs [`JobStore::prune`] deletes: those that ended before these instants (`None`:
/// none of that kind), at most `limit` of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PruneJobs {
    /// Jobs that succeeded or were cancelled before this.
    pub finished_before: Option<Timestamp>,
    /// Jobs that failed before this.
    pub failed_before: Option<Timestamp>,
    /// At most this many jobs.
    pub limit: usize,
}

impl PruneJobs {
    /// Whether this rule deletes a job in `state` that ended at `finished`.
    pub fn deletes(&self, state: JobState, finished: Option<Timestamp>) -> bool {
        let Some(finished) = finished else {
            return false;
        };
        let before = match state {
            JobState::Succeeded | JobState::Cancelled => self.finished_before,
            JobState::Failed => self.failed_before,
            JobState::Queued | JobState::Running => None,
        };
        before.is_some_and(|b| finished < b)
    }

    /// The rule's instants as the SQL stores bind them: `i64::MIN` (nothing ends before it)
    /// for a kind it keeps.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn cutoffs(&self) -> (i64, i64) {
        let micros = |t: Option<Timestamp>| t.map_or(i64::MIN, Timestamp::as_micros);
        (micros(self.finished_before), micros(self.failed_before))
    }
}

/// Wakes a worker when jobs may have been enqueued.
pub trait JobWakeup: Send {
    /// Resolves at the next enqueue seen (possibly at once, or spuriously).
    fn next(&mut self) -> BoxFuture<'_, ()>;
}

/// The retry policy of failed attempts: exponential backoff with jitter.
///
/// The delay before attempt `n + 1` (after `n` failed attempts) is `base × 2^(n-1)`, at
/// most `max`; with `jitter` on, a part of it drawn from the job's id and attempt (so that
/// jobs failing together spread out, and a test can compute each instant): the delay is
/// `d/2 + (hash(job, n) mod d/2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
    /// Whether half of each delay is drawn.
    pub jitter: bool,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(3600),
            jitter: true,
        }
    }
}

impl Backoff {
    /// The delay after the failed attempt `attempt` (from 1) of `job`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scheduler_core::queue::{Backoff, JobId};
    ///
    /// let fixed = Backoff { base: Duration::from_secs(2), max: Duration::from_secs(60), jitter: false };
    /// assert_eq!(fixed.delay(JobId(1), 1), Duration::from_secs(2));
    /// assert_eq!(fixed.delay(JobId(1), 3), Duration::from_secs(8));
    /// assert_eq!(fixed.delay(JobId(1), 10), Duration::from_secs(60));
    /// let jittered = Backoff { jitter: true, ..fixed };
    /// let d = jittered.delay(JobId(7), 3);
    /// assert!(d >= Duration::from_secs(4) && d < Duration::from_secs(8));
    /// ```
    pub fn delay(&self, job: JobId, attempt: u32) -> Duration {
        let exponent = attempt.saturating_sub(1).min(40);
        let full = self
            .base
            .checked_mul(1u32 << exponent.min(31))
            .and_then(|d| {
                if exponent > 31 {
                    d.checked_mul(1 << (exponent - 31))
                } else {
                    Some(d)
                }
            })
            .map_or(self.max, |d| d.min(self.max));
        if !self.jitter {
            return full;
        }
        let half = full / 2;
        let half_micros = half.as_micros() as u64;
        if half_micros == 0 {
            return full;
        }
        // SplitMix64 of the job and attempt: the same job and attempt, the same delay.
        let mut z = (job.0 as u64) ^ (u64::from(attempt) << 48) ^ 0x9e37_79b9_7f4a_7c15;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        half + Duration::from_micros(z % half_micros)
    }
}

/// The instant `d` before `t` (saturating).
fn before(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_micros(
        t.as_micros()
            .saturating_sub(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
    )
}

/// The instant `d` after `t` (saturating).
pub fn after(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_micros(
        t.as_micros()
            .saturating_add(i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
    )
}

/// The checks every store makes of a job before writing it.
pub(crate) fn check(job: &NewJob) -> Result<(), QueueError> {
    if job.task.trim().is_empty() {
        return Err(QueueError::Invalid("the task name is empty".to_owned()));
    }
    if job.max_attempts == 0 {
        return Err(QueueError::Invalid(
            "max_attempts is 0: a job needs at least one attempt".to_owned(),
        ));
    }
    Ok(())
}

/// The checks of [`check`], of every job of a batch (before any is written).
pub(crate) fn check_all(jobs: &[NewJob]) -> Result<(), QueueError> {
    jobs.iter().try_for_each(check)
}

/// The payload's JSON text as stored.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn payload_text(job: &NewJob) -> String {
    job.payload.to_string()
}

/// A stored JSON text, read back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn json_of(text: &str) -> Result<serde_json::Value, QueueError> {
    serde_json::from_str(text).map_err(|e| QueueError::Corrupt(format!("a payload or result: {e}")))
}

/// The state, result and error a report writes.
pub(crate) struct Written<'a> {
    pub(crate) state: JobState,
    pub(crate) outcome: AttemptOutcome,
    pub(crate) result: Option<&'a str>,
    pub(crate) error: Option<&'a str>,
    /// The new due instant (retries, released jobs).
    pub(crate) run_at: Option<Timestamp>,
    /// The job's end (final states).
    pub(crate) finished: Option<Timestamp>,
    /// 1 for a released job: its attempt does not count against the limit.
    pub(crate) extra_attempts: i64,
}

pub(crate) fn written(completion: &Completion, now: Timestamp) -> Written<'_> {
    match completion {
        Completion::Succeeded { result } => Written {
            state: JobState::Succeeded,
            outcome: AttemptOutcome::Succeeded,
            result: Some(result.as_deref().unwrap_or("null")),
            error: None,
            run_at: None,
            finished: Some(now),
            extra_attempts: 0,
        },
        Completion::Failed { error, retry_at } => Written {
            state: if retry_at.is_some() {
                JobState::Queued
            } else {
                JobState::Failed
            },
            outcome: AttemptOutcome::Failed,
            result: None,
            error: Some(error),
            run_at: *retry_at,
            finished: retry_at.is_none().then_some(now),
            extra_attempts: 0,
        },
        Completion::Released => Written {
            state: JobState::Queued,
            outcome: AttemptOutcome::Released,
            result: None,
            error: None,
            run_at: Some(now),
            finished: None,
            extra_attempts: 1,
        },
    }
}

/// An attempt's stored outcome, read back.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn attempt_outcome(text: Option<String>) -> Option<AttemptOutcome> {
    text.as_deref().and_then(AttemptOutcome::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_run_ids_are_distinct_per_attempt_and_sort_by_claim() {
        let at = Timestamp::from_micros(1_700_000_000_000_000);
        let a = job_run_id(at, JobId(42), 1);
        let b = job_run_id(at, JobId(42), 2);
        let c = job_run_id(at, JobId(43), 1);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.unix_millis(), 1_700_000_000_000);
        let later = job_run_id(Timestamp::from_micros(1_700_000_000_001_000), JobId(1), 1);
        assert!(later > c);
        // A UUID of version 7.
        assert_eq!(a.to_string().as_bytes()[14], b'7');
    }

    #[test]
    fn backoff_doubles_up_to_its_maximum_and_jitters_within_the_upper_half() {
        let b = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: false,
        };
        let delays: Vec<u128> = (1..=6).map(|n| b.delay(JobId(1), n).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(JobId(1), u32::MAX), Duration::from_secs(1));
        let j = Backoff { jitter: true, ..b };
        let mut distinct = std::collections::HashSet::new();
        for job in 0..50 {
            let d = j.delay(JobId(job), 3);
            assert!(d >= Duration::from_millis(200) && d < Duration::from_millis(400));
            assert_eq!(d, j.delay(JobId(job), 3), "the same job, the same delay");
            distinct.insert(d);
        }
        assert!(distinct.len() > 40, "jobs spread out: {}", distinct.len());
    }
}
