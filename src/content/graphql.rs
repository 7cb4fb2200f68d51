//! Content's GraphQL face: the organisation, pages, services and search, for
//! partner websites. Everything here is public and cacheable.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::ContentSignals;
use super::editing::{OrganisationDraft, PageDraft};
use super::model::{
    MediaDraft, MediaKind, MediaView, OrganisationView, PageStatus, PageView, SearchHitKind,
    SearchHitView, SearchText, ServiceView, Slug, limits, media_url,
};
use super::{actions, editing, markdown, store};
use crate::auth::{RoleGuard, viewer};
use crate::error::{AppError, AppResult};
use crate::ids::PageId;
use crate::locale::{Locale, LocaleChain};
use crate::pagination::{self, Limits};
use crate::submissions::model::FreeText;

/// Content queries.
#[derive(Default)]
pub struct ContentQuery;

/// The most hits `search` returns.
const MAX_SEARCH_HITS: i32 = 50;

#[Object]
impl ContentQuery {
    /// The partnership: its name, vision, mission, purpose and values, in the
    /// requested locale or, failing that, English. `locale` is a language tag
    /// such as `en` or `bn`.
    #[graphql(cache_control(max_age = 60))]
    async fn organisation(
        &self,
        ctx: &Context<'_>,
        locale: Option<String>,
    ) -> AppResult<Organisation> {
        let chain = LocaleChain::from_argument(locale.as_deref())?;
        store::organisation(ctx.data::<DatabaseConnection>()?, &chain)
            .await
            .and_then(|found| found.ok_or(AppError::NotFound("the organisation")))
            .map(Organisation)
    }

    /// A published page by its slug, such as `vision-and-purpose`, in the
    /// requested locale or, failing that, English. Null when there is no such
    /// published page. With `preview: true` (EDITOR) the newest draft is shown
    /// instead, whether published or not.
    #[graphql(cache_control(max_age = 60), guard = "RoleGuard::editor_when(preview)")]
    async fn page(
        &self,
        ctx: &Context<'_>,
        slug: String,
        locale: Option<String>,
        #[graphql(default = false)] preview: bool,
    ) -> AppResult<Option<Page>> {
        let slug = Slug::parse(&slug, "slug")?;
        let chain = LocaleChain::from_argument(locale.as_deref())?;
        let db = ctx.data::<DatabaseConnection>()?;
        if preview {
            let Some(id) = editing::page_id_for_editor(db, &slug).await? else {
                return Ok(None);
            };
            return editing::editor_view(db, id, &chain)
                .await
                .map(|page| page.map(Page));
        }
        store::published_page(db, &slug, &chain)
            .await
            .map(|page| page.map(Page))
    }

    /// Every page, drafts and withdrawn pages too, in slug order, each as
    /// `page(preview: true)` shows it: the newest draft in the requested
    /// locale or, failing that, English (or the first locale it has). For
    /// the editors' list: `status`, `availableLocales`, `scheduledAt` and
    /// `publishedVersion` say where each page is. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn all_pages(&self, ctx: &Context<'_>, locale: Option<String>) -> AppResult<Vec<Page>> {
        let chain = LocaleChain::from_argument(locale.as_deref())?;
        editing::editor_views(ctx.data::<DatabaseConnection>()?, &chain)
            .await
            .map(|pages| pages.into_iter().map(Page).collect())
    }

    /// `body` (Markdown) as `Page.bodyHtml` will show it once saved, for a
    /// preview before saving; nothing is stored. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn preview_page_body(&self, body: String) -> AppResult<String> {
        let body = text(&body, "body", limits::BODY)?;
        Ok(markdown::to_html(body.as_str()))
    }

    /// Published pages in slug order, `first` at a time (default 20).
    #[graphql(
        cache_control(max_age = 60),
        complexity = "crate::pagination::complexity(first, child_complexity)"
    )]
    async fn pages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        locale: Option<String>,
    ) -> AppResult<Connection<String, Page, PageConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?)?;
        let after = after
            .map(|cursor| pagination::decode_cursor("page", &cursor))
            .transpose()?;
        let chain = LocaleChain::from_argument(locale.as_deref())?;
        let (pages, has_next) = store::published_pages(
            ctx.data::<DatabaseConnection>()?,
            &chain,
            first,
            after.as_deref(),
        )
        .await?;
        let mut connection =
            Connection::with_additional_fields(after.is_some(), has_next, PageConnectionTotal);
        connection.edges.extend(
            pages
                .into_iter()
                .map(|page| Edge::new(pagination::encode_cursor("page", &page.slug), Page(page))),
        );
        Ok(connection)
    }

    /// The services residents can give feedback about, by name. Use a
    /// service's `slug` as `serviceSlug` when submitting feedback.
    #[graphql(cache_control(max_age = 60))]
    async fn services(&self, ctx: &Context<'_>) -> AppResult<Vec<Service>> {
        store::active_services(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|services| services.into_iter().map(Service).collect())
    }

    /// Full-text search over published pages and services, best match first.
    /// Every word must match; the last may be the start of a word.
    #[graphql(
        cache_control(max_age = 60),
        complexity = "(first.unwrap_or(10).clamp(0, 50) as usize).saturating_mul(child_complexity)"
    )]
    async fn search(
        &self,
        ctx: &Context<'_>,
        text: String,
        locale: Option<String>,
        #[graphql(desc = "How many hits, at most 50 (default 10).")] first: Option<i32>,
    ) -> AppResult<Vec<SearchHit>> {
        let text = SearchText::parse(&text)?;
        let chain = LocaleChain::from_argument(locale.as_deref())?;
        let first = match first {
            None => 10,
            Some(first) if (0..=MAX_SEARCH_HITS).contains(&first) => first as u64,
            Some(_) => {
                return Err(AppError::bad_input("first", "must be between 0 and 50"));
            }
        };
        store::search(ctx.data::<DatabaseConnection>()?, &text, &chain, first)
            .await
            .map(|hits| hits.into_iter().map(SearchHit).collect())
    }
}

/// The extra fields of a page list.
pub struct PageConnectionTotal;

#[Object]
impl PageConnectionTotal {
    /// How many published pages there are in all.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<i32> {
        store::count_published_pages(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
    }
}

/// The partnership's own description of itself.
pub struct Organisation(pub OrganisationView);

#[Object]
impl Organisation {
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// One sentence: what the partnership is for.
    async fn vision(&self) -> &str {
        &self.0.vision
    }

    async fn mission(&self) -> &str {
        &self.0.mission
    }

    /// Plain text; paragraphs are separated by a blank line.
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }

    /// `purpose` as HTML paragraphs.
    async fn purpose_html(&self) -> String {
        markdown::to_html(&self.0.purpose)
    }

    /// The partnership's values, in their published order.
    async fn values(&self) -> Vec<OrganisationValue> {
        self.0
            .values
            .iter()
            .map(|value| OrganisationValue {
                position: value.position,
                title: value.title.clone(),
                description: value.description.clone(),
            })
            .collect()
    }

    /// The locale this answer is in: the one requested if the text exists in
    /// it, otherwise the fallback.
    async fn locale(&self) -> &str {
        &self.0.locale
    }

    /// Every locale the organisation's text exists in.
    async fn available_locales(&self) -> &[String] {
        &self.0.available_locales
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One of the partnership's values.
#[derive(SimpleObject)]
pub struct OrganisationValue {
    /// 1 for the first value, and so on.
    position: i32,
    title: String,
    description: Option<String>,
}

/// A page of the partnership's content.
pub struct Page(pub PageView);

#[Object]
impl Page {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    /// The locale this answer is in: the one requested if the page exists in
    /// it, otherwise the fallback.
    async fn locale(&self) -> &str {
        &self.0.locale
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A sentence or two for listings and link previews.
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }

    /// The body as Markdown.
    async fn body(&self) -> &str {
        &self.0.body
    }

    /// The body as HTML, safe to insert into a page: raw HTML in the source is
    /// escaped and only http, https, mailto and tel links are kept.
    async fn body_html(&self) -> &str {
        &self.0.body_html
    }

    /// Videos, images and documents that belong to the page.
    async fn media(&self) -> Vec<Media> {
        self.0.media.iter().cloned().map(Media).collect()
    }

    async fn status(&self) -> PageStatus {
        self.0.status
    }

    /// Goes up by one with every saved change.
    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Every locale the page exists in.
    async fn available_locales(&self) -> &[String] {
        &self.0.available_locales
    }

    /// When the page is set to be published next. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn scheduled_at(&self) -> Option<DateTime<Utc>> {
        self.0.scheduled_at
    }

    /// The version the public reads, once the page has been published: a
    /// higher `version` is a draft still to publish. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn published_version(&self) -> Option<i32> {
        self.0.published_version
    }

    /// Every saved revision, newest first, with who saved it. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn revisions(&self, ctx: &Context<'_>) -> AppResult<Vec<PageRevision>> {
        editing::revisions(ctx.data::<DatabaseConnection>()?, self.0.id)
            .await
            .map(|revisions| revisions.into_iter().map(PageRevision).collect())
    }
}

/// One saved draft of a page, in one locale.
pub struct PageRevision(super::entity::page_revision::Model);

#[Object]
impl PageRevision {
    /// The page's version this revision made.
    async fn version(&self) -> i32 {
        self.0.version
    }

    async fn locale(&self) -> &str {
        &self.0.locale
    }

    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }

    async fn body(&self) -> &str {
        &self.0.body
    }

    async fn author(
        &self,
        ctx: &Context<'_>,
    ) -> AppResult<Option<crate::staff::graphql::StaffMember>> {
        crate::loaders::staff_member(ctx, self.0.author_id.map(crate::ids::StaffId::from_uuid))
            .await
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
}

/// A video, image, audio clip or document on a page.
pub struct Media(MediaView);

#[Object]
impl Media {
    async fn kind(&self) -> MediaKind {
        self.0.kind
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// What the media shows, in words.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    /// Where the media lives; null until the partnership supplies it.
    async fn url(&self) -> Option<&str> {
        self.0.url.as_deref()
    }

    /// A full text transcript, for video and audio.
    async fn transcript(&self) -> Option<&str> {
        self.0.transcript.as_deref()
    }

    /// A captions file (WebVTT), for video.
    async fn captions_url(&self) -> Option<&str> {
        self.0.captions_url.as_deref()
    }

    /// Alternative text, for images.
    async fn alt_text(&self) -> Option<&str> {
        self.0.alt_text.as_deref()
    }
}

/// A health or care service residents can give feedback about.
pub struct Service(pub ServiceView);

#[Object]
impl Service {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// The stable name to send as `serviceSlug`.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn name(&self) -> &str {
        &self.0.name
    }

    async fn description(&self) -> &str {
        &self.0.description
    }

    /// Hospital, Community health, Mental health, Primary care, Social care,
    /// Voluntary sector or Public health.
    async fn category(&self) -> &str {
        &self.0.category
    }

    /// The organisation that runs the service.
    async fn parent_organisation(&self) -> &str {
        &self.0.parent_organisation
    }

    /// The NHS Organisation Data Service code of the organisation that runs
    /// the service, where it has one.
    async fn ods_code(&self) -> Option<&str> {
        self.0.ods_code.as_deref()
    }
}

/// A page or service that matched a search.
pub struct SearchHit(SearchHitView);

#[Object]
impl SearchHit {
    async fn kind(&self) -> SearchHitKind {
        self.0.kind
    }

    /// The page's or service's slug.
    async fn slug(&self) -> &str {
        &self.0.slug
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    /// A short plain-text extract around the matched words.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }

    /// The locale of the matched text.
    async fn locale(&self) -> &str {
        &self.0.locale
    }

    /// Relevance: higher is better. Comparable only within one answer.
    async fn score(&self) -> f64 {
        self.0.score
    }
}

/// A video, image, audio clip or document, as an editor sends it.
#[derive(InputObject)]
pub struct MediaInput {
    kind: MediaKind,
    title: String,
    description: Option<String>,
    /// http or https.
    url: Option<String>,
    /// Needed for VIDEO (or `captionsUrl`) and AUDIO before publishing.
    transcript: Option<String>,
    /// A WebVTT file, http or https.
    captions_url: Option<String>,
    /// Needed for IMAGE before publishing.
    alt_text: Option<String>,
}

/// A new draft of a page in one locale. Without `id` it creates a page.
#[derive(InputObject)]
pub struct SavePageInput {
    /// The page to change; leave out to create one.
    id: Option<ID>,
    slug: String,
    /// The locale this text is in (default `en`).
    locale: Option<String>,
    title: String,
    summary: Option<String>,
    /// Markdown.
    body: String,
    /// The `version` you read; needed to change an existing page. If the page
    /// changed since, the answer is CONFLICT and nothing is saved.
    expected_version: Option<i32>,
    /// Replaces the page's media; leave out to keep them.
    media: Option<Vec<MediaInput>>,
}

/// The organisation's text in one locale; it is public at once.
#[derive(InputObject)]
pub struct OrganisationInput {
    /// Default `en`.
    locale: Option<String>,
    name: String,
    vision: String,
    mission: String,
    /// Plain text; separate paragraphs with a blank line.
    purpose: String,
    /// In order.
    values: Vec<OrganisationValueInput>,
}

#[derive(InputObject)]
pub struct OrganisationValueInput {
    title: String,
    description: Option<String>,
}

fn text(value: &str, field: &str, max: usize) -> AppResult<FreeText> {
    FreeText::parse(value, field, max)
}

fn optional_text(value: Option<&str>, field: &str, max: usize) -> AppResult<Option<FreeText>> {
    value
        .filter(|value| !value.trim().is_empty())
        .map(|value| text(value, field, max))
        .transpose()
}

fn media_drafts(media: &[MediaInput]) -> AppResult<Vec<MediaDraft>> {
    if media.len() > limits::MEDIA_ITEMS {
        return Err(AppError::bad_input(
            "media",
            format!("at most {} items", limits::MEDIA_ITEMS),
        ));
    }
    media
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let field = |name: &str| format!("media[{i}].{name}");
            Ok(MediaDraft {
                kind: item.kind,
                title: text(&item.title, &field("title"), limits::MEDIA_TEXT)?
                    .as_str()
                    .to_owned(),
                description: optional_text(
                    item.description.as_deref(),
                    &field("description"),
                    limits::MEDIA_TEXT,
                )?
                .map(|t| t.as_str().to_owned()),
                url: item
                    .url
                    .as_deref()
                    .map(|url| media_url(url, &field("url")))
                    .transpose()?,
                transcript: optional_text(
                    item.transcript.as_deref(),
                    &field("transcript"),
                    limits::TRANSCRIPT,
                )?
                .map(|t| t.as_str().to_owned()),
                captions_url: item
                    .captions_url
                    .as_deref()
                    .map(|url| media_url(url, &field("captionsUrl")))
                    .transpose()?,
                alt_text: optional_text(
                    item.alt_text.as_deref(),
                    &field("altText"),
                    limits::MEDIA_TEXT,
                )?
                .map(|t| t.as_str().to_owned()),
            })
        })
        .collect()
}

fn page_id(id: &ID) -> AppResult<PageId> {
    PageId::parse_or_none(id).ok_or(AppError::NotFound("the page"))
}

async fn editor_page(ctx: &Context<'_>, id: PageId, locale: Option<&Locale>) -> AppResult<Page> {
    let chain = LocaleChain::new(locale.cloned());
    editing::editor_view(ctx.data::<DatabaseConnection>()?, id, &chain)
        .await
        .and_then(|page| page.ok_or(AppError::NotFound("the page")))
        .map(Page)
}

/// Editing content. Every change is audited.
#[derive(Default)]
pub struct ContentMutation;

#[Object]
impl ContentMutation {
    /// Saves a new draft revision of a page in one locale (creating the page
    /// when `id` is left out). Drafts are never public; see `page(preview:
    /// true)`. Answers the page as the editor now sees it. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn save_page(&self, ctx: &Context<'_>, input: SavePageInput) -> AppResult<Page> {
        let actor = viewer(ctx)?.id();
        let locale = match input.locale.as_deref() {
            Some(tag) => Locale::parse(tag, "locale")?,
            None => Locale::default_locale(),
        };
        let draft = PageDraft {
            slug: Slug::parse(input.slug.trim(), "slug")?,
            locale: locale.clone(),
            title: text(&input.title, "title", limits::TITLE)?,
            summary: optional_text(input.summary.as_deref(), "summary", limits::SUMMARY)?,
            body: text(&input.body, "body", limits::BODY)?,
            media: input.media.as_deref().map(media_drafts).transpose()?,
        };
        let existing = input
            .id
            .as_ref()
            .map(|id| page_id(id).map(|id| (id, input.expected_version)))
            .transpose()?;
        let id = actions::save_page(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<ContentSignals>()?,
            actor,
            existing,
            &draft,
        )
        .await?;
        editor_page(ctx, id, Some(&locale)).await
    }

    /// Publishes the page's newest drafts now, or schedules them for `at`.
    /// Media must be accessible first: a transcript or captions for video,
    /// a transcript for audio, alternative text for images. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn publish_page(
        &self,
        ctx: &Context<'_>,
        id: ID,
        at: Option<DateTime<Utc>>,
    ) -> AppResult<Page> {
        let actor = viewer(ctx)?.id();
        let id = page_id(&id)?;
        actions::publish(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<ContentSignals>()?,
            actor,
            id,
            at,
        )
        .await?;
        editor_page(ctx, id, None).await
    }

    /// Withdraws a page from the public (and cancels a scheduled publish).
    /// EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn unpublish_page(&self, ctx: &Context<'_>, id: ID) -> AppResult<Page> {
        let actor = viewer(ctx)?.id();
        let id = page_id(&id)?;
        actions::unpublish(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<ContentSignals>()?,
            actor,
            id,
        )
        .await?;
        editor_page(ctx, id, None).await
    }

    /// Makes an old revision the newest draft again (a new revision with its
    /// text). Publish to make it public. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn restore_page_revision(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: i32,
        expected_version: i32,
    ) -> AppResult<Page> {
        let actor = viewer(ctx)?.id();
        let id = page_id(&id)?;
        actions::restore_revision(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<ContentSignals>()?,
            actor,
            id,
            version,
            expected_version,
        )
        .await?;
        editor_page(ctx, id, None).await
    }

    /// Replaces the organisation's text in one locale; public at once. EDITOR.
    #[graphql(guard = "RoleGuard::EDITOR")]
    async fn update_organisation(
        &self,
        ctx: &Context<'_>,
        input: OrganisationInput,
    ) -> AppResult<Organisation> {
        let actor = viewer(ctx)?.id();
        let locale = match input.locale.as_deref() {
            Some(tag) => Locale::parse(tag, "locale")?,
            None => Locale::default_locale(),
        };
        if input.values.len() > limits::VALUES {
            return Err(AppError::bad_input(
                "values",
                format!("at most {}", limits::VALUES),
            ));
        }
        let max = limits::ORGANISATION_TEXT;
        let draft = OrganisationDraft {
            locale: locale.clone(),
            name: text(&input.name, "name", limits::TITLE)?,
            vision: text(&input.vision, "vision", max)?,
            mission: text(&input.mission, "mission", max)?,
            purpose: text(&input.purpose, "purpose", max)?,
            values: input
                .values
                .iter()
                .enumerate()
                .map(|(i, value)| {
                    Ok((
                        text(&value.title, &format!("values[{i}].title"), limits::TITLE)?,
                        optional_text(
                            value.description.as_deref(),
                            &format!("values[{i}].description"),
                            max,
                        )?,
                    ))
                })
                .collect::<AppResult<Vec<_>>>()?,
        };
        actions::update_organisation(
            ctx.data::<DatabaseConnection>()?,
            ctx.data::<ContentSignals>()?,
            actor,
            &draft,
        )
        .await?;
        store::organisation(
            ctx.data::<DatabaseConnection>()?,
            &LocaleChain::new(Some(locale)),
        )
        .await
        .and_then(|found| found.ok_or(AppError::NotFound("the organisation")))
        .map(Organisation)
    }
}
