//! How the command line prints: aligned tables, colours only on a terminal, instants on
//! the scheduler's wall clock.

use std::io::{IsTerminal, Write};

use crate::condition::wall_clock;
use crate::log::Action;
use crate::time::{Timestamp, Tz};

use super::CliError;

/// Whether to print JSON, and whether to colour.
#[derive(Debug, Clone, Copy)]
pub(super) struct Style {
    pub(super) json: bool,
    pub(super) colour: bool,
}

/// A colour of text, as an ANSI SGR code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Colour {
    Bold,
    Dim,
    Green,
    Red,
    Yellow,
    Cyan,
}

impl Colour {
    fn code(self) -> &'static str {
        match self {
            Colour::Bold => "1",
            Colour::Dim => "2",
            Colour::Green => "32",
            Colour::Red => "31",
            Colour::Yellow => "33",
            Colour::Cyan => "36",
        }
    }
}

impl Style {
    /// JSON if asked; colours when standard output is a terminal and `NO_COLOR` is unset
    /// (no-color.org): escape codes in a file or a pipe are noise.
    pub(super) fn for_stdout(json: bool) -> Style {
        Style {
            json,
            colour: !json
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    /// `text` in `colour`, if colouring.
    pub(super) fn paint(&self, colour: Option<Colour>, text: &str) -> String {
        match colour {
            Some(c) if self.colour && !text.is_empty() => {
                format!("\x1b[{}m{text}\x1b[0m", c.code())
            }
            _ => text.to_owned(),
        }
    }
}

/// The colour of an action.
pub(super) fn action_colour(action: Action) -> Option<Colour> {
    match action {
        Action::Run => Some(Colour::Cyan),
        Action::Success => Some(Colour::Green),
        Action::Fail | Action::Crash => Some(Colour::Red),
        Action::Terminate => Some(Colour::Yellow),
        Action::Inaction => Some(Colour::Dim),
        Action::Change => Some(Colour::Yellow),
    }
}

/// A cell: its text and its colour.
pub(super) type Cell = (String, Option<Colour>);

/// A cell without colour.
pub(super) fn plain(text: impl Into<String>) -> Cell {
    (text.into(), None)
}

/// Rows under a header, each column as wide as its widest cell (the last one is not
/// padded), two spaces apart.
pub(super) fn write_table(
    out: &mut dyn Write,
    style: &Style,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> Result<(), CliError> {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, (text, _)) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(text.chars().count());
        }
    }
    let line = |cells: Vec<Cell>| -> String {
        let mut line = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, (text, colour)) in cells.into_iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = if i == last {
                0
            } else {
                widths[i].saturating_sub(text.chars().count())
            };
            line.push_str(&style.paint(colour, &text));
            line.push_str(&" ".repeat(pad));
        }
        line.trim_end().to_owned()
    };
    let head: Vec<Cell> = header
        .iter()
        .map(|h| ((*h).to_owned(), Some(Colour::Bold)))
        .collect();
    writeln!(out, "{}", line(head)).map_err(CliError::Output)?;
    for row in rows {
        writeln!(out, "{}", line(row.clone())).map_err(CliError::Output)?;
    }
    Ok(())
}

/// `t` on the wall clock of `zone`: `2024-01-02 07:00:00`.
pub(super) fn wall(zone: Tz, t: Timestamp) -> String {
    wall_clock(zone, t).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `t` in RFC 3339, UTC, for JSON.
pub(super) fn rfc3339(t: Timestamp) -> String {
    t.to_string()
}

/// A duration in microseconds as a person reads it: `850 ms`, `12.3 s`, `4m 05s`, `2h 10m`.
pub(super) fn duration(micros: i64) -> String {
    let micros = micros.max(0);
    if micros < 1_000_000 {
        return format!("{} ms", micros / 1000);
    }
    let seconds = micros as f64 / 1e6;
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let s = micros / 1_000_000;
    if s < 3600 {
        return format!("{}m {:02}s", s / 60, s % 60);
    }
    format!("{}h {:02}m", s / 3600, (s % 3600) / 60)
}

/// Writes `value` as pretty JSON and a newline.
pub(super) fn write_json(out: &mut dyn Write, value: &serde_json::Value) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    writeln!(out, "{text}").map_err(CliError::Output)
}
