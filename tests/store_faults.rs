//! Bad input to the log store, one test each: a wrong URL, a corrupt SQLite file, a
//! read-only file, a file in a read-only directory, a schema written by a newer version,
//! another program's database, and a scheduler started on each. Every case asserts the
//! error's kind and the words of its message, and that nothing was overwritten (the file
//! byte for byte, and no file created beside it).
//!
//! Permissions do not bind root, so the read-only cases, when the tests run as root (as CI
//! does), run again in a child process of this test binary as the user `nobody`: the test
//! passes when that child's run of it passes.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use scheduler::log::store::{self, RecordQuery, StoreErrorKind};
use scheduler::{
    Action, LogRecord, LogStore, Scheduler, SchedulerError, SqliteStore, StoreError, TaskSpec,
    Timestamp,
};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

// ---------------------------------------------------------------------------------------
// Helpers

/// A temporary directory for one test's files.
fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("scheduler-store-faults-")
        .tempdir()
        .expect("a temporary directory")
}

/// The names of the files in `dir`, sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory reads")
        .map(|e| {
            e.expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// `len` bytes that are no database: a fixed xorshift sequence, the same in every run.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

/// Asserts that `error` is of `kind` and that its message has each of `words`.
fn assert_error(error: &StoreError, kind: StoreErrorKind, words: &[&str]) {
    let message = error.to_string();
    assert_eq!(
        error.kind(),
        kind,
        "the error {message:?} is of kind {:?}, expected {kind:?}",
        error.kind()
    );
    for word in words {
        assert!(
            message.contains(word),
            "the message {message:?} does not say {word:?}"
        );
    }
}

/// Opening the store at `url` fails; the error.
async fn open_fails(url: &str) -> StoreError {
    match store::open(url).await {
        Ok(_) => panic!("opening {url:?} succeeded"),
        Err(error) => error,
    }
}

/// A log in a SQLite file at `path` with a few records, closed (its write-ahead log folded
/// into the file, so that the file alone is the log).
async fn write_log(path: &Path) {
    let store = SqliteStore::open(path).await.expect("a new log opens");
    let run = scheduler::RunId::from_bytes([7; 16]);
    store
        .append(&[
            LogRecord::new("backup", Action::Run, Timestamp::from_micros(1_000_000)).with_run(run),
            LogRecord::new("backup", Action::Success, Timestamp::from_micros(2_000_000))
                .with_run(run),
        ])
        .await
        .expect("the records are written");
    store.close().await;
}

/// A SQLite connection to `path` of our own, outside the store (to write what the store
/// would not: another program's tables, a newer version's schema).
async fn connect(path: &Path) -> SqliteConnection {
    SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true),
    )
    .await
    .expect("a SQLite connection")
}

/// Runs `statements` on the file at `path` and closes the connection.
async fn execute(path: &Path, statements: &[&'static str]) {
    let mut connection = connect(path).await;
    for statement in statements {
        sqlx::query(*statement)
            .execute(&mut connection)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    connection.close().await.expect("the connection closes");
}

/// The store error inside a scheduler's error, if it is one.
fn store_error(error: &SchedulerError) -> &StoreError {
    error
        .store_error()
        .unwrap_or_else(|| panic!("not a store error: {error:?}"))
}

/// A scheduler on `url` with one task due every second; how it ends, and how many times the
/// task ran. Every case here expects the scheduler to stop at start-up; one that starts runs
/// for five seconds (on the system clock: tokio's paused clock would fire the store's
/// connection timeouts at once) and shuts down, and the caller's assertion says so.
async fn run_scheduler_on(url: &str) -> (Result<(), SchedulerError>, u32) {
    let ran = Arc::new(AtomicU32::new(0));
    let counter = ran.clone();
    let tick = TaskSpec::from_blocking("tick", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .when("every 1 second".parse::<scheduler::Condition>().unwrap());
    let built = Scheduler::builder()
        .without_registered_tasks()
        .time_zone(scheduler::Tz::UTC)
        .handle_signals(false)
        .database(url)
        .task(tick)
        .build();
    let scheduler = match built {
        Ok(scheduler) => scheduler,
        Err(error) => return (Err(error), 0),
    };
    let running = scheduler.start().expect("the scheduler starts");
    let session = running.session().clone();
    // A store that opens lets the scheduler run; it is then shut down after a while (a
    // failing start ends `running` long before).
    let outcome = tokio::select! {
        result = running => result,
        () = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            session.shut_down();
            std::future::pending::<()>().await
        } => unreachable!(),
    };
    (outcome, ran.load(Ordering::SeqCst))
}

/// Whether this process runs as root, for whom permission bits do not bind.
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join("owner-probe");
    std::fs::write(&probe, b"").expect("a probe file");
    let uid = std::fs::metadata(&probe).expect("its metadata").uid();
    std::fs::remove_file(&probe).expect("the probe goes");
    uid == 0
}

/// The variable that marks the child run of a test as `nobody`.
const UNPRIVILEGED: &str = "STORE_FAULTS_UNPRIVILEGED";

/// When this process is root, runs the test `name` again in a child process as the user
/// `nobody`, asserts that it passed there, and returns `true`; otherwise (not root, or the
/// child itself) returns `false`, and the caller runs the test here.
fn ran_as_nobody(name: &str) -> bool {
    use std::os::unix::process::CommandExt;
    if std::env::var_os(UNPRIVILEGED).is_some() {
        return false;
    }
    let probe_dir = temp_dir();
    if !running_as_root(probe_dir.path()) {
        return false;
    }
    // A copy of this binary that `nobody` can run: the checkout may be in a directory only
    // root can enter (a CI clone in a private temporary directory).
    // In /tmp, which `nobody` can enter whatever TMPDIR says.
    let exe = std::env::current_exe().expect("the test binary");
    let copy_dir = tempfile::Builder::new()
        .prefix("scheduler-store-faults-")
        .tempdir_in("/tmp")
        .expect("a directory for the copy");
    let copy = copy_dir.path().join("store_faults");
    std::fs::copy(&exe, &copy).expect("a copy of the test binary");
    chmod(copy_dir.path(), 0o755);
    chmod(&copy, 0o755);
    let output = std::process::Command::new(&copy)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(UNPRIVILEGED, "1")
        // A directory where `nobody` may create its own (TMPDIR may be root's).
        .env("TMPDIR", "/tmp")
        .current_dir("/")
        .uid(65534)
        .gid(65534)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {} as nobody: {e}", copy.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the test {name} run as nobody failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    true
}

/// Sets the permission bits of `path`.
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("chmod {mode:o} {}: {e}", path.display()));
}

/// Restores write permission to `dir` when dropped, so that the temporary directory can be
/// removed even when an assertion fails.
struct Writable(PathBuf);

impl Drop for Writable {
    fn drop(&mut self) {
        chmod(&self.0, 0o755);
    }
}

// ---------------------------------------------------------------------------------------
// Wrong URLs

#[tokio::test]
async fn an_unknown_scheme_is_an_invalid_url() {
    let error = open_fails("mysql://localhost/app").await;
    assert_error(
        &error,
        StoreErrorKind::InvalidUrl,
        &[
            "mysql://localhost/app",
            "the scheme `mysql` is not one of memory, sqlite, postgres",
        ],
    );
    // A misspelt scheme is named as written.
    let error = open_fails("postgress://db/app").await;
    assert_error(
        &error,
        StoreErrorKind::InvalidUrl,
        &["the scheme `postgress` is not one of"],
    );
    // SQLite's own in-memory name would give every pooled connection a database of its
    // own; the message points to the store that keeps the log in memory.
    let error = open_fails("sqlite::memory:").await;
    assert_error(
        &error,
        StoreErrorKind::InvalidUrl,
        &["sqlite::memory:", "use `memory:`"],
    );
}

#[tokio::test]
async fn a_pool_bound_that_cannot_work_is_an_invalid_url() {
    // Refused before any connection: no server is needed, and none is at this port.
    let error = open_fails("postgres://nobody:secret@127.0.0.1:1/app?pool_max_conns=2").await;
    assert_error(
        &error,
        StoreErrorKind::InvalidUrl,
        &[
            "postgres://nobody:***@127.0.0.1:1/app?pool_max_conns=2",
            "pool_max_conns must be a number of connections of at least 3, not `2`",
        ],
    );
    assert!(!error.to_string().contains("secret"));
}

#[tokio::test]
async fn an_empty_url_is_an_invalid_url() {
    for url in ["", "   "] {
        let error = open_fails(url).await;
        assert_error(
            &error,
            StoreErrorKind::InvalidUrl,
            &["it is empty", "use `memory:`, a file path"],
        );
    }
    for url in ["sqlite:", "sqlite://"] {
        let error = open_fails(url).await;
        assert_error(
            &error,
            StoreErrorKind::InvalidUrl,
            &["`sqlite:` needs a file path"],
        );
    }
}

#[tokio::test]
async fn a_file_in_a_missing_directory_is_named_and_not_created() {
    let dir = temp_dir();
    let missing = dir.path().join("no-such-directory");
    let path = missing.join("log.db");
    let error = open_fails(&format!("sqlite:{}", path.display())).await;
    assert_error(
        &error,
        StoreErrorKind::InvalidUrl,
        &[
            &missing.display().to_string(),
            "the directory",
            "does not exist",
        ],
    );
    assert!(!missing.exists(), "the directory was created");
    assert!(files_in(dir.path()).is_empty());
}

// ---------------------------------------------------------------------------------------
// A corrupt file

#[tokio::test]
async fn a_file_of_random_bytes_is_corrupt_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("log.db");
    let bytes = random_bytes(16 * 1024);
    std::fs::write(&path, &bytes).unwrap();
    let error = open_fails(&format!("sqlite:{}", path.display())).await;
    assert_error(
        &error,
        StoreErrorKind::Corrupt,
        &[
            &path.display().to_string(),
            "is not a SQLite database, or is damaged",
            "left untouched",
        ],
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert_eq!(files_in(dir.path()), ["log.db"], "files appeared beside it");

    // A short text file, such as a configuration file named by mistake.
    let text = dir.path().join("settings.toml");
    std::fs::write(&text, "[scheduler]\ndatabase = \"log.db\"\n").unwrap();
    let error = open_fails(&text.display().to_string()).await;
    assert_error(
        &error,
        StoreErrorKind::Corrupt,
        &[&text.display().to_string(), "is not a SQLite database"],
    );
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "[scheduler]\ndatabase = \"log.db\"\n"
    );
    assert_eq!(files_in(dir.path()), ["log.db", "settings.toml"]);
}

#[tokio::test]
async fn a_log_with_a_damaged_first_page_is_corrupt_and_left_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("log.db");
    write_log(&path).await;
    // The header (100 bytes) stays; the table of tables after it is overwritten.
    let mut bytes = std::fs::read(&path).unwrap();
    let noise = random_bytes(bytes.len().min(4096) - 100);
    bytes[100..100 + noise.len()].copy_from_slice(&noise);
    std::fs::write(&path, &bytes).unwrap();
    let error = open_fails(&path.display().to_string()).await;
    assert_error(
        &error,
        StoreErrorKind::Corrupt,
        &[&path.display().to_string(), "damaged", "left untouched"],
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
}

// ---------------------------------------------------------------------------------------
// Read-only

#[tokio::test]
async fn a_read_only_file_refuses_writes_and_stays_as_it_was() {
    if ran_as_nobody("a_read_only_file_refuses_writes_and_stays_as_it_was") {
        return;
    }
    let dir = temp_dir();
    let path = dir.path().join("log.db");
    write_log(&path).await;
    chmod(&path, 0o444);
    let bytes = std::fs::read(&path).unwrap();

    // The log can still be read (the query API on a read-only copy)...
    let store = SqliteStore::open(&path)
        .await
        .expect("a read-only log opens for reading");
    let records = store
        .query(&RecordQuery::default().task("backup"))
        .await
        .expect("a read-only log can be queried");
    assert_eq!(records.len(), 2);
    // ...but takes no record.
    let error = store
        .append(&[LogRecord::new(
            "backup",
            Action::Run,
            Timestamp::from_micros(3_000_000),
        )])
        .await
        .expect_err("a read-only file took a record");
    assert_error(
        &error,
        StoreErrorKind::ReadOnly,
        &[&path.display().to_string(), "read-only"],
    );
    store.close().await;

    // A scheduler on it stops at start-up, before any run.
    let (outcome, runs) = run_scheduler_on(&format!("sqlite:{}", path.display())).await;
    let error = outcome.expect_err("a scheduler started on a read-only log");
    assert_error(
        store_error(&error),
        StoreErrorKind::ReadOnly,
        &[&path.display().to_string(), "read-only"],
    );
    assert_eq!(runs, 0, "a task ran with a log that takes no record");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
}

#[tokio::test]
async fn a_log_in_a_read_only_directory_is_refused_and_stays_as_it_was() {
    if ran_as_nobody("a_log_in_a_read_only_directory_is_refused_and_stays_as_it_was") {
        return;
    }
    let dir = temp_dir();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let path = logs.join("log.db");
    write_log(&path).await;
    let bytes = std::fs::read(&path).unwrap();
    chmod(&logs, 0o555);
    let _restore = Writable(logs.clone());

    // The file is writable, but its write-ahead log cannot be created beside it.
    let (outcome, runs) = run_scheduler_on(&path.display().to_string()).await;
    let error = outcome.expect_err("a scheduler started in a read-only directory");
    assert_error(
        store_error(&error),
        StoreErrorKind::ReadOnly,
        &[&path.display().to_string(), "read-only"],
    );
    assert_eq!(runs, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert_eq!(files_in(&logs), ["log.db"], "files appeared beside it");

    // A new file there cannot be created.
    let new = logs.join("new.db");
    let error = open_fails(&new.display().to_string()).await;
    assert_error(
        &error,
        StoreErrorKind::ReadOnly,
        &[&new.display().to_string(), "read-only"],
    );
    assert_eq!(files_in(&logs), ["log.db"], "files appeared beside it");
}

// ---------------------------------------------------------------------------------------
// A newer version's schema

#[tokio::test]
async fn a_schema_written_by_a_newer_version_is_refused_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("log.db");
    write_log(&path).await;
    execute(&path, &["UPDATE scheduler_schema SET version = 99"]).await;
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(files_in(dir.path()), ["log.db"]);

    let error = open_fails(&format!("sqlite://{}", path.display())).await;
    assert_error(
        &error,
        StoreErrorKind::NewerSchema,
        &[
            &path.display().to_string(),
            "schema version 99",
            "written by a newer version of scheduler",
            "left untouched",
        ],
    );
    let (outcome, runs) = run_scheduler_on(&path.display().to_string()).await;
    let error = outcome.expect_err("a scheduler started on a newer schema");
    assert_error(
        store_error(&error),
        StoreErrorKind::NewerSchema,
        &["schema version 99"],
    );
    assert_eq!(runs, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert_eq!(files_in(dir.path()), ["log.db"], "files appeared beside it");
}

// ---------------------------------------------------------------------------------------
// Another program's database

/// Another program's database, in SQLite's default (rollback journal) mode.
async fn foreign_database(path: &Path, extra: &[&'static str]) {
    let mut statements = vec![
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "INSERT INTO users (name) VALUES ('ada'), ('grace')",
    ];
    statements.extend_from_slice(extra);
    execute(path, &statements).await;
}

#[tokio::test]
async fn tables_that_take_the_logs_names_are_refused_untouched() {
    let dir = temp_dir();
    // A table named as the log's, of other columns, and no schema version.
    let path = dir.path().join("app.db");
    foreign_database(
        &path,
        &["CREATE TABLE scheduler_log (id INTEGER PRIMARY KEY, line TEXT)"],
    )
    .await;
    let bytes = std::fs::read(&path).unwrap();
    let error = open_fails(&path.display().to_string()).await;
    assert_error(
        &error,
        StoreErrorKind::Corrupt,
        &[
            &path.display().to_string(),
            "scheduler_log",
            "not a scheduler log",
            "left untouched",
        ],
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert_eq!(files_in(dir.path()), ["app.db"], "files appeared beside it");

    // A schema version of this crate's, but a log table without the columns it reads.
    let path = dir.path().join("half.db");
    write_log(&path).await;
    execute(
        &path,
        &[
            "DROP TABLE scheduler_log",
            "CREATE TABLE scheduler_log (seq INTEGER PRIMARY KEY, task TEXT)",
        ],
    )
    .await;
    let bytes = std::fs::read(&path).unwrap();
    let error = open_fails(&path.display().to_string()).await;
    assert_error(
        &error,
        StoreErrorKind::Corrupt,
        &[
            &path.display().to_string(),
            "scheduler_log",
            "has no column",
        ],
    );
    let (outcome, runs) = run_scheduler_on(&path.display().to_string()).await;
    assert_error(
        store_error(&outcome.expect_err("a scheduler started on a broken log")),
        StoreErrorKind::Corrupt,
        &["scheduler_log"],
    );
    assert_eq!(runs, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
}

#[tokio::test]
async fn the_log_lives_beside_another_programs_tables_without_touching_them() {
    let dir = temp_dir();
    let path = dir.path().join("app.db");
    foreign_database(&path, &[]).await;

    let store = SqliteStore::open(&path)
        .await
        .expect("an application's database takes the log beside its tables");
    let run = scheduler::RunId::from_bytes([9; 16]);
    store
        .append(&[LogRecord::new("sync", Action::Run, Timestamp::from_micros(5)).with_run(run)])
        .await
        .unwrap();
    assert_eq!(
        store
            .query(&RecordQuery::default().run(run))
            .await
            .unwrap()
            .len(),
        1
    );
    store.close().await;

    // The application's rows are as they were, and so is its journal mode: the log does
    // not switch a database it shares to write-ahead logging.
    let mut connection = connect(&path).await;
    let names: Vec<String> = sqlx::query_scalar("SELECT name FROM users ORDER BY id")
        .fetch_all(&mut connection)
        .await
        .unwrap();
    assert_eq!(names, ["ada", "grace"]);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut connection)
        .await
        .unwrap();
    assert_eq!(mode, "delete");
    connection.close().await.unwrap();
}

// ---------------------------------------------------------------------------------------
// Through the scheduler

#[tokio::test]
async fn a_bad_database_fails_the_scheduler_at_start_up_with_the_store_and_the_cause() {
    // A wrong URL: the builder refuses it.
    let (outcome, runs) = run_scheduler_on("mysql://localhost/app").await;
    let error = outcome.expect_err("a scheduler built on a MySQL URL");
    assert_error(
        store_error(&error),
        StoreErrorKind::InvalidUrl,
        &[
            "mysql://localhost/app",
            "not one of memory, sqlite, postgres",
        ],
    );
    assert!(error.to_string().starts_with("log store: "), "{error}");
    assert_eq!(runs, 0);

    // A corrupt file: the scheduler builds, and stops at start-up before any run.
    let dir = temp_dir();
    let path = dir.path().join("log.db");
    let bytes = random_bytes(8192);
    std::fs::write(&path, &bytes).unwrap();
    let (outcome, runs) = run_scheduler_on(&format!("sqlite:{}", path.display())).await;
    let error = outcome.expect_err("a scheduler started on a corrupt file");
    assert_error(
        store_error(&error),
        StoreErrorKind::Corrupt,
        &[&path.display().to_string(), "not a SQLite database"],
    );
    // What a person reads: the store, the file, the cause, and SQLite's own words.
    let shown = format!("{error:?}");
    for words in [
        "log store: ",
        "the SQLite file",
        &path.display().to_string(),
        "Caused by:",
        "file is not a database",
    ] {
        assert!(shown.contains(words), "{shown:?} does not say {words:?}");
    }
    assert_eq!(runs, 0);
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "the file changed");
    assert_eq!(files_in(dir.path()), ["log.db"], "files appeared beside it");
}
