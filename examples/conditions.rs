//! Explore the condition language: parse conditions, see their canonical form, whether
//! they hold now, and when they will next change.
//!
//! ```text
//! cargo run --example conditions                                   # a tour
//! cargo run --example conditions -- "daily between 07:00 and 10:00"
//! cargo run --example conditions -- --zone Europe/Helsinki "time of day after 17:00"
//! cargo run --example conditions -- "dialy after 25:00"            # see an error
//! cargo run --example conditions -- --help
//! ```
//!
//! Conditions that read a task's log are evaluated for a task named `example` with an
//! empty log, as for a task that has never run.

use std::process::ExitCode;

use chrono::Utc;
use scheduler::prelude::*;
use scheduler::{EvalContext, LogIndex, Timestamp, Tz};

const TOUR: &[&str] = &[
    "daily between 07:00 and 10:00 & after task 'get_data' succeeded",
    "every 15 minutes & time of day between 09:00 and 17:00 & ~time of week on Sunday",
    "cron 0 9 * * MON-FRI",
    "weekly on Friday | monthly before 5th",
    "cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3) & ~task 'backup' is running",
    "monthly starting 31st",
    "task 'backup' has failed today | retry 2",
    "once at 2030-01-01",
    "once at 2030-06-01 08:00:00+02:00 grace 2 hours & ~task 'backup' is running",
];

/// Deliberate mistakes, shown with the errors they get: the tour succeeds when every one
/// of them is refused and every condition of [`TOUR`] is not.
const MISTAKES: &[&str] = &[
    "daily betwen 07:00 and 10:00",
    "daily after 25:00",
    "(daily | hourly",
    "cron 0 0 31 2 *",
    "cron(day_of_week = mon-fri/2)",
    "hourly between 4 quarters and 00:00",
    "once at 2026-12-1",
    "once at 2026-12-01T08:00:00+05:99",
];

fn explain(text: &str, zone: Tz) -> bool {
    println!("condition: {text}");
    let condition: Condition = match text.parse() {
        Ok(c) => c,
        Err(e) => {
            println!("{}\n", e.render());
            return false;
        }
    };
    println!("  canonical:   {condition}");
    let log = LogIndex::new();
    let cx = EvalContext::new(&log).owner("example").zone(zone);
    let now = Timestamp::from(Utc::now());
    match condition.evaluate(&cx, now) {
        Ok(value) => println!(
            "  now:         {value} ({} in {zone})",
            now.to_datetime()
                .with_timezone(&zone)
                .format("%a %Y-%m-%d %H:%M:%S %Z")
        ),
        Err(e) => println!("  now:         cannot evaluate: {e}"),
    }
    let mut at = now;
    for i in 1..=3 {
        match condition.next_change(&cx, at) {
            Ok(NextChange::At(t)) => {
                let value = condition
                    .evaluate(&cx, t)
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                println!(
                    "  change {i}:    {} -> {value}",
                    t.to_datetime()
                        .with_timezone(&zone)
                        .format("%a %Y-%m-%d %H:%M:%S%.6f %Z")
                );
                at = t;
            }
            Ok(NextChange::NotBefore(t)) => {
                println!("  change {i}:    not before {t}");
                break;
            }
            Ok(NextChange::Never) => {
                println!("  change {i}:    never by the passing of time alone");
                break;
            }
            Err(e) => {
                println!("  change {i}:    cannot tell: {e}");
                break;
            }
        }
    }
    println!();
    true
}

const USAGE: &str = "\
Explain conditions: their canonical form, whether they hold now, and when they will next
change (for a task named `example` that has never run).

usage: conditions [--zone ZONE] [CONDITION]...

  CONDITION    a condition, quoted as one argument: \"daily between 07:00 and 10:00\"
               (without any, a tour of the language)
  --zone ZONE  the IANA time zone to read clock times in, such as Europe/Helsinki
               (default UTC)
  -h, --help   print this help
";

/// What the command line asks for.
enum Command {
    /// Explain these conditions (the tour when there are none) in this zone.
    Explain { zone: Tz, conditions: Vec<String> },
    /// Print the help.
    Help,
}

/// Reads the arguments; an error is the message to print above the usage.
fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Command, String> {
    let mut zone = Tz::UTC;
    let mut conditions = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--zone" => {
                let name = args
                    .next()
                    .ok_or("--zone takes an IANA time zone name, such as Europe/Helsinki")?;
                zone = name.parse().map_err(|_| {
                    format!("`{name}` is not an IANA time zone name, such as Europe/Helsinki")
                })?;
            }
            // Everything after `--` is a condition.
            "--" => conditions.extend(args.by_ref()),
            // No condition starts with `-`: this is an option we do not have.
            option if option.starts_with('-') => {
                return Err(format!("unknown option `{option}`"));
            }
            _ => conditions.push(arg),
        }
    }
    Ok(Command::Explain { zone, conditions })
}

fn main() -> ExitCode {
    let (zone, conditions) = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Explain { zone, conditions }) => (zone, conditions),
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprint!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let ok = if conditions.is_empty() {
        let understood = TOUR.iter().filter(|c| explain(c, zone)).count();
        let refused = MISTAKES.iter().filter(|c| !explain(c, zone)).count();
        understood == TOUR.len() && refused == MISTAKES.len()
    } else {
        // Explain every condition, even after one fails to parse.
        let failures = conditions.iter().filter(|c| !explain(c, zone)).count();
        failures == 0
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
