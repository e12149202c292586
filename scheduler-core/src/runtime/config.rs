//! Settings of the scheduler, with defaults a production program can keep.
//!
//! Set them with the builder, or with environment variables (read by
//! [`Config::from_env`], which `scheduler::run()` applies):
//!
//! | variable | setting | default |
//! |---|---|---|
//! | `SCHEDULER_TIME_ZONE` | [`time_zone`](Config::time_zone): IANA name | the system's zone |
//! | `SCHEDULER_TIMEOUT` | [`default_timeout`](Config::default_timeout): a length such as `30 minutes`, or `never` | 30 minutes |
//! | `SCHEDULER_MAX_PROCESSES` | [`max_processes`](Config::max_processes) | number of CPUs |
//! | `SCHEDULER_MULTILAUNCH` | [`multilaunch`](Config::multilaunch): `true`/`false` | false |
//! | `SCHEDULER_INSTANT_SHUTDOWN` | [`instant_shutdown`](Config::instant_shutdown) | false |
//! | `SCHEDULER_ON_DUPLICATE` | [`on_duplicate`](Config::on_duplicate): `error`, `ignore`, `rename`, `replace` | error |
//! | `SCHEDULER_CONDITION_ERRORS` | [`condition_errors`](Config::condition_errors): `stop`, `silence` | stop |
//! | `SCHEDULER_RESTART` | [`restart`](Config::restart): `replace`, `relaunch`, `recall` | replace |
//! | `SCHEDULER_SHUT_COND` | [`shut_cond`](Config::shut_cond): a condition | none |
//! | `SCHEDULER_CHECK_CYCLES` | [`check_cycles`](Config::check_cycles) | true |
//! | `SCHEDULER_DATABASE_URL` | [`database`](Config::database): `memory:`, a SQLite file (`sqlite:path` or a path), `postgres://...` | `scheduler.db` in the working directory |
//! | `SCHEDULER_INSTANCE` | [`instance`](Config::instance): this process's name in the log | the host's name |
//! | `SCHEDULER_LOG_MAX_AGE` | [`log_retention`](Config::log_retention): prune records older than this (`90 days`), or `forever` | forever |
//! | `SCHEDULER_LOG_MAX_PER_TASK` | [`log_retention`](Config::log_retention): prune records beyond this many per task | none |

use std::time::Duration;

use crate::condition::Condition;
use crate::task_options::Timeout;
use crate::time::Tz;

/// What to do when two tasks have the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicatePolicy {
    /// Refuse to start (or to add the task), naming both definitions.
    #[default]
    Error,
    /// Keep the first task, drop the new one.
    Ignore,
    /// Add the new one as `name - 1`, `name - 2`, ... (see [`renamed`](Self::renamed)).
    Rename,
    /// Replace the first task with the new one.
    Replace,
}

impl DuplicatePolicy {
    /// The name [`Rename`](Self::Rename) gives a new task named `base`: the first of
    /// `base - 1`, `base - 2`, ... that is not `taken`.
    ///
    /// ```
    /// use scheduler_core::runtime::DuplicatePolicy;
    ///
    /// let taken = ["report", "report - 1"];
    /// assert_eq!(DuplicatePolicy::renamed("report", |n| taken.contains(&n)), "report - 2");
    /// ```
    pub fn renamed(base: &str, taken: impl Fn(&str) -> bool) -> String {
        (1..)
            .map(|n| format!("{base} - {n}"))
            .find(|name| !taken(name))
            .unwrap_or_else(|| base.to_owned())
    }
}

/// What a condition that cannot be evaluated (for example `scheduler started ... ago` with
/// no start time) does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConditionErrors {
    /// Stop the scheduler with the error.
    #[default]
    Stop,
    /// Log the error; a start condition counts as false, an end condition as true.
    Silence,
}

/// How the scheduler restarts when asked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RestartMode {
    /// Replace this process with a new run of the same program and arguments (Unix
    /// `exec`; elsewhere, like `Relaunch`).
    #[default]
    Replace,
    /// Start a new process of the same program and arguments, and exit.
    Relaunch,
    /// Start the scheduler again inside this process (keeping its log).
    Recall,
}

/// How much of the log a store keeps: records older than `max_age`, or beyond the newest
/// `max_records_per_task` of a task, are pruned (hourly), except what some condition can
/// still ask. The default keeps everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogRetention {
    /// Prune records older than this.
    pub max_age: Option<Duration>,
    /// Prune records beyond this many of each task's newest.
    pub max_records_per_task: Option<u64>,
}

/// The SQLite file of [`Config::database`] by default, in the working directory.
pub const DEFAULT_DATABASE: &str = "scheduler.db";

/// Settings of the scheduler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The zone whose wall clock conditions read; `None`: the system's zone (UTC if it
    /// cannot be found).
    pub time_zone: Option<Tz>,
    /// Timeout of runs whose task sets none; `None`: never.
    pub default_timeout: Option<Duration>,
    /// Most child processes (`execution = "process"`) running at once.
    pub max_processes: usize,
    /// Whether tasks may start while a run of theirs is still going, unless they say.
    pub multilaunch: bool,
    /// Whether shutting down terminates running runs instead of waiting for them.
    pub instant_shutdown: bool,
    /// What to do with two tasks of the same name.
    pub on_duplicate: DuplicatePolicy,
    /// What a condition that cannot be evaluated does.
    pub condition_errors: ConditionErrors,
    /// How to restart.
    pub restart: RestartMode,
    /// When true, the scheduler shuts down (checked like a task's condition, with no
    /// owning task).
    pub shut_cond: Option<Condition>,
    /// Whether to refuse to start when tasks wait on each other in a cycle that can never
    /// begin (each one only after another of the cycle).
    pub check_cycles: bool,
    /// Whether `run()` and `serve()` shut down gracefully on SIGINT and SIGTERM (a second
    /// signal, half a second or more after the first, terminates running runs).
    pub handle_signals: bool,
    /// Where the log is kept: `memory:`, a SQLite file, or `postgres://...` (see
    /// `log::store::StoreUrl`); a store given to the builder takes precedence.
    pub database: String,
    /// This process's name in the log (records and instances); `None`: the host's name.
    pub instance: Option<String>,
    /// How much of the log the store keeps.
    pub log_retention: LogRetention,
    /// The worker role alone: no task starts by its condition, at start-up or at shutdown;
    /// only queued jobs run (see `SchedulerBuilder::worker_only`).
    pub worker_only: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            time_zone: None,
            default_timeout: Some(Duration::from_secs(30 * 60)),
            max_processes: std::thread::available_parallelism().map_or(1, |n| n.get()),
            multilaunch: false,
            instant_shutdown: false,
            on_duplicate: DuplicatePolicy::Error,
            condition_errors: ConditionErrors::Stop,
            restart: RestartMode::Replace,
            shut_cond: None,
            check_cycles: true,
            handle_signals: true,
            database: DEFAULT_DATABASE.to_owned(),
            instance: None,
            log_retention: LogRetention::default(),
            worker_only: false,
        }
    }
}

/// An environment variable with a value the scheduler cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}={value:?}: {problem}")]
pub struct ConfigError {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

fn parse_choice<T: Copy>(s: &str, choices: &[(&str, T)]) -> Result<T, String> {
    let wanted = s.trim().to_ascii_lowercase();
    choices
        .iter()
        .find(|(name, _)| *name == wanted)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
            format!("expected one of {}", names.join(", "))
        })
}

/// An IANA zone name such as `Europe/Helsinki`; the error names the nearest zone.
pub(crate) fn parse_zone(s: &str) -> Result<Tz, String> {
    let name = s.trim();
    if let Ok(zone) = name.parse::<Tz>() {
        return Ok(zone);
    }
    let zones = || chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
    // A name in the wrong case, a typo, or a city without its region.
    let suggestion = zones()
        .find(|zone| zone.eq_ignore_ascii_case(name))
        .or_else(|| crate::condition::nearest(name, zones()))
        .or_else(|| {
            let city = |zone: &'static str| zone.rsplit('/').next().unwrap_or(zone);
            zones()
                .find(|zone| city(zone).eq_ignore_ascii_case(name))
                .or_else(|| {
                    let nearest_city = crate::condition::nearest(name, zones().map(city))?;
                    zones().find(|zone| city(zone) == nearest_city)
                })
        });
    // The error shows the value beside the variable: the problem need not repeat it.
    Err(match suggestion {
        Some(zone) => format!("not an IANA time zone name; did you mean `{zone}`?"),
        None => "not an IANA time zone name (such as `Europe/Helsinki`, `America/New_York` \
                 or `UTC`)"
            .to_owned(),
    })
}

/// `30 minutes` (or any length of the condition language), or `never`.
fn parse_timeout(s: &str) -> Result<Option<Duration>, String> {
    s.parse::<Timeout>()
        .map(Timeout::duration)
        .map_err(|e| e.to_string())
}

impl Config {
    /// The defaults with the `SCHEDULER_*` environment variables applied.
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::default().with_env_from(|name| std::env::var(name).ok())
    }

    /// These settings with the `SCHEDULER_*` variables found by `lookup` applied.
    pub fn with_env_from(
        mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let apply = |variable: &'static str,
                     set: &mut dyn FnMut(&str) -> Result<(), String>|
         -> Result<(), ConfigError> {
            match lookup(variable) {
                Some(value) => set(&value).map_err(|problem| ConfigError {
                    variable,
                    value,
                    problem,
                }),
                None => Ok(()),
            }
        };
        apply("SCHEDULER_TIME_ZONE", &mut |v| {
            self.time_zone = Some(parse_zone(v)?);
            Ok(())
        })?;
        apply("SCHEDULER_TIMEOUT", &mut |v| {
            self.default_timeout = parse_timeout(v)?;
            Ok(())
        })?;
        apply("SCHEDULER_MAX_PROCESSES", &mut |v| {
            let n: usize = v
                .trim()
                .parse()
                .map_err(|_| "expected a whole number".to_owned())?;
            if n == 0 {
                return Err("must be at least 1".to_owned());
            }
            self.max_processes = n;
            Ok(())
        })?;
        apply("SCHEDULER_MULTILAUNCH", &mut |v| {
            self.multilaunch = parse_bool(v)?;
            Ok(())
        })?;
        apply("SCHEDULER_INSTANT_SHUTDOWN", &mut |v| {
            self.instant_shutdown = parse_bool(v)?;
            Ok(())
        })?;
        apply("SCHEDULER_ON_DUPLICATE", &mut |v| {
            self.on_duplicate = parse_choice(
                v,
                &[
                    ("error", DuplicatePolicy::Error),
                    ("ignore", DuplicatePolicy::Ignore),
                    ("rename", DuplicatePolicy::Rename),
                    ("replace", DuplicatePolicy::Replace),
                ],
            )?;
            Ok(())
        })?;
        apply("SCHEDULER_CONDITION_ERRORS", &mut |v| {
            self.condition_errors = parse_choice(
                v,
                &[
                    ("stop", ConditionErrors::Stop),
                    ("silence", ConditionErrors::Silence),
                ],
            )?;
            Ok(())
        })?;
        apply("SCHEDULER_RESTART", &mut |v| {
            self.restart = parse_choice(
                v,
                &[
                    ("replace", RestartMode::Replace),
                    ("relaunch", RestartMode::Relaunch),
                    ("recall", RestartMode::Recall),
                ],
            )?;
            Ok(())
        })?;
        apply("SCHEDULER_SHUT_COND", &mut |v| {
            self.shut_cond = Some(v.parse::<Condition>().map_err(|e| {
                // After `environment variable ...: `, a second `error: ` is noise.
                let rendered = e.render();
                rendered
                    .strip_prefix("error: ")
                    .map_or_else(|| rendered.clone(), str::to_owned)
            })?);
            Ok(())
        })?;
        apply("SCHEDULER_CHECK_CYCLES", &mut |v| {
            self.check_cycles = parse_bool(v)?;
            Ok(())
        })?;
        apply("SCHEDULER_DATABASE_URL", &mut |v| {
            crate::log::store::StoreUrl::parse(v).map_err(|e| e.to_string())?;
            self.database = v.trim().to_owned();
            Ok(())
        })?;
        apply("SCHEDULER_INSTANCE", &mut |v| {
            if v.trim().is_empty() {
                return Err("must not be empty".to_owned());
            }
            self.instance = Some(v.trim().to_owned());
            Ok(())
        })?;
        apply("SCHEDULER_LOG_MAX_AGE", &mut |v| {
            self.log_retention.max_age = match v.trim() {
                "forever" => None,
                other => Some(
                    other
                        .parse::<crate::time::Interval>()
                        .map_err(|e| {
                            format!(
                                "expected a length of time such as `90 days`, or `forever`: {}",
                                e.message()
                            )
                        })?
                        .as_duration(),
                ),
            };
            Ok(())
        })?;
        apply("SCHEDULER_LOG_MAX_PER_TASK", &mut |v| {
            let n: u64 = v
                .trim()
                .parse()
                .map_err(|_| "expected a whole number".to_owned())?;
            if n == 0 {
                return Err("must be at least 1".to_owned());
            }
            self.log_retention.max_records_per_task = Some(n);
            Ok(())
        })?;
        Ok(self)
    }

    /// The zone conditions read: the configured one, or the system's.
    pub fn zone(&self) -> Tz {
        self.time_zone.unwrap_or_else(system_zone)
    }
}

/// The system's IANA time zone, or UTC when it cannot be determined.
pub fn system_zone() -> Tz {
    iana_time_zone::get_timezone()
        .ok()
        .and_then(|name| name.parse::<Tz>().ok())
        .unwrap_or(Tz::UTC)
}

/// The name of this host, as the kernel has it (`localhost` where it cannot be read).
pub(crate) fn host_name() -> String {
    let from_kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    from_kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::default().with_env_from(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn environment_overrides_defaults() {
        let c = from(&[
            ("SCHEDULER_TIME_ZONE", "Europe/Helsinki"),
            ("SCHEDULER_TIMEOUT", "2 hours"),
            ("SCHEDULER_MAX_PROCESSES", "3"),
            ("SCHEDULER_ON_DUPLICATE", "Rename"),
            ("SCHEDULER_SHUT_COND", "scheduler has run over 1 hour"),
        ])
        .unwrap();
        assert_eq!(c.time_zone, Some(Tz::Europe__Helsinki));
        assert_eq!(c.default_timeout, Some(Duration::from_secs(7200)));
        assert_eq!(c.max_processes, 3);
        assert_eq!(c.on_duplicate, DuplicatePolicy::Rename);
        assert!(c.shut_cond.is_some());
        assert_eq!(
            from(&[("SCHEDULER_TIMEOUT", "never")])
                .unwrap()
                .default_timeout,
            None
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let e = from(&[("SCHEDULER_MAX_PROCESSES", "zero")]).unwrap_err();
        assert_eq!(e.variable, "SCHEDULER_MAX_PROCESSES");
        let e = from(&[("SCHEDULER_TIME_ZONE", "Mars/Olympus")]).unwrap_err();
        assert_eq!(e.variable, "SCHEDULER_TIME_ZONE");
        assert_eq!(
            e.to_string(),
            "environment variable SCHEDULER_TIME_ZONE=\"Mars/Olympus\": not an IANA time zone \
             name (such as `Europe/Helsinki`, `America/New_York` or `UTC`)"
        );
        let e = from(&[("SCHEDULER_SHUT_COND", "dialy")]).unwrap_err();
        assert!(e.problem.contains("did you mean `daily`?"), "{}", e.problem);
        assert!(
            e.problem.starts_with("expected a condition"),
            "{}",
            e.problem
        );
    }

    #[test]
    fn an_unknown_zone_names_the_nearest() {
        let problem = |zone: &str| from(&[("SCHEDULER_TIME_ZONE", zone)]).unwrap_err().problem;
        assert_eq!(
            problem("Europe/Helsinkii"),
            "not an IANA time zone name; did you mean `Europe/Helsinki`?"
        );
        assert_eq!(
            problem("europe/helsinki"),
            "not an IANA time zone name; did you mean `Europe/Helsinki`?"
        );
        assert_eq!(
            problem("America/New_Yrok"),
            "not an IANA time zone name; did you mean `America/New_York`?"
        );
        assert!(problem("Helsinki").ends_with("did you mean `Europe/Helsinki`?"));
        assert!(problem("Helsinky").ends_with("did you mean `Europe/Helsinki`?"));
        assert_eq!(
            from(&[("SCHEDULER_TIME_ZONE", " Asia/Tokyo ")])
                .unwrap()
                .time_zone,
            Some(Tz::Asia__Tokyo)
        );
    }
}
