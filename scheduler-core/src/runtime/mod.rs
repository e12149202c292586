//! The scheduler runtime (feature `runtime`): tasks, their parameters, the loop that runs
//! them on tokio, and the session that controls it.
//!
//! The modules, from the bottom up (each uses only those above it in this list; the test
//! `runtime_modules_have_no_cycle` checks it):
//!
//! * `outcome`: how a run ends ([`RunOutcome`]), the value it returns ([`Output`]) and how
//!   that value crosses a process boundary as JSON;
//! * `config`: the settings ([`Config`]) and their environment variables;
//! * `clock` (with `wall_timer`): where time comes from ([`SystemClock`], [`VirtualClock`]);
//! * `session`: control of a running scheduler ([`Session`]) and the events its loop
//!   receives;
//! * `context`: what a run can read ([`RunContext`]): its identity, the session, the
//!   parameters, the values other tasks returned;
//! * `inject`: how a parameter of a `#[task]` function gets its value ([`FromContext`],
//!   [`Return`], [`Arg`], ...);
//! * `custom`: custom conditions (`#[scheduler::cond]`): their registry, their arguments,
//!   and the answers the engine keeps;
//! * `hooks`: functions called around the scheduler's life and each run;
//! * `handler`, `private`: the glue that `#[task]` generates code against;
//! * `task`: what a task is ([`TaskSpec`], its [`TaskBody`]), where tasks come from (the
//!   [`registry`] of `#[task]` functions) and the checks of a task set at start-up;
//! * `spawn`: starting child processes (their own process group, killed with the
//!   scheduler) and forwarding their output;
//! * `exec`: running a body in an execution mode (async, thread, child process, program);
//! * `inspect`: each task's status and why it is or is not due ([`TaskReport`],
//!   [`TaskExplanation`]), from a task log, and which processes are alive;
//! * `worker`: the job queue's worker, which claims jobs and hands them to the loop as
//!   runs;
//! * `engine`: the scheduler's loop: deciding, starting runs, recording their ends, shutting
//!   down;
//! * `scheduler`: building a scheduler ([`SchedulerBuilder`]), running it, and inspecting
//!   its tasks against a store ([`Scheduler::inspect`]).
//!
//! The task log (records, the index conditions read, the stores) is [`crate::log`].

mod clock;
mod config;
mod context;
mod custom;
mod engine;
mod exec;
#[doc(hidden)]
pub mod handler;
mod hooks;
mod inject;
mod inspect;
mod outcome;
#[doc(hidden)]
pub mod private;
mod scheduler;
mod session;
// Unsafe code: the hook run in a forked child before `exec`, and killing a process group.
#[allow(unsafe_code)]
mod spawn;
mod task;
// Unsafe code: the system calls that create and arm a timer.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod wall_timer;
mod worker;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use config::{
    ConditionErrors, Config, ConfigError, DEFAULT_DATABASE, DuplicatePolicy, LogRetention,
    RestartMode, system_zone,
};
pub use context::{ParamBuild, ParamCycle, ParamError, RunContext, TerminationFlag};
pub use custom::{
    ArgKind, AsyncCondCall, CondCall, CondDef, CondError, CondFn, CondFuture, FromCondArg,
    IntoCondResult, registered_conds,
};
pub use engine::EngineError;
pub use exec::ChildInvocation;
pub use inject::{
    Arg, Env, FromContext, InjectError, Need, ParamInfo, ParamInjectError, Payload,
    PayloadMismatch, PayloadShape, Return, Returned, RunInfo, Task, TaskMarker, This,
};
pub use inspect::{Inspector, NextStart, TaskExplanation, TaskReport, UnknownTask};
pub use outcome::{
    DecodeFn, EncodeFn, Inaction, IntoRunOutcome, Output, OutputCodec, RunOutcome, Terminated,
    decode_json, encode_json, outcome_of_error, serde_codec,
};
pub use scheduler::{Running, Scheduler, SchedulerBuilder, SchedulerError};
pub use session::{Changed, IntoCondition, Session, SessionError, TaskChange, TaskSummary};
pub use task::check::{StartupError, StartupProblem};
pub use task::registry::{self, VersionSkew};
pub use task::{
    AsyncBody, BlockingBody, CommandSpec, Origin, ParamDef, RegisteredBody, TaskBody, TaskDef,
    TaskMore, TaskSpec,
};
pub use worker::{PRUNE_EVERY, WorkerConfig};

pub use crate::BoxFuture;
pub use crate::log::{LogStore, MemoryStore, StoreError};
pub use crate::task_options::{
    BodyKind, Execution, InvalidTaskName, OptionConflict, TaskOptions, TaskProblem, Timeout,
    UnknownExecution,
};

/// What the generated code's registration expands to (see `task::registry`).
#[doc(hidden)]
pub use inventory as __inventory;
