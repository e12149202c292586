//! Condition literals of every shape compile, and equal what the typed API builds.

use scheduler::prelude::*;

#[test]
fn condition_literals_compile() {
    let conditions: Vec<Condition> = vec![
        condition!("daily between 07:00 and 10:00 & after task 'get_data' succeeded"),
        condition!("every 10 minutes & time of day between 09:00 and 17:00"),
        condition!(r"cron 0 9 * * MON-FRI"),
        condition!(
            "(weekly on Friday | monthly before 5th)
                    & ~task 'backup' is running"
        ),
        condition!("has failed today & retry 2"),
    ];
    assert_eq!(
        conditions[0],
        daily().between("07:00", "10:00").unwrap() & after_success("get_data")
    );
    assert_eq!(
        conditions[3].to_string(),
        "(weekly on Fri | monthly before 5th) & ~task 'backup' is running"
    );
}

/// An `async` custom condition, with a phrase argument, an injected one, and both options.
#[scheduler::cond(every = "30 seconds", timeout = "5 seconds")]
async fn rows_waiting(table: String, limit: Arg<u32>) -> Result<bool, std::io::Error> {
    tokio::task::yield_now().await;
    Ok(table.len() as u32 <= *limit)
}

#[test]
fn an_async_custom_condition_compiles_and_registers() {
    let def = scheduler::registered_conds()
        .find(|d| d.name == "rows_waiting")
        .expect("registered");
    assert!(matches!(def.call, scheduler::CondFn::Async(_)));
    assert_eq!(def.recheck_micros, 30_000_000);
    assert_eq!(def.timeout_micros, 5_000_000);
    assert_eq!(def.args, [scheduler::ArgKind::Text]);
    // Called in a string like a blocking one, checked at compile time the same way.
    let drain = condition!("every 1 minute & rows_waiting('jobs')");
    assert_eq!(drain.to_string(), "every 1 minute & rows_waiting('jobs')");
}
