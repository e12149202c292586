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
