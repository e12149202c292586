//! Why is a condition true or false now, and when will that change?
//!
//! [`Condition::explain`] walks the condition as a tree and asks every node the two
//! questions the runtime asks of the whole: its value ([`Condition::evaluate`]) and its
//! next change by time alone ([`Condition::next_change`]). Nothing here knows what a leaf
//! means: a leaf is whatever is not `&`, `|`, `~` or a literal, and its truth comes from
//! the one evaluator, so a new kind of leaf is explained without a change here.
//!
//! [`Explanation::blocker`] then names the leaf that decides the value: of an `&` that is
//! false, the false operand that stays false the longest (the others change sooner and do
//! not help); of an `|` that is false, the operand that turns true the soonest; through a
//! `~`, the same question with the wanted value flipped. [`Explanation::verdict`] says it
//! in one line, with the records of the tasks the leaf reads when only a record can change
//! it.

use crate::log::{Action, ActionSet, History};
use crate::time::{Timestamp, Tz, zone};

use super::ast::Condition;
use super::eval::{EvalContext, EvalError};
use super::next_change::NextChange;

/// What a node of a condition tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NodeKind {
    /// `a & b & …`.
    All,
    /// `a | b | …`.
    Any,
    /// `~a`.
    Not,
    /// `true` or `false`.
    Literal,
    /// Anything else: a leaf of the language (a period, a dependency, a cron line, …).
    Leaf,
}

impl NodeKind {
    /// The operator's name, or `leaf`.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::All => "all",
            NodeKind::Any => "any",
            NodeKind::Not => "not",
            NodeKind::Literal => "literal",
            NodeKind::Leaf => "leaf",
        }
    }
}

/// One node of an explained condition: its text, its value now, when time alone changes
/// that value, and the explained operands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// The node, printed as the language writes it.
    pub text: String,
    /// What the node is.
    pub kind: NodeKind,
    /// Its value at the instant explained, or why it cannot be evaluated.
    pub value: Result<bool, EvalError>,
    /// When the passing of time alone next changes its value.
    pub next_change: Result<NextChange, EvalError>,
    /// The names of the other tasks whose records the node reads.
    pub reads: Vec<String>,
    /// The operands (for `&`, `|`, `~`).
    pub children: Vec<Explanation>,
}

impl Condition {
    /// The condition as an explained tree, at `now`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use scheduler_core::condition::{Condition, EvalContext, NodeKind};
    /// use scheduler_core::log::LogIndex;
    ///
    /// let log = LogIndex::new();
    /// let cx = EvalContext::new(&log).owner("report");
    /// let c: Condition = "daily & time of day between 07:00 and 10:00".parse()?;
    /// let now = Utc.with_ymd_and_hms(2024, 1, 1, 12, 0, 0).unwrap();
    /// let e = c.explain(&cx, now);
    /// assert_eq!(e.kind, NodeKind::All);
    /// assert_eq!(e.value, Ok(false));
    /// let blocker = e.blocker().unwrap();
    /// assert_eq!(blocker.node.text, "time of day between 07:00 and 10:00");
    /// assert_eq!(
    ///     e.verdict(&cx, now.into()),
    ///     "`time of day between 07:00 and 10:00` is false until 07:00 tomorrow (2024-01-02 07:00:00 UTC)"
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn explain(&self, cx: &EvalContext<'_>, now: impl Into<Timestamp>) -> Explanation {
        explain_at(self, cx, now.into())
    }
}

fn explain_at(c: &Condition, cx: &EvalContext<'_>, now: Timestamp) -> Explanation {
    let (kind, children) = match c {
        Condition::All(operands) => (NodeKind::All, operands.as_slice()),
        Condition::Any(operands) => (NodeKind::Any, operands.as_slice()),
        Condition::Not(inner) => (NodeKind::Not, std::slice::from_ref(&**inner)),
        Condition::Literal(_) => (NodeKind::Literal, &[][..]),
        _ => (NodeKind::Leaf, &[][..]),
    };
    Explanation {
        text: c.to_string(),
        kind,
        value: c.evaluate(cx, now),
        next_change: c.next_change(cx, now),
        reads: c
            .referenced_tasks()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        children: children.iter().map(|o| explain_at(o, cx, now)).collect(),
    }
}

/// The leaf that decides a condition's value, and the value the condition would need it to
/// take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocker<'a> {
    /// The leaf (or literal).
    pub node: &'a Explanation,
    /// The value the leaf would need for the whole to change its value.
    pub wanted: bool,
}

/// How long a node keeps its value: an instant, or for good (by time alone). `NotBefore`
/// counts as its instant: the value holds at least until then.
fn holds_until(e: &Explanation) -> Option<Timestamp> {
    match e.next_change {
        Ok(change) => change.instant(),
        Err(_) => None,
    }
}

/// Orders "changes sooner" first; "never" last.
fn change_key(e: &Explanation) -> (bool, i64) {
    match holds_until(e) {
        Some(t) => (false, t.as_micros()),
        None => (true, 0),
    }
}

impl Explanation {
    /// The leaf whose value the whole waits for, if the tree could be evaluated: see the
    /// module docs. `None` when a node cannot be evaluated.
    pub fn blocker(&self) -> Option<Blocker<'_>> {
        let value = *self.value.as_ref().ok()?;
        self.blocker_for(!value)
    }

    fn blocker_for(&self, wanted: bool) -> Option<Blocker<'_>> {
        let value = *self.value.as_ref().ok()?;
        match self.kind {
            NodeKind::Leaf | NodeKind::Literal => Some(Blocker { node: self, wanted }),
            NodeKind::Not => self.children.first()?.blocker_for(!wanted),
            NodeKind::All | NodeKind::Any => {
                // The operands that hold the whole at its value: the false ones of a false
                // `&`, the true ones of a true `|`; every operand otherwise.
                let holding = self
                    .children
                    .iter()
                    .filter(|c| c.value.as_ref().is_ok_and(|v| *v == value));
                // When every holding operand must change (false `&`, true `|`), the one
                // that holds the longest decides; when any one suffices, the soonest.
                let all_must_change = (self.kind == NodeKind::All) != value;
                let chosen = if all_must_change {
                    // `max_by_key` keeps the last of equals; the first reads better.
                    holding.rev().max_by_key(|c| change_key(c))
                } else {
                    holding.min_by_key(|c| change_key(c))
                }?;
                chosen.blocker_for(wanted)
            }
        }
    }

    /// One line saying why the condition has its value and what would change it, with
    /// instants on the wall clock of the context's zone:
    /// "`time of day between 07:00 and 10:00` is false until 07:00 tomorrow (…)",
    /// "`after task 'get_data' succeeded` is false until a new record of `get_data`; its
    /// last run failed at …".
    pub fn verdict(&self, cx: &EvalContext<'_>, now: Timestamp) -> String {
        let value = match &self.value {
            Ok(value) => *value,
            Err(error) => return format!("cannot be evaluated: {error}"),
        };
        let Some(blocker) = self.blocker() else {
            return match self.children.iter().find_map(|c| c.value.as_ref().err()) {
                Some(error) => format!("cannot be evaluated: {error}"),
                None => format!("is {value}"),
            };
        };
        let leaf = blocker.node;
        let is = !blocker.wanted;
        let mut text = format!("`{}` is {is}", leaf.text);
        match (leaf.kind, &leaf.next_change) {
            (NodeKind::Literal, _) => text.push_str(" for good"),
            (_, Ok(NextChange::At(t))) => {
                let t = *t;
                text.push_str(&format!(
                    " until {}",
                    describe_instant(cx.time_zone(), now, t)
                ));
            }
            (_, Ok(NextChange::NotBefore(t))) => {
                let t = *t;
                text.push_str(&format!(
                    " at least until {}",
                    describe_instant(cx.time_zone(), now, t)
                ));
            }
            (_, Err(error)) => text.push_str(&format!(" (its next change is unknown: {error})")),
            (_, Ok(NextChange::Never)) if leaf.reads.is_empty() => {
                text.push_str(
                    " until a new record of this task, a parameter or the scheduler changes it",
                );
            }
            (_, Ok(NextChange::Never)) => {
                let names: Vec<String> = leaf.reads.iter().map(|n| format!("`{n}`")).collect();
                text.push_str(&format!(" until a new record of {}", names.join(" or ")));
                for task in &leaf.reads {
                    text.push_str("; ");
                    text.push_str(&last_run(cx.history(), cx.time_zone(), task, now));
                }
            }
        }
        text
    }
}

/// What `task`'s log says of its last run, in words: "`get_data` last failed at …",
/// "`get_data` is running (since …)", "`get_data` has not run".
fn last_run(history: &dyn History, zone: Tz, task: &str, now: Timestamp) -> String {
    let Some(action) = history.last_action(task, now) else {
        return format!("`{task}` has not run");
    };
    let any = ActionSet::of(action);
    let at = history.latest(task, any, now).unwrap_or(now);
    let at = format!(
        "{} {}",
        wall_clock(zone, at).format("%Y-%m-%d %H:%M:%S"),
        zone.name()
    );
    match action {
        Action::Run => format!("`{task}` is running (since {at})"),
        Action::Success => format!("`{task}` last succeeded at {at}"),
        Action::Fail => format!("`{task}`'s last run failed at {at}"),
        Action::Terminate => format!("`{task}`'s last run was terminated at {at}"),
        Action::Inaction => format!("`{task}`'s last run did nothing (inaction) at {at}"),
        Action::Crash => format!("`{task}`'s last run crashed at {at}"),
        // The history conditions read holds no change (`LogIndex` ignores them).
        Action::Change => format!("`{task}` was changed at {at}"),
    }
}

/// The wall-clock date and time of `t` in `zone`: `2024-01-02 07:00:00`.
pub fn wall_clock(zone: Tz, t: Timestamp) -> chrono::NaiveDateTime {
    let wall = zone::wall_of(zone, t.as_micros());
    chrono::DateTime::from_timestamp_micros(wall)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .naive_utc()
}

/// `t` as a person reads it beside `now`: `07:00 today`, `07:00 tomorrow`, or the date,
/// followed by the full wall-clock time and the zone in parentheses.
pub fn describe_instant(zone: Tz, now: Timestamp, t: Timestamp) -> String {
    let (today, then) = (wall_clock(zone, now), wall_clock(zone, t));
    let time = if then.format("%S").to_string() == "00" {
        then.format("%H:%M").to_string()
    } else {
        then.format("%H:%M:%S").to_string()
    };
    let days = (then.date() - today.date()).num_days();
    let day = match days {
        0 => "today".to_owned(),
        1 => "tomorrow".to_owned(),
        _ => format!("on {}", then.format("%a %Y-%m-%d")),
    };
    format!(
        "{time} {day} ({} {})",
        then.format("%Y-%m-%d %H:%M:%S"),
        zone.name()
    )
}
