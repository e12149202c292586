//! A data pipeline: fetch each morning (retrying a flaky source), transform what was
//! fetched, store it, and write a weekly report, with every value handed on by type.
//!
//! The example simulates a whole week on a virtual clock, in well under a second, and
//! prints the log the scheduler wrote: the same setup a test of your own schedule uses.
//!
//! ```text
//! cargo run --example pipeline
//! ```

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{TimeZone, Utc};
use scheduler::prelude::*;
use scheduler::{MemoryStore, Tz, VirtualClock};

#[derive(Debug, Clone)]
struct Reading {
    sensor: &'static str,
    celsius: f64,
}

/// Each morning between 07:00 and 10:00; after a failure, up to two retries.
#[task("daily between 07:00 and 10:00 | retry 2")]
async fn get_data(calls: Arg<AtomicU32>) -> anyhow::Result<Vec<Reading>> {
    let call = calls.fetch_add(1, Ordering::Relaxed);
    // The source is down for the first two calls of the third morning.
    if call == 2 || call == 3 {
        anyhow::bail!("the sensor gateway timed out");
    }
    let day = f64::from(call);
    Ok(vec![
        Reading {
            sensor: "roof",
            celsius: 3.0 + day,
        },
        Reading {
            sensor: "cellar",
            celsius: 11.5,
        },
    ])
}

/// Whenever new data has arrived.
#[task("after task 'get_data' succeeded")]
fn transform(readings: Return<get_data>) -> f64 {
    let outdoor: Vec<f64> = readings
        .iter()
        .filter(|r| r.sensor != "cellar")
        .map(|r| r.celsius)
        .collect();
    outdoor.iter().sum::<f64>() / outdoor.len() as f64
}

/// After every transform; the store is a parameter shared by the tasks that need it.
#[task("after task 'transform' succeeded")]
fn store(mean: Return<transform>, warehouse: Arg<Mutex<Vec<f64>>>) {
    warehouse.lock().unwrap().push(*mean);
}

/// Once a week, on Friday afternoon.
#[task("weekly on Friday & time of day after 17:00")]
fn weekly_report(warehouse: Arg<Mutex<Vec<f64>>>) -> String {
    let means = warehouse.lock().unwrap();
    let report = format!("{} days stored, means {:?}", means.len(), *means);
    println!("weekly report: {report}");
    report
}

const USAGE: &str = "\
A data pipeline (fetch with retries, transform, store, a weekly report) over a whole week,
simulated on a virtual clock in well under a second; prints the log the scheduler wrote.

usage: pipeline

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
    // Paused tokio time: sleeping jumps straight to the next timer, so a week takes
    // milliseconds and every run happens at its exact instant.
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
            .only_registered(["get_data", "transform", "store", "weekly_report"])
            .param("calls", AtomicU32::new(0))
            .param("warehouse", Mutex::new(Vec::<f64>::new()))
            .build()?
            .start()?;
        tokio::time::sleep(Duration::from_secs(7 * 86_400)).await;
        running.session().shut_down();
        running.await?;
        anyhow::Ok(())
    })?;

    println!("{:<14} {:<14} {:<9} message", "when", "task", "action");
    for record in store.records() {
        println!(
            "{:<14} {:<14} {:<9} {}",
            record.at.to_datetime().format("%a %H:%M:%S"),
            record.task,
            record.action.to_string(),
            record.message.unwrap_or_default()
        );
    }
    Ok(())
}
