//! What a task runs: an async function, a blocking function, or a program.

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::BoxFuture;
use crate::task_options::BodyKind;

use crate::runtime::context::RunContext;
use crate::runtime::outcome::RunOutcome;

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

impl TaskBody {
    /// The kind of the body, which decides its default execution.
    pub fn kind(&self) -> BodyKind {
        match self {
            TaskBody::Async(_) => BodyKind::Async,
            TaskBody::Blocking(_) => BodyKind::Blocking,
            TaskBody::Command(_) => BodyKind::Command,
        }
    }
}
