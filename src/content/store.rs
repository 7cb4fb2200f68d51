//! Content's database operations. Every function takes `&impl ConnectionTrait`
//! so that it composes inside a transaction.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Statement,
};
use uuid::Uuid;

use super::entity::{
    organisation, organisation_translation, organisation_value, page, page_media, page_translation,
    service,
};
use super::markdown;
use super::model::{
    MediaKind, MediaView, OrganisationView, PageStatus, PageView, SearchHitKind, SearchHitView,
    SearchText, ServiceView, Slug, ValueView,
};
use crate::error::AppResult;
use crate::locale::LocaleChain;

/// The organisation's text in the best locale of `chain`.
pub async fn organisation(
    db: &impl ConnectionTrait,
    chain: &LocaleChain,
) -> AppResult<Option<OrganisationView>> {
    let Some(organisation) = organisation::Entity::find()
        .order_by_asc(organisation::Column::CreatedAt)
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let translations = organisation_translation::Entity::find()
        .filter(organisation_translation::Column::OrganisationId.eq(organisation.id))
        .all(db)
        .await?;
    let Some(translation) = chain.choose(&translations, |t| &t.locale) else {
        return Ok(None);
    };
    let values = organisation_value::Entity::find()
        .filter(organisation_value::Column::OrganisationId.eq(organisation.id))
        .filter(organisation_value::Column::Locale.eq(translation.locale.as_str()))
        .order_by_asc(organisation_value::Column::Position)
        .all(db)
        .await?;
    let mut available_locales: Vec<String> =
        translations.iter().map(|t| t.locale.clone()).collect();
    available_locales.sort();
    Ok(Some(OrganisationView {
        name: translation.name.clone(),
        vision: translation.vision.clone(),
        mission: translation.mission.clone(),
        purpose: translation.purpose.clone(),
        values: values
            .into_iter()
            .map(|value| ValueView {
                position: value.position,
                title: value.title,
                description: value.description,
            })
            .collect(),
        locale: translation.locale.clone(),
        available_locales,
        updated_at: translation.updated_at.max(organisation.updated_at),
    }))
}

fn published_at_or_before(now: DateTime<Utc>) -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(page::Column::Status.eq(PageStatus::Published.as_str()))
        .add(page::Column::PublishedAt.lte(now))
}

/// A published page by its slug, in the best locale of `chain`.
pub async fn published_page(
    db: &impl ConnectionTrait,
    slug: &Slug,
    chain: &LocaleChain,
) -> AppResult<Option<PageView>> {
    let found = page::Entity::find()
        .filter(page::Column::Slug.eq(slug.as_str()))
        .filter(published_at_or_before(Utc::now()))
        .one(db)
        .await?;
    match found {
        Some(found) => Ok(page_views(db, vec![found], chain).await?.pop()),
        None => Ok(None),
    }
}

/// Up to `first` published pages after the slug `after`, in slug order, and
/// whether more follow.
pub async fn published_pages(
    db: &impl ConnectionTrait,
    chain: &LocaleChain,
    first: u64,
    after: Option<&str>,
) -> AppResult<(Vec<PageView>, bool)> {
    let mut query = page::Entity::find()
        .filter(published_at_or_before(Utc::now()))
        .order_by_asc(page::Column::Slug)
        .limit(first + 1);
    if let Some(after) = after {
        query = query.filter(page::Column::Slug.gt(after));
    }
    let mut pages = query.all(db).await?;
    let has_next = pages.len() as u64 > first;
    pages.truncate(first as usize);
    Ok((page_views(db, pages, chain).await?, has_next))
}

/// How many pages the public can see.
pub async fn count_published_pages(db: &impl ConnectionTrait) -> AppResult<u64> {
    Ok(page::Entity::find()
        .filter(published_at_or_before(Utc::now()))
        .count(db)
        .await?)
}

/// Joins pages to their best translation and their media, in three queries
/// whatever the number of pages. Pages with no translation in the chain are
/// left out.
pub(crate) async fn page_views(
    db: &impl ConnectionTrait,
    pages: Vec<page::Model>,
    chain: &LocaleChain,
) -> AppResult<Vec<PageView>> {
    if pages.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = pages.iter().map(|page| page.id).collect();
    let available: Vec<(Uuid, String)> = page_translation::Entity::find()
        .select_only()
        .column(page_translation::Column::PageId)
        .column(page_translation::Column::Locale)
        .filter(page_translation::Column::PageId.is_in(ids.clone()))
        .into_tuple()
        .all(db)
        .await?;
    let mut locales_by_page: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (page_id, locale) in available {
        locales_by_page.entry(page_id).or_default().push(locale);
    }
    let wanted: Vec<(Uuid, String)> = ids
        .iter()
        .filter_map(|id| {
            let locales = locales_by_page.get(id)?;
            let best = chain.choose(locales, |locale| locale)?;
            Some((*id, best.clone()))
        })
        .collect();
    let mut condition = sea_orm::Condition::any();
    for (page_id, locale) in &wanted {
        condition = condition.add(
            sea_orm::Condition::all()
                .add(page_translation::Column::PageId.eq(*page_id))
                .add(page_translation::Column::Locale.eq(locale.as_str())),
        );
    }
    let mut translations: HashMap<Uuid, page_translation::Model> = if wanted.is_empty() {
        HashMap::new()
    } else {
        page_translation::Entity::find()
            .filter(condition)
            .all(db)
            .await?
            .into_iter()
            .map(|translation| (translation.page_id, translation))
            .collect()
    };
    let mut media_by_page: HashMap<Uuid, Vec<MediaView>> = HashMap::new();
    for media in page_media::Entity::find()
        .filter(page_media::Column::PageId.is_in(ids))
        .order_by_asc(page_media::Column::Position)
        .all(db)
        .await?
    {
        media_by_page
            .entry(media.page_id)
            .or_default()
            .push(MediaView {
                position: media.position,
                kind: media.kind,
                title: media.title,
                description: media.description,
                url: media.url,
                transcript: media.transcript,
                captions_url: media.captions_url,
                alt_text: media.alt_text,
            });
    }
    Ok(pages
        .into_iter()
        .filter_map(|page| {
            let translation = translations.remove(&page.id)?;
            let mut available_locales = locales_by_page.remove(&page.id).unwrap_or_default();
            available_locales.sort();
            Some(PageView {
                id: page.id,
                slug: page.slug,
                locale: translation.locale,
                title: translation.title,
                summary: translation.summary,
                body: translation.body,
                body_html: translation.body_html,
                media: media_by_page.remove(&page.id).unwrap_or_default(),
                status: page.status,
                version: page.published_version.unwrap_or(page.version),
                published_at: page.published_at,
                updated_at: translation.updated_at.max(page.updated_at),
                available_locales,
                scheduled_at: page.scheduled_at,
                published_version: page.published_version,
            })
        })
        .collect())
}

impl From<service::Model> for ServiceView {
    fn from(service: service::Model) -> Self {
        Self {
            id: service.id,
            slug: service.slug,
            name: service.name,
            description: service.description,
            category: service.category,
            parent_organisation: service.parent_organisation,
            ods_code: service.ods_code,
        }
    }
}

/// The services residents can give feedback about, by name.
pub async fn active_services(db: &impl ConnectionTrait) -> AppResult<Vec<ServiceView>> {
    Ok(service::Entity::find()
        .filter(service::Column::Active.eq(true))
        .order_by_asc(service::Column::Name)
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Services by id, whether active or not (feedback outlives a service).
pub async fn services_by_ids(
    db: &impl ConnectionTrait,
    ids: &[Uuid],
) -> AppResult<Vec<ServiceView>> {
    Ok(service::Entity::find()
        .filter(service::Column::Id.is_in(ids.iter().copied()))
        .all(db)
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// The id of a service by slug, whether active or not.
pub async fn service_id_by_slug(db: &impl ConnectionTrait, slug: &str) -> AppResult<Option<Uuid>> {
    Ok(service::Entity::find()
        .filter(service::Column::Slug.eq(slug))
        .one(db)
        .await?
        .map(|service| service.id))
}

/// Marks the start and end of a matched word in snippets; stripped before the
/// snippet leaves the store. Private-use characters, so no real text holds them.
const MATCH_START: char = '\u{E000}';
const MATCH_END: char = '\u{E001}';

/// Full-text search over published titles and bodies in the locales of
/// `chain`, best match first, one hit per document in its best locale.
pub async fn search(
    db: &impl ConnectionTrait,
    text: &SearchText,
    chain: &LocaleChain,
    limit: u64,
) -> AppResult<Vec<SearchHitView>> {
    let locales = chain.as_strings();
    // Each document can match once per locale in the chain; fetch enough rows
    // that dropping the worse-locale duplicates still leaves `limit` hits.
    let fetch = limit * locales.len() as u64;
    let backend = db.get_database_backend();
    let statement = match backend {
        DbBackend::Sqlite => {
            let placeholders = vec!["?"; locales.len()].join(", ");
            let mut values: Vec<sea_orm::Value> = vec![text.to_fts5().into()];
            values.extend(locales.iter().map(|locale| locale.clone().into()));
            values.push((fetch as i64).into());
            Statement::from_sql_and_values(
                backend,
                format!(
                    "SELECT kind, slug, locale, title, \
                     snippet(search_document, 4, '{MATCH_START}', '{MATCH_END}', '…', 24) AS snippet, \
                     -bm25(search_document, 0.0, 0.0, 0.0, 10.0, 1.0) AS score \
                     FROM search_document \
                     WHERE search_document MATCH ? AND locale IN ({placeholders}) \
                     ORDER BY score DESC, slug LIMIT ?"
                ),
                values,
            )
        }
        _ => Statement::from_sql_and_values(
            backend,
            format!(
                "SELECT kind, slug, locale, title, \
                 ts_headline('simple', body, query, \
                   'MaxWords=30, MinWords=12, MaxFragments=1, FragmentDelimiter=…, \
                    StartSel={MATCH_START}, StopSel={MATCH_END}') AS snippet, \
                 CAST(ts_rank(document, query) AS DOUBLE PRECISION) AS score \
                 FROM search_document, \
                   (SELECT to_tsquery('english', $1) || to_tsquery('simple', $1) AS query) AS q \
                 WHERE document @@ query AND locale = ANY($2) \
                 ORDER BY score DESC, slug LIMIT $3"
            ),
            vec![
                text.to_tsquery().into(),
                sea_orm::Value::Array(
                    sea_orm::sea_query::ArrayType::String,
                    Some(Box::new(locales.iter().map(|l| l.clone().into()).collect())),
                ),
                (fetch as i64).into(),
            ],
        ),
    };
    let mut hits: Vec<(usize, SearchHitView)> = Vec::new();
    for row in db.query_all_raw(statement).await? {
        let kind: String = row.try_get("", "kind")?;
        let Some(kind) = SearchHitKind::parse(&kind) else {
            continue;
        };
        let locale: String = row.try_get("", "locale")?;
        let rank = chain.rank(&locale).unwrap_or(usize::MAX);
        let hit = SearchHitView {
            kind,
            slug: row.try_get("", "slug")?,
            title: row.try_get("", "title")?,
            snippet: row
                .try_get::<String>("", "snippet")?
                .replace([MATCH_START, MATCH_END], ""),
            score: row.try_get("", "score")?,
            locale,
        };
        match hits
            .iter_mut()
            .find(|(_, seen)| seen.kind == hit.kind && seen.slug == hit.slug)
        {
            Some(seen) if rank < seen.0 => *seen = (rank, hit),
            Some(_) => {}
            None => hits.push((rank, hit)),
        }
    }
    hits.truncate(limit as usize);
    Ok(hits.into_iter().map(|(_, hit)| hit).collect())
}

/// Puts one document's text in the search index, replacing what was there.
pub async fn index_document(
    db: &impl ConnectionTrait,
    kind: SearchHitKind,
    slug: &str,
    locale: &str,
    title: &str,
    body: &str,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Sqlite => {
                "DELETE FROM search_document WHERE kind = ? AND slug = ? AND locale = ?"
            }
            _ => "DELETE FROM search_document WHERE kind = $1 AND slug = $2 AND locale = $3",
        },
        [kind.as_str().into(), slug.into(), locale.into()],
    ))
    .await?;
    let statement = match backend {
        DbBackend::Sqlite => Statement::from_sql_and_values(
            backend,
            "INSERT INTO search_document (kind, slug, locale, title, body) VALUES (?, ?, ?, ?, ?)",
            [
                kind.as_str().into(),
                slug.into(),
                locale.into(),
                title.into(),
                body.into(),
            ],
        ),
        _ => {
            // English gets stemming and stop words; other languages are indexed
            // word for word, which is what PostgreSQL's 'simple' configuration does.
            let config = if locale.split('-').next() == Some("en") {
                "english"
            } else {
                "simple"
            };
            Statement::from_sql_and_values(
                backend,
                "INSERT INTO search_document (kind, slug, locale, title, body, document) \
                 VALUES ($1, $2, $3, $4, $5, \
                   setweight(to_tsvector(CAST($6 AS regconfig), $4), 'A') || \
                   setweight(to_tsvector(CAST($6 AS regconfig), $5), 'B'))",
                [
                    kind.as_str().into(),
                    slug.into(),
                    locale.into(),
                    title.into(),
                    body.into(),
                    config.into(),
                ],
            )
        }
    };
    db.execute_raw(statement).await?;
    Ok(())
}

/// A page to create, in one locale.
pub struct NewPageText<'a> {
    pub locale: &'a str,
    pub title: &'a str,
    pub summary: Option<&'a str>,
    pub body: &'a str,
}

pub struct NewMedia<'a> {
    pub kind: MediaKind,
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub url: Option<&'a str>,
    pub transcript: Option<&'a str>,
    pub captions_url: Option<&'a str>,
    pub alt_text: Option<&'a str>,
}

/// The id of the page with this slug, if there is one.
pub async fn page_id_by_slug(db: &impl ConnectionTrait, slug: &Slug) -> AppResult<Option<Uuid>> {
    Ok(page::Entity::find()
        .select_only()
        .column(page::Column::Id)
        .filter(page::Column::Slug.eq(slug.as_str()))
        .into_tuple()
        .one(db)
        .await?)
}

/// Creates a page with its media; returns its id.
pub async fn insert_page(
    db: &impl ConnectionTrait,
    slug: &Slug,
    status: PageStatus,
    published_at: Option<DateTime<Utc>>,
    media: &[NewMedia<'_>],
) -> AppResult<Uuid> {
    let now = crate::db::now();
    let id = Uuid::now_v7();
    page::Entity::insert(page::ActiveModel {
        id: Set(id),
        slug: Set(slug.as_str().to_owned()),
        status: Set(status),
        version: Set(1),
        published_at: Set(published_at),
        created_at: Set(now),
        updated_at: Set(now),
        scheduled_at: Set(None),
        scheduled_version: Set(None),
        published_version: Set(published_at.map(|_| 1)),
    })
    .exec_without_returning(db)
    .await?;
    for (position, item) in media.iter().enumerate() {
        page_media::Entity::insert(page_media::ActiveModel {
            page_id: Set(id),
            position: Set(position as i32),
            kind: Set(item.kind),
            title: Set(item.title.to_owned()),
            description: Set(item.description.map(str::to_owned)),
            url: Set(item.url.map(str::to_owned)),
            transcript: Set(item.transcript.map(str::to_owned)),
            captions_url: Set(item.captions_url.map(str::to_owned)),
            alt_text: Set(item.alt_text.map(str::to_owned)),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(id)
}

/// The locales a page already has text in.
pub async fn page_locales(db: &impl ConnectionTrait, page_id: Uuid) -> AppResult<Vec<String>> {
    Ok(page_translation::Entity::find()
        .select_only()
        .column(page_translation::Column::Locale)
        .filter(page_translation::Column::PageId.eq(page_id))
        .into_tuple()
        .all(db)
        .await?)
}

/// Adds a page's text in one locale, rendering its HTML and, when the page is
/// public, indexing it for search.
pub async fn insert_page_text(
    db: &impl ConnectionTrait,
    page_id: Uuid,
    slug: &Slug,
    indexed: bool,
    text: &NewPageText<'_>,
) -> AppResult<()> {
    page_translation::Entity::insert(page_translation::ActiveModel {
        page_id: Set(page_id),
        locale: Set(text.locale.to_owned()),
        title: Set(text.title.to_owned()),
        summary: Set(text.summary.map(str::to_owned)),
        body: Set(text.body.to_owned()),
        body_html: Set(markdown::to_html(text.body)),
        updated_at: Set(crate::db::now()),
    })
    .exec_without_returning(db)
    .await?;
    if indexed {
        let mut body = text.summary.map(|s| format!("{s}\n")).unwrap_or_default();
        body.push_str(&markdown::to_plain_text(text.body));
        index_document(
            db,
            SearchHitKind::Page,
            slug.as_str(),
            text.locale,
            text.title,
            &body,
        )
        .await?;
    }
    Ok(())
}

/// The organisation to seed.
pub struct NewOrganisation<'a> {
    pub slug: &'a str,
    pub default_locale: &'a str,
}

pub struct NewOrganisationText<'a> {
    pub locale: &'a str,
    pub name: &'a str,
    pub vision: &'a str,
    pub mission: &'a str,
    pub purpose: &'a str,
    /// (title, description) in order.
    pub values: Vec<(&'a str, Option<&'a str>)>,
}

/// The organisation's id, creating it if it does not exist yet.
pub async fn ensure_organisation(
    db: &impl ConnectionTrait,
    new: &NewOrganisation<'_>,
) -> AppResult<(Uuid, bool)> {
    if let Some(existing) = organisation::Entity::find()
        .filter(organisation::Column::Slug.eq(new.slug))
        .one(db)
        .await?
    {
        return Ok((existing.id, false));
    }
    let now = crate::db::now();
    let id = Uuid::now_v7();
    organisation::Entity::insert(organisation::ActiveModel {
        id: Set(id),
        slug: Set(new.slug.to_owned()),
        default_locale: Set(new.default_locale.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    Ok((id, true))
}

/// Adds the organisation's text in a locale it does not have yet. Returns
/// whether anything was added.
pub async fn ensure_organisation_text(
    db: &impl ConnectionTrait,
    organisation_id: Uuid,
    text: &NewOrganisationText<'_>,
) -> AppResult<bool> {
    let exists = organisation_translation::Entity::find()
        .filter(organisation_translation::Column::OrganisationId.eq(organisation_id))
        .filter(organisation_translation::Column::Locale.eq(text.locale))
        .count(db)
        .await?
        > 0;
    if exists {
        return Ok(false);
    }
    organisation_translation::Entity::insert(organisation_translation::ActiveModel {
        organisation_id: Set(organisation_id),
        locale: Set(text.locale.to_owned()),
        name: Set(text.name.to_owned()),
        vision: Set(text.vision.to_owned()),
        mission: Set(text.mission.to_owned()),
        purpose: Set(text.purpose.to_owned()),
        updated_at: Set(crate::db::now()),
    })
    .exec_without_returning(db)
    .await?;
    for (position, (title, description)) in text.values.iter().enumerate() {
        organisation_value::Entity::insert(organisation_value::ActiveModel {
            organisation_id: Set(organisation_id),
            locale: Set(text.locale.to_owned()),
            position: Set(position as i32 + 1),
            title: Set((*title).to_owned()),
            description: Set(description.map(str::to_owned)),
        })
        .exec_without_returning(db)
        .await?;
    }
    Ok(true)
}

/// A service to seed.
pub struct NewService<'a> {
    pub slug: &'a Slug,
    pub name: &'a str,
    pub description: &'a str,
    pub category: &'a str,
    pub parent_organisation: &'a str,
    pub ods_code: Option<&'a str>,
}

/// Adds a service unless one with its slug exists. Returns whether it was added.
pub async fn ensure_service(db: &impl ConnectionTrait, new: &NewService<'_>) -> AppResult<bool> {
    let exists = service::Entity::find()
        .filter(service::Column::Slug.eq(new.slug.as_str()))
        .count(db)
        .await?
        > 0;
    if exists {
        return Ok(false);
    }
    let now = crate::db::now();
    service::Entity::insert(service::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(new.slug.as_str().to_owned()),
        name: Set(new.name.to_owned()),
        description: Set(new.description.to_owned()),
        category: Set(new.category.to_owned()),
        parent_organisation: Set(new.parent_organisation.to_owned()),
        ods_code: Set(new.ods_code.map(str::to_owned)),
        active: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(db)
    .await?;
    index_document(
        db,
        SearchHitKind::Service,
        new.slug.as_str(),
        crate::locale::DEFAULT_LOCALE,
        new.name,
        &format!(
            "{}\n{}\n{}",
            new.description, new.category, new.parent_organisation
        ),
    )
    .await?;
    Ok(true)
}

/// Takes a page's text out of the search index, in every locale.
pub async fn remove_from_index(
    db: &impl ConnectionTrait,
    kind: SearchHitKind,
    slug: &str,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        match backend {
            DbBackend::Sqlite => "DELETE FROM search_document WHERE kind = ? AND slug = ?",
            _ => "DELETE FROM search_document WHERE kind = $1 AND slug = $2",
        },
        [kind.as_str().into(), slug.into()],
    ))
    .await?;
    Ok(())
}

/// Indexes a page's published text in one locale.
pub async fn index_page_text(
    db: &impl ConnectionTrait,
    slug: &str,
    locale: &str,
    title: &str,
    summary: Option<&str>,
    body: &str,
) -> AppResult<()> {
    let mut text = summary.map(|s| format!("{s}\n")).unwrap_or_default();
    text.push_str(&markdown::to_plain_text(body));
    index_document(db, SearchHitKind::Page, slug, locale, title, &text).await
}
