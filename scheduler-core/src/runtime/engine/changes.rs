//! Changes at run time: a session's change of a task's settings or of a session parameter,
//! checked against the tasks the loop holds, applied to the slot, written to the log as a
//! `change` record, and followed by a look at what it affects.
//!
//! A task's definition is shared (`Arc<TaskSpec>`) with the runs going, which keep what
//! they started with: a change makes a new definition for the slot, so that a run in
//! progress keeps its timeout and execution, and the next one takes the new ones.

use std::any::Any;
use std::sync::Arc;

use crate::condition::Condition;
use crate::log::{Action, LogRecord};
use crate::runtime::session::{Changed, SessionError, TaskChange};
use crate::runtime::task::TaskSpec;
use crate::task_options::Timeout;
use crate::time::Interval;

use super::Engine;

/// A timeout as change records show it.
fn timeout_text(timeout: Option<Timeout>) -> String {
    match timeout {
        None => "default".to_owned(),
        Some(Timeout::Never) => "never".to_owned(),
        Some(Timeout::After(d)) => {
            Interval::new(d).map_or_else(|_| format!("{d:?}"), |i| i.to_string())
        }
    }
}

impl Engine {
    /// Applies a change of the task `task`'s settings, or says why it is refused (and
    /// changes nothing).
    pub(super) fn change_task(
        &mut self,
        task: &str,
        change: TaskChange,
    ) -> Result<Changed, SessionError> {
        let unknown = || SessionError::UnknownTask {
            name: task.to_owned(),
            suggestion: crate::condition::nearest(task, self.by_name.keys().map(|k| &**k))
                .map(str::to_owned),
        };
        let id = self.slot_of(task).ok_or_else(unknown)?;
        let slot = self.slots[id].as_ref().ok_or_else(unknown)?;
        let mut spec: TaskSpec = (*slot.spec).clone();
        let setting = change.setting();
        let running = !slot.live.is_empty();
        let mut conditions_changed = false;
        let (old, new) = match change {
            TaskChange::Condition(condition) => {
                conditions_changed = true;
                let old = spec.start.to_string();
                spec.start = Arc::new(condition);
                (Some(old), Some(spec.start.to_string()))
            }
            TaskChange::EndCondition(condition) => {
                conditions_changed = true;
                let old = spec.end.as_ref().map(ToString::to_string);
                spec.end = condition.map(Box::new);
                (old, spec.end.as_ref().map(ToString::to_string))
            }
            TaskChange::Timeout(timeout) => {
                let old = timeout_text(spec.options.timeout);
                spec.options.timeout = timeout;
                (Some(old), Some(timeout_text(timeout)))
            }
            TaskChange::Priority(priority) => {
                let old = spec.options.priority;
                spec.options.priority = priority;
                (Some(old.to_string()), Some(priority.to_string()))
            }
            TaskChange::Execution(execution) => {
                let old = spec.execution_mode();
                spec.options.execution = execution;
                // A run going in the old mode is counted, terminated and waited for as
                // that mode says (a child process holds one of `max_processes`).
                if running && spec.execution_mode() != old {
                    return Err(SessionError::Running {
                        task: task.to_owned(),
                        setting,
                    });
                }
                (
                    Some(old.to_string()),
                    Some(spec.execution_mode().to_string()),
                )
            }
            TaskChange::Multilaunch(multilaunch) => {
                let text =
                    |m: Option<bool>| m.map_or_else(|| "default".to_owned(), |m| m.to_string());
                let old = text(spec.options.multilaunch);
                spec.options.multilaunch = multilaunch;
                (Some(old), Some(text(multilaunch)))
            }
            TaskChange::Permanent(permanent) => {
                let old = spec.options.permanent;
                spec.options.permanent = permanent;
                (Some(old.to_string()), Some(permanent.to_string()))
            }
            TaskChange::OnShutdown(on_shutdown) => {
                let old = spec.options.on_shutdown;
                spec.options.on_shutdown = on_shutdown;
                (Some(old.to_string()), Some(on_shutdown.to_string()))
            }
        };
        let problems = spec.problems();
        if !problems.is_empty() {
            return Err(SessionError::InvalidTask {
                task: task.to_owned(),
                problems,
            });
        }
        if conditions_changed {
            self.check_conditions(&spec)?;
            if self.config.check_cycles {
                let others = self
                    .slots
                    .iter()
                    .flatten()
                    .filter(|s| !s.removed)
                    .map(|s| &*s.spec);
                if let Some(tasks) = crate::runtime::task::check::cycle_through(&spec, others) {
                    return Err(SessionError::Cycle { tasks });
                }
            }
        }
        let now = self.clock.now();
        let changed = Changed {
            task: Some(task.to_owned()),
            setting: setting.to_owned(),
            old,
            new,
            at: now,
        };
        if changed.old == changed.new {
            // Nothing to apply or to record.
            return Ok(changed);
        }
        let spec = Arc::new(spec);
        if conditions_changed {
            self.forget_reads(id);
            let reads = self.note_reads(id, &spec);
            // Answers of custom conditions were given for the old condition.
            self.customs.forget(task);
            if let Some(slot) = self.slots[id].as_mut() {
                slot.reads = reads;
            }
        }
        if let Some(slot) = self.slots[id].as_mut() {
            slot.state.set_start(spec.start.clone());
            slot.spec = spec;
        }
        self.record_change(&changed);
        // Looked at in this pass: its wake-up is computed again from the new settings,
        // earlier or later than the one it had.
        self.mark_dirty(id);
        Ok(changed)
    }

    /// The tasks the conditions of `spec` name exist, and the custom conditions they call
    /// are registered and called with arguments that fit them (what start-up checks of
    /// every task; the cycles are checked by the caller).
    fn check_conditions(&self, spec: &TaskSpec) -> Result<(), SessionError> {
        let places = std::iter::once((&*spec.start, "start condition"))
            .chain(spec.end.as_deref().map(|end| (end, "end condition")));
        for (condition, place) in places {
            for unknown in condition.referenced_tasks() {
                if !self.by_name.contains_key(unknown) {
                    return Err(SessionError::UnknownTaskInCondition {
                        task: spec.name.to_string(),
                        place,
                        unknown: unknown.to_owned(),
                        suggestion: crate::condition::nearest(
                            unknown,
                            self.by_name.keys().map(|k| &**k),
                        )
                        .map(str::to_owned),
                    });
                }
            }
            for call in condition.custom_calls() {
                let def =
                    crate::runtime::custom::registered_conds().find(|d| d.name == call.name());
                let problem = match def {
                    Some(def) => crate::runtime::custom::check_call(def, call).err(),
                    None => Some(format!(
                        "no custom condition `{}` is registered{}",
                        call.name(),
                        crate::condition::nearest(
                            call.name(),
                            crate::runtime::custom::registered_conds().map(|d| d.name)
                        )
                        .map(|n| format!(" (did you mean `{n}`?)"))
                        .unwrap_or_default()
                    )),
                };
                if let Some(problem) = problem {
                    return Err(SessionError::UnknownCustom {
                        task: spec.name.to_string(),
                        call: Condition::Custom(call.clone()).to_string(),
                        problem,
                    });
                }
            }
        }
        Ok(())
    }

    /// Sets or removes a session parameter, and looks again at every task: any condition
    /// may read it (`param '...'`, a custom condition's argument).
    pub(super) fn change_param(
        &mut self,
        name: &str,
        value: Option<(Arc<dyn Any + Send + Sync>, &'static str)>,
    ) -> Result<Changed, SessionError> {
        if value.is_none() && self.params.describe(name).is_none() {
            let names = self.params.names();
            return Err(SessionError::UnknownParam {
                name: name.to_owned(),
                suggestion: crate::condition::nearest(name, names.iter().map(String::as_str))
                    .map(str::to_owned),
            });
        }
        let old = self.params.replace(name, value);
        let changed = Changed {
            task: None,
            setting: format!("param '{name}'"),
            old,
            new: self.params.describe(name),
            at: self.clock.now(),
        };
        self.record_change(&changed);
        for id in 0..self.slots.len() {
            self.mark_dirty(id);
        }
        Ok(changed)
    }

    /// Records that a session disabled or enabled slot `id` (from `was` to `now`: the
    /// shared state may have changed again since, by a request still queued).
    pub(super) fn record_disabled(&mut self, id: usize, was: bool, now: bool) {
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        if now == was {
            return;
        }
        let changed = Changed {
            task: Some(slot.name().to_string()),
            setting: "disabled".to_owned(),
            old: Some(was.to_string()),
            new: Some(now.to_string()),
            at: self.clock.now(),
        };
        self.record_change(&changed);
    }

    /// Writes a change to the log: a `change` record, which the index conditions read
    /// ignores (see [`Action::Change`]).
    fn record_change(&mut self, changed: &Changed) {
        let mut record = LogRecord::new(
            changed.task.clone().unwrap_or_default(),
            Action::Change,
            changed.at,
        );
        record.instance = Some(self.journal.instance().id);
        record.message = Some(changed.message());
        record.value = Some(changed.json());
        self.journal.record(record);
    }
}
