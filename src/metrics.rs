//! Prometheus metrics: what an operator graphs and alerts on.
//!
//! One set per process, like the log: the intake, the outbox sender and the
//! HTTP edge count into [`metrics()`] without being handed it, and `/metrics`
//! encodes it with `prometheus-client` (the exposition format is the crate's,
//! never written by hand). Figures that live in the database (outbox depth and
//! lag, tickets by intent) are read from it at each scrape, so they agree across
//! restarts and between instances sharing one PostgreSQL.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use crate::storage::OpsSnapshot;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IntentLabel {
    intent: String,
}

pub struct Metrics {
    registry: Registry,
    /// Updates stored in the inbox (new ones; a re-delivery is not counted), by kind.
    updates: Family<Kind, Counter>,
    /// Webhook requests refused, by reason (`secret`, `malformed`, `storage`).
    webhook_refused: Family<Kind, Counter>,
    /// How long handling one update took, each attempt.
    handler_seconds: Histogram,
    /// Messages Telegram accepted.
    sent: Counter,
    /// Outbox operations that failed, by kind (`retry_after`, `network`, `api`, ...).
    send_errors: Family<Kind, Counter>,
    /// 429 answers (`retry_after`) from Telegram, also counted in `send_errors`.
    rate_limited: Counter,
    tickets: Family<IntentLabel, Gauge>,
    outbox_depth: Gauge,
    outbox_lag_seconds: Gauge<f64, AtomicU64>,
    /// 1 after the last Bot API call answered (whatever it answered), 0 after
    /// it could not be reached.
    bot_api_up: Gauge,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("guanjia");
        let m = Metrics {
            registry: Registry::default(),
            updates: Family::default(),
            webhook_refused: Family::default(),
            // 5 ms to about 20 s.
            handler_seconds: Histogram::new(exponential_buckets(0.005, 2.0, 13)),
            sent: Counter::default(),
            send_errors: Family::default(),
            rate_limited: Counter::default(),
            tickets: Family::default(),
            outbox_depth: Gauge::default(),
            outbox_lag_seconds: Gauge::default(),
            bot_api_up: Gauge::default(),
        };
        registry.register(
            "updates",
            "Updates from Telegram stored in the inbox, by kind (re-deliveries not counted)",
            m.updates.clone(),
        );
        registry.register(
            "webhook_refused",
            "Webhook requests refused, by reason",
            m.webhook_refused.clone(),
        );
        registry.register(
            "handler_seconds",
            "Time to handle one update (each attempt)",
            m.handler_seconds.clone(),
        );
        registry.register(
            "messages_sent",
            "Outbox operations Telegram accepted",
            m.sent.clone(),
        );
        registry.register(
            "send_errors",
            "Outbox operations that failed, by kind",
            m.send_errors.clone(),
        );
        registry.register(
            "rate_limited",
            "Answers 429 (retry_after) from Telegram",
            m.rate_limited.clone(),
        );
        registry.register(
            "tickets",
            "Tickets in the database, by intent",
            m.tickets.clone(),
        );
        registry.register(
            "outbox_depth",
            "Messages queued and not yet delivered",
            m.outbox_depth.clone(),
        );
        registry.register(
            "outbox_lag_seconds",
            "How long the oldest due message has waited",
            m.outbox_lag_seconds.clone(),
        );
        registry.register(
            "bot_api_up",
            "1 if the last call to the Bot API got an answer, 0 if it could not reach it",
            m.bot_api_up.clone(),
        );
        Metrics { registry, ..m }
    }

    pub fn update_stored(&self, kind: &str) {
        self.updates
            .get_or_create(&Kind { kind: kind.into() })
            .inc();
    }

    pub fn webhook_refused(&self, reason: &str) {
        self.webhook_refused
            .get_or_create(&Kind {
                kind: reason.into(),
            })
            .inc();
    }

    pub fn handled(&self, took: Duration) {
        self.handler_seconds.observe(took.as_secs_f64());
    }

    pub fn sent(&self) {
        self.sent.inc();
        self.bot_api_reached(true);
    }

    pub fn send_error(&self, kind: &str) {
        self.send_errors
            .get_or_create(&Kind { kind: kind.into() })
            .inc();
        if kind == "retry_after" {
            self.rate_limited.inc();
        }
    }

    /// Whether the last call to the Bot API got an answer (an error answer is
    /// still an answer: Telegram is reachable).
    pub fn bot_api_reached(&self, reached: bool) {
        self.bot_api_up.set(i64::from(reached));
    }

    pub fn bot_api_is_up(&self) -> bool {
        self.bot_api_up.get() == 1
    }

    /// Take the database's figures, just before a scrape.
    pub fn observe(&self, snapshot: &OpsSnapshot) {
        self.outbox_depth.set(snapshot.outbox_depth);
        self.outbox_lag_seconds
            .set(snapshot.outbox_lag.num_milliseconds() as f64 / 1000.0);
        for (intent, n) in &snapshot.tickets_by_intent {
            self.tickets
                .get_or_create(&IntentLabel {
                    intent: intent.clone(),
                })
                .set(*n);
        }
    }

    /// The Prometheus text exposition of everything above.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
