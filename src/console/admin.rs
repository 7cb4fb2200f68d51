//! The admins' screens: kiosks (a new one's token shown once, revoking),
//! staff accounts (made with an initial password that is never shown
//! again, roles, deactivation), webhooks (a new one's signing secret shown
//! once, deleting), the audit log with its filters, and erasing a
//! submission by its receipt's reference after a confirmation that says
//! what goes and what stays.
//!
//! As everywhere in the console, every read and write is the API's, under
//! its ADMIN guard: a member without the role who forges one of these forms
//! is refused by the API, not only by the navigation.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::analysts::Choice;
use super::pages::{self, Chrome, Posted, html, run};
use super::queue::{short_time, words};
use super::session::Session;
use crate::http::AppState;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Kiosk {
    pub id: String,
    pub name: String,
    pub site: Option<String>,
    pub active: bool,
    pub created_at: String,
}

impl Kiosk {
    pub fn created(&self) -> String {
        short_time(&self.created_at)
    }
}

#[derive(Template)]
#[template(path = "console/kiosks.html")]
struct KiosksPage {
    chrome: Chrome,
    kiosks: Vec<Kiosk>,
    /// A kiosk just made, and its token: shown on this one answer only.
    created: Option<(String, String)>,
    errors: Vec<String>,
}

async fn kiosks_page(
    state: &AppState,
    session: &Session,
    created: Option<(String, String)>,
    errors: Vec<String>,
    notice: Option<String>,
) -> Response {
    let answer = run(
        state,
        session,
        "{ kiosks { id name site active createdAt } }",
        json!({}),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    let page = KiosksPage {
        chrome: Chrome::new(session, "Kiosks", "/console/kiosks").with_notice(notice),
        kiosks: pages::field(&answer, "kiosks").unwrap_or_default(),
        created,
        errors,
    };
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    html(status, page.render())
}

#[derive(Deserialize, Default)]
pub struct KiosksQuery {
    revoked: Option<String>,
}

/// `GET /console/kiosks`.
pub async fn kiosks(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    axum::extract::Query(query): axum::extract::Query<KiosksQuery>,
) -> Response {
    let notice = query
        .revoked
        .map(|name| format!("{name} is revoked: its token no longer works."));
    kiosks_page(&state, &session, None, Vec::new(), notice).await
}

/// `POST /console/kiosks`: `createKiosk`; the answer is the only place its
/// token is ever shown, so it is a page of its own, never stored.
pub async fn create_kiosk(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
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
        "mutation($name: String!, $site: String) {
           createKiosk(name: $name, site: $site) { kiosk { name } token } }",
        json!({ "name": form.get("name"), "site": form.present("site") }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() {
        let errors = answer
            .errors
            .iter()
            .map(|error| error.message.clone())
            .collect();
        return kiosks_page(&state, &session, None, errors, None).await;
    }
    let made = &answer.data["createKiosk"];
    let created = (
        made["kiosk"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        made["token"].as_str().unwrap_or_default().to_owned(),
    );
    kiosks_page(&state, &session, Some(created), Vec::new(), None).await
}

/// `POST /console/kiosks/{id}/revoke`.
pub async fn revoke_kiosk(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(refusal) = Posted::read(&state, &session, &headers, body).await {
        return refusal;
    }
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!) { revokeKiosk(id: $id) { name } }",
        json!({ "id": id }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() {
        let errors = answer
            .errors
            .iter()
            .map(|error| error.message.clone())
            .collect();
        return kiosks_page(&state, &session, None, errors, None).await;
    }
    let name = answer.data["revokeKiosk"]["name"]
        .as_str()
        .unwrap_or("The kiosk");
    let query = serde_urlencoded::to_string([("revoked", name)]).unwrap_or_default();
    Redirect::to(&format!("/console/kiosks?{query}")).into_response()
}

// ----- What the admins' forms share ----------------------------------------

/// One thing wrong with a form, for the error summary: its words, and the
/// field it is about (the summary links to it).
pub struct Problem {
    pub text: String,
    /// The `id` of the field at fault, when there is one.
    pub field: Option<&'static str>,
}

impl Problem {
    fn new(text: impl Into<String>, field: Option<&'static str>) -> Self {
        Self {
            text: text.into(),
            field,
        }
    }

    /// Whether this problem is about the field with this `id`.
    pub fn is_about(&self, id: &str) -> bool {
        self.field == Some(id)
    }
}

/// Whether any of `problems` is about the field with this `id`.
fn any_about(problems: &[Problem], id: &str) -> bool {
    problems.iter().any(|problem| problem.is_about(id))
}

/// `invalid(id)` for a page's template: whether a problem is about the
/// field with that `id` (it is then marked `aria-invalid`).
macro_rules! marks_invalid {
    ($($page:ty),+) => {$(
        impl $page {
            fn invalid(&self, id: &str) -> bool {
                any_about(&self.problems, id)
            }
        }
    )+};
}

/// An API message as a sentence: its first letter in capitals, a full stop.
fn sentence(message: &str) -> String {
    let message = message.trim().trim_end_matches('.');
    let mut chars = message.chars();
    let Some(first) = chars.next() else {
        return "That did not work. Try again in a moment.".to_owned();
    };
    format!("{}{}.", first.to_uppercase(), chars.as_str())
}

/// The problems an answer's errors make, each `BAD_USER_INPUT` under the
/// label of its field (`fields` maps the API's field names to a label and
/// the form field's `id`).
fn problems_of(
    answer: &crate::residents::schema::Answer,
    fields: &[(&str, &str, &'static str)],
) -> Vec<Problem> {
    answer
        .errors
        .iter()
        .map(|error| match error.code.as_str() {
            "BAD_USER_INPUT" => {
                let named = error.field.as_deref().and_then(|field| {
                    fields
                        .iter()
                        .find(|(name, _, _)| *name == field || field.ends_with(&format!(".{name}")))
                });
                match named {
                    Some((name, label, id)) => {
                        let reason = error
                            .message
                            .split_once(": ")
                            .filter(|(prefix, _)| prefix.ends_with(name))
                            .map_or(error.message.as_str(), |(_, reason)| reason);
                        Problem::new(format!("{label}: {}", sentence(reason)), Some(id))
                    }
                    None => Problem::new(sentence(&error.message), None),
                }
            }
            "CONFLICT" => Problem::new(sentence(&error.message), None),
            "RATE_LIMITED" => Problem::new(
                format!(
                    "Too many requests. Wait {} seconds and try again.",
                    error.retry_after_seconds.unwrap_or(60)
                ),
                None,
            ),
            _ => Problem::new("That did not work. Try again in a moment.", None),
        })
        .collect()
}

/// A page's title, marked "Error:" while its form has problems, so a
/// screen reader hears it first.
pub fn title_for(problems: &[Problem], title: &str) -> String {
    if problems.is_empty() {
        title.to_owned()
    } else {
        format!("Error: {title}")
    }
}

fn status_for(problems: &[Problem]) -> StatusCode {
    if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A `?name=value` notice in an address, for the page after a redirect.
fn redirect_with(path: &str, name: &str, value: &str) -> Response {
    let query = serde_urlencoded::to_string([(name, value)]).unwrap_or_default();
    Redirect::to(&format!("{path}?{query}")).into_response()
}

// ----- Staff ----------------------------------------------------------------

/// The roles, with what each may do, in the words staff see.
pub const ROLES: &[(&str, &str, &str)] = &[
    (
        "MODERATOR",
        "Moderator",
        "triages feedback and ideas, answers residents, reads the figures",
    ),
    ("EDITOR", "Editor", "edits the partnership’s pages"),
    (
        "ANALYST",
        "Analyst",
        "reads the figures; never what residents wrote",
    ),
    (
        "ADMIN",
        "Admin",
        "manages staff, kiosks and webhooks, reads the audit log, erases submissions",
    ),
];

/// The words for a role.
fn role_words(role: &str) -> &str {
    ROLES
        .iter()
        .find(|(name, _, _)| *name == role)
        .map_or(role, |(_, label, _)| label)
}

/// A staff account as the API gives it.
#[derive(Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase", default)]
pub struct Member {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<String>,
    pub active: bool,
    pub created_at: String,
}

impl Member {
    /// When the account was made, in UTC.
    pub fn created(&self) -> String {
        short_time(&self.created_at)
    }

    /// The member's roles in words, e.g. "Moderator, Analyst".
    pub fn role_words(&self) -> String {
        let words: Vec<&str> = self.roles.iter().map(|role| role_words(role)).collect();
        if words.is_empty() {
            "none".to_owned()
        } else {
            words.join(", ")
        }
    }
}

/// A role's checkbox.
pub struct RoleBox {
    pub value: &'static str,
    pub label: &'static str,
    pub hint: &'static str,
    pub checked: bool,
}

fn role_boxes(checked: &[&str]) -> Vec<RoleBox> {
    ROLES
        .iter()
        .map(|(value, label, hint)| RoleBox {
            value,
            label,
            hint,
            checked: checked.contains(value),
        })
        .collect()
}

/// What was typed into the new member's form, but the password, which is
/// never sent back to the browser.
#[derive(Default)]
pub struct NewMember {
    pub display_name: String,
    pub email: String,
}

#[derive(Template)]
#[template(path = "console/staff.html")]
struct StaffPage {
    chrome: Chrome,
    members: Vec<Member>,
    draft: NewMember,
    roles: Vec<RoleBox>,
    problems: Vec<Problem>,
}

const STAFF_MEMBERS: &str = "{ staffMembers { id email displayName roles active createdAt } }";

/// Every staff account, or the refusal to show them.
async fn members(state: &AppState, session: &Session) -> Result<Vec<Member>, Response> {
    let answer = run(state, session, STAFF_MEMBERS, json!({})).await;
    if let Some(refusal) = pages::denied(&answer) {
        return Err(refusal);
    }
    if !answer.errors.is_empty() {
        return Err(pages::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The staff list cannot be read just now. Try again in a moment.",
        ));
    }
    Ok(pages::field(&answer, "staffMembers").unwrap_or_default())
}

async fn staff_page(
    state: &AppState,
    session: &Session,
    draft: NewMember,
    checked: &[&str],
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let members = match members(state, session).await {
        Ok(members) => members,
        Err(refusal) => return refusal,
    };
    let page = StaffPage {
        chrome: Chrome::new(session, title_for(&problems, "Staff"), "/console/staff")
            .with_notice(notice),
        members,
        draft,
        roles: role_boxes(checked),
        problems,
    };
    html(status_for(&page.problems), page.render())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StaffQuery {
    created: Option<String>,
    updated: Option<String>,
}

/// `GET /console/staff`: every account, and the form for a new one.
pub async fn staff(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    axum::extract::Query(query): axum::extract::Query<StaffQuery>,
) -> Response {
    let notice = match (query.created, query.updated) {
        (Some(name), _) => Some(format!(
            "{name} can now sign in. Give them their initial password in person or by phone, never by email: it is not shown again."
        )),
        (None, Some(name)) => Some(format!("{name}’s account is saved.")),
        (None, None) => None,
    };
    staff_page(
        &state,
        &session,
        NewMember::default(),
        &[],
        Vec::new(),
        notice,
    )
    .await
}

/// The staff form's fields: the API's name, the label, the field's `id`.
const STAFF_FIELDS: &[(&str, &str, &str)] = &[
    ("displayName", "Name", "staff-name"),
    ("email", "Email address", "staff-email"),
    ("roles", "Roles", "staff-role-MODERATOR"),
    ("password", "Initial password", "staff-password"),
];

/// The roles ticked in a form, only those the API knows.
fn ticked(form: &Posted) -> Vec<&str> {
    form.all("roles")
        .into_iter()
        .filter(|role| ROLES.iter().any(|(name, _, _)| name == role))
        .collect()
}

/// `POST /console/staff`: `createStaff`. The password goes to the API and
/// nowhere else: it is not logged, and a form shown again after a problem
/// leaves it empty.
pub async fn create_staff(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let roles = ticked(&form);
    let draft = NewMember {
        display_name: form.get("display_name").to_owned(),
        email: form.get("email").to_owned(),
    };
    let mut problems = Vec::new();
    if draft.display_name.is_empty() {
        problems.push(Problem::new("Enter their name.", Some("staff-name")));
    }
    if draft.email.is_empty() {
        problems.push(Problem::new(
            "Enter the email address they will sign in with.",
            Some("staff-email"),
        ));
    }
    if roles.is_empty() {
        problems.push(Problem::new(
            "Choose at least one role.",
            Some("staff-role-MODERATOR"),
        ));
    }
    // Not trimmed: spaces may be part of a password.
    let password = form
        .0
        .iter()
        .find(|(name, _)| name == "password")
        .map_or("", |(_, value)| value.as_str());
    if password.is_empty() {
        problems.push(Problem::new(
            "Enter an initial password.",
            Some("staff-password"),
        ));
    }
    if !problems.is_empty() {
        // Refused before the API is asked: the member's roles decide first.
        if !session.has(crate::staff::model::Role::Admin) {
            return pages::refused(
                StatusCode::FORBIDDEN,
                "Your roles do not include this part of the console.",
            );
        }
        return staff_page(&state, &session, draft, &roles, problems, None).await;
    }
    let answer = run(
        &state,
        &session,
        "mutation($input: CreateStaffInput!) { createStaff(input: $input) { displayName } }",
        json!({ "input": {
            "displayName": draft.display_name,
            "email": draft.email,
            "roles": roles,
            "password": password,
        } }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() {
        let problems = problems_of(&answer, STAFF_FIELDS);
        return staff_page(&state, &session, draft, &roles, problems, None).await;
    }
    let name = answer.data["createStaff"]["displayName"]
        .as_str()
        .unwrap_or("The new member");
    redirect_with("/console/staff", "created", name)
}

#[derive(Template)]
#[template(path = "console/staff_member.html")]
struct MemberPage {
    chrome: Chrome,
    member: Member,
    /// The name in the form (what was typed, after a problem).
    name: String,
    roles: Vec<RoleBox>,
    problems: Vec<Problem>,
    /// Whether this is the signed-in member's own account.
    own: bool,
}

async fn member_page(
    state: &AppState,
    session: &Session,
    id: &str,
    draft: Option<(String, Vec<&str>)>,
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let members = match members(state, session).await {
        Ok(members) => members,
        Err(refusal) => return refusal,
    };
    let Some(member) = members.into_iter().find(|member| member.id == id) else {
        return pages::refused(StatusCode::NOT_FOUND, "There is no such staff member.");
    };
    let (name, roles) = match draft {
        Some((name, roles)) => (name, role_boxes(&roles)),
        None => {
            let roles: Vec<&str> = member.roles.iter().map(String::as_str).collect();
            (member.display_name.clone(), role_boxes(&roles))
        }
    };
    let page = MemberPage {
        chrome: Chrome::new(
            session,
            title_for(&problems, &member.display_name),
            "/console/staff",
        )
        .with_notice(notice),
        own: member.id == session.viewer.id().to_string(),
        member,
        name,
        roles,
        problems,
    };
    html(status_for(&page.problems), page.render())
}

/// `GET /console/staff/{id}`: one account, its name and roles to change,
/// and deactivation.
pub async fn staff_member(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
    axum::extract::Query(query): axum::extract::Query<StaffQuery>,
) -> Response {
    let notice = query
        .updated
        .map(|name| format!("{name}’s account is saved."));
    member_page(&state, &session, &id, None, Vec::new(), notice).await
}

/// `POST /console/staff/{id}`: `updateStaff` with the name and roles. The
/// API refuses to demote the last active admin; the page says so.
pub async fn update_staff(
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
    let roles = ticked(&form);
    let name = form.get("display_name").to_owned();
    let mut problems = Vec::new();
    if name.is_empty() {
        problems.push(Problem::new("Enter their name.", Some("staff-name")));
    }
    if roles.is_empty() {
        problems.push(Problem::new(
            "Choose at least one role. To stop them signing in, deactivate the account instead.",
            Some("staff-role-MODERATOR"),
        ));
    }
    if problems.is_empty() {
        let answer = run(
            &state,
            &session,
            "mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { displayName } }",
            json!({ "input": { "id": id, "displayName": name, "roles": roles } }),
        )
        .await;
        if let Some(refusal) = pages::denied(&answer) {
            return refusal;
        }
        if answer.errors.is_empty() {
            let saved = answer.data["updateStaff"]["displayName"]
                .as_str()
                .unwrap_or("The");
            return redirect_with(&format!("/console/staff/{id}"), "updated", saved);
        }
        problems = problems_of(&answer, STAFF_FIELDS);
    }
    if !session.has(crate::staff::model::Role::Admin) {
        return pages::refused(
            StatusCode::FORBIDDEN,
            "Your roles do not include this part of the console.",
        );
    }
    member_page(&state, &session, &id, Some((name, roles)), problems, None).await
}

/// `POST /console/staff/{id}/active`: deactivates (`active=false`) or
/// reactivates (`active=true`) an account. A deactivated member's sessions
/// end at once: their next click signs them out.
pub async fn set_staff_active(
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
    let active = match form.get("active") {
        "true" => true,
        "false" => false,
        _ => {
            return pages::refused(
                StatusCode::BAD_REQUEST,
                "The form did not say whether to deactivate or reactivate the account. Go back and use its button.",
            );
        }
    };
    let answer = run(
        &state,
        &session,
        "mutation($input: UpdateStaffInput!) { updateStaff(input: $input) { displayName active } }",
        json!({ "input": { "id": id, "active": active } }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() {
        let problems = problems_of(&answer, STAFF_FIELDS);
        return member_page(&state, &session, &id, None, problems, None).await;
    }
    let name = answer.data["updateStaff"]["displayName"]
        .as_str()
        .unwrap_or("The member");
    let notice = if active {
        format!("{name} is reactivated and can sign in again.")
    } else {
        format!("{name} is deactivated: they are signed out everywhere and cannot sign in.")
    };
    member_page(&state, &session, &id, None, Vec::new(), Some(notice)).await
}

// ----- Webhooks -------------------------------------------------------------

/// A delivery of a webhook, as the API gives it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Delivery {
    pub event: String,
    pub attempts: i64,
    pub delivered_at: Option<String>,
    pub last_status: Option<i64>,
    pub created_at: String,
}

impl Delivery {
    /// How the delivery went, in words.
    pub fn outcome(&self) -> String {
        let when = short_time(&self.created_at);
        match (&self.delivered_at, self.last_status) {
            (Some(_), _) => format!("{} on {when}: delivered", self.event),
            (None, Some(status)) => format!(
                "{} on {when}: not delivered yet (answered {status}, {} {})",
                self.event,
                self.attempts,
                if self.attempts == 1 {
                    "attempt"
                } else {
                    "attempts"
                }
            ),
            (None, None) => format!("{} on {when}: waiting to be sent", self.event),
        }
    }
}

/// A webhook as the API gives it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Webhook {
    pub id: String,
    pub url: String,
    pub active: bool,
    pub created_at: String,
    pub deliveries: Vec<Delivery>,
}

impl Webhook {
    /// When it was registered, in UTC.
    pub fn created(&self) -> String {
        short_time(&self.created_at)
    }

    /// The latest delivery, in words.
    pub fn latest(&self) -> String {
        self.deliveries
            .first()
            .map_or_else(|| "None yet".to_owned(), Delivery::outcome)
    }
}

#[derive(Template)]
#[template(path = "console/webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    webhooks: Vec<Webhook>,
    /// A webhook just made (its address) and its signing secret: shown on
    /// this one answer only.
    created: Option<(String, String)>,
    url: String,
    problems: Vec<Problem>,
}

async fn webhooks_page(
    state: &AppState,
    session: &Session,
    created: Option<(String, String)>,
    url: String,
    problems: Vec<Problem>,
    notice: Option<String>,
) -> Response {
    let answer = run(
        state,
        session,
        "{ webhooks { id url active createdAt deliveries(first: 1) { event attempts deliveredAt lastStatus createdAt } } }",
        json!({}),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    let page = WebhooksPage {
        chrome: Chrome::new(
            session,
            title_for(&problems, "Webhooks"),
            "/console/webhooks",
        )
        .with_notice(notice),
        webhooks: pages::field(&answer, "webhooks").unwrap_or_default(),
        created,
        url,
        problems,
    };
    html(status_for(&page.problems), page.render())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct WebhooksQuery {
    deleted: Option<String>,
}

/// `GET /console/webhooks`.
pub async fn webhooks(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    axum::extract::Query(query): axum::extract::Query<WebhooksQuery>,
) -> Response {
    let notice = query
        .deleted
        .map(|url| format!("The webhook for {url} is deleted: nothing more is sent to it."));
    webhooks_page(&state, &session, None, String::new(), Vec::new(), notice).await
}

/// `POST /console/webhooks`: `createWebhook`; its signing secret is on this
/// answer's page and nowhere else, ever.
pub async fn create_webhook(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    let url = form.get("url").to_owned();
    let answer = run(
        &state,
        &session,
        "mutation($url: String!) { createWebhook(url: $url) { webhook { url } secret } }",
        json!({ "url": url }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() {
        let problems = problems_of(&answer, &[("url", "Address", "webhook-url")]);
        return webhooks_page(&state, &session, None, url, problems, None).await;
    }
    let made = &answer.data["createWebhook"];
    let created = (
        made["webhook"]["url"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        made["secret"].as_str().unwrap_or_default().to_owned(),
    );
    webhooks_page(
        &state,
        &session,
        Some(created),
        String::new(),
        Vec::new(),
        None,
    )
    .await
}

/// `POST /console/webhooks/{id}/delete`: `deleteWebhook`.
pub async fn delete_webhook(
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
    let answer = run(
        &state,
        &session,
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
        json!({ "id": id }),
    )
    .await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if !answer.errors.is_empty() || answer.data["deleteWebhook"] != json!(true) {
        let problems = if answer.errors.is_empty() {
            vec![Problem::new("That webhook was already deleted.", None)]
        } else {
            problems_of(&answer, &[])
        };
        return webhooks_page(&state, &session, None, String::new(), problems, None).await;
    }
    let url = form.get("url");
    redirect_with(
        "/console/webhooks",
        "deleted",
        if url.is_empty() { "that address" } else { url },
    )
}

// ----- The audit log --------------------------------------------------------

/// Events on one page of the audit log.
const AUDIT_PAGE: usize = 50;

/// The audit log's filters, as they stand in the address.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct AuditFilters {
    /// A staff member's id.
    pub actor: String,
    /// The id of what was acted on.
    pub subject: String,
    /// One action, e.g. `staff.updated`.
    pub action: String,
    /// `YYYY-MM-DD`, on or after.
    pub from: String,
    /// `YYYY-MM-DD`, on or before.
    pub to: String,
    /// The cursor of the page's last event before this page.
    pub after: String,
}

impl AuditFilters {
    /// The filters as an address query, without the cursor.
    pub fn query(&self) -> String {
        let pairs = [
            ("actor", &self.actor),
            ("subject", &self.subject),
            ("action", &self.action),
            ("from", &self.from),
            ("to", &self.to),
        ];
        let present: Vec<(&str, &str)> = pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(name, value)| (*name, value.trim()))
            .collect();
        serde_urlencoded::to_string(present).unwrap_or_default()
    }

    /// The API's arguments, and what is wrong with the filters (each wrong
    /// one is left out).
    fn variables(&self) -> (Value, Vec<Problem>) {
        let mut problems = Vec::new();
        let id = |value: &str, problem: &str, field: &'static str, problems: &mut Vec<Problem>| {
            let value = value.trim();
            if value.is_empty() {
                None
            } else if uuid::Uuid::parse_str(value).is_ok() {
                Some(value.to_owned())
            } else {
                problems.push(Problem::new(problem, Some(field)));
                None
            }
        };
        let actor = id(
            &self.actor,
            "Choose who did it from the list.",
            "audit-actor",
            &mut problems,
        );
        let subject = id(
            &self.subject,
            "Enter the subject as an id, for example 0190a4c2-7d1e-7f3a-9b2c-3d4e5f607182.",
            "audit-subject",
            &mut problems,
        );
        let mut date = |value: &str, next_day: bool, problem: &str, field: &'static str| {
            let value = value.trim();
            if value.is_empty() {
                return None;
            }
            let parsed = super::analysts::day(value).map(|day| {
                if next_day {
                    day + chrono::Duration::days(1)
                } else {
                    day
                }
            });
            if parsed.is_none() {
                problems.push(Problem::new(problem, Some(field)));
            }
            parsed
        };
        let mut from = date(
            &self.from,
            false,
            "Enter the start date as a date, for example 2026-05-01.",
            "audit-from",
        );
        let mut to = date(
            &self.to,
            true,
            "Enter the end date as a date, for example 2026-05-31.",
            "audit-to",
        );
        if let (Some(start), Some(end)) = (from, to)
            && end <= start
        {
            problems.push(Problem::new(
                "The end date must be the same as or after the start date.",
                Some("audit-to"),
            ));
            from = None;
            to = None;
        }
        let action = Some(self.action.trim()).filter(|action| !action.is_empty());
        let after = Some(self.after.trim()).filter(|after| !after.is_empty());
        let variables = json!({
            "first": AUDIT_PAGE,
            "after": after,
            "actor": actor,
            "subject": subject,
            "action": action,
            "from": from.map(|at| at.to_rfc3339()),
            "to": to.map(|at| at.to_rfc3339()),
        });
        (variables, problems)
    }
}

/// One event of the audit log, as the API gives it.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditEvent {
    pub id: String,
    pub action: String,
    pub actor: Option<Member>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub at: String,
}

impl AuditEvent {
    /// When it was done, in UTC.
    pub fn when(&self) -> String {
        short_time(&self.at)
    }

    /// Who did it: a member's name and email, or the command line.
    pub fn who(&self) -> String {
        self.actor.as_ref().map_or_else(
            || "The command line or hamlet itself".to_owned(),
            |actor| format!("{} ({})", actor.display_name, actor.email),
        )
    }

    /// What it was done to, e.g. "STAFF 0190…".
    pub fn subject(&self) -> String {
        match (&self.subject_kind, &self.subject_id) {
            (Some(kind), Some(id)) => format!("{} {id}", words(kind)),
            (Some(kind), None) => words(kind),
            (None, Some(id)) => id.clone(),
            (None, None) => String::new(),
        }
    }

    /// The audit log filtered to what this event was done to.
    pub fn subject_href(&self) -> Option<String> {
        let id = self.subject_id.as_deref()?;
        let query = serde_urlencoded::to_string([("subject", id)]).ok()?;
        Some(format!("/console/audit?{query}"))
    }

    /// The states before and after, as compact JSON (never free text).
    pub fn change(&self) -> String {
        let compact = |value: &Option<Value>| {
            value
                .as_ref()
                .filter(|value| !value.is_null())
                .map(Value::to_string)
        };
        match (compact(&self.before), compact(&self.after)) {
            (Some(before), Some(after)) => format!("{before} → {after}"),
            (None, Some(after)) => after,
            (Some(before), None) => format!("{before} → (none)"),
            (None, None) => String::new(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AuditPageInfo {
    has_next_page: bool,
    end_cursor: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AuditList {
    total_count: i64,
    page_info: AuditPageInfo,
    nodes: Vec<AuditEvent>,
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage {
    chrome: Chrome,
    filters: AuditFilters,
    actors: Vec<Choice>,
    actions: Vec<Choice>,
    events: Vec<AuditEvent>,
    total: i64,
    next_href: Option<String>,
    first_href: Option<String>,
    problems: Vec<Problem>,
}

const AUDIT_LOG: &str = "query($first: Int, $after: String, $actor: ID, $subject: ID,
    $action: String, $from: DateTime, $to: DateTime) {
  staffMembers { id displayName email }
  auditActions
  auditLog(first: $first, after: $after, actorId: $actor, subjectId: $subject,
           action: $action, from: $from, to: $to) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id action actor { displayName email } subjectKind subjectId before after at }
  }
}";

/// `GET /console/audit`: every staff action, newest first, filtered by who,
/// what it was done to, the action and the dates, a page at a time.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    RawQuery(query): RawQuery,
) -> Response {
    let filters: AuditFilters =
        serde_urlencoded::from_str(query.as_deref().unwrap_or_default()).unwrap_or_default();
    let (mut variables, mut problems) = filters.variables();
    let mut answer = run(&state, &session, AUDIT_LOG, variables.clone()).await;
    if let Some(refusal) = pages::denied(&answer) {
        return refusal;
    }
    if let Some(error) = answer.error("BAD_USER_INPUT") {
        // A cursor from another list (an edited address): start again.
        problems.push(Problem::new(
            if error.field.as_deref() == Some("after") {
                "That page of the log is not there any more; here is the newest.".to_owned()
            } else {
                sentence(&error.message)
            },
            None,
        ));
        variables["after"] = Value::Null;
        answer = run(&state, &session, AUDIT_LOG, variables).await;
    }
    if !answer.errors.is_empty() {
        return pages::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "The audit log cannot be read just now. Try again in a moment.",
        );
    }
    let list: AuditList = pages::field(&answer, "auditLog").unwrap_or_default();
    let members: Vec<Member> = pages::field(&answer, "staffMembers").unwrap_or_default();
    let actions: Vec<String> = pages::field(&answer, "auditActions").unwrap_or_default();
    let filter_query = filters.query();
    let joined = |extra: String| {
        if filter_query.is_empty() {
            format!("/console/audit?{extra}")
        } else {
            format!("/console/audit?{filter_query}&{extra}")
        }
    };
    let next_href = list
        .page_info
        .end_cursor
        .filter(|_| list.page_info.has_next_page)
        .map(|cursor| joined(serde_urlencoded::to_string([("after", cursor)]).unwrap_or_default()));
    let first_href = (!filters.after.trim().is_empty()).then(|| {
        if filter_query.is_empty() {
            "/console/audit".to_owned()
        } else {
            format!("/console/audit?{filter_query}")
        }
    });
    let mut action_values: Vec<(String, String)> = actions
        .into_iter()
        .map(|action| (action.clone(), action))
        .collect();
    // An action typed into the address that the log does not hold yet is
    // still shown as chosen.
    let chosen = filters.action.trim();
    if !chosen.is_empty() && !action_values.iter().any(|(value, _)| value == chosen) {
        action_values.push((chosen.to_owned(), chosen.to_owned()));
    }
    let page = AuditPage {
        chrome: Chrome::new(
            &session,
            title_for(&problems, "Audit log"),
            "/console/audit",
        ),
        actors: super::analysts::choices(
            std::iter::once((String::new(), "Anyone".to_owned())).chain(members.into_iter().map(
                |member| {
                    (
                        member.id,
                        format!("{} ({})", member.display_name, member.email),
                    )
                },
            )),
            filters.actor.trim(),
        ),
        actions: super::analysts::choices(
            std::iter::once((String::new(), "Any action".to_owned())).chain(action_values),
            chosen,
        ),
        events: list.nodes,
        total: list.total_count,
        next_href,
        first_href,
        filters,
        problems,
    };
    html(status_for(&page.problems), page.render())
}

// ----- Erasure --------------------------------------------------------------

/// A submission as `submission(reference)` shows it: never its text.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Found {
    pub reference: String,
    pub kind: String,
    pub status: String,
    pub received_at: String,
}

impl Found {
    /// Whether it is an idea (else feedback).
    pub fn is_idea(&self) -> bool {
        self.kind == "IDEA"
    }

    /// "feedback" or "idea".
    pub fn kind_words(&self) -> &'static str {
        if self.is_idea() { "idea" } else { "feedback" }
    }

    /// The day it was received, e.g. "4 May 2026".
    pub fn received(&self) -> String {
        chrono::DateTime::parse_from_rfc3339(&self.received_at).map_or_else(
            |_| self.received_at.clone(),
            |at| {
                at.with_timezone(&chrono::Utc)
                    .format("%-d %B %Y")
                    .to_string()
            },
        )
    }
}

/// Where the erasure form is.
pub enum Step {
    /// Asking for the reference.
    Ask,
    /// The submission found, and what erasing it removes.
    Confirm(Found),
    /// Erased.
    Done(Found),
}

#[derive(Template)]
#[template(path = "console/erase.html")]
struct ErasePage {
    chrome: Chrome,
    step: Step,
    reference: String,
    problems: Vec<Problem>,
}

fn erase_page(
    session: &Session,
    step: Step,
    reference: String,
    problems: Vec<Problem>,
) -> Response {
    let title = match step {
        Step::Ask => "Erase a submission",
        Step::Confirm(_) => "Check before erasing",
        Step::Done(_) => "Submission erased",
    };
    let page = ErasePage {
        chrome: Chrome::new(session, title_for(&problems, title), "/console/erase"),
        step,
        reference,
        problems,
    };
    html(status_for(&page.problems), page.render())
}

/// `GET /console/erase`: the form for a receipt's reference. Only admins
/// may erase, so only they are shown the form.
pub async fn erase_form(Extension(session): Extension<Session>) -> Response {
    if !session.has(crate::staff::model::Role::Admin) {
        return pages::refused(
            StatusCode::FORBIDDEN,
            "Your roles do not include this part of the console.",
        );
    }
    erase_page(&session, Step::Ask, String::new(), Vec::new())
}

/// `POST /console/erase`: first finds the submission by its reference and
/// says what erasing it removes and what stays; then, with `confirm`,
/// `eraseSubmission`.
pub async fn erase(
    State(state): State<Arc<AppState>>,
    Extension(session): Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let form = match Posted::read(&state, &session, &headers, body).await {
        Ok(form) => form,
        Err(refusal) => return refusal,
    };
    if !session.has(crate::staff::model::Role::Admin) {
        return pages::refused(
            StatusCode::FORBIDDEN,
            "Your roles do not include this part of the console.",
        );
    }
    let reference = form.get("reference").to_uppercase();
    if reference.is_empty() {
        let problem = Problem::new(
            "Enter the reference from the resident’s receipt, for example FB-7K3Q-9XMD.",
            Some("reference"),
        );
        return erase_page(&session, Step::Ask, reference, vec![problem]);
    }
    let found = run(
        &state,
        &session,
        "query($reference: String!) { submission(reference: $reference) { reference kind status receivedAt } }",
        json!({ "reference": reference }),
    )
    .await;
    if found.error("NOT_FOUND").is_some() {
        let problem = Problem::new(
            format!(
                "No feedback or idea has the reference {reference}. Check it against the resident’s receipt."
            ),
            Some("reference"),
        );
        return erase_page(&session, Step::Ask, reference, vec![problem]);
    }
    if let Some(refusal) = pages::denied(&found) {
        return refusal;
    }
    if !found.errors.is_empty() {
        let problems = problems_of(&found, &[("reference", "Reference", "reference")]);
        return erase_page(&session, Step::Ask, reference, problems);
    }
    let Some(submission) = pages::field::<Found>(&found, "submission") else {
        return pages::refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "That did not work. Try again in a moment.",
        );
    };
    if form.get("confirm") != "yes" {
        return erase_page(&session, Step::Confirm(submission), reference, Vec::new());
    }
    let erased = run(
        &state,
        &session,
        "mutation($reference: String!) { eraseSubmission(reference: $reference) }",
        json!({ "reference": submission.reference }),
    )
    .await;
    if let Some(refusal) = pages::denied(&erased) {
        return refusal;
    }
    if !erased.errors.is_empty() {
        let problems = problems_of(&erased, &[]);
        return erase_page(&session, Step::Confirm(submission), reference, problems);
    }
    erase_page(&session, Step::Done(submission), String::new(), Vec::new())
}

marks_invalid!(StaffPage, MemberPage, WebhooksPage, AuditPage, ErasePage);
