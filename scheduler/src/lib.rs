//! Task scheduling for Rust applications, with schedules written in a small condition
//! language that is checked when your program compiles.
//!
//! ```
//! use scheduler::prelude::*;
//!
//! // Checked at compile time: a typo here is a compile error pointing into the string.
//! let transform = condition!("daily between 07:00 and 10:00 & after task 'get_data' succeeded");
//!
//! // The same condition from the typed API, and from a string that arrives at run time.
//! let built = daily().between("07:00", "10:00")? & after_success("get_data");
//! let parsed: Condition = "daily between 07:00 and 10:00 & after task 'get_data'".parse()?;
//! assert_eq!(transform, built);
//! assert_eq!(transform, parsed);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # The condition language
//!
//! A condition says when a task may start: `daily`, `every 10 minutes`,
//! `cron 0 9 * * MON-FRI`, `after task 'fetch' succeeded`, `time of day between 09:00 and
//! 17:00`, combined with `&`, `|`, `~` and parentheses. The full reference, with the exact
//! meaning of every phrase, is in [`docs::conditions`].
//!
//! A [`Condition`] evaluates against a task log ([`log::History`]) at an instant you give
//! ([`Condition::evaluate`]), and tells when its value can next change by the passing of
//! time alone ([`Condition::next_change`]), so a runtime can sleep exactly until then.
//!
//! # Errors
//!
//! Strings parsed at run time return a [`ParseError`] with the byte range of the mistake,
//! what was expected there, and a hint; [`ParseError::render`] shows the string with a
//! caret line under the mistake. The typed API returns [`ConditionError`] for values out of
//! range. Evaluation returns [`EvalError`] when the context lacks what a condition needs
//! (for example an owning task).

pub use scheduler_core::{condition, log, time};

pub use scheduler_core::condition::{
    Condition, ConditionError, EvalContext, EvalError, NextChange, ParseError,
};
pub use scheduler_core::log::{Action, History, MemoryLog};
pub use scheduler_core::time::{Timestamp, Tz};

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

/// Everything needed to write conditions: the [`Condition`] type, the [`condition!`]
/// macro, the typed constructors of [`condition::api`] and the value types.
pub mod prelude {
    pub use crate::condition;
    pub use scheduler_core::condition::api::*;
    pub use scheduler_core::condition::{Condition, NextChange, Outcome};
    pub use scheduler_core::time::{
        TimeOfDay, TimeOfHour, TimeOfMinute, TimeOfMonth, TimeOfWeek, Weekday,
    };
}

/// Long-form documentation.
pub mod docs {
    #[doc = include_str!("../docs/conditions.md")]
    pub mod conditions {}
}

/// Not public API: used by code that the macros generate. It may change in any release.
#[doc(hidden)]
pub mod __private {
    use scheduler_core::condition::Condition;

    /// Parses a condition that the macro has already checked at compile time.
    ///
    /// The facade pins `scheduler-macros` and `scheduler-core` to the same version, so the
    /// two parsers agree; a failure here means mismatched crate versions.
    pub fn checked_condition(source: &'static str) -> Condition {
        source.parse().unwrap_or_else(|e| {
            panic!(
                "condition {source:?} passed the compile-time check but failed at run time \
                 (scheduler-macros and scheduler-core versions differ): {e}"
            )
        })
    }
}
