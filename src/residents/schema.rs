//! Running a GraphQL document for a page, in process, exactly as a request
//! to `/graphql` from the same resident would run: the same schema, limits
//! and error codes, and the resident's address as the caller, so the
//! submission and look-up rate limits count page and API use together.

use std::net::SocketAddr;

use axum::http::HeaderMap;
use serde_json::Value;

use crate::auth::{self, Client, Viewer};
use crate::http::AppState;

/// The resident behind a page request.
pub fn client(state: &AppState, peer: SocketAddr, headers: &HeaderMap) -> Client {
    Client {
        address: auth::client_address(peer, headers, &state.trusted_proxies),
        kiosk: None,
    }
}

/// One error of an answer, as a page needs it.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: String,
    /// The message the API gave, for staff (never shown to residents).
    pub message: String,
    /// The input field a `BAD_USER_INPUT` names, e.g. `comment`, `contact.email`.
    pub field: Option<String>,
    pub retry_after_seconds: Option<u64>,
}

/// What the schema answered.
#[derive(Debug)]
pub struct Answer {
    pub data: Value,
    pub errors: Vec<ApiError>,
}

impl Answer {
    /// The first error with this code.
    pub fn error(&self, code: &str) -> Option<&ApiError> {
        self.errors.iter().find(|error| error.code == code)
    }
}

/// Runs `query` with `variables` for `client`.
pub async fn run(state: &AppState, client: &Client, query: &str, variables: Value) -> Answer {
    run_as(state, client, None, query, variables).await
}

/// Runs `query` with `variables` for `client`, signed in as `viewer` when
/// there is one: the console's requests, under the same guards as the API's.
pub async fn run_as(
    state: &AppState,
    client: &Client,
    viewer: Option<&Viewer>,
    query: &str,
    variables: Value,
) -> Answer {
    let mut request = async_graphql::Request::new(query)
        .variables(async_graphql::Variables::from_json(variables))
        .data(client.clone());
    if let Some(viewer) = viewer {
        request = request.data(viewer.clone());
    }
    let response = state.schema.execute(request).await;
    let errors = response
        .errors
        .iter()
        .map(|error| {
            let extension = |name: &str| {
                error
                    .extensions
                    .as_ref()
                    .and_then(|extensions| extensions.get(name))
                    .and_then(|value| value.clone().into_json().ok())
            };
            ApiError {
                message: error.message.clone(),
                code: extension("code")
                    .and_then(|code| code.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "INTERNAL".to_owned()),
                field: extension("field").and_then(|field| field.as_str().map(str::to_owned)),
                retry_after_seconds: extension("retryAfterSeconds")
                    .and_then(|seconds| seconds.as_u64()),
            }
        })
        .collect();
    let data = response.data.into_json().unwrap_or(Value::Null);
    Answer { data, errors }
}
