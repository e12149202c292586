//! The log store in a SQLite file (feature `sqlite`): the default store of
//! `scheduler::run()`.
//!
//! The file is created with its schema on first use and migrated forward by the versioned
//! migrations below (a file written by a newer version is refused, untouched). It is opened
//! in WAL mode with `synchronous = NORMAL`: a committed batch survives the process being
//! killed (the operating system holds it), and the last batches before a power cut may be
//! lost; `sqlite:path?synchronous=full` makes each commit durable on the disk too, at one
//! disk flush per batch.
//!
//! Before anything is written, the file is inspected: a file that is no SQLite database, a
//! schema of a newer version, and tables named as the log's that are not (another
//! program's, or damaged) are refused with a typed error and left byte for byte as they
//! were. A database that also holds an application's tables keeps the journal mode the
//! application chose (WAL is a property of the file).
//!
//! Tables (each name prefixed `scheduler_`, so that the log can live in an application's
//! own database):
//!
//! * `log`: every record, in the order written (`seq`), indexed by task, action and time
//!   (the questions conditions ask) and by run;
//! * `latest`: the latest record of each action of each task, updated in the same
//!   transaction as the log: start-up reads this instead of the log, so that its cost does
//!   not grow with the log;
//! * `open_runs`: the runs with a `run` record and no record that ends them;
//! * `instances`: the scheduler processes that write here;
//! * `schema`: the version of the schema.
//!
//! Written by hand rather than with `sqlx::migrate!`: that macro is a proc-macro crate of
//! its own to build for every user (sqlx-macros-core), for seven statements.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Row, Sqlite, SqliteConnection};

use crate::BoxFuture;
use crate::log::{Action, InstanceId, LogRecord, RunId};
use crate::time::Timestamp;

use super::{
    InstanceRecord, LoadRequest, Loaded, LogStore, OpenRun, PruneRule, RecordQuery, StoreError,
    StoreErrorKind, StoredRecord,
};

/// The migrations, oldest first: migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE scheduler_log (
        seq INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        action TEXT NOT NULL,
        at INTEGER NOT NULL,
        run_id BLOB,
        instance INTEGER,
        duration INTEGER,
        message TEXT,
        output TEXT,
        value TEXT
    )",
        "CREATE INDEX scheduler_log_task ON scheduler_log (task, action, at)",
        "CREATE INDEX scheduler_log_run ON scheduler_log (run_id) WHERE run_id IS NOT NULL",
        "CREATE TABLE scheduler_latest (
        task TEXT NOT NULL,
        action TEXT NOT NULL,
        at INTEGER NOT NULL,
        run_id BLOB,
        instance INTEGER,
        duration INTEGER,
        message TEXT,
        output TEXT,
        value TEXT,
        PRIMARY KEY (task, action)
    ) WITHOUT ROWID",
        "CREATE TABLE scheduler_open_runs (
        run_id BLOB PRIMARY KEY,
        task TEXT NOT NULL,
        instance INTEGER,
        started INTEGER NOT NULL
    ) WITHOUT ROWID",
        "CREATE TABLE scheduler_instances (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        started INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        stopped INTEGER
    )",
    ],
    &[
        // A record is stored once: a batch written again after a failure that came after its
        // commit adds nothing (as in the PostgreSQL store).
        "DELETE FROM scheduler_log WHERE run_id IS NOT NULL AND seq NOT IN \
     (SELECT min(seq) FROM scheduler_log WHERE run_id IS NOT NULL GROUP BY run_id, action)",
        "CREATE UNIQUE INDEX scheduler_log_run_action ON scheduler_log (run_id, action) \
     WHERE run_id IS NOT NULL",
        "DROP INDEX scheduler_log_run",
    ],
    // The job queue (see `crate::queue`): jobs, and one row per attempt of each.
    &[
        "CREATE TABLE scheduler_jobs (
        id INTEGER PRIMARY KEY,
        task TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        priority INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        unique_key TEXT,
        locked_by INTEGER,
        locked_until INTEGER,
        result TEXT,
        error TEXT,
        enqueued INTEGER NOT NULL,
        finished INTEGER
    )",
        // What a worker claims: the due jobs, highest priority first, then oldest due.
        "CREATE INDEX scheduler_jobs_due ON scheduler_jobs (priority DESC, run_at, id) \
     WHERE state = 'queued'",
        // What the reaper looks for: leases that expired.
        "CREATE INDEX scheduler_jobs_leased ON scheduler_jobs (locked_until) WHERE state = 'running'",
        // One pending job per task and uniqueness key.
        "CREATE UNIQUE INDEX scheduler_jobs_unique ON scheduler_jobs (task, unique_key) \
     WHERE unique_key IS NOT NULL AND state IN ('queued', 'running')",
        "CREATE TABLE scheduler_job_attempts (
        job INTEGER NOT NULL,
        attempt INTEGER NOT NULL,
        worker INTEGER,
        started INTEGER NOT NULL,
        finished INTEGER,
        outcome TEXT,
        error TEXT,
        PRIMARY KEY (job, attempt)
    ) WITHOUT ROWID",
    ],
    // A claim is one update of the job's row, which keeps the claim's instant; an attempt
    // gets a row of its own only once the job runs again after it (see
    // `queue::rows::attempts_of_job`). A job running at the upgrade moves its attempt's
    // open row onto the job.
    &[
        "ALTER TABLE scheduler_jobs ADD COLUMN claimed INTEGER",
        "UPDATE scheduler_jobs SET claimed = (SELECT a.started FROM scheduler_job_attempts AS a \
     WHERE a.job = scheduler_jobs.id AND a.attempt = scheduler_jobs.attempts) \
     WHERE state = 'running'",
        "DELETE FROM scheduler_job_attempts WHERE finished IS NULL AND EXISTS (SELECT 1 \
     FROM scheduler_jobs AS j WHERE j.id = scheduler_job_attempts.job \
     AND j.attempts = scheduler_job_attempts.attempt AND j.state = 'running')",
    ],
    // Job ids are never given again: without AUTOINCREMENT, SQLite gives the largest id
    // plus one, so that once jobs past their retention are deleted (`queue::JobRetention`)
    // a new job could take the id of a deleted one that a client still asks about. The
    // table is rebuilt with the same columns and indexes.
    &[
        "CREATE TABLE scheduler_jobs_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        task TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        priority INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        unique_key TEXT,
        locked_by INTEGER,
        locked_until INTEGER,
        result TEXT,
        error TEXT,
        enqueued INTEGER NOT NULL,
        finished INTEGER,
        claimed INTEGER
    )",
        "INSERT INTO scheduler_jobs_v5 (id, task, payload, state, priority, run_at, attempts, \
     max_attempts, unique_key, locked_by, locked_until, result, error, enqueued, finished, claimed) \
     SELECT id, task, payload, state, priority, run_at, attempts, max_attempts, unique_key, \
     locked_by, locked_until, result, error, enqueued, finished, claimed FROM scheduler_jobs",
        "DROP TABLE scheduler_jobs",
        "ALTER TABLE scheduler_jobs_v5 RENAME TO scheduler_jobs",
        "CREATE INDEX scheduler_jobs_due ON scheduler_jobs (priority DESC, run_at, id) \
     WHERE state = 'queued'",
        "CREATE INDEX scheduler_jobs_leased ON scheduler_jobs (locked_until) WHERE state = 'running'",
        "CREATE UNIQUE INDEX scheduler_jobs_unique ON scheduler_jobs (task, unique_key) \
     WHERE unique_key IS NOT NULL AND state IN ('queued', 'running')",
    ],
];

/// The tables of the current schema and the columns this version reads, to tell a log of
/// this version from tables of the same names written by someone else (a unit test checks
/// them against what [`MIGRATIONS`] creates).
const TABLES: &[(&str, &[&str])] = &[
    (
        "scheduler_log",
        &[
            "seq", "task", "action", "at", "run_id", "instance", "duration", "message", "output",
            "value",
        ],
    ),
    (
        "scheduler_latest",
        &[
            "task", "action", "at", "run_id", "instance", "duration", "message", "output", "value",
        ],
    ),
    (
        "scheduler_open_runs",
        &["run_id", "task", "instance", "started"],
    ),
    (
        "scheduler_instances",
        &[
            "id",
            "name",
            "host",
            "pid",
            "started",
            "last_seen",
            "stopped",
        ],
    ),
    ("scheduler_schema", &["version"]),
    (
        "scheduler_jobs",
        &[
            "id",
            "task",
            "payload",
            "state",
            "priority",
            "run_at",
            "attempts",
            "max_attempts",
            "unique_key",
            "locked_by",
            "locked_until",
            "result",
            "error",
            "enqueued",
            "finished",
            "claimed",
        ],
    ),
    (
        "scheduler_job_attempts",
        &[
            "job", "attempt", "worker", "started", "finished", "outcome", "error",
        ],
    ),
];

/// What [`inspect`] found in a file.
#[derive(Debug)]
struct Found {
    /// Tables that are not the log's: the file is an application's database, which the log
    /// shares.
    foreign_tables: bool,
    /// The schema's version (0: no log yet).
    version: usize,
}

/// Looks at what the file at `path` holds, writing nothing, and refuses what this version
/// must not write to: a file that is no SQLite database, a schema of a newer version,
/// tables named as the log's that are not (another program's, or damaged).
async fn inspect(connection: &mut SqliteConnection, path: &Path) -> Result<Found, StoreError> {
    let failed = |what: &str, e| error(&format!("{what} the SQLite file {}", path.display()), e);
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(&mut *connection)
            .await
            .map_err(|e| failed("cannot read the tables of", e))?;
    let foreign_tables = tables
        .iter()
        .any(|t| !t.starts_with("scheduler_") && !t.starts_with("sqlite_"));
    let mut columns: HashMap<&str, Vec<String>> = HashMap::new();
    for table in tables.iter().filter(|t| t.starts_with("scheduler_")) {
        columns.insert(
            table,
            sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                .bind(table)
                .fetch_all(&mut *connection)
                .await
                .map_err(|e| failed("cannot read the columns of", e))?,
        );
    }
    let not_ours = |why: String| {
        StoreError::new(format!(
            "the SQLite file {} is not a scheduler log that this version can use: {why}; it was left untouched",
            path.display()
        ))
        .of_kind(StoreErrorKind::Corrupt)
    };
    let version = match columns.get("scheduler_schema") {
        None => 0,
        Some(found) if !found.iter().any(|c| c == "version") => {
            return Err(not_ours(
                "its table scheduler_schema has no column `version` (another program's table?)"
                    .to_owned(),
            ));
        }
        Some(_) => {
            let version: Option<i64> =
                sqlx::query_scalar("SELECT max(version) FROM scheduler_schema")
                    .fetch_one(&mut *connection)
                    .await
                    .map_err(|e| failed("cannot read the schema's version in", e))?;
            usize::try_from(version.unwrap_or(0)).unwrap_or(0)
        }
    };
    if version > MIGRATIONS.len() {
        return Err(newer_schema(path, version));
    }
    if version == 0 {
        // Tables of the log's names without a version: not written by this crate, which
        // records the version in the transaction that creates them.
        if let Some(table) = columns.keys().filter(|t| **t != "scheduler_schema").min() {
            return Err(not_ours(format!(
                "it has a table {table} that is not a scheduler log (another program's?) and no schema version"
            )));
        }
    } else if version == MIGRATIONS.len() {
        for (table, wanted) in TABLES {
            let Some(found) = columns.get(table) else {
                return Err(not_ours(format!(
                    "it has schema version {version} but no table {table}"
                )));
            };
            if let Some(missing) = wanted.iter().find(|c| !found.iter().any(|f| f == *c)) {
                return Err(not_ours(format!(
                    "its table {table} has no column `{missing}` (another program's table, or a damaged schema?)"
                )));
            }
        }
    }
    Ok(Found {
        foreign_tables,
        version,
    })
}

/// The error of a file whose schema a newer version wrote.
fn newer_schema(path: &Path, version: usize) -> StoreError {
    StoreError::new(format!(
        "the SQLite file {} holds a log of schema version {version}, written by a newer version of scheduler (this one reads up to {}); it was left untouched",
        path.display(),
        MIGRATIONS.len()
    ))
    .of_kind(StoreErrorKind::NewerSchema)
}

/// The columns of a record, in the order of the tables `log` and `latest` (a macro, so
/// that statements are `concat!`-ed constants).
macro_rules! record_columns {
    () => {
        "task, action, at, run_id, instance, duration, message, output, value"
    };
}

/// Rows per statement when writing a batch: a batch is written in statements of these
/// sizes, so that each statement's text repeats and stays prepared (sqlx caches prepared
/// statements by their text). 256 rows of 9 columns stay well under SQLite's limit of
/// 32,766 arguments per statement.
const CHUNKS: [usize; 5] = [256, 64, 16, 4, 1];

/// `items` cut into pieces of the sizes of [`CHUNKS`], largest first.
fn chunks<T>(items: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = CHUNKS
            .into_iter()
            .find(|&size| size <= rest.len())
            .unwrap_or(1);
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}

/// A log store in a SQLite file.
///
/// ```no_run
/// # async fn f() -> Result<(), scheduler_core::log::StoreError> {
/// use scheduler_core::log::store::SqliteStore;
///
/// let store = SqliteStore::open("scheduler.db").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
    path: PathBuf,
    /// Woken by every enqueue through this store (and its clones): a worker of this
    /// process that waits for jobs starts at once instead of at its next poll.
    pub(crate) enqueued: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl SqliteStore {
    /// Opens the file at `path` (creating it and its schema if needed).
    ///
    /// A query string sets options: `?synchronous=full` (see the module's documentation).
    pub async fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let text = path.as_ref().to_string_lossy().into_owned();
        let (file, options) = match text.split_once('?') {
            Some((file, options)) => (PathBuf::from(file), options.to_owned()),
            None => (path.as_ref().to_path_buf(), String::new()),
        };
        let mut synchronous = SqliteSynchronous::Normal;
        for option in options.split('&').filter(|o| !o.is_empty()) {
            match option.split_once('=') {
                Some(("synchronous", value)) => {
                    synchronous = SqliteSynchronous::from_str(value).map_err(|_| {
                        StoreError::new(format!(
                            "cannot use the SQLite option {option:?}: synchronous is off, normal, full or extra"
                        ))
                        .of_kind(StoreErrorKind::InvalidUrl)
                    })?;
                }
                _ => {
                    return Err(StoreError::new(format!(
                        "cannot use the SQLite option {option:?}: the only option is synchronous"
                    ))
                    .of_kind(StoreErrorKind::InvalidUrl));
                }
            }
        }
        if file.is_dir() {
            return Err(StoreError::new(format!(
                "cannot open the SQLite file {}: it is a directory",
                file.display()
            ))
            .of_kind(StoreErrorKind::InvalidUrl));
        }
        // SQLite would say only "unable to open database file", which reads like a
        // permission problem.
        if let Some(parent) = file.parent().filter(|p| !p.as_os_str().is_empty())
            && !parent.is_dir()
        {
            return Err(StoreError::new(format!(
                "cannot open the SQLite file {}: the directory {} does not exist",
                file.display(),
                parent.display()
            ))
            .of_kind(StoreErrorKind::InvalidUrl));
        }
        let connect = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(true)
            .synchronous(synchronous)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(false)
            // A multi-row upsert keeps a statement journal (to undo that statement alone),
            // in a temporary file by default: a profile of the throughput benchmark had a
            // tenth of the writer's time in those files' writes. In memory, it costs a
            // batch's pages at most.
            .pragma("temp_store", "memory")
            // 16 MiB of page cache (SQLite's default is 2 MiB): the pages of the indexes
            // that every batch touches stay in memory instead of being read again.
            .pragma("cache_size", "-16384");
        // First a look at what the file holds, on one connection that writes nothing (no
        // journal mode either: switching to WAL rewrites the file's header), so that a file
        // this version must not touch is refused as it was.
        let mut probe = SqliteConnection::connect_with(&connect)
            .await
            .map_err(|e| {
                error(
                    &format!("cannot open the SQLite file {}", file.display()),
                    e,
                )
            })?;
        let found = inspect(&mut probe, &file).await;
        // Closing a connection that wrote nothing cannot lose anything; its error would
        // only hide the one that matters.
        let _ = probe.close().await;
        let found = found?;
        // WAL lets queries run beside a write, and a commit costs one write of the log
        // rather than two. A database shared with an application's tables keeps the
        // journal mode the application chose (WAL is a property of the file, which the
        // application may not expect).
        let connect = if found.foreign_tables {
            connect
        } else {
            connect.journal_mode(SqliteJournalMode::Wal)
        };
        let pool_options = SqlitePoolOptions::new()
            // One connection writes at a time anyway; the others serve queries, which WAL
            // lets run beside a write.
            .max_connections(4)
            .min_connections(1)
            // No ping before each use: a connection to a local file does not go stale, and
            // the ping is a round trip to the connection's thread per batch written.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10));
        // Switching a new file to WAL needs its exclusive lock, and SQLite answers "locked"
        // at once, without its busy handler, when another program opening the same file
        // holds a lock it would otherwise deadlock on (seen in 1 of 30 runs of four programs
        // starting together). The other program's open ends within milliseconds, so the
        // switch is tried again for up to the busy timeout.
        let mut attempts = 0u32;
        let pool = loop {
            match pool_options.clone().connect_with(connect.clone()).await {
                Ok(pool) => break pool,
                Err(e) if attempts < 250 && is_locked(&e) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => {
                    return Err(error(
                        &format!("cannot open the SQLite file {}", file.display()),
                        e,
                    ));
                }
            }
        };
        let store = SqliteStore {
            pool,
            path: file,
            enqueued: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens an existing log to read it, beside a scheduler that may be writing it (the
    /// command line's `list`, `explain`, `logs`, `stats`): creates nothing, migrates
    /// nothing, and changes no setting of the file. A missing file, a file that holds no
    /// log of this version's schema, and a file locked by another process for longer than
    /// two seconds are errors that say so.
    pub async fn open_existing(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let file = path.as_ref().to_path_buf();
        if !file.exists() {
            return Err(StoreError::new(format!(
                "cannot read the SQLite file {}: it does not exist (is the path right? the scheduler creates it when it first runs)",
                file.display()
            ))
            .of_kind(StoreErrorKind::InvalidUrl));
        }
        let connect = SqliteConnectOptions::new()
            .filename(&file)
            .create_if_missing(false)
            // A reader waits this long for a writer's exclusive lock, then says so.
            .busy_timeout(Duration::from_secs(2))
            .foreign_keys(false);
        let locked = |e: sqlx::Error| {
            let e = error(
                &format!("cannot read the SQLite file {}", file.display()),
                e,
            );
            if e.kind() == StoreErrorKind::Unavailable {
                StoreError::with_source(
                    format!(
                        "cannot read the SQLite file {}: another process holds it locked (waited 2 s)",
                        file.display()
                    ),
                    e,
                )
                .of_kind(StoreErrorKind::Unavailable)
            } else {
                e
            }
        };
        let mut probe = SqliteConnection::connect_with(&connect)
            .await
            .map_err(locked)?;
        let found = inspect(&mut probe, &file).await;
        let _ = probe.close().await;
        let found = found.map_err(|e| {
            // `inspect` wraps the lock error of its first read: say it plainly.
            let busy = e.kind() == StoreErrorKind::Unavailable;
            if busy {
                StoreError::with_source(
                    format!(
                        "cannot read the SQLite file {}: another process holds it locked (waited 2 s)",
                        file.display()
                    ),
                    e,
                )
                .of_kind(StoreErrorKind::Unavailable)
            } else {
                e
            }
        })?;
        if found.version != MIGRATIONS.len() {
            return Err(StoreError::new(format!(
                "the SQLite file {} holds no log of this version's schema (version {} found, {} expected); run the scheduler on it once to create or upgrade it",
                file.display(),
                found.version,
                MIGRATIONS.len()
            ))
            .of_kind(StoreErrorKind::Corrupt));
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .min_connections(0)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await
            .map_err(locked)?;
        Ok(SqliteStore {
            pool,
            path: file,
            enqueued: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        })
    }

    /// Closes the file: waits for the queries under way and closes every connection (the
    /// last one folds the write-ahead log into the file). The store takes no request after.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema's version in the file: `0` for a file without one.
    async fn schema_version(connection: &mut sqlx::SqliteConnection) -> Result<usize, sqlx::Error> {
        let exists: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scheduler_schema'",
        )
        .fetch_optional(&mut *connection)
        .await?;
        if exists.is_none() {
            return Ok(0);
        }
        let version: Option<i64> = sqlx::query_scalar("SELECT max(version) FROM scheduler_schema")
            .fetch_one(&mut *connection)
            .await?;
        Ok(version.unwrap_or(0).max(0) as usize)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        // Without the write lock first: a file already up to date (every start but the
        // first) takes no lock.
        let reading = |e| self.error("cannot read the schema's version", e);
        let version = {
            let mut connection = self.pool.acquire().await.map_err(reading)?;
            Self::schema_version(&mut connection)
                .await
                .map_err(reading)?
        };
        if version > MIGRATIONS.len() {
            return Err(newer_schema(&self.path, version));
        }
        if version == MIGRATIONS.len() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.error("cannot create the schema", e))?;
        // Another program starting on the same file may have migrated it while this one
        // waited for the write lock.
        let version = Self::schema_version(&mut tx).await.map_err(reading)?;
        if version > MIGRATIONS.len() {
            return Err(newer_schema(&self.path, version));
        }
        if version == MIGRATIONS.len() {
            return tx
                .commit()
                .await
                .map_err(|e| self.error("cannot create the schema", e));
        }
        sqlx::query("CREATE TABLE IF NOT EXISTS scheduler_schema (version INTEGER NOT NULL)")
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error("cannot create the schema", e))?;
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
        sqlx::query("INSERT INTO scheduler_schema (version) VALUES (?)")
            .bind(MIGRATIONS.len() as i64)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.error("cannot record the schema's version", e))?;
        tx.commit()
            .await
            .map_err(|e| self.error("cannot create the schema", e))
    }

    pub(crate) fn error(&self, what: &str, e: sqlx::Error) -> StoreError {
        error(
            &format!("{what} in the SQLite file {}", self.path.display()),
            e,
        )
    }

    /// Writes a batch in one transaction, sent to SQLite as one compound statement.
    ///
    /// sqlx runs a SQLite connection on a thread of its own and hands it every statement
    /// through a channel: each statement is a round trip between threads, which cost more
    /// than SQLite's own work for a small batch (a profile of the throughput benchmark with
    /// one statement per table and row showed two thirds of the time in futex waits and
    /// task switches). So the whole transaction, `BEGIN` to `COMMIT`, is one text with its
    /// arguments in order (sqlx binds the arguments of a compound statement one statement
    /// after the other), and each table gets multi-row statements. A failure rolls back.
    async fn write(&self, records: &[LogRecord]) -> Result<(), sqlx::Error> {
        let mut sql: QueryBuilder<Sqlite> = QueryBuilder::new("BEGIN IMMEDIATE;");
        for chunk in chunks(records) {
            sql.push(concat!(
                "INSERT OR IGNORE INTO scheduler_log (",
                record_columns!(),
                ") "
            ));
            sql.push_values(chunk, |mut row, r| bind_record(&mut row, r));
            sql.push(";");
        }
        // The latest record of each action of each task, once per batch.
        let mut latest: HashMap<(&str, Action), &LogRecord> = HashMap::new();
        for r in records {
            let entry = latest.entry((r.task.as_str(), r.action)).or_insert(r);
            if entry.at <= r.at {
                *entry = r;
            }
        }
        let latest: Vec<&LogRecord> = latest.into_values().collect();
        for chunk in chunks(&latest) {
            sql.push(concat!(
                "INSERT INTO scheduler_latest (",
                record_columns!(),
                ") "
            ));
            sql.push_values(chunk, |mut row, r| bind_record(&mut row, r));
            sql.push(
                " ON CONFLICT (task, action) DO UPDATE SET at = excluded.at, run_id = excluded.run_id, \
                 instance = excluded.instance, duration = excluded.duration, message = excluded.message, \
                 output = excluded.output, value = excluded.value WHERE excluded.at >= scheduler_latest.at;",
            );
        }
        // The runs opened and closed by the batch. A run that starts and ends in the same
        // batch is deleted all the same: the batch may be written again after its `run`
        // record was stored.
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
        let opened: Vec<&LogRecord> = opened.into_values().collect();
        for chunk in chunks(&opened) {
            sql.push(
                "INSERT OR REPLACE INTO scheduler_open_runs (run_id, task, instance, started) ",
            );
            sql.push_values(chunk, |mut row, r| {
                row.push_bind(r.run_id.map(|id| id.to_bytes().to_vec()))
                    .push_bind(r.task.as_str())
                    .push_bind(r.instance.map(|i| i.as_u64() as i64))
                    .push_bind(r.at.as_micros());
            });
            sql.push(";");
        }
        for chunk in chunks(&closed) {
            sql.push("DELETE FROM scheduler_open_runs WHERE run_id IN (");
            let mut ids = sql.separated(", ");
            for run_id in chunk {
                ids.push_bind(run_id.to_bytes().to_vec());
            }
            sql.push(");");
        }
        sql.push("COMMIT;");
        let mut connection = self.pool.acquire().await?;
        match sql.build().persistent(true).execute(&mut *connection).await {
            Ok(_) => Ok(()),
            Err(e) => {
                // A statement failed inside the transaction (or COMMIT did): undo it, so
                // that the connection goes back to the pool without an open transaction;
                // if even that fails, the connection is closed instead of reused.
                let rolled_back = sqlx::query("ROLLBACK").execute(&mut *connection).await;
                if rolled_back.is_err() {
                    connection.close_on_drop();
                }
                Err(e)
            }
        }
    }

    async fn read(&self, request: &LoadRequest) -> Result<Loaded, sqlx::Error> {
        let mut loaded = Loaded::default();
        let wanted: HashMap<&str, crate::log::Retention> = request
            .tasks
            .iter()
            .map(|(task, retention)| (task.as_str(), *retention))
            .collect();
        let latest: Vec<LogRecord> = sqlx::query(concat!(
            "SELECT ",
            record_columns!(),
            " FROM scheduler_latest"
        ))
        .fetch_all(&self.pool)
        .await?
        .iter()
        .filter_map(record_of)
        // A change is not part of a task's history (and would move its window).
        .filter(|r| r.action.is_of_run() && wanted.contains_key(r.task.as_str()))
        .collect();
        // Tasks whose conditions look further back than the latest record of each action.
        let mut newest: HashMap<&str, Timestamp> = HashMap::new();
        for r in &latest {
            let n = newest.entry(r.task.as_str()).or_insert(r.at);
            *n = (*n).max(r.at);
        }
        let mut further: Vec<LogRecord> = Vec::new();
        for (task, retention) in &request.tasks {
            let Some(&newest) = newest.get(task.as_str()) else {
                continue;
            };
            if retention.window_micros > 0 {
                let cutoff = newest.as_micros().saturating_sub(retention.window_micros);
                further.extend(
                    sqlx::query(concat!(
                        "SELECT ", record_columns!(), " FROM scheduler_log WHERE task = ? \
                         AND action IN ('run', 'success', 'fail', 'terminate', 'inaction', 'crash') AND at >= ?"
                    ))
                    .bind(task)
                    .bind(cutoff)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .filter_map(record_of),
                );
                // The last record before the window.
                let mut before: Option<LogRecord> = None;
                for action in Action::OF_RUNS {
                    let row = sqlx::query(concat!(
                        "SELECT ",
                        record_columns!(),
                        " FROM scheduler_log WHERE task = ? AND action = ? \
                         AND at < ? ORDER BY at DESC LIMIT 1"
                    ))
                    .bind(task)
                    .bind(action.as_str())
                    .bind(cutoff)
                    .fetch_optional(&self.pool)
                    .await?;
                    if let Some(r) = row.as_ref().and_then(record_of)
                        && before.as_ref().is_none_or(|b| b.at < r.at)
                    {
                        before = Some(r);
                    }
                }
                further.extend(before);
            }
            if retention.per_action > 1 {
                for action in Action::OF_RUNS {
                    further.extend(
                        sqlx::query(concat!(
                            "SELECT ",
                            record_columns!(),
                            " FROM scheduler_log WHERE task = ? AND action = ? \
                             ORDER BY at DESC LIMIT ?"
                        ))
                        .bind(task)
                        .bind(action.as_str())
                        .bind(i64::from(retention.per_action.min(i64::MAX as u32)))
                        .fetch_all(&self.pool)
                        .await?
                        .iter()
                        .filter_map(record_of),
                    );
                }
            }
        }
        // One copy of each record: the latest table repeats records of the log.
        further.retain(|r| !latest.contains(r));
        further.sort_by_key(|r| (r.at, r.run_id));
        further.dedup();
        loaded.records = latest;
        loaded.records.extend(further);
        loaded.open_runs =
            sqlx::query("SELECT run_id, task, instance, started FROM scheduler_open_runs")
                .fetch_all(&self.pool)
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
        loaded.instances = self.instances().await?;
        Ok(loaded)
    }

    async fn instances(&self) -> Result<Vec<InstanceRecord>, sqlx::Error> {
        Ok(sqlx::query(
            "SELECT id, name, host, pid, started, last_seen, stopped FROM scheduler_instances",
        )
        .fetch_all(&self.pool)
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
        let mut select: QueryBuilder<Sqlite> = QueryBuilder::new(concat!(
            "SELECT seq, ",
            record_columns!(),
            " FROM scheduler_log WHERE 1 = 1"
        ));
        if let Some(task) = &query.task {
            select.push(" AND task = ").push_bind(task.clone());
        }
        if query.actions != crate::log::ActionSet::EMPTY {
            select.push(" AND action IN (");
            let mut actions = select.separated(", ");
            for action in query.actions.iter() {
                actions.push_bind(action.as_str());
            }
            select.push(")");
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
            select.push(" AND seq > ").push_bind(after as i64);
        }
        if let Some(before) = query.before_seq {
            select.push(" AND seq < ").push_bind(before as i64);
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

/// Binds a record's columns, in the order of `record_columns!`.
fn bind_record(row: &mut sqlx::query_builder::Separated<'_, Sqlite, &'static str>, r: &LogRecord) {
    row.push_bind(r.task.as_str())
        .push_bind(r.action.as_str())
        .push_bind(r.at.as_micros())
        .push_bind(r.run_id.map(|id| id.to_bytes().to_vec()))
        .push_bind(r.instance.map(|i| i.as_u64() as i64))
        .push_bind(r.duration_micros)
        .push_bind(r.message.as_deref())
        .push_bind(r.output.as_deref())
        .push_bind(r.value.as_deref());
}

fn run_id_of(bytes: Vec<u8>) -> Option<RunId> {
    Some(RunId::from_bytes(bytes.try_into().ok()?))
}

/// The record in the row's columns from `first` on, in the order of `record_columns!`; a
/// row that does not read (another program's rows, an action this version does not know)
/// is left out.
fn record_at(row: &SqliteRow, first: usize) -> Option<LogRecord> {
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

fn record_of(row: &SqliteRow) -> Option<LogRecord> {
    record_at(row, 0)
}

/// A store error for `what` that failed with `e`, of the kind SQLite's result code says.
pub(crate) fn error(what: &str, e: sqlx::Error) -> StoreError {
    let kind = match &e {
        sqlx::Error::Database(db) => {
            // SQLite's extended result code; the primary code is its low byte.
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .map_or(0, |c| c & 0xff);
            match code {
                // BUSY, LOCKED, FULL (the disk may be freed), IOERR.
                5 | 6 | 13 | 10 => StoreErrorKind::Unavailable,
                // READONLY, and CANTOPEN (a directory or file without permission).
                8 | 14 => StoreErrorKind::ReadOnly,
                // CORRUPT, NOTADB.
                11 | 26 => StoreErrorKind::Corrupt,
                _ => StoreErrorKind::Rejected,
            }
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreErrorKind::Unavailable
        }
        _ => StoreErrorKind::Rejected,
    };
    let hint = match kind {
        StoreErrorKind::ReadOnly => " (is the file or its directory read-only?)",
        StoreErrorKind::Corrupt => {
            " (the file is not a SQLite database, or is damaged; it was left untouched)"
        }
        _ => "",
    };
    StoreError::with_source(format!("{what}{hint}"), e).of_kind(kind)
}

impl LogStore for SqliteStore {
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
                " FROM scheduler_latest ORDER BY task, at"
            ))
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.error("cannot read the tasks' status", e))?;
            Ok(rows
                .iter()
                .filter_map(record_of)
                .filter(|r| tasks.is_empty() || tasks.contains(&r.task))
                .collect())
        })
    }

    fn register<'a>(
        &'a self,
        instance: &'a InstanceRecord,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query(
                "INSERT OR REPLACE INTO scheduler_instances (id, name, host, pid, started, last_seen, stopped) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(instance.id.as_u64() as i64)
            .bind(&instance.name)
            .bind(&instance.host)
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

    fn close(&self) -> BoxFuture<'_, ()> {
        // Waits for the connections in use to come back, then closes every one; the last
        // to close checkpoints the write-ahead log and deletes it.
        Box::pin(self.pool.close())
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
                            FROM scheduler_log WHERE task = ?1
                        ) WHERE at < ?2 AND per_action > ?3 AND (at < ?4 OR per_task > ?5)
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

/// Whether SQLite answered SQLITE_BUSY ("database is locked").
fn is_locked(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c == "5"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::RunIds;

    /// `TABLES`, what `inspect` asks of a log of the current version, is what the
    /// migrations create.
    #[test]
    fn the_tables_inspect_expects_are_those_the_migrations_create() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
            sqlx::query("CREATE TABLE scheduler_schema (version INTEGER NOT NULL)")
                .execute(&mut connection)
                .await
                .unwrap();
            for statement in MIGRATIONS.iter().flat_map(|m| m.iter()) {
                sqlx::query(*statement)
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
            // SQLite's own tables aside (`sqlite_sequence`, of AUTOINCREMENT).
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' \
                 AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
            )
            .fetch_all(&mut connection)
            .await
            .unwrap();
            let mut expected: Vec<&str> = TABLES.iter().map(|(t, _)| *t).collect();
            expected.sort_unstable();
            assert_eq!(tables, expected);
            for (table, columns) in TABLES {
                let found: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_info(?)")
                        .bind(table)
                        .fetch_all(&mut connection)
                        .await
                        .unwrap();
                assert_eq!(found, *columns, "the columns of {table}");
            }
        });
    }

    /// A store in a new file of the system's temporary directory, removed with the guard.
    struct TempStore {
        store: SqliteStore,
        dir: PathBuf,
    }

    impl Drop for TempStore {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    async fn temp_store(name: &str) -> TempStore {
        let dir = std::env::temp_dir().join(format!(
            "scheduler-sqlite-{name}-{}-{}",
            std::process::id(),
            InstanceId::random()
        ));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let store = SqliteStore::open(dir.join("log.db"))
            .await
            .expect("a new store");
        TempStore { store, dir }
    }

    /// `runs` runs of `tasks` tasks in turn, from `first` (µs), each a `run` record and,
    /// unless `open`, a `success` 10 µs later.
    fn runs(ids: &mut RunIds, tasks: usize, runs: usize, first: i64, open: bool) -> Vec<LogRecord> {
        let mut records = Vec::new();
        for i in 0..runs {
            let at = first + i as i64 * 100;
            let id = ids.next(at);
            let task = format!("t{}", i % tasks);
            records
                .push(LogRecord::new(&*task, Action::Run, Timestamp::from_micros(at)).with_run(id));
            if !open {
                records.push(
                    LogRecord::new(&*task, Action::Success, Timestamp::from_micros(at + 10))
                        .with_run(id),
                );
            }
        }
        records
    }

    async fn count(store: &SqliteStore, table: &'static str) -> i64 {
        let sql = match table {
            "log" => "SELECT count(*) FROM scheduler_log",
            "latest" => "SELECT count(*) FROM scheduler_latest",
            _ => "SELECT count(*) FROM scheduler_open_runs",
        };
        sqlx::query_scalar(sql)
            .fetch_one(&store.pool)
            .await
            .expect("a count")
    }

    /// A batch is one compound statement cut into chunks of 256, 64, 16, 4 and 1 rows:
    /// batches of every remainder are written whole, the latest table keeps the newest
    /// record of each action, and runs stay open exactly until a later batch ends them.
    #[tokio::test]
    async fn batches_of_every_size_are_written_whole() {
        let temp = temp_store("sizes").await;
        let store = &temp.store;
        let mut ids = RunIds::with_seed(7);
        let mut written = 0;
        let mut at = 1_000_000;
        for size in [1, 3, 4, 17, 85, 256, 341, 1000] {
            let batch = runs(&mut ids, 7, size, at, false);
            store.append(&batch).await.expect("a written batch");
            written += batch.len() as i64;
            at += 1_000_000;
            assert_eq!(
                count(store, "log").await,
                written,
                "after a batch of {size} runs"
            );
        }
        // 7 tasks, each with a run and a success: the latest of each is the last written.
        assert_eq!(count(store, "latest").await, 14);
        let latest = store.latest(&[]).await.expect("the latest records");
        let newest_run = latest
            .iter()
            .filter(|r| r.action == Action::Run)
            .map(|r| r.at.as_micros())
            .max();
        assert_eq!(newest_run, Some(at - 1_000_000 + 999 * 100));
        assert_eq!(
            count(store, "open_runs").await,
            0,
            "runs that ended in their batch"
        );

        // Runs opened in one batch and ended in the next.
        let opened = runs(&mut ids, 3, 70, at, true);
        store.append(&opened).await.expect("the runs' starts");
        assert_eq!(count(store, "open_runs").await, 70);
        let ends: Vec<LogRecord> = opened
            .iter()
            .take(69)
            .map(|r| {
                let mut end = r.clone();
                end.action = Action::Success;
                end.at = Timestamp::from_micros(r.at.as_micros() + 50);
                end
            })
            .collect();
        store.append(&ends).await.expect("the runs' ends");
        let still_open = store
            .load(&LoadRequest::default())
            .await
            .expect("a load")
            .open_runs;
        assert_eq!(still_open.len(), 1);
        assert_eq!(Some(still_open[0].run_id), opened[69].run_id);
    }

    /// Closing the store leaves no write-ahead log beside the file: the next process that
    /// opens it does not have to copy one into the file before its first write.
    #[tokio::test]
    async fn closing_leaves_no_write_ahead_log() {
        let temp = temp_store("close").await;
        let mut ids = RunIds::with_seed(5);
        temp.store
            .append(&runs(&mut ids, 3, 2_000, 1_000, false))
            .await
            .expect("a written batch");
        let wal = temp.dir.join("log.db-wal");
        assert!(wal.exists(), "a write-ahead log while the store is open");
        temp.store.close().await;
        assert!(
            !wal.exists(),
            "the write-ahead log is gone once the store is closed"
        );
        let reopened = SqliteStore::open(temp.dir.join("log.db"))
            .await
            .expect("the file opens again");
        assert_eq!(count(&reopened, "log").await, 4_000);
    }

    /// A file of schema version 4 holding jobs is upgraded with its jobs as they were, and
    /// from then on an id is not given again once its job is pruned.
    #[tokio::test]
    async fn job_ids_are_not_given_again_after_the_upgrade() {
        use crate::queue::{JobRetention, JobState, NewJob};

        let temp = temp_store("ids").await;
        temp.store.close().await;
        let path = temp.dir.join("v4.db");
        {
            let url = format!("sqlite:{}?mode=rwc", path.display());
            let mut connection = SqliteConnection::connect(&url).await.unwrap();
            sqlx::query("CREATE TABLE scheduler_schema (version INTEGER NOT NULL)")
                .execute(&mut connection)
                .await
                .unwrap();
            for statement in MIGRATIONS[..4].iter().flat_map(|m| m.iter()) {
                sqlx::query(*statement)
                    .execute(&mut connection)
                    .await
                    .unwrap();
            }
            sqlx::query(
                "INSERT INTO scheduler_schema (version) VALUES (4); \
                 INSERT INTO scheduler_jobs (id, task, payload, state, priority, run_at, \
                 attempts, max_attempts, enqueued, finished, result) VALUES \
                 (1, 'a', 'null', 'queued', 0, 10, 0, 3, 10, NULL, NULL), \
                 (2, 'a', 'null', 'succeeded', 0, 10, 1, 3, 10, 20, '\"ok\"')",
            )
            .execute(&mut connection)
            .await
            .unwrap();
        }
        let store = SqliteStore::open(&path).await.expect("the upgraded file");
        let jobs = crate::log::LogStore::jobs(&store).unwrap();
        let done = jobs.job(crate::queue::JobId(2)).await.unwrap().unwrap();
        assert_eq!(
            (done.state, done.result),
            (JobState::Succeeded, Some(serde_json::json!("ok")))
        );
        let retention = JobRetention {
            finished: Some(Duration::from_secs(1)),
            failed: None,
        };
        let now = Timestamp::from_micros(10_000_000);
        assert_eq!(jobs.prune(retention.at(now, 10)).await.unwrap(), 1);
        let next = jobs
            .enqueue(&NewJob::new("a", serde_json::Value::Null, now))
            .await
            .unwrap();
        assert_eq!(next.id, crate::queue::JobId(3));
        store.close().await;
    }

    /// A batch that fails halfway leaves nothing behind and the connection usable: its
    /// transaction is rolled back, and the next batch is written.
    #[tokio::test]
    async fn a_failed_batch_is_rolled_back() {
        let temp = temp_store("rollback").await;
        let store = &temp.store;
        let mut ids = RunIds::with_seed(3);
        // The batch's log rows go in first; then its open runs find no table.
        sqlx::query("ALTER TABLE scheduler_open_runs RENAME TO scheduler_open_runs_away")
            .execute(&store.pool)
            .await
            .expect("the table renamed");
        let failing = runs(&mut ids, 2, 5, 1_000, true);
        let error = store
            .append(&failing)
            .await
            .expect_err("no open-runs table");
        assert!(
            error.to_string().contains("cannot write 5 records"),
            "{error}"
        );
        assert_eq!(
            count(store, "log").await,
            0,
            "the log rows were rolled back"
        );
        assert_eq!(count(store, "latest").await, 0);
        sqlx::query("ALTER TABLE scheduler_open_runs_away RENAME TO scheduler_open_runs")
            .execute(&store.pool)
            .await
            .expect("the table back");
        // Every connection of the pool is free of the failed transaction.
        for _ in 0..8 {
            let batch = runs(&mut ids, 2, 5, 2_000, true);
            store
                .append(&batch)
                .await
                .expect("a batch after the failure");
        }
        assert_eq!(count(store, "log").await, 40);
        assert_eq!(count(store, "open_runs").await, 40);
    }
}
