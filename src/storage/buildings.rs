//! Building groups: which Telegram group is which building, bound from the
//! configuration or by `/bind`, and following a group that became a supergroup.
//! A group belongs to one estate (`''`: the implicit estate of a config without
//! `[[estate]]`); building names repeat across estates, never within one.

use chrono::{DateTime, Utc};
use sqlx::{Any, Executor, Row};

use super::{Context, Result, Store, Tx, ms};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildingGroup {
    pub chat_id: i64,
    /// The estate it belongs to (`''`: the implicit one).
    pub estate: String,
    pub name: String,
    /// `config` or `command`.
    pub source: String,
}

impl Store {
    pub async fn bind_building(
        &self,
        chat_id: i64,
        estate: &str,
        name: &str,
        source: &str,
        by: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO buildings (chat_id, name, source, bound_by, bound_at, estate) VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (chat_id) DO UPDATE SET name = excluded.name, source = excluded.source,
                 bound_by = excluded.bound_by, bound_at = excluded.bound_at, estate = excluded.estate",
        )
        .bind(chat_id)
        .bind(name)
        .bind(source)
        .bind(by)
        .bind(ms(now))
        .bind(estate)
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

    /// The group `chat_id` is bound as, with its estate.
    pub async fn building_group(&self, chat_id: i64) -> Result<Option<BuildingGroup>> {
        sqlx::query("SELECT chat_id, name, source, estate FROM buildings WHERE chat_id = $1")
            .bind(chat_id)
            .fetch_optional(&self.reader)
            .await
            .ctx("looking up a building group")?
            .map(|r| group_from_row(&r))
            .transpose()
    }

    /// Every bound group, of every estate.
    pub async fn buildings(&self) -> Result<Vec<BuildingGroup>> {
        let rows = sqlx::query(
            "SELECT chat_id, name, source, estate FROM buildings ORDER BY estate, name, chat_id",
        )
        .fetch_all(&self.reader)
        .await
        .ctx("listing building groups")?;
        rows.iter().map(group_from_row).collect()
    }

    /// The estate a report in `chat` by `reporter` belongs to: the group's, else
    /// (a private chat) the estate of the reporter's latest ticket, else `''`.
    pub async fn estate_for_report(&self, chat: i64, reporter: i64) -> Result<String> {
        sqlx::query_scalar::<_, String>(
            "SELECT COALESCE(
                 (SELECT estate FROM buildings WHERE chat_id = $1),
                 (SELECT estate FROM tickets WHERE reporter_id = $2 ORDER BY id DESC LIMIT 1),
                 '')",
        )
        .bind(chat)
        .bind(reporter)
        .fetch_one(&self.reader)
        .await
        .ctx("finding a report's estate")
    }

    /// Estates were declared where there were none: what belonged to the implicit
    /// estate (`''`) now belongs to `estate`. Run at every start; a no-op after the first.
    pub async fn adopt_implicit_estate(&self, estate: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        for table in [
            "buildings",
            "tickets",
            "broadcasts",
            "outages",
            "owners",
            "room_requests",
            "fees",
        ] {
            sqlx::query(&format!("UPDATE {table} SET estate = $1 WHERE estate = ''"))
                .bind(estate)
                .execute(&mut *tx.tx)
                .await
                .ctx("handing the implicit estate's rows to the first [[estate]]")?;
        }
        tx.commit().await
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

fn group_from_row(r: &sqlx::any::AnyRow) -> Result<BuildingGroup> {
    Ok(BuildingGroup {
        chat_id: r.try_get(0).ctx("reading buildings")?,
        name: r.try_get(1).ctx("reading buildings")?,
        source: r.try_get(2).ctx("reading buildings")?,
        estate: r.try_get(3).ctx("reading buildings")?,
    })
}
