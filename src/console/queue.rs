//! The moderators' screens: one queue for feedback and ideas, and an item's
//! page with everything a moderator does to it.
//!
//! The queue merges the API's two queues (`feedbackQueue` and `ideas`),
//! which share one order: safeguarding concerns first, then items with
//! personal data, then the rest, each band oldest first (or newest first
//! when asked). Its cursor
//! is the pair of the two lists' cursors, so paging never skips or repeats
//! an item of either. Every filter is in the address, so a view can be
//! bookmarked and shared.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::pages::{self, Chrome, Posted, html, run};
use super::session::Session;
use crate::http::AppState;

/// Rows on one page of the queue.
const PAGE_SIZE: usize = 25;

pub const FEEDBACK_STATUSES: &[&str] = &["NEW", "IN_REVIEW", "ACTIONED", "CLOSED", "SPAM"];
pub const IDEA_STATUSES: &[&str] = &[
    "NEW",
    "UNDER_REVIEW",
    "ACCEPTED",
    "PLANNED",
    "IMPLEMENTED",
    "DECLINED",
    "DUPLICATE",
    "SPAM",
];
pub const CHANNELS: &[&str] = &["WEB", "KIOSK", "MOBILE", "PAPER", "PHONE"];
/// The safeguarding categories, with the words staff see.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("PHYSICAL", "Physical abuse"),
    ("DOMESTIC", "Domestic abuse"),
    ("SEXUAL", "Sexual abuse"),
    ("PSYCHOLOGICAL", "Psychological or emotional abuse"),
    ("FINANCIAL", "Financial or material abuse"),
    ("MODERN_SLAVERY", "Modern slavery"),
    ("DISCRIMINATORY", "Discriminatory abuse"),
    ("ORGANISATIONAL", "Organisational abuse"),
    ("NEGLECT", "Neglect or acts of omission"),
    ("SELF_NEGLECT", "Self-neglect"),
    ("SUICIDE_SELF_HARM", "Suicide or self-harm"),
    ("CHILD", "A child at risk"),
];

/// The words for a status, a category or a channel.
pub fn words(value: &str) -> String {
    if let Some((_, label)) = CATEGORIES.iter().find(|(name, _)| *name == value) {
        return (*label).to_owned();
    }
    let lower = value.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

// ----- The queue --------------------------------------------------------------

/// The queue's filters, as they stand in the address.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct Filters {
    /// `feedback`, `ideas`, or both (empty).
    pub kind: String,
    /// `open` (empty: new or in review), `any`, or one status.
    pub status: String,
    pub service: String,
    pub channel: String,
    pub category: String,
    pub tag: String,
    /// `me`, `none`, or anyone (empty).
    pub assignee: String,
    /// `YYYY-MM-DD`, received on or after.
    pub from: String,
    /// `YYYY-MM-DD`, received on or before.
    pub to: String,
    pub text: String,
    /// `newest` for newest first; oldest first otherwise (how a morning's
    /// post is worked through).
    pub order: String,
    /// The feedback list's cursor (`-` when it is used up).
    pub fa: String,
    /// The ideas list's cursor (`-` when it is used up).
    pub ia: String,
}

impl Filters {
    pub fn parse(query: Option<&str>) -> Self {
        serde_urlencoded::from_str(query.unwrap_or_default()).unwrap_or_default()
    }

    /// The filters as an address query, without the cursors.
    pub fn query(&self) -> String {
        let pairs = [
            ("kind", &self.kind),
            ("status", &self.status),
            ("service", &self.service),
            ("channel", &self.channel),
            ("category", &self.category),
            ("tag", &self.tag),
            ("assignee", &self.assignee),
            ("from", &self.from),
            ("to", &self.to),
            ("text", &self.text),
            ("order", &self.order),
        ];
        let present: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (*name, value.trim()))
            .collect();
        serde_urlencoded::to_string(present).unwrap_or_default()
    }

    /// Whether the queue runs oldest first (the default).
    pub fn oldest_first(&self) -> bool {
        self.order != "newest"
    }

    fn statuses(&self, all: &[&str], open: [&str; 2]) -> Option<Option<Vec<String>>> {
        match self.status.trim() {
            "" | "open" => Some(Some(open.iter().map(|s| (*s).to_owned()).collect())),
            "any" => Some(None),
            status if all.contains(&status) => Some(Some(vec![status.to_owned()])),
            // A status of the other kind's workflow: this kind has none.
            _ => None,
        }
    }

    /// The filter shared by both kinds.
    fn common(&self, viewer_id: &str) -> Map<String, Value> {
        let mut filter = Map::new();
        let text = filled;
        if let Some(channel) = text(&self.channel) {
            filter.insert("channel".into(), json!([channel]));
        }
        if let Some(category) = text(&self.category) {
            filter.insert("safeguardingCategories".into(), json!([category]));
        }
        if let Some(tag) = text(&self.tag) {
            filter.insert("tag".into(), json!(tag));
        }
        match self.assignee.trim() {
            "me" => {
                filter.insert("assigneeId".into(), json!(viewer_id));
            }
            "none" => {
                filter.insert("unassigned".into(), json!(true));
            }
            _ => {}
        }
        if let Some(from) = text(&self.from).and_then(day) {
            filter.insert("receivedFrom".into(), json!(from.to_rfc3339()));
        }
        if let Some(to) = text(&self.to).and_then(day) {
            let end = to + chrono::Duration::days(1);
            filter.insert("receivedTo".into(), json!(end.to_rfc3339()));
        }
        if let Some(words) = text(&self.text) {
            filter.insert("text".into(), json!(words));
        }
        filter
    }

    /// The API filters for feedback and for ideas; `None` for a kind the
    /// filters leave out.
    pub fn api_filters(&self, viewer_id: &str) -> (Option<Value>, Option<Value>) {
        let common = self.common(viewer_id);
        let feedback = (self.kind != "ideas")
            .then(|| self.statuses(FEEDBACK_STATUSES, ["NEW", "IN_REVIEW"]))
            .flatten()
            .map(|status| {
                let mut filter = common.clone();
                if let Some(status) = status {
                    filter.insert("status".into(), json!(status));
                }
                if !self.service.trim().is_empty() {
                    filter.insert("serviceSlug".into(), json!(self.service.trim()));
                }
                Value::Object(filter)
            });
        // Ideas are about no service: a service filter leaves them out.
        let ideas = (self.kind != "feedback" && self.service.trim().is_empty())
            .then(|| self.statuses(IDEA_STATUSES, ["NEW", "UNDER_REVIEW"]))
            .flatten()
            .map(|status| {
                let mut filter = common;
                if let Some(status) = status {
                    filter.insert("status".into(), json!(status));
                }
                Value::Object(filter)
            });
        (feedback, ideas)
    }
}

/// `Some(value)`, trimmed, when it is not blank.
fn filled(value: &str) -> Option<&str> {
    Some(value.trim()).filter(|value| !value.is_empty())
}

/// Midnight UTC at the start of `YYYY-MM-DD`.
fn day(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()?
        .and_hms_opt(0, 0, 0)
        .map(|time| time.and_utc())
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Named {
    pub display_name: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ConcernSummary {
    pub category: String,
    pub status: String,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceName {
    pub slug: String,
    pub name: String,
}

/// One item as the queue lists it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Row {
    pub id: String,
    pub reference: String,
    pub safeguarding: bool,
    pub pii_flags: Vec<String>,
    pub status: String,
    pub received_at: String,
    pub assignee: Option<Named>,
    pub tags: Vec<String>,
    pub safeguarding_concerns: Vec<ConcernSummary>,
    // Feedback
    pub rating: Option<String>,
    pub comment: Option<String>,
    pub service: Option<ServiceName>,
    // Ideas
    pub title: Option<String>,
    pub description: Option<String>,
}

impl Row {
    pub fn is_idea(&self) -> bool {
        self.title.is_some()
    }

    pub fn href(&self) -> String {
        let kind = if self.is_idea() { "ideas" } else { "feedback" };
        format!("/console/{kind}/{}", self.id)
    }

    /// What the row is about: the service, or the idea's title.
    pub fn subject(&self) -> &str {
        match (&self.title, &self.service) {
            (Some(title), _) => title,
            (None, Some(service)) => &service.name,
            (None, None) => "",
        }
    }

    /// The start of the resident's words.
    pub fn excerpt(&self) -> String {
        let text = self
            .comment
            .as_deref()
            .or(self.description.as_deref())
            .unwrap_or_default();
        let mut excerpt: String = text.chars().take(160).collect();
        if excerpt.len() < text.len() {
            excerpt.push('…');
        }
        excerpt
    }

    /// The categories of the concerns not dismissed.
    pub fn concerns(&self) -> Vec<String> {
        let mut categories: Vec<String> = self
            .safeguarding_concerns
            .iter()
            .filter(|concern| concern.status != "DISMISSED")
            .map(|concern| words(&concern.category))
            .collect();
        categories.dedup();
        categories
    }

    /// The kinds of personal data in it, in words.
    pub fn pii(&self) -> Vec<String> {
        self.pii_flags.iter().map(|flag| words(flag)).collect()
    }

    pub fn rating_words(&self) -> String {
        self.rating.as_deref().map(words).unwrap_or_default()
    }

    pub fn status_words(&self) -> String {
        words(&self.status)
    }

    /// `2026-12-03 09:14`.
    pub fn received(&self) -> String {
        short_time(&self.received_at)
    }
}

/// An RFC 3339 time as `2026-12-03 09:14` (UTC).
pub fn short_time(value: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(value).map_or_else(
        |_| value.to_owned(),
        |time| {
            time.with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        },
    )
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Edge {
    cursor: String,
    node: Row,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PageInfo {
    has_next_page: bool,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct List {
    total_count: i64,
    page_info: PageInfo,
    edges: Vec<Edge>,
}

const ROW_FIELDS: &str = "id reference safeguarding piiFlags status receivedAt
  assignee { displayName } tags safeguardingConcerns { category status }";

fn queue_document() -> String {
    format!(
        "query($f: FeedbackFilterInput, $i: IdeaFilterInput, $fa: String, $ia: String,
               $wf: Boolean!, $wi: Boolean!, $n: Int!, $oldest: Boolean!) {{
  feedbackQueue(filter: $f, first: $n, after: $fa, oldestFirst: $oldest) @include(if: $wf) {{
    totalCount pageInfo {{ hasNextPage }}
    edges {{ cursor node {{ {ROW_FIELDS} rating comment service {{ slug name }} }} }}
  }}
  ideas(filter: $i, first: $n, after: $ia, oldestFirst: $oldest) @include(if: $wi) {{
    totalCount pageInfo {{ hasNextPage }}
    edges {{ cursor node {{ {ROW_FIELDS} title description }} }}
  }}
  services {{ slug name }}
}}"
    )
}

/// One page of the merged queue, and where the next starts.
pub struct Merged {
    pub rows: Vec<Row>,
    pub total: i64,
    /// The next page's `fa` and `ia`, when there is one.
    pub next: Option<(String, String)>,
}

/// Takes the first `size` items of two lists in the queue's order
/// (safeguarding, then personal data, then by arrival: ids are
/// time-ordered).
fn merge(
    feedback: Option<List>,
    ideas: Option<List>,
    cursors: (&str, &str),
    size: usize,
    oldest_first: bool,
) -> Merged {
    let total = feedback.as_ref().map_or(0, |list| list.total_count)
        + ideas.as_ref().map_or(0, |list| list.total_count);
    let split = |list: Option<List>| match list {
        Some(list) => (
            list.edges.into_iter().peekable(),
            list.page_info.has_next_page,
        ),
        None => (Vec::new().into_iter().peekable(), false),
    };
    let (mut left, left_more) = split(feedback);
    let (mut right, right_more) = split(ideas);
    let (mut left_cursor, mut right_cursor) = (cursors.0.to_owned(), cursors.1.to_owned());
    let key = |edge: &Edge| {
        let band = (edge.node.safeguarding, !edge.node.pii_flags.is_empty());
        (band, edge.node.id.clone())
    };
    let mut rows = Vec::with_capacity(size);
    while rows.len() < size {
        let take_left = match (left.peek(), right.peek()) {
            (Some(a), Some(b)) => {
                let (a, b) = (key(a), key(b));
                if a.0 == b.0 {
                    (a.1 <= b.1) == oldest_first
                } else {
                    // The higher band first: safeguarding, then personal data.
                    a.0 > b.0
                }
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let (edge, cursor) = if take_left {
            (left.next(), &mut left_cursor)
        } else {
            (right.next(), &mut right_cursor)
        };
        if let Some(edge) = edge {
            *cursor = edge.cursor;
            rows.push(edge.node);
        }
    }
    // A list is used up when nothing of it is left here or on the server.
    let left_done = left.peek().is_none() && !left_more;
    let right_done = right.peek().is_none() && !right_more;
    let next = (!(left_done && right_done)).then(|| {
        (
            if left_done {
                "-".to_owned()
            } else {
                left_cursor
            },
            if right_done {
                "-".to_owned()
            } else {
                right_cursor
            },
        )
    });
    Merged { rows, total, next }
}

/// Reads one page of the queue for `filters`.
pub async fn read_queue(
    state: &AppState,
    session: &Session,
    filters: &Filters,
    size: usize,
) -> Result<(Merged, Vec<ServiceName>), Response> {
    let viewer_id = session.viewer.id().to_string();
    let (feedback_filter, idea_filter) = filters.api_filters(&viewer_id);
    let with_feedback = feedback_filter.is_some() && filters.fa != "-";
    let with_ideas = idea_filter.is_some() && filters.ia != "-";
    let cursor =
        |value: &str| Some(value.to_owned()).filter(|value| !value.is_empty() && value != "-");
    let answer = pages::run_kept(
        state,
        session,
        &queue_document(),
        json!({
            "f": feedback_filter, "i": idea_filter,
            "fa": cursor(&filters.fa), "ia": cursor(&filters.ia),
            "wf": with_feedback, "wi": with_ideas, "n": size,
            "oldest": filters.oldest_first(),
        }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return Err(refusal);
    }
    let feedback: Option<List> = pages::field(&answer, "feedbackQueue");
    let ideas: Option<List> = pages::field(&answer, "ideas");
    let services: Vec<ServiceName> = pages::field(&answer, "services").unwrap_or_default();
    Ok((
        merge(
            feedback,
            ideas,
            (filters.fa.as_str(), filters.ia.as_str()),
            size,
            filters.oldest_first(),
        ),
        services,
    ))
}

/// An option of a filter's list.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices<'a>(values: impl IntoIterator<Item = (&'a str, String)>, current: &str) -> Vec<Choice> {
    values
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value: value.to_owned(),
            label,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    chrome: Chrome,
    filters: Filters,
    merged: Merged,
    next_href: Option<String>,
    first_href: Option<String>,
    kinds: Vec<Choice>,
    statuses: Vec<Choice>,
    services: Vec<Choice>,
    channels: Vec<Choice>,
    categories: Vec<Choice>,
    assignees: Vec<Choice>,
    orders: Vec<Choice>,
    /// The filters as a query, for the bulk form and the live notice.
    filter_query: String,
}

/// `GET /console/queue`.
pub async fn queue(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters = Filters::parse(query.as_deref());
    let (merged, services) = match read_queue(&state, &session, &filters, PAGE_SIZE).await {
        Ok(read) => read,
        Err(refusal) => return refusal,
    };
    let filter_query = filters.query();
    let next_href = merged.next.as_ref().map(|(fa, ia)| {
        let cursors = serde_urlencoded::to_string([("fa", fa), ("ia", ia)]).unwrap_or_default();
        let separator = if filter_query.is_empty() { "" } else { "&" };
        format!("/console/queue?{filter_query}{separator}{cursors}")
    });
    let first_href = (!filters.fa.is_empty() || !filters.ia.is_empty())
        .then(|| format!("/console/queue?{filter_query}"));
    let mut statuses = vec![
        ("open", "Open (new or in review)".to_owned()),
        ("any", "Any status".to_owned()),
    ];
    let mut all: Vec<&str> = FEEDBACK_STATUSES.to_vec();
    all.extend(
        IDEA_STATUSES
            .iter()
            .filter(|s| !FEEDBACK_STATUSES.contains(s)),
    );
    statuses.extend(all.into_iter().map(|status| (status, words(status))));
    let current_status = if filters.status.is_empty() {
        "open"
    } else {
        filters.status.as_str()
    };
    let page = QueuePage {
        chrome: Chrome::new(&session, "Queue", "/console/queue"),
        kinds: choices(
            [
                ("", "Feedback and ideas".to_owned()),
                ("feedback", "Feedback".to_owned()),
                ("ideas", "Ideas".to_owned()),
            ],
            &filters.kind,
        ),
        statuses: choices(statuses, current_status),
        services: choices(
            std::iter::once(("", "Any service".to_owned())).chain(
                services
                    .iter()
                    .map(|service| (service.slug.as_str(), service.name.clone())),
            ),
            &filters.service,
        ),
        channels: choices(
            std::iter::once(("", "Any channel".to_owned()))
                .chain(CHANNELS.iter().map(|channel| (*channel, words(channel)))),
            &filters.channel,
        ),
        categories: choices(
            std::iter::once(("", "Any or none".to_owned())).chain(
                CATEGORIES
                    .iter()
                    .map(|(name, label)| (*name, (*label).to_owned())),
            ),
            &filters.category,
        ),
        orders: choices(
            [
                ("", "Oldest first".to_owned()),
                ("newest", "Newest first".to_owned()),
            ],
            &filters.order,
        ),
        assignees: choices(
            [
                ("", "Anyone or nobody".to_owned()),
                ("me", "Assigned to me".to_owned()),
                ("none", "Assigned to nobody".to_owned()),
            ],
            &filters.assignee,
        ),
        filter_query,
        next_href,
        first_href,
        filters,
        merged,
    };
    html(StatusCode::OK, page.render())
}

// ----- One item -------------------------------------------------------------

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Concern {
    pub id: String,
    pub category: String,
    pub excerpt: Option<String>,
    pub strength: f64,
    pub origin: String,
    pub status: String,
    pub reason: Option<String>,
    pub escalated_to: Option<String>,
    pub escalated_at: Option<String>,
    pub escalation_note: Option<String>,
    pub decided_by: Option<Named>,
    pub raised_by: Option<Named>,
    pub version: i64,
}

impl Concern {
    pub fn label(&self) -> String {
        words(&self.category)
    }

    pub fn status_words(&self) -> String {
        words(&self.status)
    }

    pub fn is_open(&self) -> bool {
        self.status == "RAISED"
    }

    pub fn strength_words(&self) -> &'static str {
        if self.origin == "STAFF" {
            "Raised by staff"
        } else if self.strength >= 0.8 {
            "Found by the detector, a strong sign"
        } else {
            "Found by the detector, a possible sign"
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Note {
    pub body: String,
    pub author: Option<Named>,
    pub created_at: String,
}

impl Note {
    pub fn when(&self) -> String {
        short_time(&self.created_at)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Event {
    pub action: String,
    pub actor: Option<Named>,
    pub at: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Event {
    pub fn when(&self) -> String {
        short_time(&self.at)
    }

    pub fn who(&self) -> &str {
        self.actor
            .as_ref()
            .map_or("the command line", |actor| actor.display_name.as_str())
    }

    /// What changed, as `status: NEW → IN_REVIEW`.
    pub fn changes(&self) -> Vec<String> {
        let empty = Map::new();
        let before = self
            .before
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let after = self
            .after
            .as_ref()
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let show = |value: Option<&Value>| match value {
            None | Some(Value::Null) => "nothing".to_owned(),
            Some(Value::String(text)) => text.clone(),
            Some(other) => other.to_string(),
        };
        after
            .iter()
            .filter(|(key, value)| before.get(*key) != Some(*value) && *key != "version")
            .map(|(key, value)| format!("{key}: {} → {}", show(before.get(key)), show(Some(value))))
            .collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Contact {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// An item as its page shows it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Item {
    #[serde(flatten)]
    pub row: Row,
    pub version: i64,
    pub public_response: Option<String>,
    pub next_statuses: Vec<String>,
    pub channel: String,
    pub locale: String,
    pub notes: Vec<Note>,
    pub history: Vec<Event>,
    pub contact: Option<Contact>,
    pub captured_at: Option<String>,
    pub safeguarding_concerns: Vec<Concern>,
    // Ideas
    pub published: Option<bool>,
    pub theme: Option<String>,
    pub support_count: Option<i64>,
    pub merged_into: Option<IdeaName>,
}

/// An idea as a choice to merge with.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct IdeaName {
    pub id: String,
    pub reference: String,
    pub title: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IdeaNames {
    nodes: Vec<IdeaName>,
}

const ITEM_FIELDS: &str = "id reference safeguarding piiFlags status receivedAt
  assignee { displayName } tags version publicResponse nextStatuses channel locale
  capturedAt notes { body author { displayName } createdAt }
  history { action actor { displayName } at before after }
  safeguardingConcerns { id category excerpt strength origin status reason escalatedTo
    escalatedAt escalationNote decidedBy { displayName } raisedBy { displayName } version }";

fn item_document(kind: Kind, with_contact: bool) -> String {
    let contact = if with_contact {
        "contact { name email phone }"
    } else {
        ""
    };
    match kind {
        Kind::Feedback => format!(
            "query($id: ID!) {{ item: feedback(id: $id) {{ {ITEM_FIELDS} {contact}
               rating comment service {{ slug name }} }} }}"
        ),
        Kind::Idea => format!(
            "query($id: ID!) {{ item: idea(id: $id) {{ {ITEM_FIELDS} {contact}
               title description published theme supportCount mergedInto {{ id reference title }} }}
               others: ideas(first: 50, filter: {{ status: [NEW, UNDER_REVIEW, ACCEPTED, PLANNED] }}) {{
                 nodes {{ id reference title }} }} }}"
        ),
    }
}

/// Which of the two an item is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Feedback,
    Idea,
}

impl Kind {
    fn of(path: &str) -> Option<Self> {
        match path {
            "feedback" => Some(Self::Feedback),
            "ideas" => Some(Self::Idea),
            _ => None,
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Self::Feedback => "feedback",
            Self::Idea => "ideas",
        }
    }
}

/// What the moderator typed, kept when a save is refused.
#[derive(Default)]
pub struct Draft {
    pub status: String,
    pub tags: String,
    pub response: String,
    pub assignee: String,
    pub published: bool,
    pub theme: String,
}

/// A save that met someone else's change.
pub struct Conflict {
    pub who: String,
    pub when: String,
    pub changes: Vec<String>,
}

#[derive(Template)]
#[template(path = "console/item.html")]
struct ItemPage {
    chrome: Chrome,
    kind: Kind,
    item: Item,
    draft: Draft,
    show_contact: bool,
    conflict: Option<Conflict>,
    errors: Vec<String>,
    categories: Vec<Choice>,
    /// Other open ideas, to merge this one with.
    others: Vec<IdeaName>,
    /// The address of this page.
    href: String,
}

impl ItemPage {
    fn status_choices(&self) -> Vec<Choice> {
        let current = &self.item.row.status;
        std::iter::once(current.clone())
            .chain(
                self.item
                    .next_statuses
                    .iter()
                    .filter(|status| *status != current)
                    .cloned(),
            )
            .map(|status| Choice {
                selected: status == self.draft.status,
                label: if status == *current {
                    format!("{} (now)", words(&status))
                } else {
                    words(&status)
                },
                value: status,
            })
            .collect()
    }
}

/// Reads an item for its page (and, for an idea, the others it may be
/// merged with).
async fn read_item(
    state: &AppState,
    session: &Session,
    kind: Kind,
    id: &str,
    with_contact: bool,
) -> Result<(Item, Vec<IdeaName>), Response> {
    let answer = run(
        state,
        session,
        &item_document(kind, with_contact),
        json!({ "id": id }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return Err(refusal);
    }
    let item = pages::field::<Option<Item>>(&answer, "item")
        .flatten()
        .ok_or_else(|| pages::refused(StatusCode::NOT_FOUND, "There is no such item."))?;
    let others = pages::field::<IdeaNames>(&answer, "others")
        .unwrap_or_default()
        .nodes
        .into_iter()
        .filter(|other| other.id != item.row.id)
        .collect();
    Ok((item, others))
}

fn draft_of(item: &Item) -> Draft {
    Draft {
        status: item.row.status.clone(),
        tags: item.row.tags.join(", "),
        response: item.public_response.clone().unwrap_or_default(),
        assignee: String::new(),
        published: item.published.unwrap_or(false),
        theme: item.theme.clone().unwrap_or_default(),
    }
}

#[allow(clippy::too_many_arguments)]
fn item_page(
    session: &Session,
    kind: Kind,
    (item, others): (Item, Vec<IdeaName>),
    draft: Option<Draft>,
    show_contact: bool,
    conflict: Option<Conflict>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let title = format!(
        "{} {}",
        if kind == Kind::Idea {
            "Idea"
        } else {
            "Feedback"
        },
        item.row.reference
    );
    let href = format!("/console/{}/{}", kind.path(), item.row.id);
    let page = ItemPage {
        chrome: Chrome::new(session, title, "/console/queue").with_notice(notice),
        kind,
        draft: draft.unwrap_or_else(|| draft_of(&item)),
        item,
        others,
        show_contact,
        conflict,
        errors,
        categories: choices(
            CATEGORIES
                .iter()
                .map(|(name, label)| (*name, (*label).to_owned())),
            "",
        ),
        href,
    };
    let status = if page.conflict.is_some() {
        StatusCode::CONFLICT
    } else if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(status, page.render())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ItemQuery {
    contact: Option<String>,
    saved: Option<String>,
}

/// `GET /console/{feedback|ideas}/{id}`; `?contact=1` shows the contact
/// details (only to those the API shows them to).
pub async fn item(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path((kind, id)): Path<(String, String)>,
    axum::extract::Query(query): axum::extract::Query<ItemQuery>,
) -> Response {
    let Some(kind) = Kind::of(&kind) else {
        return pages::refused(StatusCode::NOT_FOUND, "There is no such page.");
    };
    let show_contact = query.contact.is_some();
    match read_item(&state, &session, kind, &id, show_contact).await {
        Ok(found) => item_page(
            &session,
            kind,
            found,
            None,
            show_contact,
            None,
            Vec::new(),
            query.saved.map(|what| format!("{} saved.", words(&what))),
        ),
        Err(refusal) => refusal,
    }
}

/// The messages for an answer's errors.
fn messages(answer: &crate::residents::schema::Answer) -> Vec<String> {
    answer
        .errors
        .iter()
        .map(|error| match error.code.as_str() {
            "BAD_USER_INPUT" => error.message.clone(),
            "RATE_LIMITED" => "Too many changes at once. Wait a moment and save again.".to_owned(),
            _ => "That did not work. Try again in a moment.".to_owned(),
        })
        .collect()
}

/// `POST /console/{feedback|ideas}/{id}`: status, assignment, tags and the
/// public response, in one `moderateFeedback` or `moderateIdea`, checked
/// against the version the moderator read.
pub async fn save(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(kind) = Kind::of(&kind) else {
        return pages::refused(StatusCode::NOT_FOUND, "There is no such page.");
    };
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let draft = Draft {
        status: form.get("status").to_owned(),
        tags: form.get("tags").to_owned(),
        response: form.get("response").to_owned(),
        assignee: form.get("assignee").to_owned(),
        published: form.get("published") == "1",
        theme: form.get("theme").to_owned(),
    };
    let version: i64 = form.get("version").parse().unwrap_or(-1);
    let tags: Vec<&str> = draft
        .tags
        .split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .collect();
    let mut input = json!({
        "id": id,
        "expectedVersion": version,
        "tags": tags,
        "publicResponse": Some(draft.response.as_str()).filter(|text| !text.is_empty()),
    });
    if !draft.status.is_empty() {
        input["status"] = json!(draft.status);
    }
    match draft.assignee.as_str() {
        "me" => input["assigneeId"] = json!(session.viewer.id().to_string()),
        "none" => input["assigneeId"] = Value::Null,
        _ => {}
    }
    if kind == Kind::Idea {
        input["published"] = json!(draft.published);
        input["theme"] = json!(Some(draft.theme.as_str()).filter(|text| !text.is_empty()));
    }
    if form.present("preview").is_some() {
        // Show the page again with the draft, without saving it.
        return match read_item(&state, &session, kind, &id, false).await {
            Ok(found) => item_page(
                &session,
                kind,
                found,
                Some(draft),
                false,
                None,
                Vec::new(),
                Some("A preview: nothing is saved yet.".to_owned()),
            ),
            Err(refusal) => refusal,
        };
    }
    let document = match kind {
        Kind::Feedback => {
            "mutation($input: ModerateFeedbackInput!) { moderateFeedback(input: $input) { id } }"
        }
        Kind::Idea => "mutation($input: ModerateIdeaInput!) { moderateIdea(input: $input) { id } }",
    };
    let answer = run(&state, &session, document, json!({ "input": input })).await;
    if answer.errors.is_empty() {
        let href = format!("/console/{}/{id}?saved=changes", kind.path());
        return Redirect::to(&href).into_response();
    }
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    let found = match read_item(&state, &session, kind, &id, false).await {
        Ok(found) => found,
        Err(refusal) => return refusal,
    };
    if answer.error("CONFLICT").is_some() {
        let conflict = found.0.history.first().map_or_else(
            || Conflict {
                who: "someone".to_owned(),
                when: String::new(),
                changes: Vec::new(),
            },
            |event| Conflict {
                who: event.who().to_owned(),
                when: event.when(),
                changes: event.changes(),
            },
        );
        return item_page(
            &session,
            kind,
            found,
            Some(draft),
            false,
            Some(conflict),
            Vec::new(),
            None,
        );
    }
    item_page(
        &session,
        kind,
        found,
        Some(draft),
        false,
        None,
        messages(&answer),
        None,
    )
}

/// `POST /console/{feedback|ideas}/{id}/notes`: an internal note.
pub async fn add_note(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!, $body: String!) { addNote(subjectId: $id, body: $body) { id } }",
        json!({ "id": id, "body": form.get("body") }),
    )
    .await;
    after_write(&state, &session, &kind, &id, &answer, "note").await
}

/// Back to the item after a write: saved, or its page with what went wrong.
async fn after_write(
    state: &AppState,
    session: &Session,
    kind: &str,
    id: &str,
    answer: &crate::residents::schema::Answer,
    what: &str,
) -> Response {
    let Some(kind) = Kind::of(kind) else {
        return pages::refused(StatusCode::NOT_FOUND, "There is no such page.");
    };
    if answer.errors.is_empty() {
        return Redirect::to(&format!("/console/{}/{id}?saved={what}", kind.path()))
            .into_response();
    }
    if let Some(refusal) = pages::denied(answer) {
        return refusal;
    }
    match read_item(state, session, kind, id, false).await {
        Ok(found) => {
            let conflict = answer.error("CONFLICT").map(|_| Conflict {
                who: "Someone else".to_owned(),
                when: String::new(),
                changes: vec!["the concern was decided while you were reading it".to_owned()],
            });
            item_page(
                session,
                kind,
                found,
                None,
                false,
                conflict,
                messages(answer),
                None,
            )
        }
        Err(refusal) => refusal,
    }
}

/// `POST /console/ideas/{id}/merge`: `mergeIdea`, either way round: this
/// idea into another (`direction=into-other`), or another into this one.
pub async fn merge_idea(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let other = form.get("other");
    let (source, target) = if form.get("direction") == "into-other" {
        (id.as_str(), other)
    } else {
        (other, id.as_str())
    };
    let answer = run(
        &state,
        &session,
        "mutation($source: ID!, $target: ID!) { mergeIdea(sourceId: $source, targetId: $target) { id } }",
        json!({ "source": source, "target": target }),
    )
    .await;
    after_write(&state, &session, "ideas", &id, &answer, "merge").await
}

/// `POST /console/{feedback|ideas}/{id}/concerns`: raise a concern the
/// detector missed.
pub async fn raise_concern(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let answer = run(
        &state,
        &session,
        "mutation($input: RaiseSafeguardingConcernInput!) {
           raiseSafeguardingConcern(input: $input) { id } }",
        json!({ "input": {
            "submissionId": id,
            "category": form.get("category"),
            "reason": form.get("reason"),
            "excerpt": form.present("excerpt"),
        }}),
    )
    .await;
    after_write(&state, &session, &kind, &id, &answer, "concern").await
}

/// `POST /console/{feedback|ideas}/{id}/concerns/{concern}`: confirm (with
/// the escalation), dismiss or recategorise a concern, with a reason.
pub async fn decide_concern(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path((kind, id, concern)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let version: Option<i64> = form.get("version").parse().ok();
    let (document, input) = match form.get("decision") {
        "confirm" => (
            "mutation($input: ConfirmSafeguardingConcernInput!) {
               confirmSafeguardingConcern(input: $input) { id } }",
            json!({
                "id": concern, "expectedVersion": version,
                "escalatedTo": form.get("escalated_to"),
                "escalationNote": form.present("note"),
            }),
        ),
        "dismiss" => (
            "mutation($input: DismissSafeguardingConcernInput!) {
               dismissSafeguardingConcern(input: $input) { id } }",
            json!({ "id": concern, "expectedVersion": version, "reason": form.get("reason") }),
        ),
        "recategorise" => (
            "mutation($input: RecategoriseSafeguardingConcernInput!) {
               recategoriseSafeguardingConcern(input: $input) { id } }",
            json!({
                "id": concern, "expectedVersion": version,
                "category": form.get("category"), "reason": form.get("reason"),
            }),
        ),
        _ => {
            return pages::refused(StatusCode::BAD_REQUEST, "Choose confirm, dismiss or move.");
        }
    };
    let answer = run(&state, &session, document, json!({ "input": input })).await;
    after_write(&state, &session, &kind, &id, &answer, "concern").await
}

// ----- Live ---------------------------------------------------------------------

/// `GET /console/queue/live`: each new submission, as a server-sent event,
/// from the `submissionReceived` subscription run as the member. The
/// queue's script counts them into an "N new items" notice, so rows never
/// move under the pointer.
pub async fn live(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
) -> Response {
    use async_graphql::Executor as _;
    use futures_util::StreamExt as _;
    let request = async_graphql::Request::new(
        "subscription { submissionReceived { kind id reference safeguarding } }",
    )
    .data(session.client.clone())
    .data(session.viewer.clone());
    let events = state.schema.execute_stream(request, None).map(|response| {
        let data = response.data.into_json().unwrap_or(Value::Null);
        let event = axum::response::sse::Event::default().event("submission");
        Ok::<_, std::convert::Infallible>(if response.errors.is_empty() {
            event.data(data["submissionReceived"].to_string())
        } else {
            axum::response::sse::Event::default()
                .event("refused")
                .data("{}")
        })
    });
    let mut response = axum::response::sse::Sse::new(events)
        .keep_alive(axum::response::sse::KeepAlive::default())
        .into_response();
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

// ----- Bulk ---------------------------------------------------------------------

/// A bulk change covers at most this many items; a wider filter is narrowed
/// first.
const BULK_LIMIT: usize = 5_000;
/// How many ids one bulk mutation takes (the API's limit).
const BULK_CHUNK: usize = 100;

#[derive(Template)]
#[template(path = "console/bulk.html")]
struct BulkPage {
    chrome: Chrome,
    filter_query: String,
    /// The server's count of what the filter matches.
    count: i64,
    action_words: String,
    status: String,
    assignee: String,
    tag: String,
    done: Option<BulkOutcome>,
    error: Option<String>,
    /// Whether the change is to the selected items, not the whole filter.
    selected: bool,
    /// The selected items, carried through the question.
    items: Vec<String>,
}

struct BulkOutcome {
    changed: usize,
    refused: Vec<(String, String)>,
}

/// Every item the filter matches, up to [`BULK_LIMIT`]: (is an idea, id,
/// reference).
async fn all_matching(
    state: &AppState,
    session: &Session,
    filters: &Filters,
) -> Result<(i64, Vec<(bool, String, String)>), Response> {
    let mut filters = filters.clone();
    filters.fa.clear();
    filters.ia.clear();
    let mut items = Vec::new();
    let mut total = None;
    loop {
        let (merged, _) = read_queue(state, session, &filters, BULK_CHUNK).await?;
        total.get_or_insert(merged.total);
        items.extend(
            merged
                .rows
                .into_iter()
                .map(|row| (row.is_idea(), row.id, row.reference)),
        );
        match merged.next {
            Some((fa, ia)) if items.len() < BULK_LIMIT => {
                filters.fa = fa;
                filters.ia = ia;
            }
            _ => break,
        }
    }
    Ok((total.unwrap_or(0), items))
}

/// `POST /console/queue/bulk`: first the server's count of what the filter
/// matches and a question; with `confirm`, the change to every matching
/// item (not only the rows on screen), then how many changed and which
/// were refused.
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let filter_query = form.get("filter").to_owned();
    let filters = Filters::parse(Some(&filter_query));
    let (status, assignee, tag) = (
        form.get("status").to_owned(),
        form.get("assignee").to_owned(),
        form.get("add_tag").to_owned(),
    );
    let mut action = Vec::new();
    if !status.is_empty() {
        action.push(format!("set the status to {}", words(&status)));
    }
    if assignee == "me" {
        action.push("assign them to you".to_owned());
    }
    if !tag.is_empty() {
        action.push(format!("add the tag “{tag}”"));
    }
    let mut page = BulkPage {
        chrome: Chrome::new(&session, "Change many items", "/console/queue"),
        filter_query: filters.query(),
        count: 0,
        action_words: action.join(", "),
        status,
        assignee,
        tag,
        done: None,
        error: None,
        selected: false,
        items: Vec::new(),
    };
    if action.is_empty() {
        page.error = Some("Choose a status, an assignment or a tag to add.".to_owned());
        return html(StatusCode::UNPROCESSABLE_ENTITY, page.render());
    }
    let selected: Vec<(bool, String, String)> = form
        .all("item")
        .into_iter()
        .filter_map(|item| {
            let (kind, rest) = item.split_once(':')?;
            let (id, reference) = rest.split_once(':')?;
            Some((kind == "i", id.to_owned(), reference.to_owned()))
        })
        .collect();
    page.selected = form.get("scope") == "selected";
    let (count, items) = if page.selected {
        if selected.is_empty() {
            page.error = Some("Select items first, or change all that match.".to_owned());
            return html(StatusCode::UNPROCESSABLE_ENTITY, page.render());
        }
        (i64::try_from(selected.len()).unwrap_or(i64::MAX), selected)
    } else {
        match all_matching(&state, &session, &filters).await {
            Ok(found) => found,
            Err(refusal) => return refusal,
        }
    };
    page.items = items
        .iter()
        .map(|(is_idea, id, reference)| {
            format!("{}:{id}:{reference}", if *is_idea { "i" } else { "f" })
        })
        .collect();
    page.count = count;
    if usize::try_from(count).unwrap_or(usize::MAX) > BULK_LIMIT {
        page.error = Some(format!(
            "The filter matches {count} items; a change to many covers at most {BULK_LIMIT}. Narrow the filter first."
        ));
        return html(StatusCode::UNPROCESSABLE_ENTITY, page.render());
    }
    if form.get("confirm") != "1" {
        return html(StatusCode::OK, page.render());
    }
    let mut outcome = BulkOutcome {
        changed: 0,
        refused: Vec::new(),
    };
    for is_idea in [false, true] {
        let of_kind: Vec<&(bool, String, String)> =
            items.iter().filter(|item| item.0 == is_idea).collect();
        let statuses = if is_idea {
            IDEA_STATUSES
        } else {
            FEEDBACK_STATUSES
        };
        if !page.status.is_empty() && !statuses.contains(&page.status.as_str()) {
            let kind = if is_idea { "an idea" } else { "feedback" };
            outcome.refused.extend(of_kind.iter().map(|item| {
                (
                    item.2.clone(),
                    format!("{} is not a status for {kind}", words(&page.status)),
                )
            }));
            continue;
        }
        for chunk in of_kind.chunks(BULK_CHUNK) {
            let references: std::collections::HashMap<&str, &str> = chunk
                .iter()
                .map(|item| (item.1.as_str(), item.2.as_str()))
                .collect();
            let mut input = json!({ "ids": chunk.iter().map(|item| &item.1).collect::<Vec<_>>() });
            if !page.status.is_empty() {
                input["status"] = json!(page.status);
            }
            if page.assignee == "me" {
                input["assigneeId"] = json!(session.viewer.id().to_string());
            }
            if !page.tag.is_empty() {
                input["addTags"] = json!([page.tag]);
            }
            let (document, field) = if is_idea {
                (
                    "mutation($input: BulkModerateIdeasInput!) { bulkModerateIdeas(input: $input) { id ok code message } }",
                    "bulkModerateIdeas",
                )
            } else {
                (
                    "mutation($input: BulkModerateFeedbackInput!) { bulkModerateFeedback(input: $input) { id ok code message } }",
                    "bulkModerateFeedback",
                )
            };
            let answer = run(&state, &session, document, json!({ "input": input })).await;
            if let Some(refusal) = pages::denied(&answer) {
                return refusal;
            }
            if let Some(error) = answer.errors.first() {
                outcome.refused.extend(
                    chunk
                        .iter()
                        .map(|item| (item.2.clone(), error.message.clone())),
                );
                continue;
            }
            let results: Vec<Value> = pages::field(&answer, field).unwrap_or_default();
            for result in results {
                let id = result["id"].as_str().unwrap_or_default();
                if result["ok"].as_bool() == Some(true) {
                    outcome.changed += 1;
                } else {
                    outcome.refused.push((
                        references.get(id).copied().unwrap_or(id).to_owned(),
                        result["message"].as_str().unwrap_or("refused").to_owned(),
                    ));
                }
            }
        }
    }
    page.done = Some(outcome);
    html(StatusCode::OK, page.render())
}
