//! Reading tickets for the manager's report, as a stream: a million tickets never
//! sit in memory at once.

use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::Row;

use super::{Context, Result, StorageError, Store, from_ms, ms};
use crate::domain::stats::TicketFacts;

impl Store {
    /// Call `each` with the facts of every ticket opened in `[since, until)`.
    pub async fn for_each_ticket_fact(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        mut each: impl FnMut(TicketFacts),
    ) -> Result<u64> {
        // The first claim and the last finish come from the audit log; the
        // (ticket_id, id) index makes each a short range scan.
        let mut rows = sqlx::query(
            "SELECT t.intent, t.category, t.building, t.created_at, t.respond_by, t.resolve_by,
                    t.rating, t.assignee_name,
                    (SELECT MIN(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'claimed'),
                    (SELECT MAX(e.at) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'done'),
                    (SELECT COUNT(*) FROM ticket_events e WHERE e.ticket_id = t.id AND e.kind = 'reopened')
             FROM tickets t WHERE t.created_at >= $1 AND t.created_at < $2",
        )
        .bind(ms(since))
        .bind(ms(until))
        .fetch(&self.pool);
        let mut n = 0;
        let c = "reading tickets for a report";
        while let Some(r) = rows.try_next().await.ctx(c)? {
            let intent: String = r.try_get(0).ctx(c)?;
            let rating: Option<i64> = r.try_get(6).ctx(c)?;
            let claimed: Option<i64> = r.try_get(8).ctx(c)?;
            let done: Option<i64> = r.try_get(9).ctx(c)?;
            let reopened: i64 = r.try_get(10).ctx(c)?;
            each(TicketFacts {
                intent: serde_json::from_value(serde_json::Value::String(intent.clone()))
                    .map_err(|_| StorageError::Corrupt(format!("ticket intent '{intent}'")))?,
                category: r.try_get(1).ctx(c)?,
                building: r.try_get(2).ctx(c)?,
                created_at: from_ms(r.try_get(3).ctx(c)?),
                respond_by: from_ms(r.try_get(4).ctx(c)?),
                resolve_by: from_ms(r.try_get(5).ctx(c)?),
                claimed_at: claimed.map(from_ms),
                finished_at: done.map(from_ms),
                rating: rating.and_then(|r| u8::try_from(r).ok()),
                reopened: reopened > 0,
                assignee: r.try_get(7).ctx(c)?,
            });
            n += 1;
        }
        Ok(n)
    }
}
