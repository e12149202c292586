//! Running task bodies: catching panics, running commands, and running a task in a child
//! process (both sides of that protocol).
//!
//! A child process is the program itself, started again with the hidden subcommand
//! `__child TASK --result FILE` (after the arguments set with
//! [`SchedulerBuilder::child_args_prefix`](super::SchedulerBuilder::child_args_prefix), for
//! a program whose own command line holds the scheduler's under a subcommand). The
//! program's `main` runs up to `scheduler::run()` (whose command line knows the subcommand)
//! or `Scheduler::run`/`serve`, which see it, run that one task with the values received as
//! JSON on standard input, write the outcome to the result file and exit.
//!
//! What a child (of a process task or a command task) prints is both captured into the
//! run's log message and forwarded, line by line, to the scheduler's own standard output
//! and error with the task's name in front (`[report] 3 rows`), as a task running in a
//! thread would print. How children are started and stopped is in `spawn.rs`.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use crate::log::RunId;

use super::context::RunContext;
use super::inject::Need;
use super::outcome::{DecodeFn, Output, OutputCodec, RunOutcome, panic_message, serde_codec};
use super::spawn::{self, RunChild};
use super::task::{AsyncBody, BlockingBody, CommandSpec};
use crate::log::Action;

/// The hidden subcommand that starts a child process for one run.
pub(crate) const CHILD_COMMAND: &str = "__child";

/// The arguments put before [`CHILD_COMMAND`] in a child's command line.
static CHILD_PREFIX: std::sync::OnceLock<Vec<std::ffi::OsString>> = std::sync::OnceLock::new();

/// Sets the arguments put before `__child` (the first setting wins: it is the program's).
pub(crate) fn set_child_prefix(prefix: Vec<std::ffi::OsString>) {
    let _ = CHILD_PREFIX.set(prefix);
}

/// What a child process was started to do: run `task`, write its outcome to `result`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildInvocation {
    /// The task to run.
    pub task: String,
    /// The file to write the outcome to.
    pub result: std::path::PathBuf,
}

/// Output kept in a record's message, per stream.
const CAPTURE_LIMIT: usize = 16 * 1024;

/// The longest line forwarded whole: a child printing more without a newline has it
/// forwarded in pieces of this size, so that the scheduler does not buffer without bound.
const FORWARD_LINE_LIMIT: usize = 64 * 1024;

/// A future that turns a panic while polling into an error.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

/// Runs an async body; a panic is a failure.
pub(crate) async fn run_async(body: &AsyncBody, cx: RunContext) -> RunOutcome {
    match CatchUnwind(body(cx)).await {
        Ok(outcome) => outcome,
        Err(panic) => RunOutcome::Fail(panic_message(panic.as_ref())),
    }
}

/// Runs a blocking body; a panic is a failure.
pub(crate) fn run_blocking(body: &BlockingBody, cx: RunContext) -> RunOutcome {
    match catch_unwind(AssertUnwindSafe(|| body(cx))) {
        Ok(outcome) => outcome,
        Err(panic) => RunOutcome::Fail(panic_message(panic.as_ref())),
    }
}

/// Text of captured output: the start and end of what was printed, within the limit.
fn captured_text(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.len() <= CAPTURE_LIMIT {
        return text.trim_end().to_owned();
    }
    let mut head = CAPTURE_LIMIT / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - CAPTURE_LIMIT / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{}\n[... {} bytes left out ...]\n{}",
        &text[..head],
        tail - head,
        text[tail..].trim_end()
    )
}

fn describe_output(stdout: &[u8], stderr: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    if !stdout.is_empty() {
        parts.push(format!("stdout:\n{}", captured_text(stdout)));
    }
    if !stderr.is_empty() {
        parts.push(format!("stderr:\n{}", captured_text(stderr)));
    }
    (!parts.is_empty()).then(|| parts.join("\n"))
}

/// The scheduler's stream that a child's stream is forwarded to.
#[derive(Debug, Clone, Copy)]
enum Console {
    Stdout,
    Stderr,
}

/// Writes one line of a child's output to the scheduler's `console`, after `[task] `.
fn forward_line(console: Console, task: &str, line: &[u8]) {
    use std::io::Write;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut text = Vec::with_capacity(task.len() + line.len() + 4);
    text.push(b'[');
    text.extend_from_slice(task.as_bytes());
    text.extend_from_slice(b"] ");
    text.extend_from_slice(line);
    text.push(b'\n');
    // One write under the stream's lock: lines of children running at once, and the
    // program's own prints, do not mix within a line. A closed console loses the copy
    // only; the capture keeps it.
    let _ = match console {
        Console::Stdout => std::io::stdout().lock().write_all(&text),
        Console::Stderr => std::io::stderr().lock().write_all(&text),
    };
}

/// Reads a child's stream to its end, forwarding each line to `console` as it arrives,
/// and returns everything read.
async fn forward_and_capture(
    stream: Option<impl AsyncRead + Unpin>,
    task: &str,
    console: Console,
) -> Vec<u8> {
    let mut captured = Vec::new();
    let Some(mut stream) = stream else {
        return captured;
    };
    let mut chunk = vec![0; 8 * 1024];
    // Where the line not yet forwarded starts in `captured`.
    let mut line_start = 0;
    // A read error ends the stream like its end: what was read is kept.
    while let Ok(read) = stream.read(&mut chunk).await {
        if read == 0 {
            break;
        }
        let mut scanned = captured.len();
        captured.extend_from_slice(&chunk[..read]);
        while let Some(newline) = captured[scanned..].iter().position(|&b| b == b'\n') {
            let end = scanned + newline;
            forward_line(console, task, &captured[line_start..end]);
            line_start = end + 1;
            scanned = line_start;
        }
        if captured.len() - line_start >= FORWARD_LINE_LIMIT {
            forward_line(console, task, &captured[line_start..]);
            line_start = captured.len();
        }
    }
    if line_start < captured.len() {
        forward_line(console, task, &captured[line_start..]);
    }
    captured
}

/// Feeds `input` to a child, forwards and captures its output, and waits for it to exit,
/// or kills it (with its process group) when `stop` fires. Returns its exit status (`None`
/// when killed) and its output.
async fn supervise(
    mut child: RunChild,
    task: &str,
    input: Option<Vec<u8>>,
    stop: oneshot::Receiver<()>,
) -> std::io::Result<(Option<std::process::ExitStatus>, Vec<u8>, Vec<u8>)> {
    let stdin = child.process.stdin.take();
    let stdout = child.process.stdout.take();
    let stderr = child.process.stderr.take();
    let write_input = async move {
        if let (Some(mut stdin), Some(input)) = (stdin, input) {
            // A child that exits without reading its input reports through its result.
            let _ = stdin.write_all(&input).await;
        }
        // Dropping `stdin` here closes it: the child reads to its end.
    };
    let communicate = async {
        let ((), out, err) = tokio::join!(
            write_input,
            forward_and_capture(stdout, task, Console::Stdout),
            forward_and_capture(stderr, task, Console::Stderr),
        );
        (out, err)
    };
    tokio::pin!(communicate);
    tokio::select! {
        (out, err) = &mut communicate => {
            let status = child.process.wait().await?;
            Ok((Some(status), out, err))
        }
        _ = stop => {
            // The whole group: a program the child started keeps no pipe open, and the
            // output read below ends.
            child.kill();
            let _ = child.process.wait().await;
            let (out, err) = communicate.await;
            Ok((None, out, err))
        }
    }
}

/// Runs the program of the command task `task`.
pub(crate) async fn run_command(
    task: &str,
    spec: &CommandSpec,
    stop: oneshot::Receiver<()>,
) -> (RunOutcome, Option<String>) {
    let spec = &*spec.parts;
    let program = spec.program.to_string_lossy().into_owned();
    let mut command = tokio::process::Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    if let Some(dir) = &spec.cwd {
        command.current_dir(dir);
    }
    let child = match spawn::spawn(command).await {
        Ok(c) => c,
        Err(e) => {
            return (
                RunOutcome::Fail(format!("could not start `{program}`: {e}")),
                None,
            );
        }
    };
    match supervise(child, task, None, stop).await {
        Err(e) => (RunOutcome::Fail(format!("`{program}`: {e}")), None),
        Ok((None, out, err)) => (
            RunOutcome::Terminate(String::new()),
            describe_output(&out, &err),
        ),
        Ok((Some(status), out, err)) => {
            let captured = describe_output(&out, &err);
            if status.success() {
                let text = String::from_utf8_lossy(&out).into_owned();
                let output = Output::new(text).with_codec(Some(serde_codec::<String>()));
                (RunOutcome::Success(Some(output)), captured)
            } else {
                let detail = captured_text(&err);
                let detail = if detail.is_empty() {
                    String::new()
                } else {
                    format!(": {detail}")
                };
                (
                    RunOutcome::Fail(format!("`{program}` exited with {status}{detail}")),
                    captured,
                )
            }
        }
    }
}

/// What the scheduler sends a child process on its standard input.
#[derive(Debug, Serialize, Deserialize)]
struct ChildInput {
    run_id: RunId,
    started: i64,
    /// The values other tasks returned, as JSON text, by task.
    returns: HashMap<String, String>,
    payload: Option<serde_json::Value>,
    /// The session parameters with a text, as they are when the run starts.
    #[serde(default)]
    params: Vec<super::context::ForwardedParam>,
}

/// What a child process writes to its result file.
#[derive(Debug, Serialize, Deserialize)]
struct ChildResult {
    /// How the run ended: `success`, `fail`, `terminate` or `inaction`.
    #[serde(with = "action_name")]
    action: Action,
    message: Option<String>,
    output: Option<String>,
    output_type: Option<String>,
}

/// Runs a task in a child process.
pub(crate) async fn run_in_child(
    cx: &RunContext,
    needs: Option<&[Option<Need>]>,
    codecs: &[(&'static str, OutputCodec)],
    stop: oneshot::Receiver<()>,
) -> (RunOutcome, Option<String>) {
    let task = cx.task_name().to_owned();
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            return (
                RunOutcome::Fail(format!(
                    "cannot find this program to start a child process: {e}"
                )),
                None,
            );
        }
    };
    let result_path = std::env::temp_dir().join(format!(
        "scheduler-{}-{}-{}.json",
        std::process::id(),
        cx.run_id(),
        task.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
    ));
    let mut command = tokio::process::Command::new(&exe);
    command
        .args(CHILD_PREFIX.get().into_iter().flatten())
        .arg(CHILD_COMMAND)
        .arg(&task)
        .arg("--result")
        .arg(&result_path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = match spawn::spawn(command).await {
        Ok(c) => c,
        Err(e) => {
            return (
                RunOutcome::Fail(format!("could not start a child process: {e}")),
                None,
            );
        }
    };
    let wanted: Option<Vec<&str>> = needs.map(|needs| {
        needs
            .iter()
            .flatten()
            .map(|n| match n {
                Need::Return(t) => *t,
            })
            .collect()
    });
    let input = ChildInput {
        run_id: cx.run_id(),
        started: cx.started().as_micros(),
        returns: cx.returns_json(wanted.as_deref(), codecs),
        payload: cx.payload().cloned(),
        params: cx.params().forwardable(),
    };
    let input = match serde_json::to_vec(&input) {
        Ok(json) => json,
        Err(e) => {
            return (
                RunOutcome::Fail(format!(
                    "the input of the child process cannot be written as JSON: {e}"
                )),
                None,
            );
        }
    };
    let supervised = supervise(child, &task, Some(input), stop).await;
    let result = std::fs::read_to_string(&result_path);
    let _ = std::fs::remove_file(&result_path);
    let (status, out, err) = match supervised {
        Ok(s) => s,
        Err(e) => return (RunOutcome::Fail(format!("child process: {e}")), None),
    };
    let captured = describe_output(&out, &err);
    if status.is_none() {
        return (RunOutcome::Terminate(String::new()), captured);
    }
    let outcome = match result.map(|text| serde_json::from_str::<ChildResult>(&text)) {
        Ok(Ok(r)) => {
            let message = r.message.unwrap_or_default();
            match r.action {
                Action::Success => RunOutcome::Success(
                    r.output
                        .map(|json| Output::from_json(json, r.output_type.unwrap_or_default())),
                ),
                Action::Terminate => RunOutcome::Terminate(message),
                Action::Inaction => RunOutcome::Inaction(message),
                Action::Fail => RunOutcome::Fail(message),
                Action::Run | Action::Crash | Action::Change => RunOutcome::Fail(format!(
                    "the child process reported `{}`, which does not end a run",
                    r.action
                )),
            }
        }
        Ok(Err(e)) => RunOutcome::Fail(format!(
            "the child process reported an outcome that cannot be read: {e}"
        )),
        Err(_) => {
            let status = status.map(|s| s.to_string()).unwrap_or_default();
            let detail = captured_text(&err);
            let detail = if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            };
            RunOutcome::Fail(format!(
                "the child process exited ({status}) without reporting an outcome{detail}"
            ))
        }
    };
    (outcome, captured)
}

/// The run this process was started for, if it is a child process: its arguments (after
/// the prefix) are `__child TASK --result FILE`.
pub(crate) fn child_invocation() -> Option<ChildInvocation> {
    let prefix = CHILD_PREFIX.get().map_or(0, Vec::len);
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1 + prefix).collect();
    match args.as_slice() {
        [command, task, flag, result] if command == CHILD_COMMAND && flag == "--result" => {
            Some(ChildInvocation {
                task: task.to_string_lossy().into_owned(),
                result: result.into(),
            })
        }
        _ => None,
    }
}

/// Runs the requested task in this child process, writes the result file, and returns the
/// exit code.
pub(crate) async fn serve_child(
    invocation: &ChildInvocation,
    spec: Option<&super::task::TaskSpec>,
    params: Arc<super::context::ParamRegistry>,
) -> i32 {
    use super::task::TaskBody;
    let task = invocation.task.clone();
    let result_path = invocation.result.to_string_lossy().into_owned();
    let mut input = String::new();
    // The child does nothing else meanwhile: a blocking read is fine.
    let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut input);
    let outcome = match (spec, serde_json::from_str::<ChildInput>(&input)) {
        (None, _) => RunOutcome::Fail(format!(
            "the child process has no task named '{task}' (does the program build the same tasks every time it starts?)"
        )),
        (_, Err(e)) => RunOutcome::Fail(format!("the child process could not read its input: {e}")),
        (Some(spec), Ok(input)) => {
            let returns = super::context::Returns::default();
            let codecs = spec.child_codecs.map_or_else(Vec::new, |codecs| codecs());
            let decoders: std::collections::HashMap<&'static str, DecodeFn> = codecs
                .iter()
                .filter_map(|(task, codec)| Some((*task, codec.decode?)))
                .collect();
            for (name, json) in input.returns {
                returns.set(Arc::from(name.as_str()), Output::from_json(json, "JSON"));
            }
            params.accept_forwarded(&input.params);
            let cx = RunContext::new(super::context::RunState {
                task: Arc::from(task.as_str()),
                run_id: input.run_id,
                started: crate::time::Timestamp::from_micros(input.started),
                session: None,
                params,
                returns: Arc::new(returns),
                payload: input.payload.map(Arc::new),
                termination: super::context::TerminationFlag::new(),
                decoders,
                param_values: Default::default(),
            });
            let outcome = match &spec.body {
                TaskBody::Async(body) => run_async(body, cx).await,
                TaskBody::Blocking(body) => run_blocking(body, cx),
                TaskBody::Command(_) => {
                    RunOutcome::Fail("a command task cannot run in a child process".to_owned())
                }
            };
            // The value goes back to the scheduler's process as JSON.
            outcome.or_output_codec(spec.output_codec)
        }
    };
    let (output, output_type) = match &outcome {
        RunOutcome::Success(Some(out)) => match out.json() {
            Some(json) => (Some(json), Some(out.type_name().to_owned())),
            None => {
                let result = ChildResult {
                    action: Action::Fail,
                    message: Some(format!(
                        "the value returned by '{task}' ({}) cannot be written as JSON to cross from its child process",
                        out.type_name()
                    )),
                    output: None,
                    output_type: None,
                };
                return write_result(&result_path, &result);
            }
        },
        _ => (None, None),
    };
    let result = ChildResult {
        action: outcome.action(),
        message: outcome.message().map(str::to_owned),
        output,
        output_type,
    };
    write_result(&result_path, &result)
}

/// The serde form of [`ChildResult::action`]: the action's name, as in the log.
mod action_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::log::Action;

    pub(super) fn serialize<S: Serializer>(
        action: &Action,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(action.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Action, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

fn write_result(path: &str, result: &ChildResult) -> i32 {
    let json = serde_json::to_string(result).unwrap_or_default();
    match std::fs::write(path, json) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("scheduler: cannot write the result file {path}: {e}");
            3
        }
    }
}
