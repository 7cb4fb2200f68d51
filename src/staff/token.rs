//! Staff tokens. An access token is a short-lived HS256 JWT that says who is
//! calling and in which session; it grants nothing by itself, since roles and
//! the active flag are read from the database on every request. A refresh
//! token is 256 random bits, stored only as a hash, exchanged for a new one at
//! each use.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::ids::StaffId;

/// Who issues access tokens, and for whom; both are checked.
pub const ISSUER: &str = "hamlet";
pub const AUDIENCE: &str = "hamlet-staff";

/// How long an access token lasts: short, because a stolen one cannot be
/// called back before it ends (logout and deactivation still act at once, as
/// each request checks the session and the account).
pub const ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(15);

/// How long a session lasts without a refresh.
pub const SESSION_IDLE_LIFETIME: Duration = Duration::days(14);

/// The smallest signing secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// What an access token claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The staff member's id.
    pub sub: StaffId,
    /// The session the token belongs to.
    pub sid: Uuid,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The signing and checking keys, made once from the secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Makes the console's anti-forgery tokens (see [`Self::form_token`]),
    /// keyed with a digest of the signing secret, never the secret itself.
    form_mac: hmac::Hmac<Sha256>,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        // Only HS256 is accepted: a token claiming `none` or another
        // algorithm fails before its signature is looked at.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        use hmac::Mac as _;
        let mut form_key = Sha256::new();
        form_key.update(b"hamlet console form token\0");
        form_key.update(secret);
        let form_mac = hmac::Hmac::<Sha256>::new_from_slice(&form_key.finalize())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            form_mac,
        }
    }

    /// A new access token for `staff` in `session`, and when it expires.
    pub fn issue(
        &self,
        staff: StaffId,
        session: Uuid,
        now: DateTime<Utc>,
    ) -> AppResult<(String, DateTime<Utc>)> {
        self.issue_for(staff, session, now, ACCESS_TOKEN_LIFETIME)
    }

    /// A token like [`Self::issue`]'s that lasts `lifetime`: the console's
    /// cookie, which is issued again as the member works and so lapses
    /// only when they stop.
    pub fn issue_for(
        &self,
        staff: StaffId,
        session: Uuid,
        now: DateTime<Utc>,
        lifetime: Duration,
    ) -> AppResult<(String, DateTime<Utc>)> {
        let expires = now + lifetime;
        let claims = Claims {
            sub: staff,
            sid: session,
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires.timestamp(),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
                .map_err(|error| AppError::Internal(anyhow::anyhow!("signing a token: {error}")))?;
        Ok((token, expires))
    }

    /// The console's anti-forgery token for `session`: an HMAC of the
    /// session id, so it needs no storage, differs per session and cannot
    /// be made without the server's secret.
    pub fn form_token(&self, session: Uuid) -> String {
        use hmac::Mac as _;
        URL_SAFE_NO_PAD.encode(self.form_mac(session).finalize().into_bytes())
    }

    /// Whether `presented` is `session`'s anti-forgery token (compared in
    /// constant time).
    pub fn form_token_matches(&self, session: Uuid, presented: &str) -> bool {
        use hmac::Mac as _;
        URL_SAFE_NO_PAD
            .decode(presented.trim())
            .is_ok_and(|presented| self.form_mac(session).verify_slice(&presented).is_ok())
    }

    fn form_mac(&self, session: Uuid) -> hmac::Hmac<Sha256> {
        use hmac::Mac as _;
        let mut mac = self.form_mac.clone();
        mac.update(session.as_bytes());
        mac
    }

    /// The claims of a valid access token; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// A new refresh token: shown to the client once, stored as its hash.
pub fn new_refresh_token() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(format!("hr_{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// What is stored for a refresh token. SHA-256 suffices: the token is 256
/// random bits, so there is nothing for a slow hash to protect.
pub fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A new random signing secret, for a database that has none yet.
pub fn new_secret() -> AppResult<String> {
    let mut bytes = [0u8; 48];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("no randomness: {error}"))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a test secret that is long enough for HS256";

    fn forge(header: &Header, claims: &serde_json::Value, secret: &[u8]) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret)).unwrap()
    }

    fn claims(now: i64) -> serde_json::Value {
        serde_json::json!({
            "sub": Uuid::nil(), "sid": Uuid::nil(), "iss": ISSUER, "aud": AUDIENCE,
            "iat": now, "nbf": now, "exp": now + 600,
        })
    }

    #[test]
    fn an_issued_token_verifies() {
        let keys = TokenKeys::new(SECRET);
        let staff = StaffId::new();
        let session = Uuid::now_v7();
        let (token, expires) = keys.issue(staff, session, Utc::now()).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.sid), (staff, session));
        assert!(expires <= Utc::now() + ACCESS_TOKEN_LIFETIME);
    }

    #[test]
    fn tokens_that_are_not_ours_or_not_now_are_refused() {
        let keys = TokenKeys::new(SECRET);
        let now = Utc::now().timestamp();
        let hs256 = Header::new(Algorithm::HS256);
        let mut expired = claims(now - 7200);
        expired["exp"] = serde_json::json!(now - 3600);
        let mut early = claims(now + 3600);
        early["exp"] = serde_json::json!(now + 7200);
        let mut audience = claims(now);
        audience["aud"] = serde_json::json!("someone-else");
        let mut issuer = claims(now);
        issuer["iss"] = serde_json::json!("someone-else");
        let mut no_expiry = claims(now);
        no_expiry.as_object_mut().unwrap().remove("exp");
        for (why, token) in [
            (
                "other secret",
                forge(&hs256, &claims(now), b"another secret, long enough too!!"),
            ),
            ("expired", forge(&hs256, &expired, SECRET)),
            ("not yet valid", forge(&hs256, &early, SECRET)),
            ("wrong audience", forge(&hs256, &audience, SECRET)),
            ("wrong issuer", forge(&hs256, &issuer, SECRET)),
            ("no expiry", forge(&hs256, &no_expiry, SECRET)),
            (
                "HS512",
                forge(&Header::new(Algorithm::HS512), &claims(now), SECRET),
            ),
        ] {
            assert!(keys.verify(&token).is_none(), "{why}");
        }
        // `alg: none`, unsigned.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims(now).to_string());
        assert!(keys.verify(&format!("{header}.{body}.")).is_none());
        // A tampered claim breaks the signature.
        let (token, _) = keys
            .issue(StaffId::new(), Uuid::now_v7(), Utc::now())
            .unwrap();
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        let mut tampered = claims(now);
        tampered["sub"] = serde_json::json!(Uuid::now_v7());
        parts[1] = URL_SAFE_NO_PAD.encode(tampered.to_string());
        assert!(keys.verify(&parts.join(".")).is_none());
        // A refresh token is not an access token.
        assert!(keys.verify(&new_refresh_token().unwrap()).is_none());
    }
}
