//! Several hamlet processes on one PostgreSQL database behave as one service.
//!
//! What one process learns that the others must know travels through
//! PostgreSQL's LISTEN/NOTIFY on the `hamlet_events` channel: a new
//! submission (for moderators' live queues, whichever process they are
//! connected to) and a change to public content (so every process drops the
//! public answers it keeps). Each process listens, and turns what it hears
//! into its own in-process signals, its own announcements included, so there
//! is one path for all. On SQLite there is one process, and signals stay in
//! it. Everything else that must hold across processes (sessions, refresh
//! tokens, rate limits, scheduled work) lives in the database already.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait as _, DatabaseConnection, DbBackend, Statement};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::ContentGeneration;
use crate::submissions::model::SubmissionKind;
use crate::submissions::{SubmissionEvent, SubmissionEvents};

pub const CHANNEL: &str = "hamlet_events";

/// What one process tells the others.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Message {
    Submission {
        kind: String,
        id: Uuid,
        reference: String,
        safeguarding: bool,
        received_at: DateTime<Utc>,
    },
    Content,
}

/// Sends to every process on the database, this one included.
#[derive(Clone, Debug)]
pub struct Notifier {
    db: DatabaseConnection,
}

impl Notifier {
    /// A notifier when `db` is PostgreSQL; `None` on SQLite.
    pub fn for_database(db: &DatabaseConnection) -> Option<Self> {
        (db.get_database_backend() == DbBackend::Postgres).then(|| Self { db: db.clone() })
    }

    fn send(&self, message: &Message) {
        let Ok(payload) = serde_json::to_string(message) else {
            return;
        };
        let db = self.db.clone();
        // Fire and forget: the change itself has committed; a lost
        // announcement costs a live queue one line, not data.
        tokio::spawn(async move {
            let statement = Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_notify($1, $2)",
                [CHANNEL.into(), payload.into()],
            );
            if let Err(error) = db.execute_raw(statement).await {
                tracing::warn!(%error, "announcing to other processes");
            }
        });
    }

    pub fn submission(&self, event: &SubmissionEvent) {
        self.send(&Message::Submission {
            kind: event.kind.as_str().to_owned(),
            id: event.id,
            reference: event.reference.clone(),
            safeguarding: event.safeguarding,
            received_at: event.received_at,
        });
    }

    pub fn content_changed(&self) {
        self.send(&Message::Content);
    }
}

/// A connection listening on the channel.
pub struct Listener(sea_orm::sqlx::postgres::PgListener);

impl Listener {
    /// Starts listening, so that nothing announced after this returns is
    /// missed.
    pub async fn connect(db: &DatabaseConnection) -> Result<Self, sea_orm::sqlx::Error> {
        let mut listener =
            sea_orm::sqlx::postgres::PgListener::connect_with(db.get_postgres_connection_pool())
                .await?;
        listener.listen(CHANNEL).await?;
        Ok(Self(listener))
    }
}

/// Turns what `listener` hears into this process's signals until the process
/// ends, listening again after errors.
pub async fn listen(
    db: DatabaseConnection,
    mut listener: Listener,
    events: SubmissionEvents,
    generation: ContentGeneration,
) {
    loop {
        match listener.0.recv().await {
            Ok(notification) => match serde_json::from_str::<Message>(notification.payload()) {
                Ok(Message::Submission {
                    kind,
                    id,
                    reference,
                    safeguarding,
                    received_at,
                }) => {
                    if let Some(kind) = SubmissionKind::parse(&kind) {
                        events.publish_here(SubmissionEvent {
                            kind,
                            id,
                            reference,
                            safeguarding,
                            received_at,
                        });
                    }
                }
                Ok(Message::Content) => generation.bump(),
                Err(error) => tracing::warn!(%error, "an announcement could not be read"),
            },
            Err(error) => {
                tracing::warn!(%error, "listening for other processes; listening again");
                tokio::time::sleep(Duration::from_secs(1)).await;
                match Listener::connect(&db).await {
                    Ok(again) => {
                        listener = again;
                        // Anything missed meanwhile may have been a content change.
                        generation.bump();
                    }
                    Err(error) => tracing::warn!(%error, "listening again"),
                }
            }
        }
    }
}
