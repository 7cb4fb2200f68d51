//! The staff console at `/console`: moderators triage and answer, analysts
//! read the figures and download the Board report and the export, admins
//! run kiosks, staff accounts, webhooks, the audit log and erasure, each
//! member seeing the parts their roles reach.
//!
//! The console is a client of the schema like the residents' pages: every
//! read and write is a GraphQL document run in process as the signed-in
//! member (see [`pages::run`]), so the API's guards decide what each role
//! may do and the audit log records it. Pages render on the server and
//! forms post without JavaScript; `assets/console/app.js` adds the
//! keyboard, the live notice of new items and the response preview.
//!
//! Rooms: [`session`] (cookies, sign-in, anti-forgery), [`pages`] (the
//! frame and the screens every member has), [`queue`] (moderators),
//! [`editors`] (editors), [`analysts`] (figures and downloads), [`admin`]
//! (admins).

pub mod admin;
pub mod analysts;
pub mod editors;
pub mod pages;
pub mod queue;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};

use crate::http::AppState;

/// The console's routes, behind their security headers.
pub fn routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    // Staff pages are never framed, whatever the residents' pages allow.
    let headers = crate::residents::SecurityHeaders::new(&[]);
    let signed_in = Router::new()
        .route("/console", get(pages::home))
        .route("/console/account", get(pages::account))
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/queue", get(queue::queue))
        .route("/console/queue/live", get(queue::live))
        .route("/console/queue/bulk", post(queue::bulk))
        .route("/console/{kind}/{id}", get(queue::item).post(queue::save))
        .route("/console/{kind}/{id}/notes", post(queue::add_note))
        .route("/console/ideas/{id}/merge", post(queue::merge_idea))
        .route("/console/{kind}/{id}/concerns", post(queue::raise_concern))
        .route(
            "/console/{kind}/{id}/concerns/{concern}",
            post(queue::decide_concern),
        )
        .route(
            "/console/kiosks",
            get(admin::kiosks).post(admin::create_kiosk),
        )
        .route("/console/kiosks/{id}/revoke", post(admin::revoke_kiosk))
        .merge(editor_routes())
        .route("/console/figures", get(analysts::figures))
        .route("/console/figures/report", get(analysts::board_report))
        .route("/console/figures/export", get(analysts::export))
        .route(
            "/console/staff",
            get(admin::staff).post(admin::create_staff),
        )
        .route(
            "/console/staff/{id}",
            get(admin::staff_member).post(admin::update_staff),
        )
        .route("/console/staff/{id}/active", post(admin::set_staff_active))
        .route(
            "/console/webhooks",
            get(admin::webhooks).post(admin::create_webhook),
        )
        .route("/console/webhooks/{id}/delete", post(admin::delete_webhook))
        .route("/console/audit", get(admin::audit))
        .route("/console/erase", get(admin::erase_form).post(admin::erase))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            session::require,
        ));
    Router::new()
        .route(
            "/console/sign-in",
            get(pages::sign_in_form).post(pages::sign_in),
        )
        .merge(signed_in)
        .layer(axum::middleware::map_response(move |response: Response| {
            let headers = headers.clone();
            async move { headers.apply(response) }
        }))
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The editors' screens (see [`editors`]).
fn editor_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/console/pages", get(editors::list).post(editors::create))
        .route(
            "/console/pages/{slug}",
            get(editors::edit).post(editors::save),
        )
        .route("/console/pages/{slug}/preview", post(editors::live_preview))
        .route("/console/pages/{slug}/publish", post(editors::publish))
        .route("/console/pages/{slug}/withdraw", post(editors::withdraw))
        .route("/console/pages/{slug}/revisions", get(editors::revisions))
        .route(
            "/console/pages/{slug}/revisions/restore",
            post(editors::restore),
        )
        .route(
            "/console/organisation",
            get(editors::organisation).post(editors::save_organisation),
        )
}
