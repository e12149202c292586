//! Runs: starting one in its task's execution mode, and recording how it ended.

use std::collections::HashMap;

use tokio::sync::oneshot;

use crate::log::{Action, RunId};
use crate::runtime::context::{RunContext, RunState, TerminationFlag};
use crate::runtime::exec;
use crate::runtime::inject::RunInfo;
use crate::runtime::outcome::RunOutcome;
use crate::runtime::session::{Event, Finished, JobEnded, JobReply, JobRun};
use crate::runtime::task::TaskBody;
use crate::task_options::Execution;
use crate::time::Timestamp;

use super::Engine;
use super::slot::{LiveRun, Request};

impl Engine {
    pub(super) async fn launch(&mut self, id: usize, request: Request, now: Timestamp) {
        self.launch_run(id, request, None, now).await;
    }

    /// Starts a job's run (see `runtime::worker`): with its attempt's run id, and its end
    /// told to the worker.
    pub(super) async fn launch_job(&mut self, id: usize, job: JobRun, now: Timestamp) {
        let payload = Some(job.payload.clone());
        self.launch_run(id, payload, Some(job), now).await;
    }

    async fn launch_run(
        &mut self,
        id: usize,
        request: Request,
        job: Option<JobRun>,
        now: Timestamp,
    ) {
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        let (spec, name, execution, timeout) = (
            slot.spec.clone(),
            slot.name().clone(),
            slot.execution(),
            slot.timeout(&self.config),
        );
        let (run_id, reply) = match job {
            Some(job) => (job.run_id, Some(job.reply)),
            None => (self.journal.run_id(now), None),
        };
        let record = self.journal.new_record(&name, Action::Run, now, run_id);
        self.journal.record(record);
        // A run may change what its task's custom conditions answer (it drains the queue
        // they look at): they are asked again when the task is next looked at.
        self.customs.forget(&name);
        if self.hooks.has_run_hooks() {
            self.hooks.before(&RunInfo {
                task: name.to_string(),
                run_id,
                started: now,
            });
        }
        let flag = TerminationFlag::new();
        let cx = RunContext::new(RunState {
            task: name.clone(),
            run_id,
            started: now,
            session: Some(self.session.clone()),
            params: self.params.clone(),
            returns: self.returns.clone(),
            payload: request,
            termination: flag.clone(),
            decoders: HashMap::new(),
            param_values: Default::default(),
        });
        let deadline = timeout.map(|t| now.as_micros().saturating_add(t.as_micros() as i64));
        let tx = self.sender.clone();
        let finished = move |outcome: RunOutcome, captured: Option<String>| {
            let _ = tx.send(Event::Finished(Finished {
                slot: id,
                run_id,
                outcome,
                captured,
            }));
        };
        let mut stop = None;
        match (&spec.body, execution) {
            (TaskBody::Async(body), Execution::Main) => {
                let outcome = exec::run_async(body, cx).await;
                self.finish_run(id, run_id, now.as_micros(), None, outcome, None, reply);
                return;
            }
            (TaskBody::Blocking(body), Execution::Main) => {
                let outcome = exec::run_blocking(body, cx);
                self.finish_run(id, run_id, now.as_micros(), None, outcome, None, reply);
                return;
            }
            (TaskBody::Async(body), Execution::Async) => {
                let (stop_tx, stop_rx) = oneshot::channel::<()>();
                stop = Some(stop_tx);
                let body = body.clone();
                tokio::spawn(async move {
                    let outcome = tokio::select! {
                        biased;
                        _ = stop_rx => RunOutcome::Terminate(String::new()),
                        outcome = exec::run_async(&body, cx) => outcome,
                    };
                    finished(outcome, None);
                });
            }
            (TaskBody::Async(_) | TaskBody::Blocking(_), Execution::Process)
            | (TaskBody::Command(_), _) => {
                let (stop_tx, stop_rx) = oneshot::channel::<()>();
                stop = Some(stop_tx);
                let hold_time = self.clock.is_virtual();
                if execution == Execution::Process {
                    self.processes_running += 1;
                }
                let spec = spec.clone();
                tokio::spawn(async move {
                    // On a virtual clock, time stands still while a program runs.
                    let (release, held) = oneshot::channel::<()>();
                    if hold_time {
                        tokio::task::spawn_blocking(move || {
                            let _ = held.blocking_recv();
                        });
                    }
                    let (outcome, captured) = match &spec.body {
                        TaskBody::Command(command) => {
                            exec::run_command(cx.task_name(), command, stop_rx).await
                        }
                        _ => {
                            exec::run_in_child(
                                &cx,
                                spec.needs,
                                &spec.child_codecs.map_or_else(Vec::new, |codecs| codecs()),
                                stop_rx,
                            )
                            .await
                        }
                    };
                    drop(release);
                    finished(outcome, captured);
                });
            }
            (TaskBody::Blocking(body), _) => {
                let body = body.clone();
                tokio::task::spawn_blocking(move || finished(exec::run_blocking(&body, cx), None));
            }
            (TaskBody::Async(body), Execution::Thread) => {
                let body = body.clone();
                // A runtime of its own on a blocking-pool thread, as Rocketry runs a
                // coroutine in a thread with its own event loop: a busy body cannot stall
                // the scheduler's runtime. On a paused test clock the blocking task holds
                // virtual time still while it runs, as a child process does.
                tokio::task::spawn_blocking(move || {
                    let outcome = match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(runtime) => runtime.block_on(exec::run_async(&body, cx)),
                        Err(error) => RunOutcome::Fail(format!(
                            "could not start a runtime for the thread: {error}"
                        )),
                    };
                    finished(outcome, None);
                });
            }
        }
        if let Some(slot) = self.slots[id].as_mut() {
            slot.live.push_back(LiveRun {
                run_id,
                started: now.as_micros(),
                deadline,
                stop,
                flag,
                reason: None,
                job: reply,
            });
        }
        self.mark_readers_dirty(&name);
    }

    pub(super) fn finish(&mut self, f: Finished) {
        let Some(slot) = self.slots.get_mut(f.slot).and_then(Option::as_mut) else {
            return;
        };
        let Some(index) = slot.live.iter().position(|r| r.run_id == f.run_id) else {
            return;
        };
        let Some(run) = slot.live.remove(index) else {
            return;
        };
        if slot.execution() == Execution::Process {
            self.processes_running = self.processes_running.saturating_sub(1);
            for id in std::mem::take(&mut self.waiting_for_process) {
                self.mark_dirty(id);
            }
        }
        self.finish_run(
            f.slot,
            f.run_id,
            run.started,
            run.reason,
            f.outcome,
            f.captured,
            run.job,
        );
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "each caller has these parts apart; a struct would only be built to be taken apart"
    )]
    fn finish_run(
        &mut self,
        id: usize,
        run_id: RunId,
        started: i64,
        reason: Option<String>,
        outcome: RunOutcome,
        captured: Option<String>,
        job: Option<JobReply>,
    ) {
        let now = self.clock.now();
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        let (name, slot_codec) = (slot.name().clone(), slot.spec.output_codec);
        let outcome = match (outcome, reason) {
            (RunOutcome::Terminate(detail), Some(reason)) if detail.is_empty() => {
                RunOutcome::Terminate(reason)
            }
            (RunOutcome::Terminate(detail), Some(reason)) => {
                RunOutcome::Terminate(format!("{reason}: {detail}"))
            }
            (RunOutcome::Terminate(detail), None) if detail.is_empty() => {
                RunOutcome::Terminate("the run stopped".to_owned())
            }
            (outcome, _) => outcome,
        };
        let outcome = outcome.or_output_codec(slot_codec);
        let mut record = self
            .journal
            .new_record(&name, outcome.action(), now, run_id);
        record.duration_micros = Some(now.as_micros().saturating_sub(started));
        record.message = outcome
            .message()
            .filter(|m| !m.is_empty())
            .map(str::to_owned);
        record.output = captured;
        // The value, as JSON where its type can be written so, for `Return<task>` after a
        // restart.
        if let RunOutcome::Success(Some(output)) = &outcome {
            record.value = output.json();
        }
        match job {
            // A job's end waits for the queue's answer to its report (see
            // `JobEnded::Ran::record`): it comes back as `Command::JobRecords`.
            Some(job) => job.send(JobEnded::Ran {
                action: record.action,
                message: record.message.clone(),
                value: record.value.clone(),
                record: Some(Box::new(record)),
            }),
            None => self.journal.record(record),
        }
        if self.hooks.has_run_hooks() {
            let info = RunInfo {
                task: name.to_string(),
                run_id,
                started: Timestamp::from_micros(started),
            };
            self.hooks.after(&info, &outcome);
        }
        if let RunOutcome::Success(Some(output)) = outcome {
            // A value that crossed from a child process as JSON is read with the codec of
            // the task that returned it (attached above).
            self.returns.set(name.clone(), output);
        }
        self.mark_dirty(id);
        self.mark_readers_dirty(&name);
    }

    /// Writes the ends of job runs whose reports the queue has answered, and wakes the
    /// tasks that read those tasks.
    pub(super) fn record_job_ends(&mut self, records: Vec<crate::log::LogRecord>) {
        let mut tasks = Vec::new();
        for record in &records {
            if !tasks.contains(&record.task) {
                tasks.push(record.task.clone());
            }
        }
        self.journal.record_all(records);
        for task in tasks {
            self.mark_readers_dirty(&task);
        }
    }

    pub(super) fn terminate_all(&mut self, reason: &str) {
        for id in 0..self.slots.len() {
            self.terminate_task(id, reason);
        }
    }

    pub(super) fn terminate_task(&mut self, id: usize, reason: &str) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) {
            for run in &mut slot.live {
                run.terminate(reason);
            }
        }
    }
}
