//! The web example over real HTTP on loopback: its server (with the scheduler and a worker)
//! is started as `cargo run --example web` starts it, on a SQLite file of its own; 1,000
//! jobs are enqueued with `POST /jobs/send_email` and all complete; `GET /jobs/{id}`
//! agrees with the database; malformed requests get the right 4xx with a JSON error; a
//! queued job is cancelled with `DELETE`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The example's binary, which `cargo test` builds beside this test.
fn example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let web = dir.join("examples").join("web");
    assert!(
        web.exists(),
        "{} is missing: `cargo test -p scheduler-examples` builds it (or `cargo build --example web`)",
        web.display()
    );
    web
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request on a connection of its own: the status and the JSON body.
fn request(addr: &str, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    let body = body.unwrap_or("");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status: u16 = answer[9..12].parse().unwrap();
    let (_, body) = answer.split_once("\r\n\r\n").unwrap();
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{body:?}: {e}"));
    (status, json)
}

#[test]
fn the_web_example_enqueues_runs_and_answers_over_http() {
    let dir = tempfile_dir();
    let database = format!("sqlite:{}", dir.join("web.db").display());
    let mut child = Command::new(example())
        .env("PORT", "0")
        .env("SCHEDULER_DATABASE_URL", &database)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("the server said {first:?}"))
        .to_owned();
    let server = Server { child, addr };
    let addr = server.addr.as_str();

    // Malformed requests: each a 4xx with a JSON error naming the problem.
    let (status, error) = request(addr, "POST", "/jobs/send_email", Some("{not json"));
    assert_eq!(status, 400, "{error}");
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON payload")
    );
    let (status, error) = request(addr, "POST", "/jobs/launch_rockets", Some("{}"));
    assert_eq!(status, 404, "{error}");
    assert!(error["error"].as_str().unwrap().contains("launch_rockets"));
    let (status, error) = request(addr, "POST", "/jobs/send_email", Some(r#"{"to": 5}"#));
    assert_eq!(status, 422, "{error}");
    assert!(error["error"].as_str().unwrap().contains("wrong shape"));
    let (status, error) = request(addr, "GET", "/jobs/abc", None);
    assert_eq!(status, 400, "{error}");
    let (status, _) = request(addr, "GET", "/jobs/999999", None);
    assert_eq!(status, 404);

    let mut ids = Vec::new();
    for n in 0..1_000 {
        let email = json!({"to": format!("user{n}@example.com"), "subject": "Hello", "body": "Hi"});
        let (status, answer) = request(addr, "POST", "/jobs/send_email", Some(&email.to_string()));
        assert_eq!(status, 202, "{answer}");
        ids.push(answer["id"].as_i64().unwrap());
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    for id in &ids {
        loop {
            let (status, job) = request(addr, "GET", &format!("/jobs/{id}"), None);
            assert_eq!(status, 200);
            if job["state"] == "succeeded" {
                assert!(
                    job["result"]
                        .as_str()
                        .unwrap()
                        .starts_with("sent \"Hello\"")
                );
                break;
            }
            assert!(Instant::now() < deadline, "job {id} is still {job}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    // The status endpoint agrees with the database.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let queue = scheduler::Queue::open(&database).await.unwrap();
        assert_eq!(queue.counts().await.unwrap().succeeded, 1_000);
        for id in [ids[0], ids[499], ids[999]] {
            let job = queue.status(scheduler::JobId(id)).await.unwrap().unwrap();
            let (_, answer) = request(addr, "GET", &format!("/jobs/{id}"), None);
            assert_eq!(answer["state"], job.state.as_str());
            assert_eq!(answer["result"], job.result.unwrap());
        }
        // The newest jobs, of a state, through `GET /jobs`; a state that is none is a 400.
        let (status, listed) = request(addr, "GET", "/jobs?state=succeeded&limit=3", None);
        assert_eq!(status, 200, "{listed}");
        let listed: Vec<i64> = listed
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect();
        assert_eq!(listed, [ids[999], ids[998], ids[997]]);
        let (status, none) = request(addr, "GET", "/jobs?state=failed", None);
        assert_eq!((status, none), (200, json!([])));
        let (status, error) = request(addr, "GET", "/jobs?state=done", None);
        assert_eq!(status, 400, "{error}");
        assert!(error["error"].as_str().unwrap().contains("not a job state"));
        let (status, error) = request(addr, "GET", "/jobs?limit=many", None);
        assert_eq!(status, 400, "{error}");
        // A finished job cannot be cancelled; a job due later can.
        let (status, _) = request(addr, "DELETE", &format!("/jobs/{}", ids[0]), None);
        assert_eq!(status, 409);
        let later = queue
            .enqueue(&scheduler::queue::NewJob {
                run_at: scheduler::Timestamp::from_micros(
                    scheduler::Timestamp::now().as_micros() + 3_600_000_000,
                ),
                ..scheduler::queue::NewJob::new(
                    "send_email",
                    json!({"to": "a@b", "subject": "s", "body": "b"}),
                    scheduler::Timestamp::now(),
                )
            })
            .await
            .unwrap()
            .id;
        let (status, answer) = request(addr, "DELETE", &format!("/jobs/{later}"), None);
        assert_eq!((status, &answer["state"]), (200, &json!("cancelled")));
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The example's other roles, through the scheduler's command line it embeds: `web worker`
/// runs a worker alone on the database, and `web trigger TASK --payload JSON --wait`, from
/// another process, enqueues a job that the worker runs, and prints its result.
#[test]
fn the_worker_command_runs_what_trigger_enqueues() {
    let dir = tempfile_dir_named("roles");
    let database = format!("sqlite:{}", dir.join("web.db").display());
    let mut worker = Command::new(example())
        .args(["worker", "--database", &database])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The worker has opened (and created) the database once it says it started. What it
    // says is read to the end beside the test: a closed pipe would fail its writes.
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stderr = worker.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines_tx.send(line);
        }
    });
    let mut said = Vec::new();
    while !said
        .last()
        .is_some_and(|l: &String| l.contains("the job worker started"))
    {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => said.push(line),
            Err(e) => panic!("the worker did not start ({e}): {said:#?}"),
        }
    }
    let email = r#"{"to": "ada@example.com", "subject": "Hi", "body": "Hello"}"#;
    let output = Command::new(example())
        .args([
            "trigger",
            "send_email",
            "--payload",
            email,
            "--wait",
            "--json",
        ])
        .args(["--database", &database])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let _ = Command::new("kill")
        .args(["-TERM", &worker.id().to_string()])
        .status();
    let stopped = worker.wait().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let job: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["result"], r#"sent "Hi" to ada@example.com (5 bytes)"#);
    assert!(stopped.success(), "the worker stopped with {stopped}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    tempfile_dir_named("http")
}

fn tempfile_dir_named(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "scheduler-web-example-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
