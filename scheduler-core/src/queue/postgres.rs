//! The job queue in the PostgreSQL store's database (tables `scheduler_jobs` and
//! `scheduler_job_attempts`, created by the store's migrations 3 and 4).
//!
//! Each operation is one statement (a claim, a batch of reports, a reap are each a
//! statement, with data-modifying `WITH` clauses where they write two tables), so one
//! round trip and one commit: a claim picks its jobs with `FOR UPDATE SKIP LOCKED`, so
//! that workers on any number of machines take disjoint batches without waiting for each
//! other; reports carry their rows as arrays (`UNNEST`), fenced on the attempt number.
//!
//! What a job costs the server is what bounds a worker here, so a job that succeeds at
//! once is written three times: inserted, claimed, reported, each an update of its one
//! row (the claim keeps the attempt's number, worker and instant there, and `locked_by`
//! keeps the worker once the attempt has ended). An attempt gets a row of its own in
//! `scheduler_job_attempts` only when the job runs again after it (it failed and is
//! retried, it crashed, it was given back); [`JobStore::attempts`] reads the job's latest
//! attempt, running or ending the job, from the job's row (`rows::attempts_of_job`).
//!
//! A claim commits without waiting for its disk flush (it runs on the store's claim
//! connections, opened with `synchronous_commit = off`): a job starts about one flush
//! (milliseconds) sooner, and claims cost no flush of their own. Reports and enqueues
//! wait for theirs, and a report's flush makes every earlier claim durable too, so a
//! recorded outcome never rests on a forgotten claim. What the server may forget in a
//! crash of its own (not a worker's) is the claims of its last fraction of a second: those
//! jobs are queued again and run again, which the queue allows anyway (at least once; a
//! late report is refused unless it is the job's running attempt). An enqueue fires the
//! statement trigger `scheduler_jobs_enqueued`, whose `NOTIFY scheduler_jobs` wakes idle
//! workers when the enqueuing transaction commits.

use std::time::Duration;

use sqlx::postgres::PgListener;
use sqlx::{PgConnection, Row};

use crate::BoxFuture;
use crate::log::InstanceId;
use crate::log::store::PostgresStore;
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

/// A batch of reports: each running attempt reported is ended on the job's row (fenced on
/// its number), and, when the job runs again (retried, given back), the attempt's row is
/// inserted in `scheduler_job_attempts` (an attempt that ends its job is read from the
/// job's row, see `rows::attempts_of_job`); the answer is the attempts recorded. Those rows
/// are few (most jobs succeed at once), so the conflict check that keeps a row already
/// there from refusing the batch costs little.
const REPORT: &str = "WITH u AS ( \
       SELECT * FROM UNNEST($1::int8[], $2::int4[], $3::text[], $4::text[], \
       $5::text[], $6::text[], $7::int8[], $8::int8[], $9::int4[]) \
       AS u (id, attempt, state, outcome, result, error, run_at, finished, extra) \
     ), done AS ( \
       UPDATE scheduler_jobs AS j SET state = u.state, result = u.result, \
       error = u.error, run_at = coalesce(u.run_at, j.run_at), finished = u.finished, \
       locked_until = NULL, max_attempts = j.max_attempts + u.extra \
       FROM u WHERE j.id = u.id AND j.attempts = u.attempt AND j.state = 'running' \
       RETURNING j.id, j.attempts, j.state, j.locked_by, j.claimed, u.outcome, u.error \
     ), kept AS ( \
       INSERT INTO scheduler_job_attempts \
       (job, attempt, worker, started, finished, outcome, error) \
       SELECT id, attempts, locked_by, coalesce(claimed, $10), $10, outcome, error \
       FROM done WHERE state = 'queued' \
       ON CONFLICT (job, attempt) DO UPDATE SET finished = excluded.finished, \
       outcome = excluded.outcome, error = excluded.error \
     ) SELECT id, attempts FROM done";

/// The channel idle workers listen on.
const CHANNEL: &str = "scheduler_jobs";

/// Enqueues `job` on `connection`, which may be inside the application's own transaction
/// on the same database: the job then exists (and idle workers hear of it) if and only if
/// that transaction commits.
///
/// ```no_run
/// # async fn f(pool: sqlx::PgPool) -> Result<(), Box<dyn std::error::Error>> {
/// use scheduler_core::queue::{NewJob, enqueue_in_postgres};
/// use scheduler_core::time::Timestamp;
///
/// let mut tx = pool.begin().await?;
/// // ... the application's own writes ...
/// let job = NewJob::new("send_email", serde_json::json!({"to": "a@example.com"}), Timestamp::now());
/// let id = enqueue_in_postgres(&mut tx, &job).await?.id;
/// tx.commit().await?;
/// # Ok(()) }
/// ```
pub async fn enqueue_in(
    connection: &mut PgConnection,
    job: &NewJob,
) -> Result<Enqueued, QueueError> {
    check(job)?;
    enqueue_on(connection, job).await.map_err(|e| {
        QueueError::Store(crate::log::store::postgres_error(
            "cannot enqueue a job in PostgreSQL",
            e,
        ))
    })
}

/// Text without NUL, which PostgreSQL's `text` cannot hold.
fn text(s: &str) -> String {
    s.replace('\0', "\u{fffd}")
}

async fn enqueue_on(connection: &mut PgConnection, job: &NewJob) -> Result<Enqueued, sqlx::Error> {
    let payload = text(&payload_text(job));
    loop {
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO scheduler_jobs (task, payload, state, priority, run_at, attempts, \
             max_attempts, unique_key, enqueued) VALUES ($1, $2, 'queued', $3, $4, 0, $5, $6, $7) \
             ON CONFLICT (task, unique_key) WHERE unique_key IS NOT NULL \
             AND state IN ('queued', 'running') DO NOTHING RETURNING id",
        )
        .bind(text(&job.task))
        .bind(&payload)
        .bind(job.priority)
        .bind(job.run_at.as_micros())
        .bind(job.max_attempts.min(i32::MAX as u32) as i32)
        .bind(job.unique_key.as_deref().map(text))
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
            "SELECT id FROM scheduler_jobs WHERE task = $1 AND unique_key = $2 \
             AND state IN ('queued', 'running')",
        )
        .bind(text(&job.task))
        .bind(job.unique_key.as_deref().map(text))
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

/// Rows per `INSERT` of a bulk enqueue: the arrays are bound whole, so this only bounds
/// the size of one message.
const BULK: usize = 10_000;

/// Enqueues `jobs` on `connection` (a transaction: all or none): the jobs without a key in
/// one `INSERT ... SELECT FROM UNNEST` per [`BULK`] rows, those with a key one by one as
/// [`enqueue_on`] does (a key pending earlier in the batch included).
async fn enqueue_all_on(
    connection: &mut PgConnection,
    jobs: &[NewJob],
) -> Result<Vec<Enqueued>, sqlx::Error> {
    let mut answers: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let plain: Vec<usize> = (0..jobs.len())
        .filter(|&i| jobs[i].unique_key.is_none())
        .collect();
    for chunk in plain.chunks(BULK) {
        let pick =
            |f: &dyn Fn(&NewJob) -> i64| chunk.iter().map(|&i| f(&jobs[i])).collect::<Vec<_>>();
        let tasks: Vec<String> = chunk.iter().map(|&i| text(&jobs[i].task)).collect();
        let payloads: Vec<String> = chunk
            .iter()
            .map(|&i| text(&payload_text(&jobs[i])))
            .collect();
        let priorities: Vec<i32> = chunk.iter().map(|&i| jobs[i].priority).collect();
        let attempts: Vec<i32> = chunk
            .iter()
            .map(|&i| jobs[i].max_attempts.min(i32::MAX as u32) as i32)
            .collect();
        let mut ids: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO scheduler_jobs (task, payload, state, priority, run_at, attempts, \
             max_attempts, enqueued) SELECT t, p, 'queued', pr, r, 0, m, e FROM \
             UNNEST($1::text[], $2::text[], $3::int4[], $4::int8[], $5::int4[], $6::int8[]) \
             AS u (t, p, pr, r, m, e) RETURNING id",
        )
        .bind(tasks)
        .bind(payloads)
        .bind(priorities)
        .bind(pick(&|j| j.run_at.as_micros()))
        .bind(attempts)
        .bind(pick(&|j| j.enqueued.as_micros()))
        .fetch_all(&mut *connection)
        .await?;
        // The sequence numbers the rows in the order the statement inserts them, which is
        // the arrays' order.
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

impl PostgresStore {
    fn queue_error(&self, what: &str) -> impl Fn(sqlx::Error) -> QueueError + '_ {
        let what = what.to_owned();
        move |e| QueueError::Store(self.error(&what, e))
    }
}

fn corrupt(e: sqlx::Error) -> QueueError {
    QueueError::Corrupt(e.to_string())
}

impl JobStore for PostgresStore {
    fn enqueue<'a>(&'a self, job: &'a NewJob) -> BoxFuture<'a, Result<Enqueued, QueueError>> {
        Box::pin(async move {
            check(job)?;
            let mut connection = self
                .pool
                .acquire()
                .await
                .map_err(self.queue_error("cannot enqueue a job"))?;
            enqueue_on(&mut connection, job)
                .await
                .map_err(self.queue_error("cannot enqueue a job"))
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
            let mut tx = self.pool.begin().await.map_err(&error)?;
            let enqueued = enqueue_all_on(&mut tx, jobs).await.map_err(&error)?;
            tx.commit().await.map_err(&error)?;
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
            // On the claims' own connections, which commit without waiting for the flush
            // (see the module's documentation): a job starts a flush earlier, and the
            // attempt's report, which does wait, makes the claim durable with it.
            let rows = sqlx::query(
                "WITH picked AS ( \
                   SELECT id FROM scheduler_jobs WHERE state = 'queued' AND run_at <= $1 \
                   AND task = ANY($2::text[]) ORDER BY priority DESC, run_at, id LIMIT $3 \
                   FOR UPDATE SKIP LOCKED \
                 ) UPDATE scheduler_jobs AS j SET state = 'running', attempts = j.attempts + 1, \
                 locked_by = $4, locked_until = $5, claimed = $1 FROM picked \
                 WHERE j.id = picked.id \
                 RETURNING j.id, j.task, j.payload, j.attempts, j.max_attempts, j.enqueued, \
                 j.run_at, j.priority",
            )
            .bind(request.now.as_micros())
            .bind(&request.tasks)
            .bind(request.limit.min(i64::MAX as usize) as i64)
            .bind(request.worker.as_u64() as i64)
            .bind(after(request.now, request.lease).as_micros())
            .fetch_all(&self.claims)
            .await
            .map_err(self.queue_error("cannot claim jobs"))?;
            claimed_in_order(rows, request.now)
        })
    }

    fn heartbeat<'a>(
        &'a self,
        worker: InstanceId,
        jobs: &'a [(JobId, u32)],
        until: Timestamp,
    ) -> BoxFuture<'a, Result<Vec<JobId>, QueueError>> {
        Box::pin(async move {
            if jobs.is_empty() {
                return Ok(Vec::new());
            }
            let ids: Vec<i64> = jobs.iter().map(|(id, _)| id.0).collect();
            let attempts: Vec<i32> = jobs.iter().map(|(_, a)| *a as i32).collect();
            let rows = sqlx::query(
                "UPDATE scheduler_jobs AS j SET locked_until = $1 \
                 FROM UNNEST($3::int8[], $4::int4[]) AS h (id, attempt) \
                 WHERE j.id = h.id AND j.attempts = h.attempt AND j.state = 'running' \
                 AND j.locked_by = $2 RETURNING j.id",
            )
            .bind(until.as_micros())
            .bind(worker.as_u64() as i64)
            .bind(ids)
            .bind(attempts)
            .fetch_all(&self.pool)
            .await
            .map_err(self.queue_error("cannot renew the worker's leases"))?;
            rows.iter()
                .map(|row| Ok(JobId(row.try_get(0).map_err(corrupt)?)))
                .collect()
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
            let n = reports.len();
            let mut ids = Vec::with_capacity(n);
            let mut attempts = Vec::with_capacity(n);
            let mut states = Vec::with_capacity(n);
            let mut outcomes = Vec::with_capacity(n);
            let mut results: Vec<Option<String>> = Vec::with_capacity(n);
            let mut errors: Vec<Option<String>> = Vec::with_capacity(n);
            let mut run_ats: Vec<Option<i64>> = Vec::with_capacity(n);
            let mut finisheds: Vec<Option<i64>> = Vec::with_capacity(n);
            let mut extras: Vec<i32> = Vec::with_capacity(n);
            for report in reports {
                let w = written(&report.completion, now);
                ids.push(report.id.0);
                attempts.push(report.attempt as i32);
                states.push(w.state.as_str());
                outcomes.push(w.outcome.as_str());
                results.push(w.result.map(text));
                errors.push(w.error.map(text));
                run_ats.push(w.run_at.map(Timestamp::as_micros));
                finisheds.push(w.finished.map(Timestamp::as_micros));
                extras.push(w.extra_attempts as i32);
            }
            let rows = sqlx::query(REPORT)
                .bind(ids)
                .bind(attempts)
                .bind(states)
                .bind(outcomes)
                .bind(results)
                .bind(errors)
                .bind(run_ats)
                .bind(finisheds)
                .bind(extras)
                .bind(now.as_micros())
                .fetch_all(&self.pool)
                .await
                .map_err(self.queue_error("cannot record how jobs ended"))?;
            let mut accepted = std::collections::HashSet::with_capacity(rows.len());
            for row in rows {
                let id: i64 = row.try_get(0).map_err(corrupt)?;
                let attempt: i32 = row.try_get(1).map_err(corrupt)?;
                accepted.insert((id, attempt as u32));
            }
            Ok(reports
                .iter()
                .map(|r| accepted.contains(&(r.id.0, r.attempt)))
                .collect())
        })
    }

    fn reap(&self, now: Timestamp) -> BoxFuture<'_, Result<Vec<ReapedAttempt>, QueueError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "WITH r AS ( \
                   UPDATE scheduler_jobs AS j SET \
                   state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                   finished = CASE WHEN attempts >= max_attempts THEN $1 END, \
                   run_at = $1, locked_until = NULL, \
                   error = 'the worker''s lease expired: it died or stalled during attempt ' || attempts \
                   WHERE id IN (SELECT id FROM scheduler_jobs WHERE state = 'running' \
                   AND locked_until < $1 FOR UPDATE SKIP LOCKED) \
                   RETURNING j.id, j.task, j.attempts, j.state, j.locked_by, j.claimed \
                 ), a AS ( \
                   INSERT INTO scheduler_job_attempts \
                   (job, attempt, worker, started, finished, outcome, error) \
                   SELECT id, attempts, locked_by, coalesce(claimed, $1), $1, 'crashed', \
                   'the lease expired' FROM r ON CONFLICT (job, attempt) DO UPDATE SET \
                   finished = excluded.finished, outcome = excluded.outcome, error = excluded.error \
                 ) SELECT id, task, attempts, state, locked_by, claimed FROM r",
            )
            .bind(now.as_micros())
            .fetch_all(&self.pool)
            .await
            .map_err(self.queue_error("cannot take back expired leases"))?;
            rows.iter()
                .map(|row| {
                    let state: String = row.try_get(3).map_err(corrupt)?;
                    Ok(ReapedAttempt {
                        id: JobId(row.try_get(0).map_err(corrupt)?),
                        task: row.try_get(1).map_err(corrupt)?,
                        attempt: row.try_get::<i32, _>(2).map_err(corrupt)? as u32,
                        worker: row
                            .try_get::<Option<i64>, _>(4)
                            .map_err(corrupt)?
                            .map(|w| InstanceId::from_u64(w as u64)),
                        claimed: row
                            .try_get::<Option<i64>, _>(5)
                            .map_err(corrupt)?
                            .map_or(now, Timestamp::from_micros),
                        requeued: state == "queued",
                    })
                })
                .collect()
        })
    }

    fn prune(&self, rule: PruneJobs) -> BoxFuture<'_, Result<u64, QueueError>> {
        Box::pin(async move {
            let (finished, failed) = rule.cutoffs();
            // The condition again on the rows deleted: a job queued again (retried by hand)
            // since the subquery's snapshot is rechecked on its new version and kept.
            let gone: i64 = sqlx::query_scalar(concat!(
                "WITH gone AS ( \
                   DELETE FROM scheduler_jobs WHERE id IN (",
                prunable!("$1", "$2", "$3"),
                ") AND ",
                prunable!("$1", "$2"),
                " RETURNING id \
                 ), attempts AS ( \
                   DELETE FROM scheduler_job_attempts AS a USING gone WHERE a.job = gone.id \
                 ) SELECT count(*) FROM gone"
            ))
            .bind(finished)
            .bind(failed)
            .bind(rule.limit.min(i64::MAX as usize) as i64)
            .fetch_one(&self.pool)
            .await
            .map_err(self.queue_error("cannot delete jobs past their retention"))?;
            Ok(gone as u64)
        })
    }

    fn cancel(&self, id: JobId, now: Timestamp) -> BoxFuture<'_, Result<(), QueueError>> {
        Box::pin(async move {
            let done = sqlx::query(
                "UPDATE scheduler_jobs SET state = 'cancelled', finished = $1 \
                 WHERE id = $2 AND state = 'queued'",
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
            let done = sqlx::query(concat!(
                "WITH kept AS (",
                keep_last_attempt!("$3"),
                ") UPDATE scheduler_jobs SET state = 'queued', run_at = $1, finished = NULL, \
                 max_attempts = attempts + $2 WHERE id = $3 AND state IN ('failed', 'cancelled')"
            ))
            .bind(now.as_micros())
            .bind(attempts.min(i32::MAX as u32) as i32)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(self.queue_error("cannot retry a job"))?;
            if done.rows_affected() == 1 {
                return Ok(());
            }
            Err(refusal(self, id, "retry").await)
        })
    }

    fn job(&self, id: JobId) -> BoxFuture<'_, Result<Option<JobInfo>, QueueError>> {
        Box::pin(async move {
            let row = sqlx::query(concat!(job_columns!(), " WHERE id = $1"))
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
            " WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR task = $2) ORDER BY id DESC LIMIT $3"
        )
    }

    fn attempts(&self, id: JobId) -> BoxFuture<'_, Result<Vec<AttemptInfo>, QueueError>> {
        Box::pin(async move {
            let rows = sqlx::query(attempts_of_job!("$1"))
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
        Box::pin(async move {
            let mut listener = PgListener::connect_with(&self.pool)
                .await
                .map_err(self.queue_error("cannot listen for new jobs"))?;
            listener
                .listen(CHANNEL)
                .await
                .map_err(self.queue_error("cannot listen for new jobs"))?;
            Ok(Box::new(Listen(listener)) as Box<dyn JobWakeup>)
        })
    }
}

/// `LISTEN scheduler_jobs` on a connection of its own.
struct Listen(PgListener);

impl JobWakeup for Listen {
    fn next(&mut self) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if self.0.recv().await.is_err() {
                // The connection was lost: the listener reconnects on the next call; until
                // then the worker polls (a spurious wake-up after a pause, not a busy loop).
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }
}
