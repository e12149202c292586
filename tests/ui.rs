//! Compile-time diagnostics of the macros (trybuild): one misuse per file under
//! `ui/condition/` and `ui/task/`, each with its reviewed `.stderr`.
//!
//! Programs that must compile are not here but in the `ui_pass` test target
//! (`ui/pass/`): trybuild builds its own copy of the dependency tree in
//! `target/tests/trybuild`, and with only `compile_fail` cases it runs `cargo check` there
//! instead of `cargo build`, which on a fresh checkout is most of this test's time.
//!
//! The `.stderr` files depend on the exact compiler wording, so they are checked on the
//! toolchain pinned in `rust-toolchain.toml`. To update them after a deliberate change:
//! `TRYBUILD=overwrite cargo test -p scheduler-tests --test ui`, then review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/condition/*.rs");
    t.compile_fail("ui/task/*.rs");
}
