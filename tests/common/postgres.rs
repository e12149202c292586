//! A private PostgreSQL cluster for a test that must stop and start its database: `initdb`
//! into a temporary directory, a server on a free port of 127.0.0.1 (its unix socket in the
//! same directory, trust authentication), stopped and started at will, removed on drop.
//!
//! It runs this machine's server binaries: those of `pg_config --bindir`, else the newest
//! of `/usr/lib/postgresql/*/bin` (Debian's packages), else those on `PATH`. Without them a
//! test skips and says why, except under `CI=true`, where that is a failure (a skipped
//! database test in CI hides a broken store).
//!
//! PostgreSQL refuses to run as root: when the tests do (as CI does), the cluster belongs
//! to, and runs as, the user `postgres` (else `nobody`).

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// How long starting or stopping the server may take before the test fails.
const PG_CTL_WAIT: Duration = Duration::from_secs(120);

/// A PostgreSQL server of the test's own. See the module's documentation.
#[derive(Debug)]
pub struct PgCluster {
    /// Removed on drop, after the server is stopped.
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// The user and group the server runs as, when the tests run as root.
    owner: Option<(u32, u32)>,
    running: bool,
}

impl PgCluster {
    /// A new cluster, started; `None` (after printing why) when this machine has no
    /// PostgreSQL server binaries, unless `CI=true`, where that panics. `test` names the
    /// test in the message.
    pub fn start_or_skip(test: &str) -> Option<PgCluster> {
        let Some(bin) = server_binaries() else {
            let why = "no PostgreSQL server binaries (initdb, pg_ctl) were found: not from `pg_config --bindir`, not in /usr/lib/postgresql/*/bin, not on PATH";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{test}: {why}; under CI=true this is a failure");
            }
            // Straight to the process's standard error: the test harness shows what
            // `eprintln!` prints only for a failed test, and a skip must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "{test}: skipped: {why} (install PostgreSQL's server package to run it)"
            );
            return None;
        };
        Some(PgCluster::init(bin))
    }

    fn init(bin: PathBuf) -> PgCluster {
        let mut dir = tempfile::Builder::new()
            .prefix("scheduler-pg-")
            .tempdir()
            .expect("a temporary directory for the cluster");
        let owner = if is_root(dir.path()) {
            // In /tmp, which the server's user can enter whatever TMPDIR says.
            dir = tempfile::Builder::new()
                .prefix("scheduler-pg-")
                .tempdir_in("/tmp")
                .expect("a temporary directory for the cluster in /tmp");
            let owner = user_ids("postgres")
                .or_else(|| user_ids("nobody"))
                .expect("a user other than root to run PostgreSQL as (postgres or nobody)");
            std::os::unix::fs::chown(dir.path(), Some(owner.0), Some(owner.1))
                .expect("the cluster's directory given to its user");
            Some(owner)
        } else {
            None
        };
        let mut cluster = PgCluster {
            dir,
            bin,
            port: free_port(),
            owner,
            running: false,
        };
        let data = cluster.data_dir();
        cluster.run_checked(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "-A".as_ref(),
                "trust".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--locale=C".as_ref(),
                // A test's cluster need not survive a power cut.
                "--no-sync".as_ref(),
            ],
        );
        cluster.start();
        cluster
    }

    /// The URL of its database `postgres`, as user `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether the server is running (as this handle started and stopped it).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Starts the server (again), on the same port, and waits until it accepts connections.
    pub fn start(&mut self) {
        assert!(!self.running, "the cluster is already running");
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let wait = PG_CTL_WAIT.as_secs().to_string();
        self.run_checked(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                wait.as_ref(),
                "start".as_ref(),
            ],
        );
        self.running = true;
    }

    /// Stops the server with a fast shutdown (connections are cut, open transactions roll
    /// back) and waits until it is down.
    pub fn stop(&mut self) {
        assert!(self.running, "the cluster is not running");
        self.pg_ctl_stop("fast");
        self.running = false;
    }

    /// The server's log so far, for a failure's message.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl_stop(&self, mode: &str) -> Output {
        let data = self.data_dir();
        let wait = PG_CTL_WAIT.as_secs().to_string();
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                mode.as_ref(),
                "-w".as_ref(),
                "-t".as_ref(),
                wait.as_ref(),
                "stop".as_ref(),
            ],
        )
    }

    /// Runs one of the server's programs as the cluster's owner.
    fn run(&self, program: &str, args: &[&std::ffi::OsStr]) -> Output {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(self.bin.join(program));
        command
            .args(args)
            // The owner may not enter the test's working directory.
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", self.bin.join(program).display()))
    }

    fn run_checked(&self, program: &str, args: &[&std::ffi::OsStr]) {
        let started = Instant::now();
        let output = self.run(program, args);
        assert!(
            output.status.success(),
            "{program} {args:?} failed ({}) after {:?}:\n{}\n{}\nserver log:\n{}",
            output.status,
            started.elapsed(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
            self.server_log()
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        if self.running {
            // Nothing to keep: the directory goes next.
            self.pg_ctl_stop("immediate");
        }
    }
}

/// The directory of `initdb` and `pg_ctl`.
fn server_binaries() -> Option<PathBuf> {
    let has_both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if let Some(dir) = from_pg_config.filter(|d| has_both(d)) {
        return Some(dir);
    }
    // Debian installs the server's programs under a directory per major version, and
    // `pg_config` may come from the client's package alone.
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, e.path().join("bin")))
        })
        .filter(|(_, bin)| has_both(bin))
        .collect();
    debian.sort();
    if let Some((_, bin)) = debian.pop() {
        return Some(bin);
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).find(|d| has_both(d))
}

/// Whether this process runs as root (the owner of a file it creates).
fn is_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(dir)
        .expect("the directory's metadata")
        .uid()
        == 0
}

/// The user and group ids of `user`, from /etc/passwd.
fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user) && fields.len() > 3)
            .then(|| Some((fields[2].parse().ok()?, fields[3].parse().ok()?)))
            .flatten()
    })
}

/// A port of 127.0.0.1 that nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
