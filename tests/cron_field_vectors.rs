//! Data-driven test of named cron fields (`cron(month = 6-8, day = 3rd fri, ...)`) over
//! APScheduler 3.11.3's `CronTrigger` vectors.
//!
//! `SCHEDULER_CRON_FIELD_VECTORS` names the vector file; without it the repository's copy
//! of the sample is used (`data/cron_fields.sample.json`, see `data/README.md`).
//!
//! Each case's fields become one condition string. Its fire times come from the
//! condition's own evaluation and next-change machinery, as the scheduler uses them:
//! from the case's start, the first instant at which the leaf is true is a fire; the
//! owning task then records a run there, and the search goes on from that instant. The
//! times are compared with `expect` (a prefix of it when `expect_complete` is false); a
//! case with `expect_error` must be rejected (its fields or its zone). The test prints
//! `N passed, M failed` and fails on any failure.

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
    fields: serde_json::Map<String, serde_json::Value>,
    timezone: String,
    #[serde(default)]
    start: Option<String>,
    #[serde(default)]
    expect: Vec<String>,
    /// APScheduler's own answers (up to five; fewer when its schedule ended).
    #[serde(default)]
    next: Vec<String>,
    #[serde(default = "complete")]
    expect_complete: bool,
    #[serde(default)]
    expect_error: bool,
}

fn complete() -> bool {
    true
}

const OWNER: &str = "task";

/// The condition string of a case's fields, in the order the case gives them. A JSON
/// number is its digits; any other JSON value is written as it prints (`true`), which
/// the parser rejects as APScheduler does.
fn condition_text(case: &Case) -> String {
    let mut parts = Vec::new();
    for (name, value) in &case.fields {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        parts.push(format!("{name} = {text}"));
    }
    format!("cron({})", parts.join(", "))
}

fn instant(text: &str) -> Result<i64, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_micros())
        .map_err(|e| format!("bad instant {text:?} in the vector: {e}"))
}

/// The fire times of the condition from `start`, at most `n` of them, searching no
/// further than `horizon`.
fn fire_times(cond: &Condition, zone: Tz, start: i64, n: usize) -> Result<Vec<i64>, String> {
    let horizon = start + 40 * 366 * 86_400 * 1_000_000;
    let mut log = LogIndex::new();
    let mut fires = Vec::new();
    let mut t = start;
    let mut steps = 0;
    while fires.len() < n && t <= horizon {
        steps += 1;
        if steps > 100_000 {
            return Err(format!("no answer after {steps} next-change steps"));
        }
        let cx = EvalContext::new(&log).owner(OWNER).zone(zone);
        let now = Timestamp::from_micros(t);
        if cond.evaluate(&cx, now).map_err(|e| e.to_string())? {
            fires.push(t);
            log.record(OWNER, Action::Run, now);
            continue;
        }
        match cond.next_change(&cx, now).map_err(|e| e.to_string())? {
            NextChange::At(x) | NextChange::NotBefore(x) => t = x.as_micros(),
            NextChange::Never => break,
        }
    }
    Ok(fires)
}

fn show(t: i64) -> String {
    Timestamp::from_micros(t).to_string()
}

/// The rule for a start inside a matching second: the leaf is true for the whole second
/// (as five-field cron is for its minute), so a scheduler that wakes late within it still
/// runs; APScheduler, at whole seconds, moves on to the next match.
const LATE_IN_SECOND: &str =
    "a start inside a matching second fires at once (the whole second is open)";

fn run(case: &Case) -> Result<Option<&'static str>, String> {
    let text = condition_text(case);
    let parsed: Result<Condition, _> = text.parse();
    let zone: Result<Tz, _> = case.timezone.parse();
    if case.expect_error {
        return match (&parsed, &zone) {
            (Err(_), _) | (_, Err(_)) => Ok(None),
            (Ok(c), Ok(_)) => Err(format!("`{text}` should be rejected, parsed as `{c}`")),
        };
    }
    let cond = parsed.map_err(|e| format!("rejected:\n{}", e.render()))?;
    let zone = zone.map_err(|e| format!("zone {:?}: {e}", case.timezone))?;
    // What it prints parses back to the same condition.
    let printed = cond.to_string();
    if printed.parse::<Condition>().as_ref() != Ok(&cond) {
        return Err(format!(
            "`{text}` prints as `{printed}`, which does not parse back"
        ));
    }
    let start = instant(case.start.as_deref().ok_or("a case without `start`")?)?;
    let mut expected: Vec<i64> = case
        .expect
        .iter()
        .map(|e| instant(e))
        .collect::<Result<_, _>>()?;
    let mut rule = None;
    const SECOND: i64 = 1_000_000;
    if start % SECOND != 0 && expected.first() != Some(&start) {
        let log = LogIndex::new();
        let cx = EvalContext::new(&log).owner(OWNER).zone(zone);
        if cond
            .evaluate(&cx, Timestamp::from_micros(start))
            .map_err(|e| e.to_string())?
        {
            expected.insert(0, start);
            rule = Some(LATE_IN_SECOND);
        }
    }
    // APScheduler lists up to five fire times; a shorter list, where the expectation is
    // the same list, means the schedule ended: then no further fire may follow.
    let ended = case.expect_complete && case.next.len() < 5 && case.next == case.expect;
    let want = if ended {
        expected.len() + 1
    } else {
        expected.len()
    };
    let got = fire_times(&cond, zone, start, want)?;
    let ok = if ended {
        got == expected
    } else {
        got.starts_with(&expected)
    };
    if ok {
        Ok(rule)
    } else {
        Err(format!(
            "`{text}` in {}: expected {:?}, got {:?}",
            case.timezone,
            expected.iter().map(|&t| show(t)).collect::<Vec<_>>(),
            got.iter().map(|&t| show(t)).collect::<Vec<_>>()
        ))
    }
}

#[test]
fn cron_field_vectors() {
    let (file, path): (File, _) = common::read_vectors(
        "SCHEDULER_CRON_FIELD_VECTORS",
        "cron_fields.sample.json",
        "cron-field",
    );
    let mut failures = String::new();
    let mut passed = 0;
    let mut by_rule = 0;
    for case in &file.cases {
        match run(case) {
            Ok(rule) => {
                passed += 1;
                by_rule += usize::from(rule.is_some());
            }
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
    println!("cron-field vectors from {}", path.display());
    if by_rule > 0 {
        println!("  {by_rule} case(s) checked against the rule: {LATE_IN_SECOND}");
    }
    println!("{passed} passed, {failed} failed");
    assert!(failed == 0, "failing cron-field vectors:\n{failures}");
}
