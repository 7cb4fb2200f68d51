//! Signing in to the console from a browser: the login mutation's session,
//! carried in an `HttpOnly`, `SameSite=Strict` cookie (`Secure` whenever the
//! request came over TLS, directly or through a trusted proxy), never in
//! `localStorage` or a URL.
//!
//! The cookie holds a short token naming the server-side staff session,
//! issued again as the member works (every minute at most), so it lapses
//! after [`IDLE`] without a click: that is the idle sign-out. Every request
//! reads the session and the account afresh (through [`Viewers`]), so a
//! logout, a password change, a deactivation or a change of roles acts on
//! the next click. A second cookie, sent only to the sign-out address, holds
//! the refresh token that `logout` needs to end the session everywhere.
//!
//! Writes carry an anti-forgery token, an HMAC of the session id (see
//! [`TokenKeys::form_token`]): a form's hidden `csrf` field or the script's
//! `X-CSRF-Token` header. Every write must also come from this origin
//! (`Origin` or `Sec-Fetch-Site`), the sign-in form included.
//!
//! [`Viewers`]: crate::auth::Viewers
//! [`TokenKeys::form_token`]: crate::staff::token::TokenKeys::form_token

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, Utc};

use crate::auth::{Client, Viewer};
use crate::http::AppState;
use crate::staff::model::Role;

/// The session cookie.
pub const SESSION_COOKIE: &str = "hamlet_console";
/// The refresh token, for signing out.
pub const END_COOKIE: &str = "hamlet_console_end";
/// Where the console lives; both cookies are scoped to it.
pub const ROOT: &str = "/console";
/// The sign-out address, the only one the refresh token is sent to.
pub const SIGN_OUT: &str = "/console/sign-out";
/// No click for this long signs a member out.
pub const IDLE: Duration = Duration::minutes(30);
/// How often the session cookie is issued again while a member works.
const RENEW_AFTER: i64 = 60;

/// A signed-in member of staff, for a console handler.
#[derive(Clone)]
pub struct Session {
    pub viewer: Viewer,
    pub client: Client,
    /// This session's anti-forgery token, for every form on the page.
    pub csrf: String,
}

impl Session {
    pub fn has(&self, role: Role) -> bool {
        self.viewer.staff.roles.contains(role)
    }

    /// Whether `presented` is this session's anti-forgery token.
    pub fn allows(&self, state: &AppState, presented: &str) -> bool {
        state
            .keys
            .form_token_matches(self.viewer.session_id, presented)
    }
}

/// The cookies' attributes: `Secure` when the browser reached us over TLS.
pub fn cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookies that end a console session in this browser.
pub fn cleared(secure: bool) -> [HeaderValue; 2] {
    [
        cookie(SESSION_COOKIE, "", ROOT, 0, secure),
        cookie(END_COOKIE, "", SIGN_OUT, 0, secure),
    ]
}

/// Whether the request came over TLS: hamlet itself serves plain HTTP, so
/// only a trusted proxy's `X-Forwarded-Proto` (or `Forwarded: proto=`) can
/// say so.
pub fn over_tls(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> bool {
    let trusted = state
        .trusted_proxies
        .iter()
        .any(|net| net.contains(&peer.ip()));
    if !trusted {
        return false;
    }
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    let forwarded = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split([';', ',']))
        .any(|part| part.trim().eq_ignore_ascii_case("proto=https"));
    forwarded_proto || forwarded
}

/// The value of cookie `name`.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// Whether a write came from a page of this origin. Browsers send `Origin`
/// with every POST and `Sec-Fetch-Site` with every request; a write that
/// carries neither is not from a browser page at all, and is let through
/// to the anti-forgery token's check.
pub fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        return site == "same-origin";
    }
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

/// Finds the member behind the session cookie for every console route but
/// the sign-in page, and issues the cookie again as they work. Without a
/// live session a page sends the browser to sign in, and a write is
/// refused. A write from another origin is refused before anything else.
pub async fn require(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut request: Request,
    next: Next,
) -> Response {
    let headers = request.headers();
    let writing = request.method() != Method::GET && request.method() != Method::HEAD;
    if writing && !same_origin(headers) {
        return super::pages::refused(
            StatusCode::FORBIDDEN,
            "This request came from another site.",
        );
    }
    let token = cookie_value(headers, SESSION_COOKIE).unwrap_or_default();
    let claims = state.keys.verify(token);
    let viewer = match &claims {
        Some(_) => state.viewers.viewer_of(&state.db, &state.keys, token).await,
        None => Ok(None),
    };
    let secure = over_tls(&state, peer, headers);
    let viewer = match viewer {
        Ok(Some(viewer)) => viewer,
        Ok(None) => {
            let mut response = if writing {
                super::pages::refused(
                    StatusCode::UNAUTHORIZED,
                    "You are signed out. Sign in again and repeat what you did.",
                )
            } else {
                let path = request
                    .uri()
                    .path_and_query()
                    .map_or(ROOT, |path| path.as_str());
                let next = serde_urlencoded::to_string([("next", path)]).unwrap_or_default();
                Redirect::to(&format!("{ROOT}/sign-in?{next}")).into_response()
            };
            if !token.is_empty() {
                for value in cleared(secure) {
                    response.headers_mut().append(header::SET_COOKIE, value);
                }
            }
            return response;
        }
        Err(error) => {
            tracing::warn!(%error, "the console could not read a session");
            return super::pages::refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is busy. Try again in a moment.",
            );
        }
    };
    let client = Client {
        address: crate::auth::client_address(peer, headers, &state.trusted_proxies),
        kiosk: None,
    };
    let session = Session {
        csrf: state.keys.form_token(viewer.session_id),
        viewer,
        client,
    };
    let renew = claims
        .as_ref()
        .filter(|claims| Utc::now().timestamp() - claims.iat >= RENEW_AFTER)
        .map(|claims| (claims.sub, claims.sid));
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    if let Some((staff, session)) = renew
        && let Ok((token, _)) = state.keys.issue_for(staff, session, Utc::now(), IDLE)
    {
        response.headers_mut().append(
            header::SET_COOKIE,
            cookie(SESSION_COOKIE, &token, ROOT, IDLE.num_seconds(), secure),
        );
    }
    response
}
