//! Control of a running scheduler, from its tasks (inject [`Session`]) and from outside
//! (`Scheduler::start` returns a handle with one).
//!
//! Requests are queued to the scheduler's loop, which applies them in order; the methods
//! check what they can at once (that a task exists, that a new task is valid) and return a
//! [`SessionError`] otherwise.
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

use crate::condition::Condition;
use crate::log::RunId;
use crate::log::StoreError;
use crate::log::store::{RecordQuery, StoredRecord};
use crate::task_options::TaskProblem;

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
    },
    /// The task's [`TaskState::disabled`] changed: look at it again.
    Disabled(String),
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

/// What the session and the loop share of one task: the loop's slot and the session's map
/// hold the same value, so that a task is disabled in one place.
#[derive(Debug)]
pub(crate) struct TaskState {
    /// Whether the task's condition is ignored for now: set by the session, read by the
    /// loop (which a [`Command::Disabled`] wakes).
    pub(crate) disabled: AtomicBool,
    /// The start condition, shared with the task's definition.
    pub(crate) start: Arc<Condition>,
}

impl TaskState {
    pub(crate) fn new(disabled: bool, start: Arc<Condition>) -> Self {
        TaskState {
            disabled: AtomicBool::new(disabled),
            start,
        }
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
    /// The run is queued to the loop. A graceful shutdown starts the runs queued before it
    /// was asked for (and waits for them); once it is asked for, new requests are refused
    /// with [`SessionError::ShuttingDown`].
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

    fn request(&self, task: &str, payload: Option<serde_json::Value>) -> Result<(), SessionError> {
        self.known(task)?;
        if self.shared.events.is_closed() {
            return Err(SessionError::Stopped);
        }
        if self.is_stopping() {
            return Err(SessionError::ShuttingDown);
        }
        self.send(Command::Run {
            task: task.to_owned(),
            payload,
        })
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
        state.disabled.store(disabled, Ordering::Relaxed);
        self.send(Command::Disabled(task.to_owned()))
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
                condition: state.start.to_string(),
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
