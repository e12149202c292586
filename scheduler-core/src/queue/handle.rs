//! [`Queue`], the handle that enqueues jobs and reads their status (cloneable, for an axum
//! handler's state), the process-wide default a running scheduler sets, and
//! [`OnDemand`], the typed `apply` of every `#[task]`.

use std::future::IntoFuture;
use std::marker::PhantomData;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::BoxFuture;
use crate::log::LogStore;
use crate::runtime::{Clock, SystemClock, TaskMarker};
use crate::time::Timestamp;

use super::{
    AttemptInfo, Enqueued, JobCounts, JobFilter, JobId, JobInfo, JobRetention, JobStore, NewJob,
    PRUNE_BATCH, QueueError,
};

/// The queue a running scheduler on a SQL store sets, which `apply` uses when it is given
/// none.
static DEFAULT: RwLock<Option<Queue>> = RwLock::new(None);

/// A handle on the job queue of a SQL store: enqueue, read a job's status, cancel, retry,
/// wait. Cheap to clone; the store's connection pool is shared.
///
/// ```no_run
/// # async fn f() -> Result<(), scheduler_core::queue::QueueError> {
/// use scheduler_core::queue::Queue;
///
/// let queue = Queue::open("sqlite:app.db").await?;
/// let id = queue.enqueue_json("send_email", serde_json::json!({"to": "a@example.com"})).await?;
/// println!("{:?}", queue.status(id).await?.map(|job| job.state));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queue {
    store: Arc<dyn LogStore>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

impl Queue {
    /// The queue of `store`, if it keeps one (SQLite, PostgreSQL).
    pub fn new(store: Arc<dyn LogStore>) -> Result<Queue, QueueError> {
        if store.jobs().is_none() {
            return Err(QueueError::NeedsSqlStore);
        }
        Ok(Queue {
            store,
            clock: Arc::new(SystemClock),
        })
    }

    /// Opens the store at `url` (see `log::store::open`) and its queue: what a web server
    /// that runs no scheduler enqueues through.
    pub async fn open(url: &str) -> Result<Queue, QueueError> {
        Queue::new(crate::log::store::open(url).await?)
    }

    /// The same queue, reading instants from `clock` (a test's virtual clock).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Queue {
        self.clock = clock;
        self
    }

    /// The store the queue is kept in.
    pub fn store(&self) -> &Arc<dyn LogStore> {
        &self.store
    }

    /// The queue's tables.
    pub fn jobs(&self) -> &dyn JobStore {
        self.store
            .jobs()
            .expect("a Queue is only made of a store with jobs")
    }

    /// Now, by the queue's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Makes this queue the process-wide default, which `apply` uses when given none.
    pub fn set_default(&self) {
        *DEFAULT.write().unwrap_or_else(|e| e.into_inner()) = Some(self.clone());
    }

    /// The process-wide default queue, if one is set.
    pub fn default_queue() -> Option<Queue> {
        DEFAULT.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Removes the default if it is this queue's store (a scheduler that stops).
    pub(crate) fn clear_default_if(store: &Arc<dyn LogStore>) {
        let mut default = DEFAULT.write().unwrap_or_else(|e| e.into_inner());
        if default
            .as_ref()
            .is_some_and(|q| Arc::ptr_eq(&q.store, store))
        {
            *default = None;
        }
    }

    /// Enqueues a job.
    pub async fn enqueue(&self, job: &NewJob) -> Result<Enqueued, QueueError> {
        self.jobs().enqueue(job).await
    }

    /// Enqueues many jobs in one transaction (all or none), in their order: one commit for
    /// the lot rather than one per job. See [`JobStore::enqueue_many`].
    pub async fn enqueue_many(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, QueueError> {
        self.jobs().enqueue_many(jobs).await
    }

    /// Enqueues a job of `task` with a JSON payload, due now, with the default options:
    /// for callers that know the task by name only (a web handler's path, a CLI).
    pub async fn enqueue_json(
        &self,
        task: &str,
        payload: serde_json::Value,
    ) -> Result<JobId, QueueError> {
        Ok(self
            .enqueue(&NewJob::new(task, payload, self.now()))
            .await?
            .id)
    }

    /// The job, if there is one with this id.
    pub async fn status(&self, id: JobId) -> Result<Option<JobInfo>, QueueError> {
        self.jobs().job(id).await
    }

    /// The job's attempts, oldest first.
    pub async fn attempts(&self, id: JobId) -> Result<Vec<AttemptInfo>, QueueError> {
        self.jobs().attempts(id).await
    }

    /// How many jobs are in each state.
    pub async fn counts(&self) -> Result<JobCounts, QueueError> {
        self.jobs().counts().await
    }

    /// The newest jobs that `filter` admits (a status page, the CLI's `jobs list`).
    pub async fn list(&self, filter: &JobFilter) -> Result<Vec<JobInfo>, QueueError> {
        self.jobs().list(filter).await
    }

    /// Deletes now every job past `retention` (see [`JobRetention`]), with its attempts, a
    /// batch of [`PRUNE_BATCH`] at a time, one transaction each; gives how many it deleted.
    /// Workers do this on their own ([`WorkerConfig::retention`]); this is for a program
    /// that runs no worker, or wants it done at a time of its choosing.
    ///
    /// [`WorkerConfig::retention`]: crate::runtime::WorkerConfig::retention
    pub async fn prune(&self, retention: JobRetention) -> Result<u64, QueueError> {
        let rule = retention.at(self.now(), PRUNE_BATCH);
        let mut deleted = 0;
        loop {
            let gone = self.jobs().prune(rule).await?;
            deleted += gone;
            if gone < PRUNE_BATCH as u64 {
                return Ok(deleted);
            }
        }
    }

    /// Cancels a queued job ([`QueueError::WrongState`] once it runs or has finished).
    pub async fn cancel(&self, id: JobId) -> Result<(), QueueError> {
        self.jobs().cancel(id, self.now()).await
    }

    /// Queues a failed or cancelled job again, with `attempts` more attempts.
    pub async fn retry(&self, id: JobId, attempts: u32) -> Result<(), QueueError> {
        self.jobs().retry(id, attempts, self.now()).await
    }

    /// Waits until the job has finished (succeeded, failed for good, or cancelled), and
    /// gives it. Reads its status at growing intervals, from 1 ms to 100 ms.
    pub async fn wait(&self, id: JobId) -> Result<JobInfo, QueueError> {
        let mut pause = Duration::from_millis(1);
        loop {
            match self.status(id).await? {
                None => return Err(QueueError::UnknownJob(id)),
                Some(job) if job.state.is_final() => return Ok(job),
                Some(_) => {}
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(100));
        }
    }
}

/// When a job is due.
#[derive(Debug, Clone, Copy)]
enum When {
    Now,
    At(Timestamp),
    In(Duration),
}

/// A job of the task `M` about to be enqueued: `.await` it (or call
/// [`enqueue`](Self::enqueue)) to enqueue it and get its id; set its options first.
///
/// ```no_run
/// # use scheduler_core::queue::{Apply, Queue};
/// # async fn f<M: scheduler_core::runtime::TaskMarker>(apply: Apply<M>, queue: Queue) -> Result<(), scheduler_core::queue::QueueError> {
/// let id = apply.priority(10).unique("welcome:42").max_attempts(5).on(&queue).await?;
/// # Ok(()) }
/// ```
#[must_use = "a job is enqueued when the `Apply` is awaited"]
pub struct Apply<M: TaskMarker> {
    payload: Result<serde_json::Value, QueueError>,
    when: When,
    priority: i32,
    unique_key: Option<String>,
    max_attempts: u32,
    queue: Option<Queue>,
    task: PhantomData<fn() -> M>,
}

impl<M: TaskMarker> std::fmt::Debug for Apply<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Apply")
            .field("task", &M::NAME)
            .field("when", &self.when)
            .field("priority", &self.priority)
            .field("unique_key", &self.unique_key)
            .finish_non_exhaustive()
    }
}

impl<M: TaskMarker> Apply<M> {
    /// The job of `payload` (written as JSON now; an error waits for the enqueue) due
    /// `when`: what `apply`, `apply_at` and `apply_in` differ by.
    fn of<P: serde::Serialize>(payload: &P, when: When) -> Apply<M> {
        Apply {
            payload: serde_json::to_value(payload).map_err(QueueError::Payload),
            when,
            priority: 0,
            unique_key: None,
            max_attempts: super::DEFAULT_MAX_ATTEMPTS,
            queue: None,
            task: PhantomData,
        }
    }

    /// Runs before due jobs of lower priority (default 0).
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// While a job of this task with this key is queued or running, enqueueing gives its
    /// id instead of adding another.
    pub fn unique(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// How many attempts it may take before it is kept as failed (default 3).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Enqueues on `queue` instead of the process-wide default.
    pub fn on(mut self, queue: &Queue) -> Self {
        self.queue = Some(queue.clone());
        self
    }

    /// The job as it would be enqueued at `now`.
    pub fn job(&self, now: Timestamp) -> Result<NewJob, QueueError> {
        let payload = match &self.payload {
            Ok(payload) => payload.clone(),
            Err(QueueError::Payload(e)) => {
                return Err(QueueError::Invalid(format!(
                    "the payload cannot be written as JSON: {e}"
                )));
            }
            Err(e) => return Err(QueueError::Invalid(e.to_string())),
        };
        let run_at = match self.when {
            When::Now => now,
            When::At(at) => at,
            When::In(delay) => super::after(now, delay),
        };
        Ok(NewJob {
            task: M::NAME.to_owned(),
            payload,
            run_at,
            priority: self.priority,
            unique_key: self.unique_key.clone(),
            max_attempts: self.max_attempts,
            enqueued: now,
        })
    }

    fn queue(&self) -> Result<Queue, QueueError> {
        match &self.queue {
            Some(queue) => Ok(queue.clone()),
            None => Queue::default_queue().ok_or(QueueError::NoQueue),
        }
    }

    /// Enqueues the job; gives its id (an existing job's, for a uniqueness key already
    /// pending).
    pub async fn enqueue(mut self) -> Result<JobId, QueueError> {
        let queue = self.queue()?;
        let payload = std::mem::replace(&mut self.payload, Ok(serde_json::Value::Null));
        self.payload = Ok(payload?);
        let job = self.job(queue.now())?;
        Ok(queue.enqueue(&job).await?.id)
    }

    /// Enqueues the job inside the application's own SQLite transaction (or connection):
    /// the job exists if and only if the transaction commits.
    #[cfg(feature = "sqlite")]
    pub async fn in_sqlite_tx(
        self,
        connection: &mut sqlx::SqliteConnection,
    ) -> Result<JobId, QueueError> {
        let now = self
            .queue
            .as_ref()
            .map_or_else(|| SystemClock.now(), |q| q.now());
        let job = self.job(now)?;
        Ok(super::sqlite::enqueue_in(connection, &job).await?.id)
    }

    /// Enqueues the job inside the application's own PostgreSQL transaction: the job
    /// exists (and idle workers hear of it) if and only if the transaction commits.
    #[cfg(feature = "postgres")]
    pub async fn in_postgres_tx(
        self,
        connection: &mut sqlx::PgConnection,
    ) -> Result<JobId, QueueError> {
        let now = self
            .queue
            .as_ref()
            .map_or_else(|| SystemClock.now(), |q| q.now());
        let job = self.job(now)?;
        Ok(super::postgres::enqueue_in(connection, &job).await?.id)
    }
}

impl<M: TaskMarker> IntoFuture for Apply<M> {
    type Output = Result<JobId, QueueError>;
    type IntoFuture = BoxFuture<'static, Result<JobId, QueueError>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.enqueue())
    }
}

/// The on-demand side of every `#[task]`: `send_email::apply(payload).await?` enqueues a
/// durable job, typed by the task's `Payload<T>` parameter (`()` for a task without one).
/// In the prelude; implemented for every task's marker type.
///
/// ```ignore
/// use scheduler::prelude::*;
///
/// #[task]
/// async fn send_email(msg: Payload<Email>) -> anyhow::Result<()> { Ok(()) }
///
/// let id = send_email::apply(Email { to: "a@example.com".into() }).priority(5).await?;
/// let later = send_email::apply_in(Duration::from_secs(60), email).await?;
/// ```
pub trait OnDemand: TaskMarker + Sized {
    /// A job of this task with `payload`, due now.
    fn apply(payload: Self::Payload) -> Apply<Self>
    where
        Self::Payload: serde::Serialize,
    {
        Apply::of(&payload, When::Now)
    }

    /// A job of this task with `payload`, due at `at`.
    fn apply_at(at: impl Into<Timestamp>, payload: Self::Payload) -> Apply<Self>
    where
        Self::Payload: serde::Serialize,
    {
        Apply::of(&payload, When::At(at.into()))
    }

    /// A job of this task with `payload`, due after `delay`.
    fn apply_in(delay: Duration, payload: Self::Payload) -> Apply<Self>
    where
        Self::Payload: serde::Serialize,
    {
        Apply::of(&payload, When::In(delay))
    }

    /// Jobs of this task, one per payload, due now, enqueued together in one transaction
    /// (all or none) when awaited: for a program that enqueues in bulk, one commit for the
    /// lot. Gives the ids in the payloads' order.
    fn apply_many<I>(payloads: I) -> ApplyMany<Self>
    where
        I: IntoIterator<Item = Self::Payload>,
        Self::Payload: serde::Serialize,
    {
        ApplyMany {
            payloads: payloads
                .into_iter()
                .map(|p| serde_json::to_value(&p).map_err(QueueError::Payload))
                .collect(),
            queue: None,
            task: PhantomData,
        }
    }
}

impl<M: TaskMarker> OnDemand for M {}

/// Jobs of the task `M` about to be enqueued together ([`OnDemand::apply_many`]): `.await`
/// it to enqueue them and get their ids.
#[must_use = "the jobs are enqueued when the `ApplyMany` is awaited"]
pub struct ApplyMany<M: TaskMarker> {
    payloads: Result<Vec<serde_json::Value>, QueueError>,
    queue: Option<Queue>,
    task: PhantomData<fn() -> M>,
}

impl<M: TaskMarker> std::fmt::Debug for ApplyMany<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyMany")
            .field("task", &M::NAME)
            .finish_non_exhaustive()
    }
}

impl<M: TaskMarker> ApplyMany<M> {
    /// Enqueues on `queue` instead of the process-wide default.
    pub fn on(mut self, queue: &Queue) -> Self {
        self.queue = Some(queue.clone());
        self
    }

    /// Enqueues the jobs; gives their ids, in the payloads' order.
    pub async fn enqueue(self) -> Result<Vec<JobId>, QueueError> {
        let queue = match self.queue {
            Some(queue) => queue,
            None => Queue::default_queue().ok_or(QueueError::NoQueue)?,
        };
        let now = queue.now();
        let jobs: Vec<NewJob> = self
            .payloads?
            .into_iter()
            .map(|payload| NewJob::new(M::NAME, payload, now))
            .collect();
        Ok(queue
            .enqueue_many(&jobs)
            .await?
            .into_iter()
            .map(|e| e.id)
            .collect())
    }
}

impl<M: TaskMarker> IntoFuture for ApplyMany<M> {
    type Output = Result<Vec<JobId>, QueueError>;
    type IntoFuture = BoxFuture<'static, Result<Vec<JobId>, QueueError>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.enqueue())
    }
}
