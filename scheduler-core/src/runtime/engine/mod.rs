//! The scheduler's loop.
//!
//! One tokio task owns all state: the tasks, the in-memory index of the log, the runs in
//! progress. It sleeps until the earliest instant at which some task's condition can
//! change ([`Condition::next_change`]) or until an event arrives (a run ended, a session
//! request), wakes only the tasks concerned (a finished run wakes its own task and the
//! tasks whose conditions read it), evaluates them, starts the due ones, and writes the
//! new records through to the store. There is no polling cycle: with nothing due, the loop
//! costs nothing.
//!
//! Each pass of the loop is a cycle (what `scheduler has more than N cycles` counts).
//!
//! The engine is one type, [`Engine`], whose parts live in this folder:
//!
//! * this file: the loop itself (a pass, the wait, the events);
//! * `slot.rs`: what the engine keeps of a task beside its definition;
//! * `tasks.rs`: adding and removing tasks, and applying session requests;
//! * `changes.rs`: a session's changes of a task's settings and of session parameters,
//!   checked, applied and logged;
//! * `decide.rs`: evaluating conditions, deciding whether a task starts, and when to look
//!   at it next;
//! * `runs.rs`: starting a run in its execution mode and recording its end;
//! * `lifecycle.rs`: start-up, the shutdown condition, shutting down;
//! * `requests.rs`: runs requested by name, as jobs, when the store keeps a job queue;
//! * `journal.rs`: the log: the index conditions read, and the store (the only place that
//!   talks to it);
//! * `wakeups.rs`: the queue of instants at which tasks must be looked at.

mod changes;
mod decide;
mod journal;
mod lifecycle;
mod requests;
mod runs;
mod slot;
mod tasks;
mod wakeups;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::BoxFuture;
use crate::condition::{Condition, EvalError};
use crate::log::StoreError;
use crate::log::store::InstanceRecord;
use crate::time::{Timestamp, Tz};

use super::clock::Clock;
use super::config::{Config, RestartMode};
use super::context::{ParamRegistry, Returns};
use super::custom::{Arrival, CustomCache};
use super::hooks::Hooks;
use super::session::{Command, Event, Session};
use super::task::TaskSpec;
use super::worker::{WorkerHandle, WorkerMode};
use journal::Journal;
pub(crate) use journal::StoreSource;
use requests::JobRoute;
use slot::Slot;
use wakeups::WakeQueue;

/// An error that stops the scheduler.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The log store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A condition could not be evaluated (and condition errors stop the scheduler).
    #[error("the {which} condition of task '{task}' cannot be evaluated: {error}")]
    Condition {
        /// The task (empty for the shutdown condition).
        task: String,
        /// `start`, `end` or `shutdown`.
        which: &'static str,
        /// The error.
        error: EvalError,
    },
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Exit {
    /// A shutdown.
    Shutdown,
    /// A restart that the caller performs (replace or relaunch the process).
    Restart,
}

/// Everything the loop is built from.
pub(crate) struct EngineParts {
    pub(crate) specs: Vec<TaskSpec>,
    pub(crate) config: Config,
    pub(crate) zone: Tz,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) store: StoreSource,
    /// This process, as the store will know it.
    pub(crate) instance: InstanceRecord,
    pub(crate) params: Arc<ParamRegistry>,
    pub(crate) hooks: Arc<Hooks>,
    /// Whether a job worker runs beside the loop.
    pub(crate) worker: WorkerMode,
}

/// A shutdown or restart under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stop {
    /// Running runs are terminated, not waited for.
    instant: bool,
    restart: bool,
    /// The on-shutdown tasks have been started.
    begun: bool,
}

pub(crate) struct Engine {
    clock: Arc<dyn Clock>,
    zone: Tz,
    config: Config,
    slots: Vec<Option<Slot>>,
    by_name: HashMap<Arc<str>, usize>,
    /// Task name → slots whose conditions read that task.
    readers: HashMap<Arc<str>, Vec<usize>>,
    /// Slots whose conditions read the cycle count.
    cycle_readers: Vec<usize>,
    journal: Journal,
    returns: Arc<Returns>,
    params: Arc<ParamRegistry>,
    /// The answers of custom conditions.
    customs: CustomCache,
    /// The answers of `async` custom conditions, as their calls end.
    custom_arrivals: UnboundedReceiver<Arrival>,
    hooks: Arc<Hooks>,
    wakeups: WakeQueue,
    dirty: Vec<usize>,
    events: UnboundedReceiver<Event>,
    sender: UnboundedSender<Event>,
    session: Session,
    started: Timestamp,
    cycles: u64,
    processes_running: usize,
    waiting_for_process: Vec<usize>,
    stop: Option<Stop>,
    shut_cond_wake: Option<i64>,
    /// The pending wait of the loop, with its instant.
    sleep: Option<(i64, BoxFuture<'static, ()>)>,
    /// The task that tells the store this process is alive.
    heartbeat: Option<tokio::task::JoinHandle<()>>,
    /// Whether the engine holds new runs because records wait for a failing store (for
    /// saying so once).
    holding: bool,
    /// The job worker's settings.
    worker_mode: WorkerMode,
    /// The job worker running beside the loop.
    worker: Option<WorkerHandle>,
    /// Where requested runs go while the store keeps a job queue (else to their slots).
    job_route: Option<JobRoute>,
    /// The worker role alone: nothing starts by its condition.
    worker_only: bool,
}

fn reads_cycles(c: &Condition) -> bool {
    let mut found = false;
    c.visit_leaves(&mut |leaf| {
        if let Condition::Scheduler(s) = leaf {
            use crate::condition::SchedulerCondition as S;
            found |= matches!(
                s,
                S::CyclesMoreThan(_) | S::CyclesLessThan(_) | S::CyclesExactly(_)
            );
        }
    });
    found
}

impl Engine {
    pub(crate) fn new(
        parts: EngineParts,
        session: Session,
        events: UnboundedReceiver<Event>,
        sender: UnboundedSender<Event>,
    ) -> Engine {
        let journal = Journal::new(parts.store, parts.instance, parts.config.log_retention);
        let returns = Arc::new(Returns::default());
        let (arrivals, custom_arrivals) = tokio::sync::mpsc::unbounded_channel();
        let customs = CustomCache::new(
            session.clone(),
            parts.params.clone(),
            returns.clone(),
            parts.clock.clone(),
            arrivals,
        );
        let worker_only = parts.config.worker_only;
        let mut engine = Engine {
            clock: parts.clock,
            zone: parts.zone,
            config: parts.config,
            slots: Vec::new(),
            by_name: HashMap::new(),
            readers: HashMap::new(),
            cycle_readers: Vec::new(),
            journal,
            returns,
            params: parts.params,
            customs,
            custom_arrivals,
            hooks: parts.hooks,
            wakeups: WakeQueue::default(),
            dirty: Vec::new(),
            events,
            sender,
            session,
            started: Timestamp::from_micros(0),
            cycles: 0,
            processes_running: 0,
            waiting_for_process: Vec::new(),
            stop: None,
            shut_cond_wake: None,
            sleep: None,
            heartbeat: None,
            holding: false,
            worker_only,
            worker_mode: parts.worker,
            worker: None,
            job_route: None,
        };
        engine.slots.reserve_exact(parts.specs.len());
        engine.by_name.reserve(parts.specs.len());
        engine.wakeups.reserve(parts.specs.len());
        if let Some(shut) = engine.config.shut_cond.clone() {
            for (task, reach) in shut.log_retention() {
                // Leaves without a task fail to evaluate without an owner; they read nothing.
                if let Some(task) = task {
                    engine.journal.retain(task, reach);
                }
            }
        }
        for spec in parts.specs {
            engine.add_slot(spec);
        }
        engine
    }

    /// Runs the scheduler until it shuts down (or must be restarted by the caller).
    pub(crate) async fn run(mut self) -> Result<Exit, EngineError> {
        loop {
            self.startup().await?;
            let result = self.main_loop().await;
            // Runs requested before the shutdown are in the queue before the store closes,
            // and the worker reports what it ran.
            self.close_job_route().await;
            self.stop_worker().await;
            crate::queue::Queue::clear_default_if(self.journal.store());
            // Whatever happened, what was recorded reaches the store.
            let flushed = self.journal.flush_before_exit().await;
            if let Some(heartbeat) = self.heartbeat.take() {
                heartbeat.abort();
            }
            self.journal.stop(self.clock.now()).await;
            result?;
            flushed?;
            self.hooks.on_shutdown(&self.session);
            let stop = self.stop.take().unwrap_or(Stop {
                instant: false,
                restart: false,
                begun: true,
            });
            if stop.restart && self.config.restart == RestartMode::Recall {
                tracing::info!("restarting the scheduler in this process");
                self.session.clear_stopping();
                continue;
            }
            // Stopped for good (or to be started again by the caller, as a new scheduler):
            // a store opened from a URL is released, leaving its file tidy for the next start.
            self.journal.close().await;
            return Ok(if stop.restart {
                Exit::Restart
            } else {
                Exit::Shutdown
            });
        }
    }

    async fn main_loop(&mut self) -> Result<(), EngineError> {
        loop {
            let now = self.clock.now();
            self.pop_due(now);
            self.check_shut_cond(now)?;
            if let Some(stop) = self.stop
                && !stop.begun
            {
                self.begin_shutdown(now).await;
            }
            self.journal.poll(now).await;
            // What ended is durable before the runs that read it start.
            if self.dirty_reads_unwritten() {
                self.journal.sync(now).await;
            }
            self.hold_while_the_store_fails();
            self.step_dirty(now).await?;
            if self.journal.flush_due(now) {
                self.journal.flush(now).await;
            }
            self.prune_if_due(now);
            if self.stop.is_some() && self.live_runs() == 0 && !self.has_requests() {
                return Ok(());
            }
            self.cycles += 1;
            let cycle_readers = self.cycle_readers.clone();
            if !self.dirty.is_empty() {
                // More to do at once: let the runs just started make progress first.
                tokio::task::yield_now().await;
                self.drain_events()?;
            } else {
                self.wait().await?;
            }
            for id in cycle_readers {
                self.mark_dirty(id);
            }
        }
    }

    /// Sleeps until the next wake-up or event, and handles the events that arrived.
    async fn wait(&mut self) -> Result<(), EngineError> {
        let next = [
            self.wakeups.next(),
            self.shut_cond_wake,
            self.journal.retry_at(),
            self.journal.flush_at(),
        ]
        .into_iter()
        .flatten()
        .min();
        // The end of a write in the background wakes the loop too, to take its result (a
        // failing store's retry, above all) and write what waits behind it.
        let write_ended = self.journal.write_ended();
        let mut arrived = None;
        let event = match next {
            Some(t) => {
                // The same wait is kept across events until its instant changes: a clock's
                // wait may have started work (a precise OS sleep) that a new one would
                // repeat.
                let sleep = match &mut self.sleep {
                    Some((deadline, sleep)) if *deadline == t => sleep,
                    slot => {
                        &mut slot
                            .insert((t, self.clock.sleep_until(Timestamp::from_micros(t))))
                            .1
                    }
                };
                let (event, keep_sleep) = tokio::select! {
                    biased;
                    event = self.events.recv() => {
                        let some = event.is_some();
                        (event, some)
                    }
                    Some(arrival) = self.custom_arrivals.recv() => {
                        arrived = Some(arrival);
                        (None, true)
                    }
                    () = sleep => (None, false),
                    () = write_ended => (None, true),
                };
                if !keep_sleep {
                    self.sleep = None;
                }
                event
            }
            None => tokio::select! {
                biased;
                event = self.events.recv() => event,
                Some(arrival) = self.custom_arrivals.recv() => {
                    arrived = Some(arrival);
                    None
                }
                () = write_ended => None,
            },
        };
        if let Some(arrival) = arrived {
            self.custom_arrived(arrival);
        }
        if let Some(event) = event {
            self.handle(event).await?;
        }
        self.drain_events()
    }

    /// Keeps the answer of an `async` custom condition and marks its task for a look (the
    /// shutdown condition is looked at on every pass).
    fn custom_arrived(&mut self, arrival: Arrival) {
        if let Some(Some(task)) = self.customs.arrived(arrival, self.clock.now())
            && let Some(&id) = self.by_name.get(&task)
        {
            self.mark_dirty(id);
        }
    }

    fn drain_events(&mut self) -> Result<(), EngineError> {
        while let Ok(arrival) = self.custom_arrivals.try_recv() {
            self.custom_arrived(arrival);
        }
        // Bounded, so that a flood of events cannot starve due tasks.
        for _ in 0..4096 {
            match self.events.try_recv() {
                Ok(Event::Finished(f)) => self.finish(f),
                Ok(Event::Command(Command::Query(query, reply))) => {
                    // Answered after a flush, in `handle`; queue it back.
                    let _ = self
                        .sender
                        .send(Event::Command(Command::Query(query, reply)));
                    break;
                }
                Ok(Event::Command(c)) => self.apply(c),
                Err(_) => break,
            }
        }
        Ok(())
    }

    async fn handle(&mut self, event: Event) -> Result<(), EngineError> {
        match event {
            Event::Finished(f) => self.finish(f),
            Event::Command(Command::Query(query, reply)) => {
                let _ = reply.send(self.journal.query(&query).await);
            }
            Event::Command(c) => self.apply(c),
        }
        Ok(())
    }

    /// With a store that keeps a job queue: makes the queue the process-wide default of
    /// `apply`, and sends the session's requested runs to it (`Session::run`), except on a
    /// virtual clock without a worker asked for, where they stay in the process so that a
    /// test's runs happen in virtual time.
    pub(super) fn open_queue(&mut self) {
        let Ok(queue) = crate::queue::Queue::new(self.journal.store().clone()) else {
            return;
        };
        let queue = queue.with_clock(self.clock.clone());
        queue.set_default();
        let in_process = self.worker_mode == WorkerMode::Auto && self.clock.is_virtual();
        if !in_process && self.job_route.is_none() {
            self.job_route = Some(JobRoute::start(queue));
        }
    }

    /// Waits until the runs requested so far are enqueued.
    async fn close_job_route(&mut self) {
        if let Some(route) = self.job_route.take() {
            route.close().await;
        }
    }

    /// Starts the job worker, if one runs here and the store keeps a queue.
    fn start_worker(&mut self) {
        let store = self.journal.store().clone();
        if store.jobs().is_none() || self.worker.is_some() {
            return;
        }
        let config = match &self.worker_mode {
            WorkerMode::Off => return,
            WorkerMode::Auto if self.clock.is_virtual() => return,
            WorkerMode::Auto => super::worker::WorkerConfig::default(),
            WorkerMode::On(config) => config.clone(),
        };
        self.worker = Some(super::worker::spawn_worker(
            self.session.clone(),
            store,
            self.clock.clone(),
            self.journal.instance().id,
            config,
        ));
    }

    /// Tells the worker to stop claiming (it finishes or gives back what it holds).
    fn signal_worker(&self) {
        if let Some(worker) = &self.worker {
            let _ = worker.stop.send(true);
        }
    }

    /// Stops the worker and waits for it to report its jobs; jobs it hands over meanwhile
    /// are given back.
    async fn stop_worker(&mut self) {
        let Some(mut worker) = self.worker.take() else {
            return;
        };
        let _ = worker.stop.send(true);
        loop {
            tokio::select! {
                // Events first: the worker's last job records are sent before it ends.
                biased;
                event = self.events.recv() => match event {
                    Some(Event::Command(Command::RunJob(job))) => {
                        job.reply.send(super::session::JobEnded::NotStarted("the scheduler stopped"));
                    }
                    Some(Event::Finished(f)) => self.finish(f),
                    Some(Event::Command(Command::JobRecords(records))) => {
                        self.record_job_ends(records);
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = &mut worker.task => break,
            }
        }
    }

    /// Whether a task to look at reads a task whose latest finish is not written yet.
    fn dirty_reads_unwritten(&self) -> bool {
        self.dirty.iter().any(|&id| {
            self.slots[id].as_ref().is_some_and(|slot| {
                self.journal
                    .has_unwritten_end(slot.reads.iter().map(|task| &**task))
            })
        })
    }

    /// Stops starting runs while so many records wait for a failing store (see `journal`).
    fn hold_while_the_store_fails(&mut self) {
        let holding = self.journal.is_holding();
        if holding && !self.holding {
            tracing::error!(
                "no new run starts until the log store accepts the records waiting for it"
            );
        } else if !holding && self.holding {
            tracing::info!("runs start again: the log store has taken the waiting records");
            for id in 0..self.slots.len() {
                self.mark_dirty(id);
            }
        }
        self.holding = holding;
    }

    /// Prunes old records in the background when the retention policy says it is time.
    fn prune_if_due(&mut self, now: Timestamp) {
        if let Some(rules) = self.journal.prune_due(now) {
            let store = self.journal.store().clone();
            tokio::spawn(async move {
                match store.prune(&rules).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(records = n, "pruned {n} old records from the log"),
                    Err(error) => tracing::warn!("cannot prune the log: {error}"),
                }
            });
        }
    }

    fn pop_due(&mut self, now: Timestamp) {
        let mut due = std::mem::take(&mut self.wakeups);
        due.pop_due(now.as_micros(), |id| self.mark_dirty(id));
        self.wakeups = due;
    }
}
