//! Control of a running scheduler, from its tasks (inject [`Session`]) and from outside
//! (`Scheduler::start` returns a handle with one).
//!
//! Requests are queued to the scheduler's loop, which applies them in order; the methods
//! check what they can at once (that a task exists, that a new task is valid) and return a
//! [`SessionError`] otherwise.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::mpsc::UnboundedSender;

use crate::log::LogRecord;

use super::config::DuplicatePolicy;
use super::outcome::RunOutcome;
use super::task::TaskSpec;

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
    pub(crate) run_id: u64,
    pub(crate) outcome: RunOutcome,
    /// Captured output of a child process or command.
    pub(crate) captured: Option<String>,
}

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
    Disable(String),
    Enable(String),
    Terminate(String),
    Add(Box<TaskSpec>),
    Remove(String),
    Records(tokio::sync::oneshot::Sender<Vec<LogRecord>>),
}

/// Why a session request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    #[error("task '{task}' is not valid: {}", .problems.join("; "))]
    InvalidTask {
        /// The task.
        task: String,
        /// What is wrong.
        problems: Vec<String>,
    },
    /// The payload cannot be written as JSON.
    #[error("the payload cannot be written as JSON: {0}")]
    Payload(String),
    /// The scheduler has stopped.
    #[error("the scheduler has stopped")]
    Stopped,
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

/// A task as the session keeps it: the engine's own name and definition, shared, so that
/// a scheduler with many tasks does not hold a second copy of each; the summary's texts are
/// made when asked for.
struct KnownTask {
    spec: Arc<TaskSpec>,
    disabled: bool,
}

struct Shared {
    events: UnboundedSender<Event>,
    tasks: RwLock<BTreeMap<Arc<str>, KnownTask>>,
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

    fn known(&self, name: &str) -> Result<(), SessionError> {
        let tasks = self.shared.tasks.read().unwrap_or_else(|e| e.into_inner());
        if tasks.contains_key(name) {
            return Ok(());
        }
        Err(SessionError::UnknownTask {
            name: name.to_owned(),
            suggestion: crate::condition::nearest(name, tasks.keys().map(|k| &**k))
                .map(str::to_owned),
        })
    }

    pub(crate) fn set_summary(&self, spec: Arc<TaskSpec>) {
        let mut tasks = self.shared.tasks.write().unwrap_or_else(|e| e.into_inner());
        let (name, disabled) = (spec.name.clone(), spec.disabled);
        tasks.insert(name, KnownTask { spec, disabled });
    }

    pub(crate) fn remove_summary(&self, name: &str) {
        let mut tasks = self.shared.tasks.write().unwrap_or_else(|e| e.into_inner());
        tasks.remove(name);
    }

    pub(crate) fn set_disabled(&self, name: &str, disabled: bool) {
        let mut tasks = self.shared.tasks.write().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tasks.get_mut(name) {
            t.disabled = disabled;
        }
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
    pub fn run(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.send(Command::Run {
            task: task.to_owned(),
            payload: None,
        })
    }

    /// Runs a task now with a payload (received by a `Payload<T>` parameter).
    pub fn run_with(&self, task: &str, payload: impl serde::Serialize) -> Result<(), SessionError> {
        self.known(task)?;
        let payload =
            serde_json::to_value(payload).map_err(|e| SessionError::Payload(e.to_string()))?;
        self.send(Command::Run {
            task: task.to_owned(),
            payload: Some(payload),
        })
    }

    /// Stops starting a task by its condition (requested runs still happen).
    pub fn disable(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.set_disabled(task, true);
        self.send(Command::Disable(task.to_owned()))
    }

    /// Starts a task by its condition again.
    pub fn enable(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.set_disabled(task, false);
        self.send(Command::Enable(task.to_owned()))
    }

    /// Asks a task's running runs to stop.
    pub fn terminate(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.send(Command::Terminate(task.to_owned()))
    }

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
        if self.shared.on_duplicate == DuplicatePolicy::Error && self.known(&spec.name).is_ok() {
            return Err(SessionError::Duplicate(spec.name.to_string()));
        }
        self.send(Command::Add(Box::new(spec)))
    }

    /// Removes a task; its running runs finish first.
    pub fn remove_task(&self, task: &str) -> Result<(), SessionError> {
        self.known(task)?;
        self.send(Command::Remove(task.to_owned()))
    }

    /// The tasks of the scheduler, by name.
    pub fn tasks(&self) -> Vec<TaskSummary> {
        let tasks = self.shared.tasks.read().unwrap_or_else(|e| e.into_inner());
        tasks
            .iter()
            .map(|(name, task)| TaskSummary {
                name: name.to_string(),
                disabled: task.disabled,
                condition: task.spec.start.to_string(),
            })
            .collect()
    }

    /// The records of the task log kept in memory by the running scheduler, oldest
    /// first (ask from async code; the loop answers between its steps).
    pub async fn records(&self) -> Result<Vec<LogRecord>, SessionError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.send(Command::Records(tx))?;
        rx.await.map_err(|_| SessionError::Stopped)
    }
}
