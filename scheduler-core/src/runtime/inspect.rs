//! Looking at tasks from outside their runs: each task's status (running runs, last
//! outcome, when it could next start) and why it is or is not due ([`TaskExplanation`]).
//!
//! The answers come from a task's definition and a task log: the running scheduler's own
//! (through [`Session::explain`] and [`Session::reports`], asked of its loop) or a store
//! read by another process ([`Scheduler::inspect`](super::Scheduler::inspect), which the command
//! line's `list` and `explain` use while the scheduler runs elsewhere). Conditions are
//! explained by [`Condition::explain`], which asks the one evaluator; nothing here
//! interprets a leaf.

use std::collections::HashMap;
use std::sync::Arc;

use crate::condition::{
    Condition, CustomValues, EvalContext, Explanation, NextChange, describe_instant,
};
use crate::log::store::{InstanceRecord, LoadRequest};
use crate::log::{Action, ActionSet, History, LogIndex, LogStore, Retention, StoreError};
use crate::task_options::Execution;
use std::time::Duration;

use crate::time::{Timestamp, Tz};

use super::config::Config;
use super::context::{ParamRegistry, Returns};
use super::custom::CustomCache;
use super::session::{Session, SessionError};
use super::task::TaskSpec;

/// When a task can next start by its condition.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextStart {
    /// Its condition holds now: it starts at the scheduler's next look at it.
    Now,
    /// Its condition turns true at this instant, unless a record changes it first.
    At(Timestamp),
    /// Its condition does not change before this instant (a search that ran out of budget:
    /// the scheduler looks again then).
    NotBefore(Timestamp),
    /// Only a run of these tasks (a new record of theirs) can make it due.
    AfterUpstream(Vec<String>),
    /// Only a record of its own, a parameter or the scheduler's state can make it due
    /// (`retry`, `param 'x' exists`, ...).
    OnChange,
    /// It has no condition (`false`): it runs only when asked.
    OnRequest,
    /// It is disabled: not started by its condition until enabled.
    Disabled,
    /// It runs only when the scheduler starts or shuts down.
    AtStartOrShutdown,
    /// A run of it is going and it may not overlap itself: it waits for that run to end.
    AfterRunningRun,
}

/// What is known of a task now: its definition, its runs and when it could next start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskReport {
    /// The task's name.
    pub name: String,
    /// Its start condition, as text.
    pub condition: String,
    /// Its end condition, as text.
    pub end: Option<String>,
    /// Where its runs execute.
    pub execution: Execution,
    /// Whether it is disabled.
    pub disabled: bool,
    /// How many runs of it are going.
    pub running: usize,
    /// When its last run started.
    pub last_start: Option<Timestamp>,
    /// How its last run ended (`success`, `fail`, `terminate`, `inaction`, `crash`) and when.
    pub last_end: Option<(Action, Timestamp)>,
    /// When it could next start.
    pub next_start: NextStart,
    /// Its priority: of several tasks due at once, higher priorities start first.
    pub priority: i32,
    /// How long a run may take before it is terminated (its own timeout or the scheduler's
    /// default); `None`: no limit (a permanent task, or no timeout set anywhere).
    pub timeout: Option<std::time::Duration>,
}

/// Why a task is or is not due now, and what its end condition says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskExplanation {
    /// The task's status.
    pub report: TaskReport,
    /// Whether its condition would start it now.
    pub due: bool,
    /// One line: why it is due or not, naming the leaf that blocks it.
    pub verdict: String,
    /// The start condition, explained.
    pub start: Explanation,
    /// The verdict on the start condition alone.
    pub start_verdict: String,
    /// The end condition explained, and its verdict, if the task has one.
    pub end: Option<(Explanation, String)>,
}

const STARTS: ActionSet = ActionSet::of(Action::Run);
const ENDS: ActionSet = ActionSet::of(Action::Success)
    .with(Action::Fail)
    .with(Action::Terminate)
    .with(Action::Inaction)
    .with(Action::Crash);

/// What reports are computed from: the task, the log, the zone, the parameters, the
/// default of `multilaunch`, the timeout, and the number of its runs going.
pub(crate) struct Facts<'a> {
    pub(crate) spec: &'a TaskSpec,
    pub(crate) history: &'a dyn History,
    pub(crate) zone: Tz,
    pub(crate) params: &'a ParamRegistry,
    pub(crate) multilaunch: bool,
    /// How long a run may take (the task's timeout or the configured default).
    pub(crate) timeout: Option<std::time::Duration>,
    pub(crate) running: usize,
    pub(crate) scheduler_started: Option<Timestamp>,
    /// Disabled now (a session may have changed what the definition says).
    pub(crate) disabled: bool,
    /// The answers of custom conditions.
    pub(crate) customs: Option<&'a dyn CustomValues>,
}

impl Facts<'_> {
    fn context(&self) -> EvalContext<'_> {
        let cx = EvalContext::new(self.history)
            .owner(self.spec.name())
            .zone(self.zone)
            .params(self.params);
        let cx = match self.customs {
            Some(customs) => cx.customs(customs),
            None => cx,
        };
        match self.scheduler_started {
            Some(at) => cx.scheduler_started(at),
            None => cx,
        }
    }

    fn may_start_another(&self) -> bool {
        self.running == 0 || (self.multilaunch && self.spec.execution_mode() != Execution::Main)
    }

    pub(crate) fn report(&self, now: Timestamp) -> TaskReport {
        let spec = self.spec;
        let name = spec.name();
        let last_end = self.history.latest(name, ENDS, now).map(|at| {
            let action = self
                .history
                .last_action(name, at)
                .unwrap_or(Action::Success);
            (action, at)
        });
        TaskReport {
            name: name.to_owned(),
            condition: spec.start_condition().to_string(),
            end: spec.end_condition().map(ToString::to_string),
            execution: spec.execution_mode(),
            disabled: self.disabled,
            running: self.running,
            last_start: self.history.latest(name, STARTS, now),
            last_end,
            next_start: self.next_start(now),
            priority: spec.options.priority,
            timeout: self.timeout,
        }
    }

    fn next_start(&self, now: Timestamp) -> NextStart {
        let spec = self.spec;
        if self.disabled {
            return NextStart::Disabled;
        }
        if spec.runs_at_start_or_end() {
            return NextStart::AtStartOrShutdown;
        }
        if *spec.start_condition() == Condition::FALSE {
            return NextStart::OnRequest;
        }
        if !self.may_start_another() {
            return NextStart::AfterRunningRun;
        }
        let cx = self.context();
        match spec.start_condition().evaluate(&cx, now) {
            Ok(true) => return NextStart::Now,
            Ok(false) => {}
            // A condition that cannot be evaluated starts nothing by itself.
            Err(_) => return NextStart::OnChange,
        }
        match spec.start_condition().next_change(&cx, now) {
            Ok(NextChange::At(t)) => NextStart::At(t),
            Ok(NextChange::NotBefore(t)) => NextStart::NotBefore(t),
            Ok(NextChange::Never) | Err(_) => {
                let upstream: Vec<String> = spec
                    .start_condition()
                    .referenced_tasks()
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                if upstream.is_empty() {
                    NextStart::OnChange
                } else {
                    NextStart::AfterUpstream(upstream)
                }
            }
        }
    }

    pub(crate) fn explain(&self, now: Timestamp) -> TaskExplanation {
        let spec = self.spec;
        let cx = self.context();
        let report = self.report(now);
        let start = spec.start_condition().explain(&cx, now);
        let start_verdict = start.verdict(&cx, now);
        let end = spec.end_condition().map(|end| {
            let explained = end.explain(&cx, now);
            let verdict = explained.verdict(&cx, now);
            (explained, verdict)
        });
        let end_holds = end
            .as_ref()
            .is_some_and(|(e, _)| e.value.as_ref().is_ok_and(|v| *v));
        let started = start.value.as_ref().is_ok_and(|v| *v);
        let zone = self.zone;
        let (due, verdict) = match &report.next_start {
            NextStart::Disabled => (
                false,
                format!("not due: the task is disabled (its condition says: {start_verdict})"),
            ),
            NextStart::AtStartOrShutdown => (
                false,
                format!(
                    "not due: the task runs only when the scheduler {}",
                    if spec.options.on_startup {
                        "starts"
                    } else {
                        "shuts down"
                    }
                ),
            ),
            NextStart::OnRequest => (
                false,
                "not due: the task has no condition and runs only when asked".to_owned(),
            ),
            NextStart::AfterRunningRun => (
                false,
                format!(
                    "not due: a run is going{} and the task does not overlap its runs",
                    report
                        .last_start
                        .map(|t| format!(" (since {})", describe_instant(zone, now, t)))
                        .unwrap_or_default()
                ),
            ),
            _ if end_holds => (
                false,
                format!(
                    "ends at once: the end condition `{}` is true, so a run would be terminated as soon as it started",
                    spec.end_condition()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                ),
            ),
            _ if started => (true, format!("due: {start_verdict}")),
            _ => (false, format!("not due: {start_verdict}")),
        };
        TaskExplanation {
            report,
            due,
            verdict,
            start,
            start_verdict,
            end,
        }
    }
}

/// The tasks of a scheduler and a log read from a store, for the questions of the command
/// line and of programs that watch a scheduler running elsewhere. See
/// [`Scheduler::inspect`](super::Scheduler::inspect).
pub struct Inspector<'a> {
    pub(crate) specs: &'a [TaskSpec],
    pub(crate) zone: Tz,
    pub(crate) config: &'a Config,
    pub(crate) params: &'a ParamRegistry,
    pub(crate) index: LogIndex,
    pub(crate) live: HashMap<String, usize>,
    /// The custom conditions of this program, asked as a running scheduler asks them: a
    /// program that defines `is_work_day()` evaluates it when it explains a task.
    pub(crate) customs: CustomCache,
}

impl std::fmt::Debug for Inspector<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inspector")
            .field("tasks", &self.specs.len())
            .field("zone", &self.zone)
            .field("records", &self.index.len())
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

/// A question of a session to the running scheduler's loop: the explanations of one task
/// or of all, answered from the loop's own log and the tasks' current state.
pub(crate) struct InspectRequest {
    pub(crate) task: Option<String>,
    pub(crate) now: Option<Timestamp>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Vec<TaskExplanation>>,
}

impl Session {
    /// Every task's status in the running scheduler, by name: running runs, last start
    /// and outcome, next possible start (from its log as the loop holds it, with the
    /// changes made through sessions, such as a task disabled).
    pub async fn reports(&self) -> Result<Vec<TaskReport>, SessionError> {
        Ok(self
            .inspect(None)
            .await?
            .into_iter()
            .map(|x| x.report)
            .collect())
    }

    /// The status of the task `task` in the running scheduler: its runs going, its last
    /// start and outcome, when it could next start, with the changes made through
    /// sessions.
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), scheduler_core::runtime::SessionError> {
    /// let status = session.status("backup").await?;
    /// println!("{} running, last ended {:?}, next {:?}", status.running, status.last_end, status.next_start);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self, task: &str) -> Result<TaskReport, SessionError> {
        self.explain(task).await.map(|x| x.report)
    }

    /// Why the task `task` is or is not due now in the running scheduler: its conditions
    /// as explained trees and a one-line verdict naming what decides.
    ///
    /// ```no_run
    /// # async fn f(session: scheduler_core::runtime::Session) -> Result<(), scheduler_core::runtime::SessionError> {
    /// let why = session.explain("transform").await?;
    /// println!("{}", why.verdict); // not due: `after task 'get_data' succeeded` is false until ...
    /// # Ok(()) }
    /// ```
    pub async fn explain(&self, task: &str) -> Result<TaskExplanation, SessionError> {
        self.known_task(task)?;
        self.inspect(Some(task.to_owned()))
            .await?
            .pop()
            .ok_or_else(|| SessionError::UnknownTask {
                name: task.to_owned(),
                suggestion: None,
            })
    }

    async fn inspect(&self, task: Option<String>) -> Result<Vec<TaskExplanation>, SessionError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.submit_inspect(Box::new(InspectRequest {
            task,
            now: None,
            reply,
        }))?;
        answer.await.map_err(|_| SessionError::Stopped)
    }
}

/// A task name that is not one of the scheduler's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no task named '{name}'{}", .suggestion.as_deref().map(|s| format!(" (did you mean '{s}'?)")).unwrap_or_default())]
pub struct UnknownTask {
    /// The name asked for.
    pub name: String,
    /// The closest existing name.
    pub suggestion: Option<String>,
}

impl<'a> Inspector<'a> {
    /// Reads from `store` what the tasks' conditions ask (as a starting scheduler does) and
    /// which runs are going (open runs of processes that are alive).
    pub(crate) async fn load(
        specs: &'a [TaskSpec],
        zone: Tz,
        config: &'a Config,
        params: &'a Arc<ParamRegistry>,
        store: &dyn LogStore,
        now: Timestamp,
    ) -> Result<Inspector<'a>, StoreError> {
        let mut wanted: HashMap<String, Retention> = HashMap::new();
        for spec in specs {
            wanted
                .entry(spec.name().to_owned())
                .or_insert(Retention::LATEST);
            let conditions = std::iter::once(spec.start_condition()).chain(spec.end_condition());
            for condition in conditions {
                for (task, reach) in condition.log_retention() {
                    let task = task.unwrap_or(spec.name()).to_owned();
                    let entry = wanted.entry(task).or_insert(Retention::LATEST);
                    *entry = entry.widen(reach);
                }
            }
        }
        let request = LoadRequest {
            tasks: wanted.into_iter().collect(),
        };
        let loaded = store.load(&request).await?;
        let mut index = LogIndex::new();
        let mut records = loaded.records;
        // The index takes records in order of time; a run that ended in the instant it
        // started has its `run` record first.
        records.sort_by_key(|r| (r.at, r.ends_run()));
        for r in &records {
            index.record(&r.task, r.action, r.at);
        }
        let me = InstanceRecord {
            id: crate::log::InstanceId::random(),
            name: String::new(),
            host: super::config::host_name(),
            pid: std::process::id(),
            started: now,
            last_seen: now,
            stopped: None,
        };
        let mut live: HashMap<String, usize> = HashMap::new();
        for run in &loaded.open_runs {
            let alive = run
                .instance
                .and_then(|id| loaded.instances.iter().find(|i| i.id == id))
                .is_some_and(|i| is_alive(i, &me, now));
            if alive {
                *live.entry(run.task.clone()).or_default() += 1;
            }
        }
        // A job's run is watched by the queue, not kept among the open runs.
        if let Some(jobs) = store.jobs() {
            let running = jobs.running().await.map_err(|e| {
                StoreError::with_source("cannot count the running jobs of the queue", e)
            })?;
            for (task, n) in running {
                *live.entry(task).or_default() += n as usize;
            }
        }
        for (task, n) in &live {
            index.set_live_runs(task, u32::try_from(*n).unwrap_or(u32::MAX));
        }
        // Runs left open by dead processes are not going: the next scheduler to start
        // records them as crashed.
        for run in &loaded.open_runs {
            if !live.contains_key(&run.task) {
                index.set_live_runs(&run.task, 0);
            }
        }
        // A session of no scheduler (its loop's end of the channel is dropped): a custom
        // condition that takes one reads, but whatever it asks is refused as stopped.
        let (events, _) = tokio::sync::mpsc::unbounded_channel();
        let detached = Session::new(events, config.on_duplicate);
        // An async condition's answer comes back on a channel nobody reads here: the
        // inspector looks once, so such a leaf shows as not answered yet.
        let (arrivals, _) = tokio::sync::mpsc::unbounded_channel();
        let customs = CustomCache::new(
            detached,
            params.clone(),
            Arc::new(Returns::default()),
            Arc::new(super::clock::SystemClock),
            arrivals,
        );
        Ok(Inspector {
            specs,
            zone,
            config,
            params,
            index,
            live,
            customs,
        })
    }

    fn facts<'s>(&'s self, spec: &'s TaskSpec) -> Facts<'s> {
        Facts {
            spec,
            history: &self.index,
            zone: self.zone,
            params: self.params,
            multilaunch: spec.options.multilaunch.unwrap_or(self.config.multilaunch),
            timeout: spec.run_timeout(self.config.default_timeout),
            running: self.live.get(spec.name()).copied().unwrap_or(0),
            scheduler_started: None,
            disabled: spec.options.disabled,
            customs: Some(&self.customs),
        }
    }

    /// The task named `name`, or an error naming the closest one.
    pub fn task(&self, name: &str) -> Result<&'a TaskSpec, UnknownTask> {
        self.specs
            .iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| UnknownTask {
                name: name.to_owned(),
                suggestion: crate::condition::nearest(name, self.specs.iter().map(|s| s.name()))
                    .map(str::to_owned),
            })
    }

    /// The zone whose wall clock conditions read.
    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    /// The log as read from the store.
    pub fn history(&self) -> &LogIndex {
        &self.index
    }

    /// Every task's status at `now`, by name.
    pub fn reports(&self, now: Timestamp) -> Vec<TaskReport> {
        let mut reports: Vec<TaskReport> = self
            .specs
            .iter()
            .map(|s| self.facts(s).report(now))
            .collect();
        reports.sort_by(|a, b| a.name.cmp(&b.name));
        reports
    }

    /// Why the task `name` is or is not due at `now`.
    pub fn explain(&self, name: &str, now: Timestamp) -> Result<TaskExplanation, UnknownTask> {
        let spec = self.task(name)?;
        Ok(self.facts(spec).explain(now))
    }
}

/// How long without a word (three heartbeats of 30 s) makes a process on another host
/// count as dead.
pub(crate) const DEAD_AFTER: Duration = Duration::from_secs(3 * 30);

/// Whether the process `other` runs, as far as `me` can tell at `now`: on this host, by its
/// process id; elsewhere, by its last word.
pub(crate) fn is_alive(other: &InstanceRecord, me: &InstanceRecord, now: Timestamp) -> bool {
    if other.stopped.is_some() {
        return false;
    }
    if other.host == me.host {
        if other.pid == me.pid {
            // A process with our id of process before us: the one we replaced (`exec`).
            return false;
        }
        return pid_exists(other.pid);
    }
    now.as_micros().saturating_sub(other.last_seen.as_micros()) < DEAD_AFTER.as_micros() as i64
}

#[cfg(target_os = "linux")]
fn pid_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn pid_exists(_pid: u32) -> bool {
    // Without a cheap check, a process of this host is taken for alive; its runs are
    // closed when its heartbeat is older than `DEAD_AFTER`.
    true
}
