//! Implementation crate of [`scheduler`](https://docs.rs/scheduler): depend on `scheduler`,
//! which re-exports everything users need. This crate is not semver-stable on its own.
//!
//! What lives here:
//!
//! * [`condition`]: the condition language (grammar, AST, errors, evaluation, next change,
//!   typed API). It needs no async runtime and no database, so the `#[task]` proc-macro
//!   links it to check condition strings at compile time with the same parser the runtime
//!   uses.
//! * [`time`]: instants, wall-clock values, anchored periods and time zones.
//! * [`log`]: the task log: its records, the questions conditions ask of it (the
//!   [`log::History`] trait), the in-memory index that answers them, and the stores that
//!   keep it.
//! * `queue` (feature `runtime`): the durable job queue in the log's database (on-demand
//!   runs, workers, leases, retries).
//! * [`task_options`]: the options of a task, shared by the `#[task]` macro and the
//!   runtime.
//! * `runtime` (feature `runtime`, on by default): tasks, injection, the scheduler's loop
//!   on tokio, sessions and clocks.
//! * `cli` (feature `cli`): the application's command line (`run`, `list`, `explain`,
//!   `logs`, `stats`, `check`), with clap.
//!
//! Without default features the crate is the condition language alone (grammar, AST,
//! errors, display, compiled form, typed API) and the task options: what the proc-macro
//! links. The feature `evaluation` adds evaluating conditions in time zones; `runtime`
//! adds the rest.

#[cfg(feature = "cli")]
pub mod cli;
pub mod condition;
pub mod log;
#[cfg(feature = "runtime")]
pub mod queue;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod task_options;
pub mod time;

/// A boxed future, as returned by the runtime's object-safe traits (clocks, stores, task
/// bodies).
#[cfg(feature = "runtime")]
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
