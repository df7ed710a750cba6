//! Building groups: which Telegram group is which building, bound from the
//! configuration or by `/bind`, and following a group that became a supergroup.

use chrono::{DateTime, Utc};
use sqlx::{Any, Executor, Row};

use super::{Context, Result, Store, Tx, ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildingGroup {
    pub chat_id: i64,
    pub name: String,
    /// `config` or `command`.
    pub source: String,
}

impl Store {
    pub async fn bind_building(
        &self,
        chat_id: i64,
        name: &str,
        source: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO buildings (chat_id, name, source, bound_by, bound_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chat_id) DO UPDATE SET name = excluded.name, source = excluded.source,
                 bound_by = excluded.bound_by, bound_at = excluded.bound_at",
        )
        .bind(chat_id)
        .bind(name)
        .bind(source)
        .bind(by)
        .bind(ms(now))
        .execute(&self.pool)
        .await
        .ctx("binding a building group")?;
        Ok(())
    }

    pub async fn unbind_building(&self, chat_id: i64) -> Result<Option<String>> {
        let name = self.building_of(chat_id).await?;
        sqlx::query("DELETE FROM buildings WHERE chat_id = $1")
            .bind(chat_id)
            .execute(&self.pool)
            .await
            .ctx("unbinding a building group")?;
        Ok(name)
    }

    pub async fn building_of(&self, chat_id: i64) -> Result<Option<String>> {
        building_of(&self.reader, chat_id).await
    }

    pub async fn buildings(&self) -> Result<Vec<BuildingGroup>> {
        let rows =
            sqlx::query("SELECT chat_id, name, source FROM buildings ORDER BY name, chat_id")
                .fetch_all(&self.reader)
                .await
                .ctx("listing building groups")?;
        rows.iter()
            .map(|r| {
                Ok(BuildingGroup {
                    chat_id: r.try_get(0).ctx("reading buildings")?,
                    name: r.try_get(1).ctx("reading buildings")?,
                    source: r.try_get(2).ctx("reading buildings")?,
                })
            })
            .collect()
    }

    /// A group became a supergroup: its binding, its tickets and its queued
    /// messages follow the new chat id.
    pub async fn migrate_chat(&self, old: i64, new: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        for (sql, what) in [
            (
                "UPDATE buildings SET chat_id = $2 WHERE chat_id = $1",
                "moving a building binding",
            ),
            (
                "UPDATE tickets SET source_chat_id = $2 WHERE source_chat_id = $1",
                "moving tickets",
            ),
            (
                "UPDATE outbox SET chat_id = $2 WHERE chat_id = $1 AND state IN ('pending', 'sending')",
                "moving queued messages",
            ),
        ] {
            sqlx::query(sql)
                .bind(old)
                .bind(new)
                .execute(&mut *tx.tx)
                .await
                .ctx(what)?;
        }
        tx.commit().await
    }
}

impl Tx {
    /// The building group `chat_id` is bound to, read inside this transaction.
    pub async fn building_of(&mut self, chat_id: i64) -> Result<Option<String>> {
        building_of(&mut *self.tx, chat_id).await
    }
}

async fn building_of<'e>(
    db: impl Executor<'e, Database = Any>,
    chat_id: i64,
) -> Result<Option<String>> {
    sqlx::query("SELECT name FROM buildings WHERE chat_id = $1")
        .bind(chat_id)
        .fetch_optional(db)
        .await
        .ctx("looking up a building group")?
        .map(|r| r.try_get::<String, _>(0))
        .transpose()
        .ctx("reading a building name")
}
