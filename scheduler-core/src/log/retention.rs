//! How much of a task's log conditions can still ask about.

/// How much of one task's log must be kept for the questions conditions ask of it.
///
/// Every record younger than [`window`](Self::window_micros) (counted back from the task's
/// newest record) is kept, and older ones are dropped except the latest
/// [`per_action`](Self::per_action) of each action and the last record before the window.
/// With that, [`History`](super::History) gives the same answers as the full log for every question whose
/// instants are at or after the task's newest record and whose windows reach back no
/// further than the window; counts of an action over a window ending then are exact up to
/// `per_action` (beyond it they are at least `per_action`).
///
/// ```
/// use scheduler_core::log::Retention;
///
/// let daily = Retention::window(2 * 86_400_000_000);
/// let retry_3 = Retention::LATEST.with_per_action(4);
/// assert_eq!(daily.widen(retry_3), Retention { window_micros: 2 * 86_400_000_000, per_action: 4 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Retention {
    /// How far back from the newest record every record is kept, in microseconds.
    pub window_micros: i64,
    /// How many of the latest records of each action are kept whatever their age (at least
    /// one: the latest record of each action is always kept).
    pub per_action: u32,
}

impl Retention {
    /// The latest record of each action, and the task's status: what `after`, `every`,
    /// `daily`, `cron`, `in past`, `is running` and `retry` without a limit need.
    pub const LATEST: Retention = Retention {
        window_micros: 0,
        per_action: 1,
    };

    /// Everything (what a log without a retention keeps).
    pub const ALL: Retention = Retention {
        window_micros: i64::MAX,
        per_action: u32::MAX,
    };

    /// Every record of the last `micros` microseconds, and the latest of each action.
    pub const fn window(micros: i64) -> Retention {
        Retention {
            window_micros: micros,
            per_action: 1,
        }
    }

    /// The same, keeping the latest `n` records of each action whatever their age.
    pub const fn with_per_action(self, n: u32) -> Retention {
        Retention {
            per_action: n,
            ..self
        }
    }

    /// What keeps enough for the questions of both.
    pub fn widen(self, other: Retention) -> Retention {
        Retention {
            window_micros: self.window_micros.max(other.window_micros),
            per_action: self.per_action.max(other.per_action),
        }
    }
}
