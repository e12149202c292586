//! What a task is: a name, a start condition, an end condition, [options](TaskOptions)
//! and a [body](TaskBody) to run; and where tasks come from.
//!
//! A task has one definition on its way to the engine, [`TaskSpec`]:
//!
//! * `#[task]` functions register a [`TaskDef`] (a `static` the macro writes, see
//!   [`registry`]), which start-up turns into a `TaskSpec`;
//! * the builder ([`SchedulerBuilder::task`](super::SchedulerBuilder::task)) and a running
//!   session ([`Session::add_task`](super::Session::add_task)) take a `TaskSpec` built in code.
//!
//! Start-up checks the whole set together ([`check`]); the engine keeps each `TaskSpec` as
//! it is, beside the state of its runs.

mod body;
pub(crate) mod check;
pub mod registry;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::condition::Condition;
use crate::task_options::{
    Execution, InvalidTaskName, TaskOptions, TaskProblem, Timeout, is_valid_task_name,
};

use super::context::RunContext;
use super::inject::{Need, PayloadShape};
use super::outcome::{IntoRunOutcome, OutputCodec};
use super::session::{Session, SessionError};

pub use body::{AsyncBody, BlockingBody, CommandSpec, TaskBody};
pub use registry::{ParamDef, RegisteredBody, TaskDef, TaskMore};

/// The codecs of the values a `#[task]` function receives from other tasks, by task name,
/// made when a run crosses to a child process.
pub(crate) type ChildCodecs = fn() -> Vec<(&'static str, OutputCodec)>;

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
    // Shared with the session, and between tasks whose conditions have the same text.
    pub(crate) start: Arc<Condition>,
    // Boxed: most tasks have none.
    pub(crate) end: Option<Box<Condition>>,
    pub(crate) options: TaskOptions,
    pub(crate) body: TaskBody,
    // What a `#[task]` function injects and how its values cross to and from a child
    // process, as its registration holds them (static data and functions), not copied per
    // task.
    pub(crate) needs: Option<&'static [Option<Need>]>,
    pub(crate) child_codecs: Option<ChildCodecs>,
    pub(crate) output_codec: Option<OutputCodec>,
    // What a requested run's payload must read as, where known (`#[task]`, or
    // `payload_type`).
    pub(crate) payload: Option<PayloadShape>,
    pub(crate) origin: Origin,
}

impl TaskSpec {
    /// A task with the given body that never starts by itself (until given a condition
    /// with [`when`](Self::when)); it can still be run on request.
    pub fn new(name: impl Into<String>, body: TaskBody) -> Self {
        TaskSpec {
            name: Arc::from(name.into()),
            start: Arc::new(Condition::FALSE),
            end: None,
            options: TaskOptions::DEFAULT,
            body,
            needs: None,
            child_codecs: None,
            output_codec: None,
            payload: None,
            origin: Origin::Code,
        }
    }

    /// Says that the task reads its payload as a `T` (what its body deserializes), so that
    /// a payload is checked against it before it is enqueued (the command line's
    /// `trigger --payload`). `#[task]` functions have it from their `Payload<T>` parameter.
    pub fn payload_type<T: serde::de::DeserializeOwned>(mut self) -> Self {
        self.payload = Some(PayloadShape::of::<T>());
        self
    }

    /// The type the task's payload must read as, if known: `#[task]` functions (whose
    /// shape says so when they take none) and tasks given
    /// [`payload_type`](Self::payload_type).
    pub fn payload_shape(&self) -> Option<&PayloadShape> {
        self.payload.as_ref()
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
        self.start = Arc::new(condition.into());
        self
    }

    /// Terminates running runs when `condition` holds.
    pub fn until(mut self, condition: impl Into<Condition>) -> Self {
        self.end = Some(Box::new(condition.into()));
        self
    }

    /// Sets the execution mode.
    pub fn execution(mut self, execution: Execution) -> Self {
        self.options.execution = Some(execution);
        self
    }

    /// Terminates runs that take longer than `timeout`.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(Timeout::After(timeout));
        self
    }

    /// Never times runs out (the configured default timeout does not apply).
    pub fn no_timeout(mut self) -> Self {
        self.options.timeout = Some(Timeout::Never);
        self
    }

    /// Sets the priority: when several tasks are due at once, higher priorities start first.
    pub fn priority(mut self, priority: i32) -> Self {
        self.options.priority = priority;
        self
    }

    /// Starts disabled: the condition is not checked, but requested runs still happen.
    pub fn disabled(mut self) -> Self {
        self.options.disabled = true;
        self
    }

    /// Allows a new run to start while another is still running.
    pub fn multilaunch(mut self) -> Self {
        self.options.multilaunch = Some(true);
        self
    }

    /// Never times out, and is terminated (not waited for) at shutdown.
    pub fn permanent(mut self) -> Self {
        self.options.permanent = true;
        self
    }

    /// Runs once when the scheduler starts, before anything else; never by its condition.
    pub fn on_startup(mut self) -> Self {
        self.options.on_startup = true;
        self
    }

    /// Runs once when the scheduler shuts down; never by its condition.
    pub fn on_shutdown(mut self) -> Self {
        self.options.on_shutdown = true;
        self
    }

    /// Keeps the value the task returns (a `T`, the `Ok` type of a `Result`) in the log as
    /// JSON, so that it is still there for the tasks that read it after a restart. Tasks
    /// of `#[task]` functions do this by themselves for every type serde can write and
    /// read; a task built in code says so here.
    ///
    /// ```
    /// use scheduler_core::runtime::TaskSpec;
    ///
    /// let count = TaskSpec::from_async("count_rows", |_| async { Ok::<u64, std::io::Error>(42) })
    ///     .value_as_json::<u64>();
    /// # drop(count);
    /// ```
    pub fn value_as_json<T>(mut self) -> Self
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
    {
        self.output_codec = Some(super::outcome::serde_codec::<T>());
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

    /// The options.
    pub fn options(&self) -> &TaskOptions {
        &self.options
    }

    /// How long a run may take: none for a permanent task, else the task's timeout or
    /// `default` (the scheduler's configured one).
    pub(crate) fn run_timeout(&self, default: Option<Duration>) -> Option<Duration> {
        if self.options.permanent {
            return None;
        }
        match self.options.timeout {
            Some(timeout) => timeout.duration(),
            None => default,
        }
    }

    /// The execution mode: the one set, or the default for the body (async for async
    /// functions and commands, thread for blocking functions).
    pub fn execution_mode(&self) -> Execution {
        self.options.execution_for(self.body.kind())
    }

    /// Where the task was defined.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Whether the task runs only at start-up or shutdown, never by its condition.
    pub(crate) fn runs_at_start_or_end(&self) -> bool {
        self.options.on_startup || self.options.on_shutdown
    }

    /// Problems with the name or the combination of options, if any.
    pub(crate) fn problems(&self) -> Vec<TaskProblem> {
        let name = (!is_valid_task_name(&self.name)).then_some(TaskProblem::Name(InvalidTaskName));
        name.into_iter()
            .chain(
                self.options
                    .conflicts(self.body.kind())
                    .into_iter()
                    .map(TaskProblem::Options),
            )
            .collect()
    }
}

impl Session {
    /// Adds a task to the running scheduler.
    ///
    /// ```no_run
    /// # fn f(session: scheduler_core::runtime::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// use scheduler_core::runtime::TaskSpec;
    /// // A condition string that arrives at run time is parsed at run time.
    /// let condition: scheduler_core::condition::Condition =
    ///     "every 10 minutes & time of day between 08:00 and 18:00".parse()?;
    /// session.add_task(TaskSpec::from_async("poll", |_| async { Ok::<_, std::io::Error>(()) }).when(condition))?;
    /// # Ok(()) }
    /// ```
    pub fn add_task(&self, spec: TaskSpec) -> Result<(), SessionError> {
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(SessionError::InvalidTask {
                task: spec.name.to_string(),
                problems,
            });
        }
        let name = spec.name.clone();
        self.submit_task(&name, Box::new(spec))
    }
}
