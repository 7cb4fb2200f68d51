//! The HTTP edge: `/graphql` (POST, and GET for queries), GraphiQL for a
//! browser, `/healthz`, `/readyz` and `/metrics`.
//!
//! The GraphQL handler is ours rather than async-graphql-axum's so that it can
//! refuse what the API does not accept before any GraphQL work (a mutation over
//! GET, a body that is too large or not JSON), and put cache validators on
//! public answers.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::Positioned;
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationDefinition, OperationType, Selection,
};
use axum::Router;
use axum::body::{Body, Bytes};
use std::net::SocketAddr;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use sea_orm::DatabaseConnection;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::ServiceBuilder;
use tower::ServiceExt as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

use crate::auth::{self, Client, Credentials, Viewer};
use crate::cache::{CachedAnswer, PersistedQueries, ResponseCache, StaffAnswers};
use crate::config::Config;
use crate::graphql::Api;
use crate::metrics::Metrics;
use crate::staff::token::TokenKeys;
use crate::submissions::store as submissions_store;

/// What every handler shares.
pub struct AppState {
    pub schema: Api,
    pub db: DatabaseConnection,
    pub keys: Arc<TokenKeys>,
    pub viewers: Arc<auth::Viewers>,
    pub metrics: Metrics,
    pub cache_max_age: u32,
    pub max_body_bytes: usize,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Staff queue pages kept in memory (SQLite).
    pub staff_answers: StaffAnswers,
    /// Public answers kept in memory.
    pub answers: ResponseCache,
    pub persisted: PersistedQueries,
    /// Where the database keeps its data, for `/readyz` after a failure.
    pub storage: crate::db::Storage,
}

pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    let routes = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/ws", get(graphql_ws))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state);
    edge(routes, config)
}

/// What every route sits behind: request ids, tracing, a panic turned into an
/// `INTERNAL` answer, the request timeout and CORS.
fn edge(routes: Router, config: &Config) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    routes.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|request: &axum::http::Request<Body>| {
                        let request_id = request
                            .headers()
                            .get("x-request-id")
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default();
                        tracing::info_span!(
                            "request",
                            request_id,
                            method = %request.method(),
                            path = request.uri().path(),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO))
                    // Every response is logged above with its status; what
                    // went wrong is logged where it is known (an internal
                    // error with its cause, a storage outage once), not
                    // again for each refused request.
                    .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::new(request_id))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(axum::middleware::map_response(timeout_answer))
            // A whole request, body included, must arrive and be answered in
            // this time, so a client trickling its body cannot hold a task.
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                config.request_timeout,
            ))
            .layer(cors(config)),
    )
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes,
/// then stops accepting and lets the requests in flight finish.
///
/// This is `axum::serve` with two differences that matter to a public
/// service: a client must send its request headers within `header_timeout`
/// (axum sets no timer, so a slow client sending a header a byte a minute
/// would hold its connection for ever), and an idle keep-alive connection is
/// closed after the same time. HTTP/2 is left to a proxy in front, which is
/// also where TLS ends.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Connections watch `stop` to begin a graceful shutdown; each holds a
    // clone of `open`, so `open_tx.closed()` completes when the last ends.
    let (stop_tx, stop_rx) = watch::channel(());
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(%error, "accepting a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "setting TCP_NODELAY");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let mut stop = stop_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::pin!(connection);
            let mut stopping = false;
            loop {
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "a connection ended with an error");
                        }
                        break;
                    }
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = stop_tx.send(());
    drop(stop_rx);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

fn cors(config: &Config) -> CorsLayer {
    let origins: Vec<HeaderValue> = config
        .cors_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::IF_NONE_MATCH,
        ])
        .expose_headers([header::ETAG, header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// The timeout layer answers 408 with an empty body; give it the error shape
/// every other refusal has.
async fn timeout_answer(response: Response) -> Response {
    if response.status() == StatusCode::REQUEST_TIMEOUT {
        return error_response(
            StatusCode::REQUEST_TIMEOUT,
            "REQUEST_TIMEOUT",
            "the request did not arrive and finish in time",
        );
    }
    response
}

fn panic_response(_panic: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    error_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "INTERNAL",
        "internal error",
    )
}

/// A response that is one GraphQL error with a code, for requests refused
/// before any GraphQL work.
fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    use crate::db::Readiness;
    match crate::db::is_ready(&state.db, &state.storage).await {
        Readiness::Ready => (StatusCode::OK, "ready").into_response(),
        Readiness::Unreachable => {
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Readiness::CannotWrite => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database refuses writes (is its disk full?)",
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(
            &state.db,
            &[
                state.answers.usage(),
                state.staff_answers.usage(),
                state.schema.document_usage(),
                state.persisted.usage(),
                state.viewers.usage(),
            ],
        ),
    )
        .into_response()
}

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

async fn graphql_get(
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
            return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
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

async fn graphql_post(
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

fn refuse(state: &AppState, status: StatusCode, code: &str, message: &str) -> Response {
    state
        .metrics
        .observe_request("none", "refused", Duration::ZERO, &[code]);
    state.metrics.observe_response(status.as_u16());
    error_response(status, code, message)
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

/// Who is calling, or the response that refuses them: credentials that are
/// sent must be valid, so a revoked kiosk or an expired staff token cannot
/// fall back to anonymous.
async fn client_of(
    state: &AppState,
    headers: &HeaderMap,
    peer: SocketAddr,
) -> Result<(Client, Option<Viewer>), Response> {
    let address = auth::client_address(peer, headers, &state.trusted_proxies);
    let unauthenticated = |message: &str| {
        let mut response = refuse(state, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", message);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer, Kiosk"),
        );
        response
    };
    let unavailable = |error: crate::error::AppError| {
        let code = error.code();
        tracing::warn!(%error, "checking credentials");
        refuse(
            state,
            StatusCode::SERVICE_UNAVAILABLE,
            code,
            "try again shortly",
        )
    };
    match auth::credentials(headers) {
        Credentials::None => Ok((
            Client {
                address,
                kiosk: None,
            },
            None,
        )),
        Credentials::Kiosk(token) => {
            match submissions_store::active_kiosk_by_token_hash(
                &state.db,
                &auth::kiosk_token_hash(&token),
            )
            .await
            {
                Ok(Some(kiosk)) => Ok((
                    Client {
                        address,
                        kiosk: Some(kiosk),
                    },
                    None,
                )),
                Ok(None) => Err(unauthenticated("the kiosk token is unknown or revoked")),
                Err(error) => Err(unavailable(error)),
            }
        }
        Credentials::Bearer(token) => match state
            .viewers
            .viewer_of(&state.db, &state.keys, &token)
            .await
        {
            Ok(Some(viewer)) => Ok((
                Client {
                    address,
                    kiosk: None,
                },
                Some(viewer),
            )),
            Ok(None) => Err(unauthenticated(
                "the bearer token is not valid, has expired or its session has ended",
            )),
            Err(error) => Err(unavailable(error)),
        },
        Credentials::Unsupported => Err(unauthenticated(
            "use `Authorization: Kiosk <token>` or `Bearer <token>`",
        )),
    }
}

/// Subscriptions over WebSocket (`graphql-transport-ws`). Staff sign in with
/// `{"authorization": "Bearer <token>"}` as the `connection_init` payload; a
/// token that is sent but not valid closes the connection.
async fn graphql_ws(
    State(state): State<Arc<AppState>>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            let db = state.db.clone();
            let keys = state.keys.clone();
            let viewers = state.viewers.clone();
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let mut data = async_graphql::Data::default();
                    let token = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(serde_json::Value::as_str)
                        .map(str::trim);
                    let Some(token) = token else {
                        return Ok(data);
                    };
                    let bearer = token
                        .split_once(' ')
                        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
                        .map(|(_, token)| token.trim());
                    let viewer = match bearer {
                        Some(token) => viewers.viewer_of(&db, &keys, token).await,
                        None => Ok(None),
                    };
                    match viewer {
                        Ok(Some(viewer)) => {
                            data.insert(viewer);
                            Ok(data)
                        }
                        Ok(None) => Err(async_graphql::Error::new(
                            "the bearer token is not valid, has expired or its session has ended",
                        )),
                        Err(_) => Err(async_graphql::Error::new("try again shortly")),
                    }
                })
                .serve()
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
    let response = match admitted {
        Ok(_) => state.schema.run(request).await,
        Err(error) => async_graphql::Response::from_errors(vec![error]),
    };

    let codes: Vec<&str> = response
        .errors
        .iter()
        .map(|error| {
            error
                .extensions
                .as_ref()
                .and_then(|extensions| extensions.get("code"))
                .and_then(|code| match code {
                    async_graphql::Value::String(code) => Some(code.as_str()),
                    _ => None,
                })
                .unwrap_or("UNKNOWN")
        })
        .collect();
    state
        .metrics
        .observe_request(&label, kind, started.elapsed(), &codes);
    let retry_after = response.errors.iter().find_map(|error| {
        let extensions = error.extensions.as_ref()?;
        match extensions.get("retryAfterSeconds")? {
            async_graphql::Value::Number(seconds) => seconds.as_u64(),
            _ => None,
        }
    });
    let cacheable = kind == "query"
        && anonymous
        && response.errors.is_empty()
        && response.cache_control.public
        && response.cache_control.max_age > 0;
    let body = match serde_json::to_vec(&response) {
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
    // The database being unreachable is the service's state, not the
    // request's fault: 503, so proxies and clients retry, and never a 200
    // that could be taken for a stored submission.
    let unavailable = codes.contains(&"SERVICE_UNAVAILABLE");
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if retry_after.is_some() {
        StatusCode::TOO_MANY_REQUESTS
    } else if media == ResponseMedia::GraphqlResponse
        && response.data == async_graphql::Value::Null
        && !codes.is_empty()
        && codes.iter().all(|code| REQUEST_ERRORS.contains(code))
    {
        // The GraphQL-over-HTTP media type says a request that could not
        // run at all is a 4xx.
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    if let Some((key, version)) = kept.filter(|_| status == StatusCode::OK && codes.is_empty()) {
        state.staff_answers.put(key, version, body.clone());
    }
    if status != StatusCode::OK || !cacheable {
        state.metrics.observe_response(status.as_u16());
        let mut response = private_answer(status, media, body);
        let retry_after = retry_after.or(unavailable.then_some(1));
        if let Some(seconds) = retry_after.filter(|_| status != StatusCode::BAD_REQUEST) {
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

/// Codes of errors that stop a request before it runs.
const REQUEST_ERRORS: [&str; 3] = [
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    "QUERY_TOO_COMPLEX",
];

/// The media type a GraphQL answer is sent as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ResponseMedia {
    /// `application/json`, what every client understands.
    Json,
    /// `application/graphql-response+json`, for clients that ask for it in
    /// `Accept` (the GraphQL-over-HTTP specification's own type).
    GraphqlResponse,
}

impl ResponseMedia {
    fn of(headers: &HeaderMap) -> Self {
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

    fn as_str(self) -> &'static str {
        match self {
            Self::Json => "application/json",
            Self::GraphqlResponse => "application/graphql-response+json",
        }
    }
}

/// A public answer: `Cache-Control`, a strong `ETag` over the exact bytes,
/// and `304 Not Modified` for a GET whose `If-None-Match` matches.
/// An answer no cache may keep: anything for a signed-in caller or a kiosk,
/// and every error.
fn private_answer(status: StatusCode, media: ResponseMedia, body: Bytes) -> Response {
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

fn kept_answer(
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

    /// A panic anywhere behind the edge answers `INTERNAL` with a 500 and
    /// leaks nothing, and the server goes on serving. No input is known to
    /// make hamlet panic (the fuzz targets look for one), so a route that
    /// panics on purpose stands in for one, behind the real edge and server.
    /// Stands in for a bug.
    async fn explode() -> &'static str {
        let secret = "a detail that must not leak";
        panic!("{secret}")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
        let config = Config::for_database("sqlite::memory:").unwrap();
        let routes = Router::new()
            .route("/panic", get(explode))
            .route("/healthz", get(healthz));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(
            listener,
            edge(routes, &config),
            Duration::from_secs(5),
            async {
                let _ = stopped.await;
            },
        ));
        let client = reqwest::Client::new();

        let response = client
            .get(format!("http://{address}/panic"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 500);
        assert!(response.headers().contains_key("x-request-id"));
        let body = response.text().await.unwrap();
        assert!(!body.contains("must not leak"), "{body}");
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["errors"][0]["extensions"]["code"], "INTERNAL");

        for _ in 0..3 {
            let response = client
                .get(format!("http://{address}/healthz"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
        }
        stop.send(()).unwrap();
        server.await.unwrap().unwrap();
    }

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
