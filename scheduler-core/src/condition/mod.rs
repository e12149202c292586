//! The condition language: when a task may start.
//!
//! A [`Condition`] comes from a string (`"daily after 07:00 & after task 'fetch'"`, parsed
//! with the grammar in `grammar.pest`, the one definition of the syntax, used by the
//! `#[task]` macro at compile time and by [`str::parse`] at run time) or from the typed
//! constructors of [`api`]. Both build the same values; `Display` prints a canonical
//! string that parses back to an equal value.
//!
//! A condition can tell, for an instant, an owning task and a task log, whether it is true
//! ([`Condition::evaluate`]) and when its value can next change by the passing of time
//! alone ([`Condition::next_change`]), which lets the runtime sleep exactly as long as
//! nothing can happen; [`Condition::explain`] asks both of every node, for people asking
//! why a task did not run.
//!
//! The language itself is described in the crate `scheduler`'s `docs::conditions`.

pub mod api;
mod ast;
#[doc(hidden)]
pub mod codec;
mod cron;
mod cron_fields;
mod display;
mod error;
#[cfg(feature = "evaluation")]
mod eval;
#[cfg(feature = "evaluation")]
mod explain;
#[cfg(feature = "evaluation")]
mod next_change;
mod once;
mod parse;

pub use ast::{
    AfterTasks, ClockWindow, Condition, Outcome, ParamCondition, Quantifier, SchedulerCondition,
    StatusCondition, StatusScope, TaskRef, TaskStatus,
};
pub use ast::{Comparison, CountCondition, DurationBound, RunningCount, RunningFor};
pub use ast::{CustomArg, CustomCall};
pub use cron::{CronField, CronFieldKind, CronItem, CronSchedule, CronValue};
pub use cron_fields::{
    CronFields, CronFieldsError, CronFieldsParseError, DateBound, FieldExpr, FieldItem, FieldName,
    FieldValue,
};
#[cfg(feature = "runtime")]
pub(crate) use error::nearest;
pub use error::{ConditionError, CronError, Expected, ParseError, ParseErrorKind};
#[cfg(feature = "evaluation")]
pub use eval::{CustomValues, EvalContext, EvalError, Params};
#[cfg(feature = "evaluation")]
pub use explain::{Blocker, Explanation, NodeKind, describe_instant, wall_clock};
#[cfg(feature = "evaluation")]
pub use next_change::NextChange;
pub use once::{DEFAULT_MISFIRE_GRACE, DateError, DateParseError, MissedDate, OnceAt, parse_date};
