//! The work hamlet does on its own while it serves: publishing scheduled
//! pages on time, delivering webhooks, and applying the retention period
//! once a day. Each loop survives errors (they are logged) and stops when the
//! server stops. Several processes on one database may run them together:
//! each claims its work with a conditional update, so nothing is done twice.

use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use tokio::task::JoinSet;

use crate::audit::{self, AuditEntry};
use crate::content::{ContentSignals, editing};
use crate::error::AppResult;
use crate::privacy::lifecycle;
use crate::webhooks::delivery::{self, DeliverySettings};

/// How the loops pace themselves.
#[derive(Clone, Debug)]
pub struct BackgroundSettings {
    /// How often the scheduler looks for pages that are due.
    pub schedule_poll: Duration,
    pub webhooks: DeliverySettings,
    /// How often retention is applied.
    pub retention_every: Duration,
    /// How long after start it is first applied: not at once, so a restart
    /// under load does not begin with a long purge.
    pub retention_first: Duration,
    /// `HAMLET_RETENTION_DAYS`.
    pub retention_days: u32,
}

impl BackgroundSettings {
    pub fn new(retention_days: u32) -> Self {
        Self {
            schedule_poll: Duration::from_secs(1),
            webhooks: DeliverySettings::default(),
            retention_every: Duration::from_secs(24 * 60 * 60),
            retention_first: Duration::from_secs(10 * 60),
            retention_days,
        }
    }
}

/// Starts the loops; dropping the set stops them.
pub fn spawn(
    db: DatabaseConnection,
    signals: ContentSignals,
    settings: BackgroundSettings,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    tasks.spawn(scheduler(
        db.clone(),
        signals.clone(),
        settings.schedule_poll,
    ));
    tasks.spawn(delivery::run(
        db.clone(),
        settings.webhooks.clone(),
        signals.webhooks.clone(),
    ));
    tasks.spawn(retention(db, signals, settings));
    tasks
}

async fn scheduler(db: DatabaseConnection, signals: ContentSignals, poll: Duration) {
    loop {
        match publish_due(&db).await {
            Ok(0) => {}
            Ok(published) => {
                tracing::info!(published, "published scheduled pages");
                signals.changed();
            }
            Err(error) => tracing::warn!(%error, "publishing scheduled pages"),
        }
        tokio::time::sleep(poll).await;
    }
}

/// Publishes every page whose time has come; answers how many.
pub async fn publish_due(db: &DatabaseConnection) -> AppResult<usize> {
    let mut published = 0;
    for (page, version, at) in editing::due_pages(db, crate::db::now()).await? {
        let outcome = crate::db::transaction(db, |txn, _| {
            Box::pin(async move {
                if !editing::claim_due(txn, page, at).await? {
                    return Ok(false);
                }
                editing::publish(txn, None, page, version).await?;
                Ok(true)
            })
        })
        .await;
        match outcome {
            Ok(true) => published += 1,
            Ok(false) => {}
            Err(error) => {
                // The claim was rolled back with the rest; clear the schedule
                // on its own so a page that cannot be published does not block
                // the loop, and say why in the audit trail.
                tracing::warn!(%error, %page, "a scheduled page could not be published");
                let reason = error.to_string();
                let reason = reason.as_str();
                crate::db::transaction(db, |txn, _| {
                    Box::pin(async move {
                        if editing::claim_due(txn, page, at).await? {
                            audit::record(txn, AuditEntry::page_schedule_failed(page, reason))
                                .await?;
                        }
                        Ok(())
                    })
                })
                .await?;
            }
        }
    }
    Ok(published)
}

async fn retention(db: DatabaseConnection, signals: ContentSignals, settings: BackgroundSettings) {
    let (every, days) = (settings.retention_every, settings.retention_days);
    tokio::time::sleep(settings.retention_first).await;
    loop {
        let outcome = lifecycle::purge(&db, None, chrono::Duration::days(i64::from(days))).await;
        match outcome {
            Ok(purged) => {
                tracing::info!(?purged, at = %Utc::now(), "applied the retention period");
                signals.changed();
            }
            Err(error) => tracing::warn!(%error, "applying the retention period"),
        }
        tokio::time::sleep(every).await;
    }
}
