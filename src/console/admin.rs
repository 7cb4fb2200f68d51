//! The admins' screens: kiosks (a new one's token shown once, revoking).

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::pages::{self, Chrome, Posted, html, run};
use super::queue::short_time;
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
