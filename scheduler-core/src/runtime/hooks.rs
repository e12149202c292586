//! Functions the scheduler calls around its life and around each run.
//!
//! Hooks run on the scheduler's loop: keep them short (log, count, notify).

use std::fmt;

use super::inject::RunInfo;
use super::outcome::RunOutcome;
use super::session::Session;

type SessionHook = Box<dyn Fn(&Session) + Send + Sync>;
type RunHook = Box<dyn Fn(&RunInfo) + Send + Sync>;
type OutcomeHook = Box<dyn Fn(&RunInfo, &RunOutcome) + Send + Sync>;

/// The hooks of a scheduler.
#[derive(Default)]
pub(crate) struct Hooks {
    pub(crate) startup: Vec<SessionHook>,
    pub(crate) shutdown: Vec<SessionHook>,
    pub(crate) before_run: Vec<RunHook>,
    pub(crate) after_run: Vec<OutcomeHook>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("startup", &self.startup.len())
            .field("shutdown", &self.shutdown.len())
            .field("before_run", &self.before_run.len())
            .field("after_run", &self.after_run.len())
            .finish()
    }
}

impl Hooks {
    pub(crate) fn on_startup(&self, session: &Session) {
        self.startup.iter().for_each(|h| h(session));
    }

    pub(crate) fn on_shutdown(&self, session: &Session) {
        self.shutdown.iter().for_each(|h| h(session));
    }

    pub(crate) fn before(&self, run: &RunInfo) {
        self.before_run.iter().for_each(|h| h(run));
    }

    pub(crate) fn after(&self, run: &RunInfo, outcome: &RunOutcome) {
        self.after_run.iter().for_each(|h| h(run, outcome));
    }

    pub(crate) fn has_run_hooks(&self) -> bool {
        !self.before_run.is_empty() || !self.after_run.is_empty()
    }
}
