//! The editors' screens: every page with where it is in its life; a page's
//! English and Bengali drafts side by side, each with the public's view of
//! it; publishing now or at a set time, and withdrawing; revisions, compared
//! line by line and restored; and the organisation's own text.
//!
//! Like every console screen these read and write only through the schema
//! (see [`pages::run`]), so the API's EDITOR guards decide who may use them.
//! A page's drafts are one form with a column per language and a save
//! button for each: every language is saved as its own draft (`savePage`),
//! and what was typed in the other column stays on the screen, unsaved,
//! until it is saved too. Times are shown and entered in UK time (London),
//! where the partnership's editors work.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pages::{self, Chrome, Posted, html, run};
use super::session::Session;
use crate::http::AppState;
use crate::residents::schema::{Answer, ApiError};
use crate::staff::model::Role;

/// Where the editors' screens sit in the navigation.
const SECTION: &str = "/console/pages";

// ----- Languages ----------------------------------------------------------------

/// A language the partnership publishes in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Language {
    /// The language tag, as the API takes it.
    pub tag: &'static str,
    /// Its name in English.
    pub name: &'static str,
    /// Its name in itself.
    pub own_name: &'static str,
}

/// The languages the editors write in, English first.
pub const LANGUAGES: [Language; 2] = [
    Language {
        tag: "en",
        name: "English",
        own_name: "English",
    },
    Language {
        tag: "bn",
        name: "Bengali",
        own_name: "বাংলা",
    },
];

impl Language {
    fn of(tag: &str) -> Option<Self> {
        LANGUAGES
            .iter()
            .copied()
            .find(|language| language.tag == tag)
    }

    /// Whether its name in itself differs from its English name.
    pub fn has_own_name(&self) -> bool {
        self.own_name != self.name
    }
}

/// The English name of a language tag, or the tag itself.
fn language_name(tag: &str) -> String {
    Language::of(tag).map_or_else(|| tag.to_owned(), |language| language.name.to_owned())
}

/// Whether the form holds `language`'s column at all.
fn sent(form: &Posted, language: Language) -> bool {
    let prefix = format!("{}_", language.tag);
    form.0.iter().any(|(name, _)| name.starts_with(&prefix))
}

/// Every language's tag, best first, as one `locale` argument.
fn all_tags() -> String {
    LANGUAGES
        .iter()
        .map(|language| language.tag)
        .collect::<Vec<_>>()
        .join(",")
}

// ----- UK time --------------------------------------------------------------------

/// 01:00 UTC on the last Sunday of `month`: when UK clocks change.
fn clock_change(year: i32, month: u32) -> Option<DateTime<Utc>> {
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    }?;
    let last_day = next_month.pred_opt()?;
    let back = i64::from(last_day.weekday().num_days_from_sunday());
    let sunday = last_day - chrono::Duration::days(back);
    Some(sunday.and_hms_opt(1, 0, 0)?.and_utc())
}

/// Whether British Summer Time (UTC+1) is in force at `at`.
fn summer_time(at: DateTime<Utc>) -> bool {
    match (clock_change(at.year(), 3), clock_change(at.year(), 10)) {
        (Some(start), Some(end)) => start <= at && at < end,
        _ => false,
    }
}

/// `at` on a clock in London.
pub fn uk_time(at: DateTime<Utc>) -> NaiveDateTime {
    let offset = if summer_time(at) { 1 } else { 0 };
    at.naive_utc() + chrono::Duration::hours(offset)
}

/// The moment a clock in London shows `local`: in the hour that repeats
/// when the clocks go back, the first of the two; `None` in the hour
/// skipped when they go forward.
pub fn from_uk_time(local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let in_summer = (local - chrono::Duration::hours(1)).and_utc();
    if summer_time(in_summer) {
        return Some(in_summer);
    }
    let in_winter = local.and_utc();
    (!summer_time(in_winter)).then_some(in_winter)
}

/// An RFC 3339 time as `1 June 2026, 09:00 UK time`.
pub fn uk_words(value: &str) -> String {
    DateTime::parse_from_rfc3339(value).map_or_else(
        |_| value.to_owned(),
        |at| {
            uk_time(at.with_timezone(&Utc))
                .format("%-d %B %Y, %H:%M UK time")
                .to_string()
        },
    )
}

// ----- What the API answers ----------------------------------------------------------

/// A page as an editor sees it: its newest draft in one language, and where
/// the page is in its life.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct EditorPage {
    pub id: String,
    pub slug: String,
    pub locale: String,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    /// The body as the API renders it (sanitised there).
    pub body_html: String,
    pub status: String,
    pub version: i64,
    pub published_version: Option<i64>,
    pub published_at: Option<String>,
    pub scheduled_at: Option<String>,
    pub available_locales: Vec<String>,
}

impl EditorPage {
    pub fn href(&self) -> String {
        format!("/console/pages/{}", self.slug)
    }

    /// One or two words for where the page is.
    pub fn status_words(&self) -> &'static str {
        match (self.scheduled_at.is_some(), self.status.as_str()) {
            (true, _) => "Scheduled",
            (false, "PUBLISHED") => "Published",
            (false, "ARCHIVED") => "Withdrawn",
            _ => "Draft",
        }
    }

    /// A class for the status tag (the words say it too).
    pub fn status_class(&self) -> &'static str {
        match self.status_words() {
            "Published" => "tag-published",
            "Scheduled" => "tag-scheduled",
            "Withdrawn" => "tag-withdrawn",
            _ => "tag-draft",
        }
    }

    /// What else an editor should know about where it is.
    pub fn status_detail(&self) -> String {
        let newer_draft = self
            .published_version
            .is_some_and(|published| self.version > published);
        match (self.scheduled_at.is_some(), self.status.as_str()) {
            (true, "PUBLISHED") => {
                "It is public now; its newest drafts replace what the public reads at the set time."
                    .to_owned()
            }
            (true, _) => "Not public yet; it goes live at the set time.".to_owned(),
            (false, "PUBLISHED") if newer_draft => {
                "A newer draft is saved but not published yet.".to_owned()
            }
            (false, "PUBLISHED") => "The public reads its newest drafts.".to_owned(),
            (false, "ARCHIVED") => "Taken down: the public cannot read it.".to_owned(),
            _ => "Never published: the public cannot read it.".to_owned(),
        }
    }

    /// The languages it has text in, by name.
    pub fn languages(&self) -> String {
        // The editors' languages in their order, then any other.
        let mut tags: Vec<&String> = self.available_locales.iter().collect();
        tags.sort_by_key(|tag| {
            LANGUAGES
                .iter()
                .position(|language| language.tag == tag.as_str())
                .unwrap_or(LANGUAGES.len())
        });
        let names: Vec<String> = tags.into_iter().map(|tag| language_name(tag)).collect();
        if names.is_empty() {
            "None".to_owned()
        } else {
            names.join(", ")
        }
    }

    /// When it goes live (or went live), in words.
    pub fn goes_live(&self) -> String {
        match (&self.scheduled_at, &self.published_at, self.status.as_str()) {
            (Some(at), _, _) => uk_words(at),
            (None, Some(at), "PUBLISHED") => format!("Live since {}", uk_words(at)),
            _ => "Not set".to_owned(),
        }
    }

    /// Whether it can be withdrawn: it is public, or set to be.
    pub fn can_withdraw(&self) -> bool {
        self.status == "PUBLISHED" || self.scheduled_at.is_some()
    }
}

/// Who saved a revision.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct Author {
    pub display_name: String,
}

/// One saved draft of a page, in one language.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct Revision {
    pub version: i64,
    pub locale: String,
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub body: String,
    pub author: Option<Author>,
    pub created_at: String,
}

impl Revision {
    pub fn language(&self) -> String {
        language_name(&self.locale)
    }

    pub fn who(&self) -> &str {
        self.author
            .as_ref()
            .map_or("someone", |author| author.display_name.as_str())
    }

    pub fn when(&self) -> String {
        uk_words(&self.created_at)
    }
}

/// The messages for errors that belong to no field.
fn general_messages(answer: &Answer) -> Vec<Problem> {
    answer
        .errors
        .iter()
        .map(|error| Problem {
            target: String::new(),
            message: match error.code.as_str() {
                "BAD_USER_INPUT" | "CONFLICT" => sentence(&error.message),
                "RATE_LIMITED" => {
                    "Too many changes at once. Wait a moment and try again.".to_owned()
                }
                _ => "That did not work. Try again in a moment.".to_owned(),
            },
        })
        .collect()
}

/// `text` with a capital letter and a full stop.
fn sentence(text: &str) -> String {
    let mut chars = text.trim().chars();
    let mut out: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

/// The reason of a `BAD_USER_INPUT`, without the field's name before it.
fn reason(error: &ApiError) -> &str {
    match &error.field {
        Some(field) => error
            .message
            .strip_prefix(field.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&error.message),
        None => &error.message,
    }
}

// ----- Forms and their problems ----------------------------------------------------------

/// Something wrong with what was sent, linked to its field when it has one.
pub struct Problem {
    /// The id of the field at fault, or empty.
    pub target: String,
    pub message: String,
}

/// One field of a form.
pub struct Field {
    pub id: String,
    pub name: String,
    pub label: String,
    pub hint: Option<String>,
    pub value: String,
    /// The language of what is typed in it.
    pub lang: &'static str,
    /// Rows of a text area; 0 for a one-line input.
    pub rows: u32,
    pub error: Option<String>,
}

impl Field {
    fn new(language: Language, name: &str, label: &str, value: &str) -> Self {
        Self {
            id: format!("{}-{}", language.tag, name.replace('_', "-")),
            name: format!("{}_{name}", language.tag),
            label: label.to_owned(),
            hint: None,
            value: value.to_owned(),
            lang: language.tag,
            rows: 0,
            error: None,
        }
    }

    fn hint(mut self, hint: &str) -> Self {
        self.hint = Some(hint.to_owned());
        self
    }

    fn rows(mut self, rows: u32) -> Self {
        self.rows = rows;
        self
    }

    /// The ids of its hint and its error, for `aria-describedby`.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

/// Puts each problem's message on its field.
fn mark(fields: &mut [Field], problems: &[Problem]) {
    for field in fields {
        field.error = problems
            .iter()
            .find(|problem| problem.target == field.id)
            .map(|problem| problem.message.clone());
    }
}

/// Text as the API will store it, to tell whether two texts differ.
fn same_text(a: &str, b: &str) -> bool {
    crate::text::clean_free_text(a).trim() == crate::text::clean_free_text(b).trim()
}

/// The status for a screen with these problems.
fn status_for(problems: &[Problem], conflict: bool) -> StatusCode {
    if conflict {
        StatusCode::CONFLICT
    } else if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// The screen's title, with `Error: ` before it when something is wrong.
fn title_with(problems: &[Problem], conflict: bool, title: String) -> String {
    if problems.is_empty() && !conflict {
        title
    } else {
        format!("Error: {title}")
    }
}

fn not_found() -> Response {
    pages::refused(StatusCode::NOT_FOUND, "There is no such page.")
}

fn unreadable() -> Response {
    pages::refused(
        StatusCode::SERVICE_UNAVAILABLE,
        "The page could not be read just now. Try again in a moment.",
    )
}

// ----- The list of pages -------------------------------------------------------------------

const LIST_FIELDS: &str = "id slug locale title status version publishedVersion publishedAt
  scheduledAt availableLocales";

#[derive(Template)]
#[template(path = "console/editors/pages.html")]
struct PagesScreen {
    chrome: Chrome,
    pages: Vec<EditorPage>,
    /// The new page's form.
    fields: Vec<Field>,
    slug: String,
    slug_error: Option<String>,
    problems: Vec<Problem>,
}

fn new_page_fields(title: &str, body: &str) -> Vec<Field> {
    let english = LANGUAGES[0];
    vec![
        Field::new(english, "title", "English title", title),
        Field::new(english, "body", "English text", body)
            .hint("Markdown. You can add the Bengali text once the page is made.")
            .rows(6),
    ]
}

async fn pages_screen(
    state: &AppState,
    session: &Session,
    new_page: (String, String, String),
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let answer = run(
        state,
        session,
        &format!("query($l: String) {{ allPages(locale: $l) {{ {LIST_FIELDS} }} }}"),
        json!({ "l": all_tags() }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    let Some(list) = pages::field::<Vec<EditorPage>>(&answer, "allPages") else {
        return unreadable();
    };
    let (slug, title, body) = new_page;
    let mut fields = new_page_fields(&title, &body);
    mark(&mut fields, &problems);
    let screen = PagesScreen {
        chrome: Chrome::new(
            session,
            title_with(&problems, false, "Pages".into()),
            SECTION,
        )
        .with_notice(notice),
        pages: list,
        fields,
        slug,
        slug_error: problems
            .iter()
            .find(|problem| problem.target == "new-slug")
            .map(|problem| problem.message.clone()),
        problems,
    };
    html(status_for(&screen.problems, false), screen.render())
}

/// `GET /console/pages`: every page, drafts too, with its status, its
/// languages and when it goes live; and a form to start a page.
pub async fn list(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
) -> Response {
    pages_screen(&state, &session, Default::default(), Vec::new(), None).await
}

const SAVE_PAGE: &str =
    "mutation($input: SavePageInput!) { savePage(input: $input) { slug version } }";

/// The field of the page form an API field names, and what to call it.
fn page_field(field: &str) -> Option<(&'static str, &'static str)> {
    match field {
        "title" => Some(("title", "title")),
        "summary" => Some(("summary", "summary")),
        "body" => Some(("body", "text")),
        _ => None,
    }
}

/// `POST /console/pages`: starts a page with its English draft.
pub async fn create(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let (slug, title, text) = (form.get("slug"), form.get("en_title"), form.get("en_body"));
    let answer = run(
        &state,
        &session,
        SAVE_PAGE,
        json!({ "input": { "slug": slug, "locale": "en", "title": title, "body": text } }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.errors.is_empty() {
        let made = answer.data["savePage"]["slug"].as_str().unwrap_or_default();
        return Redirect::to(&format!("/console/pages/{made}?created=1")).into_response();
    }
    let problems = answer
        .errors
        .iter()
        .map(|error| match error.field.as_deref() {
            Some("slug") => Problem {
                target: "new-slug".to_owned(),
                message: format!("The address {}.", reason(error)),
            },
            Some(field) if page_field(field).is_some() => {
                let (name, words) = page_field(field).unwrap_or(("body", "text"));
                Problem {
                    target: format!("en-{name}"),
                    message: format!("The English {words} {}.", reason(error)),
                }
            }
            _ if error.code == "CONFLICT" => Problem {
                target: "new-slug".to_owned(),
                message: "A page with this address exists already. Choose another address, or edit that page.".to_owned(),
            },
            _ => general_messages(&Answer {
                data: Value::Null,
                errors: vec![error.clone()],
            })
            .remove(0),
        })
        .collect();
    pages_screen(
        &state,
        &session,
        (slug.to_owned(), title.to_owned(), text.to_owned()),
        problems,
        None,
    )
    .await
}

// ----- One page: its drafts side by side -----------------------------------------------

/// A page's text in one language, as saved or as typed.
#[derive(Default, Clone)]
pub struct PageText {
    pub title: String,
    pub summary: String,
    pub body: String,
}

impl PageText {
    fn of(page: &EditorPage) -> Self {
        Self {
            title: page.title.clone(),
            summary: page.summary.clone().unwrap_or_default(),
            body: page.body.clone(),
        }
    }

    fn typed(form: &Posted, language: Language) -> Self {
        let value = |name: &str| form.get(&format!("{}_{name}", language.tag)).to_owned();
        Self {
            title: value("title"),
            summary: value("summary"),
            body: value("body"),
        }
    }

    fn is_empty(&self) -> bool {
        self.title.is_empty() && self.summary.is_empty() && self.body.is_empty()
    }

    fn same_as(&self, other: &Self) -> bool {
        same_text(&self.title, &other.title)
            && same_text(&self.summary, &other.summary)
            && same_text(&self.body, &other.body)
    }
}

/// What the public will see of one language's text.
pub struct Preview {
    pub title: String,
    pub summary: String,
    /// HTML from the API: `bodyHtml`, or `previewPageBody` of typed text.
    pub body_html: String,
    /// Whether it shows typed text not saved yet.
    pub unsaved: bool,
}

/// One language's column of the drafts form.
pub struct Column {
    pub language: Language,
    /// Whether the page has text in this language yet.
    pub exists: bool,
    pub fields: Vec<Field>,
    pub preview: Option<Preview>,
    /// Whether what is in the form differs from the saved draft.
    pub unsaved: bool,
}

impl Column {
    fn new(language: Language, exists: bool, text: &PageText, unsaved: bool) -> Self {
        let fields = vec![
            Field::new(language, "title", "Title", &text.title),
            Field::new(language, "summary", "Summary (optional)", &text.summary)
                .hint("A sentence or two for lists of pages and link previews.")
                .rows(2),
            Field::new(language, "body", "Text", &text.body)
                .hint("Markdown: a blank line between paragraphs, ## before a heading, [words](https://…) for a link.")
                .rows(14)
                ,
        ];
        Self {
            language,
            exists,
            fields,
            preview: None,
            unsaved,
        }
    }
}

/// A save that met someone else's.
pub struct Conflict {
    pub heading: String,
    pub lines: Vec<String>,
}

/// A page and its text in each language, as the API answered.
struct Loaded {
    page: EditorPage,
    /// Each language's newest text, where the page has one.
    texts: Vec<(Language, Option<EditorPage>)>,
}

impl Loaded {
    fn saved(&self, language: Language) -> Option<&EditorPage> {
        self.texts
            .iter()
            .find(|(candidate, _)| *candidate == language)
            .and_then(|(_, text)| text.as_ref())
    }
}

fn page_document() -> String {
    let mut document = format!(
        "query($slug: String!) {{
  page: page(slug: $slug, locale: \"{}\", preview: true) {{ {LIST_FIELDS} }}",
        all_tags()
    );
    for language in LANGUAGES {
        document.push_str(&format!(
            "\n  {tag}: page(slug: $slug, locale: \"{tag}\", preview: true) {{ locale slug title summary body bodyHtml }}",
            tag = language.tag
        ));
    }
    document.push_str("\n}");
    document
}

/// Reads a page and its text in each language.
async fn load(state: &AppState, session: &Session, slug: &str) -> Result<Loaded, Response> {
    let answer = run(state, session, &page_document(), json!({ "slug": slug })).await;
    if let Some(refusal) = pages::denied(&answer) {
        return Err(refusal);
    }
    if answer.error("BAD_USER_INPUT").is_some() {
        // Not a slug at all.
        return Err(not_found());
    }
    if !answer.errors.is_empty() {
        return Err(unreadable());
    }
    let Some(page) = pages::field::<Option<EditorPage>>(&answer, "page").flatten() else {
        return Err(not_found());
    };
    let texts = LANGUAGES
        .iter()
        .map(|language| {
            let text = pages::field::<Option<EditorPage>>(&answer, language.tag)
                .flatten()
                // Without text in this language the API answers another.
                .filter(|text| text.locale == language.tag);
            (*language, text)
        })
        .collect();
    Ok(Loaded { page, texts })
}

#[derive(Template)]
#[template(path = "console/editors/page.html")]
struct PageScreen {
    chrome: Chrome,
    page: EditorPage,
    /// The page's title in the first language it has.
    heading: String,
    columns: Vec<Column>,
    problems: Vec<Problem>,
    conflict: Option<Conflict>,
    schedule_date: String,
    schedule_time: String,
    href: String,
}

impl PageScreen {
    fn error(&self, target: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|problem| problem.target == target)
            .map(|problem| problem.message.as_str())
    }

    pub fn date_error(&self) -> Option<&str> {
        self.error("publish-date")
    }

    pub fn time_error(&self) -> Option<&str> {
        self.error("publish-time")
    }
}

/// What a drafts screen shows beyond the saved page.
#[derive(Default)]
struct Shown {
    /// The text in each language's column, where it is not the saved one.
    typed: Vec<(Language, PageText)>,
    /// Previews of typed text, by language.
    previews: Vec<(Language, String)>,
    problems: Vec<Problem>,
    conflict: Option<Conflict>,
    notice: Option<String>,
    /// The date and time in the schedule form.
    schedule: Option<(String, String)>,
}

fn page_screen(session: &Session, loaded: Loaded, shown: Shown) -> Response {
    let columns: Vec<Column> = loaded
        .texts
        .iter()
        .map(|(language, saved)| {
            let saved_text = saved.as_ref().map(PageText::of).unwrap_or_default();
            let typed = shown
                .typed
                .iter()
                .find(|(candidate, _)| candidate == language)
                .map(|(_, text)| text.clone());
            let unsaved = typed.as_ref().is_some_and(|typed| {
                if saved.is_some() {
                    !typed.same_as(&saved_text)
                } else {
                    !typed.is_empty()
                }
            });
            let text = typed.unwrap_or_else(|| saved_text.clone());
            let mut column = Column::new(*language, saved.is_some(), &text, unsaved);
            mark(&mut column.fields, &shown.problems);
            let previewed = shown
                .previews
                .iter()
                .find(|(candidate, _)| candidate == language);
            column.preview = match (previewed, saved) {
                (Some((_, body_html)), _) => Some(Preview {
                    title: text.title.clone(),
                    summary: text.summary.clone(),
                    body_html: body_html.clone(),
                    unsaved: true,
                }),
                (None, Some(saved)) => Some(Preview {
                    title: saved.title.clone(),
                    summary: saved.summary.clone().unwrap_or_default(),
                    body_html: saved.body_html.clone(),
                    unsaved: false,
                }),
                (None, None) => None,
            };
            column
        })
        .collect();
    let heading = loaded
        .texts
        .iter()
        .find_map(|(_, text)| text.as_ref().map(|text| text.title.clone()))
        .unwrap_or_else(|| loaded.page.title.clone());
    let (schedule_date, schedule_time) = shown.schedule.unwrap_or_else(|| {
        loaded
            .page
            .scheduled_at
            .as_deref()
            .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
            .map(|at| {
                let local = uk_time(at.with_timezone(&Utc));
                (
                    local.format("%Y-%m-%d").to_string(),
                    local.format("%H:%M").to_string(),
                )
            })
            .unwrap_or_default()
    });
    let conflict = shown.conflict.is_some();
    let title = title_with(&shown.problems, conflict, format!("Edit {heading}"));
    let screen = PageScreen {
        chrome: Chrome::new(session, title, SECTION).with_notice(shown.notice),
        href: loaded.page.href(),
        page: loaded.page,
        heading,
        columns,
        problems: shown.problems,
        conflict: shown.conflict,
        schedule_date,
        schedule_time,
    };
    html(status_for(&screen.problems, conflict), screen.render())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct EditQuery {
    created: Option<String>,
    saved: Option<String>,
    published: Option<String>,
    scheduled: Option<String>,
    withdrawn: Option<String>,
    restored: Option<String>,
}

impl EditQuery {
    fn notice(&self) -> Option<String> {
        if self.created.is_some() {
            return Some(
                "The page is made, as a draft. Add its Bengali text, then publish it.".to_owned(),
            );
        }
        if let Some(tag) = &self.saved {
            return Some(format!(
                "The {} draft is saved. The public does not see it until the page is published.",
                language_name(tag)
            ));
        }
        if self.published.is_some() {
            return Some(
                "The page is published: the public reads its newest drafts now.".to_owned(),
            );
        }
        if self.scheduled.is_some() {
            return Some("The page is scheduled: it goes live at the time shown below.".to_owned());
        }
        if self.withdrawn.is_some() {
            return Some("The page is taken down: the public can no longer read it.".to_owned());
        }
        self.restored.as_ref().map(|version| {
            format!(
                "Version {version} is the newest draft again. Publish the page to make it public."
            )
        })
    }
}

/// `GET /console/pages/{slug}`: the page's drafts in every language side by
/// side, each with what the public will see, and its publishing.
pub async fn edit(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    Query(query): Query<EditQuery>,
) -> Response {
    match load(&state, &session, &slug).await {
        Ok(loaded) => page_screen(
            &session,
            loaded,
            Shown {
                notice: query.notice(),
                ..Shown::default()
            },
        ),
        Err(refusal) => refusal,
    }
}

/// Runs `previewPageBody` for each language with a text; the problems it
/// finds are the fields'.
async fn previews(
    state: &AppState,
    session: &Session,
    typed: &[(Language, PageText)],
) -> Result<(Vec<(Language, String)>, Vec<Problem>), Response> {
    let mut previews = Vec::new();
    let mut problems = Vec::new();
    for (language, text) in typed.iter().filter(|(_, text)| !text.body.is_empty()) {
        let answer = run(
            state,
            session,
            "query($body: String!) { previewPageBody(body: $body) }",
            json!({ "body": text.body }),
        )
        .await;
        if let Some(refusal) = pages::denied(&answer) {
            return Err(refusal);
        }
        match answer.errors.first() {
            None => previews.push((
                *language,
                answer.data["previewPageBody"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )),
            Some(error) if error.code == "BAD_USER_INPUT" => problems.push(Problem {
                target: format!("{}-body", language.tag),
                message: format!("The {} text {}.", language.name, reason(error)),
            }),
            Some(_) => problems.extend(general_messages(&answer)),
        }
    }
    Ok((previews, problems))
}

/// The problems of a refused `savePage` in `language`.
fn save_problems(answer: &Answer, language: Language) -> Vec<Problem> {
    answer
        .errors
        .iter()
        .map(|error| match error.field.as_deref().and_then(page_field) {
            Some((name, words)) if error.code == "BAD_USER_INPUT" => Problem {
                target: format!("{}-{name}", language.tag),
                message: format!("The {} {words} {}.", language.name, reason(error)),
            },
            _ => general_messages(&Answer {
                data: Value::Null,
                errors: vec![error.clone()],
            })
            .remove(0),
        })
        .collect()
}

/// Who saved the page last, for a conflict.
async fn last_saved(state: &AppState, session: &Session, slug: &str) -> Option<Revision> {
    let answer = run(
        state,
        session,
        &format!(
            "query($slug: String!) {{ page(slug: $slug, locale: \"{}\", preview: true) {{
               revisions {{ version locale slug title body author {{ displayName }} createdAt }} }} }}",
            all_tags()
        ),
        json!({ "slug": slug }),
    )
    .await;
    let revisions: Vec<Revision> =
        serde_json::from_value(answer.data["page"]["revisions"].clone()).ok()?;
    revisions.into_iter().next()
}

/// `POST /console/pages/{slug}`: saves one language's draft (`action` is
/// `save-en` or `save-bn`), or shows a preview of what was typed in every
/// language without saving (`action=preview`).
pub async fn save(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let typed: Vec<(Language, PageText)> = LANGUAGES
        .iter()
        .filter(|language| sent(&form, **language))
        .map(|language| (*language, PageText::typed(&form, *language)))
        .collect();
    let loaded = match load(&state, &session, &slug).await {
        Ok(loaded) => loaded,
        Err(refusal) => return refusal,
    };
    let action = form.get("action");
    if action == "preview" {
        let (previews, problems) = match previews(&state, &session, &typed).await {
            Ok(found) => found,
            Err(refusal) => return refusal,
        };
        let notice = problems
            .is_empty()
            .then(|| "A preview of what you typed: nothing is saved yet.".to_owned());
        return page_screen(
            &session,
            loaded,
            Shown {
                typed,
                previews,
                problems,
                notice,
                ..Shown::default()
            },
        );
    }
    let Some(language) = action.strip_prefix("save-").and_then(Language::of) else {
        return pages::refused(
            StatusCode::BAD_REQUEST,
            "Choose which language to save, or preview.",
        );
    };
    let Ok(version) = form.get("version").parse::<i64>() else {
        return pages::refused(
            StatusCode::BAD_REQUEST,
            "The form is missing the version you read. Reload the page and try again.",
        );
    };
    let text = typed
        .iter()
        .find(|(candidate, _)| *candidate == language)
        .map(|(_, text)| text.clone())
        .unwrap_or_default();
    let page_slug = loaded
        .saved(language)
        .map_or(loaded.page.slug.clone(), |saved| saved.slug.clone());
    let answer = run(
        &state,
        &session,
        SAVE_PAGE,
        json!({ "input": {
            "id": loaded.page.id,
            "slug": page_slug,
            "locale": language.tag,
            "title": text.title,
            "summary": Some(text.summary.as_str()).filter(|summary| !summary.is_empty()),
            "body": text.body,
            "expectedVersion": version,
        }}),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.errors.is_empty() {
        let saved_slug = answer.data["savePage"]["slug"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let fresh = match load(&state, &session, &saved_slug).await {
            Ok(fresh) => fresh,
            Err(refusal) => return refusal,
        };
        // What was typed in the other languages and not saved stays on the
        // screen; with none, the usual redirect after a post.
        let others: Vec<(Language, PageText)> = typed
            .into_iter()
            .filter(|(other, text)| {
                *other != language
                    && match fresh.saved(*other) {
                        Some(saved) => !text.same_as(&PageText::of(saved)),
                        None => !text.is_empty(),
                    }
            })
            .collect();
        if others.is_empty() {
            return Redirect::to(&format!("{}?saved={}", fresh.page.href(), language.tag))
                .into_response();
        }
        let names: Vec<&str> = others.iter().map(|(other, _)| other.name).collect();
        let notice = format!(
            "The {} draft is saved. Your changes to the {} text are not saved yet: save them too.",
            language.name,
            names.join(" and ")
        );
        return page_screen(
            &session,
            fresh,
            Shown {
                typed: others,
                notice: Some(notice),
                ..Shown::default()
            },
        );
    }
    // A conflict of versions: the page has moved on from what the editor
    // read (another conflict, such as a slug taken, is a problem like any).
    let loaded = if answer.error("CONFLICT").is_some() {
        match load(&state, &session, &slug).await {
            Ok(fresh) => fresh,
            Err(refusal) => return refusal,
        }
    } else {
        loaded
    };
    if answer.error("CONFLICT").is_some() && loaded.page.version != version {
        let last = last_saved(&state, &session, &loaded.page.slug).await;
        let mut lines = Vec::new();
        if let Some(last) = last {
            lines.push(format!(
                "{} saved the {} text at {} (version {}).",
                last.who(),
                last.language(),
                last.when(),
                last.version
            ));
        }
        lines.push(format!(
            "Nothing of yours was saved. Your text is still in the form: compare it with the newest revisions, then save again (the page is now at version {}).",
            loaded.page.version
        ));
        return page_screen(
            &session,
            loaded,
            Shown {
                typed,
                conflict: Some(Conflict {
                    heading: "Someone else saved this page while you were working on it".to_owned(),
                    lines,
                }),
                ..Shown::default()
            },
        );
    }
    let problems = save_problems(&answer, language);
    page_screen(
        &session,
        loaded,
        Shown {
            typed,
            problems,
            ..Shown::default()
        },
    )
}

/// `POST /console/pages/{slug}/preview`: the script's live preview of one
/// text, as JSON `{ "html": … }` or `{ "error": … }`, from the same
/// `previewPageBody` as the Preview button.
pub async fn live_preview(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let text = form.get("body");
    let answer = if text.is_empty() {
        json!({ "html": "" })
    } else {
        let answer = run(
            &state,
            &session,
            "query($body: String!) { previewPageBody(body: $body) }",
            json!({ "body": text }),
        )
        .await;
        if let Some(refusal) = pages::denied(&answer) {
            return refusal;
        }
        match answer.errors.first() {
            None => json!({ "html": answer.data["previewPageBody"] }),
            Some(error) if error.code == "BAD_USER_INPUT" => {
                json!({ "error": format!("The text {}.", reason(error)) })
            }
            Some(_) => json!({ "error": "The preview is not working just now." }),
        }
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        answer.to_string(),
    )
        .into_response()
}

// ----- Publishing -----------------------------------------------------------------------

/// Reads the schedule form's date and time, in UK time.
fn schedule_time(
    date: &str,
    time: &str,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Vec<Problem>> {
    let problem = |target: &str, message: &str| Problem {
        target: target.to_owned(),
        message: message.to_owned(),
    };
    let mut problems = Vec::new();
    let day = if date.is_empty() {
        problems.push(problem(
            "publish-date",
            "Enter the date to publish the page on.",
        ));
        None
    } else {
        // A date picker sends 2026-06-01; a browser without one, what
        // the editor typed.
        let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(date, "%d/%m/%Y"))
            .ok();
        if day.is_none() {
            problems.push(problem(
                "publish-date",
                "Enter the date as day, month and year, for example 01/06/2026.",
            ));
        }
        day
    };
    let clock = if time.is_empty() {
        problems.push(problem(
            "publish-time",
            "Enter the time to publish the page at.",
        ));
        None
    } else {
        let clock = NaiveTime::parse_from_str(time, "%H:%M:%S")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M"))
            .ok();
        if clock.is_none() {
            problems.push(problem(
                "publish-time",
                "Enter the time as hours and minutes on the 24-hour clock, for example 09:30.",
            ));
        }
        clock
    };
    let (Some(day), Some(clock)) = (day, clock) else {
        return Err(problems);
    };
    let Some(at) = from_uk_time(day.and_time(clock)) else {
        return Err(vec![problem(
            "publish-time",
            "That time does not happen in the UK: the clocks go forward an hour then. Choose another time.",
        )]);
    };
    if at <= now {
        return Err(vec![problem(
            "publish-time",
            "That time has passed. Choose a time still to come, or publish now.",
        )]);
    }
    Ok(at)
}

/// `POST /console/pages/{slug}/publish`: publishes the page's newest drafts
/// now (`when=now`), or sets them to go live at a date and time in UK time
/// (`when=later`, `date`, `time`).
pub async fn publish(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let loaded = match load(&state, &session, &slug).await {
        Ok(loaded) => loaded,
        Err(refusal) => return refusal,
    };
    let (date, time) = (form.get("date").to_owned(), form.get("time").to_owned());
    let at = match form.get("when") {
        "now" => None,
        "later" => match schedule_time(&date, &time, Utc::now()) {
            Ok(at) => Some(at),
            Err(problems) => {
                return page_screen(
                    &session,
                    loaded,
                    Shown {
                        problems,
                        schedule: Some((date, time)),
                        ..Shown::default()
                    },
                );
            }
        },
        _ => {
            return pages::refused(
                StatusCode::BAD_REQUEST,
                "Choose to publish now or at a set time.",
            );
        }
    };
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!, $at: DateTime) { publishPage(id: $id, at: $at) { slug } }",
        json!({ "id": loaded.page.id, "at": at.map(|at| at.to_rfc3339()) }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.errors.is_empty() {
        let published = answer.data["publishPage"]["slug"]
            .as_str()
            .unwrap_or(&loaded.page.slug)
            .to_owned();
        let outcome = if at.is_some() {
            "scheduled"
        } else {
            "published"
        };
        return Redirect::to(&format!("/console/pages/{published}?{outcome}=1")).into_response();
    }
    let problems = answer
        .errors
        .iter()
        .map(|error| {
            let message = match error.field.as_deref() {
                Some(field) if field.starts_with("media") => format!(
                    "The page's media must be accessible before it is published: {} ({field}).",
                    reason(error)
                ),
                Some(_) if error.code == "BAD_USER_INPUT" => sentence(reason(error)),
                _ => {
                    general_messages(&Answer {
                        data: Value::Null,
                        errors: vec![error.clone()],
                    })
                    .remove(0)
                    .message
                }
            };
            Problem {
                target: String::new(),
                message,
            }
        })
        .collect();
    page_screen(
        &session,
        loaded,
        Shown {
            problems,
            schedule: Some((date, time)),
            ..Shown::default()
        },
    )
}

/// `POST /console/pages/{slug}/withdraw`: takes the page down from the
/// public (`unpublishPage`), cancelling a set time too.
pub async fn withdraw(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refusal) = Posted::read(&state, &session, &headers, body).await {
        return refusal;
    }
    let loaded = match load(&state, &session, &slug).await {
        Ok(loaded) => loaded,
        Err(refusal) => return refusal,
    };
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!) { unpublishPage(id: $id) { slug } }",
        json!({ "id": loaded.page.id }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.errors.is_empty() {
        return Redirect::to(&format!("{}?withdrawn=1", loaded.page.href())).into_response();
    }
    let problems = general_messages(&answer);
    page_screen(
        &session,
        loaded,
        Shown {
            problems,
            ..Shown::default()
        },
    )
}

// ----- Revisions ------------------------------------------------------------------------

/// How a line of a comparison changed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Change {
    Same,
    Removed,
    Added,
}

/// One line of a comparison.
#[derive(Debug)]
pub struct DiffLine {
    pub change: Change,
    pub text: String,
}

impl DiffLine {
    pub fn is_removed(&self) -> bool {
        self.change == Change::Removed
    }

    pub fn is_added(&self) -> bool {
        self.change == Change::Added
    }
}

/// The most cells the comparison's table may have; longer texts are shown
/// as all removed then all added, between what they share at each end.
const DIFF_CELLS: usize = 4_000_000;

/// The lines of `old` and `new`, each kept, removed or added: the longest
/// common sequence of lines stays, the rest is what changed.
pub fn line_diff(old: &str, new: &str) -> Vec<DiffLine> {
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (a, b) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let line = |change, text: &str| DiffLine {
        change,
        text: text.to_owned(),
    };
    let mut out: Vec<DiffLine> = old[..prefix]
        .iter()
        .map(|text| line(Change::Same, text))
        .collect();
    let cells = (a.len() + 1).saturating_mul(b.len() + 1);
    if cells > DIFF_CELLS {
        out.extend(a.iter().map(|text| line(Change::Removed, text)));
        out.extend(b.iter().map(|text| line(Change::Added, text)));
    } else {
        // lengths[i][j]: the longest common sequence of a[i..] and b[j..].
        let width = b.len() + 1;
        let mut lengths = vec![0u32; cells];
        for i in (0..a.len()).rev() {
            for j in (0..b.len()).rev() {
                lengths[i * width + j] = if a[i] == b[j] {
                    lengths[(i + 1) * width + j + 1] + 1
                } else {
                    lengths[(i + 1) * width + j].max(lengths[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            if i < a.len() && j < b.len() && a[i] == b[j] {
                out.push(line(Change::Same, a[i]));
                i += 1;
                j += 1;
            } else if j < b.len()
                && (i == a.len() || lengths[i * width + j + 1] >= lengths[(i + 1) * width + j])
            {
                out.push(line(Change::Added, b[j]));
                j += 1;
            } else {
                out.push(line(Change::Removed, a[i]));
                i += 1;
            }
        }
    }
    out.extend(
        old[old.len() - suffix..]
            .iter()
            .map(|text| line(Change::Same, text)),
    );
    out
}

/// Two revisions side by side: what changed from one to the other.
pub struct Comparison {
    pub from: Revision,
    pub to: Revision,
    pub title: Vec<DiffLine>,
    pub summary: Vec<DiffLine>,
    pub body: Vec<DiffLine>,
    pub removed: usize,
    pub added: usize,
}

impl Comparison {
    fn new(from: Revision, to: Revision) -> Self {
        let title = line_diff(&from.title, &to.title);
        let summary = line_diff(
            from.summary.as_deref().unwrap_or_default(),
            to.summary.as_deref().unwrap_or_default(),
        );
        let body = line_diff(&from.body, &to.body);
        let count = |change| {
            [&title, &summary, &body]
                .iter()
                .flat_map(|lines| lines.iter())
                .filter(|line| line.change == change)
                .count()
        };
        Self {
            removed: count(Change::Removed),
            added: count(Change::Added),
            title,
            summary,
            body,
            from,
            to,
        }
    }

    pub fn same_language(&self) -> bool {
        self.from.locale == self.to.locale
    }

    pub fn title_changed(&self) -> bool {
        self.title.iter().any(|line| line.change != Change::Same)
    }

    pub fn summary_changed(&self) -> bool {
        self.summary.iter().any(|line| line.change != Change::Same)
    }
}

/// A revision's row in the list.
pub struct RevisionRow {
    pub revision: Revision,
    /// The revision before it in the same language, to compare with.
    pub previous: Option<i64>,
    /// Whether it is the newest draft of its language (nothing to restore).
    pub newest_of_language: bool,
}

#[derive(Template)]
#[template(path = "console/editors/revisions.html")]
struct RevisionsScreen {
    chrome: Chrome,
    page: EditorPage,
    heading: String,
    rows: Vec<RevisionRow>,
    comparison: Option<Comparison>,
    from: i64,
    to: i64,
    problems: Vec<Problem>,
    conflict: Option<Conflict>,
    href: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RevisionsQuery {
    from: String,
    to: String,
}

fn revisions_document() -> String {
    format!(
        "query($slug: String!) {{ page(slug: $slug, locale: \"{}\", preview: true) {{
           {LIST_FIELDS}
           revisions {{ version locale slug title summary body author {{ displayName }} createdAt }} }} }}",
        all_tags()
    )
}

async fn revisions_screen(
    state: &AppState,
    session: &Session,
    slug: &str,
    compare: (&str, &str),
    problems: Vec<Problem>,
    conflict: Option<Conflict>,
) -> Response {
    let answer = run(
        state,
        session,
        &revisions_document(),
        json!({ "slug": slug }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.error("BAD_USER_INPUT").is_some() {
        return not_found();
    }
    let Some(page) = pages::field::<Option<EditorPage>>(&answer, "page").flatten() else {
        return if answer.errors.is_empty() {
            not_found()
        } else {
            unreadable()
        };
    };
    let revisions: Vec<Revision> =
        serde_json::from_value(answer.data["page"]["revisions"].clone()).unwrap_or_default();
    let rows: Vec<RevisionRow> = revisions
        .iter()
        .enumerate()
        .map(|(index, revision)| {
            let same_language = |other: &&Revision| other.locale == revision.locale;
            RevisionRow {
                previous: revisions[index + 1..]
                    .iter()
                    .find(same_language)
                    .map(|previous| previous.version),
                newest_of_language: !revisions[..index].iter().any(|r| same_language(&r)),
                revision: revision.clone(),
            }
        })
        .collect();
    let mut problems = problems;
    let find = |text: &str, which: &str, problems: &mut Vec<Problem>| -> Option<Revision> {
        if text.is_empty() {
            return None;
        }
        let found = text
            .parse::<i64>()
            .ok()
            .and_then(|version| revisions.iter().find(|r| r.version == version));
        if found.is_none() {
            problems.push(Problem {
                target: format!("compare-{which}"),
                message: format!("There is no version {text} of this page to compare."),
            });
        }
        found.cloned()
    };
    let from = find(compare.0, "from", &mut problems);
    let to = find(compare.1, "to", &mut problems);
    let (from_version, to_version) = (
        from.as_ref().map_or(0, |r| r.version),
        to.as_ref().map_or(0, |r| r.version),
    );
    let comparison = match (from, to) {
        (Some(from), Some(to)) => Some(Comparison::new(from, to)),
        _ => None,
    };
    let heading = page.title.clone();
    let title = title_with(
        &problems,
        conflict.is_some(),
        format!("Revisions of {heading}"),
    );
    let screen = RevisionsScreen {
        chrome: Chrome::new(session, title, SECTION),
        href: page.href(),
        page,
        heading,
        rows,
        comparison,
        from: from_version,
        to: to_version,
        problems,
        conflict,
    };
    html(
        status_for(&screen.problems, screen.conflict.is_some()),
        screen.render(),
    )
}

/// `GET /console/pages/{slug}/revisions`: every saved draft, newest first;
/// with `from` and `to` (versions), what changed between two of them.
pub async fn revisions(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    Query(query): Query<RevisionsQuery>,
) -> Response {
    revisions_screen(
        &state,
        &session,
        &slug,
        (query.from.trim(), query.to.trim()),
        Vec::new(),
        None,
    )
    .await
}

/// `POST /console/pages/{slug}/revisions/restore`: makes an old revision
/// the newest draft again (`restorePageRevision`), if nobody has saved the
/// page since the editor read it (`expected_version`).
pub async fn restore(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let (Ok(version), Ok(expected)) = (
        form.get("version").parse::<i64>(),
        form.get("expected_version").parse::<i64>(),
    ) else {
        return pages::refused(
            StatusCode::BAD_REQUEST,
            "The form is missing the version to restore. Reload the page and try again.",
        );
    };
    let loaded = match load(&state, &session, &slug).await {
        Ok(loaded) => loaded,
        Err(refusal) => return refusal,
    };
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!, $version: Int!, $expected: Int!) {
           restorePageRevision(id: $id, version: $version, expectedVersion: $expected) { slug version } }",
        json!({ "id": loaded.page.id, "version": version, "expected": expected }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if answer.errors.is_empty() {
        let restored = answer.data["restorePageRevision"]["slug"]
            .as_str()
            .unwrap_or(&loaded.page.slug)
            .to_owned();
        return Redirect::to(&format!("/console/pages/{restored}?restored={version}"))
            .into_response();
    }
    let moved_on = match answer.error("CONFLICT") {
        Some(_) => match load(&state, &session, &slug).await {
            Ok(fresh) => fresh.page.version != expected,
            Err(refusal) => return refusal,
        },
        None => false,
    };
    if moved_on {
        let mut lines = Vec::new();
        if let Some(last) = last_saved(&state, &session, &loaded.page.slug).await {
            lines.push(format!(
                "{} saved the {} text at {} (version {}) after you opened this list.",
                last.who(),
                last.language(),
                last.when(),
                last.version
            ));
        }
        lines.push(format!(
            "Nothing was restored. The list below is up to date: look at the newest revisions, then restore version {version} again if you still want it."
        ));
        return revisions_screen(
            &state,
            &session,
            &loaded.page.slug,
            ("", ""),
            Vec::new(),
            Some(Conflict {
                heading: "Someone else saved this page first".to_owned(),
                lines,
            }),
        )
        .await;
    }
    revisions_screen(
        &state,
        &session,
        &loaded.page.slug,
        ("", ""),
        general_messages(&answer),
        None,
    )
    .await
}

// ----- The organisation ----------------------------------------------------------------------

/// The most values the organisation may have (the API's limit).
const MAX_VALUES: usize = 12;

#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct OrganisationValue {
    pub title: String,
    pub description: Option<String>,
}

/// The organisation's text in one language, as saved or as typed.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct OrganisationText {
    pub locale: String,
    pub name: String,
    pub vision: String,
    pub mission: String,
    pub purpose: String,
    pub values: Vec<OrganisationValue>,
    pub updated_at: String,
}

impl OrganisationText {
    /// What was typed in `language`'s column; `slots` maps each value kept
    /// to the row of the form it came from.
    fn typed(form: &Posted, language: Language) -> (Self, Vec<usize>) {
        let value = |name: &str| form.get(&format!("{}_{name}", language.tag)).to_owned();
        let mut values = Vec::new();
        let mut slots = Vec::new();
        for slot in 0..MAX_VALUES {
            let title = value(&format!("value_title_{slot}"));
            let description = value(&format!("value_description_{slot}"));
            if title.is_empty() && description.is_empty() {
                continue;
            }
            values.push(OrganisationValue {
                title,
                description: Some(description).filter(|text| !text.is_empty()),
            });
            slots.push(slot);
        }
        (
            Self {
                locale: language.tag.to_owned(),
                name: value("name"),
                vision: value("vision"),
                mission: value("mission"),
                purpose: value("purpose"),
                values,
                updated_at: String::new(),
            },
            slots,
        )
    }

    fn same_as(&self, other: &Self) -> bool {
        let same_values = self.values.len() == other.values.len()
            && self.values.iter().zip(&other.values).all(|(a, b)| {
                same_text(&a.title, &b.title)
                    && same_text(
                        a.description.as_deref().unwrap_or_default(),
                        b.description.as_deref().unwrap_or_default(),
                    )
            });
        same_values
            && same_text(&self.name, &other.name)
            && same_text(&self.vision, &other.vision)
            && same_text(&self.mission, &other.mission)
            && same_text(&self.purpose, &other.purpose)
    }

    fn is_empty(&self) -> bool {
        self.name.is_empty()
            && self.vision.is_empty()
            && self.mission.is_empty()
            && self.purpose.is_empty()
            && self.values.is_empty()
    }

    fn fields(&self, language: Language) -> Vec<Field> {
        let mut fields = vec![
            Field::new(language, "name", "Name", &self.name),
            Field::new(language, "vision", "Vision", &self.vision)
                .hint("One sentence: what the partnership is for.")
                .rows(3),
            Field::new(language, "mission", "Mission", &self.mission).rows(5),
            Field::new(language, "purpose", "Purpose", &self.purpose)
                .hint("Plain text. Leave a blank line between paragraphs.")
                .rows(12),
        ];
        let slots = (self.values.len() + 2).clamp(3, MAX_VALUES);
        for slot in 0..slots {
            let value = self.values.get(slot).cloned().unwrap_or_default();
            let number = slot + 1;
            fields.push(
                Field::new(
                    language,
                    &format!("value_title_{slot}"),
                    &format!("Value {number}: name"),
                    &value.title,
                )
                .hint(if slot == 0 {
                    "Values appear in this order. Leave both boxes of a value empty to remove it."
                } else {
                    ""
                }),
            );
            fields.push(
                Field::new(
                    language,
                    &format!("value_description_{slot}"),
                    &format!("Value {number}: what it means (optional)"),
                    value.description.as_deref().unwrap_or_default(),
                )
                .rows(3),
            );
        }
        for field in &mut fields {
            if field.hint.as_deref() == Some("") {
                field.hint = None;
            }
        }
        fields
    }
}

/// One language's column of the organisation's form.
pub struct OrganisationColumn {
    pub language: Language,
    pub exists: bool,
    pub updated: String,
    pub fields: Vec<Field>,
    pub unsaved: bool,
}

#[derive(Template)]
#[template(path = "console/editors/organisation.html")]
struct OrganisationScreen {
    chrome: Chrome,
    columns: Vec<OrganisationColumn>,
    problems: Vec<Problem>,
}

fn organisation_document() -> String {
    let mut document = "query {".to_owned();
    for language in LANGUAGES {
        document.push_str(&format!(
            "\n  {tag}: organisation(locale: \"{tag}\") {{ locale name vision mission purpose
               values {{ title description }} updatedAt }}",
            tag = language.tag
        ));
    }
    document.push_str("\n}");
    document
}

/// The organisation's saved text in each language it has.
async fn load_organisation(
    state: &AppState,
    session: &Session,
) -> Result<Vec<(Language, Option<OrganisationText>)>, Response> {
    let answer = run(state, session, &organisation_document(), json!({})).await;
    if let Some(refusal) = pages::denied(&answer) {
        return Err(refusal);
    }
    if !answer.errors.is_empty() {
        return Err(unreadable());
    }
    Ok(LANGUAGES
        .iter()
        .map(|language| {
            let text = pages::field::<OrganisationText>(&answer, language.tag)
                .filter(|text| text.locale == language.tag);
            (*language, text)
        })
        .collect())
}

fn organisation_screen(
    session: &Session,
    saved: Vec<(Language, Option<OrganisationText>)>,
    typed: Vec<(Language, OrganisationText)>,
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let columns = saved
        .into_iter()
        .map(|(language, saved)| {
            let typed = typed
                .iter()
                .find(|(candidate, _)| *candidate == language)
                .map(|(_, text)| text.clone());
            let unsaved = match (&typed, &saved) {
                (Some(typed), Some(saved)) => !typed.same_as(saved),
                (Some(typed), None) => !typed.is_empty(),
                (None, _) => false,
            };
            let updated = saved
                .as_ref()
                .map(|saved| uk_words(&saved.updated_at))
                .unwrap_or_default();
            let exists = saved.is_some();
            let text = typed.or(saved).unwrap_or_default();
            let mut fields = text.fields(language);
            mark(&mut fields, &problems);
            OrganisationColumn {
                language,
                exists,
                updated,
                fields,
                unsaved,
            }
        })
        .collect();
    let screen = OrganisationScreen {
        chrome: Chrome::new(
            session,
            title_with(&problems, false, "The organisation".into()),
            SECTION,
        )
        .with_notice(notice),
        columns,
        problems,
    };
    html(status_for(&screen.problems, false), screen.render())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OrganisationQuery {
    saved: Option<String>,
}

/// `GET /console/organisation`: the organisation's name, vision, mission,
/// purpose and values in every language, side by side.
pub async fn organisation(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Query(query): Query<OrganisationQuery>,
) -> Response {
    // The organisation's text is public, so no guard refuses reading it;
    // the screen is an editor's all the same, as its saves are (the API
    // refuses those to anyone else).
    if !session.has(Role::Editor) {
        return pages::refused(
            StatusCode::FORBIDDEN,
            "Your roles do not include this part of the console.",
        );
    }
    let saved = match load_organisation(&state, &session).await {
        Ok(saved) => saved,
        Err(refusal) => return refusal,
    };
    let notice = query.saved.map(|tag| {
        format!(
            "The organisation's {} text is saved. It is public now.",
            language_name(&tag)
        )
    });
    organisation_screen(&session, saved, Vec::new(), Vec::new(), notice)
}

/// The field of the organisation's form an API field names, and what to
/// call it.
fn organisation_field(field: &str, slots: &[usize]) -> Option<(String, String)> {
    let fixed = match field {
        "name" => Some(("name", "name")),
        "vision" => Some(("vision", "vision")),
        "mission" => Some(("mission", "mission")),
        "purpose" => Some(("purpose", "purpose")),
        _ => None,
    };
    if let Some((name, words)) = fixed {
        return Some((name.to_owned(), words.to_owned()));
    }
    // values[2].title
    let rest = field.strip_prefix("values[")?;
    let (index, part) = rest.split_once("].")?;
    let slot = *slots.get(index.parse::<usize>().ok()?)?;
    let (name, words) = match part {
        "title" => ("value-title", "name"),
        "description" => ("value-description", "description"),
        _ => return None,
    };
    Some((
        format!("{name}-{slot}"),
        format!("{words} of value {}", slot + 1),
    ))
}

/// `POST /console/organisation`: saves one language's text (`action` is
/// `save-en` or `save-bn`) with `updateOrganisation`; it is public at once.
pub async fn save_organisation(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let Some(language) = form
        .get("action")
        .strip_prefix("save-")
        .and_then(Language::of)
    else {
        return pages::refused(StatusCode::BAD_REQUEST, "Choose which language to save.");
    };
    let typed: Vec<(Language, OrganisationText, Vec<usize>)> = LANGUAGES
        .iter()
        .filter(|candidate| sent(&form, **candidate))
        .map(|candidate| {
            let (text, slots) = OrganisationText::typed(&form, *candidate);
            (*candidate, text, slots)
        })
        .collect();
    let (text, slots) = typed
        .iter()
        .find(|(candidate, _, _)| *candidate == language)
        .map(|(_, text, slots)| (text.clone(), slots.clone()))
        .unwrap_or_default();
    let answer = run(
        &state,
        &session,
        "mutation($input: OrganisationInput!) { updateOrganisation(input: $input) { locale } }",
        json!({ "input": {
            "locale": language.tag,
            "name": text.name,
            "vision": text.vision,
            "mission": text.mission,
            "purpose": text.purpose,
            "values": text.values.iter().map(|value| json!({
                "title": value.title,
                "description": value.description,
            })).collect::<Vec<_>>(),
        }}),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    let saved = match load_organisation(&state, &session).await {
        Ok(saved) => saved,
        Err(refusal) => return refusal,
    };
    let typed: Vec<(Language, OrganisationText)> = typed
        .into_iter()
        .map(|(candidate, text, _)| (candidate, text))
        .collect();
    if answer.errors.is_empty() {
        let others: Vec<(Language, OrganisationText)> = typed
            .into_iter()
            .filter(|(other, text)| {
                *other != language
                    && match saved.iter().find(|(candidate, _)| candidate == other) {
                        Some((_, Some(saved))) => !text.same_as(saved),
                        _ => !text.is_empty(),
                    }
            })
            .collect();
        if others.is_empty() {
            return Redirect::to(&format!("/console/organisation?saved={}", language.tag))
                .into_response();
        }
        let names: Vec<&str> = others.iter().map(|(other, _)| other.name).collect();
        let notice = format!(
            "The organisation's {} text is saved and public. Your changes to the {} text are not saved yet: save them too.",
            language.name,
            names.join(" and ")
        );
        return organisation_screen(&session, saved, others, Vec::new(), Some(notice));
    }
    let problems = answer
        .errors
        .iter()
        .map(|error| {
            match error
                .field
                .as_deref()
                .filter(|_| error.code == "BAD_USER_INPUT")
                .and_then(|field| organisation_field(field, &slots))
            {
                Some((name, words)) => Problem {
                    target: format!("{}-{name}", language.tag),
                    message: format!("The {} {words} {}.", language.name, reason(error)),
                },
                None => general_messages(&Answer {
                    data: Value::Null,
                    errors: vec![error.clone()],
                })
                .remove(0),
            }
        })
        .collect();
    organisation_screen(&session, saved, typed, problems, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(old: &str, new: &str) -> Vec<(Change, String)> {
        line_diff(old, new)
            .into_iter()
            .map(|line| (line.change, line.text))
            .collect()
    }

    #[test]
    fn a_line_diff_keeps_what_is_shared_and_marks_the_rest() {
        assert_eq!(
            changes("a\nb\nc\nd", "a\nc\nx\nd"),
            vec![
                (Change::Same, "a".to_owned()),
                (Change::Removed, "b".to_owned()),
                (Change::Same, "c".to_owned()),
                (Change::Added, "x".to_owned()),
                (Change::Same, "d".to_owned()),
            ]
        );
        assert!(
            changes("same", "same")
                .iter()
                .all(|(c, _)| *c == Change::Same)
        );
        assert_eq!(changes("", "new"), vec![(Change::Added, "new".to_owned())]);
    }

    #[test]
    fn uk_time_follows_the_clock_changes() {
        let at = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .map(|at| at.with_timezone(&Utc))
                .ok()
        };
        let local = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").ok();
        // Summer: one hour ahead; winter: none.
        assert_eq!(
            from_uk_time(local("2026-06-01 09:00").unwrap()),
            at("2026-06-01T08:00:00Z")
        );
        assert_eq!(
            from_uk_time(local("2026-12-01 09:00").unwrap()),
            at("2026-12-01T09:00:00Z")
        );
        // 29 March 2026: 01:30 never happens in the UK.
        assert_eq!(from_uk_time(local("2026-03-29 01:30").unwrap()), None);
        // 25 October 2026: 01:30 happens twice; the first is BST.
        assert_eq!(
            from_uk_time(local("2026-10-25 01:30").unwrap()),
            at("2026-10-25T00:30:00Z")
        );
        assert_eq!(
            uk_time(at("2026-07-01T23:30:00Z").unwrap()),
            local("2026-07-02 00:30").unwrap()
        );
    }
}
