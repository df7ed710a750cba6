//! The HTTP endpoint for operations, on `[http] listen`: `/healthz` for probes,
//! `/metrics` for Prometheus, and in webhook mode the route Telegram posts
//! updates to (`telegram::webhook`). Off unless `listen` is set.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::desk::Desk;
use crate::metrics::metrics;

/// A probe waits this long for the database before calling it down (SQLite's
/// one connection may be busy with a long transaction).
const DB_TIMEOUT: Duration = Duration::from_secs(3);

/// `/healthz` and `/metrics`, plus `extra` routes (the webhook).
pub fn router(desk: Desk, extra: Option<Router>) -> Router {
    let app = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(scrape))
        .with_state(desk);
    match extra {
        Some(extra) => app.merge(extra),
        None => app,
    }
}

/// Serve `app` until `shutdown`, then finish the requests in hand (a webhook
/// update being stored is answered before the server stops).
pub async fn serve(listener: tokio::net::TcpListener, app: Router, shutdown: CancellationToken) {
    let stopped = async move { shutdown.cancelled().await };
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(stopped)
        .await
    {
        tracing::error!(error = %e, "the HTTP server stopped");
    }
}

/// 200 while the database answers, 503 when it does not. The Bot API's state
/// is the outcome of the last call to it (a probe never calls Telegram), so a
/// Telegram outage shows without taking the instance out of a load balancer.
async fn healthz(State(desk): State<Desk>) -> impl IntoResponse {
    let snapshot = tokio::time::timeout(DB_TIMEOUT, async {
        desk.store().ping().await?;
        desk.store().ops_snapshot(desk.now()).await
    })
    .await;
    let bot_api = if metrics().bot_api_is_up() {
        "ok"
    } else {
        "error"
    };
    let (status, body) = match snapshot {
        Ok(Ok(s)) => (
            StatusCode::OK,
            serde_json::json!({
                "database": "ok",
                "bot_api": bot_api,
                "outbox_depth": s.outbox_depth,
                "outbox_lag_seconds": s.outbox_lag.num_seconds(),
            }),
        ),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "database": "error", "bot_api": bot_api }),
            )
        }
        Err(_) => {
            tracing::warn!("health check: the database did not answer in time");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "database": "timeout", "bot_api": bot_api }),
            )
        }
    };
    (status, axum::Json(body))
}

async fn scrape(State(desk): State<Desk>) -> impl IntoResponse {
    match tokio::time::timeout(DB_TIMEOUT, desk.store().ops_snapshot(desk.now())).await {
        Ok(Ok(snapshot)) => metrics().observe(&snapshot),
        // The counters are still worth serving; the database figures keep their last values.
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: could not read the database figures"),
        Err(_) => tracing::warn!("metrics: the database did not answer in time"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics().encode(),
    )
}
