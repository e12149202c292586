//! The engine's tasks: adding and removing them, the index of which tasks read which, and
//! the requests of sessions.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::condition::Condition;
use crate::log::Retention;
use crate::runtime::config::DuplicatePolicy;
use crate::runtime::inject::Need;
use crate::runtime::inspect::{Facts, InspectRequest, TaskExplanation};
use crate::runtime::session::{Command, JobEnded, NewTask, SessionError, TaskState};
use crate::runtime::task::TaskSpec;
use crate::time::Timestamp;

use super::slot::Slot;
use super::{Engine, reads_cycles};

impl Engine {
    pub(super) fn add_slot(&mut self, mut spec: TaskSpec) {
        if let Some(&existing) = self.by_name.get(&*spec.name) {
            match self.config.on_duplicate {
                DuplicatePolicy::Error | DuplicatePolicy::Ignore => {
                    tracing::warn!(task = %spec.name, "a task with this name exists; the new one is not added");
                    return;
                }
                DuplicatePolicy::Replace => self.remove_slot(existing),
                DuplicatePolicy::Rename => {
                    spec.name = DuplicatePolicy::renamed(&spec.name, |name| {
                        self.by_name.contains_key(name)
                    })
                    .into();
                }
            }
        }
        let id = self.slots.len();
        let name = spec.name.clone();
        let reads = self.note_reads(id, &spec);
        self.journal.want(&name);
        let state = Arc::new(TaskState::new(spec.options.disabled, spec.start.clone()));
        self.session.insert_task(name.clone(), state.clone());
        self.by_name.insert(name, id);
        self.slots.push(Some(Slot {
            spec: Arc::new(spec),
            reads,
            state,
            removed: false,
            queued: None,
            live: VecDeque::new(),
            jobs: Vec::new(),
            dirty: false,
        }));
        self.mark_dirty(id);
    }

    /// Notes what the conditions of `spec`, the task of slot `id`, read: the tasks whose
    /// runs wake it (`readers`), the cycle count, how far back the log is kept; gives the
    /// tasks whose finishes must be written before it starts.
    pub(super) fn note_reads(&mut self, id: usize, spec: &TaskSpec) -> Box<[Arc<str>]> {
        let mut read: Vec<&str> = spec.start.referenced_tasks();
        if let Some(end) = &spec.end {
            read.extend(end.referenced_tasks());
        }
        let mut reads: Vec<Arc<str>> = Vec::new();
        for task in read {
            let task: Arc<str> = Arc::from(task);
            self.readers.entry(task.clone()).or_default().push(id);
            reads.push(task);
        }
        if spec.start.needs_owner() || spec.end.as_deref().is_some_and(Condition::needs_owner) {
            reads.push(spec.name.clone());
        }
        for need in spec.needs.into_iter().flatten().flatten() {
            let Need::Return(producer) = need;
            if !reads.iter().any(|r| &**r == *producer) {
                reads.push(Arc::from(*producer));
            }
        }
        if reads_cycles(&spec.start) || spec.end.as_deref().is_some_and(reads_cycles) {
            self.cycle_readers.push(id);
        }
        let mut reach: Vec<(String, Retention)> = Vec::new();
        for condition in std::iter::once(&*spec.start).chain(spec.end.as_deref()) {
            reach.extend(
                condition
                    .log_retention()
                    .into_iter()
                    .map(|(task, r)| (task.unwrap_or(&spec.name).to_owned(), r)),
            );
        }
        for (task, r) in reach {
            self.journal.retain(&task, r);
        }
        reads.into()
    }

    /// Forgets what the conditions of slot `id` read (before noting its new conditions).
    pub(super) fn forget_reads(&mut self, id: usize) {
        for readers in self.readers.values_mut() {
            readers.retain(|&r| r != id);
        }
        self.cycle_readers.retain(|&r| r != id);
    }

    pub(super) fn remove_slot(&mut self, id: usize) {
        self.wakeups.clear(id);
        if let Some(mut slot) = self.slots[id].take() {
            slot.give_back_jobs("its task was removed");
            // The name may belong to a newer task by now (removed, then added again).
            if self.by_name.get(slot.name()) == Some(&id) {
                self.by_name.remove(slot.name());
                self.session.remove_known_task(slot.name());
                self.returns.remove(slot.name());
            }
            self.forget_reads(id);
        }
    }

    pub(super) fn mark_dirty(&mut self, id: usize) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut)
            && !slot.dirty
        {
            slot.dirty = true;
            self.dirty.push(id);
        }
    }

    pub(super) fn mark_readers_dirty(&mut self, name: &str) {
        if let Some(readers) = self.readers.get(name).cloned() {
            for id in readers {
                self.mark_dirty(id);
            }
        }
    }

    pub(super) fn live_runs(&self) -> usize {
        self.slots.iter().flatten().map(|s| s.live.len()).sum()
    }

    /// Whether some task has runs requested by name that have not started.
    pub(super) fn has_requests(&self) -> bool {
        self.slots
            .iter()
            .flatten()
            .any(|slot| !slot.removed && (slot.has_requests() || !slot.jobs.is_empty()))
    }

    pub(super) fn slot_of(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The explanations of the task `task` (of every task when `None`), by name, from the
    /// loop's log and each task's state now.
    fn explanations(&self, task: Option<&str>, now: Timestamp) -> Vec<TaskExplanation> {
        let mut out: Vec<TaskExplanation> = self
            .slots
            .iter()
            .flatten()
            .filter(|slot| !slot.removed && task.is_none_or(|t| &**slot.name() == t))
            .map(|slot| {
                Facts {
                    spec: &slot.spec,
                    history: self.journal.index(),
                    zone: self.zone,
                    params: &self.params,
                    multilaunch: slot.multilaunch(&self.config),
                    timeout: slot.timeout(&self.config),
                    running: slot.live.len(),
                    scheduler_started: Some(self.started),
                    disabled: slot.state.is_disabled(),
                    customs: Some(&self.customs),
                }
                .explain(now)
            })
            .collect();
        out.sort_by(|a, b| a.report.name.cmp(&b.report.name));
        out
    }

    pub(super) fn apply(&mut self, command: Command) {
        match command {
            Command::ShutDown { instant } => self.request_stop(instant, false),
            Command::Restart => self.request_stop(false, true),
            Command::Run {
                task,
                payload,
                reply,
            } => {
                if self.stop.is_some() {
                    // Sessions refuse requests once a shutdown is asked for; this one was
                    // sent just before.
                    tracing::warn!(task = %task, "the scheduler is shutting down; a run requested as it began does not start");
                    if let Some(reply) = reply {
                        let _ = reply.send(Err(SessionError::ShuttingDown));
                    }
                } else if let Some(id) = self.slot_of(&task) {
                    if let Some(route) = &self.job_route {
                        route.send(&task, payload, reply);
                        return;
                    }
                    if let Some(slot) = self.slots[id].as_mut() {
                        slot.queued
                            .get_or_insert_default()
                            .push_back(payload.map(Arc::new));
                    }
                    self.mark_dirty(id);
                    if let Some(reply) = reply {
                        let _ = reply.send(Ok(None));
                    }
                } else if let Some(reply) = reply {
                    // Removed since the session looked.
                    let _ = reply.send(Err(SessionError::UnknownTask {
                        name: task,
                        suggestion: None,
                    }));
                }
            }
            Command::Disabled { task, was, now } => {
                if let Some(id) = self.slot_of(&task) {
                    self.record_disabled(id, was, now);
                    self.mark_dirty(id);
                }
            }
            Command::Change {
                task,
                change,
                reply,
            } => {
                let _ = reply.send(self.change_task(&task, change));
            }
            Command::Param { name, value, reply } => {
                let _ = reply.send(self.change_param(&name, value));
            }
            Command::Terminate(task) => {
                if let Some(id) = self.slot_of(&task) {
                    self.terminate_task(id, "terminated on request");
                }
            }
            Command::Inspect(request) => match request.downcast::<InspectRequest>() {
                Ok(request) => {
                    let now = request.now.unwrap_or_else(|| self.clock.now());
                    let answer = self.explanations(request.task.as_deref(), now);
                    let _ = request.reply.send(answer);
                }
                // Only `Session::explain` and `Session::reports` make one.
                Err(_) => tracing::error!("a session sent a question of an unknown type"),
            },
            Command::Add(NewTask(spec)) => match spec.downcast::<TaskSpec>() {
                Ok(spec) => self.add_slot(*spec),
                // Only `Session::add_task` makes a `NewTask`, from a `TaskSpec`.
                Err(_) => tracing::error!("a session sent a task of an unknown type"),
            },
            Command::Remove(task) => {
                if let Some(id) = self.slot_of(&task) {
                    if let Some(slot) = self.slots[id].as_mut() {
                        slot.removed = true;
                    }
                    self.by_name.remove(task.as_str());
                    self.session.remove_known_task(&task);
                    self.mark_dirty(id);
                }
            }
            Command::RunJob(job) => {
                if self.stop.is_some() {
                    job.reply
                        .send(JobEnded::NotStarted("the scheduler is shutting down"));
                } else if let Some(id) = self.slot_of(&job.task) {
                    if let Some(slot) = self.slots[id].as_mut() {
                        slot.jobs.push(job);
                    }
                    self.mark_dirty(id);
                } else {
                    let message = format!("no task named '{}' in this worker", job.task);
                    job.reply.send(JobEnded::Ran {
                        action: crate::log::Action::Fail,
                        message: Some(message),
                        value: None,
                        record: None,
                    });
                }
            }
            Command::JobRecords(records) => self.record_job_ends(records),
            Command::Query(..) => {}
        }
    }
}
