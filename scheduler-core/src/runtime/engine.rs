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

use std::cmp::Reverse;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use crate::condition::{Condition, EvalContext, EvalError, NextChange};
use crate::log::{Action, History, LogRecord, MemoryLog, Retention};
use crate::time::{Timestamp, Tz};

use super::clock::{BoxFuture, Clock};
use super::config::{ConditionErrors, Config, DuplicatePolicy, RestartMode};
use super::context::{ParamRegistry, Returns, RunContext, RunState, TerminationFlag};
use super::exec;
use super::hooks::Hooks;
use super::inject::RunInfo;
use super::outcome::RunOutcome;
use super::session::{Command, Event, Finished, Session};
use super::store::{LogStore, StoreError};
use super::task::{Execution, TaskBody, TaskSpec, Timeout};
use super::wakeups::WakeQueue;

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
    pub(crate) store: Arc<dyn LogStore>,
    pub(crate) params: Arc<ParamRegistry>,
    pub(crate) hooks: Arc<Hooks>,
}

struct LiveRun {
    run_id: u64,
    started: i64,
    deadline: Option<i64>,
    stop: Option<oneshot::Sender<()>>,
    flag: TerminationFlag,
    reason: Option<String>,
}

struct Slot {
    spec: Arc<TaskSpec>,
    execution: Execution,
    multilaunch: bool,
    timeout: Option<Duration>,
    disabled: bool,
    removed: bool,
    /// Runs requested by name, with their payloads; boxed when there are some, since most
    /// tasks are never run on request and a scheduler may hold thousands of them.
    #[expect(
        clippy::box_collection,
        reason = "8 bytes in every slot instead of 32; most tasks never queue a run"
    )]
    queued: Option<Box<VecDeque<Option<Arc<serde_json::Value>>>>>,
    live: Vec<LiveRun>,
    dirty: bool,
}

impl Slot {
    fn name(&self) -> &Arc<str> {
        &self.spec.name
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stop {
    instant: bool,
    restart: bool,
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
    /// The log as conditions read it, keeping of each task what some condition needs.
    log: MemoryLog,
    loaded: bool,
    store: Arc<dyn LogStore>,
    unflushed: Vec<LogRecord>,
    returns: Arc<Returns>,
    params: Arc<ParamRegistry>,
    hooks: Arc<Hooks>,
    wakeups: WakeQueue,
    dirty: Vec<usize>,
    events: UnboundedReceiver<Event>,
    sender: UnboundedSender<Event>,
    session: Session,
    started: Timestamp,
    cycles: u64,
    next_run_id: u64,
    processes_running: usize,
    waiting_for_process: Vec<usize>,
    stop: Option<Stop>,
    shut_cond_wake: Option<i64>,
    /// The pending wait of the loop, with its instant.
    sleep: Option<(i64, BoxFuture<'static, ()>)>,
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

/// A run's length for the log: `850µs`, `12.5ms`, `3.20s`, `4m05s`.
fn readable_duration(micros: i64) -> String {
    let micros = micros.max(0);
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{:.1}ms", micros as f64 / 1e3),
        1_000_000..60_000_000 => format!("{:.2}s", micros as f64 / 1e6),
        _ => {
            let secs = micros / 1_000_000;
            format!("{}m{:02}s", secs / 60, secs % 60)
        }
    }
}

fn wake_of(change: NextChange) -> Option<i64> {
    change.instant().map(Timestamp::as_micros)
}

impl Engine {
    pub(crate) fn new(
        parts: EngineParts,
        session: Session,
        events: UnboundedReceiver<Event>,
        sender: UnboundedSender<Event>,
    ) -> Engine {
        let mut engine = Engine {
            clock: parts.clock,
            zone: parts.zone,
            config: parts.config,
            slots: Vec::new(),
            by_name: HashMap::new(),
            readers: HashMap::new(),
            cycle_readers: Vec::new(),
            log: MemoryLog::new(),
            loaded: false,
            store: parts.store,
            unflushed: Vec::new(),
            returns: Arc::new(Returns::default()),
            params: parts.params,
            hooks: parts.hooks,
            wakeups: WakeQueue::default(),
            dirty: Vec::new(),
            events,
            sender,
            session,
            started: Timestamp::from_micros(0),
            cycles: 0,
            next_run_id: 1,
            processes_running: 0,
            waiting_for_process: Vec::new(),
            stop: None,
            shut_cond_wake: None,
            sleep: None,
        };
        // What every task's own condition reads; tasks whose records are read further
        // back get their own retention below.
        engine.log.set_default_retention(Some(Retention::LATEST));
        engine.slots.reserve_exact(parts.specs.len());
        engine.by_name.reserve(parts.specs.len());
        engine.wakeups.reserve(parts.specs.len());
        if let Some(shut) = engine.config.shut_cond.clone() {
            for (task, reach) in shut.log_retention() {
                // Leaves without a task fail to evaluate without an owner; they read nothing.
                if let Some(task) = task {
                    engine.retain(task, reach);
                }
            }
        }
        for spec in parts.specs {
            engine.add_slot(spec);
        }
        engine
    }

    /// Widens what the log keeps of `task` to what `reach` needs. Retentions only widen:
    /// a task removed may be added again, and records dropped do not come back anyway.
    fn retain(&mut self, task: &str, reach: Retention) {
        let kept = self.log.retention(task);
        let widened = kept.map_or(reach, |kept| kept.widen(reach));
        if kept != Some(widened) {
            self.log.set_retention(task, widened);
        }
    }

    /// Runs the scheduler until it shuts down (or must be restarted by the caller).
    pub(crate) async fn run(mut self) -> Result<Exit, EngineError> {
        loop {
            self.startup().await?;
            let result = self.main_loop().await;
            // Whatever happened, what was recorded reaches the store.
            let flushed = self.flush().await;
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
            return Ok(if stop.restart {
                Exit::Restart
            } else {
                Exit::Shutdown
            });
        }
    }

    // ------------------------------------------------------------------------------------
    // Tasks
    // ------------------------------------------------------------------------------------

    fn add_slot(&mut self, mut spec: TaskSpec) {
        if let Some(&existing) = self.by_name.get(&*spec.name) {
            match self.config.on_duplicate {
                DuplicatePolicy::Error | DuplicatePolicy::Ignore => {
                    tracing::warn!(task = %spec.name, "a task with this name exists; the new one is not added");
                    return;
                }
                DuplicatePolicy::Replace => self.remove_slot(existing),
                DuplicatePolicy::Rename => {
                    let base = spec.name.to_string();
                    let mut n = 1;
                    while self.by_name.contains_key(format!("{base} - {n}").as_str()) {
                        n += 1;
                    }
                    spec.name = format!("{base} - {n}").into();
                }
            }
        }
        let id = self.slots.len();
        let name = spec.name.clone();
        let mut read: Vec<&str> = spec.start.referenced_tasks();
        if let Some(end) = &spec.end {
            read.extend(end.referenced_tasks());
        }
        for task in read {
            self.readers.entry(Arc::from(task)).or_default().push(id);
        }
        if reads_cycles(&spec.start) || spec.end.as_deref().is_some_and(reads_cycles) {
            self.cycle_readers.push(id);
        }
        let mut reach: Vec<(String, Retention)> = Vec::new();
        for condition in std::iter::once(&spec.start).chain(spec.end.as_deref()) {
            reach.extend(
                condition
                    .log_retention()
                    .into_iter()
                    .map(|(task, r)| (task.unwrap_or(&spec.name).to_owned(), r)),
            );
        }
        for (task, r) in reach {
            self.retain(&task, r);
        }
        let execution = spec.execution_mode();
        let timeout = if spec.permanent {
            None
        } else {
            match spec.timeout {
                Some(Timeout::After(d)) => Some(d),
                Some(Timeout::Never) => None,
                None => self.config.default_timeout,
            }
        };
        let spec = Arc::new(spec);
        self.session.set_summary(spec.clone());
        self.by_name.insert(name.clone(), id);
        self.slots.push(Some(Slot {
            multilaunch: spec.multilaunch.unwrap_or(self.config.multilaunch)
                && execution != Execution::Main,
            disabled: spec.disabled,
            spec,
            execution,
            timeout,
            removed: false,
            queued: None,
            live: Vec::new(),
            dirty: false,
        }));
        self.mark_dirty(id);
    }

    fn remove_slot(&mut self, id: usize) {
        self.wakeups.clear(id);
        if let Some(slot) = self.slots[id].take() {
            // The name may belong to a newer task by now (removed, then added again).
            if self.by_name.get(slot.name()) == Some(&id) {
                self.by_name.remove(slot.name());
                self.session.remove_summary(slot.name());
                self.returns.remove(slot.name());
            }
            for readers in self.readers.values_mut() {
                readers.retain(|&r| r != id);
            }
            self.cycle_readers.retain(|&r| r != id);
        }
    }

    fn mark_dirty(&mut self, id: usize) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut)
            && !slot.dirty
        {
            slot.dirty = true;
            self.dirty.push(id);
        }
    }

    fn mark_readers_dirty(&mut self, name: &str) {
        if let Some(readers) = self.readers.get(name).cloned() {
            for id in readers {
                self.mark_dirty(id);
            }
        }
    }

    fn live_runs(&self) -> usize {
        self.slots.iter().flatten().map(|s| s.live.len()).sum()
    }

    // ------------------------------------------------------------------------------------
    // Conditions
    // ------------------------------------------------------------------------------------

    fn eval_context<'a>(&'a self, owner: Option<&'a str>) -> EvalContext<'a> {
        let cx = EvalContext::new(&self.log)
            .zone(self.zone)
            .params(&*self.params)
            .scheduler_started(self.started)
            .cycles(self.cycles);
        match owner {
            Some(owner) => cx.owner(owner),
            None => cx,
        }
    }

    /// The value of a condition, or the configured stand-in for an error.
    fn check(
        &self,
        condition: &Condition,
        owner: Option<&str>,
        which: &'static str,
        now: Timestamp,
    ) -> Result<bool, EngineError> {
        match condition.evaluate(&self.eval_context(owner), now) {
            Ok(v) => Ok(v),
            Err(error) => self
                .condition_error(owner, which, error)
                .map(|()| which == "end"),
        }
    }

    fn next_change(
        &self,
        condition: &Condition,
        owner: Option<&str>,
        which: &'static str,
        now: Timestamp,
    ) -> Result<Option<i64>, EngineError> {
        match condition.next_change(&self.eval_context(owner), now) {
            Ok(change) => Ok(wake_of(change)),
            Err(error) => self.condition_error(owner, which, error).map(|()| None),
        }
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

    // ------------------------------------------------------------------------------------
    // The log
    // ------------------------------------------------------------------------------------

    fn record(
        &mut self,
        task: &Arc<str>,
        action: Action,
        at: Timestamp,
        run_id: Option<u64>,
        duration: Option<i64>,
        message: Option<String>,
    ) {
        self.log.record(task, action, at);
        let took = duration
            .map(|d| format!(" after {}", readable_duration(d)))
            .unwrap_or_default();
        let detail = message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        match action {
            Action::Run => tracing::info!(task = %task, run = run_id, "{task} started"),
            Action::Success => tracing::info!(task = %task, run = run_id, "{task} succeeded{took}"),
            Action::Inaction => {
                tracing::info!(task = %task, run = run_id, "{task} had nothing to do{took}{detail}")
            }
            Action::Fail => {
                tracing::error!(task = %task, run = run_id, "{task} failed{took}{detail}")
            }
            Action::Crash => tracing::error!(task = %task, run = run_id, "{task} crashed{detail}"),
            Action::Terminate => {
                tracing::warn!(task = %task, run = run_id, "{task} was terminated{took}{detail}")
            }
        }
        self.unflushed.push(LogRecord {
            task: task.to_string(),
            action,
            at,
            run_id,
            duration_micros: duration,
            message,
        });
    }

    async fn flush(&mut self) -> Result<(), EngineError> {
        if self.unflushed.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.unflushed);
        self.store.append(batch).await?;
        Ok(())
    }

    // ------------------------------------------------------------------------------------
    // Life cycle
    // ------------------------------------------------------------------------------------

    async fn startup(&mut self) -> Result<(), EngineError> {
        let now = self.clock.now();
        if !self.loaded {
            for r in self.store.load().await? {
                self.log.record(&r.task, r.action, r.at);
            }
            self.loaded = true;
        }
        // Runs left open by a process that died are closed as crashed.
        let names: Vec<Arc<str>> = self
            .slots
            .iter()
            .flatten()
            .map(|s| s.name().clone())
            .collect();
        for name in names {
            for _ in 0..self.log.live_runs(&name, now) {
                self.record(
                    &name,
                    Action::Crash,
                    now,
                    None,
                    None,
                    Some("the process running it stopped".to_owned()),
                );
            }
        }
        self.started = now;
        self.cycles = 0;
        tracing::info!(tasks = self.by_name.len(), zone = %self.zone, "scheduler started");
        self.hooks.on_startup(&self.session);

        let mut startup: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| {
                s.as_ref()
                    .filter(|s| s.spec.on_startup && !s.disabled)
                    .map(|_| id)
            })
            .collect();
        startup.sort_by_key(|&id| Reverse(self.slots[id].as_ref().map_or(0, |s| s.spec.priority)));
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

    /// Handles events and timeouts (starting nothing) until no run is in progress.
    async fn pump_until_idle(&mut self) -> Result<(), EngineError> {
        while self.live_runs() > 0 {
            let now = self.clock.now();
            self.enforce_limits(now)?;
            self.flush().await?;
            self.wait().await?;
        }
        Ok(())
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
            self.step_dirty(now).await?;
            self.flush().await?;
            if self.stop.is_some() && self.live_runs() == 0 {
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
        let next = [self.wakeups.next(), self.shut_cond_wake]
            .into_iter()
            .flatten()
            .min();
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
                let event = tokio::select! {
                    biased;
                    event = self.events.recv() => event,
                    () = sleep => None,
                };
                if event.is_none() {
                    self.sleep = None;
                }
                event
            }
            None => self.events.recv().await,
        };
        if let Some(event) = event {
            self.handle(event).await?;
        }
        self.drain_events()
    }

    fn drain_events(&mut self) -> Result<(), EngineError> {
        // Bounded, so that a flood of events cannot starve due tasks.
        for _ in 0..4096 {
            match self.events.try_recv() {
                Ok(Event::Finished(f)) => self.finish(f),
                Ok(Event::Command(Command::Records(reply))) => {
                    // Answered after the next flush, in `handle`; queue it back.
                    let _ = self.sender.send(Event::Command(Command::Records(reply)));
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
            Event::Command(Command::Records(reply)) => {
                self.flush().await?;
                let _ = reply.send(self.store.load().await?);
            }
            Event::Command(c) => self.apply(c),
        }
        Ok(())
    }

    fn pop_due(&mut self, now: Timestamp) {
        let mut due = std::mem::take(&mut self.wakeups);
        due.pop_due(now.as_micros(), |id| self.mark_dirty(id));
        self.wakeups = due;
    }

    fn check_shut_cond(&mut self, now: Timestamp) -> Result<(), EngineError> {
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

    fn request_stop(&mut self, instant: bool, restart: bool) {
        let instant = instant || self.config.instant_shutdown;
        self.session.mark_stopping();
        match &mut self.stop {
            Some(stop) => {
                stop.restart |= restart;
                if instant && !stop.instant {
                    stop.instant = true;
                    self.terminate_all("the scheduler is shutting down now");
                }
            }
            None => {
                self.stop = Some(Stop {
                    instant,
                    restart,
                    begun: false,
                })
            }
        }
    }

    async fn begin_shutdown(&mut self, now: Timestamp) {
        let Some(stop) = self.stop.as_mut() else {
            return;
        };
        stop.begun = true;
        let instant = stop.instant;
        tracing::info!(instant, "the scheduler is shutting down");
        let mut on_shutdown: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(id, s)| {
                s.as_ref()
                    .filter(|s| s.spec.on_shutdown && !s.disabled)
                    .map(|_| id)
            })
            .collect();
        on_shutdown
            .sort_by_key(|&id| Reverse(self.slots[id].as_ref().map_or(0, |s| s.spec.priority)));
        if instant {
            self.terminate_all("the scheduler is shutting down now");
        } else {
            for id in 0..self.slots.len() {
                if self.slots[id].as_ref().is_some_and(|s| s.spec.permanent) {
                    self.terminate_task(id, "the scheduler is shutting down");
                }
            }
        }
        for id in on_shutdown {
            self.launch(id, None, now).await;
        }
    }

    fn terminate_all(&mut self, reason: &str) {
        for id in 0..self.slots.len() {
            self.terminate_task(id, reason);
        }
    }

    fn terminate_task(&mut self, id: usize, reason: &str) {
        if let Some(slot) = self.slots.get_mut(id).and_then(Option::as_mut) {
            for run in &mut slot.live {
                terminate_run(run, reason);
            }
        }
    }

    // ------------------------------------------------------------------------------------
    // One task
    // ------------------------------------------------------------------------------------

    async fn step_dirty(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let mut ids = std::mem::take(&mut self.dirty);
        ids.sort_by_key(|&id| {
            (
                Reverse(self.slots[id].as_ref().map_or(0, |s| s.spec.priority)),
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
    fn enforce_limits(&mut self, now: Timestamp) -> Result<(), EngineError> {
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
        for run in &mut slot.live {
            if run.reason.is_none() && run.deadline.is_some_and(|d| d <= now.as_micros()) {
                let timeout = slot.timeout.unwrap_or_default();
                terminate_run(
                    run,
                    &format!(
                        "timed out after {}",
                        crate::time::Interval::new(timeout)
                            .map(|i| i.to_string())
                            .unwrap_or_default()
                    ),
                );
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
        if let Some(payload) = self.due(id, now)? {
            self.launch(id, payload, now).await;
        }
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(());
        };
        if slot.removed && slot.live.is_empty() {
            self.remove_slot(id);
            return Ok(());
        }
        self.reschedule(id, now)
    }

    /// Whether the task starts now, and with which payload.
    #[allow(clippy::option_option)]
    fn due(
        &mut self,
        id: usize,
        now: Timestamp,
    ) -> Result<Option<Option<Arc<serde_json::Value>>>, EngineError> {
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(None);
        };
        if slot.removed || self.stop.is_some() {
            return Ok(None);
        }
        if !slot.multilaunch && !slot.live.is_empty() {
            return Ok(None);
        }
        let by_request = slot.queued.as_ref().is_some_and(|q| !q.is_empty());
        let by_condition =
            !by_request && !slot.disabled && !slot.spec.on_startup && !slot.spec.on_shutdown && {
                let (spec, name) = (slot.spec.clone(), slot.name().clone());
                self.check(&spec.start, Some(&name), "start", now)?
            };
        if !by_request && !by_condition {
            return Ok(None);
        }
        let slot = self.slots[id].as_mut().expect("checked above");
        if slot.execution == Execution::Process
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

    /// Computes when the task must be looked at next, and queues the wake-up.
    fn reschedule(&mut self, id: usize, now: Timestamp) -> Result<(), EngineError> {
        let Some(slot) = self.slots[id].as_ref() else {
            return Ok(());
        };
        let (spec, name) = (slot.spec.clone(), slot.name().clone());
        // A run already being terminated has no deadline left to watch: its end arrives as
        // an event, and a deadline in the past would wake the loop at once, again and again.
        let mut next: Option<i64> = slot
            .live
            .iter()
            .filter(|r| r.reason.is_none())
            .filter_map(|r| r.deadline)
            .min();
        let startable = !slot.removed
            && !slot.disabled
            && !spec.on_startup
            && !spec.on_shutdown
            && self.stop.is_none()
            && (slot.multilaunch || slot.live.is_empty());
        if startable {
            let change = self.next_change(&spec.start, Some(&name), "start", now)?;
            next = [next, change].into_iter().flatten().min();
        }
        if let Some(end) = &spec.end
            && !self.slots[id].as_ref().is_none_or(|s| s.live.is_empty())
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

    // ------------------------------------------------------------------------------------
    // Runs
    // ------------------------------------------------------------------------------------

    async fn launch(&mut self, id: usize, payload: Option<Arc<serde_json::Value>>, now: Timestamp) {
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        let (spec, name, execution, timeout) = (
            slot.spec.clone(),
            slot.name().clone(),
            slot.execution,
            slot.timeout,
        );
        let run_id = self.next_run_id;
        self.next_run_id += 1;
        self.record(&name, Action::Run, now, Some(run_id), None, None);
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
            payload,
            termination: flag.clone(),
            decoders: HashMap::new(),
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
                self.finish_run(id, run_id, now.as_micros(), None, outcome, None);
                return;
            }
            (TaskBody::Blocking(body), Execution::Main) => {
                let outcome = exec::run_blocking(body, cx);
                self.finish_run(id, run_id, now.as_micros(), None, outcome, None);
                return;
            }
            (TaskBody::Async(body), Execution::Async) => {
                let (stop_tx, stop_rx) = oneshot::channel::<()>();
                stop = Some(stop_tx);
                let body = body.clone();
                tokio::spawn(async move {
                    let outcome = tokio::select! {
                        biased;
                        _ = stop_rx => RunOutcome::Terminated(String::new()),
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
                        Err(error) => RunOutcome::Failure(format!(
                            "could not start a runtime for the thread: {error}"
                        )),
                    };
                    finished(outcome, None);
                });
            }
        }
        if let Some(slot) = self.slots[id].as_mut() {
            slot.live.push(LiveRun {
                run_id,
                started: now.as_micros(),
                deadline,
                stop,
                flag,
                reason: None,
            });
        }
        self.mark_readers_dirty(&name);
    }

    fn finish(&mut self, f: Finished) {
        let Some(slot) = self.slots.get_mut(f.slot).and_then(Option::as_mut) else {
            return;
        };
        let Some(index) = slot.live.iter().position(|r| r.run_id == f.run_id) else {
            return;
        };
        let run = slot.live.remove(index);
        if slot.execution == Execution::Process {
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
        );
    }

    fn finish_run(
        &mut self,
        id: usize,
        run_id: u64,
        started: i64,
        reason: Option<String>,
        outcome: RunOutcome,
        captured: Option<String>,
    ) {
        let now = self.clock.now();
        let Some(slot) = self.slots[id].as_ref() else {
            return;
        };
        let name = slot.name().clone();
        let outcome = match (outcome, reason) {
            (RunOutcome::Terminated(detail), Some(reason)) if detail.is_empty() => {
                RunOutcome::Terminated(reason)
            }
            (RunOutcome::Terminated(detail), Some(reason)) => {
                RunOutcome::Terminated(format!("{reason}: {detail}"))
            }
            (RunOutcome::Terminated(detail), None) if detail.is_empty() => {
                RunOutcome::Terminated("the run stopped".to_owned())
            }
            (outcome, _) => outcome,
        };
        let message = match (outcome.message().filter(|m| !m.is_empty()), captured) {
            (Some(m), Some(c)) => Some(format!("{m}\n{c}")),
            (Some(m), None) => Some(m.to_owned()),
            (None, c) => c,
        };
        let duration = now.as_micros().saturating_sub(started);
        self.record(
            &name,
            outcome.action(),
            now,
            Some(run_id),
            Some(duration),
            message,
        );
        if self.hooks.has_run_hooks() {
            let info = RunInfo {
                task: name.to_string(),
                run_id,
                started: Timestamp::from_micros(started),
            };
            self.hooks.after(&info, &outcome);
        }
        if let RunOutcome::Success(Some(output)) = outcome {
            self.returns.set(name.clone(), output);
        }
        self.mark_dirty(id);
        self.mark_readers_dirty(&name);
    }

    fn apply(&mut self, command: Command) {
        let slot_of = |engine: &Engine, name: &str| engine.by_name.get(name).copied();
        match command {
            Command::ShutDown { instant } => self.request_stop(instant, false),
            Command::Restart => self.request_stop(false, true),
            Command::Run { task, payload } => {
                if self.stop.is_some() {
                    tracing::warn!(task = %task, "the scheduler is shutting down; the requested run does not start");
                } else if let Some(id) = slot_of(self, &task) {
                    if let Some(slot) = self.slots[id].as_mut() {
                        slot.queued
                            .get_or_insert_default()
                            .push_back(payload.map(Arc::new));
                    }
                    self.mark_dirty(id);
                }
            }
            Command::Disable(task) => self.set_disabled(&task, true),
            Command::Enable(task) => self.set_disabled(&task, false),
            Command::Terminate(task) => {
                if let Some(id) = slot_of(self, &task) {
                    self.terminate_task(id, "terminated on request");
                }
            }
            Command::Add(spec) => self.add_slot(*spec),
            Command::Remove(task) => {
                if let Some(id) = slot_of(self, &task) {
                    if let Some(slot) = self.slots[id].as_mut() {
                        slot.removed = true;
                    }
                    self.by_name.remove(task.as_str());
                    self.session.remove_summary(&task);
                    self.mark_dirty(id);
                }
            }
            Command::Records(_) => {}
        }
    }
}

impl Engine {
    fn set_disabled(&mut self, task: &str, disabled: bool) {
        if let Some(&id) = self.by_name.get(task) {
            if let Some(slot) = self.slots[id].as_mut() {
                slot.disabled = disabled;
            }
            self.mark_dirty(id);
        }
    }
}

fn terminate_run(run: &mut LiveRun, reason: &str) {
    if run.reason.is_none() {
        run.reason = Some(reason.to_owned());
    }
    run.flag.set();
    if let Some(stop) = run.stop.take() {
        let _ = stop.send(());
    }
}
