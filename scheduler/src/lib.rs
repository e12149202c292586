//! Task scheduling for Rust applications, with schedules written in a small condition
//! language that is checked when your program compiles.
//!
//! ```no_run
//! use scheduler::prelude::*;
//!
//! #[task("daily after 07:00")]
//! async fn get_data() -> anyhow::Result<Vec<u32>> {
//!     Ok(vec![1, 2, 3])
//! }
//!
//! #[task("after task 'get_data' succeeded", timeout = "2 hours")]
//! fn transform(data: Return<get_data>) -> u32 {
//!     data.iter().sum()
//! }
//!
//! fn main() -> scheduler::Result<()> {
//!     scheduler::run()
//! }
//! ```
//!
//! * [`#[task]`](task) registers a function as a task: its condition string is parsed when
//!   the program compiles (a typo is a compile error pointing into the string), its
//!   parameters are injected by type ([`Return<task>`](Return), [`Arg<T>`](Arg),
//!   [`Session`], …), and every `#[task]` of the program, in any module, is found at start.
//! * [`run()`] runs the scheduler until SIGINT/SIGTERM; [`serve()`] does it inside an
//!   existing tokio runtime; [`Scheduler::builder`] sets it up (time zone, parameters,
//!   tasks built in code, hooks, clock, log store).
//! * The runtime is event-driven: it sleeps until the next instant a condition can change
//!   and wakes the tasks that read a run that just ended. Every run is logged (`run`, then
//!   `success`, `fail`, `terminate` or `inaction`), panics included.
//!
//! # The condition language
//!
//! `daily`, `every 10 minutes`, `cron 0 9 * * MON-FRI`, `after task 'fetch' succeeded`,
//! `time of day between 09:00 and 17:00`, combined with `&`, `|`, `~` and parentheses. The
//! full reference, with the exact meaning of every phrase, is [`docs::conditions`]; the
//! runtime's guide (execution modes, parameters, sessions, configuration) is
//! [`docs::runtime`].
//!
//! ```
//! use scheduler::prelude::*;
//!
//! // Checked at compile time.
//! let transform = condition!("daily between 07:00 and 10:00 & after task 'get_data' succeeded");
//! // The same from the typed API, and from a string that arrives at run time.
//! let built = daily().between("07:00", "10:00")? & after_success("get_data");
//! let parsed: Condition = "daily between 07:00 and 10:00 & after task 'get_data'".parse()?;
//! assert_eq!(transform, built);
//! assert_eq!(transform, parsed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Errors
//!
//! Strings parsed at run time return a [`ParseError`] with the byte range of the mistake,
//! what was expected there, and a hint; [`ParseError::render`] shows the string with a
//! caret line under the mistake. A scheduler that cannot start lists every problem of its
//! task set at once ([`StartupError`]). A task that fails, panics or lacks a parameter is
//! logged as failed, and the scheduler goes on.

#![forbid(unsafe_code)]

#[cfg(feature = "cli")]
pub use scheduler_core::cli;
pub use scheduler_core::{condition, log, queue, time};

pub use scheduler_core::BoxFuture;
pub use scheduler_core::condition::{
    Condition, ConditionError, EvalContext, EvalError, NextChange, ParseError,
};
#[cfg(feature = "postgres")]
pub use scheduler_core::log::store::PostgresStore;
pub use scheduler_core::log::store::RecordQuery;
#[cfg(feature = "sqlite")]
pub use scheduler_core::log::store::SqliteStore;
pub use scheduler_core::log::{
    Action, History, InstanceId, LogIndex, LogRecord, LogStore, MemoryStore, RunId, StoreError,
};
pub use scheduler_core::queue::{
    Apply, Backoff, JobId, JobInfo, JobRetention, JobState, OnDemand, Queue, QueueError,
};
pub use scheduler_core::runtime::{
    Arg, Changed, ChildInvocation, Clock, CommandSpec, ConditionErrors, Config, ConfigError,
    DuplicatePolicy, EngineError, Env, Execution, FromContext, Inaction, InjectError, Inspector,
    IntoCondition, LogRetention, NextStart, OptionConflict, ParamInfo, Payload, PayloadMismatch,
    PayloadShape, RestartMode, Return, Returned, RunContext, RunInfo, RunOutcome, Running,
    Scheduler, SchedulerBuilder, SchedulerError, Session, SessionError, StartupError,
    StartupProblem, SystemClock, Task, TaskChange, TaskExplanation, TaskMarker, TaskOptions,
    TaskProblem, TaskReport, TaskSpec, TaskSummary, Terminated, TerminationFlag, This, Timeout,
    UnknownTask, VirtualClock, WorkerConfig,
};
pub use scheduler_core::runtime::{
    ArgKind, CondDef, CondError, CondFn, FromCondArg, IntoCondResult, ParamCycle, registered_conds,
};
pub use scheduler_core::time::{Timestamp, Tz};

/// The result of running a scheduler.
pub type Result<T, E = SchedulerError> = std::result::Result<T, E>;

/// A [`Condition`] from a string literal, checked at compile time.
///
/// The string is parsed by the same parser as [`str::parse`]; a mistake is a compile
/// error that shows the string with a caret under the mistake and a hint:
///
/// ```compile_fail
/// let c = scheduler::condition!("daily betwen 07:00 and 10:00");
/// // error: expected a span such as `before 10:00`, ..., found `betwen`
/// //  | daily betwen 07:00 and 10:00
/// //  |       ^^^^^^
/// //  = help: did you mean `between`?
/// ```
///
/// ```
/// let c = scheduler::condition!("every 10 minutes & ~time of week on Sunday");
/// assert_eq!(c.to_string(), "every 10 minutes & ~time of week on Sun");
/// ```
pub use scheduler_macros::condition;

/// Registers a function as a task.
///
/// ```no_run
/// use scheduler::prelude::*;
///
/// #[task("every 10 minutes & time of day between 08:00 and 18:00")]
/// async fn poll_inbox(session: Session) -> anyhow::Result<usize> {
///     Ok(0)
/// }
///
/// #[task("after task 'poll_inbox' succeeded", execution = "thread", timeout = "5 minutes")]
/// fn archive(count: Return<poll_inbox>, flag: TerminationFlag) -> Result<(), Terminated> {
///     for _ in 0..*count {
///         flag.check()?; // stop when asked to
///     }
///     Ok(())
/// }
/// # fn main() {}
/// ```
///
/// The first argument is the start condition (none: the task runs only when asked, see
/// [`Session::run`]). Options:
///
/// | option | meaning |
/// |---|---|
/// | `name = "..."` | the task's name (default: the function's) |
/// | `end = "..."` | a condition that terminates running runs |
/// | `execution = "async" \| "thread" \| "main" \| "process"` | where runs execute (default: `async` for `async fn`, `thread` for `fn`) |
/// | `timeout = "2 hours" \| "never"` | terminate runs that take longer (default: the configured timeout, 30 minutes) |
/// | `priority = N` | when several tasks are due at once, higher priorities start first |
/// | `disabled` | not started by its condition until enabled |
/// | `multilaunch` | may start while a run of it is still going |
/// | `permanent` | never times out; terminated at shutdown |
/// | `on_startup` / `on_shutdown` | runs once when the scheduler starts / stops |
/// | `cron(month = "6-8", day = "3rd fri", ...)` | named cron fields (APScheduler's `CronTrigger`) as the schedule |
/// | `at = "2026-12-01T08:00:00"`, `misfire_grace = "2 hours"` | a one-off date as the schedule (`once at ...`), and how late it may still run (default: 1 hour) |
///
/// Conditions are checked when the program compiles; so are the options (unknown,
/// repeated, bad values, combinations that do not go together) and the parameters: each
/// must implement [`FromContext`]. The return type is `()`, a value, or a `Result`
/// (`Err` is a failure; [`Terminated`] and [`Inaction`] end the run as `terminate` and
/// `inaction`). Tasks naming each other are checked when the scheduler starts.
///
/// Beside the function, the macro defines a type of the same name (`get_data`) that
/// [`Return<get_data>`](Return) and [`Task<get_data>`](Task) name; `Return<get_data>`
/// holds the value `get_data` returned, with its real type. A typo is a compile error.
/// `Return<...>` is read where it is written in the parameter list (see [`Return`]).
///
/// The task is registered where it is written: the scheduler finds every `#[task]` of every
/// module, and of every library crate linked into the program, with no list to keep (a
/// library the program does not otherwise use is not linked: `use the_library as _;` links
/// it). The `inventory` crate gathers the definitions before `main`.
pub use scheduler_macros::task;

/// Registers a function computing a session parameter.
///
/// The function is called whenever a run needs the parameter (an [`Arg<T>`](Arg) of the
/// same name), in the process where the run executes.
///
/// ```no_run
/// use scheduler::prelude::*;
///
/// #[param]
/// fn report_recipients() -> Vec<String> {
///     std::env::var("RECIPIENTS").unwrap_or_default().split(',').map(str::to_owned).collect()
/// }
///
/// #[task("daily after 08:00")]
/// fn send_report(report_recipients: Arg<Vec<String>>) {
///     for r in report_recipients.iter() {
///         println!("sending to {r}");
///     }
/// }
/// # fn main() {}
/// ```
pub use scheduler_macros::param;

/// Marks a function as a custom condition, which condition strings call by name:
/// `is_work_day()`, `file_exists('data.csv')`.
///
/// Parameters of the types `String`, `PathBuf`, integers, `f64`, `f32` and `bool` are the
/// arguments written in the string, in order; the others are injected as a task's are
/// (`Arg<T>`, `Env<T>`, `Session`, ...). The function returns `bool` or `Result<bool, E>`.
/// The scheduler calls it when a task's condition needs its value, and again once the
/// answer is older than its re-check interval (`every = "..."`, one minute by default);
/// never while the rest of the condition decides alone (a closed time window). An error or
/// a panic is a condition error, handled by the `condition_errors` setting.
///
/// An `async fn` is run beside the scheduler's loop, which never waits for it: the answer
/// it has stands until the new one arrives, a decision that needs a first answer waits for
/// it, and a call that takes longer than `timeout = "..."` (thirty seconds by default) is
/// an error. See the conditions guide, "Async custom conditions".
///
/// ```
/// use scheduler::prelude::*;
///
/// #[scheduler::cond(every = "10 minutes")]
/// fn file_exists(path: String) -> bool {
///     std::path::Path::new(&path).exists()
/// }
///
/// #[scheduler::cond]
/// fn is_work_day(env: Option<Arg<String>>) -> bool {
///     env.is_none_or(|e| e.as_str() != "holiday")
/// }
///
/// #[task("daily after 07:00 & is_work_day() & file_exists('/tmp/input.csv')")]
/// fn load() {}
/// ```
///
/// A name that is not a custom condition in scope, a wrong number of arguments or an
/// argument of the wrong type is a compile error at the string:
///
/// ```compile_fail
/// use scheduler::prelude::*;
///
/// #[scheduler::cond]
/// fn file_exists(path: String) -> bool { std::path::Path::new(&path).exists() }
///
/// #[task("daily & file_exists(42)")]
/// fn load() {}
/// ```
pub use scheduler_macros::cond;

/// Runs every `#[task]` of the program until SIGINT or SIGTERM, with the settings of the
/// `SCHEDULER_*` environment variables (see [`Config`]), blocking the thread.
///
/// With the feature `cli` (on by default) it first parses the program's arguments as the
/// scheduler's command line ([`cli`]): no argument or `run` runs the scheduler; `worker`
/// runs the job worker role alone (as [`worker`] does); `list`, `explain TASK`, `logs`,
/// `stats` and `check` look at the tasks and their log, `trigger TASK` enqueues a job and
/// `jobs` looks at the queue and acts on its jobs,
/// instead, print the answer and return (exiting with status 1, after printing the error,
/// when they fail); `--help` lists them.
///
/// Prints what happens (run starts and ends, errors) through `tracing`, unless the program
/// installed its own subscriber (`RUST_LOG` filters it).
pub fn run() -> Result<()> {
    install_default_logging();
    let builder = Scheduler::builder().config_from_env();
    #[cfg(feature = "cli")]
    return cli::Cli::run_with(builder);
    #[cfg(not(feature = "cli"))]
    builder.build()?.run()
}

/// Like [`run`], inside an existing tokio runtime (for example beside a web server).
pub async fn serve() -> Result<()> {
    install_default_logging();
    Scheduler::builder()
        .config_from_env()
        .build()?
        .serve()
        .await
}

/// Runs a job worker alone (the `worker` role): the program's tasks run only as the
/// queued jobs of the store that `SCHEDULER_DATABASE_URL` names (the scheduler's default
/// otherwise), claimed here; no task starts by its condition. Another machine runs the
/// scheduler, or a web server enqueues, on the same database. Blocking, until SIGINT or
/// SIGTERM (graceful: the jobs it holds finish and are recorded).
pub fn worker() -> Result<()> {
    install_default_logging();
    Scheduler::builder()
        .config_from_env()
        .worker_only(WorkerConfig::default())
        .build()?
        .run()
}

/// Like [`worker`], inside an existing tokio runtime, with the worker's settings.
pub async fn serve_worker(config: WorkerConfig) -> Result<()> {
    install_default_logging();
    Scheduler::builder()
        .config_from_env()
        .worker_only(config)
        .build()?
        .serve()
        .await
}

/// Installs the `tracing` subscriber that [`run`] and [`serve`] use: one line per event on
/// stderr, filtered by `RUST_LOG` (`info` when unset). Does nothing if the program has
/// installed a subscriber already. Call it before [`Scheduler::run`] to see what a
/// scheduler built with [`Scheduler::builder`] does.
///
/// `RUST_LOG` takes a default level and `target=level` directives, separated by commas:
/// `debug`, `warn,scheduler_core=debug`. An empty value, or one that does not read so, is
/// ignored (with `info`). For the span and field filters of `tracing-subscriber`'s `EnvFilter`, install
/// your own subscriber before starting the scheduler.
pub fn init_logging() {
    install_default_logging();
}

fn install_default_logging() {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    // `Targets` rather than `EnvFilter`: the latter's regular expressions (regex-automata
    // and regex-syntax) were 0.3 MB of every program's code, for span and field filters
    // that a program wanting them sets up itself.
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| directives.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO));
    // Fails (and does nothing) when a subscriber is already installed.
    // Colours only on a terminal: escape codes in a log file or a pipe are noise.
    let _ = tracing_subscriber::fmt()
        // The builder's own default would cap at `info`; `filter` decides.
        .with_max_level(LevelFilter::TRACE)
        .with_target(false)
        // As documented: the program's stdout stays its own (the formatter's default is
        // stdout).
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .finish()
        .with(filter)
        .try_init();
}

/// Everything needed to write tasks and conditions.
pub mod prelude {
    pub use crate::{cond, condition, param, task};
    pub use scheduler_core::condition::api::*;
    pub use scheduler_core::condition::{Condition, NextChange, Outcome};
    pub use scheduler_core::queue::{OnDemand, Queue};
    pub use scheduler_core::runtime::{
        Arg, Env, Execution, Inaction, Payload, Return, RunContext, RunInfo, Scheduler, Session,
        SessionError, Task, TaskSpec, Terminated, TerminationFlag,
    };
    pub use scheduler_core::time::{
        TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfSecond, TimeOfWeek, Weekday,
    };
}

/// Long-form documentation.
pub mod docs {
    #[doc = include_str!("../docs/conditions.md")]
    pub mod conditions {}

    #[doc = include_str!("../docs/runtime.md")]
    pub mod runtime {}
}

/// Not public API: used by code that the macros generate. It may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use scheduler_core::condition::CustomArg;
    pub use scheduler_core::condition::codec::CheckedCondition;
    pub use scheduler_core::runtime::__inventory as inventory;
    pub use scheduler_core::runtime::private::*;
    pub use scheduler_core::runtime::{ArgKind, CondDef, CondError, FromCondArg, IntoCondResult};
    pub use scheduler_core::runtime::{
        BoxFuture, DecodeFn, Execution, FromContext, Need, OutputCodec, ParamDef, ParamInfo,
        RegisteredBody, RunContext, RunOutcome, TaskDef, TaskMarker, TaskMore, TaskOptions,
        Timeout,
    };
    pub use scheduler_core::{
        __register_cond as register_cond, __register_param as register_param,
        __register_task as register_task,
    };
}

/// The project's README, whose Rust blocks `cargo test` compiles (and runs, unless they
/// are marked `no_run`) as doctests of this crate, so that the front page cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
