//! Batched loading of what list items point at (a feedback's service, kiosk
//! and assignee; an item's tags and notes; the idea a duplicate was merged
//! into), so a page of twenty items costs a handful of queries, not a
//! hundred, and the relation helpers several features share. One loader
//! serves every feature; the key's type says what is loaded.

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::{Context, ErrorExtensions as _};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use crate::content::model::ServiceView;
use crate::error::AppResult;
use crate::ids::{IdeaId, KioskId, StaffId};
use crate::moderation::entity::moderation_note;
use crate::staff::graphql::StaffMember;
use crate::staff::store::StaffView;
use crate::submissions::entity::idea;
use crate::submissions::graphql::Kiosk;
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
pub struct KioskKey(pub KioskId);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StaffKey(pub StaffId);
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IdeaKey(pub IdeaId);
/// The tags on a piece of feedback or an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TagsOf(pub Uuid);
/// The notes on a piece of feedback or an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NotesOf(pub Uuid);
/// The safeguarding concerns about a piece of feedback or an idea.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ConcernsOf(pub Uuid);

/// The staff member `id` names, if any.
pub async fn staff_member(
    ctx: &Context<'_>,
    id: Option<StaffId>,
) -> AppResult<Option<StaffMember>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(StaffKey(id))
        .await?
        .map(StaffMember))
}

/// The kiosk `id` names, if any.
pub async fn kiosk(ctx: &Context<'_>, id: Option<KioskId>) -> AppResult<Option<Kiosk>> {
    let Some(id) = id else { return Ok(None) };
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(KioskKey(id))
        .await?
        .map(Kiosk))
}

/// The service feedback is about.
pub async fn service(ctx: &Context<'_>, id: Uuid) -> AppResult<Option<ServiceView>> {
    Ok(ctx.data::<SharedLoader>()?.load_one(ServiceKey(id)).await?)
}

/// An idea by id, whatever its status.
pub async fn idea(ctx: &Context<'_>, id: IdeaId) -> AppResult<Option<idea::Model>> {
    Ok(ctx.data::<SharedLoader>()?.load_one(IdeaKey(id)).await?)
}

/// The tags on a piece of feedback or an idea, sorted.
pub async fn tags_of(ctx: &Context<'_>, id: Uuid) -> AppResult<Vec<String>> {
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(TagsOf(id))
        .await?
        .unwrap_or_default())
}

/// The notes on a piece of feedback or an idea, oldest first.
pub async fn notes_of(ctx: &Context<'_>, id: Uuid) -> AppResult<Vec<moderation_note::Model>> {
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(NotesOf(id))
        .await?
        .unwrap_or_default())
}

/// The safeguarding concerns about a piece of feedback or an idea, oldest first.
pub async fn concerns_of(
    ctx: &Context<'_>,
    id: Uuid,
) -> AppResult<Vec<moderation::concerns::ConcernView>> {
    Ok(ctx
        .data::<SharedLoader>()?
        .load_one(ConcernsOf(id))
        .await?
        .unwrap_or_default())
}

impl Loader<ConcernsOf> for Loaders {
    type Value = Vec<moderation::concerns::ConcernView>;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ConcernsOf],
    ) -> Result<HashMap<ConcernsOf, Self::Value>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let concerns = moderation::concerns::concerns_of(&self.db, &ids)
            .await
            .map_err(|error| error.extend())?;
        Ok(concerns
            .into_iter()
            .map(|(id, concerns)| (ConcernsOf(id), concerns))
            .collect())
    }
}

impl Loader<ServiceKey> for Loaders {
    type Value = ServiceView;
    type Error = async_graphql::Error;

    async fn load(
        &self,
        keys: &[ServiceKey],
    ) -> Result<HashMap<ServiceKey, ServiceView>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let rows = self
            .services
            .by_ids(&self.db, &ids)
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
        let ids: Vec<KioskId> = keys.iter().map(|key| key.0).collect();
        let rows = submissions::store::kiosks_by_ids(&self.db, &ids)
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
        let ids: Vec<StaffId> = keys.iter().map(|key| key.0).collect();
        let rows = staff::store::staff_by_ids(&self.db, &ids)
            .await
            .map_err(|error| error.extend())?;
        Ok(rows
            .into_iter()
            .map(|row| (StaffKey(row.id), row))
            .collect())
    }
}

impl Loader<IdeaKey> for Loaders {
    type Value = idea::Model;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[IdeaKey]) -> Result<HashMap<IdeaKey, idea::Model>, Self::Error> {
        let ids: Vec<IdeaId> = keys.iter().map(|key| key.0).collect();
        let rows = moderation::store::ideas_by_ids(&self.db, &ids)
            .await
            .map_err(|error| error.extend())?;
        Ok(rows
            .into_iter()
            .map(|row| (IdeaKey(IdeaId::from_uuid(row.id)), row))
            .collect())
    }
}

impl Loader<TagsOf> for Loaders {
    type Value = Vec<String>;
    type Error = async_graphql::Error;

    async fn load(&self, keys: &[TagsOf]) -> Result<HashMap<TagsOf, Vec<String>>, Self::Error> {
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let tags = moderation::store::tags_of(&self.db, &ids)
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
        let ids: Vec<Uuid> = keys.iter().map(|key| key.0).collect();
        let notes = moderation::store::notes_of(&self.db, &ids)
            .await
            .map_err(|error| error.extend())?;
        Ok(notes
            .into_iter()
            .map(|(id, notes)| (NotesOf(id), notes))
            .collect())
    }
}
