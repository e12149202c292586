//! The engine's life: start-up (loading the log, closing the runs a dead process left
//! open, the start-up tasks), the shutdown condition, and shutting down.

use std::cmp::Reverse;

use crate::runtime::outcome::Output;
use crate::task_options::TaskOptions;
use crate::time::Timestamp;

use super::journal::HEARTBEAT;
use super::{Engine, EngineError, Stop};

impl Engine {
    pub(super) async fn startup(&mut self) -> Result<(), EngineError> {
        let now = self.clock.now();
        // What the store remembers: records, the values tasks returned last, and the runs
        // that dead processes left open (closed as crashed).
        let restored = self.journal.start(now).await?;
        let remembered = restored.values.len();
        for (task, json) in restored.values {
            if let Some(slot) = self
                .by_name
                .get(task.as_str())
                .and_then(|&id| self.slots[id].as_ref())
            {
                let output = Output::from_json(json, "JSON").or_codec(slot.spec.output_codec);
                self.returns.set(slot.name().clone(), output);
            }
        }
        if !self.journal.index().is_empty() {
            tracing::info!(
                records = self.journal.index().len(),
                values = remembered,
                "the log remembers {} records of earlier runs",
                self.journal.index().len()
            );
        }
        self.journal.sync(now).await;
        self.start_heartbeat();
        self.started = now;
        self.cycles = 0;
        tracing::info!(tasks = self.by_name.len(), zone = %self.zone, "scheduler started");
        // Before the hooks, which may request runs.
        self.open_queue();
        self.hooks.on_startup(&self.session);
        self.start_worker();

        let startup =
            self.enabled_slots_by_priority(|options| options.on_startup && !self.worker_only);
        for id in startup {
            self.launch(id, None, self.clock.now()).await;
        }
        // Start-up tasks finish before anything else starts.
        self.pump_until_idle().await?;
        for id in 0..self.slots.len() {
            self.mark_dirty(id);
        }
        Ok(())
    }

    /// The enabled tasks whose options `pick` chooses, highest priority first.
    fn enabled_slots_by_priority(&self, pick: impl Fn(&TaskOptions) -> bool) -> Vec<usize> {
        let mut ids: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| {
                s.as_ref()
                    .filter(|s| pick(&s.spec.options) && !s.state.is_disabled())
                    .map(|_| id)
            })
            .collect();
        ids.sort_by_key(|&id| {
            Reverse(
                self.slots[id]
                    .as_ref()
                    .map_or(0, |s| s.spec.options.priority),
            )
        });
        ids
    }

    /// Tells the store now and then that this process is alive, so that other processes
    /// sharing it do not take its runs for crashed.
    fn start_heartbeat(&mut self) {
        if self.heartbeat.is_some() {
            return;
        }
        let (store, clock) = (self.journal.store().clone(), self.clock.clone());
        let mut instance = self.journal.instance().clone();
        self.heartbeat = Some(tokio::spawn(async move {
            loop {
                let next = clock.now().as_micros() + HEARTBEAT.as_micros() as i64;
                clock.sleep_until(Timestamp::from_micros(next)).await;
                instance.last_seen = clock.now();
                if let Err(error) = store.register(&instance).await {
                    tracing::warn!(
                        "cannot tell the log store that this scheduler is alive: {error}"
                    );
                }
            }
        }));
    }

    /// Handles events and timeouts (starting nothing) until no run is in progress.
    async fn pump_until_idle(&mut self) -> Result<(), EngineError> {
        while self.live_runs() > 0 {
            let now = self.clock.now();
            self.enforce_limits(now)?;
            self.journal.sync(now).await;
            self.wait().await?;
        }
        Ok(())
    }

    pub(super) fn check_shut_cond(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let Some(shut) = self.config.shut_cond.clone() else {
            return Ok(());
        };
        if self.stop.is_some() {
            return Ok(());
        }
        // Checked on every pass: it may read any task's records or the cycle count.
        if self.check(&shut, None, "shutdown", now)? {
            tracing::info!(condition = %shut, "the shutdown condition holds");
            self.request_stop(false, false);
            return Ok(());
        }
        self.shut_cond_wake = self.next_change(&shut, None, "shutdown", now)?;
        Ok(())
    }

    pub(super) fn request_stop(&mut self, instant: bool, restart: bool) {
        let instant = instant || self.config.instant_shutdown;
        // The worker claims nothing more; what it holds finishes (or, now, is terminated
        // and given back).
        self.signal_worker();
        self.session.mark_stopping();
        match &mut self.stop {
            Some(stop) => {
                stop.restart |= restart;
                if instant && !stop.instant {
                    stop.instant = true;
                    self.terminate_all("the scheduler is shutting down now");
                    self.drop_requests();
                }
            }
            None => {
                self.stop = Some(Stop {
                    instant,
                    restart,
                    begun: false,
                });
                if instant {
                    self.drop_requests();
                }
            }
        }
    }

    /// Forgets the runs requested by name that have not started, saying so: an instant
    /// shutdown starts nothing more. (A graceful one starts them, see `decide::due`.)
    fn drop_requests(&mut self) {
        for slot in self.slots.iter_mut().flatten() {
            slot.give_back_jobs("the scheduler is shutting down now");
            if let Some(queued) = slot.queued.take().filter(|q| !q.is_empty()) {
                tracing::warn!(
                    task = %slot.name(),
                    requests = queued.len(),
                    "{} requested run(s) of {} do not start: the scheduler is shutting down now",
                    queued.len(),
                    slot.name()
                );
            }
        }
    }

    pub(super) async fn begin_shutdown(&mut self, now: Timestamp) {
        let Some(stop) = self.stop.as_mut() else {
            return;
        };
        stop.begun = true;
        let instant = stop.instant;
        tracing::info!(instant, "the scheduler is shutting down");
        let worker_only = self.worker_only;
        let on_shutdown =
            self.enabled_slots_by_priority(|options| options.on_shutdown && !worker_only);
        if instant {
            self.terminate_all("the scheduler is shutting down now");
        } else {
            for id in 0..self.slots.len() {
                if self.slots[id]
                    .as_ref()
                    .is_some_and(|s| s.spec.options.permanent)
                {
                    self.terminate_task(id, "the scheduler is shutting down");
                }
            }
        }
        for id in on_shutdown {
            self.launch(id, None, now).await;
        }
    }
}
