//! Webhook mode: Telegram posts each update to us instead of being polled.
//!
//! Telegram sends an update again until it gets a 2xx, so the answer says what
//! happened to it: 200 once it is stored in the inbox (committed) or is a kind
//! we skip anyway, 500 when it could not be stored (Telegram tries again
//! later), 401 for a request without the right secret, 400 for a body that is
//! not an update at all. Nothing but a stored update is ever handled, and a
//! re-delivered update id is recognised by the inbox, exactly as when polling.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::Update;

use super::intake::Accept;
use crate::metrics::metrics;

/// Telegram's header carrying the `secret_token` given to setWebhook.
const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";
/// Updates are a few kilobytes; anything far larger is not from Telegram.
const MAX_BODY: usize = 1 << 20;

struct Webhook {
    accept: Accept,
    secret: String,
}

/// The webhook route, to merge into the HTTP server's router.
pub fn routes(path: &str, secret: String, accept: Accept) -> Router {
    Router::new()
        .route(path, post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(Webhook { accept, secret }))
}

/// Tell Telegram where to post, with the secret it must send back, the kinds
/// of update the desk handles, and one connection at a time.
pub async fn register(bot: &Bot, url: &str, secret: &str) -> Result<(), String> {
    let url = url
        .parse()
        .map_err(|e| format!("webhook_url '{url}' is not a URL: {e}"))?;
    bot.set_webhook(url)
        .secret_token(secret)
        .allowed_updates(super::intake::allowed_updates())
        // One post at a time: Telegram then posts in update order, so a chat's
        // messages reach the inbox (and its queue) in the order they were
        // written, as with polling. A post costs one commit before its 200.
        .max_connections(1)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

async fn receive(State(hook): State<Arc<Webhook>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !same_secret(given, hook.secret.as_bytes()) {
        metrics().webhook_refused("secret");
        tracing::warn!("webhook request without the right secret refused");
        return StatusCode::UNAUTHORIZED;
    }
    let update = match serde_json::from_slice::<Update>(&body) {
        Ok(update) => update,
        Err(e) => {
            // Not an update at all (no update_id, not JSON): nothing to store.
            // A real update of a kind teloxide does not know parses, as
            // `UpdateKind::Error`, and is answered 200 below.
            metrics().webhook_refused("malformed");
            tracing::warn!(error = %e, body = %crate::desk::excerpt(&String::from_utf8_lossy(&body), 300), "webhook body is not an update");
            return StatusCode::BAD_REQUEST;
        }
    };
    let id = update.id.0;
    match hook.accept.accept(vec![update]).await {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            metrics().webhook_refused("storage");
            tracing::error!(update = id, error = %e, "cannot store an update; Telegram will send it again");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// Compares every byte whatever the first difference, so the time taken does
/// not tell a prober how much of a guess was right.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    if given.len() != expected.len() {
        return false;
    }
    given
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_exact_secret_passes() {
        assert!(super::same_secret(b"abc-123", b"abc-123"));
        assert!(!super::same_secret(b"abc-124", b"abc-123"));
        assert!(!super::same_secret(b"abc-12", b"abc-123"));
        assert!(!super::same_secret(b"", b"abc-123"));
    }
}
