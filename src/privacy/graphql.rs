//! Privacy's GraphQL face: a resident's right to erasure, for admins.

use async_graphql::{Context, Object};
use sea_orm::DatabaseConnection;

use super::lifecycle;
use crate::auth::{RoleGuard, viewer};
use crate::content::ContentSignals;
use crate::error::{AppError, AppResult};
use crate::submissions::reference::Reference;

#[derive(Default)]
pub struct PrivacyMutation;

#[Object]
impl PrivacyMutation {
    /// Erases a submission's free text and contact details at once, wherever
    /// they are held (the submission, moderators' notes, the retry
    /// fingerprint, public answers kept in caches), on a resident's request.
    /// The rating, service, channel, dates and status stay, so statistics do
    /// not change; the audit trail records the erasure. ADMIN.
    #[graphql(guard = "RoleGuard::ADMIN")]
    async fn erase_submission(&self, ctx: &Context<'_>, reference: String) -> AppResult<bool> {
        let actor = viewer(ctx)?.id();
        let Ok(reference) = Reference::parse(&reference) else {
            return Err(AppError::NotFound("a submission with that reference"));
        };
        lifecycle::erase_submission(ctx.data::<DatabaseConnection>()?, Some(actor), &reference)
            .await?;
        ctx.data::<ContentSignals>()?.changed();
        Ok(true)
    }
}
