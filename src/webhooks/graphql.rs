//! Webhooks' GraphQL face, for admins: register, list with recent
//! deliveries, and remove.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::entity::{webhook, webhook_delivery};
use super::store;
use crate::auth::{RoleGuard, viewer};
use crate::content::model::media_url;
use crate::error::{AppError, AppResult};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every registered webhook. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn webhooks(&self, ctx: &Context<'_>) -> AppResult<Vec<Webhook>> {
        store::list(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|hooks| hooks.into_iter().map(Webhook).collect())
    }
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Registers an address to be sent a signed JSON POST whenever content
    /// is published or unpublished (`page.published`, `page.unpublished`,
    /// `organisation.updated`). The signing secret is in this answer only.
    /// ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
    ) -> AppResult<WebhookCredentials> {
        let actor = viewer(ctx)?.id();
        let url = media_url(&url, "url")?;
        let secret = crate::staff::token::new_secret()?;
        let hook = store::register(ctx.data::<DatabaseConnection>()?, actor, &url, &secret).await?;
        Ok(WebhookCredentials {
            webhook: Webhook(hook),
            secret,
        })
    }

    /// Removes a webhook and its pending deliveries. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> AppResult<bool> {
        let actor = viewer(ctx)?.id();
        let Ok(id) = Uuid::parse_str(&id) else {
            return Err(AppError::NotFound("the webhook"));
        };
        if !store::remove(ctx.data::<DatabaseConnection>()?, actor, id).await? {
            return Err(AppError::NotFound("the webhook"));
        }
        Ok(true)
    }
}

/// A new webhook and the secret its deliveries are signed with.
#[derive(SimpleObject)]
pub struct WebhookCredentials {
    webhook: Webhook,
    /// Shown this once. Check each delivery's `X-Hamlet-Signature`
    /// (`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`) with it.
    secret: String,
}

/// An address told about content changes.
pub struct Webhook(webhook::Model);

#[Object]
impl Webhook {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn url(&self) -> &str {
        &self.0.url
    }

    async fn active(&self) -> bool {
        self.0.active
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// The most recent deliveries (at most 50), newest first.
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 20)] first: u64,
    ) -> AppResult<Vec<WebhookDelivery>> {
        store::recent_deliveries(ctx.data::<DatabaseConnection>()?, self.0.id, first.min(50))
            .await
            .map(|rows| rows.into_iter().map(WebhookDelivery).collect())
    }
}

/// One event sent, or being sent, to a webhook.
pub struct WebhookDelivery(webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn event(&self) -> &str {
        &self.0.event
    }

    async fn attempts(&self) -> i32 {
        self.0.attempts
    }

    async fn delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.delivered_at
    }

    /// When it will be tried again; null once delivered or given up.
    async fn next_attempt_at(&self) -> Option<DateTime<Utc>> {
        self.0.next_attempt_at
    }

    /// The HTTP status of the last attempt, if the receiver answered.
    async fn last_status(&self) -> Option<i32> {
        self.0.last_status
    }

    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}
