//! Checks of the whole task set when the scheduler starts, reported all together:
//! settings that do not go together, duplicate names, conditions and parameters that name
//! tasks that do not exist, and tasks that wait on each other in a cycle none can begin.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;

use crate::condition::{Condition, Quantifier};
use crate::runtime::config::{Config, DuplicatePolicy};
use crate::runtime::inject::Need;
use crate::task_options::TaskProblem;

use super::registry::VersionSkew;
use super::{Origin, TaskSpec};

/// One problem found at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartupProblem {
    /// A task whose settings do not go together.
    Invalid {
        /// The task.
        task: String,
        /// Where it is defined.
        origin: Origin,
        /// What is wrong.
        problems: Vec<TaskProblem>,
    },
    /// A name given to `only_registered` that no `#[task]` function has.
    NotRegistered {
        /// The name.
        task: String,
        /// The closest registered name.
        suggestion: Option<String>,
    },
    /// Two tasks with the same name (and duplicates are refused).
    Duplicate {
        /// The name.
        task: String,
        /// The first definition.
        first: Origin,
        /// The second definition.
        second: Origin,
    },
    /// A condition or parameter naming a task that does not exist.
    UnknownTask {
        /// The task whose condition or parameter it is.
        task: String,
        /// Where it is defined.
        origin: Origin,
        /// The unknown name.
        unknown: String,
        /// Where it appears (`start condition`, `end condition`, `Return<...> parameter`).
        place: &'static str,
        /// The closest existing name.
        suggestion: Option<String>,
    },
    /// Tasks that each start only after the next one in the cycle has run.
    Cycle {
        /// The tasks, in cycle order.
        tasks: Vec<String>,
    },
    /// A shutdown condition that reads an owning task's log.
    ShutCondNeedsOwner {
        /// The condition.
        condition: String,
    },
    /// A registered condition that cannot be read (mismatched crate versions).
    VersionSkew(VersionSkew),
    /// `#[param]` functions whose `Arg<T>` parameters read each other's values: computing
    /// any of them would recurse for ever.
    ParamCycle {
        /// The parameters, in the order each reads the next (the last reads the first).
        params: Vec<String>,
    },
    /// A condition calling a custom condition that is not registered, or with arguments
    /// that do not fit it.
    UnknownCustom {
        /// The task whose condition it is.
        task: String,
        /// Where it is defined.
        origin: Origin,
        /// The call, as written.
        call: String,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for StartupProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupProblem::Invalid {
                task,
                origin,
                problems,
            } => {
                let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
                write!(f, "task '{task}' ({origin}): {}", problems.join("; "))
            }
            StartupProblem::NotRegistered { task, suggestion } => {
                write!(f, "no `#[task]` function is named '{task}'")?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean '{s}'?)")?;
                }
                Ok(())
            }
            StartupProblem::Duplicate {
                task,
                first,
                second,
            } => {
                let places = if first == second && *first == Origin::Code {
                    "both added in code".to_owned()
                } else {
                    format!("{first} and {second}")
                };
                write!(
                    f,
                    "two tasks are named '{task}' ({places}); rename one (`name = \"...\"`), or set the duplicate policy"
                )
            }
            StartupProblem::UnknownTask {
                task,
                origin,
                unknown,
                place,
                suggestion,
            } => {
                write!(
                    f,
                    "task '{task}' ({origin}): its {place} names task '{unknown}', which does not exist"
                )?;
                if let Some(s) = suggestion {
                    write!(f, " (did you mean '{s}'?)")?;
                }
                Ok(())
            }
            StartupProblem::UnknownCustom {
                task,
                origin,
                call,
                problem,
            } => write!(
                f,
                "task '{task}' ({origin}): its condition calls `{call}`: {problem}"
            ),
            StartupProblem::Cycle { tasks } => {
                let mut path = tasks.clone();
                path.extend(tasks.first().cloned());
                write!(
                    f,
                    "tasks {} wait on each other: each starts only after the next one has run, so none can start",
                    path.iter()
                        .map(|t| format!("'{t}'"))
                        .collect::<Vec<_>>()
                        .join(" → ")
                )
            }
            StartupProblem::ShutCondNeedsOwner { condition } => write!(
                f,
                "the shutdown condition `{condition}` reads a task's log without naming the task (write `task '...' has ...`)"
            ),
            StartupProblem::ParamCycle { params } => write!(
                f,
                "the `#[param]` functions {} read each other's values, so none can be computed",
                crate::runtime::context::cycle_text(params)
            ),
            StartupProblem::VersionSkew(skew) => {
                write!(f, "{skew}: {}: {}", skew.source, skew.source.parse)
            }
        }
    }
}

/// The problems that keep the scheduler from starting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// Every problem found.
    pub problems: Vec<StartupProblem>,
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "the scheduler cannot start ({n} problem{}):",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for StartupError {}

/// The tasks a condition cannot become true without: each of them must have run (and
/// finished) first.
fn hard_dependencies(c: &Condition) -> BTreeSet<String> {
    match c {
        Condition::After(a) if a.quantifier == Quantifier::All || a.tasks.len() == 1 => {
            a.tasks.iter().cloned().collect()
        }
        Condition::All(cs) => cs.iter().flat_map(hard_dependencies).collect(),
        Condition::Any(cs) => {
            let mut sets = cs.iter().map(hard_dependencies);
            let first = sets.next().unwrap_or_default();
            sets.fold(first, |acc, s| acc.intersection(&s).cloned().collect())
        }
        _ => BTreeSet::new(),
    }
}

/// Applies the duplicate policy and checks the task set.
pub(crate) fn check(
    specs: Vec<TaskSpec>,
    config: &Config,
    mut problems: Vec<StartupProblem>,
) -> Result<Vec<TaskSpec>, StartupError> {
    // Settings that do not go together.
    for spec in &specs {
        let p = spec.problems();
        if !p.is_empty() {
            problems.push(StartupProblem::Invalid {
                task: spec.name.to_string(),
                origin: spec.origin,
                problems: p,
            });
        }
    }

    // Duplicates.
    let mut kept: Vec<TaskSpec> = Vec::with_capacity(specs.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for mut spec in specs {
        match index.get(&*spec.name).copied() {
            None => {
                index.insert(spec.name.to_string(), kept.len());
                kept.push(spec);
            }
            Some(i) => match config.on_duplicate {
                DuplicatePolicy::Error => problems.push(StartupProblem::Duplicate {
                    task: spec.name.to_string(),
                    first: kept[i].origin,
                    second: spec.origin,
                }),
                DuplicatePolicy::Ignore => {}
                DuplicatePolicy::Replace => kept[i] = spec,
                DuplicatePolicy::Rename => {
                    spec.name =
                        DuplicatePolicy::renamed(&spec.name, |name| index.contains_key(name))
                            .into();
                    index.insert(spec.name.to_string(), kept.len());
                    kept.push(spec);
                }
            },
        }
    }

    // Names of tasks in conditions and `Return<...>` parameters.
    let names: Vec<&str> = kept.iter().map(|s| &*s.name).collect();
    // A set: with thousands of tasks, a scan per mentioned name is quadratic.
    let known: HashSet<&str> = names.iter().copied().collect();
    for spec in &kept {
        let mut mentioned: Vec<(&str, &'static str)> = spec
            .start
            .referenced_tasks()
            .into_iter()
            .map(|n| (n, "start condition"))
            .collect();
        if let Some(end) = &spec.end {
            mentioned.extend(
                end.referenced_tasks()
                    .into_iter()
                    .map(|n| (n, "end condition")),
            );
        }
        for need in spec.needs.into_iter().flatten().flatten() {
            let Need::Return(name) = need;
            mentioned.push((name, "`Return<...>` parameter"));
        }
        for (unknown, place) in mentioned {
            if !known.contains(unknown) {
                problems.push(StartupProblem::UnknownTask {
                    task: spec.name.to_string(),
                    origin: spec.origin,
                    unknown: unknown.to_owned(),
                    place,
                    suggestion: crate::condition::nearest(unknown, names.iter().copied())
                        .map(str::to_owned),
                });
            }
        }
    }

    // Custom conditions: registered, and called with arguments that fit.
    let conds: HashMap<&str, &crate::runtime::custom::CondDef> =
        crate::runtime::custom::registered_conds()
            .map(|d| (d.name, d))
            .collect();
    for spec in &kept {
        for call in spec
            .start
            .custom_calls()
            .into_iter()
            .chain(spec.end.iter().flat_map(|e| e.custom_calls()))
        {
            let problem = match conds.get(call.name()) {
                Some(def) => crate::runtime::custom::check_call(def, call).err(),
                None => Some(
                    match crate::condition::nearest(call.name(), conds.keys().copied()) {
                        Some(n) => format!(
                            "no custom condition `{}` is registered (did you mean `{n}`?)",
                            call.name()
                        ),
                        None => format!(
                            "no custom condition `{}` is registered (mark a function `#[scheduler::cond]`)",
                            call.name()
                        ),
                    },
                ),
            };
            if let Some(problem) = problem {
                problems.push(StartupProblem::UnknownCustom {
                    task: spec.name.to_string(),
                    origin: spec.origin,
                    call: Condition::Custom(call.clone()).to_string(),
                    problem,
                });
            }
        }
    }

    // Cycles of hard dependencies.
    if config.check_cycles {
        let deps: HashMap<&str, BTreeSet<String>> = kept
            .iter()
            .filter(|s| !s.runs_at_start_or_end())
            .map(|s| (&*s.name, hard_dependencies(&s.start)))
            .collect();
        let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
        for &start in deps.keys() {
            if let Some(cycle) = find_cycle(start, &deps) {
                let mut key = cycle.clone();
                key.sort();
                if reported.insert(key) {
                    problems.push(StartupProblem::Cycle { tasks: cycle });
                }
            }
        }
    }

    if let Some(shut) = &config.shut_cond
        && shut.needs_owner()
    {
        problems.push(StartupProblem::ShutCondNeedsOwner {
            condition: shut.to_string(),
        });
    }

    if problems.is_empty() {
        Ok(kept)
    } else {
        Err(StartupError { problems })
    }
}

/// The cycle of hard dependencies through `changed` that its conditions would close among
/// `others` (the other tasks of a running scheduler), if any: what start-up reports as
/// [`StartupProblem::Cycle`], checked for a condition changed at run time.
pub(crate) fn cycle_through<'a>(
    changed: &'a TaskSpec,
    others: impl Iterator<Item = &'a TaskSpec>,
) -> Option<Vec<String>> {
    if changed.runs_at_start_or_end() {
        return None;
    }
    let mut deps: HashMap<&str, BTreeSet<String>> = others
        .filter(|s| !s.runs_at_start_or_end() && s.name != changed.name)
        .map(|s| (&*s.name, hard_dependencies(&s.start)))
        .collect();
    deps.insert(&changed.name, hard_dependencies(&changed.start));
    find_cycle(&changed.name, &deps)
}

/// Cycles among `#[param]` functions: `reads` gives, for each function's parameter name,
/// the parameters its `Arg<T>` parameters read. A name given a value on the builder is not
/// computed by its function, so reading it goes no further.
pub(crate) fn param_cycles<'a>(
    functions: impl Iterator<Item = (&'a str, &'a [&'a str])>,
    has_value: impl Fn(&str) -> bool,
) -> Vec<StartupProblem> {
    let deps: HashMap<&str, BTreeSet<String>> = functions
        .filter(|(name, _)| !has_value(name))
        .map(|(name, reads)| (name, reads.iter().map(|r| (*r).to_owned()).collect()))
        .collect();
    let mut names: Vec<&str> = deps.keys().copied().collect();
    // In name order, so that the report does not depend on the hash map's.
    names.sort_unstable();
    let mut reported: BTreeSet<Vec<String>> = BTreeSet::new();
    let mut problems = Vec::new();
    for start in names {
        if let Some(cycle) = find_cycle(start, &deps) {
            let mut key = cycle.clone();
            key.sort();
            if reported.insert(key) {
                problems.push(StartupProblem::ParamCycle { params: cycle });
            }
        }
    }
    problems
}

/// A cycle through `start` in the dependency graph, if any (depth-first).
fn find_cycle(start: &str, deps: &HashMap<&str, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        start: &str,
        deps: &HashMap<&str, BTreeSet<String>>,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in deps.get(node).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if visit(next, start, deps, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    let mut seen = BTreeSet::new();
    visit(start, start, deps, &mut path, &mut seen).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn param_functions_reading_each_other_are_reported_once() {
        let functions: [(&str, &[&str]); 5] = [
            ("a", &["b"]),
            ("b", &["c", "unrelated"]),
            ("c", &["a"]),
            ("itself", &["itself"]),
            ("given", &["given"]),
        ];
        let problems = param_cycles(functions.into_iter(), |name| name == "given");
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "the `#[param]` functions 'a' → 'b' → 'c' → 'a' read each other's values, so none can be computed",
                "the `#[param]` functions 'itself' → 'itself' read each other's values, so none can be computed",
            ]
        );
    }

    fn task(name: &str, cond: &str) -> TaskSpec {
        TaskSpec::from_blocking(name, |_| ()).when(cond.parse::<Condition>().unwrap())
    }

    #[test]
    fn reports_all_problems_together() {
        let specs = vec![
            task("get_data", "daily"),
            task("transform", "after task 'get_dat'"),
            task("a", "after task 'b'"),
            task("b", "after task 'a' & daily"),
            task("c", "after task 'b' | every 1 hour"),
            task("get_data", "hourly"),
        ];
        let e = check(specs, &Config::default(), Vec::new()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("3 problems"), "{text}");
        assert!(
            text.contains("names task 'get_dat', which does not exist (did you mean 'get_data'?)"),
            "{text}"
        );
        assert!(text.contains("two tasks are named 'get_data'"), "{text}");
        assert!(
            text.contains("'a' → 'b' → 'a'") || text.contains("'b' → 'a' → 'b'"),
            "{text}"
        );
        assert!(
            !text.contains("'c'"),
            "an alternative start is not a cycle: {text}"
        );
    }

    #[test]
    fn duplicate_policies() {
        let specs = || {
            vec![
                task("x", "daily"),
                task("x", "hourly"),
                task("x", "minutely"),
            ]
        };
        let config = |p| Config {
            on_duplicate: p,
            ..Config::default()
        };
        let renamed = check(specs(), &config(DuplicatePolicy::Rename), Vec::new()).unwrap();
        let names: Vec<&str> = renamed.iter().map(|s| &*s.name).collect();
        assert_eq!(names, ["x", "x - 1", "x - 2"]);
        let replaced = check(specs(), &config(DuplicatePolicy::Replace), Vec::new()).unwrap();
        assert_eq!(replaced.len(), 1);
        assert_eq!(replaced[0].start.to_string(), "minutely");
        let ignored = check(specs(), &config(DuplicatePolicy::Ignore), Vec::new()).unwrap();
        assert_eq!(ignored[0].start.to_string(), "daily");
    }
}
