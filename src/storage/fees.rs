//! The fee ledger: imported per period, marked paid, matched to confirmed owners.
//!
//! Buildings, units and rooms arrive in their canonical spelling (see
//! [`crate::domain::location::canonical_building`]), the same one owners' rooms are
//! stored in, so matching is plain equality. A missing unit is stored as `''`
//! rather than NULL so the `(building, unit, room, period)` key stays unique.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;
use std::collections::{HashMap, HashSet};

use super::{Context, Result, StorageError, Store, ms};
use crate::domain::fees::FeeRow;

/// What an import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeeImport {
    /// Rows now stored for the file's periods.
    pub stored: usize,
    /// Rows of those periods that were stored before and are not in the file.
    pub removed: usize,
    /// Rows stored as paid.
    pub paid: usize,
}

type Key = (String, String, String);

fn key(building: &str, unit: Option<&str>, room: &str) -> Key {
    (
        building.to_string(),
        unit.unwrap_or("").to_string(),
        room.to_string(),
    )
}

impl Store {
    /// Store a ledger in one transaction, all rows or none. Each period in `rows`
    /// is replaced as a whole: rows of that period missing from the file go. A
    /// row's paid mark comes from the file when the file has a paid column
    /// (`row.paid` is `Some`); otherwise an earlier mark on the same room stays,
    /// since finance re-exports the same arrears list after someone has paid.
    /// The ledger is `estate`'s: other estates' rows of the same period stay.
    pub async fn import_fees(
        &self,
        estate: &str,
        rows: &[FeeRow],
        now: DateTime<Utc>,
    ) -> Result<FeeImport> {
        let mut periods: Vec<&str> = Vec::new();
        for r in rows {
            if !periods.contains(&r.period.as_str()) {
                periods.push(&r.period);
            }
        }
        let mut tx = self.begin().await?;
        let mut report = FeeImport::default();
        for period in periods {
            let old = sqlx::query(
                "SELECT building, unit, room, paid_at FROM fees WHERE estate = $1 AND period = $2",
            )
            .bind(estate)
            .bind(period)
            .fetch_all(&mut *tx.tx)
            .await
            .ctx("reading a period's fees before replacing them")?;
            let mut paid_before: HashMap<Key, Option<i64>> = HashMap::new();
            for r in &old {
                let unit: Option<String> = r.try_get(1).ctx("reading fees")?;
                paid_before.insert(
                    key(
                        &r.try_get::<String, _>(0).ctx("reading fees")?,
                        unit.as_deref(),
                        &r.try_get::<String, _>(2).ctx("reading fees")?,
                    ),
                    r.try_get(3).ctx("reading fees")?,
                );
            }
            sqlx::query("DELETE FROM fees WHERE estate = $1 AND period = $2")
                .bind(estate)
                .bind(period)
                .execute(&mut *tx.tx)
                .await
                .ctx("replacing a period's fees")?;
            let mut kept: HashSet<Key> = HashSet::new();
            for row in rows.iter().filter(|r| r.period == period) {
                let k = key(&row.building, row.unit.as_deref(), &row.room);
                let before = paid_before.get(&k).copied().flatten();
                let paid_at = match row.paid {
                    Some(true) => Some(before.unwrap_or(ms(now))),
                    Some(false) => None,
                    None => before,
                };
                sqlx::query(
                    "INSERT INTO fees (building, unit, room, amount_cents, period, due_date, imported_at, paid_at, estate)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&row.building)
                .bind(row.unit.as_deref().unwrap_or(""))
                .bind(&row.room)
                .bind(row.amount_cents)
                .bind(&row.period)
                .bind(row.due_date.format("%Y-%m-%d").to_string())
                .bind(ms(now))
                .bind(paid_at)
                .bind(estate)
                .execute(&mut *tx.tx)
                .await
                .ctx("importing a fee row")?;
                report.stored += 1;
                report.paid += usize::from(paid_at.is_some());
                kept.insert(k);
            }
            report.removed += paid_before.keys().filter(|k| !kept.contains(*k)).count();
        }
        tx.commit().await?;
        Ok(report)
    }

    /// The period of `estate`'s most recent import (the last one in its file when
    /// it held several): what reminders are about unless `[fees] period` says.
    pub async fn latest_fee_period(&self, estate: &str) -> Result<Option<String>> {
        sqlx::query(
            "SELECT period FROM fees WHERE estate = $1 ORDER BY imported_at DESC, period DESC LIMIT 1",
        )
        .bind(estate)
        .fetch_optional(&self.pool)
            .await
            .ctx("finding the latest fee period")?
            .map(|r| r.try_get(0))
            .transpose()
            .ctx("reading a fee period")
    }

    /// Mark one room's row of `period` paid (or unpaid again). False if the
    /// ledger has no such row.
    pub async fn mark_fee_paid(
        &self,
        estate: &str,
        row: (&str, Option<&str>, &str),
        period: &str,
        paid: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let (building, unit, room) = row;
        // Marking again keeps the first time it was marked.
        let paid_at = paid.then_some(ms(now));
        let done = sqlx::query(
            "UPDATE fees SET paid_at = CASE WHEN $5 > 0 THEN COALESCE(paid_at, $5) ELSE NULL END
             WHERE building = $1 AND unit = $2 AND room = $3 AND period = $4 AND estate = $6",
        )
        .bind(building)
        .bind(unit.unwrap_or(""))
        .bind(room)
        .bind(period)
        .bind(paid_at.unwrap_or(0))
        .bind(estate)
        .execute(&self.pool)
        .await
        .ctx("marking a fee paid")?;
        Ok(done.rows_affected() > 0)
    }

    /// Unpaid fees of `estate`'s `period` for owners whose room in that estate
    /// staff confirmed, matched on building, unit and room. Only these owners get
    /// an amount, and only in private.
    pub async fn fees_for_confirmed_owners(
        &self,
        estate: &str,
        period: &str,
    ) -> Result<Vec<(i64, FeeRow)>> {
        let rows = sqlx::query(
            "SELECT o.user_id, f.building, f.unit, f.room, f.amount_cents, f.period, f.due_date
             FROM fees f JOIN owners o
               ON o.status = 'confirmed' AND o.estate = f.estate AND o.building = f.building
                  AND o.room = f.room AND COALESCE(o.unit, '') = f.unit
             WHERE f.estate = $1 AND f.period = $2 AND f.paid_at IS NULL AND f.amount_cents > 0
             ORDER BY f.building, f.room",
        )
        .bind(estate)
        .bind(period)
        .fetch_all(&self.pool)
        .await
        .ctx("matching fees to owners")?;
        rows.iter()
            .map(|r| {
                let unit: String = r.try_get(2).ctx("reading fees")?;
                let due: String = r.try_get(6).ctx("reading fees")?;
                Ok((
                    r.try_get(0).ctx("reading fees")?,
                    FeeRow {
                        building: r.try_get(1).ctx("reading fees")?,
                        unit: (!unit.is_empty()).then_some(unit),
                        room: r.try_get(3).ctx("reading fees")?,
                        amount_cents: r.try_get(4).ctx("reading fees")?,
                        period: r.try_get(5).ctx("reading fees")?,
                        due_date: NaiveDate::parse_from_str(&due, "%Y-%m-%d")
                            .map_err(|_| StorageError::Corrupt(format!("fee due date '{due}'")))?,
                        paid: Some(false),
                    },
                ))
            })
            .collect()
    }
}
