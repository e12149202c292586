//! The job queue in the SQLite store's file (tables `scheduler_jobs` and
//! `scheduler_job_attempts`, created by the store's migrations 3 and 4).
//!
//! SQLite has one writer at a time, so a claim is a short `BEGIN IMMEDIATE` transaction
//! (the write lock from its first statement: two workers never read the same due jobs and
//! both update them) that takes a whole batch of due jobs; reports of finished attempts are
//! written in batches too, one transaction each, with the fencing on the attempt number in
//! the `UPDATE`'s condition. As on PostgreSQL (see `postgres.rs`), a claim writes the
//! job's row only, and an attempt gets a row of its own only once the job runs again
//! after it (retried, crashed, given back).

use std::collections::HashSet;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::BoxFuture;
use crate::log::InstanceId;
use crate::log::store::SqliteStore;
use crate::time::Timestamp;

use super::rows::{
    COUNTS, RUNNING, attempt_of, attempts_of_job, claimed_in_order, counts_of, job_columns, job_of,
    keep_last_attempt, listed, prunable, refusal, running_of, summary,
};
use super::{
    AttemptInfo, ClaimRequest, ClaimedJob, Enqueued, JobCounts, JobFilter, JobId, JobInfo,
    JobState, JobStore, JobWakeup, NewJob, PruneJobs, QueueError, ReapedAttempt, Report, after,
    check, check_all, payload_text, written,
};

/// Rows per statement of a batch (SQLite allows 32,766 arguments per statement).
const CHUNK: usize = 500;

/// Enqueues `job` on `connection`, which may be inside the application's own transaction
/// on the same file: the job then exists if and only if that transaction commits.
///
/// ```no_run
/// # async fn f(pool: sqlx::SqlitePool) -> Result<(), Box<dyn std::error::Error>> {
/// use scheduler_core::queue::{NewJob, enqueue_in_sqlite};
/// use scheduler_core::time::Timestamp;
///
/// let mut tx = pool.begin().await?;
/// // ... the application's own writes ...
/// let job = NewJob::new("send_email", serde_json::json!({"to": "a@example.com"}), Timestamp::now());
/// let id = enqueue_in_sqlite(&mut tx, &job).await?.id;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub async fn enqueue_in(
    connection: &mut SqliteConnection,
    job: &NewJob,
) -> Result<Enqueued, QueueError> {
    check(job)?;
    enqueue_on(connection, job).await.map_err(|e| {
        QueueError::Store(crate::log::store::sqlite_error(
            "cannot enqueue a job in the SQLite file",
            e,
        ))
    })
}

async fn enqueue_on(
    connection: &mut SqliteConnection,
    job: &NewJob,
) -> Result<Enqueued, sqlx::Error> {
    let payload = payload_text(job);
    // A job with a key may find a pending one; that one may finish between the insert and
    // the look-up, then the insert is tried again.
    loop {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO scheduler_jobs (task, payload, state, priority, run_at, attempts, \
             max_attempts, unique_key, enqueued) VALUES (?, ?, 'queued', ?, ?, 0, ?, ?, ?) \
             ON CONFLICT (task, unique_key) WHERE unique_key IS NOT NULL \
             AND state IN ('queued', 'running') DO NOTHING RETURNING id",
        )
        .bind(&job.task)
        .bind(&payload)
        .bind(job.priority)
        .bind(job.run_at.as_micros())
        .bind(i64::from(job.max_attempts))
        .bind(job.unique_key.as_deref())
        .bind(job.enqueued.as_micros())
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(id) = inserted {
            return Ok(Enqueued {
                id: JobId(id),
                existing: false,
            });
        }
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM scheduler_jobs WHERE task = ? AND unique_key = ? \
             AND state IN ('queued', 'running')",
        )
        .bind(&job.task)
        .bind(job.unique_key.as_deref())
        .fetch_optional(&mut *connection)
        .await?;
        if let Some(id) = existing {
            return Ok(Enqueued {
                id: JobId(id),
                existing: true,
            });
        }
    }
}

/// Enqueues `jobs` on `connection` (a transaction: all or none): the jobs without a key in
/// one multi-row `INSERT` per [`CHUNK`] rows, those with a key one by one as
/// [`enqueue_on`] does (a key pending earlier in the batch included).
async fn enqueue_all_on(
    connection: &mut SqliteConnection,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, sqlx::Error> {
    let mut answers: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let plain: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].unique_key.is_none())
        .collect();
    for chunk in plain.chunks(CHUNK) {
        let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO scheduler_jobs (task, payload, state, priority, run_at, attempts, \
             max_attempts, enqueued) ",
        );
        insert.push_values(chunk, |mut row, &i| {
            let job = &jobs[i];
            row.push_bind(job.task.as_str())
                .push_bind(payload_text(job))
                .push_bind("queued")
                .push_bind(job.priority)
                .push_bind(job.run_at.as_micros())
                .push_bind(0_i64)
                .push_bind(i64::from(job.max_attempts))
                .push_bind(job.enqueued.as_micros());
        });
        insert.push(" RETURNING id");
        let mut ids: Vec<i64> = insert
            .build_query_scalar()
            .persistent(true)
            .fetch_all(&mut *connection)
            .await?;
        // Row ids are given in the order of the rows inserted (one writer holds the file).
        ids.sort_unstable();
        for (&i, id) in chunk.iter().zip(ids) {
            answers[i] = Some(Enqueued {
                id: JobId(id),
                existing: false,
            });
        }
    }
    for (i, job) in jobs.iter().enumerate() {
        if job.unique_key.is_some() {
            answers[i] = Some(enqueue_on(connection, job).await?);
        }
    }
    Ok(answers.into_iter().flatten().collect())
}

impl SqliteStore {
    fn queue_error(&self, what: &str) -> impl Fn(sqlx::Error) -> QueueError + '_ {
        let what = what.to_owned();
        move |e| QueueError::Store(self.error(&what, e))
    }

    async fn claim_batch(&self, request: &ClaimRequest) -> Result<Vec<ClaimedJob>, sqlx::Error> {
        // A look without the write lock first: an idle worker's poll takes no lock (and so
        // holds up no writer of the file).
        let due: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM scheduler_jobs WHERE state = 'queued' AND run_at <= ? LIMIT 1",
        )
        .bind(request.now.as_micros())
        .fetch_optional(&self.pool)
        .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut claim: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE scheduler_jobs SET state = 'running', attempts = attempts + 1, locked_by = ",
        );
        claim
            .push_bind(request.worker.as_u64() as i64)
            .push(", locked_until = ")
            .push_bind(after(request.now, request.lease).as_micros())
            .push(", claimed = ")
            .push_bind(request.now.as_micros())
            .push(
                " WHERE id IN (SELECT id FROM scheduler_jobs WHERE state = 'queued' AND run_at <= ",
            )
            .push_bind(request.now.as_micros())
            .push(" AND task IN (");
        let mut tasks = claim.separated(", ");
        for task in &request.tasks {
            tasks.push_bind(task.as_str());
        }
        claim
            .push(") ORDER BY priority DESC, run_at, id LIMIT ")
            .push_bind(request.limit.min(i64::MAX as usize) as i64)
            .push(
                ") RETURNING id, task, payload, attempts, max_attempts, enqueued, run_at, priority",
            );
        let rows = claim.build().persistent(true).fetch_all(&mut *tx).await?;
        tx.commit().await?;
        claimed_in_order(rows, request.now).map_err(|e| sqlx::Error::Decode(Box::new(e)))
    }

    async fn report_batch(
        &self,
        reports: &[Report],
        now: Timestamp,
    ) -> Result<Vec<bool>, sqlx::Error> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let mut accepted: HashSet<(i64, u32)> = HashSet::with_capacity(reports.len());
        for chunk in reports.chunks(CHUNK) {
            let mut update: QueryBuilder<Sqlite> = QueryBuilder::new(
                "WITH u (id, attempt, state, result, error, run_at, finished, extra) AS (",
            );
            update.push_values(chunk, |mut row, report| {
                let w = written(&report.completion, now);
                row.push_bind(report.id.0)
                    .push_bind(i64::from(report.attempt))
                    .push_bind(w.state.as_str())
                    .push_bind(w.result.map(str::to_owned))
                    .push_bind(w.error.map(str::to_owned))
                    .push_bind(w.run_at.map(Timestamp::as_micros))
                    .push_bind(w.finished.map(Timestamp::as_micros))
                    .push_bind(w.extra_attempts);
            });
            // The fencing: only the job's running attempt, by its number.
            update.push(
                ") UPDATE scheduler_jobs SET state = u.state, result = u.result, error = u.error, \
                 run_at = coalesce(u.run_at, scheduler_jobs.run_at), finished = u.finished, \
                 locked_until = NULL, max_attempts = scheduler_jobs.max_attempts + u.extra \
                 FROM u WHERE scheduler_jobs.id = u.id AND scheduler_jobs.attempts = u.attempt \
                 AND scheduler_jobs.state = 'running' \
                 RETURNING scheduler_jobs.id, scheduler_jobs.attempts, scheduler_jobs.locked_by, \
                 scheduler_jobs.claimed, scheduler_jobs.state",
            );
            // The rows of the recorded attempts after which their jobs run again; an attempt
            // that ends its job is read from the job's row (`rows::attempts_of_job`).
            let mut ended: Vec<(i64, i64, Option<i64>, Option<i64>)> = Vec::new();
            for row in update.build().persistent(true).fetch_all(&mut *tx).await? {
                let (id, attempt) = (row.try_get(0)?, row.try_get::<i64, _>(1)?);
                accepted.insert((id, attempt as u32));
                if row.try_get::<String, _>(4)? == "queued" {
                    ended.push((id, attempt, row.try_get(2)?, row.try_get(3)?));
                }
            }
            if ended.is_empty() {
                continue;
            }
            let by_job: std::collections::HashMap<i64, &Report> =
                chunk.iter().map(|r| (r.id.0, r)).collect();
            let mut insert: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT INTO scheduler_job_attempts \
                 (job, attempt, worker, started, finished, outcome, error) ",
            );
            insert.push_values(&ended, |mut row, &(id, attempt, worker, claimed)| {
                let w = written(&by_job[&id].completion, now);
                row.push_bind(id)
                    .push_bind(attempt)
                    .push_bind(worker)
                    .push_bind(claimed.unwrap_or(now.as_micros()))
                    .push_bind(now.as_micros())
                    .push_bind(w.outcome.as_str())
                    .push_bind(w.error.map(str::to_owned));
            });
            // A row already there (none should be) is completed rather than the batch
            // refused.
            insert.push(
                " ON CONFLICT (job, attempt) DO UPDATE SET finished = excluded.finished, \
                 outcome = excluded.outcome, error = excluded.error",
            );
            insert.build().persistent(true).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(reports
            .iter()
            .map(|r| accepted.contains(&(r.id.0, r.attempt)))
            .collect())
    }

    /// Deletes the jobs `rule` picks and their attempts: a look that takes no lock first,
    /// so that a prune with nothing to do does not hold the file's write lock.
    async fn prune_ended(&self, rule: &PruneJobs) -> Result<u64, sqlx::Error> {
        let (finished, failed) = rule.cutoffs();
        let limit = rule.limit.min(i64::MAX as usize) as i64;
        let any: Option<i64> = sqlx::query_scalar(prunable!("?1", "?2", "?3"))
            .bind(finished)
            .bind(failed)
            .bind(limit.min(1))
            .fetch_optional(&self.pool)
            .await?;
        if any.is_none() {
            return Ok(0);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // The same ids twice, attempts first: nothing else writes while this transaction
        // holds the lock.
        let mut gone = 0;
        for statement in [
            concat!(
                "DELETE FROM scheduler_job_attempts WHERE job IN (",
                prunable!("?1", "?2", "?3"),
                ")"
            ),
            concat!(
                "DELETE FROM scheduler_jobs WHERE id IN (",
                prunable!("?1", "?2", "?3"),
                ")"
            ),
        ] {
            gone = sqlx::query(statement)
                .bind(finished)
                .bind(failed)
                .bind(limit)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(gone)
    }

    async fn reap_expired(&self, now: Timestamp) -> Result<Vec<ReapedAttempt>, sqlx::Error> {
        let expired: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM scheduler_jobs WHERE state = 'running' AND locked_until < ? LIMIT 1",
        )
        .bind(now.as_micros())
        .fetch_optional(&self.pool)
        .await?;
        if expired.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let jobs = sqlx::query(
            "UPDATE scheduler_jobs SET \
             state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
             finished = CASE WHEN attempts >= max_attempts THEN ?1 END, \
             run_at = ?1, locked_until = NULL, \
             error = 'the worker''s lease expired: it died or stalled during attempt ' || attempts \
             WHERE state = 'running' AND locked_until < ?1 \
             RETURNING id, task, attempts, state, locked_by, claimed",
        )
        .bind(now.as_micros())
        .fetch_all(&mut *tx)
        .await?;
        let mut reaped = Vec::with_capacity(jobs.len());
        for row in &jobs {
            let (id, task, attempt, state): (i64, String, i64, String) = (
                row.try_get(0)?,
                row.try_get(1)?,
                row.try_get(2)?,
                row.try_get(3)?,
            );
            let worker: Option<i64> = row.try_get(4)?;
            let claimed: Option<i64> = row.try_get(5)?;
            let claimed = claimed.map_or(now, Timestamp::from_micros);
            sqlx::query(
                "INSERT INTO scheduler_job_attempts \
                 (job, attempt, worker, started, finished, outcome, error) \
                 VALUES (?, ?, ?, ?, ?, 'crashed', 'the lease expired') \
                 ON CONFLICT (job, attempt) DO UPDATE SET finished = excluded.finished, \
                 outcome = excluded.outcome, error = excluded.error",
            )
            .bind(id)
            .bind(attempt)
            .bind(worker)
            .bind(claimed.as_micros())
            .bind(now.as_micros())
            .execute(&mut *tx)
            .await?;
            reaped.push(ReapedAttempt {
                id: JobId(id),
                task,
                attempt: attempt as u32,
                worker: worker.map(|w| InstanceId::from_u64(w as u64)),
                claimed,
                requeued: state == "queued",
            });
        }
        tx.commit().await?;
        Ok(reaped)
    }
}

impl JobStore for SqliteStore {
    fn enqueue<'a>(&'a self, job: &'a NewJob) -> BoxFuture<'a, Result<Enqueued, QueueError>> {
        Box::pin(async move {
            check(job)?;
            let mut connection = self
                .pool
                .acquire()
                .await
                .map_err(self.queue_error("cannot enqueue a job"))?;
            let enqueued = enqueue_on(&mut connection, job)
                .await
                .map_err(self.queue_error("cannot enqueue a job"))?;
            self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
            Ok(enqueued)
        })
    }

    fn enqueue_many<'a>(
        &'a self,
        jobs: &'a [NewJob],
    ) -> BoxFuture<'a, Result<Vec<Enqueued>, QueueError>> {
        Box::pin(async move {
            check_all(jobs)?;
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            let error = self.queue_error("cannot enqueue jobs");
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(&error)?;
            let enqueued = enqueue_all_on(&mut tx, jobs).await.map_err(&error)?;
            tx.commit().await.map_err(&error)?;
            self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
            Ok(enqueued)
        })
    }

    fn claim<'a>(
        &'a self,
        request: &'a ClaimRequest,
    ) -> BoxFuture<'a, Result<Vec<ClaimedJob>, QueueError>> {
        Box::pin(async move {
            if request.tasks.is_empty() || request.limit == 0 {
                return Ok(Vec::new());
            }
            self.claim_batch(request)
                .await
                .map_err(self.queue_error("cannot claim jobs"))
        })
    }

    fn heartbeat<'a>(
        &'a self,
        worker: InstanceId,
        jobs: &'a [(JobId, u32)],
        until: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<JobId>, QueueError>> {
        Box::pin(async move {
            let mut held = Vec::with_capacity(jobs.len());
            for chunk in jobs.chunks(CHUNK) {
                let mut update: QueryBuilder<Sqlite> =
                    QueryBuilder::new("UPDATE scheduler_jobs SET locked_until = ");
                update
                    .push_bind(until.as_micros())
                    .push(" WHERE state = 'running' AND locked_by = ")
                    .push_bind(worker.as_u64() as i64)
                    .push(" AND id IN (");
                let mut ids = update.separated(", ");
                for (id, _) in chunk {
                    ids.push_bind(id.0);
                }
                update.push(") RETURNING id, attempts");
                let rows = update
                    .build()
                    .fetch_all(&self.pool)
                    .await
                    .map_err(self.queue_error("cannot renew the workers' leases"))?;
                for row in rows {
                    let (id, attempts): (i64, i64) = (
                        row.try_get(0)
                            .map_err(|e| QueueError::Corrupt(e.to_string()))?,
                        row.try_get(1)
                            .map_err(|e| QueueError::Corrupt(e.to_string()))?,
                    );
                    if chunk.contains(&(JobId(id), attempts as u32)) {
                        held.push(JobId(id));
                    }
                }
            }
            Ok(held)
        })
    }

    fn report<'a>(
        &'a self,
        reports: &'a [Report],
        now: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<bool>, QueueError>> {
        Box::pin(async move {
            if reports.is_empty() {
                return Ok(Vec::new());
            }
            self.report_batch(reports, now)
                .await
                .map_err(self.queue_error("cannot record how jobs ended"))
        })
    }

    fn reap(&self, now: Timestamp) -> BoxFuture<'_, Result<Vec<ReapedAttempt>, QueueError>> {
        Box::pin(async move {
            self.reap_expired(now)
                .await
                .map_err(self.queue_error("cannot take back expired leases"))
        })
    }

    fn prune(&self, rule: PruneJobs) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            self.prune_ended(&rule)
                .await
                .map_err(self.queue_error("cannot delete jobs past their retention"))
        })
    }

    fn cancel(&self, id: JobId, now: Timestamp) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE scheduler_jobs SET state = 'cancelled', finished = ? \
                 WHERE id = ? AND state = 'queued'",
            )
            .bind(now.as_micros())
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(self.queue_error("cannot cancel a job"))?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            Err(refusal(self, id, "cancel").await)
        })
    }

    fn retry(
        &self,
        id: JobId,
        attempts: u32,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            if attempts == 0 {
                return Err(QueueError::Invalid(
                    "a retry needs at least one attempt".to_owned(),
                ));
            }
            let retried = async {
                let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                sqlx::query(keep_last_attempt!("?1"))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await?;
                let done = sqlx::query(
                    "UPDATE scheduler_jobs SET state = 'queued', run_at = ?, finished = NULL, \
                     max_attempts = attempts + ? WHERE id = ? AND state IN ('failed', 'cancelled')",
                )
                .bind(now.as_micros())
                .bind(i64::from(attempts))
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok::<_, sqlx::Error>(done)
            };
            let done = retried
                .await
                .map_err(self.queue_error("cannot retry a job"))?;
            if done.rows_affected() == 1 {
                self.enqueued.send_modify(|n| *n = n.wrapping_add(1));
                return Ok(());
            }
            Err(refusal(self, id, "retry").await)
        })
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobInfo>, QueueError>> {
        Box::pin(async move {
            let row = sqlx::query(concat!(job_columns!(), " WHERE id = ?"))
                .bind(id.0)
                .fetch_optional(&self.pool)
                .await
                .map_err(self.queue_error("cannot read a job"))?;
            row.as_ref().map(job_of).transpose()
        })
    }

    fn list<'a>(
        &'a self,
        filter: &'a JobFilter,
    ) -> BoxFuture<'a, Result<Vec<JobInfo>, QueueError>> {
        listed!(
            self,
            filter,
            " WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR task = ?2) ORDER BY id DESC LIMIT ?3"
        )
    }

    fn attempts(&self, id: JobId) -> BoxFuture<'_, Result<Vec<AttemptInfo>, QueueError>> {
        Box::pin(async move {
            let rows = sqlx::query(attempts_of_job!("?1"))
                .bind(id.0)
                .fetch_all(&self.pool)
                .await
                .map_err(self.queue_error("cannot read a job's attempts"))?;
            rows.iter().map(attempt_of).collect()
        })
    }

    fn counts(&self) -> BoxFuture<'_, Result<JobCounts, QueueError>> {
        summary!(self, COUNTS, "cannot count jobs", counts_of)
    }

    fn running(&self) -> BoxFuture<'_, Result<Vec<(String, u64)>, QueueError>> {
        summary!(self, RUNNING, "cannot count the running jobs", running_of)
    }

    fn listen(&self) -> BoxFuture<'_, Result<Box<dyn JobWakeup>, QueueError>> {
        let mut receiver = self.enqueued.subscribe();
        receiver.mark_unchanged();
        Box::pin(async move { Ok(Box::new(Watch(receiver)) as Box<dyn JobWakeup>) })
    }
}

/// The enqueues made through this process's handle on the file (other processes' are
/// found by polling).
struct Watch(tokio::sync::watch::Receiver<u64>);

impl JobWakeup for Watch {
    fn next(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.0.changed().await.is_err() {
                // The store is gone: nothing will wake this again.
                std::future::pending::<()>().await;
            }
        })
    }
}
