//! Tasks and parameters registered by `#[task]` and `#[param]` functions.
//!
//! Each macro emits a `const`-built definition as a `static` that the linker collects (on
//! Linux, in a section of its own; elsewhere through `inventory`); the scheduler reads them
//! all at start-up, from every module and crate linked into the program, so there is no
//! list of tasks to maintain. Each condition string is stored as written and as the macro
//! parsed it at compile time, in the compact form of [`crate::condition::codec`], which
//! start-up decodes instead of parsing the text again.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::condition::Condition;
use crate::condition::codec::CheckedCondition;

use super::handler::{AsyncCall, BlockingCall};
use super::outcome::{OutputCodec, RunOutcome};
use super::task::{Execution, Need, Origin, TaskBody, TaskSpec, Timeout};

/// The type-level identity of a `#[task]` function: `#[task] fn get_data() -> Rows`
/// defines a type `get_data` (beside the function) implementing this trait, which is what
/// `Return<get_data>` and `Task<get_data>` name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a task",
    label = "not a `#[task]` function",
    note = "`Return<...>` and `Task<...>` name a function marked `#[task]`, by the function's name"
)]
pub trait TaskMarker: 'static {
    /// The task's name.
    const NAME: &'static str;
    /// What the task returns (the `Ok` type for a `Result`).
    type Output: Send + Sync + 'static;
}

/// A task body as registered by `#[task]`: the function that injects the parameters and
/// calls the task function (see [`handler`](super::handler)).
#[derive(Clone, Copy)]
pub enum RegisteredBody {
    /// An `async fn`.
    Async(AsyncCall),
    /// A `fn`.
    Blocking(BlockingCall),
}

impl fmt::Debug for RegisteredBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegisteredBody::Async(_) => "Async(..)",
            RegisteredBody::Blocking(_) => "Blocking(..)",
        })
    }
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
    /// The start condition, if any: as written, and as parsed by the macro.
    pub condition: Option<CheckedCondition>,
    /// The end condition, if any.
    pub end: Option<CheckedCondition>,
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
    /// What each parameter needs in a child process (`FromContext::NEED`).
    pub needs: &'static [Option<Need>],
    /// The JSON codec of the return type, for a task whose value crosses from a child
    /// process.
    pub output_codec: fn() -> Option<OutputCodec>,
    /// For `execution = "process"`: how the values of other tasks that the child receives
    /// cross to it as JSON, by task.
    pub child_codecs: fn() -> Vec<(&'static str, OutputCodec)>,
    /// `module_path!()` of the function.
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

impl TaskDef {
    /// Every option at its default, for `..TaskDef::BASE` in generated code (fewer fields
    /// to write is less to compile per task).
    #[doc(hidden)]
    pub const BASE: TaskDef = TaskDef {
        name: "",
        condition: None,
        end: None,
        execution: None,
        timeout: None,
        priority: 0,
        disabled: false,
        multilaunch: false,
        permanent: false,
        on_startup: false,
        on_shutdown: false,
        body: RegisteredBody::Blocking(|_| RunOutcome::Success(None)),
        needs: &[],
        output_codec: super::handler::no_codec,
        child_codecs: super::private::no_child_codecs,
        module: "",
        file: "",
        line: 0,
    };
}

/// The future of a run of an `async fn` task, or of its parameter's failure.
fn started(started: super::handler::Started) -> super::clock::BoxFuture<'static, RunOutcome> {
    started.unwrap_or_else(|outcome| Box::pin(std::future::ready(outcome)))
}

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

/// Every registered task.
pub fn registered_tasks() -> impl Iterator<Item = &'static TaskDef> {
    super::collect::tasks()
}

/// Every registered parameter.
pub fn registered_params() -> impl Iterator<Item = &'static ParamDef> {
    super::collect::params()
}

/// The registered task named `name`.
pub(crate) fn task_def(name: &str) -> Option<&'static TaskDef> {
    registered_tasks().find(|d| d.name == name)
}

/// A registered condition whose compiled form does not decode: the macro wrote it, so the
/// macro and the runtime come from different versions of the crates.
#[derive(Debug, Clone, thiserror::Error)]
#[error(
    "task '{task}' ({file}:{line}): its condition {condition:?}, checked at compile time, does not decode at run time (mismatched scheduler crate versions?): {error}"
)]
pub struct VersionSkew {
    task: &'static str,
    file: &'static str,
    line: u32,
    condition: &'static str,
    error: String,
}

impl TaskDef {
    fn decode(
        &'static self,
        checked: CheckedCondition,
        decoded: &mut HashMap<&'static str, Condition>,
    ) -> Result<Condition, VersionSkew> {
        if let Some(condition) = decoded.get(checked.text) {
            return Ok(condition.clone());
        }
        let condition = checked.decode().map_err(|e| VersionSkew {
            task: self.name,
            file: self.file,
            line: self.line,
            condition: checked.text,
            error: e.to_string(),
        })?;
        decoded.insert(checked.text, condition.clone());
        Ok(condition)
    }

    /// The task as the runtime runs it. `decoded` holds the conditions decoded so far, by
    /// text, so that tasks with the same condition text share one value.
    pub fn to_spec(
        &'static self,
        decoded: &mut HashMap<&'static str, Condition>,
    ) -> Result<TaskSpec, VersionSkew> {
        // A value that crosses from a child process carries its JSON codec (only tasks
        // with `execution = "process"` have one): attached here, once per task, rather
        // than passed by every task's generated call.
        let codec = (self.output_codec)();
        let body = match (self.body, codec) {
            (RegisteredBody::Async(call), None) => {
                TaskBody::Async(Arc::new(move |cx| started(call(&cx))))
            }
            (RegisteredBody::Async(call), Some(codec)) => TaskBody::Async(Arc::new(move |cx| {
                let run = started(call(&cx));
                Box::pin(async move { run.await.with_output_codec(codec) })
            })),
            (RegisteredBody::Blocking(call), codec) => TaskBody::Blocking(Arc::new(move |cx| {
                let outcome = call(&cx);
                match codec {
                    Some(codec) => outcome.with_output_codec(codec),
                    None => outcome,
                }
            })),
        };
        let mut spec = TaskSpec::new(self.name, body);
        if let Some(c) = self.condition {
            spec.start = self.decode(c, decoded)?;
        }
        if let Some(c) = self.end {
            spec.end = Some(Box::new(self.decode(c, decoded)?));
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
        spec.needs = Some(self.needs);
        spec.child_codecs = Some(self.child_codecs);
        spec.origin = Origin::Registered {
            module: self.module,
            file: self.file,
            line: self.line,
        };
        Ok(spec)
    }
}
