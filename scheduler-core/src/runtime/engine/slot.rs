//! What the engine keeps of each task beside its definition: its runs in progress, the
//! runs requested by name, and the flags of the loop.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;

use crate::runtime::config::Config;
use crate::runtime::context::TerminationFlag;
use crate::runtime::session::{JobReply, JobRun, TaskState};
use crate::runtime::task::TaskSpec;
use crate::task_options::Execution;

/// A run in progress.
pub(super) struct LiveRun {
    pub(super) run_id: crate::log::RunId,
    pub(super) started: i64,
    pub(super) deadline: Option<i64>,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) flag: TerminationFlag,
    /// Why the run is being terminated, once it is.
    pub(super) reason: Option<String>,
    /// The worker to tell how it ended, for a job's run.
    pub(super) job: Option<JobReply>,
}

impl LiveRun {
    /// Asks the run to stop: sets its flag, cancels or kills it where its execution allows.
    pub(super) fn terminate(&mut self, reason: &str) {
        if self.reason.is_none() {
            self.reason = Some(reason.to_owned());
        }
        self.flag.set();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A payload of a run requested by name.
pub(super) type Request = Option<Arc<serde_json::Value>>;

/// A task as the engine holds it.
pub(super) struct Slot {
    /// The definition, as given.
    pub(super) spec: Arc<TaskSpec>,
    /// The tasks whose records its conditions read or whose values it is given (itself
    /// included where a condition reads its own history): a run starts only once their
    /// finishes are written.
    pub(super) reads: Box<[Arc<str>]>,
    /// What the session shares with the loop (whether the task is disabled now).
    pub(super) state: Arc<TaskState>,
    /// Removed by a session: no new run starts, and the slot goes when its runs end.
    pub(super) removed: bool,
    /// Runs requested by name, with their payloads; boxed when there are some, since most
    /// tasks are never run on request and a scheduler may hold thousands of them.
    #[expect(
        clippy::box_collection,
        reason = "8 bytes in every slot instead of 32; most tasks never queue a run"
    )]
    pub(super) queued: Option<Box<VecDeque<Request>>>,
    /// The runs under way, oldest first. A deque: runs mostly end in the order they
    /// started, and a worker may hold thousands of jobs' runs at once, which `Vec::remove`
    /// at the front shifted one by one (8 % of a queue worker's CPU at 4,000 jobs held).
    pub(super) live: VecDeque<LiveRun>,
    /// Jobs handed over by the worker, started at the slot's next step.
    pub(super) jobs: Vec<JobRun>,
    /// In the engine's list of tasks to look at.
    pub(super) dirty: bool,
}

impl Slot {
    pub(super) fn name(&self) -> &Arc<str> {
        &self.spec.name
    }

    pub(super) fn execution(&self) -> Execution {
        self.spec.execution_mode()
    }

    /// Whether runs may overlap: the task's setting, else the configured default; never
    /// for a task that runs inline.
    pub(super) fn multilaunch(&self, config: &Config) -> bool {
        self.spec.options.multilaunch.unwrap_or(config.multilaunch)
            && self.execution() != Execution::Main
    }

    /// How long a run may take: none for a permanent task, else the task's timeout or the
    /// configured default.
    pub(super) fn timeout(&self, config: &Config) -> Option<Duration> {
        self.spec.run_timeout(config.default_timeout)
    }

    pub(super) fn has_requests(&self) -> bool {
        self.queued.as_ref().is_some_and(|q| !q.is_empty())
    }

    /// Tells the worker of every job not started that it will not start here.
    pub(super) fn give_back_jobs(&mut self, why: &'static str) {
        for job in self.jobs.drain(..) {
            job.reply
                .send(crate::runtime::session::JobEnded::NotStarted(why));
        }
    }
}
