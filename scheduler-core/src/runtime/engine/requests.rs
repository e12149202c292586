//! Runs requested by name (`Session::run`, `Session::trigger`) when the scheduler's store
//! keeps a job queue: each becomes a job of its task, enqueued by a task beside the loop
//! in the order the loop received the requests, so that a request is durable (a crash
//! before the run starts does not lose it) and any worker sharing the database may run
//! it. Without a queue the loop keeps requested runs itself (`tasks.rs`).

use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::JoinHandle;

use crate::queue::{NewJob, Queue};
use crate::runtime::session::{SessionError, TriggerReply};

/// How many times the enqueue of a run requested with `Session::run` (which nobody waits
/// for) is tried before it is given up, with an error in the log: the store has refused
/// it for about six seconds.
const ENQUEUE_TRIES: u32 = 6;

/// A requested run on its way to the queue.
struct Requested {
    job: NewJob,
    reply: Option<TriggerReply>,
}

/// The loop's way to the queue, while requested runs go there.
pub(super) struct JobRoute {
    queue: Queue,
    requests: UnboundedSender<Requested>,
    task: JoinHandle<()>,
}

impl JobRoute {
    /// Starts the task that enqueues requested runs on `queue`.
    pub(super) fn start(queue: Queue) -> JobRoute {
        let (requests, received) = unbounded_channel();
        let task = tokio::spawn(enqueue_in_order(queue.clone(), received));
        JobRoute {
            queue,
            requests,
            task,
        }
    }

    /// Sends a requested run of `task` to the queue: a job due now, `null` as its payload
    /// when it has none, with the default options of `apply`.
    pub(super) fn send(
        &self,
        task: &str,
        payload: Option<serde_json::Value>,
        reply: Option<TriggerReply>,
    ) {
        let job = NewJob::new(
            task,
            payload.unwrap_or(serde_json::Value::Null),
            self.queue.now(),
        );
        if let Err(unsent) = self.requests.send(Requested { job, reply }) {
            // The task ended early (it panicked): say so rather than drop the request.
            tracing::error!(task = %unsent.0.job.task, "a requested run is lost: the task that enqueues them has stopped");
            if let Some(reply) = unsent.0.reply {
                let _ = reply.send(Err(SessionError::Stopped));
            }
        }
    }

    /// Waits until everything sent is enqueued (or given up on).
    pub(super) async fn close(self) {
        drop(self.requests);
        let _ = self.task.await;
    }
}

async fn enqueue_in_order(queue: Queue, mut received: UnboundedReceiver<Requested>) {
    while let Some(Requested { job, reply }) = received.recv().await {
        match reply {
            // Someone waits for the answer: one try, and the error goes to them.
            Some(reply) => {
                let answer = queue
                    .enqueue(&job)
                    .await
                    .map(|enqueued| Some(enqueued.id))
                    .map_err(|e| SessionError::Queue(std::sync::Arc::new(e)));
                let _ = reply.send(answer);
            }
            None => enqueue_with_retries(&queue, &job).await,
        }
    }
}

async fn enqueue_with_retries(queue: &Queue, job: &NewJob) {
    let mut pause = Duration::from_millis(100);
    for attempt in 1..=ENQUEUE_TRIES {
        match queue.enqueue(job).await {
            Ok(enqueued) => {
                tracing::debug!(task = %job.task, job = %enqueued.id, "requested run enqueued");
                return;
            }
            Err(error) if attempt == ENQUEUE_TRIES => {
                tracing::error!(
                    task = %job.task,
                    "a requested run of '{}' is lost: the job queue refused it {ENQUEUE_TRIES} times: {error}",
                    job.task
                );
            }
            Err(error) => {
                tracing::warn!(
                    task = %job.task,
                    "cannot enqueue a requested run of '{}', trying again: {error}",
                    job.task
                );
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
        }
    }
}
