//! The command line as a user runs it: a program (`cli/fixture.rs`) run as a process
//! against a real SQLite file holding the log of a scheduler run on the virtual clock (the
//! scenario of `cli/tasks.rs`, Monday 2024-01-01 00:00 to 11:30 UTC), its `--json` output compared
//! with what the scenario implies, its tables compared with reviewed snapshots
//! (`snapshots/`), and bad input answered with a message and a non-zero status.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use scheduler::{LogStore, MemoryStore, Scheduler, SqliteStore, Tz, VirtualClock};
use serde_json::Value;

mod common;

#[path = "cli/tasks.rs"]
mod tasks;

const AT: &str = "2024-01-01T11:30:00Z";

/// The SQLite file the scenario wrote (once per test process), in a directory removed
/// when the process ends.
fn database() -> &'static Path {
    static FILE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &FILE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("scheduler.db");
            // The scheduler runs on paused tokio time, where a pool's timeouts fire at once
            // (time jumps ahead while the database's thread works): it logs in memory, and
            // its records are then written to the file by the SQLite store, in order.
            let memory = Arc::new(MemoryStore::new());
            let paused = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .unwrap();
            paused.block_on(async {
                let builder = Scheduler::builder()
                    .time_zone(Tz::UTC)
                    .clock(VirtualClock::starting_at(common::utc(2024, 1, 1, 0, 0, 0)))
                    .store(memory.clone())
                    .handle_signals(false)
                    .only_registered(tasks::TASKS);
                common::run_for(builder, Duration::from_secs(11 * 3600 + 30 * 60)).await;
            });
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let store = SqliteStore::open(&file).await.unwrap();
                store.append(&memory.records()).await.unwrap();
                store.close().await;
            });
            (dir, file)
        })
        .1
}

/// Runs the fixture with `args` (and `--database` of the scenario's file unless given).
fn cli(args: &[&str]) -> Output {
    cli_with(args, &[])
}

fn cli_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cli_fixture"));
    command.args(args);
    if !args.contains(&"--database") {
        command.arg("--database").arg(database());
    }
    command.env("NO_COLOR", "1").env("RUST_LOG", "warn");
    for (k, v) in env {
        command.env(k, v);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON a successful command printed.
fn json(args: &[&str]) -> Value {
    let output = cli(args);
    assert!(
        output.status.success(),
        "{args:?}: {}\n{}",
        output.status,
        stderr(&output)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&output)))
}

/// A command that must fail: status 1, a message naming the problem, no panic.
fn fails(args: &[&str], env: &[(&str, &str)], expected: &str) -> String {
    let output = cli_with(args, env);
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{args:?}: {err}");
    assert!(err.contains(expected), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    err
}

#[test]
fn list_gives_each_kind_of_task_its_next_start() {
    let list = json(&["list", "--json", "--at", AT]);
    let tasks = list.as_array().unwrap();
    let task = |name: &str| {
        tasks
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {list:#}"))
    };
    let next = |name: &str| task(name)["next_start"].clone();
    let at = |t: &str| serde_json::json!({ "kind": "at", "at": t });
    // A window that has run today opens again tomorrow.
    assert_eq!(next("window"), at("2024-01-02T07:00:00Z"));
    assert_eq!(task("window")["last_outcome"], "success");
    assert_eq!(task("window")["last_start"], "2024-01-01T07:00:00Z");
    // A cron line, at its next matching minute.
    assert_eq!(next("noon_cron"), at("2024-01-01T12:00:00Z"));
    // `every 2 hours`, two hours after its last start (10:00; on the virtual clock each
    // run starts a millisecond late, tokio's timer resolution, so only to the second).
    let ticker = next("ticker");
    assert_eq!(ticker["kind"], "at");
    assert!(
        ticker["at"]
            .as_str()
            .unwrap()
            .starts_with("2024-01-01T12:00:00"),
        "{ticker}"
    );
    let last = task("ticker")["last_start"].as_str().unwrap().to_owned();
    assert!(last.starts_with("2024-01-01T10:00:00"), "{last}");
    let (last, following) = (
        last.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
        ticker["at"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
    );
    // `every` is true once no start lies within the interval: a microsecond after.
    assert_eq!(
        following - last,
        chrono::Duration::hours(2) + chrono::Duration::microseconds(1)
    );
    // A clock window, when it opens.
    assert_eq!(next("evening"), at("2024-01-01T18:00:00Z"));
    // A pipeline step, only after a run of its upstream.
    assert_eq!(
        next("transform"),
        serde_json::json!({ "kind": "after_upstream", "tasks": ["get_data"] })
    );
    assert_eq!(task("transform")["last_start"], Value::Null);
    assert_eq!(task("get_data")["last_outcome"], "fail");
    // A disabled task.
    assert_eq!(next("paused"), serde_json::json!({ "kind": "disabled" }));
    assert_eq!(task("paused")["disabled"], true);
    assert_eq!(task("window")["execution"], "thread");
    assert_eq!(tasks.len(), tasks::TASKS.len());
}

/// `explain TASK --json`: whether it is due, the verdict, and the leaf that decides it.
fn explain(task: &str) -> (bool, String, Option<String>) {
    let x = json(&["explain", task, "--json", "--at", AT]);
    (
        x["due"].as_bool().unwrap(),
        x["verdict"].as_str().unwrap().to_owned(),
        x["start"]["blocking"].as_str().map(str::to_owned),
    )
}

#[test]
fn explain_names_what_blocks_a_task() {
    // A closed window.
    let (due, verdict, leaf) = explain("evening");
    assert!(!due);
    assert_eq!(leaf.as_deref(), Some("time of day between 18:00 and 20:00"));
    assert_eq!(
        verdict,
        "not due: `time of day between 18:00 and 20:00` is false until 18:00 today (2024-01-01 18:00:00 UTC)"
    );
    // Already ran in this period.
    let (due, verdict, leaf) = explain("once_a_day");
    assert!(!due);
    assert_eq!(leaf.as_deref(), Some("daily"));
    assert_eq!(
        verdict,
        "not due: `daily` is false until 00:00 tomorrow (2024-01-02 00:00:00 UTC)"
    );
    // The upstream has not finished (it never ran).
    let (due, verdict, leaf) = explain("load");
    assert!(!due);
    assert_eq!(leaf.as_deref(), Some("after task 'transform' succeeded"));
    assert_eq!(
        verdict,
        "not due: `after task 'transform' succeeded` is false until a new record of `transform`; `transform` has not run"
    );
    // The upstream failed.
    let (due, verdict, leaf) = explain("transform");
    assert!(!due);
    assert_eq!(leaf.as_deref(), Some("after task 'get_data' succeeded"));
    assert_eq!(
        verdict,
        "not due: `after task 'get_data' succeeded` is false until a new record of `get_data`; `get_data`'s last run failed at 2024-01-01 07:00:00 UTC"
    );
    // The end condition holds.
    let x = json(&["explain", "ender", "--json", "--at", AT]);
    assert_eq!(x["due"], false);
    assert_eq!(
        x["verdict"],
        "ends at once: the end condition `time of day after 11:00` is true, so a run would be terminated as soon as it started"
    );
    assert_eq!(x["end"]["tree"]["value"], true);
    assert_eq!(
        x["end"]["tree"]["next_change"]["at"],
        "2024-01-02T00:00:00Z"
    );
    // Disabled.
    let (due, verdict, _) = explain("paused");
    assert!(!due);
    assert!(
        verdict.starts_with("not due: the task is disabled"),
        "{verdict}"
    );
    // And a task that is due: `every 2 hours` just after 12:00.
    let x = json(&[
        "explain",
        "ticker",
        "--json",
        "--at",
        "2024-01-01T12:00:01Z",
    ]);
    assert_eq!(x["due"], true, "{x:#}");
    assert_eq!(x["start"]["tree"]["kind"], "leaf");
}

#[test]
fn explain_shows_the_tree_of_a_compound_condition() {
    // Both operands false: the one that stays false the longer (the dependency, which
    // only a record changes) decides, not the window that opens tomorrow.
    let x = json(&["explain", "report", "--json", "--at", AT]);
    let tree = &x["start"]["tree"];
    assert_eq!(tree["kind"], "all");
    assert_eq!(tree["children"][0]["value"], false);
    assert_eq!(
        tree["children"][0]["next_change"]["at"],
        "2024-01-02T07:00:00Z"
    );
    assert_eq!(tree["children"][1]["blocking"], true);
    assert_eq!(x["start"]["blocking"], "after task 'get_data' succeeded");
    // `window` at 08:00, as the scenario's log stood then: inside the window, ran already.
    let x = json(&[
        "explain",
        "window",
        "--json",
        "--at",
        "2024-01-01T08:00:00Z",
    ]);
    assert_eq!(x["due"], false);
    assert_eq!(x["start"]["tree"]["value"], false);
    assert_eq!(
        x["start"]["tree"]["next_change"]["at"], "2024-01-02T07:00:00Z",
        "{x:#}"
    );
}

#[test]
fn logs_filter_by_task_action_time_and_run() {
    let records = json(&["logs", "get_data", "--json"]);
    let records = records.as_array().unwrap();
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["run", "fail"]);
    assert!(records.iter().all(|r| r["task"] == "get_data"));
    assert_eq!(records[1]["message"], "the source is down");

    let failures = json(&["logs", "--action", "fail", "--json"]);
    let failures = failures.as_array().unwrap();
    assert!(!failures.is_empty());
    assert!(
        failures.iter().all(|r| r["action"] == "fail"),
        "{failures:?}"
    );

    let window = json(&[
        "logs",
        "--json",
        "--since",
        "2024-01-01T10:00:00Z",
        "--until",
        "2024-01-01 10:59:59",
        "--limit",
        "1000",
    ]);
    let window = window.as_array().unwrap();
    assert!(!window.is_empty());
    for r in window {
        let at = r["at"].as_str().unwrap();
        assert!(at.starts_with("2024-01-01T10:"), "{r}");
    }
    // `ticker` ran at 10:00 and `ender` every hour: both in the hour.
    assert!(window.iter().any(|r| r["task"] == "ticker"));

    let run = records[0]["run_id"].as_str().unwrap();
    let of_run = json(&["logs", "--run", run, "--json"]);
    let of_run = of_run.as_array().unwrap();
    assert_eq!(of_run.len(), 2, "{of_run:?}");
    assert!(of_run.iter().all(|r| r["run_id"] == run));
}

#[test]
fn stats_count_runs_and_outcomes() {
    let stats = json(&["stats", "--json"]);
    let row = |name: &str| {
        stats
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["task"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {stats:#}"))
    };
    // Every two hours from midnight to 10:00.
    assert_eq!(row("ticker")["runs"], 6);
    assert_eq!(row("ticker")["successes"], 6);
    assert_eq!(row("get_data")["failures"], 1);
    assert_eq!(row("get_data")["successes"], 0);
    let only = json(&[
        "stats",
        "ticker",
        "--since",
        "2024-01-01T05:00:00Z",
        "--json",
    ]);
    assert_eq!(only.as_array().unwrap().len(), 1);
    assert_eq!(only[0]["runs"], 3);
}

#[test]
fn check_passes_a_good_task_set_and_names_the_nearest_task_in_a_bad_one() {
    let ok = json(&["check", "--json"]);
    assert_eq!(ok["ok"], true);
    let output = cli_with(&["check"], &[("CLI_FIXTURE_BROKEN", "1")]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let out = stdout(&output);
    assert!(out.contains("get_dta"), "{out}");
    assert!(out.contains("get_data"), "the nearest name: {out}");
    assert!(
        stderr(&output).contains("1 problem found"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_input_gets_a_clear_message_and_a_non_zero_status() {
    fails(
        &["explain", "transfrom"],
        &[],
        "no task named 'transfrom' (did you mean 'transform'?)",
    );
    fails(&["logs", "get_dat"], &[], "did you mean 'get_data'?");
    fails(
        &["logs", "--since", "last tuesday"],
        &[],
        "--since: cannot read \"last tuesday\" as an instant",
    );
    fails(&["list", "--at", "soon"], &[], "--at: cannot read \"soon\"");
    fails(
        &["logs", "--action", "exploded"],
        &[],
        "--action: \"exploded\" is not an action",
    );
    fails(
        &["logs", "--run", "42"],
        &[],
        "--run: \"42\" is not a run id",
    );
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing-here.db");
    fails(
        &["list", "--database", missing.to_str().unwrap()],
        &[],
        "it does not exist",
    );
    assert!(!missing.exists(), "reading created the file");
    fails(
        &["list", "--database", "memory:"],
        &[],
        "another process cannot read it",
    );
}

#[test]
fn a_locked_database_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    std::fs::copy(database(), &copy).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", copy.display());
        let mut holder = sqlx::SqliteConnection::connect(&url).await.unwrap();
        // An exclusive lock, as a program that opened the file in exclusive locking mode
        // and wrote to it holds it.
        sqlx::query("PRAGMA locking_mode = EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();
        sqlx::query("BEGIN EXCLUSIVE")
            .execute(&mut holder)
            .await
            .unwrap();
        let copy = copy.to_str().unwrap().to_owned();
        let err = tokio::task::spawn_blocking(move || {
            fails(&["list", "--database", &copy], &[], "locked")
        })
        .await
        .unwrap();
        assert!(err.contains("copy.db"), "{err}");
        sqlx::query("ROLLBACK").execute(&mut holder).await.unwrap();
    });
}

#[test]
fn tables_are_aligned_and_reviewed() {
    let list = cli(&["list", "--at", AT]);
    assert!(list.status.success(), "{}", stderr(&list));
    insta::assert_snapshot!("list", stdout(&list));
    let explain = cli(&["explain", "transform", "--at", AT]);
    assert!(explain.status.success(), "{}", stderr(&explain));
    insta::assert_snapshot!("explain_transform", stdout(&explain));
    let explain = cli(&["explain", "report", "--at", AT]);
    insta::assert_snapshot!("explain_report", stdout(&explain));
    let explain = cli(&["explain", "ender", "--at", AT]);
    insta::assert_snapshot!("explain_ender", stdout(&explain));
    let stats = cli(&["stats", "get_data"]);
    // Durations vary; the shape does not.
    let header = stdout(&stats).lines().next().unwrap_or_default().to_owned();
    insta::assert_snapshot!("stats_header", header);
}

/// The same answers from a running scheduler, through its session: from the loop's own
/// log, with a change made at run time (a task disabled) taken into account.
#[test]
fn a_running_scheduler_explains_its_tasks_through_the_session() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let running = Scheduler::builder()
            .time_zone(Tz::UTC)
            .clock(VirtualClock::starting_at(common::utc(2024, 1, 1, 0, 0, 0)))
            .store(MemoryStore::new())
            .handle_signals(false)
            .only_registered(tasks::TASKS)
            .build()
            .unwrap()
            .start()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(11 * 3600 + 30 * 60)).await;
        let session = running.session().clone();
        let why = session.explain("transform").await.unwrap();
        assert!(!why.due);
        assert_eq!(
            why.verdict,
            "not due: `after task 'get_data' succeeded` is false until a new record of `get_data`; `get_data`'s last run failed at 2024-01-01 07:00:00 UTC"
        );
        session.disable("ticker").unwrap();
        let reports = session.reports().await.unwrap();
        let ticker = reports.iter().find(|r| r.name == "ticker").unwrap();
        assert!(ticker.disabled);
        assert_eq!(ticker.next_start, scheduler::NextStart::Disabled);
        assert_eq!(reports.len(), tasks::TASKS.len());
        let unknown = session.explain("transfrom").await.unwrap_err();
        assert!(unknown.to_string().contains("did you mean 'transform'"), "{unknown}");
        session.shut_down();
        running.await.unwrap();
    });
}

/// A task whose condition calls a custom condition of the program (`is_work_day()`, in
/// `cli/fixture.rs`): the command line runs in that program, so it asks the condition as
/// the scheduler would, and names it when it decides.
#[test]
fn explain_and_list_evaluate_a_custom_condition_of_the_program() {
    let custom = [("CLI_FIXTURE_CUSTOM", "1")];
    let explain_at = |at: &str| {
        let output = cli_with(&["explain", "office_report", "--json", "--at", at], &custom);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    // Saturday: the window is open, the custom condition says no.
    let saturday = explain_at("2024-01-06T11:30:00Z");
    assert_eq!(saturday["due"], false, "{saturday:#}");
    assert_eq!(
        saturday["start"]["blocking"], "is_work_day()",
        "{saturday:#}"
    );
    assert!(
        saturday["verdict"]
            .as_str()
            .unwrap()
            .starts_with("not due: `is_work_day()` is false"),
        "{saturday:#}"
    );
    // Friday: it says yes, and the task is due.
    let friday = explain_at("2024-01-05T11:30:00Z");
    assert_eq!(friday["due"], true, "{friday:#}");
    assert!(
        !friday.to_string().contains("evaluated outside a scheduler"),
        "{friday:#}"
    );
    // `list`: its next start is when the condition is asked again (its `every`, an hour
    // after the answer).
    let output = cli_with(&["list", "--json", "--at", "2024-01-06T11:30:00Z"], &custom);
    assert!(output.status.success(), "{}", stderr(&output));
    let list: Value = serde_json::from_slice(&output.stdout).unwrap();
    let task = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "office_report")
        .unwrap_or_else(|| panic!("office_report not listed: {list:#}"));
    let next = &task["next_start"];
    assert_eq!(next["kind"], "not_before", "{next}");
    assert_eq!(next["at"], "2024-01-06T12:30:00Z", "{next}");
}

/// `logs --follow` on a SQLite file that a scheduler writes while it follows: the lines
/// of records written after it started arrive (JSON, one object a line), a run's and a
/// change made at run time; each wait is bounded by the line it waits for (with a
/// generous deadline), not by sleeping.
#[test]
fn logs_follow_prints_what_a_running_scheduler_writes() {
    use std::io::BufRead;
    use std::sync::mpsc;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("follow.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // A record from before the command starts: seeing it says the command has read the
    // file once, so that what comes next can only come from following it.
    runtime.block_on(async {
        let store = SqliteStore::open(&file).await.unwrap();
        let before = scheduler::LogRecord::new(
            "before",
            scheduler::Action::Success,
            common::utc(2024, 1, 1, 0, 0, 0).into(),
        );
        store.append(&[before]).await.unwrap();
        store.close().await;
    });
    let mut child = Command::new(env!("CARGO_BIN_EXE_cli_fixture"))
        .args(["logs", "--follow", "--json", "--database"])
        .arg(&file)
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = mpsc::channel::<Value>();
    let followed = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(followed).lines() {
            let Ok(line) = line else { break };
            let value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not one JSON object a line: {e}: {line}"));
            if lines_tx.send(value).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let mut seen: Vec<Value> = Vec::new();
    let mut wait_for = |what: &str, matches: &dyn Fn(&Value) -> bool| -> Value {
        if let Some(found) = seen.iter().find(|v| matches(v)) {
            return found.clone();
        }
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match lines.recv_timeout(left) {
                Ok(value) => {
                    seen.push(value.clone());
                    if matches(&value) {
                        return value;
                    }
                }
                Err(e) => panic!("no line for {what} ({e}); lines so far: {seen:#?}"),
            }
        }
    };
    let is = |task: &'static str, action: &'static str| {
        move |v: &Value| v["task"] == task && v["action"] == action
    };
    wait_for("the record written before", &is("before", "success"));

    runtime.block_on(async {
        let store: Arc<dyn LogStore> = Arc::new(SqliteStore::open(&file).await.unwrap());
        let running = common::virtual_scheduler_with(common::utc(2024, 1, 1, 0, 0, 0), store)
            .without_registered_tasks()
            .task(
                scheduler::TaskSpec::from_blocking("probe", |_| ())
                    .when("daily".parse::<scheduler::Condition>().unwrap()),
            )
            .build()
            .unwrap()
            .start()
            .unwrap();
        let session = running.session().clone();
        let run = tokio::task::block_in_place(|| wait_for("probe's run", &is("probe", "run")));
        let ended =
            tokio::task::block_in_place(|| wait_for("probe's end", &is("probe", "success")));
        assert_eq!(run["run_id"], ended["run_id"]);
        session.set_priority("probe", 5).await.unwrap();
        let change = tokio::task::block_in_place(|| wait_for("the change", &is("probe", "change")));
        assert_eq!(change["message"], "priority: 0 → 5");
        session.set_param("batch", 500_u32).await.unwrap();
        let param = tokio::task::block_in_place(|| wait_for("the parameter", &is("", "change")));
        assert_eq!(param["message"], "param 'batch': none → 500");
        session.shut_down();
        running.await.unwrap();
    });
    // The command follows until it is stopped.
    assert!(
        child.try_wait().unwrap().is_none(),
        "logs --follow ended by itself"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    reader.join().unwrap();

    // The table of the changes alone: a parameter's belongs to the session.
    let output = cli(&[
        "logs",
        "--action",
        "change",
        "--database",
        file.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let table = stdout(&output);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows[0],
        ["TIME", "TASK", "ACTION", "RUN", "DURATION", "MESSAGE"],
        "{table}"
    );
    assert_eq!(
        rows[1][1..],
        ["probe", "change", "priority: 0 → 5"],
        "{table}"
    );
    assert_eq!(
        rows[2][1..],
        ["(session)", "change", "param 'batch': none → 500"],
        "{table}"
    );
    assert_eq!(rows.len(), 3, "{table}");
}

/// The fixture with its on-demand tasks (`CLI_FIXTURE_QUEUE`), run to the end with `args`.
fn queue_cli(args: &[&str]) -> Output {
    cli_with(args, &[("CLI_FIXTURE_QUEUE", "1")])
}

/// The fixture with its on-demand tasks, with `args` on the queue of `database`.
fn queue_cli_on(database: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--database", database]);
    queue_cli(&all)
}

/// A SQLite file with the store's tables, in `dir`.
fn queue_database(dir: &Path) -> String {
    let file = dir.join("jobs.db");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        SqliteStore::open(&file).await.unwrap().close().await;
    });
    file.display().to_string()
}

/// The fixture running in the background (`run` or `worker`) on `database`, its output
/// in a file; stopped with SIGTERM.
struct Background {
    child: std::process::Child,
    log: PathBuf,
}

impl Background {
    fn start(args: &[&str], database: &str, dir: &Path) -> Background {
        let log = dir.join(format!("{}.log", args[0]));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_cli_fixture"))
            .args(args)
            .arg("--database")
            .arg(database)
            .env("CLI_FIXTURE_QUEUE", "1")
            .env("RUST_LOG", "info")
            .stdin(std::process::Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Background { child, log }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM, and the exit status of a graceful shutdown.
    fn stop(mut self) -> String {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        let output = self.output();
        assert!(status.success(), "{status}:\n{output}");
        output
    }
}

/// Waits for `done` (with a generous deadline; the other process is doing the work).
fn wait_until(what: &str, background: &Background, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}:\n{}",
            background.output()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `trigger` in one process, run by the scheduler's worker in another (`run`, the default
/// role): `--wait` prints the job's status and result and exits non-zero when it failed;
/// without it, the job's id. Counted from the database afterwards.
#[test]
fn a_trigger_from_one_process_is_run_by_another() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    let running = Background::start(&["run"], &database, dir.path());

    let output = queue_cli(&[
        "trigger",
        "send_email",
        "--payload",
        r#"{"to": "ada@example.com", "subject": "Hello"}"#,
        "--wait",
        "--json",
        "--database",
        &database,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["task"], "send_email");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["result"], r#"sent "Hello" to ada@example.com"#);
    let first = job["id"].as_i64().unwrap();

    // A failure: every attempt fails, the status says so, and the exit status too.
    let output = queue_cli(&["trigger", "out_of_paper", "--wait", "--database", &database]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("out_of_paper failed after 3 attempts")
            && text.contains("error: the printer is out of paper"),
        "{text}"
    );
    assert!(
        stderr(&output).contains("(out_of_paper) failed: the printer is out of paper"),
        "{}",
        stderr(&output)
    );

    // Without --wait: the id, at once; the running program runs it.
    let output = queue_cli(&["trigger", "tick", "--json", "--database", &database]);
    assert!(output.status.success(), "{}", stderr(&output));
    let queued: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(queued["state"], "queued");
    let tick = scheduler::JobId(queued["id"].as_i64().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = runtime
        .block_on(scheduler::Queue::open(&format!("sqlite:{database}")))
        .unwrap();
    wait_until("tick to succeed", &running, || {
        runtime
            .block_on(queue.status(tick))
            .unwrap()
            .is_some_and(|job| job.state == scheduler::JobState::Succeeded)
    });
    let output = queue_cli(&["trigger", "tick", "--database", &database]);
    assert!(
        stdout(&output).starts_with(&format!("job {}: tick queued", tick.0 + 1)),
        "{}",
        stdout(&output)
    );
    running.stop();

    // Counted from the database: each job once, and the log has their runs.
    let job = |id: i64| {
        runtime
            .block_on(queue.status(scheduler::JobId(id)))
            .unwrap()
            .unwrap()
    };
    assert_eq!(job(first).state, scheduler::JobState::Succeeded);
    assert_eq!(
        (job(first + 1).state, job(first + 1).attempts),
        (scheduler::JobState::Failed, 3)
    );
    let records = |task: &str, action: scheduler::Action| {
        runtime
            .block_on(
                queue.store().query(
                    &scheduler::RecordQuery::default()
                        .task(task)
                        .action(action)
                        .limit(100),
                ),
            )
            .unwrap()
            .len()
    };
    assert_eq!(records("send_email", scheduler::Action::Success), 1);
    assert_eq!(records("out_of_paper", scheduler::Action::Fail), 3);
    assert!(records("tick", scheduler::Action::Success) >= 1);
}

/// `worker` runs the queued jobs (what `scheduler::worker()` does), with its concurrency.
#[test]
fn the_worker_command_runs_queued_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    // Queued before any worker runs: the worker takes it when it starts.
    let output = queue_cli(&["trigger", "tick", "--database", &database]);
    assert!(output.status.success(), "{}", stderr(&output));
    let worker = Background::start(&["worker", "--concurrency", "2"], &database, dir.path());
    let output = queue_cli(&[
        "trigger",
        "send_email",
        "--payload",
        r#"{"to": "bob@example.com", "subject": "Hi"}"#,
        "--wait",
        "--database",
        &database,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "job 2: send_email succeeded after 1 attempt\nresult: \"sent \\\"Hi\\\" to bob@example.com\"\n"
    );
    let log = worker.stop();
    assert!(log.contains("concurrency=2"), "{log}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = runtime
        .block_on(scheduler::Queue::open(&format!("sqlite:{database}")))
        .unwrap();
    let counts = runtime.block_on(queue.counts()).unwrap();
    assert_eq!((counts.succeeded, counts.queued, counts.failed), (2, 0, 0));
}

/// `jobs`: the counts per state, the newest jobs of a state, one job with its attempts,
/// a retry of the failed job and a cancel of the queued one (refused the second time), and
/// a prune counted back from `--at`; bad input is refused with a message.
#[test]
fn jobs_commands_look_at_and_act_on_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    let worker = Background::start(&["worker"], &database, dir.path());
    let run = |args: &[&str]| queue_cli_on(&database, args);
    let output = run(&["trigger", "tick", "--wait"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run(&["trigger", "out_of_paper", "--max-attempts", "1", "--wait"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    worker.stop();
    // No worker now: this one stays queued.
    let output = run(&["trigger", "tick", "--json"]);
    let queued: Value = serde_json::from_slice(&output.stdout).unwrap();
    let queued = queued["id"].as_i64().unwrap();

    let json_of = |args: &[&str]| -> Value {
        let mut all = args.to_vec();
        all.push("--json");
        let output = run(&all);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let summary = json_of(&["jobs"]);
    assert_eq!(
        summary["states"],
        serde_json::json!({"queued": 1, "running": 0, "succeeded": 1, "failed": 1, "cancelled": 0})
    );
    let table = stdout(&run(&["jobs"]));
    assert!(
        table.starts_with("state      jobs\nqueued     1\n"),
        "{table}"
    );

    let failed = json_of(&["jobs", "list", "--state", "failed"]);
    assert_eq!(failed.as_array().unwrap().len(), 1, "{failed}");
    assert_eq!(failed[0]["task"], "out_of_paper");
    assert_eq!(failed[0]["error"], "the printer is out of paper");
    let dead = failed[0]["id"].as_i64().unwrap();
    let newest = json_of(&["jobs", "list", "--limit", "2"]);
    let ids: Vec<i64> = newest
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [queued, dead]);
    let listed = stdout(&run(&["jobs", "list", "--task", "out_of_paper"]));
    assert!(
        listed.starts_with("id  task          state   attempts  enqueued")
            && listed.contains("failed  1/1")
            && listed.trim_end().ends_with("the printer is out of paper"),
        "{listed}"
    );

    let shown = json_of(&["jobs", "show", &dead.to_string()]);
    assert_eq!(shown["state"], "failed");
    assert_eq!(shown["attempts_made"][0]["outcome"], "failed", "{shown}");
    let text = stdout(&run(&["jobs", "show", &dead.to_string()]));
    assert!(
        text.contains("task       out_of_paper") && text.contains("attempts   1 of 1"),
        "{text}"
    );

    let output = run(&["jobs", "retry", &dead.to_string(), "--attempts", "2"]);
    assert_eq!(stdout(&output), format!("job {dead}: queued again\n"));
    let output = run(&["jobs", "cancel", &queued.to_string()]);
    assert_eq!(stdout(&output), format!("job {queued}: cancelled\n"));
    let env = [("CLI_FIXTURE_QUEUE", "1")];
    let again = [
        "jobs",
        "cancel",
        &queued.to_string(),
        "--database",
        &database,
    ];
    fails(&again, &env, "is cancelled: cannot cancel it");
    fails(
        &["jobs", "show", "999", "--database", &database],
        &env,
        "no job 999",
    );
    fails(
        &["jobs", "list", "--state", "done", "--database", &database],
        &env,
        "--state: \"done\" is not a job state",
    );
    fails(
        &[
            "jobs",
            "prune",
            "--finished",
            "soon",
            "--database",
            &database,
        ],
        &env,
        "--finished: not a duration such as `7 days`, nor `forever`",
    );

    // Now, nothing ended 7 days ago; as of 2100, the succeeded and the cancelled jobs are
    // past it, and the failed one, queued again, is not an ended job.
    assert_eq!(json_of(&["jobs", "prune"])["deleted"], 0);
    let pruned = json_of(&["jobs", "prune", "--at", "2100-01-01"]);
    assert_eq!(pruned["deleted"], 2, "{pruned}");
    let summary = json_of(&["jobs"]);
    assert_eq!(
        summary["states"],
        serde_json::json!({"queued": 1, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 0})
    );
}

/// `jobs retry-failed`: the newest failed jobs queued again, up to its limit, then the rest.
#[test]
fn jobs_retry_failed_queues_the_dead_letters_again() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    let worker = Background::start(&["worker"], &database, dir.path());
    let run = |args: &[&str]| queue_cli_on(&database, args);
    let mut failed = Vec::new();
    for _ in 0..3 {
        let output = run(&[
            "trigger",
            "out_of_paper",
            "--max-attempts",
            "1",
            "--wait",
            "--json",
        ]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let job: Value = serde_json::from_slice(&output.stdout).unwrap();
        failed.push(job["id"].as_i64().unwrap());
    }
    worker.stop();
    let output = run(&["jobs", "retry-failed", "--limit", "2", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let retried: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        retried["retried"],
        serde_json::json!([failed[2], failed[1]])
    );
    let output = run(&["jobs", "retry-failed", "--task", "tick"]);
    assert_eq!(stdout(&output), "queued again 0 failed jobs\n");
    let output = run(&["jobs", "retry-failed", "--attempts", "2"]);
    assert_eq!(stdout(&output), "queued again 1 failed job\n");
    let output = run(&["jobs", "--json"]);
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        (&summary["states"]["queued"], &summary["states"]["failed"]),
        (&serde_json::json!(3), &serde_json::json!(0))
    );
}

/// `trigger`'s job options (a uniqueness key, a priority, a number of attempts), read back
/// from the database, and a `--wait` that gives up after its `--timeout` (no worker runs:
/// the job cannot end) with a non-zero exit, the job left queued.
#[test]
fn trigger_sets_the_job_options_and_a_wait_can_give_up() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    let trigger_json = |extra: &[&str]| -> Value {
        let mut args = vec!["trigger", "tick", "--json", "--database", &database];
        args.extend_from_slice(extra);
        let output = queue_cli(&args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let first = trigger_json(&["--unique", "nightly", "--priority", "-2"]);
    assert_eq!(first["existing"], false, "{first}");
    let again = trigger_json(&["--unique", "nightly"]);
    assert_eq!(
        (&again["id"], &again["existing"]),
        (&first["id"], &Value::Bool(true))
    );
    let output = queue_cli(&[
        "trigger",
        "tick",
        "--unique",
        "nightly",
        "--database",
        &database,
    ]);
    assert_eq!(
        stdout(&output),
        format!(
            "job {}: tick already queued with this key (nothing added)\n",
            first["id"]
        )
    );
    let other = trigger_json(&["--max-attempts", "1", "--priority", "7"]);
    assert_eq!(other["existing"], false, "{other}");

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = runtime
        .block_on(scheduler::Queue::open(&format!("sqlite:{database}")))
        .unwrap();
    let job = |value: &Value| {
        runtime
            .block_on(queue.status(scheduler::JobId(value["id"].as_i64().unwrap())))
            .unwrap()
            .unwrap()
    };
    let keyed = job(&first);
    assert_eq!(
        (
            keyed.unique_key.as_deref(),
            keyed.priority,
            keyed.max_attempts
        ),
        (Some("nightly"), -2, 3)
    );
    let plain = job(&other);
    assert_eq!(
        (plain.unique_key, plain.priority, plain.max_attempts),
        (None, 7, 1)
    );

    // No worker: the wait gives up, says so, and the job is still queued.
    let err = fails(
        &[
            "trigger",
            "tick",
            "--wait",
            "--timeout",
            "1 second",
            "--database",
            &database,
        ],
        &[("CLI_FIXTURE_QUEUE", "1")],
        "(tick) has not ended after 1 second: it stays in the queue",
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(runtime.block_on(queue.counts()).unwrap().queued, 3);
    fails(
        &[
            "trigger",
            "tick",
            "--wait",
            "--timeout",
            "soon",
            "--database",
            &database,
        ],
        &[("CLI_FIXTURE_QUEUE", "1")],
        "--timeout: not a duration such as `30 seconds`",
    );
    // `--timeout` belongs to `--wait`; attempts start at one.
    for args in [
        &["trigger", "tick", "--timeout", "1 second"][..],
        &["trigger", "tick", "--max-attempts", "0"][..],
    ] {
        let output = queue_cli(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    assert_eq!(runtime.block_on(queue.counts()).unwrap().queued, 3);
}

#[test]
fn trigger_refuses_bad_input_before_enqueueing() {
    let dir = tempfile::tempdir().unwrap();
    let database = queue_database(dir.path());
    let env = [("CLI_FIXTURE_QUEUE", "1")];
    let db = ["--database", database.as_str()];
    let with_db = |args: &[&'static str]| -> Vec<String> {
        args.iter()
            .map(|a| a.to_string())
            .chain(db.iter().map(|a| a.to_string()))
            .collect()
    };
    let fails_with = |args: &[&'static str], expected: &str| {
        let args = with_db(args);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(&args, &env, expected)
    };
    fails_with(
        &["trigger", "send_emial"],
        "no task named 'send_emial' (did you mean 'send_email'?)",
    );
    fails_with(
        &["trigger", "send_email", "--payload", "{to: 1"],
        "--payload: not JSON: key must be a string",
    );
    let err = fails_with(
        &[
            "trigger",
            "send_email",
            "--payload",
            r#"{"to": "ada@example.com"}"#,
        ],
        "--payload: task 'send_email' cannot take this payload",
    );
    assert!(err.contains("not a valid `cli_fixture::Email`"), "{err}");
    assert!(err.contains("missing field `subject`"), "{err}");
    let err = fails_with(
        &[
            "trigger",
            "send_email",
            "--payload",
            r#"{"to": 7, "subject": "x"}"#,
        ],
        "cannot take this payload",
    );
    assert!(
        err.contains("invalid type: integer `7`, expected a string"),
        "{err}"
    );
    // No payload where one is needed, and one where none is read.
    fails_with(&["trigger", "send_email"], "invalid type: null");
    fails_with(
        &["trigger", "tick", "--payload", "5"],
        "the task takes no payload",
    );
    // Stores that cannot take a job from this process.
    fails(
        &["trigger", "tick", "--database", "memory:"],
        &env,
        "the job queue of `memory:` lives in the process that runs the scheduler",
    );
    let missing = dir.path().join("missing.db").display().to_string();
    fails(
        &["trigger", "tick", "--database", &missing],
        &env,
        "it does not exist",
    );
    // Nothing reached the queue.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let queue = runtime
        .block_on(scheduler::Queue::open(&format!("sqlite:{database}")))
        .unwrap();
    assert_eq!(
        runtime.block_on(queue.counts()).unwrap(),
        Default::default()
    );
    assert!(!std::path::Path::new(&missing).exists());

    // clap's own checks, and the help of each command.
    let output = queue_cli(&["worker", "--concurrency", "0"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    for (command, options) in [
        (
            "trigger",
            &[
                "--payload <JSON>",
                "--wait",
                "--timeout <DURATION>",
                "--priority <N>",
                "--unique <KEY>",
                "--max-attempts <N>",
                "--database <URL>",
            ][..],
        ),
        ("worker", &["--concurrency <N>"][..]),
    ] {
        let output = queue_cli(&[command, "--help"]);
        assert!(output.status.success(), "{}", stderr(&output));
        let help = stdout(&output);
        for option in options {
            assert!(help.contains(option), "{command} --help: {help}");
        }
    }
}
