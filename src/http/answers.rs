//! How a GraphQL answer is sent: its media type, and the validators and
//! cache headers on public answers.

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::cache::CachedAnswer;

/// The media type a GraphQL answer is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ResponseMedia {
    /// `application/json`, what every client understands.
    Json,
    /// `application/graphql-response+json`, for clients that ask for it in
    /// `Accept` (the GraphQL-over-HTTP specification's own type).
    GraphqlResponse,
}

impl ResponseMedia {
    pub(super) fn of(headers: &HeaderMap) -> Self {
        let asks = headers
            .get_all(header::ACCEPT)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .any(|item| {
                let mut parts = item.split(';').map(str::trim);
                let media = parts.next().unwrap_or_default();
                let refused = parts.any(|param| {
                    param
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                media.eq_ignore_ascii_case("application/graphql-response+json") && !refused
            });
        if asks {
            Self::GraphqlResponse
        } else {
            Self::Json
        }
    }

    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::GraphqlResponse => "application/graphql-response+json",
        }
    }
}

/// An answer no cache may keep: anything for a signed-in caller or a kiosk,
/// and every error.
pub(super) fn private_answer(status: StatusCode, media: ResponseMedia, body: Bytes) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, media.as_str()),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// A public answer: `Cache-Control`, a strong `ETag` over the exact bytes,
/// and `304 Not Modified` for a GET whose `If-None-Match` matches.
pub(super) fn kept_answer(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    answer: &CachedAnswer,
    media: ResponseMedia,
) -> Response {
    let matches = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == "*" || tag.as_bytes() == answer.etag.as_bytes());
    let not_modified = *method == Method::GET && matches;
    state
        .metrics
        .observe_response(if not_modified { 304 } else { 200 });
    let mut response = if not_modified {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(answer.body.clone()))
    };
    let response_headers = response.headers_mut();
    response_headers.insert(header::ETAG, answer.etag.clone());
    response_headers.insert(header::CACHE_CONTROL, answer.cache_control.clone());
    response_headers.insert(
        header::VARY,
        HeaderValue::from_static("Authorization, Accept"),
    );
    if !not_modified {
        response_headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(media.as_str()),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graphql_response_media_type_is_used_when_asked_for() {
        let accept = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_static(value));
            ResponseMedia::of(&headers)
        };
        assert_eq!(ResponseMedia::of(&HeaderMap::new()), ResponseMedia::Json);
        assert_eq!(accept("application/json"), ResponseMedia::Json);
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            ResponseMedia::GraphqlResponse
        );
        assert_eq!(
            accept("application/graphql-response+json;q=0, application/json"),
            ResponseMedia::Json
        );
    }
}
