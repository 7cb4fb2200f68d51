//! Editorial work on content: drafts saved as revisions, publishing now or at
//! a set time, withdrawing, restoring an old revision, and the organisation's
//! text. The public reads only what was published (`page_translation` and
//! `page_media`); every save is a new `page_revision` that staff can preview.
//!
//! Each change writes its audit event, and a publish or withdrawal its
//! webhook deliveries, in the caller's transaction.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};
use serde_json::json;
use uuid::Uuid;

use super::entity::{
    organisation, organisation_translation, organisation_value, page, page_media, page_revision,
    page_translation,
};
use super::markdown;
use super::model::{MediaDraft, PageStatus, PageView, SearchHitKind, Slug, check_accessible};
use super::store;
use crate::audit::{self, AuditEntry};
use crate::db;
use crate::error::{AppError, AppResult};
use crate::ids::{PageId, StaffId};
use crate::locale::{Locale, LocaleChain};
use crate::submissions::model::FreeText;
use crate::webhooks;

/// A page's text in one locale, as an editor saves it.
#[derive(Clone, Debug)]
pub struct PageDraft {
    pub slug: Slug,
    pub locale: Locale,
    pub title: FreeText,
    pub summary: Option<FreeText>,
    pub body: FreeText,
    /// `None` keeps the media the page has.
    pub media: Option<Vec<MediaDraft>>,
}

fn stale(version: i32) -> AppError {
    AppError::Conflict(format!(
        "the page changed since you read it (it is now at version {version}); reload and try again"
    ))
}

async fn page_by_id(db: &impl ConnectionTrait, id: Uuid) -> AppResult<page::Model> {
    page::Entity::find_by_id(id)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("the page"))
}

/// A page's version now.
pub async fn current_version(db: &impl ConnectionTrait, page: PageId) -> AppResult<i32> {
    Ok(page_by_id(db, page.uuid()).await?.version)
}

/// A page's revisions, newest first.
pub async fn revisions(
    db: &impl ConnectionTrait,
    page_id: Uuid,
) -> AppResult<Vec<page_revision::Model>> {
    Ok(page_revision::Entity::find()
        .filter(page_revision::Column::PageId.eq(page_id))
        .order_by_desc(page_revision::Column::Version)
        .all(db)
        .await?)
}

/// The newest revision of each locale up to `version`, and the newest
/// revision of all.
fn latest_by_locale(
    revisions: &[page_revision::Model],
    version: i32,
) -> (
    BTreeMap<String, &page_revision::Model>,
    Option<&page_revision::Model>,
) {
    let mut by_locale = BTreeMap::new();
    let mut newest: Option<&page_revision::Model> = None;
    for revision in revisions
        .iter()
        .filter(|revision| revision.version <= version)
    {
        if newest.is_none_or(|seen| revision.version > seen.version) {
            newest = Some(revision);
        }
        by_locale
            .entry(revision.locale.clone())
            .and_modify(|seen: &mut &page_revision::Model| {
                if revision.version > seen.version {
                    *seen = revision;
                }
            })
            .or_insert(revision);
    }
    (by_locale, newest)
}

fn media_of(revision: &page_revision::Model) -> AppResult<Vec<MediaDraft>> {
    serde_json::from_str(&revision.media).map_err(|error| {
        AppError::Internal(anyhow::anyhow!("a revision's media is not JSON: {error}"))
    })
}

async fn published_media(db: &impl ConnectionTrait, page_id: Uuid) -> AppResult<Vec<MediaDraft>> {
    Ok(page_media::Entity::find()
        .filter(page_media::Column::PageId.eq(page_id))
        .order_by_asc(page_media::Column::Position)
        .all(db)
        .await?
        .into_iter()
        .map(|media| MediaDraft {
            kind: media.kind,
            title: media.title,
            description: media.description,
            url: media.url,
            transcript: media.transcript,
            captions_url: media.captions_url,
            alt_text: media.alt_text,
        })
        .collect())
}

async fn slug_taken(
    db: &impl ConnectionTrait,
    slug: &Slug,
    by_other_than: Option<Uuid>,
) -> AppResult<bool> {
    let mut query = page::Entity::find().filter(page::Column::Slug.eq(slug.as_str()));
    if let Some(id) = by_other_than {
        query = query.filter(page::Column::Id.ne(id));
    }
    Ok(query.one(db).await?.is_some())
}

/// Saves a draft as a new revision. A new page (`existing` is `None`) starts
/// as a DRAFT at version 1; an existing page needs the version the editor
/// read. Answers the page's id and new version.
pub async fn save_page(
    db: &impl ConnectionTrait,
    actor: StaffId,
    existing: Option<(PageId, Option<i32>)>,
    draft: &PageDraft,
) -> AppResult<(PageId, i32)> {
    let existing = existing.map(|(page, version)| (page.uuid(), version));
    let now = db::now();
    let (page_id, version, media) = match existing {
        None => {
            if slug_taken(db, &draft.slug, None).await? {
                return Err(AppError::Conflict(
                    "a page with this slug exists; send its id and expectedVersion to change it"
                        .into(),
                ));
            }
            let id = Uuid::now_v7();
            page::Entity::insert(page::ActiveModel {
                id: Set(id),
                slug: Set(draft.slug.as_str().to_owned()),
                status: Set(PageStatus::Draft),
                version: Set(1),
                published_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
                scheduled_at: Set(None),
                scheduled_version: Set(None),
                published_version: Set(None),
            })
            .exec_without_returning(db)
            .await?;
            (id, 1, draft.media.clone().unwrap_or_default())
        }
        Some((id, expected)) => {
            let page = page_by_id(db, id).await?;
            let Some(expected) = expected else {
                return Err(AppError::bad_input(
                    "expectedVersion",
                    "is needed to change an existing page: send the version you read",
                ));
            };
            if expected != page.version {
                return Err(stale(page.version));
            }
            if slug_taken(db, &draft.slug, Some(id)).await? {
                return Err(AppError::Conflict("another page has this slug".into()));
            }
            let media = match &draft.media {
                Some(media) => media.clone(),
                None => {
                    let all = revisions(db, id).await?;
                    match all.first() {
                        Some(newest) => media_of(newest)?,
                        None => published_media(db, id).await?,
                    }
                }
            };
            let updated = page::Entity::update_many()
                .col_expr(page::Column::Version, Expr::value(page.version + 1))
                .col_expr(page::Column::UpdatedAt, Expr::value(now))
                .filter(page::Column::Id.eq(id))
                .filter(page::Column::Version.eq(page.version))
                .exec(db)
                .await?;
            if updated.rows_affected == 0 {
                return Err(stale(page.version + 1));
            }
            (id, page.version + 1, media)
        }
    };
    let media_json = serde_json::to_string(&media)
        .map_err(|error| AppError::Internal(anyhow::anyhow!("media to JSON: {error}")))?;
    page_revision::Entity::insert(page_revision::ActiveModel {
        id: Set(Uuid::now_v7()),
        page_id: Set(page_id),
        version: Set(version),
        locale: Set(draft.locale.as_str().to_owned()),
        slug: Set(draft.slug.as_str().to_owned()),
        title: Set(draft.title.as_str().to_owned()),
        summary: Set(draft.summary.as_ref().map(|s| s.as_str().to_owned())),
        body: Set(draft.body.as_str().to_owned()),
        body_html: Set(markdown::to_html(draft.body.as_str())),
        media: Set(media_json),
        author_id: Set(Some(actor.uuid())),
        created_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    audit::record(
        db,
        AuditEntry::page_saved(
            actor,
            PageId::from_uuid(page_id),
            version,
            draft.locale.as_str(),
            draft.slug.as_str(),
        ),
    )
    .await?;
    Ok((PageId::from_uuid(page_id), version))
}

/// Copies a revision into a new one, so an old text becomes the draft again.
pub async fn restore_revision(
    db: &impl ConnectionTrait,
    actor: StaffId,
    page: PageId,
    version: i32,
    expected: i32,
) -> AppResult<i32> {
    let all = revisions(db, page.uuid()).await?;
    let old = all
        .iter()
        .find(|revision| revision.version == version)
        .ok_or(AppError::NotFound("that revision"))?;
    let draft = PageDraft {
        slug: Slug::parse(&old.slug, "slug")?,
        locale: Locale::parse(&old.locale, "locale")?,
        title: FreeText::parse(&old.title, "title", usize::MAX)?,
        summary: old
            .summary
            .as_deref()
            .map(|summary| FreeText::parse(summary, "summary", usize::MAX))
            .transpose()?,
        body: FreeText::parse(&old.body, "body", usize::MAX)?,
        media: Some(media_of(old)?),
    };
    let (_, new_version) = save_page(db, actor, Some((page, Some(expected))), &draft).await?;
    audit::record(
        db,
        AuditEntry::page_restored(actor, page, version, new_version),
    )
    .await?;
    Ok(new_version)
}

/// Publishes a page's newest revisions up to `version`: each locale's text,
/// the media and the slug become what the public reads, the search index
/// follows, and webhooks are told. `actor` is `None` for the scheduler.
pub async fn publish(
    db: &impl ConnectionTrait,
    actor: Option<StaffId>,
    page: PageId,
    version: i32,
) -> AppResult<()> {
    let (page_key, page_id) = (page, page.uuid());
    let page = page_by_id(db, page_id).await?;
    let all = revisions(db, page_id).await?;
    let (by_locale, newest) = latest_by_locale(&all, version);
    let media = match newest {
        Some(newest) => media_of(newest)?,
        None => published_media(db, page_id).await?,
    };
    check_accessible(&media)?;
    let slug = match newest {
        Some(newest) => Slug::parse(&newest.slug, "slug")?,
        None => Slug::parse(&page.slug, "slug")?,
    };
    if slug_taken(db, &slug, Some(page_id)).await? {
        return Err(AppError::Conflict("another page has this slug".into()));
    }
    let now = db::now();
    for revision in by_locale.values() {
        page_translation::Entity::delete_many()
            .filter(page_translation::Column::PageId.eq(page_id))
            .filter(page_translation::Column::Locale.eq(revision.locale.as_str()))
            .exec(db)
            .await?;
        page_translation::Entity::insert(page_translation::ActiveModel {
            page_id: Set(page_id),
            locale: Set(revision.locale.clone()),
            title: Set(revision.title.clone()),
            summary: Set(revision.summary.clone()),
            body: Set(revision.body.clone()),
            body_html: Set(revision.body_html.clone()),
            updated_at: Set(now),
        })
        .exec_without_returning(db)
        .await?;
    }
    let translations = page_translation::Entity::find()
        .filter(page_translation::Column::PageId.eq(page_id))
        .all(db)
        .await?;
    if translations.is_empty() {
        return Err(AppError::bad_input("id", "the page has no text to publish"));
    }
    page_media::Entity::delete_many()
        .filter(page_media::Column::PageId.eq(page_id))
        .exec(db)
        .await?;
    for (position, item) in media.iter().enumerate() {
        page_media::Entity::insert(page_media::ActiveModel {
            page_id: Set(page_id),
            position: Set(position as i32),
            kind: Set(item.kind),
            title: Set(item.title.clone()),
            description: Set(item.description.clone()),
            url: Set(item.url.clone()),
            transcript: Set(item.transcript.clone()),
            captions_url: Set(item.captions_url.clone()),
            alt_text: Set(item.alt_text.clone()),
        })
        .exec_without_returning(db)
        .await?;
    }
    store::remove_from_index(db, SearchHitKind::Page, &page.slug).await?;
    for text in &translations {
        store::index_page_text(
            db,
            slug.as_str(),
            &text.locale,
            &text.title,
            text.summary.as_deref(),
            &text.body,
        )
        .await?;
    }
    page::Entity::update_many()
        .col_expr(page::Column::Slug, Expr::value(slug.as_str()))
        .col_expr(
            page::Column::Status,
            Expr::value(PageStatus::Published.as_str()),
        )
        .col_expr(page::Column::PublishedAt, Expr::value(now))
        .col_expr(page::Column::PublishedVersion, Expr::value(version))
        .col_expr(
            page::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            page::Column::ScheduledVersion,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(page::Column::UpdatedAt, Expr::value(now))
        .filter(page::Column::Id.eq(page_id))
        .exec(db)
        .await?;
    let locales: Vec<&str> = translations
        .iter()
        .map(|text| text.locale.as_str())
        .collect();
    audit::record(
        db,
        AuditEntry::page_published(
            actor,
            page_key,
            json!({ "status": page.status.as_str(), "slug": page.slug }),
            json!({ "status": "PUBLISHED", "slug": slug.as_str(), "version": version }),
        ),
    )
    .await?;
    webhooks::store::enqueue(
        db,
        "page.published",
        json!({ "id": page_id, "slug": slug.as_str(), "version": version,
                "locales": locales, "publishedAt": now }),
    )
    .await?;
    Ok(())
}

/// Sets a page to be published at `at` with its current newest revisions.
/// The media must already meet the accessibility rules.
pub async fn schedule(
    db: &impl ConnectionTrait,
    actor: StaffId,
    page: PageId,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let (page_key, page_id) = (page, page.uuid());
    let page = page_by_id(db, page_id).await?;
    let all = revisions(db, page_id).await?;
    let media = match all.first() {
        Some(newest) => media_of(newest)?,
        None => published_media(db, page_id).await?,
    };
    check_accessible(&media)?;
    page::Entity::update_many()
        .col_expr(page::Column::ScheduledAt, Expr::value(at))
        .col_expr(page::Column::ScheduledVersion, Expr::value(page.version))
        .col_expr(page::Column::UpdatedAt, Expr::value(db::now()))
        .filter(page::Column::Id.eq(page_id))
        .exec(db)
        .await?;
    audit::record(
        db,
        AuditEntry::page_scheduled(actor, page_key, at, page.version),
    )
    .await
}

/// Withdraws a published page from the public.
pub async fn unpublish(db: &impl ConnectionTrait, actor: StaffId, page: PageId) -> AppResult<()> {
    let (page_key, page_id) = (page, page.uuid());
    let page = page_by_id(db, page_id).await?;
    let was_public = page.status == PageStatus::Published;
    if !was_public && page.scheduled_at.is_none() {
        return Err(AppError::bad_input("id", "the page is not published"));
    }
    page::Entity::update_many()
        .col_expr(
            page::Column::Status,
            Expr::value(
                if was_public {
                    PageStatus::Archived
                } else {
                    page.status
                }
                .as_str(),
            ),
        )
        .col_expr(
            page::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            page::Column::ScheduledVersion,
            Expr::value(Option::<i32>::None),
        )
        .col_expr(page::Column::UpdatedAt, Expr::value(db::now()))
        .filter(page::Column::Id.eq(page_id))
        .exec(db)
        .await?;
    store::remove_from_index(db, SearchHitKind::Page, &page.slug).await?;
    audit::record(
        db,
        AuditEntry::page_unpublished(
            actor,
            page_key,
            json!({ "status": page.status.as_str(), "scheduledAt": page.scheduled_at }),
            json!({ "status": if was_public { "ARCHIVED" } else { page.status.as_str() } }),
        ),
    )
    .await?;
    if was_public {
        webhooks::store::enqueue(
            db,
            "page.unpublished",
            json!({ "id": page_id, "slug": page.slug, "unpublishedAt": db::now() }),
        )
        .await?;
    }
    Ok(())
}

/// Pages whose scheduled time has come: (id, version, time).
pub async fn due_pages(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> AppResult<Vec<(PageId, i32, DateTime<Utc>)>> {
    Ok(page::Entity::find()
        .filter(page::Column::ScheduledAt.lte(now))
        .all(db)
        .await?
        .into_iter()
        .filter_map(|page| {
            Some((
                PageId::from_uuid(page.id),
                page.scheduled_version?,
                page.scheduled_at?,
            ))
        })
        .collect())
}

/// Takes a due page for publishing, so that of several processes on one
/// database exactly one publishes it: clears its schedule if nobody did.
pub async fn claim_due(
    db: &impl ConnectionTrait,
    page: PageId,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let page_id = page.uuid();
    let claimed = page::Entity::update_many()
        .col_expr(
            page::Column::ScheduledAt,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(page::Column::Id.eq(page_id))
        .filter(page::Column::ScheduledAt.eq(at))
        .exec(db)
        .await?;
    Ok(claimed.rows_affected == 1)
}

/// What an editor sees of a page: the newest revision in the best locale of
/// `chain`, falling back to the published text, with the newest media.
pub async fn editor_view(
    db: &impl ConnectionTrait,
    page: PageId,
    chain: &LocaleChain,
) -> AppResult<Option<PageView>> {
    let page_id = page.uuid();
    let Some(page) = page::Entity::find_by_id(page_id).one(db).await? else {
        return Ok(None);
    };
    let all = revisions(db, page_id).await?;
    let (by_locale, newest) = latest_by_locale(&all, page.version);
    let published = store::page_views(db, vec![page.clone()], chain)
        .await?
        .pop();
    let mut locales: Vec<String> = by_locale.keys().cloned().collect();
    if let Some(published) = &published {
        locales.extend(published.available_locales.iter().cloned());
    }
    locales.sort();
    locales.dedup();
    let status = page.status;
    let draft_locale = chain.choose(&locales, |locale| locale).cloned();
    let revision = draft_locale
        .as_deref()
        .and_then(|locale| by_locale.get(locale));
    let media = match newest {
        Some(newest) => media_of(newest)?
            .iter()
            .enumerate()
            .map(|(position, item)| item.view(position as i32))
            .collect(),
        None => published
            .as_ref()
            .map(|view| view.media.clone())
            .unwrap_or_default(),
    };
    let view = match (revision, published) {
        // The best locale has a draft: show it.
        (Some(revision), _) => PageView {
            id: page.id,
            slug: revision.slug.clone(),
            locale: revision.locale.clone(),
            title: revision.title.clone(),
            summary: revision.summary.clone(),
            body: revision.body.clone(),
            body_html: revision.body_html.clone(),
            media,
            status,
            version: page.version,
            published_at: page.published_at,
            updated_at: page.updated_at,
            available_locales: locales,
            scheduled_at: page.scheduled_at,
            published_version: page.published_version,
        },
        // Otherwise the best locale is a published one: show that.
        (None, Some(mut published)) => {
            published.media = media;
            published.version = page.version;
            published.available_locales = locales;
            published.scheduled_at = page.scheduled_at;
            published
        }
        (None, None) => return Ok(None),
    };
    Ok(Some(view))
}

/// Every page, drafts and withdrawn pages too, in slug order, each as
/// [`editor_view`] shows it in the best locale of `chain`; a page with no
/// text in any of the chain's locales is shown in the first locale it has.
pub async fn editor_views(
    db: &impl ConnectionTrait,
    chain: &LocaleChain,
) -> AppResult<Vec<PageView>> {
    let pages = page::Entity::find()
        .order_by_asc(page::Column::Slug)
        .all(db)
        .await?;
    let mut views = Vec::with_capacity(pages.len());
    for page in pages {
        let id = PageId::from_uuid(page.id);
        if let Some(view) = editor_view(db, id, chain).await? {
            views.push(view);
            continue;
        }
        let mut locales: Vec<String> = revisions(db, page.id)
            .await?
            .into_iter()
            .map(|revision| revision.locale)
            .chain(
                page_translation::Entity::find()
                    .filter(page_translation::Column::PageId.eq(page.id))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|translation| translation.locale),
            )
            .collect();
        locales.sort();
        let Some(first) = locales.first() else {
            continue;
        };
        let fallback = LocaleChain::new(Some(Locale::parse(first, "locale")?));
        views.extend(editor_view(db, id, &fallback).await?);
    }
    Ok(views)
}

/// The page with this slug for an editor: a page whose slug it is now, or
/// whose newest draft gives it this slug.
pub async fn page_id_for_editor(
    db: &impl ConnectionTrait,
    slug: &Slug,
) -> AppResult<Option<PageId>> {
    if let Some(id) = store::page_id_by_slug(db, slug).await? {
        return Ok(Some(PageId::from_uuid(id)));
    }
    Ok(page_revision::Entity::find()
        .filter(page_revision::Column::Slug.eq(slug.as_str()))
        .order_by_desc(page_revision::Column::Id)
        .one(db)
        .await?
        .map(|revision| PageId::from_uuid(revision.page_id)))
}

/// The organisation's text in one locale, as an editor saves it.
pub struct OrganisationDraft {
    pub locale: Locale,
    pub name: FreeText,
    pub vision: FreeText,
    pub mission: FreeText,
    pub purpose: FreeText,
    pub values: Vec<(FreeText, Option<FreeText>)>,
}

/// Replaces the organisation's text in one locale (adding the locale if it is
/// new). It is public at once, and webhooks are told.
pub async fn update_organisation(
    db: &impl ConnectionTrait,
    actor: StaffId,
    draft: &OrganisationDraft,
) -> AppResult<()> {
    let organisation = organisation::Entity::find()
        .order_by_asc(organisation::Column::CreatedAt)
        .one(db)
        .await?
        .ok_or(AppError::NotFound("the organisation"))?;
    let now = db::now();
    let locale = draft.locale.as_str();
    organisation_translation::Entity::delete_many()
        .filter(organisation_translation::Column::OrganisationId.eq(organisation.id))
        .filter(organisation_translation::Column::Locale.eq(locale))
        .exec(db)
        .await?;
    organisation_translation::Entity::insert(organisation_translation::ActiveModel {
        organisation_id: Set(organisation.id),
        locale: Set(locale.to_owned()),
        name: Set(draft.name.as_str().to_owned()),
        vision: Set(draft.vision.as_str().to_owned()),
        mission: Set(draft.mission.as_str().to_owned()),
        purpose: Set(draft.purpose.as_str().to_owned()),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    organisation_value::Entity::delete_many()
        .filter(organisation_value::Column::OrganisationId.eq(organisation.id))
        .filter(organisation_value::Column::Locale.eq(locale))
        .exec(db)
        .await?;
    for (index, (title, description)) in draft.values.iter().enumerate() {
        organisation_value::Entity::insert(organisation_value::ActiveModel {
            organisation_id: Set(organisation.id),
            locale: Set(locale.to_owned()),
            position: Set(index as i32 + 1),
            title: Set(title.as_str().to_owned()),
            description: Set(description.as_ref().map(|d| d.as_str().to_owned())),
        })
        .exec_without_returning(db)
        .await?;
    }
    organisation::Entity::update_many()
        .col_expr(organisation::Column::UpdatedAt, Expr::value(now))
        .filter(organisation::Column::Id.eq(organisation.id))
        .exec(db)
        .await?;
    audit::record(
        db,
        AuditEntry::organisation_updated(actor, organisation.id, locale, draft.values.len()),
    )
    .await?;
    webhooks::store::enqueue(
        db,
        "organisation.updated",
        json!({ "locale": locale, "updatedAt": now }),
    )
    .await?;
    Ok(())
}
