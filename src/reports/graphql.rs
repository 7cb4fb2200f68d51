//! Reports' GraphQL face: `feedbackStats`, the Friends and Family Test
//! figures staff dashboards read; `boardReport`, the monthly report for the
//! Board as one HTML file; and `feedbackExport`, the CSV export without the
//! free text. MODERATOR and ANALYST; no free text in any of them.

use std::collections::HashSet;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use chrono::{DateTime, Datelike as _, Utc};
use sea_orm::DatabaseConnection;
use uuid::Uuid;

use super::model::{CHANNELS, Cube, Figures, Month, RATINGS, RatingCounts, StatsPeriod};
use super::store::{self, StatsQuery};
use super::{export, monthly};
use crate::auth::RoleGuard;
use crate::content::graphql::Service;
use crate::content::model::ServiceView;
use crate::content::store as content_store;
use crate::error::{AppError, AppResult};
use crate::submissions::model::{Channel, FftRating};

/// The most periods `byPeriod` lists (the latest are kept): 20 years of months.
const MAX_PERIODS: usize = 240;

/// The most rows one `feedbackExport` holds (about 15 MB of CSV); a larger
/// export is the command line's (`hamlet export feedback`).
pub const MAX_EXPORT_ROWS: u64 = 100_000;

/// A file to save: a report or an export, with a name to save it under.
#[derive(SimpleObject)]
pub struct ReportFile {
    /// A name to save it under, e.g. `feedback-report-2026-05.html`.
    file_name: String,
    /// Its media type, e.g. `text/html; charset=utf-8`.
    media_type: String,
    /// The file itself.
    content: String,
}

/// Which feedback the statistics count. Every filter given must match.
/// Feedback marked SPAM never counts.
#[derive(InputObject, Default)]
pub struct StatsFilter {
    /// Received at or after this time.
    received_from: Option<DateTime<Utc>>,
    /// Received before this time.
    received_to: Option<DateTime<Utc>>,
    /// About this service (a `slug` from `services`).
    service_slug: Option<String>,
    /// Through any of these channels.
    channel: Option<Vec<Channel>>,
}

async fn stats_query(
    db: &DatabaseConnection,
    filter: Option<StatsFilter>,
) -> AppResult<StatsQuery> {
    let filter = filter.unwrap_or_default();
    if let (Some(from), Some(to)) = (filter.received_from, filter.received_to)
        && from > to
    {
        return Err(AppError::bad_input(
            "filter.receivedTo",
            "is before receivedFrom",
        ));
    }
    for (field, at) in [
        ("filter.receivedFrom", filter.received_from),
        ("filter.receivedTo", filter.received_to),
    ] {
        if at.is_some_and(|at| !(1..=9999).contains(&at.year())) {
            return Err(AppError::bad_input(field, "must be in the years 1 to 9999"));
        }
    }
    let service_id = match filter.service_slug.as_deref() {
        None => None,
        Some(slug) => Some(
            content_store::service_id_by_slug(db, slug.trim())
                .await?
                .ok_or_else(|| {
                    AppError::bad_input("filter.serviceSlug", "is not one of `services`")
                })?,
        ),
    };
    let mut channels = filter.channel.unwrap_or_default();
    channels.sort_by_key(|channel| channel.as_str());
    channels.dedup();
    Ok(StatsQuery {
        received_from: filter.received_from,
        received_to: filter.received_to,
        service_id,
        channels,
    })
}

/// Statistics.
#[derive(Default)]
pub struct ReportsQuery;

#[Object]
impl ReportsQuery {
    /// Friends and Family Test figures for the feedback the filter matches,
    /// overall and broken down by rating, service, channel and period.
    /// Feedback marked SPAM never counts. MODERATOR or ANALYST.
    ///
    /// Percentages follow NHS England's definitions: percent positive is
    /// (VERY_GOOD + GOOD) / (all responses − DONT_KNOW) × 100, and percent
    /// negative is (POOR + VERY_POOR) / (all responses − DONT_KNOW) × 100;
    /// NEITHER_GOOD_NOR_POOR stays in the denominator. Both are null when the
    /// denominator is 0.
    ///
    /// Small numbers are withheld: a group (the whole, or any row of a
    /// breakdown) with 1 to 4 responses shows its `total` but not its rating
    /// split: rating counts and percentages are null and `suppressed` is
    /// true. A group with no responses shows zeros.
    #[graphql(guard = "RoleGuard::STATISTICS")]
    async fn feedback_stats(
        &self,
        ctx: &Context<'_>,
        filter: Option<StatsFilter>,
    ) -> AppResult<FeedbackStats> {
        let db = ctx.data::<DatabaseConnection>()?;
        let query = stats_query(db, filter).await?;
        let cube = store::cube(db, &query).await?;
        let services = services_listed(db, &query, &cube).await?;
        Ok(FeedbackStats {
            whole: cube.whole(),
            cube,
            services,
            query,
        })
    }

    /// The monthly Friends and Family Test report for the Board, as
    /// `hamlet report --month` writes it: one self-contained HTML file
    /// (inline CSS and SVG charts, no scripts, nothing fetched) covering the
    /// twelve months that end with `month` (`YYYY-MM`, not in the future).
    /// Figures only, never free text; small numbers are withheld as in
    /// `feedbackStats`. MODERATOR or ANALYST.
    #[graphql(guard = "RoleGuard::STATISTICS")]
    async fn board_report(&self, ctx: &Context<'_>, month: String) -> AppResult<ReportFile> {
        let db = ctx.data::<DatabaseConnection>()?;
        let month = Month::parse(&month, "month")?;
        if month > Month::of(crate::db::now()) {
            return Err(AppError::bad_input("month", "is in the future"));
        }
        let report = monthly::gather(db, month).await?;
        Ok(ReportFile {
            file_name: format!("feedback-report-{month}.html"),
            media_type: "text/html; charset=utf-8".to_owned(),
            content: monthly::render(&report),
        })
    }

    /// The feedback that `feedbackStats` with the same filter counts (never
    /// SPAM), one CSV row each, oldest first, with a header: the columns of
    /// `hamlet export feedback` but `comment`, so no free text and no
    /// contact details (`reference, received_at, captured_at, service,
    /// rating, channel, locale, status, safeguarding, pii_flags, tags`).
    /// Cells a spreadsheet would run as a formula start with `'`. At most
    /// 100,000 rows: a filter matching more is BAD_USER_INPUT. MODERATOR or
    /// ANALYST.
    #[graphql(guard = "RoleGuard::STATISTICS")]
    async fn feedback_export(
        &self,
        ctx: &Context<'_>,
        filter: Option<StatsFilter>,
    ) -> AppResult<ReportFile> {
        let db = ctx.data::<DatabaseConnection>()?;
        let query = stats_query(db, filter).await?;
        let rows = store::cube(db, &query).await?.whole().total();
        if rows > MAX_EXPORT_ROWS {
            return Err(AppError::bad_input(
                "filter",
                format!(
                    "matches {rows} rows, more than the {MAX_EXPORT_ROWS} one file holds; choose fewer dates"
                ),
            ));
        }
        let mut csv = Vec::new();
        export::export_counted_feedback(db, &query, &mut csv).await?;
        let content = String::from_utf8(csv).map_err(|error| {
            AppError::Internal(anyhow::anyhow!("the export is not UTF-8: {error}"))
        })?;
        Ok(ReportFile {
            file_name: format!(
                "feedback-export-{}.csv",
                crate::db::now().format("%Y-%m-%d")
            ),
            media_type: "text/csv; charset=utf-8".to_owned(),
            content,
        })
    }
}

/// The services `byService` lists: those with responses, and every active
/// service (with zeros) unless the filter names one.
async fn services_listed(
    db: &DatabaseConnection,
    query: &StatsQuery,
    cube: &Cube,
) -> AppResult<Vec<ServiceView>> {
    let mut services = match query.service_id {
        Some(only) => content_store::services_by_ids(db, &[only]).await?,
        None => content_store::active_services(db).await?,
    };
    let listed: HashSet<Uuid> = services.iter().map(|service| service.id).collect();
    let missing: Vec<Uuid> = cube
        .by(|cell| cell.service)
        .into_keys()
        .filter(|id| !listed.contains(id))
        .collect();
    if !missing.is_empty() {
        services.extend(content_store::services_by_ids(db, &missing).await?);
    }
    services.sort_by(|a, b| a.name.cmp(&b.name).then(a.slug.cmp(&b.slug)));
    Ok(services)
}

fn count(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn rating_counts(figures: &Figures) -> Vec<RatingCount> {
    RATINGS
        .iter()
        .map(|&rating| RatingCount {
            rating,
            count: figures.counts.map(|counts| count(counts.get(rating))),
        })
        .collect()
}

/// Friends and Family Test figures. See `Query.feedbackStats` for the
/// definitions and the small-number rule.
pub struct FeedbackStats {
    whole: RatingCounts,
    cube: Cube,
    services: Vec<ServiceView>,
    query: StatsQuery,
}

/// Friends and Family Test figures. See `Query.feedbackStats` for the
/// definitions and the small-number rule.
#[Object]
impl FeedbackStats {
    /// Every response the filter matches. Always shown, also when the rating
    /// split is withheld.
    async fn total(&self) -> i32 {
        count(self.whole.total())
    }

    /// True when there are 1 to 4 responses, so the rating split and the
    /// percentages are withheld.
    async fn suppressed(&self) -> bool {
        self.whole.publish().suppressed
    }

    /// (VERY_GOOD + GOOD) / (all − DONT_KNOW) × 100, unrounded; null when
    /// withheld or when nobody rated.
    async fn percent_positive(&self) -> Option<f64> {
        self.whole.publish().percent_positive
    }

    /// (POOR + VERY_POOR) / (all − DONT_KNOW) × 100, unrounded; null when
    /// withheld or when nobody rated.
    async fn percent_negative(&self) -> Option<f64> {
        self.whole.publish().percent_negative
    }

    /// Responses per rating, every rating listed, best first.
    async fn by_rating(&self) -> Vec<RatingCount> {
        rating_counts(&self.whole.publish())
    }

    /// One row per service with responses, and every active service (with
    /// zeros) unless the filter names a service; by service name.
    async fn by_service(&self) -> Vec<ServiceStats> {
        let groups = self.cube.by(|cell| cell.service);
        self.services
            .iter()
            .map(|service| ServiceStats {
                service: Service(service.clone()),
                figures: GroupFigures::of(groups.get(&service.id).copied().unwrap_or_default()),
            })
            .collect()
    }

    /// One row per channel (those the filter names, or all five).
    async fn by_channel(&self) -> Vec<ChannelStats> {
        let groups = self.cube.by(|cell| cell.channel.as_str());
        CHANNELS
            .iter()
            .filter(|channel| {
                self.query.channels.is_empty() || self.query.channels.contains(channel)
            })
            .map(|&channel| ChannelStats {
                channel,
                figures: GroupFigures::of(
                    groups.get(channel.as_str()).copied().unwrap_or_default(),
                ),
            })
            .collect()
    }

    /// A time series by when feedback was received, oldest first, in calendar
    /// periods (UTC). It runs from the period holding `receivedFrom` (or the
    /// first response) to the one holding `receivedTo` (or the last
    /// response), never past the current period, with empty periods shown
    /// as zeros; at most the latest 240 periods.
    async fn by_period(
        &self,
        #[graphql(desc = "MONTH (the default), QUARTER or YEAR.")] period: Option<StatsPeriod>,
    ) -> Vec<PeriodStats> {
        let period = period.unwrap_or_default();
        let span = self.cube.month_span();
        let first = self
            .query
            .received_from
            .map(Month::of)
            .or(span.map(|(first, _)| first));
        let current = Month::of(Utc::now());
        let last = self
            .query
            .received_to
            .map(Month::before)
            .or(span.map(|(_, last)| last))
            .map(|last| last.min(current));
        let (Some(first), Some(last)) = (first, last) else {
            return Vec::new();
        };
        let groups = self.cube.by(|cell| period.start_of(cell.month));
        period
            .starts(first, last, MAX_PERIODS)
            .into_iter()
            .map(|start| PeriodStats {
                period: period.label(start),
                start: start.start(),
                end: start.plus(period.months()).start(),
                figures: GroupFigures::of(groups.get(&start).copied().unwrap_or_default()),
            })
            .collect()
    }
}

/// How many responses gave one rating.
#[derive(SimpleObject)]
pub struct RatingCount {
    rating: FftRating,
    /// Null when the group's rating split is withheld (`suppressed`).
    count: Option<i32>,
}

/// Friends and Family Test figures for one service.
#[derive(SimpleObject)]
pub struct ServiceStats {
    service: Service,
    #[graphql(flatten)]
    figures: GroupFigures,
}

/// Friends and Family Test figures for one channel.
#[derive(SimpleObject)]
pub struct ChannelStats {
    channel: Channel,
    #[graphql(flatten)]
    figures: GroupFigures,
}

/// Friends and Family Test figures for one calendar period.
#[derive(SimpleObject)]
pub struct PeriodStats {
    /// `2026-05` for a month, `2026-Q2` for a quarter, `2026` for a year.
    period: String,
    /// The period's first instant (UTC).
    start: DateTime<Utc>,
    /// The next period's first instant: the period is `start <= t < end`.
    end: DateTime<Utc>,
    #[graphql(flatten)]
    figures: GroupFigures,
}

/// The figures every group (a service, a channel, a period) shows.
#[derive(SimpleObject)]
pub struct GroupFigures {
    /// Every response in the group (the service, channel or period). Always
    /// shown.
    total: i32,
    /// True when the group had 1 to 4 responses, so its rating split and
    /// percentages are withheld.
    suppressed: bool,
    /// (VERY_GOOD + GOOD) / (all − DONT_KNOW) × 100; null when withheld or
    /// when nobody rated.
    percent_positive: Option<f64>,
    /// (POOR + VERY_POOR) / (all − DONT_KNOW) × 100; null when withheld or
    /// when nobody rated.
    percent_negative: Option<f64>,
    /// Responses per rating; counts are null when withheld.
    by_rating: Vec<RatingCount>,
}

impl GroupFigures {
    fn of(counts: RatingCounts) -> Self {
        let figures = counts.publish();
        Self {
            total: count(figures.total),
            suppressed: figures.suppressed,
            percent_positive: figures.percent_positive,
            percent_negative: figures.percent_negative,
            by_rating: rating_counts(&figures),
        }
    }
}
