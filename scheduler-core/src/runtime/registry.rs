//! Tasks and parameters registered by `#[task]` and `#[param]` functions.
//!
//! Each macro submits a `const`-built definition to [`inventory`]; the scheduler collects
//! them all at start-up, from every module and crate linked into the program, so there is
//! no list of tasks to maintain. Condition strings are stored as written (they were checked
//! at compile time by the same parser) and parsed when the scheduler starts.

use std::any::Any;
use std::sync::Arc;

use crate::condition::Condition;

use super::clock::BoxFuture;
use super::context::RunContext;
use super::outcome::{DecodeFn, OutputCodec, RunOutcome};
use super::task::{Execution, Need, Origin, TaskBody, TaskSpec, Timeout};

/// The type-level identity of a `#[task]` function: `#[task] fn get_data() -> Rows`
/// defines a type `get_data` (beside the function) implementing this trait, which is what
/// `Return<get_data>` and `Task<get_data>` name.
pub trait TaskMarker: 'static {
    /// The task's name.
    const NAME: &'static str;
    /// What the task returns (the `Ok` type for a `Result`).
    type Output: Send + Sync + 'static;
}

/// A task body as registered by `#[task]`.
#[derive(Debug, Clone, Copy)]
pub enum RegisteredBody {
    /// An `async fn`.
    Async(fn(RunContext) -> BoxFuture<'static, RunOutcome>),
    /// A `fn`.
    Blocking(fn(RunContext) -> RunOutcome),
}

/// A timeout as registered by `#[task(timeout = "...")]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegisteredTimeout {
    /// Microseconds.
    Micros(u64),
    /// `timeout = "never"`.
    Never,
}

/// A task registered by `#[task]`. Built by the macro; not meant to be written by hand.
#[derive(Debug)]
pub struct TaskDef {
    /// The task's name.
    pub name: &'static str,
    /// The start condition as written, if any.
    pub condition: Option<&'static str>,
    /// The end condition as written, if any.
    pub end: Option<&'static str>,
    /// The execution mode, if given.
    pub execution: Option<Execution>,
    /// The timeout, if given.
    pub timeout: Option<RegisteredTimeout>,
    /// The priority.
    pub priority: i32,
    /// `disabled`.
    pub disabled: bool,
    /// `multilaunch`.
    pub multilaunch: bool,
    /// `permanent`.
    pub permanent: bool,
    /// `on_startup`.
    pub on_startup: bool,
    /// `on_shutdown`.
    pub on_shutdown: bool,
    /// The body.
    pub body: RegisteredBody,
    /// The JSON codec of the return type, if it has one.
    pub output_codec: fn() -> Option<OutputCodec>,
    /// What the parameters need in a child process.
    pub needs: fn() -> Vec<Need>,
    /// For `execution = "process"`: how the child reads the values of other tasks it
    /// receives, by task.
    pub child_decoders: fn() -> Vec<(&'static str, DecodeFn)>,
    /// `module_path!()` of the function.
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

inventory::collect!(TaskDef);

/// A session parameter registered by `#[param]`: a function evaluated whenever a run
/// needs the parameter.
#[derive(Debug)]
pub struct ParamDef {
    /// The parameter's name (the function's name).
    pub name: &'static str,
    /// Computes the value.
    pub build: fn() -> Arc<dyn Any + Send + Sync>,
    /// The value's type.
    pub type_name: fn() -> &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

inventory::collect!(ParamDef);

/// Every registered task.
pub fn registered_tasks() -> impl Iterator<Item = &'static TaskDef> {
    inventory::iter::<TaskDef>.into_iter()
}

/// Every registered parameter.
pub fn registered_params() -> impl Iterator<Item = &'static ParamDef> {
    inventory::iter::<ParamDef>.into_iter()
}

/// The registered task named `name`.
pub(crate) fn task_def(name: &str) -> Option<&'static TaskDef> {
    registered_tasks().find(|d| d.name == name)
}

/// A registered condition string that does not parse: the macro checked it, so the
/// crates that checked and parse it are of different versions.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "task '{task}' ({file}:{line}): its condition {condition:?} passed the compile-time check but not the run-time parser (mismatched scheduler crate versions?): {error}"
)]
pub struct VersionSkew {
    task: &'static str,
    file: &'static str,
    line: u32,
    condition: &'static str,
    error: String,
}

impl TaskDef {
    fn parse(&'static self, text: &'static str) -> Result<Condition, VersionSkew> {
        text.parse()
            .map_err(|e: crate::condition::ParseError| VersionSkew {
                task: self.name,
                file: self.file,
                line: self.line,
                condition: text,
                error: e.to_string(),
            })
    }

    /// The task as the runtime runs it.
    pub fn to_spec(&'static self) -> Result<TaskSpec, VersionSkew> {
        let body = match self.body {
            RegisteredBody::Async(f) => TaskBody::Async(Arc::new(f)),
            RegisteredBody::Blocking(f) => TaskBody::Blocking(Arc::new(f)),
        };
        let mut spec = TaskSpec::new(self.name, body);
        if let Some(c) = self.condition {
            spec.start = self.parse(c)?;
        }
        if let Some(c) = self.end {
            spec.end = Some(self.parse(c)?);
        }
        spec.execution = self.execution;
        spec.timeout = self.timeout.map(|t| match t {
            RegisteredTimeout::Micros(us) => Timeout::After(std::time::Duration::from_micros(us)),
            RegisteredTimeout::Never => Timeout::Never,
        });
        spec.priority = self.priority;
        spec.disabled = self.disabled;
        spec.multilaunch = self.multilaunch.then_some(true);
        spec.permanent = self.permanent;
        spec.on_startup = self.on_startup;
        spec.on_shutdown = self.on_shutdown;
        spec.needs = Some((self.needs)());
        spec.child_decoders = (self.child_decoders)();
        spec.origin = Origin::Registered {
            module: self.module,
            file: self.file,
            line: self.line,
        };
        Ok(spec)
    }
}
