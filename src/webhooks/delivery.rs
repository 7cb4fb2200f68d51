//! The delivery worker: posts due deliveries, signs them, and retries
//! failures with growing delays until they succeed or run out of attempts.
//!
//! Each POST carries:
//! - `X-Hamlet-Event`: e.g. `page.published`;
//! - `X-Hamlet-Delivery`: the delivery's id, the same on every retry, so a
//!   receiver can ignore one it has seen;
//! - `X-Hamlet-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is the
//!   HMAC-SHA256, keyed with the webhook's secret, of `<t>.<body>`. A receiver
//!   recomputes it, compares in constant time, and rejects old `t` values to
//!   stop replays.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use hmac::{Hmac, Mac as _};
use sea_orm::DatabaseConnection;
use sha2::Sha256;
use tokio::sync::Notify;

use super::entity::webhook_delivery;
use super::store;
use crate::error::AppResult;

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// How long one attempt may take.
const ATTEMPT_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// How the worker paces itself.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// How often it looks for due deliveries when nothing wakes it.
    pub poll: StdDuration,
    /// The delay before the first retry; each further retry doubles it.
    pub retry_base: StdDuration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            poll: StdDuration::from_secs(1),
            retry_base: StdDuration::from_secs(5),
        }
    }
}

/// The signature header value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        // HMAC takes keys of any length; this cannot happen.
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Wakes the worker when a change has put deliveries in the outbox.
#[derive(Clone, Default)]
pub struct DeliveryBell(Arc<Notify>);

impl DeliveryBell {
    pub fn ring(&self) {
        self.0.notify_one();
    }
}

/// Runs until the process ends.
pub async fn run(db: DatabaseConnection, settings: DeliverySettings, bell: DeliveryBell) {
    let client = match reqwest::Client::builder()
        .timeout(ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("hamlet-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "cannot build the webhook client; webhooks will not be delivered");
            return;
        }
    };
    loop {
        if let Err(error) = deliver_due(&db, &client, &settings).await {
            tracing::warn!(%error, "delivering webhooks");
        }
        tokio::select! {
            () = bell.0.notified() => {}
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

async fn deliver_due(
    db: &DatabaseConnection,
    client: &reqwest::Client,
    settings: &DeliverySettings,
) -> AppResult<()> {
    let lease = Duration::from_std(ATTEMPT_TIMEOUT * 2).unwrap_or(Duration::seconds(20));
    for delivery in store::due(db, crate::db::now(), 50).await? {
        if !store::claim(db, &delivery, lease).await? {
            continue;
        }
        let Some(hook) = store::by_id(db, delivery.webhook_id).await? else {
            continue;
        };
        let outcome = attempt(client, &hook.url, &hook.secret, &delivery).await;
        let attempts = delivery.attempts + 1;
        let (status, error, delivered) = match outcome {
            Ok(status) if (200..300).contains(&status) => (Some(status), None, true),
            Ok(status) => (Some(status), Some(format!("answered {status}")), false),
            Err(error) => (None, Some(error), false),
        };
        let retry_at = (!delivered && attempts < MAX_ATTEMPTS).then(|| {
            let delay =
                settings.retry_base * 2u32.saturating_pow((attempts - 1).clamp(0, 16) as u32);
            crate::db::now() + Duration::from_std(delay).unwrap_or(Duration::hours(1))
        });
        if !delivered {
            tracing::warn!(
                webhook = %hook.id,
                delivery = %delivery.id,
                attempts,
                error = error.as_deref().unwrap_or_default(),
                gave_up = retry_at.is_none(),
                "a webhook delivery failed"
            );
        }
        store::record_attempt(
            db,
            delivery.id,
            attempts,
            status,
            error,
            delivered,
            retry_at,
        )
        .await?;
    }
    Ok(())
}

async fn attempt(
    client: &reqwest::Client,
    url: &str,
    secret: &str,
    delivery: &webhook_delivery::Model,
) -> Result<u16, String> {
    let timestamp = Utc::now().timestamp();
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .header("x-hamlet-event", &delivery.event)
        .header("x-hamlet-delivery", delivery.id.to_string())
        .header(
            "x-hamlet-signature",
            signature(secret, timestamp, &delivery.payload),
        )
        .body(delivery.payload.clone())
        .send()
        .await
        .map_err(|error| {
            // Only the kind of failure: the error's text may hold the address.
            if error.is_timeout() {
                "timed out".to_owned()
            } else if error.is_connect() {
                "could not connect".to_owned()
            } else {
                "request failed".to_owned()
            }
        })?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_time_and_body() {
        // Computed independently: printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature("secret", 1_700_000_000, "{\"a\":1}"),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
