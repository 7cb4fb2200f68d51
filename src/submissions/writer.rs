//! Group commit: submissions that arrive together are stored together.
//!
//! Each resolver hands its [`Pending`] submission to one writer task and
//! waits. The writer takes everything that is waiting (up to
//! [`MAX_BATCH`]), stores it in one transaction with
//! [`store::store_batch`], and only then answers each request: every receipt
//! given out is durably committed, but a burst of sixty-four submissions costs
//! one commit (one fsync on SQLite with `synchronous=FULL`) instead of
//! sixty-four. Nothing is delayed on purpose: while one batch commits, the
//! next one gathers, so a lone submission is stored at once and a busy
//! moment batches itself.
//!
//! If a batch fails as a whole (a reference clash, say), its submissions are
//! stored one by one, so one bad apple never costs the others their receipts;
//! if it fails because the database cannot store anything (a full disk), each
//! is refused with `SERVICE_UNAVAILABLE` at once.

use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use super::store::{self, Pending, Receipt};
use crate::error::{AppError, AppResult};

/// The most submissions one transaction stores.
pub const MAX_BATCH: usize = 256;

/// Submissions waiting for the writer, at most; past this, submitters wait
/// for room (back-pressure) rather than the queue growing without bound.
const QUEUE: usize = 4096;

type Job = (Pending, oneshot::Sender<AppResult<Receipt>>);

/// The handle resolvers submit through.
#[derive(Clone)]
pub struct SubmissionWriter {
    jobs: mpsc::Sender<Job>,
}

impl SubmissionWriter {
    /// Starts the writer task on `db`; it ends when every handle is dropped.
    pub fn start(db: DatabaseConnection, storage: crate::db::Storage) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(db, storage, queue));
        Self { jobs }
    }

    /// Stores `pending` and answers once it is committed.
    pub async fn submit(&self, pending: Pending) -> AppResult<Receipt> {
        let (answer, answered) = oneshot::channel();
        self.jobs.send((pending, answer)).await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the submission writer has stopped"))
        })?;
        answered.await.map_err(|_| {
            AppError::Internal(anyhow::anyhow!("the submission writer dropped a job"))
        })?
    }
}

async fn run(db: DatabaseConnection, storage: crate::db::Storage, mut queue: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (pending, answers): (Vec<Pending>, Vec<_>) = batch.drain(..).unzip();
        let started = std::time::Instant::now();
        let stored = store::store_batch(&db, &pending).await;
        tracing::debug!(
            size = pending.len(),
            took_us = started.elapsed().as_micros() as u64,
            "stored a batch"
        );
        match stored {
            Ok(outcomes) => {
                storage.wrote();
                for (answer, outcome) in answers.into_iter().zip(outcomes) {
                    let _ = answer.send(outcome);
                }
            }
            // The database cannot store anything now: one by one would
            // fail the same way, only slower.
            Err(AppError::Unavailable) => {
                for answer in answers {
                    let _ = answer.send(Err(AppError::Unavailable));
                }
            }
            Err(error) => {
                tracing::warn!(%error, size = pending.len(), "a batch of submissions failed; storing them one by one");
                for (pending, answer) in pending.into_iter().zip(answers) {
                    let _ = answer.send(store::store_one(&db, pending).await);
                }
            }
        }
    }
}
