//! Payments. A [`PaymentProvider`] turns a gateway's callback into a verified
//! [`PaymentCallback`]; [`mark_paid`] records it idempotently. Two providers now:
//! - `offline`: cash on delivery or bank transfer; staff mark the order paid.
//! - `signed`: a gateway calls back with `HMAC-SHA256(secret, "<timestamp>.<body>")` in
//!   `X-Anchordesk-Signature` (hex) and the unix time in `X-Anchordesk-Timestamp`, accepted
//!   within 5 minutes; the shape WeChat Pay / Alipay adapters will follow.

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use ts_rs::TS;
use utoipa::ToSchema;

use super::Changed;
use super::orders::{self, Order, OrderStatus};
use crate::error::{Error, Result, now_ms};
use crate::events::{self, LiveEvent};
use crate::store::Store;

pub const SIGNATURE_HEADER: &str = "x-anchordesk-signature";
pub const TIMESTAMP_HEADER: &str = "x-anchordesk-timestamp";
/// How far a callback's timestamp may be from our clock, either way.
pub const CALLBACK_WINDOW_SECS: i64 = 300;

/// What a gateway tells us: this order was paid this much, under this transaction id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[ts(export)]
pub struct PaymentCallback {
    pub order_id: i64,
    pub amount_fen: i64,
    pub transaction_id: String,
}

/// Why a callback was refused; each is logged with the caller's address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallbackRejection {
    /// This provider takes no callbacks (offline payments are confirmed by staff).
    #[error("provider {0} does not accept callbacks")]
    NotAccepted(&'static str),
    /// The timestamp or signature header is missing or malformed.
    #[error("missing or malformed {0} header")]
    MissingHeader(&'static str),
    /// The timestamp is outside the accepted window (a replay or a wrong clock).
    #[error("timestamp is {0} s away from now (window {CALLBACK_WINDOW_SECS} s)")]
    Stale(i64),
    /// The signature does not match the body: forged or corrupted.
    #[error("signature does not match")]
    BadSignature,
    /// The body is not a valid callback.
    #[error("invalid callback body: {0}")]
    BadBody(String),
}

pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Stable name used in URLs and the `payments` table.
    fn name(&self) -> &'static str;
    /// What the buyer is told after ordering.
    fn instructions(&self) -> String;
    /// Verifies a callback (raw headers and body) received at `now_secs`.
    fn verify_callback(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<PaymentCallback, CallbackRejection>;
}

#[derive(Debug, Clone)]
pub struct OfflineProvider {
    pub instructions: String,
}

impl Default for OfflineProvider {
    fn default() -> Self {
        Self {
            instructions: "货到付款或转账，客服确认后订单变为已支付".into(),
        }
    }
}

impl PaymentProvider for OfflineProvider {
    fn name(&self) -> &'static str {
        "offline"
    }
    fn instructions(&self) -> String {
        self.instructions.clone()
    }
    fn verify_callback(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: &[u8],
        _: i64,
    ) -> Result<PaymentCallback, CallbackRejection> {
        Err(CallbackRejection::NotAccepted("offline"))
    }
}

#[derive(Clone)]
pub struct SignedCallbackProvider {
    secret: Vec<u8>,
}

impl std::fmt::Debug for SignedCallbackProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignedCallbackProvider { secret: <redacted> }")
    }
}

impl SignedCallbackProvider {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    fn mac(&self, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(timestamp.as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The signature a gateway (or a test) sends for `body` at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        hex::encode(
            self.mac(&timestamp.to_string(), body)
                .finalize()
                .into_bytes(),
        )
    }
}

impl PaymentProvider for SignedCallbackProvider {
    fn name(&self) -> &'static str {
        "signed"
    }
    fn instructions(&self) -> String {
        "在线支付".into()
    }
    fn verify_callback(
        &self,
        timestamp: Option<&str>,
        signature: Option<&str>,
        body: &[u8],
        now_secs: i64,
    ) -> Result<PaymentCallback, CallbackRejection> {
        let timestamp = timestamp.ok_or(CallbackRejection::MissingHeader(TIMESTAMP_HEADER))?;
        let at: i64 = timestamp
            .parse()
            .map_err(|_| CallbackRejection::MissingHeader(TIMESTAMP_HEADER))?;
        let signature = signature
            .and_then(|s| hex::decode(s).ok())
            .ok_or(CallbackRejection::MissingHeader(SIGNATURE_HEADER))?;
        // The timestamp is the caller's: `now - at` overflows for `at` near `i64::MIN`.
        if now_secs.abs_diff(at) > CALLBACK_WINDOW_SECS.unsigned_abs() {
            return Err(CallbackRejection::Stale(now_secs.saturating_sub(at)));
        }
        // Constant-time comparison: no timing hints for forgers.
        self.mac(timestamp, body)
            .verify_slice(&signature)
            .map_err(|_| CallbackRejection::BadSignature)?;
        serde_json::from_slice(body).map_err(|e| CallbackRejection::BadBody(e.to_string()))
    }
}

/// Records a payment and marks the order paid. The same (provider, reference) again is a
/// no-op answering the order as it is (`newly_paid` false).
pub async fn mark_paid(
    store: &Store,
    order_id: i64,
    provider: &str,
    reference: &str,
    amount_fen: Option<i64>,
) -> Result<Changed<(Order, bool)>> {
    let mut tx = store.begin_write().await?;
    let order = orders::load(&mut tx, order_id).await?;
    let seen: Option<i64> =
        sqlx::query_scalar("select order_id from payments where provider = $1 and reference = $2")
            .bind(provider)
            .bind(reference)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(paid_order) = seen {
        if paid_order != order_id {
            return Err(Error::Conflict(format!(
                "payment {reference} belongs to another order"
            )));
        }
        return Ok(Changed {
            value: (order, false),
            events: Vec::new(),
        });
    }
    match order.status {
        OrderStatus::Created => {}
        OrderStatus::Cancelled | OrderStatus::Refunded => {
            return Err(Error::Conflict(format!(
                "order {order_id} was cancelled; refund this payment"
            )));
        }
        _ => return Err(Error::Conflict(format!("order {order_id} is already paid"))),
    }
    let amount = amount_fen.unwrap_or(order.total_fen);
    if amount != order.total_fen {
        return Err(Error::invalid(
            "amount_fen",
            format!("paid {amount} fen but the order is {} fen", order.total_fen),
        ));
    }
    let now = now_ms();
    sqlx::query(
        "insert into payments (order_id, provider, reference, amount_fen, received_at_ms) values ($1, $2, $3, $4, $5)",
    )
    .bind(order_id)
    .bind(provider)
    .bind(reference)
    .bind(amount)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update orders set status = 'paid', paid_at_ms = $1 where id = $2")
        .bind(now)
        .bind(order_id)
        .execute(&mut *tx)
        .await?;
    let order = orders::load(&mut tx, order_id).await?;
    let mut events = Vec::new();
    if let Some(live_id) = order.live_id {
        events.push(
            events::append(
                &mut tx,
                live_id,
                LiveEvent::OrderPaid {
                    order: order.clone(),
                    provider: provider.to_owned(),
                },
            )
            .await?,
        );
    }
    tx.commit().await?;
    Ok(Changed {
        value: (order, true),
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn callback_body() -> Vec<u8> {
        br#"{"order_id":1,"amount_fen":100,"transaction_id":"wx-1"}"#.to_vec()
    }

    #[test]
    fn a_correctly_signed_fresh_callback_is_accepted() {
        let provider = SignedCallbackProvider::new("test-secret-0123456789");
        let body = callback_body();
        let sig = provider.sign(NOW - 10, &body);
        let cb = provider
            .verify_callback(Some(&(NOW - 10).to_string()), Some(&sig), &body, NOW)
            .unwrap();
        assert_eq!(cb.transaction_id, "wx-1");
    }

    #[test]
    fn forged_stale_and_unsigned_callbacks_are_rejected() {
        let provider = SignedCallbackProvider::new("test-secret-0123456789");
        let forger = SignedCallbackProvider::new("guessed-secret");
        let body = callback_body();
        let ts = NOW.to_string();
        let forged = forger.sign(NOW, &body);
        assert_eq!(
            provider.verify_callback(Some(&ts), Some(&forged), &body, NOW),
            Err(CallbackRejection::BadSignature)
        );

        let stale = provider.sign(NOW - 301, &body);
        let stale_ts = (NOW - 301).to_string();
        assert_eq!(
            provider.verify_callback(Some(&stale_ts), Some(&stale), &body, NOW),
            Err(CallbackRejection::Stale(301))
        );

        let mut tampered = body.clone();
        tampered[30] = b'9';
        let sig = provider.sign(NOW, &body);
        assert_eq!(
            provider.verify_callback(Some(&ts), Some(&sig), &tampered, NOW),
            Err(CallbackRejection::BadSignature)
        );
        assert!(matches!(
            provider.verify_callback(Some(&ts), None, &body, NOW),
            Err(CallbackRejection::MissingHeader(_))
        ));
        for extreme in [i64::MIN, i64::MAX] {
            let sig = provider.sign(extreme, &body);
            assert!(matches!(
                provider.verify_callback(Some(&extreme.to_string()), Some(&sig), &body, NOW),
                Err(CallbackRejection::Stale(_))
            ));
        }
        assert!(
            OfflineProvider::default()
                .verify_callback(Some(&ts), Some(&sig), &body, NOW)
                .is_err()
        );
    }
}
