//! Which services feedback may be about, kept in memory: every submission
//! names one, and the list changes only when the seed is loaded, so asking
//! the database each time would be the dearest part of taking feedback.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::content::model::Slug;
use crate::error::AppResult;

/// How long the list is trusted before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// Active services by slug.
#[derive(Default)]
pub struct ServiceDirectory {
    known: RwLock<Option<(Instant, HashMap<String, Uuid>)>>,
}

impl ServiceDirectory {
    /// The id of the active service with this slug.
    pub async fn id_of(&self, db: &DatabaseConnection, slug: &Slug) -> AppResult<Option<Uuid>> {
        if let Ok(known) = self.known.read()
            && let Some((read_at, services)) = known.as_ref()
            && read_at.elapsed() < FRESH_FOR
        {
            return Ok(services.get(slug.as_str()).copied());
        }
        let services: HashMap<String, Uuid> = crate::content::store::active_services(db)
            .await?
            .into_iter()
            .map(|service| (service.slug, service.id))
            .collect();
        let found = services.get(slug.as_str()).copied();
        if let Ok(mut known) = self.known.write() {
            *known = Some((Instant::now(), services));
        }
        Ok(found)
    }
}
