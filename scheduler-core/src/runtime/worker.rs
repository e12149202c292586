//! The job queue's worker: claims due jobs from the store in batches, hands each to the
//! scheduler's loop as a run of its task (so that every attempt is in the log, `run` then
//! its outcome, and conditions such as `after task 'send_email' succeeded` see it), and
//! reports how each ended, in batches, fenced on the attempt number.
//!
//! It runs beside the loop of a scheduler (the default role when the store keeps a queue),
//! or alone (`scheduler::worker()`: a scheduler that starts nothing by its conditions).
//! Besides claiming, it renews its leases (a heartbeat every third of the lease), takes
//! back the jobs of workers whose leases expired (writing their runs' `crash` records),
//! retries failed attempts with [`Backoff`], deletes jobs past their [`JobRetention`], and
//! on shutdown finishes (graceful) or gives back (instant) what it holds. It wakes on
//! `LISTEN` (PostgreSQL) or an enqueue in this process (SQLite), and polls at
//! [`WorkerConfig::poll`] otherwise.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};

use crate::log::{Action, InstanceId, LogRecord, LogStore};
use crate::queue::{
    Backoff, ClaimRequest, ClaimedJob, Completion, JobId, JobRetention, JobWakeup, PRUNE_BATCH,
    Report, after,
};
use crate::time::Timestamp;

use super::clock::Clock;
use super::session::{JobEnded, JobReply, JobRun, JobRunEnd, Session};

/// How often a worker deletes the jobs past their retention.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How long after its start a worker first prunes: a worker that starts into a backlog
/// claims first, rather than scanning the table of jobs as its first statement.
const PRUNE_FIRST: Duration = Duration::from_secs(60);

/// How soon a prune that failed is tried again.
const PRUNE_RETRY: Duration = Duration::from_secs(60);

/// How a worker claims and runs jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerConfig {
    /// At most this many jobs run at once in this worker (default 64).
    pub concurrency: usize,
    /// At most this many jobs of a task run at once in this worker.
    pub task_limits: BTreeMap<String, usize>,
    /// At most this many jobs per claim (default 256).
    pub batch: usize,
    /// How long a claimed job stays the worker's without a heartbeat (default 30 s); a job
    /// whose worker died runs again after this.
    pub lease: Duration,
    /// How often an idle worker looks for due jobs without being woken (default 200 ms).
    pub poll: Duration,
    /// How long reports wait to be written together (default 2 ms).
    pub report_delay: Duration,
    /// The delays between failed attempts.
    pub backoff: Backoff,
    /// Only the jobs of these tasks (default: every task of the scheduler).
    pub tasks: Option<Vec<String>>,
    /// How long jobs that ended are kept before the worker deletes them (default: those
    /// that succeeded or were cancelled 7 days, those that failed 30 days).
    pub retention: JobRetention,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            concurrency: 64,
            task_limits: BTreeMap::new(),
            batch: 256,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            report_delay: Duration::from_millis(2),
            backoff: Backoff::default(),
            tasks: None,
            retention: JobRetention::default(),
        }
    }
}

impl WorkerConfig {
    /// At most `n` jobs at once.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// At most `n` jobs of `task` at once.
    pub fn task_limit(mut self, task: impl Into<String>, n: usize) -> Self {
        self.task_limits.insert(task.into(), n.max(1));
        self
    }

    /// The lease of a claimed job.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(10));
        self
    }

    /// The polling interval of an idle worker.
    pub fn poll(mut self, poll: Duration) -> Self {
        self.poll = poll.max(Duration::from_millis(1));
        self
    }

    /// The retry policy.
    pub fn backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Jobs per claim.
    pub fn batch(mut self, n: usize) -> Self {
        self.batch = n.max(1);
        self
    }

    /// Only the jobs of `tasks`.
    pub fn tasks<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tasks: I) -> Self {
        self.tasks = Some(tasks.into_iter().map(Into::into).collect());
        self
    }

    /// How long jobs that ended are kept: the worker deletes those past it (with their
    /// attempts) a minute after it starts and then every [`PRUNE_EVERY`], a batch at a time
    /// between its claims. Any worker on the database may delete them, so give every
    /// worker the same retention. [`JobRetention::KEEP_ALL`] keeps every job.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scheduler_core::queue::JobRetention;
    /// use scheduler_core::runtime::WorkerConfig;
    ///
    /// let config = WorkerConfig::default().retention(JobRetention {
    ///     finished: Some(Duration::from_secs(24 * 3600)),
    ///     failed: None,
    /// });
    /// # let _ = config;
    /// ```
    pub fn retention(mut self, retention: JobRetention) -> Self {
        self.retention = retention;
        self
    }
}

/// Whether a scheduler runs a job worker beside its loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum WorkerMode {
    /// With the defaults, when the store keeps a queue and the clock is the system's (a
    /// test on a virtual clock asks for one).
    Auto,
    /// With this configuration, when the store keeps a queue.
    On(WorkerConfig),
    /// None.
    Off,
}

/// What the worker needs from the engine that starts it.
pub(crate) struct WorkerParts {
    pub(crate) session: Session,
    pub(crate) store: Arc<dyn LogStore>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) instance: InstanceId,
    pub(crate) config: WorkerConfig,
    pub(crate) stop: watch::Receiver<bool>,
}

/// A job this worker holds.
struct Held {
    attempt: u32,
    max_attempts: u32,
    task: String,
}

struct Worker {
    parts: WorkerParts,
    ends_tx: mpsc::UnboundedSender<JobRunEnd>,
    held: HashMap<JobId, Held>,
    running: HashMap<String, usize>,
    reports: Vec<Report>,
    /// The log record of each report's run end (beside `reports`, in the same order),
    /// written once the queue has answered (see `JobEnded::Ran::record`).
    records: Vec<Option<Box<LogRecord>>>,
    reports_since: Option<Timestamp>,
    stopping: bool,
    /// The last claim filled its batch: more jobs may be due.
    more: bool,
    next_poll: Timestamp,
    next_heartbeat: Timestamp,
    next_reap: Timestamp,
    /// When jobs past their retention are deleted next.
    next_prune: Timestamp,
    /// After a store error, nothing is tried before this.
    pause_until: Option<Timestamp>,
    /// When the worker was told to stop.
    stopping_since: Option<Timestamp>,
}

/// Runs a worker until `parts.stop` says so and it has finished or given back its jobs.
pub(crate) async fn run_worker(parts: WorkerParts) {
    let Some(jobs) = parts.store.jobs() else {
        return;
    };
    let mut wakeup: Option<Box<dyn JobWakeup>> = match jobs.listen().await {
        Ok(w) => Some(w),
        Err(error) => {
            tracing::warn!("the worker cannot be woken by new jobs, it polls: {error}");
            None
        }
    };
    let (ends_tx, mut ends_rx) = mpsc::unbounded_channel();
    let now = parts.clock.now();
    let mut worker = Worker {
        parts,
        ends_tx,
        held: HashMap::new(),
        running: HashMap::new(),
        reports: Vec::new(),
        records: Vec::new(),
        reports_since: None,
        stopping: false,
        more: true,
        next_poll: now,
        next_heartbeat: now,
        next_reap: now,
        next_prune: after(now, PRUNE_FIRST),
        pause_until: None,
        stopping_since: None,
    };
    tracing::info!(
        instance = %worker.parts.instance,
        concurrency = worker.parts.config.concurrency,
        "the job worker started"
    );
    loop {
        while let Ok(end) = ends_rx.try_recv() {
            worker.ended(end);
        }
        if *worker.parts.stop.borrow() {
            worker.stopping = true;
        }
        worker.step().await;
        if worker.stopping && worker.held.is_empty() && worker.reports.is_empty() {
            break;
        }
        // A store that refuses the last reports does not hold the shutdown up past a lease:
        // the jobs' leases expire and another worker runs them again.
        let now = worker.clock_now();
        let since = match worker.stopping {
            true => Some(*worker.stopping_since.get_or_insert(now)),
            false => None,
        };
        if since.is_some_and(|since| now > after(since, worker.config().lease)) {
            tracing::error!(
                unreported = worker.reports.len(),
                held = worker.held.len(),
                "the job worker stops without recording how some jobs ended: they run again once their leases expire"
            );
            break;
        }
        if worker.ready_to_claim() && worker.more {
            // A full batch came (more may be due) or runs ended, and there is room.
            continue;
        }
        let deadline = worker.deadline();
        let clock = worker.parts.clock.clone();
        let sleep = clock.sleep_until(deadline);
        let listen = worker.ready_to_claim() && wakeup.is_some();
        tokio::select! {
            biased;
            end = ends_rx.recv() => {
                if let Some(end) = end {
                    worker.ended(end);
                }
            }
            _ = worker.parts.stop.changed() => {}
            () = async {
                match wakeup.as_mut() {
                    Some(w) if listen => w.next().await,
                    _ => std::future::pending().await,
                }
            } => {
                worker.next_poll = worker.clock_now();
            }
            () = sleep => {}
        }
    }
    tracing::info!(instance = %worker.parts.instance, "the job worker stopped");
}

impl Worker {
    fn clock_now(&self) -> Timestamp {
        self.parts.clock.now()
    }

    fn config(&self) -> &WorkerConfig {
        &self.parts.config
    }

    fn jobs(&self) -> &dyn crate::queue::JobStore {
        self.parts
            .store
            .jobs()
            .expect("a worker only runs on a store with jobs")
    }

    /// Whether a claim may run now: not stopping, room for work, not pausing after errors,
    /// and (when the last batch was full) room for a good part of a batch.
    fn ready_to_claim(&self) -> bool {
        let free = self.config().concurrency.saturating_sub(self.held.len());
        !self.stopping
            && free > 0
            && self
                .pause_until
                .is_none_or(|until| self.clock_now() >= until)
            && (self.held.is_empty() || free * 2 >= self.config().concurrency)
    }

    /// The next instant the worker must act at by itself.
    fn deadline(&self) -> Timestamp {
        let mut next = self.next_reap;
        if !self.stopping {
            next = next.min(self.next_prune);
        }
        if !self.held.is_empty() {
            next = next.min(self.next_heartbeat);
        }
        if !self.stopping && self.held.len() < self.config().concurrency {
            next = next.min(self.next_poll);
        }
        if let Some(since) = self.reports_since {
            next = next.min(after(since, self.config().report_delay));
        }
        if let Some(until) = self.pause_until {
            next = next.max(until);
        }
        next
    }

    fn ended(&mut self, mut end: JobRunEnd) {
        let (id, attempt) = end.key;
        let Some(held) = self.held.remove(&id) else {
            return;
        };
        if let Some(n) = self.running.get_mut(&held.task) {
            *n = n.saturating_sub(1);
        }
        let now = self.clock_now();
        let record = match &mut end.ended {
            JobEnded::Ran { record, .. } => record.take(),
            JobEnded::NotStarted(_) => None,
        };
        let completion = match end.ended {
            JobEnded::Ran {
                action: Action::Success | Action::Inaction,
                value,
                ..
            } => Completion::Succeeded { result: value },
            JobEnded::Ran {
                action: Action::Terminate,
                ..
            } if self.stopping => Completion::Released,
            JobEnded::Ran {
                action, message, ..
            } => {
                let error = message.unwrap_or_else(|| format!("the run ended with `{action}`"));
                let retry_at = (attempt < held.max_attempts)
                    .then(|| after(now, self.config().backoff.delay(id, attempt)));
                Completion::Failed { error, retry_at }
            }
            JobEnded::NotStarted(why) => {
                tracing::debug!(job = %id, attempt, "job {id} given back unrun: {why}");
                Completion::Released
            }
        };
        self.reports.push(Report {
            id,
            attempt,
            completion,
        });
        self.records.push(record);
        self.reports_since.get_or_insert(now);
        self.more = true;
    }

    async fn step(&mut self) {
        let now = self.clock_now();
        if self.pause_until.is_some_and(|until| now < until) {
            return;
        }
        self.pause_until = None;
        let flush_due = self.reports_since.is_some_and(|since| {
            self.reports.len() >= self.config().batch
                || self.stopping
                || self.held.is_empty()
                || now >= after(since, self.config().report_delay)
        });
        if flush_due && !self.flush(now).await {
            return;
        }
        if now >= self.next_reap && !self.stopping {
            self.reap(now).await;
            self.next_reap = after(now, self.config().lease / 2);
        }
        if now >= self.next_prune && !self.stopping {
            self.next_prune = self.prune(now).await;
        }
        if now >= self.next_heartbeat {
            self.heartbeat(now).await;
            self.next_heartbeat = after(now, self.config().lease / 3);
        }
        if self.ready_to_claim() && (now >= self.next_poll || self.more) {
            self.claim(now).await;
        }
    }

    /// Pauses everything but waiting for runs after a store error.
    fn pause(&mut self, now: Timestamp) {
        self.pause_until = Some(after(now, Duration::from_millis(200)));
    }

    async fn flush(&mut self, now: Timestamp) -> bool {
        match self.jobs().report(&self.reports, now).await {
            Ok(recorded) => {
                let reports = std::mem::take(&mut self.reports);
                let records = std::mem::take(&mut self.records);
                self.reports_since = None;
                let mut ends = Vec::with_capacity(records.len());
                for ((report, recorded), record) in reports.iter().zip(recorded).zip(records) {
                    let Some(mut record) = record else {
                        continue;
                    };
                    if !recorded {
                        tracing::warn!(
                            job = %report.id,
                            attempt = report.attempt,
                            "job {} attempt {} ended, but its result is not recorded: its lease expired and the job was taken over",
                            report.id,
                            report.attempt
                        );
                        self.refused(&mut record, report).await;
                    }
                    ends.push(*record);
                }
                self.write_ends(ends);
                true
            }
            Err(error) => {
                tracing::warn!(
                    reports = self.reports.len(),
                    "cannot record how jobs ended, trying again: {error}"
                );
                self.pause(now);
                false
            }
        }
    }

    /// Rewrites the end of a run whose report the queue refused as what it is: the run
    /// did not decide the job (its lease was lost to a newer attempt), so the log says
    /// `terminate`, with the outcome the run would have had in the message.
    async fn refused(&self, record: &mut LogRecord, report: &Report) {
        let newer = match self.jobs().job(report.id).await {
            Ok(Some(job)) if job.attempts > report.attempt => format!("attempt {}", job.attempts),
            _ => "a newer attempt".to_owned(),
        };
        record.message = Some(format!(
            "job {} attempt {}: lease lost to {newer}; the queue refused this attempt's `{}`",
            report.id, report.attempt, record.action
        ));
        record.action = Action::Terminate;
        record.value = None;
    }

    /// Hands job run ends to the loop's journal, or, when the loop has stopped, writes
    /// them to the store beside the worker.
    fn write_ends(&self, ends: Vec<LogRecord>) {
        if ends.is_empty() {
            return;
        }
        if let Err(ends) = self.parts.session.job_records(ends) {
            let store = self.parts.store.clone();
            tokio::spawn(async move {
                if let Err(error) = store.append(&ends).await {
                    tracing::warn!("cannot write the ends of job runs: {error}");
                }
            });
        }
    }

    async fn reap(&mut self, now: Timestamp) {
        match self.jobs().reap(now).await {
            Ok(reaped) if !reaped.is_empty() => {
                let records: Vec<LogRecord> = reaped
                    .iter()
                    .map(|r| {
                        let mut record =
                            LogRecord::new(&*r.task, Action::Crash, now).with_run(r.run_id());
                        record.instance = r.worker;
                        record.message = Some(format!(
                            "job {} attempt {}: the worker's lease expired (it died or stalled); {}",
                            r.id,
                            r.attempt,
                            if r.requeued {
                                "the job is queued again"
                            } else {
                                "it was the job's last attempt, the job failed"
                            }
                        ));
                        record
                    })
                    .collect();
                for record in &records {
                    tracing::error!(task = %record.task, "{}", record.message.as_deref().unwrap_or_default());
                }
                // Beside the worker: an append may wait for another writer's lock.
                let store = self.parts.store.clone();
                tokio::spawn(async move {
                    if let Err(error) = store.append(&records).await {
                        tracing::warn!("cannot write the crash records of expired jobs: {error}");
                    }
                });
                self.more = true;
            }
            Ok(_) => {}
            Err(error) => tracing::warn!("cannot take back expired jobs: {error}"),
        }
    }

    /// Deletes a batch of the jobs past their retention; gives when to prune next: at once
    /// when the batch was full (between claims, so that a backlog does not hold the worker
    /// up), else after [`PRUNE_EVERY`].
    async fn prune(&self, now: Timestamp) -> Timestamp {
        let retention = self.config().retention;
        if retention == JobRetention::KEEP_ALL {
            return Timestamp::from_micros(i64::MAX);
        }
        match self.jobs().prune(retention.at(now, PRUNE_BATCH)).await {
            Ok(deleted) => {
                if deleted > 0 {
                    tracing::info!(deleted, "deleted {deleted} jobs past their retention");
                }
                if deleted >= PRUNE_BATCH as u64 {
                    now
                } else {
                    after(now, PRUNE_EVERY)
                }
            }
            Err(error) => {
                tracing::warn!("cannot delete jobs past their retention: {error}");
                after(now, PRUNE_RETRY)
            }
        }
    }

    async fn heartbeat(&mut self, now: Timestamp) {
        if self.held.is_empty() {
            return;
        }
        let jobs: Vec<(JobId, u32)> = self.held.iter().map(|(id, h)| (*id, h.attempt)).collect();
        let until = after(now, self.config().lease);
        match self
            .jobs()
            .heartbeat(self.parts.instance, &jobs, until)
            .await
        {
            Ok(kept) if kept.len() < jobs.len() => {
                tracing::warn!(
                    lost = jobs.len() - kept.len(),
                    "the worker lost the lease of some jobs (it stalled past it): their results will not be recorded"
                );
            }
            Ok(_) => {}
            Err(error) => tracing::warn!("cannot renew the worker's leases: {error}"),
        }
    }

    /// The tasks this worker claims for.
    fn tasks(&self) -> Vec<String> {
        let known = self.parts.session.task_names();
        known
            .into_iter()
            .filter(|name| {
                self.config()
                    .tasks
                    .as_ref()
                    .is_none_or(|only| only.contains(name))
            })
            .collect()
    }

    async fn claim(&mut self, now: Timestamp) {
        self.next_poll = after(now, self.config().poll);
        let tasks = self.tasks();
        let mut free = self.config().concurrency.saturating_sub(self.held.len());
        let (limited, open): (Vec<String>, Vec<String>) = tasks
            .into_iter()
            .partition(|t| self.config().task_limits.contains_key(t));
        let mut requests: Vec<(Vec<String>, usize)> = Vec::new();
        for task in limited {
            let limit = self.config().task_limits[&task];
            let room = limit.saturating_sub(self.running.get(&task).copied().unwrap_or(0));
            if room > 0 {
                requests.push((vec![task], room));
            }
        }
        if !open.is_empty() {
            requests.push((open, usize::MAX));
        }
        let mut full = false;
        for (tasks, room) in requests {
            let limit = room.min(free).min(self.config().batch);
            if limit == 0 {
                continue;
            }
            let request = ClaimRequest {
                worker: self.parts.instance,
                tasks,
                limit,
                now,
                lease: self.config().lease,
            };
            match self.jobs().claim(&request).await {
                Ok(claimed) => {
                    full |= claimed.len() == limit;
                    free -= claimed.len();
                    for job in claimed {
                        self.start(job);
                    }
                }
                Err(error) => {
                    tracing::warn!("cannot claim jobs: {error}");
                    self.pause(now);
                    return;
                }
            }
        }
        self.more = full;
        if !self.held.is_empty() && self.next_heartbeat > after(now, self.config().lease / 3) {
            self.next_heartbeat = after(now, self.config().lease / 3);
        }
    }

    fn start(&mut self, job: ClaimedJob) {
        let run_id = job.run_id();
        *self.running.entry(job.task.clone()).or_default() += 1;
        self.held.insert(
            job.id,
            Held {
                attempt: job.attempt,
                max_attempts: job.max_attempts,
                task: job.task.clone(),
            },
        );
        let run = JobRun {
            task: job.task,
            payload: Arc::new(job.payload),
            run_id,
            reply: JobReply::new((job.id, job.attempt), self.ends_tx.clone()),
        };
        // A loop that has stopped drops the job, whose reply then says it did not start.
        let _ = self.parts.session.run_job(run);
    }
}

/// A handle on a worker started with the scheduler: how to stop it and wait for it.
pub(crate) struct WorkerHandle {
    pub(crate) stop: watch::Sender<bool>,
    pub(crate) task: tokio::task::JoinHandle<()>,
}

/// Starts a worker beside the loop.
pub(crate) fn spawn_worker(
    session: Session,
    store: Arc<dyn LogStore>,
    clock: Arc<dyn Clock>,
    instance: InstanceId,
    config: WorkerConfig,
) -> WorkerHandle {
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run_worker(WorkerParts {
        session,
        store,
        clock,
        instance,
        config,
        stop: stop_rx,
    }));
    WorkerHandle { stop, task }
}
