//! Tasks and parameters registered by `#[task]` and `#[param]` functions.
//!
//! Each macro emits a `const`-built definition ([`TaskDef`], [`ParamDef`]) and submits it
//! to `inventory`, which gathers the definitions of every module and crate linked into the
//! program before `main`, so there is no list of tasks to maintain. The scheduler reads
//! them all at start-up and turns each `TaskDef` into the [`TaskSpec`] the engine runs.
//!
//! Each condition string is stored as written and as the macro parsed it at compile time,
//! in the compact form of [`crate::condition::codec`], which start-up decodes instead of
//! parsing the text again.
//!
//! Until 2026-12 the definitions went into a linker section of their own on Linux (read
//! through `__start_`/`__stop_` symbols, with unsafe code) and through `inventory`
//! elsewhere. The section saved about 14 % of rustc's instructions in a crate of 200 tasks;
//! it cost a second code path, its own CI pass and unsafe code, and `inventory` works on
//! every target (see `bench/compile_floor.py` for the figures of this choice).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::condition::Condition;
use crate::condition::codec::{CheckedCondition, UnreadableCondition};
use crate::task_options::TaskOptions;

use super::{ChildCodecs, Origin, TaskBody, TaskSpec};
use crate::BoxFuture;
use crate::runtime::handler::{AsyncCall, BlockingCall, Started};
use crate::runtime::inject::{Need, PayloadShape};
use crate::runtime::outcome::{OutputCodec, RunOutcome};

/// A task body as registered by `#[task]`: the function that injects the parameters and
/// calls the task function (see [`handler`](crate::runtime::handler)).
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

/// A task registered by `#[task]`. Built by the macro; not meant to be written by hand.
///
/// The macro writes only the fields that differ from [`TaskDef::BASE`], and every field
/// of this `static` is type-checked, built, const-evaluated and validated by rustc once per
/// task: what most tasks have is flat here, and what few have is behind one reference,
/// [`TaskMore`]. In the crate of 1,000 tasks of `bench/compile_floor.py`, the start
/// condition as an `Option<CheckedCondition>` and the rarer fields held here directly cost
/// about 0.5 M instructions per task more than this layout.
#[derive(Debug)]
pub struct TaskDef {
    /// The task's name.
    pub name: &'static str,
    /// The body.
    pub body: RegisteredBody,
    /// The start condition as written (empty without one; see [`TaskDef::start`]).
    pub condition: &'static str,
    /// The start condition as the macro parsed it, in the form of
    /// [`codec`](crate::condition::codec): empty when the task has no start condition
    /// (an encoded condition is never empty).
    pub condition_code: &'static [u8],
    /// What each parameter needs in a child process (`FromContext::NEED`).
    pub needs: &'static [Option<Need>],
    /// The JSON codec of the return type, for a task whose value crosses from a child
    /// process.
    pub output_codec: fn() -> Option<OutputCodec>,
    /// `module_path!()` of the function.
    pub module: &'static str,
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
    /// The end condition, the options, the payload's type and the child-process codecs:
    /// [`TaskMore::NONE`] unless the task has one of them.
    pub more: &'static TaskMore,
}

/// What only some tasks have, apart from their [`TaskDef`] (see there why).
#[derive(Debug)]
pub struct TaskMore {
    /// The end condition, if any.
    pub end: Option<CheckedCondition>,
    /// The options.
    pub options: TaskOptions,
    /// For `execution = "process"`: how the values of other tasks that the child receives
    /// cross to it as JSON, by task.
    pub child_codecs: ChildCodecs,
    /// The type its `Payload<T>` parameter reads (none without one).
    pub payload: PayloadShape,
}

impl TaskMore {
    /// No end condition, every option at its default, no payload, no child codecs: for
    /// `..TaskMore::NONE` in generated code, and the `more` of a task with none of them.
    #[doc(hidden)]
    pub const NONE: TaskMore = TaskMore {
        end: None,
        options: TaskOptions::DEFAULT,
        child_codecs: no_child_codecs,
        payload: PayloadShape::NONE,
    };
}

/// The codec of a task whose values stay in the scheduler's process: none is needed (a
/// task in a child process that receives the value brings its own, see `ChildParam`).
fn no_codec() -> Option<OutputCodec> {
    None
}

/// The child-process codecs of a task that runs in the scheduler's process, or has no
/// parameters (shared, so that `#[task]` emits no function for them).
fn no_child_codecs() -> Vec<(&'static str, OutputCodec)> {
    Vec::new()
}

impl TaskDef {
    /// Every field at its default, for `..TaskDef::BASE` in generated code (fewer fields
    /// to write is less to compile per task).
    #[doc(hidden)]
    pub const BASE: TaskDef = TaskDef {
        name: "",
        body: RegisteredBody::Blocking(|_| RunOutcome::Success(None)),
        condition: "",
        condition_code: &[],
        needs: &[],
        output_codec: no_codec,
        module: "",
        file: "",
        line: 0,
        more: &TaskMore::NONE,
    };

    /// The start condition, if the task has one: as written, and as parsed by the macro.
    pub fn start(&self) -> Option<CheckedCondition> {
        (!self.condition_code.is_empty()).then_some(CheckedCondition {
            text: self.condition,
            code: self.condition_code,
        })
    }

    /// Where the function is.
    pub fn origin(&self) -> Origin {
        Origin::Registered {
            module: self.module,
            file: self.file,
            line: self.line,
        }
    }
}

inventory::collect!(TaskDef);
inventory::collect!(ParamDef);

/// Submits a `TaskDef` to the registry (what `#[task]` expands to).
#[doc(hidden)]
#[macro_export]
macro_rules! __register_task {
    ($def:expr) => {
        $crate::runtime::__inventory::submit! { $def }
    };
}

/// Submits a `ParamDef` to the registry (what `#[param]` expands to).
#[doc(hidden)]
#[macro_export]
macro_rules! __register_param {
    ($def:expr) => {
        $crate::runtime::__inventory::submit! { $def }
    };
}

/// The future of a run of an `async fn` task, or of its parameter's failure.
fn started(started: Started) -> BoxFuture<'static, RunOutcome> {
    started.unwrap_or_else(|outcome| Box::pin(std::future::ready(outcome)))
}

/// A session parameter registered by `#[param]`: a function evaluated whenever a run
/// needs the parameter.
#[derive(Debug)]
pub struct ParamDef {
    /// The parameter's name (the function's name).
    pub name: &'static str,
    /// Computes the value for a run, injecting the function's own parameters.
    pub build: crate::runtime::context::ParamBuild,
    /// The value's type.
    pub type_name: fn() -> &'static str,
    /// The session parameters its own `Arg<T>` parameters read (for the start-up check
    /// that no functions need each other's values).
    pub reads: &'static [&'static str],
    /// `file!()`.
    pub file: &'static str,
    /// `line!()`.
    pub line: u32,
}

/// Every registered task.
pub fn registered_tasks() -> impl Iterator<Item = &'static TaskDef> {
    inventory::iter::<TaskDef>.into_iter()
}

/// Every registered parameter.
pub fn registered_params() -> impl Iterator<Item = &'static ParamDef> {
    inventory::iter::<ParamDef>.into_iter()
}

/// A registered condition that neither decodes nor parses at run time, although the macro
/// checked it when the program compiled: the macro and the runtime come from different
/// versions of the crates.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "task '{task}' ({origin}): its condition {condition:?} was checked at compile time but cannot be read at run time (mismatched scheduler crate versions?)"
)]
pub struct VersionSkew {
    /// The task.
    pub task: &'static str,
    /// Where it is defined.
    pub origin: Origin,
    /// The condition as written.
    pub condition: &'static str,
    /// Why it cannot be read.
    #[source]
    pub source: UnreadableCondition,
}

impl TaskDef {
    fn read_condition(
        &'static self,
        checked: CheckedCondition,
        decoded: &mut HashMap<&'static str, Arc<Condition>>,
    ) -> Result<Arc<Condition>, VersionSkew> {
        if let Some(condition) = decoded.get(checked.text) {
            return Ok(condition.clone());
        }
        let condition = Arc::new(checked.condition().map_err(|source| VersionSkew {
            task: self.name,
            origin: self.origin(),
            condition: checked.text,
            source,
        })?);
        decoded.insert(checked.text, condition.clone());
        Ok(condition)
    }

    /// The task as the runtime runs it. `decoded` holds the conditions read so far, by
    /// text, so that tasks with the same condition text share one value.
    pub fn to_spec(
        &'static self,
        decoded: &mut HashMap<&'static str, Arc<Condition>>,
    ) -> Result<TaskSpec, VersionSkew> {
        let body = match self.body {
            RegisteredBody::Async(call) => TaskBody::Async(Arc::new(move |cx| started(call(&cx)))),
            RegisteredBody::Blocking(call) => TaskBody::Blocking(Arc::new(move |cx| call(&cx))),
        };
        let mut spec = TaskSpec::new(self.name, body);
        if let Some(c) = self.start() {
            spec.start = self.read_condition(c, decoded)?;
        }
        if let Some(c) = self.more.end {
            spec.end = Some(Box::new(Condition::clone(
                &*self.read_condition(c, decoded)?,
            )));
        }
        spec.options = self.more.options;
        spec.needs = Some(self.needs);
        spec.child_codecs = Some(self.more.child_codecs);
        spec.output_codec = (self.output_codec)();
        spec.payload = Some(self.more.payload);
        spec.origin = self.origin();
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::condition::codec;

    /// A definition as `#[task]` writes it, leaked for the `'static` that `to_spec` takes.
    fn leak(def: TaskDef) -> &'static TaskDef {
        Box::leak(Box::new(def))
    }

    #[test]
    fn the_start_condition_is_decoded_from_its_code_and_absent_with_an_empty_code() {
        let text = "daily between 07:00 and 10:00";
        let condition: Condition = text.parse().unwrap();
        let code: &'static [u8] = Box::leak(codec::encode(&condition).into_boxed_slice());
        let with = leak(TaskDef {
            name: "with",
            condition: text,
            condition_code: code,
            ..TaskDef::BASE
        });
        let without = leak(TaskDef {
            name: "without",
            ..TaskDef::BASE
        });

        assert_eq!(with.start().map(|c| (c.text, c.code)), Some((text, code)));
        assert!(without.start().is_none());

        let mut decoded = HashMap::new();
        assert_eq!(*with.to_spec(&mut decoded).unwrap().start, condition);
        assert_eq!(
            decoded.len(),
            1,
            "the decoded condition is shared by its text"
        );
        let spec = without.to_spec(&mut decoded).unwrap();
        assert_eq!(*spec.start, Condition::FALSE);
        assert!(spec.end.is_none());
        assert_eq!(spec.options, TaskOptions::DEFAULT);
    }

    #[test]
    fn the_rarer_fields_come_from_more() {
        let end: Condition = "daily after 18:00".parse().unwrap();
        let more: &'static TaskMore = Box::leak(Box::new(TaskMore {
            end: Some(CheckedCondition {
                text: "daily after 18:00",
                code: Box::leak(codec::encode(&end).into_boxed_slice()),
            }),
            options: TaskOptions {
                priority: 3,
                ..TaskOptions::DEFAULT
            },
            ..TaskMore::NONE
        }));
        let def = leak(TaskDef {
            name: "more",
            more,
            ..TaskDef::BASE
        });
        let spec = def.to_spec(&mut HashMap::new()).unwrap();
        assert_eq!(spec.end.as_deref(), Some(&end));
        assert_eq!(spec.options.priority, 3);
    }
}
