//! Integration, data-driven and UI tests of `scheduler`; see the test targets.
