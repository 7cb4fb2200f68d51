//! What editors do, each a whole transaction with its audit event (and, for
//! what the public reads, its webhook event): saving a draft, publishing now
//! or at a time, withdrawing a page, restoring a revision, changing the
//! organisation's text. After a change commits, every process is told that
//! public content may have changed ([`ContentSignals::changed`]). The GraphQL
//! resolvers call these; [`super::editing`] holds the steps they compose.

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::ContentSignals;
use super::editing::{self, OrganisationDraft, PageDraft};
use crate::db;
use crate::error::AppResult;
use crate::ids::{PageId, StaffId};

/// Saves a draft as a new revision; see [`editing::save_page`].
pub async fn save_page(
    db: &DatabaseConnection,
    signals: &ContentSignals,
    actor: StaffId,
    existing: Option<(PageId, Option<i32>)>,
    draft: &PageDraft,
) -> AppResult<PageId> {
    let (page, _) = db::transaction(db, |txn, _| {
        Box::pin(editing::save_page(txn, actor, existing, draft))
    })
    .await?;
    signals.changed();
    Ok(page)
}

/// Publishes a page's newest drafts now, or schedules them for `at` when
/// that is still to come.
pub async fn publish(
    db: &DatabaseConnection,
    signals: &ContentSignals,
    actor: StaffId,
    page: PageId,
    at: Option<DateTime<Utc>>,
) -> AppResult<()> {
    let now = db::now();
    match at.filter(|at| *at > now) {
        Some(at) => {
            db::transaction(db, |txn, _| {
                Box::pin(editing::schedule(txn, actor, page, at))
            })
            .await?;
        }
        None => {
            db::transaction(db, |txn, _| {
                Box::pin(async move {
                    let version = editing::current_version(txn, page).await?;
                    editing::publish(txn, Some(actor), page, version).await
                })
            })
            .await?;
        }
    }
    signals.changed();
    Ok(())
}

/// Withdraws a page from the public (and cancels a scheduled publish).
pub async fn unpublish(
    db: &DatabaseConnection,
    signals: &ContentSignals,
    actor: StaffId,
    page: PageId,
) -> AppResult<()> {
    db::transaction(db, |txn, _| Box::pin(editing::unpublish(txn, actor, page))).await?;
    signals.changed();
    Ok(())
}

/// Makes an old revision the newest draft again.
pub async fn restore_revision(
    db: &DatabaseConnection,
    signals: &ContentSignals,
    actor: StaffId,
    page: PageId,
    version: i32,
    expected: i32,
) -> AppResult<i32> {
    let restored = db::transaction(db, |txn, _| {
        Box::pin(editing::restore_revision(
            txn, actor, page, version, expected,
        ))
    })
    .await?;
    signals.changed();
    Ok(restored)
}

/// Replaces the organisation's text in one locale; public at once.
pub async fn update_organisation(
    db: &DatabaseConnection,
    signals: &ContentSignals,
    actor: StaffId,
    draft: &OrganisationDraft,
) -> AppResult<()> {
    db::transaction(db, |txn, _| {
        Box::pin(editing::update_organisation(txn, actor, draft))
    })
    .await?;
    signals.changed();
    Ok(())
}
