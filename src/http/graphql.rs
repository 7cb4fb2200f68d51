//! GraphQL over HTTP: a GET or POST turned into a request for the schema,
//! refused early where the API does not accept it, run, and its outcome
//! turned into a status, headers and a body.

use std::net::SocketAddr;
use std::time::Instant;

use async_graphql::Positioned;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use super::answers::{ResponseMedia, kept_answer, private_answer};
use super::{AppState, refuse};
use crate::auth::{self, Client, Refusal, Viewer};
use crate::cache::{CachedAnswer, ResponseCache, StaffAnswers};
use crate::error::Code;

/// The parameters of a GraphQL GET request.
#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
    /// JSON, e.g. `{"persistedQuery":{"version":1,"sha256Hash":"…"}}`.
    extensions: Option<String>,
}

pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: GetParams = match serde_urlencoded::from_str(raw.as_deref().unwrap_or_default()) {
        Ok(params) => params,
        Err(_) => {
            return refuse(
                &state,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the query string is malformed",
            );
        }
    };
    let persisted = match params.extensions.as_deref().map(persisted_hash) {
        Some(Ok(hash)) => hash,
        Some(Err(())) => {
            return refuse(
                &state,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "`extensions` must be a JSON object",
            );
        }
        None => None,
    };
    if params.query.is_none() && persisted.is_none() {
        if accepts_html(&headers) {
            return super::query_page::page();
        }
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "a GET request needs a `query` parameter",
        );
    }
    let query = match resolve_persisted(&state, params.query, persisted.as_deref()) {
        Ok(query) => query,
        Err(response) => return *response,
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_slice::<serde_json::Value>(&crate::text::repair_json_surrogates(
            variables.as_bytes(),
        )) {
            Ok(value @ serde_json::Value::Object(_)) => {
                request = request.variables(async_graphql::Variables::from_json(value));
            }
            _ => {
                return refuse(
                    &state,
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "`variables` must be a JSON object",
                );
            }
        }
    }
    execute(&state, Method::GET, request, &headers, peer).await
}

pub(super) async fn post(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return refuse(
            &state,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send GraphQL requests as application/json",
        );
    }
    let declared_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared_length.is_some_and(|length| length > state.max_body_bytes) {
        return too_large(&state);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, state.max_body_bytes).await {
        Ok(bytes) => bytes,
        Err(error) if over_the_limit(&error) => return too_large(&state),
        // Broken chunked encoding, a client that hung up mid-body: its
        // fault, and not a question of size. (A body that arrives too
        // slowly is cut off by the request timeout: 408.)
        Err(error) => {
            tracing::debug!(%error, "reading a request body");
            return refuse(
                &state,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the request body could not be read: it was malformed or cut short",
            );
        }
    };
    if bytes.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "batched requests are not supported",
        );
    }
    let request: async_graphql::Request = match serde_json::from_slice(
        &crate::text::repair_json_surrogates(&bytes),
    ) {
        Ok(request) => request,
        Err(_) => {
            return refuse(
                &state,
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the body is not a GraphQL request in JSON: {\"query\": \"...\", \"variables\": {...}}",
            );
        }
    };
    let persisted = request
        .extensions
        .get("persistedQuery")
        .and_then(|value| serde_json::to_value(value).ok())
        .and_then(|value| {
            value
                .get("sha256Hash")
                .and_then(|h| h.as_str())
                .map(str::to_owned)
        });
    let mut request = request;
    if persisted.is_some() {
        let given = (!request.query.trim().is_empty()).then(|| std::mem::take(&mut request.query));
        match resolve_persisted(&state, given, persisted.as_deref()) {
            Ok(query) => request.query = query,
            Err(response) => return *response,
        }
    }
    if request.query.trim().is_empty() {
        return refuse(
            &state,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "the request has no query",
        );
    }
    execute(&state, Method::POST, request, &headers, peer).await
}

/// The `persistedQuery.sha256Hash` in a GET request's `extensions`, if any.
fn persisted_hash(extensions: &str) -> Result<Option<String>, ()> {
    let value: serde_json::Value = serde_json::from_str(extensions).map_err(|_| ())?;
    if !value.is_object() {
        return Err(());
    }
    Ok(value
        .pointer("/persistedQuery/sha256Hash")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned))
}

/// The query text of a request that may be an automatic persisted query:
/// the text given (kept under its hash, which must match), or the text kept
/// for the hash, or `PERSISTED_QUERY_NOT_FOUND` so the client sends it.
fn resolve_persisted(
    state: &AppState,
    given: Option<String>,
    hash: Option<&str>,
) -> Result<String, Box<Response>> {
    match (given, hash) {
        (Some(query), None) => Ok(query),
        (Some(query), Some(hash)) => {
            if state.persisted.remember(hash, &query) {
                Ok(query)
            } else {
                Err(Box::new(refuse(
                    state,
                    StatusCode::BAD_REQUEST,
                    "BAD_REQUEST",
                    "persistedQuery.sha256Hash is not the SHA-256 of the query",
                )))
            }
        }
        (None, Some(hash)) => match state.persisted.get(&hash.to_ascii_lowercase()) {
            Some(query) => Ok(query.to_string()),
            None => Err(Box::new(refuse(
                state,
                StatusCode::OK,
                "PERSISTED_QUERY_NOT_FOUND",
                "PersistedQueryNotFound",
            ))),
        },
        (None, None) => Ok(String::new()),
    }
}

/// Whether reading a body failed because it was larger than allowed.
fn over_the_limit(error: &axum::Error) -> bool {
    std::error::Error::source(error)
        .is_some_and(|source| source.is::<http_body_util::LengthLimitError>())
}

fn too_large(state: &AppState) -> Response {
    refuse(
        state,
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        &format!("the body is larger than {} bytes", state.max_body_bytes),
    )
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// The operation a request will run and its name, if its document names an
/// operation it contains. When it does not, the schema reports the problem as
/// a GraphQL error.
fn selected_operation(
    document: &ExecutableDocument,
    wanted: Option<String>,
) -> Option<(&Positioned<OperationDefinition>, Option<String>)> {
    match (&document.operations, wanted) {
        (DocumentOperations::Single(operation), name) => Some((operation, name)),
        (DocumentOperations::Multiple(operations), Some(name)) => operations
            .get(name.as_str())
            .map(|operation| (operation, Some(name))),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => operations
            .iter()
            .next()
            .map(|(name, operation)| (operation, Some(name.to_string()))),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// Whether `operation` selects nothing but `fields` at its root (no
/// fragments there, no directives).
fn asks_only(operation: &Positioned<OperationDefinition>, fields: &[&str]) -> bool {
    let selections = &operation.node.selection_set.node.items;
    !selections.is_empty()
        && selections.iter().all(|selection| match &selection.node {
            Selection::Field(field) => {
                field.node.directives.is_empty() && fields.contains(&field.node.name.node.as_str())
            }
            _ => false,
        })
}

/// Who is calling (see [`auth::identify`]), or the response that refuses them.
async fn client_of(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(Client, Option<Viewer>), Response> {
    let address = auth::client_address(peer, headers, &state.trusted_proxies);
    let credentials = auth::credentials(headers);
    auth::identify(
        &state.db,
        &state.keys,
        &state.viewers,
        &credentials,
        address,
    )
    .await
    .map_err(|refusal| match refusal {
        Refusal::Unauthenticated(message) => {
            let mut response = refuse(state, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer, Kiosk"),
            );
            response
        }
        Refusal::Unavailable(error) => {
            tracing::debug!(%error, "checking credentials");
            refuse(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                error.code(),
                "try again shortly",
            )
        }
    })
}

async fn execute(
    state: &AppState,
    method: Method,
    mut request: async_graphql::Request,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Response {
    let started = Instant::now();
    let media = ResponseMedia::of(headers);
    // Only requests without credentials can have a kept public answer.
    let cache_key = (!headers.contains_key(header::AUTHORIZATION)).then(|| {
        let variables = serde_json::to_value(&request.variables).ok();
        ResponseCache::key(
            &request.query,
            variables.as_ref(),
            request.operation_name.as_deref(),
        )
    });
    if let Some(answer) = cache_key.and_then(|key| state.answers.get(key)) {
        state
            .metrics
            .observe_request(&answer.label, "query", started.elapsed(), &[]);
        return kept_answer(state, &method, headers, &answer, media);
    }
    let generation = state.answers.generation();
    let wanted = request.operation_name.clone();
    let admitted = state.schema.admit(&mut request).map(|document| {
        selected_operation(document, wanted).map(|(operation, name)| {
            let keepable = asks_only(operation, &StaffAnswers::FIELDS);
            ((operation.node.ty, name), keepable)
        })
    });
    let (operation, keepable) = match &admitted {
        Ok(Some((operation, keepable))) => (Some(operation.clone()), *keepable),
        _ => (None, false),
    };
    let kind = match operation.as_ref().map(|(ty, _)| *ty) {
        Some(OperationType::Query) => "query",
        Some(OperationType::Mutation) => "mutation",
        Some(OperationType::Subscription) => "subscription",
        None => "invalid",
    };
    if method == Method::GET && matches!(kind, "mutation" | "subscription") {
        let mut response = refuse(
            state,
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            "only queries may be sent with GET; send mutations with POST",
        );
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let (client, viewer) = match client_of(state, headers, peer).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let anonymous = client.is_anonymous() && viewer.is_none();
    let label = state
        .metrics
        .operation_label(operation.as_ref().and_then(|(_, name)| name.as_deref()));

    // A staff member's queue page that nothing has changed since it was last
    // made is answered as it was then (see `StaffAnswers`).
    let kept = match (&viewer, keepable && kind == "query") {
        (Some(viewer), true) => state.staff_answers.version().await.map(|version| {
            let key = StaffAnswers::key(
                viewer,
                &request.query,
                &request.variables,
                request.operation_name.as_deref(),
            );
            (key, version)
        }),
        _ => None,
    };
    if let Some(body) = kept
        .as_ref()
        .and_then(|(key, version)| state.staff_answers.get(key, *version))
    {
        state
            .metrics
            .observe_request(&label, kind, started.elapsed(), &[]);
        state.metrics.observe_response(200);
        return private_answer(StatusCode::OK, media, body);
    }

    let mut request = request.data(client);
    if let Some(viewer) = viewer {
        request = request.data(viewer);
    }
    let outcome = match admitted {
        Ok(_) => state.schema.run(request).await,
        Err(error) => {
            crate::graphql::Outcome::of(async_graphql::Response::from_errors(vec![error]))
        }
    };
    let codes: Vec<&str> = outcome.codes.iter().map(|code| code.as_str()).collect();
    state
        .metrics
        .observe_request(&label, kind, started.elapsed(), &codes);
    let response = &outcome.response;
    let cacheable = kind == "query"
        && anonymous
        && response.errors.is_empty()
        && response.cache_control.public
        && response.cache_control.max_age > 0;
    // GraphQL over HTTP: under its own media type, a request that never ran
    // is answered without a `data` entry (and with 400, see `status_of`).
    // `application/json` clients keep the `"data": null` they have always had.
    let serialised = if media == ResponseMedia::GraphqlResponse && outcome.never_ran() {
        serde_json::to_vec(&WithoutData {
            errors: &response.errors,
            extensions: &response.extensions,
        })
    } else {
        serde_json::to_vec(response)
    };
    let body = match serialised {
        Ok(body) => Bytes::from(body),
        Err(error) => {
            tracing::error!(%error, "serialising a GraphQL response");
            return refuse(
                state,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "internal error",
            );
        }
    };
    let status = status_of(&outcome, media);
    if let Some((key, version)) = kept.filter(|_| status == StatusCode::OK && codes.is_empty()) {
        state.staff_answers.put(key, version, body.clone());
    }
    if status != StatusCode::OK || !cacheable {
        state.metrics.observe_response(status.as_u16());
        let mut response = private_answer(status, media, body);
        if let Some(seconds) = outcome
            .retry_after_seconds
            .filter(|_| status != StatusCode::BAD_REQUEST)
        {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        return response;
    }
    let answer = CachedAnswer::new(generation, body, label, state.cache_max_age);
    let response = kept_answer(state, &method, headers, &answer, media);
    if let Some(key) = cache_key {
        state.answers.put(key, answer);
    }
    response
}

/// The answer to a request that never ran, under the GraphQL-over-HTTP
/// media type: its errors, and no `data` entry at all.
#[derive(Serialize)]
struct WithoutData<'a> {
    errors: &'a [async_graphql::ServerError],
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    extensions: &'a std::collections::BTreeMap<String, async_graphql::Value>,
}

/// The HTTP status an outcome is answered with.
fn status_of(outcome: &crate::graphql::Outcome, media: ResponseMedia) -> StatusCode {
    let has = |code: Code| outcome.codes.contains(&code);
    if has(Code::ServiceUnavailable) {
        // The database being unreachable is the service's state, not the
        // request's fault: 503, so proxies and clients retry, and never a 200
        // that could be taken for a stored submission.
        StatusCode::SERVICE_UNAVAILABLE
    } else if has(Code::RateLimited) {
        StatusCode::TOO_MANY_REQUESTS
    } else if media == ResponseMedia::GraphqlResponse && outcome.never_ran() {
        // The GraphQL-over-HTTP media type says a request that could not
        // run at all (a document that does not parse or validate, variables
        // that cannot be coerced) is a 400.
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    }
}
