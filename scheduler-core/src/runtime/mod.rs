//! The scheduler runtime (feature `runtime`): tasks, their parameters, the loop that runs
//! them on tokio, and the task log.
//!
//! * [`task`](TaskSpec): what a task is; [`registry`]: tasks and parameters registered by
//!   `#[task]` and `#[param]`.
//! * [`inject`](FromContext): how parameters of task functions get their values.
//! * [`Scheduler`]: building (with [`SchedulerBuilder`]), checking and running; [`Session`]:
//!   controlling a running scheduler.
//! * [`Clock`]: where time comes from ([`SystemClock`], [`VirtualClock`] for tests).
//! * [`LogStore`]: where the task log is kept ([`MemoryStore`]).
//! * [`Config`]: settings and their environment variables.

mod check;
mod clock;
mod collect;
mod config;
mod context;
mod engine;
mod exec;
#[doc(hidden)]
pub mod handler;
mod hooks;
mod inject;
mod outcome;
#[doc(hidden)]
pub mod private;
pub mod registry;
mod scheduler;
mod session;
// Unsafe code: the hook run in a forked child before `exec`, and killing a process group.
#[allow(unsafe_code)]
mod spawn;
mod store;
mod task;
mod wakeups;
// With collect.rs, the one module with unsafe code: the system calls that create and arm a
// timer.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod wall_timer;

pub use check::{StartupError, StartupProblem};
pub use clock::{BoxFuture, Clock, SystemClock, VirtualClock};
pub use config::{ConditionErrors, Config, ConfigError, DuplicatePolicy, RestartMode, system_zone};
pub use context::{RunContext, TerminationFlag};
pub use engine::EngineError;
pub use exec::{decode_json, encode_json, serde_codec};
pub use inject::{
    Arg, Env, FromContext, InjectError, ParamInfo, Payload, Return, Returned, RunInfo, Task, This,
};
pub use outcome::{
    DecodeFn, EncodeFn, Inaction, IntoRunOutcome, Output, OutputCodec, RunOutcome, Terminated,
    outcome_of_error,
};
pub use registry::{ParamDef, RegisteredBody, RegisteredTimeout, TaskDef, TaskMarker};
pub use scheduler::{Running, Scheduler, SchedulerBuilder, SchedulerError};
pub use session::{Session, SessionError, TaskSummary};
pub use store::{LogStore, MemoryStore, StoreError};
pub use task::{
    AsyncBody, BlockingBody, CommandSpec, Execution, Need, Origin, TaskBody, TaskSpec, Timeout,
    UnknownExecution,
};

/// What the generated code's registration expands to where the linker section is not used
/// (see `collect`).
#[cfg(not(all(target_os = "linux", not(scheduler_registry_inventory))))]
#[doc(hidden)]
pub use inventory as __inventory;
