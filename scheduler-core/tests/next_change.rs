//! `Condition::next_change` against brute force.
//!
//! A walker steps a clock second by second (over days, over months across the 2024 leap
//! day, and across both daylight-saving transitions of America/New_York and of
//! Australia/Lord_Howe, whose clocks move by 30 minutes) and checks at every step that the
//! condition's value changed exactly where `next_change` said it would: never earlier, and
//! at the predicted microsecond (the value there differs, the value one microsecond
//! before does not).
//!
//! Most walks also play the scheduler: whenever the condition is true the owning task
//! "runs" (a `run` and a `success` record at that second), which changes the log and so
//! the prediction. Counting those runs checks the semantics too: once per period is once
//! per period, also on the days clocks change.

mod common;

use chrono_tz::Tz;
use common::{OWNER, SECOND, Walk, micros, utc};
use scheduler_core::condition::{Condition, EvalContext, NextChange};
use scheduler_core::log::{Action, LogIndex};

const UTC: Tz = Tz::UTC;
const NEW_YORK: Tz = Tz::America__New_York;
const LORD_HOWE: Tz = Tz::Australia__Lord_Howe;

#[test]
fn clock_windows_over_days() {
    for cond in [
        "time of day between 09:00 and 17:00",
        "time of day between 22:00 and 02:00",
        "time of day after 23:59:59.5",
        "time of hour between 45:00 and 15:00",
        "time of minute before 30",
        "time of week between Fri 18:00 and Mon 06:00",
        "time of week on Wednesday",
        "time of day between 09:00 and 17:00 & ~time of hour between 00:00 and 05:00",
        "time of minute before 10 & time of minute after 50",
        "time of day after 00:00",
    ] {
        let w =
            Walk::new(cond, UTC).walk(utc(2024, 1, 1, 0, 0, 0), utc(2024, 1, 6, 0, 0, 0), SECOND);
        assert!(
            w.changes > 0 || cond.ends_with("after 00:00") || cond.contains("before 10 &"),
            "{cond}"
        );
    }
}

#[test]
fn sub_second_spans() {
    let from = utc(2024, 1, 1, 0, 0, 0);
    let to = utc(2024, 1, 1, 0, 0, 3) - chrono::Duration::milliseconds(1);
    // Stepping by milliseconds: one run in each second's span (the wrapping span is open
    // at the start, then opens at each 900 ms).
    for (cond, runs) in [
        ("secondly before 500", 3),
        ("secondly between 900 and 100", 4),
        ("secondly on 250.5", 3),
    ] {
        let w = Walk::new(cond, UTC).running().walk(from, to, 1_000);
        assert_eq!(w.runs.len(), runs, "{cond}: {:?}", w.local_times());
    }
    let w = Walk::new("time of day after 00:00:01.5", UTC).walk(from, to, 1_000);
    assert_eq!(w.changes, 1);
}

#[test]
fn once_per_period_runs_once_per_period() {
    let from = utc(2024, 1, 1, 0, 0, 0);
    let to = utc(2024, 1, 4, 0, 0, 0) - chrono::Duration::seconds(1);
    let w = Walk::new("daily", UTC).running().walk(from, to, SECOND);
    assert_eq!(
        w.runs_per_local_day(),
        [
            ("2024-01-01".into(), 1),
            ("2024-01-02".into(), 1),
            ("2024-01-03".into(), 1)
        ]
    );
    // Each day's run is at the first second after midnight: the boundary instant itself
    // still reads the previous day.
    assert_eq!(w.local_times()[1], "01-02 00:00:01 UTC");

    let w = Walk::new("daily between 07:00 and 10:00", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-01 07:00:00 UTC",
            "01-02 07:00:00 UTC",
            "01-03 07:00:00 UTC"
        ]
    );

    let w = Walk::new("daily between 22:00 and 02:00", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-01 00:00:00 UTC",
            "01-01 22:00:00 UTC",
            "01-02 22:00:00 UTC",
            "01-03 22:00:00 UTC"
        ]
    );

    let w = Walk::new("hourly", UTC).running().walk(from, to, SECOND);
    assert_eq!(w.runs.len(), 72);

    let w = Walk::new("hourly between 45:00 and 15:00", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(w.runs.len(), 73); // 00:00 (the window open at the start) and each :45

    let w =
        Walk::new("minutely after 30", UTC)
            .running()
            .walk(from, utc(2024, 1, 1, 3, 0, 0), SECOND);
    assert_eq!(w.runs.len(), 180);

    let w = Walk::new("weekly between Mon and Fri", UTC).running().walk(
        utc(2024, 1, 1, 0, 0, 0),
        utc(2024, 1, 21, 23, 59, 59),
        SECOND,
    );
    // A span (unlike a full cycle) opens at its first instant.
    assert_eq!(
        w.local_times(),
        [
            "01-01 00:00:00 UTC",
            "01-08 00:00:00 UTC",
            "01-15 00:00:00 UTC"
        ]
    );

    let w = Walk::new("daily starting 10:30", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-01 00:00:00 UTC",
            "01-01 10:30:01 UTC",
            "01-02 10:30:01 UTC",
            "01-03 10:30:01 UTC"
        ]
    );
}

#[test]
fn months_across_the_leap_day() {
    let from = utc(2024, 1, 25, 0, 0, 0);
    let to = utc(2024, 4, 3, 0, 0, 0);
    let w = Walk::new("monthly", UTC).running().walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-25 00:00:00 UTC",
            "02-01 00:00:01 UTC",
            "03-01 00:00:01 UTC",
            "04-01 00:00:01 UTC"
        ]
    );

    // The 30th does not exist in February: it is read as February's last day.
    let w = Walk::new("monthly after 30th", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-30 00:00:00 UTC",
            "02-29 00:00:00 UTC",
            "03-30 00:00:00 UTC"
        ]
    );

    let w = Walk::new("monthly between 28th and 2nd", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "01-28 00:00:00 UTC",
            "02-28 00:00:00 UTC",
            "03-28 00:00:00 UTC"
        ]
    );

    for cond in [
        "time of month between 28th and 2nd",
        "time of month on 29th",
        "time of month after 30th 12:00",
        "monthly on 31st",
    ] {
        Walk::new(cond, UTC).walk(from, to, SECOND);
    }

    let w = Walk::new("cron 0 12 29 2 *", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(w.local_times(), ["02-29 12:00:00 UTC"]);
}

/// CONDITIONS.md §9.10: a day of the month past a short month's end is that month's last
/// day, for period starts and for windows; each case walks from late January to early May
/// of a leap and of a common year, second by second.
#[test]
fn month_days_clamp_to_short_months() {
    for (year, feb_last) in [(2024, "02-29"), (2023, "02-28")] {
        let from = utc(year, 1, 25, 0, 0, 0);
        let to = utc(year, 5, 3, 0, 0, 0);
        let runs = |cond: &str| {
            Walk::new(cond, UTC)
                .running()
                .walk(from, to, SECOND)
                .local_times()
        };
        // Once in every month, on the 31st or the month's last day.
        assert_eq!(
            runs("monthly starting 31st"),
            [
                "01-25 00:00:00 UTC".to_owned(),
                "01-31 00:00:01 UTC".to_owned(),
                format!("{feb_last} 00:00:01 UTC"),
                "03-31 00:00:01 UTC".to_owned(),
                "04-30 00:00:01 UTC".to_owned(),
            ],
            "{year}"
        );
        assert_eq!(
            runs("monthly starting 30th 18:00"),
            [
                "01-25 00:00:00 UTC".to_owned(),
                "01-30 18:00:01 UTC".to_owned(),
                format!("{feb_last} 18:00:01 UTC"),
                "03-30 18:00:01 UTC".to_owned(),
                "04-30 18:00:01 UTC".to_owned(),
            ],
            "{year}"
        );
        // A span from the 29th: on February's last day in a common year too.
        assert_eq!(
            runs("monthly between 29th and 31st"),
            [
                "01-29 00:00:00 UTC".to_owned(),
                format!("{feb_last} 00:00:00 UTC"),
                "03-29 00:00:00 UTC".to_owned(),
                "04-29 00:00:00 UTC".to_owned(),
            ],
            "{year}"
        );
        assert_eq!(
            runs("monthly on 31st"),
            [
                "01-31 00:00:00 UTC".to_owned(),
                format!("{feb_last} 00:00:00 UTC"),
                "03-31 00:00:00 UTC".to_owned(),
                "04-30 00:00:00 UTC".to_owned(),
            ],
            "{year}"
        );
        // A window that starts in one month and ends in the next.
        assert_eq!(
            runs("monthly between 31st 22:00 and 1st 02:00"),
            [
                "01-31 22:00:00 UTC".to_owned(),
                format!("{feb_last} 22:00:00 UTC"),
                "03-31 22:00:00 UTC".to_owned(),
                "04-30 22:00:00 UTC".to_owned(),
            ],
            "{year}"
        );
        for cond in [
            "time of month between 30th and 31st",
            "time of month after 29th 12:00",
            "time of month on 31st 06:00",
            "time of month between 30th 10:00 and 31st 09:00",
            "time of month before 30th",
        ] {
            Walk::new(cond, UTC).walk(from, to, SECOND);
        }
        // `has succeeded this month after 23rd`: February's window covers Feb 23 to the
        // end of February, so a success on Feb 24 is seen from then on (through March 1 to
        // 22, when February's window is the last one) until March's window opens on the
        // 23rd: two changes.
        let w = Walk::new("has succeeded this month after 23rd", UTC)
            .with_record(OWNER, Action::Success, utc(year, 2, 24, 12, 0, 0))
            .walk(utc(year, 2, 20, 0, 0, 0), utc(year, 3, 24, 0, 0, 0), SECOND);
        assert_eq!(w.changes, 2, "{year}");
    }
}

/// Named cron fields across both daylight-saving changes of New York, second by second:
/// a wall time in the skipped hour does not occur, one in the repeated hour fires once
/// (its first pass), and every prediction is checked against the walk.
#[test]
fn named_cron_fields_across_clock_changes() {
    let runs = |cond: &str, from, to| {
        Walk::new(cond, NEW_YORK)
            .running()
            .walk(from, to, SECOND)
            .local_times()
    };
    // Spring forward on 2024-03-10 at 02:00 EST (07:00 UTC) to 03:00 EDT.
    let (from, to) = (utc(2024, 3, 10, 4, 0, 0), utc(2024, 3, 11, 3, 59, 59));
    assert_eq!(
        runs("cron(hour = 2, minute = 30)", from, to),
        Vec::<String>::new(),
        "02:30 does not exist that day"
    );
    assert_eq!(
        runs("cron(hour = 0-3)", from, to),
        [
            "03-10 00:00:00 EST",
            "03-10 01:00:00 EST",
            "03-10 03:00:00 EDT"
        ]
    );
    // Fall back on 2024-11-03 at 02:00 EDT (06:00 UTC) to 01:00 EST.
    let (from, to) = (utc(2024, 11, 3, 3, 0, 0), utc(2024, 11, 3, 9, 0, 0));
    assert_eq!(
        runs("cron(hour = 1, minute = 30)", from, to),
        ["11-03 01:30:00 EDT"],
        "the repeated 01:30 fires once"
    );
    // 19 slots of 20 minutes in six real hours (both ends included), less the three
    // repeated ones (01:00, 01:20, 01:40 EST), which fired in their first pass.
    let every_20 = runs("cron(minute = */20)", from, to);
    assert_eq!(every_20.len(), 16, "{every_20:?}");
    assert!(
        !every_20
            .iter()
            .any(|t| t.starts_with("11-03 01:") && t.ends_with("EST"))
    );
    for cond in [
        "cron(second = */15, minute = 59)",
        "cron(hour = 1, minute = */20, start_date = 2024-11-03T01:30:00)",
        "cron(day_of_week = sun, hour = 1-2, end_date = 2024-11-03T01:20:00-05:00)",
    ] {
        Walk::new(cond, NEW_YORK).running().walk(from, to, SECOND);
        Walk::new(cond, NEW_YORK).walk(from, to, SECOND);
    }
}

#[test]
fn intervals_and_cron() {
    let from = utc(2024, 3, 1, 0, 0, 0);
    let to = utc(2024, 3, 2, 0, 0, 0);
    let w = Walk::new("every 10 minutes", UTC)
        .running()
        .walk(from, to, SECOND);
    // A start exactly 10 minutes ago still blocks: the next start is one step later.
    assert_eq!(
        &w.local_times()[..3],
        [
            "03-01 00:00:00 UTC",
            "03-01 00:10:01 UTC",
            "03-01 00:20:02 UTC"
        ]
    );

    let w = Walk::new("cron */15 9-10 * * FRI", UTC)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(w.runs.len(), 8);
    assert_eq!(w.local_times()[0], "03-01 09:00:00 UTC");

    // At the first instant of a minute the window is still the previous minute (whose
    // start blocks), so each run comes one step into its minute.
    let w =
        Walk::new("cron * * * * *", UTC)
            .running()
            .walk(from, utc(2024, 3, 1, 0, 10, 0), SECOND);
    assert_eq!(w.runs.len(), 10);
    assert_eq!(w.local_times()[1], "03-01 00:01:01 UTC");

    let w = Walk::new(
        "time of day between 08:00 and 20:00 & every 90 minutes",
        UTC,
    )
    .running()
    .walk(from, to, SECOND);
    assert_eq!(w.runs.len(), 8);
}

#[test]
fn history_reading_leaves() {
    let from = utc(2024, 1, 1, 0, 0, 0);
    let to = utc(2024, 1, 3, 0, 0, 0);
    let base = |cond: &str| {
        Walk::new(cond, UTC)
            .with_record("x", Action::Run, utc(2024, 1, 1, 10, 0, 0))
            .with_record("x", Action::Success, utc(2024, 1, 1, 10, 30, 0))
            .with_record("x", Action::Run, utc(2024, 1, 2, 9, 0, 0))
            .with_record("x", Action::Fail, utc(2024, 1, 2, 9, 5, 0))
    };
    for cond in [
        "task 'x' has succeeded today",
        "task 'x' has failed past 2 hours",
        "task 'x' has started this hour between 00:00 and 30:00",
        "task 'x' has finished today between 09:00 and 11:00",
        "task 'x' is running",
        "after task 'x' failed",
        "task 'x' has succeeded",
    ] {
        base(cond).walk(from, to, SECOND);
    }
    // A pipeline runs once after each upstream success, at the success.
    let w = base("after task 'x' finished")
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        ["01-01 10:30:00 UTC", "01-02 09:05:00 UTC"]
    );

    let w = base("daily & ~task 'x' is running")
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        ["01-01 00:00:00 UTC", "01-02 00:00:01 UTC"]
    );
}

#[test]
fn composite_conditions() {
    let from = utc(2024, 1, 5, 0, 0, 0);
    let to = utc(2024, 1, 8, 0, 0, 0);
    for cond in [
        "daily between 07:00 and 10:00 & every 10 minutes",
        "(hourly | time of minute after 30) & ~time of day between 12:00 and 13:00",
        "weekly on Sat | daily after 20:00",
        "every 45 minutes & ~(time of day after 18:00 | time of day before 06:00)",
        "time of week between Sat and Sun & hourly",
    ] {
        Walk::new(cond, UTC).running().walk(from, to, SECOND);
    }
}

#[test]
fn new_york_spring_forward() {
    // 2024-03-10: 02:00 EST becomes 03:00 EDT; 02:00-03:00 does not exist.
    let from = utc(2024, 3, 9, 5, 0, 0); // 00:00 EST on the 9th
    let to = utc(2024, 3, 12, 3, 59, 59); // 23:59:59 EDT on the 11th
    let w = Walk::new("hourly", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    let per_day: Vec<usize> = w.runs_per_local_day().into_iter().map(|(_, n)| n).collect();
    assert_eq!(per_day, [24, 23, 24]);

    let w = Walk::new("daily", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(w.runs.len(), 3);

    // A window inside the skipped hour does not occur that day; one that straddles it
    // opens when the clocks jump.
    let w = Walk::new("daily between 02:15 and 02:45", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        ["03-09 02:15:00 EST", "03-11 02:15:00 EDT"]
    );
    let w = Walk::new("daily between 02:30 and 04:00", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "03-09 02:30:00 EST",
            "03-10 03:00:00 EDT",
            "03-11 02:30:00 EDT"
        ]
    );
    let w = Walk::new("cron 30 2 * * *", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        ["03-09 02:30:00 EST", "03-11 02:30:00 EDT"]
    );

    for cond in [
        "time of day between 01:30 and 03:30",
        "every 25 minutes",
        "daily starting 02:30",
        "time of hour between 45:00 and 15:00",
    ] {
        Walk::new(cond, NEW_YORK).running().walk(from, to, SECOND);
    }
}

#[test]
fn new_york_fall_back() {
    // 2024-11-03: 02:00 EDT becomes 01:00 EST; 01:00-02:00 happens twice.
    let from = utc(2024, 11, 2, 4, 0, 0); // 00:00 EDT on the 2nd
    let to = utc(2024, 11, 5, 4, 59, 59); // 23:59:59 EST on the 4th
    let w = Walk::new("hourly", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    let per_day: Vec<usize> = w.runs_per_local_day().into_iter().map(|(_, n)| n).collect();
    // The repeated hour is one period: one run in it.
    assert_eq!(per_day, [24, 24, 24]);

    let w = Walk::new("daily between 01:00 and 02:00", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "11-02 01:00:00 EDT",
            "11-03 01:00:00 EDT",
            "11-04 01:00:00 EST"
        ]
    );

    let w = Walk::new("cron 30 1 * * *", NEW_YORK)
        .running()
        .walk(from, to, SECOND);
    assert_eq!(
        w.local_times(),
        [
            "11-02 01:30:00 EDT",
            "11-03 01:30:00 EDT",
            "11-04 01:30:00 EST"
        ]
    );

    // Clock windows hold in both passes.
    let w = Walk::new("time of day between 01:15 and 01:45", NEW_YORK).walk(from, to, SECOND);
    assert_eq!(w.changes, 8);

    for cond in [
        "every 25 minutes",
        "daily starting 01:30",
        "minutely before 05",
    ] {
        Walk::new(cond, NEW_YORK).running().walk(
            utc(2024, 11, 3, 4, 0, 0),
            utc(2024, 11, 3, 8, 0, 0),
            SECOND,
        );
    }
}

#[test]
fn lord_howe_half_hour_transitions() {
    // Lord Howe Island moves its clocks by 30 minutes: 2024-04-07 02:00 +11 becomes
    // 01:30 +10:30, and 2024-10-06 02:00 +10:30 becomes 02:30 +11.
    for (from, to) in [
        (utc(2024, 4, 6, 12, 0, 0), utc(2024, 4, 7, 13, 0, 0)),
        (utc(2024, 10, 5, 12, 0, 0), utc(2024, 10, 6, 13, 0, 0)),
    ] {
        let w = Walk::new("hourly", LORD_HOWE)
            .running()
            .walk(from, to, SECOND);
        assert!(w.runs.len() >= 24, "{:?}", w.local_times());
        Walk::new("daily between 01:45 and 02:15", LORD_HOWE)
            .running()
            .walk(from, to, SECOND);
        Walk::new("time of hour between 20:00 and 40:00", LORD_HOWE).walk(from, to, SECOND);
    }
}

/// Periods shorter than the fold: when Lord Howe's clock falls back from 02:00 to 01:30,
/// every second and minute of the half hour comes again. Each already had its run, so the
/// task stays idle for the repeated half hour, and a task that was due just before the
/// transition stops being due at it (the prediction used to say "never").
#[test]
fn short_periods_across_a_half_hour_fall_back() {
    let fall_back = utc(2024, 4, 6, 15, 0, 0);
    let (from, to) = (utc(2024, 4, 6, 14, 50, 0), utc(2024, 4, 6, 15, 40, 0));
    for cond in [
        "secondly",
        "minutely",
        "cron * * * * *",
        "minutely between 10 and 50",
    ] {
        let w = Walk::new(cond, LORD_HOWE).running().walk(from, to, SECOND);
        let repeated = micros(fall_back)..micros(fall_back + chrono::Duration::minutes(30));
        assert!(
            !w.runs.iter().any(|r| repeated.contains(r)),
            "{cond} ran in the repeated half hour: {:?}",
            w.local_times()
        );
        assert!(
            w.runs.iter().any(|&r| r >= repeated.end),
            "{cond} did not run again after it"
        );
    }
}

#[test]
fn never_and_far_changes() {
    let log = LogIndex::new();
    let cx = EvalContext::new(&log).owner(OWNER);
    let at = utc(2024, 1, 1, 0, 0, 0);
    let never: Condition = "daily | after task 'x'".parse().unwrap();
    // `daily` with no finish is true for good.
    assert_eq!(never.next_change(&cx, at).unwrap(), NextChange::Never);
    let log_only: Condition = "after task 'x' & task 'y' is running".parse().unwrap();
    assert_eq!(log_only.next_change(&cx, at).unwrap(), NextChange::Never);
    let leap: Condition = "cron 0 0 29 2 *".parse().unwrap();
    assert_eq!(
        leap.next_change(&cx, utc(2025, 1, 1, 0, 0, 0)).unwrap(),
        NextChange::At(utc(2028, 2, 29, 0, 0, 0).into())
    );
    // Parts that keep changing while the whole never does exhaust the search budget: the
    // answer is an instant before which nothing changes, never a wrong change.
    let contradiction: Condition = "time of minute before 10 & time of minute after 50"
        .parse()
        .unwrap();
    match contradiction.next_change(&cx, at).unwrap() {
        NextChange::NotBefore(t) => assert!(t.as_micros() > micros(at) + 3_600 * SECOND),
        other => panic!("expected NotBefore, got {other:?}"),
    }
}

#[test]
fn secondly_span_beside_an_hour_window() {
    // Found by the property test: a once-per-second span and a window that is true all
    // hour long, with the task running whenever due, around the top of an hour.
    for zone in [UTC, NEW_YORK, LORD_HOWE] {
        for running in [false, true] {
            for cond in [
                "secondly starting 1 & time of hour after 00:00",
                "secondly & time of hour after 00:00",
                "secondly starting 1 & time of hour after 30:00",
            ] {
                let w = Walk::new(cond, zone);
                let w = if running { w.running() } else { w };
                w.walk(
                    utc(2024, 3, 10, 13, 58, 0),
                    utc(2024, 3, 10, 16, 2, 0),
                    SECOND,
                );
            }
        }
    }
}

/// Hours that start at minute 55, across Lord Howe's fall back (15:00 UTC, when 02:00 +11
/// becomes 01:30 +10:30), with a `success` at 00:55 +11: the hour begun at 01:55 +11 has
/// none, until the clock falls back to 01:30 and the hour is again the one begun at
/// 00:55, which has it. Both leaves that read a period's records change at the
/// transition (found by `counting_leaves_next_change_matches_brute_force`; the prediction
/// from 01:55 said "never": windows were taken to move only forward).
#[test]
fn hours_of_records_across_a_half_hour_fall_back() {
    let from = utc(2024, 4, 6, 11, 37, 54);
    for cond in [
        "~task 'x' has finished more than 0 times this hour starting 55:00",
        "task 'x' has finished more than 0 times this hour starting 55:00",
        "task 'x' has finished this hour starting 55:00",
        "~task 'x' has succeeded this hour starting 55:00",
    ] {
        Walk::new(cond, LORD_HOWE)
            .with_record("x", Action::Success, utc(2024, 4, 6, 13, 55, 0))
            .walk(from, from + chrono::Duration::hours(5), SECOND);
    }
}
