//! What a task is: a name, a start condition, an end condition, an execution mode, a
//! timeout, a priority, flags, and a body to run.
//!
//! Tasks come from `#[task]` functions (see [`registry`](super::registry)), from the
//! builder ([`SchedulerBuilder::task`](super::SchedulerBuilder::task)) or from a running
//! session ([`Session::add_task`](super::Session::add_task)). All become a [`TaskSpec`].

use std::ffi::OsString;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::condition::Condition;

use super::clock::BoxFuture;
use super::context::RunContext;
use super::outcome::{IntoRunOutcome, RunOutcome};

/// Where and how a run executes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Execution {
    /// A tokio task on the runtime (the default for `async fn`). Terminated by
    /// cancellation at its next `.await`.
    Async,
    /// A blocking thread (the default for `fn`). Terminated cooperatively: the task checks
    /// its `TerminationFlag`.
    Thread,
    /// Inline on the scheduler's loop, which waits for it: nothing else starts meanwhile.
    /// Cannot be terminated.
    Main,
    /// A child process: the program re-executed to run this one task. Arguments from other
    /// tasks and the return value cross as JSON. Terminated by killing the process.
    Process,
}

impl Execution {
    /// The name used in `execution = "..."`.
    pub fn as_str(self) -> &'static str {
        match self {
            Execution::Async => "async",
            Execution::Thread => "thread",
            Execution::Main => "main",
            Execution::Process => "process",
        }
    }
}

impl fmt::Display for Execution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no execution mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown execution `{0}`: expected async, thread, main or process")]
pub struct UnknownExecution(pub String);

impl FromStr for Execution {
    type Err = UnknownExecution;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "async" => Ok(Execution::Async),
            "thread" => Ok(Execution::Thread),
            "main" => Ok(Execution::Main),
            "process" => Ok(Execution::Process),
            other => Err(UnknownExecution(other.to_owned())),
        }
    }
}

/// How long a run may take before it is terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timeout {
    /// Terminated after this long.
    After(Duration),
    /// Never timed out.
    Never,
}

/// A program run by a command task.
///
/// The program runs without a shell unless built with [`CommandSpec::shell`]. Its output
/// is captured into the log; a non-zero exit status is a failure; on success the standard
/// output (as text) is the task's return value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSpec {
    // Boxed: every task's body is as large as the largest kind of body, and most tasks
    // are functions.
    pub(crate) parts: Box<CommandParts>,
}

/// The program, its arguments and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommandParts {
    pub(crate) program: OsString,
    pub(crate) args: Vec<OsString>,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) cwd: Option<PathBuf>,
}

impl CommandSpec {
    /// A program and its arguments, run directly (no shell).
    pub fn new<I, S>(program: impl Into<OsString>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        CommandSpec {
            parts: Box::new(CommandParts {
                program: program.into(),
                args: args.into_iter().map(Into::into).collect(),
                env: Vec::new(),
                cwd: None,
            }),
        }
    }

    /// A command line run by `sh -c` (pipes, redirections and globs work; mind quoting).
    pub fn shell(line: impl Into<OsString>) -> Self {
        CommandSpec::new("sh", [OsString::from("-c"), line.into()])
    }

    /// Sets an environment variable for the program.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.parts.env.push((key.into(), value.into()));
        self
    }

    /// Runs the program in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.parts.cwd = Some(dir.into());
        self
    }
}

/// The codecs of the values a `#[task]` function receives from other tasks, by task name,
/// made when a run crosses to a child process.
pub(crate) type ChildCodecs = fn() -> Vec<(&'static str, super::outcome::OutputCodec)>;

/// An async task body.
pub type AsyncBody = Arc<dyn Fn(RunContext) -> BoxFuture<'static, RunOutcome> + Send + Sync>;
/// A blocking task body.
pub type BlockingBody = Arc<dyn Fn(RunContext) -> RunOutcome + Send + Sync>;

/// What a task runs.
#[derive(Clone)]
pub enum TaskBody {
    /// An async function.
    Async(AsyncBody),
    /// A blocking function.
    Blocking(BlockingBody),
    /// A program.
    Command(CommandSpec),
}

impl fmt::Debug for TaskBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskBody::Async(_) => f.write_str("Async(..)"),
            TaskBody::Blocking(_) => f.write_str("Blocking(..)"),
            TaskBody::Command(c) => f.debug_tuple("Command").field(c).finish(),
        }
    }
}

/// What a task's parameters need from the parent when it runs in a child process.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Need {
    /// The last return value of a task.
    Return(&'static str),
}

/// Where a task was defined, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A `#[task]` function.
    Registered {
        /// `module_path!()` of the function.
        module: &'static str,
        /// `file!()`.
        file: &'static str,
        /// `line!()`.
        line: u32,
    },
    /// Built in code (the builder or a session).
    Code,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Registered { file, line, .. } => write!(f, "{file}:{line}"),
            Origin::Code => f.write_str("added in code"),
        }
    }
}

/// A task definition.
///
/// ```
/// use std::time::Duration;
/// use scheduler_core::condition::Condition;
/// use scheduler_core::runtime::{Execution, TaskSpec};
///
/// let report = TaskSpec::from_async("report", |cx| async move {
///     println!("run {} of {}", cx.run_id(), cx.task_name());
///     Ok::<_, std::io::Error>(())
/// })
/// .when("daily between 07:00 and 10:00".parse::<Condition>()?)
/// .timeout(Duration::from_secs(600));
/// assert_eq!(report.name(), "report");
/// assert_eq!(report.execution_mode(), Execution::Async);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct TaskSpec {
    // Shared with the engine's and the session's maps, which key tasks by name.
    pub(crate) name: Arc<str>,
    pub(crate) start: Condition,
    // Boxed: most tasks have none.
    pub(crate) end: Option<Box<Condition>>,
    pub(crate) execution: Option<Execution>,
    pub(crate) timeout: Option<Timeout>,
    pub(crate) priority: i32,
    pub(crate) disabled: bool,
    pub(crate) multilaunch: Option<bool>,
    pub(crate) permanent: bool,
    pub(crate) on_startup: bool,
    pub(crate) on_shutdown: bool,
    pub(crate) body: TaskBody,
    // What a `#[task]` function injects and how its inputs cross to a child process, as
    // its registration holds them (static data and a function), not copied per task.
    pub(crate) needs: Option<&'static [Option<Need>]>,
    pub(crate) child_codecs: Option<ChildCodecs>,
    pub(crate) origin: Origin,
}

impl TaskSpec {
    /// A task with the given body that never starts by itself (until given a condition
    /// with [`when`](Self::when)); it can still be run on request.
    pub fn new(name: impl Into<String>, body: TaskBody) -> Self {
        TaskSpec {
            name: Arc::from(name.into()),
            start: Condition::FALSE,
            end: None,
            execution: None,
            timeout: None,
            priority: 0,
            disabled: false,
            multilaunch: None,
            permanent: false,
            on_startup: false,
            on_shutdown: false,
            body,
            needs: None,
            child_codecs: None,
            origin: Origin::Code,
        }
    }

    /// A task running an async closure.
    pub fn from_async<F, Fut, R>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(RunContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoRunOutcome,
    {
        let body: AsyncBody = Arc::new(move |cx| {
            let fut = f(cx);
            Box::pin(async move { fut.await.into_run_outcome() })
        });
        TaskSpec::new(name, TaskBody::Async(body))
    }

    /// A task running a blocking closure (on a thread by default).
    pub fn from_blocking<F, R>(name: impl Into<String>, f: F) -> Self
    where
        F: Fn(RunContext) -> R + Send + Sync + 'static,
        R: IntoRunOutcome,
    {
        let body: BlockingBody = Arc::new(move |cx| f(cx).into_run_outcome());
        TaskSpec::new(name, TaskBody::Blocking(body))
    }

    /// A task running a program.
    pub fn command(name: impl Into<String>, command: CommandSpec) -> Self {
        TaskSpec::new(name, TaskBody::Command(command))
    }

    /// Starts the task when `condition` holds.
    pub fn when(mut self, condition: impl Into<Condition>) -> Self {
        self.start = condition.into();
        self
    }

    /// Terminates running runs when `condition` holds.
    pub fn until(mut self, condition: impl Into<Condition>) -> Self {
        self.end = Some(Box::new(condition.into()));
        self
    }

    /// Sets the execution mode.
    pub fn execution(mut self, execution: Execution) -> Self {
        self.execution = Some(execution);
        self
    }

    /// Terminates runs that take longer than `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(Timeout::After(timeout));
        self
    }

    /// Never times runs out (the configured default timeout does not apply).
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(Timeout::Never);
        self
    }

    /// Sets the priority: when several tasks are due at once, higher priorities start first.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Starts disabled: the condition is not checked, but requested runs still happen.
    pub fn disabled(mut self) -> Self {
        self.disabled = true;
        self
    }

    /// Allows a new run to start while another is still running.
    pub fn multilaunch(mut self) -> Self {
        self.multilaunch = Some(true);
        self
    }

    /// Never times out, and is terminated (not waited for) at shutdown.
    pub fn permanent(mut self) -> Self {
        self.permanent = true;
        self
    }

    /// Runs once when the scheduler starts, before anything else; never by its condition.
    pub fn on_startup(mut self) -> Self {
        self.on_startup = true;
        self
    }

    /// Runs once when the scheduler shuts down; never by its condition.
    pub fn on_shutdown(mut self) -> Self {
        self.on_shutdown = true;
        self
    }

    /// The task's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The start condition.
    pub fn start_condition(&self) -> &Condition {
        &self.start
    }

    /// The end condition.
    pub fn end_condition(&self) -> Option<&Condition> {
        self.end.as_deref()
    }

    /// The execution mode: the one set, or the default for the body (async for async
    /// functions and commands, thread for blocking functions).
    pub fn execution_mode(&self) -> Execution {
        self.execution.unwrap_or(match self.body {
            TaskBody::Blocking(_) => Execution::Thread,
            TaskBody::Async(_) | TaskBody::Command(_) => Execution::Async,
        })
    }

    /// Where the task was defined.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Problems with the combination of settings, if any.
    pub(crate) fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.name.is_empty() || self.name.contains('\'') {
            problems.push("a task name must not be empty or contain `'`".to_owned());
        }
        if self.on_startup && self.on_shutdown {
            problems.push("a task cannot be both on_startup and on_shutdown".to_owned());
        }
        if self.permanent && matches!(self.timeout, Some(Timeout::After(_))) {
            problems.push("a permanent task never times out: remove the timeout".to_owned());
        }
        let execution = self.execution_mode();
        if execution == Execution::Main && self.multilaunch == Some(true) {
            problems.push("a task with execution main runs inline and cannot overlap itself: remove multilaunch".to_owned());
        }
        match (&self.body, execution) {
            (TaskBody::Blocking(_), Execution::Async) => problems.push(
                "a blocking function cannot run with execution async: use thread (the default)".to_owned(),
            ),
            (TaskBody::Command(_), Execution::Thread | Execution::Main | Execution::Process) => problems.push(
                "a command task already runs its program as a process: leave the execution unset".to_owned(),
            ),
            _ => {}
        }
        problems
    }
}
