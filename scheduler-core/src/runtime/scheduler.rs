//! Building and running a scheduler.
//!
//! [`Scheduler::builder`] gathers the tasks registered by `#[task]` (all of them, unless
//! told otherwise), tasks built in code, parameters, hooks, a clock, a log store and the
//! settings, checks them all together, and gives a [`Scheduler`]. It then runs blocking
//! ([`Scheduler::run`]), as a future ([`Scheduler::serve`]), or in the background of an
//! existing tokio runtime ([`Scheduler::start`], which returns a handle).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::condition::Condition;
use crate::time::Tz;

use crate::log::InstanceId;
use crate::log::LogStore;
use crate::log::store::InstanceRecord;
use crate::time::Timestamp;

use super::clock::{Clock, SystemClock};
use super::config::{
    ConditionErrors, Config, ConfigError, DuplicatePolicy, LogRetention, RestartMode,
};
use super::context::ParamRegistry;
use super::engine::{Engine, EngineError, EngineParts, Exit, StoreSource};
use super::exec::{self, ChildInvocation};
use super::hooks::Hooks;
use super::inject::RunInfo;
use super::inspect::Inspector;
use super::outcome::RunOutcome;
use super::session::Session;
use super::task::check::{self, StartupError, StartupProblem};
use super::task::{TaskSpec, registry};
use super::worker::WorkerMode;

/// Why a scheduler could not start or stopped with an error.
///
/// Its `Debug` form is the message a person reads: the [`Display`](std::fmt::Display) text,
/// then the chain of [`source`](std::error::Error::source)s under `Caused by:`, as
/// `anyhow::Error` prints. That is what `fn main() -> scheduler::Result<()>` shows when
/// `main` returns the error. The alternate form (`{:#?}`) is the structure, as derived.
///
/// ```
/// use scheduler_core::runtime::{Config, SchedulerError};
///
/// let bad_zone = Config::default()
///     .with_env_from(|name| (name == "SCHEDULER_TIME_ZONE").then(|| "Europe/Helsinkii".to_owned()))
///     .unwrap_err();
/// let error = SchedulerError::from(bad_zone);
/// assert_eq!(format!("{error:?}"), error.to_string());
/// assert!(format!("{error:?}").contains("did you mean `Europe/Helsinki`?"));
/// assert!(format!("{error:#?}").starts_with("Config(\n    ConfigError {"));
/// ```
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// The task set has problems.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// An environment variable has a value the scheduler cannot use.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The running scheduler failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The async runtime or a restart failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The scheduler's loop panicked.
    #[error("the scheduler's loop panicked: {0}")]
    Panicked(String),
}

impl SchedulerError {
    /// The log store's error, when the store is why the scheduler could not start or
    /// stopped: its [`kind`](crate::log::StoreError::kind) tells a wrong URL, an
    /// unreachable database, a read-only, corrupt or newer file, and its message names the
    /// store.
    ///
    /// ```
    /// use scheduler_core::log::store::StoreErrorKind;
    /// use scheduler_core::runtime::Scheduler;
    ///
    /// let error = Scheduler::builder()
    ///     .without_registered_tasks()
    ///     .database("mysql://localhost/app")
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(error.store_error().map(|e| e.kind()), Some(StoreErrorKind::InvalidUrl));
    /// ```
    pub fn store_error(&self) -> Option<&crate::log::StoreError> {
        match self {
            SchedulerError::Engine(EngineError::Store(error)) => Some(error),
            _ => None,
        }
    }
}

impl std::fmt::Debug for SchedulerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if f.alternate() {
            return match self {
                SchedulerError::Startup(e) => f.debug_tuple("Startup").field(e).finish(),
                SchedulerError::Config(e) => f.debug_tuple("Config").field(e).finish(),
                SchedulerError::Engine(e) => f.debug_tuple("Engine").field(e).finish(),
                SchedulerError::Io(e) => f.debug_tuple("Io").field(e).finish(),
                SchedulerError::Panicked(e) => f.debug_tuple("Panicked").field(e).finish(),
            };
        }
        write!(f, "{self}")?;
        let causes: Vec<String> =
            std::iter::successors(std::error::Error::source(self), |e| e.source())
                .map(ToString::to_string)
                .collect();
        if causes.is_empty() {
            return Ok(());
        }
        f.write_str("\n\nCaused by:")?;
        for (i, cause) in causes.iter().enumerate() {
            // Numbered only when there are several; continuation lines under the text.
            let label = if causes.len() == 1 {
                String::new()
            } else {
                format!("{i}: ")
            };
            let indent = " ".repeat(4 + label.len());
            write!(
                f,
                "\n    {label}{}",
                cause.replace('\n', &format!("\n{indent}"))
            )?;
        }
        Ok(())
    }
}

enum Registered {
    All,
    None,
    Only(Vec<String>),
}

/// Builds a [`Scheduler`]. See the module docs.
pub struct SchedulerBuilder {
    config: Config,
    env_error: Option<ConfigError>,
    clock: Option<Arc<dyn Clock>>,
    store: Option<Arc<dyn LogStore>>,
    params: ParamRegistry,
    tasks: Vec<TaskSpec>,
    registered: Registered,
    hooks: Hooks,
    worker: WorkerMode,
}

impl std::fmt::Debug for SchedulerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulerBuilder")
            .field("config", &self.config)
            .field("tasks", &self.tasks.len())
            .finish_non_exhaustive()
    }
}

impl Default for SchedulerBuilder {
    fn default() -> Self {
        SchedulerBuilder {
            config: Config::default(),
            env_error: None,
            clock: None,
            store: None,
            params: ParamRegistry::default(),
            tasks: Vec::new(),
            registered: Registered::All,
            hooks: Hooks::default(),
            worker: WorkerMode::Auto,
        }
    }
}

impl SchedulerBuilder {
    /// Replaces all settings.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// Applies the `SCHEDULER_*` environment variables (see [`Config`]) to the settings
    /// made so far; a bad value is reported by [`build`](Self::build).
    pub fn config_from_env(mut self) -> Self {
        match self
            .config
            .clone()
            .with_env_from(|name| std::env::var(name).ok())
        {
            Ok(config) => self.config = config,
            Err(e) => self.env_error = Some(e),
        }
        self
    }

    /// The time zone whose wall clock conditions read (default: the system's).
    pub fn time_zone(mut self, zone: Tz) -> Self {
        self.config.time_zone = Some(zone);
        self
    }

    /// The timeout of runs whose task sets none (`None`: never; default 30 minutes).
    pub fn default_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.config.default_timeout = timeout;
        self
    }

    /// The most child processes running at once (default: the number of CPUs).
    pub fn max_processes(mut self, n: usize) -> Self {
        self.config.max_processes = n.max(1);
        self
    }

    /// Whether tasks may overlap their own runs unless they say (default: no).
    pub fn multilaunch(mut self, yes: bool) -> Self {
        self.config.multilaunch = yes;
        self
    }

    /// Whether shutting down terminates running runs (default: waits for them).
    pub fn instant_shutdown(mut self, yes: bool) -> Self {
        self.config.instant_shutdown = yes;
        self
    }

    /// What to do with two tasks of the same name (default: refuse to start).
    pub fn on_duplicate(mut self, policy: DuplicatePolicy) -> Self {
        self.config.on_duplicate = policy;
        self
    }

    /// What a condition that cannot be evaluated does (default: stop).
    pub fn condition_errors(mut self, policy: ConditionErrors) -> Self {
        self.config.condition_errors = policy;
        self
    }

    /// How to restart (default: replace the process).
    pub fn restart(mut self, mode: RestartMode) -> Self {
        self.config.restart = mode;
        self
    }

    /// Shuts down when `condition` holds (no owning task: name tasks explicitly).
    pub fn shut_cond(mut self, condition: impl Into<Condition>) -> Self {
        self.config.shut_cond = Some(condition.into());
        self
    }

    /// Whether to refuse tasks that wait on each other in a cycle (default: yes).
    pub fn check_cycles(mut self, yes: bool) -> Self {
        self.config.check_cycles = yes;
        self
    }

    /// Whether `run` and `serve` shut down on SIGINT/SIGTERM (default: yes): gracefully on
    /// the first, terminating running runs on one sent again later (a copy arriving within
    /// half a second of the first, as `timeout -s INT` sends, is the same request).
    pub fn handle_signals(mut self, yes: bool) -> Self {
        self.config.handle_signals = yes;
        self
    }

    /// The clock (default: [`SystemClock`]). Tests use a
    /// [`VirtualClock`](super::VirtualClock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// The log store (default: the one [`Config::database`] names, a SQLite file
    /// `scheduler.db` unless set). Pass an `Arc` to keep a handle on it.
    pub fn store(mut self, store: impl LogStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where the log is kept, as a URL: `memory:`, a SQLite file (a path or
    /// `sqlite:path`), or `postgres://...`. Opened when the scheduler starts; a store set
    /// with [`store`](Self::store) takes precedence.
    pub fn database(mut self, url: impl Into<String>) -> Self {
        self.config.database = url.into();
        self
    }

    /// How much of the log the store keeps (default: everything).
    ///
    /// ```
    /// use std::time::Duration;
    /// use scheduler_core::runtime::{LogRetention, Scheduler};
    ///
    /// let builder = Scheduler::builder().log_retention(LogRetention {
    ///     max_age: Some(Duration::from_secs(90 * 86_400)),
    ///     max_records_per_task: None,
    /// });
    /// # drop(builder);
    /// ```
    pub fn log_retention(mut self, retention: LogRetention) -> Self {
        self.config.log_retention = retention;
        self
    }

    /// This process's name in the log (default: the host's name).
    pub fn instance_name(mut self, name: impl Into<String>) -> Self {
        self.config.instance = Some(name.into());
        self
    }

    /// A session parameter, injected as `Arg<T>` into parameters of the same name.
    pub fn param<T: Send + Sync + 'static>(mut self, name: impl Into<String>, value: T) -> Self {
        self.params.insert_value(name.into(), value);
        self
    }

    /// A session parameter shared with the caller: `Arg<T>` gives this very `Arc`.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use scheduler_core::runtime::Scheduler;
    ///
    /// let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    /// let builder = Scheduler::builder().param_arc("seen", seen.clone());
    /// // Tasks taking `seen: Arg<Mutex<Vec<String>>>` push to the same vector.
    /// # drop(builder);
    /// ```
    pub fn param_arc<T: Send + Sync + 'static>(
        mut self,
        name: impl Into<String>,
        value: Arc<T>,
    ) -> Self {
        self.params.insert_arc(name.into(), value);
        self
    }

    /// A parameter of one task only (`Arg<T>` of that task finds it before a session
    /// parameter of the same name).
    pub fn task_param<T: Send + Sync + 'static>(
        mut self,
        task: impl Into<String>,
        name: impl Into<String>,
        value: T,
    ) -> Self {
        self.params.insert_for_task(task.into(), name.into(), value);
        self
    }

    /// A task built in code.
    pub fn task(mut self, task: TaskSpec) -> Self {
        self.tasks.push(task);
        self
    }

    /// The arguments that lead a program's command line to the scheduler's, for a program
    /// that embeds `cli::Args` (feature `cli`) under a subcommand of its own
    /// (`myapp scheduler run` gives `["scheduler"]`): a child process started for
    /// `execution = "process"` is this program with these arguments, then `__child TASK`.
    /// Default: none.
    pub fn child_args_prefix<I, S>(self, prefix: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        exec::set_child_prefix(prefix.into_iter().map(Into::into).collect());
        self
    }

    /// Leaves out the tasks registered by `#[task]` (only tasks added with
    /// [`task`](Self::task) run).
    pub fn without_registered_tasks(mut self) -> Self {
        self.registered = Registered::None;
        self
    }

    /// Keeps only these of the tasks registered by `#[task]`.
    pub fn only_registered<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.registered = Registered::Only(names.into_iter().map(Into::into).collect());
        self
    }

    /// Calls `hook` when the scheduler has started, before the first run.
    pub fn on_startup(mut self, hook: impl Fn(&Session) + Send + Sync + 'static) -> Self {
        self.hooks.startup.push(Box::new(hook));
        self
    }

    /// Calls `hook` when the scheduler has shut down (every run has ended).
    pub fn on_shutdown(mut self, hook: impl Fn(&Session) + Send + Sync + 'static) -> Self {
        self.hooks.shutdown.push(Box::new(hook));
        self
    }

    /// Calls `hook` when a run starts.
    pub fn before_run(mut self, hook: impl Fn(&RunInfo) + Send + Sync + 'static) -> Self {
        self.hooks.before_run.push(Box::new(hook));
        self
    }

    /// Calls `hook` when a run ends.
    pub fn after_run(
        mut self,
        hook: impl Fn(&RunInfo, &RunOutcome) + Send + Sync + 'static,
    ) -> Self {
        self.hooks.after_run.push(Box::new(hook));
        self
    }

    /// Runs a job worker beside the loop with this configuration (by default one runs,
    /// with the defaults, when the store keeps a job queue and the clock is the system's).
    pub fn worker(mut self, config: super::worker::WorkerConfig) -> Self {
        self.worker = WorkerMode::On(config);
        self
    }

    /// Runs no job worker: queued jobs wait for a worker elsewhere.
    pub fn without_worker(mut self) -> Self {
        self.worker = WorkerMode::Off;
        self
    }

    /// The worker role alone: no task starts by its condition (nor at start-up or
    /// shutdown), and a job worker runs the queued jobs (with `config`). What
    /// `scheduler::worker()` builds.
    pub fn worker_only(mut self, config: super::worker::WorkerConfig) -> Self {
        self.worker = WorkerMode::On(config);
        self.config.worker_only = true;
        self
    }

    /// The worker role alone (the command line's `worker`), with the worker settings given
    /// so far ([`worker`](Self::worker); the defaults otherwise) and, if given, another
    /// concurrency.
    pub fn worker_role(self, concurrency: Option<usize>) -> Self {
        let mut config = match &self.worker {
            WorkerMode::On(config) => config.clone(),
            WorkerMode::Auto | WorkerMode::Off => super::worker::WorkerConfig::default(),
        };
        if let Some(n) = concurrency {
            config = config.concurrency(n);
        }
        self.worker_only(config)
    }

    /// Checks everything together and gives the scheduler, or every problem found.
    pub fn build(self) -> Result<Scheduler, SchedulerError> {
        if let Some(e) = self.env_error {
            return Err(e.into());
        }
        let mut problems = Vec::new();
        let mut specs = Vec::new();
        let wanted = |name: &str| match &self.registered {
            Registered::All => true,
            Registered::None => false,
            Registered::Only(names) => names.iter().any(|n| n == name),
        };
        // Programs repeat conditions (`daily`, the same cron line): each text is decoded
        // once, and its tasks share the value (a cron schedule's search memory with it).
        let mut decoded = std::collections::HashMap::new();
        for def in registry::registered_tasks().filter(|d| wanted(d.name)) {
            match def.to_spec(&mut decoded) {
                Ok(spec) => specs.push(spec),
                Err(e) => problems.push(StartupProblem::VersionSkew(e)),
            }
        }
        if let Registered::Only(names) = &self.registered {
            for name in names {
                if !registry::registered_tasks().any(|d| d.name == name) {
                    problems.push(StartupProblem::NotRegistered {
                        task: name.clone(),
                        suggestion: crate::condition::nearest(
                            name,
                            registry::registered_tasks().map(|d| d.name),
                        )
                        .map(str::to_owned),
                    });
                }
            }
        }
        specs.extend(self.tasks);
        problems.extend(check::param_cycles(
            registry::registered_params().map(|d| (d.name, d.reads)),
            |name| self.params.has_value(name),
        ));
        let specs = check::check(specs, &self.config, problems)?;
        let mut params = self.params;
        for def in registry::registered_params() {
            params.insert_function(def.name.to_owned(), def.build, (def.type_name)());
        }
        let zone = self.config.zone();
        let store = match self.store {
            Some(store) => StoreSource::Open(store),
            None => {
                // A bad URL is a start-up error, with the others.
                crate::log::store::StoreUrl::parse(&self.config.database)
                    .map_err(|e| SchedulerError::Engine(EngineError::Store(e)))?;
                StoreSource::Url(self.config.database.clone())
            }
        };
        Ok(Scheduler {
            specs,
            zone,
            config: self.config,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            store,
            params: Arc::new(params),
            hooks: Arc::new(self.hooks),
            worker: self.worker,
        })
    }
}

/// A checked set of tasks with everything they need, ready to run.
pub struct Scheduler {
    specs: Vec<TaskSpec>,
    zone: Tz,
    config: Config,
    clock: Arc<dyn Clock>,
    store: StoreSource,
    params: Arc<ParamRegistry>,
    hooks: Arc<Hooks>,
    worker: WorkerMode,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field(
                "tasks",
                &self.specs.iter().map(TaskSpec::name).collect::<Vec<_>>(),
            )
            .field("zone", &self.zone)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A builder with the defaults and every `#[task]` of the program.
    pub fn builder() -> SchedulerBuilder {
        SchedulerBuilder::default()
    }

    /// The tasks, after the duplicate policy.
    pub fn tasks(&self) -> impl Iterator<Item = &TaskSpec> {
        self.specs.iter()
    }

    /// The zone conditions read.
    pub fn time_zone(&self) -> Tz {
        self.zone
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reads from `store` what the tasks' conditions ask and which runs are going, for
    /// reports on the tasks ([`Inspector::reports`]) and explanations of why one is or is
    /// not due ([`Inspector::explain`]), without running anything: the store may be one
    /// that a scheduler in another process is writing.
    ///
    /// ```
    /// # async fn f() -> Result<(), Box<dyn std::error::Error>> {
    /// use scheduler_core::condition::Condition;
    /// use scheduler_core::log::MemoryStore;
    /// use scheduler_core::runtime::{NextStart, Scheduler, TaskSpec};
    /// use scheduler_core::time::{Timestamp, Tz};
    ///
    /// let scheduler = Scheduler::builder()
    ///     .without_registered_tasks()
    ///     .time_zone(Tz::UTC)
    ///     .task(TaskSpec::from_blocking("report", |_| ()).when("time of day after 07:00".parse::<Condition>()?))
    ///     .build()?;
    /// let store = MemoryStore::new();
    /// let midnight = Timestamp::from_micros(0);
    /// let inspector = scheduler.inspect(&store, midnight).await?;
    /// let report = &inspector.reports(midnight)[0];
    /// assert_eq!(report.next_start, NextStart::At(Timestamp::from_micros(7 * 3_600_000_000)));
    /// # Ok(()) }
    /// ```
    pub async fn inspect(
        &self,
        store: &dyn LogStore,
        now: Timestamp,
    ) -> Result<Inspector<'_>, crate::log::StoreError> {
        Inspector::load(
            &self.specs,
            self.zone,
            &self.config,
            &self.params,
            store,
            now,
        )
        .await
    }

    /// Runs until shut down, on a tokio runtime of its own (blocking the thread).
    ///
    /// In a child process started for `execution = "process"`, runs that one task and
    /// exits instead.
    pub fn run(self) -> Result<(), SchedulerError> {
        if let Some(invocation) = exec::child_invocation() {
            self.run_child(&invocation)?;
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(self.serve())
    }

    /// Runs until shut down, inside an existing tokio runtime, which needs its time and I/O
    /// drivers (`enable_all`, as `#[tokio::main]` and `#[tokio::test]` do): the system
    /// clock waits on a timer that the I/O driver watches, and signals and child processes
    /// go through it as well.
    pub async fn serve(self) -> Result<(), SchedulerError> {
        if let Some(invocation) = exec::child_invocation() {
            std::process::exit(self.serve_child(&invocation).await);
        }
        self.start()?.await
    }

    /// Runs one run of a task in this process, as a child process started for
    /// `execution = "process"` does (the command line's hidden `__child` subcommand), and
    /// exits with the child's status.
    pub fn run_child(&self, invocation: &ChildInvocation) -> Result<(), SchedulerError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let code = runtime.block_on(self.serve_child(invocation));
        std::process::exit(code);
    }

    async fn serve_child(&self, invocation: &ChildInvocation) -> i32 {
        let spec = self.specs.iter().find(|s| s.name() == invocation.task);
        exec::serve_child(invocation, spec, self.params.clone()).await
    }

    /// Starts in the background of the current tokio runtime and returns a handle to
    /// control it and to wait for it.
    ///
    /// Must be called within a tokio runtime with its time and I/O drivers enabled, as
    /// for [`serve`](Self::serve).
    pub fn start(self) -> Result<Running, SchedulerError> {
        let (sender, events) = tokio::sync::mpsc::unbounded_channel();
        let session = Session::new(sender.clone(), self.config.on_duplicate);
        let restart = self.config.restart;
        let handle_signals = self.config.handle_signals;
        let instant = self.config.instant_shutdown;
        let instance = this_instance(self.config.instance.as_deref(), self.clock.now());
        let engine = Engine::new(
            EngineParts {
                specs: self.specs,
                config: self.config,
                zone: self.zone,
                clock: self.clock,
                instance,
                store: self.store,
                params: self.params,
                hooks: self.hooks,
                worker: self.worker,
            },
            session.clone(),
            events,
            sender,
        );
        // Listening before the first run starts: a signal sent as soon as the program
        // shows signs of life shuts it down gracefully rather than killing it.
        let signals = handle_signals
            .then(SignalStreams::listen)
            .flatten()
            .map(|streams| tokio::spawn(watch_signals(streams, session.clone(), instant)));
        let join = tokio::spawn(engine.run());
        Ok(Running {
            session,
            join,
            signals,
            restart,
        })
    }
}

/// This process, as the log store will know it: a new random id, its name (the host's
/// unless set), host and process id.
fn this_instance(name: Option<&str>, now: Timestamp) -> InstanceRecord {
    let host = super::config::host_name();
    InstanceRecord {
        id: InstanceId::random(),
        name: name.map_or_else(|| host.clone(), str::to_owned),
        host,
        pid: std::process::id(),
        started: now,
        last_seen: now,
        stopped: None,
    }
}

/// How long after the shutdown signal that was acted on a repeated one counts as the same
/// request. GNU `timeout -s INT` signals the program and then its process group, and a
/// program started by a shell script may get a terminal's Ctrl-C both from the terminal
/// and from the script: the copies arrive within a millisecond. A person pressing Ctrl-C
/// again to stop waiting does so later than this.
const SIGNAL_DEBOUNCE: Duration = Duration::from_millis(500);

/// What a SIGINT or SIGTERM asks of the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SignalRequest {
    /// Shut down, letting running runs finish.
    Graceful,
    /// Shut down now, terminating running runs.
    Instant,
    /// Nothing: a copy of the signal just acted on.
    Repeat,
}

/// The shutdown rule of signals: the first asks for a graceful shutdown (an instant one
/// with `instant_shutdown`), and a later one for an instant shutdown, unless it arrives
/// within [`SIGNAL_DEBOUNCE`] of the first, as a copy of the same signal does.
#[derive(Debug)]
struct ShutdownSignals {
    instant_shutdown: bool,
    first: Option<std::time::Instant>,
}

impl ShutdownSignals {
    fn new(instant_shutdown: bool) -> Self {
        ShutdownSignals {
            instant_shutdown,
            first: None,
        }
    }

    /// What a signal received at `at` asks for.
    fn on_signal(&mut self, at: std::time::Instant) -> SignalRequest {
        match self.first {
            None => {
                self.first = Some(at);
                if self.instant_shutdown {
                    SignalRequest::Instant
                } else {
                    SignalRequest::Graceful
                }
            }
            Some(first) if at.saturating_duration_since(first) < SIGNAL_DEBOUNCE => {
                SignalRequest::Repeat
            }
            Some(_) => SignalRequest::Instant,
        }
    }
}

/// The shutdown signals, SIGINT and SIGTERM (Ctrl-C elsewhere than Unix), listened for
/// from the moment this is created: a signal arriving before the watch first waits, or
/// between two waits, is kept for the next wait, not lost (nor left to kill the process).
struct SignalStreams {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl SignalStreams {
    /// Starts listening; `None` (with a warning) where the signals cannot be listened for.
    fn listen() -> Option<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some(SignalStreams {
                    interrupt,
                    terminate,
                }),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(
                        %error,
                        "cannot listen for SIGINT and SIGTERM: they will not shut the scheduler down gracefully"
                    );
                    None
                }
            }
        }
        #[cfg(not(unix))]
        Some(SignalStreams {})
    }

    /// The name of the next signal received; `None` when no more can be received.
    async fn next(&mut self) -> Option<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                received = self.interrupt.recv() => received.map(|()| "SIGINT"),
                received = self.terminate.recv() => received.map(|()| "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c().await.ok().map(|()| "Ctrl-C")
    }
}

/// Shuts down on the signals of `streams`, by the rule of [`ShutdownSignals`].
async fn watch_signals(mut streams: SignalStreams, session: Session, instant_shutdown: bool) {
    let mut signals = ShutdownSignals::new(instant_shutdown);
    while let Some(name) = streams.next().await {
        match signals.on_signal(std::time::Instant::now()) {
            SignalRequest::Graceful => {
                tracing::info!(
                    "shutting down on {name}, waiting for running runs (send it again to terminate them)"
                );
                session.shut_down();
            }
            SignalRequest::Instant => {
                tracing::info!("shutting down now on {name}, terminating running runs");
                session.shut_down_now();
            }
            SignalRequest::Repeat => tracing::info!(
                "{name} again within {} ms: the same request (send it again later to terminate running runs)",
                SIGNAL_DEBOUNCE.as_millis()
            ),
        }
    }
}

/// A scheduler running in the background: control it through [`session`](Self::session),
/// and await it to wait until it has shut down.
pub struct Running {
    session: Session,
    join: JoinHandle<Result<Exit, EngineError>>,
    signals: Option<JoinHandle<()>>,
    restart: RestartMode,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

impl Running {
    /// The session controlling the scheduler.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(signals) = &self.signals {
            signals.abort();
        }
    }
}

impl Future for Running {
    type Output = Result<(), SchedulerError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let exit = match Pin::new(&mut self.join).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(Ok(exit))) => exit,
            Poll::Ready(Ok(Err(e))) => return Poll::Ready(Err(e.into())),
            Poll::Ready(Err(e)) => {
                return Poll::Ready(Err(SchedulerError::Panicked(e.to_string())));
            }
        };
        if let Some(signals) = self.signals.take() {
            signals.abort();
        }
        Poll::Ready(match exit {
            Exit::Shutdown => Ok(()),
            Exit::Restart => restart_process(self.restart),
        })
    }
}

/// Replaces or relaunches this process with the same program and arguments.
fn restart_process(mode: RestartMode) -> Result<(), SchedulerError> {
    let exe = std::env::current_exe()?;
    let mut command = std::process::Command::new(exe);
    command.args(std::env::args_os().skip(1));
    #[cfg(unix)]
    if mode == RestartMode::Replace {
        use std::os::unix::process::CommandExt;
        tracing::info!("restarting: replacing this process");
        // `exec` only returns on failure.
        return Err(command.exec().into());
    }
    let _ = mode;
    tracing::info!("restarting: starting a new process");
    command.spawn()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[test]
    fn a_copy_of_the_first_signal_is_not_a_second_request() {
        let start = Instant::now();
        let mut signals = ShutdownSignals::new(false);
        assert_eq!(signals.on_signal(start), SignalRequest::Graceful);
        // `timeout -s INT` sends two within a millisecond.
        let copy = start + Duration::from_micros(300);
        assert_eq!(signals.on_signal(copy), SignalRequest::Repeat);
        let last_copy = start + SIGNAL_DEBOUNCE - Duration::from_millis(1);
        assert_eq!(signals.on_signal(last_copy), SignalRequest::Repeat);
        // The window is counted from the first signal, so copies cannot extend it.
        assert_eq!(
            signals.on_signal(start + SIGNAL_DEBOUNCE),
            SignalRequest::Instant
        );
        assert_eq!(
            signals.on_signal(start + Duration::from_secs(5)),
            SignalRequest::Instant
        );
    }

    #[test]
    fn with_instant_shutdown_the_first_signal_terminates() {
        let start = Instant::now();
        let mut signals = ShutdownSignals::new(true);
        assert_eq!(signals.on_signal(start), SignalRequest::Instant);
        assert_eq!(
            signals.on_signal(start + Duration::from_micros(10)),
            SignalRequest::Repeat
        );
    }

    #[test]
    fn debug_prints_the_message_and_alternate_debug_the_structure() {
        let startup = SchedulerError::Startup(StartupError {
            problems: vec![StartupProblem::NotRegistered {
                task: "report".to_owned(),
                suggestion: None,
            }],
        });
        let debug = format!("{startup:?}");
        assert_eq!(debug, startup.to_string());
        assert!(!debug.contains("Startup("), "{debug}");
        assert!(
            format!("{startup:#?}").starts_with("Startup(\n    StartupError {"),
            "{startup:#?}"
        );
    }

    #[test]
    fn debug_lists_the_causes() {
        #[derive(Debug, thiserror::Error)]
        #[error("the disk is full\nof old logs")]
        struct Full;
        #[derive(Debug, thiserror::Error)]
        #[error("cannot write /var/log/runs")]
        struct Write(#[source] Full);
        let engine = SchedulerError::Engine(EngineError::Store(
            crate::log::StoreError::with_source("cannot append", Write(Full)),
        ));
        assert_eq!(
            format!("{engine:?}"),
            "log store: cannot append\n\nCaused by:\n    0: cannot write /var/log/runs\n    \
             1: the disk is full\n       of old logs"
        );
        let one_cause = SchedulerError::Engine(EngineError::Store(
            crate::log::StoreError::with_source("cannot append", Full),
        ));
        assert_eq!(
            format!("{one_cause:?}"),
            "log store: cannot append\n\nCaused by:\n    the disk is full\n    of old logs"
        );
    }
}
