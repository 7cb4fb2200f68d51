//! What admins do to kiosks, each a whole transaction with its audit event:
//! registering one (its token shown once) and revoking one. The GraphQL
//! resolvers and the command line call these.

use sea_orm::DatabaseConnection;

use super::model::FreeText;
use super::store::{self, KioskView};
use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::AppResult;
use crate::ids::{KioskId, StaffId};

/// The longest kiosk name or site, in characters.
const KIOSK_TEXT_MAX: usize = 100;

/// Registers a kiosk with a new token, and audits it; `actor` is `None` for
/// the command line. Answers the kiosk and its token, which is shown once.
pub async fn create_kiosk(
    db: &DatabaseConnection,
    name: &str,
    site: Option<&str>,
    actor: Option<StaffId>,
) -> AppResult<(KioskView, String)> {
    let name = FreeText::parse(name, "name", KIOSK_TEXT_MAX)?;
    let site = site
        .map(|site| FreeText::parse(site, "site", KIOSK_TEXT_MAX))
        .transpose()?;
    let token = crate::auth::new_kiosk_token()?;
    let hash = crate::auth::kiosk_token_hash(&token);
    let (name, site, hash) = (name.as_str(), site.as_ref().map(FreeText::as_str), &hash);
    let kiosk = db::transaction(db, |txn, _| {
        Box::pin(async move {
            let kiosk = store::create_kiosk(txn, name, site, hash.clone()).await?;
            audit::record(
                txn,
                AuditEntry::kiosk_created(
                    actor,
                    kiosk.id,
                    serde_json::json!({ "name": kiosk.name, "site": kiosk.site }),
                ),
            )
            .await?;
            Ok(kiosk)
        })
    })
    .await?;
    Ok((kiosk, token))
}

/// Revokes a kiosk at once, and audits it; `None` when there is no such kiosk.
pub async fn revoke_kiosk(
    db: &DatabaseConnection,
    id: KioskId,
    actor: Option<StaffId>,
) -> AppResult<Option<KioskView>> {
    db::transaction(db, |txn, _| {
        Box::pin(async move {
            let Some(kiosk) = store::revoke_kiosk(txn, id).await? else {
                return Ok(None);
            };
            audit::record(txn, AuditEntry::kiosk_revoked(actor, id)).await?;
            Ok(Some(kiosk))
        })
    })
    .await
}
