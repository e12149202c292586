//! Fuzzes the condition parser, and evaluation of whatever parses.
//!
//! For any UTF-8 input: parsing must not panic; an error must point inside the input and
//! render; a condition must print a string that parses back to it, and must evaluate and
//! answer `next_change` without panicking, in UTC and in a zone with daylight saving time.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_condition -- -max_total_time=300`
//! (see `bench/README.md` and the closing notes for results).

#![no_main]

use libfuzzer_sys::fuzz_target;
use scheduler_core::condition::{Condition, EvalContext};
use scheduler_core::log::{Action, LogIndex};
use scheduler_core::time::Timestamp;

const INSTANTS: [i64; 4] = [
    0,                         // 1970-01-01
    1_710_054_000_000_000,     // 2024-03-10 07:00 UTC, New York springs forward
    1_730_613_600_000_000,     // 2024-11-03 06:00 UTC, New York falls back
    4_102_444_800_000_000,     // 2100-01-01
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let condition = match text.parse::<Condition>() {
        Ok(c) => c,
        Err(e) => {
            let span = e.span();
            assert!(span.start <= span.end && span.end <= text.len());
            assert!(text.is_char_boundary(span.start) && text.is_char_boundary(span.end));
            assert!(!e.render().is_empty());
            return;
        }
    };
    let printed = condition.to_string();
    let again: Condition = printed
        .parse()
        .unwrap_or_else(|e| panic!("{text:?} printed as {printed:?}, which does not parse: {e}"));
    assert_eq!(again, condition, "{text:?} printed as {printed:?}");

    let mut log = LogIndex::new();
    for (i, name) in ["x", "a", "task"].into_iter().enumerate() {
        let at = Timestamp::from_micros(INSTANTS[1] - 3_600_000_000 * (i as i64 + 1));
        log.record(name, Action::Run, at);
        log.record(name, Action::Success, at);
    }
    for zone in [chrono_tz::Tz::UTC, chrono_tz::Tz::America__New_York] {
        let cx = EvalContext::new(&log)
            .owner("task")
            .zone(zone)
            .scheduler_started(Timestamp::from_micros(INSTANTS[1]))
            .cycles(3);
        for at in INSTANTS {
            let _ = condition.evaluate(&cx, Timestamp::from_micros(at));
            let _ = condition.next_change(&cx, Timestamp::from_micros(at));
        }
    }
});
