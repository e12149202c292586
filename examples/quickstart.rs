//! A first scheduler: a few tasks that run every few seconds, hand values to each other,
//! fail now and then, and react to the failures.
//!
//! ```text
//! cargo run --example quickstart             # runs for 10 seconds
//! cargo run --example quickstart -- --forever # until Ctrl-C
//! ```
//!
//! Every run is logged on stderr (`RUST_LOG=debug` shows more); the tasks print what they
//! do on stdout.

use std::sync::atomic::{AtomicU32, Ordering};

use scheduler::prelude::*;

/// Pretends to download prices.
#[task("every 2 seconds")]
async fn fetch_prices(round: Arg<AtomicU32>) -> Vec<f64> {
    let n = round.fetch_add(1, Ordering::Relaxed);
    let prices: Vec<f64> = (0..5)
        .map(|i| 100.0 + f64::from(n * 5 + i) * 0.25)
        .collect();
    println!("fetch_prices: got {prices:?}");
    prices
}

/// Runs after every successful download, with the value it returned.
#[task("after task 'fetch_prices' succeeded")]
fn average(prices: Return<fetch_prices>) -> f64 {
    let average = prices.iter().sum::<f64>() / prices.len() as f64;
    println!("average: {average:.2}");
    average
}

/// Fails every other time: the failure is logged and the scheduler goes on.
#[task("every 3 seconds")]
fn flaky_upload(attempts: Arg<AtomicU32>) -> Result<(), String> {
    if attempts.fetch_add(1, Ordering::Relaxed) % 2 == 1 {
        return Err("the server said 503".to_owned());
    }
    println!("flaky_upload: uploaded");
    Ok(())
}

/// Reacts to the failures of another task.
#[task("after task 'flaky_upload' failed")]
fn alert() {
    println!("alert: the upload failed, someone should look");
}

/// Runs once when the scheduler starts, and once when it stops.
#[task(on_startup)]
fn hello() {
    println!("hello: the scheduler is starting");
}

#[task(on_shutdown)]
fn goodbye() {
    println!("goodbye: the scheduler has stopped scheduling");
}

fn main() -> scheduler::Result<()> {
    scheduler::init_logging();
    let forever = std::env::args().any(|a| a == "--forever");
    let mut builder = Scheduler::builder()
        .config_from_env()
        .param("round", AtomicU32::new(0))
        .param("attempts", AtomicU32::new(0));
    if !forever {
        builder = builder.shut_cond(condition!("scheduler has run over 10 seconds"));
    }
    builder.build()?.run()
}
