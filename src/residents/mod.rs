//! The residents' pages: have your say (`/`), feedback (`/feedback`), ideas
//! (`/ideas`, `/ideas/new`), tracking a receipt (`/track`) and the kiosk
//! (`/kiosk`), in every language in `locales/`.
//!
//! The pages are clients of the schema like any other: each write is the
//! same GraphQL mutation a partner's app would send, run in process with the
//! resident's address as the [`Client`](crate::auth::Client), so the same
//! limits, honeypot and rate limits apply. They work without JavaScript
//! (forms post, pages render here); `assets/app.js` adds the offline outbox,
//! the kiosk and live filtering, and `assets/sw.js` keeps the pages offline.
//!
//! Rooms: [`pages`] (one handler per screen), [`strings`] (the words),
//! [`assets`] (styles, script and service worker), [`schema`] (running a
//! GraphQL document for a page).

pub mod assets;
pub mod pages;
pub mod schema;
pub mod strings;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::routing::{get, post};

use crate::config::Config;
use crate::http::AppState;

/// What the pages take from the configuration.
#[derive(Clone, Debug)]
pub struct PageSettings {
    /// A kiosk with no touch for this long warns that it will clear.
    pub kiosk_idle: Duration,
    /// How long the warning stays before the kiosk clears and starts again.
    pub kiosk_warning: Duration,
}

impl Default for PageSettings {
    fn default() -> Self {
        Self {
            kiosk_idle: Duration::from_secs(60),
            kiosk_warning: Duration::from_secs(20),
        }
    }
}

/// The pages' routes, behind their security headers.
pub fn routes(config: &Config) -> Router<Arc<AppState>> {
    let headers = SecurityHeaders::new(&config.frame_ancestors);
    Router::new()
        .route("/", get(pages::home))
        .route("/feedback", get(pages::feedback).post(pages::send_feedback))
        .route("/receipt/{reference}", get(pages::receipt))
        .route("/ideas", get(pages::ideas))
        .route("/ideas/new", get(pages::new_idea).post(pages::send_idea))
        .route("/ideas/support", post(pages::support_idea))
        .route("/track", get(pages::track))
        .route("/kiosk", get(pages::kiosk))
        .route("/assets/{file}", get(assets::serve))
        .route("/sw.js", get(assets::service_worker))
        .layer(axum::middleware::map_response(move |response: Response| {
            let headers = headers.clone();
            async move { headers.apply(response) }
        }))
        // The first visit's budget (60 KB) is over the wire: gzip where the
        // browser accepts it.
        .layer(tower_http::compression::CompressionLayer::new())
}

/// The headers every page and asset carries: a Content-Security-Policy that
/// allows nothing but this origin's own files (no inline script, no other
/// origin), framing only by the configured partner origins, and the usual
/// hardening.
#[derive(Clone)]
pub(crate) struct SecurityHeaders {
    policy: HeaderValue,
    framing_denied: bool,
}

impl SecurityHeaders {
    pub(crate) fn new(frame_ancestors: &[String]) -> Self {
        let ancestors = if frame_ancestors.is_empty() {
            "'none'".to_owned()
        } else {
            frame_ancestors.join(" ")
        };
        let policy = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             connect-src 'self'; worker-src 'self'; manifest-src 'self'; form-action 'self'; \
             base-uri 'none'; frame-ancestors {ancestors}"
        );
        Self {
            // Origins are checked when the configuration is read, so this
            // cannot fail; were it to, the strictest policy stands.
            policy: HeaderValue::from_str(&policy).unwrap_or_else(|_| {
                HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'")
            }),
            framing_denied: frame_ancestors.is_empty(),
        }
    }

    pub(crate) fn apply(&self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        crate::http::page_headers(headers, self.policy.clone());
        headers.insert(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static(
                "camera=(), microphone=(), geolocation=(), interest-cohort=()",
            ),
        );
        if self.framing_denied {
            headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        }
        response
    }
}
