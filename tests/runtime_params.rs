//! Parameters: session and task level, `#[param]` functions, environment variables,
//! payloads of requested runs, optional parameters, and the failures of missing ones.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{records, utc, virtual_scheduler};
use scheduler::prelude::*;
use scheduler::{Action, MemoryStore};

static EVALUATIONS: AtomicU32 = AtomicU32::new(0);

/// Computed every time a run needs it.
#[param]
fn greeting() -> String {
    let n = EVALUATIONS.fetch_add(1, Ordering::SeqCst) + 1;
    format!("hello #{n}")
}

#[task("every 1 hour")]
fn greet(greeting: Arg<String>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock().unwrap().push(greeting.to_string());
}

#[task("every 1 hour")]
fn recipients_session(recipients: Arg<Vec<&'static str>>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("session: {}", recipients.join(",")));
}

#[task("every 1 hour")]
fn recipients_task(recipients: Arg<Vec<&'static str>>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("task: {}", recipients.join(",")));
}

#[task("every 1 hour")]
fn home_directory(home: Env<String>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("env: {}", !home.is_empty()));
}

#[task("every 1 hour")]
fn missing_parameter(recipeints: Arg<Vec<&'static str>>) {
    let _ = recipeints;
}

#[task("every 1 hour")]
fn wrong_type(recipients: Arg<Vec<String>>) {
    let _ = recipients;
}

#[task("every 1 hour")]
fn optional_parameter(nothing: Option<Arg<u64>>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("optional: {:?}", nothing.map(|n| *n)));
}

#[task("every 1 hour")]
fn before_upstream(value: Return<never_ran>) {
    let _ = value;
}

#[task("every 1 hour")]
fn optional_upstream(value: Option<Return<never_ran>>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("optional upstream: {:?}", value.map(|v| *v)));
}

#[task]
fn never_ran() -> u8 {
    7
}

#[derive(serde::Deserialize)]
struct Order {
    id: u32,
    items: Vec<String>,
}

#[task]
fn process_order(order: Payload<Order>, seen: Arg<Mutex<Vec<String>>>) {
    seen.lock()
        .unwrap()
        .push(format!("order {}: {}", order.id, order.items.join("+")));
}

#[tokio::test(start_paused = true)]
async fn every_kind_of_parameter() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered([
            "greet",
            "recipients_session",
            "recipients_task",
            "home_directory",
            "missing_parameter",
            "wrong_type",
            "optional_parameter",
            "before_upstream",
            "optional_upstream",
            "never_ran",
            "process_order",
        ])
        .param_arc("seen", seen.clone())
        .param("recipients", vec!["ops@example.com"])
        .task_param(
            "recipients_task",
            "recipients",
            vec!["me@example.com", "you@example.com"],
        )
        .build()
        .unwrap()
        .start()
        .unwrap();
    let session = running.session().clone();
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    session
        .run_with(
            "process_order",
            serde_json::json!({"id": 7, "items": ["tea", "scones"]}),
        )
        .unwrap();
    session
        .run_with("process_order", serde_json::json!({"id": "seven"}))
        .unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    session.shut_down();
    running.await.unwrap();

    let seen = seen.lock().unwrap().clone();
    // The `#[param]` function ran for each run that needed it.
    assert_eq!(
        seen.iter().filter(|s| s.starts_with("hello #")).count(),
        2,
        "{seen:?}"
    );
    assert!(seen.contains(&"hello #1".to_owned()) && seen.contains(&"hello #2".to_owned()));
    assert!(
        seen.contains(&"session: ops@example.com".to_owned()),
        "{seen:?}"
    );
    assert!(
        seen.contains(&"task: me@example.com,you@example.com".to_owned()),
        "{seen:?}"
    );
    assert!(seen.contains(&"optional: None".to_owned()), "{seen:?}");
    // An optional value of a task that has not returned one yet is `None`, not a failure.
    assert!(
        seen.contains(&"optional upstream: None".to_owned()),
        "{seen:?}"
    );
    assert!(seen.contains(&"order 7: tea+scones".to_owned()), "{seen:?}");

    let message = |task: &str| {
        records(&store, task, Action::Fail)
            .first()
            .and_then(|r| r.message.clone())
            .unwrap_or_else(|| panic!("{task} should have failed"))
    };
    assert_eq!(
        message("missing_parameter"),
        "parameter `recipeints`: no session parameter `recipeints` (did you mean `recipients`?)"
    );
    assert_eq!(
        message("wrong_type"),
        "parameter `recipients`: parameter `recipients` is a `alloc::vec::Vec<&str>`, not a `alloc::vec::Vec<alloc::string::String>`"
    );
    assert_eq!(
        message("before_upstream"),
        "parameter `value`: task 'never_ran' has not returned a value yet"
    );
    assert!(
        message("process_order").starts_with("parameter `order`: the payload is not a valid"),
        "{}",
        message("process_order")
    );
    // The scheduler went on after each failure: the next hour ran again.
    assert_eq!(records(&store, "missing_parameter", Action::Fail).len(), 2);
    assert!(
        records(&store, "home_directory", Action::Success).len()
            + records(&store, "home_directory", Action::Fail).len()
            == 2
    );
}

/// The limit for `limited` alone, computed for each of its runs.
fn batch_limit() -> u32 {
    LIMIT_CALLS.fetch_add(1, Ordering::SeqCst) + 100
}

static LIMIT_CALLS: AtomicU32 = AtomicU32::new(0);

#[task("every 1 hour")]
fn named_and_defaulted(
    #[arg(key = "recipients")] to: Arg<Vec<&'static str>>,
    #[arg(default = 3)] retries: Arg<u32>,
    #[arg(key = "missing", default = vec!["nobody".to_owned()])] fallback: Arg<Vec<String>>,
    #[env(var = "SCHEDULER_TEST_SURELY_UNSET_VAR", default = 8080)] port: Env<u16>,
    #[env(default = "unused".to_owned())] home: Env<String>,
    #[arg(with = batch_limit)] limit: Arg<u32>,
    seen: Arg<Mutex<Vec<String>>>,
) {
    seen.lock().unwrap().push(format!(
        "to={} retries={} fallback={} port={} home_set={} limit={}",
        to.join(","),
        *retries,
        fallback.join(","),
        *port,
        *home != "unused",
        *limit
    ));
}

#[task("every 1 hour")]
fn env_that_does_not_parse(#[env(var = "HOME", default = 1)] home: Env<u32>) {
    let _ = home;
}

#[tokio::test(start_paused = true)]
async fn arguments_with_keys_defaults_and_functions() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["named_and_defaulted", "env_that_does_not_parse"])
        .param_arc("seen", seen.clone())
        .param("recipients", vec!["ops@example.com"])
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    running.session().shut_down();
    running.await.unwrap();
    let seen = seen.lock().unwrap().clone();
    // `HOME` is set wherever the tests run; the first run computed the limit once (100),
    // the second again (101).
    assert_eq!(
        seen,
        [
            "to=ops@example.com retries=3 fallback=nobody port=8080 home_set=true limit=100",
            "to=ops@example.com retries=3 fallback=nobody port=8080 home_set=true limit=101",
        ]
    );
    // A variable that is set but does not parse is an error, not the default.
    let failed = records(&store, "env_that_does_not_parse", Action::Fail);
    assert_eq!(failed.len(), 2);
    assert!(
        failed[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("parameter `home`: environment variable `HOME`="),
        "{:?}",
        failed[0].message
    );
}

static BASE_URL_CALLS: AtomicU32 = AtomicU32::new(0);

/// A parameter computed from another, once per run that needs it.
#[param]
fn base_url(host: Arg<String>, port: Option<Arg<u16>>) -> String {
    BASE_URL_CALLS.fetch_add(1, Ordering::SeqCst);
    match port {
        Some(port) => format!("https://{}:{}/", *host, *port),
        None => format!("https://{}/", *host),
    }
}

/// A parameter whose own parameter is missing.
#[param]
fn needs_a_missing_one(nothing_here: Arg<u8>) -> u8 {
    *nothing_here
}

#[task("every 1 hour")]
fn reads_base_url_twice(
    base_url: Arg<String>,
    #[arg(key = "base_url")] again: Arg<String>,
    seen: Arg<Mutex<Vec<String>>>,
) {
    seen.lock()
        .unwrap()
        .push(format!("{} {}", *base_url, *again));
}

#[task("every 1 hour")]
fn reads_a_failing_param(needs_a_missing_one: Arg<u8>) {
    let _ = needs_a_missing_one;
}

#[tokio::test(start_paused = true)]
async fn param_functions_take_injected_arguments() {
    let store = Arc::new(MemoryStore::new());
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let running = virtual_scheduler(utc(2024, 1, 1, 0, 0, 0), &store)
        .only_registered(["reads_base_url_twice", "reads_a_failing_param"])
        .param_arc("seen", seen.clone())
        .param("host", "example.com".to_owned())
        .build()
        .unwrap()
        .start()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(90 * 60)).await;
    running.session().shut_down();
    running.await.unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "https://example.com/ https://example.com/",
            "https://example.com/ https://example.com/"
        ]
    );
    // Two runs, each reading the value twice: computed once per run.
    assert_eq!(BASE_URL_CALLS.load(Ordering::SeqCst), 2);
    let failed = records(&store, "reads_a_failing_param", Action::Fail);
    assert_eq!(failed.len(), 2);
    assert_eq!(
        failed[0].message.as_deref(),
        Some(
            "parameter `needs_a_missing_one`: the `#[param]` function `needs_a_missing_one` failed: \
             parameter `nothing_here`: no session parameter `nothing_here`"
        )
    );
}
