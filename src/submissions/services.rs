//! Which services there are, kept in memory: every submission names one and
//! every queue item shows one, and the list changes only when the seed is
//! loaded, so asking the database each time would be among the dearest parts
//! of taking feedback and of reading the queue.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::content::model::{ServiceView, Slug};
use crate::error::AppResult;

/// How long the list is trusted before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(30);

/// The active services, by slug and by id.
#[derive(Default)]
struct Known {
    by_slug: HashMap<String, Uuid>,
    by_id: HashMap<Uuid, ServiceView>,
}

/// The list as last read, and when.
type Reading = Option<(Instant, Arc<Known>)>;

/// Active services, read at most every [`FRESH_FOR`].
#[derive(Clone, Default)]
pub struct ServiceDirectory {
    known: Arc<RwLock<Reading>>,
}

impl ServiceDirectory {
    async fn known(&self, db: &DatabaseConnection) -> AppResult<Arc<Known>> {
        if let Ok(known) = self.known.read()
            && let Some((read_at, services)) = known.as_ref()
            && read_at.elapsed() < FRESH_FOR
        {
            return Ok(services.clone());
        }
        let mut known = Known::default();
        for service in crate::content::store::active_services(db).await? {
            known.by_slug.insert(service.slug.clone(), service.id);
            known.by_id.insert(service.id, service);
        }
        let known = Arc::new(known);
        if let Ok(mut kept) = self.known.write() {
            *kept = Some((Instant::now(), known.clone()));
        }
        Ok(known)
    }

    /// The id of the active service with this slug.
    pub async fn id_of(&self, db: &DatabaseConnection, slug: &Slug) -> AppResult<Option<Uuid>> {
        Ok(self.known(db).await?.by_slug.get(slug.as_str()).copied())
    }

    /// Services by id: active ones from memory, any others (feedback about a
    /// service that has since closed) from the database.
    pub async fn by_ids(
        &self,
        db: &DatabaseConnection,
        ids: &[Uuid],
    ) -> AppResult<Vec<ServiceView>> {
        let known = self.known(db).await?;
        let mut found: Vec<ServiceView> = Vec::with_capacity(ids.len());
        let mut missing: Vec<Uuid> = Vec::new();
        for id in ids {
            match known.by_id.get(id) {
                Some(service) => found.push(service.clone()),
                None => missing.push(*id),
            }
        }
        if !missing.is_empty() {
            found.extend(crate::content::store::services_by_ids(db, &missing).await?);
        }
        Ok(found)
    }
}
