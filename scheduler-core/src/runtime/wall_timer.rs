//! A wait for an instant of the wall clock, on a Linux `timerfd` watched by tokio's reactor.
//!
//! [`SystemClock`](super::SystemClock) uses it for the bulk of every wait. Against a tokio
//! sleep it has three advantages, which are why it exists:
//!
//! * **Precision.** The kernel expires the timer on a high-resolution clock and the reactor
//!   wakes at once; tokio's timer counts whole milliseconds and rounds up.
//! * **Wall-clock time.** The timer is armed for an absolute instant of `CLOCK_REALTIME`,
//!   the clock the due instants are on. A wall clock stepped forward (NTP, a suspended
//!   laptop) expires it on time; a tokio sleep, which counts elapsed time, would end late by
//!   the step.
//! * **Clock changes are reported.** With `TFD_TIMER_CANCEL_ON_SET` a step of the wall clock
//!   in either direction ends the wait, and the engine re-reads the time and finds what is
//!   due now.
//!
//! The file descriptor is registered with the runtime's I/O driver, which must therefore be
//! enabled (`enable_io`/`enable_all`, as `#[tokio::main]` does); dropping the wait closes it.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::io::AsRawFd;

use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

use crate::time::Timestamp;

/// Waits until the wall clock reaches `deadline`, or until the wall clock is set (stepped)
/// meanwhile. An error means the timer could not be created or armed (a sandbox that
/// forbids `timerfd`, no file descriptors left): the caller falls back to another wait.
pub(super) async fn sleep_until(deadline: Timestamp) -> io::Result<()> {
    let timer = arm(deadline)?;
    // SAFETY: the `File` owns the timer's descriptor, which stays open and the same until
    // the `AsyncFd` that owns the `File` is dropped.
    let timer = unsafe { AsyncFd::register_with_interest(timer, Interest::READABLE) }?;
    let mut expirations = [0u8; 8];
    loop {
        let mut ready = timer.readable().await?;
        match ready.get_inner().read(&mut expirations) {
            Ok(_) => return Ok(()),
            // The wall clock was set: the engine re-reads it and waits again if need be.
            Err(e) if e.raw_os_error() == Some(libc::ECANCELED) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
            Err(e) => return Err(e),
        }
    }
}

/// A non-blocking timer file descriptor that becomes readable at `deadline`.
fn arm(deadline: Timestamp) -> io::Result<File> {
    // SAFETY: plain system call with constant arguments; the result is checked.
    let fd = unsafe {
        libc::timerfd_create(libc::CLOCK_REALTIME, libc::TFD_NONBLOCK | libc::TFD_CLOEXEC)
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by timerfd_create and is owned by nothing else.
    let timer = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    let micros = deadline.as_micros();
    let spec = libc::itimerspec {
        it_interval: libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        },
        it_value: libc::timespec {
            tv_sec: micros.div_euclid(1_000_000) as libc::time_t,
            tv_nsec: (micros.rem_euclid(1_000_000) * 1_000) as libc::c_long,
        },
    };
    // An expiry of zero would disarm the timer instead of expiring it at once.
    if spec.it_value.tv_sec <= 0 && spec.it_value.tv_nsec == 0 {
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: `timer` is a valid timerfd, `spec` a valid itimerspec, and a null old value
    // is allowed.
    let set = unsafe {
        libc::timerfd_settime(
            timer.as_raw_fd(),
            libc::TFD_TIMER_ABSTIME | libc::TFD_TIMER_CANCEL_ON_SET,
            &spec,
            std::ptr::null_mut(),
        )
    };
    if set < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(timer)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::runtime::{Clock, SystemClock};

    /// Waits with the timer; false (and a printed reason) where the system refuses it, as
    /// some sandboxes do: the clock then falls back to elapsed-time sleeps.
    async fn wait_for(deadline: Timestamp) -> bool {
        match tokio::time::timeout(Duration::from_secs(10), sleep_until(deadline)).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                eprintln!("skipped: timerfd is not available here ({e})");
                false
            }
            Err(_) => panic!("the timer did not expire within 10 s"),
        }
    }

    #[tokio::test]
    async fn a_past_instant_ends_the_wait_at_once() {
        let past = Timestamp::from_micros(SystemClock.now().as_micros() - 1_000_000);
        wait_for(past).await;
    }

    #[tokio::test]
    async fn the_wait_ends_at_its_wall_clock_instant_not_before() {
        let deadline = Timestamp::from_micros(SystemClock.now().as_micros() + 30_000);
        if wait_for(deadline).await {
            // The kernel never expires an absolute timer early; how late it is, is measured
            // by the benchmarks, not asserted here.
            assert!(SystemClock.now() >= deadline);
        }
    }
}
