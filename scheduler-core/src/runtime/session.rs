//! Control of a running scheduler, from its tasks (inject [`Session`]) and from outside
//! (`Scheduler::start` returns a handle with one).
//!
//! Requests are queued to the scheduler's loop, which applies them in order; the methods
//! check what they can at once (that a task exists, that a new task is valid) and return a
//! [`SessionError`] otherwise.
//!
//! Changes at run time ([`Session::change_task`] and the `set_...` methods,
//! [`Session::set_param`]) are applied by the loop too, which checks them against the
//! tasks it holds, answers with what changed ([`Changed`]) and writes each to the log as a
//! [`Action::Change`](crate::log::Action::Change) record.
//!
//! This module sits below the task definitions: a run's context holds a session, and a
//! task's body receives that context, so a session cannot name the task type without a
//! cycle. [`Session::add_task`] is written beside `TaskSpec` (in `task`), and hands the
//! definition to the loop as a [`NewTask`].

use std::any::Any;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::mpsc::UnboundedSender;

use crate::condition::{Condition, ParseError};
use crate::log::RunId;
use crate::log::StoreError;
use crate::log::store::{RecordQuery, StoredRecord};
use crate::queue::{JobId, QueueError};
use crate::task_options::{Execution, TaskProblem, Timeout};
use crate::time::Timestamp;

use super::config::DuplicatePolicy;
use super::outcome::RunOutcome;

/// What the scheduler's loop receives.
pub(crate) enum Event {
    /// A run ended.
    Finished(Finished),
    /// A request from a session.
    Command(Command),
}

/// A run that ended, as reported to the loop.
pub(crate) struct Finished {
    pub(crate) slot: usize,
    pub(crate) run_id: RunId,
    pub(crate) outcome: RunOutcome,
    /// Captured output of a child process or command.
    pub(crate) captured: Option<String>,
}

/// A job a worker hands to the loop (see `runtime::worker`): it runs as a run of its task,
/// whatever the task's condition and overlap settings say, with the run id of its attempt.
pub(crate) struct JobRun {
    pub(crate) task: String,
    pub(crate) payload: Arc<serde_json::Value>,
    pub(crate) run_id: RunId,
    pub(crate) reply: JobReply,
}

/// Where the loop says how a job's run ended. Dropped unsent (a loop that stopped with
/// the job in its channel), it says the job did not start, so that its worker gives the
/// job back rather than wait for it.
pub(crate) struct JobReply {
    /// The job and its attempt.
    key: (crate::queue::JobId, u32),
    ends: Option<UnboundedSender<JobRunEnd>>,
}

impl JobReply {
    pub(crate) fn new(
        key: (crate::queue::JobId, u32),
        ends: UnboundedSender<JobRunEnd>,
    ) -> JobReply {
        JobReply {
            key,
            ends: Some(ends),
        }
    }

    pub(crate) fn send(mut self, ended: JobEnded) {
        self.send_once(ended);
    }

    fn send_once(&mut self, ended: JobEnded) {
        if let Some(ends) = self.ends.take() {
            let _ = ends.send(JobRunEnd {
                key: self.key,
                ended,
            });
        }
    }
}

impl Drop for JobReply {
    fn drop(&mut self) {
        self.send_once(JobEnded::NotStarted("the scheduler stopped"));
    }
}

/// How a job's run ended, as the loop tells its worker.
pub(crate) struct JobRunEnd {
    pub(crate) key: (crate::queue::JobId, u32),
    pub(crate) ended: JobEnded,
}

pub(crate) enum JobEnded {
    /// It ran and ended with this record's action, message and value (JSON).
    Ran {
        action: crate::log::Action,
        message: Option<String>,
        value: Option<String>,
        /// The run's end for the log, not written yet: the worker hands it back
        /// ([`Command::JobRecords`]) once the queue has taken its report, changed to a
        /// `terminate` if the queue refused it (the lease was lost to a newer attempt), so
        /// that the log never claims an outcome the queue did not record. `None` when no
        /// run started (no such task in this worker).
        record: Option<Box<crate::log::LogRecord>>,
    },
    /// It did not start (the scheduler is stopping, the task was removed).
    NotStarted(&'static str),
}

/// Where the loop answers a [`Session::trigger`].
pub(crate) type TriggerReply = tokio::sync::oneshot::Sender<Result<Option<JobId>, SessionError>>;

/// A task definition on its way to the loop: a `TaskSpec`, which only
/// [`Session::add_task`] puts here and only the loop takes out.
pub(crate) struct NewTask(pub(crate) Box<dyn Any + Send>);

/// A request from a session.
pub(crate) enum Command {
    ShutDown {
        instant: bool,
    },
    Restart,
    Run {
        task: String,
        payload: Option<serde_json::Value>,
        /// Where to say what became of the request (`Session::trigger`): the job's id when
        /// the loop sent it to the queue, `None` when it queued the run itself.
        reply: Option<TriggerReply>,
    },
    /// The task's [`TaskState::disabled`] changed from `was` to `now`: look at it again.
    Disabled {
        task: String,
        was: bool,
        now: bool,
    },
    /// A change of a task's settings.
    Change {
        task: String,
        change: TaskChange,
        reply: tokio::sync::oneshot::Sender<Result<Changed, SessionError>>,
    },
    /// A session parameter set (`Some`, its value and the name of its type) or removed.
    Param {
        name: String,
        value: Option<(Arc<dyn Any + Send + Sync>, &'static str)>,
        reply: tokio::sync::oneshot::Sender<Result<Changed, SessionError>>,
    },
    Terminate(String),
    Add(NewTask),
    Remove(String),
    /// A question about the tasks (an `inspect::InspectRequest`, which this module cannot
    /// name: it sits above).
    Inspect(Box<dyn Any + Send>),
    RunJob(JobRun),
    /// The ends of job runs, for the log, once the queue has answered their reports (see
    /// [`JobEnded::Ran`]).
    JobRecords(Vec<crate::log::LogRecord>),
    Query(
        RecordQuery,
        tokio::sync::oneshot::Sender<Result<Vec<StoredRecord>, StoreError>>,
    ),
}

/// Why a session request was refused.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No task has this name.
    #[error("no task named '{name}'{}", .suggestion.as_deref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownTask {
        /// The name asked for.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// A task with this name exists (and duplicates are refused).
    #[error("a task named '{0}' already exists")]
    Duplicate(String),
    /// The task's settings do not go together.
    #[error("task '{task}' is not valid: {}", .problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidTask {
        /// The task.
        task: String,
        /// What is wrong.
        problems: Vec<TaskProblem>,
    },
    /// The log store failed.
    #[error("the log store failed")]
    Store(#[source] Arc<StoreError>),
    /// The payload cannot be written as JSON.
    #[error("the payload cannot be written as JSON")]
    Payload(#[source] Arc<serde_json::Error>),
    /// A condition given as text does not read.
    #[error("the condition cannot be read")]
    Condition(#[source] ParseError),
    /// A condition names a task that does not exist.
    #[error("the {place} of task '{task}' would name task '{unknown}', which does not exist{}", .suggestion.as_deref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownTaskInCondition {
        /// The task whose condition it is.
        task: String,
        /// `start condition` or `end condition`.
        place: &'static str,
        /// The unknown name.
        unknown: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// A condition calls a custom condition that is not registered, or with arguments
    /// that do not fit it.
    #[error("the condition of task '{task}' calls `{call}`: {problem}")]
    UnknownCustom {
        /// The task whose condition it is.
        task: String,
        /// The call, as written.
        call: String,
        /// What is wrong.
        problem: String,
    },
    /// The new condition would make tasks wait on each other in a cycle, none of which
    /// can start (refused as at start-up, unless `check_cycles` is off).
    #[error("the new condition of task '{}' would make tasks {} wait on each other: each starts only after the next one has run, so none can start", .tasks.first().map(String::as_str).unwrap_or_default(), .tasks.iter().chain(.tasks.first()).map(|t| format!("'{t}'")).collect::<Vec<_>>().join(" → "))]
    Cycle {
        /// The tasks, in cycle order, from the task changed.
        tasks: Vec<String>,
    },
    /// The setting cannot change while a run of the task is going.
    #[error("the {setting} of task '{task}' cannot change while a run of it is going")]
    Running {
        /// The task.
        task: String,
        /// The setting.
        setting: &'static str,
    },
    /// No session parameter has this name.
    #[error("no session parameter named '{name}'{}", .suggestion.as_deref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
    UnknownParam {
        /// The name asked for.
        name: String,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// The job queue refused the requested run (see [`Session::trigger`]).
    #[error("the job queue cannot take the run")]
    Queue(#[source] Arc<QueueError>),
    /// The scheduler is shutting down and starts no new requested run.
    #[error("the scheduler is shutting down")]
    ShuttingDown,
    /// The scheduler has stopped.
    #[error("the scheduler has stopped")]
    Stopped,
}

impl PartialEq for SessionError {
    fn eq(&self, other: &Self) -> bool {
        use SessionError as E;
        match (self, other) {
            (
                E::UnknownTask { name, suggestion },
                E::UnknownTask {
                    name: n,
                    suggestion: s,
                },
            ) => name == n && suggestion == s,
            (E::Duplicate(a), E::Duplicate(b)) => a == b,
            (E::Condition(a), E::Condition(b)) => a == b,
            (
                E::UnknownTaskInCondition {
                    task,
                    place,
                    unknown,
                    suggestion,
                },
                E::UnknownTaskInCondition {
                    task: t,
                    place: p,
                    unknown: u,
                    suggestion: s,
                },
            ) => task == t && place == p && unknown == u && suggestion == s,
            (
                E::UnknownCustom {
                    task,
                    call,
                    problem,
                },
                E::UnknownCustom {
                    task: t,
                    call: c,
                    problem: p,
                },
            ) => task == t && call == c && problem == p,
            (E::Cycle { tasks }, E::Cycle { tasks: t }) => tasks == t,
            (
                E::Running { task, setting },
                E::Running {
                    task: t,
                    setting: s,
                },
            ) => task == t && setting == s,
            (
                E::UnknownParam { name, suggestion },
                E::UnknownParam {
                    name: n,
                    suggestion: s,
                },
            ) => name == n && suggestion == s,
            (
                E::InvalidTask { task, problems },
                E::InvalidTask {
                    task: t,
                    problems: p,
                },
            ) => task == t && problems == p,
            // Two serialisation errors are the same when they say the same.
            (E::Payload(a), E::Payload(b)) => a.to_string() == b.to_string(),
            (E::Store(a), E::Store(b)) => Arc::ptr_eq(a, b),
            (E::Queue(a), E::Queue(b)) => Arc::ptr_eq(a, b),
            (E::ShuttingDown, E::ShuttingDown) | (E::Stopped, E::Stopped) => true,
            _ => false,
        }
    }
}

/// What a session knows of a task without asking the loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSummary {
    /// The task's name.
    pub name: String,
    /// Whether it is disabled.
    pub disabled: bool,
    /// Its start condition, as text.
    pub condition: String,
}

/// A condition as a run-time change may give it: a [`Condition`] built in code, or its
/// text (`&str`, `String`), read with the parser of `#[task("...")]`.
pub trait IntoCondition {
    /// The condition, or why its text does not read.
    fn into_condition(self) -> Result<Condition, ParseError>;
}

impl IntoCondition for Condition {
    fn into_condition(self) -> Result<Condition, ParseError> {
        Ok(self)
    }
}

impl IntoCondition for &str {
    fn into_condition(self) -> Result<Condition, ParseError> {
        self.parse()
    }
}

impl IntoCondition for String {
    fn into_condition(self) -> Result<Condition, ParseError> {
        self.parse()
    }
}

impl IntoCondition for &String {
    fn into_condition(self) -> Result<Condition, ParseError> {
        self.parse()
    }
}

/// A change of one setting of a task while the scheduler runs
/// ([`Session::change_task`]). The settings a running task cannot take are not here: its
/// name, its body, and `on_startup` (start-up is past).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TaskChange {
    /// The start condition.
    Condition(Condition),
    /// The end condition (`None`: none).
    EndCondition(Option<Condition>),
    /// The timeout (`None`: the scheduler's default), from the next run on.
    Timeout(Option<Timeout>),
    /// The priority among tasks due together.
    Priority(i32),
    /// The execution mode (`None`: the default for the body); refused while a run is
    /// going.
    Execution(Option<Execution>),
    /// Whether runs may overlap (`None`: the scheduler's default).
    Multilaunch(Option<bool>),
    /// Never timed out, terminated (not waited for) at shutdown.
    Permanent(bool),
    /// Run once at shutdown, never by the condition.
    OnShutdown(bool),
}

impl TaskChange {
    /// The name of the setting, as change records say it.
    pub fn setting(&self) -> &'static str {
        match self {
            TaskChange::Condition(_) => "condition",
            TaskChange::EndCondition(_) => "end condition",
            TaskChange::Timeout(_) => "timeout",
            TaskChange::Priority(_) => "priority",
            TaskChange::Execution(_) => "execution",
            TaskChange::Multilaunch(_) => "multilaunch",
            TaskChange::Permanent(_) => "permanent",
            TaskChange::OnShutdown(_) => "on_shutdown",
        }
    }
}

/// A change applied at run time, as the log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// The task changed; `None` for a session parameter.
    pub task: Option<String>,
    /// What changed: `condition`, `end condition`, `timeout`, `priority`, `execution`,
    /// `multilaunch`, `permanent`, `on_shutdown`, `disabled`, or `param 'name'`.
    pub setting: String,
    /// The value before, as text (`None`: there was none, such as no end condition or a
    /// parameter not set).
    pub old: Option<String>,
    /// The value after, as text (`None`: there is none).
    pub new: Option<String>,
    /// When the loop applied it.
    pub at: Timestamp,
}

impl Changed {
    /// What the log record's message says: `priority: 0 → 10`.
    pub fn message(&self) -> String {
        let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
        format!(
            "{}: {} → {}",
            self.setting,
            text(&self.old),
            text(&self.new)
        )
    }

    /// What the log record's value holds, as JSON.
    pub fn json(&self) -> String {
        serde_json::json!({
            "setting": self.setting,
            "old": self.old,
            "new": self.new,
        })
        .to_string()
    }
}

impl std::fmt::Display for Changed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.task {
            Some(task) => write!(f, "{task}: {}", self.message()),
            None => f.write_str(&self.message()),
        }
    }
}

/// What the session and the loop share of one task: the loop's slot and the session's map
/// hold the same value, so that a task is disabled in one place.
#[derive(Debug)]
pub(crate) struct TaskState {
    /// Whether the task's condition is ignored for now: set by the session, read by the
    /// loop (which a [`Command::Disabled`] wakes).
    pub(crate) disabled: AtomicBool,
    /// The start condition, shared with the task's definition (which the loop replaces
    /// when a session changes it).
    start: RwLock<Arc<Condition>>,
}

impl TaskState {
    pub(crate) fn new(disabled: bool, start: Arc<Condition>) -> Self {
        TaskState {
            disabled: AtomicBool::new(disabled),
            start: RwLock::new(start),
        }
    }

    /// The start condition now.
    pub(crate) fn start(&self) -> Arc<Condition> {
        self.start.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the start condition (the loop, applying a change).
    pub(crate) fn set_start(&self, start: Arc<Condition>) {
        *self.start.write().unwrap_or_else(|e| e.into_inner()) = start;
    }

    pub(crate) fn is_disabled(&self) -> bool {
        self.disabled.load(Ordering::Relaxed)
    }
}

struct Shared {
    events: UnboundedSender<Event>,
    tasks: RwLock<BTreeMap<Arc<str>, Arc<TaskState>>>,
    stopping: AtomicBool,
    on_duplicate: DuplicatePolicy,
}

/// A handle on a running scheduler. Cheap to clone; usable from any thread.
#[derive(Clone)]
pub struct Session {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("stopping", &self.is_stopping())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new(events: UnboundedSender<Event>, on_duplicate: DuplicatePolicy) -> Self {
        Session {
            shared: Arc::new(Shared {
                events,
                tasks: RwLock::new(BTreeMap::new()),
                stopping: AtomicBool::new(false),
                on_duplicate,
            }),
        }
    }

    fn send(&self, command: Command) -> Result<(), SessionError> {
        self.shared
            .events
            .send(Event::Command(command))
            .map_err(|_| SessionError::Stopped)
    }

    fn tasks_read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Arc<str>, Arc<TaskState>>> {
        // A panic while holding the lock cannot leave the map half-updated.
        self.shared.tasks.read().unwrap_or_else(|e| e.into_inner())
    }

    fn tasks_write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<Arc<str>, Arc<TaskState>>> {
        self.shared.tasks.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The shared state of the task `name`, or the error that names the nearest task.
    fn known(&self, name: &str) -> Result<Arc<TaskState>, SessionError> {
        let tasks = self.tasks_read();
        if let Some(state) = tasks.get(name) {
            return Ok(state.clone());
        }
        Err(SessionError::UnknownTask {
            name: name.to_owned(),
            suggestion: crate::condition::nearest(name, tasks.keys().map(|k| &**k))
                .map(str::to_owned),
        })
    }

    /// That the task `name` exists, or the error naming the nearest one.
    pub(crate) fn known_task(&self, name: &str) -> Result<(), SessionError> {
        self.known(name).map(|_| ())
    }

    /// Sends a question about the tasks to the loop (see `inspect`).
    pub(crate) fn submit_inspect(&self, request: Box<dyn Any + Send>) -> Result<(), SessionError> {
        self.send(Command::Inspect(request))
    }

    /// Registers a task the loop has added.
    pub(crate) fn insert_task(&self, name: Arc<str>, state: Arc<TaskState>) {
        self.tasks_write().insert(name, state);
    }

    /// Forgets a task the loop has removed.
    pub(crate) fn remove_known_task(&self, name: &str) {
        self.tasks_write().remove(name);
    }

    /// Sends a new task to the loop (see [`Session::add_task`], in `task`).
    pub(crate) fn submit_task(
        &self,
        name: &str,
        spec: Box<dyn Any + Send>,
    ) -> Result<(), SessionError> {
        if self.shared.on_duplicate == DuplicatePolicy::Error && self.known(name).is_ok() {
            return Err(SessionError::Duplicate(name.to_owned()));
        }
        self.send(Command::Add(NewTask(spec)))
    }

    pub(crate) fn mark_stopping(&self) {
        self.shared.stopping.store(true, Ordering::Relaxed);
    }

    pub(crate) fn clear_stopping(&self) {
        self.shared.stopping.store(false, Ordering::Relaxed);
    }

    /// Shuts the scheduler down: no new runs start, on-shutdown tasks run, and it waits
    /// for running runs to end.
    pub fn shut_down(&self) {
        self.mark_stopping();
        let _ = self.send(Command::ShutDown { instant: false });
    }

    /// Shuts the scheduler down, terminating running runs instead of waiting for them.
    pub fn shut_down_now(&self) {
        self.mark_stopping();
        let _ = self.send(Command::ShutDown { instant: true });
    }

    /// Shuts down and starts again (see `Config::restart` for how).
    pub fn restart(&self) {
        self.mark_stopping();
        let _ = self.send(Command::Restart);
    }

    /// Whether a shutdown or restart has been requested.
    pub fn is_stopping(&self) -> bool {
        self.shared.stopping.load(Ordering::Relaxed)
    }

    /// Runs a task now, whatever its condition says and even if it is disabled.
    ///
    /// Where the run goes depends on the scheduler's store:
    ///
    /// * with a job queue (SQLite, PostgreSQL, or a memory store made `with_jobs`), the
    ///   run is a job of the task, as `task::apply` enqueues (payload `null`, the default
    ///   job options: three attempts at most, retried with the worker's backoff). The
    ///   scheduler enqueues it beside its loop, in the order of the requests (a request
    ///   made before the scheduler has opened its store waits for it), and a worker runs it:
    ///   this program's (the default role), or one in another process sharing the
    ///   database. Once enqueued it survives a crash or a shutdown of this program: a
    ///   graceful shutdown finishes the jobs its worker has started, and the ones not
    ///   started yet stay queued for the next worker. [`trigger`](Self::trigger) waits
    ///   for the job to be in the store and gives its id. A scheduler on a virtual clock
    ///   without a worker asked for ([`SchedulerBuilder::worker`](super::SchedulerBuilder::worker))
    ///   keeps the in-process way below, so that a test's runs happen in virtual time;
    /// * without one (the memory store), the run is queued to the loop. A graceful
    ///   shutdown starts the runs queued before it was asked for (and waits for them).
    ///
    /// Once a shutdown is asked for, new requests are refused with
    /// [`SessionError::ShuttingDown`].
    pub fn run(&self, task: &str) -> Result<(), SessionError> {
        self.request(task, None)
    }

    /// Runs a task now with a payload (received by a `Payload<T>` parameter), as
    /// [`run`](Self::run) does.
    pub fn run_with(&self, task: &str, payload: impl serde::Serialize) -> Result<(), SessionError> {
        let payload =
            serde_json::to_value(payload).map_err(|e| SessionError::Payload(Arc::new(e)))?;
        self.request(task, Some(payload))
    }

    /// Runs a task now as [`run`](Self::run) does, and, when the scheduler keeps a job
    /// queue, waits until the job is in the store and gives its id (`None`: the run was
    /// queued to the loop, without a queue). A job can then be followed with
    /// [`Queue::status`](crate::queue::Queue::status) or
    /// [`Queue::wait`](crate::queue::Queue::wait); from the moment this returns, a crash
    /// of the program does not lose it.
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// use scheduler_core::queue::Queue;
    ///
    /// if let Some(id) = session.trigger("backup").await? {
    ///     let queue = Queue::default_queue().expect("set by the running scheduler");
    ///     println!("backup: {}", queue.wait(id).await?.state);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn trigger(&self, task: &str) -> Result<Option<JobId>, SessionError> {
        self.trigger_request(task, None).await
    }

    /// [`trigger`](Self::trigger) with a payload, as [`run_with`](Self::run_with) takes.
    pub async fn trigger_with(
        &self,
        task: &str,
        payload: impl serde::Serialize,
    ) -> Result<Option<JobId>, SessionError> {
        let payload =
            serde_json::to_value(payload).map_err(|e| SessionError::Payload(Arc::new(e)))?;
        self.trigger_request(task, Some(payload)).await
    }

    /// That a run of `task` may be requested now.
    fn admit(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        if self.shared.events.is_closed() {
            return Err(SessionError::Stopped);
        }
        if self.is_stopping() {
            return Err(SessionError::ShuttingDown);
        }
        Ok(())
    }

    fn request(&self, task: &str, payload: Option<serde_json::Value>) -> Result<(), SessionError> {
        self.admit(task)?;
        self.send(Command::Run {
            task: task.to_owned(),
            payload,
            reply: None,
        })
    }

    async fn trigger_request(
        &self,
        task: &str,
        payload: Option<serde_json::Value>,
    ) -> Result<Option<JobId>, SessionError> {
        self.admit(task)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Command::Run {
            task: task.to_owned(),
            payload,
            reply: Some(reply),
        })?;
        answer.await.map_err(|_| SessionError::Stopped)?
    }

    /// Hands a claimed job to the loop; gives it back if the loop has stopped.
    pub(crate) fn run_job(&self, job: JobRun) -> Result<(), JobRun> {
        self.shared
            .events
            .send(Event::Command(Command::RunJob(job)))
            .map_err(|e| match e.0 {
                Event::Command(Command::RunJob(job)) => job,
                _ => unreachable!("sent a job"),
            })
    }

    /// Hands the ends of job runs to the loop's journal; gives them back if the loop has
    /// stopped.
    pub(crate) fn job_records(
        &self,
        records: Vec<crate::log::LogRecord>,
    ) -> Result<(), Vec<crate::log::LogRecord>> {
        self.shared
            .events
            .send(Event::Command(Command::JobRecords(records)))
            .map_err(|e| match e.0 {
                Event::Command(Command::JobRecords(records)) => records,
                _ => unreachable!("sent records"),
            })
    }

    /// Stops starting a task by its condition (requested runs still happen).
    pub fn disable(&self, task: &str) -> Result<(), SessionError> {
        self.set_disabled(task, true)
    }

    /// Starts a task by its condition again.
    pub fn enable(&self, task: &str) -> Result<(), SessionError> {
        self.set_disabled(task, false)
    }

    fn set_disabled(&self, task: &str, disabled: bool) -> Result<(), SessionError> {
        let state = self.known(task)?;
        let was = state.disabled.swap(disabled, Ordering::Relaxed);
        self.send(Command::Disabled {
            task: task.to_owned(),
            was,
            now: disabled,
        })
    }

    /// Changes a setting of the task `task` while the scheduler runs; answers once the
    /// loop has applied it, with what changed.
    ///
    /// The change takes effect at the loop's next look at the task, which it makes at once:
    /// a new start condition decides the task's next wake-up from now on (earlier or later
    /// than the one it had), a new end condition is checked against the runs going, a new
    /// priority orders the next tasks due together, a new timeout applies from the next
    /// run. Each change is written to the log as a [`Action::Change`](crate::log::Action::Change)
    /// record (what changed, the old and the new value), which the command line's `logs`
    /// shows and no condition counts.
    ///
    /// Refused, with nothing changed: an unknown task; a condition naming a task that does
    /// not exist, calling an unregistered custom condition, or closing a cycle of tasks
    /// that each wait for the next (as start-up refuses); options that do not go
    /// together ([`TaskOptions::conflicts`](crate::task_options::TaskOptions::conflicts));
    /// a new execution mode while a run is going.
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), scheduler_core::runtime::SessionError> {
    /// use scheduler_core::runtime::TaskChange;
    ///
    /// let changed = session.change_task("report", TaskChange::Priority(10)).await?;
    /// assert_eq!(changed.to_string(), "report: priority: 0 → 10");
    /// # Ok(()) }
    /// ```
    pub async fn change_task(
        &self,
        task: &str,
        change: TaskChange,
    ) -> Result<Changed, SessionError> {
        self.known(task)?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Command::Change {
            task: task.to_owned(),
            change,
            reply,
        })?;
        answer.await.map_err(|_| SessionError::Stopped)?
    }

    /// Changes the start condition of `task`: a [`Condition`] or its text, read with the
    /// same parser as `#[task("...")]` (a mistake is [`SessionError::Condition`], with its
    /// position). See [`change_task`](Self::change_task).
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), scheduler_core::runtime::SessionError> {
    /// session.set_condition("report", "daily between 07:00 and 09:00").await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_condition(
        &self,
        task: &str,
        condition: impl IntoCondition,
    ) -> Result<Changed, SessionError> {
        let condition = condition
            .into_condition()
            .map_err(SessionError::Condition)?;
        self.change_task(task, TaskChange::Condition(condition))
            .await
    }

    /// Changes (or sets) the end condition of `task`, as
    /// [`set_condition`](Self::set_condition) does the start condition.
    pub async fn set_end_condition(
        &self,
        task: &str,
        condition: impl IntoCondition,
    ) -> Result<Changed, SessionError> {
        let condition = condition
            .into_condition()
            .map_err(SessionError::Condition)?;
        self.change_task(task, TaskChange::EndCondition(Some(condition)))
            .await
    }

    /// Changes the timeout of `task`, from its next run.
    pub async fn set_timeout(&self, task: &str, timeout: Timeout) -> Result<Changed, SessionError> {
        self.change_task(task, TaskChange::Timeout(Some(timeout)))
            .await
    }

    /// Changes the priority of `task`.
    pub async fn set_priority(&self, task: &str, priority: i32) -> Result<Changed, SessionError> {
        self.change_task(task, TaskChange::Priority(priority)).await
    }

    /// Sets the session parameter `name` (what `Arg<T>` and `param '...'` conditions
    /// read) while the scheduler runs: runs started from now on read the new value, and
    /// conditions are looked at again. A parameter of a `#[param]` function is replaced by
    /// the value. Runs in child processes (`execution = "process"`) read the new value too
    /// when it is a string, a number, a `bool` or a `char` (it crosses to the child as
    /// text); for another type they read what the child's program sets up.
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), scheduler_core::runtime::SessionError> {
    /// session.set_param("batch_size", 500_u32).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_param<T: Send + Sync + 'static>(
        &self,
        name: &str,
        value: T,
    ) -> Result<Changed, SessionError> {
        self.param_request(name, Some((Arc::new(value), std::any::type_name::<T>())))
            .await
    }

    /// Removes the session parameter `name`; refused with [`SessionError::UnknownParam`]
    /// if there is none.
    pub async fn remove_param(&self, name: &str) -> Result<Changed, SessionError> {
        self.param_request(name, None).await
    }

    async fn param_request(
        &self,
        name: &str,
        value: Option<(Arc<dyn Any + Send + Sync>, &'static str)>,
    ) -> Result<Changed, SessionError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.send(Command::Param {
            name: name.to_owned(),
            value,
            reply,
        })?;
        answer.await.map_err(|_| SessionError::Stopped)?
    }

    /// Asks a task's running runs to stop.
    pub fn terminate(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.send(Command::Terminate(task.to_owned()))
    }

    /// Removes a task; its running runs finish first.
    pub fn remove_task(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.send(Command::Remove(task.to_owned()))
    }

    /// The names of the scheduler's tasks (what a worker claims jobs of).
    pub(crate) fn task_names(&self) -> Vec<String> {
        self.tasks_read()
            .keys()
            .map(|name| name.to_string())
            .collect()
    }

    /// The tasks of the scheduler, by name.
    pub fn tasks(&self) -> Vec<TaskSummary> {
        self.tasks_read()
            .iter()
            .map(|(name, state)| TaskSummary {
                name: name.to_string(),
                disabled: state.is_disabled(),
                condition: state.start().to_string(),
            })
            .collect()
    }

    /// The records of the log that match `query`, from the store, once the scheduler has
    /// written what it recorded so far (ask from async code; the loop answers between its
    /// steps). Without a running scheduler, query the store itself
    /// ([`LogStore::query`](crate::log::LogStore::query)).
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// use scheduler_core::log::{Action, store::RecordQuery};
    ///
    /// let failures = session.query(RecordQuery::default().task("backup").action(Action::Fail)).await?;
    /// for stored in failures {
    ///     println!("{} {:?}", stored.record.at, stored.record.message);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn query(&self, query: RecordQuery) -> Result<Vec<StoredRecord>, SessionError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Command::Query(query, tx))?;
        rx.await
            .map_err(|_| SessionError::Stopped)?
            .map_err(|e| SessionError::Store(Arc::new(e)))
    }
}
