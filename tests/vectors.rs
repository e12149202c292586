//! Data-driven tests over the condition vector files (format: `rocketry-semantics.md` §8).
//!
//! * `SCHEDULER_VECTORS` names an evaluation-vector file (condition, instant, log history,
//!   expected truth), `SCHEDULER_PARSE_VECTORS` a parse-vector file (must the string parse?).
//!   Without them, the repository's copies of the samples are used (`data/`, whose
//!   README says where each comes from).
//! * Every case runs. The vectors record Rocketry 2.5.1; where CONDITIONS.md deliberately
//!   differs (its §9), the case is checked against CONDITIONS.md instead, and the runner
//!   prints which rule applied and why. No case is skipped silently.
//! * Each test prints `N passed, M failed` before asserting that nothing failed.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeZone, Utc};
use scheduler::condition::{
    CronFieldKind, CronItem, ParseErrorKind, StatusCondition, StatusScope, TaskRef, TaskStatus,
};
use scheduler::prelude::*;
use scheduler::time::{Period, Span, ValueError};
use scheduler::{Action, EvalContext, LogIndex, ParseError, Timestamp};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct EvalCase {
    cond: String,
    now: String,
    task: Option<String>,
    history: Vec<HistoryRecord>,
    expect: bool,
    #[serde(default)]
    context: Option<CaseContext>,
    #[serde(default)]
    note: Option<String>,
    /// In this project's own vector files: the string must be rejected (then `expect` is
    /// not read).
    #[serde(default)]
    expect_parse_error: bool,
}

#[derive(Debug, Deserialize)]
struct HistoryRecord {
    task: String,
    action: String,
    at: String,
}

#[derive(Debug, Default, Deserialize)]
struct CaseContext {
    env: Option<String>,
    #[serde(default)]
    params: HashMap<String, serde_json::Value>,
    scheduler_started: Option<String>,
    cycles: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ParseCase {
    cond: String,
    parses: bool,
    #[serde(default)]
    note: Option<String>,
}

fn vector_file(var: &str, sample: &str) -> PathBuf {
    match std::env::var_os(var) {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("data")
            .join(sample),
    }
}

fn load<T: for<'de> Deserialize<'de>>(var: &str, sample: &str) -> (PathBuf, Vec<T>) {
    let path = vector_file(var, sample);
    let cases = load_file(&path);
    (path, cases)
}

fn load_file<T: for<'de> Deserialize<'de>>(path: &std::path::Path) -> Vec<T> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the vector file {} ({e}); set the variable that names it, or restore it in tests/data/",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a vector file: {e}", path.display()))
}

fn instant(text: &str) -> Timestamp {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .unwrap_or_else(|e| panic!("bad instant {text:?} in a vector: {e}"));
    Utc.from_utc_datetime(&naive).into()
}

fn param_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A rule of CONDITIONS.md that overrides what a vector (recorded from Rocketry) expects.
struct Deviation {
    rule: &'static str,
    expected: Expect,
}

/// What a case must produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Value(bool),
    ParseError,
}

// ----------------------------------------------------------------------------------------
// Rules of CONDITIONS.md that both kinds of vectors need
// ----------------------------------------------------------------------------------------

/// Whether the string has a quoted name with a `'` inside, which Rocketry reads greedily
/// (`after task 'it's'`) and CONDITIONS.md §1 rules out.
fn has_quote_inside_name(cond: &str) -> bool {
    let quotes: Vec<usize> = cond.match_indices('\'').map(|(i, _)| i).collect();
    // An odd count leaves a quote unpaired; a closing quote followed directly by a letter
    // or digit means the name went on (`'it's'` pairs as `it`, then `s'`).
    quotes.len() % 2 == 1
        || quotes.chunks(2).any(|pair| {
            pair.len() == 2 && cond[pair[1] + 1..].starts_with(|c: char| c.is_alphanumeric())
        })
}

/// The rule of CONDITIONS.md §3 that a parse error enforces, when the error is about the
/// form or range of a value rather than the shape of the condition.
fn value_rule(e: &ParseError) -> Option<&'static str> {
    Some(match e.kind() {
        ParseErrorKind::InvalidValue(ValueError::EndOfHourAsStart) => {
            "CONDITIONS.md §9.9: `4 quarters` (the end of the hour) cannot start a span"
        }
        ParseErrorKind::InvalidValue(ValueError::ZeroDuration(_)) => {
            "CONDITIONS.md §3: a zero length of time is rejected (`every 0 seconds`)"
        }
        ParseErrorKind::BareNumber => "CONDITIONS.md §3, §9.3: bare numbers are not times of day",
        ParseErrorKind::Cron(_) => "CONDITIONS.md §3, §9.2: cron fields are validated when parsed",
        ParseErrorKind::InvalidValue(_) => {
            "CONDITIONS.md §3: values out of range are rejected when parsed"
        }
        ParseErrorKind::Malformed { .. } => {
            "CONDITIONS.md §3: values must have the documented form (`HH:MM`, `MM:SS`, `SS`)"
        }
        _ => return None,
    })
}

const QUOTE_RULE: &str = "CONDITIONS.md §1: a name cannot contain `'`";

// ----------------------------------------------------------------------------------------
// Evaluation vectors
// ----------------------------------------------------------------------------------------

fn params_of(case: &EvalCase) -> HashMap<String, String> {
    let mut params = HashMap::new();
    if let Some(cx) = &case.context {
        for (k, v) in &cx.params {
            params.insert(k.clone(), param_text(v));
        }
        if let Some(env) = &cx.env {
            params.insert("env".to_owned(), env.clone());
        }
    }
    params
}

/// Whether a cron field uses a form whose meaning Rocketry shifts (CONDITIONS.md §9.2):
/// a numeric range with a step in day-of-month, month or day-of-week, or `*/n` in
/// day-of-week.
fn uses_shifted_cron_form(c: &Condition) -> bool {
    let mut found = false;
    c.visit_leaves(&mut |leaf| {
        if let Condition::Cron(schedule) = leaf {
            for field in schedule.fields() {
                let shifted_kind = matches!(
                    field.kind(),
                    CronFieldKind::DayOfMonth | CronFieldKind::Month | CronFieldKind::DayOfWeek
                );
                for item in field.items() {
                    match *item {
                        CronItem::Range {
                            start,
                            step: Some(_),
                            ..
                        } if shifted_kind && !start.named => found = true,
                        CronItem::Any { step: Some(_) }
                            if field.kind() == CronFieldKind::DayOfWeek =>
                        {
                            found = true
                        }
                        _ => {}
                    }
                }
            }
        }
    });
    found
}

fn eval_deviation(case: &EvalCase, parsed: &Result<Condition, ParseError>) -> Option<Deviation> {
    match parsed {
        Err(e) => {
            let rule = value_rule(e)
                .or_else(|| has_quote_inside_name(&case.cond).then_some(QUOTE_RULE))?;
            Some(Deviation {
                rule,
                expected: Expect::ParseError,
            })
        }
        Ok(c) => {
            if let Condition::Param(p) = c {
                // Rocketry's `param` leaves are always false when scheduling.
                let params = params_of(case);
                let value = match p {
                    scheduler::condition::ParamCondition::Exists(k) => params.contains_key(k),
                    scheduler::condition::ParamCondition::Is(k, v) => params.get(k) == Some(v),
                    _ => return None,
                };
                return Some(Deviation {
                    rule: "CONDITIONS.md §9.4: `param ... exists` and `param ... is ...` read the session parameters",
                    expected: Expect::Value(value),
                });
            }
            if let Some(value) = starting_scope_value(case, c) {
                return Some(Deviation {
                    rule: "CONDITIONS.md §9.8: a status scope `starting S` is the whole cycle that starts at S",
                    expected: Expect::Value(value),
                });
            }
            if let Some(exact) = exact_quarters(&case.cond) {
                return Some(Deviation {
                    rule: "CONDITIONS.md §3, §9.9: quarters are exactly N × 15 minutes",
                    expected: match run_eval_case(case, &exact) {
                        Ok(v) => v,
                        // The runner reports the evaluation error of the case itself.
                        Err(_) => return None,
                    },
                });
            }
            if uses_shifted_cron_form(c) && case.cond.trim_start().starts_with("cron") {
                return Some(Deviation {
                    rule: "CONDITIONS.md §9.2: stepped numeric ranges and `*/n` in day fields have standard cron meaning",
                    expected: Expect::Value(standard_cron_value(case)),
                });
            }
            None
        }
    }
}

/// An independent check of standard cron semantics for the minute of `micros` (UTC), used
/// only as the expectation for the vectors that record Rocketry's shifted steps.
fn standard_cron_matches(cond: &str, micros: i64) -> bool {
    let fields: Vec<&str> = cond.trim_start_matches("cron").split_whitespace().collect();
    let t = Utc.timestamp_micros(micros).unwrap();
    use chrono::{Datelike, Timelike};
    let values = [
        t.minute(),
        t.hour(),
        t.day(),
        t.month(),
        t.weekday().num_days_from_sunday(),
    ];
    let names = |i: usize, s: &str| -> u32 {
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
        s.parse().unwrap_or_else(|_| {
            let l = s.to_ascii_lowercase();
            if i == 3 {
                MONTHS.iter().position(|m| *m == l).unwrap() as u32 + 1
            } else {
                DAYS.iter().position(|d| *d == l).unwrap() as u32
            }
        })
    };
    let ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)];
    let field_matches = |i: usize| -> bool {
        let field = fields.get(i).copied().unwrap_or("*");
        field.split(',').any(|item| {
            let (body, step) = match item.split_once('/') {
                Some((b, s)) => (b, s.parse::<u32>().unwrap()),
                None => (item, 1),
            };
            let (lo, hi) = if body == "*" {
                ranges[i]
            } else if let Some((a, b)) = body.split_once('-') {
                (names(i, a), names(i, b))
            } else {
                let v = names(i, body);
                (v, v)
            };
            (lo..=hi).step_by(step as usize).any(|v| {
                if i == 4 {
                    v % 7 == values[i]
                } else {
                    v == values[i]
                }
            })
        })
    };
    let dom_star = fields.get(2).copied().unwrap_or("*") == "*";
    let dow_star = fields.get(4).copied().unwrap_or("*") == "*";
    let day = match (dom_star, dow_star) {
        (false, false) => field_matches(2) || field_matches(4),
        _ => field_matches(2) && field_matches(4),
    };
    field_matches(0) && field_matches(1) && field_matches(3) && day
}

/// The value of a single-leaf cron vector under standard cron semantics: now is inside a
/// matching minute, and the owning task has no start in that minute (at the first instant
/// of a minute that follows a matching one, in the previous minute).
fn standard_cron_value(case: &EvalCase) -> bool {
    const MINUTE: i64 = 60_000_000;
    let now = instant(&case.now).as_micros();
    let minute_start = now - now.rem_euclid(MINUTE);
    if !standard_cron_matches(&case.cond, minute_start) {
        return false;
    }
    let window_start = if now > minute_start {
        minute_start
    } else if standard_cron_matches(&case.cond, minute_start - MINUTE) {
        minute_start - MINUTE
    } else {
        now
    };
    let owner = case.task.as_deref().unwrap_or_default();
    !case.history.iter().any(|r| {
        let at = instant(&r.at).as_micros();
        r.task == owner && r.action == "run" && window_start <= at && at <= now
    })
}

/// The string with each hour position written in quarters (`1 quarter`, `3q`) written as
/// the exact `MM:SS` it means (CONDITIONS.md §3), or `None` when it has none. `4 quarters`
/// stays: it is the end of the hour, which `MM:SS` cannot write.
fn exact_quarters(cond: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = cond;
    let mut found = false;
    'scan: while let Some(i) = rest.find(|c: char| c.is_ascii_digit()) {
        let digits_end = i + rest[i..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len() - i);
        let after = &rest[digits_end..];
        let gap = after.len() - after.trim_start_matches([' ', '\t']).len();
        let word = &after[gap..];
        let before_ok = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == ':');
        for unit in ["quarters", "quarter", "q"] {
            let ends_word = !word[unit.len().min(word.len())..]
                .starts_with(|c: char| c.is_alphanumeric() || c == '_');
            if before_ok && digits_end - i == 1 && word.starts_with(unit) && ends_word {
                let n: u32 = rest[i..digits_end].parse().expect("one digit");
                out.push_str(&rest[..i]);
                if n == 4 {
                    out.push_str("4 quarters");
                } else {
                    write!(out, "{:02}:00", n * 15).unwrap();
                }
                rest = &word[unit.len()..];
                found = true;
                continue 'scan;
            }
        }
        out.push_str(&rest[..digits_end]);
        rest = &rest[digits_end..];
    }
    out.push_str(rest);
    found.then_some(out)
}

/// The value of a status leaf scoped `this <unit> starting S` (or its negation) under
/// CONDITIONS.md §9.8, computed here apart from the project's period arithmetic: the
/// window is the whole cycle that began at the latest S before now (exactly at S, the one
/// before), up to now. Month days past a short month are its last day (§9.10).
fn starting_scope_value(case: &EvalCase, c: &Condition) -> Option<bool> {
    use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike};
    let (status, negated): (&StatusCondition, bool) = match c {
        Condition::Status(s) => (s, false),
        Condition::Not(inner) => match &**inner {
            Condition::Status(s) => (s, true),
            _ => return None,
        },
        _ => return None,
    };
    let StatusScope::Period(period) = &status.scope else {
        return None;
    };
    let now = NaiveDateTime::parse_from_str(&case.now, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
    let time = |t: Option<scheduler::time::TimeOfDay>| t.map_or(NaiveTime::MIN, Into::into);
    // The start of the cycle `k` cycles before the one holding now.
    let candidate = |k: i64| -> Option<NaiveDateTime> {
        Some(match period {
            Period::Day(Span::Starting(t)) => {
                (now.date() - Duration::days(k)).and_time((*t).into())
            }
            Period::Week(Span::Starting(p)) => {
                let monday = now.date()
                    - Duration::days(i64::from(now.weekday().num_days_from_monday()) + 7 * k);
                (monday + Duration::days(i64::from(p.weekday().num_days_from_monday())))
                    .and_time(time(p.time()))
            }
            Period::Month(Span::Starting(p)) => {
                let months = i64::from(now.year()) * 12 + i64::from(now.month0()) - k;
                let (y, m) = (
                    months.div_euclid(12) as i32,
                    months.rem_euclid(12) as u32 + 1,
                );
                let first = NaiveDate::from_ymd_opt(y, m, 1)?;
                let next = if m == 12 {
                    NaiveDate::from_ymd_opt(y + 1, 1, 1)?
                } else {
                    NaiveDate::from_ymd_opt(y, m + 1, 1)?
                };
                let last_day = (next - first).num_days() as u32;
                NaiveDate::from_ymd_opt(y, m, p.day_of_month().min(last_day))?
                    .and_time(time(p.time()))
            }
            Period::Hour(Span::Starting(p)) => {
                // `MM:SS[.ffffff]`, as the point prints.
                let text = p.to_string();
                let (mm, ss) = text.split_once(':')?;
                let secs: f64 = ss.parse().ok()?;
                let top = now.date().and_hms_opt(now.hour(), 0, 0)? - Duration::hours(k);
                top + Duration::minutes(mm.parse().ok()?)
                    + Duration::microseconds((secs * 1e6).round() as i64)
            }
            _ => return None,
        })
    };
    let start = (0..4).filter_map(candidate).find(|&s| s < now)?;
    let task = match &status.task {
        TaskRef::Owner => case.task.clone()?,
        TaskRef::Named(n) => n.clone(),
    };
    let actions: &[&str] = match status.status {
        TaskStatus::Succeeded => &["success"],
        TaskStatus::Failed => &["fail"],
        TaskStatus::Finished => &["success", "fail", "terminate"],
        TaskStatus::Terminated => &["terminate"],
        TaskStatus::Inacted => &["inaction"],
        TaskStatus::Started => &["run"],
        TaskStatus::Crashed => &["crash"],
    };
    let found = case.history.iter().any(|r| {
        let at = NaiveDateTime::parse_from_str(&r.at, "%Y-%m-%dT%H:%M:%S%.f").ok();
        r.task == task
            && actions.contains(&r.action.as_str())
            && at.is_some_and(|at| start <= at && at <= now)
    });
    Some(found != negated)
}

fn run_eval_case(case: &EvalCase, cond: &str) -> Result<Expect, String> {
    let parsed: Result<Condition, ParseError> = cond.parse();
    let condition = match &parsed {
        Ok(c) => c,
        Err(_) => return Ok(Expect::ParseError),
    };
    let mut log = LogIndex::new();
    for r in &case.history {
        let action: Action = r.action.parse().map_err(|e| format!("{e}"))?;
        log.record(&r.task, action, instant(&r.at));
    }
    let params = params_of(case);
    let mut cx = EvalContext::new(&log).params(&params);
    if let Some(owner) = &case.task {
        cx = cx.owner(owner);
    }
    if let Some(context) = &case.context {
        if let Some(started) = &context.scheduler_started {
            cx = cx.scheduler_started(instant(started));
        }
        if let Some(cycles) = context.cycles {
            cx = cx.cycles(cycles);
        }
    }
    condition
        .evaluate(&cx, instant(&case.now))
        .map(Expect::Value)
        .map_err(|e| e.to_string())
}

#[test]
fn evaluation_vectors() {
    let (path, cases): (_, Vec<EvalCase>) = load("SCHEDULER_VECTORS", "vectors.sample.json");
    check_eval_vectors(&path, &cases, Rules::Deviations);
}

/// The cases of the issue that found the calendar corners (a differential run against
/// Rocketry 2.5.1), with the truth Rocketry gives: each passes only through its rule of
/// CONDITIONS.md §9.8-9.10.
#[test]
fn rocketry_calendar_corner_vectors() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/rocketry-corners.json");
    let cases: Vec<EvalCase> = load_file(&path);
    let checked = check_eval_vectors(&path, &cases, Rules::Deviations);
    // The last case (`monthly starting 31st`) agrees with Rocketry, for another reason.
    assert_eq!(
        checked,
        cases.len() - 1,
        "every other corner case goes through its rule"
    );
}

/// The calendar corners and their neighbours with the truth CONDITIONS.md gives
/// (§9.8-9.10), checked as they are.
#[test]
fn calendar_corner_vectors() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/calendar-corners.json");
    let cases: Vec<EvalCase> = load_file(&path);
    check_eval_vectors(&path, &cases, Rules::AsRecorded);
}

/// Counting and duration leaves (`has succeeded more than 2 times today`, `has been running
/// for more than 10 minutes`, `is running at least 2 times`) with the truth CONDITIONS.md
/// gives, checked as they are; the next-change of the same leaves is checked by brute force
/// in `scheduler-core/tests/properties.rs`.
#[test]
fn counting_vectors() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data/counting.json");
    let cases: Vec<EvalCase> = load_file(&path);
    check_eval_vectors(&path, &cases, Rules::AsRecorded);
}

/// Whether a vector file records Rocketry (whose deliberate differences apply) or this
/// project's own expectations.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Rules {
    Deviations,
    AsRecorded,
}

/// Runs every case, prints `N passed, M failed`, fails on any failure; returns how many
/// cases a rule of CONDITIONS.md decided.
fn check_eval_vectors(path: &std::path::Path, cases: &[EvalCase], rules: Rules) -> usize {
    let mut passed = 0;
    let mut failures = String::new();
    let mut deviations: HashMap<&'static str, usize> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let parsed: Result<Condition, ParseError> = case.cond.parse();
        let deviation = match rules {
            Rules::Deviations => eval_deviation(case, &parsed),
            Rules::AsRecorded => None,
        };
        let recorded = if case.expect_parse_error {
            Expect::ParseError
        } else {
            Expect::Value(case.expect)
        };
        let expected = deviation.as_ref().map_or(recorded, |d| d.expected);
        match run_eval_case(case, &case.cond) {
            Ok(got) if got == expected => {
                passed += 1;
                if let Some(d) = deviation {
                    *deviations.entry(d.rule).or_default() += 1;
                }
            }
            got => {
                let detail = match (&got, &parsed) {
                    (Ok(Expect::ParseError), Err(e)) => format!("parse error:\n{}", e.render()),
                    (Ok(v), _) => format!("got {v:?}"),
                    (Err(e), _) => format!("evaluation error: {e}"),
                };
                let history: Vec<String> = case
                    .history
                    .iter()
                    .map(|r| format!("{} {} {}", r.task, r.action, r.at))
                    .collect();
                writeln!(
                    failures,
                    "#{i} {:?} at {} (task {:?}) history [{}] context {:?}: expected {expected:?}, {detail}{}",
                    case.cond,
                    case.now,
                    case.task,
                    history.join(", "),
                    case.context,
                    case.note.as_deref().map(|n| format!(" — note: {n}")).unwrap_or_default(),
                )
                .unwrap();
            }
        }
    }
    let failed = cases.len() - passed;
    println!("evaluation vectors from {}", path.display());
    for (rule, n) in &deviations {
        println!("  {n} case(s) checked against {rule}");
    }
    println!("{passed} passed, {failed} failed");
    assert!(failed == 0, "failing evaluation vectors:\n{failures}");
    deviations.values().sum()
}

// ----------------------------------------------------------------------------------------
// Parse vectors
// ----------------------------------------------------------------------------------------

/// Whether a length of time in the string is given in weeks (`2 weeks`, `1w`).
fn uses_week_unit(cond: &str) -> bool {
    let bytes = cond.as_bytes();
    ["weeks", "week", "w"].iter().any(|unit| {
        cond.match_indices(unit).any(|(i, _)| {
            let before = cond[..i].trim_end();
            let after = bytes.get(i + unit.len()).copied();
            before.ends_with(|c: char| c.is_ascii_digit())
                && !after.is_some_and(|b| b.is_ascii_alphabetic())
        })
    })
}

/// Whether the case's string uses whitespace other than single spaces between words.
fn has_free_whitespace(s: &str) -> bool {
    s.contains("  ") || s.contains('\n') || s.contains('\t') || s.contains('\r')
}

fn parse_deviation(case: &ParseCase, all: &[ParseCase]) -> Option<Deviation> {
    let cond = case.cond.trim();
    let note = case
        .note
        .as_deref()
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !case.parses && has_free_whitespace(&case.cond) {
        let collapsed = case.cond.split_whitespace().collect::<Vec<_>>().join(" ");
        let same_with_single_spaces = all.iter().find(|c| c.cond == collapsed).map(|c| c.parses);
        let only_whitespace =
            note.contains("space") || note.contains("newline") || note.contains("whitespace");
        if let Some(parses) = same_with_single_spaces.or(only_whitespace.then_some(true)) {
            return Some(Deviation {
                rule: "CONDITIONS.md §1, §9.7: whitespace is free between tokens",
                expected: if parses {
                    Expect::Value(true)
                } else {
                    Expect::ParseError
                },
            });
        }
    }
    if !case.parses {
        let is_owner_running = cond == "is running";
        let is_retry = cond == "retry"
            || cond
                .strip_prefix("retry ")
                .is_some_and(|n| n.trim().chars().all(|c| c.is_ascii_digit()));
        let after_terminated = cond.starts_with("after ") && cond.ends_with(" terminated");
        let crashed = cond.contains("has crashed");
        let weeks = (cond.contains("every")
            || cond.contains("past")
            || cond.contains("ago")
            || cond.contains("over"))
            && uses_week_unit(cond);
        let operator_in_name = note.contains("cannot contain") || note.contains("split");
        let rule = if is_owner_running {
            "CONDITIONS.md §2, §9.6: `is running` applies to the owning task"
        } else if is_retry {
            "CONDITIONS.md §2, §9.6: `retry` and `retry N` are phrases"
        } else if after_terminated {
            "CONDITIONS.md §2, §9.6: `after task 'x' terminated` exists"
        } else if crashed {
            "CONDITIONS.md §2, §9.6: `has crashed` exists"
        } else if weeks {
            "CONDITIONS.md §3, §9.6: lengths of time may be given in weeks"
        } else if operator_in_name {
            "CONDITIONS.md §1: a quoted name may contain anything but `'`"
        } else {
            return None;
        };
        return Some(Deviation {
            rule,
            expected: Expect::Value(true),
        });
    }
    // Rocketry accepts values that CONDITIONS.md §3 rejects (a zero length of time,
    // positions out of range, times without minutes) and names with a quote inside.
    if case.parses
        && let Err(e) = cond.parse::<Condition>()
        && let Some(rule) =
            value_rule(&e).or_else(|| has_quote_inside_name(cond).then_some(QUOTE_RULE))
    {
        return Some(Deviation {
            rule,
            expected: Expect::ParseError,
        });
    }
    None
}

#[test]
fn parse_vectors() {
    let (path, cases): (_, Vec<ParseCase>) = load("SCHEDULER_PARSE_VECTORS", "parse.sample.json");
    let mut passed = 0;
    let mut failures = String::new();
    let mut deviations: HashMap<&'static str, usize> = HashMap::new();
    for (i, case) in cases.iter().enumerate() {
        let deviation = parse_deviation(case, &cases);
        let expected = deviation.as_ref().map_or(
            if case.parses {
                Expect::Value(true)
            } else {
                Expect::ParseError
            },
            |d| d.expected,
        );
        let result: Result<Condition, ParseError> = case.cond.parse();
        let got = if result.is_ok() {
            Expect::Value(true)
        } else {
            Expect::ParseError
        };
        if got == expected {
            passed += 1;
            if let Some(d) = deviation {
                *deviations.entry(d.rule).or_default() += 1;
            }
            // Whatever parses must print a canonical form that parses back to it.
            if let Ok(c) = &result {
                let printed = c.to_string();
                match printed.parse::<Condition>() {
                    Ok(again) if &again == c => {}
                    other => {
                        passed -= 1;
                        writeln!(
                            failures,
                            "#{i} {:?}: printed as {printed:?}, which parses to {other:?}",
                            case.cond
                        )
                        .unwrap();
                    }
                }
            }
        } else {
            let detail = match &result {
                Ok(c) => format!("parsed as `{c}`"),
                Err(e) => format!("rejected:\n{}", e.render()),
            };
            writeln!(
                failures,
                "#{i} {:?}: expected {expected:?}, {detail}{}",
                case.cond,
                case.note
                    .as_deref()
                    .map(|n| format!(" — note: {n}"))
                    .unwrap_or_default()
            )
            .unwrap();
        }
    }
    let failed = cases.len() - passed;
    println!("parse vectors from {}", path.display());
    for (rule, n) in &deviations {
        println!("  {n} case(s) checked against {rule}");
    }
    println!("{passed} passed, {failed} failed");
    assert!(failed == 0, "failing parse vectors:\n{failures}");
}
