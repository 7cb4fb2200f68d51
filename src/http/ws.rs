//! Subscriptions over WebSocket (`graphql-transport-ws`).

use std::sync::Arc;

use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_axum::{GraphQLProtocol, GraphQLWebSocket};
use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::AppState;
use crate::auth::{self, Credentials, Refusal};

/// Subscriptions over WebSocket (`graphql-transport-ws`). Staff sign in with
/// `{"authorization": "Bearer <token>"}` as the `connection_init` payload,
/// checked by [`auth::identify`] as a request's `Authorization` header is;
/// credentials that are sent but not valid close the connection.
pub(super) async fn subscriptions(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let schema = state.schema.clone();
    let address = auth::client_address(peer, &headers, &state.trusted_proxies);
    upgrade
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| {
            GraphQLWebSocket::new(socket, schema, protocol)
                .on_connection_init(move |payload| async move {
                    let credentials = payload
                        .get("authorization")
                        .or_else(|| payload.get("Authorization"))
                        .and_then(serde_json::Value::as_str)
                        .map_or(Credentials::None, auth::credentials_of);
                    if let Credentials::Kiosk(_) = credentials {
                        return Err(async_graphql::Error::new(
                            "subscriptions are for staff: send a Bearer token",
                        ));
                    }
                    let identified = auth::identify(
                        &state.db,
                        &state.keys,
                        &state.viewers,
                        &credentials,
                        address,
                    )
                    .await;
                    match identified {
                        Ok((client, viewer)) => {
                            let mut data = async_graphql::Data::default();
                            data.insert(client);
                            if let Some(viewer) = viewer {
                                data.insert(viewer);
                            }
                            Ok(data)
                        }
                        Err(Refusal::Unauthenticated(message)) => {
                            Err(async_graphql::Error::new(message))
                        }
                        Err(Refusal::Unavailable(_)) => {
                            Err(async_graphql::Error::new("try again shortly"))
                        }
                    }
                })
                .serve()
        })
}
