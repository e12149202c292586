//! Where the runtime reads the time, and how it waits for an instant.
//!
//! Conditions never read a clock themselves: the runtime asks its [`Clock`] for "now",
//! evaluates, and sleeps until the instant the conditions name. Two clocks exist:
//!
//! * [`SystemClock`]: the machine's wall clock. On Linux a wait is a `timerfd` armed for the
//!   instant on the wall clock itself (`CLOCK_REALTIME`) and watched by tokio's reactor
//!   (`wall_timer.rs`): it wakes within microseconds, a wall clock stepped forward (NTP, a
//!   resumed laptop or virtual machine) does not delay due runs, and a clock step in either
//!   direction ends the wait so that the engine re-reads the time. Elsewhere, or where the
//!   timer is refused, it is a tokio sleep whose last two milliseconds an OS sleep on a
//!   blocking-pool thread makes precise. The last fiftieth of a wait, at most a
//!   millisecond, the runtime's worker spends awake, yielding to its other tasks: a run
//!   starts microseconds after its due instant, not the hundreds that waking a parked
//!   worker can take on a busy or virtual machine.
//! * [`VirtualClock`]: a clock that starts at a chosen instant and advances with tokio's
//!   clock. Under tokio's paused time (`#[tokio::test(start_paused = true)]`) time only
//!   moves when every task is waiting, and then jumps to the next timer: a week of
//!   schedules runs in milliseconds, with exact, repeatable instants.

use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::BoxFuture;
use crate::time::Timestamp;

/// The runtime's source of time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;

    /// A future that completes at or after `deadline` (the runtime re-checks `now` after
    /// it completes, so waking early is harmless).
    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()>;

    /// Whether time is virtual: runs in child processes then do not let it advance.
    fn is_virtual(&self) -> bool {
        false
    }
}

/// A shared clock is the clock it shares: a test gives the same virtual clock to a
/// scheduler and to a queue handle.
impl<C: Clock + ?Sized> Clock for std::sync::Arc<C> {
    fn now(&self) -> Timestamp {
        (**self).now()
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        (**self).sleep_until(deadline)
    }

    fn is_virtual(&self) -> bool {
        (**self).is_virtual()
    }
}

/// The machine's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Utc::now().into()
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let wait = time_left(deadline);
            // Awake for a fiftieth of the wait, at most SPIN_STRETCH: however close together
            // due instants are (thousands of tasks at scattered offsets), yielding takes at
            // most 2 % of a core.
            let spin = (wait / SPIN_SHARE).min(SPIN_STRETCH);
            if wait > spin {
                // Arming a timer takes system calls, and the engine asks for its next wait
                // just after starting the runs that are due: they go first.
                tokio::task::yield_now().await;
                let until = Timestamp::from_micros(deadline.as_micros() - spin.as_micros() as i64);
                #[cfg(target_os = "linux")]
                let timed = super::wall_timer::sleep_until(until).await.is_ok();
                #[cfg(not(target_os = "linux"))]
                let timed = false;
                if !timed {
                    sleep_elapsed(until).await;
                }
            }
            // Waking a parked worker takes tens to hundreds of microseconds on a busy or
            // virtual machine; it happens before the deadline, and the worker yields until
            // the deadline itself. Yielding at least once gives the worker's other tasks
            // their turn even when the wait is already over, as a timer would. A wall clock
            // set meanwhile ends the wait early instead of keeping the worker awake: the
            // engine then re-reads the time and waits again if nothing is due.
            loop {
                tokio::task::yield_now().await;
                let left = time_left(deadline);
                if left.is_zero() || left > spin {
                    break;
                }
            }
        })
    }
}

/// How long until the wall clock reaches `deadline` (zero once it has).
fn time_left(deadline: Timestamp) -> Duration {
    let micros = deadline
        .as_micros()
        .saturating_sub(SystemClock.now().as_micros());
    Duration::from_micros(micros.max(0) as u64)
}

/// Sleeps until `until` in elapsed time, where the wall-clock timer is not available (other
/// systems than Linux, or `timerfd` refused).
async fn sleep_elapsed(until: Timestamp) {
    let wait = time_left(until);
    if wait > PRECISE_STRETCH {
        tokio::time::sleep(wait - PRECISE_STRETCH).await;
    }
    // tokio's timer counts whole milliseconds and rounds up, which would start runs a
    // millisecond or more late; the rest is an OS sleep, accurate to tens of microseconds,
    // on a blocking-pool thread.
    let rest = time_left(until);
    if !rest.is_zero() {
        let _ = tokio::task::spawn_blocking(move || std::thread::sleep(rest)).await;
    }
}

/// How much of an elapsed-time wait is left to a precise OS sleep.
const PRECISE_STRETCH: Duration = Duration::from_millis(2);

/// The most of a wait [`SystemClock`] spends awake, yielding, after the timer: enough to
/// absorb a late wake-up of the worker on a busy or virtual machine.
const SPIN_STRETCH: Duration = Duration::from_millis(1);

/// A wait spends at most one part in SPIN_SHARE awake.
const SPIN_SHARE: u32 = 50;

/// A clock that starts at a chosen instant and advances with tokio's clock.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use scheduler_core::runtime::{Clock, VirtualClock};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let clock = VirtualClock::starting_at(Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap());
/// assert_eq!(clock.now().to_string(), "2024-01-01T00:00:00Z"); // the first use fixes "now"
/// tokio::time::sleep(std::time::Duration::from_secs(3600)).await; // instant under paused time
/// assert_eq!(clock.now().to_string(), "2024-01-01T01:00:00Z");
/// # }
/// ```
#[derive(Debug)]
pub struct VirtualClock {
    start: Timestamp,
    origin: OnceLock<tokio::time::Instant>,
}

impl VirtualClock {
    /// A clock that reads `start` now (its first use fixes "now" on tokio's clock) and
    /// advances as tokio's clock does.
    pub fn starting_at(start: impl Into<Timestamp>) -> Self {
        VirtualClock {
            start: start.into(),
            origin: OnceLock::new(),
        }
    }

    fn origin(&self) -> tokio::time::Instant {
        *self.origin.get_or_init(tokio::time::Instant::now)
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Timestamp {
        let elapsed = tokio::time::Instant::now().saturating_duration_since(self.origin());
        Timestamp::from_micros(self.start.as_micros() + elapsed.as_micros() as i64)
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let offset = deadline
            .as_micros()
            .saturating_sub(self.start.as_micros())
            .max(0);
        let at = self.origin() + Duration::from_micros(offset as u64);
        Box::pin(tokio::time::sleep_until(at))
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

impl From<DateTime<Utc>> for VirtualClock {
    fn from(start: DateTime<Utc>) -> Self {
        VirtualClock::starting_at(start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_system_clock_wait_ends_at_its_instant_not_before() {
        // Long enough for the whole awake stretch (SPIN_STRETCH × SPIN_SHARE).
        let deadline = Timestamp::from_micros(SystemClock.now().as_micros() + 80_000);
        tokio::time::timeout(Duration::from_secs(10), SystemClock.sleep_until(deadline))
            .await
            .expect("the wait ends");
        assert!(SystemClock.now() >= deadline);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_elapsed_time_fallback_ends_at_its_instant_not_before() {
        // The wait of other systems than Linux, or where timerfd is refused.
        let until = Timestamp::from_micros(SystemClock.now().as_micros() + 30_000);
        tokio::time::timeout(Duration::from_secs(10), sleep_elapsed(until))
            .await
            .expect("the wait ends");
        assert!(SystemClock.now() >= until);
    }
}
