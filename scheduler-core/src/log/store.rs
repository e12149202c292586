//! Where the task log is kept.
//!
//! The runtime keeps an in-memory index of the log for conditions (a
//! [`LogIndex`](super::LogIndex): every question answered by bisection) and writes
//! every record through to a [`LogStore`]. At start-up it loads the store to rebuild the
//! index, so a persistent store lets a restarted scheduler remember what already ran.
//!
//! [`MemoryStore`] keeps records in memory, up to a bound. Persistent stores (SQLite,
//! PostgreSQL) implement the same trait.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::BoxFuture;

use super::LogRecord;

/// An error of a log store.
#[derive(Debug, thiserror::Error)]
#[error("log store: {message}")]
pub struct StoreError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        StoreError {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error that caused it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// A place where the task log is written and read back.
///
/// The runtime appends records in the order they happen, in batches, and loads them all
/// once at start-up.
pub trait LogStore: Send + Sync + 'static {
    /// Appends records, oldest first. When the future resolves to `Ok`, the records are
    /// stored (durably, for a persistent store).
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), StoreError>>;

    /// Every stored record, oldest first.
    fn load(&self) -> BoxFuture<'_, Result<Vec<LogRecord>, StoreError>>;
}

/// A log kept in memory, holding the most recent records up to a capacity.
///
/// The capacity bounds what [`records`](Self::records) returns and what a restart within
/// the same process reloads; conditions read the runtime's own index.
///
/// ```
/// use std::sync::Arc;
/// use scheduler_core::log::MemoryStore;
///
/// let store = Arc::new(MemoryStore::with_capacity(10_000));
/// assert!(store.records().is_empty());
/// ```
#[derive(Debug)]
pub struct MemoryStore {
    records: Mutex<VecDeque<LogRecord>>,
    capacity: usize,
}

impl MemoryStore {
    /// Records kept by [`MemoryStore::new`].
    pub const DEFAULT_CAPACITY: usize = 100_000;

    /// A store keeping the latest [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) records.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A store keeping the latest `capacity` records.
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            records: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
        }
    }

    /// A copy of the stored records, oldest first.
    pub fn records(&self) -> Vec<LogRecord> {
        self.lock().iter().cloned().collect()
    }

    /// The records of one task, oldest first.
    pub fn records_of(&self, task: &str) -> Vec<LogRecord> {
        self.lock()
            .iter()
            .filter(|r| r.task == task)
            .cloned()
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<LogRecord>> {
        // A panic while holding the lock cannot leave the deque half-updated.
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl LogStore for MemoryStore {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        let mut stored = self.lock();
        stored.extend(records);
        let excess = stored.len().saturating_sub(self.capacity);
        stored.drain(..excess);
        Box::pin(std::future::ready(Ok(())))
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<LogRecord>, StoreError>> {
        Box::pin(std::future::ready(Ok(self.records())))
    }
}

impl<S: LogStore> LogStore for std::sync::Arc<S> {
    fn append(&self, records: Vec<LogRecord>) -> BoxFuture<'_, Result<(), StoreError>> {
        (**self).append(records)
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<LogRecord>, StoreError>> {
        (**self).load()
    }
}
