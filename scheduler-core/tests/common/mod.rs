//! The brute-force walker shared by the `next_change` tests and the property tests.

#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use scheduler_core::condition::{Condition, EvalContext, NextChange};
use scheduler_core::log::{Action, LogIndex};
use scheduler_core::time::Timestamp;

pub const SECOND: i64 = 1_000_000;
pub const OWNER: &str = "task";

pub fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

pub fn show(t: i64) -> String {
    Timestamp::from_micros(t).to_string()
}

pub struct Walk {
    pub cond: Condition,
    pub zone: Tz,
    pub log: LogIndex,
    /// Whether the owning task runs whenever the condition is true.
    pub run_when_due: bool,
    pub runs: Vec<i64>,
    pub changes: usize,
}

impl Walk {
    pub fn new(cond: &str, zone: Tz) -> Walk {
        Walk::of(cond.parse().unwrap_or_else(|e| panic!("{cond}: {e}")), zone)
    }

    pub fn of(cond: Condition, zone: Tz) -> Walk {
        Walk {
            cond,
            zone,
            log: LogIndex::new(),
            run_when_due: false,
            runs: Vec::new(),
            changes: 0,
        }
    }

    pub fn running(mut self) -> Walk {
        self.run_when_due = true;
        self
    }

    pub fn with_record(mut self, task: &str, action: Action, at: DateTime<Utc>) -> Walk {
        self.log.record(task, action, at.into());
        self
    }

    pub fn value(&self, t: i64) -> bool {
        let cx = EvalContext::new(&self.log).owner(OWNER).zone(self.zone);
        self.cond.evaluate(&cx, Timestamp::from_micros(t)).unwrap()
    }

    pub fn predict(&self, t: i64) -> NextChange {
        let cx = EvalContext::new(&self.log).owner(OWNER).zone(self.zone);
        self.cond
            .next_change(&cx, Timestamp::from_micros(t))
            .unwrap()
    }

    /// Re-anchors the prediction at `x`, the instant it named, after checking that the
    /// value really changes there (for `At`) and not a microsecond earlier.
    pub fn confirm(
        &mut self,
        anchor: i64,
        v: bool,
        predicted: NextChange,
    ) -> (i64, bool, NextChange) {
        let x = predicted
            .instant()
            .expect("a prediction with an instant")
            .as_micros();
        let c = &self.cond;
        assert!(
            x > anchor,
            "{c}: predicted {} is not after {}",
            show(x),
            show(anchor)
        );
        if x - 1 > anchor {
            assert_eq!(
                self.value(x - 1),
                v,
                "{c}: the value changed before the predicted {predicted:?} (from {})",
                show(anchor)
            );
        }
        let vx = self.value(x);
        if let NextChange::At(_) = predicted {
            assert_ne!(
                vx,
                v,
                "{c}: predicted a change at {} that does not happen",
                show(x)
            );
            self.changes += 1;
        }
        (x, vx, self.predict(x))
    }

    /// Steps from `from` to `to` (inclusive) by `step` microseconds.
    ///
    /// While the task runs back to back (the condition stays true after a run), a runtime
    /// would launch it again rather than ask when the condition changes; the walker then
    /// asks only once the value has changed, and still checks that answer.
    pub fn walk(mut self, from: DateTime<Utc>, to: DateTime<Utc>, step: i64) -> Walk {
        let (mut anchor, end) = (micros(from), micros(to));
        let mut v = self.value(anchor);
        if self.run_when_due && v {
            self.run(anchor);
            v = self.value(anchor);
        }
        let mut predicted = Some(self.predict(anchor));
        let mut s = anchor + step;
        while s <= end {
            let vs = self.value(s);
            let due = predicted
                .and_then(NextChange::instant)
                .is_some_and(|x| x.as_micros() <= s);
            if vs != v || due {
                let p = *predicted.get_or_insert_with(|| self.predict(anchor));
                if p.instant().is_some_and(|x| x.as_micros() <= s) {
                    let (a, va, pa) = self.confirm(anchor, v, p);
                    (anchor, v, predicted) = (a, va, Some(pa));
                    continue;
                }
                panic!(
                    "{}: the value changed at {} but the prediction from {} was {p:?}",
                    self.cond,
                    show(s),
                    show(anchor)
                );
            }
            if self.run_when_due && vs {
                self.run(s);
                anchor = s;
                v = self.value(s);
                predicted = if v { None } else { Some(self.predict(s)) };
            }
            s += step;
        }
        self
    }

    fn run(&mut self, at: i64) {
        self.log
            .record(OWNER, Action::Run, Timestamp::from_micros(at));
        self.log
            .record(OWNER, Action::Success, Timestamp::from_micros(at));
        self.runs.push(at);
    }

    /// Runs per local calendar day, in order, as (date, count).
    pub fn runs_per_local_day(&self) -> Vec<(String, usize)> {
        let mut out: Vec<(String, usize)> = Vec::new();
        for &r in &self.runs {
            let day = Utc
                .timestamp_micros(r)
                .unwrap()
                .with_timezone(&self.zone)
                .format("%Y-%m-%d")
                .to_string();
            match out.last_mut() {
                Some((d, n)) if *d == day => *n += 1,
                _ => out.push((day, 1)),
            }
        }
        out
    }

    pub fn local_times(&self) -> Vec<String> {
        self.runs
            .iter()
            .map(|&r| {
                Utc.timestamp_micros(r)
                    .unwrap()
                    .with_timezone(&self.zone)
                    .format("%m-%d %H:%M:%S %Z")
                    .to_string()
            })
            .collect()
    }
}
