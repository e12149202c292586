//! How the definitions that `#[task]` and `#[param]` emit, in any module of any crate of
//! the program, reach the [`registry`](super::registry) without a list to maintain.
//!
//! On Linux each definition is a `static` in a named linker section, and the linker, which
//! concatenates the sections of every object it links, gives the bounds of the whole as
//! the symbols `__start_<section>` and `__stop_<section>`: the registry reads the
//! definitions in place, and nothing runs at start-up to collect them. Elsewhere (or with
//! `--cfg scheduler_registry_inventory`, which the CI uses to test this path on Linux) the
//! definitions go through the `inventory` crate, whose per-item constructors build a linked
//! list before `main`.
//!
//! Why not `inventory` everywhere: its registration is a static, a constructor function
//! and a constructor-table entry per item, which in a crate of many tasks is about 14 % of
//! rustc's whole work (a debug build of 200 tasks: 4.41 G instructions with it, 3.79 G with
//! a section static). `linkme` collects the same way as here, but its attribute adds a
//! type-check function per item that costs more than it saves. Only Linux uses the section,
//! because this is where it is tested; macOS and Windows need other section names and
//! bound symbols.
//!
//! The generated code calls `register_task!` and `register_param!` through
//! `scheduler::__private`. They are defined here, next to the reader, so that writer and
//! reader always agree on the mechanism: the `cfg` is evaluated once, for this crate, and
//! the user's crate only expands what this crate chose.

use super::registry::{ParamDef, TaskDef};

#[cfg(all(target_os = "linux", not(scheduler_registry_inventory)))]
#[allow(unsafe_code)]
mod section {
    //! The linker-section collection (see the parent module).
    //!
    //! Safety argument, shared by both sections: only `register_task!` and
    //! `register_param!` write to `scheduler_rs_tasks_*` and `scheduler_rs_params_*`, each
    //! item a `static` of exactly one `TaskDef` (or `ParamDef`). Every input section of
    //! one name therefore holds whole values of one type, with that type's alignment, and
    //! the linker concatenates them, each aligned, so (as the size of a Rust type is a
    //! multiple of its alignment) with no gap: the bytes between the start and stop
    //! symbols are an array of the type. The anchors below are empty arrays of the type in
    //! each section, so the sections, and hence the symbols, exist even in a program with
    //! no task, and the start is aligned for the type.
    //!
    //! The section names carry the crate's semver-compatible version (`0_1` for 0.1.x): a
    //! program that links two incompatible versions of this crate (through two dependencies)
    //! has two registries whose `TaskDef`s may differ, and each must read only its own.
    //! Cargo unifies compatible versions, so within one name there is one `TaskDef`.

    use super::{ParamDef, TaskDef};

    /// The name of the task section (a literal: it is expanded in the user's crate, where
    /// `env!` would read that crate's version).
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __scheduler_task_section {
        () => {
            "scheduler_rs_tasks_0_1"
        };
    }

    /// The name of the parameter section.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __scheduler_param_section {
        () => {
            "scheduler_rs_params_0_1"
        };
    }

    /// Puts a `TaskDef` into the program's task section.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __register_task {
        ($def:expr) => {
            #[used]
            #[unsafe(link_section = $crate::__scheduler_task_section!())]
            static __SCHEDULER_TASK: $crate::runtime::TaskDef = $def;
        };
    }

    /// Puts a `ParamDef` into the program's parameter section.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __register_param {
        ($def:expr) => {
            #[used]
            #[unsafe(link_section = $crate::__scheduler_param_section!())]
            static __SCHEDULER_PARAM: $crate::runtime::ParamDef = $def;
        };
    }

    #[used]
    #[unsafe(link_section = crate::__scheduler_task_section!())]
    static TASKS_ANCHOR: [TaskDef; 0] = [];

    #[used]
    #[unsafe(link_section = crate::__scheduler_param_section!())]
    static PARAMS_ANCHOR: [ParamDef; 0] = [];

    unsafe extern "Rust" {
        #[link_name = concat!("__start_", crate::__scheduler_task_section!())]
        static TASKS_START: [TaskDef; 0];
        #[link_name = concat!("__stop_", crate::__scheduler_task_section!())]
        static TASKS_STOP: [TaskDef; 0];
        #[link_name = concat!("__start_", crate::__scheduler_param_section!())]
        static PARAMS_START: [ParamDef; 0];
        #[link_name = concat!("__stop_", crate::__scheduler_param_section!())]
        static PARAMS_STOP: [ParamDef; 0];
    }

    /// The values between two bound symbols.
    ///
    /// # Safety
    ///
    /// `start` and `stop` bound a section that holds only whole `T`s (see the module).
    unsafe fn between<T>(start: *const [T; 0], stop: *const [T; 0]) -> &'static [T] {
        let bytes = (stop as usize).wrapping_sub(start as usize);
        let size = size_of::<T>();
        // Holds by the module's argument; checked because a violation (another writer of
        // the section name) would otherwise read garbage as definitions.
        assert!(
            stop as usize >= start as usize && bytes.is_multiple_of(size),
            "the linker section of {} holds {bytes} bytes, not whole values of {size} bytes: \
             something other than the scheduler's macros writes to it",
            std::any::type_name::<T>(),
        );
        // SAFETY: the caller's guarantee, checked in part above; `start` is aligned for
        // `T` because the anchor of that type is in the section.
        unsafe { std::slice::from_raw_parts(start.cast::<T>(), bytes / size) }
    }

    /// Every task registered by `#[task]` in the program.
    pub(in crate::runtime) fn tasks() -> impl Iterator<Item = &'static TaskDef> {
        // SAFETY: the task section's bounds (see the module).
        unsafe { between(&raw const TASKS_START, &raw const TASKS_STOP) }.iter()
    }

    /// Every parameter registered by `#[param]` in the program.
    pub(in crate::runtime) fn params() -> impl Iterator<Item = &'static ParamDef> {
        // SAFETY: the parameter section's bounds (see the module).
        unsafe { between(&raw const PARAMS_START, &raw const PARAMS_STOP) }.iter()
    }

    #[cfg(test)]
    mod tests {
        /// The suffix of the section names for a version: `0_1` for 0.1.x, `2` for 2.x.
        fn compatible(version: &str) -> String {
            let mut parts = version.split('.');
            let major = parts.next().unwrap_or_default();
            let minor = parts.next().unwrap_or_default();
            if major == "0" {
                format!("0_{minor}")
            } else {
                major.to_owned()
            }
        }

        #[test]
        fn section_names_carry_the_compatible_version() {
            let suffix = format!("_{}", compatible(env!("CARGO_PKG_VERSION")));
            // Bumping the crate's version past a compatible range without renaming the
            // sections fails here.
            assert!(
                crate::__scheduler_task_section!().ends_with(&suffix),
                "{suffix}"
            );
            assert!(
                crate::__scheduler_param_section!().ends_with(&suffix),
                "{suffix}"
            );
            assert_eq!(compatible("0.1.7"), "0_1");
            assert_eq!(compatible("2.3.0"), "2");
        }
    }
}

#[cfg(not(all(target_os = "linux", not(scheduler_registry_inventory))))]
mod section {
    //! The `inventory` collection (see the parent module).

    use super::{ParamDef, TaskDef};

    inventory::collect!(TaskDef);
    inventory::collect!(ParamDef);

    /// Submits a `TaskDef` to `inventory`.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __register_task {
        ($def:expr) => {
            $crate::runtime::__inventory::submit! { $def }
        };
    }

    /// Submits a `ParamDef` to `inventory`.
    #[doc(hidden)]
    #[macro_export]
    macro_rules! __register_param {
        ($def:expr) => {
            $crate::runtime::__inventory::submit! { $def }
        };
    }

    /// Every task registered by `#[task]` in the program.
    pub(in crate::runtime) fn tasks() -> impl Iterator<Item = &'static TaskDef> {
        inventory::iter::<TaskDef>.into_iter()
    }

    /// Every parameter registered by `#[param]` in the program.
    pub(in crate::runtime) fn params() -> impl Iterator<Item = &'static ParamDef> {
        inventory::iter::<ParamDef>.into_iter()
    }
}

pub(super) use section::{params, tasks};
