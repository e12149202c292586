//! Starting and stopping the child processes of runs (`execution = "process"` and command
//! tasks), so that the scheduler alone decides when they stop.
//!
//! * **A process group of its own.** A terminal's Ctrl-C sends SIGINT to its whole
//!   foreground process group. Were the children in the scheduler's group, they would die
//!   of it while the scheduler shuts down gracefully to let them finish. In a group of
//!   their own they receive nothing but what the scheduler sends; and terminating a run
//!   kills its whole group, so the programs a command started (`sh -c "a | b"`) stop with
//!   it.
//! * **Death with the parent (Linux).** Each child asks the kernel for SIGKILL when its
//!   parent dies (`PR_SET_PDEATHSIG`), so that a scheduler killed with SIGKILL, or crashing,
//!   leaves no orphan running whose result nobody will read. The kernel sends that signal
//!   when the *thread* that forked the child ends, not the process; tokio retires threads
//!   (an idle blocking thread after ten seconds, a worker that entered `block_in_place`),
//!   so children are forked by one thread kept for the life of the process instead.
//!
//! Only the direct child has the parent-death signal: a program that a command task
//! started in turn outlives a SIGKILL of the scheduler unless it watches its own parent.
//!
//! The unsafe code of this module is the hook that runs in the forked child before `exec`
//! and the `kill` of a process group, each with its safety argument.

use std::io;

use tokio::process::{Child, Command};

/// A child process of a run. Dropping it before it has been waited for kills it, with its
/// process group.
#[derive(Debug)]
pub(super) struct RunChild {
    /// The process; wait for it through this.
    pub(super) process: Child,
}

impl RunChild {
    /// Kills the child and every process of its group, unless it has been waited for.
    pub(super) fn kill(&mut self) {
        let Some(pid) = self.process.id() else {
            return;
        };
        // While the child has not been waited for, its pid (which is its group's id, as
        // it leads the group) stays reserved even after it exits: the signal cannot reach
        // an unrelated group that reused the number.
        #[cfg(target_os = "linux")]
        if kill_group(pid).is_ok() {
            return;
        }
        #[cfg(not(target_os = "linux"))]
        let _ = pid;
        let _ = self.process.start_kill();
    }
}

impl Drop for RunChild {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts `command` as the child of a run: leading a process group of its own, and (on
/// Linux) killed by the kernel when this process dies.
pub(super) async fn spawn(mut command: Command) -> io::Result<RunChild> {
    // For a child whose `RunChild` is never built: its run went away while the spawning
    // thread was starting it, and the thread drops it.
    command.kill_on_drop(true);
    #[cfg(unix)]
    command.process_group(0);
    #[cfg(target_os = "linux")]
    {
        die_with_parent(&mut command);
        spawner::spawn(command)
            .await
            .map(|process| RunChild { process })
    }
    #[cfg(not(target_os = "linux"))]
    {
        command.spawn().map(|process| RunChild { process })
    }
}

/// Makes the child ask for SIGKILL when the thread that forks it ends.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    // SAFETY: the hook runs in the forked child before `exec`, where only
    // async-signal-safe work is allowed: it makes two system calls and builds an
    // `io::Error` from an error number, which allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between the fork and the `prctl`, before the signal
            // was asked for: the child then has another parent already, and gives up.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Sends SIGKILL to every process of the group `pgid`.
#[cfg(target_os = "linux")]
fn kill_group(pgid: u32) -> io::Result<()> {
    let pgid =
        libc::pid_t::try_from(pgid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    if pgid <= 1 {
        // `kill(-1)` would signal every process this one may signal.
        return Err(io::Error::from(io::ErrorKind::InvalidInput));
    }
    // SAFETY: a plain system call on integers; a negative pid names a process group.
    if unsafe { libc::kill(-pgid, libc::SIGKILL) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The thread that forks every child, kept for the life of the process (see the module
/// docs for why).
#[cfg(target_os = "linux")]
mod spawner {
    use std::io;
    use std::sync::{Mutex, PoisonError, mpsc};

    use tokio::process::{Child, Command};
    use tokio::runtime::Handle;
    use tokio::sync::oneshot;

    /// A command to start, with the runtime whose reactor will watch the child and its
    /// pipes.
    struct Request {
        command: Command,
        runtime: Handle,
        reply: oneshot::Sender<io::Result<Child>>,
    }

    /// The way to the thread, once it is started. It holds a sender, so the thread's
    /// channel never closes and the thread never ends.
    static SPAWNER: Mutex<Option<mpsc::Sender<Request>>> = Mutex::new(None);

    /// Starts `command` on the spawning thread, within the current tokio runtime.
    pub(super) async fn spawn(command: Command) -> io::Result<Child> {
        let runtime = Handle::try_current().map_err(io::Error::other)?;
        let (reply, answer) = oneshot::channel();
        sender()?
            .send(Request {
                command,
                runtime,
                reply,
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    fn stopped() -> io::Error {
        io::Error::other("the thread that starts child processes has stopped")
    }

    /// The spawning thread's channel, starting the thread on first use.
    fn sender() -> io::Result<mpsc::Sender<Request>> {
        let mut slot = SPAWNER.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = slot.as_ref() {
            return Ok(sender.clone());
        }
        let (sender, requests) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("scheduler-spawner".to_owned())
            .spawn(move || {
                for Request {
                    mut command,
                    runtime,
                    reply,
                } in requests
                {
                    // tokio registers the child and its pipes with the reactor of the
                    // runtime entered here, the caller's.
                    let _entered = runtime.enter();
                    let _ = reply.send(command.spawn());
                }
            })?;
        *slot = Some(sender.clone());
        Ok(sender)
    }
}
