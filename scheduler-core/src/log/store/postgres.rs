//! The log store in PostgreSQL (feature `postgres`): one database that several programs
//! share.
//!
//! The same tables as the SQLite store (see `sqlite.rs`), each name prefixed `scheduler_`
//! so that the log can live in an application's own database (in the schema its
//! `search_path` names first):
//!
//! * `log`: every record, in the order written (`seq`), indexed by task, action and time
//!   (the questions conditions ask) and by run;
//! * `latest`: the latest record of each action of each task, updated in the same
//!   transaction as the log, so that start-up reads it instead of the log;
//! * `open_runs`: the runs with a `run` record and no record that ends them;
//! * `instances`: the scheduler processes that write here;
//! * `schema`: the version of the schema.
//!
//! Several programs may start together on an empty database: the migrations run under a
//! transaction-scoped advisory lock, and each program reads the schema's version again once
//! it holds the lock, so that exactly one creates the tables (DDL is transactional in
//! PostgreSQL: a migration that fails leaves nothing behind). A database whose schema is
//! newer than this build is refused, untouched ([`StoreErrorKind::NewerSchema`]).
//!
//! A batch is one transaction of a few statements whatever its size: the records go in as
//! arrays (`UNNEST`), so that each statement's text is the same for every batch and stays
//! prepared. Appends of all programs on the database take one advisory lock for the length
//! of their transaction: `seq` is drawn from a sequence when a row is inserted, not when it
//! commits, and without the lock a reader paging forward by `seq` (`--follow`) could pass
//! a record that a slower transaction commits later with a smaller `seq`.
//!
//! PostgreSQL's `text` cannot hold the character NUL: a NUL in a record's text (a child
//! process that printed binary output) is written as U+FFFD, the replacement character,
//! rather than have the database refuse the whole batch again and again.
//!
//! Errors are sorted by their SQLSTATE class (see [`error`]), so that the journal retries
//! what may pass (a database restarting, a connection lost, a serialization failure) and
//! reports what will not. Connections are plain TCP or a Unix socket: this build has no
//! TLS.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, QueryBuilder, Row};

use crate::BoxFuture;
use crate::log::{Action, InstanceId, LogRecord, Retention, RunId};
use crate::time::Timestamp;

use super::{
    InstanceRecord, LoadRequest, Loaded, LogStore, OpenRun, PruneRule, RecordQuery, StoreError,
    StoreErrorKind, StoredRecord, redacted,
};

/// The migrations, oldest first: migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE scheduler_log (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task TEXT NOT NULL,
        action TEXT NOT NULL,
        at BIGINT NOT NULL,
        run_id BYTEA,
        instance BIGINT,
        duration BIGINT,
        message TEXT,
        output TEXT,
        value TEXT
    )",
        "CREATE INDEX scheduler_log_task ON scheduler_log (task, action, at)",
        "CREATE INDEX scheduler_log_run ON scheduler_log (run_id) WHERE run_id IS NOT NULL",
        "CREATE TABLE scheduler_latest (
        task TEXT NOT NULL,
        action TEXT NOT NULL,
        at BIGINT NOT NULL,
        run_id BYTEA,
        instance BIGINT,
        duration BIGINT,
        message TEXT,
        output TEXT,
        value TEXT,
        PRIMARY KEY (task, action)
    )",
        "CREATE TABLE scheduler_open_runs (
        run_id BYTEA PRIMARY KEY,
        task TEXT NOT NULL,
        instance BIGINT,
        started BIGINT NOT NULL
    )",
        "CREATE TABLE scheduler_instances (
        id BIGINT PRIMARY KEY,
        name TEXT NOT NULL,
        host TEXT NOT NULL,
        pid BIGINT NOT NULL,
        started BIGINT NOT NULL,
        last_seen BIGINT NOT NULL,
        stopped BIGINT
    )",
    ],
    &[
        // A record is stored once: a batch written again after a lost reply to its COMMIT
        // (the server committed, the program did not hear it) adds nothing.
        "DELETE FROM scheduler_log AS a USING scheduler_log AS b \
     WHERE a.run_id = b.run_id AND a.action = b.action AND a.seq > b.seq",
        "CREATE UNIQUE INDEX scheduler_log_run_action ON scheduler_log (run_id, action) \
     WHERE run_id IS NOT NULL",
        "DROP INDEX scheduler_log_run",
    ],
    // The job queue (see `crate::queue`): jobs, and one row per attempt of each.
    &[
        "CREATE TABLE scheduler_jobs (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        task TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        priority INTEGER NOT NULL,
        run_at BIGINT NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        unique_key TEXT,
        locked_by BIGINT,
        locked_until BIGINT,
        result TEXT,
        error TEXT,
        enqueued BIGINT NOT NULL,
        finished BIGINT
    )",
        "CREATE INDEX scheduler_jobs_due ON scheduler_jobs (priority DESC, run_at, id) \
     WHERE state = 'queued'",
        "CREATE INDEX scheduler_jobs_leased ON scheduler_jobs (locked_until) WHERE state = 'running'",
        "CREATE UNIQUE INDEX scheduler_jobs_unique ON scheduler_jobs (task, unique_key) \
     WHERE unique_key IS NOT NULL AND state IN ('queued', 'running')",
        // Idle workers LISTEN on `scheduler_jobs`: one notification per statement that
        // enqueues, delivered when its transaction commits (an application's too).
        "CREATE FUNCTION scheduler_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS \
     $$ BEGIN PERFORM pg_notify('scheduler_jobs', ''); RETURN NULL; END $$",
        "CREATE TRIGGER scheduler_jobs_enqueued AFTER INSERT ON scheduler_jobs \
     FOR EACH STATEMENT EXECUTE FUNCTION scheduler_jobs_notify()",
        "CREATE TABLE scheduler_job_attempts (
        job BIGINT NOT NULL,
        attempt INTEGER NOT NULL,
        worker BIGINT,
        started BIGINT NOT NULL,
        finished BIGINT,
        outcome TEXT,
        error TEXT,
        PRIMARY KEY (job, attempt)
    )",
    ],
    // A claim is one update of the job's row, which keeps the claim's instant; an attempt
    // gets a row of its own only once the job runs again after it (see
    // `queue::rows::attempts_of_job`). A job running at the upgrade moves its attempt's
    // open row onto the job.
    &[
        "ALTER TABLE scheduler_jobs ADD COLUMN claimed BIGINT",
        "UPDATE scheduler_jobs AS j SET claimed = a.started FROM scheduler_job_attempts AS a \
     WHERE a.job = j.id AND a.attempt = j.attempts AND j.state = 'running'",
        "DELETE FROM scheduler_job_attempts AS a USING scheduler_jobs AS j \
     WHERE a.job = j.id AND a.attempt = j.attempts AND j.state = 'running' AND a.finished IS NULL",
    ],
];

/// The advisory lock held while the schema is created or migrated ("schedmig" in ASCII).
/// Advisory locks are per database; another application using the same number would only
/// wait for a migration.
const MIGRATION_LOCK: i64 = 0x7363_6865_646d_6967;

/// The advisory lock every append holds until it commits ("schedapp"), so that `seq`
/// follows the order of commits (see the module's documentation).
const APPEND_LOCK: i64 = 0x7363_6865_6461_7070;

/// How long the connection that finds out why the pool got none (see
/// [`why_unreachable`]) waits for the server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The URL option that bounds the connections a store opens (the name `pgx`, Go's
/// driver, gives it), and its default: what one process may hold open at once.
const POOL_MAX_OPTION: &str = "pool_max_conns";
const POOL_MAX_DEFAULT: u32 = 10;

/// The fewest connections a store works with: a worker's `LISTEN` holds one, its claims
/// one, and its log writes, reports and heartbeats take turns on a third (with two, the
/// `LISTEN` took the only connection left for reports, and a worker ran its jobs but
/// never recorded them).
const POOL_MAX_LEAST: u32 = 3;

/// The connections of the pool for claims (see [`PostgresStore::open`]): a worker claims
/// one batch at a time.
const CLAIM_CONNECTIONS: u32 = 1;

/// How long a call waits for a connection (the pool reconnects meanwhile) before it fails
/// as [`Unavailable`](StoreErrorKind::Unavailable). The engine awaits each batch in its loop,
/// so that this bounds how long one attempt during an outage holds the loop; the journal
/// then retries with its own backoff.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// The columns of a record, in the order of the tables `log` and `latest` (a macro, so
/// that statements are `concat!`-ed constants).
macro_rules! record_columns {
    () => {
        "task, action, at, run_id, instance, duration, message, output, value"
    };
}

/// The same columns, of the row `r` of a subquery.
macro_rules! record_columns_of_r {
    () => {
        "r.task, r.action, r.at, r.run_id, r.instance, r.duration, r.message, r.output, r.value"
    };
}

/// The records of a batch as arrays, one per column, in the order of `record_columns!`.
macro_rules! unnest_records {
    () => {
        "UNNEST($1::text[], $2::text[], $3::int8[], $4::bytea[], \
         $5::int8[], $6::int8[], $7::text[], $8::text[], $9::text[])"
    };
}

/// A log store in a PostgreSQL database.
///
/// ```no_run
/// # async fn f() -> Result<(), scheduler_core::log::StoreError> {
/// use scheduler_core::log::store::PostgresStore;
///
/// let store = PostgresStore::open("postgres://scheduler@db.internal/app").await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    pub(crate) pool: PgPool,
    /// The job queue's claims (`crate::queue`), on connections that commit without waiting
    /// for the disk flush (`synchronous_commit = off`): one round trip per claim instead of
    /// a transaction of four. Opened on first use.
    pub(crate) claims: PgPool,
    /// The URL without its password, for messages.
    shown: String,
}

impl fmt::Debug for PostgresStore {
    // By hand: the pool's options hold the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`,
    /// with libpq's options such as `?application_name=...` or `?host=/run/postgresql`)
    /// and creates or migrates the schema.
    ///
    /// The store opens at most 10 connections (the server's own limit, `max_connections`,
    /// is 100 by default, for every program on it); `?pool_max_conns=N` (at least 3) sets
    /// another bound. A worker holds one for `LISTEN` and one for its claims, and takes
    /// the others as its log writes, reports and heartbeats need them; a web server that
    /// only enqueues needs as many as it enqueues at once.
    pub async fn open(url: &str) -> Result<PostgresStore, StoreError> {
        let shown = redacted(url);
        let (url, pool_max) = pool_max_conns(url, &shown)?;
        let options = PgConnectOptions::from_str(&url).map_err(|e| {
            StoreError::with_source(format!("cannot use the PostgreSQL URL {shown}"), e)
                .of_kind(StoreErrorKind::InvalidUrl)
        })?;
        let claims = PgPoolOptions::new()
            .max_connections(CLAIM_CONNECTIONS)
            .min_connections(0)
            // No ping before each claim (a round trip on the path from enqueue to start): a
            // claim on a connection the server dropped fails and changes nothing, and the
            // worker claims again after its pause.
            .test_before_acquire(false)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(options.clone().options([("synchronous_commit", "off")]));
        let main_pool = || {
            PgPoolOptions::new()
                // One connection writes the log at a time (the journal); the others serve
                // queries, a worker's reports, heartbeats and LISTEN, and enqueues.
                .max_connections(pool_max - CLAIM_CONNECTIONS)
                .min_connections(1)
                // A connection left broken by a database that restarted is found before
                // use rather than failing the next batch.
                .test_before_acquire(true)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
        };
        let connecting = |e| error(&format!("cannot connect to {shown}"), e);
        // The pool's first connection is the check that the server answers. The pool
        // retries a refused connection (or a server starting up) until its acquire timeout
        // and then says only that it timed out: one connection of the store's own then
        // tells why, or finds the server up by now, and the pool is made once more.
        // (Checking with such a connection at every start instead would cost each process
        // one more server backend, about 3 ms of the server's CPU.)
        let pool = match main_pool().await {
            Ok(pool) => pool,
            Err(sqlx::Error::PoolTimedOut) => {
                why_unreachable(&options, &shown).await?;
                main_pool().await.map_err(connecting)?
            }
            Err(e) => return Err(connecting(e)),
        };
        let store = PostgresStore {
            pool,
            claims,
            shown,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The database's URL, without its password.
    pub fn url(&self) -> &str {
        &self.shown
    }

    /// The schema's version in the database: `0` for a database without one.
    async fn schema_version(connection: &mut sqlx::PgConnection) -> Result<usize, sqlx::Error> {
        // `to_regclass` resolves the name through the `search_path`, as the statements do.
        let exists: Option<String> =
            sqlx::query_scalar("SELECT to_regclass('scheduler_schema')::text")
                .fetch_one(&mut *connection)
                .await?;
        if exists.is_none() {
            return Ok(0);
        }
        let version: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM scheduler_schema")
            .fetch_one(&mut *connection)
            .await?;
        Ok(version.unwrap_or(0).max(0) as usize)
    }

    fn newer_schema(&self, version: usize) -> StoreError {
        StoreError::new(format!(
            "{} holds a log of schema version {version}, written by a newer version of scheduler (this one reads up to {}); it was left untouched",
            self.shown,
            MIGRATIONS.len()
        ))
        .of_kind(StoreErrorKind::NewerSchema)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // Without the lock first: a database already up to date (every start but the
        // first) is not made to wait for another program's migration lock.
        let reading = |e| self.error("cannot read the schema's version", e);
        let version = {
            let mut connection = self.pool.acquire().await.map_err(reading)?;
            Self::schema_version(&mut connection)
                .await
                .map_err(reading)?
        };
        if version > MIGRATIONS.len() {
            return Err(self.newer_schema(version));
        }
        if version == MIGRATIONS.len() {
            return Ok(());
        }
        let creating = |e| self.error("cannot create the schema", e);
        let mut tx = self.pool.begin().await.map_err(creating)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(creating)?;
        // Another program may have migrated while this one waited for the lock.
        let version = Self::schema_version(&mut tx).await.map_err(creating)?;
        if version > MIGRATIONS.len() {
            return Err(self.newer_schema(version));
        }
        if version < MIGRATIONS.len() {
            sqlx::query("CREATE TABLE IF NOT EXISTS scheduler_schema (version BIGINT NOT NULL)")
                .execute(&mut *tx)
                .await
                .map_err(creating)?;
            for (from, statements) in MIGRATIONS.iter().enumerate().skip(version) {
                for statement in *statements {
                    sqlx::query(*statement)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| {
                            self.error(
                                &format!("cannot migrate the schema to version {}", from + 1),
                                e,
                            )
                        })?;
                }
            }
            sqlx::query("DELETE FROM scheduler_schema")
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error("cannot record the schema's version", e))?;
            sqlx::query("INSERT INTO scheduler_schema (version) VALUES ($1)")
                .bind(MIGRATIONS.len() as i64)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.error("cannot record the schema's version", e))?;
        }
        tx.commit().await.map_err(creating)
    }

    pub(crate) fn error(&self, what: &str, e: sqlx::Error) -> StoreError {
        error(&format!("{what} in {}", self.shown), e)
    }

    /// Writes a batch in one transaction. A record is stored once (a batch written again
    /// after a lost reply to its COMMIT adds nothing), but the batch is first inserted
    /// plainly, and only a batch that meets a record already stored (the unique index on
    /// run and action refuses it, and the transaction rolls back) is written again with
    /// `ON CONFLICT DO NOTHING`: the conflict check of a speculative insert made the log's
    /// insert about 1.5x as costly for the server (40,000 records: 376 ms against 245 ms
    /// plain), and the log is most of what a queued job costs it.
    async fn write(&self, records: &[LogRecord]) -> Result<(), sqlx::Error> {
        match self.write_once(records, false).await {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                self.write_once(records, true).await
            }
            written => written,
        }
    }

    async fn write_once(&self, records: &[LogRecord], seen: bool) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(APPEND_LOCK)
            .execute(&mut *tx)
            .await?;
        // `ORDER BY ordinality`: the rows take their `seq` in the order of the batch.
        macro_rules! insert {
            ($tail:literal) => {
                concat!(
                    "INSERT INTO scheduler_log (",
                    record_columns!(),
                    ") SELECT ",
                    record_columns!(),
                    " FROM ",
                    unnest_records!(),
                    " WITH ORDINALITY AS r (",
                    record_columns!(),
                    ", ordinality) ORDER BY ordinality",
                    $tail
                )
            };
        }
        const INSERT: &str = insert!("");
        const INSERT_UNSEEN: &str = insert!(" ON CONFLICT DO NOTHING");
        let insert = if seen { INSERT_UNSEEN } else { INSERT };
        bind_records(sqlx::query(insert), records.iter())
            .execute(&mut *tx)
            .await?;
        // The latest record of each action of each task, once per batch (a statement may
        // not update the same row twice).
        let mut latest: HashMap<(&str, Action), &LogRecord> = HashMap::new();
        for r in records {
            let entry = latest.entry((r.task.as_str(), r.action)).or_insert(r);
            if entry.at <= r.at {
                *entry = r;
            }
        }
        const UPSERT: &str = concat!(
            "INSERT INTO scheduler_latest (",
            record_columns!(),
            ") SELECT * FROM ",
            unnest_records!(),
            " ON CONFLICT (task, action) DO UPDATE SET at = excluded.at, run_id = excluded.run_id, \
             instance = excluded.instance, duration = excluded.duration, message = excluded.message, \
             output = excluded.output, value = excluded.value WHERE excluded.at >= scheduler_latest.at"
        );
        bind_records(sqlx::query(UPSERT), latest.into_values())
            .execute(&mut *tx)
            .await?;
        // The runs opened and closed by the batch. A run that starts and ends in the same
        // batch is deleted all the same: the batch may be written again after its `run`
        // record was stored (a lost reply to a COMMIT).
        let mut opened: HashMap<RunId, &LogRecord> = HashMap::new();
        let mut closed: Vec<RunId> = Vec::new();
        for r in records {
            // A job's run is watched by the queue's lease, not here (`RunId::is_job_run`).
            let Some(run_id) = r.run_id.filter(|id| !id.is_job_run()) else {
                continue;
            };
            if r.ends_run() {
                opened.remove(&run_id);
                closed.push(run_id);
            } else {
                opened.insert(run_id, r);
            }
        }
        if !opened.is_empty() {
            let (ids, tasks, instances, started): (Vec<_>, Vec<_>, Vec<_>, Vec<_>) = opened
                .iter()
                .map(|(id, r)| {
                    (
                        id.to_bytes(),
                        text(&r.task),
                        r.instance.map(|i| i.as_u64() as i64),
                        r.at.as_micros(),
                    )
                })
                .fold(Default::default(), |mut columns, (a, b, c, d)| {
                    columns.0.push(a);
                    columns.1.push(b);
                    columns.2.push(c);
                    columns.3.push(d);
                    columns
                });
            sqlx::query(
                "INSERT INTO scheduler_open_runs (run_id, task, instance, started) \
                 SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::int8[], $4::int8[]) \
                 ON CONFLICT (run_id) DO UPDATE SET task = excluded.task, \
                 instance = excluded.instance, started = excluded.started",
            )
            .bind(ids)
            .bind(tasks)
            .bind(instances)
            .bind(started)
            .execute(&mut *tx)
            .await?;
        }
        if !closed.is_empty() {
            sqlx::query("DELETE FROM scheduler_open_runs WHERE run_id = ANY($1::bytea[])")
                .bind(closed.iter().map(|id| id.to_bytes()).collect::<Vec<_>>())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    }

    async fn read(&self, request: &LoadRequest) -> Result<Loaded, sqlx::Error> {
        // One connection for every query: a connection goes back to the pool in a task of
        // its own, so that taking one for each query made the pool open new ones while
        // the last was on its way back (two more server backends at each start, each on
        // the start's path).
        let mut connection = self.pool.acquire().await?;
        let tasks: Vec<&str> = request.tasks.iter().map(|(t, _)| t.as_str()).collect();
        let latest: Vec<LogRecord> = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM scheduler_latest WHERE task = ANY($1::text[])"
        ))
        .bind(&tasks)
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .filter_map(|row| record_at(row, 0))
        // A change is not part of a task's history (and would move its window).
        .filter(|r| r.action.is_of_run())
        .collect();
        let mut newest: HashMap<&str, Timestamp> = HashMap::new();
        for r in &latest {
            let n = newest.entry(r.task.as_str()).or_insert(r.at);
            *n = (*n).max(r.at);
        }
        let actions: Vec<&str> = Action::OF_RUNS.iter().map(|a| a.as_str()).collect();
        let mut further: Vec<LogRecord> = Vec::new();
        for (task, retention) in &request.tasks {
            let Some(&newest) = newest.get(task.as_str()) else {
                continue;
            };
            further.extend(
                Self::beyond_latest(&mut connection, task, *retention, newest, &actions).await?,
            );
        }
        // One copy of each record: the latest table repeats records of the log.
        further.retain(|r| !latest.contains(r));
        further.sort_by_key(|r| (r.at, r.run_id));
        further.dedup();
        let mut records = latest;
        records.extend(further);
        let open_runs =
            sqlx::query("SELECT run_id, task, instance, started FROM scheduler_open_runs")
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .filter_map(|row| {
                    Some(OpenRun {
                        run_id: run_id_of(row.try_get::<Option<Vec<u8>>, _>(0).ok()??)?,
                        task: row.try_get(1).ok()?,
                        instance: row
                            .try_get::<Option<i64>, _>(2)
                            .ok()?
                            .map(|i| InstanceId::from_u64(i as u64)),
                        started: Timestamp::from_micros(row.try_get(3).ok()?),
                    })
                })
                .collect();
        Ok(Loaded {
            records,
            open_runs,
            instances: Self::instances(&mut connection).await?,
        })
    }

    /// The records of `task` that `retention` asks for beyond the latest of each action
    /// (the window back from `newest` with the last record before it, and the newest
    /// `per_action` of each action), each with an indexed query on (task, action, at).
    async fn beyond_latest(
        connection: &mut PgConnection,
        task: &str,
        retention: Retention,
        newest: Timestamp,
        actions: &[&str],
    ) -> Result<Vec<LogRecord>, sqlx::Error> {
        let mut found = Vec::new();
        if retention.window_micros > 0 {
            let cutoff = newest.as_micros().saturating_sub(retention.window_micros);
            // Every action named, so that the index on (task, action, at) serves the range.
            found.extend(
                sqlx::query(concat!(
                    "SELECT ",
                    record_columns!(),
                    " FROM scheduler_log WHERE task = $1 AND action = ANY($2::text[]) AND at >= $3"
                ))
                .bind(task)
                .bind(actions)
                .bind(cutoff)
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .filter_map(|row| record_at(row, 0)),
            );
            // The last record before the window: the last of each action, then the latest
            // of those.
            let before = sqlx::query(concat!(
                "SELECT ",
                record_columns_of_r!(),
                " FROM UNNEST($2::text[]) AS a (name) CROSS JOIN LATERAL (\
                 SELECT seq, ",
                record_columns!(),
                " FROM scheduler_log WHERE task = $1 AND action = a.name AND at < $3 \
                 ORDER BY at DESC, seq DESC LIMIT 1) AS r ORDER BY r.at DESC, r.seq DESC LIMIT 1"
            ))
            .bind(task)
            .bind(actions)
            .bind(cutoff)
            .fetch_optional(&mut *connection)
            .await?;
            found.extend(before.as_ref().and_then(|row| record_at(row, 0)));
        }
        if retention.per_action > 1 {
            found.extend(
                sqlx::query(concat!(
                    "SELECT ",
                    record_columns_of_r!(),
                    " FROM UNNEST($2::text[]) AS a (name) CROSS JOIN LATERAL (\
                     SELECT ",
                    record_columns!(),
                    " FROM scheduler_log WHERE task = $1 AND action = a.name \
                     ORDER BY at DESC, seq DESC LIMIT $3) AS r"
                ))
                .bind(task)
                .bind(actions)
                .bind(i64::from(retention.per_action))
                .fetch_all(&mut *connection)
                .await?
                .iter()
                .filter_map(|row| record_at(row, 0)),
            );
        }
        Ok(found)
    }

    async fn instances(connection: &mut PgConnection) -> Result<Vec<InstanceRecord>, sqlx::Error> {
        Ok(sqlx::query(
            "SELECT id, name, host, pid, started, last_seen, stopped FROM scheduler_instances ORDER BY started, id",
        )
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .filter_map(|row| {
            Some(InstanceRecord {
                id: InstanceId::from_u64(row.try_get::<i64, _>(0).ok()? as u64),
                name: row.try_get(1).ok()?,
                host: row.try_get(2).ok()?,
                pid: row.try_get::<i64, _>(3).ok()? as u32,
                started: Timestamp::from_micros(row.try_get(4).ok()?),
                last_seen: Timestamp::from_micros(row.try_get(5).ok()?),
                stopped: row
                    .try_get::<Option<i64>, _>(6)
                    .ok()?
                    .map(Timestamp::from_micros),
            })
        })
        .collect())
    }

    async fn select(&self, query: &RecordQuery) -> Result<Vec<StoredRecord>, sqlx::Error> {
        let mut select: QueryBuilder<Postgres> = QueryBuilder::new(concat!(
            "SELECT seq, ",
            record_columns!(),
            " FROM scheduler_log WHERE TRUE"
        ));
        if let Some(task) = &query.task {
            select.push(" AND task = ").push_bind(task.clone());
        }
        if query.actions != crate::log::ActionSet::EMPTY {
            let actions: Vec<&'static str> = query.actions.iter().map(Action::as_str).collect();
            select
                .push(" AND action = ANY(")
                .push_bind(actions)
                .push("::text[])");
        }
        if let Some(since) = query.since {
            select.push(" AND at >= ").push_bind(since.as_micros());
        }
        if let Some(until) = query.until {
            select.push(" AND at <= ").push_bind(until.as_micros());
        }
        if let Some(run_id) = query.run_id {
            select
                .push(" AND run_id = ")
                .push_bind(run_id.to_bytes().to_vec());
        }
        if let Some(after) = query.after_seq {
            select
                .push(" AND seq > ")
                .push_bind(after.min(i64::MAX as u64) as i64);
        }
        if let Some(before) = query.before_seq {
            select
                .push(" AND seq < ")
                .push_bind(before.min(i64::MAX as u64) as i64);
        }
        select.push(if query.newest_first {
            " ORDER BY seq DESC LIMIT "
        } else {
            " ORDER BY seq LIMIT "
        });
        select.push_bind(query.limit.min(i64::MAX as usize) as i64);
        Ok(select
            .build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .filter_map(|row| {
                let seq = row.try_get::<i64, _>(0).ok()? as u64;
                Some(StoredRecord {
                    seq,
                    record: record_at(row, 1)?,
                })
            })
            .collect())
    }
}

/// `url` without the option [`POOL_MAX_OPTION`], which is the store's and not libpq's, and
/// the bound it sets (else the default); an [`InvalidUrl`](StoreErrorKind::InvalidUrl)
/// error naming the URL as `shown` when its value is not a number of at least
/// [`POOL_MAX_LEAST`].
fn pool_max_conns(url: &str, shown: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), POOL_MAX_DEFAULT));
    };
    let mut pool_max = POOL_MAX_DEFAULT;
    let mut kept = Vec::new();
    for option in query.split('&') {
        match option.split_once('=') {
            Some((POOL_MAX_OPTION, value)) => {
                pool_max = value
                    .parse()
                    .ok()
                    .filter(|&n| n >= POOL_MAX_LEAST)
                    .ok_or_else(|| {
                        StoreError::new(format!(
                            "cannot use the PostgreSQL URL {shown}: {POOL_MAX_OPTION} must be \
                             a number of connections of at least {POOL_MAX_LEAST}, not `{value}`"
                        ))
                        .of_kind(StoreErrorKind::InvalidUrl)
                    })?;
            }
            _ => kept.push(option),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, pool_max))
}

/// Why the server at `options` gave the pool no connection: the error of one connection
/// made directly (refused, a wrong password, ...) within [`CONNECT_TIMEOUT`], or none if
/// that connection is made (the server was starting up, or busy).
async fn why_unreachable(options: &PgConnectOptions, shown: &str) -> Result<(), StoreError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(options)).await {
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(e)) => Err(error(&format!("cannot connect to {shown}"), e)),
        Err(_) => Err(StoreError::new(format!(
            "cannot connect to {shown}: no answer within {CONNECT_TIMEOUT:?}"
        ))
        .of_kind(StoreErrorKind::Unavailable)),
    }
}

/// `s` as PostgreSQL's `text` can hold it: without NUL (see the module's documentation).
fn text(s: &str) -> Cow<'_, str> {
    if s.contains('\0') {
        Cow::Owned(s.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Binds `records` as the nine arrays of `unnest_records!`.
fn bind_records<'q, 'r: 'q>(
    query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    records: impl Iterator<Item = &'r LogRecord>,
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    let mut task: Vec<Cow<'r, str>> = Vec::new();
    let mut action: Vec<&'static str> = Vec::new();
    let mut at: Vec<i64> = Vec::new();
    let mut run_id: Vec<Option<[u8; 16]>> = Vec::new();
    let mut instance: Vec<Option<i64>> = Vec::new();
    let mut duration: Vec<Option<i64>> = Vec::new();
    let mut message: Vec<Option<Cow<'r, str>>> = Vec::new();
    let mut output: Vec<Option<Cow<'r, str>>> = Vec::new();
    let mut value: Vec<Option<Cow<'r, str>>> = Vec::new();
    for r in records {
        task.push(text(&r.task));
        action.push(r.action.as_str());
        at.push(r.at.as_micros());
        run_id.push(r.run_id.map(RunId::to_bytes));
        instance.push(r.instance.map(|i| i.as_u64() as i64));
        duration.push(r.duration_micros);
        message.push(r.message.as_deref().map(text));
        output.push(r.output.as_deref().map(text));
        value.push(r.value.as_deref().map(text));
    }
    query
        .bind(task)
        .bind(action)
        .bind(at)
        .bind(run_id)
        .bind(instance)
        .bind(duration)
        .bind(message)
        .bind(output)
        .bind(value)
}

fn run_id_of(bytes: Vec<u8>) -> Option<RunId> {
    Some(RunId::from_bytes(bytes.try_into().ok()?))
}

/// The record in the row's columns from `first` on, in the order of `record_columns!`; a
/// row that does not read (an action this version does not know) is left out.
fn record_at(row: &PgRow, first: usize) -> Option<LogRecord> {
    let action: String = row.try_get(first + 1).ok()?;
    Some(LogRecord {
        task: row.try_get(first).ok()?,
        action: action.parse().ok()?,
        at: Timestamp::from_micros(row.try_get(first + 2).ok()?),
        run_id: row
            .try_get::<Option<Vec<u8>>, _>(first + 3)
            .ok()?
            .and_then(run_id_of),
        instance: row
            .try_get::<Option<i64>, _>(first + 4)
            .ok()?
            .map(|i| InstanceId::from_u64(i as u64)),
        duration_micros: row.try_get(first + 5).ok()?,
        message: row.try_get(first + 6).ok()?,
        output: row.try_get(first + 7).ok()?,
        value: row.try_get(first + 8).ok()?,
    })
}

/// What kind of failure a SQLSTATE code is.
///
/// The class (the first two characters) decides most: `08` connection exceptions, `53`
/// insufficient resources (too many connections, a full disk), `57` operator intervention
/// (the server shutting down or starting), `40` transaction rollbacks (serialization
/// failures, deadlocks) and `55P03` (a lock not available) may pass, so they are
/// [`Unavailable`](StoreErrorKind::Unavailable); `25006` (a read-only transaction, as on a
/// standby) and `42501` (no privilege to write) are
/// [`ReadOnly`](StoreErrorKind::ReadOnly); `42P01` and `42703` (a table or column missing
/// where this version's schema has one: another program's tables, or a damaged schema),
/// `42P07` (a table of the schema's names already there when creating it: another
/// program's) and `XX001`/`XX002` (damaged data or index) are
/// [`Corrupt`](StoreErrorKind::Corrupt);
/// `3D000` (no such database) is [`InvalidUrl`](StoreErrorKind::InvalidUrl).
pub(crate) fn kind_of_sqlstate(code: &str) -> StoreErrorKind {
    match code {
        "25006" | "42501" => StoreErrorKind::ReadOnly,
        "42P01" | "42703" | "42P07" | "XX001" | "XX002" => StoreErrorKind::Corrupt,
        "3D000" => StoreErrorKind::InvalidUrl,
        "55P03" => StoreErrorKind::Unavailable,
        _ => match code.get(..2) {
            Some("08" | "53" | "57" | "40") => StoreErrorKind::Unavailable,
            _ => StoreErrorKind::Rejected,
        },
    }
}

/// A store error for `what` that failed with `e`, of the kind its SQLSTATE says (see
/// [`kind_of_sqlstate`]); a connection that could not be made or was lost, and a pool
/// with no connection free in time, are [`Unavailable`](StoreErrorKind::Unavailable).
pub(crate) fn error(what: &str, e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Database(db) => db
            .code()
            .map_or(StoreErrorKind::Rejected, |code| kind_of_sqlstate(&code)),
        sqlx::Error::Io(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => StoreErrorKind::Unavailable,
        sqlx::Error::Configuration(_) => StoreErrorKind::InvalidUrl,
        _ => StoreErrorKind::Rejected,
    };
    let hint = match kind {
        StoreErrorKind::ReadOnly => {
            " (is the database read-only, a standby, or the user without the right to write?)"
        }
        StoreErrorKind::Corrupt => {
            " (the database holds tables of these names that are not a scheduler log, or a damaged one; they were left untouched)"
        }
        StoreErrorKind::InvalidUrl => " (does the URL name an existing database?)",
        _ => "",
    };
    StoreError::with_source(format!("{what}{hint}"), e).of_kind(kind)
}

impl LogStore for PostgresStore {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if records.is_empty() {
                return Ok(());
            }
            self.write(records)
                .await
                .map_err(|e| self.error(&format!("cannot write {} records", records.len()), e))
        })
    }

    fn load<'a>(&'a self, request: &'a LoadRequest) -> BoxFuture<'a, Result<Loaded, StoreError>> {
        Box::pin(async move {
            self.read(request)
                .await
                .map_err(|e| self.error("cannot read the log", e))
        })
    }

    fn query<'a>(
        &'a self,
        query: &'a RecordQuery,
    ) -> BoxFuture<'a, Result<Vec<StoredRecord>, StoreError>> {
        Box::pin(async move {
            self.select(query)
                .await
                .map_err(|e| self.error("cannot query the log", e))
        })
    }

    fn latest<'a>(
        &'a self,
        tasks: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LogRecord>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(concat!(
                "SELECT ",
                record_columns!(),
                " FROM scheduler_latest WHERE cardinality($1::text[]) = 0 OR task = ANY($1::text[]) \
                 ORDER BY task, at"
            ))
            .bind(tasks)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error("cannot read the tasks' status", e))?;
            Ok(rows.iter().filter_map(|row| record_at(row, 0)).collect())
        })
    }

    fn register<'a>(
        &'a self,
        instance: &'a InstanceRecord,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO scheduler_instances (id, name, host, pid, started, last_seen, stopped) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET \
                 name = excluded.name, host = excluded.host, pid = excluded.pid, \
                 started = excluded.started, last_seen = excluded.last_seen, stopped = excluded.stopped",
            )
            .bind(instance.id.as_u64() as i64)
            .bind(text(&instance.name))
            .bind(text(&instance.host))
            .bind(i64::from(instance.pid))
            .bind(instance.started.as_micros())
            .bind(instance.last_seen.as_micros())
            .bind(instance.stopped.map(Timestamp::as_micros))
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| self.error("cannot register the scheduler's instance", e))
        })
    }

    fn jobs(&self) -> Option<&dyn crate::queue::JobStore> {
        Some(self)
    }

    fn prune<'a>(&'a self, rules: &'a [PruneRule]) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut deleted = 0;
            for rule in rules {
                // `PruneRule::deletes`, in SQL.
                let done = sqlx::query(
                    "DELETE FROM scheduler_log WHERE seq IN (
                        SELECT seq FROM (
                            SELECT seq, at,
                                ROW_NUMBER() OVER (PARTITION BY action ORDER BY at DESC, seq DESC) AS per_action,
                                ROW_NUMBER() OVER (ORDER BY at DESC, seq DESC) AS per_task
                            FROM scheduler_log WHERE task = $1
                        ) AS ranked WHERE at < $2 AND per_action > $3 AND (at < $4 OR per_task > $5)
                    )",
                )
                .bind(&rule.task)
                .bind(rule.protect_from.as_micros())
                .bind(i64::from(rule.keep_per_action))
                .bind(rule.older_than.map_or(i64::MIN, Timestamp::as_micros))
                .bind(rule.beyond_count.map_or(i64::MAX, |n| n.min(i64::MAX as u64) as i64))
                .execute(&self.pool)
                .await
                .map_err(|e| self.error("cannot prune the log", e))?;
                deleted += done.rows_affected();
            }
            Ok(deleted)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_sort_into_kinds() {
        for (code, kind) in [
            ("08006", StoreErrorKind::Unavailable),
            ("57P01", StoreErrorKind::Unavailable),
            ("57P03", StoreErrorKind::Unavailable),
            ("40001", StoreErrorKind::Unavailable),
            ("40P01", StoreErrorKind::Unavailable),
            ("53300", StoreErrorKind::Unavailable),
            ("25006", StoreErrorKind::ReadOnly),
            ("42P01", StoreErrorKind::Corrupt),
            ("42703", StoreErrorKind::Corrupt),
            ("42P07", StoreErrorKind::Corrupt),
            ("3D000", StoreErrorKind::InvalidUrl),
            ("23505", StoreErrorKind::Rejected),
            ("22021", StoreErrorKind::Rejected),
        ] {
            assert_eq!(kind_of_sqlstate(code), kind, "{code}");
        }
    }

    #[test]
    fn the_pool_bound_is_taken_out_of_the_url() {
        let ok = |url: &str| pool_max_conns(url, url).unwrap();
        assert_eq!(
            ok("postgres://h/db"),
            ("postgres://h/db".to_owned(), POOL_MAX_DEFAULT)
        );
        assert_eq!(
            ok("postgres://h/db?pool_max_conns=3"),
            ("postgres://h/db".to_owned(), 3)
        );
        assert_eq!(
            ok("postgres://h/db?sslmode=disable&pool_max_conns=4&application_name=w"),
            (
                "postgres://h/db?sslmode=disable&application_name=w".to_owned(),
                4
            )
        );
        for bad in ["2", "1", "0", "-2", "many", ""] {
            let url = format!("postgres://h/db?pool_max_conns={bad}");
            let error = pool_max_conns(&url, &url).unwrap_err();
            assert_eq!(error.kind(), StoreErrorKind::InvalidUrl);
            assert_eq!(
                error.to_string(),
                format!(
                    "log store: cannot use the PostgreSQL URL {url}: pool_max_conns must be a \
                     number of connections of at least 3, not `{bad}`"
                )
            );
        }
    }

    #[test]
    fn text_without_nul() {
        assert!(matches!(text("plain"), Cow::Borrowed("plain")));
        assert_eq!(text("a\0b"), "a\u{FFFD}b");
    }
}
