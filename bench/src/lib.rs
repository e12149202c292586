//! What every Rust subject of the benchmark shares: the wall clock as the protocol writes
//! it, one JSON line per event on standard output, and the resident memory of the process
//! (see `PROTOCOL.md`).

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The wall clock, in Unix seconds.
pub fn wall() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs_f64()
}

/// Prints one event as a JSON line and flushes it at once.
pub fn emit(line: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// This process's resident memory in kB (`VmRSS` of `/proc/self/status`), or 0 where
/// there is no such file.
pub fn rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
