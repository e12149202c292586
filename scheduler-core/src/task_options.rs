//! The options of a task, as `#[task(...)]` writes them and the runtime runs them: one
//! definition of each option, of their values, and of the combinations that do not go
//! together.
//!
//! The `#[task]` macro checks a task's options with [`TaskOptions::conflicts`] when the
//! program compiles (and reports each conflict at the option that causes it); the runtime
//! checks tasks built in code with the same function when they are added. Neither needs an
//! async runtime, so this module builds without the `runtime` feature.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::time::Interval;

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
    /// Every execution mode.
    pub const ALL: [Execution; 4] = [
        Execution::Async,
        Execution::Thread,
        Execution::Main,
        Execution::Process,
    ];

    /// The name used in `execution = "..."`.
    pub const fn as_str(self) -> &'static str {
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
        Execution::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownExecution(s.to_owned()))
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

impl Timeout {
    /// The limit, `None` for [`Timeout::Never`].
    pub const fn duration(self) -> Option<Duration> {
        match self {
            Timeout::After(d) => Some(d),
            Timeout::Never => None,
        }
    }
}

/// A string that is neither a length of time nor `never`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a length of time such as `30 minutes`, or `never`: {reason}")]
pub struct InvalidTimeout {
    /// Why the length does not read.
    pub reason: String,
}

impl FromStr for Timeout {
    type Err = InvalidTimeout;

    /// `never`, or a length of the condition language (`30 minutes`, `1h 30m`, `90 s`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "never" {
            return Ok(Timeout::Never);
        }
        s.parse::<Interval>()
            .map(|i| Timeout::After(i.as_duration()))
            .map_err(|e| InvalidTimeout {
                reason: e.message().to_owned(),
            })
    }
}

/// What kind of body a task has, which decides its default execution and the executions
/// it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// An `async fn` or async closure.
    Async,
    /// A plain `fn` or closure.
    Blocking,
    /// An external program.
    Command,
}

impl BodyKind {
    /// The execution of a body of this kind when none is set: async for async functions
    /// and commands, thread for blocking functions.
    pub const fn default_execution(self) -> Execution {
        match self {
            BodyKind::Blocking => Execution::Thread,
            BodyKind::Async | BodyKind::Command => Execution::Async,
        }
    }
}

/// The options of a task other than its name, conditions and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskOptions {
    /// The execution mode; `None`: the default for the body ([`BodyKind::default_execution`]).
    pub execution: Option<Execution>,
    /// The timeout; `None`: the scheduler's default.
    pub timeout: Option<Timeout>,
    /// When several tasks are due at once, higher priorities start first.
    pub priority: i32,
    /// Not started by its condition (runs requested by name still happen).
    pub disabled: bool,
    /// Whether a run may start while another is going; `None`: the scheduler's default.
    pub multilaunch: Option<bool>,
    /// Never times out, and is terminated (not waited for) at shutdown.
    pub permanent: bool,
    /// Runs once when the scheduler starts, never by its condition.
    pub on_startup: bool,
    /// Runs once when the scheduler shuts down, never by its condition.
    pub on_shutdown: bool,
}

impl TaskOptions {
    /// Every option at its default (usable in `const` items, unlike [`Default`]).
    pub const DEFAULT: TaskOptions = TaskOptions {
        execution: None,
        timeout: None,
        priority: 0,
        disabled: false,
        multilaunch: None,
        permanent: false,
        on_startup: false,
        on_shutdown: false,
    };

    /// The execution mode of a task with a body of `kind`: the one set, or the default.
    pub fn execution_for(&self, kind: BodyKind) -> Execution {
        self.execution.unwrap_or(kind.default_execution())
    }

    /// The combinations of these options, for a body of `kind`, that do not go together.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scheduler_core::task_options::{BodyKind, OptionConflict, TaskOptions, Timeout};
    ///
    /// let options = TaskOptions {
    ///     permanent: true,
    ///     timeout: Some(Timeout::After(Duration::from_secs(60))),
    ///     ..TaskOptions::DEFAULT
    /// };
    /// assert_eq!(options.conflicts(BodyKind::Async), [OptionConflict::PermanentWithTimeout]);
    /// ```
    pub fn conflicts(&self, kind: BodyKind) -> Vec<OptionConflict> {
        let mut conflicts = Vec::new();
        if self.on_startup && self.on_shutdown {
            conflicts.push(OptionConflict::StartupAndShutdown);
        }
        if self.permanent && matches!(self.timeout, Some(Timeout::After(_))) {
            conflicts.push(OptionConflict::PermanentWithTimeout);
        }
        let execution = self.execution_for(kind);
        if execution == Execution::Main && self.multilaunch == Some(true) {
            conflicts.push(OptionConflict::MainWithMultilaunch);
        }
        match (kind, execution) {
            (BodyKind::Blocking, Execution::Async) => {
                conflicts.push(OptionConflict::BlockingWithAsync);
            }
            (BodyKind::Command, Execution::Thread | Execution::Main | Execution::Process) => {
                conflicts.push(OptionConflict::CommandWithExecution(execution));
            }
            _ => {}
        }
        conflicts
    }
}

impl Default for TaskOptions {
    fn default() -> Self {
        TaskOptions::DEFAULT
    }
}

/// Options of a task that do not go together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionConflict {
    /// `on_startup` and `on_shutdown`.
    #[error("a task cannot be both on_startup and on_shutdown")]
    StartupAndShutdown,
    /// `permanent` with a timeout.
    #[error("a permanent task never times out: remove the timeout")]
    PermanentWithTimeout,
    /// `execution = "main"` with `multilaunch`.
    #[error("a task with execution main runs inline and cannot overlap itself: remove multilaunch")]
    MainWithMultilaunch,
    /// A blocking function with `execution = "async"`.
    #[error("a blocking function cannot run with execution async: use thread (the default)")]
    BlockingWithAsync,
    /// A command task with an execution other than the default.
    #[error("a command task already runs its program as a process: leave the execution unset")]
    CommandWithExecution(Execution),
}

/// A task's name that cannot name a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a task name must not be empty or contain `'`")]
pub struct InvalidTaskName;

/// Why a task's definition cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskProblem {
    /// The name cannot name a task.
    #[error(transparent)]
    Name(#[from] InvalidTaskName),
    /// Options that do not go together.
    #[error(transparent)]
    Options(#[from] OptionConflict),
}

/// Whether `name` can name a task: not empty, and without `'` (which ends a name in the
/// condition language).
pub fn is_valid_task_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('\'')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executions_and_timeouts_read_their_own_text() {
        for e in Execution::ALL {
            assert_eq!(e.as_str().parse::<Execution>(), Ok(e));
        }
        assert!("proces".parse::<Execution>().is_err());
        assert_eq!("never".parse::<Timeout>(), Ok(Timeout::Never));
        assert_eq!(
            " 2 hours ".parse::<Timeout>(),
            Ok(Timeout::After(Duration::from_secs(7200)))
        );
        assert!("soon".parse::<Timeout>().is_err());
    }

    #[test]
    fn conflicts_depend_on_the_body() {
        let main_overlapping = TaskOptions {
            execution: Some(Execution::Main),
            multilaunch: Some(true),
            ..TaskOptions::DEFAULT
        };
        assert_eq!(
            main_overlapping.conflicts(BodyKind::Blocking),
            [OptionConflict::MainWithMultilaunch]
        );
        let async_execution = TaskOptions {
            execution: Some(Execution::Async),
            ..TaskOptions::DEFAULT
        };
        assert!(async_execution.conflicts(BodyKind::Async).is_empty());
        assert_eq!(
            async_execution.conflicts(BodyKind::Blocking),
            [OptionConflict::BlockingWithAsync]
        );
        let in_process = TaskOptions {
            execution: Some(Execution::Process),
            ..TaskOptions::DEFAULT
        };
        assert_eq!(
            in_process.conflicts(BodyKind::Command),
            [OptionConflict::CommandWithExecution(Execution::Process)]
        );
        assert!(TaskOptions::DEFAULT.conflicts(BodyKind::Command).is_empty());
    }
}
