//! The audit log as admins read it.

use async_graphql::types::Json;
use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::entity::audit_event;
use super::store::{self, AuditFilter};
use crate::auth::RoleGuard;
use crate::error::{AppError, AppResult};
use crate::ids::StaffId;
use crate::loaders;
use crate::pagination::{self, Limits};
use crate::staff::graphql::StaffMember;

/// Reading the audit log.
#[derive(Default)]
pub struct AuditQuery;

#[Object]
impl AuditQuery {
    /// Every staff action, newest first, optionally about one subject (a
    /// piece of feedback, an idea, a staff member, a kiosk, a page), by one
    /// staff member, of one action (e.g. `staff.updated`; see
    /// `auditActions`) or within a time: every filter given must match.
    /// ADMIN.
    #[graphql(
        guard = "RoleGuard::ADMIN",
        complexity = "crate::pagination::complexity(first, child_complexity)"
    )]
    // Each filter is an argument of its own, as the API has always had them.
    #[allow(clippy::too_many_arguments)]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        subject_id: Option<ID>,
        actor_id: Option<ID>,
        #[graphql(desc = "Exactly this action, e.g. `staff.updated`.")] action: Option<String>,
        #[graphql(desc = "At or after this time.")] from: Option<DateTime<Utc>>,
        #[graphql(desc = "Before this time.")] to: Option<DateTime<Utc>>,
    ) -> AppResult<
        async_graphql::connection::Connection<
            String,
            AuditEvent,
            AuditEventConnectionTotal,
            async_graphql::connection::EmptyFields,
        >,
    > {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?)?;
        let after = after.as_deref().map(decode_cursor).transpose()?;
        let filter = AuditFilter {
            subject_id: subject_id
                .as_deref()
                .map(|id| {
                    Uuid::parse_str(id)
                        .map_err(|_| AppError::bad_input("subjectId", "is not an id"))
                })
                .transpose()?,
            actor_id: actor_id
                .as_deref()
                .map(|id| StaffId::parse(id, "actorId"))
                .transpose()?,
            action: action
                .map(|action| action.trim().to_owned())
                .filter(|action| !action.is_empty()),
            from,
            to,
        };
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            return Err(AppError::bad_input("to", "is before from"));
        }
        let page = store::page(ctx.data::<DatabaseConnection>()?, &filter, first, after).await?;
        Ok(pagination::connection(
            page,
            after.is_some(),
            AuditEventConnectionTotal(filter),
            |row| pagination::encode_cursor("audit", &row.id.to_string()),
            AuditEvent,
        ))
    }

    /// Every action the audit log holds, once each, alphabetically: the
    /// values `auditLog(action:)` can filter by. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn audit_actions(&self, ctx: &Context<'_>) -> AppResult<Vec<String>> {
        store::actions(ctx.data::<DatabaseConnection>()?).await
    }
}

fn decode_cursor(cursor: &str) -> AppResult<Uuid> {
    let key = pagination::decode_cursor("audit", cursor)?;
    Uuid::parse_str(&key)
        .map_err(|_| AppError::bad_input("after", "is not a cursor from this list"))
}

/// The extra fields of the audit log.
pub struct AuditEventConnectionTotal(AuditFilter);

#[Object]
impl AuditEventConnectionTotal {
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i32> {
        store::count(ctx.data::<DatabaseConnection>()?, &self.0)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// One staff action in the audit log.
pub struct AuditEvent(audit_event::Model);

/// How many of a submission's events its `history` shows, newest first.
const HISTORY_LENGTH: u64 = 100;

/// What staff did to one subject, newest first: a submission's `history`.
pub async fn history_of(ctx: &Context<'_>, subject: Uuid) -> AppResult<Vec<AuditEvent>> {
    let filter = AuditFilter {
        subject_id: Some(subject),
        ..AuditFilter::default()
    };
    let page = store::page(
        ctx.data::<DatabaseConnection>()?,
        &filter,
        HISTORY_LENGTH,
        None,
    )
    .await?;
    Ok(page.rows.into_iter().map(AuditEvent).collect())
}

fn json_of(stored: Option<&str>) -> Option<Json<serde_json::Value>> {
    stored
        .and_then(|text| serde_json::from_str(text).ok())
        .map(Json)
}

#[Object]
impl AuditEvent {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// What was done, e.g. `idea.moderated`, `staff.created`.
    async fn action(&self) -> &str {
        &self.0.action
    }

    /// Who did it; null for the command line.
    async fn actor(&self, ctx: &Context<'_>) -> AppResult<Option<StaffMember>> {
        loaders::staff_member(ctx, self.0.actor_id.map(StaffId::from_uuid)).await
    }

    /// What it was done to: FEEDBACK, IDEA, STAFF, KIOSK, PAGE, ...
    async fn subject_kind(&self) -> Option<&str> {
        self.0.subject_kind.as_deref()
    }

    async fn subject_id(&self) -> Option<ID> {
        self.0.subject_id.map(|id| ID(id.to_string()))
    }

    /// The state before, where there was one. Never free text.
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        json_of(self.0.before.as_deref())
    }

    /// The state after. Never free text.
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        json_of(self.0.after.as_deref())
    }

    async fn at(&self) -> DateTime<Utc> {
        self.0.at
    }
}
