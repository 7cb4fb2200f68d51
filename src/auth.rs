//! Who is calling: the edge turns the socket, `X-Forwarded-For` and the
//! `Authorization` header into a [`Client`] (every request) and a [`Viewer`]
//! (a signed-in staff member) that resolvers read. Resolvers never look at
//! headers, and never check roles by hand: staff fields declare a
//! [`RoleGuard`].

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ipnet::IpNet;
use sha2::{Digest as _, Sha256};

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::ids::StaffId;
use crate::staff::model::Role;
use crate::staff::store::{self as staff_store, StaffView};
use crate::staff::token::TokenKeys;
use crate::submissions::store::KioskView;

/// The caller of one request.
#[derive(Clone, Debug)]
pub struct Client {
    /// The resident's or device's address: the socket peer, or the address a
    /// trusted proxy forwarded.
    pub address: IpAddr,
    /// The kiosk whose token came with the request.
    pub kiosk: Option<KioskView>,
}

impl Client {
    /// Whether the caller sent no credentials at all.
    pub fn is_anonymous(&self) -> bool {
        self.kiosk.is_none()
    }
}

/// A signed-in staff member, as the database says they are now: roles and
/// the active flag are read on every request, never taken from the token.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub staff: StaffView,
    /// The session the access token belongs to.
    pub session_id: Uuid,
}

impl Viewer {
    pub fn id(&self) -> StaffId {
        self.staff.id
    }

    pub fn has_any(&self, roles: &[Role]) -> bool {
        self.staff.roles.any_of(roles)
    }
}

/// Signed-in staff as last read from the database, so a moderator paging
/// through the queue does not cost a database round trip per request for
/// who they are.
///
/// Kept only on SQLite, where hamlet is one process and every change to an
/// account or a session (logout, password change, deactivation, demotion, a
/// reused refresh token) goes through this process, which calls
/// [`Viewers::changed`] after it commits: the next request reads the
/// database again, so such changes still act at once. On PostgreSQL another
/// process may make the change, so every request asks the database.
pub struct Viewers {
    enabled: bool,
    generation: std::sync::atomic::AtomicU64,
    kept: crate::cache::Bounded<Uuid, (u64, std::time::Instant, Viewer)>,
}

impl Viewers {
    /// How long a kept viewer is trusted even without a change (a safety net).
    const FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(5);
    /// Bytes of signed-in staff kept at most: some thousands of sessions.
    const CAPACITY: u64 = 2 << 20;

    pub fn for_database(db: &impl ConnectionTrait) -> Self {
        Self {
            enabled: db.get_database_backend() == sea_orm::DbBackend::Sqlite,
            generation: std::sync::atomic::AtomicU64::new(0),
            kept: crate::cache::Bounded::recent_first(
                "viewers",
                Self::CAPACITY,
                |_, (_, _, viewer): &(u64, std::time::Instant, Viewer)| {
                    viewer.staff.email.len()
                        + viewer.staff.display_name.len()
                        + crate::cache::ENTRY_OVERHEAD
                },
            ),
        }
    }

    pub fn usage(&self) -> crate::cache::Usage {
        self.kept.usage()
    }

    /// An account or session changed: forget every kept viewer.
    pub fn changed(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.kept.clear();
    }

    /// The staff member behind a bearer token, or `None` when the token is
    /// not valid, its session has ended or the account is inactive.
    pub async fn viewer_of(
        &self,
        db: &impl ConnectionTrait,
        keys: &TokenKeys,
        token: &str,
    ) -> AppResult<Option<Viewer>> {
        use std::sync::atomic::Ordering;
        let Some(claims) = keys.verify(token) else {
            return Ok(None);
        };
        let generation = self.generation.load(Ordering::Acquire);
        if self.enabled
            && let Some((kept_generation, read_at, viewer)) = self.kept.get(&claims.sid)
            && kept_generation == generation
            && read_at.elapsed() < Self::FRESH_FOR
            && viewer.staff.id == claims.sub
        {
            return Ok(Some(viewer));
        }
        let viewer = staff_store::viewer(db, claims.sub, claims.sid)
            .await?
            .map(|staff| Viewer {
                staff,
                session_id: claims.sid,
            });
        if self.enabled
            && let Some(viewer) = &viewer
        {
            self.kept.insert(
                claims.sid,
                (generation, std::time::Instant::now(), viewer.clone()),
            );
        }
        Ok(viewer)
    }
}

/// Lets a field through for staff holding any of its roles (any staff at all
/// when it lists none): `UNAUTHENTICATED` without a signed-in staff member,
/// `FORBIDDEN` without the role.
pub struct RoleGuard {
    roles: &'static [Role],
    /// Lets everyone through: for fields guarded only for some arguments.
    open: bool,
}

impl RoleGuard {
    const fn of(roles: &'static [Role]) -> Self {
        Self { roles, open: false }
    }

    /// Any signed-in staff member.
    pub const STAFF: Self = Self::of(&[]);
    pub const MODERATOR: Self = Self::of(&[Role::Moderator]);
    pub const EDITOR: Self = Self::of(&[Role::Editor]);
    pub const ADMIN: Self = Self::of(&[Role::Admin]);
    /// Statistics, which hold no free text.
    pub const STATISTICS: Self = Self::of(&[Role::Moderator, Role::Analyst]);
    /// Residents' contact details.
    pub const CONTACT: Self = Self::of(&[Role::Moderator, Role::Admin]);

    /// EDITOR when `condition` holds (e.g. a `preview` argument), else anyone.
    pub fn editor_when(condition: bool) -> Self {
        if condition {
            Self::EDITOR
        } else {
            Self {
                roles: &[],
                open: true,
            }
        }
    }
}

impl async_graphql::Guard for RoleGuard {
    async fn check(&self, ctx: &async_graphql::Context<'_>) -> async_graphql::Result<()> {
        use async_graphql::ErrorExtensions as _;
        if self.open {
            return Ok(());
        }
        match ctx.data_opt::<Viewer>() {
            None => Err(AppError::Unauthenticated.extend()),
            Some(viewer) if self.roles.is_empty() || viewer.has_any(self.roles) => Ok(()),
            Some(_) => Err(AppError::Forbidden.extend()),
        }
    }
}

/// The signed-in staff member, for resolvers behind a [`RoleGuard`].
pub fn viewer<'a>(ctx: &'a async_graphql::Context<'_>) -> AppResult<&'a Viewer> {
    ctx.data_opt::<Viewer>().ok_or(AppError::Unauthenticated)
}

/// Why credentials that were sent are refused: a revoked kiosk or an
/// expired staff token never falls back to anonymous.
#[derive(Debug)]
pub enum Refusal {
    /// Not valid (answered `UNAUTHENTICATED`), with the reason to give.
    Unauthenticated(&'static str),
    /// They could not be checked now (the database): try again shortly.
    Unavailable(AppError),
}

/// Who is calling, from the credentials they sent: the one check behind
/// HTTP requests and WebSocket subscriptions alike.
pub async fn identify(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    viewers: &Viewers,
    credentials: &Credentials,
    address: IpAddr,
) -> Result<(Client, Option<Viewer>), Refusal> {
    let anonymous = Client {
        address,
        kiosk: None,
    };
    match credentials {
        Credentials::None => Ok((anonymous, None)),
        Credentials::Kiosk(token) => {
            match crate::submissions::store::active_kiosk_by_token_hash(
                db,
                &kiosk_token_hash(token),
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
                Ok(None) => Err(Refusal::Unauthenticated(
                    "the kiosk token is unknown or revoked",
                )),
                Err(error) => Err(Refusal::Unavailable(error)),
            }
        }
        Credentials::Bearer(token) => match viewers.viewer_of(db, keys, token).await {
            Ok(Some(viewer)) => Ok((anonymous, Some(viewer))),
            Ok(None) => Err(Refusal::Unauthenticated(
                "the bearer token is not valid, has expired or its session has ended",
            )),
            Err(error) => Err(Refusal::Unavailable(error)),
        },
        Credentials::Unsupported => Err(Refusal::Unauthenticated(
            "use `Authorization: Kiosk <token>` or `Bearer <token>`",
        )),
    }
}

/// What the `Authorization` header holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    None,
    Kiosk(String),
    Bearer(String),
    Unsupported,
}

/// The credentials in a request's `Authorization` header.
pub fn credentials(headers: &HeaderMap) -> Credentials {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Credentials::None;
    };
    let Ok(value) = value.to_str() else {
        return Credentials::Unsupported;
    };
    credentials_of(value)
}

/// The credentials in an `Authorization` value, e.g. `Bearer <token>`: the
/// header's, or a subscription's `connection_init` payload's.
pub fn credentials_of(value: &str) -> Credentials {
    let value = value.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    let token = token.trim();
    if token.is_empty() {
        return Credentials::Unsupported;
    }
    if scheme.eq_ignore_ascii_case("kiosk") {
        Credentials::Kiosk(token.to_owned())
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Credentials::Bearer(token.to_owned())
    } else {
        Credentials::Unsupported
    }
}

/// The client's address. `X-Forwarded-For` is believed only when the socket
/// peer is a trusted proxy, and then only as far back as the proxies are
/// trusted: the right-most address that is not a trusted proxy is the client,
/// since anything left of it could have been written by the client itself.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer.ip();
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// A new kiosk token: 256 random bits. Shown once; only its hash is kept.
pub fn new_kiosk_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(format!("hk_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored for a kiosk token. A plain SHA-256 suffices: the token is
/// 256 random bits, so there is nothing to guess that a slow hash would protect.
pub fn kiosk_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let peer: SocketAddr = "203.0.113.7:5000".parse().unwrap();
        let address = client_address(peer, &forwarded("198.51.100.1"), &[]);
        assert_eq!(address.to_string(), "203.0.113.7");
    }

    #[test]
    fn forwarded_for_from_a_trusted_proxy_gives_the_right_most_untrusted_address() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer: SocketAddr = "10.0.0.2:5000".parse().unwrap();
        // The client forged the first entry; the proxy appended the real one.
        let address = client_address(
            peer,
            &forwarded("1.2.3.4, 198.51.100.1, 10.0.0.9"),
            &trusted,
        );
        assert_eq!(address.to_string(), "198.51.100.1");
        let address = client_address(peer, &HeaderMap::new(), &trusted);
        assert_eq!(address.to_string(), "10.0.0.2");
    }

    #[test]
    fn credentials_are_read_by_scheme() {
        let mut headers = HeaderMap::new();
        assert_eq!(credentials(&headers), Credentials::None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Kiosk hk_abc"),
        );
        assert_eq!(credentials(&headers), Credentials::Kiosk("hk_abc".into()));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer x.y.z"),
        );
        assert_eq!(credentials(&headers), Credentials::Bearer("x.y.z".into()));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic dXNlcg=="),
        );
        assert_eq!(credentials(&headers), Credentials::Unsupported);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Kiosk"));
        assert_eq!(credentials(&headers), Credentials::Unsupported);
    }

    #[test]
    fn kiosk_tokens_are_long_and_distinct() {
        let a = new_kiosk_token().unwrap();
        let b = new_kiosk_token().unwrap();
        assert_ne!(a, b);
        assert!(a.len() > 40);
        assert_ne!(kiosk_token_hash(&a), kiosk_token_hash(&b));
    }
}
