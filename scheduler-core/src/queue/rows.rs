//! Reading the queue's rows, the same for SQLite and PostgreSQL: the two stores select the
//! same columns in the same order, and differ only in how a row gives a column (SQLite's
//! integers are all 64-bit; PostgreSQL's attempt counts and priority are `int4`), which
//! [`Columns`] hides.

use crate::log::InstanceId;
use crate::time::Timestamp;

use super::{
    AttemptInfo, ClaimedJob, JobCounts, JobId, JobInfo, JobState, QueueError, attempt_outcome,
    json_of,
};

/// A row's columns by position, as the queue reads them.
pub(crate) trait Columns {
    /// An integer column (any width).
    fn int(&self, i: usize) -> Result<i64, QueueError>;
    /// An integer column that may be `NULL`.
    fn opt_int(&self, i: usize) -> Result<Option<i64>, QueueError>;
    /// A text column.
    fn text(&self, i: usize) -> Result<String, QueueError>;
    /// A text column that may be `NULL`.
    fn opt_text(&self, i: usize) -> Result<Option<String>, QueueError>;
}

fn corrupt(e: sqlx::Error) -> QueueError {
    QueueError::Corrupt(e.to_string())
}

#[cfg(feature = "sqlite")]
impl Columns for sqlx::sqlite::SqliteRow {
    fn int(&self, i: usize) -> Result<i64, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
    fn text(&self, i: usize) -> Result<String, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
}

#[cfg(feature = "postgres")]
impl Columns for sqlx::postgres::PgRow {
    fn int(&self, i: usize) -> Result<i64, QueueError> {
        sqlx::Row::try_get::<i64, _>(self, i)
            .or_else(|_| sqlx::Row::try_get::<i32, _>(self, i).map(i64::from))
            .map_err(corrupt)
    }
    fn opt_int(&self, i: usize) -> Result<Option<i64>, QueueError> {
        sqlx::Row::try_get::<Option<i64>, _>(self, i)
            .or_else(|_| sqlx::Row::try_get::<Option<i32>, _>(self, i).map(|v| v.map(i64::from)))
            .map_err(corrupt)
    }
    fn text(&self, i: usize) -> Result<String, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, QueueError> {
        sqlx::Row::try_get(self, i).map_err(corrupt)
    }
}

/// The columns of a job, in the order [`job_of`] reads them: a macro, so that each store
/// adds its `WHERE` with `concat!` and the statement stays a literal.
macro_rules! job_columns {
    () => {
        "SELECT id, task, state, payload, priority, unique_key, attempts, max_attempts, \
         run_at, enqueued, finished, result, error FROM scheduler_jobs"
    };
}
pub(crate) use job_columns;

/// A job from a row of [`job_columns`].
pub(crate) fn job_of(row: &impl Columns) -> Result<JobInfo, QueueError> {
    Ok(JobInfo {
        id: JobId(row.int(0)?),
        task: row.text(1)?,
        state: row.text(2)?.parse()?,
        payload: json_of(&row.text(3)?)?,
        priority: row.int(4)? as i32,
        unique_key: row.opt_text(5)?,
        attempts: row.int(6)? as u32,
        max_attempts: row.int(7)? as u32,
        run_at: Timestamp::from_micros(row.int(8)?),
        enqueued: Timestamp::from_micros(row.int(9)?),
        finished: row.opt_int(10)?.map(Timestamp::from_micros),
        result: row.opt_text(11)?.as_deref().map(json_of).transpose()?,
        error: row.opt_text(12)?,
    })
}

/// A claimed job from a claim's row (`id, task, payload, attempts, max_attempts,
/// enqueued, run_at`), claimed at `claimed`.
fn claimed_of(row: &impl Columns, claimed: Timestamp) -> Result<ClaimedJob, QueueError> {
    let payload = row.text(2)?;
    Ok(ClaimedJob {
        id: JobId(row.int(0)?),
        task: row.text(1)?,
        // A payload that does not read is handed on as a string, and the task's
        // `Payload<T>` fails the attempt with the reason.
        payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload)),
        attempt: row.int(3)? as u32,
        max_attempts: row.int(4)? as u32,
        enqueued: Timestamp::from_micros(row.int(5)?),
        run_at: Timestamp::from_micros(row.int(6)?),
        claimed,
    })
}

/// The claimed jobs of a claim's rows (`id, task, payload, attempts, max_attempts,
/// enqueued, run_at, priority`), in the claim's order: `RETURNING` gives rows in no set
/// order, and a batch starts highest priority first, then oldest due first.
pub(crate) fn claimed_in_order<R: Columns>(
    rows: Vec<R>,
    claimed: Timestamp,
) -> Result<Vec<ClaimedJob>, QueueError> {
    let mut keyed = rows
        .iter()
        .map(|row| {
            let order = (std::cmp::Reverse(row.int(7)?), row.int(6)?, row.int(0)?);
            Ok((order, claimed_of(row, claimed)?))
        })
        .collect::<Result<Vec<_>, QueueError>>()?;
    keyed.sort_unstable_by_key(|(order, _)| *order);
    Ok(keyed.into_iter().map(|(_, job)| job).collect())
}

/// A job's attempts, oldest first, in the order [`attempt_of`] reads their columns, with
/// the job's id as the placeholder `$p` (`?1` for SQLite, `$1` for PostgreSQL).
///
/// An attempt has a row of its own once it has ended without ending the job (it failed and
/// the job is retried, it crashed, it was given back). The job's latest attempt, while it
/// runs and once it has ended the job (succeeded, or failed for good), is read from the
/// job's row instead, which holds all of it (worker, claim, end, error): a job that
/// succeeds at once costs no attempt row (see `postgres.rs`).
macro_rules! attempts_of_job {
    ($p:literal) => {
        concat!(
            "SELECT attempt, worker, started, finished, outcome, error \
             FROM scheduler_job_attempts WHERE job = ",
            $p,
            " UNION ALL SELECT attempts, locked_by, claimed, \
             CASE WHEN state IN ('succeeded', 'failed') THEN finished END, \
             CASE WHEN state IN ('succeeded', 'failed') THEN state END, \
             CASE WHEN state = 'failed' THEN error END \
             FROM scheduler_jobs AS j WHERE id = ",
            $p,
            " AND state IN ('running', 'succeeded', 'failed') AND claimed IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM scheduler_job_attempts AS a \
             WHERE a.job = j.id AND a.attempt = j.attempts) ORDER BY 1"
        )
    };
}
pub(crate) use attempts_of_job;

/// Keeps the row of a failed job's last attempt (read from the job's row until now, see
/// [`attempts_of_job`]) before [`JobStore::retry`](super::JobStore::retry) queues the
/// job again and its next claim overwrites what the job's row says of it; `$p` is the
/// job's id.
macro_rules! keep_last_attempt {
    ($p:literal) => {
        concat!(
            "INSERT INTO scheduler_job_attempts \
             (job, attempt, worker, started, finished, outcome, error) \
             SELECT id, attempts, locked_by, claimed, finished, 'failed', error \
             FROM scheduler_jobs AS j WHERE id = ",
            $p,
            " AND state = 'failed' AND claimed IS NOT NULL AND NOT EXISTS (SELECT 1 \
             FROM scheduler_job_attempts AS a WHERE a.job = j.id AND a.attempt = j.attempts)"
        )
    };
}
pub(crate) use keep_last_attempt;

/// An attempt from a row of [`attempts_of_job`].
pub(crate) fn attempt_of(row: &impl Columns) -> Result<AttemptInfo, QueueError> {
    Ok(AttemptInfo {
        attempt: row.int(0)? as u32,
        worker: row.opt_int(1)?.map(|w| InstanceId::from_u64(w as u64)),
        started: Timestamp::from_micros(row.int(2)?),
        finished: row.opt_int(3)?.map(Timestamp::from_micros),
        outcome: attempt_outcome(row.opt_text(4)?),
        error: row.opt_text(5)?,
    })
}

/// The jobs a prune deletes (see `PruneJobs`): the ids, oldest first, of at most
/// `$limit` jobs that ended before the cutoffs `$finished` (succeeded, cancelled) and
/// `$failed`, given as the stores' placeholders. A job without an end instant is never
/// among them. The condition alone is [`prunable!`], which a store repeats on the rows it
/// deletes, so that a job queued again meanwhile stays.
macro_rules! prunable {
    ($finished:literal, $failed:literal) => {
        concat!(
            "((state IN ('succeeded', 'cancelled') AND finished < ",
            $finished,
            ") OR (state = 'failed' AND finished < ",
            $failed,
            "))"
        )
    };
    ($finished:literal, $failed:literal, $limit:literal) => {
        concat!(
            "SELECT id FROM scheduler_jobs WHERE ",
            prunable!($finished, $failed),
            " ORDER BY id LIMIT ",
            $limit
        )
    };
}
pub(crate) use prunable;

/// What [`COUNTS`] gives, added up.
pub(crate) const COUNTS: &str = "SELECT state, count(*) FROM scheduler_jobs GROUP BY state";

/// A store's answer to a statement that reads a summary of the whole queue (`$sql`, with
/// no parameter), read by `$of`: the same for both stores, whose pools differ in type.
macro_rules! summary {
    ($store:expr, $sql:expr, $what:literal, $of:path) => {
        Box::pin(async move {
            let rows = sqlx::query($sql)
                .fetch_all(&$store.pool)
                .await
                .map_err($store.queue_error($what))?;
            $of(&rows)
        })
    };
}
pub(crate) use summary;

/// A store's answer to `list`: the jobs of [`job_columns`] with the store's `$where`
/// (state, task, limit as its parameters 1 to 3, in its placeholders), the same for both
/// stores, whose pools differ in type.
macro_rules! listed {
    ($store:expr, $filter:expr, $where:literal) => {
        Box::pin(async move {
            let rows = sqlx::query(concat!(job_columns!(), $where))
                .bind($filter.state.map(JobState::as_str))
                .bind($filter.task.as_deref())
                .bind($filter.limit.min(i64::MAX as usize) as i64)
                .fetch_all(&$store.pool)
                .await
                .map_err($store.queue_error("cannot list jobs"))?;
            rows.iter().map(job_of).collect()
        })
    };
}
pub(crate) use listed;

/// The running jobs of each task (the partial index of running jobs finds them).
pub(crate) const RUNNING: &str =
    "SELECT task, count(*) FROM scheduler_jobs WHERE state = 'running' GROUP BY task";

/// The rows of [`RUNNING`].
pub(crate) fn running_of<R: Columns>(rows: &[R]) -> Result<Vec<(String, u64)>, QueueError> {
    rows.iter()
        .map(|row| Ok((row.text(0)?, row.int(1)? as u64)))
        .collect()
}

/// The counts of the rows of [`COUNTS`].
pub(crate) fn counts_of<R: Columns>(rows: &[R]) -> Result<JobCounts, QueueError> {
    let mut counts = JobCounts::default();
    for row in rows {
        counts.add(row.text(0)?.parse::<JobState>()?, row.int(1)? as u64);
    }
    Ok(counts)
}

/// Why a request about job `id` that changed no row was refused: there is no such job, or
/// it is in a state that does not allow `what`.
pub(crate) async fn refusal(
    store: &dyn super::JobStore,
    id: JobId,
    what: &'static str,
) -> QueueError {
    match store.job(id).await {
        Err(error) => error,
        Ok(None) => QueueError::UnknownJob(id),
        Ok(Some(job)) => QueueError::WrongState {
            id,
            state: job.state,
            what,
        },
    }
}
