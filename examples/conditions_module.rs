//! A small project that keeps its own conditions in a module, as Red Engine's guide keeps
//! them in `models/conditions.py`: `conditions` answers questions only the program can
//! (is today a working day? has the export arrived? is there work queued?), and `tasks`
//! uses them by name in condition strings, beside the built-in phrases and counts.
//!
//! A week is simulated on a virtual clock in well under a second; the example prints the
//! log the scheduler wrote and how often each condition was asked.
//!
//! ```text
//! cargo run --example conditions_module
//! ```

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use scheduler::prelude::*;
use scheduler::{MemoryStore, Tz, VirtualClock};

/// The project's custom conditions (`models/conditions.py` in Red Engine).
mod conditions {
    use std::path::PathBuf;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use chrono::Datelike;
    use scheduler::prelude::*;

    /// How many times each condition was called, to show when the scheduler asks.
    pub(crate) static ASKED: [AtomicU32; 3] =
        [AtomicU32::new(0), AtomicU32::new(0), AtomicU32::new(0)];

    /// Not a weekend, and not one of the session parameter `holidays`. Asked again at most
    /// every hour.
    #[scheduler::cond(every = "1 hour")]
    pub(crate) fn is_work_day(now: RunInfo, holidays: Arg<Vec<chrono::NaiveDate>>) -> bool {
        ASKED[0].fetch_add(1, Ordering::Relaxed);
        let day = now.started.to_datetime().date_naive();
        day.weekday().number_from_monday() <= 5 && !holidays.contains(&day)
    }

    /// Whether the partner's export has arrived: the file exists.
    #[scheduler::cond(every = "10 minutes")]
    pub(crate) fn file_exists(path: PathBuf) -> bool {
        ASKED[1].fetch_add(1, Ordering::Relaxed);
        path.exists()
    }

    /// Whether the work queue holds at least `min` items; an error if it cannot be read.
    #[scheduler::cond]
    pub(crate) fn queue_has(min: usize, queue: Arg<Mutex<Vec<u32>>>) -> Result<bool, String> {
        ASKED[2].fetch_add(1, Ordering::Relaxed);
        let queue = queue
            .lock()
            .map_err(|_| "the queue is poisoned".to_owned())?;
        Ok(queue.len() >= min)
    }
}

/// The project's tasks.
mod tasks {
    use std::sync::Mutex;

    use scheduler::prelude::*;

    // The conditions are called by path here; `use super::conditions::*` would let the
    // strings name them alone.
    use super::conditions;

    /// Each working morning.
    #[task("daily between 08:00 and 10:00 & conditions::is_work_day()")]
    pub(crate) fn morning_report() {}

    /// Once a day, as soon as the export is there (the file is created on Wednesday).
    #[task("daily & conditions::file_exists('/tmp/scheduler-example-export.csv')")]
    pub(crate) fn import_export() {
        let _ = std::fs::remove_file("/tmp/scheduler-example-export.csv");
    }

    /// Drains the queue when it holds 3 items, during working hours of working days, at
    /// most 4 times a day.
    #[task(
        "time of day between 09:00 and 17:00 & conditions::is_work_day() \
         & conditions::queue_has(3) & has succeeded less than 4 times today"
    )]
    pub(crate) fn drain_queue(queue: Arg<Mutex<Vec<u32>>>) -> usize {
        let mut queue = queue.lock().unwrap();
        let n = queue.len();
        queue.clear();
        n
    }

    /// Fills the queue: one item every 30 minutes.
    #[task("every 30 minutes")]
    pub(crate) fn enqueue(queue: Arg<Mutex<Vec<u32>>>) {
        queue.lock().unwrap().push(1);
    }
}

const USAGE: &str = "\
A project with its own conditions module (working days, an arriving file, a queue),
run for a week on a virtual clock; prints the log and how often each condition was asked.

usage: conditions_module

  -h, --help  print this help
";

fn main() -> anyhow::Result<()> {
    if let Some(arg) = std::env::args().nth(1) {
        if arg == "-h" || arg == "--help" {
            print!("{USAGE}");
            return Ok(());
        }
        eprint!("error: unexpected argument `{arg}`\n\n{USAGE}");
        std::process::exit(2);
    }
    let _ = std::fs::remove_file("/tmp/scheduler-example-export.csv");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let store = Arc::new(MemoryStore::new());
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(); // a Monday
    runtime.block_on(async {
        let running = Scheduler::builder()
            .time_zone(Tz::UTC)
            .clock(VirtualClock::starting_at(start))
            .store(store.clone())
            .handle_signals(false)
            .only_registered(["morning_report", "import_export", "drain_queue", "enqueue"])
            // Tuesday is a holiday.
            .param(
                "holidays",
                vec![chrono::NaiveDate::from_ymd_opt(2024, 1, 2).unwrap()],
            )
            .param("queue", std::sync::Mutex::new(Vec::<u32>::new()))
            .build()?
            .start()?;
        // The export arrives on Wednesday at noon.
        tokio::time::sleep(Duration::from_secs(2 * 86_400 + 12 * 3600)).await;
        std::fs::write("/tmp/scheduler-example-export.csv", "id,amount\n1,10\n")?;
        tokio::time::sleep(Duration::from_secs(4 * 86_400 + 12 * 3600)).await;
        running.session().shut_down();
        running.await?;
        anyhow::Ok(())
    })?;

    println!("{:<14} {:<15} {:<9}", "when", "task", "action");
    for record in store.records() {
        if record.task != "enqueue" {
            println!(
                "{:<14} {:<15} {:<9}",
                record.at.to_datetime().format("%a %H:%M:%S"),
                record.task,
                record.action.to_string(),
            );
        }
    }
    let asked: Vec<u32> = conditions::ASKED
        .iter()
        .map(|n| n.load(std::sync::atomic::Ordering::Relaxed))
        .collect();
    println!(
        "conditions asked: is_work_day {} times, file_exists {} times, queue_has {} times",
        asked[0], asked[1], asked[2]
    );
    Ok(())
}
