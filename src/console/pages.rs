//! What every console screen shares (the frame, the navigation by role, a
//! refusal), and the screens that are not one role's own: signing in and
//! out, and the start page.

use std::net::SocketAddr;
use std::sync::Arc;

use askama::Template;
use axum::body::Body;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::session::{self, END_COOKIE, IDLE, ROOT, SESSION_COOKIE, SIGN_OUT, Session};
use crate::http::AppState;
use crate::residents::assets;
use crate::residents::schema::{self, Answer};
use crate::staff::model::Role;

/// One entry of the navigation.
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// The frame around every signed-in screen.
pub struct Chrome {
    pub title: String,
    pub css: String,
    pub js: String,
    pub staff_name: String,
    pub csrf: String,
    pub nav: Vec<NavLink>,
    /// A message for the top of the page, e.g. "Saved".
    pub notice: Option<String>,
    /// Seconds without a click before the session lapses.
    pub idle_seconds: i64,
}

/// The console's sections, the role each needs, and where it starts.
/// A section listed for two roles shows once to a member with both.
const SECTIONS: &[(&str, &str, Role)] = &[
    ("/console/queue", "Queue", Role::Moderator),
    ("/console/pages", "Pages", Role::Editor),
    ("/console/figures", "Figures", Role::Analyst),
    ("/console/figures", "Figures", Role::Moderator),
    ("/console/kiosks", "Kiosks", Role::Admin),
    ("/console/staff", "Staff", Role::Admin),
    ("/console/webhooks", "Webhooks", Role::Admin),
    ("/console/audit", "Audit log", Role::Admin),
    ("/console/erase", "Erase", Role::Admin),
];

impl Chrome {
    pub fn new(session: &Session, title: impl Into<String>, section: &str) -> Self {
        let mut shown = Vec::new();
        let nav = SECTIONS
            .iter()
            .filter(|(href, _, role)| {
                let first = !shown.contains(href);
                let reached = session.has(*role) && first;
                if reached {
                    shown.push(*href);
                }
                reached
            })
            .map(|(href, label, _)| NavLink {
                href,
                label,
                current: *href == section,
            })
            .collect();
        Self {
            title: title.into(),
            css: assets::url("console/style.css"),
            js: assets::url("console/app.js"),
            staff_name: session.viewer.staff.display_name.clone(),
            csrf: session.csrf.clone(),
            nav,
            notice: None,
            idle_seconds: IDLE.num_seconds(),
        }
    }

    pub fn with_notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }
}

/// A rendered console screen. Nothing a console page shows may be kept
/// by a cache: it holds residents' words.
pub fn html(status: StatusCode, rendered: Result<String, askama::Error>) -> Response {
    match rendered {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "rendering a console page");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CACHE_CONTROL, "no-store")],
                "internal error",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "console/refused.html")]
struct Refused<'a> {
    css: String,
    message: &'a str,
}

/// A request refused before any screen: signed out, forged, or busy.
pub fn refused(status: StatusCode, message: &str) -> Response {
    html(
        status,
        Refused {
            css: assets::url("console/style.css"),
            message,
        }
        .render(),
    )
}

/// A screen the member's roles do not reach, or an answer the API refused.
pub fn denied(answer: &Answer) -> Option<Response> {
    let error = answer.errors.first()?;
    let (status, message) = match error.code.as_str() {
        "FORBIDDEN" => (
            StatusCode::FORBIDDEN,
            "Your roles do not include this part of the console.",
        ),
        "UNAUTHENTICATED" => (StatusCode::UNAUTHORIZED, "You are signed out."),
        "NOT_FOUND" => (StatusCode::NOT_FOUND, "There is no such item."),
        _ => return None,
    };
    Some(refused(status, message))
}

/// Runs a document as the signed-in member.
pub async fn run(state: &AppState, session: &Session, query: &str, variables: Value) -> Answer {
    schema::run_as(
        state,
        &session.client,
        Some(&session.viewer),
        query,
        variables,
    )
    .await
}

/// Runs a read whose every root field depends only on the database and the
/// viewer (the queues, the list of services), answered as it was last made
/// while the database has not changed since: the API's kept staff pages
/// ([`crate::cache::StaffAnswers`]), so a queue page asked for again and
/// again is not read and assembled again. On PostgreSQL it simply runs.
pub async fn run_kept(
    state: &AppState,
    session: &Session,
    query: &str,
    variables: Value,
) -> Answer {
    let version = state.staff_answers.version().await;
    let key = version.map(|version| {
        let variables = async_graphql::Variables::from_json(variables.clone());
        (
            crate::cache::StaffAnswers::key(&session.viewer, query, &variables, None),
            version,
        )
    });
    if let Some((key, version)) = &key
        && let Some(body) = state.staff_answers.get(key, *version)
        && let Ok(data) = serde_json::from_slice(&body)
    {
        return Answer {
            data,
            errors: Vec::new(),
        };
    }
    let answer = run(state, session, query, variables).await;
    if let Some((key, version)) = key
        && answer.errors.is_empty()
        && let Ok(body) = serde_json::to_vec(&answer.data)
    {
        state.staff_answers.put(key, version, body.into());
    }
    answer
}

/// Reads `data[field]` as `T`.
pub fn field<T: DeserializeOwned>(answer: &Answer, name: &str) -> Option<T> {
    serde_json::from_value(answer.data.get(name)?.clone()).ok()
}

/// A form's fields, once its anti-forgery token has been checked.
pub struct Posted(pub Vec<(String, String)>);

impl Posted {
    /// Reads a form posted by `session`, refusing it without the session's
    /// anti-forgery token (in the form or in `X-CSRF-Token`).
    pub async fn read(
        state: &AppState,
        session: &Session,
        headers: &HeaderMap,
        body: Body,
    ) -> Result<Self, Response> {
        let Ok(bytes) = axum::body::to_bytes(body, state.max_body_bytes).await else {
            return Err(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "The form is larger than hamlet accepts.",
            ));
        };
        let fields: Vec<(String, String)> =
            serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
        let presented = fields
            .iter()
            .find(|(name, _)| name == "csrf")
            .map(|(_, value)| value.as_str())
            .or_else(|| {
                headers
                    .get("x-csrf-token")
                    .and_then(|value| value.to_str().ok())
            })
            .unwrap_or_default();
        if !session.allows(state, presented) {
            return Err(refused(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from the console. Go back, reload the page and try again.",
            ));
        }
        Ok(Self(fields))
    }

    /// The first value of `name`, trimmed; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.trim())
    }

    /// Every value of `name` (a group of checkboxes).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// `Some(value)` when `name` was filled in.
    pub fn present(&self, name: &str) -> Option<&str> {
        Some(self.get(name)).filter(|value| !value.is_empty())
    }
}

/// Where a member goes after signing in, or from `/console`: the first
/// section their roles reach.
fn start_of(session: &Session) -> &'static str {
    SECTIONS
        .iter()
        .find(|(_, _, role)| session.has(*role))
        .map_or("/console/account", |(href, _, _)| href)
}

/// `GET /console`.
pub async fn home(axum::Extension(session): axum::Extension<Session>) -> Response {
    Redirect::to(start_of(&session)).into_response()
}

#[derive(Template)]
#[template(path = "console/account.html")]
struct AccountPage {
    chrome: Chrome,
    email: String,
    roles: Vec<&'static str>,
}

/// `GET /console/account`: who is signed in, with which roles.
pub async fn account(axum::Extension(session): axum::Extension<Session>) -> Response {
    let staff = &session.viewer.staff;
    let page = AccountPage {
        email: staff.email.clone(),
        roles: staff.roles.to_vec().into_iter().map(Role::as_str).collect(),
        chrome: Chrome::new(&session, "Your account", "/console/account"),
    };
    html(StatusCode::OK, page.render())
}

// ----- Signing in and out --------------------------------------------------

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    css: String,
    next: String,
    email: String,
    error: Option<String>,
    notice: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    signed_out: Option<String>,
}

/// Only a console address may be where sign-in leads.
fn safe_next(next: &str) -> &str {
    let inside = next == ROOT || next.starts_with("/console/") || next.starts_with("/console?");
    if inside && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        ROOT
    }
}

fn sign_in_page(
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<String>,
    notice: Option<&'static str>,
) -> Response {
    html(
        status,
        SignInPage {
            css: assets::url("console/style.css"),
            next: safe_next(next).to_owned(),
            email: email.to_owned(),
            error,
            notice,
        }
        .render(),
    )
}

/// `GET /console/sign-in`.
pub async fn sign_in_form(Query(query): Query<SignInQuery>) -> Response {
    let notice = query.signed_out.is_some().then_some("You have signed out.");
    sign_in_page(StatusCode::OK, &query.next, "", None, notice)
}

const LOGIN: &str = "mutation($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken }
}";

/// `POST /console/sign-in`: the `login` mutation, then the cookies.
pub async fn sign_in(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if !session::same_origin(&headers) {
        return refused(
            StatusCode::FORBIDDEN,
            "This request came from another site.",
        );
    }
    let Ok(bytes) = axum::body::to_bytes(body, state.max_body_bytes).await else {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, "The form is too large.");
    };
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let value = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    };
    let (email, password, next) = (value("email").trim(), value("password"), value("next"));
    let client = schema::client(&state, peer, &headers);
    let answer = schema::run(
        &state,
        &client,
        LOGIN,
        json!({ "email": email, "password": password }),
    )
    .await;
    if let Some(error) = answer.errors.first() {
        let (status, message) = match error.code.as_str() {
            "RATE_LIMITED" => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many attempts. Wait {} seconds and try again.",
                    error.retry_after_seconds.unwrap_or(60)
                ),
            ),
            "UNAUTHENTICATED" | "BAD_USER_INPUT" => (
                StatusCode::UNAUTHORIZED,
                "The email or password is not right.".to_owned(),
            ),
            _ => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Signing in is not working just now. Try again in a moment.".to_owned(),
            ),
        };
        return sign_in_page(status, next, email, Some(message), None);
    }
    let login = &answer.data["login"];
    let access = login["accessToken"].as_str().unwrap_or_default();
    let refresh = login["refreshToken"].as_str().unwrap_or_default();
    let Some(claims) = state.keys.verify(access) else {
        return sign_in_page(
            StatusCode::SERVICE_UNAVAILABLE,
            next,
            email,
            Some("Signing in is not working just now.".to_owned()),
            None,
        );
    };
    let Ok((token, _)) = state
        .keys
        .issue_for(claims.sub, claims.sid, chrono::Utc::now(), IDLE)
    else {
        return refused(StatusCode::SERVICE_UNAVAILABLE, "Try again in a moment.");
    };
    let secure = session::over_tls(&state, peer, &headers);
    let mut response = Redirect::to(safe_next(next)).into_response();
    let cookies = response.headers_mut();
    cookies.append(
        header::SET_COOKIE,
        session::cookie(SESSION_COOKIE, &token, ROOT, IDLE.num_seconds(), secure),
    );
    cookies.append(
        header::SET_COOKIE,
        session::cookie(
            END_COOKIE,
            refresh,
            SIGN_OUT,
            crate::staff::token::SESSION_IDLE_LIFETIME.num_seconds(),
            secure,
        ),
    );
    response
}

/// `POST /console/sign-out`: the `logout` mutation ends the session on the
/// server, so every copy of the cookie stops working; then the cookies go.
pub async fn sign_out(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    axum::Extension(session): axum::Extension<Session>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(response) = Posted::read(&state, &session, &headers, body).await {
        return response;
    }
    let refresh = session::cookie_value(&headers, END_COOKIE).unwrap_or_default();
    let answer = run(
        &state,
        &session,
        "mutation($token: String!) { logout(refreshToken: $token) }",
        json!({ "token": refresh }),
    )
    .await;
    if !answer.errors.is_empty() || refresh.is_empty() {
        // Without the refresh token (a cookie cleared by hand) the session
        // is ended by its id instead: signing out must never fail.
        if let Err(error) =
            crate::staff::store::revoke_session(&state.db, session.viewer.session_id).await
        {
            tracing::warn!(%error, "ending a console session");
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "Signing out did not work. Try again in a moment.",
            );
        }
        state.viewers.changed();
    }
    let secure = session::over_tls(&state, peer, &headers);
    let mut response = Redirect::to("/console/sign-in?signed_out=1").into_response();
    for value in session::cleared(secure) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
