//! The engine's side of the task log: the one place that talks to the [`LogStore`].
//!
//! Every record the engine makes goes three ways: into the in-memory [`LogIndex`] that
//! conditions read (at once), to `tracing` (at once), and to the store (with the next
//! [`flush`](Journal::flush), once per pass of the loop, so that the records of a pass are
//! written in one batch). At start-up the journal loads the store into the index.

use std::sync::Arc;

use crate::log::{Action, LogIndex, LogRecord, LogStore, Retention, StoreError};
use crate::time::Timestamp;

/// The index conditions read, the store, and the records not written yet.
pub(super) struct Journal {
    index: LogIndex,
    store: Arc<dyn LogStore>,
    unflushed: Vec<LogRecord>,
    loaded: bool,
}

impl Journal {
    pub(super) fn new(store: Arc<dyn LogStore>) -> Journal {
        let mut index = LogIndex::new();
        // What every task's own condition reads; tasks whose records are read further
        // back get their own retention (`retain`).
        index.set_default_retention(Some(Retention::LATEST));
        Journal {
            index,
            store,
            unflushed: Vec::new(),
            loaded: false,
        }
    }

    /// The log as conditions read it.
    pub(super) fn index(&self) -> &LogIndex {
        &self.index
    }

    /// Widens what the index keeps of `task` to what `reach` needs. Retentions only widen:
    /// a task removed may be added again, and records dropped do not come back anyway.
    pub(super) fn retain(&mut self, task: &str, reach: Retention) {
        let kept = self.index.retention(task);
        let widened = kept.map_or(reach, |kept| kept.widen(reach));
        if kept != Some(widened) {
            self.index.set_retention(task, widened);
        }
    }

    /// Loads the stored log into the index, the first time only (a restart in the same
    /// process keeps its index).
    pub(super) async fn load(&mut self) -> Result<(), StoreError> {
        if !self.loaded {
            for r in self.store.load().await? {
                self.index.record(&r.task, r.action, r.at);
            }
            self.loaded = true;
        }
        Ok(())
    }

    /// Records what happened to `task`.
    pub(super) fn record(
        &mut self,
        task: &Arc<str>,
        action: Action,
        at: Timestamp,
        run_id: Option<u64>,
        duration: Option<i64>,
        message: Option<String>,
    ) {
        self.index.record(task, action, at);
        trace(task, action, run_id, duration, message.as_deref());
        self.unflushed.push(LogRecord {
            task: task.to_string(),
            action,
            at,
            run_id,
            duration_micros: duration,
            message,
        });
    }

    /// Writes the records made since the last flush to the store.
    pub(super) async fn flush(&mut self) -> Result<(), StoreError> {
        if self.unflushed.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.unflushed);
        self.store.append(batch).await
    }

    /// Every stored record, after writing what is not stored yet.
    pub(super) async fn stored_records(&mut self) -> Result<Vec<LogRecord>, StoreError> {
        self.flush().await?;
        self.store.load().await
    }
}

/// A run's length for the log: `850µs`, `12.5ms`, `3.20s`, `4m05s`.
fn readable_duration(micros: i64) -> String {
    let micros = micros.max(0);
    match micros {
        0..1_000 => format!("{micros}µs"),
        1_000..1_000_000 => format!("{:.1}ms", micros as f64 / 1e3),
        1_000_000..60_000_000 => format!("{:.2}s", micros as f64 / 1e6),
        _ => {
            let secs = micros / 1_000_000;
            format!("{}m{:02}s", secs / 60, secs % 60)
        }
    }
}

/// The record as a line of the program's log, at a level that fits the action.
fn trace(
    task: &str,
    action: Action,
    run_id: Option<u64>,
    duration: Option<i64>,
    message: Option<&str>,
) {
    let took = duration
        .map(|d| format!(" after {}", readable_duration(d)))
        .unwrap_or_default();
    let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
    match action {
        Action::Run => tracing::info!(task = %task, run = run_id, "{task} started"),
        Action::Success => tracing::info!(task = %task, run = run_id, "{task} succeeded{took}"),
        Action::Inaction => {
            tracing::info!(task = %task, run = run_id, "{task} had nothing to do{took}{detail}")
        }
        Action::Fail => {
            tracing::error!(task = %task, run = run_id, "{task} failed{took}{detail}")
        }
        Action::Crash => tracing::error!(task = %task, run = run_id, "{task} crashed{detail}"),
        Action::Terminate => {
            tracing::warn!(task = %task, run = run_id, "{task} was terminated{took}{detail}")
        }
    }
}
