//! Content's GraphQL face: the organisation, pages, services and search, for
//! partner websites. Everything here is public and cacheable.

use async_graphql::connection::{Connection, Edge, EmptyFields};
use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;

use super::model::{
    MediaKind, MediaView, OrganisationView, PageStatus, PageView, SearchHitKind, SearchHitView,
    SearchText, ServiceView, Slug,
};
use super::{markdown, store};
use crate::error::{AppError, IntoGraphql as _};
use crate::locale::LocaleChain;
use crate::pagination::{self, Limits};

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
    ) -> async_graphql::Result<Organisation> {
        let chain = LocaleChain::from_argument(locale.as_deref()).into_graphql()?;
        store::organisation(ctx.data::<DatabaseConnection>()?, &chain)
            .await
            .and_then(|found| found.ok_or(AppError::NotFound("the organisation")))
            .map(Organisation)
            .into_graphql()
    }

    /// A published page by its slug, such as `vision-and-purpose`, in the
    /// requested locale or, failing that, English. Null when there is no such
    /// published page.
    #[graphql(cache_control(max_age = 60))]
    async fn page(
        &self,
        ctx: &Context<'_>,
        slug: String,
        locale: Option<String>,
    ) -> async_graphql::Result<Option<Page>> {
        let slug = Slug::parse(&slug, "slug").into_graphql()?;
        let chain = LocaleChain::from_argument(locale.as_deref()).into_graphql()?;
        store::published_page(ctx.data::<DatabaseConnection>()?, &slug, &chain)
            .await
            .map(|page| page.map(Page))
            .into_graphql()
    }

    /// Published pages in slug order, `first` at a time (default 20).
    #[graphql(
        cache_control(max_age = 60),
        complexity = "(first.unwrap_or(20).clamp(0, 1000) as usize).saturating_mul(child_complexity)"
    )]
    async fn pages(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        locale: Option<String>,
    ) -> async_graphql::Result<Connection<String, Page, PageConnectionTotal, EmptyFields>> {
        let first = pagination::page_size(first, *ctx.data::<Limits>()?).into_graphql()?;
        let after = after
            .map(|cursor| pagination::decode_cursor("page", &cursor))
            .transpose()
            .into_graphql()?;
        let chain = LocaleChain::from_argument(locale.as_deref()).into_graphql()?;
        let (pages, has_next) = store::published_pages(
            ctx.data::<DatabaseConnection>()?,
            &chain,
            first,
            after.as_deref(),
        )
        .await
        .into_graphql()?;
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
    async fn services(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Service>> {
        store::active_services(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|services| services.into_iter().map(Service).collect())
            .into_graphql()
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
    ) -> async_graphql::Result<Vec<SearchHit>> {
        let text = SearchText::parse(&text).into_graphql()?;
        let chain = LocaleChain::from_argument(locale.as_deref()).into_graphql()?;
        let first = match first {
            None => 10,
            Some(first) if (0..=MAX_SEARCH_HITS).contains(&first) => first as u64,
            Some(_) => {
                return Err(AppError::bad_input("first", "must be between 0 and 50"))
                    .into_graphql();
            }
        };
        store::search(ctx.data::<DatabaseConnection>()?, &text, &chain, first)
            .await
            .map(|hits| hits.into_iter().map(SearchHit).collect())
            .into_graphql()
    }
}

/// The extra fields of a page list.
pub struct PageConnectionTotal;

#[Object]
impl PageConnectionTotal {
    /// How many published pages there are in all.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        store::count_published_pages(ctx.data::<DatabaseConnection>()?)
            .await
            .map(|count| i32::try_from(count).unwrap_or(i32::MAX))
            .into_graphql()
    }
}

/// The partnership's own description of itself.
pub struct Organisation(OrganisationView);

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
pub struct Page(PageView);

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
