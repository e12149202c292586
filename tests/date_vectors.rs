//! Data-driven test of one-off dates (`once at 2026-12-01T08:00:00`, `#[task(at = ...)]`,
//! Flask-TaskX's `define_date_task(run_date=...)`) over APScheduler 3.11.3's `DateTrigger`
//! vectors.
//!
//! `SCHEDULER_DATE_VECTORS` names the vector file; without it the repository's copy of
//! the sample is used (`data/date_tasks.sample.json`, see `data/README.md`).
//!
//! Each case's `run_date` goes through the typed API (`once_at`, strict ISO 8601, as the
//! `at` option reads it) and, where it is one token, through the condition string
//! `once at <run_date>`; both must agree. The fire time comes from the condition's own
//! evaluation and next-change machinery, as the scheduler uses them: from long before,
//! the first instant at which the leaf is true. The owning task then records a run there,
//! and the leaf must never be true again. A case with `expect_error` must be rejected.
//! The kinds `date` and `datetime` (Python objects in APScheduler's run) are their ISO
//! text here. The test prints `N passed, M failed` and fails on any failure.

mod common;

use std::fmt::Write as _;

use chrono::DateTime;
use scheduler::prelude::*;
use scheduler::{Action, EvalContext, LogIndex, Timestamp, Tz};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
struct Case {
    id: String,
    #[serde(default)]
    what: Option<String>,
    run_date: String,
    kind: String,
    timezone: String,
    #[serde(default)]
    expect: Option<String>,
    #[serde(default)]
    expect_error: bool,
}

const OWNER: &str = "task";

/// Where the search for the fire time starts: long before any date of the vectors.
const SEARCH_FROM: i64 = 0;

fn instant(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("bad instant {text:?} in the vector: {e}"))
}

fn show(t: i64) -> String {
    Timestamp::from_micros(t).to_string()
}

/// The first instant from `SEARCH_FROM` at which the condition is true, found by
/// next-change steps; then, after a run recorded there, whether it is ever true again.
fn fire_and_refire(cond: &Condition, zone: Tz) -> Result<(Option<i64>, Option<i64>), String> {
    let mut log = LogIndex::new();
    let mut first = None;
    let mut t = SEARCH_FROM;
    for _ in 0..1_000 {
        let cx = EvalContext::new(&log).owner(OWNER).zone(zone);
        let now = Timestamp::from_micros(t);
        if cond.evaluate(&cx, now).map_err(|e| e.to_string())? {
            if first.is_some() {
                return Ok((first, Some(t)));
            }
            first = Some(t);
            log.record(OWNER, Action::Run, now);
            continue;
        }
        match cond.next_change(&cx, now).map_err(|e| e.to_string())? {
            NextChange::At(x) | NextChange::NotBefore(x) => t = x.as_micros(),
            NextChange::Never => return Ok((first, None)),
        }
    }
    Err("no answer after 1,000 next-change steps".into())
}

fn run(case: &Case) -> Result<(), String> {
    if !matches!(case.kind.as_str(), "str" | "date" | "datetime") {
        return Err(format!("unknown kind {:?}", case.kind));
    }
    let built = once_at(&case.run_date);
    // The condition string, where the date is one token of it (text with spaces around
    // it would be trimmed by the language's whitespace rule).
    let in_string = (case.run_date.trim() == case.run_date)
        .then(|| format!("once at {}", case.run_date).parse::<Condition>());
    if let Some(parsed) = &in_string
        && parsed.is_ok() != built.is_ok()
    {
        return Err(format!(
            "the API and the condition string disagree on {:?}: {:?} vs {:?}",
            case.run_date,
            built.as_ref().map(ToString::to_string),
            parsed.as_ref().map(ToString::to_string)
        ));
    }
    if case.expect_error {
        return match built {
            Err(_) => Ok(()),
            Ok(c) => Err(format!(
                "{:?} should be rejected, read as `{c}`",
                case.run_date
            )),
        };
    }
    let cond = built.map_err(|e| format!("{:?} rejected: {e}", case.run_date))?;
    if let Some(Ok(parsed)) = &in_string
        && *parsed != cond
    {
        return Err(format!("`once at {}` reads as `{parsed}`", case.run_date));
    }
    let printed = cond.to_string();
    if printed.parse::<Condition>().as_ref() != Ok(&cond) {
        return Err(format!("`{printed}` does not parse back to itself"));
    }
    let zone: Tz = case
        .timezone
        .parse()
        .map_err(|e| format!("zone {:?}: {e}", case.timezone))?;
    let expected = instant(case.expect.as_deref().ok_or("a case without `expect`")?)?;
    match fire_and_refire(&cond, zone)? {
        (Some(fire), None) if fire == expected => Ok(()),
        (Some(fire), Some(again)) => Err(format!(
            "`{cond}` in {}: fired at {} and again at {}",
            case.timezone,
            show(fire),
            show(again)
        )),
        (got, _) => Err(format!(
            "`{cond}` in {}: expected {}, got {:?}",
            case.timezone,
            show(expected),
            got.map(show)
        )),
    }
}

#[test]
fn date_vectors() {
    let (file, path): (File, _) =
        common::read_vectors("SCHEDULER_DATE_VECTORS", "date_tasks.sample.json", "date");
    let mut failures = String::new();
    let mut passed = 0;
    for case in &file.cases {
        match run(case) {
            Ok(()) => passed += 1,
            Err(e) => writeln!(
                failures,
                "{} ({}): {e}",
                case.id,
                case.what.as_deref().unwrap_or_default()
            )
            .unwrap(),
        }
    }
    let failed = file.cases.len() - passed;
    println!("date vectors from {}", path.display());
    println!("{passed} passed, {failed} failed");
    assert!(!file.cases.is_empty(), "{} has no cases", path.display());
    assert!(failed == 0, "failing date vectors:\n{failures}");
}
