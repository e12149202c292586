//! Compile-time diagnostics of the macros (trybuild): one misuse per file under
//! `ui/condition/`, each with its reviewed `.stderr`; and programs that must compile
//! under `ui/pass/`.
//!
//! The `.stderr` files depend on the exact compiler wording, so they are checked on the
//! toolchain pinned in `rust-toolchain.toml`. To update them after a deliberate change:
//! `TRYBUILD=overwrite cargo test -p scheduler-tests --test ui`, then review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/condition/*.rs");
    t.compile_fail("ui/task/*.rs");
    t.pass("ui/pass/*.rs");
}
