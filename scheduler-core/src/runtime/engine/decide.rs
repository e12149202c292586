//! Deciding: a task's conditions evaluated on the engine's log, whether it starts now, the
//! limits of its runs (timeout, end condition), and when to look at it next.

use std::cmp::Reverse;
use std::sync::Arc;

use crate::condition::{Condition, EvalContext, EvalError, MissedDate, OnceAt};
use crate::runtime::config::ConditionErrors;
use crate::task_options::Execution;
use crate::time::Timestamp;

use super::slot::Request;
use super::{Engine, EngineError};

impl Engine {
    fn eval_context<'a>(&'a self, owner: Option<&'a str>) -> EvalContext<'a> {
        let cx = EvalContext::new(self.journal.index())
            .zone(self.zone)
            .params(&*self.params)
            .scheduler_started(self.started)
            .cycles(self.cycles)
            .customs(&self.customs);
        match owner {
            Some(owner) => cx.owner(owner),
            None => cx,
        }
    }

    /// The value of a condition, or the configured stand-in for an error.
    pub(super) fn check(
        &self,
        condition: &Condition,
        owner: Option<&str>,
        which: &'static str,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        self.customs.take_pending();
        match condition.evaluate(&self.eval_context(owner), now) {
            // An `async` custom condition that has not answered yet leaves the decision
            // open: nothing starts (or ends) on it until its answer arrives and wakes the
            // task.
            Ok(v) => Ok(v && !self.customs.take_pending()),
            Err(error) => self
                .condition_error(owner, which, error)
                .map(|()| which == "end"),
        }
    }

    /// The next instant, in microseconds, at which the condition can change by time alone.
    pub(super) fn next_change(
        &self,
        condition: &Condition,
        owner: Option<&str>,
        which: &'static str,
        now: Timestamp,
    ) -> Result<Option<i64>, EngineError> {
        match condition.next_change(&self.eval_context(owner), now) {
            Ok(change) => Ok(change.instant().map(Timestamp::as_micros)),
            // A condition that cannot be evaluated because a custom condition failed is
            // looked at again when that answer is due for a re-check (a database back
            // up, a call that timed out answering the next time): not never.
            Err(error) => self
                .condition_error(owner, which, error)
                .map(|()| self.custom_rechecks(condition, owner)),
        }
    }

    /// The earliest re-check of the custom conditions `condition` calls.
    fn custom_rechecks(&self, condition: &Condition, owner: Option<&str>) -> Option<i64> {
        use crate::condition::CustomValues;
        condition
            .custom_calls()
            .into_iter()
            .filter_map(|call| self.customs.recheck_at(call, owner))
            .map(Timestamp::as_micros)
            .min()
    }

    fn condition_error(
        &self,
        owner: Option<&str>,
        which: &'static str,
        error: EvalError,
    ) -> Result<(), EngineError> {
        let task = owner.unwrap_or_default().to_owned();
        match self.config.condition_errors {
            ConditionErrors::Stop => Err(EngineError::Condition { task, which, error }),
            ConditionErrors::Silence => {
                tracing::warn!(task = %task, which, %error, "a condition cannot be evaluated");
                Ok(())
            }
        }
    }

    /// Looks at every task marked dirty, highest priority first.
    pub(super) async fn step_dirty(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let mut ids = std::mem::take(&mut self.dirty);
        ids.sort_by_key(|&id| {
            (
                Reverse(
                    self.slots[id]
                        .as_ref()
                        .map_or(0, |s| s.spec.options.priority),
                ),
                id,
            )
        });
        for id in ids {
            let Some(slot) = self.slots[id].as_mut() else {
                continue;
            };
            slot.dirty = false;
            self.step(id, now).await?;
        }
        Ok(())
    }

    /// Terminates the runs of every task that are past their deadline or end condition.
    pub(super) fn enforce_limits(&mut self, now: Timestamp) -> Result<(), EngineError> {
        self.pop_due(now);
        let ids = std::mem::take(&mut self.dirty);
        for id in ids {
            let Some(slot) = self.slots[id].as_mut() else {
                continue;
            };
            slot.dirty = false;
            self.limit_runs(id, now)?;
            self.reschedule(id, now)?;
        }
        Ok(())
    }

    fn limit_runs(&mut self, id: usize, now: Timestamp) -> Result<(), EngineError> {
        let Some(slot) = self.slots[id].as_mut() else {
            return Ok(());
        };
        let timeout = slot.timeout(&self.config).unwrap_or_default();
        for run in &mut slot.live {
            if run.reason.is_none() && run.deadline.is_some_and(|d| d <= now.as_micros()) {
                run.terminate(&format!(
                    "timed out after {}",
                    crate::time::Interval::new(timeout)
                        .map(|i| i.to_string())
                        .unwrap_or_default()
                ));
            }
        }
        let (spec, name, has_live) = (
            slot.spec.clone(),
            slot.name().clone(),
            !slot.live.is_empty(),
        );
        if has_live
            && let Some(end) = &spec.end
            && self.check(end, Some(&name), "end", now)?
        {
            self.terminate_task(id, &format!("its end condition `{end}` holds"));
        }
        Ok(())
    }

    async fn step(&mut self, id: usize, now: Timestamp) -> Result<(), EngineError> {
        self.limit_runs(id, now)?;
        self.launch_jobs(id, now).await;
        if let Some(request) = self.due(id, now)? {
            self.launch(id, request, now).await;
        }
        self.record_missed_dates(id, now);
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(());
        };
        if slot.removed && slot.live.is_empty() {
            self.remove_slot(id);
            return Ok(());
        }
        self.reschedule(id, now)
    }

    /// Starts the jobs the worker handed over, all of them: the worker bounds how many
    /// run at once, not the task's overlap setting.
    async fn launch_jobs(&mut self, id: usize, now: Timestamp) {
        let Some(slot) = self.slots[id].as_mut() else {
            return;
        };
        if slot.jobs.is_empty() || self.holding {
            return;
        }
        if slot.removed || self.stop.is_some_and(|stop| stop.instant) {
            slot.give_back_jobs("the scheduler is shutting down");
            return;
        }
        for job in std::mem::take(&mut slot.jobs) {
            self.launch_job(id, job, now).await;
        }
    }

    /// Whether the task starts now, and with which payload.
    ///
    /// Once a shutdown is under way nothing starts by its condition; a graceful shutdown
    /// still starts the runs requested before it was asked for.
    fn due(&mut self, id: usize, now: Timestamp) -> Result<Option<Request>, EngineError> {
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(None);
        };
        if slot.removed || self.stop.is_some_and(|stop| stop.instant) || self.holding {
            return Ok(None);
        }
        if !slot.multilaunch(&self.config) && !slot.live.is_empty() {
            return Ok(None);
        }
        let by_request = slot.has_requests();
        let by_condition = !by_request
            && !self.worker_only
            && self.stop.is_none()
            && !slot.state.is_disabled()
            && !slot.spec.runs_at_start_or_end()
            && {
                let (spec, name) = (slot.spec.clone(), slot.name().clone());
                self.check(&spec.start, Some(&name), "start", now)?
            };
        if !by_request && !by_condition {
            return Ok(None);
        }
        let slot = self.slots[id].as_mut().expect("checked above");
        if slot.execution() == Execution::Process
            && self.processes_running >= self.config.max_processes
        {
            if !self.waiting_for_process.contains(&id) {
                self.waiting_for_process.push(id);
            }
            return Ok(None);
        }
        Ok(Some(if by_request {
            slot.queued.as_mut().and_then(|q| q.pop_front()).flatten()
        } else {
            None
        }))
    }

    /// The dates the start condition requires (`Condition::required_dates`) that have
    /// neither run nor been recorded as missed: no `run` or `inaction` record of the task
    /// from the date on.
    fn unsettled_dates(&self, start: &Condition, name: &str, now: Timestamp) -> Vec<Unsettled> {
        use crate::log::{Action, ActionSet, History};
        let settled = ActionSet::of(Action::Run).with(Action::Inaction);
        start
            .required_dates()
            .into_iter()
            .filter_map(|once| {
                let (at, deadline) = once.window(self.zone);
                let index = self.journal.index();
                (!index.any_between(name, settled, Timestamp::from_micros(at), now)).then_some(
                    Unsettled {
                        once: *once,
                        at,
                        deadline,
                    },
                )
            })
            .collect()
    }

    /// Writes an `inaction` record ([`MissedDate`]) for each date the start condition
    /// requires whose misfire grace has ended without a run: the misfire policy's "skip,
    /// and say why". Once per date: the record settles it, also after a restart.
    fn record_missed_dates(&mut self, id: usize, now: Timestamp) {
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        let (spec, name) = (slot.spec.clone(), slot.name().clone());
        for date in self.unsettled_dates(&spec.start, &name, now) {
            if date.deadline >= now.as_micros() {
                continue;
            }
            let missed = MissedDate {
                once: date.once,
                due: Timestamp::from_micros(date.at),
            };
            tracing::warn!(task = %name, %missed, "a one-off date is skipped");
            let run_id = self.journal.run_id(now);
            let mut record =
                self.journal
                    .new_record(&name, crate::log::Action::Inaction, now, run_id);
            record.message = Some(missed.to_string());
            self.journal.record(record);
        }
    }

    /// Computes when the task must be looked at next, and queues the wake-up.
    pub(super) fn reschedule(&mut self, id: usize, now: Timestamp) -> Result<(), EngineError> {
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(());
        };
        let (spec, name): (Arc<_>, _) = (slot.spec.clone(), slot.name().clone());
        // A run already being terminated has no deadline left to watch: its end arrives as
        // an event, and a deadline in the past would wake the loop at once, again and again.
        let mut next: Option<i64> = slot
            .live
            .iter()
            .filter(|r| r.reason.is_none())
            .filter_map(|r| r.deadline)
            .min();
        let startable = !slot.removed
            && !self.worker_only
            && !slot.state.is_disabled()
            && !spec.runs_at_start_or_end()
            && self.stop.is_none()
            && (slot.multilaunch(&self.config) || slot.live.is_empty());
        if startable {
            let change = self.next_change(&spec.start, Some(&name), "start", now)?;
            next = [next, change].into_iter().flatten().min();
        }
        if startable {
            // The end of a pending date's grace, when it is missed and recorded, even if
            // the rest of the condition cannot change by then.
            let graces = self.unsettled_dates(&spec.start, &name, now);
            let ends = graces.iter().map(|d| d.deadline.saturating_add(1));
            next = next.into_iter().chain(ends).min();
        }
        if let Some(end) = &spec.end
            && !slot.live.is_empty()
        {
            let change = self.next_change(end, Some(&name), "end", now)?;
            next = [next, change].into_iter().flatten().min();
        }
        match next {
            Some(t) => self.wakeups.set(id, t),
            None => self.wakeups.clear(id),
        }
        Ok(())
    }
}

/// A one-off date of a start condition that has neither run nor been recorded as missed.
struct Unsettled {
    once: OnceAt,
    /// When it is due (UTC microseconds).
    at: i64,
    /// The last instant of its grace.
    deadline: i64,
}
