//! Every kind of task parameter and return type compiles, and the tasks are collected.

use scheduler::prelude::*;

#[derive(serde::Serialize, serde::Deserialize)]
struct Rows(Vec<u32>);

#[derive(serde::Deserialize)]
struct Order {
    id: u32,
}

#[task("daily")]
async fn get_data() -> anyhow::Result<Rows> {
    Ok(Rows(vec![1, 2, 3]))
}

#[task(
    "after task 'get_data' succeeded",
    execution = "process",
    timeout = "5 minutes"
)]
fn transform(rows: Return<get_data>, factor: Arg<u32>, home: Env<String>) -> u32 {
    rows.0.iter().sum::<u32>() * *factor + home.len() as u32
}

#[task("after task 'transform'", execution = "process")]
fn audit(
    rows: Option<Return<get_data>>,
    total: std::option::Option<scheduler::Return<transform>>,
) -> bool {
    rows.is_some() && total.map(|t| *t > 0).unwrap_or(false)
}

#[task("after task 'transform'", name = "store-results", priority = 3)]
async fn store(total: Return<transform>, session: Session, info: RunInfo) -> Result<(), String> {
    if *total == 0 {
        session.shut_down();
    }
    let _ = info.run_id;
    Ok(())
}

#[task(execution = "thread", permanent)]
fn watch(flag: TerminationFlag) -> Result<(), Terminated> {
    loop {
        flag.check()?;
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[task]
fn refund(order: Payload<Order>, me: Task, note: Option<Arg<String>>) -> String {
    format!("{} {} {:?}", me.name(), order.id, note.map(|n| n.len()))
}

#[task(on_startup)]
fn setup() {}

#[task(on_shutdown, execution = "main")]
fn teardown() {}

#[task(
    "every 10 minutes",
    end = "time of day after 18:00",
    multilaunch,
    disabled
)]
async fn poll() -> Result<u32, Inaction> {
    Err(Inaction::because("nothing new"))
}

// Flask-TaskX's `define_cron_task(month='6-8,11-12', day='3rd fri', hour='0-3')`.
#[task(cron(month = "6-8,11-12", day = "3rd fri", hour = "0-3"))]
fn summer_report() {}

// The fields and a condition string together: both must hold.
#[task("~task 'summer_report' is running", cron(hour = 2, minute = "*/30"))]
fn nightly_copy() {}

// Flask-TaskX's `define_date_task(run_date=date(2009, 11, 6))`, and a date with a grace and
// a condition string.
#[task(at = "2009-11-06")]
fn launch_day() {}

#[task(
    "~task 'launch_day' is running",
    at = "2026-12-01 08:00:00+02:00",
    misfire_grace = "90 minutes"
)]
fn announce() {}

#[test]
fn cron_fields_option_is_the_schedule() {
    let scheduler = scheduler::Scheduler::builder()
        .handle_signals(false)
        .param("factor", 2_u32)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let condition = |name: &str| {
        scheduler
            .tasks()
            .find(|t| t.name() == name)
            .map(|t| t.start_condition().to_string())
    };
    assert_eq!(
        condition("summer_report").as_deref(),
        Some("cron(month = 6-8,11-12, day = 3rd fri, hour = 0-3)")
    );
    assert_eq!(
        condition("nightly_copy").as_deref(),
        Some("cron(hour = 2, minute = */30) & ~task 'summer_report' is running")
    );
    assert_eq!(
        condition("launch_day").as_deref(),
        Some("once at 2009-11-06T00:00:00")
    );
    assert_eq!(
        condition("announce").as_deref(),
        Some(
            "once at 2026-12-01T08:00:00+02:00 grace 1 hour 30 minutes & ~task 'launch_day' is running"
        )
    );
}

#[test]
fn every_task_is_collected() {
    let scheduler = scheduler::Scheduler::builder()
        .handle_signals(false)
        .param("factor", 2_u32)
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut names: Vec<&str> = scheduler.tasks().map(|t| t.name()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "announce",
            "audit",
            "get_data",
            "launch_day",
            "nightly_copy",
            "poll",
            "refund",
            "setup",
            "store-results",
            "summer_report",
            "teardown",
            "transform",
            "watch"
        ]
    );
}
