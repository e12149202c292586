//! Programs that must compile: condition literals of every shape, and tasks with every
//! kind of parameter and return type (their compile errors are the trybuild cases beside
//! this directory, in `ui/condition/` and `ui/task/`).
//!
//! These are an ordinary test target rather than trybuild `pass` cases: they compile with
//! the rest of the suite, against dependencies already built, and a trybuild run without
//! `pass` cases only needs `cargo check` of its copy of the dependency tree, no code
//! generation (see `ui.rs`).

mod conditions;
mod task_parameters;
