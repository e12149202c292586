//! Process execution, with real child processes on the real clock: values returned by a
//! task in a child process reach a task in another child and one in the scheduler's
//! process; a timeout kills a child; a panic in a child is a failure; command tasks
//! succeed with their output, fail on a non-zero exit, and fail to start a missing
//! program; a command terminated by its timeout is killed with the program it started;
//! session parameters changed at run time reach a run in a child process.
//!
//! This test has no libtest harness (`harness = false`): a process task's child process
//! is this program started again, and it must reach `serve` with the same tasks and
//! parameters, which `main` below does before anything else. The whole scenario has a
//! generous deadline so that a fault fails the test rather than hanging it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scheduler::prelude::*;
use scheduler::{Action, CommandSpec, LogRecord, MemoryStore, Tz};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Batch {
    rows: Vec<u32>,
    pid: u32,
}

#[derive(Debug, Serialize, Deserialize)]
struct Summary {
    total: u32,
    producer_pid: u32,
    pid: u32,
}

#[task("daily", execution = "process")]
fn produce() -> Batch {
    Batch {
        rows: vec![1, 2, 3, 4],
        pid: std::process::id(),
    }
}

#[task("after task 'produce' succeeded", execution = "process")]
async fn consume(batch: Return<produce>, factor: Arg<u32>) -> Summary {
    Summary {
        total: batch.rows.iter().sum::<u32>() * *factor,
        producer_pid: batch.pid,
        pid: std::process::id(),
    }
}

#[task("after task 'consume' succeeded")]
fn report(summary: Return<consume>, reports: Arg<Mutex<Vec<String>>>) {
    reports.lock().unwrap().push(format!(
        "total {} from {} via {} to {}",
        summary.total,
        summary.producer_pid,
        summary.pid,
        std::process::id()
    ));
}

/// Changes two session parameters while the scheduler runs.
#[task("daily")]
async fn retune(session: Session) -> Result<(), scheduler::SessionError> {
    session.set_param("scale", 3_u32).await?;
    session.set_param("label", "tuned".to_owned()).await?;
    Ok(())
}

/// Reads them in a child process: the values set at run time, not the program's own.
#[task("after task 'retune' succeeded", execution = "process")]
fn scaled(scale: Arg<u32>, label: Arg<String>) -> String {
    format!("{} {}", *scale, *label)
}

#[task("daily", execution = "process", timeout = "1 second")]
fn hang(pid_file: Arg<PathBuf>) {
    std::fs::write(&*pid_file, std::process::id().to_string()).unwrap();
    std::thread::sleep(Duration::from_secs(600));
}

#[task("daily", execution = "process")]
fn boom() {
    println!("about to fail");
    panic!("child boom");
}

const DEADLINE: Duration = Duration::from_secs(120);

fn main() {
    if !cfg!(target_os = "linux") {
        println!("runtime_process: skipped: it uses `sh` and /proc, so Linux only");
        return;
    }
    let store = Arc::new(MemoryStore::new());
    let reports = Arc::new(Mutex::new(Vec::<String>::new()));
    let pid_file = std::env::temp_dir().join(format!("scheduler-test-hang-{}.pid", parent_pid()));
    let grandchild_file =
        std::env::temp_dir().join(format!("scheduler-test-grandchild-{}.pid", parent_pid()));
    let scheduler = scheduler::Scheduler::builder()
        .time_zone(Tz::UTC)
        .store(store.clone())
        .handle_signals(false)
        .only_registered([
            "produce", "consume", "report", "hang", "boom", "retune", "scaled",
        ])
        .param("factor", 10_u32)
        .param("scale", 1_u32)
        .param("label", "plain".to_owned())
        .param("pid_file", pid_file.clone())
        .param_arc("reports", reports.clone())
        .task(
            TaskSpec::command(
                "greet",
                CommandSpec::new("sh", ["-c", "echo hello; echo careful >&2"]),
            )
            .when(condition!("daily")),
        )
        .task(
            TaskSpec::command(
                "failing",
                CommandSpec::new("sh", ["-c", "echo no such table >&2; exit 3"]),
            )
            .when(condition!("daily")),
        )
        .task(
            TaskSpec::command(
                "missing",
                CommandSpec::new("no-such-program-here", Vec::<String>::new()),
            )
            .when(condition!("daily")),
        )
        .task(
            // `sleep` is the shell's child, and holds the shell's stdout open: only killing
            // the command's whole process group ends it and the run's output.
            TaskSpec::command(
                "hang_command",
                CommandSpec::shell(format!(
                    "sleep 600 & echo $! > '{}'; wait",
                    grandchild_file.display()
                )),
            )
            .when(condition!("daily"))
            .timeout(Duration::from_secs(1)),
        )
        .task(
            // A command's standard output is its return value.
            TaskSpec::from_blocking("read_greeting", |cx| {
                let text = cx
                    .returned_by::<String>("greet")
                    .map_err(|e| e.to_string())?;
                if text.as_str() == "hello\n" {
                    Ok(())
                } else {
                    Err(format!("unexpected greeting {text:?}"))
                }
            })
            .when(condition!("after task 'greet' succeeded")),
        )
        .shut_cond(condition!(
            "task 'report' has finished & task 'hang' has terminated & task 'boom' has finished \
             & task 'read_greeting' has finished & task 'failing' has finished \
             & task 'missing' has finished & task 'hang_command' has terminated \
             & task 'scaled' has finished"
        ))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    // A child process runs its one task inside `serve` and exits there.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        match tokio::time::timeout(DEADLINE, scheduler.serve()).await {
            Ok(result) => result.unwrap_or_else(|e| panic!("{e}")),
            Err(_) => panic!(
                "the scenario did not finish within {DEADLINE:?}; records so far:\n{:#?}",
                store.records()
            ),
        }
    });

    let me = std::process::id();
    let mut checks = 0;

    // The value crossed two child processes and came back.
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    let words: Vec<&str> = reports[0].split(' ').collect();
    assert_eq!(words[..2], ["total", "100"], "{reports:?}");
    let (producer, consumer, reporter): (u32, u32, u32) = (
        words[3].parse().unwrap(),
        words[5].parse().unwrap(),
        words[7].parse().unwrap(),
    );
    assert_eq!(reporter, me);
    assert!(
        producer != me && consumer != me && producer != consumer,
        "{reports:?}"
    );
    checks += 1;

    // The timeout killed the child.
    let hang = only(&store, "hang", Action::Terminate);
    assert_eq!(hang.message.as_deref(), Some("timed out after 1 second"));
    let hung_pid = std::fs::read_to_string(&pid_file).expect("the hanging child wrote its pid");
    let _ = std::fs::remove_file(&pid_file);
    assert!(
        !std::path::Path::new(&format!("/proc/{}", hung_pid.trim())).exists(),
        "the timed-out child process {hung_pid} is still alive"
    );
    checks += 1;

    // A panic in a child is a failure with the panic's message and the child's output.
    let boom = only(&store, "boom", Action::Fail);
    let message = boom.message.as_deref().unwrap_or_default();
    assert!(message.starts_with("panicked: child boom"), "{message}");
    let output = boom.output.as_deref().unwrap_or_default();
    assert!(output.contains("stdout:\nabout to fail"), "{output}");
    checks += 1;

    // Command tasks.
    let greet = only(&store, "greet", Action::Success);
    assert_eq!(greet.message, None);
    assert_eq!(
        greet.output.as_deref(),
        Some("stdout:\nhello\nstderr:\ncareful")
    );
    only(&store, "read_greeting", Action::Success);
    let failing = only(&store, "failing", Action::Fail);
    assert_eq!(
        failing.message.as_deref(),
        Some("`sh` exited with exit status: 3: no such table")
    );
    assert_eq!(failing.output.as_deref(), Some("stderr:\nno such table"));
    let missing = only(&store, "missing", Action::Fail);
    assert!(
        missing
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("could not start `no-such-program-here`:"),
        "{missing:?}"
    );
    checks += 1;

    // The timeout killed the command with the program it started.
    let hang_command = only(&store, "hang_command", Action::Terminate);
    assert_eq!(
        hang_command.message.as_deref(),
        Some("timed out after 1 second")
    );
    let grandchild =
        std::fs::read_to_string(&grandchild_file).expect("the shell wrote its child's pid");
    let _ = std::fs::remove_file(&grandchild_file);
    assert!(
        !is_running(grandchild.trim()),
        "the timed-out command's child {grandchild} is still running"
    );
    checks += 1;

    // Parameters changed at run time reach a run in a child process.
    let scaled = only(&store, "scaled", Action::Success);
    assert_eq!(scaled.value.as_deref(), Some("\"3 tuned\""), "{scaled:?}");
    checks += 1;

    println!("runtime_process: {checks} scenarios passed");
}

/// The pid of the test process (the parent when this is a child process), to name files
/// both share.
fn parent_pid() -> u32 {
    #[cfg(unix)]
    if std::env::args().nth(1).as_deref() == Some("__child") {
        return std::os::unix::process::parent_id();
    }
    std::process::id()
}

/// Whether `pid` runs: a zombie (killed, not yet reaped by its new parent) does not.
fn is_running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat
            .rfind(')')
            .and_then(|end| stat[end + 1..].split_whitespace().next());
        !matches!(state, Some("Z" | "X"))
    })
}

fn only(store: &MemoryStore, task: &str, action: Action) -> LogRecord {
    let records: Vec<LogRecord> = store
        .records_of(task)
        .into_iter()
        .filter(|r| r.action == action)
        .collect();
    assert_eq!(records.len(), 1, "{task}: {:#?}", store.records_of(task));
    records.into_iter().next().unwrap()
}
