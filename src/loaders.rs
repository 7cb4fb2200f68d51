//! Batched loading of what list items point at (a feedback's service, kiosk
//! and assignee; an item's tags and notes), so a page of twenty items costs a
//! handful of queries, not a hundred. One loader serves every feature; the
//! key's type says what is loaded.

use std::collections::HashMap;

use async_graphql::ErrorExtensions as _;
use async_graphql::dataloader::{DataLoader, Loader};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::content::model::ServiceView;
use crate::moderation::entity::moderation_note;
use crate::staff::store::StaffView;
use crate::submissions::store::KioskView;
use crate::{moderation, staff, submissions};

/// Loads by id, in batches.
pub struct Loaders {
    db: DatabaseConnection,
    services: crate::submissions::services::ServiceDirectory,
}

/// The loader every request shares. It caches nothing, so nothing stale is
/// ever served; it only batches the keys asked for at the same moment.
pub type SharedLoader = DataLoader<Loaders>;

pub fn shared(
    db: DatabaseConnection,
    services: crate::submissions::services::ServiceDirectory,
) -> SharedLoader {
    DataLoader::new(Loaders { db, services }, tokio::spawn)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ServiceKey(pub Uuid);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KioskKey(pub Uuid);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaffKey(pub Uuid);
/// The tags on a piece of feedback or an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TagsOf(pub Uuid);
/// The notes on a piece of feedback or an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotesOf(pub Uuid);

fn ids<K: Copy>(keys: &[K], id: impl Fn(K) -> Uuid) -> Vec<Uuid> {
    keys.iter().map(|key| id(*key)).collect()
}

impl Loader<ServiceKey> for Loaders {
    type Value = ServiceView;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ServiceKey],
    ) -> Result<HashMap<ServiceKey, ServiceView>, Self::Error> {
        let rows = self
            .services
            .by_ids(&self.db, &ids(keys, |key| key.0))
            .await
            .map_err(|error| error.extend())?;
        Ok(rows
            .into_iter()
            .map(|row| (ServiceKey(row.id), row))
            .collect())
    }
}

impl Loader<KioskKey> for Loaders {
    type Value = KioskView;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[KioskKey]) -> Result<HashMap<KioskKey, KioskView>, Self::Error> {
        let rows = submissions::store::kiosks_by_ids(&self.db, &ids(keys, |key| key.0))
            .await
            .map_err(|error| error.extend())?;
        Ok(rows
            .into_iter()
            .map(|row| (KioskKey(row.id), row))
            .collect())
    }
}

impl Loader<StaffKey> for Loaders {
    type Value = StaffView;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[StaffKey]) -> Result<HashMap<StaffKey, StaffView>, Self::Error> {
        let rows = staff::store::staff_by_ids(&self.db, &ids(keys, |key| key.0))
            .await
            .map_err(|error| error.extend())?;
        Ok(rows
            .into_iter()
            .map(|row| (StaffKey(row.id), row))
            .collect())
    }
}

impl Loader<TagsOf> for Loaders {
    type Value = Vec<String>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[TagsOf]) -> Result<HashMap<TagsOf, Vec<String>>, Self::Error> {
        let tags = moderation::store::tags_of(&self.db, &ids(keys, |key| key.0))
            .await
            .map_err(|error| error.extend())?;
        Ok(tags
            .into_iter()
            .map(|(id, tags)| (TagsOf(id), tags))
            .collect())
    }
}

impl Loader<NotesOf> for Loaders {
    type Value = Vec<moderation_note::Model>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[NotesOf],
    ) -> Result<HashMap<NotesOf, Vec<moderation_note::Model>>, Self::Error> {
        let notes = moderation::store::notes_of(&self.db, &ids(keys, |key| key.0))
            .await
            .map_err(|error| error.extend())?;
        Ok(notes
            .into_iter()
            .map(|(id, notes)| (NotesOf(id), notes))
            .collect())
    }
}
