//! The analysts' screens: Friends and Family Test figures by service, month
//! and channel, as tables and as bar charts drawn on the server, and the
//! downloads (the monthly Board report and the CSV export).
//!
//! Everything comes from the schema (`feedbackStats`, `boardReport`,
//! `feedbackExport`), whose STATISTICS guard lets analysts and moderators
//! in: figures only, never free text. A group of 1 to 4 responses has its
//! split withheld by the API; the page says "withheld (fewer than 5)" for
//! it, never 0. Filters (dates, service, channel) stand in the address.

use std::fmt::Write as _;
use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::pages::{self, Chrome, html, run};
use super::queue::{CHANNELS, words};
use super::session::Session;
use crate::http::AppState;
use crate::reports::model::Month;

/// What a withheld figure says, wherever it stands.
pub const WITHHELD: &str = "withheld (fewer than 5)";

/// The ratings, best first, as the API lists them, with the words staff see.
const RATINGS: &[(&str, &str)] = &[
    ("VERY_GOOD", "Very good"),
    ("GOOD", "Good"),
    ("NEITHER_GOOD_NOR_POOR", "Neither good nor poor"),
    ("POOR", "Poor"),
    ("VERY_POOR", "Very poor"),
    ("DONT_KNOW", "Don’t know"),
];

/// Months offered for the Board report, the current one first.
const REPORT_MONTHS: i64 = 24;

/// An option of a list, e.g. a filter's.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// The options `values` make, with `current` selected.
pub fn choices(values: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

/// Midnight UTC at the start of `YYYY-MM-DD`.
pub fn day(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|time| time.and_utc())
}

/// The figures' filters, as they stand in the address.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Filters {
    /// `YYYY-MM-DD`, received on or after.
    pub from: String,
    /// `YYYY-MM-DD`, received on or before.
    pub to: String,
    /// A service's slug; every service when empty.
    pub service: String,
    /// One channel; every channel when empty.
    pub channel: String,
    /// The Board report's month, `YYYY-MM` (the report's download only).
    pub month: String,
}

impl Filters {
    fn parse(query: Option<&str>) -> Self {
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default()
    }

    /// The filters as an address query (without the report's month).
    pub fn query(&self) -> String {
        let pairs = [
            ("from", &self.from),
            ("to", &self.to),
            ("service", &self.service),
            ("channel", &self.channel),
        ];
        let present: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (*name, value.trim()))
            .collect();
        serde_urlencoded::to_string(present).unwrap_or_default()
    }

    /// The API's `StatsFilter`, and what is wrong with the filters (each
    /// wrong one is left out).
    fn api_filter(&self) -> (Value, Vec<String>) {
        let mut filter = Map::new();
        let mut errors = Vec::new();
        let from = match self.from.trim() {
            "" => None,
            text => {
                let parsed = day(text);
                if parsed.is_none() {
                    errors.push("Enter the start date as a date, for example 2026-05-01.".into());
                }
                parsed
            }
        };
        let to = match self.to.trim() {
            "" => None,
            text => {
                let parsed = day(text).map(|day| day + chrono::Duration::days(1));
                if parsed.is_none() {
                    errors.push("Enter the end date as a date, for example 2026-05-31.".into());
                }
                parsed
            }
        };
        match (from, to) {
            (Some(from), Some(to)) if to <= from => {
                errors.push("The end date must be the same as or after the start date.".into());
            }
            _ => {
                if let Some(from) = from {
                    filter.insert("receivedFrom".into(), json!(from.to_rfc3339()));
                }
                if let Some(to) = to {
                    filter.insert("receivedTo".into(), json!(to.to_rfc3339()));
                }
            }
        }
        if !self.service.trim().is_empty() {
            filter.insert("serviceSlug".into(), json!(self.service.trim()));
        }
        match self.channel.trim() {
            "" => {}
            channel if CHANNELS.contains(&channel) => {
                filter.insert("channel".into(), json!([channel]));
            }
            _ => errors.push("Choose a channel from the list.".into()),
        }
        (Value::Object(filter), errors)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct RatingCount {
    rating: String,
    count: Option<i64>,
}

/// One group's figures as the API gives them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Group {
    total: i64,
    suppressed: bool,
    percent_positive: Option<f64>,
    percent_negative: Option<f64>,
    by_rating: Vec<RatingCount>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ServiceRef {
    slug: String,
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ServiceGroup {
    service: ServiceRef,
    #[serde(flatten)]
    group: Group,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ChannelGroup {
    channel: String,
    #[serde(flatten)]
    group: Group,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PeriodGroup {
    period: String,
    #[serde(flatten)]
    group: Group,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Stats {
    #[serde(flatten)]
    whole: Group,
    by_service: Vec<ServiceGroup>,
    by_channel: Vec<ChannelGroup>,
    by_period: Vec<PeriodGroup>,
}

const FIGURES: &str = "query($filter: StatsFilter) {
  services { slug name }
  feedbackStats(filter: $filter) {
    total suppressed percentPositive percentNegative byRating { rating count }
    byService { service { slug name } total suppressed percentPositive percentNegative byRating { rating count } }
    byChannel { channel total suppressed percentPositive percentNegative byRating { rating count } }
    byPeriod(period: MONTH) { period total suppressed percentPositive percentNegative byRating { rating count } }
  }
}";

/// A percentage as the page shows it: whole numbers, as NHS England
/// publishes them.
fn percent(value: f64) -> String {
    format!("{value:.0}%")
}

/// A number with thousands separated: 12,345.
fn thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    if value < 0 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// One line of a table of figures (a service, a month, a channel, or all).
pub struct Line {
    pub label: String,
    pub responses: String,
    pub withheld: bool,
    pub positive: String,
    pub negative: String,
    /// Responses per rating, best first, in words where withheld.
    pub ratings: Vec<String>,
    /// Percent positive, where it is shown.
    positive_value: Option<f64>,
    total: i64,
}

impl Line {
    fn of(label: String, group: &Group) -> Self {
        let shown = |value: Option<f64>| -> String {
            if group.suppressed {
                WITHHELD.to_owned()
            } else if group.total == 0 {
                "no responses".to_owned()
            } else {
                value.map_or_else(|| "nobody rated".to_owned(), percent)
            }
        };
        let ratings = RATINGS
            .iter()
            .map(|(rating, _)| {
                let count = group
                    .by_rating
                    .iter()
                    .find(|row| row.rating == *rating)
                    .and_then(|row| row.count);
                match count {
                    Some(count) if !group.suppressed => thousands(count),
                    _ if group.suppressed => "withheld".to_owned(),
                    _ => "0".to_owned(),
                }
            })
            .collect();
        Self {
            responses: thousands(group.total),
            withheld: group.suppressed,
            positive: shown(group.percent_positive),
            negative: shown(group.percent_negative),
            ratings,
            positive_value: group
                .percent_positive
                .filter(|_| !group.suppressed && group.total > 0),
            total: group.total,
            label,
        }
    }

    /// What the chart writes beside this line's bar.
    fn chart_words(&self) -> String {
        let responses = if self.total == 1 {
            "1 response".to_owned()
        } else {
            format!("{} responses", self.responses)
        };
        match self.positive_value {
            Some(value) => format!("{} positive ({responses})", percent(value)),
            None if self.withheld => format!("{WITHHELD}: {responses}"),
            None if self.total == 0 => "no responses".to_owned(),
            None => format!("nobody rated ({responses})"),
        }
    }
}

/// A horizontal bar chart of percent positive, drawn on the server: each
/// line's name above its bar, the figure written beside it, and a line with
/// no percentage (withheld, or no responses) says why in words instead of a
/// bar. Nothing depends on colour; `summary` is its text alternative.
pub struct Chart {
    pub id: String,
    pub title: String,
    pub summary: String,
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
}

/// One line of a [`Chart`].
pub struct Bar {
    pub label: String,
    pub label_y: u32,
    pub bar_y: u32,
    /// Whether the line has a percentage, so a bar (perhaps of 0).
    pub has_bar: bool,
    /// Where the 100% track ends.
    pub track_width: u32,
    /// Zero where there is no percentage.
    pub width: f64,
    pub words: String,
    pub words_x: f64,
    pub words_y: u32,
}

/// Layout of a chart, in the SVG's units (about a CSS pixel each).
const CHART_WIDTH: u32 = 720;
const TRACK_LEFT: u32 = 8;
const TRACK_WIDTH: u32 = 420;
const ROW_HEIGHT: u32 = 46;
const BAR_HEIGHT: u32 = 16;

impl Chart {
    fn of(id: &str, title: &str, lines: &[Line]) -> Self {
        let bars: Vec<Bar> = lines
            .iter()
            .enumerate()
            .map(|(index, line)| {
                let top = u32::try_from(index).unwrap_or(u32::MAX / ROW_HEIGHT) * ROW_HEIGHT;
                let width = line.positive_value.map_or(0.0, |value| {
                    f64::from(TRACK_WIDTH) * value.clamp(0.0, 100.0) / 100.0
                });
                let words_x = if line.positive_value.is_some() {
                    f64::from(TRACK_LEFT + TRACK_WIDTH) + 10.0
                } else {
                    f64::from(TRACK_LEFT)
                };
                Bar {
                    label: line.label.clone(),
                    label_y: top + 16,
                    bar_y: top + 22,
                    has_bar: line.positive_value.is_some(),
                    track_width: TRACK_WIDTH,
                    width: (width * 10.0).round() / 10.0,
                    words: line.chart_words(),
                    words_x,
                    words_y: top + 22 + BAR_HEIGHT - 3,
                }
            })
            .collect();
        let mut summary = format!("{title}. ");
        for line in lines {
            let _ = write!(summary, "{}: {}. ", line.label, line.chart_words());
        }
        let rows = u32::try_from(lines.len()).unwrap_or(0);
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            summary: summary.trim_end().to_owned(),
            width: CHART_WIDTH,
            height: rows * ROW_HEIGHT + 8,
            bars,
        }
    }

    /// The left edge of every bar.
    pub fn left(&self) -> u32 {
        TRACK_LEFT
    }

    /// How tall every bar is.
    pub fn bar_height(&self) -> u32 {
        BAR_HEIGHT
    }
}

/// One breakdown: its table and its chart.
pub struct Breakdown {
    pub id: &'static str,
    pub heading: &'static str,
    /// What the table's first column holds.
    pub what: &'static str,
    pub lines: Vec<Line>,
    pub chart: Chart,
}

impl Breakdown {
    fn of(id: &'static str, heading: &'static str, what: &'static str, lines: Vec<Line>) -> Self {
        let chart = Chart::of(
            &format!("{id}-chart"),
            &format!("Percent positive {}", heading.to_lowercase()),
            &lines,
        );
        Self {
            id,
            heading,
            what,
            lines,
            chart,
        }
    }
}

/// `2026-05` as "May 2026".
fn month_words(period: &str) -> String {
    Month::parse(period, "period").map_or_else(|_| period.to_owned(), Month::name)
}

#[derive(Template)]
#[template(path = "console/analysts/figures.html")]
struct FiguresPage {
    chrome: Chrome,
    filters: Filters,
    errors: Vec<String>,
    services: Vec<Choice>,
    channels: Vec<Choice>,
    months: Vec<Choice>,
    whole: Line,
    /// The whole's responses per rating, with the ratings' words.
    whole_ratings: Vec<(&'static str, String)>,
    rating_names: Vec<&'static str>,
    breakdowns: Vec<Breakdown>,
    /// The export's address, with the filters.
    export_href: String,
    /// Words for what the filters chose, e.g. "all services, every channel".
    scope: String,
}

/// `GET /console/figures`.
pub async fn figures(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters = Filters::parse(query.as_deref());
    figures_page(&state, &session, filters, Vec::new()).await
}

async fn figures_page(
    state: &AppState,
    session: &Session,
    filters: Filters,
    mut errors: Vec<String>,
) -> Response {
    let (filter, wrong) = filters.api_filter();
    errors.extend(wrong);
    let mut answer = run(state, session, FIGURES, json!({ "filter": filter })).await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if let Some(error) = answer.error("BAD_USER_INPUT") {
        // A service that is not (or no longer) one of `services`: say so,
        // and show the figures without it.
        let message = if error.field.as_deref() == Some("filter.serviceSlug") {
            "Choose a service from the list.".to_owned()
        } else {
            error.message.clone()
        };
        errors.push(message);
        let mut filter = filter;
        if let Value::Object(fields) = &mut filter {
            fields.remove("serviceSlug");
        }
        answer = run(state, session, FIGURES, json!({ "filter": filter })).await;
    }
    if !answer.errors.is_empty() {
        return pages::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The figures cannot be read just now. Try again in a moment.",
        );
    }
    let stats: Stats = pages::field(&answer, "feedbackStats").unwrap_or_default();
    let services: Vec<ServiceRef> = pages::field(&answer, "services").unwrap_or_default();
    let service_name = services
        .iter()
        .find(|service| service.slug == filters.service.trim())
        .map(|service| service.name.clone());
    let scope = format!(
        "{}, {}, {}",
        service_name.unwrap_or_else(|| "All services".to_owned()),
        match filters.channel.trim() {
            "" => "every channel".to_owned(),
            channel => format!("{} only", words(channel).to_lowercase()),
        },
        match (filters.from.trim(), filters.to.trim()) {
            ("", "") => "all dates".to_owned(),
            (from, "") => format!("received from {from}"),
            ("", to) => format!("received up to {to}"),
            (from, to) => format!("received {from} to {to}"),
        }
    );
    let breakdowns = vec![
        Breakdown::of(
            "by-service",
            "By service",
            "Service",
            stats
                .by_service
                .iter()
                .map(|row| Line::of(row.service.name.clone(), &row.group))
                .collect(),
        ),
        Breakdown::of(
            "by-month",
            "By month",
            "Month",
            stats
                .by_period
                .iter()
                .map(|row| Line::of(month_words(&row.period), &row.group))
                .collect(),
        ),
        Breakdown::of(
            "by-channel",
            "By channel",
            "Channel",
            stats
                .by_channel
                .iter()
                .map(|row| Line::of(words(&row.channel), &row.group))
                .collect(),
        ),
    ];
    let current = Month::of(chrono::Utc::now());
    let chosen_month = if filters.month.trim().is_empty() {
        current.to_string()
    } else {
        filters.month.trim().to_owned()
    };
    let months = choices(
        (0..REPORT_MONTHS).map(|back| {
            let month = current.plus(-back);
            let label = if back == 0 {
                format!("{} (so far)", month.name())
            } else {
                month.name()
            };
            (month.to_string(), label)
        }),
        &chosen_month,
    );
    let whole = Line::of("All responses".to_owned(), &stats.whole);
    let filter_query = filters.query();
    let export_href = if filter_query.is_empty() {
        "/console/figures/export".to_owned()
    } else {
        format!("/console/figures/export?{filter_query}")
    };
    let page = FiguresPage {
        chrome: Chrome::new(
            session,
            if errors.is_empty() {
                "Figures"
            } else {
                "Error: Figures"
            },
            "/console/figures",
        ),
        services: choices(
            std::iter::once((String::new(), "All services".to_owned())).chain(
                services
                    .iter()
                    .map(|service| (service.slug.clone(), service.name.clone())),
            ),
            filters.service.trim(),
        ),
        channels: choices(
            std::iter::once((String::new(), "Every channel".to_owned())).chain(
                CHANNELS
                    .iter()
                    .map(|channel| ((*channel).to_owned(), words(channel))),
            ),
            filters.channel.trim(),
        ),
        months,
        whole_ratings: RATINGS
            .iter()
            .map(|(_, name)| *name)
            .zip(whole.ratings.iter().cloned())
            .collect(),
        whole,
        rating_names: RATINGS.iter().map(|(_, name)| *name).collect(),
        breakdowns,
        export_href,
        scope,
        filters,
        errors,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(status, page.render())
}

/// A file to save, as the API answers it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ReportFile {
    file_name: String,
    media_type: String,
    content: String,
}

/// A download: saved, never shown in the page, never kept by a cache.
fn attachment(file: ReportFile) -> Response {
    // The name is ours (`feedback-report-2026-05.html`), but it is kept to
    // plain characters all the same, so the header can never be broken.
    let name: String = file
        .file_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    let media = HeaderValue::from_str(&file.media_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, media),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        file.content,
    )
        .into_response()
}

/// Runs a document answering a [`ReportFile`] in `field`, and answers the
/// download, or the figures page with what went wrong.
async fn download(
    state: &AppState,
    session: &Session,
    filters: Filters,
    document: &str,
    variables: Value,
    field: &str,
) -> Response {
    let answer = run(state, session, document, variables).await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if let Some(error) = answer.errors.first() {
        let message = match (error.code.as_str(), error.field.as_deref()) {
            ("BAD_USER_INPUT", Some("month")) => {
                "Choose a month from the list: this month or one before it.".to_owned()
            }
            ("BAD_USER_INPUT", Some("filter")) => format!(
                "These filters match more than {} responses, too many for one file. Choose fewer dates.",
                thousands(
                    i64::try_from(crate::reports::graphql::MAX_EXPORT_ROWS).unwrap_or(i64::MAX)
                )
            ),
            ("BAD_USER_INPUT", _) => error.message.clone(),
            _ => "The download did not work. Try again in a moment.".to_owned(),
        };
        return figures_page(state, session, filters, vec![message]).await;
    }
    match pages::field::<ReportFile>(&answer, field) {
        Some(file) => attachment(file),
        None => pages::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The download did not work. Try again in a moment.",
        ),
    }
}

/// `GET /console/figures/report?month=YYYY-MM`: the monthly Board report,
/// one HTML file to save.
pub async fn board_report(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters = Filters::parse(query.as_deref());
    let month = filters.month.trim().to_owned();
    download(
        &state,
        &session,
        filters,
        "query($month: String!) { boardReport(month: $month) { fileName mediaType content } }",
        json!({ "month": month }),
        "boardReport",
    )
    .await
}

/// `GET /console/figures/export`: the feedback the figures count, as CSV
/// without free text, for the filters in the address.
pub async fn export(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters = Filters::parse(query.as_deref());
    let (filter, errors) = filters.api_filter();
    if !errors.is_empty() {
        return figures_page(&state, &session, filters, Vec::new()).await;
    }
    download(
        &state,
        &session,
        filters,
        "query($filter: StatsFilter) { feedbackExport(filter: $filter) { fileName mediaType content } }",
        json!({ "filter": filter }),
        "feedbackExport",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(total: i64, suppressed: bool, positive: Option<f64>) -> Group {
        Group {
            total,
            suppressed,
            percent_positive: positive,
            percent_negative: positive.map(|p| 100.0 - p),
            by_rating: RATINGS
                .iter()
                .map(|(rating, _)| RatingCount {
                    rating: (*rating).to_owned(),
                    count: (!suppressed).then_some(1),
                })
                .collect(),
        }
    }

    #[test]
    fn a_withheld_group_says_so_in_words_and_has_no_bar() {
        let withheld = Line::of("Maternity".to_owned(), &group(2, true, None));
        assert_eq!(withheld.positive, WITHHELD);
        assert_eq!(withheld.responses, "2");
        assert!(withheld.ratings.iter().all(|count| count == "withheld"));
        let none = Line::of("Reablement".to_owned(), &group(0, false, None));
        assert_eq!(none.positive, "no responses");
        let shown = Line::of("Emergency".to_owned(), &group(1200, false, Some(66.6)));
        assert_eq!(shown.positive, "67%");
        assert_eq!(shown.responses, "1,200");
        let chart = Chart::of("c", "Percent positive by service", &[withheld, none, shown]);
        assert!(!chart.bars[0].has_bar && !chart.bars[1].has_bar);
        assert!(chart.bars[2].has_bar);
        assert!(
            (chart.bars[2].width - 279.7).abs() < 0.01,
            "{}",
            chart.bars[2].width
        );
        assert_eq!(
            chart.summary,
            "Percent positive by service. Maternity: withheld (fewer than 5): 2 responses. \
             Reablement: no responses. Emergency: 67% positive (1,200 responses)."
        );
        assert_eq!(chart.height, 3 * ROW_HEIGHT + 8);
    }

    #[test]
    fn dates_out_of_order_or_misspelt_are_named_and_left_out() {
        let filters = Filters {
            from: "2026-05-10".into(),
            to: "2026-05-01".into(),
            channel: "FAX".into(),
            ..Filters::default()
        };
        let (filter, errors) = filters.api_filter();
        assert_eq!(filter, json!({}));
        assert_eq!(errors.len(), 2, "{errors:?}");
        let one_day = Filters {
            from: "2026-05-01".into(),
            to: "2026-05-01".into(),
            ..Filters::default()
        };
        let (filter, errors) = one_day.api_filter();
        assert!(errors.is_empty());
        assert_eq!(
            filter,
            json!({ "receivedFrom": "2026-05-01T00:00:00+00:00", "receivedTo": "2026-05-02T00:00:00+00:00" })
        );
    }
}
