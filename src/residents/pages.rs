//! One handler per residents' screen. Each reads like a resolver: find the
//! language and the caller, one GraphQL document run for them (see
//! [`super::schema`]), a template rendered. Forms post here without
//! JavaScript; with it, `assets/app.js` sends the same mutations to
//! `/graphql` itself, through its offline outbox.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::assets;
use super::schema::{self, Answer};
use super::strings::{self, Catalogue, Strings};
use crate::http::AppState;
use crate::submissions::reference::{Reference, ReferenceError, ReferenceKind};

/// The ideas' topics: the value stored, and its label's key.
const THEMES: &[&str] = &[
    "access",
    "mental-health",
    "healthy-living",
    "older-people",
    "children",
    "community",
    "other",
];

/// The Friends and Family Test's six answers, in its order.
const RATINGS: &[&str] = &[
    "VERY_GOOD",
    "GOOD",
    "NEITHER_GOOD_NOR_POOR",
    "POOR",
    "VERY_POOR",
    "DONT_KNOW",
];

/// The cookie holding this browser's supporter key for the idea board.
const SUPPORTER_COOKIE: &str = "hamlet_supporter";

// ----- What every page shares -------------------------------------------

/// One entry of the language switch.
pub struct LanguageLink {
    pub lang: String,
    pub name: String,
    pub href: String,
    pub current: bool,
}

/// The frame around every page.
pub struct Chrome {
    pub lang: String,
    pub organisation: String,
    /// The language the organisation's name came in (content falls back to
    /// English where it has no translation).
    pub organisation_lang: String,
    pub css: String,
    pub js: String,
    pub home: String,
    pub section: &'static str,
    pub languages: Vec<LanguageLink>,
    pub kiosk: bool,
    pub idle_seconds: u64,
    pub warn_seconds: u64,
    /// The words the script needs, as JSON (in an attribute, so escaped).
    pub script_strings: String,
}

/// The errors of a form: each with the id of the field it is about, so the
/// summary can link to it.
#[derive(Default)]
pub struct Errors(Vec<FieldError>);

pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl Errors {
    fn add(&mut self, field: &'static str, message: &str) {
        if !self.has(field) {
            self.0.push(FieldError {
                field,
                message: message.to_owned(),
            });
        }
    }

    pub fn has(&self, field: &str) -> bool {
        self.0.iter().any(|error| error.field == field)
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|error| error.field == field)
            .map(|error| error.message.as_str())
    }

    pub fn list(&self) -> &[FieldError] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The language of a request: `?lang=` (or a form's `lang`) when hamlet
/// speaks it, else the browser's `Accept-Language`, else English.
fn language(query: Option<&str>, headers: &HeaderMap) -> &'static Strings {
    let catalogue = Catalogue::get();
    let asked = query.and_then(|query| {
        serde_urlencoded::from_str::<Vec<(String, String)>>(query)
            .ok()?
            .into_iter()
            .find(|(name, _)| name == "lang")
            .map(|(_, value)| value)
    });
    if let Some(strings) = asked.and_then(|lang| catalogue.language(&lang.to_ascii_lowercase())) {
        return strings;
    }
    let accepted = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    catalogue.choose(strings::accepted(accepted))
}

fn chrome(
    state: &AppState,
    t: &Strings,
    organisation: &Value,
    path: &str,
    section: &'static str,
) -> Chrome {
    let languages = Catalogue::get()
        .all()
        .map(|other| LanguageLink {
            lang: other.lang.clone(),
            name: other.language_name.clone(),
            href: format!("{path}?lang={}", other.lang),
            current: other.lang == t.lang,
        })
        .collect();
    let script_strings = json!({
        "error_service": t.error_service,
        "error_rating": t.error_rating,
        "error_consent": t.error_consent,
        "error_contact": t.error_contact,
        "error_email": t.error_email,
        "error_phone": t.error_phone,
        "error_name": t.error_name,
        "error_comment": t.error_comment,
        "error_title": t.error_title,
        "error_description": t.error_description,
        "error_theme": t.error_theme,
        "error_rate_limited": t.error_rate_limited,
        "error_unavailable": t.error_unavailable,
        "error_general": t.error_general,
        "outbox_count": t.outbox_count,
        "outbox_set_aside": t.outbox_set_aside,
        "sending": t.sending,
        "ideas_supported": t.ideas_supported,
        "kiosk_idle_text": t.kiosk_idle_text,
        "receipt_title": t.receipt_title,
        "receipt_feedback": t.receipt_feedback,
        "receipt_reference_label": t.receipt_reference_label,
        "kiosk_finish": t.kiosk_finish,
    })
    .to_string();
    Chrome {
        lang: t.lang.clone(),
        organisation: organisation["name"]
            .as_str()
            .unwrap_or("Tower Hamlets Together")
            .to_owned(),
        organisation_lang: organisation["locale"]
            .as_str()
            .map_or_else(|| t.lang.clone(), |locale| language_of(locale).to_owned()),
        css: assets::url("app.css"),
        js: assets::url("app.js"),
        home: format!("/?lang={}", t.lang),
        section,
        languages,
        kiosk: section == "kiosk",
        idle_seconds: state.pages.kiosk_idle.as_secs(),
        warn_seconds: state.pages.kiosk_warning.as_secs(),
        script_strings,
    }
}

/// `en` for `en-GB`.
fn language_of(locale: &str) -> &str {
    locale.split('-').next().unwrap_or(locale)
}

const ORGANISATION: &str = "organisation(locale: $lang) { name vision locale }";

/// A rendered page with its status. Pages that may hold what a resident
/// typed (a form sent back with its errors, a receipt, a tracked status) are
/// never stored by a cache; the others are revalidated on every visit (the
/// service worker keeps them for offline use).
fn page(status: StatusCode, html: Result<String, askama::Error>, private: bool) -> Response {
    match html {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CACHE_CONTROL,
                    if private { "no-store" } else { "no-cache" },
                ),
                (header::VARY, "Accept-Language"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a residents' page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CACHE_CONTROL, "no-store")],
                "internal error",
            )
                .into_response()
        }
    }
}

/// Reads a form body no larger than the API accepts, or the refusal.
async fn read_form<T: for<'de> Deserialize<'de> + Default>(
    state: &AppState,
    body: Body,
) -> Result<T, Response> {
    match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => Ok(serde_urlencoded::from_bytes(&bytes).unwrap_or_default()),
        Err(_) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            [(header::CACHE_CONTROL, "no-store")],
            "the form is larger than hamlet accepts",
        )
            .into_response()),
    }
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `Some(text)` when the resident wrote something.
fn present(value: &str) -> Option<&str> {
    let trimmed = value.trim();
    (!trimmed.is_empty()).then_some(trimmed)
}

/// The status and message for a refusal that is about the whole form, not
/// one field: too many sends, the database away, anything else.
fn form_refusal(t: &Strings, answer: &Answer) -> (StatusCode, String, Option<u64>) {
    if let Some(limited) = answer.error("RATE_LIMITED") {
        let seconds = limited.retry_after_seconds.unwrap_or(60);
        return (
            StatusCode::TOO_MANY_REQUESTS,
            Strings::fill(&t.error_rate_limited, "seconds", seconds),
            Some(seconds),
        );
    }
    if answer.error("SERVICE_UNAVAILABLE").is_some() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            t.error_unavailable.clone(),
            None,
        );
    }
    (StatusCode::BAD_REQUEST, t.error_general.clone(), None)
}

fn with_retry_after(mut response: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

// ----- Have your say ---------------------------------------------------------

#[derive(Template)]
#[template(path = "residents/home.html")]
struct HomePage {
    t: &'static Strings,
    chrome: Chrome,
    vision: Option<String>,
}

/// `GET /`: the partnership's name and vision, and the four ways in.
pub async fn home(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let answer = schema::run(
        &state,
        &client,
        &format!("query Home($lang: String) {{ {ORGANISATION} }}"),
        json!({ "lang": t.lang }),
    )
    .await;
    let organisation = &answer.data["organisation"];
    let page_html = HomePage {
        t,
        chrome: chrome(&state, t, organisation, "/", "home"),
        vision: organisation["vision"].as_str().map(str::to_owned),
    }
    .render();
    page(StatusCode::OK, page_html, false)
}

// ----- Feedback --------------------------------------------------------------

/// What the feedback form sends (every field optional, so a partly filled
/// form comes back with its errors rather than a bare refusal).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct FeedbackForm {
    pub lang: String,
    pub key: String,
    pub step: String,
    pub service: String,
    pub rating: String,
    pub comment: String,
    pub consent: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub website: String,
}

pub struct ServiceChoice {
    pub slug: String,
    pub name: String,
    /// What live filtering matches against: name, category, description.
    pub search: String,
    pub checked: bool,
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "residents/feedback.html")]
struct FeedbackPage {
    t: &'static Strings,
    chrome: Chrome,
    errors: Errors,
    form: FeedbackForm,
    services: Vec<ServiceChoice>,
    ratings: Vec<Choice>,
    query: String,
    action: &'static str,
}

#[derive(Template)]
#[template(path = "residents/contact.html")]
struct ContactPage {
    t: &'static Strings,
    chrome: Chrome,
    errors: Errors,
    form: FeedbackForm,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceSearch {
    q: String,
}

fn rating_label<'a>(t: &'a Strings, value: &str) -> &'a str {
    match value {
        "VERY_GOOD" => &t.rating_very_good,
        "GOOD" => &t.rating_good,
        "NEITHER_GOOD_NOR_POOR" => &t.rating_neither,
        "POOR" => &t.rating_poor,
        "VERY_POOR" => &t.rating_very_poor,
        _ => &t.rating_dont_know,
    }
}

const SERVICES: &str = "services { slug name description category }";

/// The feedback form (or the kiosk's start screen): services matching the
/// search, if there is one.
async fn feedback_form(
    state: &AppState,
    client: &crate::auth::Client,
    t: &'static Strings,
    form: FeedbackForm,
    errors: Errors,
    search: &str,
    kiosk: bool,
) -> Result<String, askama::Error> {
    let answer = schema::run(
        state,
        client,
        &format!("query Feedback($lang: String) {{ {ORGANISATION} {SERVICES} }}"),
        json!({ "lang": t.lang }),
    )
    .await;
    let wanted = search.trim().to_lowercase();
    let services = answer.data["services"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|service| {
            let slug = service["slug"].as_str()?.to_owned();
            let name = service["name"].as_str()?.to_owned();
            let search = format!(
                "{} {} {}",
                name,
                service["category"].as_str().unwrap_or_default(),
                service["description"].as_str().unwrap_or_default()
            )
            .to_lowercase();
            let checked = form.service == slug;
            (wanted.is_empty() || search.contains(&wanted) || checked).then_some(ServiceChoice {
                slug,
                name,
                search,
                checked,
            })
        })
        .collect();
    let ratings = RATINGS
        .iter()
        .map(|value| Choice {
            value: (*value).to_owned(),
            label: rating_label(t, value).to_owned(),
            checked: form.rating == *value,
        })
        .collect();
    let (path, section) = if kiosk {
        ("/kiosk", "kiosk")
    } else {
        ("/feedback", "feedback")
    };
    FeedbackPage {
        t,
        chrome: chrome(state, t, &answer.data["organisation"], path, section),
        errors,
        form: FeedbackForm {
            key: if form.key.is_empty() {
                new_key()
            } else {
                form.key
            },
            ..form
        },
        services,
        ratings,
        query: search.to_owned(),
        action: path,
    }
    .render()
}

/// `GET /feedback`: the Friends and Family Test form.
pub async fn feedback(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let search: ServiceSearch =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let html = feedback_form(
        &state,
        &client,
        t,
        FeedbackForm::default(),
        Errors::default(),
        &search.q,
        false,
    )
    .await;
    page(StatusCode::OK, html, false)
}

/// `GET /kiosk`: the feedback form as a kiosk shows it. Enrolment, the
/// token and the idle reset are the script's (a kiosk without JavaScript
/// says it needs it).
pub async fn kiosk(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let html = feedback_form(
        &state,
        &client,
        t,
        FeedbackForm::default(),
        Errors::default(),
        "",
        true,
    )
    .await;
    page(StatusCode::OK, html, false)
}

const SUBMIT_FEEDBACK: &str = "mutation SubmitFeedback($input: SubmitFeedbackInput!) {
  submitFeedback(input: $input) { reference replayed }
}";

/// Which of the form's fields an API error names.
fn feedback_field(field: Option<&str>) -> Option<&'static str> {
    match field? {
        "serviceSlug" => Some("service"),
        "rating" => Some("rating"),
        "comment" => Some("comment"),
        "contact.name" => Some("name"),
        "contact.email" | "contact" => Some("email"),
        "contact.phone" => Some("phone"),
        _ => None,
    }
}

fn feedback_message<'a>(t: &'a Strings, field: &str) -> &'a str {
    match field {
        "service" => &t.error_service,
        "rating" => &t.error_rating,
        "comment" => &t.error_comment,
        "name" => &t.error_name,
        "phone" => &t.error_phone,
        _ => &t.error_email,
    }
}

/// `POST /feedback`: the form without JavaScript. Checks what the API
/// cannot be asked without (a service, an answer, a consent choice), asks
/// for contact details once the resident says yes, then sends
/// `submitFeedback` and shows the receipt.
pub async fn send_feedback(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Body,
) -> Response {
    let form: FeedbackForm = match read_form(&state, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let lang_query = format!("lang={}", form.lang);
    let t = language(Some(&lang_query), &headers);
    let t = if form.lang.is_empty() {
        language(query.as_deref(), &headers)
    } else {
        t
    };
    let client = schema::client(&state, peer, &headers);

    let mut errors = Errors::default();
    if present(&form.service).is_none() {
        errors.add("service", &t.error_service);
    }
    if !RATINGS.contains(&form.rating.as_str()) {
        errors.add("rating", &t.error_rating);
    }
    let consent = match form.consent.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    if consent.is_none() {
        errors.add("consent", &t.error_consent);
    }
    let wants_contact = consent == Some(true);
    let has_contact = present(&form.email).is_some() || present(&form.phone).is_some();
    if !errors.is_empty() {
        let html = feedback_form(&state, &client, t, form, errors, "", false).await;
        return page(StatusCode::BAD_REQUEST, html, true);
    }
    if wants_contact && !has_contact {
        // The contact step: shown the first time, and again with an error
        // when it came back empty.
        let mut errors = Errors::default();
        if form.step == "contact" {
            errors.add("email", &t.error_contact);
        }
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        return contact_page(&state, &client, t, form, errors, status).await;
    }

    let mut input = json!({
        "idempotencyKey": if form.key.is_empty() { new_key() } else { form.key.clone() },
        "serviceSlug": form.service.trim(),
        "rating": form.rating,
        "channel": "WEB",
        "locale": t.lang,
        "website": form.website,
    });
    if let Some(comment) = present(&form.comment) {
        input["comment"] = json!(comment);
    }
    if wants_contact {
        input["contact"] = json!({
            "name": present(&form.name),
            "email": present(&form.email),
            "phone": present(&form.phone),
            "consentToContact": true,
        });
    }
    let mut answer = schema::run(&state, &client, SUBMIT_FEEDBACK, json!({ "input": input })).await;
    if answer.error("CONFLICT").is_some() {
        // The resident went back and changed their answers: that is a new
        // submission, not a retry of the first.
        input["idempotencyKey"] = json!(new_key());
        answer = schema::run(&state, &client, SUBMIT_FEEDBACK, json!({ "input": input })).await;
    }
    if let Some(reference) = answer.data["submitFeedback"]["reference"].as_str() {
        return see_other(&format!("/receipt/{reference}?lang={}", t.lang));
    }
    let mut errors = Errors::default();
    for error in &answer.errors {
        if error.code == "BAD_USER_INPUT"
            && let Some(field) = feedback_field(error.field.as_deref())
        {
            errors.add(field, feedback_message(t, field));
        }
    }
    let contact_problem = ["name", "email", "phone"]
        .iter()
        .any(|field| errors.has(field));
    if contact_problem && form.step == "contact" {
        return contact_page(&state, &client, t, form, errors, StatusCode::BAD_REQUEST).await;
    }
    let (status, message, retry_after) = form_refusal(t, &answer);
    if errors.is_empty() {
        errors.add("service", &message);
    }
    let status = if answer.error("BAD_USER_INPUT").is_some() && retry_after.is_none() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let html = feedback_form(&state, &client, t, form, errors, "", false).await;
    with_retry_after(page(status, html, true), retry_after)
}

async fn contact_page(
    state: &AppState,
    client: &crate::auth::Client,
    t: &'static Strings,
    form: FeedbackForm,
    errors: Errors,
    status: StatusCode,
) -> Response {
    let answer = schema::run(
        state,
        client,
        &format!("query Contact($lang: String) {{ {ORGANISATION} }}"),
        json!({ "lang": t.lang }),
    )
    .await;
    let html = ContactPage {
        t,
        chrome: chrome(
            state,
            t,
            &answer.data["organisation"],
            "/feedback",
            "feedback",
        ),
        errors,
        form,
    }
    .render();
    page(status, html, true)
}

// ----- Receipts --------------------------------------------------------------

#[derive(Template)]
#[template(path = "residents/receipt.html")]
struct ReceiptPage {
    t: &'static Strings,
    chrome: Chrome,
    reference: String,
    is_idea: bool,
}

#[derive(Template)]
#[template(path = "residents/not_found.html")]
struct NotFoundPage {
    t: &'static Strings,
    chrome: Chrome,
}

/// `GET /receipt/{reference}`: the reference just issued and a link to track
/// it. It shows only what is in its own address, so it reveals nothing.
pub async fn receipt(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(reference): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let answer = schema::run(
        &state,
        &client,
        &format!("query Receipt($lang: String) {{ {ORGANISATION} }}"),
        json!({ "lang": t.lang }),
    )
    .await;
    let chrome = chrome(&state, t, &answer.data["organisation"], "/", "receipt");
    let Ok(parsed) = Reference::parse(&reference) else {
        return page(
            StatusCode::NOT_FOUND,
            NotFoundPage { t, chrome }.render(),
            true,
        );
    };
    let html = ReceiptPage {
        t,
        chrome,
        reference: parsed.to_string(),
        is_idea: parsed.kind() == ReferenceKind::Idea,
    }
    .render();
    page(StatusCode::OK, html, true)
}

// ----- Ideas -----------------------------------------------------------------

pub struct BoardIdea {
    pub id: String,
    pub title: String,
    pub description: String,
    pub theme: Option<String>,
    pub status: String,
    pub supporters: i64,
    pub response: Option<String>,
    pub supported: bool,
}

#[derive(Template)]
#[template(path = "residents/ideas.html")]
struct IdeasPage {
    t: &'static Strings,
    chrome: Chrome,
    ideas: Vec<BoardIdea>,
    next: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BoardQuery {
    after: String,
    supported: String,
}

fn theme_label(t: &Strings, theme: &str) -> Option<String> {
    let label = match theme {
        "access" => &t.theme_access,
        "mental-health" => &t.theme_mental_health,
        "healthy-living" => &t.theme_healthy_living,
        "older-people" => &t.theme_older_people,
        "children" => &t.theme_children,
        "community" => &t.theme_community,
        "other" => &t.theme_other,
        _ => return None,
    };
    Some(label.clone())
}

/// What a resident is told a submission's status is.
fn status_label(t: &Strings, status: &str) -> String {
    match status {
        "IN_REVIEW" => &t.status_in_review,
        "ACTIONED" => &t.status_actioned,
        "CLOSED" | "SPAM" => &t.status_closed,
        "UNDER_REVIEW" => &t.status_under_review,
        "ACCEPTED" => &t.status_accepted,
        "PLANNED" => &t.status_planned,
        "IMPLEMENTED" => &t.status_implemented,
        "DECLINED" => &t.status_declined,
        "DUPLICATE" => &t.status_duplicate,
        _ => &t.status_new,
    }
    .clone()
}

const BOARD: &str = "query Board($lang: String, $after: String) {
  organisation(locale: $lang) { name vision locale }
  ideaBoard(first: 20, after: $after) {
    edges { node { id title description theme status publicResponse supportCount } }
    pageInfo { hasNextPage endCursor }
  }
}";

/// `GET /ideas`: the public idea board.
pub async fn ideas(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let board: BoardQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let after = present(&board.after);
    let mut answer = schema::run(
        &state,
        &client,
        BOARD,
        json!({ "lang": t.lang, "after": after }),
    )
    .await;
    if after.is_some() && answer.data["ideaBoard"].is_null() {
        // A stale or mangled cursor: start from the top.
        answer = schema::run(&state, &client, BOARD, json!({ "lang": t.lang })).await;
    }
    let connection = &answer.data["ideaBoard"];
    let ideas = connection["edges"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|edge| {
            let node = &edge["node"];
            let id = node["id"].as_str()?.to_owned();
            Some(BoardIdea {
                supported: board.supported == id,
                id,
                title: node["title"].as_str()?.to_owned(),
                description: node["description"].as_str().unwrap_or_default().to_owned(),
                theme: node["theme"]
                    .as_str()
                    .map(|theme| theme_label(t, theme).unwrap_or_else(|| theme.to_owned())),
                status: status_label(t, node["status"].as_str().unwrap_or_default()),
                supporters: node["supportCount"].as_i64().unwrap_or_default(),
                response: node["publicResponse"].as_str().map(str::to_owned),
            })
        })
        .collect();
    let next = connection["pageInfo"]["hasNextPage"]
        .as_bool()
        .filter(|more| *more)
        .and_then(|_| connection["pageInfo"]["endCursor"].as_str())
        .map(str::to_owned);
    let html = IdeasPage {
        t,
        chrome: chrome(&state, t, &answer.data["organisation"], "/ideas", "ideas"),
        ideas,
        next,
    }
    .render();
    page(StatusCode::OK, html, !board.supported.is_empty())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SupportForm {
    idea: String,
    lang: String,
}

/// This browser's supporter key, from its cookie.
fn supporter_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SUPPORTER_COOKIE)
        .map(|(_, value)| value.to_owned())
        .filter(|value| {
            (8..=64).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

const SUPPORT: &str = "mutation Support($idea: ID!, $key: String!) {
  supportIdea(ideaId: $idea, supporterKey: $key) { id supportCount }
}";

/// `POST /ideas/support`: supports an idea with this browser's supporter key
/// (made on the first support and kept in a cookie, which the script uses
/// too), so one browser counts once.
pub async fn support_idea(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form: SupportForm = match read_form(&state, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let t = language(Some(&format!("lang={}", form.lang)), &headers);
    let client = schema::client(&state, peer, &headers);
    let (key, fresh) = match supporter_cookie(&headers) {
        Some(key) => (key, false),
        None => (new_key(), true),
    };
    let answer = schema::run(
        &state,
        &client,
        SUPPORT,
        json!({ "idea": form.idea, "key": key }),
    )
    .await;
    let supported = answer.data["supportIdea"]["id"].as_str();
    let mut response = match supported {
        Some(id) => see_other(&format!("/ideas?lang={}&supported={id}#idea-{id}", t.lang)),
        None => {
            let (status, message, retry_after) = form_refusal(t, &answer);
            let status = if answer.error("NOT_FOUND").is_some() {
                StatusCode::NOT_FOUND
            } else {
                status
            };
            with_retry_after(
                (
                    status,
                    [
                        (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    message,
                )
                    .into_response(),
                retry_after,
            )
        }
    };
    if fresh && supported.is_some() {
        let cookie = format!("{SUPPORTER_COOKIE}={key}; Path=/; Max-Age=31536000; SameSite=Strict");
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct IdeaForm {
    pub lang: String,
    pub key: String,
    pub title: String,
    pub description: String,
    pub theme: String,
    pub website: String,
}

#[derive(Template)]
#[template(path = "residents/idea_new.html")]
struct NewIdeaPage {
    t: &'static Strings,
    chrome: Chrome,
    errors: Errors,
    form: IdeaForm,
    themes: Vec<Choice>,
}

async fn idea_form(
    state: &AppState,
    client: &crate::auth::Client,
    t: &'static Strings,
    form: IdeaForm,
    errors: Errors,
) -> Result<String, askama::Error> {
    let answer = schema::run(
        state,
        client,
        &format!("query NewIdea($lang: String) {{ {ORGANISATION} }}"),
        json!({ "lang": t.lang }),
    )
    .await;
    let themes = THEMES
        .iter()
        .map(|value| Choice {
            value: (*value).to_owned(),
            label: theme_label(t, value).unwrap_or_default(),
            checked: form.theme == *value,
        })
        .collect();
    NewIdeaPage {
        t,
        chrome: chrome(
            state,
            t,
            &answer.data["organisation"],
            "/ideas/new",
            "ideas",
        ),
        errors,
        form: IdeaForm {
            key: if form.key.is_empty() {
                new_key()
            } else {
                form.key
            },
            ..form
        },
        themes,
    }
    .render()
}

/// `GET /ideas/new`: the form for sharing an idea.
pub async fn new_idea(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let html = idea_form(&state, &client, t, IdeaForm::default(), Errors::default()).await;
    page(StatusCode::OK, html, false)
}

const SUBMIT_IDEA: &str = "mutation SubmitIdea($input: SubmitIdeaInput!) {
  submitIdea(input: $input) { reference replayed }
}";

/// `POST /ideas/new`: sends `submitIdea` and shows the receipt.
pub async fn send_idea(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form: IdeaForm = match read_form(&state, body).await {
        Ok(form) => form,
        Err(response) => return response,
    };
    let t = language(Some(&format!("lang={}", form.lang)), &headers);
    let client = schema::client(&state, peer, &headers);
    let mut errors = Errors::default();
    if present(&form.title).is_none() {
        errors.add("title", &t.error_title);
    }
    if present(&form.description).is_none() {
        errors.add("description", &t.error_description);
    }
    let theme = present(&form.theme);
    if theme.is_some_and(|theme| !THEMES.contains(&theme)) {
        errors.add("theme", &t.error_theme);
    }
    if !errors.is_empty() {
        let html = idea_form(&state, &client, t, form, errors).await;
        return page(StatusCode::BAD_REQUEST, html, true);
    }
    let mut input = json!({
        "idempotencyKey": if form.key.is_empty() { new_key() } else { form.key.clone() },
        "title": form.title.trim(),
        "description": form.description.trim(),
        "theme": theme,
        "channel": "WEB",
        "locale": t.lang,
        "website": form.website,
    });
    let mut answer = schema::run(&state, &client, SUBMIT_IDEA, json!({ "input": input })).await;
    if answer.error("CONFLICT").is_some() {
        input["idempotencyKey"] = json!(new_key());
        answer = schema::run(&state, &client, SUBMIT_IDEA, json!({ "input": input })).await;
    }
    if let Some(reference) = answer.data["submitIdea"]["reference"].as_str() {
        return see_other(&format!("/receipt/{reference}?lang={}", t.lang));
    }
    for error in &answer.errors {
        match (error.code.as_str(), error.field.as_deref()) {
            ("BAD_USER_INPUT", Some("title")) => errors.add("title", &t.error_title),
            ("BAD_USER_INPUT", Some("description")) => {
                errors.add("description", &t.error_description);
            }
            ("BAD_USER_INPUT", Some("theme")) => errors.add("theme", &t.error_theme),
            _ => {}
        }
    }
    let (status, message, retry_after) = form_refusal(t, &answer);
    if errors.is_empty() {
        errors.add("title", &message);
    }
    let status = if retry_after.is_some() {
        status
    } else if answer.error("BAD_USER_INPUT").is_some() {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    let html = idea_form(&state, &client, t, form, errors).await;
    with_retry_after(page(status, html, true), retry_after)
}

// ----- Tracking --------------------------------------------------------------

pub struct TrackedStatus {
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub received_at: String,
    pub received_on: String,
    pub updated_at: String,
    pub updated_on: String,
    pub response: Option<String>,
}

#[derive(Template)]
#[template(path = "residents/track.html")]
struct TrackPage {
    t: &'static Strings,
    chrome: Chrome,
    errors: Errors,
    reference: String,
    status: Option<TrackedStatus>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TrackQuery {
    reference: String,
}

const TRACK: &str = "query Track($lang: String, $reference: String!) {
  organisation(locale: $lang) { name vision locale }
  submission(reference: $reference) { reference kind status receivedAt updatedAt publicResponse }
}";

/// `2026-12-03` as `03/12/2026`, the way UK letters write dates.
fn day_of(timestamp: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(timestamp)
        .map(|at| at.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|_| timestamp.to_owned())
}

/// `GET /track?reference=…`: a receipt's status and public response. A
/// mistyped reference is caught by its checksum before any look-up, and the
/// resident is told kindly what to check.
pub async fn track(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let t = language(query.as_deref(), &headers);
    let client = schema::client(&state, peer, &headers);
    let asked: TrackQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let typed = asked.reference.trim().to_owned();
    let mut errors = Errors::default();
    let mut status = None;
    let mut code = StatusCode::OK;
    let organisation;
    if typed.is_empty() {
        let answer = schema::run(
            &state,
            &client,
            &format!("query TrackForm($lang: String) {{ {ORGANISATION} }}"),
            json!({ "lang": t.lang }),
        )
        .await;
        organisation = answer.data["organisation"].clone();
    } else {
        match Reference::parse(&typed) {
            Err(ReferenceError::Malformed) => errors.add("reference", &t.track_malformed),
            Err(ReferenceError::ChecksumMismatch) => errors.add("reference", &t.track_typo),
            Ok(_) => {}
        }
        let answer = if errors.is_empty() {
            schema::run(
                &state,
                &client,
                TRACK,
                json!({ "lang": t.lang, "reference": typed }),
            )
            .await
        } else {
            schema::run(
                &state,
                &client,
                &format!("query TrackForm($lang: String) {{ {ORGANISATION} }}"),
                json!({ "lang": t.lang }),
            )
            .await
        };
        organisation = answer.data["organisation"].clone();
        let found = &answer.data["submission"];
        if let Some(reference) = found["reference"].as_str() {
            let at = |name: &str| found[name].as_str().unwrap_or_default().to_owned();
            status = Some(TrackedStatus {
                reference: reference.to_owned(),
                kind: if found["kind"] == "IDEA" {
                    t.kind_idea.clone()
                } else {
                    t.kind_feedback.clone()
                },
                status: status_label(t, found["status"].as_str().unwrap_or_default()),
                received_on: day_of(&at("receivedAt")),
                received_at: at("receivedAt"),
                updated_on: day_of(&at("updatedAt")),
                updated_at: at("updatedAt"),
                response: found["publicResponse"].as_str().map(str::to_owned),
            });
        } else if errors.is_empty() {
            let (refused, message, retry_after) = form_refusal(t, &answer);
            if answer.error("NOT_FOUND").is_some() {
                errors.add("reference", &t.track_not_found);
                code = StatusCode::NOT_FOUND;
            } else {
                errors.add("reference", &message);
                code = refused;
                let html = TrackPage {
                    t,
                    chrome: chrome(&state, t, &organisation, "/track", "track"),
                    errors,
                    reference: typed,
                    status,
                }
                .render();
                return with_retry_after(page(code, html, true), retry_after);
            }
        } else {
            code = StatusCode::BAD_REQUEST;
        }
    }
    let private = !typed.is_empty();
    let html = TrackPage {
        t,
        chrome: chrome(&state, t, &organisation, "/track", "track"),
        errors,
        reference: typed,
        status,
    }
    .render();
    page(code, html, private)
}
