//! The HTTP edge: `/graphql` (POST, and GET for queries), a query page for a
//! browser there and GraphiQL at `/graphiql`, the SDL at `/schema.graphql`,
//! the WebSocket for subscriptions, `/healthz`, `/readyz` and `/metrics`.
//! Its rooms:
//!
//! - [`serve`]: the server loop (connections, header timeout, graceful stop);
//! - [`graphql`]: GraphQL over HTTP, from the request to the outcome's status;
//! - [`answers`]: how an answer is sent (media type, caching, `304`);
//! - [`ws`]: subscriptions over WebSocket;
//! - [`query_page`]: the query page a browser gets at `/graphql`, its files,
//!   the SDL and GraphiQL.
//!
//! The GraphQL handler is ours rather than async-graphql-axum's so that it can
//! refuse what the API does not accept before any GraphQL work (a mutation over
//! GET, a body that is too large or not JSON), and put cache validators on
//! public answers. Who is calling is decided by [`crate::auth::identify`], the
//! same for HTTP and WebSocket.

mod answers;
mod graphql;
mod query_page;
mod serve;
mod ws;

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};

pub use serve::serve;

use crate::auth;
use crate::cache::{PersistedQueries, ResponseCache, StaffAnswers};
use crate::config::Config;
use crate::graphql::Api;
use crate::metrics::Metrics;
use crate::staff::token::TokenKeys;

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
    /// How the residents' pages behave.
    pub pages: crate::residents::PageSettings,
}

pub fn router(state: Arc<AppState>, config: &Config) -> Router {
    let routes = Router::new()
        .route("/graphql", get(graphql::get).post(graphql::post))
        .route("/graphql/ws", get(ws::subscriptions))
        .route(
            &format!("{}/{{name}}", query_page::ASSETS),
            get(query_page::asset),
        )
        .route("/graphiql", get(query_page::graphiql))
        .route("/schema.graphql", get(query_page::sdl))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::residents::routes(config))
        .merge(crate::console::routes(&state))
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

/// A refusal before any GraphQL work, counted in the metrics.
fn refuse(state: &AppState, status: StatusCode, code: &str, message: &str) -> Response {
    state
        .metrics
        .observe_request("none", "refused", Duration::ZERO, &[code]);
    state.metrics.observe_response(status.as_u16());
    error_response(status, code, message)
}

/// The headers every page hamlet serves to a browser carries: its
/// Content-Security-Policy, no guessing of content types, and no referrer
/// sent on to other sites.
pub(crate) fn page_headers(headers: &mut axum::http::HeaderMap, policy: HeaderValue) {
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

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
}
