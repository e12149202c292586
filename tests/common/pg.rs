//! PostgreSQL for the tests: the server that `SCHEDULER_TEST_POSTGRES_URL` names, and a
//! database of their own for each test, created empty and dropped after.
//!
//! Without the variable a test says why it skips; under `CI=true` it fails instead, since
//! a database test skipped in CI would hide a broken store.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, PgConnection};

/// The variable that names the test server.
pub const URL_VAR: &str = "SCHEDULER_TEST_POSTGRES_URL";

/// The URL of the test server; `None` (and a line saying why `test` skips) when the
/// variable is not set. Under `CI=true` a missing variable is a failure.
pub fn server_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").as_deref() == Ok("true") => panic!(
            "{test}: {URL_VAR} is not set, and CI=true: the PostgreSQL store must be tested in CI \
             (set it to a server where the user may create databases, such as \
             postgres://postgres@127.0.0.1:5432/test)"
        ),
        _ => {
            // Straight to the process's standard error, not `eprintln!`, which the test
            // harness captures and shows only for a failed test: a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped on PostgreSQL: {URL_VAR} is not set (for example \
                 postgres://postgres@127.0.0.1:5432/test)"
            );
            None
        }
    }
}

/// `url` naming the database `name` instead of its own (its options kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, options) = match url.split_once('?') {
        Some((base, options)) => (base, Some(options)),
        None => (url, None),
    };
    let (scheme, rest) = base.split_once("://").expect("a postgres:// URL");
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match options {
        Some(options) => format!("{scheme}://{authority}/{name}?{options}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

/// A database created for one test, dropped (its connections closed) when this goes.
pub struct TestDatabase {
    server: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A new empty database on the server at `server`, named after `label`.
    pub async fn create(server: &str, label: &str) -> TestDatabase {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // The end of the label (a test's path ends with its name), within PostgreSQL's
        // 63 bytes of a name.
        let label: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let label = &label[label.len().saturating_sub(24)..];
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "sched_{label}_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = PgConnection::connect(server)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server {server}: {e}"));
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("cannot create the database {name}: {e}"));
        let _ = admin.close().await;
        TestDatabase {
            server: server.to_owned(),
            url: with_database(server, &name),
            name,
        }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection to it, for what a test does beside the store.
    pub async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.name))
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Its own thread and runtime: a `Drop` cannot wait for the test's runtime, which
        // may be the one running this.
        let server = self.server.clone();
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&server).await?;
                sqlx::query(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await?;
                admin.close().await
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("cannot drop the test database {}: {e}", self.name);
        }
    }
}
