//! Staff's corrections of what the desk understood: labelled examples in waiting.

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Context, Result, StorageError, Store, Tx, from_ms, ms};
use crate::domain::Intent;

/// One message and the answer staff gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub id: i64,
    pub text: String,
    pub intent: Intent,
    pub category: Option<String>,
    /// What the desk had said, if it said anything.
    pub was: Option<(Intent, Option<String>)>,
    /// `ticket:<id>` or `unsorted:<id>`.
    pub source: String,
    pub decided_at: DateTime<Utc>,
}

impl Store {
    /// Every correction, oldest first.
    pub async fn corrections(&self) -> Result<Vec<Correction>> {
        let rows = sqlx::query(
            "SELECT id, text, intent, category, was_intent, was_category, source, decided_at
             FROM corrections ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .ctx("reading corrections")?;
        rows.iter()
            .map(|r| {
                let c = "reading corrections";
                let intent: String = r.try_get(2).ctx(c)?;
                let was: Option<String> = r.try_get(4).ctx(c)?;
                Ok(Correction {
                    id: r.try_get(0).ctx(c)?,
                    text: r.try_get(1).ctx(c)?,
                    intent: intent.parse().map_err(|_| {
                        StorageError::Corrupt(format!("correction intent '{intent}'"))
                    })?,
                    category: r.try_get(3).ctx(c)?,
                    was: match was {
                        Some(w) => Some((
                            w.parse().map_err(|_| {
                                StorageError::Corrupt(format!("correction intent '{w}'"))
                            })?,
                            r.try_get(5).ctx(c)?,
                        )),
                        None => None,
                    },
                    source: r.try_get(6).ctx(c)?,
                    decided_at: from_ms(r.try_get(7).ctx(c)?),
                })
            })
            .collect()
    }
}

impl Tx {
    /// Keep staff's answer for `text`. Deciding the same thing twice keeps one row.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_correction(
        &mut self,
        text: &str,
        intent: Intent,
        category: Option<&str>,
        was: Option<(Intent, Option<&str>)>,
        source: &str,
        by: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO corrections (text, intent, category, was_intent, was_category, source, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (source, intent) DO UPDATE SET category = excluded.category,
                 decided_by = excluded.decided_by, decided_at = excluded.decided_at",
        )
        .bind(text)
        .bind(intent.as_str())
        .bind(category)
        .bind(was.map(|(i, _)| i.as_str()))
        .bind(was.and_then(|(_, c)| c))
        .bind(source)
        .bind(by)
        .bind(ms(now))
        .execute(&mut *self.tx)
        .await
        .ctx("keeping a correction")?;
        Ok(())
    }
}
