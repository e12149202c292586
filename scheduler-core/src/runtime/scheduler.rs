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

use crate::log::{LogStore, MemoryStore};

use super::clock::{Clock, SystemClock};
use super::config::{ConditionErrors, Config, ConfigError, DuplicatePolicy, RestartMode};
use super::context::ParamRegistry;
use super::engine::{Engine, EngineError, EngineParts, Exit};
use super::exec;
use super::hooks::Hooks;
use super::inject::RunInfo;
use super::outcome::RunOutcome;
use super::session::Session;
use super::task::check::{self, StartupError, StartupProblem};
use super::task::{TaskSpec, registry};

/// Why a scheduler could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
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
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The scheduler's loop panicked.
    #[error("the scheduler's loop panicked: {0}")]
    Panicked(String),
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

    /// Whether `run` and `serve` shut down on SIGINT/SIGTERM (default: yes).
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

    /// The log store (default: a [`MemoryStore`]). Pass an `Arc` to keep a handle on it.
    pub fn store(mut self, store: impl LogStore) -> Self {
        self.store = Some(Arc::new(store));
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
        let specs = check::check(specs, &self.config, problems)?;
        let mut params = self.params;
        for def in registry::registered_params() {
            params.insert_function(def.name.to_owned(), def.build, (def.type_name)());
        }
        let zone = self.config.zone();
        Ok(Scheduler {
            specs,
            zone,
            config: self.config,
            clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
            store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
            params: Arc::new(params),
            hooks: Arc::new(self.hooks),
        })
    }
}

/// A checked set of tasks with everything they need, ready to run.
pub struct Scheduler {
    specs: Vec<TaskSpec>,
    zone: Tz,
    config: Config,
    clock: Arc<dyn Clock>,
    store: Arc<dyn LogStore>,
    params: Arc<ParamRegistry>,
    hooks: Arc<Hooks>,
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

    /// Runs until shut down, on a tokio runtime of its own (blocking the thread).
    ///
    /// In a child process started for `execution = "process"`, runs that one task and
    /// exits instead.
    pub fn run(self) -> Result<(), SchedulerError> {
        if exec::child_task().is_some() {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let code = runtime.block_on(self.serve_child());
            std::process::exit(code);
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
        if exec::child_task().is_some() {
            std::process::exit(self.serve_child().await);
        }
        self.start()?.await
    }

    async fn serve_child(self) -> i32 {
        let task = exec::child_task().unwrap_or_default();
        let spec = self.specs.iter().find(|s| s.name() == task);
        exec::serve_child(spec, self.params.clone()).await
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
        let engine = Engine::new(
            EngineParts {
                specs: self.specs,
                config: self.config,
                zone: self.zone,
                clock: self.clock,
                store: self.store,
                params: self.params,
                hooks: self.hooks,
            },
            session.clone(),
            events,
            sender,
        );
        let signals = handle_signals.then(|| tokio::spawn(watch_signals(session.clone(), instant)));
        let join = tokio::spawn(engine.run());
        Ok(Running {
            session,
            join,
            signals,
            restart,
        })
    }
}

/// Shuts down on SIGINT or SIGTERM; a second signal terminates running runs.
async fn watch_signals(session: Session, instant: bool) {
    let mut count = 0;
    loop {
        #[cfg(unix)]
        {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                r = tokio::signal::ctrl_c() => if r.is_err() { return },
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
        }
        count += 1;
        if count == 1 && !instant {
            tracing::info!("shutting down on signal (send it again to terminate running runs)");
            session.shut_down();
        } else {
            tracing::info!("shutting down now on signal");
            session.shut_down_now();
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
