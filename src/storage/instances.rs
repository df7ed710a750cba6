//! Several daemons on one database: who is alive (`instances`), who holds a
//! named lease (`leases`), and taking over the updates of an instance that died.
//!
//! Every instance renews its `instances` row about once a second
//! ([`Store::heartbeat`]). An update is stored with the instance that took it as
//! its `owner`; a pending update whose owner stopped renewing is taken over by a
//! live instance with one conditional `UPDATE` ([`Store::inbox_take_over`]), so two
//! survivors never both take it. Handlers are idempotent, so an instance that was
//! only slow (not dead) and finishes an update another took over changes nothing
//! twice.
//!
//! A lease ([`Store::hold_lease`]) is held by one instance until it lapses unless
//! renewed; an `INSERT … ON CONFLICT DO UPDATE … WHERE` takes it only if it is ours
//! already or has lapsed, on SQLite and PostgreSQL alike.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, Store, ms};

impl Store {
    /// This process's name in `instances`, `leases` and `inbox.owner`: unique per
    /// start, so a restarted daemon is a new instance and its predecessor's
    /// updates are taken over like any dead instance's.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Say this instance is alive at `now`.
    pub async fn heartbeat(&self, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO instances (id, started_at, seen_at) VALUES ($1, $2, $2)
             ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
        )
        .bind(self.instance.as_ref())
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("renewing this instance's heartbeat")?;
        Ok(())
    }

    /// This instance is stopping: forget it (its updates are all handled or
    /// taken over at once by the others) and give up `lease` if it holds it.
    pub async fn leave(&self, lease: &str) -> Result<()> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(lease)
            .bind(self.instance.as_ref())
            .execute(&self.pool)
            .await
            .ctx("giving up a lease")?;
        sqlx::query("DELETE FROM instances WHERE id = $1")
            .bind(self.instance.as_ref())
            .execute(&self.pool)
            .await
            .ctx("leaving the instances")?;
        Ok(())
    }

    /// Forget instances not seen since `before` (their updates were taken over).
    pub async fn instances_prune(&self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM instances WHERE seen_at < $1")
            .bind(ms(before))
            .execute(&self.pool)
            .await
            .ctx("forgetting gone instances")?;
        Ok(done.rows_affected())
    }

    /// Instances seen since `since`, by id (for `/healthz` and tests).
    pub async fn live_instances(&self, since: DateTime<Utc>) -> Result<Vec<String>> {
        let rows = sqlx::query("SELECT id FROM instances WHERE seen_at >= $1 ORDER BY id")
            .bind(ms(since))
            .fetch_all(&self.pool)
            .await
            .ctx("listing instances")?;
        rows.iter()
            .map(|r| r.try_get(0).ctx("reading instances"))
            .collect()
    }

    /// Take or renew lease `name` until `until`: true if this instance holds it
    /// now. It is taken only when it is ours already or lapsed before `now`.
    pub async fn hold_lease(
        &self,
        name: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO leases (name, holder, held_until) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, held_until = excluded.held_until
             WHERE leases.holder = excluded.holder OR leases.held_until < $4",
        )
        .bind(name)
        .bind(self.instance.as_ref())
        .bind(ms(until))
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("taking a lease")?;
        Ok(done.rows_affected() == 1)
    }

    /// Who holds lease `name`, and until when.
    pub async fn lease_holder(&self, name: &str) -> Result<Option<(String, DateTime<Utc>)>> {
        sqlx::query("SELECT holder, held_until FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .ctx("reading a lease")?
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading a lease")?,
                    super::from_ms(r.try_get(1).ctx("reading a lease")?),
                ))
            })
            .transpose()
    }

    /// Pending updates whose owner has not been seen since `alive_since` (or
    /// that have none) become this instance's: (update id, payload, attempts).
    /// One statement, so of two instances sweeping at once each update goes to one.
    pub async fn inbox_take_over(
        &self,
        alive_since: DateTime<Utc>,
    ) -> Result<Vec<(i64, String, i64)>> {
        let rows = sqlx::query(
            "UPDATE inbox SET owner = $1
             WHERE done_at IS NULL
               AND (owner IS NULL OR owner NOT IN (SELECT id FROM instances WHERE seen_at >= $2))
             RETURNING update_id, payload, attempts",
        )
        .bind(self.instance.as_ref())
        .bind(ms(alive_since))
        .fetch_all(&self.pool)
        .await
        .ctx("taking over updates")?;
        let mut taken = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get(0).ctx("reading the inbox")?,
                    r.try_get(1).ctx("reading the inbox")?,
                    r.try_get(2).ctx("reading the inbox")?,
                ))
            })
            .collect::<Result<Vec<(i64, String, i64)>>>()?;
        taken.sort_by_key(|(id, _, _)| *id);
        Ok(taken)
    }
}
