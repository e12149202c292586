//! A scheduler killed with SIGKILL in the middle of its runs, and started again on the same
//! log, with real processes:
//!
//! * the runs the killed process left open are closed as `crash`, each with the run id of
//!   its `run` record;
//! * no record the first process made durable is missing: the success of a producer whose
//!   dependent had started, and of a `daily` task, are in the log;
//! * the `daily` tasks that ran do not run again that day (the one whose run crashed does:
//!   it did not finish), and the pipeline does not repeat the step whose finish was
//!   recorded;
//! * `Return<T>` of the last finished producer is available to the second process.
//!
//! It runs on a SQLite file in a temporary directory, then on PostgreSQL in a database of
//! its own on the server `SCHEDULER_TEST_POSTGRES_URL` names (without it, the PostgreSQL
//! run says why it skips; under `CI=true` it fails).
//!
//! No libtest harness (`harness = false`): the program plays the scheduler when
//! `RESTART_TEST_ROLE=scheduler`, and otherwise drives two such processes. The clock is a
//! virtual one, moving with real time, that starts at noon of a fixed day in the first
//! process and as much later as has passed in the second, so that "today" is the same day
//! whenever the test runs.

// The one unsafe call: `kill`, to send SIGKILL and SIGINT.
#![allow(unsafe_code)]

#[path = "common/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use scheduler::log::store::{LoadRequest, RecordQuery};
use scheduler::prelude::*;
use scheduler::{Action, LogRecord, LogStore, RunId, Tz, VirtualClock};

const ROLE: &str = "RESTART_TEST_ROLE";
/// How long the driver waits for anything another process does, before failing.
const DEADLINE: Duration = Duration::from_secs(60);

#[task("daily")]
fn daily_report() -> String {
    println!("daily_report ran");
    "the report of the day".to_owned()
}

#[task("daily")]
fn produce() -> Vec<u32> {
    println!("produce ran");
    vec![1, 2, 3]
}

/// Starts after `produce` and runs until it is killed or terminated.
#[task("after task 'produce' succeeded", permanent)]
fn consume(batch: Return<produce>, flag: TerminationFlag) {
    println!("consume started with {:?}", *batch);
    while !flag.is_set() {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A long run, killed in the middle (terminated at a graceful shutdown).
#[task("daily", permanent)]
async fn long_job() {
    println!("long_job started");
    std::future::pending::<()>().await;
}

/// What the process remembers of `produce` when it starts.
#[task(on_startup)]
fn remember(batch: Option<Return<produce>>) {
    println!("remember: {:?}", batch.map(|b| b.into_inner()));
}

/// Noon of the test's day: each process's clock starts this long after it (the second one
/// later than everything the first recorded).
fn day_start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()
}

fn main() -> scheduler::Result<()> {
    if std::env::var(ROLE).as_deref() == Ok("scheduler") {
        scheduler::init_logging();
        return Scheduler::builder()
            .config_from_env()
            .time_zone(Tz::UTC)
            .clock(VirtualClock::starting_at(
                day_start()
                    + chrono::Duration::milliseconds(
                        std::env::var("RESTART_TEST_CLOCK_MS")
                            .ok()
                            .and_then(|ms| ms.parse().ok())
                            .unwrap_or(0),
                    ),
            ))
            .only_registered(["daily_report", "produce", "consume", "long_job", "remember"])
            .build()?
            .run();
    }
    let dir = tempdir();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut urls = vec![(
        "sqlite",
        format!("sqlite:{}", dir.join("restart.db").display()),
    )];
    // Dropped (the database with it) after both runs.
    let database = pg::server_url("runtime_restart")
        .map(|server| runtime.block_on(pg::TestDatabase::create(&server, "runtime_restart")));
    if let Some(database) = &database {
        urls.push(("postgres", database.url().to_owned()));
    }
    for (name, url) in &urls {
        let started = Instant::now();
        runtime.block_on(kill_and_restart(name, url));
        println!(
            "runtime_restart: {name} passed in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    drop(database);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn kill_and_restart(name: &str, url: &str) {
    let store = scheduler::log::store::open(url).await.unwrap_or_else(|e| {
        panic!("{name}: cannot open {url}: {e}");
    });
    let baseline = all_records(&*store).await.len();
    assert_eq!(baseline, 0, "{name}: the log is not empty");

    // The first process: the daily tasks run, `consume` and `long_job` are in the middle of
    // their runs when it is killed.
    let began = Instant::now();
    let mut first = Program::start(name, url, Duration::ZERO);
    first.wait_for("consume started with [1, 2, 3]");
    first.wait_for("long_job started");
    let open = wait_for_open_runs(&*store, &["consume", "long_job"]).await;
    first.kill();
    let killed_records = all_records(&*store).await;

    // The second process, on the same log.
    let mut second = Program::start(name, url, began.elapsed() + Duration::from_secs(1));
    second.wait_for("remember: Some([1, 2, 3])");
    // It runs for a moment, with every task able to start, then shuts down.
    std::thread::sleep(Duration::from_secs(2));
    second.interrupt();
    second.wait_for_exit();

    let records: Vec<LogRecord> = all_records(&*store)
        .await
        .into_iter()
        .skip(baseline)
        .collect();
    let of = |task: &str, action: Action| -> Vec<&LogRecord> {
        records
            .iter()
            .filter(|r| r.task == task && r.action == action)
            .collect()
    };
    // Nothing the first process wrote is gone.
    for record in killed_records.iter().skip(baseline) {
        assert!(
            records.contains(record),
            "{name}: a record of the killed process is missing: {record:?}"
        );
    }
    // Its open runs are closed as crashed, each with its run id.
    for (task, run_id) in &open {
        let crashes = of(task, Action::Crash);
        assert_eq!(
            crashes.iter().map(|r| r.run_id).collect::<Vec<_>>(),
            [Some(*run_id)],
            "{name}: {task}'s run should be closed as crashed once"
        );
        assert!(
            crashes[0]
                .message
                .as_deref()
                .is_some_and(|m| m.contains("stopped")),
            "{name}: {crashes:?}"
        );
    }
    // The daily tasks ran once today; the pipeline did not repeat its finished step.
    for task in ["daily_report", "produce"] {
        assert_eq!(
            of(task, Action::Run).len(),
            1,
            "{name}: {task} ran again after the restart"
        );
        assert_eq!(
            of(task, Action::Success).len(),
            1,
            "{name}: {task}'s success"
        );
    }
    assert_eq!(
        of("consume", Action::Run).len(),
        1,
        "{name}: consume ran again although produce did not run again"
    );
    // The crashed daily run did not finish: the day's run is still to do.
    assert_eq!(
        second.count("long_job started"),
        1,
        "{name}: long_job's crashed run leaves today's run to do"
    );
    assert_eq!(
        first.count("daily_report ran") + second.count("daily_report ran"),
        1,
        "{name}: daily_report ran twice"
    );
    assert_eq!(second.count("produce ran"), 0, "{name}: produce ran again");
    // The value survived: in the log, and for `Return<produce>` in the second process.
    assert_eq!(
        of("produce", Action::Success)[0].value.as_deref(),
        Some("[1,2,3]"),
        "{name}"
    );
    assert!(second.count("remember: Some([1, 2, 3])") == 1, "{name}");
    assert!(first.count("remember: None") == 1, "{name}");
}

/// Every record of the store, oldest first.
async fn all_records(store: &dyn LogStore) -> Vec<LogRecord> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let query = RecordQuery {
            after_seq: after,
            limit: 10_000,
            ..RecordQuery::default()
        };
        let page = store.query(&query).await.expect("the store answers");
        let Some(last) = page.last() else {
            return all;
        };
        after = Some(last.seq);
        all.extend(page.into_iter().map(|r| r.record));
    }
}

/// The run ids of the open runs of `tasks`, once the store has one for each.
async fn wait_for_open_runs(store: &dyn LogStore, tasks: &[&str]) -> Vec<(String, RunId)> {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let loaded = store
            .load(&LoadRequest::default())
            .await
            .expect("the store answers");
        let open: Vec<(String, RunId)> = loaded
            .open_runs
            .iter()
            .filter(|r| tasks.contains(&r.task.as_str()))
            .map(|r| (r.task.clone(), r.run_id))
            .collect();
        if open.len() == tasks.len() {
            return open;
        }
        assert!(
            Instant::now() < deadline,
            "the runs of {tasks:?} never appeared open in the store: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A scheduler process and the lines it printed.
struct Program {
    name: String,
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
}

impl Program {
    /// A scheduler whose clock starts `clock` after the test's `day_start`.
    fn start(name: &str, url: &str, clock: Duration) -> Program {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .env(ROLE, "scheduler")
            .env("RESTART_TEST_CLOCK_MS", clock.as_millis().to_string())
            .env("SCHEDULER_DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the scheduler starts");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = stdout.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        Program {
            name: name.to_owned(),
            child,
            stdout,
        }
    }

    fn count(&self, line: &str) -> usize {
        self.stdout
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.as_str() == line)
            .count()
    }

    fn wait_for(&self, line: &str) {
        let deadline = Instant::now() + DEADLINE;
        while self.count(line) == 0 {
            assert!(
                Instant::now() < deadline,
                "{}: the scheduler never printed {line:?}; it printed {:?}",
                self.name,
                self.stdout.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn signal(&self, signal: i32) {
        // SAFETY: `kill` takes plain integers and touches no memory of this process.
        let done = unsafe { libc::kill(self.child.id() as i32, signal) };
        assert_eq!(done, 0, "cannot signal the scheduler");
    }

    fn kill(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }

    fn interrupt(&self) {
        self.signal(libc::SIGINT);
    }

    fn wait_for_exit(&mut self) {
        let deadline = Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(
                    status.success(),
                    "{}: the scheduler exited with {status}",
                    self.name
                );
                return;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("{}: the scheduler did not shut down on SIGINT", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tempdir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("scheduler-restart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
