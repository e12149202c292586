//! A web application with on-demand tasks: HTTP handlers enqueue durable jobs, a worker
//! runs them, and their status is read back by id.
//!
//! ```text
//! cargo run --example web                 # the web server, the scheduler and a worker (PORT, default 3000)
//! cargo run --example web -- worker       # a worker alone, on the same database
//! cargo run --example web -- trigger send_email --payload '{"to": "ada@example.com", "subject": "Hi", "body": "."}' --wait
//!
//! curl -X POST localhost:3000/jobs/send_email -H 'content-type: application/json' \
//!      -d '{"to": "ada@example.com", "subject": "Hello", "body": "Hi!"}'      # {"id":1}
//! curl localhost:3000/jobs/1                                                   # {"id":1,"state":"succeeded",...}
//! curl 'localhost:3000/jobs?state=failed&limit=10'                             # the newest failed jobs
//! curl -X DELETE localhost:3000/jobs/1                                         # 409: it has finished
//! ```
//!
//! The database is `SCHEDULER_DATABASE_URL` (default `sqlite:web.db`): a SQLite file for
//! one machine, or `postgres://...` for a web server and workers on several machines.
//! Malformed bodies, unknown tasks and payloads of the wrong shape are answered with a 4xx
//! and a JSON error that names the problem; nothing reaches the queue.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use scheduler::cli::Command;
use scheduler::prelude::*;
use scheduler::queue::JobFilter;
use scheduler::{JobId, JobInfo, JobState, QueueError, TaskMarker, WorkerConfig};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Serialize, Deserialize)]
struct Email {
    to: String,
    subject: String,
    body: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Resize {
    image: String,
    width: u32,
    height: u32,
}

/// Sends an email (here: checks the address and says what it would send).
#[task]
async fn send_email(email: Payload<Email>) -> anyhow::Result<String> {
    anyhow::ensure!(email.to.contains('@'), "`{}` is not an address", email.to);
    Ok(format!(
        "sent {:?} to {} ({} bytes)",
        email.subject,
        email.to,
        email.body.len()
    ))
}

/// Resizes an image (here: says what size it would be).
#[task]
async fn resize_image(request: Payload<Resize>) -> anyhow::Result<Value> {
    anyhow::ensure!(request.width > 0 && request.height > 0, "an empty size");
    Ok(json!({ "image": request.image, "size": [request.width, request.height] }))
}

/// A scheduled task beside the on-demand ones: it counts what was sent.
#[task("every 1 hour & after task 'send_email' succeeded")]
fn hourly_summary() -> &'static str {
    "emails were sent this hour"
}

/// A payload's shape, checked before anything is enqueued.
type Check = fn(&Value) -> Result<(), String>;

fn shape<T: DeserializeOwned>(payload: &Value) -> Result<(), String> {
    T::deserialize(payload)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The tasks HTTP may enqueue, each with the shape of its payload: the type the task's
/// `Payload<T>` parameter reads.
fn on_demand() -> BTreeMap<&'static str, Check> {
    BTreeMap::from([
        (
            send_email::NAME,
            shape::<<send_email as TaskMarker>::Payload> as Check,
        ),
        (
            resize_image::NAME,
            shape::<<resize_image as TaskMarker>::Payload> as Check,
        ),
    ])
}

#[derive(Clone)]
struct App {
    queue: Queue,
    tasks: std::sync::Arc<BTreeMap<&'static str, Check>>,
}

/// An error answer: a status and `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<QueueError> for ApiError {
    fn from(error: QueueError) -> Self {
        let status = match &error {
            QueueError::UnknownJob(_) => StatusCode::NOT_FOUND,
            QueueError::WrongState { .. } => StatusCode::CONFLICT,
            QueueError::Invalid(_) | QueueError::Payload(_) => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError(status, error.to_string())
    }
}

fn job_id(text: &str) -> Result<JobId, ApiError> {
    text.parse().map_err(|_| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("`{text}` is not a job id (a number)"),
        )
    })
}

async fn enqueue(
    State(app): State<App>,
    Path(task): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let Some(check) = app.tasks.get(task.as_str()) else {
        let known: Vec<&str> = app.tasks.keys().copied().collect();
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            format!(
                "no on-demand task named `{task}` (tasks: {})",
                known.join(", ")
            ),
        ));
    };
    let Json(payload) = body.map_err(|rejection| {
        ApiError(
            rejection.status(),
            format!("the body is not a JSON payload: {}", rejection.body_text()),
        )
    })?;
    check(&payload).map_err(|why| {
        ApiError(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the payload of `{task}` has the wrong shape: {why}"),
        )
    })?;
    let id = app.queue.enqueue_json(&task, payload).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))))
}

async fn status(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = job_id(&id)?;
    let job = app
        .queue
        .status(id)
        .await?
        .ok_or(ApiError(StatusCode::NOT_FOUND, format!("no job {id}")))?;
    Ok(Json(job_json(&job)))
}

/// What `GET /jobs` may be asked: `?state=failed&task=send_email&limit=10`.
#[derive(Debug, Deserialize)]
struct ListQuery {
    state: Option<String>,
    task: Option<String>,
    limit: Option<usize>,
}

/// The newest jobs (20 by default, at most 1,000), of a state and a task when asked.
async fn list(
    State(app): State<App>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(query) =
        query.map_err(|rejection| ApiError(rejection.status(), rejection.body_text()))?;
    let state = query
        .state
        .as_deref()
        .map(|s| {
            s.parse::<JobState>().map_err(|_| {
                ApiError(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "`{s}` is not a job state (queued, running, succeeded, failed, cancelled)"
                    ),
                )
            })
        })
        .transpose()?;
    let filter = JobFilter {
        state,
        task: query.task,
        limit: query.limit.unwrap_or(20).min(1_000),
    };
    let jobs = app.queue.list(&filter).await?;
    Ok(Json(Value::Array(jobs.iter().map(job_json).collect())))
}

/// A job as the API answers it.
fn job_json(job: &JobInfo) -> Value {
    json!({
        "id": job.id,
        "task": job.task,
        "state": job.state.as_str(),
        "attempts": job.attempts,
        "result": job.result,
        "error": job.error,
    })
}

async fn cancel(State(app): State<App>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let id = job_id(&id)?;
    app.queue.cancel(id).await?;
    Ok(Json(json!({ "id": id, "state": "cancelled" })))
}

/// The command line: the scheduler's (`worker`, `trigger TASK --payload JSON`, `list`,
/// `logs`, ...); no command serves the web application.
#[derive(clap::Parser)]
#[command(
    name = "web",
    about = "A web application with on-demand tasks: POST /jobs/{task} enqueues a job (JSON body), GET /jobs/{id} reads its status and result, DELETE /jobs/{id} cancels it, GET /jobs?state=failed lists the newest jobs. The database is SCHEDULER_DATABASE_URL (default sqlite:web.db) or --database; the port is PORT (default 3000). `web worker` runs a worker alone on the same database; `web trigger send_email --payload '{...}'` enqueues from the shell."
)]
struct Cli {
    #[command(flatten)]
    scheduler: scheduler::cli::Args,
}

fn main() -> anyhow::Result<()> {
    let cli = <Cli as clap::Parser>::parse();
    scheduler::init_logging();
    let database = match &cli.scheduler.database {
        Some(url) => url.clone(),
        None => {
            std::env::var("SCHEDULER_DATABASE_URL").unwrap_or_else(|_| "sqlite:web.db".to_owned())
        }
    };
    // The scheduler (its scheduled tasks and a worker) with the worker's settings: `web`
    // runs it beside the web server, `web worker` runs the worker alone with the same
    // settings (no web server, nothing started by its condition).
    let builder = Scheduler::builder()
        .config_from_env()
        .database(&database)
        .worker(WorkerConfig::default().poll(Duration::from_millis(100)));
    if !matches!(cli.scheduler.command, None | Some(Command::Run)) {
        cli.scheduler.run(builder)?;
        return Ok(());
    }
    let port: u16 = match std::env::var("PORT") {
        Ok(port) => port.parse()?,
        Err(_) => 3000,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        // The scheduler in the background of this process; the web server enqueues
        // through a queue of its own on the database.
        let mut scheduler = builder.build()?.start()?;
        let app = App {
            queue: Queue::open(&database).await?,
            tasks: std::sync::Arc::new(on_demand()),
        };
        // `POST /jobs/{task}`, `GET /jobs/{id}`, `DELETE /jobs/{id}`: one path, whose
        // segment is a task's name or a job's id by the method; `GET /jobs` lists.
        let router = Router::new()
            .route("/jobs", get(list))
            .route("/jobs/{key}", post(enqueue).get(status).delete(cancel))
            .with_state(app);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("listening on http://{}", listener.local_addr()?);
        // SIGINT and SIGTERM shut the scheduler down (its worker finishes what it holds);
        // the web server stops with it.
        tokio::select! {
            served = axum::serve(listener, router) => served?,
            stopped = &mut scheduler => stopped?,
        }
        Ok(())
    })
}
