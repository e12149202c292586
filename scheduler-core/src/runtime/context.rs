//! What a run can read: its identity, the session, session parameters, the values other
//! tasks returned, the payload of a requested run, and its termination flag.
//!
//! Injected parameters ([`FromContext`](super::FromContext)) are built from a
//! [`RunContext`]; closures given to [`TaskSpec`](super::TaskSpec) receive it directly.

use std::any::Any;
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use crate::condition::Params;
use crate::log::RunId;
use crate::time::Timestamp;

use super::outcome::{DecodeFn, Output, OutputCodec, Terminated};
use super::session::Session;

/// Why a `#[param]` function gave no value (one of its own parameters could not be
/// injected).
pub type ParamError = Arc<dyn std::error::Error + Send + Sync>;

/// A `#[param]` function, as registered: computes the value for a run, injecting its own
/// parameters from the run's context.
pub type ParamBuild = fn(&RunContext) -> Result<Arc<dyn Any + Send + Sync>, ParamError>;

/// A parameter's value, with the name of its type.
pub(crate) type ParamValue = (Arc<dyn Any + Send + Sync>, &'static str);

/// A session parameter: a value, or a `#[param]` function evaluated when a run needs it.
#[derive(Clone)]
pub(crate) enum ParamEntry {
    Value {
        value: Arc<dyn Any + Send + Sync>,
        text: Option<String>,
        type_name: &'static str,
    },
    Function {
        build: ParamBuild,
        type_name: &'static str,
    },
}

impl ParamEntry {
    /// The value as a change record shows it: its text where its type has one, else its
    /// type (`<alloc::vec::Vec<u8>>`, `<computed by a function: u32>`).
    fn describe(&self) -> String {
        match self {
            ParamEntry::Value {
                text: Some(text), ..
            } => text.clone(),
            ParamEntry::Value {
                text: None,
                type_name,
                ..
            } => format!("<{type_name}>"),
            ParamEntry::Function { type_name, .. } => {
                format!("<computed by a function: {type_name}>")
            }
        }
    }
}

/// The session parameters, by name, and the parameters of single tasks.
///
/// The session parameters sit behind a lock because a session may set or remove one while
/// the scheduler runs (`Session::set_param`): the loop, the runs and the custom conditions
/// share one registry, and each reads the value of the moment it asks.
#[derive(Default)]
pub(crate) struct ParamRegistry {
    entries: RwLock<HashMap<String, ParamEntry>>,
    /// (task, name) → value, looked up before the session parameters.
    task_entries: HashMap<(String, String), ParamEntry>,
}

impl Clone for ParamRegistry {
    fn clone(&self) -> Self {
        ParamRegistry {
            entries: RwLock::new(self.read().clone()),
            task_entries: self.task_entries.clone(),
        }
    }
}

impl std::fmt::Debug for ParamRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.read().keys()).finish()
    }
}

/// A session parameter as it crosses to a child process (`execution = "process"`): its
/// name, its type and its text, for the values whose type [`text_of`] writes and
/// [`value_of`] reads back.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ForwardedParam {
    pub(crate) name: String,
    pub(crate) type_name: String,
    pub(crate) text: String,
}

/// A value of the type named `type_name` (one of those [`text_of`] writes) read from
/// `text`, or `None` for another type or a text that does not read as it.
fn value_of(type_name: &str, text: &str) -> Option<(Arc<dyn Any + Send + Sync>, &'static str)> {
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if type_name == std::any::type_name::<$t>() {
                let value: $t = text.parse().ok()?;
                return Some((Arc::new(value), std::any::type_name::<$t>()));
            }
        )*};
    }
    try_types!(
        String, bool, char, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32,
        f64
    );
    if type_name == std::any::type_name::<&'static str>() {
        // Once per parameter in a child process that runs one task and exits.
        let value: &'static str = Box::leak(text.to_owned().into_boxed_str());
        return Some((Arc::new(value), std::any::type_name::<&'static str>()));
    }
    None
}

/// The text of common value types, for `env '...'` and `param 'k' is '...'` conditions.
fn text_of(value: &(dyn Any + Send + Sync)) -> Option<String> {
    macro_rules! try_types {
        ($($t:ty),*) => {$(
            if let Some(v) = value.downcast_ref::<$t>() {
                return Some(v.to_string());
            }
        )*};
    }
    try_types!(
        String,
        &'static str,
        bool,
        char,
        i8,
        i16,
        i32,
        i64,
        i128,
        isize,
        u8,
        u16,
        u32,
        u64,
        u128,
        usize,
        f32,
        f64
    );
    None
}

impl ParamRegistry {
    pub(crate) fn insert_value<T: Send + Sync + 'static>(&mut self, name: String, value: T) {
        self.insert_arc(name, Arc::new(value));
    }

    pub(crate) fn insert_arc<T: Send + Sync + 'static>(&mut self, name: String, value: Arc<T>) {
        self.write().insert(name, Self::value_entry(value));
    }

    /// The session parameters, for reading (a panic while the lock was held cannot leave
    /// the map half-updated: each change is one insert or remove).
    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, ParamEntry>> {
        self.entries.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, ParamEntry>> {
        self.entries.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets (`Some`) or removes (`None`) the session parameter `name` while the scheduler
    /// runs; gives the text of the value it had (`None`: it had none).
    pub(crate) fn replace(
        &self,
        name: &str,
        value: Option<(Arc<dyn Any + Send + Sync>, &'static str)>,
    ) -> Option<String> {
        let entry = value.map(|(value, type_name)| ParamEntry::Value {
            text: text_of(value.as_ref()),
            value,
            type_name,
        });
        let mut entries = self.write();
        let old = match entry {
            Some(entry) => entries.insert(name.to_owned(), entry),
            None => entries.remove(name),
        };
        old.map(|old| old.describe())
    }

    /// The session parameters a child process can be given: the values whose type has a
    /// text ([`text_of`]), as they are now (set in code or changed at run time).
    pub(crate) fn forwardable(&self) -> Vec<ForwardedParam> {
        self.read()
            .iter()
            .filter_map(|(name, entry)| match entry {
                ParamEntry::Value {
                    text: Some(text),
                    type_name,
                    ..
                } => Some(ForwardedParam {
                    name: name.clone(),
                    type_name: (*type_name).to_owned(),
                    text: text.clone(),
                }),
                _ => None,
            })
            .collect()
    }

    /// Takes the parameters the scheduler's process forwarded (in a child process), over
    /// those its own setup made: a value changed at run time reaches the child's run.
    pub(crate) fn accept_forwarded(&self, params: &[ForwardedParam]) {
        for param in params {
            if let Some(value) = value_of(&param.type_name, &param.text) {
                self.replace(&param.name, Some(value));
            }
        }
    }

    /// The text of the session parameter `name` as a change record shows it, if it is set.
    pub(crate) fn describe(&self, name: &str) -> Option<String> {
        self.read().get(name).map(ParamEntry::describe)
    }

    pub(crate) fn insert_for_task<T: Send + Sync + 'static>(
        &mut self,
        task: String,
        name: String,
        value: T,
    ) {
        self.task_entries
            .insert((task, name), Self::value_entry(Arc::new(value)));
    }

    fn value_entry<T: Send + Sync + 'static>(value: Arc<T>) -> ParamEntry {
        let value: Arc<dyn Any + Send + Sync> = value;
        let text = text_of(value.as_ref());
        ParamEntry::Value {
            value,
            text,
            type_name: std::any::type_name::<T>(),
        }
    }

    pub(crate) fn insert_function(
        &mut self,
        name: String,
        build: ParamBuild,
        type_name: &'static str,
    ) {
        self.write()
            .entry(name)
            .or_insert(ParamEntry::Function { build, type_name });
    }

    /// The names of the session parameters.
    pub(crate) fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// The value of `name` for the run `cx`: the task's own parameter, else the session's
    /// (evaluating a `#[param]` function once per run, with its own parameters injected
    /// from `cx`).
    pub(crate) fn get(
        &self,
        cx: &RunContext,
        name: &str,
    ) -> Option<Result<ParamValue, ParamError>> {
        let entry = match self
            .task_entries
            .get(&(cx.task_name().to_owned(), name.to_owned()))
        {
            Some(entry) => entry.clone(),
            // A clone (two `Arc`s at most), so that a `#[param]` function runs without the
            // lock held.
            None => self.read().get(name)?.clone(),
        };
        Some(match &entry {
            ParamEntry::Value {
                value, type_name, ..
            } => Ok((value.clone(), *type_name)),
            ParamEntry::Function { build, type_name } => {
                let lock = || {
                    cx.inner
                        .param_values
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                };
                let mut memo = lock();
                if let Some(value) = memo.values.get(name) {
                    return Some(Ok((value.clone(), *type_name)));
                }
                if let Some(at) = memo.building.iter().position(|n| n == name) {
                    let params = memo.building[at..].to_vec();
                    return Some(Err(Arc::new(ParamCycle { params }) as ParamError));
                }
                memo.building.push(name.to_owned());
                // Not held while the function runs: its own parameters read the memo.
                drop(memo);
                let built = build(cx);
                let mut memo = lock();
                memo.building.pop();
                built.map(|value| {
                    memo.values.insert(name.to_owned(), value.clone());
                    (value, *type_name)
                })
            }
        })
    }

    /// Whether `name` is a value given to the builder (which a `#[param]` function of the
    /// same name does not replace).
    pub(crate) fn has_value(&self, name: &str) -> bool {
        matches!(self.read().get(name), Some(ParamEntry::Value { .. }))
    }
}

impl Params for ParamRegistry {
    fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        // Owned: the value may change once the lock is released.
        match self.read().get(name)? {
            ParamEntry::Value { text, .. } => Some(Cow::Owned(text.clone().unwrap_or_default())),
            // A parameter computed by a function exists; its text is not computed for a
            // condition (functions may be slow or have effects).
            ParamEntry::Function { .. } => Some(Cow::Borrowed("")),
        }
    }
}

/// The last value each task returned.
#[derive(Debug, Default)]
pub(crate) struct Returns {
    map: RwLock<HashMap<Arc<str>, Output>>,
}

impl Returns {
    pub(crate) fn set(&self, task: Arc<str>, output: Output) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(task, output);
    }

    pub(crate) fn get(&self, task: &str) -> Option<Output> {
        self.map
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(task)
            .cloned()
    }

    pub(crate) fn remove(&self, task: &str) {
        self.map
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(task);
    }

    /// Every value that can be written as JSON, for a child process: with the codecs the
    /// child's parameters bring (`codecs`), else as the value allows (it arrived as JSON,
    /// or its producer ran in a child process).
    pub(crate) fn json_of(
        &self,
        tasks: Option<&[&str]>,
        codecs: &[(&'static str, OutputCodec)],
    ) -> HashMap<String, String> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|(name, _)| tasks.is_none_or(|t| t.contains(&&***name)))
            .filter_map(|(name, out)| {
                let json = out.json().or_else(|| {
                    let (_, codec) = codecs.iter().find(|(task, _)| *task == &**name)?;
                    (codec.encode)(out.value()?.as_ref())
                })?;
                Some((name.to_string(), json))
            })
            .collect()
    }
}

/// Set when a run is asked to stop (timeout, end condition, shutdown, request).
///
/// Async runs are cancelled at their next `.await` and child processes are killed, but a
/// blocking run must look at its flag and stop by itself: return
/// [`check`](Self::check)'s error, and the run is logged as `terminate`.
///
/// ```
/// use scheduler_core::runtime::{Terminated, TerminationFlag};
///
/// fn crunch(flag: &TerminationFlag) -> Result<u64, Terminated> {
///     let mut total = 0;
///     for chunk in 0..1_000u64 {
///         flag.check()?; // stops here once asked to
///         total += chunk;
///     }
///     Ok(total)
/// }
/// assert_eq!(crunch(&TerminationFlag::new()), Ok(499_500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TerminationFlag(Arc<AtomicBool>);

impl TerminationFlag {
    /// A flag that is not set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the run has been asked to stop.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Terminated)` once the run has been asked to stop.
    pub fn check(&self) -> Result<(), Terminated> {
        if self.is_set() {
            Err(Terminated)
        } else {
            Ok(())
        }
    }

    pub(crate) fn set(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Everything a run can read. Cheap to clone.
#[derive(Clone)]
pub struct RunContext {
    inner: Arc<RunState>,
}

pub(crate) struct RunState {
    pub(crate) task: Arc<str>,
    pub(crate) run_id: RunId,
    pub(crate) started: Timestamp,
    pub(crate) session: Option<Session>,
    pub(crate) params: Arc<ParamRegistry>,
    pub(crate) returns: Arc<Returns>,
    pub(crate) payload: Option<Arc<serde_json::Value>>,
    pub(crate) termination: TerminationFlag,
    /// In a child process: how to read the values of other tasks that arrived as JSON.
    pub(crate) decoders: HashMap<&'static str, DecodeFn>,
    /// The values of `#[param]` functions computed for this run, so that each is computed
    /// once however many parameters read it, and those being computed.
    pub(crate) param_values: std::sync::Mutex<ParamMemo>,
}

/// The `#[param]` functions of one run: the values computed, and the chain of those being
/// computed (a function whose parameter reads a function already in the chain would
/// recurse for ever; it is refused with [`ParamCycle`] instead).
#[derive(Default)]
pub(crate) struct ParamMemo {
    values: HashMap<String, Arc<dyn Any + Send + Sync>>,
    building: Vec<String>,
}

/// `#[param]` functions that need each other's values, found while a run computed them
/// (the start-up check finds the cycles it can see in the functions' `Arg<T>` parameters;
/// this one also catches those through other injected types).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the `#[param]` functions {} need each other's values, so none can be computed",
    cycle_text(.params)
)]
pub struct ParamCycle {
    /// The functions' parameter names, in the order each reads the next (the last reads
    /// the first).
    pub params: Vec<String>,
}

/// `'a' → 'b' → 'a'`.
pub(crate) fn cycle_text(names: &[String]) -> String {
    names
        .iter()
        .chain(names.first())
        .map(|n| format!("'{n}'"))
        .collect::<Vec<_>>()
        .join(" → ")
}

impl std::fmt::Debug for RunContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunContext")
            .field("task", &self.inner.task)
            .field("run_id", &self.inner.run_id)
            .field("started", &self.inner.started)
            .finish_non_exhaustive()
    }
}

impl RunContext {
    pub(crate) fn new(state: RunState) -> Self {
        RunContext {
            inner: Arc::new(state),
        }
    }

    /// The task's name.
    pub fn task_name(&self) -> &str {
        &self.inner.task
    }

    pub(crate) fn task_arc(&self) -> &Arc<str> {
        &self.inner.task
    }

    /// The run's id (shared by its `run` record and the record that ends it).
    pub fn run_id(&self) -> RunId {
        self.inner.run_id
    }

    /// When the run started.
    pub fn started(&self) -> Timestamp {
        self.inner.started
    }

    /// The session, to control the scheduler (absent in a child process).
    pub fn session(&self) -> Option<&Session> {
        self.inner.session.as_ref()
    }

    /// The run's termination flag.
    pub fn termination_flag(&self) -> &TerminationFlag {
        &self.inner.termination
    }

    /// The payload of a requested run (`Session::run_with`), if any.
    pub fn payload(&self) -> Option<&serde_json::Value> {
        self.inner.payload.as_deref()
    }

    pub(crate) fn params(&self) -> &ParamRegistry {
        &self.inner.params
    }

    /// The last value `task` returned, and how to read it if it arrived as JSON: in a
    /// child process, with the decoder its parameter brought.
    pub(crate) fn output_of(&self, task: &str) -> Option<(Output, Option<DecodeFn>)> {
        let output = self.inner.returns.get(task)?;
        let decoder = self.inner.decoders.get(task).copied();
        Some((output, decoder))
    }

    pub(crate) fn returns_json(
        &self,
        tasks: Option<&[&str]>,
        codecs: &[(&'static str, OutputCodec)],
    ) -> HashMap<String, String> {
        self.inner.returns.json_of(tasks, codecs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a child process is given reads back as the same values, of the same types; a
    /// value without a text stays behind.
    #[test]
    fn forwarded_parameters_read_back_as_their_types() {
        let mut parent = ParamRegistry::default();
        parent.insert_value("rows".to_owned(), 500_u64);
        parent.insert_value("ratio".to_owned(), 0.1_f64);
        parent.insert_value("dry".to_owned(), true);
        parent.insert_value("mark".to_owned(), 'x');
        parent.insert_value("big".to_owned(), -(1_i128 << 100));
        parent.insert_value("zone".to_owned(), "Europe/Paris");
        parent.insert_value("name".to_owned(), "nightly run".to_owned());
        parent.insert_value("bytes".to_owned(), vec![1_u8, 2]);
        let forwarded = parent.forwardable();
        assert_eq!(forwarded.len(), 7, "{forwarded:?}");

        let mut child = ParamRegistry::default();
        child.insert_value("rows".to_owned(), 1_u64);
        child.insert_value("bytes".to_owned(), vec![9_u8]);
        child.accept_forwarded(&forwarded);
        let value = |name: &str| match child.read().get(name) {
            Some(ParamEntry::Value { value, .. }) => value.clone(),
            _ => panic!("no value {name}"),
        };
        assert_eq!(value("rows").downcast_ref::<u64>(), Some(&500));
        assert_eq!(value("ratio").downcast_ref::<f64>(), Some(&0.1));
        assert_eq!(value("dry").downcast_ref::<bool>(), Some(&true));
        assert_eq!(value("mark").downcast_ref::<char>(), Some(&'x'));
        assert_eq!(value("big").downcast_ref::<i128>(), Some(&-(1_i128 << 100)));
        assert_eq!(
            value("zone").downcast_ref::<&'static str>(),
            Some(&"Europe/Paris")
        );
        assert_eq!(
            value("name").downcast_ref::<String>().map(String::as_str),
            Some("nightly run")
        );
        // Its own value: a `Vec<u8>` has no text to cross with.
        assert_eq!(value("bytes").downcast_ref::<Vec<u8>>(), Some(&vec![9]));
    }
}
