//! Webhooks' database operations: subscribers, and the delivery outbox.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};
use serde_json::{Value, json};
use uuid::Uuid;

use super::entity::{webhook, webhook_delivery};
use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::AppResult;
use crate::ids::StaffId;

pub async fn create(
    db: &impl ConnectionTrait,
    url: &str,
    secret: &str,
) -> AppResult<webhook::Model> {
    let model = webhook::Model {
        id: Uuid::now_v7(),
        url: url.to_owned(),
        secret: secret.to_owned(),
        active: true,
        created_at: db::now(),
    };
    webhook::Entity::insert(webhook::ActiveModel::from(model.clone()))
        .exec_without_returning(db)
        .await?;
    Ok(model)
}

/// Registers a webhook, with its audit event, in a transaction of its own.
pub async fn register(
    db: &sea_orm::DatabaseConnection,
    actor: StaffId,
    url: &str,
    secret: &str,
) -> AppResult<webhook::Model> {
    crate::db::transaction(db, |txn, _| {
        Box::pin(async move {
            let hook = create(txn, url, secret).await?;
            audit::record(txn, AuditEntry::webhook_created(actor, hook.id, &hook.url)).await?;
            Ok(hook)
        })
    })
    .await
}

/// Removes a webhook and its pending deliveries, with its audit event;
/// `false` when there is no such webhook.
pub async fn remove(db: &sea_orm::DatabaseConnection, actor: StaffId, id: Uuid) -> AppResult<bool> {
    crate::db::transaction(db, |txn, _| {
        Box::pin(async move {
            if !delete(txn, id).await? {
                return Ok(false);
            }
            audit::record(txn, AuditEntry::webhook_deleted(actor, id)).await?;
            Ok(true)
        })
    })
    .await
}

pub async fn list(db: &impl ConnectionTrait) -> AppResult<Vec<webhook::Model>> {
    Ok(webhook::Entity::find()
        .order_by_asc(webhook::Column::Id)
        .all(db)
        .await?)
}

pub async fn by_id(db: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<webhook::Model>> {
    Ok(webhook::Entity::find_by_id(id).one(db).await?)
}

/// Deletes a webhook and its deliveries; answers whether it existed.
pub async fn delete(db: &impl ConnectionTrait, id: Uuid) -> AppResult<bool> {
    webhook_delivery::Entity::delete_many()
        .filter(webhook_delivery::Column::WebhookId.eq(id))
        .exec(db)
        .await?;
    Ok(webhook::Entity::delete_by_id(id)
        .exec(db)
        .await?
        .rows_affected
        > 0)
}

/// Puts one delivery of `event` in the outbox for every active webhook.
/// Call it with the transaction that makes the change.
pub async fn enqueue(db: &impl ConnectionTrait, event: &str, data: Value) -> AppResult<usize> {
    let hooks = webhook::Entity::find()
        .filter(webhook::Column::Active.eq(true))
        .all(db)
        .await?;
    let now = db::now();
    for hook in &hooks {
        let id = Uuid::now_v7();
        let payload = json!({
            "id": id,
            "event": event,
            "occurredAt": now,
            "data": data,
        });
        webhook_delivery::Entity::insert(webhook_delivery::ActiveModel {
            id: Set(id),
            webhook_id: Set(hook.id),
            event: Set(event.to_owned()),
            payload: Set(payload.to_string()),
            attempts: Set(0),
            next_attempt_at: Set(Some(now)),
            delivered_at: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            created_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(hooks.len())
}

/// Deliveries whose time has come, oldest first.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
        .order_by_asc(webhook_delivery::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await?)
}

/// Takes a delivery for one attempt, so that another worker (another
/// process on the same database) does not send it at the same time: moves
/// its next attempt past the attempt's time-out, if nobody moved it first.
pub async fn claim(
    db: &impl ConnectionTrait,
    delivery: &webhook_delivery::Model,
    lease: Duration,
) -> AppResult<bool> {
    let Some(next) = delivery.next_attempt_at else {
        return Ok(false);
    };
    let claimed = webhook_delivery::Entity::update_many()
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(db::now() + lease),
        )
        .filter(webhook_delivery::Column::Id.eq(delivery.id))
        .filter(webhook_delivery::Column::NextAttemptAt.eq(next))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// Records an attempt's outcome: delivered, retry at `retry_at`, or (with
/// neither) given up.
pub async fn record_attempt(
    db: &impl ConnectionTrait,
    id: Uuid,
    attempts: i32,
    status: Option<u16>,
    error: Option<String>,
    delivered: bool,
    retry_at: Option<DateTime<Utc>>,
) -> AppResult<()> {
    webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempts))
        .col_expr(
            webhook_delivery::Column::LastStatus,
            Expr::value(status.map(i32::from)),
        )
        .col_expr(webhook_delivery::Column::LastError, Expr::value(error))
        .col_expr(
            webhook_delivery::Column::DeliveredAt,
            Expr::value(delivered.then(db::now)),
        )
        .col_expr(
            webhook_delivery::Column::NextAttemptAt,
            Expr::value(retry_at),
        )
        .filter(webhook_delivery::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// A webhook's most recent deliveries, newest first.
pub async fn recent_deliveries(
    db: &impl ConnectionTrait,
    webhook_id: Uuid,
    limit: u64,
) -> AppResult<Vec<webhook_delivery::Model>> {
    Ok(webhook_delivery::Entity::find()
        .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
        .order_by_desc(webhook_delivery::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}
