//! Integration, data-driven and UI tests of `scheduler`; see the test targets.
//!
//! The library itself holds tasks and a parameter for `runtime_registry.rs`, which checks
//! that the registration of a crate the program depends on reaches the scheduler. Only that
//! test uses this library, so the other test programs do not link these tasks.

/// Tasks and a parameter registered in this library crate.
pub mod library_tasks {
    use scheduler::prelude::*;

    /// The value that [`library_value`] hands to a run.
    #[param]
    pub fn library_value() -> u32 {
        41
    }

    /// Runs hourly and returns the parameter plus one.
    #[task("every 1 hour")]
    pub fn from_library(library_value: Arg<u32>) -> u32 {
        *library_value + 1
    }
}
