//! Signals, child processes and the errors `main` prints, with real processes: a scheduler
//! program is started as a terminal would start it (in a process group of its own), sent
//! signals as a terminal, GNU `timeout` or `kill -9` would send them, and watched from
//! outside.
//!
//! * Ctrl-C (SIGINT to the whole process group) shuts the scheduler down gracefully, and
//!   the running process-mode child, which is in a group of its own, finishes and is logged
//!   `success`; what it printed reaches the scheduler's stdout and stderr after `[sleeper]`
//!   and is still in the record's message.
//! * SIGKILL of the scheduler takes its child along.
//! * Two SIGINTs within a millisecond (as `timeout -s INT` sends) are one request: the run
//!   still ends `success`, also when the copy arrives just after the first was acted on.
//!   A second SIGINT sent a second later terminates it.
//! * The same with GNU `timeout -s INT` itself, where installed.
//! * `fn main() -> scheduler::Result<()>` prints the error's message, with the caret
//!   rendering of a condition on real lines, not a `Debug` struct.
//!
//! This program has no libtest harness (`harness = false`) and plays several roles, chosen
//! by the `SIGNALS_TEST_ROLE` variable: without it, it is the driver, which starts itself
//! again as the scheduler (whose process-mode child is, in turn, this program once more).
//! The child task waits for a file that the driver creates, so that signals reach it while
//! it runs whatever the machine's load; every wait for another process has a generous
//! deadline, past which the test fails with what the processes printed.

// The one unsafe call: `kill`, to signal a process group as a terminal does.
#![allow(unsafe_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use scheduler::prelude::*;
use scheduler::{MemoryStore, Tz};

/// The variable that tells this program which role to play.
const ROLE: &str = "SIGNALS_TEST_ROLE";
/// How long the driver waits for anything another process does, before failing.
const DEADLINE: Duration = Duration::from_secs(60);
/// How long a copy of a signal is given to force a shutdown that it must not force. Twice
/// the scheduler's debounce window, so that a signal sent after it is a second request.
const SETTLE: Duration = Duration::from_secs(1);

/// Writes its pid to `sleeper.pid` in the test directory, prints, and waits until the
/// driver creates `release` there.
#[task("daily", execution = "process")]
fn sleeper(signals_test_dir: Env<PathBuf>) -> Result<(), String> {
    println!("sleeper started");
    eprintln!("sleeper says hello on stderr");
    let pid_file = signals_test_dir.join("sleeper.pid");
    let partial = signals_test_dir.join("sleeper.pid.partial");
    std::fs::write(&partial, std::process::id().to_string()).map_err(|e| e.to_string())?;
    std::fs::rename(&partial, &pid_file).map_err(|e| e.to_string())?;
    let release = signals_test_dir.join("release");
    // Longer than the driver waits for it to die with its parent, so that giving up here
    // cannot pass for that.
    let give_up = Instant::now() + 3 * DEADLINE;
    while !release.exists() {
        if Instant::now() > give_up {
            return Err("never released".to_owned());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    println!("sleeper released");
    Ok(())
}

fn main() -> scheduler::Result<()> {
    match std::env::var(ROLE).as_deref() {
        Ok("scheduler") => run_scheduler(),
        Ok("unknown_task") => unknown_task(),
        // The README's `main`; the driver sets the environment it reads.
        Ok("readme") => scheduler::run(),
        _ => {
            drive();
            Ok(())
        }
    }
}

/// The scheduler under test: runs `sleeper` once, then prints its records to stdout (one
/// `record <task> <action> <message and output as JSON>` line each) when it has shut down.
fn run_scheduler() -> scheduler::Result<()> {
    scheduler::init_logging();
    let store = Arc::new(MemoryStore::new());
    let result = Scheduler::builder()
        .time_zone(Tz::UTC)
        .store(store.clone())
        .only_registered(["sleeper"])
        .build()?
        .run();
    for record in store.records() {
        println!(
            "record {} {} {}",
            record.task,
            record.action,
            serde_json::to_string(&format!(
                "{}\n{}",
                record.message.unwrap_or_default(),
                record.output.unwrap_or_default()
            ))
            .unwrap_or_default()
        );
    }
    result
}

/// A task set with a condition naming a task that does not exist.
fn unknown_task() -> scheduler::Result<()> {
    Scheduler::builder()
        .without_registered_tasks()
        .time_zone(Tz::UTC)
        .handle_signals(false)
        .task(TaskSpec::from_blocking("transform", |_| ()).when(condition!("daily")))
        .task(
            TaskSpec::from_blocking("report", |_| ())
                .when(condition!("after task 'transfrom' succeeded")),
        )
        .build()?
        .run()
}

// ----------------------------------------------------------------------------------------
// The driver
// ----------------------------------------------------------------------------------------

fn drive() {
    if !cfg!(target_os = "linux") {
        println!(
            "runtime_signals: skipped: it reads /proc and relies on Linux's parent-death signal"
        );
        return;
    }
    let started = Instant::now();
    // Each scenario is a scheduler of its own: they run side by side.
    /// A scenario's name, and the scenario, which panics when it fails.
    type Scenario = (&'static str, fn(&str));
    let scenarios: [Scenario; 7] = [
        ("ctrl_c_lets_the_child_finish", ctrl_c_lets_the_child_finish),
        (
            "sigkill_takes_the_child_along",
            sigkill_takes_the_child_along,
        ),
        (
            "two_signals_at_once_are_one_request",
            two_signals_at_once_are_one_request,
        ),
        (
            "a_copy_just_after_is_the_same_request",
            a_copy_just_after_is_the_same_request,
        ),
        (
            "a_later_signal_terminates_the_run",
            a_later_signal_terminates_the_run,
        ),
        (
            "gnu_timeout_shuts_down_gracefully",
            gnu_timeout_shuts_down_gracefully,
        ),
        (
            "main_prints_the_error_message",
            main_prints_the_error_message,
        ),
    ];
    let failed: Vec<&str> = std::thread::scope(|scope| {
        let running: Vec<_> = scenarios
            .iter()
            .map(|&(name, scenario)| (name, scope.spawn(move || scenario(name))))
            .collect();
        running
            .into_iter()
            .filter_map(|(name, thread)| thread.join().is_err().then_some(name))
            .collect()
    });
    let passed = scenarios.len() - failed.len();
    println!(
        "runtime_signals: took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("runtime_signals: {passed} passed, {} failed", failed.len());
    if !failed.is_empty() {
        eprintln!("failed: {}", failed.join(", "));
        std::process::exit(1);
    }
}

/// (a, d) Ctrl-C: the scheduler shuts down gracefully, the child finishes and is logged
/// `success`, and its output reaches the console with its task's name and the record.
fn ctrl_c_lets_the_child_finish(name: &str) {
    let mut scheduler = Program::scheduler(name);
    let child = scheduler.wait_for_sleeper();
    scheduler.signal_group(libc::SIGINT, 1);
    scheduler.wait_for_line(
        Stream::Stderr,
        "shutting down on SIGINT, waiting for running runs",
    );
    assert!(
        child.is_alive(),
        "{name}: the child died of the Ctrl-C meant for the scheduler"
    );
    scheduler.release();
    let status = scheduler.wait_for_exit();
    scheduler.check(status.success(), "the scheduler exited with an error");
    let message = scheduler.only_record("sleeper", "success");
    scheduler.check(
        message.contains("stdout:\nsleeper started\nsleeper released"),
        "the record lacks the child's output",
    );
    scheduler.check(
        message.contains("stderr:\nsleeper says hello on stderr"),
        "the record lacks the child's stderr",
    );
    for (stream, line) in [
        (Stream::Stdout, "[sleeper] sleeper started"),
        (Stream::Stdout, "[sleeper] sleeper released"),
        (Stream::Stderr, "[sleeper] sleeper says hello on stderr"),
    ] {
        scheduler.check(
            scheduler.lines(stream).iter().any(|l| l == line),
            &format!("{line:?} was not forwarded to the scheduler's {stream:?}"),
        );
    }
}

/// (b) SIGKILL of the scheduler: its child dies too instead of living on as an orphan.
fn sigkill_takes_the_child_along(name: &str) {
    let mut scheduler = Program::scheduler(name);
    let child = scheduler.wait_for_sleeper();
    // SAFETY: a plain system call on integers.
    let killed = unsafe { libc::kill(scheduler.pid, libc::SIGKILL) };
    assert_eq!(
        killed,
        0,
        "{name}: kill: {}",
        std::io::Error::last_os_error()
    );
    scheduler.wait_for_exit();
    let give_up = Instant::now() + DEADLINE;
    while child.is_alive() {
        if Instant::now() > give_up {
            child.kill();
            scheduler.fail(&format!(
                "the child {} outlived the scheduler's SIGKILL by {DEADLINE:?}",
                child.pid
            ));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// (c) Two SIGINTs within a millisecond: a graceful shutdown, not an instant one.
fn two_signals_at_once_are_one_request(name: &str) {
    let mut scheduler = Program::scheduler(name);
    scheduler.wait_for_sleeper();
    scheduler.signal_group(libc::SIGINT, 2);
    scheduler.wait_for_line(
        Stream::Stderr,
        "shutting down on SIGINT, waiting for running runs",
    );
    // Time for the copy to be acted on, were it taken for a second request.
    let exited = scheduler.exit_within(SETTLE);
    scheduler.check(
        exited.is_none(),
        "the scheduler exited before its run was released",
    );
    scheduler.release();
    let status = scheduler.wait_for_exit();
    scheduler.check(status.success(), "the scheduler exited with an error");
    scheduler.only_record("sleeper", "success");
    scheduler.check(
        !scheduler.stderr_contains("shutting down now"),
        "the copy of the signal forced an instant shutdown",
    );
}

/// (c) A copy of the signal that arrives just after the first was acted on (tokio hands
/// two signals sent at once to the scheduler as one, unless the first was taken in
/// between, which this forces): still one request.
fn a_copy_just_after_is_the_same_request(name: &str) {
    let mut scheduler = Program::scheduler(name);
    scheduler.wait_for_sleeper();
    scheduler.signal_group(libc::SIGINT, 1);
    scheduler.wait_for_line(
        Stream::Stderr,
        "shutting down on SIGINT, waiting for running runs",
    );
    scheduler.signal_group(libc::SIGINT, 1);
    scheduler.wait_for_line(
        Stream::Stderr,
        "SIGINT again within 500 ms: the same request",
    );
    let exited = scheduler.exit_within(SETTLE);
    scheduler.check(
        exited.is_none(),
        "the scheduler exited before its run was released",
    );
    scheduler.release();
    let status = scheduler.wait_for_exit();
    scheduler.check(status.success(), "the scheduler exited with an error");
    scheduler.only_record("sleeper", "success");
}

/// (c) A second SIGINT after the first was acted on terminates the running run.
fn a_later_signal_terminates_the_run(name: &str) {
    let mut scheduler = Program::scheduler(name);
    let child = scheduler.wait_for_sleeper();
    scheduler.signal_group(libc::SIGINT, 1);
    scheduler.wait_for_line(
        Stream::Stderr,
        "shutting down on SIGINT, waiting for running runs",
    );
    let exited = scheduler.exit_within(SETTLE);
    scheduler.check(exited.is_none(), "the scheduler exited on the first signal");
    scheduler.signal_group(libc::SIGINT, 1);
    scheduler.wait_for_line(Stream::Stderr, "shutting down now on SIGINT");
    let status = scheduler.wait_for_exit();
    scheduler.check(status.success(), "the scheduler exited with an error");
    let message = scheduler.only_record("sleeper", "terminate");
    scheduler.check(
        message.contains("the scheduler is shutting down now"),
        "the termination does not say why",
    );
    scheduler.check(!child.is_alive(), "the terminated child is still running");
}

/// GNU `timeout -s INT` signals the scheduler and then its process group: still a
/// graceful shutdown.
fn gnu_timeout_shuts_down_gracefully(name: &str) {
    if Command::new("timeout").arg("--version").output().is_err() {
        println!("{name}: skipped: GNU timeout is not installed");
        return;
    }
    // Long enough for the child to have started on a loaded machine: the test waits for
    // it below and fails, rather than passing, if it had not.
    let mut scheduler = Program::start(name, "scheduler", &[], &["timeout", "-s", "INT", "3"]);
    let child = scheduler.wait_for_sleeper();
    scheduler.wait_for_line(
        Stream::Stderr,
        "shutting down on SIGINT, waiting for running runs",
    );
    let exited = scheduler.exit_within(SETTLE);
    scheduler.check(
        exited.is_none(),
        "the scheduler exited before its run was released",
    );
    scheduler.check(child.is_alive(), "the child died of timeout's signal");
    scheduler.release();
    let status = scheduler.wait_for_exit();
    // `timeout` exits with 124 when it had to signal the program.
    scheduler.check(
        status.code() == Some(124),
        "timeout did not report its timeout",
    );
    scheduler.only_record("sleeper", "success");
    scheduler.check(
        !scheduler.stderr_contains("shutting down now"),
        "timeout's two signals forced an instant shutdown",
    );
}

/// (e) `main` returning a `scheduler::Result` error prints its message.
fn main_prints_the_error_message(name: &str) {
    /// A program's role, its environment, and texts its stderr must hold.
    struct Case {
        role: &'static str,
        env: &'static [(&'static str, &'static str)],
        expected: &'static [&'static str],
    }
    let cases = [
        Case {
            role: "unknown_task",
            env: &[],
            expected: &[
                "Error: the scheduler cannot start (1 problem):",
                "task 'report'",
                "names task 'transfrom', which does not exist (did you mean 'transform'?)",
            ],
        },
        Case {
            role: "readme",
            env: &[("SCHEDULER_TIME_ZONE", "Europe/Helsinkii")],
            expected: &["did you mean `Europe/Helsinki`?"],
        },
        Case {
            role: "readme",
            env: &[("SCHEDULER_SHUT_COND", "dialy")],
            expected: &["did you mean `daily`?"],
        },
    ];
    for Case {
        role,
        env,
        expected,
    } in cases
    {
        let mut program = Program::start(name, role, env, &[]);
        let status = program.wait_for_exit();
        let stderr = program.lines(Stream::Stderr).join("\n");
        program.check(
            status.code() == Some(1),
            "main did not fail with exit code 1",
        );
        for text in expected {
            program.check(stderr.contains(text), &format!("stderr lacks {text:?}"));
        }
        for debug in [
            "StartupError {",
            "ConfigError {",
            "\\n",
            "Startup(",
            "Config(",
        ] {
            program.check(!stderr.contains(debug), &format!("stderr shows {debug:?}"));
        }
        if env.iter().any(|(var, _)| *var == "SCHEDULER_SHUT_COND") {
            // The caret rendering, on lines of its own.
            let lines = program.lines(Stream::Stderr);
            program.check(
                lines
                    .iter()
                    .any(|l| l.trim_start().trim_start_matches('|').trim() == "dialy")
                    && lines.iter().any(|l| l.contains("^^^^^")),
                "the condition is not rendered with a caret line",
            );
        }
    }
}

// ----------------------------------------------------------------------------------------
// Watching another process
// ----------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

/// The lines a stream of a program printed so far, and whether it has ended.
#[derive(Default)]
struct Lines {
    lines: Mutex<(Vec<String>, bool)>,
    changed: Condvar,
}

impl Lines {
    /// Collects `stream` on a thread.
    fn collect(stream: impl Read + Send + 'static) -> Arc<Lines> {
        let lines = Arc::new(Lines::default());
        let filling = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                filling.lines.lock().unwrap().0.push(line);
                filling.changed.notify_all();
            }
            filling.lines.lock().unwrap().1 = true;
            filling.changed.notify_all();
        });
        lines
    }
}

/// This program started in a role, in a process group of its own (as a shell starts a
/// job), with a directory of its own for the files its child and the driver exchange.
struct Program {
    scenario: String,
    process: Child,
    pid: i32,
    dir: PathBuf,
    stdout: Arc<Lines>,
    stderr: Arc<Lines>,
    status: Option<ExitStatus>,
}

impl Program {
    fn scheduler(scenario: &str) -> Program {
        Program::start(scenario, "scheduler", &[], &[])
    }

    /// Starts this program in `role`, with `env`, behind the command `wrapper` if any.
    fn start(scenario: &str, role: &str, env: &[(&str, &str)], wrapper: &[&str]) -> Program {
        use std::os::unix::process::CommandExt;
        let dir = std::env::temp_dir().join(format!(
            "scheduler-signals-{}-{scenario}-{role}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let me = std::env::current_exe().unwrap();
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut command = Command::new(program);
                command.args(args).arg(&me);
                command
            }
            None => Command::new(&me),
        };
        command
            .env(ROLE, role)
            .env("SIGNALS_TEST_DIR", &dir)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut process = command.spawn().unwrap();
        let stdout = Lines::collect(process.stdout.take().unwrap());
        let stderr = Lines::collect(process.stderr.take().unwrap());
        Program {
            scenario: scenario.to_owned(),
            pid: i32::try_from(process.id()).unwrap(),
            process,
            dir,
            stdout,
            stderr,
            status: None,
        }
    }

    fn lines(&self, stream: Stream) -> Vec<String> {
        let lines = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        lines.lines.lock().unwrap().0.clone()
    }

    fn stderr_contains(&self, text: &str) -> bool {
        self.lines(Stream::Stderr).iter().any(|l| l.contains(text))
    }

    /// Fails the scenario with everything the program printed.
    fn fail(&self, problem: &str) -> ! {
        // SAFETY: a plain system call on integers; the negative pid names the group that
        // the program leads.
        unsafe { libc::kill(-self.pid, libc::SIGKILL) };
        panic!(
            "{}: {problem}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.scenario,
            self.lines(Stream::Stdout).join("\n"),
            self.lines(Stream::Stderr).join("\n")
        );
    }

    fn check(&self, ok: bool, problem: &str) {
        if !ok {
            self.fail(problem);
        }
    }

    /// Waits until a line of `stream` contains `text`.
    fn wait_for_line(&self, stream: Stream, text: &str) -> String {
        let lines = match stream {
            Stream::Stdout => &self.stdout,
            Stream::Stderr => &self.stderr,
        };
        let give_up = Instant::now() + DEADLINE;
        let mut seen = lines.lines.lock().unwrap();
        loop {
            if let Some(line) = seen.0.iter().find(|l| l.contains(text)) {
                return line.clone();
            }
            let now = Instant::now();
            if seen.1 || now > give_up {
                drop(seen);
                self.fail(&format!("no line of its {stream:?} says {text:?}"));
            }
            seen = lines.changed.wait_timeout(seen, give_up - now).unwrap().0;
        }
    }

    /// Waits until the process-mode child has started and written its pid.
    fn wait_for_sleeper(&mut self) -> Process {
        let pid_file = self.dir.join("sleeper.pid");
        let give_up = Instant::now() + DEADLINE;
        loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                let pid: i32 = text.trim().parse().unwrap();
                return Process::of(pid).unwrap_or_else(|| self.fail("the child died at once"));
            }
            if Instant::now() > give_up {
                self.fail("the child process did not start");
            }
            if let Some(status) = self.exit_within(Duration::from_millis(10)) {
                self.fail(&format!(
                    "the program exited ({status}) before its child started"
                ));
            }
        }
    }

    /// Lets the child finish.
    fn release(&self) {
        std::fs::write(self.dir.join("release"), "").unwrap();
    }

    /// Sends `signal` to the program's whole process group `times` times in a row, as a
    /// terminal's Ctrl-C does (and `timeout -s INT`, which signals twice).
    fn signal_group(&self, signal: i32, times: usize) {
        for _ in 0..times {
            // SAFETY: a plain system call on integers; the negative pid names the group
            // that the program leads.
            let sent = unsafe { libc::kill(-self.pid, signal) };
            if sent != 0 {
                self.fail(&format!("kill: {}", std::io::Error::last_os_error()));
            }
        }
    }

    /// The exit status, if the program exits within `wait`.
    fn exit_within(&mut self, wait: Duration) -> Option<ExitStatus> {
        let give_up = Instant::now() + wait;
        loop {
            if let Some(status) = self.status {
                return Some(status);
            }
            if let Some(status) = self.process.try_wait().unwrap() {
                self.status = Some(status);
                // Its output is complete once the streams end.
                for lines in [&self.stdout, &self.stderr] {
                    let mut seen = lines.lines.lock().unwrap();
                    while !seen.1 {
                        seen = lines.changed.wait_timeout(seen, DEADLINE).unwrap().0;
                    }
                }
                return Some(status);
            }
            if Instant::now() >= give_up {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_for_exit(&mut self) -> ExitStatus {
        self.exit_within(DEADLINE)
            .unwrap_or_else(|| self.fail(&format!("it did not exit within {DEADLINE:?}")))
    }

    /// The message of the one record of `task` with `action`, from the program's stdout.
    fn only_record(&self, task: &str, action: &str) -> String {
        let prefix = format!("record {task} {action} ");
        let records: Vec<String> = self
            .lines(Stream::Stdout)
            .iter()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        if records.len() != 1 {
            self.fail(&format!("expected one `{action}` record of {task}"));
        }
        let message: Option<String> = serde_json::from_str(&records[0]).unwrap();
        message.unwrap_or_default()
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        if self.status.is_none() {
            let _ = self.process.kill();
            let _ = self.process.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A process, told apart from a later one with the same pid by its start time.
struct Process {
    pid: i32,
    started: u64,
}

impl Process {
    fn of(pid: i32) -> Option<Process> {
        let (_, started) = Process::stat(pid)?;
        Some(Process { pid, started })
    }

    /// The state letter and start time of `pid`, from `/proc/<pid>/stat`.
    fn stat(pid: i32) -> Option<(char, u64)> {
        let stat =
            std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?;
        // The command name, in parentheses, may hold spaces: the fields follow its end.
        let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
        Some((
            fields.first()?.chars().next()?,
            fields.get(19)?.parse().ok()?,
        ))
    }

    /// Whether it still runs: a zombie (dead, not yet reaped by its new parent) does not.
    fn is_alive(&self) -> bool {
        Process::stat(self.pid)
            .is_some_and(|(state, started)| started == self.started && !matches!(state, 'Z' | 'X'))
    }

    fn kill(&self) {
        if self.is_alive() {
            // SAFETY: a plain system call on integers.
            unsafe { libc::kill(self.pid, libc::SIGKILL) };
        }
    }
}
