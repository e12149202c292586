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
//! * [`log`]: the task log as conditions read it (the [`log::History`] trait) and an
//!   indexed in-memory log.
//! * `runtime` (feature `runtime`, on by default): tasks, injection, the scheduler's loop
//!   on tokio, sessions, clocks and log stores.

pub mod condition;
pub mod log;
#[cfg(feature = "runtime")]
pub mod runtime;
pub mod time;
