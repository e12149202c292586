//! A PostgreSQL log store that goes away while the scheduler runs, and one that cannot be
//! reached at start-up:
//!
//! * a scheduler on a PostgreSQL cluster of the test's own (see `common/postgres.rs`), with
//!   a task due every second and a second task after each of its successes, keeps running
//!   its tasks while the database is stopped (fast shutdown: connections cut), writes what
//!   waited once the database is back, and after a graceful shutdown the database holds
//!   every record the scheduler made exactly once: each run its `run` and its `success`,
//!   as many runs as the tasks' bodies counted;
//! * a PostgreSQL URL where nothing listens is, at start-up, an `Unavailable` error that
//!   names the database, within a bounded wait;
//! * a server that answers only after the pool has given up (starting, or overloaded) is
//!   asked once more, and the store opens;
//! * a batch whose `COMMIT` reached the server but whose reply was lost (a proxy cuts the
//!   connection there) is not in the database twice after the journal's retry.
//!
//! The scheduler's clock is one the test moves, two seconds at a time: the tasks' runs, the
//! journal's retries (their backoff is on the scheduler's clock) and the outage are steps
//! of the test, not races with real time. What is real is the database, so the test waits
//! for what the scheduler does by polling for it, with a generous deadline.

#[macro_use]
mod common;
#[path = "common/pg.rs"]
mod pg;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::postgres::{PgCluster, free_port};
use scheduler::log::store::{self, RecordQuery, StoreErrorKind};
use scheduler::{
    Action, BoxFuture, Clock, LogRecord, RunId, Scheduler, StoreError, TaskSpec, Timestamp, Tz,
};
use sqlx::postgres::PgConnectOptions;
use tokio::sync::watch;

/// How long the test waits for anything the scheduler or the database does.
const DEADLINE: Duration = Duration::from_secs(120);

/// How far each step of the outage test moves the scheduler's clock.
const STEP: Duration = Duration::from_secs(2);

/// A clock that moves only when the test moves it.
#[derive(Debug, Clone)]
struct SteppedClock {
    now: Arc<watch::Sender<i64>>,
}

impl SteppedClock {
    fn starting_at(start: Timestamp) -> SteppedClock {
        SteppedClock {
            now: Arc::new(watch::Sender::new(start.as_micros())),
        }
    }

    fn advance(&self, by: Duration) {
        self.now
            .send_modify(|now| *now += i64::try_from(by.as_micros()).unwrap());
    }
}

impl Clock for SteppedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_micros(*self.now.borrow())
    }

    fn sleep_until(&self, deadline: Timestamp) -> BoxFuture<'static, ()> {
        let mut now = self.now.subscribe();
        Box::pin(async move {
            while *now.borrow_and_update() < deadline.as_micros() {
                if now.changed().await.is_err() {
                    // The test is over; nothing will move the clock again.
                    std::future::pending::<()>().await;
                }
            }
        })
    }

    fn is_virtual(&self) -> bool {
        true
    }
}

/// Polls `done` until it holds, failing the test after [`DEADLINE`] with `what`.
async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < DEADLINE,
            "waited {DEADLINE:?} for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Every record of the log, through the query API.
async fn all_records(url: &str) -> Vec<LogRecord> {
    let store = store::open(url).await.expect("the database opens");
    store
        .query(&RecordQuery::default().limit(1_000_000))
        .await
        .expect("the log reads")
        .into_iter()
        .map(|stored| stored.record)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_and_comes_back_loses_no_record_and_repeats_none() {
    let Some(mut cluster) = PgCluster::start_or_skip(
        "a_database_that_goes_away_and_comes_back_loses_no_record_and_repeats_none",
    ) else {
        return;
    };
    let url = cluster.url();
    let clock = SteppedClock::starting_at(Timestamp::from_micros(1_704_067_200_000_000));

    let ticks = Arc::new(AtomicU32::new(0));
    let tocks = Arc::new(AtomicU32::new(0));
    let (t, u) = (ticks.clone(), tocks.clone());
    let tick = TaskSpec::from_async("tick", move |_| {
        t.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .when("every 1 second".parse::<scheduler::Condition>().unwrap());
    let tock = TaskSpec::from_async("tock", move |_| {
        u.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .when(
        "after task 'tick' succeeded"
            .parse::<scheduler::Condition>()
            .unwrap(),
    );
    let running = Scheduler::builder()
        .without_registered_tasks()
        .time_zone(Tz::UTC)
        .clock(clock.clone())
        .handle_signals(false)
        .database(url.clone())
        .task(tick)
        .task(tock)
        .build()
        .expect("the scheduler builds")
        .start()
        .expect("the scheduler starts");

    // Each step moves the clock two seconds: `tick` is due once (its second since the last
    // run has passed, whether its instant counts or not), then `tock` after it.
    let mut steps = 0;
    let mut step = async |what: &str| {
        let before = ticks.load(Ordering::SeqCst);
        clock.advance(STEP);
        wait_for(&format!("step {steps} ({what}): tick and tock run"), || {
            ticks.load(Ordering::SeqCst) > before && tocks.load(Ordering::SeqCst) > before
        })
        .await;
        steps += 1;
    };
    wait_for("the first runs", || tocks.load(Ordering::SeqCst) >= 1).await;
    for _ in 0..3 {
        step("database up").await;
    }

    // The database goes away: the runs go on, their records wait in memory.
    cluster.stop();
    let stopped = Instant::now();
    let ticks_when_stopped = ticks.load(Ordering::SeqCst);
    for _ in 0..3 {
        step("database down").await;
    }
    assert!(
        ticks.load(Ordering::SeqCst) >= ticks_when_stopped + 3,
        "tick did not keep running while the database was down"
    );
    let down_for = stopped.elapsed();

    // It comes back: the journal's next retry (at most a few seconds of backoff away on
    // the scheduler's clock) writes everything that waited.
    cluster.start();
    for _ in 0..6 {
        step("database back").await;
    }

    running.session().shut_down();
    let outcome = tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the scheduler shuts down");
    outcome.unwrap_or_else(|e| panic!("the scheduler failed: {e:?}"));

    let records = all_records(&url).await;
    let (ticks, tocks) = (ticks.load(Ordering::SeqCst), tocks.load(Ordering::SeqCst));
    // Each record once: no (run, action) twice.
    let mut seen: HashMap<(RunId, Action), u32> = HashMap::new();
    for r in &records {
        let run = r
            .run_id
            .unwrap_or_else(|| panic!("a record without run id: {r:?}"));
        *seen.entry((run, r.action)).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(repeated.is_empty(), "records written twice: {repeated:?}");
    // No record lost: each run of each task has its `run` and its `success`, and the
    // database has as many runs as the bodies counted.
    for (task, ran) in [("tick", ticks), ("tock", tocks)] {
        let of = |action: Action| {
            records
                .iter()
                .filter(|r| r.task == task && r.action == action)
                .count()
        };
        assert_eq!(of(Action::Run), ran as usize, "the run records of {task}");
        assert_eq!(
            of(Action::Success),
            ran as usize,
            "the success records of {task}"
        );
    }
    for r in records.iter().filter(|r| r.action == Action::Run) {
        let run = r.run_id.unwrap();
        assert_eq!(
            seen.get(&(run, Action::Success)),
            Some(&1),
            "run {run} of {} has no success record",
            r.task
        );
    }
    assert_eq!(records.len(), 2 * (ticks + tocks) as usize);
    eprintln!(
        "outage: {} records of {ticks} tick and {tocks} tock runs, each once; the database was down for {down_for:?} ({steps} steps of {STEP:?} on the scheduler's clock in all)",
        records.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_database_at_start_up_is_unavailable_within_a_bounded_wait() {
    // A port nothing listens on: the database is down (or the URL's port is wrong).
    let url = format!("postgres://scheduler:secret@127.0.0.1:{}/app", free_port());
    let shown = url.replace(":secret@", ":***@");

    let started = Instant::now();
    let error: StoreError = match tokio::time::timeout(DEADLINE, store::open(&url))
        .await
        .expect("opening an unreachable database ends")
    {
        Ok(_) => panic!("a database where nothing listens opened"),
        Err(error) => error,
    };
    let waited = started.elapsed();
    // The pool retries a refused connection for 2 s, then one connection of the store's own
    // finds out why (within 10 s).
    assert!(
        waited < Duration::from_secs(30),
        "opening an unreachable database took {waited:?}"
    );
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error:?}");
    let message = error.to_string();
    for words in ["cannot connect to", &shown] {
        assert!(
            message.contains(words),
            "{message:?} does not say {words:?}"
        );
    }
    assert!(
        !message.contains("secret"),
        "{message:?} shows the password"
    );
    // The pool only times out; the error's cause is what the server answered.
    let cause = std::error::Error::source(&error).map_or_else(String::new, |s| s.to_string());
    assert!(
        cause.contains("refused"),
        "{cause:?} does not say the connection was refused"
    );

    // Through the scheduler: it stops at start-up with the same error, before any run.
    let ran = Arc::new(AtomicU32::new(0));
    let counter = ran.clone();
    let tick = TaskSpec::from_blocking("tick", move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    })
    .when("every 1 second".parse::<scheduler::Condition>().unwrap());
    let running = Scheduler::builder()
        .without_registered_tasks()
        .handle_signals(false)
        .database(url.clone())
        .task(tick)
        .build()
        .expect("a well-formed URL builds")
        .start()
        .expect("the scheduler starts");
    let outcome = tokio::time::timeout(DEADLINE, running)
        .await
        .expect("a scheduler on an unreachable database stops by itself");
    let error = outcome.expect_err("a scheduler ran on an unreachable database");
    let store_error = error
        .store_error()
        .unwrap_or_else(|| panic!("not a store error: {error:?}"));
    assert_eq!(store_error.kind(), StoreErrorKind::Unavailable);
    let shown_error = format!("{error:?}");
    for words in [
        "log store: cannot connect to",
        &shown,
        "Caused by:",
        "Connection refused",
    ] {
        assert!(
            shown_error.contains(words),
            "{shown_error:?} does not say {words:?}"
        );
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    eprintln!("an unreachable database is an error after {waited:?}: {shown_error}");
}

/// A TCP proxy in front of a PostgreSQL server that can lose, once, the reply to a
/// `COMMIT`: the server has committed, the client sees its connection cut. That is what a
/// network failure or a server crash at the wrong moment does to the client of any
/// database, and the one outage a retry must not turn into a second copy.
#[derive(Debug)]
struct CommitCutter {
    port: u16,
    /// Set: the next `COMMIT` that goes through loses its reply.
    armed: Arc<std::sync::atomic::AtomicBool>,
    /// How many replies were lost.
    cuts: Arc<AtomicU32>,
}

impl CommitCutter {
    /// A proxy on a free port of 127.0.0.1 to the server on `server_port`.
    async fn start(server_port: u16) -> CommitCutter {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the proxy");
        let port = listener.local_addr().unwrap().port();
        let armed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let cuts = Arc::new(AtomicU32::new(0));
        let (armed_, cuts_) = (armed.clone(), cuts.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(("127.0.0.1", server_port))
                    .await
                    .expect("the proxy reaches the server");
                tokio::spawn(relay(client, server, armed_.clone(), cuts_.clone()));
            }
        });
        CommitCutter { port, armed, cuts }
    }
}

/// `COMMIT` as the simple query protocol sends it: `Q`, the length (4 + 7), the text.
const COMMIT_QUERY: &[u8] = b"Q\0\0\0\x0bCOMMIT\0";
/// The server's reply that the commit is done: `CommandComplete` with the tag `COMMIT`.
const COMMIT_DONE: &[u8] = b"COMMIT\0";

/// Relays one connection both ways; when armed, cuts it after the server's reply to a
/// `COMMIT`, without passing the reply on.
async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    armed: Arc<std::sync::atomic::AtomicBool>,
    cuts: Arc<AtomicU32>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut from_client, mut to_client) = client.into_split();
    let (mut from_server, mut to_server) = server.into_split();
    // Set when a COMMIT went to the server while armed: its reply is not passed on.
    let cutting = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cutting_ = cutting.clone();
    let upstream = tokio::spawn(async move {
        let mut buffer = vec![0; 64 * 1024];
        loop {
            let n = match from_client.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let chunk = &buffer[..n];
            if chunk.windows(COMMIT_QUERY.len()).any(|w| w == COMMIT_QUERY)
                && armed.swap(false, Ordering::SeqCst)
            {
                cutting_.store(true, Ordering::SeqCst);
            }
            if to_server.write_all(chunk).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0; 64 * 1024];
    let mut reply: Vec<u8> = Vec::new();
    loop {
        let n = match from_server.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if cutting.load(Ordering::SeqCst) {
            // Hold the server's words until the commit's reply is among them, then hang
            // up on the client: the commit is done, and the client cannot know it.
            reply.extend_from_slice(&buffer[..n]);
            if reply.windows(COMMIT_DONE.len()).any(|w| w == COMMIT_DONE) {
                cuts.fetch_add(1, Ordering::SeqCst);
                break;
            }
            continue;
        }
        if to_client.write_all(&buffer[..n]).await.is_err() {
            break;
        }
    }
    upstream.abort();
    // Dropping both halves of both sockets closes the connections.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_whose_reply_is_lost_is_not_written_twice() {
    let Some(cluster) =
        PgCluster::start_or_skip("a_commit_whose_reply_is_lost_is_not_written_twice")
    else {
        return;
    };
    let proxy = CommitCutter::start(cluster.port()).await;
    let url = format!("postgres://postgres@127.0.0.1:{}/postgres", proxy.port);
    let clock = SteppedClock::starting_at(Timestamp::from_micros(1_704_067_200_000_000));
    let ticks = Arc::new(AtomicU32::new(0));
    let t = ticks.clone();
    let tick = TaskSpec::from_async("tick", move |_| {
        t.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .when("every 1 second".parse::<scheduler::Condition>().unwrap());
    let running = Scheduler::builder()
        .without_registered_tasks()
        .time_zone(Tz::UTC)
        .clock(clock.clone())
        .handle_signals(false)
        .database(url.clone())
        .task(tick)
        .build()
        .expect("the scheduler builds")
        .start()
        .expect("the scheduler starts");
    wait_for("the first run", || ticks.load(Ordering::SeqCst) >= 1).await;

    // The next batch's commit loses its reply; the steps after it retry and go on.
    proxy.armed.store(true, Ordering::SeqCst);
    for step in 0..4 {
        let before = ticks.load(Ordering::SeqCst);
        clock.advance(STEP);
        wait_for(&format!("step {step}: tick runs"), || {
            ticks.load(Ordering::SeqCst) > before
        })
        .await;
    }
    running.session().shut_down();
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("the scheduler shuts down")
        .unwrap_or_else(|e| panic!("the scheduler failed: {e:?}"));
    assert_eq!(
        proxy.cuts.load(Ordering::SeqCst),
        1,
        "no commit lost its reply: the test tested nothing"
    );

    let records = all_records(&cluster.url()).await;
    let ticks = ticks.load(Ordering::SeqCst) as usize;
    let mut seen: HashMap<(RunId, Action), u32> = HashMap::new();
    for r in &records {
        *seen.entry((r.run_id.unwrap(), r.action)).or_default() += 1;
    }
    let repeated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        repeated.is_empty(),
        "a batch whose commit lost its reply was written again: {} of {} records are copies ({repeated:?})",
        records.len() - seen.len(),
        records.len()
    );
    assert_eq!(records.len(), 2 * ticks, "{records:?}");
}

/// A memory store that, while `down`, fails each write after ten seconds, as a pool does
/// that waits for a database refusing connections (`PostgresStore`'s acquire timeout).
struct SlowToFail {
    inner: scheduler::MemoryStore,
    down: std::sync::atomic::AtomicBool,
    failures: AtomicU32,
}

impl scheduler::LogStore for SlowToFail {
    fn append<'a>(&'a self, records: &'a [LogRecord]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            if self.down.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_secs(10)).await;
                self.failures.fetch_add(1, Ordering::SeqCst);
                return Err(
                    StoreError::new("pool timed out while waiting for an open connection")
                        .of_kind(StoreErrorKind::Unavailable),
                );
            }
            self.inner.append(records).await
        })
    }

    delegate_reads!(inner);
}

/// While the store fails, each retry runs beside the loop: a try that takes ten seconds to
/// fail does not hold the runs due meanwhile. On tokio's paused clock (the store is in
/// memory), so the minute of outage takes no real time.
#[tokio::test(start_paused = true)]
async fn a_store_slow_to_fail_does_not_hold_the_runs_due_meanwhile() {
    let store = Arc::new(SlowToFail {
        inner: scheduler::MemoryStore::with_capacity(1_000_000),
        down: std::sync::atomic::AtomicBool::new(false),
        failures: AtomicU32::new(0),
    });
    let ticks = Arc::new(AtomicU32::new(0));
    let t = ticks.clone();
    let tick = TaskSpec::from_async("tick", move |_| {
        t.fetch_add(1, Ordering::SeqCst);
        async {}
    })
    .when("every 1 second".parse::<scheduler::Condition>().unwrap());
    let running = common::virtual_scheduler_with(common::utc(2024, 1, 1, 0, 0, 0), store.clone())
        .without_registered_tasks()
        .task(tick)
        .build()
        .expect("the scheduler builds")
        .start()
        .expect("the scheduler starts");
    tokio::time::sleep(Duration::from_secs(10)).await;

    store.down.store(true, Ordering::SeqCst);
    let before = ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let during = ticks.load(Ordering::SeqCst) - before;
    let failures = store.failures.load(Ordering::SeqCst);
    // `every 1 second` runs about once a second; a loop that waited for each failing try
    // would have run it about once per try (every ten seconds or more).
    assert!(
        during >= 40,
        "tick ran {during} times in the minute the store failed ({failures} tries failed)"
    );
    assert!(failures >= 2, "the store was tried {failures} times");

    store.down.store(false, Ordering::SeqCst);
    // The backoff reaches 30 s at most: within a minute a try finds the store back.
    tokio::time::sleep(Duration::from_secs(60)).await;
    running.session().shut_down();
    running
        .await
        .unwrap_or_else(|e| panic!("the scheduler failed: {e:?}"));

    let records = store.inner.records_of("tick");
    let ran = ticks.load(Ordering::SeqCst) as usize;
    let mut seen: HashMap<(RunId, Action), u32> = HashMap::new();
    for r in &records {
        *seen.entry((r.run_id.unwrap(), r.action)).or_default() += 1;
    }
    assert!(
        seen.values().all(|n| *n == 1),
        "records written twice: {:?}",
        seen.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let of = |action: Action| records.iter().filter(|r| r.action == action).count();
    assert_eq!((of(Action::Run), of(Action::Success)), (ran, ran));
    eprintln!(
        "a store slow to fail: tick ran {during} times in the minute of outage ({failures} tries of 10 s failed); {} records, each once",
        records.len()
    );
}

/// Connections to `upstream` through a port of its own, each held unanswered until the
/// gate opens: a server that accepts connections but does not answer yet.
struct Gate {
    port: u16,
    open: watch::Sender<bool>,
    /// Connections that arrived while it was closed.
    held: Arc<AtomicU32>,
}

impl Gate {
    async fn start(upstream: String) -> Gate {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port for the gate");
        let port = listener.local_addr().unwrap().port();
        let (open, opened) = watch::channel(false);
        let held = Arc::new(AtomicU32::new(0));
        let counted = held.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let mut opened = opened.clone();
                let (upstream, counted) = (upstream.clone(), counted.clone());
                tokio::spawn(async move {
                    if !*opened.borrow() {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    if opened.wait_for(|open| *open).await.is_err() {
                        return;
                    }
                    let Ok(mut server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                });
            }
        });
        Gate { port, open, held }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_answers_after_the_pool_gave_up_is_asked_once_more() {
    let test = "a_database_that_answers_after_the_pool_gave_up_is_asked_once_more";
    let Some(server) = pg::server_url(test) else {
        return;
    };
    let database = pg::TestDatabase::create(&server, test).await;
    let options: PgConnectOptions = database.url().parse().expect("the test URL parses");
    let gate = Gate::start(format!("{}:{}", options.get_host(), options.get_port())).await;
    let direct = format!(":{}/", options.get_port());
    assert!(
        database.url().contains(&direct),
        "{} has no port",
        database.url()
    );
    let url = database
        .url()
        .replacen(&direct, &format!(":{}/", gate.port), 1);

    let opening = tokio::spawn(async move { store::open(&url).await });
    // The pool's connection waits until its acquire timeout (2 s); then the store's own
    // connection to find out why is the second one held.
    wait_for("the pool to give up and the store to ask once more", || {
        gate.held.load(Ordering::SeqCst) >= 2
    })
    .await;
    assert!(
        !opening.is_finished(),
        "the store gave up before the server answered"
    );
    gate.open.send(true).expect("the gate opens");
    let store = tokio::time::timeout(DEADLINE, opening)
        .await
        .expect("opening ends")
        .expect("opening does not panic")
        .unwrap_or_else(|e| panic!("the store did not open once the server answered: {e}"));
    let record = LogRecord::new(
        "tick",
        Action::Run,
        Timestamp::from_micros(1_704_067_200_000_000),
    )
    .with_run(RunId::from_u128(1));
    store
        .append(std::slice::from_ref(&record))
        .await
        .expect("the store writes");
    let stored = store
        .query(&RecordQuery::default())
        .await
        .expect("the store reads");
    assert_eq!(
        stored.into_iter().map(|s| s.record).collect::<Vec<_>>(),
        vec![record]
    );
}
