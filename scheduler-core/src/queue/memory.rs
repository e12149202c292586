//! The job queue in memory: the same contract as the SQL stores' ([`JobStore`]), for tests
//! (above all on a virtual clock, where a database's I/O would let paused time jump) and
//! programs that want on-demand runs without durability. Attached to a memory log store
//! with [`MemoryStore::with_jobs`](crate::log::MemoryStore::with_jobs); gone with the
//! process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::BoxFuture;
use crate::log::InstanceId;
use crate::time::Timestamp;

use super::{
    AttemptInfo, AttemptOutcome, ClaimRequest, ClaimedJob, Enqueued, JobCounts, JobFilter, JobId,
    JobInfo, JobState, JobStore, JobWakeup, NewJob, PruneJobs, QueueError, ReapedAttempt, Report,
    after, check, written,
};

#[derive(Debug)]
struct Job {
    info: JobInfo,
    locked_by: Option<InstanceId>,
    locked_until: Option<Timestamp>,
    attempts: Vec<AttemptInfo>,
}

/// A job queue in memory (see the module's documentation).
#[derive(Debug)]
pub struct MemoryJobs {
    jobs: Mutex<Jobs>,
    enqueued: tokio::sync::watch::Sender<u64>,
}

/// The jobs by id, and the last id given (ids are not reused once their jobs are pruned).
#[derive(Debug, Default)]
struct Jobs {
    by_id: BTreeMap<i64, Job>,
    last_id: i64,
}

impl std::ops::Deref for Jobs {
    type Target = BTreeMap<i64, Job>;

    fn deref(&self) -> &Self::Target {
        &self.by_id
    }
}

impl std::ops::DerefMut for Jobs {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.by_id
    }
}

impl Default for MemoryJobs {
    fn default() -> Self {
        MemoryJobs {
            jobs: Mutex::new(Jobs::default()),
            enqueued: tokio::sync::watch::Sender::new(0),
        }
    }
}

impl MemoryJobs {
    fn lock(&self) -> MutexGuard<'_, Jobs> {
        // A panic while holding the lock cannot leave a job half-updated.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn ready<T: Send + 'static>(value: T) -> BoxFuture<'static, T> {
    Box::pin(std::future::ready(value))
}

impl JobStore for MemoryJobs {
    fn enqueue<'a>(&'a self, job: &'a NewJob) -> BoxFuture<'a, Result<Enqueued, QueueError>> {
        let result = check(job).map(|()| {
            let mut jobs = self.lock();
            if let Some(key) = &job.unique_key
                && let Some(existing) = jobs.values().find(|j| {
                    j.info.task == job.task
                        && j.info.unique_key.as_ref() == Some(key)
                        && matches!(j.info.state, JobState::Queued | JobState::Running)
                })
            {
                return Enqueued {
                    id: existing.info.id,
                    existing: true,
                };
            }
            jobs.last_id += 1;
            let id = JobId(jobs.last_id);
            jobs.insert(
                id.0,
                Job {
                    info: JobInfo {
                        id,
                        task: job.task.clone(),
                        state: JobState::Queued,
                        payload: job.payload.clone(),
                        priority: job.priority,
                        unique_key: job.unique_key.clone(),
                        attempts: 0,
                        max_attempts: job.max_attempts,
                        run_at: job.run_at,
                        enqueued: job.enqueued,
                        finished: None,
                        result: None,
                        error: None,
                    },
                    locked_by: None,
                    locked_until: None,
                    attempts: Vec::new(),
                },
            );
            Enqueued {
                id,
                existing: false,
            }
        });
        if matches!(
            result,
            Ok(Enqueued {
                existing: false,
                ..
            })
        ) {
            self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
        }
        ready(result)
    }

    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest,
    ) -> BoxFuture<'a, Result<Vec<ClaimedJob>, QueueError>> {
        let mut jobs = self.lock();
        let mut due: Vec<&mut Job> = jobs
            .values_mut()
            .filter(|j| {
                j.info.state == JobState::Queued
                    && j.info.run_at <= request.now
                    && request.tasks.contains(&j.info.task)
            })
            .collect();
        due.sort_by_key(|j| (std::cmp::Reverse(j.info.priority), j.info.run_at, j.info.id));
        let claimed = due
            .into_iter()
            .take(request.limit)
            .map(|j| {
                j.info.state = JobState::Running;
                j.info.attempts += 1;
                j.locked_by = Some(request.worker);
                j.locked_until = Some(after(request.now, request.lease));
                j.attempts.push(AttemptInfo {
                    attempt: j.info.attempts,
                    worker: Some(request.worker),
                    started: request.now,
                    finished: None,
                    outcome: None,
                    error: None,
                });
                ClaimedJob {
                    id: j.info.id,
                    task: j.info.task.clone(),
                    payload: j.info.payload.clone(),
                    attempt: j.info.attempts,
                    max_attempts: j.info.max_attempts,
                    enqueued: j.info.enqueued,
                    run_at: j.info.run_at,
                    claimed: request.now,
                }
            })
            .collect();
        ready(Ok(claimed))
    }

    fn heartbeat<'a>(
        &'a self,
        worker: InstanceId,
        jobs: &'a [(JobId, u32)],
        until: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<JobId>, QueueError>> {
        let mut all = self.lock();
        let mut held = Vec::new();
        for (id, attempt) in jobs {
            if let Some(j) = all.get_mut(&id.0)
                && j.info.state == JobState::Running
                && j.info.attempts == *attempt
                && j.locked_by == Some(worker)
            {
                j.locked_until = Some(until);
                held.push(*id);
            }
        }
        ready(Ok(held))
    }

    fn report<'a>(
        &'a self,
        reports: &'a [Report],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<bool>, QueueError>> {
        let mut jobs = self.lock();
        let recorded = reports
            .iter()
            .map(|report| {
                let Some(j) = jobs.get_mut(&report.id.0) else {
                    return false;
                };
                let w = written(&report.completion, now);
                if let Some(a) = j
                    .attempts
                    .iter_mut()
                    .find(|a| a.attempt == report.attempt && a.finished.is_none())
                {
                    a.finished = Some(now);
                    a.outcome = Some(w.outcome);
                    a.error = w.error.map(str::to_owned);
                }
                if j.info.state != JobState::Running || j.info.attempts != report.attempt {
                    return false;
                }
                j.info.state = w.state;
                j.info.result = w.result.and_then(|r| serde_json::from_str(r).ok());
                j.info.error = w.error.map(str::to_owned);
                if let Some(run_at) = w.run_at {
                    j.info.run_at = run_at;
                }
                j.info.finished = w.finished;
                j.info.max_attempts += w.extra_attempts as u32;
                j.locked_by = None;
                j.locked_until = None;
                true
            })
            .collect();
        ready(Ok(recorded))
    }

    fn reap(&self, now: Timestamp) -> BoxFuture<'_, Result<Vec<ReapedAttempt>, QueueError>> {
        let mut jobs = self.lock();
        let mut reaped = Vec::new();
        for j in jobs.values_mut() {
            if j.info.state != JobState::Running || j.locked_until.is_none_or(|u| u >= now) {
                continue;
            }
            let last = j.info.attempts >= j.info.max_attempts;
            j.info.state = if last {
                JobState::Failed
            } else {
                JobState::Queued
            };
            j.info.finished = last.then_some(now);
            j.info.run_at = now;
            j.info.error = Some(format!(
                "the worker's lease expired: it died or stalled during attempt {}",
                j.info.attempts
            ));
            let worker = j.locked_by.take();
            j.locked_until = None;
            let mut claimed = now;
            if let Some(a) = j.attempts.iter_mut().find(|a| a.attempt == j.info.attempts) {
                a.finished = Some(now);
                a.outcome = Some(AttemptOutcome::Crashed);
                a.error = Some("the lease expired".to_owned());
                claimed = a.started;
            }
            reaped.push(ReapedAttempt {
                id: j.info.id,
                task: j.info.task.clone(),
                attempt: j.info.attempts,
                worker,
                claimed,
                requeued: !last,
            });
        }
        ready(Ok(reaped))
    }

    fn cancel(&self, id: JobId, now: Timestamp) -> BoxFuture<'_, Result<(), QueueError>> {
        let mut jobs = self.lock();
        let result = match jobs.get_mut(&id.0) {
            None => Err(QueueError::UnknownJob(id)),
            Some(j) if j.info.state == JobState::Queued => {
                j.info.state = JobState::Cancelled;
                j.info.finished = Some(now);
                Ok(())
            }
            Some(j) => Err(QueueError::WrongState {
                id,
                state: j.info.state,
                what: "cancel",
            }),
        };
        ready(result)
    }

    fn retry(
        &self,
        id: JobId,
        attempts: u32,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        if attempts == 0 {
            return ready(Err(QueueError::Invalid(
                "a retry needs at least one attempt".to_owned(),
            )));
        }
        let mut jobs = self.lock();
        let result = match jobs.get_mut(&id.0) {
            None => Err(QueueError::UnknownJob(id)),
            Some(j) if matches!(j.info.state, JobState::Failed | JobState::Cancelled) => {
                j.info.state = JobState::Queued;
                j.info.run_at = now;
                j.info.finished = None;
                j.info.max_attempts = j.info.attempts + attempts;
                Ok(())
            }
            Some(j) => Err(QueueError::WrongState {
                id,
                state: j.info.state,
                what: "retry",
            }),
        };
        drop(jobs);
        if result.is_ok() {
            self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
        }
        ready(result)
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobInfo>, QueueError>> {
        ready(Ok(self.lock().get(&id.0).map(|j| j.info.clone())))
    }

    fn list<'a>(
        &'a self,
        filter: &'a JobFilter,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, QueueError>> {
        let jobs = self.lock();
        let listed = jobs
            .values()
            .rev()
            .filter(|j| filter.state.is_none_or(|s| j.info.state == s))
            .filter(|j| filter.task.as_ref().is_none_or(|t| j.info.task == *t))
            .take(filter.limit)
            .map(|j| j.info.clone())
            .collect();
        ready(Ok(listed))
    }

    fn attempts(&self, id: JobId) -> BoxFuture<'_, Result<Vec<AttemptInfo>, QueueError>> {
        ready(Ok(self
            .lock()
            .get(&id.0)
            .map(|j| j.attempts.clone())
            .unwrap_or_default()))
    }

    fn counts(&self) -> BoxFuture<'_, Result<JobCounts, QueueError>> {
        let mut counts = JobCounts::default();
        for j in self.lock().values() {
            counts.add(j.info.state, 1);
        }
        ready(Ok(counts))
    }

    fn running(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, QueueError>> {
        let mut running: std::collections::BTreeMap<String, u64> = Default::default();
        for j in self.lock().values() {
            if j.info.state == JobState::Running {
                *running.entry(j.info.task.clone()).or_default() += 1;
            }
        }
        ready(Ok(running.into_iter().collect()))
    }

    fn listen(&self) -> BoxFuture<'_, Result<Box<dyn JobWakeup>, QueueError>> {
        let mut receiver = self.enqueued.subscribe();
        receiver.mark_unchanged();
        ready(Ok(Box::new(Watch(receiver)) as Box<dyn JobWakeup>))
    }

    fn prune(&self, rule: PruneJobs) -> BoxFuture<'_, Result<u64, QueueError>> {
        let mut jobs = self.lock();
        let gone: Vec<i64> = jobs
            .values()
            .filter(|j| rule.deletes(j.info.state, j.info.finished))
            .take(rule.limit)
            .map(|j| j.info.id.0)
            .collect();
        for id in &gone {
            jobs.remove(id);
        }
        ready(Ok(gone.len() as u64))
    }
}

/// The enqueues of this queue.
struct Watch(tokio::sync::watch::Receiver<u64>);

impl JobWakeup for Watch {
    fn next(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
